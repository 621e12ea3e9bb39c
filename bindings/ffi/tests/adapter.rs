//! The adapter from Rust: a delegate implemented in Rust (as the foreign
//! side would) behind the exported objects, so the crossing's own rules —
//! JSON text in and out, errors mapped, cancellation, the owned runtime —
//! are checked without a foreign language. The foreign suites
//! (`tests/python`, `tests/kotlin`) run the same through real bindings.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use superapp_openapi_ffi::{
    ApiVersion, AppInfo, AuthCodeRequest, AuthGrant, Dispatcher, HostError, JsonText, OpenApiError,
    OpenApiHandler, OpenServer, Scope, Secret, SuperappUser, session_signature,
};
use tokio::sync::Notify;

/// Answers getUserInfo, fails requestPayment, hangs on getUserProfile
/// (saying when it started and when it was dropped), and grants every
/// scope but the email under v3.
#[derive(Default)]
struct RustHost {
    server: Option<Arc<OpenServer>>,
    entered: Notify,
    dropped: AtomicBool,
    dropped_notify: Notify,
}

struct DropFlag<'a>(&'a RustHost);

impl Drop for DropFlag<'_> {
    fn drop(&mut self) {
        self.0.dropped.store(true, Ordering::SeqCst);
        self.0.dropped_notify.notify_one();
    }
}

fn not_implemented() -> Result<JsonText, HostError> {
    Err(HostError::NotImplemented)
}

#[async_trait]
impl OpenApiHandler for RustHost {
    async fn login(&self, _: AppInfo, _: JsonText) -> Result<JsonText, HostError> {
        not_implemented()
    }
    async fn check_session(&self, _: AppInfo, _: JsonText) -> Result<JsonText, HostError> {
        not_implemented()
    }
    async fn get_phone_number(&self, _: AppInfo, _: JsonText) -> Result<JsonText, HostError> {
        not_implemented()
    }
    async fn get_email(&self, _: AppInfo, _: JsonText) -> Result<JsonText, HostError> {
        not_implemented()
    }
    async fn choose_avatar(&self, _: AppInfo, _: JsonText) -> Result<JsonText, HostError> {
        not_implemented()
    }
    async fn get_nick_name(&self, _: AppInfo, _: JsonText) -> Result<JsonText, HostError> {
        Ok(JsonText("[]".into()))
    }
    async fn get_user_info(&self, app: AppInfo, params: JsonText) -> Result<JsonText, HostError> {
        Ok(JsonText(format!(
            r#"{{"app":"{}","params":{},"errMsg":"dropped"}}"#,
            app.app_id, params.0
        )))
    }
    async fn get_user_profile(&self, _: AppInfo, _: JsonText) -> Result<JsonText, HostError> {
        let _flag = DropFlag(self);
        self.entered.notify_one();
        std::future::pending().await
    }
    async fn request_payment(&self, _: AppInfo, _: JsonText) -> Result<JsonText, HostError> {
        Err(HostError::Failed {
            detail: "card declined".into(),
            errno: Some(40100),
        })
    }
    async fn request_midas_payment_game_item(
        &self,
        _: AppInfo,
        _: JsonText,
    ) -> Result<JsonText, HostError> {
        Err(uniffi::UnexpectedUniFFICallbackError::new("NotImplementedError()").into())
    }
    async fn request_virtual_payment(
        &self,
        _: AppInfo,
        _: JsonText,
    ) -> Result<JsonText, HostError> {
        Err(uniffi::UnexpectedUniFFICallbackError::new("RuntimeError('boom')").into())
    }
    async fn get_auth_code(
        &self,
        app: AppInfo,
        request: AuthCodeRequest,
    ) -> Result<AuthGrant, HostError> {
        let server = self.server.as_ref().ok_or(HostError::NotImplemented)?;
        let (granted, refused): (Vec<Scope>, Vec<Scope>) =
            request.scopes.iter().partition(|s| **s != Scope::Email);
        let code = server
            .issue_auth_code(app.app_id, "u-1".into(), granted.clone())
            .await
            .map_err(|e| HostError::Failed {
                detail: e.to_string(),
                errno: None,
            })?;
        Ok(AuthGrant {
            auth_code: Some(code.reveal()),
            code: None,
            auth_success_scopes: granted,
            auth_error_scopes: refused.into_iter().map(|s| (s, "no".into())).collect(),
        })
    }
    fn open_api_version(&self, _: AppInfo) -> Result<Option<ApiVersion>, HostError> {
        Err(HostError::Cancelled)
    }
    fn app_uid(&self, _: AppInfo) -> Result<Option<String>, HostError> {
        Ok(Some("u-1".into()))
    }
}

fn app(id: &str) -> AppInfo {
    AppInfo {
        app_id: id.into(),
        kind: None,
        team_id: None,
        api_version: None,
    }
}

async fn invoke(d: &Dispatcher, api: &str, params: &str) -> serde_json::Value {
    let reply = d
        .invoke(app("wx-1"), api.into(), JsonText(params.into()))
        .await;
    serde_json::from_str(&reply.0).expect("a reply is JSON")
}

fn populated() -> Arc<OpenServer> {
    let server = OpenServer::new();
    server
        .register_app(
            "wx-1".into(),
            "secret-0123456789abcdef".into(),
            "team".into(),
            superapp_openapi_ffi::AppKind::MiniProgram,
        )
        .unwrap();
    server
        .add_user(SuperappUser {
            id: "u-1".into(),
            phone_number: Some("+8613800000000".into()),
            email: None,
            nickname: String::new(),
            avatar_url: String::new(),
            active: true,
        })
        .unwrap();
    server
}

#[tokio::test]
async fn params_and_results_cross_as_json_text_and_reserved_fields_are_the_dispatchers() {
    let d = Dispatcher::new(Arc::new(RustHost::default()), ApiVersion::V1, 5_000, None);
    let reply = invoke(&d, "wx.getUserInfo", r#"{"n":1}"#).await;
    assert_eq!(
        reply,
        serde_json::json!({"app": "wx-1", "params": {"n": 1}, "errMsg": "getUserInfo:ok"})
    );
    let reply = invoke(&d, "wx.getNickName", "{}").await;
    assert_eq!(reply["errno"], 301);
    assert_eq!(
        reply["errMsg"],
        "getNickName:fail the host's result is not a JSON object"
    );
}

#[tokio::test]
async fn host_errors_map_onto_the_cores_replies() {
    let d = Dispatcher::new(Arc::new(RustHost::default()), ApiVersion::V1, 5_000, None);
    let failed = invoke(&d, "requestPayment", "{}").await;
    assert_eq!(
        failed,
        serde_json::json!({"errMsg": "requestPayment:fail card declined", "errno": 40100})
    );
    // Python's generated base class raises NotImplementedError for a method
    // the host left out: that is "not implemented", errno 103.
    let missing = invoke(&d, "requestMidasPaymentGameItem", "{}").await;
    assert_eq!(missing["errno"], 103);
    let raised = invoke(&d, "requestVirtualPayment", "{}").await;
    assert_eq!(
        raised,
        serde_json::json!({
            "errMsg": "requestVirtualPayment:fail the host raised RuntimeError('boom')",
            "errno": 301,
            "errCode": 301
        })
    );
}

#[tokio::test]
async fn a_hook_error_is_no_answer_and_the_default_applies() {
    let d = Dispatcher::new(Arc::new(RustHost::default()), ApiVersion::V2, 5_000, None);
    let explained = d.explain(app("wx-1"), "login".into()).unwrap();
    assert_eq!(explained.version, ApiVersion::V2);
    assert_eq!(
        explained.source,
        superapp_openapi_ffi::VersionSource::Default
    );
    assert!(matches!(
        d.explain(app("wx-1"), "wx.nope".into()),
        Err(OpenApiError::InvalidArgument { .. })
    ));
}

#[tokio::test]
async fn dropping_an_invoke_cancels_the_host_call_under_it() {
    let host = Arc::new(RustHost::default());
    let d = Dispatcher::new(host.clone(), ApiVersion::V1, 60_000, None);
    let entered = host.entered.notified();
    let call = tokio::spawn({
        let d = d.clone();
        async move { invoke(&d, "getUserProfile", "{}").await }
    });
    entered.await;
    assert!(!host.dropped.load(Ordering::SeqCst));
    let dropped = host.dropped_notify.notified();
    call.abort();
    dropped.await;
    assert!(host.dropped.load(Ordering::SeqCst));
}

#[tokio::test]
async fn a_host_that_never_answers_gets_the_dispatchers_timeout() {
    let host = Arc::new(RustHost::default());
    let d = Dispatcher::new(host.clone(), ApiVersion::V1, 50, None);
    let reply = invoke(&d, "getUserProfile", "{}").await;
    assert_eq!(
        reply,
        serde_json::json!({"errMsg": "getUserProfile:fail timeout: no answer within 50 ms", "errno": 408})
    );
    assert!(host.dropped.load(Ordering::SeqCst));
}

#[tokio::test]
async fn v3_grants_reach_the_platform_and_refusals_the_mini_program() {
    let server = populated();
    let host = Arc::new(RustHost {
        server: Some(server.clone()),
        ..RustHost::default()
    });
    let d = Dispatcher::new(host, ApiVersion::V3, 5_000, Some(server.clone()));
    let login = invoke(&d, "wx.login", "{}").await;
    let code = login["code"].as_str().expect("a login code").to_owned();
    let session = server
        .jscode2session(
            "wx-1".into(),
            "secret-0123456789abcdef".into(),
            code.clone(),
        )
        .await
        .unwrap();
    let token = server
        .token("wx-1".into(), "secret-0123456789abcdef".into())
        .await
        .unwrap();
    let status = server
        .checksession(
            token.access_token.clone(),
            session.openid.clone(),
            session_signature(session.session_key.clone()),
        )
        .await
        .unwrap();
    assert_eq!(status.errcode, 0);
    let phone = invoke(&d, "wx.getPhoneNumber", "{}").await;
    let number = server
        .getuserphonenumber(
            token.access_token.clone(),
            session.openid.clone(),
            phone["code"].as_str().unwrap().into(),
        )
        .await
        .unwrap();
    assert_eq!(number.phone_number.reveal(), "+8613800000000");
    let email = invoke(&d, "wx.getEmail", "{}").await;
    assert_eq!(email["errno"], 202);
    let reused = server
        .jscode2session("wx-1".into(), "secret-0123456789abcdef".into(), code)
        .await;
    assert!(matches!(
        reused,
        Err(OpenApiError::Platform { errcode: 40163, .. })
    ));
}

#[test]
fn secrets_and_grants_print_redacted() {
    let secret = Secret::new("s3cr3t-value".into());
    assert_eq!(format!("{secret:?}"), "Secret([redacted])");
    assert_eq!(secret.to_string(), "Secret([redacted])");
    let grant = AuthGrant {
        auth_code: Some("ac-123456".into()),
        code: Some("c-123456".into()),
        auth_success_scopes: vec![Scope::PhoneNumber],
        auth_error_scopes: Default::default(),
    };
    let shown = format!("{grant:?} {grant}");
    assert!(
        !shown.contains("ac-123456") && !shown.contains("c-123456"),
        "{shown}"
    );
    assert_eq!(*Secret::new("same".into()), *Secret::new("same".into()));
}
