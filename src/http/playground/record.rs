//! What crossed between the parties during one playground call: the
//! bounded stream of its messages and questions, every secret masked, and
//! the one way a request and its answer are recorded (`exchange`).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::Serialize;
use serde_json::{Map, Value, json};
use tokio::sync::mpsc;

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
    pub(super) fn current() -> Option<Recorder> {
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
