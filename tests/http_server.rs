//! The developer-server routes over real sockets: every route, every error
//! code, malformed requests and headers; what the router answers itself
//! (unknown paths, wrong methods, the headers of every answer) in process.
#![cfg(feature = "http")]

mod support;

use std::time::Duration;

use axum::http::Method;
use serde_json::{Value, json};
use superapp_openapi::{
    Code, SdkKey, SessionKey, http::HttpConfig, openserver::OpenServerConfig,
    platform::UserCodeKind,
};
use support::*;

fn is_request_id(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

#[tokio::test]
async fn token_is_issued_over_http_without_caching() {
    let t = TestServer::start().await;
    let a = t.token().await;
    assert_eq!(a.status, 200);
    assert_eq!(a.error(), (0, "ok".into()));
    assert_eq!(a.str("access_token").len(), 64);
    assert_eq!(a.json["expires_in"], 7200);
    assert!(is_request_id(a.str("requestId")), "{}", a.json);
    assert_eq!(a.header("cache-control"), Some("no-store"));
}

#[tokio::test]
async fn jscode2session_over_http_answers_openid_session_key_and_unionid_without_caching() {
    let t = TestServer::start().await;
    let code = t.login_code(ADA).await;
    let a = t.jscode2session(&code).await;
    assert_eq!(a.error(), (0, "ok".into()));
    assert_eq!(a.str("openid").len(), 64);
    assert!(!a.str("session_key").is_empty());
    assert_eq!(a.str("unionid").len(), 64);
    assert!(is_request_id(a.str("requestId")));
    assert_eq!(a.header("cache-control"), Some("no-store"));
}

#[tokio::test]
async fn reused_code_is_rejected_with_40163_over_http() {
    let t = TestServer::start().await;
    let code = t.login_code(ADA).await;
    assert_eq!(t.jscode2session(&code).await.errcode(), 0);
    let again = t.jscode2session(&code).await;
    assert_eq!(again.error(), (40163, "code been used".into()));
}

#[tokio::test]
async fn unknown_js_code_is_rejected_with_40029_keeping_the_empty_fields_of_the_seed() {
    let t = TestServer::start().await;
    let a = t
        .jscode2session(&Code::new("0123456789abcdef0123456789abcdef"))
        .await;
    assert_eq!(a.status, 200);
    assert_eq!(a.error(), (40029, "invalid js_code".into()));
    assert_eq!(a.json["openid"], "");
    assert_eq!(a.json["session_key"], "");
    assert_eq!(a.json["unionid"], "");
    assert!(is_request_id(a.str("requestId")));
}

#[tokio::test]
async fn another_apps_code_is_rejected_with_40029_over_http() {
    let t = TestServer::start().await;
    let code = t.login_code(ADA).await;
    let a = t
        .jscode2session_with(&code, &[("appid", APP_A2), ("secret", SECRET_A2)])
        .await;
    assert_eq!(a.errcode(), 40029);
}

#[tokio::test]
async fn missing_parameters_are_named_with_10002_over_http() {
    let t = TestServer::start().await;
    let token = t.access_token().await;
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, &'a str);
    let cases: Vec<Case<'_>> = vec![
        (JSCODE2SESSION, vec![], "appid"),
        (JSCODE2SESSION, vec![("appid", APP_A1)], "secret"),
        (
            JSCODE2SESSION,
            vec![("appid", APP_A1), ("secret", SECRET_A1)],
            "js_code",
        ),
        (
            JSCODE2SESSION,
            vec![("appid", APP_A1), ("secret", SECRET_A1), ("js_code", "x")],
            "grant_type",
        ),
        (TOKEN, vec![("secret", SECRET_A1)], "appid"),
        (TOKEN, vec![("appid", APP_A1)], "secret"),
        (
            TOKEN,
            vec![("appid", APP_A1), ("secret", SECRET_A1)],
            "grant_type",
        ),
        (CHECKSESSION, vec![], "access_token"),
        (CHECKSESSION, vec![("access_token", &token)], "openid"),
        (
            CHECKSESSION,
            vec![("access_token", &token), ("openid", "o")],
            "signature",
        ),
        (
            CHECKSESSION,
            vec![
                ("access_token", &token),
                ("openid", "o"),
                ("signature", "s"),
            ],
            "sig_method",
        ),
        // An empty value counts as missing.
        (TOKEN, vec![("appid", ""), ("secret", SECRET_A1)], "appid"),
    ];
    for (path, query, field) in cases {
        let a = t.get(path, &query).await;
        assert_eq!(a.status, 200, "{path} {query:?}");
        assert_eq!(
            a.error(),
            (10002, format!("invalid param: {field} is missing")),
            "{path} {query:?}"
        );
    }
    let posts: Vec<(&str, Value, &str)> = vec![
        (GETUSERPHONENUMBER, json!({}), "access_token"),
        // openid is optional (WeChat's clients send none): code is next.
        (GETUSERPHONENUMBER, json!({"access_token": token}), "code"),
        (
            GETUSERPHONENUMBER,
            json!({"access_token": token, "openid": "o"}),
            "code",
        ),
        (
            GETEMAILADDRESS,
            json!({"openid": "o", "code": "c"}),
            "access_token",
        ),
        (
            GETEMAILADDRESS,
            json!({"access_token": token, "openid": "o", "code": null}),
            "code",
        ),
    ];
    for (path, body, field) in posts {
        let a = t.post(path, &body).await;
        assert_eq!(
            a.error(),
            (10002, format!("invalid param: {field} is missing")),
            "{path} {body}"
        );
    }
}

#[tokio::test]
async fn wrong_secret_is_rejected_with_40001_over_http() {
    let t = TestServer::start().await;
    for path in [TOKEN, JSCODE2SESSION] {
        let a = t
            .get(
                path,
                &[
                    ("appid", APP_A1),
                    ("secret", "not-the-secret"),
                    ("js_code", "c"),
                    ("grant_type", "client_credential"),
                ],
            )
            .await;
        assert_eq!(a.errcode(), 40001, "{path}: {}", a.json);
    }
}

#[tokio::test]
async fn wrong_grant_type_is_rejected_with_40002_over_http() {
    let t = TestServer::start().await;
    let token = t.token_with(&[("grant_type", "authorization_code")]).await;
    assert_eq!(token.errcode(), 40002);
    let session = t
        .jscode2session_with(&Code::new("c"), &[("grant_type", "client_credential")])
        .await;
    assert_eq!(session.errcode(), 40002);
}

#[tokio::test]
async fn unknown_openid_is_rejected_with_40003_over_http() {
    let t = TestServer::start().await;
    let token = t.access_token().await;
    let a = t
        .checksession(&token, "nobody", &session_signature(&SessionKey::new("k")))
        .await;
    assert_eq!(a.errcode(), 40003);
    let code = t.user_code(ADA, UserCodeKind::PhoneNumber).await;
    let phone = t
        .post(
            GETUSERPHONENUMBER,
            &json!({"access_token": token, "openid": "nobody", "code": code.secret()}),
        )
        .await;
    assert_eq!(phone.errcode(), 40003);
}

#[tokio::test]
async fn getuserphonenumber_in_wechats_form_takes_the_code_alone() {
    // wechatpy 2.x's get_phone_number(code): access_token in the query,
    // only {"code": …} in the body.
    let t = TestServer::start().await;
    let token = t.access_token().await;
    let code = t.user_code(ADA, UserCodeKind::PhoneNumber).await;
    let a = t
        .post(
            &format!("{GETUSERPHONENUMBER}?access_token={token}"),
            &json!({"code": code.secret()}),
        )
        .await;
    assert_eq!(a.errcode(), 0, "{}", a.json);
    assert_eq!(a.json["phone_info"]["phoneNumber"], ADA_PHONE);
    assert_eq!(a.json["phone_info"]["purePhoneNumber"], "13800138000");
    assert_eq!(a.json["phone_info"]["countryCode"], "86");
    // The same code again: used.
    let again = t
        .post(
            &format!("{GETUSERPHONENUMBER}?access_token={token}"),
            &json!({"code": code.secret()}),
        )
        .await;
    assert_eq!(again.errcode(), 40163);
    // An email code without openid names its user too.
    let email = t.user_code(ADA, UserCodeKind::Email).await;
    let a = t
        .post(
            GETEMAILADDRESS,
            &json!({"access_token": token, "openid": null, "code": email.secret()}),
        )
        .await;
    assert_eq!(a.json["email_address"]["emailAddress"], ADA_EMAIL);
}

#[tokio::test]
async fn an_openid_that_is_not_the_codes_user_is_refused() {
    let t = TestServer::start().await;
    let token = t.access_token().await;
    // Bob has logged in, so his openid is known to the app.
    let (bob, _) = t.session(BOB).await;
    let code = t.user_code(ADA, UserCodeKind::PhoneNumber).await;
    let a = t
        .post(
            GETUSERPHONENUMBER,
            &json!({"access_token": token, "openid": bob, "code": code.secret()}),
        )
        .await;
    assert_eq!(a.error(), (40029, "invalid code".into()));
    // Refused, not spent: Ada's code still works with her own openid.
    let (ada, _) = t.session(ADA).await;
    let a = t
        .post(
            GETUSERPHONENUMBER,
            &json!({"access_token": token, "openid": ada, "code": code.secret()}),
        )
        .await;
    assert_eq!(a.errcode(), 0, "{}", a.json);
}

#[tokio::test]
async fn unknown_appid_is_rejected_with_40013_over_http() {
    let t = TestServer::start().await;
    let a = t.token_with(&[("appid", "wx-nope")]).await;
    assert_eq!(a.errcode(), 40013);
}

#[tokio::test]
async fn unknown_access_token_is_rejected_with_40014_over_http() {
    let t = TestServer::start().await;
    let (openid, key) = t.session(ADA).await;
    let a = t
        .checksession("not-a-token", &openid, &session_signature(&key))
        .await;
    assert_eq!(a.errcode(), 40014);
    let b = t
        .post(
            GETEMAILADDRESS,
            &json!({"access_token": "not-a-token", "openid": openid, "code": "c"}),
        )
        .await;
    assert_eq!(b.errcode(), 40014);
}

#[tokio::test]
async fn expired_access_token_is_rejected_with_42001_over_http() {
    let t = TestServer::start().await;
    let (openid, key) = t.session(ADA).await;
    let token = t.access_token().await;
    t.clock.advance(Duration::from_secs(7201));
    let a = t
        .checksession(&token, &openid, &session_signature(&key))
        .await;
    assert_eq!(a.error(), (42001, "access_token expired".into()));
}

#[tokio::test]
async fn checksession_accepts_the_current_session_key_and_rejects_others_with_87009_over_http() {
    let t = TestServer::start().await;
    let token = t.access_token().await;
    let (openid, key) = t.session(ADA).await;
    let check = |sig: String| {
        let (token, openid) = (token.clone(), openid.clone());
        let t = &t;
        async move { t.checksession(&token, &openid, &sig).await }
    };
    assert_eq!(
        check(session_signature(&key)).await.error(),
        (0, "ok".into())
    );
    assert_eq!(
        check(session_signature(&SessionKey::new("wrong-key")))
            .await
            .errcode(),
        87009
    );
    assert_eq!(check("not-hex".into()).await.errcode(), 87009);
    // A new login replaces the session key.
    let (_, newer) = t.session(ADA).await;
    assert_eq!(check(session_signature(&key)).await.errcode(), 87009);
    assert_eq!(check(session_signature(&newer)).await.errcode(), 0);
    let wrong_method = t
        .checksession_with(
            &token,
            &openid,
            &session_signature(&newer),
            &[("sig_method", "md5")],
        )
        .await;
    assert_eq!(wrong_method.errcode(), 10002);
}

#[tokio::test]
async fn too_many_exchanges_are_rejected_with_45011_over_http() {
    let mut config = OpenServerConfig::default();
    config.rate_limit_per_minute = 2;
    let t = TestServer::start_with(config, HttpConfig::new()).await;
    t.session(ADA).await;
    t.session(ADA).await;
    let code = t.login_code(ADA).await;
    let a = t.jscode2session(&code).await;
    assert_eq!(a.errcode(), 45011, "{}", a.json);
    // The next minute has room again.
    t.clock.advance(Duration::from_secs(60));
    t.session(ADA).await;
}

#[tokio::test]
async fn phone_number_and_email_are_redeemed_over_http() {
    let t = TestServer::start().await;
    let token = t.access_token().await;
    let (openid, _) = t.session(ADA).await;
    let code = t.user_code(ADA, UserCodeKind::PhoneNumber).await;
    let a = t
        .post(
            GETUSERPHONENUMBER,
            &json!({"access_token": token, "openid": openid, "code": code.secret()}),
        )
        .await;
    assert_eq!(a.error(), (0, "ok".into()));
    assert_eq!(a.json["phone_info"]["phoneNumber"], ADA_PHONE);
    assert!(is_request_id(a.str("requestId")));
    let again = t
        .post(
            GETUSERPHONENUMBER,
            &json!({"access_token": token, "openid": openid, "code": code.secret()}),
        )
        .await;
    assert_eq!(again.errcode(), 40163);

    let code = t.user_code(ADA, UserCodeKind::Email).await;
    let b = t
        .post(
            GETEMAILADDRESS,
            &json!({"access_token": token, "openid": openid, "code": code.secret()}),
        )
        .await;
    assert_eq!(b.error(), (0, "ok".into()));
    assert_eq!(b.json["email_address"]["emailAddress"], ADA_EMAIL);
}

#[tokio::test]
async fn a_phone_code_is_not_an_email_code_and_answers_40029() {
    let t = TestServer::start().await;
    let token = t.access_token().await;
    let (openid, _) = t.session(ADA).await;
    let code = t.user_code(ADA, UserCodeKind::PhoneNumber).await;
    let a = t
        .post(
            GETEMAILADDRESS,
            &json!({"access_token": token, "openid": openid, "code": code.secret()}),
        )
        .await;
    assert_eq!(a.errcode(), 40029);
}

#[tokio::test]
async fn access_token_in_the_query_string_is_accepted_and_the_body_wins() {
    let t = TestServer::start().await;
    let token = t.access_token().await;
    let (openid, _) = t.session(ADA).await;

    let code = t.user_code(ADA, UserCodeKind::PhoneNumber).await;
    let url = format!("{}?access_token={token}", t.url(GETUSERPHONENUMBER));
    let a = t
        .send(
            t.raw()
                .post(&url)
                .json(&json!({"openid": openid, "code": code.secret()})),
        )
        .await;
    assert_eq!(a.errcode(), 0, "{}", a.json);

    // Both given: the body's token is used, so a bad body token fails even
    // with a good one in the query string.
    let code = t.user_code(ADA, UserCodeKind::PhoneNumber).await;
    let b = t
        .send(
            t.raw()
                .post(&url)
                .json(&json!({"access_token": "bad", "openid": openid, "code": code.secret()})),
        )
        .await;
    assert_eq!(b.errcode(), 40014);
    let c = t
        .send(
            t.raw()
                .post(format!("{}?access_token=bad", t.url(GETUSERPHONENUMBER)))
                .json(&json!({"access_token": token, "openid": openid, "code": code.secret()})),
        )
        .await;
    assert_eq!(c.errcode(), 0, "{}", c.json);
}

#[tokio::test]
async fn a_field_of_the_wrong_type_is_named_with_10002() {
    let t = TestServer::start().await;
    let cases = [
        (
            json!({"access_token": 1, "openid": "o", "code": "c"}),
            "access_token",
            "a number",
        ),
        (
            json!({"access_token": "t", "openid": 123, "code": "c"}),
            "openid",
            "a number",
        ),
        (
            json!({"access_token": "t", "openid": "o", "code": ["c"]}),
            "code",
            "an array",
        ),
        (
            json!({"access_token": "t", "openid": {"a": 1}, "code": "c"}),
            "openid",
            "an object",
        ),
        (
            json!({"access_token": "t", "openid": true, "code": "c"}),
            "openid",
            "a boolean",
        ),
    ];
    for (body, field, found) in cases {
        for path in [GETUSERPHONENUMBER, GETEMAILADDRESS] {
            let a = t.post(path, &body).await;
            assert_eq!(a.status, 200);
            assert_eq!(
                a.error(),
                (
                    10002,
                    format!("invalid param: {field} must be a string, found {found}")
                ),
                "{path} {body}"
            );
        }
    }
}

#[tokio::test]
async fn malformed_bodies_are_answered_with_10002_never_500() {
    let t = TestServer::start().await;
    let cases: Vec<(Option<&str>, Vec<u8>, &str)> = vec![
        (
            Some("application/json"),
            b"{not json".to_vec(),
            "the body is not valid JSON",
        ),
        (
            Some("application/json"),
            b"[1,2,3]".to_vec(),
            "the body must be a JSON object, found an array",
        ),
        (
            Some("application/json"),
            b"\"text\"".to_vec(),
            "the body must be a JSON object, found a string",
        ),
        (
            Some("application/json"),
            b"null".to_vec(),
            "the body must be a JSON object, found null",
        ),
        (
            Some("application/json"),
            vec![0xff, 0xfe, 0x00],
            "the body is not valid JSON",
        ),
        (
            Some("text/plain"),
            b"{}".to_vec(),
            "Content-Type: application/json",
        ),
        (
            Some("application/x-www-form-urlencoded"),
            b"openid=o&code=c".to_vec(),
            "Content-Type: application/json",
        ),
        // No Content-Type and an empty body: read as {}, so the first field is named.
        (None, Vec::new(), "access_token is missing"),
        (
            Some("application/json"),
            b"[".repeat(10_000),
            "the body is not valid JSON",
        ),
    ];
    for (content_type, body, expected) in cases {
        for path in [GETUSERPHONENUMBER, GETEMAILADDRESS] {
            let mut request = t.raw().post(t.url(path)).body(body.clone());
            if let Some(ct) = content_type {
                request = request.header("content-type", ct);
            }
            let a = t.send(request).await;
            assert_eq!(a.status, 200, "{path} {content_type:?}");
            assert_eq!(a.errcode(), 10002, "{path} {content_type:?}: {}", a.json);
            assert!(
                a.errmsg().starts_with("invalid param: ") && a.errmsg().contains(expected),
                "{path} {content_type:?}: {}",
                a.errmsg()
            );
            assert!(is_request_id(a.str("requestId")));
        }
    }
}

#[tokio::test]
async fn a_body_over_the_limit_is_answered_with_10002_request_body_too_large() {
    let t = TestServer::start().await;
    let huge = json!({"access_token": "t", "openid": "o", "code": "c".repeat(100 * 1024)});
    let a = t.post(GETUSERPHONENUMBER, &huge).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.errcode(), 10002);
    assert!(
        a.errmsg().contains("request body too large"),
        "{}",
        a.errmsg()
    );

    // A smaller configured limit applies to the SDK routes too.
    let small = TestServer::start_with(
        OpenServerConfig::default(),
        HttpConfig::new()
            .sdk_key(SdkKey::new(SDK_KEY))
            .body_limit(64),
    )
    .await;
    let b = small
        .post_sdk(
            SDK_LOGIN_CODE,
            Some(SDK_KEY),
            &json!({"appid": APP_A1, "principal": {"uid": ADA}, "padding": "x".repeat(100)}),
        )
        .await;
    assert_eq!(b.errcode(), 10002);
    assert!(
        b.errmsg()
            .contains("request body too large (the limit is 64 bytes)"),
        "{}",
        b.errmsg()
    );
}

#[tokio::test]
async fn a_repeated_or_malformed_query_parameter_is_answered_with_10002() {
    let t = TestServer::start().await;
    let a = t
        .send(t.raw().get(format!(
            "{}?appid={APP_A1}&appid=wx-other&secret={SECRET_A1}&grant_type=client_credential",
            t.url(TOKEN)
        )))
        .await;
    assert_eq!(
        a.error(),
        (10002, "invalid param: appid is given more than once".into())
    );
    // Invalid percent-encoding is decoded leniently, never a 400 or 500.
    let b = t
        .send(t.raw().get(format!(
            "{}?appid=%zz&secret=%&grant_type=%E2",
            t.url(TOKEN)
        )))
        .await;
    assert_eq!(b.status, 200);
    assert_ne!(b.errcode(), 0);
}

// ---- what the router answers itself, called in process

#[tokio::test]
async fn a_wrong_method_is_answered_405_with_json_and_allow() {
    let r = TestRouter::new();
    let cases = [
        (Method::POST, TOKEN, "GET"),
        (Method::DELETE, JSCODE2SESSION, "GET"),
        (Method::PUT, CHECKSESSION, "GET"),
        (Method::GET, GETUSERPHONENUMBER, "POST"),
        (Method::GET, GETEMAILADDRESS, "POST"),
        (Method::GET, SDK_LOGIN_CODE, "POST"),
        (Method::GET, SDK_CHECK_SESSION, "POST"),
        (Method::GET, SDK_USER_CODE, "POST"),
        (Method::GET, SDK_PROFILE, "POST"),
        (Method::GET, SDK_AUTH_CODE, "POST"),
        (Method::PUT, SDK_AUTH_CODE, "POST"),
        // The operations routes and the document: GET (and HEAD) only.
        (Method::POST, "/healthz", "GET"),
        (Method::POST, "/readyz", "GET"),
        (Method::DELETE, "/metrics", "GET"),
        (Method::PUT, "/openserver/openapi.json", "GET"),
    ];
    for (method, path, allowed) in cases {
        let a = r.request(method.clone(), path, &[]).await;
        assert_eq!(a.status, 405, "{method} {path}");
        assert_eq!(a.errcode(), 10002);
        assert_eq!(
            a.errmsg(),
            format!("invalid param: method {method} is not allowed on {path}; use {allowed}")
        );
        assert_eq!(a.header("allow"), Some(allowed), "{method} {path}");
    }
}

#[tokio::test]
async fn head_is_refused_on_every_get_route_and_issues_nothing() {
    let r = TestRouter::new();
    for path in [TOKEN, JSCODE2SESSION, CHECKSESSION] {
        let a = r.head(path, &[]).await;
        assert_eq!(a.status, 405, "HEAD {path}");
        assert_eq!(a.headers["allow"], "GET", "HEAD {path}");
    }
    // HEAD with a valid token request: refused, so no token was issued and
    // the next token is the app's first (no previous one to overlap).
    let query = [
        ("appid", APP_A1),
        ("secret", SECRET_A1),
        ("grant_type", "client_credential"),
    ];
    let a = r.head(TOKEN, &query).await;
    assert_eq!(a.status, 405);
    assert_eq!(r.server.access_tokens(), 0);
}

#[tokio::test]
async fn an_unknown_path_is_answered_404_with_json() {
    let r = TestRouter::new();
    for path in [
        "/",
        "/openserver",
        "/openserver/sns/jscode2session/extra",
        "/nope?secret=x",
    ] {
        let a = r.get(path, &[]).await;
        assert_eq!(a.status, 404, "{path}");
        assert_eq!(a.errcode(), 10002);
        assert!(
            a.errmsg()
                .starts_with("invalid param: no such route: GET /"),
            "{}",
            a.errmsg()
        );
        assert!(
            !a.errmsg().contains("secret=x"),
            "the query string is not echoed"
        );
    }
}

#[tokio::test]
async fn every_answer_is_json_with_no_store() {
    let r = TestRouter::new();
    // Reading an answer checks that it is JSON, as application/json.
    let answers = [
        r.get(TOKEN, &[]).await,
        r.get(JSCODE2SESSION, &[]).await,
        r.get(CHECKSESSION, &[]).await,
        r.post(GETUSERPHONENUMBER, &json!({})).await,
        r.post(GETEMAILADDRESS, &json!({})).await,
        r.post_sdk(SDK_PROFILE, None, &json!({})).await,
        r.get("/unknown", &[]).await,
    ];
    for a in answers {
        assert_eq!(a.header("cache-control"), Some("no-store"), "{}", a.json);
        assert!(a.json.get("requestId").is_some(), "{}", a.json);
    }
}
