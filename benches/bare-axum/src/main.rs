//! `bare-axum [ADDR]`: the baseline of `benches/http-wrk.sh`. One route,
//! matching every path, answers a fixed errcode JSON with the headers
//! `openserver` sends (`Content-Type: application/json`,
//! `Cache-Control: no-store`). Prints `bare-axum listening on http://ADDR`.

use axum::Router;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::IntoResponse;
use axum::routing::get;

/// The answer of the token error row (`40001`), byte for byte but the requestId.
const BODY: &str = r#"{"errcode":40001,"errmsg":"invalid appsecret","requestId":"0123456789abcdef0123456789abcdef"}"#;

async fn answer() -> impl IntoResponse {
    (
        [(CONTENT_TYPE, "application/json"), (CACHE_CONTROL, "no-store")],
        BODY,
    )
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".to_owned());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("bare-axum listening on http://{}", listener.local_addr()?);
    let app = Router::new().route("/{*path}", get(answer));
    axum::serve(listener, app).await
}
