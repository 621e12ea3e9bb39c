//! Native hosts for `superapp-openapi`: the [`Dispatcher`] and the embedded
//! [`OpenServer`] from Kotlin, Swift and Python through UniFFI, with the
//! host's delegate ([`OpenApiHandler`]) implemented in the host's own
//! language.
//!
//! This crate adapts and holds no policy of its own: version resolution,
//! routing, the v2/v3 built-ins, the reply convention, timeouts and the
//! platform's rules are all the core crate's. What it adds is the crossing:
//!
//! - params, results and replies cross as JSON text ([`JsonText`]);
//! - the foreign delegate ([`OpenApiHandler`]) is turned into the core's
//!   `OpenApiHandler` by an adapter (`delegate.rs`); every foreign method
//!   returns a `Result`, so an exception in the host becomes a `:fail`
//!   reply, never a Rust panic;
//! - async calls run on one tokio runtime this library owns
//!   (`runtime.rs`); dropping a call on the foreign side cancels the Rust
//!   task and the host call under it;
//! - secrets handed back to the host are [`Secret`] objects whose `repr`,
//!   `toString` and `description` say `[redacted]`.
//!
//! The bindings are generated from the built library (`generate.sh`); see
//! `docs/native-hosts.md`.

// UniFFI's scaffolding is `extern "C"` functions and raw FFI buffers, which
// the macros below expand into this crate: `unsafe_code` is denied rather
// than forbidden (as it is in the core crate) so that UniFFI's generated
// items may allow it. Nothing written by hand here is unsafe.
#![deny(unsafe_code)]
#![warn(
    missing_docs,
    missing_debug_implementations,
    unreachable_pub,
    rust_2018_idioms
)]

uniffi::setup_scaffolding!();

mod consent;
mod delegate;
mod dispatcher;
mod openserver;
mod runtime;
mod types;

pub use consent::{
    ConsentAnswer, ConsentPrompt, ConsentStore, CustomApi, CustomApiHandler, ScopeConsent,
    StateSender, StateSink,
};
pub use delegate::{OpenApiHandler, host_round_trip};
pub use dispatcher::{Dispatcher, Explanation};
// The core's plain enums, which cross the boundary as they are.
pub use openserver::{
    EmailAddressAnswer, Jscode2SessionAnswer, OpenServer, PhoneNumberAnswer, StatusAnswer,
    SuperappUser, TokenAnswer, session_signature,
};
pub use superapp_openapi::consent::ConsentState;
pub use superapp_openapi::{ApiVersion, AppKind, FailureKind, Responder, Scope, VersionSource};
pub use types::{
    AppInfo, AuthCodeRequest, AuthGrant, HostError, JsonText, OpenApiError, Secret,
    app_info_from_app_json,
};
