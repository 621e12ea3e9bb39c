//! Key names, hash tags, digests and TTLs.
//!
//! Every key is `<prefix>{<tag>}:<kind>:<id>`: Redis (and Redis Cluster)
//! hashes only the `{tag}`, so the keys of one operation share a slot. A
//! tag is two hex digits, 256 tags in all, spread over every master:
//!
//! - a user's keys (subject, code quota, codes, rate window) carry the tag
//!   of its openid ([`subject_tag`]); a code carries that tag in its first
//!   byte, so its redeem finds the slot from the code alone;
//! - a token's key carries the tag of the token's own digest, so a token
//!   presented without its appid finds its slot;
//! - an authCode carries its user's tag in its first byte (the user's cap);
//! - an app's token state carries the tag of its appid.
//!
//! One app's users, and so its codes and sessions, spread over all 256
//! tags; only its token bookkeeping (two tokens a day-quota) sits in one.

use crate::digest::{sha256, to_hex};
use crate::openserver::codes::CodeKey;
use crate::openserver::codes::CodeKind;
use crate::platform::UserCodeKind;

/// The key names under the prefix.
pub(super) struct Keys {
    pub(super) prefix: String,
    /// On a Redis Cluster the per-app cap of outstanding codes is counted
    /// per tag (a share of the cap each); on one Redis, by one counter.
    pub(super) sharded_app_cap: bool,
}

/// A tag: two lower-case hex digits.
pub(super) type Tag = [u8; 2];

/// The tag of a byte.
pub(super) fn tag_of(byte: u8) -> Tag {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    [HEX[usize::from(byte >> 4)], HEX[usize::from(byte & 15)]]
}

/// The tag of everything of the user with this openid.
pub(super) fn subject_tag(openid: &str) -> Tag {
    tag_of(crate::openserver::store::tag_byte(openid))
}

/// The tag a code carries (its first byte: its user's).
pub(super) fn code_tag(key: CodeKey) -> Tag {
    tag_of(key.0[0])
}

/// The tag an authCode carries: its first two hex digits, when they are
/// hex (any text is looked up; text that is no code finds nothing).
pub(super) fn grant_tag(code: &str) -> Tag {
    match code.as_bytes() {
        [a, b, ..] if a.is_ascii_hexdigit() && b.is_ascii_hexdigit() => {
            [a.to_ascii_lowercase(), b.to_ascii_lowercase()]
        }
        _ => *b"00",
    }
}

/// The tag of a token's key: of its digest.
pub(super) fn token_tag(digest: &str) -> Tag {
    let d = digest.as_bytes();
    [d[0], d[1]]
}

impl Keys {
    pub(super) fn key(&self, tag: Tag, kind: &str, id: &str) -> String {
        let mut key = String::with_capacity(self.prefix.len() + kind.len() + id.len() + 6);
        key.push_str(&self.prefix);
        key.push('{');
        key.push(char::from(tag[0]));
        key.push(char::from(tag[1]));
        key.push_str("}:");
        key.push_str(kind);
        key.push_str(id);
        key
    }

    pub(super) fn code(&self, key: CodeKey, digest: &str) -> String {
        self.key(code_tag(key), "code:", digest)
    }

    pub(super) fn user_codes(&self, openid: &str) -> String {
        self.key(subject_tag(openid), "user-codes:", openid)
    }

    /// The app's code counter: on one Redis one for the app, on a cluster
    /// one per tag, in the slot of the user's other keys.
    pub(super) fn app_codes(&self, openid: &str, app_id: &str) -> String {
        if self.sharded_app_cap {
            self.key(subject_tag(openid), "app-codes:", app_id)
        } else {
            let mut key = self.prefix.clone();
            key.push_str("app-codes:");
            key.push_str(app_id);
            key
        }
    }

    pub(super) fn subject(&self, openid: &str) -> String {
        self.key(subject_tag(openid), "subject:", openid)
    }

    /// The users' jscode2session counts of one minute, one field per
    /// openid: named by the code's tag and the minute, so a redeem needs
    /// no name read first.
    pub(super) fn rate(&self, tag: Tag, minute: u64) -> String {
        self.key(tag, "rate:", &minute.to_string())
    }

    pub(super) fn token(&self, digest: &str) -> String {
        self.key(token_tag(digest), "token:", digest)
    }

    pub(super) fn app_tokens(&self, app_id: &str) -> String {
        self.key(subject_tag(app_id), "app-tokens:", app_id)
    }

    pub(super) fn grant(&self, code: &str, digest: &str) -> String {
        self.key(grant_tag(code), "grant:", digest)
    }

    /// A user's authCodes, in the slot of the authCodes (which carry its tag).
    pub(super) fn user_grants(&self, tag: Tag, user_id: &str) -> String {
        self.key(tag, "user-grants:", user_id)
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

/// The Redis Cluster slot of a key: CRC16 (XMODEM) of its hash tag, mod
/// 16384 (the cluster specification's `HASH_SLOT`).
pub(super) fn slot(key: &str) -> u16 {
    let bytes = key.as_bytes();
    let hashed = match bytes.iter().position(|&b| b == b'{') {
        Some(open) => match bytes[open + 1..].iter().position(|&b| b == b'}') {
            Some(len) if len > 0 => &bytes[open + 1..open + 1 + len],
            _ => bytes,
        },
        None => bytes,
    };
    let mut crc: u16 = 0;
    for &byte in hashed {
        crc ^= u16::from(byte) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc % 16384
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_the_cluster_specifications() {
        // From the cluster specification: CRC16("123456789") = 0x31C3.
        assert_eq!(slot("123456789"), 0x31C3);
        assert_eq!(slot("a{123456789}b"), slot("123456789"));
        assert_eq!(slot("{}x"), slot("{}x"));
        assert_ne!(slot("{}x"), slot("x"));
    }

    #[test]
    fn the_keys_of_one_user_share_a_slot_and_the_tags_cover_the_slots() {
        let keys = Keys {
            prefix: "superapp:".into(),
            sharded_app_cap: true,
        };
        let openid = "o-some-openid";
        let mut key = CodeKey([7; 16]);
        key.0[0] = crate::openserver::store::tag_byte(openid);
        let s = slot(&keys.subject(openid));
        assert_eq!(slot(&keys.user_codes(openid)), s);
        assert_eq!(slot(&keys.app_codes(openid, "wx-a")), s);
        assert_eq!(slot(&keys.code(key, "d")), s);
        assert_eq!(slot(&keys.rate(code_tag(key), 5)), s);
        // 256 tags over 16384 slots: every third of the slots (three
        // masters, as `redis-cli --cluster create` splits them) holds some.
        let mut thirds = [0; 3];
        for byte in 0..=255u8 {
            let slot = slot(&keys.key(tag_of(byte), "x:", "y"));
            thirds[usize::from(slot) * 3 / 16384] += 1;
        }
        assert!(thirds.iter().all(|&n| n > 50), "{thirds:?}");
    }
}
