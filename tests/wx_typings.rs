//! The crate's actual replies, written out for WeChat's typings to judge.
//!
//! A real `Dispatcher` on the embedded platform answers every API (its ok
//! reply and typical fail replies), and the payment helpers build the params
//! a developer server hands a mini program. Each API's replies go to
//! `target/wx-replies/<api>.json` as `{"<case>": <reply>, …}`; `.ci/typings`
//! turns them into TypeScript and compiles `tests/typings/checks/<api>.ts`,
//! which assigns each case to the type `miniprogram-api-typings` (or
//! `minigame-api-typings`) gives it, with `tsc --strict`.
//!
//! Run alone: `cargo test --test wx_typings`; the whole check: `.ci/typings`.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use serde_json::{Value, json};
use superapp_openapi::opendata::{decrypt, verify_signature};
use superapp_openapi::openserver::{AppRegistration, Jscode2SessionRequest, SuperappUser};
use superapp_openapi::payment::{
    AppKey, PaymentApi, PaymentResult, RequestPaymentParams, SignData, pay_sig, user_signature,
};
use superapp_openapi::{
    ApiVersion, AppInfo, AppSecret, Code, Dispatcher, Gender, HandlerResult, HostError, JsonObject,
    OpenApi, OpenApiHandler, OpenServer, SessionKey, UserInfo,
};

const APP: &str = "wx-typings";
const SECRET: &str = "typings-secret";
const USER: &str = "u-typings";

/// A host that answers the APIs without a built-in with the crate's own
/// result types, and fails them with a cancel when the call's params say
/// `{"fail": true}`.
struct TypedHost {
    uid: Option<&'static str>,
}

impl TypedHost {
    fn answer(params: &JsonObject, result: JsonObject) -> HandlerResult {
        if params.get("fail") == Some(&Value::Bool(true)) {
            Err(HostError::Cancelled)
        } else {
            Ok(result)
        }
    }
}

fn user_info() -> UserInfo {
    UserInfo {
        nick_name: "Ada".into(),
        avatar_url: "https://avatars.test/ada.png".into(),
        gender: Gender::Female,
        ..UserInfo::default()
    }
}

#[async_trait]
impl OpenApiHandler for TypedHost {
    fn app_uid(&self, _app: &AppInfo) -> Option<String> {
        self.uid.map(str::to_owned)
    }
    async fn get_user_info(&self, _app: &AppInfo, params: JsonObject) -> HandlerResult {
        Self::answer(&params, user_info().into_result())
    }
    async fn get_user_profile(&self, _app: &AppInfo, params: JsonObject) -> HandlerResult {
        Self::answer(&params, user_info().into_result())
    }
    async fn request_payment(&self, _app: &AppInfo, params: JsonObject) -> HandlerResult {
        let result = PaymentResult::new(1_700_000_000, "4200001234202401011234567890");
        Self::answer(&params, result.into_result())
    }
    async fn request_virtual_payment(&self, _app: &AppInfo, params: JsonObject) -> HandlerResult {
        Self::answer(&params, JsonObject::new())
    }
    async fn request_midas_payment_game_item(
        &self,
        _app: &AppInfo,
        params: JsonObject,
    ) -> HandlerResult {
        Self::answer(&params, JsonObject::new())
    }
}

/// The embedded platform with the app and a user who has every profile field.
fn platform() -> OpenServer {
    let server = OpenServer::new();
    server
        .register_app(AppRegistration::new(APP, AppSecret::new(SECRET), "team-t"))
        .unwrap();
    server
        .add_user(
            SuperappUser::new(USER)
                .with_phone_number("+8613800138000")
                .with_email("ada@example.com")
                .with_nickname("Ada")
                .with_avatar_url("https://avatars.test/ada.png"),
        )
        .unwrap();
    server
}

fn dispatcher(server: &OpenServer, uid: Option<&'static str>) -> Dispatcher {
    Dispatcher::builder(TypedHost { uid })
        .platform(server.clone())
        .default_version(ApiVersion::V2)
        .build()
}

/// Where the replies go: `<target>/wx-replies`.
fn out_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("the target directory")
        .join("wx-replies")
}

fn write(api: OpenApi, cases: Value) {
    let dir = out_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let text = serde_json::to_string_pretty(&cases).unwrap();
    std::fs::write(dir.join(format!("{}.json", api.as_str())), text + "\n").unwrap();
}

#[tokio::test]
async fn every_apis_replies_are_written_for_the_typings_check() {
    let server = platform();
    let logged_in = dispatcher(&server, Some(USER));
    let logged_out = dispatcher(&server, None);
    let app = AppInfo::new(APP);
    let call = |d: &Dispatcher, api: OpenApi, params: Value| {
        let (d, app) = (d.clone(), app.clone());
        async move { d.invoke(&app, api.as_str(), params).await.into_value() }
    };
    let ok = |reply: Value| {
        assert!(
            reply["errMsg"].as_str().unwrap().ends_with(":ok"),
            "{reply}"
        );
        reply
    };
    let fail = |reply: Value| {
        assert!(
            reply["errMsg"].as_str().unwrap().contains(":fail"),
            "{reply}"
        );
        reply
    };

    // Before the user logs in: checkSession fails. Then a session (login,
    // and the developer server's exchange), so that the replies that carry
    // open data are sealed as a logged-in user's are.
    let expired = fail(call(&logged_in, OpenApi::CheckSession, json!({})).await);
    let login = ok(call(&logged_in, OpenApi::Login, json!({})).await);
    let code = Code::new(login["code"].as_str().unwrap());
    let request = Jscode2SessionRequest::new(APP, AppSecret::new(SECRET), code);
    let session = server.jscode2session(&request).await.unwrap();

    for api in OpenApi::ALL {
        let cases = match api {
            OpenApi::Login
            | OpenApi::GetPhoneNumber
            | OpenApi::GetEmail
            | OpenApi::ChooseAvatar
            | OpenApi::GetNickName => json!({
                "ok": ok(call(&logged_in, api, json!({})).await),
                "failNotLoggedIn": fail(call(&logged_out, api, json!({})).await),
            }),
            OpenApi::CheckSession => {
                json!({"ok": ok(call(&logged_in, api, json!({})).await), "failExpired": expired})
            }
            OpenApi::GetUserInfo
            | OpenApi::GetUserProfile
            | OpenApi::RequestPayment
            | OpenApi::RequestVirtualPayment
            | OpenApi::RequestMidasPaymentGameItem => json!({
                "ok": ok(call(&logged_in, api, payment_params(api)).await),
                "failCancel": fail(call(&logged_in, api, json!({"fail": true})).await),
            }),
            other => panic!("{other} has no case: add one here and a check in tests/typings"),
        };
        let mut cases = cases;
        if let Some(params) = typed_params(api) {
            cases["params"] = params;
        }
        check(api, &cases, &session.session_key);
        write(api, cases);
    }
}

/// What the typings check would also catch, said here first, in Rust: the
/// open data verifies under the session's key, the virtual payments'
/// failures carry `errCode`, and `language` is one WeChat allows.
fn check(api: OpenApi, cases: &Value, session_key: &SessionKey) {
    let ok = &cases["ok"];
    match api {
        OpenApi::GetUserInfo | OpenApi::GetUserProfile => {
            let field = |name: &str| {
                ok[name]
                    .as_str()
                    .unwrap_or_else(|| panic!("{name} in {ok}"))
            };
            verify_signature(field("rawData"), field("signature"), session_key).unwrap();
            let data = decrypt(field("encryptedData"), field("iv"), session_key, APP).unwrap();
            assert_eq!(data["nickName"], "Ada");
            let language = ok["userInfo"]["language"].as_str().unwrap();
            assert!(["en", "zh_CN", "zh_TW"].contains(&language), "{language}");
        }
        OpenApi::GetPhoneNumber => {
            let field = |name: &str| {
                ok[name]
                    .as_str()
                    .unwrap_or_else(|| panic!("{name} in {ok}"))
            };
            let data = decrypt(field("encryptedData"), field("iv"), session_key, APP).unwrap();
            assert_eq!(data["purePhoneNumber"], "13800138000");
        }
        OpenApi::RequestVirtualPayment | OpenApi::RequestMidasPaymentGameItem => {
            let fail = &cases["failCancel"];
            assert_eq!(fail["errCode"], fail["errno"], "{fail}");
        }
        _ => {}
    }
}

/// The params a call carries; payment calls pass the host what the typed
/// params helpers build (the host above does not check them).
fn payment_params(api: OpenApi) -> Value {
    typed_params(api).unwrap_or_else(|| json!({}))
}

/// The params a developer server builds with the crate's payment helpers,
/// as the mini program passes them to the API; `None` for the others.
fn typed_params(api: OpenApi) -> Option<Value> {
    let app_key = AppKey::new("typings-app-key");
    let session_key = SessionKey::new("tiihtNczf5v6AKRyjwEUhQ==");
    Some(match api {
        OpenApi::RequestPayment => {
            // WeChat Pay's documented example; the crate reads it, so the
            // names it reads are the ones written here.
            let params = json!({
                "timeStamp": "1490840662",
                "nonceStr": "5K8264ILTKCH16CQ2502SI8ZNMTM67VS",
                "package": "prepay_id=wx2017033010242291fcfe0db70013231072",
                "signType": "RSA",
                "paySign": "oR9d8PuhnIc+YZ8cBHFCwfgpaK9gd7vaRvkYD7rthRAZ",
            });
            RequestPaymentParams::from_params(params.as_object().unwrap()).unwrap();
            params
        }
        OpenApi::RequestVirtualPayment => {
            let sign_data = SignData::new("1450000000", 1, "order-0001")
                .with_product("sku-1", 600)
                .with_attach("for the delivery notice")
                .to_sign_data_string();
            json!({
                "mode": "short_series_goods",
                "paySig": pay_sig(&app_key, PaymentApi::VirtualPayment, &sign_data),
                "signature": user_signature(&session_key, &sign_data),
                "signDataParsed": serde_json::from_str::<Value>(&sign_data).unwrap(),
                "signData": sign_data,
            })
        }
        OpenApi::RequestMidasPaymentGameItem => {
            let sign_data = SignData::new("1450000000", 1, "order-0002")
                .with_mode("goods")
                .with_product("sku-2", 10)
                .to_sign_data_string();
            json!({
                "paySig": pay_sig(&app_key, PaymentApi::MidasPaymentGameItem, &sign_data),
                "signature": user_signature(&session_key, &sign_data),
                "signDataParsed": serde_json::from_str::<Value>(&sign_data).unwrap(),
                "signData": sign_data,
            })
        }
        _ => return None,
    })
}

#[test]
fn every_api_has_a_typings_check() {
    let checks = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/typings/checks");
    for api in OpenApi::ALL {
        let file = checks.join(format!("{}.ts", api.as_str()));
        assert!(
            file.is_file(),
            "{} has no check: add {}",
            api,
            file.display()
        );
    }
}
