//! What both HTTP clients share: one reqwest client, a timeout, answers read
//! up to a cap and parsed as a JSON object, and errors stripped of URLs
//! (query strings carry secrets).

use std::fmt::Write as _;
use std::time::Duration;

use serde_json::{Map, Value};

use super::params::json_type;

/// The largest answer read: the API's answers are a few hundred bytes.
const MAX_RESPONSE_BYTES: usize = 1 << 20;

/// How a request failed before the platform's own answer could be read.
#[derive(Debug)]
pub(crate) enum TransportError {
    /// The request did not complete within the timeout.
    Timeout,
    /// No connection, or it broke while sending.
    Unreachable(String),
    /// An answer that is not a JSON object from the platform's API.
    BadResponse(String),
}

pub(crate) struct Transport {
    /// The client, or why it could not be built (then every call is
    /// `Unreachable`, rather than a panic at construction).
    client: Result<reqwest::Client, String>,
    base_url: String,
    timeout: Duration,
}

impl Transport {
    pub(crate) fn new(base_url: &str, timeout: Duration) -> Transport {
        Transport {
            client: reqwest::Client::builder().build().map_err(|e| describe(&e)),
            base_url: base_url.trim_end_matches('/').to_owned(),
            timeout,
        }
    }

    pub(crate) fn base_url(&self) -> &str {
        &self.base_url
    }

    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }

    fn client(&self) -> Result<&reqwest::Client, TransportError> {
        self.client.as_ref().map_err(|e| {
            TransportError::Unreachable(format!("the HTTP client could not be built: {e}"))
        })
    }

    /// `GET base_url + path ? query`.
    pub(crate) async fn get(
        &self,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<Map<String, Value>, TransportError> {
        let url = format!("{}{path}", self.base_url);
        self.send(self.client()?.get(url).query(query)).await
    }

    /// `POST base_url + path` with a JSON body and, optionally, a bearer key.
    pub(crate) async fn post(
        &self,
        path: &str,
        bearer: Option<&str>,
        body: &Value,
    ) -> Result<Map<String, Value>, TransportError> {
        let url = format!("{}{path}", self.base_url);
        let mut request = self.client()?.post(url).json(body);
        if let Some(key) = bearer {
            request = request.bearer_auth(key);
        }
        self.send(request).await
    }

    async fn send(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<Map<String, Value>, TransportError> {
        let mut response = request
            .timeout(self.timeout)
            .send()
            .await
            .map_err(from_reqwest)?;
        let status = response.status();
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.chars().take(64).collect::<String>())
            .unwrap_or_else(|| "none".to_owned());
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(from_reqwest)? {
            if bytes.len() + chunk.len() > MAX_RESPONSE_BYTES {
                return Err(TransportError::BadResponse(format!(
                    "the answer is larger than {MAX_RESPONSE_BYTES} bytes"
                )));
            }
            bytes.extend_from_slice(&chunk);
        }
        let parsed = serde_json::from_slice::<Value>(&bytes);
        if !status.is_success() {
            // Say what the status was and, when the body has one, the
            // platform's message; never echo the rest of the body.
            let errmsg = match &parsed {
                Ok(Value::Object(map)) => map.get("errmsg").and_then(Value::as_str),
                _ => None,
            };
            let mut what = format!("HTTP {status}");
            if let Some(errmsg) = errmsg {
                let _ = write!(what, ": {}", errmsg.chars().take(200).collect::<String>());
            }
            return Err(TransportError::BadResponse(what));
        }
        match parsed {
            Ok(Value::Object(map)) => Ok(map),
            Ok(other) => Err(TransportError::BadResponse(format!(
                "the answer is {}, not a JSON object",
                json_type(&other)
            ))),
            Err(_) => Err(TransportError::BadResponse(format!(
                "the answer is not JSON (HTTP {status}, Content-Type {content_type})"
            ))),
        }
    }
}

fn from_reqwest(err: reqwest::Error) -> TransportError {
    if err.is_timeout() {
        TransportError::Timeout
    } else if err.is_body() || err.is_decode() {
        TransportError::BadResponse(describe(&err))
    } else {
        TransportError::Unreachable(describe(&err))
    }
}

/// The error and its causes, without the URL (its query string may hold an
/// app secret, a login code or an access token).
fn describe(err: &reqwest::Error) -> String {
    let mut text = String::new();
    let mut source: Option<&dyn std::error::Error> = Some(err);
    let mut first = true;
    while let Some(e) = source {
        let message = if first {
            // reqwest's own Display names the URL; say its kind instead.
            kind_of(err).to_owned()
        } else {
            e.to_string()
        };
        if !text.ends_with(&message) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&message);
        }
        first = false;
        source = e.source();
    }
    text
}

fn kind_of(err: &reqwest::Error) -> &'static str {
    if err.is_builder() {
        "invalid request (check the base URL)"
    } else if err.is_connect() {
        "could not connect"
    } else if err.is_timeout() {
        "timed out"
    } else if err.is_body() {
        "error reading the answer's body"
    } else if err.is_decode() {
        "error decoding the answer"
    } else if err.is_request() {
        "error sending the request"
    } else {
        "HTTP error"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_invalid_base_url_is_an_error_not_a_panic() {
        let t = Transport::new("not a url", Duration::from_secs(1));
        let err = t.get("/x", &[("secret", "s3cr3t")]).await.err();
        match err {
            Some(TransportError::Unreachable(why)) => assert!(!why.contains("s3cr3t"), "{why}"),
            other => panic!("expected Unreachable, got {other:?}"),
        }
    }
}
