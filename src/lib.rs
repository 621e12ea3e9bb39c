#![doc = include_str!("../README.md")]
// With the `uniffi` feature, UniFFI's scaffolding (`extern "C"` functions
// and FFI buffers) expands into this crate and allows `unsafe_code` on its
// own items, which `forbid` would not let it do; nothing written by hand
// here is unsafe either way.
#![cfg_attr(not(feature = "uniffi"), forbid(unsafe_code))]
#![cfg_attr(feature = "uniffi", deny(unsafe_code))]
#![warn(
    missing_docs,
    missing_debug_implementations,
    unreachable_pub,
    rust_2018_idioms
)]

/// The variants of a fieldless enum, named once: the `match` has no wildcard
/// arm, so a new variant does not compile until it is named here too, and
/// the names come back as an array for a unit test to compare with the
/// enum's hand-kept `ALL`.
#[cfg(test)]
macro_rules! every_variant {
    ($enum:ident { $($variant:ident),+ $(,)? }) => {{
        let _exhaustive = |value: $enum| match value {
            $($enum::$variant => ()),+
        };
        [$($enum::$variant),+]
    }};
}

// The plain enums a native host sees (`ApiVersion`, `AppKind`, `Scope`,
// `VersionSource`, `Responder`, `FailureKind`) derive UniFFI's traits here,
// so that `bindings/ffi` uses them as they are instead of mirroring them.
#[cfg(feature = "uniffi")]
uniffi::setup_scaffolding!();

/// A closed enum's wire names, written once beside its variants: `ALL`
/// (every variant, in the order given), `as_str` and `Display`. The enum
/// itself stays an ordinary declaration, with its docs and derives.
macro_rules! wire_names {
    ($(#[$all_doc:meta])* $enum:ident { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $enum {
            $(#[$all_doc])*
            pub const ALL: [$enum; [$($name),+].len()] = [$($enum::$variant),+];

            /// The wire name.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($enum::$variant => $name),+
                }
            }
        }

        impl std::fmt::Display for $enum {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

mod api;
mod app;
mod digest;
mod dispatcher;
mod handler;
mod reply;
mod secret;
mod sync;
mod version;

pub mod consent;
#[cfg(feature = "http")]
pub mod http;
pub mod opendata;
pub mod openserver;
pub mod payment;
pub mod platform;
pub mod superapp;

// What a host writes against. The platform, its HTTP wing, the payment
// helpers and the `Platform` seam sit in their modules.
pub use api::{OpenApi, Scope, UnknownApi, UnknownScope};
pub use app::{AppInfo, AppKind, ConfigError};
pub use dispatcher::{DEFAULT_CALL_TIMEOUT, Dispatcher, DispatcherBuilder, Explanation, Responder};
pub use handler::{
    AuthCodeRequest, AuthGrant, Gender, HandlerResult, HostError, JsonObject, OpenApiHandler,
    UserInfo,
};
pub use openserver::OpenServer;
pub use reply::{FailureKind, Reply};
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
