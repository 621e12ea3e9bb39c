//! Request parameters read by hand, field by field, so that every malformed
//! request is answered with `10002` naming what is wrong rather than an
//! extractor's plain-text rejection.

use std::collections::HashMap;

use axum::http::HeaderMap;
use axum::http::header::CONTENT_TYPE;
use serde_json::{Map, Value};

use axum::extract::Query;
use axum::extract::rejection::QueryRejection;

use super::answer::invalid;
use crate::api::Scope;
use crate::app::json_type;
use crate::openserver::OpenServerError;

/// A query string as its decoded pairs, or why it could not be decoded.
pub(crate) type QueryPairs = Result<Query<Vec<(String, String)>>, QueryRejection>;

enum Field {
    One(Value),
    /// The query string gave the name more than once: ambiguous, so refused
    /// rather than picking one.
    Repeated,
}

/// The parameters of one request: a query string or a JSON object body.
pub(crate) struct Params {
    fields: HashMap<String, Field>,
}

impl Params {
    /// The parameters of a query string; `10002` when it is malformed.
    pub(crate) fn from_query_string(query: QueryPairs) -> Result<Params, OpenServerError> {
        query
            .map(|Query(pairs)| Params::from_query(pairs))
            .map_err(|_| invalid("the query string is malformed"))
    }

    /// The pairs of a decoded query string.
    pub(crate) fn from_query(pairs: Vec<(String, String)>) -> Params {
        let mut fields = HashMap::with_capacity(pairs.len());
        for (name, value) in pairs {
            fields
                .entry(name)
                .and_modify(|f| *f = Field::Repeated)
                .or_insert(Field::One(Value::String(value)));
        }
        Params { fields }
    }

    /// A JSON object body. An empty body counts as `{}`, so the answer names
    /// the first missing field.
    pub(crate) fn from_json_body(
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Params, OpenServerError> {
        if let Some(content_type) = headers.get(CONTENT_TYPE) {
            let Ok(text) = content_type.to_str() else {
                return Err(invalid(
                    "the body must be JSON (Content-Type: application/json)",
                ));
            };
            if !is_json_media_type(text) {
                let shown: String = text.chars().take(64).collect();
                return Err(invalid(format_args!(
                    "the body must be JSON (Content-Type: application/json), found {shown}"
                )));
            }
        }
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Params {
                fields: HashMap::new(),
            });
        }
        let value: Value = serde_json::from_slice(body)
            .map_err(|e| invalid(format_args!("the body is not valid JSON: {e}")))?;
        match value {
            Value::Object(map) => Ok(Params::from_object(map)),
            other => Err(invalid(format_args!(
                "the body must be a JSON object, found {}",
                json_type(&other)
            ))),
        }
    }

    fn from_object(map: Map<String, Value>) -> Params {
        Params {
            fields: map.into_iter().map(|(k, v)| (k, Field::One(v))).collect(),
        }
    }

    /// A string parameter: `None` when absent or `null` (the platform then
    /// answers that it is missing), `10002` when of another type.
    pub(crate) fn string(&self, name: &str) -> Result<Option<String>, OpenServerError> {
        match self.fields.get(name) {
            None | Some(Field::One(Value::Null)) => Ok(None),
            Some(Field::One(Value::String(s))) => Ok(Some(s.clone())),
            Some(Field::One(other)) => Err(invalid(format_args!(
                "{name} must be a string, found {}",
                json_type(other)
            ))),
            Some(Field::Repeated) => Err(invalid(format_args!("{name} is given more than once"))),
        }
    }

    /// A string parameter that must be there and not empty.
    pub(crate) fn required_string(&self, name: &str) -> Result<String, OpenServerError> {
        match self.string(name)? {
            Some(s) if !s.is_empty() => Ok(s),
            _ => Err(OpenServerError::missing(name)),
        }
    }

    /// An optional array of v3 scope names (`["SCOPE_PHONE_NUMBER", …]`);
    /// absent or `null` is no scope.
    pub(crate) fn scopes(&self, name: &str) -> Result<Vec<Scope>, OpenServerError> {
        let items = match self.fields.get(name) {
            None | Some(Field::One(Value::Null)) => return Ok(Vec::new()),
            Some(Field::One(Value::Array(items))) => items,
            Some(Field::One(other)) => {
                return Err(invalid(format_args!(
                    "{name} must be an array of scope names, found {}",
                    json_type(other)
                )));
            }
            Some(Field::Repeated) => {
                return Err(invalid(format_args!("{name} is given more than once")));
            }
        };
        items
            .iter()
            .enumerate()
            .map(|(i, item)| match item {
                Value::String(s) => s
                    .parse::<Scope>()
                    .map_err(|e| invalid(format_args!("{name}[{i}]: {e}"))),
                other => Err(invalid(format_args!(
                    "{name}[{i}] must be a string, found {}",
                    json_type(other)
                ))),
            })
            .collect()
    }

    /// An object parameter that must be there.
    pub(crate) fn required_object(
        &self,
        name: &str,
    ) -> Result<&Map<String, Value>, OpenServerError> {
        match self.fields.get(name) {
            None | Some(Field::One(Value::Null)) => Err(OpenServerError::missing(name)),
            Some(Field::One(Value::Object(map))) => Ok(map),
            Some(Field::One(other)) => Err(invalid(format_args!(
                "{name} must be an object, found {}",
                json_type(other)
            ))),
            Some(Field::Repeated) => Err(invalid(format_args!("{name} is given more than once"))),
        }
    }
}

/// `application/json`, or any `+json` type, parameters aside.
fn is_json_media_type(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn json_headers(ct: &'static str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(CONTENT_TYPE, HeaderValue::from_static(ct));
        h
    }

    #[test]
    fn json_media_types_are_recognised_with_parameters() {
        assert!(is_json_media_type("application/json"));
        assert!(is_json_media_type("Application/JSON; charset=utf-8"));
        assert!(is_json_media_type("application/problem+json"));
        assert!(!is_json_media_type("text/plain"));
        assert!(!is_json_media_type("application/x-www-form-urlencoded"));
    }

    #[test]
    fn a_field_of_the_wrong_type_is_named() {
        let p = Params::from_json_body(&json_headers("application/json"), br#"{"openid": 7}"#)
            .unwrap_or_else(|e| panic!("{e}"));
        let err = p.string("openid").unwrap_err();
        assert_eq!(err.errcode(), 10002);
        assert_eq!(
            err.errmsg(),
            "invalid param: openid must be a string, found a number"
        );
    }

    #[test]
    fn a_repeated_query_parameter_is_refused() {
        let p = Params::from_query(vec![
            ("appid".into(), "a".into()),
            ("appid".into(), "b".into()),
        ]);
        assert_eq!(
            p.string("appid").unwrap_err().errmsg(),
            "invalid param: appid is given more than once"
        );
    }

    #[test]
    fn an_empty_body_counts_as_an_empty_object() {
        let p = Params::from_json_body(&HeaderMap::new(), b"  ").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.string("code").ok(), Some(None));
    }

    #[test]
    fn a_non_object_body_is_refused() {
        let err = Params::from_json_body(&HeaderMap::new(), b"[1]")
            .err()
            .map(|e| e.errmsg().to_owned());
        assert_eq!(
            err.as_deref(),
            Some("invalid param: the body must be a JSON object, found an array")
        );
    }
}
