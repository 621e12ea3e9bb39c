//! [`PaymentParamsError`] and [`PaymentParamsProblem`]: why payment params
//! or a signData were rejected.

use crate::handler::HostError;
use crate::reply::FailureKind;

/// The `object` of errors about the signData JSON.
pub(super) const SIGN_DATA: &str = "signData";

/// Why payment params (or a signData) were rejected: which object, which
/// field, what was wrong.
///
/// The message reads `"<object>: <problem>"`, e.g.
/// `"requestPayment: nonceStr is missing"` or
/// `"signData: buyQuantity must be a positive integer"`.
///
/// A handler can `?` it: `From<PaymentParamsError> for HostError` gives
/// [`HostError::Failed`] with errno 102 ([`FailureKind::InvalidParams`]) and
/// the message `"invalid params: <problem>"` — the object is dropped when it
/// is the API itself, which `errMsg` already names, and kept for `signData`
/// — so the mini program sees
/// `"requestPayment:fail invalid params: nonceStr is missing"`.
///
/// ```
/// use superapp_openapi::payment::RequestPaymentParams;
/// use superapp_openapi::{HostError, JsonObject};
/// let err = RequestPaymentParams::from_params(&JsonObject::new()).unwrap_err();
/// assert_eq!(err.to_string(), "requestPayment: timeStamp is missing");
/// assert_eq!((err.object(), err.field()), ("requestPayment", Some("timeStamp")));
/// assert_eq!(
///     HostError::from(err),
///     HostError::failed("invalid params: timeStamp is missing").with_errno(102),
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{object}: {problem}")]
pub struct PaymentParamsError {
    object: &'static str,
    problem: PaymentParamsProblem,
}

impl PaymentParamsError {
    pub(super) fn new(object: &'static str, problem: PaymentParamsProblem) -> Self {
        PaymentParamsError { object, problem }
    }

    /// What the field belongs to: the API (`"requestPayment"`,
    /// `"requestVirtualPayment"`, `"requestMidasPaymentGameItem"`) or
    /// `"signData"`.
    pub fn object(&self) -> &'static str {
        self.object
    }

    /// The field at fault (`None` when signData as a whole is not a JSON object).
    pub fn field(&self) -> Option<&'static str> {
        self.problem.field()
    }

    /// What was wrong.
    pub fn problem(&self) -> &PaymentParamsProblem {
        &self.problem
    }

    /// The errno a reply carries: 102, invalid params (`docs/errors.md`).
    pub const fn errno(&self) -> i64 {
        FailureKind::InvalidParams.errno()
    }
}

impl From<PaymentParamsError> for HostError {
    fn from(err: PaymentParamsError) -> Self {
        let message = if err.object == SIGN_DATA {
            format!("invalid params: {err}")
        } else {
            format!("invalid params: {}", err.problem)
        };
        HostError::failed(message).with_errno(err.errno())
    }
}

/// What was wrong with a field; see [`PaymentParamsError`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PaymentParamsProblem {
    /// Absent or `null`.
    #[error("{field} is missing")]
    Missing {
        /// The wire name.
        field: &'static str,
    },
    /// Present with the wrong JSON type.
    #[error("{field} must be {expected}, not {found}")]
    WrongType {
        /// The wire name.
        field: &'static str,
        /// What it must be (`"a string"`, `"a string or a number"`…).
        expected: &'static str,
        /// The JSON type found (`"a number"`, `"an object"`…).
        found: &'static str,
    },
    /// Present with an unacceptable value.
    #[error("{field} {reason}")]
    Invalid {
        /// The wire name.
        field: &'static str,
        /// Why, phrased to follow the field name (`"must be a positive integer"`).
        reason: String,
    },
    /// signData is not JSON, or not a JSON object.
    #[error("not a JSON object ({reason})")]
    NotJsonObject {
        /// The parser's message, or the JSON type found.
        reason: String,
    },
}

impl PaymentParamsProblem {
    /// The field at fault, if the problem is about one field.
    pub fn field(&self) -> Option<&'static str> {
        match *self {
            PaymentParamsProblem::Missing { field }
            | PaymentParamsProblem::WrongType { field, .. }
            | PaymentParamsProblem::Invalid { field, .. } => Some(field),
            PaymentParamsProblem::NotJsonObject { .. } => None,
        }
    }
}
