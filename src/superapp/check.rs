//! The conformance check: calls every endpoint of a super-app server with
//! signed requests, as the platform would, and says for each what was
//! wrong — the path, the envelope, a field, a refused signature, a
//! timeout — or that it passed.

use std::fmt;
use std::time::Duration;

use serde_json::{Map, Value, json};

use super::call::{Answer, CallFailure, Caller, DEFAULT_MAX_RESPONSE_BYTES};
use super::client::SNAP_B2B2C_OK;
use super::host;
use super::paths::{
    B2B2C_PATH, HOST_AUTH_CODE_PATH, HOST_LOGIN_PATH, Method, PathFamily, UserEndpoint,
};
use super::signing::{SecretKey, SignatureMode, TC_SIGNATURE, TC_TIMESTAMP, TcSigner};
use super::snap::{SnapSigner, X_CLIENT_KEY, X_SIGNATURE, X_TIMESTAMP};
use super::wire::{Envelope, InfoKind, lenient_field, request_params};
use crate::openserver::{Clock, SystemClock};

/// A host account the check logs in with to get an authCode for v3
/// (`login`, then `getMiniProgramAuthCode`).
#[derive(Clone)]
pub struct HostAccount {
    /// `appId`: the super app's.
    pub app_id: String,
    /// `userAccount`.
    pub user_account: String,
    /// `userPassword`.
    pub user_password: String,
    /// `miniAppId`: the mini program the authCode is for.
    pub mini_app_id: String,
}

impl fmt::Debug for HostAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HostAccount")
            .field("app_id", &self.app_id)
            .field("user_account", &self.user_account)
            .field("mini_app_id", &self.mini_app_id)
            .finish_non_exhaustive()
    }
}

/// The server to check and how to call it.
#[derive(Debug, Clone)]
pub struct CheckTarget {
    /// The server's base URL.
    pub url: String,
    /// The platform's signer (SecretKey and mode).
    pub signer: TcSigner,
    /// The path family the server should serve.
    pub paths: PathFamily,
    /// Each call's timeout.
    pub timeout: Duration,
    /// An active user with a nickname, an avatar, a phone number and an email.
    pub user_id: String,
    /// The platform's client key and private key, for `/access_token/b2b2c`.
    pub snap: Option<SnapSigner>,
    /// A host account, for an authCode to redeem.
    pub account: Option<HostAccount>,
}

impl CheckTarget {
    /// A target with the newest family, ECB, a 5 s timeout, no v3.
    pub fn new(url: impl Into<String>, secret_key: SecretKey, user_id: impl Into<String>) -> Self {
        CheckTarget {
            url: url.into(),
            signer: TcSigner::new(secret_key, SignatureMode::default()),
            paths: PathFamily::default(),
            timeout: Duration::from_secs(5),
            user_id: user_id.into(),
            snap: None,
            account: None,
        }
    }
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckLine {
    /// What was checked (`checkUser`, `getUserPhoneNumber (reused code)`, …).
    pub name: String,
    /// `None` when it passed; what was wrong otherwise.
    pub failure: Option<String>,
    /// Set when the check could not run (nothing configured for it).
    pub skipped: Option<String>,
}

/// Every line; [`passed`](CheckReport::passed) when none failed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CheckReport {
    /// The lines, in the order run.
    pub lines: Vec<CheckLine>,
}

impl CheckReport {
    /// Whether no line failed (skipped lines do not fail).
    pub fn passed(&self) -> bool {
        self.lines.iter().all(|l| l.failure.is_none())
    }

    fn push(&mut self, name: impl Into<String>, outcome: Result<(), String>) {
        self.lines.push(CheckLine {
            name: name.into(),
            failure: outcome.err(),
            skipped: None,
        });
    }

    fn skip(&mut self, name: &str, why: &str) {
        self.lines.push(CheckLine {
            name: name.to_owned(),
            failure: None,
            skipped: Some(why.to_owned()),
        });
    }
}

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for line in &self.lines {
            match (&line.failure, &line.skipped) {
                (Some(why), _) => writeln!(f, "FAIL {}: {why}", line.name)?,
                (None, Some(why)) => writeln!(f, "skip {}: {why}", line.name)?,
                (None, None) => writeln!(f, "ok   {}", line.name)?,
            }
        }
        // Not "N passed, N failed": CI reads that line as a test runner's.
        let failed = self.lines.iter().filter(|l| l.failure.is_some()).count();
        let skipped = self.lines.iter().filter(|l| l.skipped.is_some()).count();
        write!(
            f,
            "{} of {} checks passed ({skipped} skipped)",
            self.lines.len() - failed - skipped,
            self.lines.len() - skipped
        )
    }
}

struct Checker<'a> {
    target: &'a CheckTarget,
    caller: Caller,
    clock: SystemClock,
}

/// Runs the check against `target`.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use superapp_openapi::superapp::{CheckTarget, SecretKey, check_directory};
/// let target = CheckTarget::new("http://127.0.0.1:9000", SecretKey::new("0123456789abcdef")?, "u-1001");
/// let report = check_directory(&target).await;
/// println!("{report}");
/// assert!(report.passed());
/// # Ok(()) }
/// ```
pub async fn check_directory(target: &CheckTarget) -> CheckReport {
    let checker = Checker {
        target,
        caller: Caller::new(&target.url, target.timeout, DEFAULT_MAX_RESPONSE_BYTES),
        clock: SystemClock,
    };
    let mut report = CheckReport::default();
    checker.user_calls(&mut report).await;
    checker.signatures(&mut report).await;
    checker.v3(&mut report).await;
    report
}

impl Checker<'_> {
    fn label(&self, endpoint: UserEndpoint, note: &str) -> String {
        let route = self.target.paths.route(endpoint);
        format!(
            "{} ({} {}){note}",
            endpoint.name(),
            route.method.as_str(),
            route.path
        )
    }

    async fn call(
        &self,
        endpoint: UserEndpoint,
        params: &Map<String, Value>,
        headers: Option<(String, String)>,
    ) -> Result<Answer, CallFailure> {
        let route = self.target.paths.route(endpoint);
        let (ts, sig) =
            headers.unwrap_or_else(|| self.target.signer.headers(self.clock.now_millis()));
        let headers = [(TC_TIMESTAMP, ts.as_str()), (TC_SIGNATURE, sig.as_str())];
        self.caller
            .send(route.method, route.path, &headers, params)
            .await
    }

    /// The data of a successful, well-formed answer; what was wrong otherwise.
    fn judge(
        &self,
        endpoint: UserEndpoint,
        outcome: Result<Answer, CallFailure>,
    ) -> Result<Value, String> {
        let route = self.target.paths.route(endpoint);
        let answer = outcome.map_err(|failure| match failure {
            CallFailure::Timeout(_) | CallFailure::Unreachable(_) => failure.to_string(),
            other => format!("envelope: {other}"),
        })?;
        match answer.status {
            404 | 405 => {
                return Err(format!(
                    "path: HTTP {} at {} {}",
                    answer.status,
                    route.method.as_str(),
                    route.path
                ));
            }
            401 | 403 => return Err(format!("signature refused: HTTP {}", answer.status)),
            _ => {}
        }
        let envelope = Envelope::read(self.target.paths, &answer.body)
            .map_err(|e| format!("envelope: HTTP {}: {e}", answer.status))?;
        if !envelope.exact {
            let n = self.target.paths.names();
            return Err(format!(
                "envelope: not spelled as the {} page spells it ({}: string, {}, {}{})",
                self.target.paths,
                n.return_code,
                n.return_message,
                n.data,
                n.request_id.map(|id| format!(", {id}")).unwrap_or_default()
            ));
        }
        if !envelope.is_ok() {
            return Err(format!(
                "refused: {} {:?}",
                envelope.return_code, envelope.return_message
            ));
        }
        Ok(envelope.data)
    }

    async fn user_calls(&self, report: &mut CheckReport) {
        let family = self.target.paths;
        let user = self.target.user_id.as_str();
        let plain = request_params(family, user, None, None);
        let data = self.judge(
            UserEndpoint::CheckUser,
            self.call(UserEndpoint::CheckUser, &plain, None).await,
        );
        report.push(
            self.label(UserEndpoint::CheckUser, ""),
            data.and_then(|d| {
                expect(d == json!(true), || {
                    format!("field: data is {d}, expected true for {user}")
                })
            }),
        );
        let stranger = format!("no-such-user-{}", crate::digest::random_hex::<8>());
        let outcome = self
            .call(
                UserEndpoint::CheckUser,
                &request_params(family, &stranger, None, None),
                None,
            )
            .await;
        let verdict = match self.judge(UserEndpoint::CheckUser, outcome) {
            Ok(Value::Bool(false)) => Ok(()),
            Ok(other) => Err(format!(
                "field: data is {other} for an unknown user, expected false"
            )),
            Err(why) if why.contains("46001") => Ok(()),
            Err(why) => Err(why),
        };
        report.push(
            self.label(UserEndpoint::CheckUser, " unknown user"),
            verdict,
        );
        for endpoint in [UserEndpoint::GetUserNick, UserEndpoint::GetUserAvatar] {
            let data = self.judge(endpoint, self.call(endpoint, &plain, None).await);
            report.push(
                self.label(endpoint, ""),
                data.and_then(|d| {
                    expect(d.is_string(), || {
                        format!("field: data is {d}, expected a string")
                    })
                }),
            );
        }
        for (kind, endpoint) in [
            (InfoKind::Phone, UserEndpoint::GetUserPhoneNumber),
            (InfoKind::Email, UserEndpoint::GetUserEmail),
        ] {
            let issue = UserEndpoint::GetUserInfoTemporaryCode;
            let data = self.judge(
                issue,
                self.call(issue, &request_params(family, user, Some(kind), None), None)
                    .await,
            );
            let code = data.and_then(|d| {
                let object = d
                    .as_object()
                    .ok_or_else(|| format!("field: data is {d}, expected an object"))?;
                lenient_field(object, "data")
                    .and_then(Value::as_str)
                    .ok_or("field: data.data (the masked value) is missing")?;
                lenient_field(object, "code")
                    .and_then(Value::as_str)
                    .filter(|c| !c.is_empty())
                    .map(str::to_owned)
                    .ok_or_else(|| "field: data.code is missing".to_owned())
            });
            report.push(
                self.label(issue, &format!(" {kind}")),
                code.as_ref().map(|_| ()).map_err(Clone::clone),
            );
            let Ok(code) = code else {
                report.skip(&self.label(endpoint, ""), "no temporary code to redeem");
                continue;
            };
            let params = request_params(family, user, None, Some(&code));
            let data = self.judge(endpoint, self.call(endpoint, &params, None).await);
            report.push(
                self.label(endpoint, ""),
                data.and_then(|d| {
                    expect(d.as_str().is_some_and(|s| !s.is_empty()), || {
                        format!("field: data is {d}, expected the {kind}")
                    })
                }),
            );
            let again = self.judge(endpoint, self.call(endpoint, &params, None).await);
            report.push(
                self.label(endpoint, " reused code"),
                expect(again.is_err(), || {
                    "single use: a temporary code was redeemed twice".to_owned()
                }),
            );
        }
    }

    async fn signatures(&self, report: &mut CheckReport) {
        let plain = request_params(self.target.paths, &self.target.user_id, None, None);
        let now = self.clock.now_millis();
        let stale_ts = now.saturating_sub(3_600_000).to_string();
        let cases = [
            (
                "wrong TC-Signature",
                Some((now.to_string(), "00".repeat(16))),
            ),
            (
                "TC-Timestamp an hour old",
                Some((stale_ts.clone(), self.target.signer.sign(&stale_ts))),
            ),
            ("request without TC-Timestamp / TC-Signature", None),
        ];
        for (name, headers) in cases {
            let outcome = match headers {
                Some(h) => self.call(UserEndpoint::CheckUser, &plain, Some(h)).await,
                None => {
                    let route = self.target.paths.route(UserEndpoint::CheckUser);
                    self.caller
                        .send(route.method, route.path, &[], &plain)
                        .await
                }
            };
            let verdict = match outcome {
                Err(failure @ (CallFailure::Timeout(_) | CallFailure::Unreachable(_))) => {
                    Err(failure.to_string())
                }
                Ok(answer)
                    if (200..300).contains(&answer.status)
                        && Envelope::read(self.target.paths, &answer.body)
                            .is_ok_and(|e| e.is_ok()) =>
                {
                    Err(format!("signature: a request with a {name} was accepted"))
                }
                _ => Ok(()),
            };
            report.push(format!("checkUser refuses {name}"), verdict);
        }
    }

    async fn v3(&self, report: &mut CheckReport) {
        let name = format!("b2b2c (POST {B2B2C_PATH})");
        let Some(snap) = &self.target.snap else {
            report.skip(&name, "no client key / private key given");
            return;
        };
        let code = match &self.target.account {
            Some(account) => match self.host_auth_code(account, report).await {
                Some(code) => code,
                None => {
                    report.skip(&name, "no authCode from the host-facing calls");
                    return;
                }
            },
            None => crate::digest::random_hex::<16>(),
        };
        let real = self.target.account.is_some();
        let first = self.b2b2c(snap, &code, None).await;
        let verdict = first.and_then(|(status, body)| {
            let response = lenient_field(&body, "responseCode").and_then(Value::as_str).unwrap_or_default().to_owned();
            if response == "4017400" || (status == 401 && response.is_empty()) {
                return Err(format!("signature refused: HTTP {status} {response}"));
            }
            if !real {
                return expect(response.starts_with("401") && response.len() == 7, || format!("field: an unknown authCode got responseCode {response:?}, expected a 401xxxx refusal"));
            }
            expect(response == SNAP_B2B2C_OK, || format!("refused: responseCode {response:?}"))?;
            let info = lenient_field(&body, "additionalInfo").and_then(Value::as_object);
            expect(info.and_then(|i| lenient_field(i, "userId")).and_then(Value::as_str).is_some_and(|u| !u.is_empty()), || "field: additionalInfo.userId is missing".to_owned())?;
            expect(lenient_field(&body, "accessToken").and_then(Value::as_str).is_some(), || "field: accessToken is missing".to_owned())
        });
        report.push(
            if real {
                name.clone()
            } else {
                format!("{name} unknown authCode")
            },
            verdict,
        );
        if real {
            let again = self.b2b2c(snap, &code, None).await;
            report.push(
                format!("{name} reused authCode"),
                again.and_then(|(_, body)| {
                    expect(
                        lenient_field(&body, "responseCode").and_then(Value::as_str)
                            != Some(SNAP_B2B2C_OK),
                        || "single use: an authCode was redeemed twice".to_owned(),
                    )
                }),
            );
        }
        let forged = self.b2b2c(snap, &code, Some("AAAA")).await;
        report.push(
            format!("{name} refuses a wrong X-SIGNATURE"),
            forged.and_then(|(status, body)| {
                expect(
                    status == 401
                        || lenient_field(&body, "responseCode").and_then(Value::as_str)
                            == Some("4017400"),
                    || format!("signature: a wrong X-SIGNATURE got HTTP {status}"),
                )
            }),
        );
    }

    async fn b2b2c(
        &self,
        snap: &SnapSigner,
        code: &str,
        forged: Option<&str>,
    ) -> Result<(u16, Map<String, Value>), String> {
        let (ts, client, sig) = snap.headers(self.clock.now_millis());
        let sig = forged.map_or(sig, str::to_owned);
        let headers = [
            (X_TIMESTAMP, ts.as_str()),
            (X_CLIENT_KEY, client.as_str()),
            (X_SIGNATURE, sig.as_str()),
        ];
        let mut body = Map::new();
        body.insert("grantType".into(), json!("AUTHORIZATION_CODE"));
        body.insert("authCode".into(), json!(code));
        let answer = self
            .caller
            .send(Method::Post, B2B2C_PATH, &headers, &body)
            .await
            .map_err(|e| e.to_string())?;
        if matches!(answer.status, 404 | 405) {
            return Err(format!("path: HTTP {} at POST {B2B2C_PATH}", answer.status));
        }
        match answer.body {
            Value::Object(object) if lenient_field(&object, "responseCode").is_some() => {
                Ok((answer.status, object))
            }
            _ => Err(format!("envelope: HTTP {}: no responseCode", answer.status)),
        }
    }

    /// `login`, then `getMiniProgramAuthCode`: an authCode, each step reported.
    async fn host_auth_code(
        &self,
        account: &HostAccount,
        report: &mut CheckReport,
    ) -> Option<String> {
        let login = host::login_body(
            &account.app_id,
            &account.user_account,
            &account.user_password,
        );
        let token = host::host_call(&self.caller, HOST_LOGIN_PATH, &login)
            .await
            .and_then(|data| host::data_field(&data, "token"));
        report.push(
            format!("login (POST {HOST_LOGIN_PATH})"),
            token.as_ref().map(|_| ()).map_err(Clone::clone),
        );
        let token = token.ok()?;
        let ask = host::auth_code_body(&account.app_id, &account.mini_app_id, &token, None);
        let code = host::host_call(&self.caller, HOST_AUTH_CODE_PATH, &ask)
            .await
            .and_then(|data| host::data_field(&data, "code"));
        report.push(
            format!("getMiniProgramAuthCode (POST {HOST_AUTH_CODE_PATH})"),
            code.as_ref().map(|_| ()).map_err(Clone::clone),
        );
        code.ok()
    }
}

fn expect(ok: bool, why: impl FnOnce() -> String) -> Result<(), String> {
    if ok { Ok(()) } else { Err(why()) }
}
