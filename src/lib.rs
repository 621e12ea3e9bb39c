#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(
    missing_docs,
    missing_debug_implementations,
    unreachable_pub,
    rust_2018_idioms
)]

mod api;
mod app;
mod builtin;
mod digest;
mod dispatcher;
mod handler;
#[cfg(feature = "http")]
mod http;
mod openserver;
mod payment;
mod platform;
mod reply;
mod secret;
mod version;

pub use api::{OpenApi, Scope, UnknownApi, UnknownScope};
pub use app::{AppInfo, AppKind, ConfigError};
pub use dispatcher::{DEFAULT_CALL_TIMEOUT, Dispatcher, DispatcherBuilder, Explanation, Responder};
pub use handler::{
    AuthCodeRequest, AuthGrant, Gender, HandlerResult, HostError, JsonObject, OpenApiHandler,
    UserInfo,
};
#[cfg(feature = "http")]
pub use http::*;
pub use openserver::{
    AUTH_CODE_TTL, ApiResponse, AppRegistration, CheckSessionRequest, Clock, EmailAddressResponse,
    EmailInfo, ErrCode, Jscode2SessionRequest, Jscode2SessionResponse, ManualClock,
    MemoryDirectory, OpenServer, OpenServerBuilder, OpenServerConfig, OpenServerError, PhoneInfo,
    PhoneNumberResponse, RedeemedGrant, StatusResponse, SuperappDirectory, SuperappUser,
    SweepReport, SystemClock, TokenRequest, TokenResponse, UserCodeRequest,
};
pub use payment::*;
pub use platform::{Platform, PlatformError, Principal, UserCodeKind};
pub use reply::{CallError, FailureKind, Reply};
pub use secret::{
    AccessToken, AppSecret, AuthCode, Code, EmailAddress, PhoneNumber, SdkKey, SessionKey,
};
pub use version::{ApiVersion, ParseApiVersionError, VersionSource, resolve_version};

// The guides' code blocks compile and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../docs/versions.md")]
struct VersionsGuide;
#[cfg(doctest)]
#[doc = include_str!("../docs/openserver.md")]
struct OpenServerGuide;
#[cfg(doctest)]
#[doc = include_str!("../docs/architecture.md")]
struct ArchitectureGuide;
#[cfg(all(doctest, feature = "http"))]
#[doc = include_str!("../docs/http.md")]
struct HttpGuide;
