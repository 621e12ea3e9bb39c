//! [`Fields`]: reads params and signData fields, with errors that name the
//! object and the field.

use serde_json::Value;

use super::error::{PaymentParamsError, PaymentParamsProblem};
use crate::app::json_type;
use crate::handler::JsonObject;

/// Field access with errors that name the object and the field.
pub(super) struct Fields<'a> {
    object: &'static str,
    map: &'a JsonObject,
}

impl<'a> Fields<'a> {
    pub(super) fn new(object: &'static str, map: &'a JsonObject) -> Self {
        Fields { object, map }
    }

    /// The field, treating `null` as absent (JS `undefined` becomes `null`
    /// in some bridges).
    pub(super) fn value(&self, field: &str) -> Option<&'a Value> {
        self.map.get(field).filter(|v| !v.is_null())
    }

    /// A required, non-empty string.
    pub(super) fn string(&self, field: &'static str) -> Result<&'a str, PaymentParamsError> {
        match self.optional_string(field)? {
            None => Err(self.missing(field)),
            Some("") => Err(self.invalid(field, "must not be empty")),
            Some(s) => Ok(s),
        }
    }

    /// An optional string (possibly empty).
    pub(super) fn optional_string(
        &self,
        field: &'static str,
    ) -> Result<Option<&'a str>, PaymentParamsError> {
        match self.value(field) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(self.wrong_type(field, "a string", other)),
        }
    }

    pub(super) fn missing(&self, field: &'static str) -> PaymentParamsError {
        PaymentParamsError::new(self.object, PaymentParamsProblem::Missing { field })
    }

    pub(super) fn wrong_type(
        &self,
        field: &'static str,
        expected: &'static str,
        found: &Value,
    ) -> PaymentParamsError {
        PaymentParamsError::new(
            self.object,
            PaymentParamsProblem::WrongType {
                field,
                expected,
                found: json_type(found),
            },
        )
    }

    pub(super) fn invalid(
        &self,
        field: &'static str,
        reason: impl Into<String>,
    ) -> PaymentParamsError {
        PaymentParamsError::new(
            self.object,
            PaymentParamsProblem::Invalid {
                field,
                reason: reason.into(),
            },
        )
    }
}
