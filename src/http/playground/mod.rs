//! The playground (`openserver --playground`): a page at `/playground`
//! where a person plays the mini program and its developer server and
//! watches every message cross between the five parties.
//!
//! A development tool: `docs/http.md` says never to enable it on a public
//! platform (it hands the page the apps' secrets, as a developer server
//! holds them). Nothing of it is routed unless the binary is asked for it.
//!
//! - `api` answers the page's JSON: the setup (apps, users, versions,
//!   scopes), one wx call through a real [`Dispatcher`](crate::Dispatcher)
//!   per request, built for the page's choices and streamed as it goes,
//!   and the person's answers to the host's questions;
//! - `host` is that dispatcher's demo host (its consent prompt and
//!   settings view ask the page, through `questions`) and its own API with
//!   intermediate states; `record` the stream of messages and the
//!   masking; `recording` the recording platform around the binary's own
//!   [`OpenServer`] and the recording directory;
//! - `assets/` is the page (HTML, CSS, JS; no build step, no network),
//!   compiled in. The developer server's side runs in the page, against
//!   the binary's real routes.

mod api;
mod host;
mod questions;
mod record;
mod recording;

pub use self::record::masked;

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::{get, post};

use self::host::SuperappLogin;
use crate::openserver::{OpenServer, SuperappDirectory};
use crate::secret::AppSecret;

/// Where the page is served.
pub const PLAYGROUND_PATH: &str = "/playground";

/// The most apps or users the page offers; past it the rest are left out
/// of the lists (a playground's config is small).
pub const MAX_PLAYGROUND_CHOICES: usize = 100;

/// The playground's choices: the apps (with the secret their developer
/// server holds) and the directory's users.
///
/// ```
/// use superapp_openapi::AppSecret;
/// use superapp_openapi::http::Playground;
/// let playground = Playground::new()
///     .app("wx-shop", AppSecret::new("shop-secret-0123456789"))
///     .user("alice");
/// assert!(!format!("{playground:?}").contains("shop-secret"));
/// ```
#[derive(Clone, Default)]
pub struct Playground {
    apps: Vec<(String, AppSecret)>,
    users: Vec<String>,
    /// The accounts' passwords, by user id.
    passwords: HashMap<String, String>,
    /// The super-app server's URL, the super app's `appId`, the timeout.
    superapp: Option<(String, String, Duration)>,
}

impl Playground {
    /// No app and no user yet.
    pub fn new() -> Self {
        Playground::default()
    }

    /// Offers an app registered on the platform, with its secret (the page
    /// plays its developer server). Past [`MAX_PLAYGROUND_CHOICES`] apps, ignored.
    pub fn app(mut self, app_id: impl Into<String>, secret: AppSecret) -> Self {
        if self.apps.len() < MAX_PLAYGROUND_CHOICES {
            self.apps.push((app_id.into(), secret));
        }
        self
    }

    /// Offers a user of the platform's directory as the host's signed-in
    /// user. Past [`MAX_PLAYGROUND_CHOICES`] users, ignored.
    pub fn user(mut self, user_id: impl Into<String>) -> Self {
        if self.users.len() < MAX_PLAYGROUND_CHOICES {
            self.users.push(user_id.into());
        }
        self
    }

    /// With a super-app server (the openserver config's `directory`): the
    /// demo host's v3 `get_auth_code` logs in at `url` as the chosen user
    /// and asks it for the authCode (TCMPP's demo `login` and
    /// `getMiniProgramAuthCode`, with `app_id` the super app's `appId`),
    /// each call bounded by `timeout`, instead of having the platform's
    /// in-memory directory issue it. Offer its users with
    /// [`account`](Playground::account).
    pub fn superapp_server(
        mut self,
        url: &str,
        app_id: impl Into<String>,
        timeout: Duration,
    ) -> Self {
        self.superapp = Some((url.to_owned(), app_id.into(), timeout));
        self
    }

    /// Offers a user of the super-app server, with the password the demo
    /// host logs in with for v3 (see [`superapp_server`](Playground::superapp_server)).
    /// Past [`MAX_PLAYGROUND_CHOICES`] users, ignored.
    pub fn account(mut self, user_id: impl Into<String>, password: impl Into<String>) -> Self {
        if self.users.len() >= MAX_PLAYGROUND_CHOICES {
            return self;
        }
        let user_id = user_id.into();
        self.users.push(user_id.clone());
        self.passwords.insert(user_id, password.into());
        self
    }

    /// `directory` drawing, during a playground call, each request the
    /// platform makes to it (platform → super-app server, labelled with the
    /// endpoint `HttpDirectory` calls); outside a call it only forwards.
    /// Build the [`OpenServer`] the playground serves with it to see the
    /// super-app server's side of a login.
    pub fn recording_directory(
        directory: Arc<dyn SuperappDirectory>,
    ) -> Arc<dyn SuperappDirectory> {
        Arc::new(recording::RecordingDirectory(directory))
    }

    /// The playground's routes over `server`: the page and its assets, and
    /// `/playground/api/...`, whose bodies are at most `body_limit` bytes.
    /// Merge them into [`router`](crate::http::router)'s router, which
    /// keeps its 404 for every other path.
    pub fn router(self, server: OpenServer, body_limit: usize) -> Router {
        let login = self.superapp.as_ref().map(|(url, app_id, timeout)| {
            SuperappLogin::new(url, app_id.clone(), *timeout, self.passwords.clone())
        });
        let state = Arc::new(api::State::new(server, self, login));
        Router::new()
            .route(PLAYGROUND_PATH, get(page))
            .route("/playground/style.css", get(style))
            .route("/playground/app.js", get(script))
            .route("/playground/api/setup", get(api::setup))
            .route("/playground/api/explain", post(api::explain))
            .route("/playground/api/call", post(api::call))
            .route("/playground/api/answer", post(api::answer))
            .layer(DefaultBodyLimit::max(body_limit))
            .with_state(state)
    }
}

impl fmt::Debug for Playground {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let apps: Vec<&str> = self.apps.iter().map(|(id, _)| id.as_str()).collect();
        f.debug_struct("Playground")
            .field("apps", &apps)
            .field("users", &self.users.len())
            .field(
                "superapp",
                &self.superapp.as_ref().map(|(_, app_id, _)| app_id),
            )
            .finish()
    }
}

/// A compiled-in file, never cached (the binary may change under it).
fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
}

async fn page() -> impl IntoResponse {
    asset(
        "text/html; charset=utf-8",
        include_str!("assets/index.html"),
    )
}

async fn style() -> impl IntoResponse {
    asset("text/css; charset=utf-8", include_str!("assets/style.css"))
}

async fn script() -> impl IntoResponse {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("assets/app.js"),
    )
}
