//! [`OpenDataError`]: why a signature did not verify or `encryptedData` did
//! not decrypt.

/// The cause WeChat developers meet most often, named in every error that a
/// wrong key can produce: a session key from an older login.
const STALE_KEY: &str = "the most common cause is a stale session_key: every wx.login and \
     jscode2session issues a new one, so check with the session_key of the login that was \
     live when the data was produced (a wx.login called after wx.getUserInfo replaces it)";

/// Why [`verify_signature`](super::verify_signature) or
/// [`decrypt`](super::decrypt) refused its input.
///
/// A wrong session key and tampered data look the same to AES-CBC: both
/// usually end in [`BadPadding`](Self::BadPadding) (and, once in 256 tries,
/// in [`NotUserData`](Self::NotUserData)); the messages of both, and of
/// [`Signature`](Self::Signature), say that a stale session key is the most
/// common cause.
///
/// [`code`](Self::code) gives the number WeChat's own decryption sample
/// (`WXBizDataCrypt`) returns for the same failure, for servers that log or
/// answer with it.
///
/// ```
/// use superapp_openapi::SessionKey;
/// use superapp_openapi::opendata::{OpenDataError, decrypt};
///
/// let key = SessionKey::new("tiihtNczf5v6AKRyjwEUhQ==");
/// let err = decrypt("not base64!", "r7BXXKkLb8qrSNn05n0qiA==", &key, "wx4f4bc4dec97d474b")
///     .unwrap_err();
/// assert!(matches!(err, OpenDataError::Base64 { field: "encryptedData" }));
/// assert_eq!(err.code(), -41004);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OpenDataError {
    /// The session key is not the base64 of 16 bytes (a wrong value, not
    /// merely an old one).
    #[error(
        "session_key is not the base64 of 16 bytes: pass it exactly as jscode2session \
         returned it (24 characters)"
    )]
    SessionKey,
    /// The iv is not the base64 of 16 bytes.
    #[error(
        "iv is not the base64 of 16 bytes: pass it exactly as the mini program received it \
         (24 characters)"
    )]
    Iv,
    /// A field is not standard base64.
    #[error(
        "{field} is not standard base64 (a `+` turned into a space by URL decoding is the \
         usual culprit): pass it exactly as the mini program received it"
    )]
    Base64 {
        /// `"encryptedData"` or `"iv"`.
        field: &'static str,
    },
    /// `encryptedData` is longer than [`MAX_ENCRYPTED_DATA_LEN`](super::MAX_ENCRYPTED_DATA_LEN).
    #[error("encryptedData is {len} characters long, at most {max} are accepted")]
    TooLong {
        /// Its length in characters.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// `encryptedData` decodes to no whole AES block: it was cut short.
    #[error(
        "encryptedData is truncated: it decodes to {len} bytes where a non-zero multiple of 16 \
         is expected; pass the whole value"
    )]
    Truncated {
        /// The decoded length in bytes.
        len: usize,
    },
    /// The padding is wrong after decryption: a wrong key or tampered data.
    #[error("encryptedData does not decrypt under this session_key (bad padding); {STALE_KEY}")]
    BadPadding,
    /// The data decrypted, but not to a JSON object with a
    /// `watermark.appid`: a wrong key or tampered data.
    #[error(
        "encryptedData decrypts to no JSON object with a watermark.appid under this \
         session_key; {STALE_KEY}"
    )]
    NotUserData,
    /// The watermark names another app.
    #[error(
        "the watermark's appid is {found:?}, not {expected:?}: the data was sealed for \
         another mini program"
    )]
    AppId {
        /// The appid the caller expected.
        expected: String,
        /// The appid in the watermark.
        found: String,
    },
    /// `signature` is not `sha1(rawData + session_key)`.
    #[error("signature does not match rawData under this session_key; {STALE_KEY}")]
    Signature,
}

impl OpenDataError {
    /// The code WeChat's `WXBizDataCrypt` sample gives the same failure:
    /// -41001 illegal key, -41002 illegal iv, -41003 illegal buffer (bad
    /// padding, no JSON, another appid, truncated, too long), -41004 base64;
    /// and -40001 for a signature that does not verify (WeChat's
    /// `ValidateSignatureError`).
    pub fn code(&self) -> i32 {
        match self {
            OpenDataError::SessionKey => -41001,
            OpenDataError::Iv => -41002,
            OpenDataError::TooLong { .. }
            | OpenDataError::Truncated { .. }
            | OpenDataError::BadPadding
            | OpenDataError::NotUserData
            | OpenDataError::AppId { .. } => -41003,
            OpenDataError::Base64 { .. } => -41004,
            OpenDataError::Signature => -40001,
        }
    }

    /// Whether a stale (or otherwise wrong) session key is a likely cause:
    /// what a developer server checks before asking the user to log in again.
    pub fn may_be_stale_key(&self) -> bool {
        matches!(
            self,
            OpenDataError::BadPadding | OpenDataError::NotUserData | OpenDataError::Signature
        )
    }
}
