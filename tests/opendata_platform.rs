//! The platform seals open data with the user's session key: what the
//! developer server got from jscode2session verifies and decrypts it, and
//! nothing is sealed without a live session. Each rule runs on the
//! in-memory store, and with `--features redis` on a Redis of the test's
//! own (`memory::…` and `redis::…` in the test names).

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use superapp_openapi::opendata::{OpenDataError, decrypt, verify_signature};
use superapp_openapi::openserver::Clock;
use superapp_openapi::{AppInfo, JsonObject};
use support::*;

macro_rules! rules {
    ($store:ty) => {
        rules!(@tests $store;
            sealed_user_info_verifies_and_decrypts_with_the_session_key_of_jscode2session,
            the_host_cannot_set_the_identity_fields,
            without_a_session_nothing_is_sealed_and_the_error_says_so,
            an_expired_session_seals_nothing,
            after_a_new_login_the_old_session_key_is_refused_as_stale,
            the_phone_number_is_sealed_with_its_parts_and_a_watermark,
            a_user_without_a_phone_number_gets_46005,
        );
    };
    (@tests $store:ty; $($rule:ident),+ $(,)?) => {
        $(
            #[tokio::test]
            async fn $rule() {
                crate::$rule::<$store>().await;
            }
        )+
    };
}

mod memory {
    rules!(crate::support::Memory);
}

#[cfg(feature = "redis")]
mod redis {
    rules!(crate::support::Redis);
}

fn user_info() -> JsonObject {
    object(json!({
        "nickName": "Ada", "avatarUrl": ADA_AVATAR, "gender": 2,
        "country": "", "province": "", "city": "", "language": "en",
    }))
}

/// `user` in APP_A1's user info, sealed.
async fn seal_info(
    server: &superapp_openapi::OpenServer,
    user: &str,
) -> Result<superapp_openapi::opendata::OpenData, superapp_openapi::openserver::OpenServerError> {
    server
        .seal_user_info(&AppInfo::new(APP_A1), &uid(user), &user_info())
        .await
}

pub async fn sealed_user_info_verifies_and_decrypts_with_the_session_key_of_jscode2session<
    S: StoreKind,
>() {
    let p = S::default_platform().await;
    let s = session(&p.server, APP_A1, ADA).await;
    let sealed = seal_info(&p.server, ADA).await.unwrap();

    verify_signature(&sealed.raw_data, &sealed.signature, &s.session_key).unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&sealed.raw_data).unwrap(),
        Value::Object(user_info())
    );
    let data = decrypt(&sealed.encrypted_data, &sealed.iv, &s.session_key, APP_A1).unwrap();
    assert_eq!(data["openId"], s.openid.as_str());
    assert_eq!(data["unionId"], s.unionid.as_str());
    assert_eq!(data["nickName"], "Ada");
    assert_eq!(data["watermark"]["appid"], APP_A1);
    assert_eq!(data["watermark"]["timestamp"], p.clock.now_millis() / 1000);
}

pub async fn the_host_cannot_set_the_identity_fields<S: StoreKind>() {
    let p = S::default_platform().await;
    let s = session(&p.server, APP_A1, ADA).await;
    let mut forged = user_info();
    forged.insert("openId".into(), "someone-else".into());
    forged.insert("unionId".into(), "someone-else".into());
    forged.insert("watermark".into(), json!({"appid": APP_B1, "timestamp": 1}));
    let sealed = p
        .server
        .seal_user_info(&AppInfo::new(APP_A1), &uid(ADA), &forged)
        .await
        .unwrap();
    assert!(
        !sealed.raw_data.contains("someone-else"),
        "{}",
        sealed.raw_data
    );
    let data = sealed.decrypt(&s.session_key, APP_A1).unwrap();
    assert_eq!(data["openId"], s.openid.as_str());
    assert_eq!(data["unionId"], s.unionid.as_str());
    assert_eq!(data["watermark"]["appid"], APP_A1);
}

pub async fn without_a_session_nothing_is_sealed_and_the_error_says_so<S: StoreKind>() {
    let p = S::default_platform().await;
    // A login code alone is no session: the developer server has not
    // exchanged it, so it holds no key to check with.
    login_code(&p.server, APP_A1, ADA).await;
    let err = seal_info(&p.server, ADA).await.unwrap_err();
    assert_eq!(err.errcode(), 46006);
    assert!(err.errmsg().contains("jscode2session"), "{}", err.errmsg());
    let err = p
        .server
        .seal_phone_number(&AppInfo::new(APP_A1), &uid(ADA))
        .await
        .unwrap_err();
    assert_eq!(err.errcode(), 46006);
    // A session in another app is not one in this app.
    session(&p.server, APP_A2, ADA).await;
    assert_eq!(
        seal_info(&p.server, ADA).await.unwrap_err().errcode(),
        46006
    );
}

pub async fn an_expired_session_seals_nothing<S: StoreKind>() {
    let p = S::default_platform().await;
    session(&p.server, APP_A1, ADA).await;
    p.clock
        .advance(p.config.session_ttl + Duration::from_millis(1));
    let err = seal_info(&p.server, ADA).await.unwrap_err();
    assert_eq!(err.errcode(), 46006);
}

pub async fn after_a_new_login_the_old_session_key_is_refused_as_stale<S: StoreKind>() {
    let p = S::default_platform().await;
    let old = session(&p.server, APP_A1, ADA).await;
    let new = session(&p.server, APP_A1, ADA).await;
    assert_ne!(old.session_key, new.session_key);
    let sealed = seal_info(&p.server, ADA).await.unwrap();
    sealed.verify(&new.session_key).unwrap();
    sealed.decrypt(&new.session_key, APP_A1).unwrap();

    let err = sealed.verify(&old.session_key).unwrap_err();
    assert_eq!(err, OpenDataError::Signature);
    let err = sealed.decrypt(&old.session_key, APP_A1).unwrap_err();
    assert!(err.may_be_stale_key(), "{err:?}");
    assert!(err.to_string().contains("stale session_key"), "{err}");
}

pub async fn the_phone_number_is_sealed_with_its_parts_and_a_watermark<S: StoreKind>() {
    let p = S::default_platform().await;
    let s = session(&p.server, APP_A1, ADA).await;
    let sealed = p
        .server
        .seal_phone_number(&AppInfo::new(APP_A1), &uid(ADA))
        .await
        .unwrap();
    let data = decrypt(&sealed.encrypted_data, &sealed.iv, &s.session_key, APP_A1).unwrap();
    assert_eq!(data["phoneNumber"], ADA_PHONE);
    assert_eq!(data["purePhoneNumber"], "13800138000");
    assert_eq!(data["countryCode"], "86");
    assert_eq!(data["watermark"]["appid"], APP_A1);
}

pub async fn a_user_without_a_phone_number_gets_46005<S: StoreKind>() {
    let p = S::default_platform().await;
    session(&p.server, APP_A1, BOB).await;
    let err = p
        .server
        .seal_phone_number(&AppInfo::new(APP_A1), &uid(BOB))
        .await
        .unwrap_err();
    assert_eq!(err.errcode(), 46005);
}

/// Several instances on one Redis: each seals under the key the exchange on
/// another gave, and the Redis holds neither that key nor its bytes.
#[cfg(feature = "redis")]
#[tokio::test]
async fn every_instance_seals_with_the_same_key_and_redis_holds_no_key() {
    use base64::Engine as _;
    let p = Redis::default_platform().await;
    let other = p.another_instance().await;
    let s = session(&p.server, APP_A1, ADA).await;
    let sealed = seal_info(&other, ADA).await.unwrap();
    sealed.verify(&s.session_key).unwrap();
    sealed.decrypt(&s.session_key, APP_A1).unwrap();

    let dump = p.redis.as_ref().unwrap().dump();
    let key_bytes = base64::engine::general_purpose::STANDARD
        .decode(s.session_key.secret())
        .unwrap();
    assert!(
        !dump.contains(s.session_key.secret()),
        "the session_key is in Redis"
    );
    assert!(
        !dump.contains(&hex::encode(&key_bytes)),
        "the session_key's bytes are in Redis"
    );
    assert!(
        !dump
            .as_bytes()
            .windows(16)
            .any(|w| w == key_bytes.as_slice()),
        "the session_key's raw bytes are in Redis"
    );
}
