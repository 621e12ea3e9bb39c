//! The developer server's open-data checks on [`OpenServerClient`]: the
//! `rawData` signature and `encryptedData` of a session jscode2session gave.

use serde_json::{Map, Value};

use super::client::{OpenServerClient, Session};
use crate::opendata::{self, OpenDataError};

impl OpenServerClient {
    /// Checks that `signature` is `sha1(raw_data + session_key)` for the
    /// session (what `wx.getUserInfo` / `wx.getUserProfile` answer), in
    /// constant time. Needs no request.
    ///
    /// ```
    /// use superapp_openapi::{AppSecret, SessionKey};
    /// use superapp_openapi::http::{OpenServerClient, Session};
    /// use superapp_openapi::opendata::sign;
    ///
    /// let client = OpenServerClient::new("http://127.0.0.1:8080", "wx-shop", AppSecret::new("s"));
    /// let session = Session {
    ///     openid: "o-1".into(),
    ///     session_key: SessionKey::new("HyVFkGl5F5OQWJZZaNzBBg=="),
    ///     unionid: None,
    /// };
    /// let raw_data = r#"{"nickName":"Ada"}"#;
    /// let signature = sign(raw_data, &session.session_key);
    /// client.verify_open_data(&session, raw_data, &signature)?;
    /// # Ok::<(), superapp_openapi::opendata::OpenDataError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`OpenDataError::Signature`] when it does not match: most often the
    /// session is stale (a newer login replaced its key).
    pub fn verify_open_data(
        &self,
        session: &Session,
        raw_data: &str,
        signature: &str,
    ) -> Result<(), OpenDataError> {
        opendata::verify_signature(raw_data, signature, &session.session_key)
    }

    /// Decrypts `encrypted_data` (with its `iv`) under the session's key and
    /// checks that its watermark names this client's app: the full user
    /// data (openId, unionId, …, or the phone number) with its watermark.
    /// Needs no request.
    ///
    /// # Errors
    ///
    /// An [`OpenDataError`] saying what was wrong: bad base64, a truncated
    /// value, bad padding or no JSON after decryption (a wrong, most often
    /// stale, session key, or tampered data), another app's watermark.
    pub fn decrypt_open_data(
        &self,
        session: &Session,
        encrypted_data: &str,
        iv: &str,
    ) -> Result<Map<String, Value>, OpenDataError> {
        opendata::decrypt(encrypted_data, iv, &session.session_key, self.appid())
    }
}
