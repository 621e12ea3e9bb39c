//! What the server logs: one line per request with its errcode, and never
//! a secret. Alone in its test binary, because tracing's per-callsite
//! interest is shared with whatever other tests run at the same time.
#![cfg(feature = "http")]

mod http_support;

use std::sync::{Arc, Mutex};

use http_support::*;
use serde_json::json;
use superapp_openapi::platform::UserCodeKind;

const TOKEN: &str = "/openserver/cgi-bin/token";
const PHONE: &str = "/openserver/wxa/business/getuserphonenumber";

/// Captures what the server logs, on this (current-thread) runtime.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "current_thread")]
async fn requests_are_logged_with_errcode_and_without_secrets() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let t = TestServer::start().await;
    let token = t.token().await;
    let (openid, key) = t.session(ADA).await;
    let code = t.user_code(ADA, UserCodeKind::PhoneNumber).await;
    let phone = t
        .post(
            PHONE,
            &json!({"access_token": token, "openid": openid, "code": code.secret()}),
        )
        .await;
    assert_eq!(phone.errcode(), 0);
    let sdk = t
        .post_sdk(
            "/openserver/sdk/login_code",
            Some(SDK_KEY),
            &json!({"appid": APP, "principal": {"uid": ADA}}),
        )
        .await;
    assert_eq!(sdk.errcode(), 0);
    t.get(
        TOKEN,
        &[
            ("appid", APP),
            ("secret", "wrong-secret-value"),
            ("grant_type", "client_credential"),
        ],
    )
    .await;

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("request answered"), "{logs}");
    assert!(
        logs.contains("http.path=/openserver/cgi-bin/token"),
        "{logs}"
    );
    assert!(logs.contains("errcode=40001"), "{logs}");
    assert!(logs.contains("latency_ms="), "{logs}");
    for secret in [
        SECRET,
        "wrong-secret-value",
        &token,
        &key,
        code.secret(),
        ADA_PHONE,
        SDK_KEY,
        sdk.str("code"),
    ] {
        assert!(!logs.contains(secret), "the log shows a secret: {logs}");
    }
}
