//! `TC-Timestamp` / `TC-Signature`: how the platform signs every call to the
//! super-app server, and how that server checks it.
//!
//! TCMPP's "Header Information" page (product 1219/67643) and "Super App
//! Platform Signature & Verification" (1219/74867): `TC-Timestamp` is the
//! time in milliseconds, `TC-Signature` is `hex(AES(timestamp text,
//! SecretKey))` with PKCS#7 padding. The 67643 page of 2025-03-19 shows CBC
//! with the IV taken from the key's first 16 bytes; its 2025-09-23 version
//! and 74867 (2025-12-05) say ECB. [`SignatureMode`] is that one choice,
//! ECB by default. The key is the console's SecretKey as text: 16, 24 or 32
//! bytes for AES-128, -192 or -256 (the pages' example key has 32).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use aes::cipher::block_padding::Pkcs7;
use aes::cipher::{BlockEncryptMut, KeyInit, KeyIvInit};

/// The header carrying the time in milliseconds.
pub const TC_TIMESTAMP: &str = "TC-Timestamp";
/// The header carrying the signature.
pub const TC_SIGNATURE: &str = "TC-Signature";

/// How far a `TC-Timestamp` may be from the receiver's clock, either way,
/// unless configured otherwise. The pages set none; five minutes is the
/// window SNAP and most signed APIs use.
pub const DEFAULT_SIGNATURE_WINDOW: Duration = Duration::from_secs(300);

/// The AES mode of `TC-Signature`.
///
/// ```
/// use superapp_openapi::superapp::SignatureMode;
/// assert_eq!("aes-ecb".parse::<SignatureMode>().unwrap(), SignatureMode::AesEcb);
/// assert_eq!(SignatureMode::default(), SignatureMode::AesEcb);
/// assert!("aes-gcm".parse::<SignatureMode>().unwrap_err().to_string().contains("aes-ecb, aes-cbc"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SignatureMode {
    /// ECB: 67643 since 2025-09-23, and 74867 (2025-12-05). The default.
    #[default]
    AesEcb,
    /// CBC with IV = the key's first 16 bytes: 67643 until 2025-09.
    AesCbc,
}

wire_names!(
    /// Every mode.
    SignatureMode {
        AesEcb => "aes-ecb",
        AesCbc => "aes-cbc",
    }
);

/// A value that names no [`SignatureMode`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown signature {0:?}: the allowed values are aes-ecb, aes-cbc")]
pub struct UnknownSignatureMode(pub String);

impl FromStr for SignatureMode {
    type Err = UnknownSignatureMode;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SignatureMode::ALL
            .into_iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownSignatureMode(s.to_owned()))
    }
}

/// The console's SecretKey: 16, 24 or 32 bytes of text. `Debug` prints
/// `[redacted]`.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKey(Vec<u8>);

/// A SecretKey of a length AES has no key size for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the secret key has {0} bytes: AES needs 16, 24 or 32 (the console's SecretKey, as text)")]
pub struct SecretKeyLength(pub usize);

impl SecretKey {
    /// The key, if its length is one AES takes.
    ///
    /// # Errors
    ///
    /// [`SecretKeyLength`] when it has not 16, 24 or 32 bytes.
    pub fn new(key: impl Into<String>) -> Result<Self, SecretKeyLength> {
        let key = key.into().into_bytes();
        match key.len() {
            16 | 24 | 32 => Ok(SecretKey(key)),
            n => Err(SecretKeyLength(n)),
        }
    }

    /// The key's bytes. Call this only where the key is used.
    pub fn secret(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey([redacted])")
    }
}

/// Why a request's `TC-Timestamp` / `TC-Signature` was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureRefusal {
    /// No `TC-Timestamp` header (or no `X-TIMESTAMP` for SNAP).
    #[error("the {0} header is missing")]
    Missing(&'static str),
    /// A timestamp that is not a number of milliseconds (or not ISO-8601).
    #[error("the {0} header is not a valid timestamp")]
    BadTimestamp(&'static str),
    /// A timestamp further from the receiver's clock than the window.
    #[error(
        "the {header} header is {skew_secs} s from the server's clock (at most {window_secs} s allowed)"
    )]
    Stale {
        /// The header.
        header: &'static str,
        /// How far off, in whole seconds.
        skew_secs: u64,
        /// The window, in whole seconds.
        window_secs: u64,
    },
    /// A signature that does not verify.
    #[error("the {0} header does not verify")]
    Mismatch(&'static str),
    /// An `X-CLIENT-KEY` that is not the configured one.
    #[error("the X-CLIENT-KEY header names an unknown client")]
    UnknownClient,
}

/// Checks that `timestamp_ms` is within `window` of `now_ms`.
pub(crate) fn within_window(
    header: &'static str,
    timestamp_ms: i64,
    now_ms: u64,
    window: Duration,
) -> Result<(), SignatureRefusal> {
    let now = i64::try_from(now_ms).unwrap_or(i64::MAX);
    let skew = now.abs_diff(timestamp_ms);
    let window_ms = u64::try_from(window.as_millis()).unwrap_or(u64::MAX);
    if skew > window_ms {
        return Err(SignatureRefusal::Stale {
            header,
            skew_secs: skew / 1000,
            window_secs: window.as_secs(),
        });
    }
    Ok(())
}

/// Signs and checks `TC-Signature` with one key and mode.
///
/// ```
/// use superapp_openapi::superapp::{SecretKey, SignatureMode, TcSigner};
/// let signer = TcSigner::new(SecretKey::new("MBMIvsoijBSTqLPoCHYinLXKvlaCKfev")?, SignatureMode::AesEcb);
/// // `printf 1735293931220 | openssl enc -aes-256-ecb -K <key in hex> | xxd -p`
/// assert_eq!(signer.sign("1735293931220"), "f7b363addca8eb529f2abd2a9db903be");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct TcSigner {
    key: SecretKey,
    mode: SignatureMode,
}

impl TcSigner {
    /// A signer with this key and mode.
    pub fn new(key: SecretKey, mode: SignatureMode) -> Self {
        TcSigner { key, mode }
    }

    /// The key.
    pub fn key(&self) -> &SecretKey {
        &self.key
    }

    /// The mode.
    pub fn mode(&self) -> SignatureMode {
        self.mode
    }

    /// `hex(AES(text))`, lower-case.
    pub fn sign(&self, text: &str) -> String {
        crate::digest::to_hex(&self.encrypt(text.as_bytes()))
    }

    /// The two headers' values for a request sent at `now_ms`.
    pub fn headers(&self, now_ms: u64) -> (String, String) {
        let timestamp = now_ms.to_string();
        let signature = self.sign(&timestamp);
        (timestamp, signature)
    }

    /// Checks a request's two headers against `now_ms` and the window.
    ///
    /// # Errors
    ///
    /// The [`SignatureRefusal`] that says what was wrong.
    pub fn verify(
        &self,
        timestamp: Option<&str>,
        signature: Option<&str>,
        now_ms: u64,
        window: Duration,
    ) -> Result<(), SignatureRefusal> {
        let timestamp = timestamp.ok_or(SignatureRefusal::Missing(TC_TIMESTAMP))?;
        let signature = signature.ok_or(SignatureRefusal::Missing(TC_SIGNATURE))?;
        let millis = timestamp
            .trim()
            .parse::<i64>()
            .map_err(|_| SignatureRefusal::BadTimestamp(TC_TIMESTAMP))?;
        within_window(TC_TIMESTAMP, millis, now_ms, window)?;
        let expected = self.sign(timestamp.trim());
        let given = signature.trim().to_ascii_lowercase();
        if crate::digest::secrets_equal(expected.as_bytes(), given.as_bytes()) {
            Ok(())
        } else {
            Err(SignatureRefusal::Mismatch(TC_SIGNATURE))
        }
    }

    fn encrypt(&self, data: &[u8]) -> Vec<u8> {
        let key = self.key.secret();
        match (self.mode, key.len()) {
            (SignatureMode::AesEcb, 16) => ecb_encrypt::<aes::Aes128>(key, data),
            (SignatureMode::AesEcb, 24) => ecb_encrypt::<aes::Aes192>(key, data),
            (SignatureMode::AesEcb, _) => ecb_encrypt::<aes::Aes256>(key, data),
            (SignatureMode::AesCbc, 16) => cbc_encrypt::<aes::Aes128>(key, data),
            (SignatureMode::AesCbc, 24) => cbc_encrypt::<aes::Aes192>(key, data),
            (SignatureMode::AesCbc, _) => cbc_encrypt::<aes::Aes256>(key, data),
        }
    }
}

impl fmt::Debug for TcSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcSigner")
            .field("key", &self.key)
            .field("mode", &self.mode)
            .finish()
    }
}

// `SecretKey::new` admits only 16, 24 or 32 bytes, the lengths these
// ciphers take, so the key setup cannot fail; an empty output would only
// make every signature refused, never a panic.
fn ecb_encrypt<C>(key: &[u8], data: &[u8]) -> Vec<u8>
where
    C: aes::cipher::BlockCipher + aes::cipher::BlockEncrypt + KeyInit,
{
    ecb::Encryptor::<C>::new_from_slice(key)
        .map(|cipher| cipher.encrypt_padded_vec_mut::<Pkcs7>(data))
        .unwrap_or_default()
}

fn cbc_encrypt<C>(key: &[u8], data: &[u8]) -> Vec<u8>
where
    C: aes::cipher::BlockCipher + aes::cipher::BlockEncrypt + KeyInit,
{
    cbc::Encryptor::<C>::new_from_slices(key, &key[..16])
        .map(|cipher| cipher.encrypt_padded_vec_mut::<Pkcs7>(data))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    // The pages' example key (67643, 74867).
    const PAGE_KEY: &str = "MBMIvsoijBSTqLPoCHYinLXKvlaCKfev";
    const K16: &str = "0123456789abcdef";
    const K24: &str = "0123456789abcdef01234567";

    fn signer(key: &str, mode: SignatureMode) -> TcSigner {
        TcSigner::new(SecretKey::new(key).unwrap(), mode)
    }

    /// Known answers from the openssl CLI, `K` being the key's bytes in hex:
    /// `printf 1735293931220 | openssl enc -aes-256-ecb -K $K | xxd -p`,
    /// `… -aes-256-cbc -K $K -iv <first 16 key bytes in hex>`, and the same
    /// with `-aes-128-*` / `-aes-192-*` for the shorter keys.
    #[test]
    fn signatures_match_openssl_known_answers() {
        let cases = [
            (
                PAGE_KEY,
                SignatureMode::AesEcb,
                "1735293931220",
                "f7b363addca8eb529f2abd2a9db903be",
            ),
            (
                PAGE_KEY,
                SignatureMode::AesCbc,
                "1735293931220",
                "3d6de4b5e476d44ea86073d39f421f9e",
            ),
            (
                K16,
                SignatureMode::AesEcb,
                "1735293931220",
                "38cfaad10e5fb0a6d28d7540e21156d2",
            ),
            (
                K16,
                SignatureMode::AesCbc,
                "1735293931220",
                "288d43deef64c083589ddf8c7b4e3e7b",
            ),
            (
                K24,
                SignatureMode::AesEcb,
                "1735293931220",
                "48c888016335e8bc3d74bf6562e9234f",
            ),
            // 16 bytes of text: PKCS#7 adds a whole block.
            (
                PAGE_KEY,
                SignatureMode::AesEcb,
                "1735293931220123",
                "b598519a29bf65ad3d7ff3205a576024bbb45f13cffbdee3071dd5981979e1fb",
            ),
        ];
        for (key, mode, text, expected) in cases {
            assert_eq!(
                signer(key, mode).sign(text),
                expected,
                "{mode} with {} bytes",
                key.len()
            );
        }
    }

    #[test]
    fn a_key_of_the_wrong_length_is_refused_with_the_allowed_lengths() {
        let err = SecretKey::new("short").unwrap_err();
        assert_eq!(err, SecretKeyLength(5));
        assert!(err.to_string().contains("16, 24 or 32"), "{err}");
    }

    #[test]
    fn verify_accepts_its_own_signature_and_refuses_the_rest() {
        let s = signer(PAGE_KEY, SignatureMode::AesEcb);
        let now = 1_735_293_931_220;
        let window = DEFAULT_SIGNATURE_WINDOW;
        let (ts, sig) = s.headers(now);
        assert_eq!(s.verify(Some(&ts), Some(&sig), now, window), Ok(()));
        assert_eq!(
            s.verify(Some(&ts), Some(&sig.to_uppercase()), now + 1000, window),
            Ok(())
        );
        assert_eq!(
            s.verify(None, Some(&sig), now, window),
            Err(SignatureRefusal::Missing(TC_TIMESTAMP))
        );
        assert_eq!(
            s.verify(Some(&ts), None, now, window),
            Err(SignatureRefusal::Missing(TC_SIGNATURE))
        );
        assert_eq!(
            s.verify(Some("soon"), Some(&sig), now, window),
            Err(SignatureRefusal::BadTimestamp(TC_TIMESTAMP))
        );
        assert!(matches!(
            s.verify(Some(&ts), Some(&sig), now + 301_000, window),
            Err(SignatureRefusal::Stale { skew_secs: 301, .. })
        ));
        let other = signer(PAGE_KEY, SignatureMode::AesCbc);
        let (_, cbc_sig) = other.headers(now);
        assert_eq!(
            s.verify(Some(&ts), Some(&cbc_sig), now, window),
            Err(SignatureRefusal::Mismatch(TC_SIGNATURE))
        );
    }

    #[test]
    fn debug_never_shows_the_key() {
        let s = signer(PAGE_KEY, SignatureMode::AesEcb);
        let shown = format!("{s:?}");
        assert!(
            !shown.contains(PAGE_KEY) && shown.contains("[redacted]"),
            "{shown}"
        );
    }
}
