//! What crossed between the parties during one playground call: a bounded
//! list of messages, with every secret masked, and the recording
//! [`Platform`] around the embedded [`OpenServer`] that writes it.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use serde::Serialize;
use serde_json::{Map, Value, json};
use tokio::sync::mpsc;

use crate::app::AppInfo;
use crate::http::wire::paths;
use crate::openserver::{
    OpenServer, OpenServerError, RedeemedGrant, SuperappDirectory, SuperappUser,
};
use crate::platform::{OpenData, Platform, PlatformError, Principal, SealedData, UserCodeKind};
use crate::secret::{AuthCode, Code};
use crate::superapp::{B2B2C_PATH, UserEndpoint};

/// The most messages one call records; past it they are counted, not kept
/// (a call crosses at most a dozen today).
pub(crate) const MAX_MESSAGES: usize = 32;

/// The names of JSON fields whose string values are secrets, masked
/// wherever a recorded body holds them.
const SECRET_FIELDS: &[&str] = &[
    "code",
    "token",
    "userPassword",
    "js_code",
    "authCode",
    "session_key",
    "access_token",
    "secret",
    "signature",
    "encryptedData",
    "phoneNumber",
    "purePhoneNumber",
    "email",
];

/// One of the five parties, a lane of the page's diagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Party {
    MiniProgram,
    Host,
    SuperappServer,
    Platform,
}

/// One message: who sent it to whom, what (a wx API, a method, a route),
/// how it went, and its body with the secrets masked.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Message {
    from: Party,
    to: Party,
    label: String,
    status: String,
    error: bool,
    body: Value,
}

impl Message {
    /// A request: its status is the word `request`.
    pub(crate) fn request(from: Party, to: Party, label: impl Into<String>, body: Value) -> Self {
        Message {
            from,
            to,
            label: label.into(),
            status: "request".to_owned(),
            error: false,
            body: masked_json(body),
        }
    }

    /// An answer: `ok`, or what failed (drawn red).
    pub(crate) fn answer(
        from: Party,
        to: Party,
        label: impl Into<String>,
        outcome: Result<Value, String>,
    ) -> Self {
        let (status, error, body) = match outcome {
            Ok(body) => ("ok".to_owned(), false, body),
            Err(why) => (why.clone(), true, json!({ "error": why })),
        };
        Message {
            from,
            to,
            label: label.into(),
            status,
            error,
            body: masked_json(body),
        }
    }

    /// The same message with another status (a prompt's answer).
    pub(crate) fn with_status(mut self, status: impl Into<String>) -> Self {
        self.status = status.into();
        self
    }

    /// An intermediate state of a custom API, on its way to the mini program.
    pub(crate) fn state(api: &str, state: Map<String, Value>) -> Self {
        Message {
            from: Party::Host,
            to: Party::MiniProgram,
            label: format!("wx.{api} state"),
            status: "state".to_owned(),
            error: false,
            body: masked_json(Value::Object(state)),
        }
    }

    /// A reply to the mini program: an error when its errMsg says `:fail`.
    pub(crate) fn reply(api: &str, reply: &Value) -> Self {
        let err_msg = reply["errMsg"].as_str().unwrap_or_default();
        let error = err_msg.contains(":fail");
        Message {
            from: Party::Host,
            to: Party::MiniProgram,
            label: format!("wx.{api}"),
            status: err_msg.to_owned(),
            error,
            body: masked_json(reply.clone()),
        }
    }
}

/// The most lines one call's stream holds beside its messages: the
/// consent prompt or settings view a call may ask (one at most) and the
/// final reply.
const MAX_CONTROL_EVENTS: usize = 4;

/// One line of a call's answer stream (`application/x-ndjson`), in the
/// order it happened: `{"event": "message", …}` as each message crosses,
/// `prompt` and `settings` when the demo host asks the person at the page,
/// `done` with the mini program's reply.
#[derive(Debug, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub(crate) enum Event {
    Message(Message),
    /// The consent prompt: answer it at `/playground/api/answer`.
    Prompt {
        id: String,
        scope: String,
        title: String,
        description: String,
    },
    /// The settings view: the scopes asked and their answers
    /// (`true` granted, `false` denied).
    Settings {
        id: String,
        settings: Vec<Setting>,
    },
    /// The reply, what `explain` says (for one of the eleven open APIs),
    /// and how many messages were left out past [`MAX_MESSAGES`].
    Done {
        explanation: String,
        version: Option<&'static str>,
        reply: Value,
        dropped: usize,
    },
}

/// One row of the settings view.
#[derive(Debug, Serialize)]
pub(crate) struct Setting {
    pub(crate) scope: String,
    pub(crate) title: String,
    pub(crate) granted: bool,
}

/// Where one call's events go, shared by the recording platform, the demo
/// host and the state sink: at most [`MAX_MESSAGES`] messages, the rest
/// counted. The channel holds every event a call may send, so a send never
/// waits, and none is lost while the page reads.
#[derive(Debug, Clone)]
pub(crate) struct Recorder(Arc<Channel>);

#[derive(Debug)]
struct Channel {
    events: mpsc::Sender<Event>,
    messages: AtomicUsize,
    dropped: AtomicUsize,
}

tokio::task_local! {
    /// The recorder of the playground call the current task runs, for what
    /// is shared by every call (the platform's directory).
    static CURRENT: Recorder;
}

impl Recorder {
    /// Runs `call` with this recorder as its task's current one.
    pub(crate) async fn scope<F: Future>(self, call: F) -> F::Output {
        CURRENT.scope(self, call).await
    }

    /// The current task's recorder: `None` outside a playground call.
    fn current() -> Option<Recorder> {
        CURRENT.try_with(Recorder::clone).ok()
    }

    /// A recorder and the receiving end of its events.
    pub(crate) fn channel() -> (Recorder, mpsc::Receiver<Event>) {
        let (events, received) = mpsc::channel(MAX_MESSAGES + MAX_CONTROL_EVENTS);
        let channel = Channel {
            events,
            messages: AtomicUsize::new(0),
            dropped: AtomicUsize::new(0),
        };
        (Recorder(Arc::new(channel)), received)
    }

    /// A recorder whose events go nowhere (for `explain`).
    pub(crate) fn discarding() -> Recorder {
        Recorder::channel().0
    }

    /// Sends one message, or counts it past [`MAX_MESSAGES`].
    pub(crate) fn push(&self, message: Message) {
        if self.0.messages.fetch_add(1, Ordering::Relaxed) < MAX_MESSAGES {
            self.send(Event::Message(message));
        } else {
            self.0.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Sends a prompt, the settings view or the reply. The channel has room
    /// for them; a page that went away receives nothing, and its call is
    /// stopped by the stream's end.
    pub(crate) fn send(&self, event: Event) {
        let _ = self.0.events.try_send(event);
    }

    /// How many messages were left out.
    pub(crate) fn dropped(&self) -> usize {
        self.0.dropped.load(Ordering::Relaxed)
    }
}

/// A secret's shape, not its value, as the login walkthrough and the
/// playground show it: its first four and last two characters and its
/// length; eight characters or fewer, stars only.
///
/// ```
/// use superapp_openapi::http::masked;
/// assert_eq!(masked("0123456789abcdef"), "0123******ef (16 chars)");
/// assert_eq!(masked("short"), "*****");
/// ```
pub fn masked(secret: &str) -> String {
    let n = secret.chars().count();
    if n <= 8 {
        return "*".repeat(n);
    }
    let head: String = secret.chars().take(4).collect();
    let tail: String = secret.chars().skip(n - 2).collect();
    format!("{head}{}{tail} ({n} chars)", "*".repeat(6))
}

/// `value` with the string of every secret field masked, at any depth.
pub(crate) fn masked_json(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(key, value)| {
                    let value = match value {
                        Value::String(s) if SECRET_FIELDS.contains(&key.as_str()) => {
                            Value::String(masked(&s))
                        }
                        other => masked_json(other),
                    };
                    (key, value)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(masked_json).collect()),
        other => other,
    }
}

/// The embedded platform, recording each call the built-in flows make
/// (labelled with the SDK route a remote host would use for it).
#[derive(Debug, Clone)]
pub(crate) struct RecordingPlatform {
    pub(crate) inner: OpenServer,
    pub(crate) recorder: Recorder,
}

/// The request body a built-in flow's call stands for.
fn principal_body(app: &AppInfo, principal: &Principal) -> Value {
    match principal {
        Principal::Uid(uid) => json!({ "appid": app.app_id(), "uid": uid }),
        Principal::AuthCode(code) => json!({ "appid": app.app_id(), "authCode": code.secret() }),
    }
}

impl RecordingPlatform {
    /// Records the request, makes the call, records its answer.
    async fn recorded<T>(
        &self,
        route: &str,
        request: Value,
        call: impl Future<Output = Result<T, PlatformError>>,
        shown: impl FnOnce(&T) -> Value,
    ) -> Result<T, PlatformError> {
        let between = (Party::Host, Party::Platform);
        exchange(
            &self.recorder,
            between,
            route,
            request,
            call,
            shown,
            short_error,
        )
        .await
    }
}

/// One request and its answer between two parties: the request recorded,
/// the call made, its answer (as `shown` shows it, or its error as
/// `failed` words it) recorded from the other side.
pub(crate) async fn exchange<T, E>(
    recorder: &Recorder,
    (from, to): (Party, Party),
    label: &str,
    request: Value,
    call: impl Future<Output = Result<T, E>>,
    shown: impl FnOnce(&T) -> Value,
    failed: impl FnOnce(&E) -> String,
) -> Result<T, E> {
    recorder.push(Message::request(from, to, label, request));
    let result = call.await;
    let outcome = result.as_ref().map(shown).map_err(failed);
    recorder.push(Message::answer(to, from, label, outcome));
    result
}

/// A failure as a diagram label: the errcode and the message's first
/// clause (`46006 no session`), else the whole error.
fn short_error(err: &PlatformError) -> String {
    match err {
        PlatformError::Api(api) => short_api_error(api),
        other => other.to_string(),
    }
}

fn short_api_error(err: &OpenServerError) -> String {
    let message = err.errmsg();
    let clause = message.split(':').next().unwrap_or(message);
    format!("{} {}", err.errcode(), clause)
}

/// The code as the answer shows it.
fn code_body(code: &Code) -> Value {
    json!({ "code": code.secret() })
}

#[async_trait]
impl Platform for RecordingPlatform {
    async fn issue_login_code(
        &self,
        app: &AppInfo,
        principal: &Principal,
    ) -> Result<Code, PlatformError> {
        let call = Platform::issue_login_code(&self.inner, app, principal);
        self.recorded(
            paths::SDK_LOGIN_CODE,
            principal_body(app, principal),
            call,
            code_body,
        )
        .await
    }

    async fn check_session(
        &self,
        app: &AppInfo,
        principal: &Principal,
    ) -> Result<bool, PlatformError> {
        let call = Platform::check_session(&self.inner, app, principal);
        self.recorded(
            paths::SDK_CHECK_SESSION,
            principal_body(app, principal),
            call,
            |valid| json!({ "valid": valid }),
        )
        .await
    }

    async fn issue_user_code(
        &self,
        app: &AppInfo,
        principal: &Principal,
        kind: UserCodeKind,
    ) -> Result<Code, PlatformError> {
        let mut request = principal_body(app, principal);
        request["kind"] = json!(match kind {
            UserCodeKind::PhoneNumber => "phone_number",
            UserCodeKind::Email => "email",
        });
        let call = Platform::issue_user_code(&self.inner, app, principal, kind);
        self.recorded(paths::SDK_USER_CODE, request, call, code_body)
            .await
    }

    async fn avatar_url(
        &self,
        app: &AppInfo,
        principal: &Principal,
    ) -> Result<String, PlatformError> {
        let mut request = principal_body(app, principal);
        request["field"] = json!("avatar");
        let call = Platform::avatar_url(&self.inner, app, principal);
        self.recorded(
            paths::SDK_PROFILE,
            request,
            call,
            |url| json!({ "avatarUrl": url }),
        )
        .await
    }

    async fn nickname(
        &self,
        app: &AppInfo,
        principal: &Principal,
    ) -> Result<String, PlatformError> {
        let mut request = principal_body(app, principal);
        request["field"] = json!("nickname");
        let call = Platform::nickname(&self.inner, app, principal);
        self.recorded(
            paths::SDK_PROFILE,
            request,
            call,
            |name| json!({ "nickName": name }),
        )
        .await
    }

    async fn seal_user_info(
        &self,
        app: &AppInfo,
        principal: &Principal,
        user_info: &Map<String, Value>,
    ) -> Result<OpenData, PlatformError> {
        let mut request = principal_body(app, principal);
        request["userInfo"] = Value::Object(user_info.clone());
        let call = Platform::seal_user_info(&self.inner, app, principal, user_info);
        self.recorded(paths::SDK_OPEN_DATA, request, call, |sealed| {
            json!({ "rawData": sealed.raw_data, "signature": sealed.signature,
                    "encryptedData": sealed.encrypted_data, "iv": sealed.iv })
        })
        .await
    }

    async fn seal_phone_number(
        &self,
        app: &AppInfo,
        principal: &Principal,
    ) -> Result<SealedData, PlatformError> {
        let mut request = principal_body(app, principal);
        request["data"] = json!("phone_number");
        let call = Platform::seal_phone_number(&self.inner, app, principal);
        self.recorded(
            paths::SDK_OPEN_DATA,
            request,
            call,
            |sealed| json!({ "encryptedData": sealed.encrypted_data, "iv": sealed.iv }),
        )
        .await
    }
}

/// The platform's directory (a super-app server), drawing each request
/// the platform makes to it during a playground call (labelled with the
/// endpoint `HttpDirectory` calls for it); outside a call, it only forwards.
#[derive(Debug)]
pub(crate) struct RecordingDirectory(pub(crate) Arc<dyn SuperappDirectory>);

impl RecordingDirectory {
    async fn recorded<T>(
        &self,
        label: &str,
        request: Value,
        call: impl Future<Output = Result<T, OpenServerError>>,
        shown: impl FnOnce(&T) -> Value,
    ) -> Result<T, OpenServerError> {
        match Recorder::current() {
            None => call.await,
            Some(recorder) => {
                let between = (Party::Platform, Party::SuperappServer);
                exchange(
                    &recorder,
                    between,
                    label,
                    request,
                    call,
                    shown,
                    short_api_error,
                )
                .await
            }
        }
    }
}

fn value_field(kind: UserCodeKind) -> &'static str {
    match kind {
        UserCodeKind::PhoneNumber => "phoneNumber",
        UserCodeKind::Email => "email",
    }
}

#[async_trait]
impl SuperappDirectory for RecordingDirectory {
    async fn user(&self, user_id: &str) -> Result<Option<Arc<SuperappUser>>, OpenServerError> {
        let label = UserEndpoint::CheckUser.name();
        let call = self.0.user(user_id);
        self.recorded(
            label,
            json!({ "userId": user_id }),
            call,
            |user| json!({ "exists": user.is_some() }),
        )
        .await
    }

    async fn redeem_auth_code(
        &self,
        app_id: &str,
        auth_code: &AuthCode,
    ) -> Result<Option<RedeemedGrant>, OpenServerError> {
        let request = json!({ "appid": app_id, "authCode": auth_code.secret() });
        let call = self.0.redeem_auth_code(app_id, auth_code);
        self.recorded(B2B2C_PATH, request, call, |grant| match grant {
            Some(grant) => json!({ "userId": grant.user_id, "scopes": grant.scopes }),
            None => json!({ "redeemed": false }),
        })
        .await
    }

    async fn nickname(&self, user: &SuperappUser) -> Result<String, OpenServerError> {
        let label = UserEndpoint::GetUserNick.name();
        let call = self.0.nickname(user);
        self.recorded(
            label,
            json!({ "userId": user.id }),
            call,
            |name| json!({ "nickName": name }),
        )
        .await
    }

    async fn avatar_url(&self, user: &SuperappUser) -> Result<String, OpenServerError> {
        let label = UserEndpoint::GetUserAvatar.name();
        let call = self.0.avatar_url(user);
        self.recorded(
            label,
            json!({ "userId": user.id }),
            call,
            |url| json!({ "avatarUrl": url }),
        )
        .await
    }

    async fn issue_temporary_code(
        &self,
        user: &SuperappUser,
        kind: UserCodeKind,
    ) -> Result<Option<Code>, OpenServerError> {
        let label = UserEndpoint::GetUserInfoTemporaryCode.name();
        let request = json!({ "userId": user.id, "kind": value_field(kind) });
        let call = self.0.issue_temporary_code(user, kind);
        self.recorded(
            label,
            request,
            call,
            |code| json!({ "code": code.as_ref().map(Code::secret) }),
        )
        .await
    }

    async fn redeem_temporary_code(
        &self,
        user: &SuperappUser,
        kind: UserCodeKind,
        code: Option<&Code>,
    ) -> Result<String, OpenServerError> {
        let label = match kind {
            UserCodeKind::PhoneNumber => UserEndpoint::GetUserPhoneNumber,
            UserCodeKind::Email => UserEndpoint::GetUserEmail,
        }
        .name();
        let request = json!({ "userId": user.id, "code": code.map(Code::secret) });
        let call = self.0.redeem_temporary_code(user, kind, code);
        self.recorded(
            label,
            request,
            call,
            |value| json!({ value_field(kind): value }),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_masked_at_any_depth_as_the_walkthrough_masks_them() {
        let shown = masked_json(json!({
            "errMsg": "login:ok",
            "code": "0123456789abcdef",
            "nested": [{ "session_key": "short" }],
        }));
        assert_eq!(shown["code"], "0123******ef (16 chars)");
        assert_eq!(shown["nested"][0]["session_key"], "*****");
        assert_eq!(shown["errMsg"], "login:ok");
    }

    #[test]
    fn a_recorder_sends_at_most_its_limit_counts_the_rest_and_still_sends_the_reply() {
        let (recorder, mut events) = Recorder::channel();
        for _ in 0..MAX_MESSAGES + 3 {
            recorder.push(Message::request(
                Party::MiniProgram,
                Party::Host,
                "wx.login",
                json!({}),
            ));
        }
        recorder.send(Event::Done {
            explanation: String::new(),
            version: None,
            reply: json!({}),
            dropped: recorder.dropped(),
        });
        assert_eq!(recorder.dropped(), 3);
        drop(recorder);
        let mut kinds = Vec::new();
        while let Ok(event) = events.try_recv() {
            kinds.push(serde_json::to_value(&event).unwrap()["event"].clone());
        }
        assert_eq!(kinds.len(), MAX_MESSAGES + 1);
        assert_eq!(kinds[0], "message");
        assert_eq!(kinds[MAX_MESSAGES], "done");
    }
}
