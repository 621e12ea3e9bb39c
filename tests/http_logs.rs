//! What the server logs: one line per request with its errcode, and never
//! a secret. Alone in its test binary, because tracing's per-callsite
//! interest is shared with whatever other tests run at the same time.
#![cfg(feature = "http")]

mod support;

use serde_json::json;
use superapp_openapi::platform::UserCodeKind;
use support::*;

#[tokio::test(flavor = "current_thread")]
async fn requests_are_logged_with_errcode_and_without_secrets() {
    let (captured, _guard) = Captured::start(tracing::Level::INFO);

    let t = TestServer::start().await;
    let token = t.access_token().await;
    let (openid, key) = t.session(ADA).await;
    let code = t.user_code(ADA, UserCodeKind::PhoneNumber).await;
    let phone = t
        .post(
            GETUSERPHONENUMBER,
            &json!({"access_token": token, "openid": openid, "code": code.secret()}),
        )
        .await;
    assert_eq!(phone.errcode(), 0);
    let sdk = t
        .post_sdk(
            SDK_LOGIN_CODE,
            Some(SDK_KEY),
            &json!({"appid": APP_A1, "principal": {"uid": ADA}}),
        )
        .await;
    assert_eq!(sdk.errcode(), 0);
    t.token_with(&[("secret", "wrong-secret-value")]).await;

    let logs = captured.text();
    assert!(logs.contains("request answered"), "{logs}");
    assert!(
        logs.contains("http.path=/openserver/cgi-bin/token"),
        "{logs}"
    );
    assert!(logs.contains("errcode=40001"), "{logs}");
    assert!(logs.contains("latency_ms="), "{logs}");
    for secret in [
        SECRET_A1,
        "wrong-secret-value",
        &token,
        key.secret(),
        code.secret(),
        ADA_PHONE,
        SDK_KEY,
        sdk.str("code"),
    ] {
        assert!(!logs.contains(secret), "the log shows a secret: {logs}");
    }
}
