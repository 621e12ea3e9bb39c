//! jscode2session over HTTP, requests per second, against a bare axum
//! handler returning a fixed small JSON — same server runtime, same load
//! generator, same run (BENCHMARKS.md).
//!
//! The load generator is this process: a reqwest client with keep-alive
//! connections driving 16 concurrent workers against 127.0.0.1 only, each
//! batch bounded by criterion's iteration count. Login codes are issued
//! in-process before each timed batch, since each code exchanges once.
//!
//! `cargo bench --bench http`

#[path = "support/load.rs"]
mod load;
use load::{drive, listen};
#[path = "support/ratios.rs"]
mod ratios;

use std::time::Duration;

use axum::routing::get;
use criterion::Criterion;
use ratios::{Row, Target};
use superapp_openapi::{
    AppInfo, AppSecret, OpenServer,
    http::{HttpConfig, router},
    openserver::{AppRegistration, OpenServerConfig, SuperappUser},
    platform::Principal,
};
use tokio::runtime::Runtime;

const BARE_BODY: &str =
    r#"{"errcode":0,"errmsg":"ok","requestId":"00000000000000000000000000000000"}"#;

fn runtime(threads: usize) -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
        .expect("a runtime")
}

fn jscode2session_over_http(c: &mut Criterion) {
    let server_rt = runtime(1);
    let client_rt = runtime(1);
    let mut config = OpenServerConfig::default();
    config.rate_limit_per_minute = u32::MAX;
    // One user logs in over and over: the per-user quota (1,000
    // outstanding codes) would stop the bench, not a server.
    config.max_outstanding_codes_per_user = usize::MAX;
    let server = OpenServer::builder().config(config).build();
    server
        .register_app(AppRegistration::new(
            "wx-bench",
            AppSecret::new("s"),
            "team",
        ))
        .unwrap();
    server.add_user(SuperappUser::new("u-bench")).unwrap();
    let (platform_url, bare_url) = server_rt.block_on(async {
        let bare = axum::Router::new().route(
            "/bare",
            get(|| async {
                (
                    [(axum::http::header::CONTENT_TYPE, "application/json")],
                    BARE_BODY,
                )
            }),
        );
        (
            listen(router(server.clone(), HttpConfig::new())).await,
            listen(bare).await,
        )
    });
    let client = reqwest::Client::new();
    let app = AppInfo::new("wx-bench");
    let uid = Principal::Uid("u-bench".into());

    let mut g = c.benchmark_group("http_jscode2session");
    g.sample_size(10).measurement_time(Duration::from_secs(4));
    g.bench_function("baseline_bare_axum", |b| {
        b.iter_custom(|iters| {
            let urls = (0..iters)
                .map(|i| format!("{bare_url}/bare?appid=wx-bench&secret=s&js_code={i:032x}&grant_type=authorization_code"))
                .collect();
            client_rt.block_on(drive(&client, urls))
        })
    });
    g.bench_function("jscode2session", |b| {
        b.iter_custom(|iters| {
            let urls = server_rt.block_on(async {
                let mut urls = Vec::with_capacity(iters as usize);
                for _ in 0..iters {
                    let code = server.issue_login_code(&app, &uid).await.expect("a code");
                    urls.push(format!(
                        "{platform_url}/openserver/sns/jscode2session?appid=wx-bench&secret=s&js_code={}&grant_type=authorization_code",
                        code.secret()
                    ));
                }
                urls
            });
            client_rt.block_on(drive(&client, urls))
        })
    });
    g.finish();
}

fn main() {
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .configure_from_args();
    jscode2session_over_http(&mut c);
    c.final_summary();
    ratios::report(&[Row {
        what: "jscode2session over HTTP, requests per second",
        group: "http_jscode2session",
        measured: "jscode2session",
        baseline: "baseline_bare_axum",
        target: Target::MinThroughputRatio(0.6),
    }]);
}
