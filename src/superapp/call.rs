//! One signed request to a super-app server and its answer, read up to a
//! cap: what [`HttpDirectory`](super::HttpDirectory) and the conformance
//! check share. The conventions are `src/http/transport.rs`'s: one reqwest
//! client, a per-request timeout, the body streamed against a cap, and
//! reqwest's errors without their URL.

use std::fmt;
use std::time::Duration;

use serde_json::{Map, Value};

use super::paths::Method;

/// The largest answer read unless configured otherwise: the protocol's
/// answers are a few hundred bytes.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// What came back: the status and the JSON body (any status: the pages'
/// refusals carry an envelope too).
#[derive(Debug, Clone)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) body: Value,
}

/// Why no JSON answer came back.
#[derive(Debug, Clone)]
pub(crate) enum CallFailure {
    /// Nothing within the timeout.
    Timeout(Duration),
    /// No connection, or it broke.
    Unreachable(String),
    /// An answer over the cap.
    TooLarge(usize),
    /// An answer that is not JSON.
    NotJson { status: u16, content_type: String },
}

impl fmt::Display for CallFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallFailure::Timeout(t) => write!(f, "timeout: no answer within {} ms", t.as_millis()),
            CallFailure::Unreachable(why) => write!(f, "unreachable: {why}"),
            CallFailure::TooLarge(cap) => write!(f, "the answer is larger than {cap} bytes"),
            CallFailure::NotJson {
                status,
                content_type,
            } => write!(
                f,
                "the answer is not JSON (HTTP {status}, Content-Type {content_type})"
            ),
        }
    }
}

pub(crate) struct Caller {
    /// The client, or why it could not be built (then every call is
    /// `Unreachable`, rather than a panic at construction).
    client: Result<reqwest::Client, String>,
    base_url: String,
    timeout: Duration,
    max_bytes: usize,
}

impl Caller {
    pub(crate) fn new(base_url: &str, timeout: Duration, max_bytes: usize) -> Caller {
        Caller {
            client: reqwest::Client::builder()
                .build()
                .map_err(|e| crate::platform::chain(&e.without_url())),
            base_url: base_url.trim_end_matches('/').to_owned(),
            timeout,
            max_bytes,
        }
    }

    /// The base URL as it may be shown: any `user:password@` removed.
    pub(crate) fn shown_url(&self) -> String {
        match self.base_url.split_once("://") {
            Some((scheme, rest)) => {
                let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
                let host = authority
                    .rsplit_once('@')
                    .map_or(authority, |(_, host)| host);
                format!("{scheme}://{host}{path}")
            }
            None => self.base_url.clone(),
        }
    }

    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Sends `params` as a JSON body (`POST`) or a query string (`GET`)
    /// with `headers`, and reads the answer.
    pub(crate) async fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        params: &Map<String, Value>,
    ) -> Result<Answer, CallFailure> {
        let client = self
            .client
            .as_ref()
            .map_err(|e| CallFailure::Unreachable(e.clone()))?;
        let url = format!("{}{path}", self.base_url);
        let mut request = match method {
            Method::Post => client.post(url).json(params),
            Method::Get => {
                let query: Vec<(&str, String)> = params
                    .iter()
                    .map(|(k, v)| {
                        (
                            k.as_str(),
                            v.as_str().map_or_else(|| v.to_string(), str::to_owned),
                        )
                    })
                    .collect();
                client.get(url).query(&query)
            }
        };
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        // One deadline for the whole exchange, body included: a server
        // that sends headers and then stalls is a timeout too.
        tokio::time::timeout(self.timeout, self.exchange(request))
            .await
            .unwrap_or(Err(CallFailure::Timeout(self.timeout)))
    }

    async fn exchange(&self, request: reqwest::RequestBuilder) -> Result<Answer, CallFailure> {
        let mut response = request.send().await.map_err(|e| self.failure(e))?;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map_or_else(|| "none".to_owned(), |v| v.chars().take(64).collect());
        if response
            .content_length()
            .is_some_and(|n| n > self.max_bytes as u64)
        {
            return Err(CallFailure::TooLarge(self.max_bytes));
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.failure(e))? {
            if bytes.len() + chunk.len() > self.max_bytes {
                return Err(CallFailure::TooLarge(self.max_bytes));
            }
            bytes.extend_from_slice(&chunk);
        }
        serde_json::from_slice(&bytes)
            .map(|body| Answer { status, body })
            .map_err(|_| CallFailure::NotJson {
                status,
                content_type,
            })
    }

    fn failure(&self, err: reqwest::Error) -> CallFailure {
        if err.is_timeout() {
            CallFailure::Timeout(self.timeout)
        } else {
            CallFailure::Unreachable(crate::platform::chain(&err.without_url()))
        }
    }
}

impl fmt::Debug for Caller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Caller")
            .field("base_url", &self.shown_url())
            .field("timeout", &self.timeout)
            .field("max_bytes", &self.max_bytes)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shown_url_has_no_credentials() {
        let caller = Caller::new(
            "https://ops:hunter2@superapp.example.com/api/",
            Duration::from_secs(1),
            1,
        );
        assert_eq!(caller.shown_url(), "https://superapp.example.com/api");
        assert!(!format!("{caller:?}").contains("hunter2"));
    }
}
