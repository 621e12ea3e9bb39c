//! No secret reaches a log line or a `Debug` string.

mod support;

use serde_json::json;
use superapp_openapi::{
    ApiVersion, AppInfo, AuthCode, AuthGrant, Code, Dispatcher, SessionKey,
    openserver::{Jscode2SessionRequest, SuperappUser, TokenRequest, UserCodeRequest},
    platform::Principal,
};
use support::*;

#[tokio::test(flavor = "current_thread")]
async fn tracing_output_and_debug_strings_carry_no_secret() {
    let (captured, _guard) = Captured::start(tracing::Level::TRACE);

    let (server, _) = open_server();
    let host = TestHost::new().with_uid(ADA).with_server(server.clone());
    let v2 = AppInfo::new(APP_A1).with_api_version(ApiVersion::V2);
    let v3 = AppInfo::new(APP_A2).with_api_version(ApiVersion::V3);
    let dispatcher = Dispatcher::builder(host.clone())
        .platform(server.clone())
        .build();

    let mut secrets: Vec<String> = vec![
        ADA_PHONE.into(),
        ADA_EMAIL.into(),
        secret_of(APP_A1).into_secret(),
    ];
    let mut debug_strings = vec![format!("{dispatcher:?}"), format!("{server:?}")];
    for app in [&v2, &v3] {
        for api in ["login", "getPhoneNumber", "getEmail", "scanCode"] {
            let reply = dispatcher.invoke(app, api, json!({})).await;
            debug_strings.push(format!("{reply:?}"));
            if let Some(code) = reply.get_str("code") {
                secrets.push(code.to_owned());
            }
        }
    }
    let code = dispatcher
        .invoke(&v2, "login", json!({}))
        .await
        .get_str("code")
        .unwrap()
        .to_owned();
    secrets.push(code.clone());
    let s = server
        .jscode2session(&Jscode2SessionRequest::new(
            APP_A1,
            secret_of(APP_A1),
            Code::new(code.clone()),
        ))
        .await
        .wire();
    let t = server
        .token(&TokenRequest::new(APP_A1, secret_of(APP_A1)))
        .await
        .wire();
    let token = t.access_token.clone().unwrap();
    secrets.push(s.session_key.secret().to_owned());
    secrets.push(token.secret().to_owned());
    let issued = host.issued_auth_codes();
    secrets.extend(issued.iter().cloned());
    let user = SuperappUser::new("u-x")
        .with_phone_number(ADA_PHONE)
        .with_email(ADA_EMAIL);
    let grant = AuthGrant::from_auth_code(AuthCode::new(issued[0].clone()));
    debug_strings.extend([
        format!("{s:?}"),
        format!("{t:?}"),
        format!("{user:?}"),
        format!("{grant:?}"),
        format!(
            "{:?}",
            Jscode2SessionRequest::new(APP_A1, secret_of(APP_A1), Code::new(code))
        ),
        format!(
            "{:?}",
            UserCodeRequest::new(token, &s.openid, Code::new("c"))
        ),
        format!(
            "{:?}",
            Principal::AuthCode(AuthCode::new(issued[0].clone()))
        ),
        format!("{:?}", SessionKey::new(s.session_key.secret())),
    ]);
    // 3 fixed + 6 codes from replies + 1 login code + session_key and token + 3 authCodes
    assert_eq!(
        secrets.len(),
        3 + 6 + 1 + 2 + 3,
        "every secret was collected"
    );

    let logs = captured.text();
    assert!(logs.contains("openapi.invoke"), "{logs}");
    assert!(
        logs.contains("api.name=\"getPhoneNumber\"") || logs.contains("api.name=getPhoneNumber"),
        "{logs}"
    );
    assert!(
        logs.contains("openapi.version=\"v3\"") || logs.contains("openapi.version=v3"),
        "{logs}"
    );
    assert!(logs.contains("outcome"), "{logs}");
    for secret in &secrets {
        assert!(
            !logs.contains(secret.as_str()),
            "a secret is in the logs:\n{logs}"
        );
        for d in &debug_strings {
            assert!(
                !d.contains(secret.as_str()),
                "a secret is in a Debug string: {d}"
            );
        }
    }
    assert!(debug_strings.iter().any(|d| d.contains("[redacted]")));
}
