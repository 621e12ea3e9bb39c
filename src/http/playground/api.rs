//! The page's JSON: `GET /playground/api/setup` (what can be chosen),
//! `POST /playground/api/explain` (which version answers each API, as
//! [`Dispatcher::explain`] says it), `POST /playground/api/call` (one wx
//! call: a stream of the messages as they cross, the questions the host
//! asks, and the reply) and `POST /playground/api/answer` (the person's
//! answer to one of those questions).

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::State as Shared;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::Playground;
use super::host::{DEMO_API, DemoHost, SuperappLogin, demo_api};
use super::questions::{Answer, Questions};
use super::record::{Event, Message, Party, Recorder};
use super::recording::RecordingPlatform;
use crate::api::OpenApi;
use crate::app::AppInfo;
use crate::consent::{
    ConsentState, ConsentStore, MemoryConsentStore, PromptAnswer, ScopeName, ScopeTable,
};
use crate::dispatcher::{Dispatcher, RESERVED, SettingApi};
use crate::openserver::OpenServer;
use crate::version::ApiVersion;

/// How long one playground call may take: a person may take up to
/// [`ANSWER_TIMEOUT`](super::questions::ANSWER_TIMEOUT) to answer the
/// consent prompt, and the demo host answers the rest at once.
const CALL_TIMEOUT: Duration = Duration::from_secs(90);

/// The most (user, app, scope) answers the playground's consent store
/// keeps; past it a new answer fails the call (`docs/consent.md`).
const MAX_CONSENT_ENTRIES: usize = 10_000;

/// The most intermediate states one playground call may send (the demo API
/// sends three).
const MAX_STATES: usize = 16;

/// What every playground route reads: the platform, the choices, and
/// what outlives one call (the consent answers, the open questions).
#[derive(Debug)]
pub(super) struct State {
    server: OpenServer,
    playground: Playground,
    consent: Arc<dyn ConsentStore>,
    questions: Questions,
    scopes: Arc<ScopeTable>,
    superapp: Option<Arc<SuperappLogin>>,
}

impl State {
    pub(super) fn new(
        server: OpenServer,
        playground: Playground,
        superapp: Option<SuperappLogin>,
    ) -> State {
        State {
            server,
            playground,
            superapp: superapp.map(Arc::new),
            consent: Arc::new(MemoryConsentStore::with_max_entries(MAX_CONSENT_ENTRIES)),
            questions: Questions::default(),
            scopes: Arc::new(ScopeTable::builtin()),
        }
    }
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
    /// platform, both on this server and writing to `recorder`, the
    /// playground's consent store, and the demo host's own API.
    fn dispatcher(&self, choice: &Choice, recorder: &Recorder) -> Dispatcher {
        let host = DemoHost {
            server: self.server.clone(),
            recorder: recorder.clone(),
            user: choice.user.clone(),
            hook: choice.hook,
            questions: self.questions.clone(),
            scopes: Arc::clone(&self.scopes),
            superapp: self.superapp.clone(),
        };
        let platform = RecordingPlatform {
            inner: self.server.clone(),
            recorder: recorder.clone(),
        };
        Dispatcher::builder(host)
            .platform(platform)
            .default_version(choice.default)
            .call_timeout(CALL_TIMEOUT)
            .shared_consent_store(Arc::clone(&self.consent))
            .custom_api(demo_api())
            .max_states_per_call(MAX_STATES)
            .build()
    }
}

/// The APIs the page may call: the eleven open APIs, the three consent
/// APIs, `invokeNativePlugin`, and the demo host's own API by name.
fn callable() -> impl Iterator<Item = &'static str> {
    OpenApi::ALL
        .iter()
        .map(|api| api.as_str())
        .chain(RESERVED)
        .chain([DEMO_API])
}

/// `GET /playground/api/setup`: the apps (with the secret the developer
/// server holds), the users, the APIs, the consent scopes and the versions.
pub(super) async fn setup(Shared(state): Shared<Arc<State>>) -> Json<Value> {
    let apps: Vec<Value> = state
        .playground
        .apps
        .iter()
        .map(|(id, secret)| json!({ "appid": id, "secret": secret.secret() }))
        .collect();
    let scopes: Vec<Value> = state
        .scopes
        .names()
        .map(
            |scope| json!({ "scope": scope.as_str(), "title": state.scopes.describe(scope).title }),
        )
        .collect();
    Json(json!({
        "apps": apps,
        "users": state.playground.users,
        "apis": callable().collect::<Vec<_>>(),
        "custom_apis": [DEMO_API],
        "scopes": scopes,
        "versions": ApiVersion::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>(),
    }))
}

/// `POST /playground/api/explain`: for every API, what `explain` says.
pub(super) async fn explain(Shared(state): Shared<Arc<State>>, body: Bytes) -> Handled {
    let choice = Choice::parse(&body)?;
    let app = state.app(&choice)?;
    let dispatcher = state.dispatcher(&choice, &Recorder::discarding());
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

/// `POST /playground/api/call`: one wx call through a real dispatcher,
/// answered as a stream (`application/x-ndjson`, one [`Event`] a line):
/// each message as it crosses, a `prompt` or `settings` question when the
/// host asks the person (answer it at `/playground/api/answer`), and
/// `done` with the reply. The reply is whole (the mini program receives
/// it); the messages are masked. A page that goes away stops its call.
pub(super) async fn call(
    Shared(state): Shared<Arc<State>>,
    body: Bytes,
) -> Result<Response, Refused> {
    let choice = Choice::parse(&body)?;
    let app = state.app(&choice)?;
    let name = choice.api.clone().unwrap_or_default();
    let name = name.strip_prefix("wx.").unwrap_or(&name).to_owned();
    if !callable().any(|api| api == name) {
        return Err(Refused(format!(
            "api: {name:?} is not one the playground calls: {:?}",
            callable().collect::<Vec<_>>()
        )));
    }
    let (recorder, events) = Recorder::channel();
    let recorder_for_task = recorder.clone();
    let dispatcher = state.dispatcher(&choice, &recorder);
    let explanation = OpenApi::from_name(&name).map(|api| dispatcher.explain(&app, api));
    let params = match &choice.params {
        Value::Null => json!({}),
        other => other.clone(),
    };
    let call = async move {
        recorder.push(Message::request(
            Party::MiniProgram,
            Party::Host,
            format!("wx.{name}"),
            params.clone(),
        ));
        let (states, api) = (recorder.clone(), name.clone());
        let sink = move |state| states.push(Message::state(&api, state));
        let reply = dispatcher
            .invoke_with_states(&app, &name, params, sink)
            .await
            .into_value();
        recorder.push(Message::reply(&name, &reply));
        recorder.send(Event::Done {
            explanation: explanation
                .as_ref()
                .map_or_else(|| unversioned(&name), ToString::to_string),
            version: explanation.map(|e| e.version.as_str()),
            reply,
            dropped: recorder.dropped(),
        });
    };
    // The call runs on its own task, so the stream sends each event as it
    // happens; the stream's end (the page went away) aborts it. The task's
    // recorder is the call's, for the platform's directory to draw on.
    let running = AbortOnDrop(tokio::spawn(recorder_for_task.scope(call)));
    let lines = futures_util::stream::unfold((events, running), |(mut events, running)| async {
        let event = events.recv().await?;
        let mut line = serde_json::to_vec(&event).unwrap_or_default();
        line.push(b'\n');
        Some((Ok::<_, Infallible>(line), (events, running)))
    });
    Ok((
        [
            (header::CONTENT_TYPE, "application/x-ndjson"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        Body::from_stream(lines),
    )
        .into_response())
}

/// Who answers an API that is not one of the eleven, in every version.
fn unversioned(name: &str) -> String {
    if SettingApi::from_name(name).is_some() {
        format!("{name}: every version -> the dispatcher, from the consent store (docs/consent.md)")
    } else {
        format!("{name}: every version -> the host's custom API (docs/consent.md, custom APIs)")
    }
}

/// A spawned call, aborted when the stream that reads it is dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The page's answer to a question: a prompt's `answer`, or the settings
/// view's changes (`true` granted, `false` denied, `null` forgotten).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Reply {
    id: String,
    #[serde(default)]
    answer: Option<String>,
    #[serde(default)]
    settings: Option<BTreeMap<String, Option<bool>>>,
}

const REPLY_SHAPE: &str = "send {\"id\", \"answer\": \"allow\" | \"deny\" | \"cancel\"} or {\"id\", \"settings\": {\"<scope>\": true | false | null}}";

impl Reply {
    fn parse(body: &[u8]) -> Result<(String, Answer), Refused> {
        let reply: Reply = serde_json::from_slice(body)
            .map_err(|e| Refused(format!("bad request body: {e} ({REPLY_SHAPE})")))?;
        let answer = match (reply.answer, reply.settings) {
            (Some(word), None) => {
                let answer = PromptAnswer::ALL
                    .into_iter()
                    .find(|answer| answer.as_str() == word)
                    .ok_or_else(|| {
                        Refused(format!("answer: {word:?} is not allow, deny or cancel"))
                    })?;
                Answer::Prompt(answer)
            }
            (None, Some(settings)) => {
                let changes = settings
                    .into_iter()
                    .map(|(scope, granted)| {
                        let scope = scope
                            .parse::<ScopeName>()
                            .map_err(|e| Refused(format!("settings: {e}")))?;
                        Ok((scope, ConsentState::from_auth_setting(granted)))
                    })
                    .collect::<Result<_, Refused>>()?;
                Answer::Settings(changes)
            }
            _ => {
                return Err(Refused(format!(
                    "give one of answer and settings ({REPLY_SHAPE})"
                )));
            }
        };
        Ok((reply.id, answer))
    }
}

/// `POST /playground/api/answer`: hands the person's answer to the call
/// waiting for it; `{"answered": "<id>"}`, or a 400 saying why not.
pub(super) async fn answer(Shared(state): Shared<Arc<State>>, body: Bytes) -> Handled {
    let (id, answer) = Reply::parse(&body)?;
    state.questions.answer(&id, answer).map_err(Refused)?;
    Ok(Json(json!({ "answered": id })))
}
