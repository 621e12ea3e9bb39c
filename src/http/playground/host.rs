//! The playground's demo host: the signed-in user is the one the page
//! chose, its version hook answers what the page chose, its v3
//! `get_auth_code` asks the super-app side of the binary's own platform
//! for an authCode (or, with a super-app server, logs in there and asks it:
//! [`SuperappLogin`]), and its consent prompt and settings view are
//! questions to the person at the page; each message is recorded. Its own
//! API, [`DEMO_API`], sends intermediate states.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Value, json};

use super::questions::{Answer, Kind, Questions};
use super::record::{Event, Message, Party, Recorder, Setting, exchange};
use crate::api::Scope;
use crate::app::AppInfo;
use crate::consent::{ConsentPrompt, ConsentState, PromptAnswer, ScopeName, ScopeTable};
use crate::dispatcher::{CustomApi, StateSender};
use crate::handler::{
    AuthCodeRequest, AuthGrant, HandlerResult, HostError, JsonObject, OpenApiHandler,
};
use crate::http::wire::paths;
use crate::openserver::OpenServer;
use crate::secret::AuthCode;
use crate::superapp::call::Caller;
use crate::superapp::host;
use crate::superapp::{DEFAULT_MAX_RESPONSE_BYTES, HOST_AUTH_CODE_PATH, HOST_LOGIN_PATH};
use crate::version::ApiVersion;

/// The demo host's own API: called as `wx.invokeNativePlugin({api_name:
/// "scanMembershipCard", data})`, it asks for the camera scope, then sends
/// [`DEMO_STAGES`] as intermediate states before its reply.
pub(crate) const DEMO_API: &str = "scanMembershipCard";

/// The scope [`DEMO_API`] needs.
const DEMO_SCOPE: ScopeName = ScopeName::from_static("scope.camera");

/// The states [`DEMO_API`] sends, one every [`DEMO_STATE_INTERVAL`].
pub(crate) const DEMO_STAGES: [&str; 3] = ["camera opened", "card in view", "card read"];

/// The pause before each state: long enough for a person to see them
/// arrive one by one (the diagram is drawn as they cross).
const DEMO_STATE_INTERVAL: Duration = Duration::from_millis(300);

/// [`DEMO_API`]: three states, then the card.
pub(crate) fn demo_api() -> CustomApi {
    CustomApi::new(
        DEMO_API,
        |_app: AppInfo, params: JsonObject, states: StateSender| async move {
            for (done, stage) in (1..).zip(DEMO_STAGES) {
                tokio::time::sleep(DEMO_STATE_INTERVAL).await;
                let state = json!({ "stage": stage, "progress": done * 100 / DEMO_STAGES.len() });
                if let Value::Object(state) = state {
                    states
                        .send(state)
                        .map_err(|e| HostError::failed(e.to_string()))?;
                }
            }
            let mut card = JsonObject::new();
            card.insert("cardNumber".to_owned(), json!("6200 0000 0000 1234"));
            card.insert("level".to_owned(), json!("gold"));
            card.insert("data".to_owned(), Value::Object(params));
            Ok(card)
        },
    )
    .scope(DEMO_SCOPE)
}

/// How the demo host gets v3's authCode from a super-app server: it logs
/// in as the chosen user, then asks for the code (TCMPP's demo `LoginApi`;
/// `crate::superapp::host`), each call drawn.
pub(crate) struct SuperappLogin {
    caller: Caller,
    app_id: String,
    passwords: HashMap<String, String>,
}

impl SuperappLogin {
    pub(crate) fn new(
        url: &str,
        app_id: String,
        timeout: Duration,
        passwords: HashMap<String, String>,
    ) -> SuperappLogin {
        SuperappLogin {
            caller: Caller::new(url, timeout, DEFAULT_MAX_RESPONSE_BYTES),
            app_id,
            passwords,
        }
    }

    /// One host-facing call, drawn between the host and the super-app
    /// server: the answer's `data`.
    async fn call(
        &self,
        recorder: &Recorder,
        path: &str,
        body: &JsonObject,
    ) -> Result<JsonObject, HostError> {
        let between = (Party::Host, Party::SuperappServer);
        let label = format!("POST {path}");
        let request = Value::Object(body.clone());
        let call = host::host_call(&self.caller, path, body);
        let shown = |data: &JsonObject| Value::Object(data.clone());
        exchange(
            recorder,
            between,
            &label,
            request,
            call,
            shown,
            Clone::clone,
        )
        .await
        .map_err(|why| HostError::failed(format!("the super-app server's {path}: {why}")))
    }

    /// `login` as `user`: the answer's `data` (`token`, `userName`, `iconUrl`).
    async fn login(&self, recorder: &Recorder, user: &str) -> Result<JsonObject, HostError> {
        let password = self.passwords.get(user).ok_or_else(|| {
            HostError::failed(format!(
                "no password for {user:?}: list it in the playground's accounts"
            ))
        })?;
        let login = host::login_body(&self.app_id, user, password);
        self.call(recorder, HOST_LOGIN_PATH, &login).await
    }

    /// `login` as `user`, then `getMiniProgramAuthCode` for `app`.
    async fn auth_code(
        &self,
        recorder: &Recorder,
        app: &AppInfo,
        user: &str,
        scopes: &[Scope],
    ) -> Result<AuthGrant, HostError> {
        let field =
            |data: &JsonObject, name| host::data_field(data, name).map_err(HostError::failed);
        let token = field(&self.login(recorder, user).await?, "token")?;
        let ask = host::auth_code_body(&self.app_id, app.app_id(), &token, Some(scopes));
        let code = field(
            &self.call(recorder, HOST_AUTH_CODE_PATH, &ask).await?,
            "code",
        )?;
        Ok(AuthGrant::from_auth_code(AuthCode::new(code)).granted(scopes.iter().copied()))
    }
}

impl fmt::Debug for SuperappLogin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SuperappLogin")
            .field("url", &self.caller.shown_url())
            .field("app_id", &self.app_id)
            .field("accounts", &self.passwords.len())
            .finish()
    }
}

/// A host whose user and version hook are the page's choices.
#[derive(Debug)]
pub(crate) struct DemoHost {
    pub(crate) server: OpenServer,
    pub(crate) recorder: Recorder,
    pub(crate) user: String,
    pub(crate) hook: Option<ApiVersion>,
    pub(crate) questions: Questions,
    pub(crate) scopes: Arc<ScopeTable>,
    /// The super-app server v3 asks, when there is one (else the
    /// platform's in-memory directory issues the authCode).
    pub(crate) superapp: Option<Arc<SuperappLogin>>,
}

/// The host's own UI, drawn on its lane: a question and its answer.
const PROMPT_LABEL: &str = "consent prompt";
const SETTINGS_LABEL: &str = "settings view";

fn self_message(label: &str, body: Value) -> Message {
    Message::request(Party::Host, Party::Host, label, body)
}

#[async_trait]
impl OpenApiHandler for DemoHost {
    /// Every scope asked is granted: what the mini program may have is the
    /// dispatcher's consent rule, asked of the person at the page.
    async fn get_auth_code(
        &self,
        app: &AppInfo,
        request: AuthCodeRequest,
    ) -> Result<AuthGrant, HostError> {
        if let Some(superapp) = &self.superapp {
            return superapp
                .auth_code(&self.recorder, app, &self.user, &request.scopes)
                .await;
        }
        let scopes: Vec<&str> = request.scopes.iter().map(|s| s.as_str()).collect();
        self.recorder.push(Message::request(
            Party::Host,
            Party::SuperappServer,
            "getAuthCode",
            json!({ "appid": app.app_id(), "scopes": scopes }),
        ));
        self.recorder.push(Message::request(
            Party::SuperappServer,
            Party::Platform,
            paths::SDK_AUTH_CODE,
            json!({ "appid": app.app_id(), "user_id": self.user, "scopes": scopes }),
        ));
        let issued = self
            .server
            .issue_auth_code(app.app_id(), &self.user, request.scopes.iter().copied())
            .await;
        let outcome = match &issued {
            Ok(code) => Ok(json!({ "authCode": code.secret() })),
            Err(err) => Err(format!("{} {}", err.errcode(), err.errmsg())),
        };
        self.recorder.push(Message::answer(
            Party::Platform,
            Party::SuperappServer,
            paths::SDK_AUTH_CODE,
            outcome.clone(),
        ));
        let grant = issued
            .map(|code| AuthGrant::from_auth_code(code).granted(request.scopes.iter().copied()));
        let outcome = outcome.map(|mut body| {
            body["authSuccessScopes"] = json!(scopes);
            body
        });
        self.recorder.push(Message::answer(
            Party::SuperappServer,
            Party::Host,
            "getAuthCode",
            outcome,
        ));
        grant.map_err(|err| HostError::failed(err.errmsg()))
    }

    /// The host answers getUserInfo in every version: from the profile its
    /// super-app server's `login` answers, or from the in-memory directory.
    async fn get_user_info(&self, _app: &AppInfo, _params: JsonObject) -> HandlerResult {
        let (nickname, avatar) = match &self.superapp {
            Some(superapp) => {
                let data = superapp.login(&self.recorder, &self.user).await?;
                let text = |name| {
                    data.get(name)
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned()
                };
                (text("userName"), text("iconUrl"))
            }
            None => {
                let user = self
                    .server
                    .memory_directory()
                    .and_then(|directory| directory.get(&self.user))
                    .ok_or_else(|| HostError::failed("no such user in the directory"))?;
                (user.nickname.clone(), user.avatar_url.clone())
            }
        };
        let mut answer = JsonObject::new();
        answer.insert(
            "userInfo".to_owned(),
            json!({ "nickName": nickname, "avatarUrl": avatar }),
        );
        Ok(answer)
    }

    /// Asks the person at the page; no answer within the timeout is Cancel.
    async fn consent_prompt(
        &self,
        _app: &AppInfo,
        prompt: ConsentPrompt,
    ) -> Result<PromptAnswer, HostError> {
        let question = self
            .questions
            .open(Kind::Prompt)
            .map_err(HostError::failed)?;
        let scope = prompt.scope.as_str();
        self.recorder.push(self_message(
            PROMPT_LABEL,
            json!({ "scope": scope, "title": prompt.info.title, "desc": prompt.info.description }),
        ));
        self.recorder.send(Event::Prompt {
            id: question.id().to_owned(),
            scope: scope.to_owned(),
            title: prompt.info.title.into_owned(),
            description: prompt.info.description.into_owned(),
        });
        let (answer, shown) = match question.wait().await {
            Some(Answer::Prompt(answer)) => (answer, answer.as_str().to_owned()),
            _ => (PromptAnswer::Cancel, "no answer: cancel".to_owned()),
        };
        self.recorder.push(
            Message::answer(
                Party::Host,
                Party::Host,
                PROMPT_LABEL,
                Ok(json!({ "scope": scope, "answer": answer.as_str() })),
            )
            .with_status(shown),
        );
        Ok(answer)
    }

    /// Shows the person the scopes asked and their answers; what they
    /// change is stored. No answer within the timeout changes nothing.
    async fn open_setting(
        &self,
        _app: &AppInfo,
        settings: Vec<(ScopeName, ConsentState)>,
    ) -> Result<Vec<(ScopeName, ConsentState)>, HostError> {
        let question = self
            .questions
            .open(Kind::Settings(
                settings.iter().map(|(scope, _)| scope.clone()).collect(),
            ))
            .map_err(HostError::failed)?;
        let shown: JsonObject = settings
            .iter()
            .filter_map(|(scope, state)| {
                Some((scope.as_str().to_owned(), json!(state.as_auth_setting()?)))
            })
            .collect();
        self.recorder.push(self_message(
            SETTINGS_LABEL,
            json!({ "authSetting": shown }),
        ));
        let rows = settings
            .iter()
            .map(|(scope, state)| Setting {
                scope: scope.as_str().to_owned(),
                title: self.scopes.describe(scope).title.into_owned(),
                granted: *state == ConsentState::Granted,
            })
            .collect();
        self.recorder.send(Event::Settings {
            id: question.id().to_owned(),
            settings: rows,
        });
        let changes = match question.wait().await {
            Some(Answer::Settings(changes)) => changes,
            _ => Vec::new(),
        };
        let changed: JsonObject = changes
            .iter()
            .map(|(scope, state)| (scope.as_str().to_owned(), json!(state.as_auth_setting())))
            .collect();
        self.recorder.push(
            Message::answer(
                Party::Host,
                Party::Host,
                SETTINGS_LABEL,
                Ok(json!({ "changes": changed })),
            )
            .with_status(format!("{} changed", changes.len())),
        );
        Ok(changes)
    }

    fn open_api_version(&self, _app: &AppInfo) -> Option<ApiVersion> {
        self.hook
    }

    fn app_uid(&self, _app: &AppInfo) -> Option<String> {
        Some(self.user.clone())
    }
}
