//! [`SignData`], the typed view of a virtual-payment `signData`, with its
//! [`PaymentEnv`] and [`PaymentMode`].

use std::fmt;
use std::hash::{Hash, Hasher};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use super::error::{PaymentParamsError, PaymentParamsProblem, SIGN_DATA};
use super::fields::Fields;
use crate::app::json_type;

/// The virtual-payment environment: signData's `env`, a number on the wire.
///
/// ```
/// use superapp_openapi::payment::PaymentEnv;
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
/// use superapp_openapi::payment::PaymentMode;
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
/// use superapp_openapi::payment::{AppKey, PaymentApi, SignData, pay_sig, user_signature};
/// use superapp_openapi::SessionKey;
/// // Developer server: build, serialize once, sign that string.
/// let order = SignData::new("123", 1, "xxxxxx")
///     .with_product("testproductId", 10)
///     .with_attach("testdata");
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
/// # Ok::<(), superapp_openapi::payment::PaymentParamsError>(())
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
    pub fn with_env(mut self, env: PaymentEnv) -> Self {
        self.env = env;
        self
    }

    /// Sets `productId` and `goodsPrice` (unit price in fen), as an item
    /// purchase needs.
    pub fn with_product(mut self, product_id: impl Into<String>, goods_price: u64) -> Self {
        self.product_id = Some(product_id.into());
        self.goods_price = Some(goods_price);
        self
    }

    /// Sets `attach`.
    pub fn with_attach(mut self, attach: impl Into<String>) -> Self {
        self.attach = Some(attach.into());
        self
    }

    /// Sets `mode` inside signData (requestMidasPaymentGameItem).
    pub fn with_mode(mut self, mode: impl Into<PaymentMode>) -> Self {
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
    /// use superapp_openapi::payment::{PaymentEnv, SignData};
    /// let order = SignData::parse(r#"{"offerId":"123","buyQuantity":2,"env":1,"currencyType":"CNY","outTradeNo":"order-0001"}"#)?;
    /// assert_eq!(order.buy_quantity, 2);
    /// assert_eq!(order.env, PaymentEnv::Sandbox);
    ///
    /// let err = SignData::parse(r#"{"offerId":"123","buyQuantity":1,"currencyType":"CNY"}"#).unwrap_err();
    /// assert_eq!(err.to_string(), "signData: outTradeNo is missing");
    /// # Ok::<(), superapp_openapi::payment::PaymentParamsError>(())
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
