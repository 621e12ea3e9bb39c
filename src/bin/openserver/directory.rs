//! The config's `directory` section: the super-app server the platform asks
//! about users (docs/superapp-server.md), instead of the config's `users`.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use superapp_openapi::superapp::{
    CheckTarget, DEFAULT_DIRECTORY_TIMEOUT, DEFAULT_MAX_RESPONSE_BYTES, HttpDirectory, PathFamily,
    SecretKey, SignatureMode, SnapSigner, TcSigner,
};

/// The longest `timeout_ms`: a minute (the platform's callers wait on it).
const MAX_TIMEOUT_MS: u64 = 60_000;

/// The console's SecretKey as written in the config; `Debug` hides it.
#[derive(Deserialize)]
#[serde(transparent)]
pub(crate) struct KeyText(String);

impl KeyText {
    /// The text itself.
    pub(crate) fn text(&self) -> &str {
        &self.0
    }
}

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

/// The section's values, checked.
struct Checked {
    key: SecretKey,
    signature: SignatureMode,
    paths: PathFamily,
    timeout: Duration,
    max_bytes: usize,
    snap: Option<SnapSigner>,
}

impl DirectorySection {
    /// The values, or what is wrong, naming the key and what is allowed.
    /// `base` is the config file's folder (for `private_key`).
    fn checked(&self, base: &Path) -> Result<Checked, String> {
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
            None | Some(1..=MAX_TIMEOUT_MS) => self.timeout(),
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
        let snap = match (&self.client_key, &self.private_key) {
            (Some(client), Some(pem)) if !client.is_empty() => Some(
                SnapSigner::from_pem_file(client.clone(), &base.join(pem))
                    .map_err(|e| format!("directory.private_key: {e}"))?,
            ),
            (None, None) => None,
            _ => {
                return Err(
                    "directory.client_key and directory.private_key go together (v3's /access_token/b2b2c needs both)"
                        .to_owned(),
                );
            }
        };
        Ok(Checked {
            key,
            signature,
            paths,
            timeout,
            max_bytes,
            snap,
        })
    }

    /// Each call's timeout (checked by [`build`](Self::build)).
    pub(crate) fn timeout(&self) -> Duration {
        self.timeout_ms
            .map_or(DEFAULT_DIRECTORY_TIMEOUT, Duration::from_millis)
    }

    /// The directory the section describes.
    pub(crate) fn build(&self, base: &Path) -> Result<HttpDirectory, String> {
        let checked = self.checked(base)?;
        let mut builder = HttpDirectory::builder(&self.url, checked.key)
            .signature(checked.signature)
            .paths(checked.paths)
            .timeout(checked.timeout)
            .max_response_bytes(checked.max_bytes);
        if let Some(snap) = checked.snap {
            builder = builder.snap(snap);
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

    /// The conformance check's target: the same server, key, mode, family,
    /// timeout and key pair, with `user_id` as the user to ask about.
    pub(crate) fn check_target(&self, base: &Path, user_id: &str) -> Result<CheckTarget, String> {
        let checked = self.checked(base)?;
        let mut target = CheckTarget::new(&self.url, checked.key.clone(), user_id);
        target.signer = TcSigner::new(checked.key, checked.signature);
        target.paths = checked.paths;
        target.timeout = checked.timeout;
        target.snap = checked.snap;
        Ok(target)
    }
}

/// The `playground` section, with a `directory`: `{"superapp_app_id",
/// "accounts": [{"user", "password"}]}`. The playground offers these users,
/// and its demo host logs in at the super-app server as them for v3.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PlaygroundSection {
    /// The super app's `appId`, as the host sends it to `login`.
    pub(crate) superapp_app_id: String,
    /// The users offered, each with the password the host logs in with.
    pub(crate) accounts: Vec<AccountEntry>,
}

/// `{"user", "password"}`; `Debug` hides the password.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AccountEntry {
    pub(crate) user: String,
    pub(crate) password: KeyText,
}

impl PlaygroundSection {
    /// What is wrong with the section, naming the key.
    pub(crate) fn check(&self, directory: Option<&DirectorySection>) -> Result<(), String> {
        if directory.is_none() {
            return Err("playground: only with a directory section (without one, the playground offers the config's users, and the platform issues v3's authCodes)".to_owned());
        }
        if self.superapp_app_id.is_empty() {
            return Err("playground.superapp_app_id must not be empty".to_owned());
        }
        if self.accounts.is_empty() {
            return Err(
                "playground.accounts: list at least one {\"user\", \"password\"}".to_owned(),
            );
        }
        match self
            .accounts
            .iter()
            .position(|a| a.user.is_empty() || a.password.text().is_empty())
        {
            Some(i) => Err(format!(
                "playground.accounts[{i}]: user and password must not be empty"
            )),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(extra: serde_json::Value) -> Result<DirectorySection, String> {
        let mut value =
            serde_json::json!({"url": "http://127.0.0.1:1", "secret_key": "0123456789abcdef"});
        if let (Some(object), serde_json::Value::Object(extra)) = (value.as_object_mut(), extra) {
            object.extend(extra);
        }
        serde_json::from_value(value).map_err(|e| e.to_string())
    }

    fn refused(extra: serde_json::Value) -> String {
        match section(extra) {
            Ok(s) => s.build(Path::new(".")).map(|_| ()).unwrap_err(),
            Err(e) => e,
        }
    }

    #[test]
    fn each_bad_value_is_refused_naming_its_key_and_what_is_allowed() {
        let keys = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/superapp");
        let cases = [
            (
                serde_json::json!({"secret_key": "short"}),
                "directory.secret_key: the secret key has 5 bytes: AES needs 16, 24 or 32",
            ),
            (
                serde_json::json!({"signature": "aes-gcm"}),
                "aes-ecb, aes-cbc",
            ),
            (
                serde_json::json!({"paths": "2024-01-01"}),
                "2025-01-08, 2025-04-25, 2025-12-05",
            ),
            (serde_json::json!({"timeout_ms": 0}), "use 1 to 60000"),
            (serde_json::json!({"url": "ftp://x"}), "http:// or https://"),
            (serde_json::json!({"client_key": "c"}), "go together"),
            (
                serde_json::json!({"client_key": "c", "private_key": "/nonexistent.pem"}),
                "cannot read the key file /nonexistent.pem",
            ),
            (
                serde_json::json!({"client_key": "c", "private_key": format!("{keys}/platform-test-pub.pem")}),
                "PRIVATE KEY",
            ),
            (
                serde_json::json!({"profile_cache": {"capacity": 0, "ttl_secs": 1}}),
                "at least 1",
            ),
            (serde_json::json!({"colour": "blue"}), "unknown field"),
        ];
        for (extra, expected) in cases {
            let why = refused(extra.clone());
            assert!(why.contains(expected), "{extra}: {why}");
        }
    }

    #[test]
    fn a_full_section_builds_and_its_debug_hides_the_key() {
        let keys = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/superapp");
        let s = section(serde_json::json!({
            "signature": "aes-cbc", "paths": "2025-04-25", "timeout_ms": 800,
            "client_key": "platform-client", "private_key": "platform-test-key.pem",
            "profile_cache": {"capacity": 10, "ttl_secs": 30}
        }))
        .unwrap();
        let built = s.build(Path::new(keys)).unwrap();
        assert!(!format!("{s:?}{built:?}").contains("0123456789abcdef"));
        let target = s.check_target(Path::new(keys), "u-1").unwrap();
        assert_eq!(target.paths, PathFamily::V20250425);
        assert!(target.snap.is_some());
    }

    #[test]
    fn a_playground_section_checks_its_accounts_and_its_debug_hides_the_passwords() {
        let parsed: PlaygroundSection = serde_json::from_value(serde_json::json!({
            "superapp_app_id": "superapp",
            "accounts": [{"user": "u-1001", "password": "ada-password-change-me"}]
        }))
        .unwrap();
        assert!(!format!("{parsed:?}").contains("ada-password"));
        let why = parsed.check(None).unwrap_err();
        assert!(why.contains("only with a directory section"), "{why}");
        let directory = section(serde_json::json!({})).unwrap();
        assert_eq!(parsed.check(Some(&directory)), Ok(()));
    }
}
