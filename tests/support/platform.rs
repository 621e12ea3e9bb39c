//! A platform that records what the built-ins ask it.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use superapp_openapi::{
    AppInfo, Code,
    platform::{Platform, PlatformError, Principal, UserCodeKind},
};

/// A platform that records each request as `"<op> <principal>"` and answers
/// with values derived from the principal.
#[derive(Clone, Default)]
pub struct RecordingPlatform {
    calls: Arc<Mutex<Vec<String>>>,
    session_valid: Arc<Mutex<bool>>,
    failure: Arc<Mutex<Option<PlatformError>>>,
}

impl RecordingPlatform {
    pub fn new() -> Self {
        let p = Self::default();
        *p.session_valid.lock().unwrap() = true;
        p
    }

    pub fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }

    pub fn set_session_valid(&self, valid: bool) {
        *self.session_valid.lock().unwrap() = valid;
    }

    pub fn fail_with(&self, err: PlatformError) {
        *self.failure.lock().unwrap() = Some(err);
    }

    fn record(&self, op: &str, principal: &Principal) -> Result<String, PlatformError> {
        let who = match principal {
            Principal::Uid(uid) => format!("uid:{uid}"),
            Principal::AuthCode(code) => format!("authcode:{}", code.secret()),
            other => format!("{other:?}"),
        };
        self.calls.lock().unwrap().push(format!("{op} {who}"));
        match self.failure.lock().unwrap().clone() {
            Some(err) => Err(err),
            None => Ok(who),
        }
    }
}

#[async_trait]
impl Platform for RecordingPlatform {
    async fn issue_login_code(&self, _app: &AppInfo, p: &Principal) -> Result<Code, PlatformError> {
        self.record("login_code", p)
            .map(|who| Code::new(format!("login-code-for-{who}")))
    }

    async fn check_session(&self, _app: &AppInfo, p: &Principal) -> Result<bool, PlatformError> {
        self.record("check_session", p)?;
        Ok(*self.session_valid.lock().unwrap())
    }

    async fn issue_user_code(
        &self,
        _app: &AppInfo,
        p: &Principal,
        kind: UserCodeKind,
    ) -> Result<Code, PlatformError> {
        let op = match kind {
            UserCodeKind::PhoneNumber => "phone_code",
            UserCodeKind::Email => "email_code",
        };
        self.record(op, p)
            .map(|who| Code::new(format!("{op}-for-{who}")))
    }

    async fn avatar_url(&self, _app: &AppInfo, p: &Principal) -> Result<String, PlatformError> {
        self.record("avatar", p)
            .map(|who| format!("https://avatars.test/{who}.png"))
    }

    async fn nickname(&self, _app: &AppInfo, p: &Principal) -> Result<String, PlatformError> {
        self.record("nickname", p).map(|who| format!("nick-{who}"))
    }
}
