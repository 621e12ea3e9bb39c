//! The page's JSON: `GET /playground/api/setup` (what can be chosen),
//! `POST /playground/api/explain` (which version answers each API, as
//! [`Dispatcher::explain`] says it) and `POST /playground/api/call` (one wx
//! call, its reply and the messages that crossed).

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State as Shared;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::Playground;
use super::host::DemoHost;
use super::record::{Message, Party, Recorder, RecordingPlatform};
use crate::api::OpenApi;
use crate::app::AppInfo;
use crate::dispatcher::Dispatcher;
use crate::openserver::OpenServer;
use crate::version::ApiVersion;

/// How long one playground call may take: a demo host answers at once.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// What every playground route reads.
#[derive(Debug)]
pub(super) struct State {
    pub(super) server: OpenServer,
    pub(super) playground: Playground,
}

type Handled = Result<Json<Value>, Refused>;

/// A request the playground cannot answer: 400, and why.
#[derive(Debug)]
pub(super) struct Refused(String);

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        let body = Json(json!({ "error": self.0 }));
        (StatusCode::BAD_REQUEST, body).into_response()
    }
}

/// The page's choices: app, host user, and the three places a version can
/// come from; for a call, the API and its params.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Choice {
    appid: String,
    user: String,
    #[serde(default)]
    app_json: Option<ApiVersion>,
    #[serde(default)]
    hook: Option<ApiVersion>,
    default: ApiVersion,
    #[serde(default)]
    api: Option<String>,
    #[serde(default)]
    params: Value,
}

impl Choice {
    fn parse(body: &[u8]) -> Result<Choice, Refused> {
        serde_json::from_slice(body).map_err(|e| {
            Refused(format!(
                "bad request body: {e} (send {{\"appid\", \"user\", \"default\": \"v1\"|\"v2\"|\"v3\", \
                 optional \"app_json\", \"hook\", \"api\", \"params\"}})"
            ))
        })
    }
}

impl State {
    /// The app as app.json would describe it, when it is one of the
    /// playground's and the user one of its users.
    fn app(&self, choice: &Choice) -> Result<AppInfo, Refused> {
        let offered = self
            .playground
            .apps
            .iter()
            .any(|(id, _)| *id == choice.appid);
        let app = offered
            .then(|| self.server.app_info(&choice.appid))
            .flatten()
            .ok_or_else(|| {
                Refused(format!(
                    "app {:?} is not one of the playground's: {:?}",
                    choice.appid,
                    self.app_ids()
                ))
            })?;
        if !self.playground.users.contains(&choice.user) {
            return Err(Refused(format!(
                "user {:?} is not one of the directory's: {:?}",
                choice.user, self.playground.users
            )));
        }
        Ok(match choice.app_json {
            Some(version) => app.with_api_version(version),
            None => app,
        })
    }

    fn app_ids(&self) -> Vec<&str> {
        self.playground
            .apps
            .iter()
            .map(|(id, _)| id.as_str())
            .collect()
    }

    /// A dispatcher for the choice: the demo host and the recording
    /// platform, both on this server and writing to `recorder`.
    fn dispatcher(&self, choice: &Choice, recorder: &Recorder) -> Dispatcher {
        let host = DemoHost {
            server: self.server.clone(),
            recorder: recorder.clone(),
            user: choice.user.clone(),
            hook: choice.hook,
        };
        let platform = RecordingPlatform {
            inner: self.server.clone(),
            recorder: recorder.clone(),
        };
        Dispatcher::builder(host)
            .platform(platform)
            .default_version(choice.default)
            .call_timeout(CALL_TIMEOUT)
            .build()
    }
}

/// `GET /playground/api/setup`: the apps (with the secret the developer
/// server holds), the users, the APIs and the versions.
pub(super) async fn setup(Shared(state): Shared<Arc<State>>) -> Json<Value> {
    let apps: Vec<Value> = state
        .playground
        .apps
        .iter()
        .map(|(id, secret)| json!({ "appid": id, "secret": secret.secret() }))
        .collect();
    let apis: Vec<String> = OpenApi::ALL.iter().map(ToString::to_string).collect();
    Json(json!({
        "apps": apps,
        "users": state.playground.users,
        "apis": apis,
        "versions": ApiVersion::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>(),
    }))
}

/// `POST /playground/api/explain`: for every API, what `explain` says.
pub(super) async fn explain(Shared(state): Shared<Arc<State>>, body: Bytes) -> Handled {
    let choice = Choice::parse(&body)?;
    let app = state.app(&choice)?;
    let dispatcher = state.dispatcher(&choice, &Recorder::default());
    let lines: Vec<Value> = OpenApi::ALL
        .iter()
        .map(|&api| {
            let explanation = dispatcher.explain(&app, api);
            json!({
                "api": api.to_string(),
                "version": explanation.version.as_str(),
                "line": explanation.to_string(),
            })
        })
        .collect();
    Ok(Json(json!({ "explanations": lines })))
}

/// `POST /playground/api/call`: one wx call through a real dispatcher. The
/// reply is whole (the mini program receives it); the messages are masked.
pub(super) async fn call(Shared(state): Shared<Arc<State>>, body: Bytes) -> Handled {
    let choice = Choice::parse(&body)?;
    let app = state.app(&choice)?;
    let name = choice.api.clone().unwrap_or_default();
    let api: OpenApi = name.parse().map_err(|e| Refused(format!("api: {e}")))?;
    let recorder = Recorder::default();
    let dispatcher = state.dispatcher(&choice, &recorder);
    let explanation = dispatcher.explain(&app, api);
    let params = match &choice.params {
        Value::Null => json!({}),
        other => other.clone(),
    };
    recorder.push(Message::request(
        Party::MiniProgram,
        Party::Host,
        format!("wx.{api}"),
        params.clone(),
    ));
    let reply = dispatcher.invoke(&app, &name, params).await.into_value();
    recorder.push(Message::reply(&api.to_string(), &reply));
    let (messages, dropped) = recorder.take();
    Ok(Json(json!({
        "explanation": explanation.to_string(),
        "version": explanation.version.as_str(),
        "reply": reply,
        "messages": messages,
        "dropped": dropped,
    })))
}
