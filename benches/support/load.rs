//! The in-process HTTP load generator the http and redis benches share:
//! a router served on a loopback port, and `WORKERS` tasks sending a list
//! of GETs.

use std::sync::Arc;
use std::time::{Duration, Instant};

use superapp_openapi::http::serve;

/// Requests in flight.
pub const WORKERS: u64 = 16;

/// Serves `router` on a loopback port the OS chooses; its base URL.
pub async fn listen(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let addr = listener.local_addr().expect("an address");
    tokio::spawn(serve(listener, router, std::future::pending()));
    format!("http://{addr}")
}

/// Sends `urls` from `WORKERS` concurrent tasks and returns the wall time;
/// every answer must be a 200 with errcode 0.
pub async fn drive(client: &reqwest::Client, urls: Vec<String>) -> Duration {
    let urls = Arc::new(urls);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let start = Instant::now();
    let tasks: Vec<_> = (0..WORKERS)
        .map(|_| {
            let (client, urls, next) = (client.clone(), urls.clone(), next.clone());
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(url) = urls.get(i) else { break };
                    let body = client
                        .get(url)
                        .send()
                        .await
                        .expect("an answer")
                        .bytes()
                        .await
                        .expect("a body");
                    assert!(
                        body.starts_with(br#"{"errcode":0"#),
                        "{}",
                        String::from_utf8_lossy(&body)
                    );
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("a worker");
    }
    start.elapsed()
}
