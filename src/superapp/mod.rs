//! TCMPP's super-app-server protocol: what the platform ("OpenServer")
//! asks the super app's own backend, and how.
//!
//! - [`PathFamily`] and [`UserEndpoint`]: the user calls of the
//!   "Interface API" page in its three published versions, one config value.
//! - [`TcSigner`]: `TC-Timestamp` / `TC-Signature` (AES-ECB or -CBC).
//! - [`SnapSigner`] / [`SnapVerifier`] (feature `http`): the v3
//!   `/access_token/b2b2c` redemption's SHA256withRSA signature.
//! - [`HttpDirectory`] (feature `http`): the platform's client of a
//!   super-app server, a `SuperappDirectory`.
//! - [`ReferenceServer`] (feature `http`): a super-app server to read and to
//!   test against; [`check_directory`]: the conformance check.
//!
//! docs/superapp-server.md says which page and version each value comes
//! from, and what was inferred.

mod paths;
mod signing;
mod wire;

#[cfg(feature = "http")]
mod answers;
#[cfg(feature = "http")]
mod cache;
#[cfg(feature = "http")]
pub(crate) mod call;
#[cfg(feature = "http")]
mod check;
#[cfg(feature = "http")]
mod client;
#[cfg(feature = "http")]
pub(crate) mod host;
#[cfg(feature = "http")]
mod server;
#[cfg(feature = "http")]
mod snap;

#[cfg(feature = "http")]
pub use call::DEFAULT_MAX_RESPONSE_BYTES;
#[cfg(feature = "http")]
pub use check::{CheckLine, CheckReport, CheckTarget, HostAccount, check_directory};
#[cfg(feature = "http")]
pub use client::{
    DEFAULT_DIRECTORY_TIMEOUT, HttpDirectory, HttpDirectoryBuilder, SNAP_B2B2C_OK, TemporaryCode,
    UserStatus,
};
pub use paths::{
    B2B2C_PATH, FieldNames, HOST_AUTH_CODE_PATH, HOST_LOGIN_PATH, Method, PathFamily, Route,
    Source, UnknownPathFamily, UserEndpoint,
};
#[cfg(feature = "http")]
pub use server::{
    REFERENCE_CODE_TTL, REFERENCE_MAX_OUTSTANDING, REFERENCE_TOKEN_TTL, ReferenceServer,
    ReferenceServerBuilder, ReferenceUser, UsersFileError, load_users,
};
pub use signing::{
    DEFAULT_SIGNATURE_WINDOW, SecretKey, SecretKeyLength, SignatureMode, SignatureRefusal,
    TC_SIGNATURE, TC_TIMESTAMP, TcSigner, UnknownSignatureMode,
};
#[cfg(feature = "http")]
pub use snap::{
    KeyError, SnapSigner, SnapVerifier, X_CLIENT_KEY, X_SIGNATURE, X_TIMESTAMP, iso8601,
    parse_iso8601,
};
pub use wire::{
    Envelope, EnvelopeError, InfoKind, RETURN_OK, UnknownInfoKind, lenient_field, mask,
    request_params, write_envelope,
};
