//! Login and phone/email codes: the key (`CodeKey`, the code's 16 random
//! bytes, drawn, parsed and shown as hex) and what a code is for and who it
//! was issued to (the entries of the in-memory code store, packed).
//!
//! A million outstanding codes are a million table buckets (two million,
//! with the table's load factor), so the bucket is kept small: the 16-byte
//! key, then 11 bytes with no alignment of their own — the subject's number
//! in the store's subject table (a code takes no reference count of its
//! own) and 56 bits holding the expiry, the kind and the used flag. 27
//! bytes and a control byte per bucket, instead of 40 and one
//! (BENCHMARKS.md, row 7).

use std::hash::{Hash, Hasher};

use crate::platform::UserCodeKind;

/// What a code is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum CodeKind {
    /// A login code (`js_code`), for jscode2session.
    Login,
    /// A phone/email code, for getuserphonenumber / getemailaddress.
    User(UserCodeKind),
}

/// The latest expiry a code can carry, in the clock's milliseconds (2^53 −
/// 1: some 285,000 years after the Unix epoch). A later one is kept as this.
const EXPIRY_MAX: u64 = (1 << 53) - 1;
const KIND_SHIFT: u32 = 53;
const USED: u64 = 1 << 55;

/// A stored code: its subject's number (bytes 0–3) and one 56-bit word
/// (bytes 4–10) holding its expiry (bits 0–52), kind (bits 53–54) and used
/// flag (bit 55), as little-endian bytes so that the entry has no alignment
/// and its bucket no padding.
#[derive(Clone, Copy)]
pub(crate) struct StoredCode([u8; 11]);

impl StoredCode {
    pub(super) fn new(subject: u32, expires_at: u64, kind: CodeKind) -> Self {
        let kind = match kind {
            CodeKind::Login => 0,
            CodeKind::User(UserCodeKind::PhoneNumber) => 1,
            CodeKind::User(UserCodeKind::Email) => 2,
        };
        let mut bytes = [0u8; 11];
        bytes[..4].copy_from_slice(&subject.to_le_bytes());
        let mut code = StoredCode(bytes);
        code.set_word(expires_at.min(EXPIRY_MAX) | (kind << KIND_SHIFT));
        code
    }

    /// Its subject's number in the store's subject table.
    pub(super) fn subject(self) -> u32 {
        let [a, b, c, d, ..] = self.0;
        u32::from_le_bytes([a, b, c, d])
    }

    fn word(self) -> u64 {
        let mut word = [0u8; 8];
        word[..7].copy_from_slice(&self.0[4..]);
        u64::from_le_bytes(word)
    }

    fn set_word(&mut self, word: u64) {
        self.0[4..].copy_from_slice(&word.to_le_bytes()[..7]);
    }

    /// When it stops being redeemable, in the clock's milliseconds.
    pub(super) fn expires_at(self) -> u64 {
        self.word() & EXPIRY_MAX
    }

    pub(super) fn kind(self) -> CodeKind {
        match (self.word() >> KIND_SHIFT) & 0b11 {
            0 => CodeKind::Login,
            1 => CodeKind::User(UserCodeKind::PhoneNumber),
            _ => CodeKind::User(UserCodeKind::Email),
        }
    }

    /// Whether it was redeemed.
    pub(super) fn used(self) -> bool {
        self.word() & USED != 0
    }

    pub(super) fn mark_used(&mut self) {
        self.set_word(self.word() | USED);
    }
}

/// A code's 16 raw bytes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct CodeKey(pub(crate) [u8; 16]);

impl CodeKey {
    /// A fresh key from the thread's CSPRNG (ChaCha, seeded by the OS).
    pub(crate) fn random() -> CodeKey {
        let mut bytes = [0u8; 16];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
        CodeKey(bytes)
    }

    /// Parses the 32-hex-character form (either case, as `hex` reads it);
    /// anything else is not a code we issued.
    pub(crate) fn parse(text: &str) -> Option<CodeKey> {
        fn nibble(c: u8) -> Option<u8> {
            match c {
                b'0'..=b'9' => Some(c - b'0'),
                b'a'..=b'f' => Some(c - b'a' + 10),
                b'A'..=b'F' => Some(c - b'A' + 10),
                _ => None,
            }
        }
        let text = text.as_bytes();
        if text.len() != 32 {
            return None;
        }
        let mut bytes = [0u8; 16];
        for (byte, pair) in bytes.iter_mut().zip(text.chunks_exact(2)) {
            *byte = (nibble(pair[0])? << 4) | nibble(pair[1])?;
        }
        Some(CodeKey(bytes))
    }

    /// The 32-hex-character form.
    pub(crate) fn to_hex(self) -> String {
        crate::digest::to_hex(&self.0)
    }
}

// Codes are uniformly random and chosen by us, never by a caller, so eight of
// their bytes already are a good hash; SipHash would only cost time.
impl Hash for CodeKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        let mut word = [0u8; 8];
        word.copy_from_slice(&self.0[..8]);
        state.write_u64(u64::from_le_bytes(word));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_and_its_key_fill_27_bytes() {
        assert_eq!(std::mem::size_of::<StoredCode>(), 11);
        assert_eq!(std::mem::align_of::<StoredCode>(), 1);
        assert_eq!(std::mem::size_of::<(CodeKey, StoredCode)>(), 27);
    }

    #[test]
    fn expiry_kind_and_used_round_trip() {
        for kind in [
            CodeKind::Login,
            CodeKind::User(UserCodeKind::PhoneNumber),
            CodeKind::User(UserCodeKind::Email),
        ] {
            for (slot, expires_at) in [
                (0, 0),
                (7, 1),
                (65_536, 1_732_000_000_000),
                (u32::MAX, EXPIRY_MAX),
            ] {
                let mut code = StoredCode::new(slot, expires_at, kind);
                assert_eq!(
                    (code.expires_at(), code.kind(), code.used()),
                    (expires_at, kind, false)
                );
                code.mark_used();
                assert_eq!(
                    (code.expires_at(), code.kind(), code.used()),
                    (expires_at, kind, true)
                );
                assert_eq!(code.subject(), slot);
            }
        }
        assert_eq!(
            StoredCode::new(0, u64::MAX, CodeKind::Login).expires_at(),
            EXPIRY_MAX
        );
    }

    #[test]
    fn a_code_parses_as_the_hex_crate_reads_it() {
        for text in [
            "00112233445566778899aabbccddeeff",
            "00112233445566778899AABBCCDDEEFF",
            "0011223344556677889900aabbccddee",
            "00112233445566778899aabbccddeef",
            "00112233445566778899aabbccddeeff0",
            "0011223344556677889 aabbccddeeff",
            "g0112233445566778899aabbccddeeff",
            "",
            "é0112233445566778899aabbccddeef",
        ] {
            let mut expected = [0u8; 16];
            let expected = hex::decode_to_slice(text, &mut expected)
                .ok()
                .map(|()| expected);
            assert_eq!(CodeKey::parse(text).map(|k| k.0), expected, "{text}");
        }
        let key = CodeKey::random();
        assert_eq!(CodeKey::parse(&key.to_hex()).map(|k| k.0), Some(key.0));
    }
}
