//! `paySig` and the user-state `signature`: signing, constant-time
//! verification and why a signature was rejected.

use hmac::Mac;

use super::api::PaymentApi;
#[cfg(doc)]
use super::sign_data::SignData;
use crate::digest::{HmacSha256, hmac_sha256_hex, keyed, to_hex};
use crate::handler::HostError;
use crate::reply::FailureKind;
use crate::secret::{AppKey, SessionKey};

/// How many hex digits an HMAC-SHA256 signature has.
const SIGNATURE_HEX_LEN: usize = 64;

/// `paySig` for `sign_data`: lower-case
/// hex(HMAC-SHA256(key = `app_key`, message = `api.as_str() + "&" + sign_data`)).
///
/// `sign_data` must be the exact string the mini program passes as
/// `signData`, byte for byte: sign the output of
/// [`SignData::to_sign_data_string`] and send that same string.
///
/// Sources: WeChat's `wx.requestMidasPaymentGameItem` and
/// `wx.requestVirtualPayment` docs and Tencent Cloud's "Mini Game Payment
/// Signature and Verification" all give
/// `paySig = to_hex(hmac_sha256(appKey, uri + '&' + signData))` with the API
/// name as the uri; they agree.
///
/// ```
/// use superapp_openapi::payment::{AppKey, PaymentApi, pay_sig};
/// let sign_data = r#"{"offerId":"123","buyQuantity":1,"env":0,"currencyType":"CNY","outTradeNo":"order-0001"}"#;
/// let sig = pay_sig(&AppKey::new("12345"), PaymentApi::VirtualPayment, sign_data);
/// assert_eq!(sig.len(), 64);
/// ```
pub fn pay_sig(app_key: &AppKey, api: PaymentApi, sign_data: &str) -> String {
    to_hex(&pay_sig_mac(app_key, api, sign_data).finalize().into_bytes())
}

/// Checks a `paySig` against `sign_data`, in constant time.
///
/// Upper-case hex digits are accepted (hex is case-insensitive; WeChat emits
/// lower case). Surrounding whitespace is not.
///
/// ```
/// use superapp_openapi::payment::{AppKey, PaymentApi, pay_sig, verify_pay_sig};
/// let key = AppKey::new("12345");
/// let sign_data = r#"{"offerId":"123","buyQuantity":1,"env":0,"currencyType":"CNY","outTradeNo":"order-0001"}"#;
/// let sig = pay_sig(&key, PaymentApi::VirtualPayment, sign_data);
/// verify_pay_sig(&key, PaymentApi::VirtualPayment, sign_data, &sig)?;
/// // Signed for the other API: rejected.
/// assert!(verify_pay_sig(&key, PaymentApi::MidasPaymentGameItem, sign_data, &sig).is_err());
/// # Ok::<(), superapp_openapi::payment::SignatureError>(())
/// ```
///
/// # Errors
///
/// [`SignatureError`] with [`SignatureKind::PaySig`]: `Empty`, `NotHex`,
/// `OddLength` or `WrongLength` when `pay_sig` is not 64 hex digits,
/// `Mismatch` when it is but does not match.
pub fn verify_pay_sig(
    app_key: &AppKey,
    api: PaymentApi,
    sign_data: &str,
    pay_sig: &str,
) -> Result<(), SignatureError> {
    let kind = SignatureKind::PaySig;
    let given = decode_signature(kind, pay_sig)?;
    pay_sig_mac(app_key, api, sign_data)
        .verify_slice(&given)
        .map_err(|_| SignatureError::Mismatch { kind })
}

/// The user-state `signature` for `sign_data`: lower-case
/// hex(HMAC-SHA256(key = `session_key`, message = `sign_data`)).
///
/// The key is the session key string as `jscode2session` returns it (its
/// UTF-8 bytes, not base64-decoded), as in WeChat's session-signature
/// examples. With an empty `sign_data` this is the checkSession signature.
///
/// ```
/// use superapp_openapi::payment::user_signature;
/// use superapp_openapi::SessionKey;
/// let sig = user_signature(&SessionKey::new("o0q0otL8aEzpcZL/FT9WsQ=="), r#"{"foo":"bar"}"#);
/// // WeChat's published example for this key and body.
/// assert_eq!(sig, "654571f79995b2ce1e149e53c0a33dc39c0a74090db514261454e8dbe432aa0b");
/// ```
pub fn user_signature(session_key: &SessionKey, sign_data: &str) -> String {
    hmac_sha256_hex(session_key.secret().as_bytes(), sign_data.as_bytes())
}

/// Checks a user-state `signature` against `sign_data`, in constant time.
/// Accepts upper-case hex like [`verify_pay_sig`].
///
/// ```
/// use superapp_openapi::payment::{user_signature, verify_user_signature};
/// use superapp_openapi::SessionKey;
/// let key = SessionKey::new("o0q0otL8aEzpcZL/FT9WsQ==");
/// let sign_data = r#"{"offerId":"123","buyQuantity":1,"currencyType":"CNY","outTradeNo":"order-0001"}"#;
/// let sig = user_signature(&key, sign_data);
/// verify_user_signature(&key, sign_data, &sig)?;
/// assert!(verify_user_signature(&SessionKey::new("an old key"), sign_data, &sig).is_err());
/// # Ok::<(), superapp_openapi::payment::SignatureError>(())
/// ```
///
/// # Errors
///
/// [`SignatureError`] with [`SignatureKind::UserSignature`], as for
/// [`verify_pay_sig`].
pub fn verify_user_signature(
    session_key: &SessionKey,
    sign_data: &str,
    signature: &str,
) -> Result<(), SignatureError> {
    let kind = SignatureKind::UserSignature;
    let given = decode_signature(kind, signature)?;
    user_mac(session_key, sign_data)
        .verify_slice(&given)
        .map_err(|_| SignatureError::Mismatch { kind })
}

fn pay_sig_mac(app_key: &AppKey, api: PaymentApi, sign_data: &str) -> HmacSha256 {
    let mut mac = keyed(app_key.secret().as_bytes());
    mac.update(api.as_str().as_bytes());
    mac.update(b"&");
    mac.update(sign_data.as_bytes());
    mac
}

fn user_mac(session_key: &SessionKey, sign_data: &str) -> HmacSha256 {
    let mut mac = keyed(session_key.secret().as_bytes());
    mac.update(sign_data.as_bytes());
    mac
}

/// Decodes 64 hex digits (either case). The checks look only at the format,
/// which is public; the comparison itself is `verify_slice`'s, in constant time.
fn decode_signature(kind: SignatureKind, text: &str) -> Result<[u8; 32], SignatureError> {
    if text.is_empty() {
        return Err(SignatureError::Empty { kind });
    }
    if let Some((index, character)) = text.char_indices().find(|(_, c)| !c.is_ascii_hexdigit()) {
        return Err(SignatureError::NotHex {
            kind,
            index,
            character,
        });
    }
    // All ASCII from here on, so bytes are characters.
    let len = text.len();
    if len % 2 == 1 {
        return Err(SignatureError::OddLength { kind, len });
    }
    if len != SIGNATURE_HEX_LEN {
        return Err(SignatureError::WrongLength { kind, len });
    }
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(text, &mut bytes)
        .map_err(|_| SignatureError::WrongLength { kind, len })?;
    Ok(bytes)
}

/// Which of the two virtual-payment signatures an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignatureKind {
    /// `paySig`, keyed with the [`AppKey`].
    PaySig,
    /// `signature`, keyed with the user's [`SessionKey`].
    UserSignature,
}

wire_names!(
    /// Both kinds.
    SignatureKind { PaySig => "paySig", UserSignature => "signature" }
);

/// Why a `paySig` or `signature` was rejected.
///
/// ```
/// use superapp_openapi::payment::{SignatureError, SignatureKind, verify_user_signature};
/// use superapp_openapi::SessionKey;
/// let err = verify_user_signature(&SessionKey::new("k"), "{}", "abc").unwrap_err();
/// assert_eq!(err, SignatureError::OddLength { kind: SignatureKind::UserSignature, len: 3 });
/// assert_eq!(err.to_string(), "signature has an odd number of hex digits (3)");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// The signature is the empty string.
    #[error("{kind} is empty")]
    Empty {
        /// Which signature.
        kind: SignatureKind,
    },
    /// A character is not a hex digit.
    #[error("{kind} is not hex: {character:?} at index {index}")]
    NotHex {
        /// Which signature.
        kind: SignatureKind,
        /// The byte index of the first offending character.
        index: usize,
        /// That character.
        character: char,
    },
    /// An odd number of hex digits (often a truncated copy).
    #[error("{kind} has an odd number of hex digits ({len})")]
    OddLength {
        /// Which signature.
        kind: SignatureKind,
        /// How many digits it has.
        len: usize,
    },
    /// An even number of hex digits other than 64.
    #[error("{kind} has {len} hex digits, expected 64")]
    WrongLength {
        /// Which signature.
        kind: SignatureKind,
        /// How many digits it has.
        len: usize,
    },
    /// Well-formed, but not the HMAC of this signData under this key.
    #[error("{kind} does not match signData")]
    Mismatch {
        /// Which signature.
        kind: SignatureKind,
    },
}

impl SignatureError {
    /// Which signature was rejected.
    pub fn kind(&self) -> SignatureKind {
        match *self {
            SignatureError::Empty { kind }
            | SignatureError::NotHex { kind, .. }
            | SignatureError::OddLength { kind, .. }
            | SignatureError::WrongLength { kind, .. }
            | SignatureError::Mismatch { kind } => kind,
        }
    }

    /// The errno a reply carries: 102, invalid params (`docs/errors.md`).
    pub const fn errno(&self) -> i64 {
        FailureKind::InvalidParams.errno()
    }
}

/// A handler can `?` a signature check: the reply is
/// `"<api>:fail invalid params: paySig does not match signData"` with errno
/// 102 ([`FailureKind::InvalidParams`]).
impl From<SignatureError> for HostError {
    fn from(err: SignatureError) -> Self {
        HostError::failed(format!("invalid params: {err}")).with_errno(err.errno())
    }
}
