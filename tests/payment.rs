//! Payment helpers: known-answer signatures, signature checks, signData and
//! the typed params of the payment APIs.

mod support;

use serde_json::{Value, json};
use superapp_openapi::{
    HostError, SessionKey,
    payment::{
        AppKey, PaymentApi, PaymentEnv, PaymentMode, PaymentParamsProblem, PaymentResult,
        RequestPaymentParams, SignData, SignType, SignatureError, SignatureKind,
        VirtualPaymentParams, pay_sig, user_signature, verify_pay_sig, verify_user_signature,
    },
};
use support::*;

/// WeChat's documented example signData for wx.requestVirtualPayment.
const SIGN_DATA: &str = r#"{"offerId":"123","buyQuantity":1,"env":0,"currencyType":"CNY","productId":"testproductId","goodsPrice":10,"outTradeNo":"xxxxxx","attach":"testdata"}"#;

/// WeChat's documented example signData for wx.requestMidasPaymentGameItem.
const GAME_ITEM_SIGN_DATA: &str = r#"{"mode":"goods","offerId":"123","buyQuantity":1,"env":0,"currencyType":"CNY","platform":"android","zoneId":"1","productId":"testproductId","goodsPrice":10,"outTradeNo":"xxxxxx","attach":"testdata"}"#;

/// The AppKey of WeChat's signature examples.
const APP_KEY: &str = "12345";

/// The session key of WeChat's session-signature example.
const SESSION_KEY: &str = "o0q0otL8aEzpcZL/FT9WsQ==";

// python3 -c 'import hmac,hashlib; print(hmac.new(b"12345", b"""requestVirtualPayment&{"offerId":"123","buyQuantity":1,"env":0,"currencyType":"CNY","productId":"testproductId","goodsPrice":10,"outTradeNo":"xxxxxx","attach":"testdata"}""", hashlib.sha256).hexdigest())'
const VIRTUAL_PAYMENT_PAY_SIG: &str =
    "0ce2a9fcab3532e9f78dd3beb841806c0c08a24ec26b04c366584ac06d852bb0";

// python3 -c 'import hmac,hashlib; print(hmac.new(b"12345", b"""requestMidasPaymentGameItem&{"offerId":"123","buyQuantity":1,"env":0,"currencyType":"CNY","productId":"testproductId","goodsPrice":10,"outTradeNo":"xxxxxx","attach":"testdata"}""", hashlib.sha256).hexdigest())'
const GAME_ITEM_PAY_SIG: &str = "278af12224ce4fef7b6088c97fea176e7b1dcbcf08d8302336ee2b5c03bd932e";

// python3 -c 'import hmac,hashlib; print(hmac.new(b"12345", b"""requestMidasPaymentGameItem&{"mode":"goods","offerId":"123","buyQuantity":1,"env":0,"currencyType":"CNY","platform":"android","zoneId":"1","productId":"testproductId","goodsPrice":10,"outTradeNo":"xxxxxx","attach":"testdata"}""", hashlib.sha256).hexdigest())'
const GAME_ITEM_WITH_MODE_PAY_SIG: &str =
    "309fa3ae45ac82ed892eec950721558316d23b009c6b479d40d5f949bd5030eb";

// python3 -c 'import hmac,hashlib; print(hmac.new(b"o0q0otL8aEzpcZL/FT9WsQ==", b"""{"offerId":"123","buyQuantity":1,"env":0,"currencyType":"CNY","productId":"testproductId","goodsPrice":10,"outTradeNo":"xxxxxx","attach":"testdata"}""", hashlib.sha256).hexdigest())'
const USER_SIGNATURE: &str = "d40bfeffb5a3832a2e27a85372b32cab0a433bf90dd5b22813747e27d1505af8";

// python3 -c 'import hmac,hashlib; print(hmac.new(b"o0q0otL8aEzpcZL/FT9WsQ==", b"", hashlib.sha256).hexdigest())'
const CHECKSESSION_SIGNATURE: &str =
    "46e043c5525c2d817c44be603d30837a808a1d930d038f6fdc3e62a201fed128";

// python3 -c 'import hmac,hashlib; print(hmac.new(b"o0q0otL8aEzpcZL/FT9WsQ==", b"""{"foo":"bar"}""", hashlib.sha256).hexdigest())'
// (also the value WeChat's "用户登录态签名" page publishes for this key and body)
const FOO_BAR_SIGNATURE: &str = "654571f79995b2ce1e149e53c0a33dc39c0a74090db514261454e8dbe432aa0b";

fn app_key() -> AppKey {
    AppKey::new(APP_KEY)
}

fn session_key() -> SessionKey {
    SessionKey::new(SESSION_KEY)
}

// --- known answers ----------------------------------------------------------

#[test]
fn pay_sig_for_request_virtual_payment_matches_python_hmac() {
    assert_eq!(
        pay_sig(&app_key(), PaymentApi::VirtualPayment, SIGN_DATA),
        VIRTUAL_PAYMENT_PAY_SIG
    );
}

#[test]
fn pay_sig_for_request_midas_payment_game_item_matches_python_hmac() {
    assert_eq!(
        pay_sig(&app_key(), PaymentApi::MidasPaymentGameItem, SIGN_DATA),
        GAME_ITEM_PAY_SIG
    );
    assert_eq!(
        pay_sig(
            &app_key(),
            PaymentApi::MidasPaymentGameItem,
            GAME_ITEM_SIGN_DATA
        ),
        GAME_ITEM_WITH_MODE_PAY_SIG
    );
}

#[test]
fn user_signature_matches_python_hmac() {
    assert_eq!(user_signature(&session_key(), SIGN_DATA), USER_SIGNATURE);
}

#[test]
fn user_signature_of_the_empty_message_is_the_checksession_signature() {
    assert_eq!(user_signature(&session_key(), ""), CHECKSESSION_SIGNATURE);
}

#[test]
fn user_signature_reproduces_wechats_published_session_signature_example() {
    assert_eq!(
        user_signature(&session_key(), r#"{"foo":"bar"}"#),
        FOO_BAR_SIGNATURE
    );
}

#[test]
fn payment_api_names_are_the_uris_wechat_signs() {
    assert_eq!(PaymentApi::VirtualPayment.as_str(), "requestVirtualPayment");
    assert_eq!(
        PaymentApi::MidasPaymentGameItem.as_str(),
        "requestMidasPaymentGameItem"
    );
    assert_eq!(
        PaymentApi::VirtualPayment.to_string(),
        "requestVirtualPayment"
    );
}

// --- verification -----------------------------------------------------------

#[test]
fn verify_pay_sig_accepts_the_right_signature_for_each_api() {
    verify_pay_sig(
        &app_key(),
        PaymentApi::VirtualPayment,
        SIGN_DATA,
        VIRTUAL_PAYMENT_PAY_SIG,
    )
    .unwrap();
    verify_pay_sig(
        &app_key(),
        PaymentApi::MidasPaymentGameItem,
        SIGN_DATA,
        GAME_ITEM_PAY_SIG,
    )
    .unwrap();
}

#[test]
fn verify_user_signature_accepts_the_right_signature() {
    verify_user_signature(&session_key(), SIGN_DATA, USER_SIGNATURE).unwrap();
    verify_user_signature(&session_key(), "", CHECKSESSION_SIGNATURE).unwrap();
}

#[test]
fn a_pay_sig_for_one_api_is_rejected_for_the_other() {
    let err = verify_pay_sig(
        &app_key(),
        PaymentApi::MidasPaymentGameItem,
        SIGN_DATA,
        VIRTUAL_PAYMENT_PAY_SIG,
    )
    .unwrap_err();
    assert_eq!(
        err,
        SignatureError::Mismatch {
            kind: SignatureKind::PaySig
        }
    );
}

#[test]
fn a_pay_sig_under_another_app_key_is_rejected() {
    let err = verify_pay_sig(
        &AppKey::new("sandbox-key"),
        PaymentApi::VirtualPayment,
        SIGN_DATA,
        VIRTUAL_PAYMENT_PAY_SIG,
    )
    .unwrap_err();
    assert_eq!(err.to_string(), "paySig does not match signData");
}

#[test]
fn a_user_signature_under_another_session_key_is_rejected() {
    let err = verify_user_signature(
        &SessionKey::new("an expired key"),
        SIGN_DATA,
        USER_SIGNATURE,
    )
    .unwrap_err();
    assert_eq!(
        err,
        SignatureError::Mismatch {
            kind: SignatureKind::UserSignature
        }
    );
    assert_eq!(err.to_string(), "signature does not match signData");
}

#[test]
fn a_signature_of_other_sign_data_is_rejected() {
    let other = SIGN_DATA.replace("xxxxxx", "yyyyyy");
    assert!(
        verify_pay_sig(
            &app_key(),
            PaymentApi::VirtualPayment,
            &other,
            VIRTUAL_PAYMENT_PAY_SIG
        )
        .is_err()
    );
    assert!(verify_user_signature(&session_key(), &other, USER_SIGNATURE).is_err());
}

#[test]
fn upper_case_hex_signatures_are_accepted() {
    verify_pay_sig(
        &app_key(),
        PaymentApi::VirtualPayment,
        SIGN_DATA,
        &VIRTUAL_PAYMENT_PAY_SIG.to_uppercase(),
    )
    .unwrap();
    verify_user_signature(&session_key(), SIGN_DATA, &USER_SIGNATURE.to_uppercase()).unwrap();
    // Mixed case too: hex digits are case-insensitive.
    let mixed: String = USER_SIGNATURE
        .chars()
        .enumerate()
        .map(|(i, c)| {
            if i % 2 == 0 {
                c.to_ascii_uppercase()
            } else {
                c
            }
        })
        .collect();
    verify_user_signature(&session_key(), SIGN_DATA, &mixed).unwrap();
}

#[test]
fn malformed_signatures_are_rejected_with_the_reason() {
    let sig = VIRTUAL_PAYMENT_PAY_SIG;
    let mut non_hex = sig.to_owned();
    non_hex.replace_range(5..6, "g");
    let cases: Vec<(&str, String, SignatureError)> = {
        use SignatureError::*;
        let kind = SignatureKind::PaySig;
        vec![
            ("empty", String::new(), Empty { kind }),
            (
                "odd length (one digit dropped)",
                sig[..63].to_owned(),
                OddLength { kind, len: 63 },
            ),
            (
                "truncated to 62 digits",
                sig[..62].to_owned(),
                WrongLength { kind, len: 62 },
            ),
            (
                "truncated to 32 digits (a 128-bit digest)",
                sig[..32].to_owned(),
                WrongLength { kind, len: 32 },
            ),
            (
                "two extra digits",
                format!("{sig}00"),
                WrongLength { kind, len: 66 },
            ),
            (
                "a non-hex letter",
                non_hex,
                NotHex {
                    kind,
                    index: 5,
                    character: 'g',
                },
            ),
            (
                "a trailing newline",
                format!("{sig}\n"),
                NotHex {
                    kind,
                    index: 64,
                    character: '\n',
                },
            ),
            (
                "a 0x prefix",
                format!("0x{}", &sig[2..]),
                NotHex {
                    kind,
                    index: 1,
                    character: 'x',
                },
            ),
            (
                "non-ASCII",
                format!("é{}", &sig[2..]),
                NotHex {
                    kind,
                    index: 0,
                    character: 'é',
                },
            ),
        ]
    };
    for (case, given, expected) in cases {
        let err = verify_pay_sig(&app_key(), PaymentApi::VirtualPayment, SIGN_DATA, &given)
            .expect_err(case);
        assert_eq!(err, expected, "{case}");
        assert_eq!(err.kind(), SignatureKind::PaySig, "{case}");
    }
}

#[test]
fn malformed_signature_messages_name_the_param() {
    let verify = |sig: &str| verify_user_signature(&session_key(), SIGN_DATA, sig).unwrap_err();
    assert_eq!(verify("").to_string(), "signature is empty");
    assert_eq!(
        verify(&USER_SIGNATURE[..63]).to_string(),
        "signature has an odd number of hex digits (63)"
    );
    assert_eq!(
        verify(&USER_SIGNATURE[..62]).to_string(),
        "signature has 62 hex digits, expected 64"
    );
    assert_eq!(
        verify("zz").to_string(),
        "signature is not hex: 'z' at index 0"
    );
}

#[test]
fn a_signature_error_becomes_an_invalid_params_host_error() {
    let err = SignatureError::Mismatch {
        kind: SignatureKind::PaySig,
    };
    assert_eq!(
        HostError::from(err),
        HostError::failed("invalid params: paySig does not match signData").with_errno(102)
    );
}

#[test]
fn an_app_key_never_prints_its_value() {
    let key = AppKey::new("very secret");
    assert_eq!(format!("{key:?}"), "AppKey([redacted])");
    assert_eq!(key.secret(), "very secret");
}

// --- signData -----------------------------------------------------------------

#[test]
fn sign_data_string_is_wechats_documented_example() {
    let order = SignData::new("123", 1, "xxxxxx")
        .with_product("testproductId", 10)
        .with_attach("testdata");
    assert_eq!(order.to_sign_data_string(), SIGN_DATA);
}

#[test]
fn game_item_sign_data_string_is_wechats_documented_example() {
    let mut order = SignData::new("123", 1, "xxxxxx")
        .with_mode(PaymentMode::Goods)
        .with_product("testproductId", 10)
        .with_attach("testdata");
    order.platform = Some("android".into());
    order.zone_id = Some("1".into());
    assert_eq!(order.to_sign_data_string(), GAME_ITEM_SIGN_DATA);
}

#[test]
fn to_sign_data_string_then_parse_gives_the_same_struct() {
    let mut game_item = SignData::new("offer-9", 3, "order-0002")
        .with_mode("goods")
        .with_env(PaymentEnv::Sandbox)
        .with_product("sword", 600);
    game_item.platform = Some("android".into());
    game_item.zone_id = Some("1".into());
    let orders = [
        SignData::new("123", 1, "order-0001"),
        SignData::new("123", 1, "xxxxxx")
            .with_product("testproductId", 10)
            .with_attach("testdata"),
        SignData::new("123", u32::MAX, "order-0003")
            .with_env(PaymentEnv::Sandbox)
            .with_attach(r#"{"user_id":"5","note":"quotes \" and unicode 币"}"#),
        game_item,
    ];
    for order in orders {
        let text = order.to_sign_data_string();
        assert_eq!(SignData::parse(&text).unwrap(), order, "{text}");
    }
}

#[test]
fn a_signature_over_reserialized_sign_data_fails_verification() {
    // The developer server signed SIGN_DATA; somebody wrote it out again
    // with a space after each comma (as JSON.stringify(v, null, 1) or a
    // pretty printer would). Same order, same content, different bytes.
    let reserialized = SIGN_DATA.replace(',', ", ");
    assert_ne!(reserialized, SIGN_DATA);
    assert_eq!(
        SignData::parse(&reserialized).unwrap(),
        SignData::parse(SIGN_DATA).unwrap()
    );

    assert_eq!(
        verify_pay_sig(
            &app_key(),
            PaymentApi::VirtualPayment,
            &reserialized,
            VIRTUAL_PAYMENT_PAY_SIG
        ),
        Err(SignatureError::Mismatch {
            kind: SignatureKind::PaySig
        })
    );
    assert_eq!(
        verify_user_signature(&session_key(), &reserialized, USER_SIGNATURE),
        Err(SignatureError::Mismatch {
            kind: SignatureKind::UserSignature
        })
    );
}

#[test]
fn a_signature_over_sign_data_rebuilt_from_the_typed_view_fails_verification() {
    // A client signed its own key order; SignData writes WeChat's order.
    let client_order =
        r#"{"outTradeNo":"xxxxxx","offerId":"123","buyQuantity":1,"currencyType":"CNY"}"#;
    let signature = user_signature(&session_key(), client_order);
    let rebuilt = SignData::parse(client_order).unwrap().to_sign_data_string();
    assert_ne!(rebuilt, client_order);
    verify_user_signature(&session_key(), client_order, &signature).unwrap();
    assert!(verify_user_signature(&session_key(), &rebuilt, &signature).is_err());
}

#[test]
fn sign_data_parse_reads_every_field() {
    let order = SignData::parse(GAME_ITEM_SIGN_DATA).unwrap();
    assert_eq!(order.mode, Some(PaymentMode::Goods));
    assert_eq!(order.offer_id, "123");
    assert_eq!(order.buy_quantity, 1);
    assert_eq!(order.env, PaymentEnv::Production);
    assert_eq!(order.currency_type, "CNY");
    assert_eq!(order.platform.as_deref(), Some("android"));
    assert_eq!(order.zone_id.as_deref(), Some("1"));
    assert_eq!(order.product_id.as_deref(), Some("testproductId"));
    assert_eq!(order.goods_price, Some(10));
    assert_eq!(order.out_trade_no, "xxxxxx");
    assert_eq!(order.attach.as_deref(), Some("testdata"));
}

#[test]
fn sign_data_without_env_is_production_and_unknown_fields_are_ignored() {
    let order = SignData::parse(
        r#"{"offerId":"123","buyQuantity":1,"currencyType":"CNY","outTradeNo":"order-0001","somethingNew":true}"#,
    )
    .unwrap();
    assert_eq!(order.env, PaymentEnv::Production);
    assert_eq!(order, SignData::new("123", 1, "order-0001"));
}

#[test]
fn sign_data_parse_errors_name_the_field() {
    let cases = [
        (
            r#"{"buyQuantity":1,"currencyType":"CNY","outTradeNo":"o-1"}"#,
            "signData: offerId is missing",
        ),
        (
            r#"{"offerId":"123","currencyType":"CNY","outTradeNo":"o-1"}"#,
            "signData: buyQuantity is missing",
        ),
        (
            r#"{"offerId":"123","buyQuantity":1,"outTradeNo":"o-1"}"#,
            "signData: currencyType is missing",
        ),
        (
            r#"{"offerId":"123","buyQuantity":1,"currencyType":"CNY"}"#,
            "signData: outTradeNo is missing",
        ),
        (
            r#"{"offerId":"123","buyQuantity":1,"currencyType":"CNY","outTradeNo":null}"#,
            "signData: outTradeNo is missing",
        ),
        (
            r#"{"offerId":"123","buyQuantity":0,"currencyType":"CNY","outTradeNo":"o-1"}"#,
            "signData: buyQuantity must be a positive integer",
        ),
        (
            r#"{"offerId":"123","buyQuantity":-1,"currencyType":"CNY","outTradeNo":"o-1"}"#,
            "signData: buyQuantity must be a positive integer",
        ),
        (
            r#"{"offerId":"123","buyQuantity":1.5,"currencyType":"CNY","outTradeNo":"o-1"}"#,
            "signData: buyQuantity must be a positive integer",
        ),
        (
            r#"{"offerId":"123","buyQuantity":"1","currencyType":"CNY","outTradeNo":"o-1"}"#,
            "signData: buyQuantity must be a positive integer",
        ),
        (
            r#"{"offerId":"123","buyQuantity":4294967296,"currencyType":"CNY","outTradeNo":"o-1"}"#,
            "signData: buyQuantity must be a positive integer",
        ),
        (
            r#"{"offerId":"123","buyQuantity":1,"env":2,"currencyType":"CNY","outTradeNo":"o-1"}"#,
            "signData: env must be 0 (production) or 1 (sandbox)",
        ),
        (
            r#"{"offerId":"123","buyQuantity":1,"env":"0","currencyType":"CNY","outTradeNo":"o-1"}"#,
            "signData: env must be 0 (production) or 1 (sandbox)",
        ),
        (
            r#"{"offerId":"123","buyQuantity":1,"currencyType":"CNY","goodsPrice":-10,"outTradeNo":"o-1"}"#,
            "signData: goodsPrice must be a non-negative integer (fen)",
        ),
        (
            r#"{"offerId":123,"buyQuantity":1,"currencyType":"CNY","outTradeNo":"o-1"}"#,
            "signData: offerId must be a string, not a number",
        ),
        (
            r#"{"offerId":"","buyQuantity":1,"currencyType":"CNY","outTradeNo":"o-1"}"#,
            "signData: offerId must not be empty",
        ),
        (
            r#"{"offerId":"123","buyQuantity":1,"currencyType":"CNY","productId":"","outTradeNo":"o-1"}"#,
            "signData: productId must not be empty",
        ),
        (
            r#"{"offerId":"123","buyQuantity":1,"currencyType":"CNY","outTradeNo":"o-1","attach":{"a":1}}"#,
            "signData: attach must be a string, not an object",
        ),
        (
            r#"[{"offerId":"123"}]"#,
            "signData: not a JSON object (found an array)",
        ),
    ];
    for (text, expected) in cases {
        let err = SignData::parse(text).unwrap_err();
        assert_eq!(err.to_string(), expected, "{text}");
        assert_eq!(err.object(), "signData");
    }
}

#[test]
fn sign_data_that_is_not_json_says_so() {
    let err = SignData::parse("offerId=123&buyQuantity=1").unwrap_err();
    assert!(
        err.to_string().starts_with("signData: not a JSON object ("),
        "{err}"
    );
    assert_eq!(err.field(), None);
    assert!(matches!(
        err.problem(),
        PaymentParamsProblem::NotJsonObject { .. }
    ));
}

#[test]
fn deserializing_sign_data_with_serde_applies_the_same_checks() {
    let err = serde_json::from_str::<SignData>(
        r#"{"offerId":"123","buyQuantity":1,"currencyType":"CNY"}"#,
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("signData: outTradeNo is missing"),
        "{err}"
    );
    let order: SignData = serde_json::from_str(SIGN_DATA).unwrap();
    assert_eq!(order, SignData::parse(SIGN_DATA).unwrap());
}

#[test]
fn payment_modes_compare_by_wire_value() {
    assert_eq!(PaymentMode::Other("goods".into()), PaymentMode::Goods);
    assert_eq!(
        PaymentMode::from("short_series_coin"),
        PaymentMode::ShortSeriesCoin
    );
    assert_eq!(
        PaymentMode::from(String::from("something_new")).as_str(),
        "something_new"
    );
}

// --- requestVirtualPayment / requestMidasPaymentGameItem params ----------------

fn virtual_payment_params() -> Value {
    json!({
        "signData": SIGN_DATA,
        "mode": "short_series_goods",
        "paySig": VIRTUAL_PAYMENT_PAY_SIG,
        "signature": USER_SIGNATURE,
    })
}

#[test]
fn virtual_payment_params_are_read_and_verified() {
    let call = VirtualPaymentParams::from_params(
        PaymentApi::VirtualPayment,
        &object(virtual_payment_params()),
    )
    .unwrap();
    assert_eq!(call.api, PaymentApi::VirtualPayment);
    assert_eq!(call.sign_data, SIGN_DATA);
    assert_eq!(call.mode, Some(PaymentMode::ShortSeriesGoods));
    assert_eq!(call.order.out_trade_no, "xxxxxx");
    assert_eq!(call.pay_sig, VIRTUAL_PAYMENT_PAY_SIG);
    assert_eq!(call.signature, USER_SIGNATURE);
    call.verify(&app_key(), &session_key()).unwrap();
}

#[test]
fn game_item_params_take_the_mode_from_sign_data_and_sign_the_game_item_uri() {
    let params = object(json!({
        "signData": GAME_ITEM_SIGN_DATA,
        "paySig": GAME_ITEM_WITH_MODE_PAY_SIG,
        "signature": user_signature(&session_key(), GAME_ITEM_SIGN_DATA),
    }));
    let call =
        VirtualPaymentParams::from_params(PaymentApi::MidasPaymentGameItem, &params).unwrap();
    assert_eq!(call.mode, Some(PaymentMode::Goods));
    call.verify(&app_key(), &session_key()).unwrap();

    // The same params presented as requestVirtualPayment lack the mode.
    let err = VirtualPaymentParams::from_params(PaymentApi::VirtualPayment, &params).unwrap_err();
    assert_eq!(err.to_string(), "requestVirtualPayment: mode is missing");
}

#[test]
fn verify_reports_which_signature_failed() {
    let mut params = object(virtual_payment_params());
    params.insert("signature".into(), json!(CHECKSESSION_SIGNATURE));
    let call = VirtualPaymentParams::from_params(PaymentApi::VirtualPayment, &params).unwrap();
    let err = call.verify(&app_key(), &session_key()).unwrap_err();
    assert_eq!(err.kind(), SignatureKind::UserSignature);

    let err = call
        .verify(&AppKey::new("wrong"), &session_key())
        .unwrap_err();
    assert_eq!(err.kind(), SignatureKind::PaySig);
}

#[test]
fn virtual_payment_params_name_each_missing_field() {
    for field in ["signData", "mode", "paySig", "signature"] {
        let mut params = object(virtual_payment_params());
        params.remove(field);
        let err =
            VirtualPaymentParams::from_params(PaymentApi::VirtualPayment, &params).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("requestVirtualPayment: {field} is missing")
        );
        assert_eq!(err.field(), Some(field));
    }
}

#[test]
fn sign_data_passed_as_an_object_is_rejected_with_a_hint() {
    let mut params = object(virtual_payment_params());
    params.insert("signData".into(), serde_json::from_str(SIGN_DATA).unwrap());
    let err = VirtualPaymentParams::from_params(PaymentApi::VirtualPayment, &params).unwrap_err();
    assert_eq!(
        err.to_string(),
        "requestVirtualPayment: signData must be a string (the JSON text that was signed), not an object"
    );
}

#[test]
fn sign_data_problems_inside_the_params_are_reported_against_sign_data() {
    let mut params = object(virtual_payment_params());
    params.insert(
        "signData".into(),
        json!(r#"{"offerId":"123","buyQuantity":0,"currencyType":"CNY","outTradeNo":"o-1"}"#),
    );
    let err = VirtualPaymentParams::from_params(PaymentApi::VirtualPayment, &params).unwrap_err();
    assert_eq!(
        err.to_string(),
        "signData: buyQuantity must be a positive integer"
    );
    assert_eq!(
        HostError::from(err),
        HostError::failed("invalid params: signData: buyQuantity must be a positive integer")
            .with_errno(102)
    );
}

#[test]
fn short_series_goods_needs_a_product_and_a_price() {
    let without_product = SignData::new("123", 1, "order-0001").to_sign_data_string();
    let mut params = object(virtual_payment_params());
    params.insert("signData".into(), json!(without_product));
    let err = VirtualPaymentParams::from_params(PaymentApi::VirtualPayment, &params).unwrap_err();
    assert_eq!(
        err.to_string(),
        "signData: productId is required when mode is short_series_goods"
    );

    // Token top-ups have no product.
    params.insert("mode".into(), json!("short_series_coin"));
    let call = VirtualPaymentParams::from_params(PaymentApi::VirtualPayment, &params).unwrap();
    assert_eq!(call.mode, Some(PaymentMode::ShortSeriesCoin));
}

// --- requestPayment -----------------------------------------------------------

fn request_payment_params() -> Value {
    json!({
        "timeStamp": "1490840662",
        "nonceStr": "5K8264ILTKCH16CQ2502SI8ZNMTM67VS",
        "package": "prepay_id=wx2017033010242291fcfe0db70013231072",
        "signType": "HMAC-SHA256",
        "paySign": "22D9B4E54AB1950F51E0649E8810ACD6",
    })
}

#[test]
fn request_payment_params_are_read_in_full() {
    let pay = RequestPaymentParams::from_params(&object(request_payment_params())).unwrap();
    assert_eq!(pay.time_stamp, "1490840662");
    assert_eq!(pay.nonce_str, "5K8264ILTKCH16CQ2502SI8ZNMTM67VS");
    assert_eq!(
        pay.package,
        "prepay_id=wx2017033010242291fcfe0db70013231072"
    );
    assert_eq!(pay.prepay_id(), "wx2017033010242291fcfe0db70013231072");
    assert_eq!(pay.sign_type, SignType::HmacSha256);
    assert_eq!(pay.pay_sign, "22D9B4E54AB1950F51E0649E8810ACD6");
}

#[test]
fn request_payment_names_each_missing_field() {
    for field in ["timeStamp", "nonceStr", "package", "paySign"] {
        for how in ["absent", "null"] {
            let mut params = object(request_payment_params());
            if how == "absent" {
                params.remove(field);
            } else {
                params.insert(field.into(), Value::Null);
            }
            let err = RequestPaymentParams::from_params(&params).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("requestPayment: {field} is missing"),
                "{field} {how}"
            );
            assert_eq!(err.object(), "requestPayment");
            assert_eq!(err.field(), Some(field));
            assert_eq!(
                HostError::from(err),
                HostError::failed(format!("invalid params: {field} is missing")).with_errno(102)
            );
        }
    }
}

#[test]
fn request_payment_without_sign_type_defaults_to_md5_as_wechat_documents() {
    let mut params = object(request_payment_params());
    params.remove("signType");
    let pay = RequestPaymentParams::from_params(&params).unwrap();
    assert_eq!(pay.sign_type, SignType::Md5);
}

#[test]
fn request_payment_accepts_each_sign_type_by_its_exact_name() {
    for sign_type in SignType::ALL {
        let mut params = object(request_payment_params());
        params.insert("signType".into(), json!(sign_type.as_str()));
        let pay = RequestPaymentParams::from_params(&params).unwrap();
        assert_eq!(pay.sign_type, sign_type);
        assert_eq!(
            serde_json::to_value(sign_type).unwrap(),
            json!(sign_type.as_str())
        );
    }
}

#[test]
fn time_stamp_may_be_a_number() {
    let mut params = object(request_payment_params());
    params.insert("timeStamp".into(), json!(1490840662));
    let pay = RequestPaymentParams::from_params(&params).unwrap();
    assert_eq!(pay.time_stamp, "1490840662");
}

#[test]
fn time_stamp_of_another_kind_is_rejected() {
    let cases = [
        (
            json!(true),
            "requestPayment: timeStamp must be a string or a number, not a boolean",
        ),
        (
            json!(1490840662.5),
            "requestPayment: timeStamp must be a whole number of seconds",
        ),
        (
            json!(-1),
            "requestPayment: timeStamp must be a whole number of seconds",
        ),
        (json!(""), "requestPayment: timeStamp must not be empty"),
    ];
    for (value, expected) in cases {
        let mut params = object(request_payment_params());
        params.insert("timeStamp".into(), value.clone());
        let err = RequestPaymentParams::from_params(&params).unwrap_err();
        assert_eq!(err.to_string(), expected, "{value}");
    }
}

#[test]
fn a_field_of_the_wrong_type_names_the_field_and_the_expected_type() {
    let mut params = object(request_payment_params());
    params.insert("nonceStr".into(), json!(12345));
    let err = RequestPaymentParams::from_params(&params).unwrap_err();
    assert_eq!(
        err.to_string(),
        "requestPayment: nonceStr must be a string, not a number"
    );
    assert_eq!(
        err.problem(),
        &PaymentParamsProblem::WrongType {
            field: "nonceStr",
            expected: "a string",
            found: "a number",
        }
    );
}

#[test]
fn an_unknown_sign_type_lists_the_allowed_values() {
    for bad in ["SHA1", "hmac-sha256", ""] {
        let mut params = object(request_payment_params());
        params.insert("signType".into(), json!(bad));
        let err = RequestPaymentParams::from_params(&params).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("requestPayment: signType must be one of MD5, HMAC-SHA256, RSA, not {bad:?}")
        );
    }
}

#[test]
fn a_package_that_is_not_a_prepay_id_is_rejected() {
    for bad in [
        "wx2017033010242291fcfe0db70013231072",
        "prepay_id=",
        "prepay_id:wx1",
        "Prepay_id=wx1",
    ] {
        let mut params = object(request_payment_params());
        params.insert("package".into(), json!(bad));
        let err = RequestPaymentParams::from_params(&params).unwrap_err();
        assert_eq!(
            err.to_string(),
            "requestPayment: package must look like prepay_id=…",
            "{bad}"
        );
    }
}

#[test]
fn payment_result_is_a_snake_case_result_object() {
    let result = PaymentResult::new(1_700_000_000, "order-42").into_result();
    assert_eq!(
        Value::Object(result),
        json!({"pay_time": 1_700_000_000, "order_no": "order-42"})
    );
}
