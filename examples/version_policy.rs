//! One host, three mini programs: app.json says `"apiVersion": "v1"`, `"v2"`,
//! or nothing. The host's `open_api_version` hook asks for v3 for apps of
//! team "trusted" and says nothing for the others, and the dispatcher's
//! default is v2. For each app and API it prints what `explain` says: the
//! version, where it came from, and who answers.
//!
//! Run: `cargo run --example version_policy`

use superapp_openapi::{ApiVersion, AppInfo, Dispatcher, OpenApi, OpenApiHandler};

struct Host;

impl OpenApiHandler for Host {
    fn open_api_version(&self, app: &AppInfo) -> Option<ApiVersion> {
        (app.team_id() == Some("trusted")).then_some(ApiVersion::V3)
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dispatcher = Dispatcher::builder(Host)
        .default_version(ApiVersion::V2)
        .build();
    let apps = [
        AppInfo::from_app_json(
            "wx-legacy",
            r#"{"pages":["pages/index"],"apiVersion":"v1"}"#,
        )?
        .with_team("trusted"),
        AppInfo::from_app_json(
            "wx-modern",
            r#"{"pages":["pages/index"],"apiVersion":"v2"}"#,
        )?
        .with_team("trusted"),
        AppInfo::from_app_json("wx-plain", r#"{"pages":["pages/index"]}"#)?.with_team("trusted"),
        AppInfo::from_app_json("wx-other", r#"{"pages":["pages/index"]}"#)?.with_team("partners"),
    ];
    for app in &apps {
        println!("{} (team {}):", app.app_id(), app.team_id().unwrap_or("-"));
        for api in OpenApi::ALL {
            println!("  {}", dispatcher.explain(app, api));
        }
        println!();
    }

    // A version app.json may not name is refused when the app is loaded.
    match AppInfo::from_app_json("wx-broken", r#"{"apiVersion":"v4"}"#) {
        Err(err) => println!("loading wx-broken: {err}"),
        Ok(_) => return Err("apiVersion v4 was accepted".into()),
    }
    Ok(())
}
