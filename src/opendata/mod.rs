//! WeChat's signed and encrypted user data: `rawData` / `signature` and
//! `encryptedData` / `iv`, sealed with a session's key and checked by the
//! developer server that holds it.
//!
//! The algorithm is WeChat's ("Signature Verification and
//! Encryption/Decryption of User Data"), so that developer servers written
//! for WeChat (wechatpy's `WeChatWxaCrypto`, EasyWeChat's `decryptSession`,
//! WxJava's `WxMaCryptUtils`) check this platform's data unchanged:
//!
//! - `signature = hex(sha1(rawData + session_key))`, where `rawData` is the
//!   JSON text of the user info the mini program sees and `session_key` the
//!   base64 text `jscode2session` returned;
//! - `encryptedData = base64(AES-128-CBC(plaintext, key = base64_decode(session_key),
//!   iv = base64_decode(iv), PKCS#7))`, with a fresh random 16-byte `iv` for
//!   each seal. The plaintext is a JSON object: the full user data plus
//!   `watermark: {appid, timestamp}`, which says which app it was sealed
//!   for and when.
//!
//! The free functions here are for servers that hold the session key
//! themselves; the platform seals with them, and `OpenServerClient` wraps
//! them for a developer server.
//!
//! ```
//! use serde_json::json;
//! use superapp_openapi::SessionKey;
//! use superapp_openapi::opendata::{OpenData, Watermark, verify_signature};
//!
//! let key = SessionKey::new("HyVFkGl5F5OQWJZZaNzBBg==");
//! let visible = json!({"nickName": "Band", "gender": 1});
//! let identity = json!({"openId": "o-123", "unionId": "u-456"});
//! let watermark = Watermark::new("wx-shop", 1_700_000_000);
//! let sealed = OpenData::seal(
//!     visible.as_object().unwrap(),
//!     identity.as_object().unwrap(),
//!     &watermark,
//!     &key,
//! )?;
//!
//! // The developer server, with the session key from jscode2session:
//! verify_signature(&sealed.raw_data, &sealed.signature, &key)?;
//! let data = sealed.decrypt(&key, "wx-shop")?;
//! assert_eq!(data["openId"], "o-123");
//! assert_eq!(data["watermark"]["appid"], "wx-shop");
//! # Ok::<(), superapp_openapi::opendata::OpenDataError>(())
//! ```

mod cipher;
mod error;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha1::{Digest, Sha1};

pub use error::OpenDataError;
// The sealed fields are what the platform answers, so the seam declares them.
pub use crate::platform::{OpenData, SealedData};

use crate::secret::SessionKey;

/// The longest `encryptedData` [`decrypt`] accepts, in characters: 1 MiB,
/// far above anything WeChat seals (user info and phone numbers are well
/// under 2 KiB), so that a hostile value is refused before it is decoded.
pub const MAX_ENCRYPTED_DATA_LEN: usize = 1 << 20;

/// A JSON object, as the user data and the decrypted plaintext are.
type Object = Map<String, Value>;

/// `hex(sha1(raw_data + session_key))`: the `signature` WeChat sends beside
/// `rawData`, in lower-case hex.
///
/// ```
/// use superapp_openapi::SessionKey;
/// use superapp_openapi::opendata::sign;
/// let key = SessionKey::new("HyVFkGl5F5OQWJZZaNzBBg==");
/// assert_eq!(sign("{}", &key), "d5ddf817fe00b47d82abf60ead4c25acced4e7cc");
/// ```
pub fn sign(raw_data: &str, session_key: &SessionKey) -> String {
    let mut sha1 = Sha1::new();
    sha1.update(raw_data.as_bytes());
    sha1.update(session_key.secret().as_bytes());
    crate::digest::to_hex(&sha1.finalize())
}

/// Checks that `signature` is `sha1(raw_data + session_key)`, in time that
/// does not depend on where the two differ. Upper-case hex is accepted.
///
/// # Errors
///
/// [`OpenDataError::Signature`] when it is not; most often the session key
/// is stale (a newer login replaced it).
pub fn verify_signature(
    raw_data: &str,
    signature: &str,
    session_key: &SessionKey,
) -> Result<(), OpenDataError> {
    let expected = sign(raw_data, session_key);
    let presented = signature.to_ascii_lowercase();
    if crate::digest::secrets_equal(expected.as_bytes(), presented.as_bytes()) {
        Ok(())
    } else {
        Err(OpenDataError::Signature)
    }
}

/// Which app the data was sealed for, and when (Unix seconds): the
/// `watermark` inside every plaintext.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Watermark {
    /// The mini program's appid.
    pub appid: String,
    /// When it was sealed, in seconds since the Unix epoch.
    pub timestamp: u64,
}

impl Watermark {
    /// A watermark for `appid` at `timestamp` (Unix seconds).
    pub fn new(appid: impl Into<String>, timestamp: u64) -> Self {
        Watermark {
            appid: appid.into(),
            timestamp,
        }
    }
}

/// `data` with `watermark` added, sealed under `session_key` with a fresh
/// random iv.
///
/// # Errors
///
/// [`OpenDataError::SessionKey`] when the key is not the base64 of 16 bytes.
pub fn seal(
    data: &Object,
    watermark: &Watermark,
    session_key: &SessionKey,
) -> Result<SealedData, OpenDataError> {
    let key = cipher::aes_key(session_key)?;
    let mut plaintext = data.clone();
    plaintext.insert("watermark".into(), watermark_value(watermark));
    let iv = cipher::random_iv();
    // A map of JSON values always serializes.
    let bytes = serde_json::to_vec(&plaintext).unwrap_or_default();
    Ok(SealedData {
        encrypted_data: cipher::to_base64(&cipher::encrypt(&bytes, &key, &iv)),
        iv: cipher::to_base64(&iv),
    })
}

fn watermark_value(watermark: &Watermark) -> Value {
    let mut object = Object::new();
    object.insert("appid".into(), watermark.appid.clone().into());
    object.insert("timestamp".into(), watermark.timestamp.into());
    Value::Object(object)
}

/// Decrypts `encrypted_data` under `session_key` and `iv` and checks that
/// its watermark names `appid`: the plaintext object, watermark included.
///
/// # Errors
///
/// An [`OpenDataError`] saying what was wrong: the key or iv not 16 bytes of
/// base64, `encryptedData` not base64, too long or truncated, bad padding or
/// no JSON object after decryption (a wrong — most often stale — key, or
/// tampered data), or a watermark for another app. Nothing panics on any
/// input.
pub fn decrypt(
    encrypted_data: &str,
    iv: &str,
    session_key: &SessionKey,
    appid: &str,
) -> Result<Object, OpenDataError> {
    if encrypted_data.len() > MAX_ENCRYPTED_DATA_LEN {
        return Err(OpenDataError::TooLong {
            len: encrypted_data.len(),
            max: MAX_ENCRYPTED_DATA_LEN,
        });
    }
    let key = cipher::aes_key(session_key)?;
    let iv = cipher::iv_bytes(iv)?;
    let plaintext = cipher::decrypt(encrypted_data, &key, &iv)?;
    let Ok(object) = serde_json::from_slice::<Object>(&plaintext) else {
        return Err(OpenDataError::NotUserData);
    };
    let Some(found) = object
        .get("watermark")
        .and_then(|watermark| watermark.get("appid"))
        .and_then(Value::as_str)
    else {
        return Err(OpenDataError::NotUserData);
    };
    if found != appid {
        return Err(OpenDataError::AppId {
            expected: appid.to_owned(),
            found: found.to_owned(),
        });
    }
    Ok(object)
}

impl OpenData {
    /// Seals user data: `visible` (the user info the mini program sees)
    /// becomes `rawData` and is signed; `visible`, `identity` (the fields only
    /// the platform vouches for: `openId`, `unionId`) and `watermark` are
    /// sealed together. A field of `identity` wins over one of `visible`
    /// with the same name.
    ///
    /// # Errors
    ///
    /// [`OpenDataError::SessionKey`] when the key is not the base64 of 16 bytes.
    pub fn seal(
        visible: &Object,
        identity: &Object,
        watermark: &Watermark,
        session_key: &SessionKey,
    ) -> Result<OpenData, OpenDataError> {
        // A map of JSON values always serializes.
        let raw_data = serde_json::to_string(visible).unwrap_or_default();
        let mut full = visible.clone();
        full.extend(identity.iter().map(|(k, v)| (k.clone(), v.clone())));
        let sealed = seal(&full, watermark, session_key)?;
        Ok(OpenData {
            signature: sign(&raw_data, session_key),
            raw_data,
            encrypted_data: sealed.encrypted_data,
            iv: sealed.iv,
        })
    }

    /// Checks `signature` against `raw_data` (see [`verify_signature`]).
    ///
    /// # Errors
    ///
    /// [`OpenDataError::Signature`] when it does not match.
    pub fn verify(&self, session_key: &SessionKey) -> Result<(), OpenDataError> {
        verify_signature(&self.raw_data, &self.signature, session_key)
    }

    /// Decrypts `encrypted_data` for `appid` (see [`decrypt`]).
    ///
    /// # Errors
    ///
    /// As [`decrypt`].
    pub fn decrypt(&self, session_key: &SessionKey, appid: &str) -> Result<Object, OpenDataError> {
        decrypt(&self.encrypted_data, &self.iv, session_key, appid)
    }
}
