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

mod api;
mod error;
mod fields;
mod request_payment;
mod sign_data;
mod signature;
mod virtual_payment;

pub use crate::secret::AppKey;
pub use api::PaymentApi;
pub use error::{PaymentParamsError, PaymentParamsProblem};
pub use request_payment::{PaymentResult, RequestPaymentParams, SignType};
pub use sign_data::{PaymentEnv, PaymentMode, SignData};
pub use signature::{
    SignatureError, SignatureKind, pay_sig, user_signature, verify_pay_sig, verify_user_signature,
};
pub use virtual_payment::VirtualPaymentParams;
