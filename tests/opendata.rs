//! WeChat's signed and encrypted user data: the published known answers,
//! round trips, and every way a developer server's input can be wrong.

use proptest::prelude::*;
use serde_json::{Value, json};
use superapp_openapi::SessionKey;
use superapp_openapi::opendata::{
    MAX_ENCRYPTED_DATA_LEN, OpenData, OpenDataError, Watermark, decrypt, seal, sign,
    verify_signature,
};

#[path = "vectors/wechat.rs"]
mod wechat;
use wechat::*;

fn key(text: &str) -> SessionKey {
    SessionKey::new(text)
}

fn object(value: Value) -> serde_json::Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

#[test]
fn wechats_published_signature_example_is_reproduced() {
    assert_eq!(sign(SIGNATURE_RAW_DATA, &key(SIGNATURE_KEY)), SIGNATURE);
    verify_signature(SIGNATURE_RAW_DATA, SIGNATURE, &key(SIGNATURE_KEY)).unwrap();
    verify_signature(
        SIGNATURE_RAW_DATA,
        &SIGNATURE.to_uppercase(),
        &key(SIGNATURE_KEY),
    )
    .unwrap();
}

#[test]
fn a_signature_under_another_key_or_over_other_data_is_refused_naming_a_stale_key() {
    let err = verify_signature(SIGNATURE_RAW_DATA, SIGNATURE, &key(SESSION_KEY)).unwrap_err();
    assert_eq!(err, OpenDataError::Signature);
    assert!(err.to_string().contains("stale session_key"), "{err}");
    assert!(err.may_be_stale_key());
    let tampered = SIGNATURE_RAW_DATA.replace("Band", "Bond");
    assert_eq!(
        verify_signature(&tampered, SIGNATURE, &key(SIGNATURE_KEY)),
        Err(OpenDataError::Signature)
    );
    assert_eq!(
        verify_signature(SIGNATURE_RAW_DATA, "", &key(SIGNATURE_KEY)),
        Err(OpenDataError::Signature)
    );
}

#[test]
fn wechats_published_decryption_example_is_reproduced() {
    let data = decrypt(ENCRYPTED_DATA, IV, &key(SESSION_KEY), APPID).unwrap();
    assert_eq!(data["watermark"]["appid"], APPID);
    assert_eq!(data["watermark"]["timestamp"], 1_477_314_187);
    assert_eq!(data["openId"], "oGZUI0egBJY1zhBYw2KhdUfwVJJE");
    assert_eq!(data["unionId"], "ocMvos6NjeKLIBqg5Mr9QjxrP1FA");
    assert_eq!(data["nickName"], "Band");
}

#[test]
fn the_published_example_for_another_appid_is_refused_naming_both() {
    let err = decrypt(ENCRYPTED_DATA, IV, &key(SESSION_KEY), "wx-other").unwrap_err();
    assert_eq!(
        err,
        OpenDataError::AppId {
            expected: "wx-other".into(),
            found: APPID.into()
        }
    );
    assert_eq!(err.code(), -41003);
    assert!(err.to_string().contains("another mini program"), "{err}");
}

#[test]
fn the_published_example_under_a_stale_key_is_refused_naming_a_stale_key() {
    // Any other 16-byte key: almost always bad padding, once in 256 keys a
    // plaintext that is no JSON object. Both name the stale key.
    let err = decrypt(ENCRYPTED_DATA, IV, &key(SIGNATURE_KEY), APPID).unwrap_err();
    assert!(
        matches!(err, OpenDataError::BadPadding | OpenDataError::NotUserData),
        "{err:?}"
    );
    assert!(err.to_string().contains("stale session_key"), "{err}");
    assert!(err.may_be_stale_key());
}

#[test]
fn sealed_user_data_round_trips_and_the_signature_covers_only_the_visible_fields() {
    let session_key = key(SESSION_KEY);
    let visible = object(json!({"nickName": "Ada", "gender": 2, "language": "en"}));
    let identity = object(json!({"openId": "o-1", "unionId": "u-1"}));
    let sealed = OpenData::seal(
        &visible,
        &identity,
        &Watermark::new("wx-shop", 1_700_000_000),
        &session_key,
    )
    .unwrap();

    assert_eq!(
        serde_json::from_str::<Value>(&sealed.raw_data).unwrap(),
        Value::Object(visible)
    );
    sealed.verify(&session_key).unwrap();
    let data = sealed.decrypt(&session_key, "wx-shop").unwrap();
    assert_eq!(data["openId"], "o-1");
    assert_eq!(data["unionId"], "u-1");
    assert_eq!(data["nickName"], "Ada");
    assert_eq!(
        data["watermark"],
        json!({"appid": "wx-shop", "timestamp": 1_700_000_000})
    );

    // The four fields on the wire, as the mini program receives them.
    let wire = serde_json::to_value(&sealed).unwrap();
    for field in ["rawData", "signature", "encryptedData", "iv"] {
        assert!(wire[field].is_string(), "{field} in {wire}");
    }
}

#[test]
fn every_seal_has_a_fresh_iv() {
    let data = object(json!({"phoneNumber": "+8613800000000"}));
    let watermark = Watermark::new("wx-shop", 1);
    let first = seal(&data, &watermark, &key(SESSION_KEY)).unwrap();
    let second = seal(&data, &watermark, &key(SESSION_KEY)).unwrap();
    assert_ne!(first.iv, second.iv);
    assert_ne!(first.encrypted_data, second.encrypted_data);
}

#[test]
fn sealing_with_a_malformed_session_key_is_refused() {
    let err = seal(&object(json!({})), &Watermark::new("a", 1), &key("short")).unwrap_err();
    assert_eq!(err, OpenDataError::SessionKey);
    assert_eq!(err.code(), -41001);
}

#[test]
fn tampered_truncated_and_malformed_input_each_get_their_error() {
    let session_key = key(SESSION_KEY);
    let decrypt = |data: &str, iv: &str| decrypt(data, iv, &session_key, APPID);

    // A flipped bit in the last block breaks the padding or the JSON.
    let mut bytes: Vec<char> = ENCRYPTED_DATA.chars().collect();
    let at = bytes.len() - 8;
    bytes[at] = if bytes[at] == 'A' { 'B' } else { 'A' };
    let tampered: String = bytes.into_iter().collect();
    assert!(matches!(
        decrypt(&tampered, IV),
        Err(OpenDataError::BadPadding | OpenDataError::NotUserData)
    ));

    // A flipped bit in the iv changes the first block: no longer JSON.
    assert_eq!(
        decrypt(ENCRYPTED_DATA, "s7BXXKkLb8qrSNn05n0qiA=="),
        Err(OpenDataError::NotUserData)
    );

    // Cut at a block boundary (the padding goes) and inside a block.
    assert!(matches!(
        decrypt(&ENCRYPTED_DATA[..64], IV),
        Err(OpenDataError::BadPadding | OpenDataError::NotUserData)
    ));
    assert_eq!(
        decrypt(&ENCRYPTED_DATA[..60], IV),
        Err(OpenDataError::Truncated { len: 45 })
    );
    assert_eq!(decrypt("", IV), Err(OpenDataError::Truncated { len: 0 }));

    // A `+` that URL decoding turned into a space.
    let spaced = ENCRYPTED_DATA.replace('+', " ");
    let err = decrypt(&spaced, IV).unwrap_err();
    assert_eq!(
        err,
        OpenDataError::Base64 {
            field: "encryptedData"
        }
    );
    assert_eq!(err.code(), -41004);
    assert!(err.to_string().contains("URL decoding"), "{err}");

    assert_eq!(
        decrypt(ENCRYPTED_DATA, "short"),
        Err(OpenDataError::Base64 { field: "iv" })
    );
    assert_eq!(decrypt(ENCRYPTED_DATA, "AAAA"), Err(OpenDataError::Iv));
    assert_eq!(
        decrypt_under_key("tiihtNczf5v6AKRyjwEU"),
        Err(OpenDataError::SessionKey)
    );

    let huge = "A".repeat(MAX_ENCRYPTED_DATA_LEN + 4);
    assert_eq!(
        decrypt(&huge, IV),
        Err(OpenDataError::TooLong {
            len: MAX_ENCRYPTED_DATA_LEN + 4,
            max: MAX_ENCRYPTED_DATA_LEN
        })
    );
}

fn decrypt_under_key(session_key: &str) -> Result<serde_json::Map<String, Value>, OpenDataError> {
    decrypt(ENCRYPTED_DATA, IV, &key(session_key), APPID)
}

#[test]
fn errors_print_no_secret() {
    let err = decrypt(ENCRYPTED_DATA, IV, &key(SIGNATURE_KEY), APPID).unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(
        !shown.contains(SIGNATURE_KEY) && !shown.contains(IV),
        "{shown}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn decrypt_never_panics_on_any_text(data in ".{0,300}", iv in ".{0,40}", session_key in ".{0,40}", appid in ".{0,20}") {
        let _ = decrypt(&data, &iv, &key(&session_key), &appid);
    }

    #[test]
    fn decrypt_never_panics_on_any_ciphertext_under_a_valid_key(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        use base64::Engine as _;
        let data = base64::engine::general_purpose::STANDARD.encode(&bytes);
        let _ = decrypt(&data, IV, &key(SESSION_KEY), APPID);
    }

    #[test]
    fn whatever_is_sealed_decrypts_to_itself(nick in ".{0,40}", timestamp in any::<u64>()) {
        let session_key = key(SESSION_KEY);
        let visible = object(json!({"nickName": nick}));
        let sealed = OpenData::seal(&visible, &object(json!({"openId": "o"})), &Watermark::new(APPID, timestamp), &session_key).unwrap();
        sealed.verify(&session_key).unwrap();
        let data = sealed.decrypt(&session_key, APPID).unwrap();
        prop_assert_eq!(&data["nickName"], &Value::String(nick));
        prop_assert_eq!(&data["watermark"]["timestamp"], &json!(timestamp));
    }
}
