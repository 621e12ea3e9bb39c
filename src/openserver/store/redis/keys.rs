//! Key names, digests and TTLs.

use crate::digest::{sha256, to_hex};
use crate::openserver::codes::CodeKey;
use crate::openserver::codes::CodeKind;
use crate::platform::UserCodeKind;

/// The key names under the prefix.
pub(super) struct Keys {
    pub(super) prefix: String,
}

impl Keys {
    pub(super) fn key(&self, kind: &str, id: &str) -> String {
        let mut key = String::with_capacity(self.prefix.len() + kind.len() + id.len());
        key.push_str(&self.prefix);
        key.push_str(kind);
        key.push_str(id);
        key
    }

    pub(super) fn code(&self, digest: &str) -> String {
        self.key("code:", digest)
    }

    pub(super) fn user_codes(&self, openid: &str) -> String {
        self.key("user-codes:", openid)
    }

    pub(super) fn app_codes(&self, app_id: &str) -> String {
        self.key("app-codes:", app_id)
    }

    pub(super) fn subject(&self, openid: &str) -> String {
        self.key("subject:", openid)
    }

    pub(super) fn token(&self, digest: &str) -> String {
        self.key("token:", digest)
    }

    pub(super) fn app_tokens(&self, app_id: &str) -> String {
        self.key("app-tokens:", app_id)
    }

    pub(super) fn grant(&self, digest: &str) -> String {
        self.key("grant:", digest)
    }

    pub(super) fn user_grants(&self, user_id: &str) -> String {
        self.key("user-grants:", user_id)
    }
}

/// Hex SHA-256: how a secret appears in Redis.
pub(super) fn digest(secret: &[u8]) -> String {
    to_hex(&sha256(secret))
}

/// A code's digest: of its 32-hex-character form as issued (lower case).
pub(super) fn code_digest(key: CodeKey) -> String {
    digest(key.to_hex().as_bytes())
}

/// The longest TTL the store sets: 100 years, well inside what `PEXPIRE`
/// accepts, for lifetimes configured as good as forever.
pub(super) const MAX_TTL: u64 = 100 * 365 * 24 * 3_600_000;

/// Milliseconds from `now` to `until`, plus `margin`; at least 1, at most
/// [`MAX_TTL`].
pub(super) fn ttl(now: u64, until: u64, margin: u64) -> u64 {
    until
        .saturating_sub(now)
        .saturating_add(margin)
        .clamp(1, MAX_TTL)
}

pub(super) fn kind_name(kind: CodeKind) -> &'static str {
    match kind {
        CodeKind::Login => "login",
        CodeKind::User(UserCodeKind::PhoneNumber) => "phone",
        CodeKind::User(UserCodeKind::Email) => "email",
    }
}
