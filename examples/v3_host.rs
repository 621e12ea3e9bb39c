//! A v3 host (mutual trust): before each built-in flow, the dispatcher asks
//! the host's `get_auth_code` for an authCode with the API's scope. The host
//! asks its super-app server, which issues a single-use authCode for the
//! scopes the user consented to; the platform redeems it.
//!
//! Run: `cargo run --example v3_host`
//! It prints the scopes asked and granted for each API, the reply, the case
//! where the user refuses a scope, and a host that is signed out.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde_json::json;
use superapp_openapi::{
    ApiVersion, AppInfo, AppSecret, AuthCodeRequest, AuthGrant, Dispatcher, HostError,
    OpenApiHandler, OpenServer, Scope,
    openserver::{AppRegistration, SuperappUser},
};

/// The super-app server: it knows the signed-in user's token and what the
/// user consented to, and issues authCodes (here through the embedded
/// platform's in-memory directory, as a real server would through its own).
struct SuperappServer {
    platform: OpenServer,
    consent: BTreeSet<Scope>,
}

impl SuperappServer {
    async fn get_auth_code(
        &self,
        token: &str,
        app_id: &str,
        scopes: &[Scope],
    ) -> Result<AuthGrant, HostError> {
        let user = token
            .strip_prefix("token-of-")
            .ok_or_else(|| HostError::failed("app not login").with_errno(-1001))?;
        let (granted, refused): (Vec<Scope>, Vec<Scope>) =
            scopes.iter().partition(|s| self.consent.contains(s));
        let code = self
            .platform
            .issue_auth_code(app_id, user, granted.clone())
            .await
            .map_err(|e| HostError::failed(e.errmsg()))?;
        let mut grant = AuthGrant::from_auth_code(code).granted(granted);
        for scope in refused {
            grant = grant.refused(scope, "the user did not allow it");
        }
        Ok(grant)
    }
}

fn names<'a>(scopes: impl IntoIterator<Item = &'a Scope>) -> String {
    scopes
        .into_iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

struct V3Host {
    server: SuperappServer,
    token: Arc<Mutex<String>>,
}

#[async_trait]
impl OpenApiHandler for V3Host {
    async fn get_auth_code(
        &self,
        app: &AppInfo,
        request: AuthCodeRequest,
    ) -> Result<AuthGrant, HostError> {
        let token = self.token.lock().map(|t| t.clone()).unwrap_or_default();
        let grant = self
            .server
            .get_auth_code(&token, app.app_id(), &request.scopes)
            .await;
        if let Ok(grant) = &grant {
            println!(
                "  get_auth_code for {}: asked [{}], granted [{}], refused [{}]",
                request.api,
                names(&request.scopes),
                names(&grant.auth_success_scopes),
                names(grant.auth_error_scopes.keys()),
            );
        }
        grant
    }

    // checkSession follows v2 in v3: it needs the UID.
    fn app_uid(&self, _app: &AppInfo) -> Option<String> {
        let token = self.token.lock().ok()?;
        token.strip_prefix("token-of-").map(str::to_owned)
    }

    fn open_api_version(&self, _app: &AppInfo) -> Option<ApiVersion> {
        Some(ApiVersion::V3)
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let platform = OpenServer::new();
    platform.register_app(AppRegistration::new(
        "wx-v3-shop",
        AppSecret::new("shop-secret"),
        "team-a",
    ))?;
    platform.add_user(
        SuperappUser::new("user-42")
            .with_phone_number("+8613800138000")
            .with_email("ada@example.com")
            .with_nickname("Ada")
            .with_avatar_url("https://example.com/ada.png"),
    )?;
    let token = Arc::new(Mutex::new("token-of-user-42".to_owned()));
    let host = V3Host {
        server: SuperappServer {
            platform: platform.clone(),
            consent: BTreeSet::from([Scope::PhoneNumber, Scope::Nickname, Scope::Avatar]),
        },
        token: token.clone(),
    };
    let dispatcher = Dispatcher::builder(host).platform(platform).build();
    let app = AppInfo::new("wx-v3-shop");

    let mut unexpected = Vec::new();
    for (api, expected) in [
        ("wx.login", "login:ok"),
        ("wx.getPhoneNumber", "getPhoneNumber:ok"),
        ("wx.getNickName", "getNickName:ok"),
        ("wx.chooseAvatar", "chooseAvatar:ok"),
        (
            "wx.getEmail",
            "getEmail:fail auth deny: SCOPE_EMAIL was not granted (the user did not allow it)",
        ),
        ("wx.checkSession", "checkSession:fail session expired"),
    ] {
        println!("{api}");
        let reply = dispatcher.invoke(&app, api, json!({})).await;
        println!("  -> {}", reply.to_json_string());
        if reply.err_msg() != expected {
            unexpected.push(format!(
                "{api}: expected {expected:?}, got {:?}",
                reply.err_msg()
            ));
        }
    }

    println!("\nthe user signs out of the host:");
    *token.lock().expect("lock") = String::new();
    let reply = dispatcher.invoke(&app, "wx.login", json!({})).await;
    println!("wx.login\n  -> {}", reply.to_json_string());
    if reply.err_msg() != "login:fail app not login" {
        unexpected.push(format!("signed out: got {:?}", reply.err_msg()));
    }

    if unexpected.is_empty() {
        Ok(())
    } else {
        Err(unexpected.join("\n").into())
    }
}
