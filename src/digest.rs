//! The crate's one HMAC-SHA256, SHA-256, hex encoder and constant-time
//! comparison: the platform, the HTTP clients and the payment helpers all
//! sign and compare through here.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// An HMAC-SHA256 in progress, for messages signed in parts.
pub(crate) type HmacSha256 = Hmac<Sha256>;

/// An HMAC-SHA256 keyed with `key` (HMAC takes a key of any length).
pub(crate) fn keyed(key: &[u8]) -> HmacSha256 {
    // `new_from_slice` fails only for fixed-length keys, which HMAC is not.
    <HmacSha256 as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!())
}

/// HMAC-SHA256 of `message` under `key`.
pub(crate) fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    hmac_sha256_of(key, [message])
}

/// HMAC-SHA256 under `key` of the concatenation of `parts`.
pub(crate) fn hmac_sha256_of<'a>(
    key: &[u8],
    parts: impl IntoIterator<Item = &'a [u8]>,
) -> [u8; 32] {
    let mut mac = keyed(key);
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// Lower-case hex(HMAC-SHA256(`key`, `message`)): the checksession
/// signature, `paySig` and the user-state signature.
pub(crate) fn hmac_sha256_hex(key: &[u8], message: &[u8]) -> String {
    to_hex(&hmac_sha256(key, message))
}

/// SHA-256 of `bytes`.
pub(crate) fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Whether two secrets are equal, in time that depends on neither value
/// nor length: their SHA-256 digests are compared in constant time.
pub(crate) fn secrets_equal(a: &[u8], b: &[u8]) -> bool {
    sha256(a).ct_eq(&sha256(b)).into()
}

/// Lower-case hex. Written out rather than `hex::encode` (which collects
/// `char`s) or `hex::encode_to_slice` (a `step_by` iterator): at about 400
/// instructions for 16 bytes those were the largest single cost of a login
/// (callgrind, BENCHMARKS.md).
pub(crate) fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for chunk in bytes.chunks(32) {
        let mut buf = [0u8; 64];
        for (pair, &byte) in buf.chunks_exact_mut(2).zip(chunk) {
            pair[0] = DIGITS[usize::from(byte >> 4)];
            pair[1] = DIGITS[usize::from(byte & 0x0f)];
        }
        // Only ASCII digits were written.
        out.push_str(std::str::from_utf8(&buf[..chunk.len() * 2]).unwrap_or_default());
    }
    out
}

/// `N` random bytes from the thread's CSPRNG, as hex.
pub(crate) fn random_hex<const N: usize>() -> String
where
    [u8; N]: Default + AsMut<[u8]>,
{
    let mut bytes = <[u8; N]>::default();
    rand::RngCore::fill_bytes(&mut rand::rng(), bytes.as_mut());
    to_hex(bytes.as_mut())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_of_the_empty_message_matches_the_rfc_4231_style_vector() {
        // Python: hmac.new(b"key", b"", hashlib.sha256).hexdigest()
        assert_eq!(
            hmac_sha256_hex(b"key", b""),
            "5d5d139563c95b5967b9bd9a8c9b233a9dedb45072794cd232dc1b74832607d0"
        );
    }

    #[test]
    fn hex_matches_the_hex_crate() {
        let bytes: Vec<u8> = (0..=255).collect();
        assert_eq!(to_hex(&bytes), hex::encode(&bytes));
    }

    #[test]
    fn secrets_of_different_lengths_are_unequal() {
        assert!(secrets_equal(b"abc", b"abc"));
        assert!(!secrets_equal(b"abc", b"abcd"));
        assert!(!secrets_equal(b"", b"a"));
    }
}
