//! Whatever params a mini program sends, `invoke` and `invoke_json` answer
//! with a well-formed reply: no panic, no hang, `errMsg` naming the API with
//! `:ok` or `:fail`, and `errno` exactly on failures.

use std::time::Duration;

use async_trait::async_trait;
use proptest::prelude::*;
use serde_json::{Map, Number, Value};
use superapp_openapi::openserver::{AppRegistration, SuperappUser};
use superapp_openapi::payment::{PaymentApi, RequestPaymentParams, VirtualPaymentParams};
use superapp_openapi::{
    ApiVersion, AppInfo, AppSecret, AuthCode, AuthCodeRequest, AuthGrant, Dispatcher,
    HandlerResult, HostError, JsonObject, OpenApi, OpenApiHandler, Reply, Scope,
};
use superapp_openapi::{CustomApi, StateSender};

/// A host that reads the params the way real hosts do: through the typed
/// payment parsers, and echoing what it was given.
struct ParsingHost {
    version: ApiVersion,
}

fn echo(params: &JsonObject) -> HandlerResult {
    let mut out = JsonObject::new();
    out.insert("fields".into(), Value::from(params.len()));
    Ok(out)
}

#[async_trait]
impl OpenApiHandler for ParsingHost {
    fn open_api_version(&self, _app: &AppInfo) -> Option<ApiVersion> {
        Some(self.version)
    }
    fn app_uid(&self, _app: &AppInfo) -> Option<String> {
        Some("u-1".into())
    }
    async fn get_auth_code(
        &self,
        _app: &AppInfo,
        request: AuthCodeRequest,
    ) -> Result<AuthGrant, HostError> {
        let _ = request;
        Ok(AuthGrant::from_auth_code(AuthCode::new("no-such-code")).granted(Scope::ALL))
    }
    async fn login(&self, _app: &AppInfo, params: JsonObject) -> HandlerResult {
        echo(&params)
    }
    async fn get_user_info(&self, _app: &AppInfo, params: JsonObject) -> HandlerResult {
        echo(&params)
    }
    async fn request_payment(&self, _app: &AppInfo, params: JsonObject) -> HandlerResult {
        RequestPaymentParams::from_params(&params)?;
        echo(&params)
    }
    async fn request_virtual_payment(&self, _app: &AppInfo, params: JsonObject) -> HandlerResult {
        VirtualPaymentParams::from_params(PaymentApi::VirtualPayment, &params)?;
        echo(&params)
    }
    async fn request_midas_payment_game_item(
        &self,
        _app: &AppInfo,
        params: JsonObject,
    ) -> HandlerResult {
        VirtualPaymentParams::from_params(PaymentApi::MidasPaymentGameItem, &params)?;
        echo(&params)
    }
}

/// Numbers at the edges: the extremes of every width, subnormals, zero
/// and negative zero, and values past what a `Duration` holds.
fn extreme_number() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::from(u64::MAX)),
        Just(Value::from(i64::MIN)),
        Just(Value::from(i64::MAX)),
        Just(Value::from(0)),
        Just(Value::from(-1)),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        prop_oneof![
            Just(f64::MAX),
            Just(f64::MIN),
            Just(f64::MIN_POSITIVE),
            Just(5e-324),
            Just(-0.0),
            Just(1e300),
            Just(1.8446744073709552e22),
            Just(0.5),
            any::<f64>(),
        ]
        .prop_filter_map("finite", |f| Number::from_f64(f).map(Value::Number)),
    ]
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        extreme_number(),
        // Strings, including ones that look like numbers.
        prop_oneof![
            ".{0,24}",
            "[0-9]{1,30}",
            Just("1e999".to_owned()),
            Just("-0".to_owned()),
            Just("NaN".to_owned()),
        ]
        .prop_map(Value::String),
    ]
}

fn json() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(3, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(".{0,8}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// The params names the dispatcher and the typed parsers read, so that the
/// generated objects hit them often.
const KNOWN: &[&str] = &[
    "timeout",
    "signData",
    "paySig",
    "signature",
    "mode",
    "env",
    "offerId",
    "currencyType",
    "buyQuantity",
    "outTradeNo",
    "goodsPrice",
    "productId",
    "platform",
    "zoneId",
    "attach",
    "timeStamp",
    "nonceStr",
    "package",
    "signType",
    "paySign",
    "errMsg",
    "errno",
    "scope",
    "lang",
    "withSubscriptions",
    "api_name",
    "data",
];

/// The consent and custom APIs, beside the table's.
const EXTRA_APIS: &[&str] = &[
    "authorize",
    "getSetting",
    "openSetting",
    "invokeNativePlugin",
    "echoApi",
    "streamApi",
];

fn params() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        3 => prop::sample::select(KNOWN).prop_map(str::to_owned),
        1 => ".{0,12}",
    ];
    prop_oneof![
        6 => prop::collection::btree_map(key, json(), 0..8)
            .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        1 => json(),
    ]
}

fn api_name() -> impl Strategy<Value = String> {
    let names: Vec<String> = OpenApi::ALL
        .iter()
        .map(|api| api.as_str())
        .chain(EXTRA_APIS.iter().copied())
        .flat_map(|api| [api.to_owned(), format!("wx.{api}")])
        .collect();
    prop_oneof![
        8 => prop::sample::select(names),
        1 => ".{0,16}",
    ]
}

fn version() -> impl Strategy<Value = ApiVersion> {
    prop::sample::select(ApiVersion::ALL.to_vec())
}

fn dispatcher(version: ApiVersion) -> Dispatcher {
    // A guarded table API, a custom API with a scope, and one that sends
    // as many states as its params have fields (past the bound of 4).
    let stream = |_app: AppInfo, params: JsonObject, states: StateSender| async move {
        for (key, value) in params {
            let mut state = JsonObject::new();
            state.insert(key, value);
            states
                .send(state)
                .map_err(|e| HostError::failed(e.to_string()))?;
        }
        Ok(JsonObject::new())
    };
    let d =
        Dispatcher::builder(ParsingHost { version })
            .call_timeout(Duration::from_secs(5))
            .guard(
                OpenApi::GetUserInfo,
                "scope.userInfo".parse().expect("a scope"),
            )
            .custom_api(
                CustomApi::new(
                    "echoApi",
                    |_app: AppInfo, params: JsonObject, _states: StateSender| async move {
                        echo(&params)
                    },
                )
                .scope("scope.camera".parse().expect("a scope")),
            )
            .custom_api(CustomApi::new("streamApi", stream))
            .max_states_per_call(4)
            .try_build()
            .expect("valid custom APIs");
    let server = d.open_server().expect("embedded");
    server
        .register_app(AppRegistration::new(
            "wx-fuzz",
            AppSecret::new("fuzz-secret-0123456"),
            "t",
        ))
        .expect("registers");
    server
        .add_user(SuperappUser::new("u-1").with_phone_number("+8613800000000"))
        .expect("adds");
    d
}

/// `errMsg` is `<api>:ok` with no errno, or `<api>:fail …` with one; the
/// whole reply is a JSON object.
fn assert_well_formed(reply: &Reply, api: &str) {
    let name = api.strip_prefix("wx.").unwrap_or(api);
    let msg = reply.err_msg();
    if reply.is_ok() {
        assert!(reply.errno().is_none(), "{msg}");
        assert!(msg.ends_with(":ok"), "{msg}");
    } else {
        assert!(reply.errno().is_some(), "{msg}");
        assert!(
            msg.starts_with(&format!("{name}:fail")) || msg.contains(":fail"),
            "{msg}"
        );
    }
    let text = reply.to_json_string();
    let value: Value = serde_json::from_str(&text).expect("the reply is JSON");
    assert!(value.is_object(), "{text}");
    assert_eq!(value["errMsg"], Value::String(msg.to_owned()));
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a runtime")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn invoke_answers_any_params_with_a_well_formed_reply(
        api in api_name(), params in params(), version in version(),
    ) {
        let rt = runtime();
        let d = dispatcher(version);
        let reply = rt.block_on(d.invoke(&AppInfo::new("wx-fuzz"), &api, params));
        assert_well_formed(&reply, &api);
    }

    #[test]
    fn invoke_json_answers_any_text_with_a_well_formed_reply(
        api in api_name(),
        text in prop_oneof![
            3 => params().prop_map(|p| p.to_string()),
            1 => ".{0,40}",
        ],
        version in version(),
    ) {
        let rt = runtime();
        let d = dispatcher(version);
        let reply = rt.block_on(d.invoke_json(&AppInfo::new("wx-fuzz"), &api, &text));
        assert_well_formed(&reply, &api);
    }

    #[test]
    fn invoke_native_plugin_answers_any_api_name_and_data(
        name in prop_oneof![
            3 => prop::sample::select(vec!["echoApi", "streamApi", "nobody", "getUserInfo"])
                .prop_map(|n| Value::String(n.to_owned())),
            1 => json(),
        ],
        data in params(),
        version in version(),
    ) {
        let rt = runtime();
        let d = dispatcher(version);
        let params = serde_json::json!({"api_name": name, "data": data});
        let states = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = states.clone();
        let reply = rt.block_on(d.invoke_with_states(
            &AppInfo::new("wx-fuzz"),
            "invokeNativePlugin",
            params,
            move |_state: JsonObject| {
                counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            },
        ));
        assert_well_formed(&reply, "invokeNativePlugin");
        prop_assert!(states.load(std::sync::atomic::Ordering::SeqCst) <= 4);
    }
}

#[tokio::test(start_paused = true)]
async fn a_login_timeout_beyond_what_a_duration_holds_is_clamped_not_a_panic() {
    let d = dispatcher(ApiVersion::V2);
    let app = AppInfo::new("wx-fuzz");
    for timeout in ["1e300", "1.7976931348623157e308", "18446744073709551615"] {
        let text = format!(r#"{{"timeout": {timeout}}}"#);
        let reply = d.invoke_json(&app, "wx.login", &text).await;
        assert_eq!(reply.err_msg(), "login:ok", "timeout {timeout}");
    }
    for bad in ["0", "-1", "-1e300", "\"5000\""] {
        let text = format!(r#"{{"timeout": {bad}}}"#);
        let reply = d.invoke_json(&app, "wx.login", &text).await;
        assert_eq!(
            reply.errno(),
            Some(102),
            "timeout {bad}: {}",
            reply.err_msg()
        );
    }
}

struct PanickingHook;

impl OpenApiHandler for PanickingHook {
    fn open_api_version(&self, _app: &AppInfo) -> Option<ApiVersion> {
        panic!("the host's hook is broken")
    }
}

#[test]
fn explain_survives_a_panicking_version_hook() {
    let d = Dispatcher::builder(PanickingHook)
        .default_version(ApiVersion::V2)
        .build();
    let e = d.explain(&AppInfo::new("wx-1"), OpenApi::Login);
    assert_eq!(e.version, ApiVersion::V2);
    assert_eq!(e.source, superapp_openapi::VersionSource::Default);
}
