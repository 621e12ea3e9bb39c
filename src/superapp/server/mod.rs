//! [`ReferenceServer`]: a super-app server that speaks TCMPP's protocol,
//! for super-app teams to read and for the tests and the conformance check
//! to run against.
//!
//! Platform-facing: the six user calls of the configured path family,
//! each refused (HTTP 401 with the envelope) unless its `TC-Signature`
//! verifies within the window; `/access_token/b2b2c`, refused unless the
//! platform's SNAP signature verifies with its public key. Host-facing:
//! `login` and `getMiniProgramAuthCode`, as TCMPP's Android demo calls
//! them. Temporary codes, login tokens and authCodes are random, expire,
//! and are bounded ([`ReferenceServerBuilder::max_outstanding`]); temporary
//! codes and authCodes are single use.

mod book;
mod routes;

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::paths::PathFamily;
use super::signing::{DEFAULT_SIGNATURE_WINDOW, SecretKey, SignatureMode, TcSigner};
use super::snap::SnapVerifier;
use super::wire::InfoKind;
use crate::api::Scope;
use crate::openserver::{Clock, SystemClock};
use book::CodeBook;
pub use book::{ReferenceUser, UsersFileError, load_users};

/// How long a temporary code or an authCode stays redeemable (the
/// platform's own codes live as long).
pub const REFERENCE_CODE_TTL: Duration = Duration::from_secs(300);
/// How long a host login token stays valid.
pub const REFERENCE_TOKEN_TTL: Duration = Duration::from_secs(24 * 3600);
/// How many temporary codes, tokens and authCodes may be outstanding, each,
/// unless configured otherwise; past it the server answers `45009`.
pub const REFERENCE_MAX_OUTSTANDING: usize = 100_000;

/// Builds a [`ReferenceServer`].
#[derive(Debug)]
pub struct ReferenceServerBuilder {
    users: Vec<ReferenceUser>,
    signer: TcSigner,
    paths: PathFamily,
    window: Duration,
    platform: Option<SnapVerifier>,
    max_outstanding: usize,
    clock: Arc<dyn Clock>,
}

impl ReferenceServerBuilder {
    /// The AES mode it expects (default ECB).
    pub fn signature(mut self, mode: SignatureMode) -> Self {
        self.signer = TcSigner::new(self.signer.key().clone(), mode);
        self
    }

    /// The path family it serves (default 2025-12-05).
    pub fn paths(mut self, paths: PathFamily) -> Self {
        self.paths = paths;
        self
    }

    /// How far a request's timestamp may be from its clock (default 5 min).
    pub fn window(mut self, window: Duration) -> Self {
        self.window = window;
        self
    }

    /// The platform's client key and public key, for `/access_token/b2b2c`.
    /// Without it every redemption is refused.
    pub fn platform_key(mut self, verifier: SnapVerifier) -> Self {
        self.platform = Some(verifier);
        self
    }

    /// The cap on each kind of outstanding code.
    pub fn max_outstanding(mut self, max: usize) -> Self {
        self.max_outstanding = max;
        self
    }

    /// Its clock (default the system's).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The server.
    pub fn build(self) -> ReferenceServer {
        let max = self.max_outstanding;
        ReferenceServer {
            shared: Arc::new(Shared {
                users: self.users.into_iter().map(|u| (u.id.clone(), u)).collect(),
                signer: self.signer,
                paths: self.paths,
                window: self.window,
                platform: self.platform,
                clock: self.clock,
                temporary: CodeBook::new(max),
                tokens: CodeBook::new(max),
                auth_codes: CodeBook::new(max),
            }),
        }
    }
}

/// A reference super-app server: [`router`](ReferenceServer::router) is
/// its axum `Router`; the `superapp-server` binary serves it.
///
/// ```
/// use superapp_openapi::superapp::{ReferenceServer, ReferenceUser, SecretKey};
/// let users: Vec<ReferenceUser> = serde_json::from_str(r#"[{"id": "u-1", "nickname": "Ada"}]"#)?;
/// let server = ReferenceServer::builder(SecretKey::new("0123456789abcdef")?, users).build();
/// let _router = server.router();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct ReferenceServer {
    shared: Arc<Shared>,
}

impl ReferenceServer {
    /// A builder for a server with these users, checking signatures with
    /// the console's SecretKey.
    pub fn builder(secret_key: SecretKey, users: Vec<ReferenceUser>) -> ReferenceServerBuilder {
        ReferenceServerBuilder {
            users,
            signer: TcSigner::new(secret_key, SignatureMode::default()),
            paths: PathFamily::default(),
            window: DEFAULT_SIGNATURE_WINDOW,
            platform: None,
            max_outstanding: REFERENCE_MAX_OUTSTANDING,
            clock: Arc::new(SystemClock),
        }
    }

    /// The routes.
    pub fn router(&self) -> axum::Router {
        routes::router(Arc::clone(&self.shared))
    }
}

impl fmt::Debug for ReferenceServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReferenceServer")
            .field("users", &self.shared.users.len())
            .field("paths", &self.shared.paths)
            .field("signature", &self.shared.signer.mode())
            .field("v3", &self.shared.platform.is_some())
            .finish_non_exhaustive()
    }
}

/// What a redeemable authCode stands for.
#[derive(Clone)]
struct Grant {
    user_id: String,
    mini_app_id: String,
    scopes: Option<Vec<Scope>>,
}

struct Shared {
    users: HashMap<String, ReferenceUser>,
    signer: TcSigner,
    paths: PathFamily,
    window: Duration,
    platform: Option<SnapVerifier>,
    clock: Arc<dyn Clock>,
    /// temporary code → (user, phone or email)
    temporary: CodeBook<(String, InfoKind)>,
    /// login token → user
    tokens: CodeBook<String>,
    auth_codes: CodeBook<Grant>,
}

impl Shared {
    fn now(&self) -> u64 {
        self.clock.now_millis()
    }

    fn expiry(&self, ttl: Duration) -> u64 {
        self.now()
            .saturating_add(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX))
    }
}
