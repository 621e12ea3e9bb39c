//! Resident memory for 1,000,000 outstanding login codes, and after they
//! expire and are swept (BENCHMARKS.md, last row).
//!
//! `cargo bench --bench memory`. Under `cargo test --benches` it runs a
//! 10,000-code smoke pass instead.

use std::time::{Duration, Instant};

use superapp_openapi::{
    AppInfo, AppSecret, OpenServer,
    openserver::{AppRegistration, ManualClock, SuperappUser},
    platform::Principal,
};

const MIB: f64 = 1024.0 * 1024.0;

/// Resident set size of this process, in bytes (Linux `/proc/self/statm`).
fn rss_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let resident_pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(resident_pages * 4096)
}

fn mib(bytes: Option<u64>) -> String {
    bytes.map_or_else(|| "n/a".into(), |b| format!("{:.1} MiB", b as f64 / MIB))
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let codes: usize = if full { 1_000_000 } else { 10_000 };

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let clock = ManualClock::new();
    let server = OpenServer::builder().clock(clock.clone()).build();
    server
        .register_app(AppRegistration::new("wx-mem", AppSecret::new("s"), "team"))
        .unwrap();
    let users = 1000;
    for u in 0..users {
        server
            .add_user(SuperappUser::new(format!("u-{u}")))
            .unwrap();
    }
    let app = AppInfo::new("wx-mem");
    let principals: Vec<Principal> = (0..users)
        .map(|u| Principal::Uid(format!("u-{u}")))
        .collect();

    let before = rss_bytes();
    let started = Instant::now();
    rt.block_on(async {
        for i in 0..codes {
            let code = server
                .issue_login_code(&app, &principals[i % users])
                .await
                .expect("under the cap");
            std::hint::black_box(code);
        }
    });
    let issued_in = started.elapsed();
    assert_eq!(server.outstanding_codes(), codes);
    let loaded = rss_bytes();

    clock.advance(Duration::from_secs(301));
    let report = server.sweep();
    assert_eq!(report.login_codes, codes);
    let swept = rss_bytes();

    println!(
        "outstanding login codes: {codes} ({} users), issued in {issued_in:.2?}",
        users
    );
    println!("resident before: {}", mib(before));
    println!("resident with the codes outstanding: {}", mib(loaded));
    println!("resident after expiry and sweep: {}", mib(swept));
    if full {
        let loaded_ok = loaded.is_some_and(|b| b as f64 / MIB <= 64.0);
        let swept_ok = swept.is_some_and(|b| b as f64 / MIB < 32.0);
        println!("\n| what | measured | target | |");
        println!("|---|---|---|---|");
        println!(
            "| resident memory, 1,000,000 outstanding codes | {} | <= 64 MiB | {} |",
            mib(loaded),
            if loaded_ok { "met" } else { "MISSED" }
        );
        println!(
            "| resident memory after expiry and sweep | {} | < 32 MiB | {} |",
            mib(swept),
            if swept_ok { "met" } else { "MISSED" }
        );
    }
}
