//! Payment helpers: paySig and user-state signatures, typed payment params.
//!
//! Two families of calls reach a host:
//!
//! * `wx.requestPayment` (WeChat Pay style): the developer server already
//!   signed the order with the merchant key; the host only needs the params
//!   typed and checked ([`RequestPaymentParams`]) and a result to return
//!   ([`PaymentResult`]).
//! * `wx.requestMidasPaymentGameItem` / `wx.requestVirtualPayment` (virtual
//!   payment): the developer server signs a JSON string, `signData`, twice —
//!   `paySig` with the app key and `signature` with the user's session key —
//!   and the host checks both ([`VirtualPaymentParams::verify`]).
//!
//! Both signatures are HMAC-SHA256 over the *exact bytes* of `signData`. A
//! JSON value that is parsed and serialized again may differ in key order or
//! whitespace and then no longer verifies, so the raw string is what gets
//! signed, passed around and verified; [`SignData`] is only a typed view of it.

use std::fmt;
use std::hash::{Hash, Hasher};

use hmac::{Hmac, Mac};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use sha2::Sha256;

use crate::api::OpenApi;
use crate::app::json_type;
use crate::handler::{HostError, JsonObject};
use crate::reply::FailureKind;
pub use crate::secret::AppKey;
use crate::secret::SessionKey;

type HmacSha256 = Hmac<Sha256>;

/// The `object` of errors about the signData JSON.
const SIGN_DATA: &str = "signData";

/// How many hex digits an HMAC-SHA256 signature has.
const SIGNATURE_HEX_LEN: usize = 64;

// ---------------------------------------------------------------------------
// PaymentApi
// ---------------------------------------------------------------------------

/// Which virtual-payment API a `paySig` is for; its name is the "uri" part of
/// the signed message.
///
/// WeChat documents `paySig = to_hex(hmac_sha256(appKey, uri + '&' + signData))`,
/// where for the mini-program-side calls the uri is the API name without the
/// `wx.` prefix and without a leading slash: exactly `"requestMidasPaymentGameItem"`
/// or `"requestVirtualPayment"` (the server-side APIs use paths such as
/// `/wxa/game/pay` instead, which this crate does not sign).
///
/// ```
/// use superapp_openapi::{OpenApi, PaymentApi};
/// assert_eq!(PaymentApi::VirtualPayment.as_str(), "requestVirtualPayment");
/// assert_eq!(PaymentApi::MidasPaymentGameItem.as_str(), "requestMidasPaymentGameItem");
/// assert_eq!(PaymentApi::VirtualPayment.open_api(), OpenApi::RequestVirtualPayment);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum PaymentApi {
    /// `wx.requestMidasPaymentGameItem` (mini games, item purchase); signs
    /// `"requestMidasPaymentGameItem&" + signData`.
    MidasPaymentGameItem,
    /// `wx.requestVirtualPayment` (mini programs); signs
    /// `"requestVirtualPayment&" + signData`.
    VirtualPayment,
}

impl PaymentApi {
    /// Both APIs.
    pub const ALL: [PaymentApi; 2] = [PaymentApi::MidasPaymentGameItem, PaymentApi::VirtualPayment];

    /// The uri that goes before `&` in the `paySig` message, which is also
    /// the API's wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            PaymentApi::MidasPaymentGameItem => "requestMidasPaymentGameItem",
            PaymentApi::VirtualPayment => "requestVirtualPayment",
        }
    }

    /// The open API this is.
    pub const fn open_api(self) -> OpenApi {
        match self {
            PaymentApi::MidasPaymentGameItem => OpenApi::RequestMidasPaymentGameItem,
            PaymentApi::VirtualPayment => OpenApi::RequestVirtualPayment,
        }
    }
}

impl fmt::Display for PaymentApi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<PaymentApi> for OpenApi {
    fn from(api: PaymentApi) -> OpenApi {
        api.open_api()
    }
}

// ---------------------------------------------------------------------------
// Signatures
// ---------------------------------------------------------------------------

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
/// use superapp_openapi::{AppKey, PaymentApi, pay_sig};
/// let sign_data = r#"{"offerId":"123","buyQuantity":1,"env":0,"currencyType":"CNY","outTradeNo":"order-0001"}"#;
/// let sig = pay_sig(&AppKey::new("12345"), PaymentApi::VirtualPayment, sign_data);
/// assert_eq!(sig.len(), 64);
/// ```
pub fn pay_sig(app_key: &AppKey, api: PaymentApi, sign_data: &str) -> String {
    hex::encode(pay_sig_mac(app_key, api, sign_data).finalize().into_bytes())
}

/// Checks a `paySig` against `sign_data`, in constant time.
///
/// Upper-case hex digits are accepted (hex is case-insensitive; WeChat emits
/// lower case). Surrounding whitespace is not.
///
/// ```
/// use superapp_openapi::{AppKey, PaymentApi, pay_sig, verify_pay_sig};
/// let key = AppKey::new("12345");
/// let sign_data = r#"{"offerId":"123","buyQuantity":1,"env":0,"currencyType":"CNY","outTradeNo":"order-0001"}"#;
/// let sig = pay_sig(&key, PaymentApi::VirtualPayment, sign_data);
/// verify_pay_sig(&key, PaymentApi::VirtualPayment, sign_data, &sig)?;
/// // Signed for the other API: rejected.
/// assert!(verify_pay_sig(&key, PaymentApi::MidasPaymentGameItem, sign_data, &sig).is_err());
/// # Ok::<(), superapp_openapi::SignatureError>(())
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
/// use superapp_openapi::{SessionKey, user_signature};
/// let sig = user_signature(&SessionKey::new("o0q0otL8aEzpcZL/FT9WsQ=="), r#"{"foo":"bar"}"#);
/// // WeChat's published example for this key and body.
/// assert_eq!(sig, "654571f79995b2ce1e149e53c0a33dc39c0a74090db514261454e8dbe432aa0b");
/// ```
pub fn user_signature(session_key: &SessionKey, sign_data: &str) -> String {
    hex::encode(user_mac(session_key, sign_data).finalize().into_bytes())
}

/// Checks a user-state `signature` against `sign_data`, in constant time.
/// Accepts upper-case hex like [`verify_pay_sig`].
///
/// ```
/// use superapp_openapi::{SessionKey, user_signature, verify_user_signature};
/// let key = SessionKey::new("o0q0otL8aEzpcZL/FT9WsQ==");
/// let sign_data = r#"{"offerId":"123","buyQuantity":1,"currencyType":"CNY","outTradeNo":"order-0001"}"#;
/// let sig = user_signature(&key, sign_data);
/// verify_user_signature(&key, sign_data, &sig)?;
/// assert!(verify_user_signature(&SessionKey::new("an old key"), sign_data, &sig).is_err());
/// # Ok::<(), superapp_openapi::SignatureError>(())
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
    let mut mac = keyed(app_key.secret());
    mac.update(api.as_str().as_bytes());
    mac.update(b"&");
    mac.update(sign_data.as_bytes());
    mac
}

fn user_mac(session_key: &SessionKey, sign_data: &str) -> HmacSha256 {
    let mut mac = keyed(session_key.secret());
    mac.update(sign_data.as_bytes());
    mac
}

fn keyed(key: &str) -> HmacSha256 {
    HmacSha256::new_from_slice(key.as_bytes()).expect("HMAC takes any key length")
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

impl SignatureKind {
    /// The param's wire name: `"paySig"` or `"signature"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            SignatureKind::PaySig => "paySig",
            SignatureKind::UserSignature => "signature",
        }
    }
}

impl fmt::Display for SignatureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a `paySig` or `signature` was rejected.
///
/// ```
/// use superapp_openapi::{SessionKey, SignatureError, SignatureKind, verify_user_signature};
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

// ---------------------------------------------------------------------------
// SignData
// ---------------------------------------------------------------------------

/// The virtual-payment environment: signData's `env`, a number on the wire.
///
/// ```
/// use superapp_openapi::PaymentEnv;
/// assert_eq!(serde_json::to_string(&PaymentEnv::Sandbox)?, "1");
/// assert_eq!(serde_json::from_str::<PaymentEnv>("0")?, PaymentEnv::Production);
/// assert!(serde_json::from_str::<PaymentEnv>("2").is_err());
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum PaymentEnv {
    /// `0`, the default.
    #[default]
    Production,
    /// `1`; sign with the sandbox AppKey.
    Sandbox,
}

impl From<PaymentEnv> for u8 {
    fn from(env: PaymentEnv) -> u8 {
        match env {
            PaymentEnv::Production => 0,
            PaymentEnv::Sandbox => 1,
        }
    }
}

impl TryFrom<u64> for PaymentEnv {
    type Error = u64;

    /// `0` or `1`; any other value is handed back.
    fn try_from(n: u64) -> Result<Self, u64> {
        match n {
            0 => Ok(PaymentEnv::Production),
            1 => Ok(PaymentEnv::Sandbox),
            other => Err(other),
        }
    }
}

impl Serialize for PaymentEnv {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u8(u8::from(*self))
    }
}

impl<'de> Deserialize<'de> for PaymentEnv {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let n = u64::deserialize(deserializer)?;
        PaymentEnv::try_from(n)
            .map_err(|n| serde::de::Error::custom(format!("env is {n}; allowed values are 0, 1")))
    }
}

/// A virtual-payment `mode`.
///
/// `wx.requestVirtualPayment` takes it as a param next to signData
/// (`short_series_goods`, `short_series_coin`); `wx.requestMidasPaymentGameItem`
/// carries it inside signData (`goods`). Unknown values are kept in
/// [`PaymentMode::Other`]; equality and hashing go by [`as_str`](PaymentMode::as_str),
/// so `Other("goods".into())` equals [`PaymentMode::Goods`].
///
/// ```
/// use superapp_openapi::PaymentMode;
/// assert_eq!(PaymentMode::from("short_series_goods"), PaymentMode::ShortSeriesGoods);
/// assert_eq!(PaymentMode::from("subscription").as_str(), "subscription");
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum PaymentMode {
    /// `short_series_goods`: buy an item directly (signData then needs
    /// `productId` and `goodsPrice`).
    ShortSeriesGoods,
    /// `short_series_coin`: top up tokens.
    ShortSeriesCoin,
    /// `goods`: requestMidasPaymentGameItem's item purchase.
    Goods,
    /// Any other value, as given.
    Other(String),
}

impl PaymentMode {
    /// The wire value.
    pub fn as_str(&self) -> &str {
        match self {
            PaymentMode::ShortSeriesGoods => "short_series_goods",
            PaymentMode::ShortSeriesCoin => "short_series_coin",
            PaymentMode::Goods => "goods",
            PaymentMode::Other(other) => other,
        }
    }
}

impl From<&str> for PaymentMode {
    fn from(value: &str) -> Self {
        match value {
            "short_series_goods" => PaymentMode::ShortSeriesGoods,
            "short_series_coin" => PaymentMode::ShortSeriesCoin,
            "goods" => PaymentMode::Goods,
            other => PaymentMode::Other(other.to_owned()),
        }
    }
}

impl From<String> for PaymentMode {
    fn from(value: String) -> Self {
        match PaymentMode::from(value.as_str()) {
            PaymentMode::Other(_) => PaymentMode::Other(value),
            known => known,
        }
    }
}

impl PartialEq for PaymentMode {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for PaymentMode {}

impl Hash for PaymentMode {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl fmt::Display for PaymentMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for PaymentMode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for PaymentMode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(PaymentMode::from)
    }
}

/// The virtual-payment order that `signData` carries, as WeChat documents it
/// for `wx.requestVirtualPayment` (`offerId`, `buyQuantity`, `env`,
/// `currencyType`, `productId`, `goodsPrice`, `outTradeNo`, `attach`) plus the
/// fields `wx.requestMidasPaymentGameItem`'s example adds (`mode`, `platform`,
/// `zoneId`).
///
/// This is a typed view, not the signed bytes: a developer server builds one,
/// calls [`to_sign_data_string`](SignData::to_sign_data_string) **once**, signs
/// that string and hands that same string to the mini program. A host parses
/// the string it received with [`SignData::parse`] but verifies signatures
/// over the string itself. Fields WeChat may add are ignored by `parse`
/// (and so dropped by a parse/serialize round trip — another reason never to
/// re-serialize before verifying).
///
/// Not checked here: `currencyType` is any non-empty string (WeChat documents
/// only `"CNY"`; Tencent Cloud's super-app examples use others), and
/// `outTradeNo` is any non-empty string (WeChat asks for 8–32 characters of
/// `0-9 a-z A-Z _ - | * @`, not starting with `_`, and rejects others itself).
///
/// ```
/// use superapp_openapi::{AppKey, PaymentApi, SessionKey, SignData, pay_sig, user_signature};
/// // Developer server: build, serialize once, sign that string.
/// let order = SignData::new("123", 1, "xxxxxx")
///     .product("testproductId", 10)
///     .attach("testdata");
/// let sign_data = order.to_sign_data_string();
/// assert_eq!(
///     sign_data,
///     r#"{"offerId":"123","buyQuantity":1,"env":0,"currencyType":"CNY","productId":"testproductId","goodsPrice":10,"outTradeNo":"xxxxxx","attach":"testdata"}"#,
/// );
/// let sig = pay_sig(&AppKey::new("12345"), PaymentApi::VirtualPayment, &sign_data);
/// let user_sig = user_signature(&SessionKey::new("session key"), &sign_data);
/// // …send sign_data, sig and user_sig to the mini program unchanged.
///
/// // Host: the typed view of what it received.
/// assert_eq!(SignData::parse(&sign_data)?, order);
/// # Ok::<(), superapp_openapi::PaymentParamsError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", try_from = "Value")]
#[non_exhaustive]
pub struct SignData {
    /// `mode`: requestMidasPaymentGameItem puts it here (`"goods"`);
    /// requestVirtualPayment passes it next to signData instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<PaymentMode>,
    /// `offerId`: the virtual-payment offer id from the payment configuration.
    pub offer_id: String,
    /// `buyQuantity`: how many, at least 1.
    pub buy_quantity: u32,
    /// `env`: `0` production (the default when absent), `1` sandbox.
    pub env: PaymentEnv,
    /// `currencyType`, `"CNY"` on WeChat.
    pub currency_type: String,
    /// `platform` (requestMidasPaymentGameItem), e.g. `"android"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// `zoneId` (requestMidasPaymentGameItem), e.g. `"1"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zone_id: Option<String>,
    /// `productId`: the item; required when the mode is `short_series_goods`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product_id: Option<String>,
    /// `goodsPrice`: the item's unit price in fen (0.01 CNY); required when
    /// the mode is `short_series_goods`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub goods_price: Option<u64>,
    /// `outTradeNo`: the developer's order number, usable once.
    pub out_trade_no: String,
    /// `attach`: opaque data handed back in the delivery notification.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attach: Option<String>,
}

impl SignData {
    /// An order for `buy_quantity` (at least 1) under `offer_id`, numbered
    /// `out_trade_no`, in production, in CNY.
    pub fn new(
        offer_id: impl Into<String>,
        buy_quantity: u32,
        out_trade_no: impl Into<String>,
    ) -> Self {
        SignData {
            mode: None,
            offer_id: offer_id.into(),
            buy_quantity,
            env: PaymentEnv::Production,
            currency_type: "CNY".to_owned(),
            platform: None,
            zone_id: None,
            product_id: None,
            goods_price: None,
            out_trade_no: out_trade_no.into(),
            attach: None,
        }
    }

    /// Sets `env`.
    pub fn env(mut self, env: PaymentEnv) -> Self {
        self.env = env;
        self
    }

    /// Sets `productId` and `goodsPrice` (unit price in fen), as an item
    /// purchase needs.
    pub fn product(mut self, product_id: impl Into<String>, goods_price: u64) -> Self {
        self.product_id = Some(product_id.into());
        self.goods_price = Some(goods_price);
        self
    }

    /// Sets `attach`.
    pub fn attach(mut self, attach: impl Into<String>) -> Self {
        self.attach = Some(attach.into());
        self
    }

    /// Sets `mode` inside signData (requestMidasPaymentGameItem).
    pub fn mode(mut self, mode: impl Into<PaymentMode>) -> Self {
        self.mode = Some(mode.into());
        self
    }

    /// The signData JSON: compact, fields in WeChat's documented order, absent
    /// options left out. Call it once; sign and send the same string.
    pub fn to_sign_data_string(&self) -> String {
        // Strings, integers and a u8 always serialize.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Parses the signData a mini program passed.
    ///
    /// ```
    /// use superapp_openapi::{PaymentEnv, SignData};
    /// let order = SignData::parse(r#"{"offerId":"123","buyQuantity":2,"env":1,"currencyType":"CNY","outTradeNo":"order-0001"}"#)?;
    /// assert_eq!(order.buy_quantity, 2);
    /// assert_eq!(order.env, PaymentEnv::Sandbox);
    ///
    /// let err = SignData::parse(r#"{"offerId":"123","buyQuantity":1,"currencyType":"CNY"}"#).unwrap_err();
    /// assert_eq!(err.to_string(), "signData: outTradeNo is missing");
    /// # Ok::<(), superapp_openapi::PaymentParamsError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`PaymentParamsError`] with object `"signData"`: not a JSON object; a
    /// required field (`offerId`, `buyQuantity`, `currencyType`,
    /// `outTradeNo`) missing; a field of the wrong type; `buyQuantity` not a
    /// positive integer; `env` other than 0 or 1; `goodsPrice` not a
    /// non-negative integer; an empty `offerId`, `currencyType`,
    /// `productId` or `outTradeNo`.
    pub fn parse(text: &str) -> Result<SignData, PaymentParamsError> {
        let value: Value = serde_json::from_str(text).map_err(|err| {
            PaymentParamsError::new(
                SIGN_DATA,
                PaymentParamsProblem::NotJsonObject {
                    reason: err.to_string(),
                },
            )
        })?;
        SignData::try_from(value)
    }
}

impl TryFrom<Value> for SignData {
    type Error = PaymentParamsError;

    fn try_from(value: Value) -> Result<Self, Self::Error> {
        let map = match value {
            Value::Object(map) => map,
            other => {
                return Err(PaymentParamsError::new(
                    SIGN_DATA,
                    PaymentParamsProblem::NotJsonObject {
                        reason: format!("found {}", json_type(&other)),
                    },
                ));
            }
        };
        let fields = Fields::new(SIGN_DATA, &map);
        let buy_quantity = match fields.value("buyQuantity") {
            None => return Err(fields.missing("buyQuantity")),
            Some(v) => v
                .as_u64()
                .filter(|&n| n >= 1)
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| fields.invalid("buyQuantity", "must be a positive integer"))?,
        };
        let env = match fields.value("env") {
            None => PaymentEnv::Production,
            Some(v) => v
                .as_u64()
                .and_then(|n| PaymentEnv::try_from(n).ok())
                .ok_or_else(|| fields.invalid("env", "must be 0 (production) or 1 (sandbox)"))?,
        };
        let goods_price = match fields.value("goodsPrice") {
            None => None,
            Some(v) => Some(v.as_u64().ok_or_else(|| {
                fields.invalid("goodsPrice", "must be a non-negative integer (fen)")
            })?),
        };
        let product_id = match fields.optional_string("productId")? {
            Some("") => return Err(fields.invalid("productId", "must not be empty")),
            other => other.map(str::to_owned),
        };
        Ok(SignData {
            mode: fields.optional_string("mode")?.map(PaymentMode::from),
            offer_id: fields.string("offerId")?.to_owned(),
            buy_quantity,
            env,
            currency_type: fields.string("currencyType")?.to_owned(),
            platform: fields.optional_string("platform")?.map(str::to_owned),
            zone_id: fields.optional_string("zoneId")?.map(str::to_owned),
            product_id,
            goods_price,
            out_trade_no: fields.string("outTradeNo")?.to_owned(),
            attach: fields.optional_string("attach")?.map(str::to_owned),
        })
    }
}

// ---------------------------------------------------------------------------
// VirtualPaymentParams
// ---------------------------------------------------------------------------

/// The params of `wx.requestVirtualPayment` / `wx.requestMidasPaymentGameItem`,
/// typed: the raw `signData`, its parsed view, the `mode`, and both signatures.
///
/// ```
/// use serde_json::json;
/// use superapp_openapi::{
///     AppKey, PaymentApi, PaymentMode, SessionKey, SignData, VirtualPaymentParams, pay_sig,
///     user_signature,
/// };
///
/// let app_key = AppKey::new("12345");
/// let session_key = SessionKey::new("o0q0otL8aEzpcZL/FT9WsQ==");
/// let sign_data = SignData::new("123", 1, "order-0001")
///     .product("sku-1", 600)
///     .to_sign_data_string();
/// let params = json!({
///     "signData": sign_data,
///     "mode": "short_series_goods",
///     "paySig": pay_sig(&app_key, PaymentApi::VirtualPayment, &sign_data),
///     "signature": user_signature(&session_key, &sign_data),
/// });
///
/// let call = VirtualPaymentParams::from_params(PaymentApi::VirtualPayment, params.as_object().unwrap())?;
/// call.verify(&app_key, &session_key)?;
/// assert_eq!(call.mode, Some(PaymentMode::ShortSeriesGoods));
/// assert_eq!(call.order.goods_price, Some(600));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VirtualPaymentParams {
    /// Which API the params came to; its name is part of what `paySig` signs.
    pub api: PaymentApi,
    /// `signData` exactly as received: the bytes both signatures cover.
    pub sign_data: String,
    /// `signData` parsed. Informational: never re-serialize it to verify.
    pub order: SignData,
    /// requestVirtualPayment's `mode` param; for requestMidasPaymentGameItem,
    /// which has none, signData's `mode` (if any).
    pub mode: Option<PaymentMode>,
    /// `paySig`: hex HMAC-SHA256 under the [`AppKey`].
    pub pay_sig: String,
    /// `signature`: hex HMAC-SHA256 under the user's [`SessionKey`].
    pub signature: String,
}

impl VirtualPaymentParams {
    /// Reads the params of a call to `api`.
    ///
    /// `signData` must be a string (the JSON text that was signed; a mini
    /// program that passes an object forgot `JSON.stringify`). `mode` is
    /// required for requestVirtualPayment, where mode `short_series_goods`
    /// also requires signData's `productId` and `goodsPrice`.
    ///
    /// # Errors
    ///
    /// [`PaymentParamsError`] with object `api.as_str()` for the call's own
    /// params (`signData`, `mode`, `paySig`, `signature`: missing, not a
    /// string, empty), or `"signData"` for what [`SignData::parse`] rejects
    /// and for a `short_series_goods` order without `productId` or
    /// `goodsPrice`. Signatures are not checked here: see
    /// [`verify`](VirtualPaymentParams::verify).
    pub fn from_params(api: PaymentApi, params: &JsonObject) -> Result<Self, PaymentParamsError> {
        let fields = Fields::new(api.as_str(), params);
        let sign_data = match fields.value("signData") {
            None => return Err(fields.missing("signData")),
            Some(Value::String(s)) if s.is_empty() => {
                return Err(fields.invalid("signData", "must not be empty"));
            }
            Some(Value::String(s)) => s.clone(),
            Some(other) => {
                return Err(fields.wrong_type(
                    "signData",
                    "a string (the JSON text that was signed)",
                    other,
                ));
            }
        };
        let order = SignData::parse(&sign_data)?;
        let mode = match api {
            PaymentApi::VirtualPayment => Some(PaymentMode::from(fields.string("mode")?)),
            PaymentApi::MidasPaymentGameItem => match fields.optional_string("mode")? {
                Some(mode) => Some(PaymentMode::from(mode)),
                None => order.mode.clone(),
            },
        };
        if mode == Some(PaymentMode::ShortSeriesGoods) {
            let sign_data_fields = [
                ("productId", order.product_id.is_some()),
                ("goodsPrice", order.goods_price.is_some()),
            ];
            if let Some(&(field, _)) = sign_data_fields.iter().find(|(_, present)| !present) {
                return Err(PaymentParamsError::new(
                    SIGN_DATA,
                    PaymentParamsProblem::Invalid {
                        field,
                        reason: "is required when mode is short_series_goods".to_owned(),
                    },
                ));
            }
        }
        Ok(VirtualPaymentParams {
            api,
            pay_sig: fields.string("paySig")?.to_owned(),
            signature: fields.string("signature")?.to_owned(),
            sign_data,
            order,
            mode,
        })
    }

    /// Checks `paySig` (under `app_key`, for [`self.api`](VirtualPaymentParams::api))
    /// and then `signature` (under `session_key`), both over the raw
    /// `sign_data`, in constant time.
    ///
    /// # Errors
    ///
    /// The first [`SignatureError`]; its [`kind()`](SignatureError::kind)
    /// says which signature failed.
    pub fn verify(&self, app_key: &AppKey, session_key: &SessionKey) -> Result<(), SignatureError> {
        verify_pay_sig(app_key, self.api, &self.sign_data, &self.pay_sig)?;
        verify_user_signature(session_key, &self.sign_data, &self.signature)
    }
}

// ---------------------------------------------------------------------------
// requestPayment
// ---------------------------------------------------------------------------

/// The `signType` of `wx.requestPayment`: how the developer server signed
/// `paySign` (MD5 and HMAC-SHA256 for WeChat Pay v2, RSA for v3).
///
/// ```
/// use superapp_openapi::SignType;
/// assert_eq!(SignType::from_name("HMAC-SHA256"), Some(SignType::HmacSha256));
/// assert_eq!(SignType::Rsa.as_str(), "RSA");
/// assert_eq!(SignType::from_name("hmac-sha256"), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub enum SignType {
    /// `"MD5"`, WeChat's default when `signType` is absent.
    #[default]
    #[serde(rename = "MD5")]
    Md5,
    /// `"HMAC-SHA256"`
    #[serde(rename = "HMAC-SHA256")]
    HmacSha256,
    /// `"RSA"`
    #[serde(rename = "RSA")]
    Rsa,
}

impl SignType {
    /// Every sign type.
    pub const ALL: [SignType; 3] = [SignType::Md5, SignType::HmacSha256, SignType::Rsa];

    /// The wire name: `"MD5"`, `"HMAC-SHA256"` or `"RSA"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            SignType::Md5 => "MD5",
            SignType::HmacSha256 => "HMAC-SHA256",
            SignType::Rsa => "RSA",
        }
    }

    /// Parses a wire name, exactly (case-sensitive, as WeChat Pay is).
    pub fn from_name(name: &str) -> Option<SignType> {
        SignType::ALL.into_iter().find(|t| t.as_str() == name)
    }
}

impl fmt::Display for SignType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The params of `wx.requestPayment`, typed.
///
/// `timeStamp` is a string on the wire but mini programs often pass a number;
/// both are accepted and kept as the decimal string. `signType` follows
/// WeChat's documented default, [`SignType::Md5`], when absent (Tencent Cloud's
/// super-app docs list it as required and usually `RSA`). `paySign` is not
/// verified here: it is the payment backend's to check.
///
/// ```
/// use serde_json::json;
/// use superapp_openapi::{RequestPaymentParams, SignType};
/// let params = json!({
///     "timeStamp": 1490840662,
///     "nonceStr": "5K8264ILTKCH16CQ2502SI8ZNMTM67VS",
///     "package": "prepay_id=wx2017033010242291fcfe0db70013231072",
///     "signType": "RSA",
///     "paySign": "oR9d8Puh…",
/// });
/// let pay = RequestPaymentParams::from_params(params.as_object().unwrap())?;
/// assert_eq!(pay.time_stamp, "1490840662");
/// assert_eq!(pay.sign_type, SignType::Rsa);
/// assert_eq!(pay.prepay_id(), "wx2017033010242291fcfe0db70013231072");
/// # Ok::<(), superapp_openapi::PaymentParamsError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RequestPaymentParams {
    /// `timeStamp`: seconds since the Unix epoch, as a decimal string.
    pub time_stamp: String,
    /// `nonceStr`
    pub nonce_str: String,
    /// `package`: `prepay_id=…`.
    pub package: String,
    /// `signType`
    pub sign_type: SignType,
    /// `paySign`
    pub pay_sign: String,
}

impl RequestPaymentParams {
    /// The `package` prefix.
    pub const PREPAY_ID_PREFIX: &'static str = "prepay_id=";

    /// Reads the params of a `wx.requestPayment` call.
    ///
    /// # Errors
    ///
    /// [`PaymentParamsError`] with object `"requestPayment"`: `timeStamp`,
    /// `nonceStr`, `package` or `paySign` missing (absent or `null`), of the
    /// wrong type or empty; `timeStamp` a number that is not a non-negative
    /// integer; `signType` not one of `MD5`, `HMAC-SHA256`, `RSA`; `package`
    /// not `prepay_id=` followed by an id.
    pub fn from_params(params: &JsonObject) -> Result<Self, PaymentParamsError> {
        let fields = Fields::new(OpenApi::RequestPayment.as_str(), params);
        let time_stamp = match fields.value("timeStamp") {
            None => return Err(fields.missing("timeStamp")),
            Some(Value::String(s)) if s.is_empty() => {
                return Err(fields.invalid("timeStamp", "must not be empty"));
            }
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n
                .as_u64()
                .map(|n| n.to_string())
                .ok_or_else(|| fields.invalid("timeStamp", "must be a whole number of seconds"))?,
            Some(other) => {
                return Err(fields.wrong_type("timeStamp", "a string or a number", other));
            }
        };
        let nonce_str = fields.string("nonceStr")?.to_owned();
        let package = fields.string("package")?;
        if package
            .strip_prefix(Self::PREPAY_ID_PREFIX)
            .is_none_or(str::is_empty)
        {
            return Err(fields.invalid("package", "must look like prepay_id=…"));
        }
        let sign_type = match fields.optional_string("signType")? {
            None => SignType::default(),
            Some(name) => SignType::from_name(name).ok_or_else(|| {
                fields.invalid(
                    "signType",
                    format!("must be one of MD5, HMAC-SHA256, RSA, not {name:?}"),
                )
            })?,
        };
        Ok(RequestPaymentParams {
            time_stamp,
            nonce_str,
            package: package.to_owned(),
            sign_type,
            pay_sign: fields.string("paySign")?.to_owned(),
        })
    }

    /// The prepay id: `package` without its `prepay_id=` prefix.
    pub fn prepay_id(&self) -> &str {
        self.package
            .strip_prefix(Self::PREPAY_ID_PREFIX)
            .unwrap_or(&self.package)
    }
}

/// What a host's `request_payment` returns on success: `{pay_time, order_no}`
/// (snake_case on the wire, as super-app hosts return it), next to
/// `errMsg: "requestPayment:ok"`.
///
/// ```
/// use superapp_openapi::PaymentResult;
/// let result = PaymentResult::new(1_700_000_000, "4200001234202401011234567890").into_result();
/// assert_eq!(result["pay_time"], 1_700_000_000);
/// assert_eq!(result["order_no"], "4200001234202401011234567890");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentResult {
    /// `pay_time`: when the payment completed, in seconds since the Unix epoch.
    pub pay_time: i64,
    /// `order_no`: the payment backend's order number.
    pub order_no: String,
}

impl PaymentResult {
    /// A result paid at `pay_time` (Unix seconds) as order `order_no`.
    pub fn new(pay_time: i64, order_no: impl Into<String>) -> Self {
        PaymentResult {
            pay_time,
            order_no: order_no.into(),
        }
    }

    /// The result object for a handler: `{"pay_time": …, "order_no": …}`.
    pub fn into_result(self) -> JsonObject {
        let mut result = JsonObject::new();
        result.insert("pay_time".into(), Value::from(self.pay_time));
        result.insert("order_no".into(), Value::String(self.order_no));
        result
    }
}

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

/// Why payment params (or a signData) were rejected: which object, which
/// field, what was wrong.
///
/// The message reads `"<object>: <problem>"`, e.g.
/// `"requestPayment: nonceStr is missing"` or
/// `"signData: buyQuantity must be a positive integer"`.
///
/// A handler can `?` it: `From<PaymentParamsError> for HostError` gives
/// [`HostError::Failed`] with errno 102 ([`FailureKind::InvalidParams`]) and
/// the message `"invalid params: <problem>"` — the object is dropped when it
/// is the API itself, which `errMsg` already names, and kept for `signData`
/// — so the mini program sees
/// `"requestPayment:fail invalid params: nonceStr is missing"`.
///
/// ```
/// use superapp_openapi::{HostError, JsonObject, RequestPaymentParams};
/// let err = RequestPaymentParams::from_params(&JsonObject::new()).unwrap_err();
/// assert_eq!(err.to_string(), "requestPayment: timeStamp is missing");
/// assert_eq!((err.object(), err.field()), ("requestPayment", Some("timeStamp")));
/// assert_eq!(
///     HostError::from(err),
///     HostError::failed("invalid params: timeStamp is missing").with_errno(102),
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{object}: {problem}")]
pub struct PaymentParamsError {
    object: &'static str,
    problem: PaymentParamsProblem,
}

impl PaymentParamsError {
    fn new(object: &'static str, problem: PaymentParamsProblem) -> Self {
        PaymentParamsError { object, problem }
    }

    /// What the field belongs to: the API (`"requestPayment"`,
    /// `"requestVirtualPayment"`, `"requestMidasPaymentGameItem"`) or
    /// `"signData"`.
    pub fn object(&self) -> &'static str {
        self.object
    }

    /// The field at fault (`None` when signData as a whole is not a JSON object).
    pub fn field(&self) -> Option<&'static str> {
        self.problem.field()
    }

    /// What was wrong.
    pub fn problem(&self) -> &PaymentParamsProblem {
        &self.problem
    }

    /// The errno a reply carries: 102, invalid params (`docs/errors.md`).
    pub const fn errno(&self) -> i64 {
        FailureKind::InvalidParams.errno()
    }
}

impl From<PaymentParamsError> for HostError {
    fn from(err: PaymentParamsError) -> Self {
        let message = if err.object == SIGN_DATA {
            format!("invalid params: {err}")
        } else {
            format!("invalid params: {}", err.problem)
        };
        HostError::failed(message).with_errno(err.errno())
    }
}

/// What was wrong with a field; see [`PaymentParamsError`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PaymentParamsProblem {
    /// Absent or `null`.
    #[error("{field} is missing")]
    Missing {
        /// The wire name.
        field: &'static str,
    },
    /// Present with the wrong JSON type.
    #[error("{field} must be {expected}, not {found}")]
    WrongType {
        /// The wire name.
        field: &'static str,
        /// What it must be (`"a string"`, `"a string or a number"`…).
        expected: &'static str,
        /// The JSON type found (`"a number"`, `"an object"`…).
        found: &'static str,
    },
    /// Present with an unacceptable value.
    #[error("{field} {reason}")]
    Invalid {
        /// The wire name.
        field: &'static str,
        /// Why, phrased to follow the field name (`"must be a positive integer"`).
        reason: String,
    },
    /// signData is not JSON, or not a JSON object.
    #[error("not a JSON object ({reason})")]
    NotJsonObject {
        /// The parser's message, or the JSON type found.
        reason: String,
    },
}

impl PaymentParamsProblem {
    /// The field at fault, if the problem is about one field.
    pub fn field(&self) -> Option<&'static str> {
        match *self {
            PaymentParamsProblem::Missing { field }
            | PaymentParamsProblem::WrongType { field, .. }
            | PaymentParamsProblem::Invalid { field, .. } => Some(field),
            PaymentParamsProblem::NotJsonObject { .. } => None,
        }
    }
}

/// Field access with errors that name the object and the field.
struct Fields<'a> {
    object: &'static str,
    map: &'a JsonObject,
}

impl<'a> Fields<'a> {
    fn new(object: &'static str, map: &'a JsonObject) -> Self {
        Fields { object, map }
    }

    /// The field, treating `null` as absent (JS `undefined` becomes `null`
    /// in some bridges).
    fn value(&self, field: &str) -> Option<&'a Value> {
        self.map.get(field).filter(|v| !v.is_null())
    }

    /// A required, non-empty string.
    fn string(&self, field: &'static str) -> Result<&'a str, PaymentParamsError> {
        match self.optional_string(field)? {
            None => Err(self.missing(field)),
            Some("") => Err(self.invalid(field, "must not be empty")),
            Some(s) => Ok(s),
        }
    }

    /// An optional string (possibly empty).
    fn optional_string(&self, field: &'static str) -> Result<Option<&'a str>, PaymentParamsError> {
        match self.value(field) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(self.wrong_type(field, "a string", other)),
        }
    }

    fn missing(&self, field: &'static str) -> PaymentParamsError {
        PaymentParamsError::new(self.object, PaymentParamsProblem::Missing { field })
    }

    fn wrong_type(
        &self,
        field: &'static str,
        expected: &'static str,
        found: &Value,
    ) -> PaymentParamsError {
        PaymentParamsError::new(
            self.object,
            PaymentParamsProblem::WrongType {
                field,
                expected,
                found: json_type(found),
            },
        )
    }

    fn invalid(&self, field: &'static str, reason: impl Into<String>) -> PaymentParamsError {
        PaymentParamsError::new(
            self.object,
            PaymentParamsProblem::Invalid {
                field,
                reason: reason.into(),
            },
        )
    }
}
