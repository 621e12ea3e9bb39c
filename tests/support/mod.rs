//! The tests' one set of fixtures: the apps and users every platform under
//! test knows ([`open_server`]), a host ([`TestHost`]), a platform that
//! records what the built-ins ask it ([`RecordingPlatform`]) and, with the
//! `http` feature, that platform over HTTP ([`TestServer`], [`TestRouter`]).
// Each test binary uses a part of them.
#![allow(dead_code, unused_imports)]

#[cfg(feature = "cli")]
pub mod bin;
mod calls;
mod host;
#[cfg(feature = "http")]
mod http;
mod platform;
#[cfg(feature = "redis")]
pub mod redis;
mod stores;

pub use calls::*;
pub use host::{Behavior, TestHost};
#[cfg(feature = "http")]
pub use http::*;
pub use platform::RecordingPlatform;
#[cfg(feature = "redis")]
pub use stores::Redis;
#[cfg(feature = "redis-cluster")]
pub use stores::{Cluster, cluster_instance, shared_cluster};
pub use stores::{Memory, Platform, StoreKind, assert_one_success, race_across};

use std::sync::{Arc, Mutex};

use serde_json::Value;
use superapp_openapi::{
    AppSecret, JsonObject, OpenServer, SessionKey,
    openserver::{
        ApiResponse, AppRegistration, ManualClock, OpenServerBuilder, OpenServerConfig,
        OpenServerError, SuperappUser,
    },
};

pub const TEAM_A: &str = "team-a";
pub const TEAM_B: &str = "team-b";
/// In team A.
pub const APP_A1: &str = "wx-a1";
pub const SECRET_A1: &str = "secret-of-wx-a1";
/// In team A, like [`APP_A1`].
pub const APP_A2: &str = "wx-a2";
pub const SECRET_A2: &str = "secret-of-wx-a2";
/// In team B.
pub const APP_B1: &str = "wx-b1";
pub const SECRET_B1: &str = "secret-of-wx-b1";

/// Every registered app: (appid, secret, team).
pub const APPS: [(&str, &str, &str); 3] = [
    (APP_A1, SECRET_A1, TEAM_A),
    (APP_A2, SECRET_A2, TEAM_A),
    (APP_B1, SECRET_B1, TEAM_B),
];

/// The secret of a registered app.
pub fn secret_of(app_id: &str) -> AppSecret {
    let (_, secret, _) = APPS
        .into_iter()
        .find(|(app, ..)| *app == app_id)
        .unwrap_or_else(|| panic!("{app_id} is not a registered app"));
    AppSecret::new(secret)
}

/// Has a phone number, an email, a nickname and an avatar.
pub const ADA: &str = "u-ada";
pub const ADA_PHONE: &str = "+8613800138000";
pub const ADA_EMAIL: &str = "ada@example.com";
pub const ADA_AVATAR: &str = "https://avatars.test/ada.png";
/// Has a nickname, and neither phone nor email.
pub const BOB: &str = "u-bob";
/// Inactive.
pub const GONE: &str = "u-gone";

/// An OpenServer on a manual clock that knows [`APPS`] and the users
/// [`ADA`], [`BOB`] and [`GONE`].
pub fn open_server_with(config: OpenServerConfig) -> (OpenServer, ManualClock) {
    let clock = ManualClock::new();
    let server = populated(OpenServer::builder().config(config).clock(clock.clone()));
    (server, clock)
}

/// The builder's server, with the `id_secret` every test instance shares,
/// [`APPS`] and the users [`ADA`], [`BOB`] and [`GONE`].
pub fn populated(builder: OpenServerBuilder) -> OpenServer {
    let server = builder.id_secret("tests").build();
    for (app, secret, team) in APPS {
        server
            .register_app(AppRegistration::new(app, AppSecret::new(secret), team))
            .unwrap();
    }
    server
        .add_user(
            SuperappUser::new(ADA)
                .with_phone_number(ADA_PHONE)
                .with_email(ADA_EMAIL)
                .with_nickname("Ada")
                .with_avatar_url(ADA_AVATAR),
        )
        .unwrap();
    server
        .add_user(SuperappUser::new(BOB).with_nickname("Bob"))
        .unwrap();
    server
        .add_user(
            SuperappUser::new(GONE)
                .with_phone_number("+8613900000000")
                .inactive(),
        )
        .unwrap();
    server
}

/// [`open_server_with`] the default config.
pub fn open_server() -> (OpenServer, ManualClock) {
    open_server_with(OpenServerConfig::default())
}

pub fn object(value: Value) -> JsonObject {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

/// What a developer server computes for checksession:
/// hex(hmac_sha256(key = session_key, message = "")).
pub fn session_signature(session_key: &SessionKey) -> String {
    use hmac::{Hmac, Mac};
    let mac = Hmac::<sha2::Sha256>::new_from_slice(session_key.secret().as_bytes()).unwrap();
    hex::encode(mac.finalize().into_bytes())
}

/// The answer the wire carries for an embedded developer-server call: the
/// success, or the error in the response's error form, so a test asserts
/// on `errcode` and `errmsg` as a developer server reads them.
pub trait Wire<T> {
    fn wire(self) -> T;
}

impl<T: ApiResponse> Wire<T> for Result<T, OpenServerError> {
    fn wire(self) -> T {
        T::from_result(self)
    }
}

/// What tracing logs, as text, while the guard of [`Captured::start`] lives.
#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    /// Captures what this thread logs at `level` and above, without colours.
    pub fn start(level: tracing::Level) -> (Captured, tracing::subscriber::DefaultGuard) {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(level)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        (captured, tracing::subscriber::set_default(subscriber))
    }

    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
