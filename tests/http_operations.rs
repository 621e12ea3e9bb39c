//! What an operator uses: liveness, readiness, Prometheus metrics and the
//! OpenAPI document, over a real socket.
#![cfg(feature = "http")]

mod support;

use serde_json::Value;
use support::*;

#[tokio::test]
async fn healthz_and_readyz_answer_200_with_json() {
    let t = TestServer::start().await;
    let live = t.get("/healthz", &[]).await;
    assert_eq!((live.status, live.str("status")), (200, "ok"));
    let ready = t.get("/readyz", &[]).await;
    assert_eq!((ready.status, ready.str("status")), (200, "ready"));
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_errcode_and_show_no_secret() {
    let t = TestServer::start().await;
    let token = t.access_token().await;
    let code = t.login_code(ADA).await;
    assert_eq!(t.jscode2session(&code).await.errcode(), 0);
    assert_eq!(t.jscode2session(&code).await.errcode(), 40163);
    t.get("/no/such/path-with-secret-looking-bits", &[]).await;
    let response = t.raw().get(t.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    let text = response.text().await.unwrap();
    for line in [
        r#"openserver_requests_total{route="/openserver/cgi-bin/token",errcode="0"} 1"#,
        r#"openserver_requests_total{route="/openserver/sns/jscode2session",errcode="0"} 1"#,
        r#"openserver_requests_total{route="/openserver/sns/jscode2session",errcode="40163"} 1"#,
        r#"openserver_requests_total{route="unmatched",errcode="10002"} 1"#,
        "openserver_outstanding_codes 1",
        "openserver_live_sessions 1",
        "openserver_access_tokens 1",
        "openserver_store_errors 0",
    ] {
        assert!(text.contains(line), "{line} missing in\n{text}");
    }
    assert!(
        text.contains(
            r#"openserver_request_duration_seconds_count{route="/openserver/sns/jscode2session"} 2"#
        ),
        "{text}"
    );
    for secret in [
        token.as_str(),
        code.secret(),
        SECRET_A1,
        APP_A1,
        ADA,
        "path-with-secret",
    ] {
        assert!(!text.contains(secret), "{secret} in the metrics");
    }
}

#[tokio::test]
async fn the_openapi_document_lists_every_route() {
    let t = TestServer::start().await;
    let doc = t.get("/openserver/openapi.json", &[]).await;
    assert_eq!(doc.status, 200);
    assert_eq!(doc.json["openapi"], "3.1.0");
    let paths = doc.json["paths"].as_object().unwrap();
    for (path, method) in [
        (JSCODE2SESSION, "get"),
        (TOKEN, "get"),
        (CHECKSESSION, "get"),
        (GETUSERPHONENUMBER, "post"),
        (GETEMAILADDRESS, "post"),
        (SDK_LOGIN_CODE, "post"),
        (SDK_CHECK_SESSION, "post"),
        (SDK_USER_CODE, "post"),
        (SDK_PROFILE, "post"),
        (SDK_AUTH_CODE, "post"),
        ("/healthz", "get"),
        ("/readyz", "get"),
        ("/metrics", "get"),
    ] {
        assert!(
            paths
                .get(path)
                .and_then(|p| p.get(method))
                .is_some_and(Value::is_object),
            "{method} {path} is not in the document"
        );
    }
    assert_eq!(
        doc.json,
        serde_json::from_str::<Value>(&superapp_openapi::http::openapi_json()).unwrap(),
        "the route serves the document the binary prints"
    );
}
