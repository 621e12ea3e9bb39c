//! Request parameters read by hand, field by field, so that every malformed
//! request is answered with `10002` naming what is wrong rather than an
//! extractor's plain-text rejection.

use std::borrow::Cow;

use axum::http::HeaderMap;
use axum::http::header::CONTENT_TYPE;
use serde_json::{Map, Value};

use super::answer::invalid;
use crate::api::Scope;
use crate::app::json_type;
use crate::openserver::OpenServerError;

/// The parameters of a query string, decoded as `application/x-www-form-urlencoded`
/// (`+` and `%XX` decoded, invalid UTF-8 replaced: what axum's `Query`
/// extractor does), each name and value borrowed from the query string
/// unless it needed decoding. A query string cannot be malformed: every
/// string decodes to some pairs.
pub(crate) struct QueryParams<'a> {
    /// The first pairs, kept inline: a request of the API has at most four.
    inline: [Pair<'a>; INLINE_PAIRS],
    len: usize,
    /// Any pairs past those.
    more: Vec<Pair<'a>>,
}

type Pair<'a> = (Cow<'a, str>, Cow<'a, str>);

const INLINE_PAIRS: usize = 4;

impl<'a> QueryParams<'a> {
    /// The pairs of `query` (`None`: no query string, no pairs).
    pub(crate) fn parse(query: Option<&'a str>) -> Self {
        let mut params = QueryParams {
            inline: Default::default(),
            len: 0,
            more: Vec::new(),
        };
        // The pieces form_urlencoded splits into: on `&`, empty ones
        // skipped, the name up to the first `=`. When nothing in the query
        // string needs decoding (no `+`, no `%`), each name and value is
        // borrowed as it is, which is what decoding would give (a `&str` is
        // valid UTF-8); otherwise form_urlencoded decodes the pieces that
        // need it.
        let query = query.unwrap_or_default();
        let bytes = query.as_bytes();
        let encoded = memchr::memchr2(b'%', b'+', bytes).is_some();
        let mut start = 0;
        while start <= bytes.len() {
            let end = memchr::memchr(b'&', &bytes[start..]).map_or(bytes.len(), |at| start + at);
            let piece = &query[start..end];
            start = end + 1;
            if piece.is_empty() {
                continue;
            }
            if encoded && memchr::memchr2(b'%', b'+', piece.as_bytes()).is_some() {
                for pair in form_urlencoded::parse(piece.as_bytes()) {
                    params.push(pair);
                }
            } else {
                // `=` is ASCII: a char boundary.
                let (name, value) = match memchr::memchr(b'=', piece.as_bytes()) {
                    Some(at) => (&piece[..at], &piece[at + 1..]),
                    None => (piece, ""),
                };
                params.push((Cow::Borrowed(name), Cow::Borrowed(value)));
            }
        }
        params
    }

    fn push(&mut self, pair: Pair<'a>) {
        match self.inline.get_mut(self.len) {
            Some(slot) => *slot = pair,
            None => self.more.push(pair),
        }
        self.len += 1;
    }

    /// Every pair, in the query string's order.
    pub(super) fn pairs(&self) -> impl Iterator<Item = &Pair<'a>> {
        self.inline[..self.len.min(INLINE_PAIRS)]
            .iter()
            .chain(&self.more)
    }

    /// A parameter: `None` when absent, `10002` when given more than once
    /// (ambiguous, so refused rather than picking one).
    pub(crate) fn string(&self, name: &str) -> Result<Option<String>, OpenServerError> {
        let mut found = self.pairs().filter(|(n, _)| n == name);
        match (found.next(), found.next()) {
            (None, _) => Ok(None),
            (Some((_, value)), None) => Ok(Some(value.as_ref().to_owned())),
            (Some(_), Some(_)) => Err(invalid(format_args!("{name} is given more than once"))),
        }
    }
}

/// The parameters of a JSON object body.
pub(crate) struct Params {
    fields: Map<String, Value>,
}

impl Params {
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
            return Ok(Params { fields: Map::new() });
        }
        let value: Value = serde_json::from_slice(body)
            .map_err(|e| invalid(format_args!("the body is not valid JSON: {e}")))?;
        match value {
            Value::Object(fields) => Ok(Params { fields }),
            other => Err(invalid(format_args!(
                "the body must be a JSON object, found {}",
                json_type(&other)
            ))),
        }
    }

    /// A string parameter: `None` when absent or `null` (the platform then
    /// answers that it is missing), `10002` when of another type.
    pub(crate) fn string(&self, name: &str) -> Result<Option<String>, OpenServerError> {
        match self.fields.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(invalid(format_args!(
                "{name} must be a string, found {}",
                json_type(other)
            ))),
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
            None | Some(Value::Null) => return Ok(Vec::new()),
            Some(Value::Array(items)) => items,
            Some(other) => {
                return Err(invalid(format_args!(
                    "{name} must be an array of scope names, found {}",
                    json_type(other)
                )));
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
            None | Some(Value::Null) => Err(OpenServerError::missing(name)),
            Some(Value::Object(map)) => Ok(map),
            Some(other) => Err(invalid(format_args!(
                "{name} must be an object, found {}",
                json_type(other)
            ))),
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
        let p = QueryParams::parse(Some("appid=a&appid=b"));
        assert_eq!(
            p.string("appid").unwrap_err().errmsg(),
            "invalid param: appid is given more than once"
        );
    }

    #[test]
    fn query_parameters_are_decoded_as_forms_are() {
        let query = "a%70pid=w%78+1&secret=&&js_code=%FF%41&openid&sig=a=b&grant_type=x";
        let p = QueryParams::parse(Some(query));
        assert_eq!(p.string("appid").ok(), Some(Some("wx 1".to_owned())));
        assert_eq!(p.string("secret").ok(), Some(Some(String::new())));
        assert_eq!(p.string("js_code").ok(), Some(Some("\u{fffd}A".to_owned())));
        assert_eq!(p.string("openid").ok(), Some(Some(String::new())));
        assert_eq!(p.string("sig").ok(), Some(Some("a=b".to_owned())));
        assert_eq!(p.string("grant_type").ok(), Some(Some("x".to_owned())));
        assert_eq!(p.string("scope").ok(), Some(None));
        assert_eq!(QueryParams::parse(None).string("appid").ok(), Some(None));
        // The same pairs as form_urlencoded (what axum's Query uses) gives.
        for query in [
            query,
            "",
            "&",
            "=",
            "=x&y=&&z",
            "a==b&%3D=%26&+=+&a%2=%zz&\u{e9}t\u{e9}=\u{e9}",
            "&&appid=wx&secret=s3cr%65t&js_code=c0de&grant_type=authorization_code&&",
        ] {
            let expected: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
                .map(|(n, v)| (n.into_owned(), v.into_owned()))
                .collect();
            let got: Vec<(String, String)> = QueryParams::parse(Some(query))
                .pairs()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect();
            assert_eq!(got, expected, "{query}");
        }
        // Past the inline pairs.
        let many: String = (0..20).map(|i| format!("k{i}={i}&")).collect();
        let p = QueryParams::parse(Some(&many));
        assert_eq!(p.pairs().count(), 20);
        assert_eq!(p.string("k19").ok(), Some(Some("19".to_owned())));
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
