//! Newtypes for values that must never reach a log or a `Debug` string.
//!
//! Each one prints `Name([redacted])` under `{:?}`, has no `Display`, and is
//! read only through [`secret()`](AppSecret::secret), in the manner of
//! `oauth2::ClientSecret`. They serialize transparently, because the wire
//! formats need the value itself.

use serde::{Deserialize, Serialize};

macro_rules! secret_string {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Default, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        /// Compared in constant time, whatever the lengths (SHA-256 digests
        /// of both sides are compared).
        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                crate::digest::secrets_equal(self.0.as_bytes(), other.0.as_bytes())
            }
        }

        impl Eq for $name {}

        impl std::hash::Hash for $name {
            fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
                self.0.hash(state);
            }
        }

        impl $name {
            #[doc = concat!("Wraps a value as a [`", stringify!($name), "`].")]
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }

            /// The secret value. Call this only where the value is sent on or
            /// compared, never to log it.
            pub fn secret(&self) -> &str {
                &self.0
            }

            /// The secret value, consuming the wrapper.
            pub fn into_secret(self) -> String {
                self.0
            }

            /// Whether the value is the empty string.
            pub fn is_empty(&self) -> bool {
                self.0.is_empty()
            }
        }

        /// A string in the OpenAPI document.
        #[cfg(feature = "http")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                <String as utoipa::PartialSchema>::schema()
            }
        }

        #[cfg(feature = "http")]
        impl utoipa::ToSchema for $name {}

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(concat!(stringify!($name), "([redacted])"))
            }
        }
    };
}

secret_string! {
    /// A mini program's app secret, as registered on the platform.
    ///
    /// ```
    /// use superapp_openapi::AppSecret;
    /// let s = AppSecret::new("s3cr3t");
    /// assert_eq!(format!("{s:?}"), "AppSecret([redacted])");
    /// assert_eq!(s.secret(), "s3cr3t");
    /// ```
    AppSecret
}
secret_string! {
    /// The `session_key` that `jscode2session` hands a developer server.
    SessionKey
}
secret_string! {
    /// An `access_token` for the developer-server API.
    AccessToken
}
secret_string! {
    /// A login code (`js_code`) from `wx.login`, or a one-time phone/email code
    /// from `wx.getPhoneNumber` / `wx.getEmail`.
    Code
}
secret_string! {
    /// A v3 authCode (or `code`) issued by the super-app server to the host.
    AuthCode
}
secret_string! {
    /// A user's phone number.
    PhoneNumber
}
secret_string! {
    /// A user's email address.
    EmailAddress
}
secret_string! {
    /// The key a remote host presents to the platform's SDK routes.
    SdkKey
}
secret_string! {
    /// The platform's key for deriving openids and unionids; every instance
    /// of one platform shares it (see `OpenServerBuilder::id_secret`).
    IdSecret
}
secret_string! {
    /// The virtual-payment AppKey of a mini program, the key of
    /// [`pay_sig`](crate::payment::pay_sig). Production and sandbox (`env` 1) have
    /// different keys: use the one for the `env` in the signData.
    ///
    /// ```
    /// use superapp_openapi::payment::AppKey;
    /// let key = AppKey::new("12345");
    /// assert_eq!(format!("{key:?}"), "AppKey([redacted])");
    /// assert_eq!(key.secret(), "12345");
    /// ```
    AppKey
}
