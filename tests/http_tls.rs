//! HTTPS (feature `rustls`): the server presents a certificate made here;
//! a client trusting the test CA talks to it, one that does not fails with
//! a clear error.
#![cfg(feature = "rustls")]

mod support;

use superapp_openapi::http::{
    ClientError, HttpConfig, OpenServerClient, RemotePlatform, ServerLimits, TlsConfig, router,
    serve_tls,
};
use superapp_openapi::platform::{Platform, Principal};
use superapp_openapi::{AppInfo, AppSecret, SdkKey};
use support::*;

struct Https {
    base: String,
    ca_pem: String,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn start() -> Https {
    let certified =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()])
            .expect("a certificate");
    let cert_pem = certified.cert.pem();
    let key_pem = certified.signing_key.serialize_pem();
    let tls = TlsConfig::from_pem(cert_pem.as_bytes(), key_pem.as_bytes()).expect("usable");
    let (server, _clock) = open_server();
    let app = router(server, HttpConfig::new().sdk_key(SdkKey::new(SDK_KEY)));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("https://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(serve_tls(listener, app, ServerLimits::new(), tls, async {
        let _ = stopped.await;
    }));
    Https {
        base,
        ca_pem: cert_pem,
        _stop: stop,
    }
}

#[tokio::test]
async fn a_client_trusting_the_test_ca_talks_https() {
    let https = start().await;
    let client = OpenServerClient::builder(&https.base, APP_A1, AppSecret::new(SECRET_A1))
        .root_certificate_pem(https.ca_pem.as_bytes())
        .build();
    let token = client.access_token().await.expect("a token over https");
    assert_eq!(token.secret().len(), 64);
    let remote = RemotePlatform::builder(&https.base, SdkKey::new(SDK_KEY))
        .root_certificate_pem(https.ca_pem.as_bytes())
        .build();
    let code = remote
        .issue_login_code(&AppInfo::new(APP_A1), &Principal::Uid(ADA.into()))
        .await
        .expect("a login code over https");
    assert_eq!(code.secret().len(), 32);
}

#[tokio::test]
async fn a_client_not_trusting_the_ca_fails_with_a_clear_error() {
    let https = start().await;
    let client = OpenServerClient::new(&https.base, APP_A1, AppSecret::new(SECRET_A1));
    let err = client.access_token().await.unwrap_err();
    assert!(matches!(err, ClientError::Transport(_)), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("could not reach the platform"), "{text}");
    assert!(
        text.to_lowercase().contains("certificate"),
        "the cause names the certificate: {text}"
    );
    assert!(!text.contains(SECRET_A1), "{text}");
}

#[test]
fn a_key_that_is_not_the_certificates_is_refused_naming_the_problem() {
    let one = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let other = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let err = TlsConfig::from_pem(
        one.cert.pem().as_bytes(),
        other.signing_key.serialize_pem().as_bytes(),
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("the certificate and key cannot be used together"),
        "{err}"
    );
    let err = TlsConfig::from_pem(one.cert.pem().as_bytes(), b"").unwrap_err();
    assert!(
        err.to_string()
            .starts_with("the key file has no PEM private key"),
        "{err}"
    );
}

#[cfg(feature = "cli")]
#[tokio::test]
async fn the_binary_listens_on_https_with_the_certificate_and_key_of_its_config() {
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into()]).unwrap();
    let dir = std::env::temp_dir().join(format!("openserver-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("cert.pem"), certified.cert.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), certified.signing_key.serialize_pem()).unwrap();
    let example: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(support::bin::EXAMPLE).unwrap()).unwrap();
    let mut config = example.clone();
    // Paths are read relative to the config file's folder.
    config["tls"] = serde_json::json!({"cert": "cert.pem", "key": "key.pem"});
    let path = dir.join("openserver.json");
    std::fs::write(&path, config.to_string()).unwrap();
    let (running, base) = support::bin::start(&["--config", path.to_str().unwrap()]);
    assert!(base.starts_with("https://127.0.0.1:"), "{base}");
    let app = &example["apps"][0];
    let client = OpenServerClient::builder(
        &base,
        app["appid"].as_str().unwrap(),
        AppSecret::new(app["secret"].as_str().unwrap()),
    )
    .root_certificate_pem(certified.cert.pem().into_bytes())
    .build();
    client
        .access_token()
        .await
        .expect("a token from the binary over https");
    drop(running);
    let _ = std::fs::remove_dir_all(&dir);
}
