//! A v1 host: it answers every open API itself — login from its own backend,
//! the user-info object of the seeds for getUserInfo/getUserProfile, and
//! requestPayment that succeeds with `{pay_time, order_no}` or fails with a
//! cancel. Mini-game payments are checked with the payment helpers.
//!
//! Run: `cargo run --example v1_host`
//! It prints each call and the reply the mini program receives, and exits
//! non-zero if a reply is not what it prints it expects.

use async_trait::async_trait;
use serde_json::{Value, json};
use superapp_openapi::{
    AppInfo, Dispatcher, Gender, HandlerResult, HostError, JsonObject, OpenApiHandler, SessionKey,
    UserInfo,
    payment::{
        AppKey, PaymentApi, PaymentResult, RequestPaymentParams, SignData, VirtualPaymentParams,
        pay_sig, user_signature,
    },
};

const APP_KEY: &str = "midas-app-key";

/// The host, with what its own backend knows about the signed-in user.
struct V1Host {
    user: UserInfo,
    session_key: SessionKey,
}

fn one(field: &str, value: impl Into<Value>) -> JsonObject {
    let mut result = JsonObject::new();
    result.insert(field.into(), value.into());
    result
}

#[async_trait]
impl OpenApiHandler for V1Host {
    async fn login(&self, _app: &AppInfo, _params: JsonObject) -> HandlerResult {
        // A real host asks its backend; the code goes to the developer server.
        Ok(one("code", "v1-code-from-the-host-backend"))
    }

    async fn check_session(&self, _app: &AppInfo, _params: JsonObject) -> HandlerResult {
        Ok(JsonObject::new())
    }

    async fn get_phone_number(&self, _app: &AppInfo, _params: JsonObject) -> HandlerResult {
        Ok(one("code", "v1-phone-code"))
    }

    async fn get_email(&self, _app: &AppInfo, _params: JsonObject) -> HandlerResult {
        Err(HostError::denied("the user keeps their email private"))
    }

    async fn choose_avatar(&self, _app: &AppInfo, _params: JsonObject) -> HandlerResult {
        Ok(one("avatarUrl", self.user.avatar_url.clone()))
    }

    async fn get_nick_name(&self, _app: &AppInfo, _params: JsonObject) -> HandlerResult {
        Ok(one("nickName", self.user.nick_name.clone()))
    }

    async fn get_user_info(&self, _app: &AppInfo, _params: JsonObject) -> HandlerResult {
        Ok(self.user.clone().into_result())
    }

    async fn get_user_profile(&self, _app: &AppInfo, params: JsonObject) -> HandlerResult {
        // wx.getUserProfile must say why it wants the profile.
        match params.get("desc").and_then(Value::as_str) {
            Some(desc) if !desc.is_empty() => Ok(self.user.clone().into_result()),
            _ => Err(HostError::failed("getUserProfile needs a desc").with_errno(102)),
        }
    }

    async fn request_payment(&self, _app: &AppInfo, params: JsonObject) -> HandlerResult {
        let payment = RequestPaymentParams::from_params(&params)?;
        // The host shows its cashier; this one lets the user back out of
        // one particular order to show the cancel.
        if payment.prepay_id() == "wx-prepay-the-user-cancels" {
            return Err(HostError::Cancelled);
        }
        Ok(
            PaymentResult::new(1_732_000_000, format!("order-{}", payment.prepay_id()))
                .into_result(),
        )
    }

    async fn request_midas_payment_game_item(
        &self,
        _app: &AppInfo,
        params: JsonObject,
    ) -> HandlerResult {
        let payment = VirtualPaymentParams::from_params(PaymentApi::MidasPaymentGameItem, &params)?;
        payment.verify(&AppKey::new(APP_KEY), &self.session_key)?;
        Ok(one("orderId", "midas-order-1"))
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let session_key = SessionKey::new("c2Vzc2lvbi1rZXktb2YtYWRh");
    let host = V1Host {
        user: UserInfo {
            nick_name: "xcode".into(),
            avatar_url: "https://example.com/xcode.png".into(),
            gender: Gender::Male,
            country: "China".into(),
            province: "ChongQing".into(),
            city: "ChongQing".into(),
            language: "zh_CN".into(),
        },
        session_key: session_key.clone(),
    };
    let dispatcher = Dispatcher::builder(host).build(); // v1 is the default
    let app = AppInfo::new("wx-v1-shop");

    let sign_data = SignData::new("offer-1", 1, "trade-42")
        .with_product("gem-pack", 600)
        .to_sign_data_string();
    let midas = json!({
        "signData": sign_data,
        "mode": "short_series_goods",
        "paySig": pay_sig(&AppKey::new(APP_KEY), PaymentApi::MidasPaymentGameItem, &sign_data),
        "signature": user_signature(&session_key, &sign_data),
    });
    let payment = |package: &str| {
        json!({
            "timeStamp": "1732000000",
            "nonceStr": "5K8264ILTKCH16CQ2502SI8ZNMTM67VS",
            "package": package,
            "signType": "HMAC-SHA256",
            "paySign": "22D9B4E54AB1950F51E0649E8810ACD6",
        })
    };

    let calls: Vec<(&str, Value, &str)> = vec![
        ("wx.login", json!({}), "login:ok"),
        ("wx.checkSession", json!({}), "checkSession:ok"),
        ("wx.getPhoneNumber", json!({}), "getPhoneNumber:ok"),
        (
            "wx.getEmail",
            json!({}),
            "getEmail:fail auth deny: the user keeps their email private",
        ),
        ("wx.chooseAvatar", json!({}), "chooseAvatar:ok"),
        ("wx.getNickName", json!({}), "getNickName:ok"),
        ("wx.getUserInfo", json!({}), "getUserInfo:ok"),
        (
            "wx.getUserProfile",
            json!({"desc": "show your profile"}),
            "getUserProfile:ok",
        ),
        (
            "wx.getUserProfile",
            json!({}),
            "getUserProfile:fail getUserProfile needs a desc",
        ),
        (
            "wx.requestPayment",
            payment("prepay_id=wx-prepay-1"),
            "requestPayment:ok",
        ),
        (
            "wx.requestPayment",
            payment("prepay_id=wx-prepay-the-user-cancels"),
            "requestPayment:fail cancel",
        ),
        (
            "wx.requestPayment",
            json!({"timeStamp": 1}),
            "requestPayment:fail invalid params: nonceStr is missing",
        ),
        (
            "wx.requestMidasPaymentGameItem",
            midas,
            "requestMidasPaymentGameItem:ok",
        ),
        (
            "wx.requestVirtualPayment",
            json!({}),
            "requestVirtualPayment:fail requestVirtualPayment is not implemented by the host",
        ),
    ];
    let mut failures = 0;
    for (api, params, expected) in calls {
        let reply = dispatcher.invoke(&app, api, params).await;
        let ok = reply.err_msg() == expected;
        failures += usize::from(!ok);
        println!(
            "{api}\n  -> {}{}",
            reply.to_json_string(),
            if ok { "" } else { "   <-- unexpected" }
        );
        if !ok {
            println!("     expected errMsg: {expected}");
        }
    }
    if failures > 0 {
        return Err(format!("{failures} replies were not as expected").into());
    }
    println!("\nevery API answered by the v1 host");
    Ok(())
}
