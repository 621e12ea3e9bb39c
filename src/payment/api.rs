//! [`PaymentApi`]: which virtual-payment API a `paySig` is for.

use std::fmt;

use crate::api::OpenApi;

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
/// use superapp_openapi::payment::PaymentApi;
/// use superapp_openapi::OpenApi;
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

#[cfg(test)]
mod tests {
    use super::PaymentApi;

    #[test]
    fn all_lists_every_payment_api() {
        let every = every_variant!(PaymentApi {
            MidasPaymentGameItem,
            VirtualPayment,
        });
        assert_eq!(PaymentApi::ALL, every);
    }
}
