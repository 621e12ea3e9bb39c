//! The config's `directory` section: the super-app server the platform asks
//! about users (docs/superapp-server.md), instead of the config's `users`.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use superapp_openapi::superapp::{
    DEFAULT_DIRECTORY_TIMEOUT, DEFAULT_MAX_RESPONSE_BYTES, HttpDirectory, PathFamily, SecretKey,
    SignatureMode, SnapSigner,
};

/// The longest `timeout_ms`: a minute (the platform's callers wait on it).
const MAX_TIMEOUT_MS: u64 = 60_000;

/// The console's SecretKey as written in the config; `Debug` hides it.
#[derive(Deserialize)]
#[serde(transparent)]
pub(crate) struct KeyText(String);

impl fmt::Debug for KeyText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// `{"url", "secret_key", "signature", "paths", "timeout_ms", "client_key",
/// "private_key", "max_response_bytes", "profile_cache"}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DirectorySection {
    /// The super-app server's base URL.
    pub(crate) url: String,
    /// The console's SecretKey: 16, 24 or 32 characters.
    pub(crate) secret_key: KeyText,
    /// `aes-ecb` (default) or `aes-cbc`.
    #[serde(default)]
    pub(crate) signature: Option<String>,
    /// `2025-01-08`, `2025-04-25` or `2025-12-05` (default).
    #[serde(default)]
    pub(crate) paths: Option<String>,
    /// Each call's timeout, 1 to 60000 ms (default 5000).
    #[serde(default)]
    pub(crate) timeout_ms: Option<u64>,
    /// The platform's client id for `/access_token/b2b2c` (v3).
    #[serde(default)]
    pub(crate) client_key: Option<String>,
    /// The platform's RSA private key, a PEM file (relative to the config's
    /// folder), for `/access_token/b2b2c` (v3).
    #[serde(default)]
    pub(crate) private_key: Option<PathBuf>,
    /// The largest answer read (default 64 KiB).
    #[serde(default)]
    pub(crate) max_response_bytes: Option<usize>,
    /// Nickname and avatar cache (off unless given).
    #[serde(default)]
    pub(crate) profile_cache: Option<ProfileCacheSection>,
}

/// `{"capacity", "ttl_secs"}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProfileCacheSection {
    capacity: usize,
    ttl_secs: u64,
}

impl DirectorySection {
    /// The directory the section describes; what is wrong otherwise, naming
    /// the key and what is allowed. `base` is the config file's folder.
    pub(crate) fn build(&self, base: &Path) -> Result<HttpDirectory, String> {
        if !(self.url.starts_with("http://") || self.url.starts_with("https://")) {
            return Err(format!(
                "directory.url {:?}: use an http:// or https:// URL",
                self.url
            ));
        }
        let key = SecretKey::new(self.secret_key.0.clone())
            .map_err(|e| format!("directory.secret_key: {e}"))?;
        let signature = match &self.signature {
            None => SignatureMode::default(),
            Some(s) => s
                .parse::<SignatureMode>()
                .map_err(|e| format!("directory.signature: {e}"))?,
        };
        let paths = match &self.paths {
            None => PathFamily::default(),
            Some(p) => p
                .parse::<PathFamily>()
                .map_err(|e| format!("directory.paths: {e}"))?,
        };
        let timeout = match self.timeout_ms {
            None => DEFAULT_DIRECTORY_TIMEOUT,
            Some(ms @ 1..=MAX_TIMEOUT_MS) => Duration::from_millis(ms),
            Some(ms) => {
                return Err(format!(
                    "directory.timeout_ms is {ms}: use 1 to {MAX_TIMEOUT_MS} milliseconds"
                ));
            }
        };
        let max_bytes = match self.max_response_bytes {
            None => DEFAULT_MAX_RESPONSE_BYTES,
            Some(0) => return Err("directory.max_response_bytes must be at least 1".to_owned()),
            Some(n) => n,
        };
        let mut builder = HttpDirectory::builder(&self.url, key)
            .signature(signature)
            .paths(paths)
            .timeout(timeout)
            .max_response_bytes(max_bytes);
        match (&self.client_key, &self.private_key) {
            (Some(client), Some(pem)) if !client.is_empty() => {
                let signer = SnapSigner::from_pem_file(client.clone(), &base.join(pem))
                    .map_err(|e| format!("directory.private_key: {e}"))?;
                builder = builder.snap(signer);
            }
            (None, None) => {}
            _ => {
                return Err(
                    "directory.client_key and directory.private_key go together (v3's /access_token/b2b2c needs both)"
                        .to_owned(),
                );
            }
        }
        if let Some(cache) = &self.profile_cache {
            if cache.capacity == 0 || cache.ttl_secs == 0 {
                return Err(
                    "directory.profile_cache: capacity and ttl_secs must be at least 1".to_owned(),
                );
            }
            builder = builder.profile_cache(cache.capacity, Duration::from_secs(cache.ttl_secs));
        }
        Ok(builder.build())
    }
}
