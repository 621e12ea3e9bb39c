//! Dispatch overhead, the in-process login, checksession verification and
//! login throughput on two threads — each against a baseline measured in the
//! same run (see BENCHMARKS.md).
//!
//! `cargo bench --bench dispatch` (add `-- --quick` for a faster pass).

#[path = "support/ratios.rs"]
mod ratios;

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use criterion::Criterion;
use hmac::{Hmac, Mac};
use ratios::{Row, Target};
use serde_json::Value;
use superapp_openapi::consent::{ConsentState, ScopeName};
use superapp_openapi::{
    ApiVersion, AppInfo, AppSecret, CustomApi, Dispatcher, HandlerResult, JsonObject, OpenApi,
    OpenApiHandler, OpenServer, Reply, StateSender,
    openserver::{
        AppRegistration, CheckSessionRequest, Jscode2SessionRequest, ManualClock, OpenServerConfig,
        SuperappUser, TokenRequest,
    },
    platform::Principal,
};
use tokio::runtime::Runtime;

/// A host that answers the way a real one does for requestPayment: a small
/// fixed result.
struct TrivialHost;

fn payment_result() -> JsonObject {
    let mut result = JsonObject::new();
    result.insert("pay_time".into(), Value::from(1_732_000_000));
    result.insert("order_no".into(), Value::from("order-0001"));
    result
}

#[async_trait]
impl OpenApiHandler for TrivialHost {
    async fn request_payment(&self, _app: &AppInfo, _params: JsonObject) -> HandlerResult {
        Ok(payment_result())
    }

    fn app_uid(&self, _app: &AppInfo) -> Option<String> {
        Some("u-bench".into())
    }
}

/// What a mini program passes to wx.requestPayment.
const PAYMENT_PARAMS: &str = r#"{"timeStamp":"1732000000","nonceStr":"5K8264ILTKCH16CQ2502SI8ZNMTM67VS","package":"prepay_id=wx201410272009395522657a690389285100","signType":"HMAC-SHA256","paySign":"22D9B4E54AB1950F51E0649E8810ACD6B3B2A4B77A2C8D6E9F0A1B2C3D4E5F60"}"#;

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
}

/// Times `iters` awaits of `f` inside one `block_on`.
fn time_async<F, Fut>(rt: &Runtime, iters: u64, mut f: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future,
{
    rt.block_on(async {
        let start = Instant::now();
        for _ in 0..iters {
            black_box(f().await);
        }
        start.elapsed()
    })
}

/// Row 1's baseline: the host's method called directly, and the reply's
/// `errMsg` added the way a hand-written bridge would.
async fn direct_call(
    handler: &dyn OpenApiHandler,
    app: &AppInfo,
    params: &JsonObject,
) -> JsonObject {
    let mut reply = handler.request_payment(app, params.clone()).await.unwrap();
    reply.insert(
        "errMsg".into(),
        Value::String(format!("{}:ok", "requestPayment")),
    );
    reply
}

fn dispatch_overhead(c: &mut Criterion) {
    let rt = runtime();
    let handler: Arc<dyn OpenApiHandler> = Arc::new(TrivialHost);
    let dispatcher = Dispatcher::builder_shared(handler.clone()).build();
    let app = AppInfo::new("wx-bench");
    let params: Value = serde_json::from_str(PAYMENT_PARAMS).unwrap();
    let params_object = params.as_object().unwrap().clone();

    let mut g = c.benchmark_group("dispatch_v1");
    g.bench_function("baseline_direct_call", |b| {
        b.iter_custom(|iters| {
            time_async(&rt, iters, || direct_call(&*handler, &app, &params_object))
        })
    });
    g.bench_function("invoke", |b| {
        b.iter_custom(|iters| {
            time_async(&rt, iters, || {
                dispatcher.invoke(&app, "requestPayment", params.clone())
            })
        })
    });
    g.finish();

    let mut g = c.benchmark_group("dispatch_json");
    let reply = {
        let mut r = payment_result();
        r.insert("errMsg".into(), Value::from("requestPayment:ok"));
        r
    };
    g.bench_function("baseline_parse_and_serialize", |b| {
        b.iter(|| {
            let v: Value = serde_json::from_str(black_box(PAYMENT_PARAMS)).unwrap();
            black_box(v);
            serde_json::to_string(black_box(&reply)).unwrap()
        })
    });
    g.bench_function("invoke_json", |b| {
        b.iter_custom(|iters| {
            time_async(&rt, iters, || async {
                dispatcher
                    .invoke_json(&app, "requestPayment", PAYMENT_PARAMS)
                    .await
                    .to_json_string()
            })
        })
    });
    g.finish();
}

/// The hex encoder of src/openserver (`to_hex`), copied: the baseline must
/// do what the code path does to make a code, no more and no less.
fn table_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for chunk in bytes.chunks(32) {
        let mut buf = [0u8; 64];
        for (pair, &byte) in buf.chunks_exact_mut(2).zip(chunk) {
            pair[0] = DIGITS[usize::from(byte >> 4)];
            pair[1] = DIGITS[usize::from(byte & 0x0f)];
        }
        out.push_str(std::str::from_utf8(&buf[..chunk.len() * 2]).unwrap_or_default());
    }
    out
}

/// An embedded platform with one app and one user, on a manual clock the
/// benches move so expired codes are swept as they would be in a day's run.
/// One user logs in hundreds of thousands of times here: the per-user code
/// quota (1,000 by default) is raised so that what is measured is the
/// login, not the refusal; the per-app cap stays.
fn platform() -> (OpenServer, ManualClock) {
    let clock = ManualClock::new();
    let mut config = OpenServerConfig::default();
    config.rate_limit_per_minute = u32::MAX;
    // One user logs in over and over: the per-user quota (1,000
    // outstanding codes) would stop the bench, not a server.
    config.max_outstanding_codes_per_user = usize::MAX;
    let server = OpenServer::builder()
        .clock(clock.clone())
        .config(config)
        .build();
    server
        .register_app(AppRegistration::new(
            "wx-bench",
            AppSecret::new("s"),
            "team",
        ))
        .unwrap();
    server.add_user(SuperappUser::new("u-bench")).unwrap();
    (server, clock)
}

/// A login that must succeed: a bench of failing calls measures nothing.
async fn logged_in(reply: impl std::future::Future<Output = Reply>) -> Reply {
    let reply = reply.await;
    assert!(reply.is_ok(), "{reply:?}");
    reply
}

/// Time moves 200 s per sample, and per 2^17 logins within one thread, and
/// each move is followed by a sweep (the server's background sweeper runs
/// on a real-time interval, which a bench of a few seconds never reaches):
/// codes expire about two samples after they are issued, and each sweep
/// removes a fraction of them, as a server's minute-by-minute sweep does.
/// (Expiring everything at once would have every sample shrink the code
/// tables to nothing and grow them again: a cost no server pays.) Memory
/// stays bounded well under the per-app cap. The sweeps within a sample
/// are inside its timing.
const STEP: Duration = Duration::from_secs(200);

fn next_sample(server: &OpenServer, clock: &ManualClock) {
    clock.advance(STEP);
    server.sweep();
}

fn tick(server: &OpenServer, clock: &ManualClock, i: u64) {
    if i & 0x1FFFF == 0 {
        clock.advance(STEP);
        server.sweep();
    }
}

fn login(c: &mut Criterion) {
    let rt = runtime();
    let (server, clock) = platform();
    let dispatcher = Dispatcher::builder(TrivialHost)
        .platform(server.clone())
        .default_version(ApiVersion::V2)
        .build();
    let app = AppInfo::new("wx-bench");

    let mut g = c.benchmark_group("login_v2");
    // The code path's own way to make a code: 16 bytes from the thread's
    // CSPRNG, hex with the same table encoder as src/openserver.
    g.bench_function("baseline_random_hex", |b| {
        b.iter(|| {
            let mut bytes = [0u8; 16];
            rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
            table_hex(&bytes)
        })
    });
    // The conventional way (`hex::encode`), for comparison.
    g.bench_function("baseline_hex_encode", |b| {
        b.iter(|| {
            let mut bytes = [0u8; 16];
            rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
            hex::encode(bytes)
        })
    });
    g.bench_function("invoke_login", |b| {
        b.iter_custom(|iters| {
            next_sample(&server, &clock);
            let mut i = 0;
            time_async(&rt, iters, || {
                i += 1;
                tick(&server, &clock, i);
                logged_in(dispatcher.invoke(&app, "login", Value::Null))
            })
        })
    });
    g.finish();
}

fn checksession(c: &mut Criterion) {
    let rt = runtime();
    let (server, _clock) = platform();
    let app = AppInfo::new("wx-bench");
    let request = rt.block_on(async {
        let code = server
            .issue_login_code(&app, &Principal::Uid("u-bench".into()))
            .await
            .unwrap();
        let s = server
            .jscode2session(&Jscode2SessionRequest::new(
                "wx-bench",
                AppSecret::new("s"),
                code,
            ))
            .await
            .expect("a login the bench relies on");
        let t = server
            .token(&TokenRequest::new("wx-bench", AppSecret::new("s")))
            .await
            .expect("a login the bench relies on");
        let mac = Hmac::<sha2::Sha256>::new_from_slice(s.session_key.secret().as_bytes()).unwrap();
        let signature = hex::encode(mac.finalize().into_bytes());
        (
            CheckSessionRequest::new(t.access_token.unwrap(), s.openid, signature),
            s.session_key,
        )
    });
    let (request, session_key) = request;
    assert_eq!(
        rt.block_on(server.checksession(&request))
            .map(|r| r.errcode),
        Ok(0)
    );

    let mut g = c.benchmark_group("checksession");
    g.bench_function("baseline_raw_hmac", |b| {
        b.iter(|| {
            let mut mac =
                Hmac::<sha2::Sha256>::new_from_slice(black_box(session_key.secret()).as_bytes())
                    .unwrap();
            mac.update(b"");
            mac.finalize().into_bytes()
        })
    });
    g.bench_function("checksession", |b| {
        b.iter_custom(|iters| time_async(&rt, iters, || server.checksession(&request)))
    });
    g.finish();
}

/// A host whose logged-in user is fixed: one per worker thread.
struct UserHost(String);

impl OpenApiHandler for UserHost {
    fn app_uid(&self, _app: &AppInfo) -> Option<String> {
        Some(self.0.clone())
    }
}

/// Login throughput: `iters` logins on one thread, against the same number
/// split over two threads — two host workers, each with its own runtime and
/// user, sharing one platform. Reported as wall time per login.
fn concurrent_logins(c: &mut Criterion) {
    let (server, clock) = platform();
    for t in 0..2 {
        server
            .add_user(SuperappUser::new(format!("u-bench-{t}")))
            .unwrap();
    }
    let run = |threads: u64, iters: u64| {
        next_sample(&server, &clock);
        let start = Instant::now();
        std::thread::scope(|s| {
            for t in 0..threads {
                let dispatcher = Dispatcher::builder(UserHost(format!("u-bench-{t}")))
                    .platform(server.clone())
                    .default_version(ApiVersion::V2)
                    .build();
                let (server, clock) = (server.clone(), clock.clone());
                s.spawn(move || {
                    let app = AppInfo::new("wx-bench");
                    let rt = runtime();
                    let mut i = 0;
                    time_async(&rt, iters / threads, || {
                        i += 1;
                        tick(&server, &clock, i);
                        logged_in(dispatcher.invoke(&app, "login", Value::Null))
                    });
                });
            }
        });
        start.elapsed()
    };
    let mut g = c.benchmark_group("login_threads");
    g.bench_function("baseline_one_thread", |b| {
        b.iter_custom(|iters| run(1, iters.max(2)))
    });
    g.bench_function("two_threads", |b| {
        b.iter_custom(|iters| run(2, iters.max(2)))
    });
    g.finish();
}

/// The four dispatchers of issue 18's rows: requestPayment unguarded and
/// guarded (granted), and a custom API beside a v1 method.
struct ConsentRows {
    plain: Dispatcher,
    guarded: Dispatcher,
    custom: Dispatcher,
}

fn consent_rows(rt: &Runtime, app: &AppInfo, params: &Value) -> ConsentRows {
    let scope: ScopeName = "scope.userInfo".parse().unwrap();
    let plain = Dispatcher::builder(TrivialHost).build();
    let guarded = Dispatcher::builder(TrivialHost)
        .guard(OpenApi::RequestPayment, scope.clone())
        .build();
    // TrivialHost's app_uid is the user the answer is stored for.
    rt.block_on(
        guarded
            .consent()
            .set("u-bench", "wx-bench", &scope, ConsentState::Granted),
    )
    .unwrap();
    assert!(
        rt.block_on(guarded.invoke(app, "requestPayment", params.clone()))
            .is_ok()
    );
    let custom = Dispatcher::builder(TrivialHost)
        .custom_api(CustomApi::new(
            "myPayment",
            |_app: AppInfo, _params: JsonObject, _states: StateSender| async {
                Ok(payment_result())
            },
        ))
        .try_build()
        .unwrap();
    ConsentRows {
        plain,
        guarded,
        custom,
    }
}

/// A granted, scope-guarded API against the same API unguarded; a custom
/// API against the same answer from a v1 method (issue 18).
fn consent_and_custom(c: &mut Criterion) {
    let rt = runtime();
    let app = AppInfo::new("wx-bench");
    let params: Value = serde_json::from_str(PAYMENT_PARAMS).unwrap();
    let ConsentRows {
        plain,
        guarded,
        custom,
    } = consent_rows(&rt, &app, &params);

    let mut g = c.benchmark_group("consent_guard");
    g.bench_function("baseline_unguarded", |b| {
        b.iter_custom(|iters| {
            time_async(&rt, iters, || {
                plain.invoke(&app, "requestPayment", params.clone())
            })
        })
    });
    g.bench_function("granted_guarded", |b| {
        b.iter_custom(|iters| {
            time_async(&rt, iters, || {
                guarded.invoke(&app, "requestPayment", params.clone())
            })
        })
    });
    g.finish();

    let mut g = c.benchmark_group("custom_api");
    g.bench_function("baseline_v1_method", |b| {
        b.iter_custom(|iters| {
            time_async(&rt, iters, || {
                custom.invoke(&app, "requestPayment", params.clone())
            })
        })
    });
    g.bench_function("custom_api", |b| {
        b.iter_custom(|iters| {
            time_async(&rt, iters, || {
                custom.invoke(&app, "myPayment", params.clone())
            })
        })
    });
    g.finish();
}

/// `DISPATCH_CALLGRIND=<direct|plain|guarded|v1|custom> DISPATCH_CALLGRIND_N=<n>`:
/// makes `n` calls of one row's side and exits (`direct`: row 1's
/// baseline, `plain`: its measured side), for instruction counts
/// under `valgrind --tool=callgrind` (BENCHMARKS.md: the difference
/// between n = 20,000 and n = 0, divided by 20,000).
fn callgrind_driver(which: &str) {
    let n: u64 = std::env::var("DISPATCH_CALLGRIND_N")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(20_000);
    let rt = runtime();
    let app = AppInfo::new("wx-bench");
    let params: Value = serde_json::from_str(PAYMENT_PARAMS).unwrap();
    let rows = consent_rows(&rt, &app, &params);
    if which == "direct" {
        let params_object = params.as_object().unwrap().clone();
        time_async(&rt, n, || direct_call(&TrivialHost, &app, &params_object));
        return;
    }
    let (dispatcher, api) = match which {
        "plain" => (&rows.plain, "requestPayment"),
        "guarded" => (&rows.guarded, "requestPayment"),
        "v1" => (&rows.custom, "requestPayment"),
        "custom" => (&rows.custom, "myPayment"),
        other => panic!("DISPATCH_CALLGRIND={other}: direct, plain, guarded, v1 or custom"),
    };
    time_async(&rt, n, || dispatcher.invoke(&app, api, params.clone()));
}

fn main() {
    if let Ok(which) = std::env::var("DISPATCH_CALLGRIND") {
        callgrind_driver(&which);
        return;
    }
    let mut c = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args();
    dispatch_overhead(&mut c);
    consent_and_custom(&mut c);
    login(&mut c);
    checksession(&mut c);
    concurrent_logins(&mut c);
    c.final_summary();
    ratios::report(&[
        Row {
            what: "invoke, v1, params already an object",
            group: "dispatch_v1",
            measured: "invoke",
            baseline: "baseline_direct_call",
            target: Target::MaxTimeRatio(1.5),
        },
        Row {
            what: "invoke from the raw params string",
            group: "dispatch_json",
            measured: "invoke_json",
            baseline: "baseline_parse_and_serialize",
            target: Target::MaxTimeRatio(1.3),
        },
        Row {
            what: "invoke of a granted, scope-guarded API vs unguarded",
            group: "consent_guard",
            measured: "granted_guarded",
            baseline: "baseline_unguarded",
            target: Target::MaxTimeRatio(1.1),
        },
        Row {
            what: "invoke of a custom API vs a v1 method",
            group: "custom_api",
            measured: "custom_api",
            baseline: "baseline_v1_method",
            target: Target::MaxTimeRatio(1.1),
        },
        Row {
            what: "v2 wx.login in-process",
            group: "login_v2",
            measured: "invoke_login",
            baseline: "baseline_random_hex",
            target: Target::MaxTimeRatio(5.0),
        },
        Row {
            what: "v2 wx.login in-process (against hex::encode)",
            group: "login_v2",
            measured: "invoke_login",
            baseline: "baseline_hex_encode",
            target: Target::MaxTimeRatio(5.0),
        },
        Row {
            what: "checksession verification",
            group: "checksession",
            measured: "checksession",
            baseline: "baseline_raw_hmac",
            target: Target::MaxTimeRatio(1.5),
        },
        Row {
            what: "login throughput, 2 threads vs 1",
            group: "login_threads",
            measured: "two_threads",
            baseline: "baseline_one_thread",
            target: Target::MinThroughputRatio(1.7),
        },
    ]);
}
