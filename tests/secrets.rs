//! No secret reaches a log line or a `Debug` string.

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde_json::json;
use superapp_openapi::{
    ApiVersion, AppInfo, AuthCode, AuthCodeRequest, AuthGrant, Code, Dispatcher, HostError,
    OpenApiHandler, OpenServer, SessionKey,
    openserver::{Jscode2SessionRequest, SuperappUser, TokenRequest, UserCodeRequest},
    platform::Principal,
};
use support::*;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

struct Host {
    server: OpenServer,
    issued: Arc<Mutex<Vec<String>>>,
}

#[async_trait]
impl OpenApiHandler for Host {
    async fn get_auth_code(
        &self,
        app: &AppInfo,
        request: AuthCodeRequest,
    ) -> Result<AuthGrant, HostError> {
        let code = self
            .server
            .issue_auth_code(app.app_id(), "u-1", request.scopes.clone())
            .unwrap();
        self.issued.lock().unwrap().push(code.secret().to_owned());
        Ok(AuthGrant::from_auth_code(code).granted(request.scopes))
    }

    fn app_uid(&self, _app: &AppInfo) -> Option<String> {
        Some("u-1".into())
    }
}

#[tokio::test(flavor = "current_thread")]
async fn tracing_output_and_debug_strings_carry_no_secret() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let (server, _) = open_server();
    let issued = Arc::new(Mutex::new(Vec::new()));
    let host = Host {
        server: server.clone(),
        issued: issued.clone(),
    };
    let v2 = AppInfo::new(APP_A1).with_api_version(ApiVersion::V2);
    let v3 = AppInfo::new(APP_A2).with_api_version(ApiVersion::V3);
    let dispatcher = Dispatcher::builder(host).platform(server.clone()).build();

    let mut secrets: Vec<String> =
        vec![PHONE.into(), EMAIL.into(), secret_of(APP_A1).into_secret()];
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
    secrets.extend(issued.lock().unwrap().iter().cloned());
    let user = SuperappUser::new("u-x")
        .with_phone_number(PHONE)
        .with_email(EMAIL);
    let grant = AuthGrant::from_auth_code(AuthCode::new(issued.lock().unwrap()[0].clone()));
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
            Principal::AuthCode(AuthCode::new(issued.lock().unwrap()[0].clone()))
        ),
        format!("{:?}", SessionKey::new(s.session_key.secret())),
    ]);
    // 3 fixed + 6 codes from replies + 1 login code + session_key and token + 3 authCodes
    assert_eq!(
        secrets.len(),
        3 + 6 + 1 + 2 + 3,
        "every secret was collected"
    );

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
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
