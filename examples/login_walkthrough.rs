//! The whole login story, with all four parties, printed step by step: the
//! super app's **host** answering `wx.login` for a **mini program**, the
//! **platform** issuing codes, and the mini program's **developer server**
//! exchanging them — first with a v2 host (the host's UID), then with a v3
//! host (an authCode from the super-app server, with scopes, one of them
//! refused by the user). It also shows `wx.getUserInfo`'s open data
//! (`rawData` and its `signature`, `encryptedData`) checked and decrypted by
//! the developer server with its session key, that the unionid is the same
//! in two apps of one team, and that a reused code is refused with 40163.
//!
//! Run it on the embedded platform (in this process, offline):
//!
//! ```sh
//! cargo run --example login_walkthrough
//! ```
//!
//! or against a running `openserver` (the apps, users and SDK key of
//! `examples/openserver.json`):
//!
//! ```sh
//! cargo run --bin openserver -- --config examples/openserver.json &
//! cargo run --example login_walkthrough -- --remote http://127.0.0.1:8080
//! ```
//!
//! or with all five parties in their own processes: an `openserver` whose
//! config has a `directory` section pointing at the reference
//! `superapp-server` (users from `examples/superapp-users.json`), the v3
//! host getting its authCodes from that server's `login` and
//! `getMiniProgramAuthCode` (`.ci/walkthrough-remote` starts both):
//!
//! ```sh
//! cargo run --example login_walkthrough -- --remote http://127.0.0.1:8080 --superapp http://127.0.0.1:9090
//! ```
//!
//! Codes, keys, tokens and the phone number are shown masked. The example
//! exits non-zero if any step does not behave as it prints.

use std::fmt::{Debug, Display};
use std::process::ExitCode;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::json;
use superapp_openapi::{
    AccessToken, ApiVersion, AppInfo, AppKind, AppSecret, AuthCode, AuthCodeRequest, AuthGrant,
    Code, Dispatcher, DispatcherBuilder, HandlerResult, HostError, JsonObject, OpenApi,
    OpenApiHandler, OpenServer, PhoneNumber, Scope, SdkKey, SessionKey, UserInfo,
    http::{ClientError, OpenServerClient, RemotePlatform, Session, masked},
    opendata::{self, OpenDataError},
    openserver::{
        AppRegistration, CheckSessionRequest, ErrCode, Jscode2SessionRequest, OpenServerError,
        SuperappUser, TokenRequest, UserCodeRequest,
    },
};

// The same apps, user and key as examples/openserver.json.
const TEAM: &str = "team-demo";
const SHOP: &str = "wxdemo00000000001";
const SHOP_SECRET: &str = "demo-app-secret-change-me";
const GAME: &str = "wxdemogame0000001";
const GAME_SECRET: &str = "demo-game-secret-change-me";
const USER: &str = "u-1001";
const PHONE: &str = "+8613800000000";
const SDK_KEY: &str = "demo-host-sdk-key-change-me";
// u-1001's password at the reference super-app server (examples/superapp-users.json).
const PASSWORD: &str = "ada-password-change-me";

/// An id, shortened for reading (ids are not secrets).
fn short(id: impl AsRef<str>) -> String {
    let id = id.as_ref();
    match id.get(..12) {
        Some(head) if id.len() > 12 => format!("{head}…"),
        _ => id.to_owned(),
    }
}

/// The story so far: every step printed, every surprise counted.
#[derive(Default)]
struct Story {
    surprises: Vec<String>,
}

impl Story {
    fn chapter(&self, title: &str) {
        println!("\n== {title}");
    }

    fn say(&self, who: &str, what: impl Display) {
        println!("[{who}] {what}");
    }

    /// Checks an answer of the developer-server API: ok, or why not.
    fn check_answer<T>(&mut self, answer: &Answer<T>, what: impl Display) {
        match answer {
            Ok(_) => self.check(true, what),
            Err(err) => self.check(
                false,
                format!("{what} (got {} {})", err.errcode(), err.errmsg()),
            ),
        }
    }

    fn check(&mut self, ok: bool, what: impl Display) {
        if ok {
            println!("    ok: {what}");
        } else {
            println!("    NOT AS EXPECTED: {what}");
            self.surprises.push(what.to_string());
        }
    }
}

/// The platform: in this process, or an `openserver` over HTTP.
enum Platforms {
    Embedded(OpenServer),
    /// The platform's URL, and the super-app server's when it runs on its own.
    Remote(String, Option<String>),
}

impl Platforms {
    fn describe(&self) -> String {
        match self {
            Platforms::Embedded(_) => "the embedded OpenServer, in this process".into(),
            Platforms::Remote(url, None) => format!("the openserver at {url}, over HTTP"),
            Platforms::Remote(url, Some(superapp)) => format!(
                "the openserver at {url}, over HTTP, asking the super-app server at {superapp}"
            ),
        }
    }

    /// What a host's Dispatcher talks to.
    fn for_host(&self) -> Box<dyn Fn(DispatcherBuilder) -> DispatcherBuilder + '_> {
        match self {
            Platforms::Embedded(server) => Box::new(move |b| b.platform(server.clone())),
            Platforms::Remote(url, _) => {
                Box::new(move |b| b.platform(RemotePlatform::new(url, SdkKey::new(SDK_KEY))))
            }
        }
    }

    /// The super-app server's getAuthCode (v3): the embedded directory, the
    /// emulator's `/openserver/sdk/auth_code`, or the super-app server's
    /// host-facing `login` and `getMiniProgramAuthCode` (TCMPP's demo).
    async fn issue_auth_code(&self, app_id: &str, scopes: &[Scope]) -> Result<AuthCode, String> {
        match self {
            Platforms::Embedded(server) => server
                .issue_auth_code(app_id, USER, scopes.iter().copied())
                .await
                .map_err(|e| e.to_string()),
            Platforms::Remote(url, None) => RemotePlatform::new(url, SdkKey::new(SDK_KEY))
                .issue_auth_code(app_id, USER, scopes)
                .await
                .map_err(|e| e.to_string()),
            Platforms::Remote(_, Some(superapp)) => {
                let login =
                    json!({"appId": "superapp", "userAccount": USER, "userPassword": PASSWORD});
                let token = superapp_call(&format!("{superapp}/superapp/login"), login).await?;
                let names: Vec<&str> = scopes.iter().map(|s| s.as_str()).collect();
                let ask = json!({"appId": "superapp", "miniAppId": app_id, "token": token["token"], "scopes": names});
                let data =
                    superapp_call(&format!("{superapp}/superapp/getMiniProgramAuthCode"), ask)
                        .await?;
                Ok(AuthCode::new(data["code"].as_str().unwrap_or_default()))
            }
        }
    }

    /// The developer server of one app.
    fn developer_server(&self, app_id: &str, secret: &str) -> DeveloperServer {
        match self {
            Platforms::Embedded(server) => DeveloperServer::Embedded {
                server: server.clone(),
                app_id: app_id.into(),
                secret: AppSecret::new(secret),
            },
            Platforms::Remote(url, _) => {
                DeveloperServer::Remote(OpenServerClient::new(url, app_id, AppSecret::new(secret)))
            }
        }
    }
}

/// A mini program's developer server: the developer-server API called
/// in-process, or over HTTP with `OpenServerClient`.
enum DeveloperServer {
    Embedded {
        server: OpenServer,
        app_id: String,
        secret: AppSecret,
    },
    Remote(OpenServerClient),
}

/// The embedded platform and the HTTP client fail with the same error shape.
type Answer<T> = Result<T, OpenServerError>;

/// An answer for printing: `ok`, or the errcode and errmsg.
fn shown<T: Debug>(answer: &Answer<T>) -> String {
    match answer {
        Ok(_) => "ok".into(),
        Err(err) => format!("{} {}", err.errcode(), err.errmsg()),
    }
}

fn client_error(err: ClientError) -> OpenServerError {
    match err {
        ClientError::Api(err) => err,
        other => OpenServerError::new(ErrCode::SystemError).with_message(other.to_string()),
    }
}

impl DeveloperServer {
    async fn jscode2session(&self, code: &Code) -> Answer<Session> {
        match self {
            DeveloperServer::Embedded {
                server,
                app_id,
                secret,
            } => {
                let r = server
                    .jscode2session(&Jscode2SessionRequest::new(
                        app_id.as_str(),
                        secret.clone(),
                        code.clone(),
                    ))
                    .await?;
                Ok(Session {
                    openid: r.openid,
                    session_key: r.session_key,
                    unionid: Some(r.unionid),
                })
            }
            DeveloperServer::Remote(client) => {
                client.jscode2session(code).await.map_err(client_error)
            }
        }
    }

    async fn access_token(&self) -> Answer<AccessToken> {
        match self {
            DeveloperServer::Embedded {
                server,
                app_id,
                secret,
            } => {
                let r = server
                    .token(&TokenRequest::new(app_id.as_str(), secret.clone()))
                    .await?;
                Ok(r.access_token.unwrap_or_default())
            }
            DeveloperServer::Remote(client) => client.access_token().await.map_err(client_error),
        }
    }

    async fn check_session(&self, openid: &str, session_key: &SessionKey) -> Answer<()> {
        match self {
            DeveloperServer::Embedded { server, .. } => {
                let token = self.access_token().await?;
                let signature = OpenServerClient::signature(session_key);
                server
                    .checksession(&CheckSessionRequest::new(token, openid, signature))
                    .await?;
                Ok(())
            }
            DeveloperServer::Remote(client) => client
                .check_session(openid, session_key)
                .await
                .map_err(client_error),
        }
    }

    /// What WeChat's developer servers do with getUserInfo's open data:
    /// check `signature` against `rawData` with the session key, then
    /// decrypt `encryptedData` (the client's helpers over HTTP, the free
    /// functions in process: the same checks).
    fn open_data(
        &self,
        session: &Session,
        reply: &superapp_openapi::Reply,
    ) -> Result<JsonObject, OpenDataError> {
        let field = |name| reply.get_str(name).unwrap_or_default();
        match self {
            DeveloperServer::Embedded { app_id, .. } => {
                opendata::verify_signature(
                    field("rawData"),
                    field("signature"),
                    &session.session_key,
                )?;
                opendata::decrypt(
                    field("encryptedData"),
                    field("iv"),
                    &session.session_key,
                    app_id,
                )
            }
            DeveloperServer::Remote(client) => {
                client.verify_open_data(session, field("rawData"), field("signature"))?;
                client.decrypt_open_data(session, field("encryptedData"), field("iv"))
            }
        }
    }

    async fn phone_number(&self, openid: &str, code: &Code) -> Answer<PhoneNumber> {
        match self {
            DeveloperServer::Embedded { server, .. } => {
                let token = self.access_token().await?;
                let r = server
                    .getuserphonenumber(&UserCodeRequest::new(token, openid, code.clone()))
                    .await?;
                Ok(r.phone_info
                    .map(|info| info.phone_number)
                    .unwrap_or_default())
            }
            DeveloperServer::Remote(client) => client
                .get_user_phone_number(openid, code)
                .await
                .map_err(client_error),
        }
    }
}

/// The v2 host: the user signed in to the super app is u-1001.
struct V2Host;

#[async_trait]
impl OpenApiHandler for V2Host {
    fn app_uid(&self, _app: &AppInfo) -> Option<String> {
        Some(USER.into())
    }

    // getUserInfo has no built-in: the host answers the user's profile, and
    // the dispatcher adds WeChat's rawData/signature/encryptedData/iv.
    async fn get_user_info(&self, _app: &AppInfo, _params: JsonObject) -> HandlerResult {
        Ok(UserInfo {
            nick_name: "Ada".into(),
            ..UserInfo::default()
        }
        .into_result())
    }
}

/// The v3 host: it asks the super-app server for an authCode; the user
/// allows everything but their email.
struct V3Host {
    platforms: Arc<Platforms>,
}

#[async_trait]
impl OpenApiHandler for V3Host {
    async fn get_auth_code(
        &self,
        app: &AppInfo,
        request: AuthCodeRequest,
    ) -> Result<AuthGrant, HostError> {
        let (granted, refused): (Vec<Scope>, Vec<Scope>) =
            request.scopes.iter().partition(|s| **s != Scope::Email);
        let asked: Vec<&str> = request.scopes.iter().map(|s| s.as_str()).collect();
        println!(
            "[host] get_auth_code for {} (scopes asked: [{}]) -> the super-app server issues an authCode",
            request.api,
            asked.join(", ")
        );
        let code = self
            .platforms
            .issue_auth_code(app.app_id(), &granted)
            .await
            .map_err(HostError::failed)?;
        let mut grant = AuthGrant::from_auth_code(code).granted(granted);
        for scope in refused {
            println!("[user] refuses to share {scope}");
            grant = grant.refused(scope, "the user declined to share their email");
        }
        Ok(grant)
    }

    fn app_uid(&self, _app: &AppInfo) -> Option<String> {
        Some(USER.into())
    }
}

/// A host-facing call to the super-app server: its `data`, or why not.
async fn superapp_call(url: &str, body: serde_json::Value) -> Result<serde_json::Value, String> {
    let answer = reqwest::Client::new()
        .post(url)
        .json(&body)
        .send()
        .await
        .map_err(|e| format!("{url}: {}", e.without_url()))?;
    let answer: serde_json::Value = answer
        .json()
        .await
        .map_err(|e| format!("{url}: {}", e.without_url()))?;
    if answer["returnCode"] != "0" {
        return Err(format!("{url}: returnCode {}", answer["returnCode"]));
    }
    Ok(answer["data"].clone())
}

fn usage() -> ExitCode {
    eprintln!(
        "usage: login_walkthrough [--remote URL [--superapp URL]]\n\
         \n  --remote URL   run against an openserver started with examples/openserver.json\n\
         \n  --superapp URL with --remote: the openserver's directory is this reference superapp-server\n\
         \n  (no flag)      run on the embedded platform, in this process"
    );
    ExitCode::from(2)
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let platforms = match args.as_slice() {
        [] => Platforms::Embedded(OpenServer::new()),
        [flag, url] if flag == "--remote" && url.starts_with("http") => {
            Platforms::Remote(url.trim_end_matches('/').to_owned(), None)
        }
        [flag, url, with, superapp]
            if flag == "--remote"
                && url.starts_with("http")
                && with == "--superapp"
                && superapp.starts_with("http") =>
        {
            Platforms::Remote(
                url.trim_end_matches('/').to_owned(),
                Some(superapp.trim_end_matches('/').to_owned()),
            )
        }
        [flag] if flag == "--help" || flag == "-h" => {
            usage();
            return ExitCode::SUCCESS;
        }
        _ => return usage(),
    };
    match walkthrough(Arc::new(platforms)).await {
        Ok(story) if story.surprises.is_empty() => {
            println!("\nEvery step behaved as printed.");
            ExitCode::SUCCESS
        }
        Ok(story) => {
            eprintln!(
                "\n{} step(s) did not behave as printed:",
                story.surprises.len()
            );
            for s in &story.surprises {
                eprintln!("  - {s}");
            }
            ExitCode::FAILURE
        }
        Err(err) => {
            eprintln!("\nthe walkthrough stopped: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn walkthrough(platforms: Arc<Platforms>) -> Result<Story, String> {
    let mut story = Story::default();
    story.chapter("The parties");
    story.say("platform", platforms.describe());
    if let Platforms::Embedded(server) = &*platforms {
        let register = |id, secret, kind| {
            server
                .register_app(
                    AppRegistration::new(id, AppSecret::new(secret), TEAM).with_kind(kind),
                )
                .map_err(|e| e.to_string())
        };
        register(SHOP, SHOP_SECRET, AppKind::MiniProgram)?;
        register(GAME, GAME_SECRET, AppKind::MiniGame)?;
        server
            .add_user(
                SuperappUser::new(USER)
                    .with_phone_number(PHONE)
                    .with_email("ada@example.com")
                    .with_nickname("Ada"),
            )
            .map_err(|e| e.to_string())?;
    }
    story.say(
        "platform",
        format!("apps {SHOP} (mini program) and {GAME} (mini game), both of {TEAM}"),
    );
    story.say(
        "super-app server",
        format!("user {USER}, phone {}", masked(PHONE)),
    );

    // ---- v2
    story.chapter("v2: the host says who is signed in (app_uid), the built-in flow does the rest");
    let v2 =
        (platforms.for_host())(Dispatcher::builder(V2Host).default_version(ApiVersion::V2)).build();
    let shop = AppInfo::new(SHOP);
    let shop_server = platforms.developer_server(SHOP, SHOP_SECRET);
    story.say("host", v2.explain(&shop, OpenApi::Login));

    let reply = v2.invoke(&shop, "wx.login", json!({})).await;
    story.say(
        "mini program",
        format!("wx.login -> errMsg {:?}", reply.err_msg()),
    );
    story.check(reply.is_ok(), "the v2 host answers wx.login with a code");
    let code = Code::new(reply.get_str("code").unwrap_or_default());
    story.say(
        "mini program",
        format!(
            "sends the code {} to its developer server",
            masked(code.secret())
        ),
    );

    let session = shop_server.jscode2session(&code).await;
    story.check_answer(
        &session,
        "jscode2session gives openid, session_key and unionid",
    );
    let session = session.map_err(|e| format!("jscode2session failed: {e:?}"))?;
    story.say(
        "developer server",
        format!(
            "openid {}, unionid {}, session_key {}",
            short(&session.openid),
            short(session.unionid.as_deref().unwrap_or_default()),
            masked(session.session_key.secret())
        ),
    );

    let token = shop_server.access_token().await;
    story.check_answer(
        &token,
        "the developer server gets an access token (cgi-bin/token)",
    );
    if let Ok(token) = &token {
        story.say(
            "developer server",
            format!("access_token {}", masked(token.secret())),
        );
    }

    let checked = shop_server
        .check_session(&session.openid, &session.session_key)
        .await;
    story.say(
        "developer server",
        "checksession with signature = hex(hmac_sha256(session_key, \"\"))",
    );
    story.check_answer(&checked, "the platform accepts the signature");

    let reply = v2.invoke(&shop, "wx.checkSession", json!({})).await;
    story.say(
        "mini program",
        format!("wx.checkSession -> errMsg {:?}", reply.err_msg()),
    );
    story.check(
        reply.err_msg() == "checkSession:ok",
        "the session is valid after the exchange",
    );

    let reply = v2.invoke(&shop, "wx.getUserInfo", json!({})).await;
    story.say(
        "mini program",
        format!(
            "wx.getUserInfo -> errMsg {:?}, rawData {}, signature {}",
            reply.err_msg(),
            reply.get_str("rawData").unwrap_or("(none)"),
            short(reply.get_str("signature").unwrap_or("(none)")),
        ),
    );
    story.say(
        "mini program",
        "sends rawData, signature, encryptedData and iv to its developer server",
    );
    let data = shop_server.open_data(&session, &reply);
    story.say(
        "developer server",
        "checks signature = hex(sha1(rawData + session_key)), then decrypts encryptedData (AES-128-CBC, key = session_key)",
    );
    match &data {
        Ok(data) => story.say(
            "developer server",
            format!(
                "the sealed data: nickName {}, openId {}, watermark appid {}",
                data["nickName"],
                short(data["openId"].as_str().unwrap_or_default()),
                data["watermark"]["appid"]
            ),
        ),
        Err(err) => story.say("developer server", format!("refused: {err}")),
    }
    story.check(
        data.as_ref()
            .is_ok_and(|d| d["openId"] == session.openid.as_str()),
        "the signature verifies and the sealed openId is the one jscode2session gave",
    );

    let reply = v2.invoke(&shop, "wx.getPhoneNumber", json!({})).await;
    story.say(
        "mini program",
        format!("wx.getPhoneNumber -> errMsg {:?}", reply.err_msg()),
    );
    story.check(
        reply.is_ok(),
        "the built-in getPhoneNumber hands out a one-time code",
    );
    let phone_code = Code::new(reply.get_str("code").unwrap_or_default());
    let phone = shop_server.phone_number(&session.openid, &phone_code).await;
    story.say(
        "developer server",
        format!(
            "getuserphonenumber -> {}",
            phone.as_ref().map_or_else(
                |e| format!("{} {}", e.errcode(), e.errmsg()),
                |p| masked(p.secret())
            )
        ),
    );
    story.check(
        phone.as_ref().is_ok_and(|p| p.secret() == PHONE),
        "the developer server reads the user's phone number",
    );

    let again = shop_server.jscode2session(&code).await;
    story.say(
        "developer server",
        format!(
            "jscode2session with the same code again -> {}",
            shown(&again)
        ),
    );
    story.check(
        matches!(&again, Err(e) if e.errcode() == 40163 && e.errmsg().contains("code been used")),
        "a reused code is refused with 40163",
    );

    // ---- v3
    story.chapter("v3: mutual trust — the host asks the super-app server for an authCode first");
    let v3 = (platforms.for_host())(
        Dispatcher::builder(V3Host {
            platforms: platforms.clone(),
        })
        .default_version(ApiVersion::V3),
    )
    .build();
    let game = AppInfo::new(GAME).with_kind(AppKind::MiniGame);
    let game_server = platforms.developer_server(GAME, GAME_SECRET);
    story.say("host", v3.explain(&game, OpenApi::GetPhoneNumber));

    let reply = v3.invoke(&game, "wx.login", json!({})).await;
    story.say(
        "mini program",
        format!("wx.login -> errMsg {:?}", reply.err_msg()),
    );
    story.check(
        reply.is_ok(),
        "the v3 host answers wx.login after getting an authCode",
    );
    let code = Code::new(reply.get_str("code").unwrap_or_default());
    let game_session = game_server
        .jscode2session(&code)
        .await
        .map_err(|e| format!("jscode2session in {GAME} failed: {e:?}"))?;
    story.say(
        "developer server",
        format!(
            "in {GAME}: openid {}, unionid {}",
            short(&game_session.openid),
            short(game_session.unionid.as_deref().unwrap_or_default())
        ),
    );
    story.check(
        game_session.unionid.is_some() && game_session.unionid == session.unionid,
        format!("the unionid is the same in {SHOP} and {GAME} (one team)"),
    );
    story.check(
        game_session.openid != session.openid,
        "the openid differs from app to app",
    );

    let reply = v3.invoke(&game, "wx.getPhoneNumber", json!({})).await;
    story.say(
        "mini program",
        format!("wx.getPhoneNumber -> errMsg {:?}", reply.err_msg()),
    );
    let phone_code = Code::new(reply.get_str("code").unwrap_or_default());
    let phone = game_server
        .phone_number(&game_session.openid, &phone_code)
        .await;
    story.check(
        phone.as_ref().is_ok_and(|p| p.secret() == PHONE),
        "with SCOPE_PHONE_NUMBER granted, the developer server reads the phone number",
    );

    let reply = v3.invoke(&game, "wx.getEmail", json!({})).await;
    story.say(
        "mini program",
        format!("wx.getEmail -> {}", reply.to_json_string()),
    );
    story.check(
        reply.err_msg() == "getEmail:fail auth deny: SCOPE_EMAIL was not granted (the user declined to share their email)"
            && reply.errno() == Some(202),
        "the refused scope reaches the mini program as an auth deny (errno 202)",
    );

    Ok(story)
}
