//! What both HTTP clients share: one reqwest client, a timeout, answers read
//! up to a cap and parsed into the API's typed wire structs, and errors
//! stripped of URLs (query strings carry secrets).

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::app::json_type;
use crate::openserver::{ApiResponse, OpenServerError};
use crate::platform::TransportError;

/// The largest answer read: the API's answers are a few hundred bytes.
const MAX_RESPONSE_BYTES: usize = 1 << 20;

/// Which certificate authorities an https client trusts: the platform's
/// roots (the OS store), plus any CA given in PEM (feature `rustls`;
/// without it the clients speak plain http only).
#[derive(Clone, Default)]
pub(crate) struct TlsRoots {
    #[cfg(feature = "rustls")]
    extra_pem: Vec<Vec<u8>>,
}

impl TlsRoots {
    /// Trusts the CA (or CAs) in `pem` too.
    #[cfg(feature = "rustls")]
    pub(crate) fn add_pem(&mut self, pem: Vec<u8>) {
        self.extra_pem.push(pem);
    }

    #[cfg_attr(not(feature = "rustls"), allow(clippy::unnecessary_wraps))]
    fn apply(
        &self,
        builder: reqwest::ClientBuilder,
    ) -> Result<reqwest::ClientBuilder, reqwest::Error> {
        #[cfg(feature = "rustls")]
        {
            let mut builder = builder;
            for pem in &self.extra_pem {
                for cert in reqwest::Certificate::from_pem_bundle(pem)? {
                    builder = builder.add_root_certificate(cert);
                }
            }
            Ok(builder)
        }
        #[cfg(not(feature = "rustls"))]
        Ok(builder)
    }
}

/// How a request failed.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The platform answered with an error code.
    Api(OpenServerError),
    /// The request did not complete within the timeout.
    Timeout,
    /// No connection, or it broke while sending (reqwest's error, the URL
    /// stripped).
    Unreachable(TransportError),
    /// An answer that is not the API's JSON.
    BadResponse(String),
}

pub(crate) struct Transport {
    /// The client, or why it could not be built (then every call is
    /// `Unreachable`, rather than a panic at construction).
    client: Result<reqwest::Client, TransportError>,
    base_url: String,
    timeout: Duration,
}

impl Transport {
    pub(crate) fn new(base_url: &str, timeout: Duration, tls: &TlsRoots) -> Transport {
        Transport {
            client: tls
                .apply(reqwest::Client::builder())
                .and_then(reqwest::ClientBuilder::build)
                .map_err(|e| -> TransportError { Arc::new(e.without_url()) }),
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

    fn client(&self) -> Result<&reqwest::Client, Failure> {
        self.client
            .as_ref()
            .map_err(|e| Failure::Unreachable(e.clone()))
    }

    /// `GET base_url + path ? query`, answered with `T`.
    pub(crate) async fn get<T: DeserializeOwned + ApiResponse>(
        &self,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<T, Failure> {
        let url = format!("{}{path}", self.base_url);
        self.send(self.client()?.get(url).query(query)).await
    }

    /// `POST base_url + path` with a JSON body and, optionally, a bearer
    /// key, answered with `T`.
    pub(crate) async fn post<T: DeserializeOwned + ApiResponse>(
        &self,
        path: &str,
        bearer: Option<&str>,
        body: &impl Serialize,
    ) -> Result<T, Failure> {
        let url = format!("{}{path}", self.base_url);
        let mut request = self.client()?.post(url).json(body);
        if let Some(key) = bearer {
            request = request.bearer_auth(key);
        }
        self.send(request).await
    }

    /// Sends, reads the answer up to the cap, and parses it: an answer
    /// with `errcode` ≠ 0 is [`Failure::Api`].
    async fn send<T: DeserializeOwned + ApiResponse>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<T, Failure> {
        let mut response = request
            .timeout(self.timeout)
            .send()
            .await
            .map_err(from_reqwest)?;
        let status = response.status();
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(from_reqwest)? {
            if bytes.len() + chunk.len() > MAX_RESPONSE_BYTES {
                return Err(Failure::BadResponse(format!(
                    "the answer is larger than {MAX_RESPONSE_BYTES} bytes"
                )));
            }
            bytes.extend_from_slice(&chunk);
        }
        if !status.is_success() {
            return Err(Failure::BadResponse(not_success(status, &bytes)));
        }
        match serde_json::from_slice::<T>(&bytes) {
            Ok(answer) if answer.errcode() != 0 => Err(Failure::Api(
                OpenServerError::from_wire(answer.errcode(), answer.errmsg())
                    .with_request_id(answer.request_id()),
            )),
            Ok(answer) => Ok(answer),
            Err(err) => Err(Failure::BadResponse(not_the_api(&response, &bytes, &err))),
        }
    }
}

/// Why a non-2xx answer is refused: the status and, when the body has one,
/// the platform's message; never the rest of the body.
fn not_success(status: reqwest::StatusCode, bytes: &[u8]) -> String {
    let errmsg = serde_json::from_slice::<Value>(bytes).ok().and_then(|v| {
        v.get("errmsg")
            .and_then(Value::as_str)
            .map(|m| m.chars().take(200).collect::<String>())
    });
    match errmsg {
        Some(errmsg) => format!("HTTP {status}: {errmsg}"),
        None => format!("HTTP {status}"),
    }
}

/// Why a 2xx answer is not the API's: not JSON, not an object, or a field
/// of the wrong type (serde names it).
fn not_the_api(response: &reqwest::Response, bytes: &[u8], err: &serde_json::Error) -> String {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(_)) => format!("the answer does not have the API's form: {err}"),
        Ok(other) => format!("the answer is {}, not a JSON object", json_type(&other)),
        Err(_) => {
            let content_type = response
                .headers()
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.chars().take(64).collect::<String>())
                .unwrap_or_else(|| "none".to_owned());
            format!(
                "the answer is not JSON (HTTP {}, Content-Type {content_type})",
                response.status()
            )
        }
    }
}

/// A reqwest failure, without the URL (its query string may hold an app
/// secret, a login code or an access token).
fn from_reqwest(err: reqwest::Error) -> Failure {
    if err.is_timeout() {
        Failure::Timeout
    } else if err.is_body() || err.is_decode() {
        Failure::BadResponse(crate::platform::chain(&err.without_url()))
    } else {
        Failure::Unreachable(Arc::new(err.without_url()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::openserver::StatusResponse;

    #[tokio::test]
    async fn an_invalid_base_url_is_an_error_not_a_panic() {
        let t = Transport::new("not a url", Duration::from_secs(1), &TlsRoots::default());
        let err = t
            .get::<StatusResponse>("/x", &[("secret", "s3cr3t")])
            .await
            .err();
        match err {
            Some(Failure::Unreachable(why)) => {
                let why = crate::platform::chain(&*why);
                assert!(!why.contains("s3cr3t"), "{why}");
            }
            other => panic!("expected Unreachable, got {other:?}"),
        }
    }
}
