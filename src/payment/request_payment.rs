//! `wx.requestPayment`: [`SignType`], [`RequestPaymentParams`] and
//! [`PaymentResult`].

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::error::PaymentParamsError;
use super::fields::Fields;
use crate::api::OpenApi;
use crate::handler::JsonObject;

/// The `signType` of `wx.requestPayment`: how the developer server signed
/// `paySign` (MD5 and HMAC-SHA256 for WeChat Pay v2, RSA for v3).
///
/// ```
/// use superapp_openapi::payment::SignType;
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
/// use superapp_openapi::payment::{RequestPaymentParams, SignType};
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
/// # Ok::<(), superapp_openapi::payment::PaymentParamsError>(())
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
/// use superapp_openapi::payment::PaymentResult;
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

#[cfg(test)]
mod tests {
    use super::SignType;

    #[test]
    fn all_lists_every_sign_type() {
        let every = every_variant!(SignType {
            Md5,
            HmacSha256,
            Rsa
        });
        assert_eq!(SignType::ALL, every);
    }
}
