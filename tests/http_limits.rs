//! The server's limits over real loopback sockets: a half-sent request and
//! an idle keep-alive connection are closed after the header-read timeout,
//! a stalled body is answered `10002` after the body-read timeout, the
//! connection cap pauses accepting, shutdown lets a request in flight finish
//! and gives up on a stalled one at its deadline, and what the HTTP parser
//! refuses is logged.
//!
//! The clock is paused and only moves when a test says so
//! (`tokio::time::advance`). The client is a plain non-blocking std socket,
//! and the server runs in between through [`settle`], which yields to it
//! without ever letting the runtime park: a parked runtime with a paused
//! clock jumps to the next timer even while bytes are still on their way
//! (tokio's auto-advance), which would fire the very timeouts under test at
//! the wrong moment.
//!
//! Every test captures the logs, whether it reads them or not: tracing
//! caches per call site whether anyone listens, and a test running without
//! a subscriber while another registers its own can leave a call site
//! cached as unheard (as `tests/http_logs.rs` notes).
#![cfg(feature = "http")]

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use superapp_openapi::OpenServer;
use superapp_openapi::http::{HttpConfig, ServerLimits, router, serve_with_limits};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::advance;

const MS: Duration = Duration::from_millis(1);
const TOKEN: &str = "/openserver/cgi-bin/token?appid=wx1&secret=s&grant_type=client_credential";
const PHONE: &str = "/openserver/wxa/business/getuserphonenumber";

/// Yields to the server often enough for it to finish whatever it can do
/// without the clock moving: accept, read, route, answer, close. Each yield
/// polls the sockets once; a yield never lets the paused clock advance.
async fn settle() {
    for _ in 0..200 {
        tokio::task::yield_now().await;
    }
}

/// What the server logs, on this (current-thread) runtime.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    /// Captures every event at `debug` and above until the guard drops.
    fn capture() -> (Logs, tracing::subscriber::DefaultGuard) {
        let logs = Logs::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        (logs, tracing::subscriber::set_default(subscriber))
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// `serve_with_limits` on a spawned task, over an `OpenServer` with no app.
struct Server {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<io::Result<()>>,
}

impl Server {
    fn start(limits: ServerLimits) -> Server {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let listener = tokio::net::TcpListener::from_std(listener).unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let app = router(OpenServer::new(), HttpConfig::new());
        let task = tokio::spawn(serve_with_limits(listener, app, limits, async {
            let _ = stopped.await;
        }));
        Server {
            addr,
            stop: Some(stop),
            task,
        }
    }

    fn connect(&self) -> Client {
        Client::connect(self.addr)
    }

    /// Sends the shutdown signal.
    fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    /// Whether `serve_with_limits` has returned, and returned `Ok`.
    async fn has_returned(&mut self) -> bool {
        if !self.task.is_finished() {
            return false;
        }
        (&mut self.task).await.unwrap().unwrap();
        true
    }
}

/// A raw HTTP/1.1 client on a non-blocking socket: it never waits, the
/// test decides when the server runs ([`settle`]) and when time passes.
struct Client {
    stream: TcpStream,
    received: Vec<u8>,
    closed: bool,
}

impl Client {
    fn connect(addr: SocketAddr) -> Client {
        // A loopback connect completes in the kernel's backlog, accepted or
        // not, so this blocking call returns at once.
        let stream = TcpStream::connect(addr).unwrap();
        stream.set_nonblocking(true).unwrap();
        Client {
            stream,
            received: Vec::new(),
            closed: false,
        }
    }

    fn peer_name(&self) -> String {
        self.stream.local_addr().unwrap().to_string()
    }

    /// Writes all of `bytes`, letting the server read when the socket's
    /// buffer is full.
    async fn send(&mut self, bytes: &[u8]) {
        let mut rest = bytes;
        while !rest.is_empty() {
            match self.stream.write(rest) {
                Ok(n) => rest = &rest[n..],
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => settle().await,
                Err(e) => panic!("writing to the server: {e}"),
            }
        }
    }

    /// Reads whatever has arrived; notes when the server closed (EOF, or a
    /// reset).
    fn read_arrived(&mut self) {
        let mut buf = [0u8; 16 * 1024];
        while !self.closed {
            match self.stream.read(&mut buf) {
                Ok(0) => self.closed = true,
                Ok(n) => self.received.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(_) => self.closed = true,
            }
        }
    }

    /// Lets the server run, then reads what it sent.
    async fn settle(&mut self) {
        settle().await;
        self.read_arrived();
    }

    /// The first complete answer, once the server has run; `None` when
    /// none has arrived.
    async fn answer(&mut self) -> Option<Answer> {
        self.settle().await;
        Answer::parse(&self.received)
    }

    fn received_text(&self) -> String {
        String::from_utf8_lossy(&self.received).into_owned()
    }
}

/// One HTTP response, parsed from the raw bytes.
#[derive(Debug)]
struct Answer {
    status: u16,
    head: String,
    body: String,
}

impl Answer {
    /// The first final response in `bytes` (an interim `100 Continue`
    /// skipped), once all of it has arrived: its head and `Content-Length`
    /// bytes of body (none without the header, as in hyper's own answers).
    fn parse(bytes: &[u8]) -> Option<Answer> {
        let mut rest = bytes;
        loop {
            let end = rest.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
            let head = String::from_utf8_lossy(&rest[..end]).into_owned();
            let status: u16 = head.get(9..12)?.parse().ok()?;
            if status == 100 {
                rest = &rest[end..];
                continue;
            }
            let length = head
                .lines()
                .find_map(|line| {
                    let (name, value) = line.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse::<usize>().ok())?
                })
                .unwrap_or(0);
            let body = rest.get(end..end + length)?;
            return Some(Answer {
                status,
                head,
                body: String::from_utf8_lossy(body).into_owned(),
            });
        }
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {self:?}"))
    }
}

/// A POST head for the phone route announcing a 100-byte JSON body.
fn phone_head(expect_continue: bool) -> String {
    format!(
        "POST {PHONE} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: 100\r\n{}\r\n",
        if expect_continue {
            "Expect: 100-continue\r\n"
        } else {
            ""
        }
    )
}

/// Exactly 100 bytes of JSON body for [`phone_head`].
fn phone_body() -> String {
    let start = r#"{"access_token":"t","openid":"o","code":"c","pad":""#;
    let end = r#""}"#;
    let pad = "x".repeat(100 - start.len() - end.len());
    format!("{start}{pad}{end}")
}

fn get(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n")
}

#[tokio::test(start_paused = true)]
async fn a_half_sent_request_is_closed_after_the_header_read_timeout_and_logged_at_debug() {
    let (logs, _guard) = Logs::capture();
    let timeout = Duration::from_secs(10);
    let server = Server::start(ServerLimits::new().header_read_timeout(timeout));
    let mut client = server.connect();
    client
        .send(b"GET /openserver/cgi-bin/token?appid=wx1 HTTP/1.1\r\nHost: test\r\nX-Half: ")
        .await;

    client.settle().await;
    advance(timeout - MS).await;
    client.settle().await;
    assert!(!client.closed, "closed before the header-read timeout");

    advance(2 * MS).await;
    client.settle().await;
    assert!(client.closed, "still open after the header-read timeout");
    assert!(client.received.is_empty(), "{}", client.received_text());

    let logs = logs.text();
    assert!(logs.contains("no complete request head in time"), "{logs}");
    assert!(logs.contains(&client.peer_name()), "{logs}");
    assert!(!logs.contains("WARN"), "{logs}");
}

#[tokio::test(start_paused = true)]
async fn an_idle_keep_alive_connection_is_closed_after_the_header_read_timeout() {
    let (_logs, _guard) = Logs::capture();
    let timeout = Duration::from_secs(5);
    let server = Server::start(ServerLimits::new().header_read_timeout(timeout));
    let mut client = server.connect();
    client.send(get(TOKEN).as_bytes()).await;
    let answer = client.answer().await.expect("an answer");
    assert_eq!(answer.status, 200, "{answer:?}");
    assert!(!client.closed, "keep-alive: the connection stays open");

    advance(timeout - MS).await;
    client.settle().await;
    assert!(!client.closed, "closed before the timeout");

    advance(2 * MS).await;
    client.settle().await;
    assert!(client.closed, "an idle keep-alive connection stays open");
}

#[tokio::test(start_paused = true)]
async fn a_stalled_body_is_answered_10002_after_the_body_read_timeout() {
    let (_logs, _guard) = Logs::capture();
    let timeout = Duration::from_secs(30);
    let server = Server::start(ServerLimits::new().body_read_timeout(timeout));
    let mut client = server.connect();
    client.send(phone_head(false).as_bytes()).await;
    client.send(&phone_body().as_bytes()[..10]).await;

    client.settle().await;
    advance(timeout - MS).await;
    assert!(
        client.answer().await.is_none(),
        "{}",
        client.received_text()
    );
    assert!(!client.closed);

    advance(2 * MS).await;
    let answer = client
        .answer()
        .await
        .expect("an answer after the body timeout");
    assert_eq!(answer.status, 200, "{answer:?}");
    let json = answer.json();
    assert_eq!(json["errcode"], 10002, "{json}");
    assert_eq!(
        json["errmsg"],
        "invalid param: the request body timed out: the client stopped sending it"
    );
    assert!(client.closed, "the connection is closed after the answer");
}

#[tokio::test(start_paused = true)]
async fn with_two_connections_at_most_a_third_waits_until_one_closes() {
    let (logs, _guard) = Logs::capture();
    let server = Server::start(ServerLimits::new().max_connections(2));
    let mut first = server.connect();
    let mut second = server.connect();
    for client in [&mut first, &mut second] {
        client.send(get(TOKEN).as_bytes()).await;
        assert_eq!(client.answer().await.map(|a| a.status), Some(200));
    }

    let mut third = server.connect();
    third.send(get(TOKEN).as_bytes()).await;
    assert!(third.answer().await.is_none(), "{}", third.received_text());
    assert!(!third.closed);
    assert!(
        logs.text()
            .contains("every connection slot is taken: accepting paused"),
        "{}",
        logs.text()
    );

    drop(first);
    let answer = third.answer().await.expect("served once a slot is free");
    assert_eq!(answer.status, 200, "{answer:?}");
    // The second connection is still served as well.
    second.received.clear();
    second.send(get(TOKEN).as_bytes()).await;
    assert_eq!(second.answer().await.map(|a| a.status), Some(200));
}

#[tokio::test(start_paused = true)]
async fn on_shutdown_a_request_in_flight_finishes_and_new_connections_are_refused() {
    let (_logs, _guard) = Logs::capture();
    let mut server = Server::start(ServerLimits::new());
    let mut client = server.connect();
    client.send(phone_head(true).as_bytes()).await;
    client.settle().await;
    assert!(
        client.received_text().starts_with("HTTP/1.1 100 Continue"),
        "the route is reading the body: {}",
        client.received_text()
    );

    server.stop();
    settle().await;
    assert!(
        !server.has_returned().await,
        "waits for the request in flight"
    );
    assert!(
        TcpStream::connect(server.addr).is_err(),
        "the listener is closed"
    );

    client.send(phone_body().as_bytes()).await;
    let answer = client
        .answer()
        .await
        .expect("the request in flight is answered");
    assert_eq!(answer.status, 200, "{answer:?}");
    let json = answer.json();
    assert!(
        json["errcode"].as_i64().is_some_and(|c| c != 10002),
        "{json}"
    );
    assert!(
        answer
            .head
            .to_ascii_lowercase()
            .contains("connection: close"),
        "{answer:?}"
    );
    settle().await;
    assert!(server.has_returned().await);
}

#[tokio::test(start_paused = true)]
async fn on_shutdown_a_stalled_body_is_dropped_at_the_deadline() {
    let (logs, _guard) = Logs::capture();
    let deadline = Duration::from_secs(10);
    let mut server = Server::start(
        ServerLimits::new()
            .shutdown_deadline(deadline)
            .body_read_timeout(Duration::from_secs(30)),
    );
    let mut client = server.connect();
    client.send(phone_head(true).as_bytes()).await;
    client.settle().await;
    assert!(client.received_text().starts_with("HTTP/1.1 100 Continue"));
    client.send(&phone_body().as_bytes()[..10]).await;
    client.received.clear();

    server.stop();
    settle().await;
    advance(deadline - MS).await;
    client.settle().await;
    assert!(!server.has_returned().await, "returned before the deadline");
    assert!(!client.closed);

    advance(2 * MS).await;
    client.settle().await;
    assert!(
        server.has_returned().await,
        "still serving after the deadline"
    );
    assert!(client.closed, "the stalled connection is dropped");
    assert!(client.received.is_empty(), "{}", client.received_text());
    assert!(
        logs.text().contains("shutdown deadline passed"),
        "{}",
        logs.text()
    );
}

#[tokio::test(start_paused = true)]
async fn requests_the_parser_refuses_get_its_status_and_a_warn_line_without_the_request() {
    let (logs, _guard) = Logs::capture();
    let server = Server::start(ServerLimits::new());
    let too_many_headers = {
        let mut head = String::from("GET / HTTP/1.1\r\nHost: test\r\n");
        for i in 0..120 {
            head.push_str(&format!("X-Secret-Header-{i}: secret-header-value\r\n"));
        }
        head + "\r\n"
    };
    let long_uri = get(&format!(
        "/openserver/cgi-bin/token?secret=secret-in-uri{}",
        "x".repeat(70_000)
    ));
    let bad_version = "GET /?secret-in-line HTTP/9.9\r\n\r\n".to_owned();

    for (request, status) in [(too_many_headers, 431), (long_uri, 414), (bad_version, 400)] {
        let mut client = server.connect();
        client.send(request.as_bytes()).await;
        let answer = client.answer().await.expect("hyper's own answer");
        assert_eq!(answer.status, status, "{answer:?}");
        assert!(answer.body.is_empty(), "hyper's answer has no body");
        assert!(client.closed);
        let logs = logs.text();
        let line = logs
            .lines()
            .find(|l| l.contains(&client.peer_name()))
            .unwrap_or_else(|| panic!("no line names the peer: {logs}"));
        assert!(line.contains("WARN"), "{line}");
        assert!(line.contains(&format!("http.status={status}")), "{line}");
        assert!(line.contains("refused by the HTTP parser"), "{line}");
    }
    let logs = logs.text();
    for secret in ["secret-header-value", "secret-in-uri", "secret-in-line"] {
        assert!(!logs.contains(secret), "{secret} logged: {logs}");
    }
}
