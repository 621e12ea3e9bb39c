//! [`VirtualPaymentParams`]: the params of `wx.requestVirtualPayment` and
//! `wx.requestMidasPaymentGameItem`.

use serde_json::Value;

use super::api::PaymentApi;
use super::error::{PaymentParamsError, PaymentParamsProblem, SIGN_DATA};
use super::fields::Fields;
use super::sign_data::{PaymentMode, SignData};
use super::signature::{SignatureError, verify_pay_sig, verify_user_signature};
use crate::handler::JsonObject;
use crate::secret::{AppKey, SessionKey};

/// The params of `wx.requestVirtualPayment` / `wx.requestMidasPaymentGameItem`,
/// typed: the raw `signData`, its parsed view, the `mode`, and both signatures.
///
/// ```
/// use serde_json::json;
/// use superapp_openapi::payment::{AppKey, PaymentApi, PaymentMode, SignData, VirtualPaymentParams, pay_sig, user_signature};
/// use superapp_openapi::SessionKey;
///
/// let app_key = AppKey::new("12345");
/// let session_key = SessionKey::new("o0q0otL8aEzpcZL/FT9WsQ==");
/// let sign_data = SignData::new("123", 1, "order-0001")
///     .with_product("sku-1", 600)
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
