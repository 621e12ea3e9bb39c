//! The JSON both sides of the user calls exchange: request bodies in a
//! family's field names, and the `ReturnCode` / `returnCode` envelope,
//! read leniently (either casing, the code as text or number) and written
//! exactly as the family's page shows it.

use std::str::FromStr;

use serde_json::{Map, Value};

use super::paths::{FieldNames, PathFamily};

/// The envelope's success code (every family: `"0"`).
pub const RETURN_OK: &str = "0";

/// What a temporary code is for (`Type`: `phone` or `email`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InfoKind {
    /// The phone number.
    Phone,
    /// The email address.
    Email,
}

wire_names!(
    /// Both kinds.
    InfoKind {
        Phone => "phone",
        Email => "email",
    }
);

/// A `Type` that is neither `phone` nor `email`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown type {0:?}: the allowed values are phone, email")]
pub struct UnknownInfoKind(pub String);

impl FromStr for InfoKind {
    type Err = UnknownInfoKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "phone" => Ok(InfoKind::Phone),
            "email" => Ok(InfoKind::Email),
            _ => Err(UnknownInfoKind(s.to_owned())),
        }
    }
}

/// A request's parameters in `family`'s field names.
pub fn request_params(
    family: PathFamily,
    user_id: &str,
    kind: Option<InfoKind>,
    temporary_code: Option<&str>,
) -> Map<String, Value> {
    let names = family.names();
    let mut params = Map::new();
    params.insert(names.user_id.to_owned(), Value::from(user_id));
    if let Some(kind) = kind {
        params.insert(names.info_type.to_owned(), Value::from(kind.as_str()));
    }
    if let Some(code) = temporary_code {
        params.insert(names.temporary_code.to_owned(), Value::from(code));
    }
    params
}

/// A field read leniently: the family's name first, then the same name in
/// the other casing (`UserId` / `userId`), so that a server or client of
/// another page version is still understood.
pub fn lenient_field<'a>(object: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    object.get(name).or_else(|| {
        object
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value)
    })
}

/// An envelope as read from a super-app server's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    /// The return code, as text (`"0"` is success).
    pub return_code: String,
    /// The message, empty when absent.
    pub return_message: String,
    /// The data, `Null` when absent.
    pub data: Value,
    /// The request id, when present.
    pub request_id: Option<String>,
    /// Whether every field was spelled as the family's page spells it
    /// (the conformance check reports it; the client does not mind).
    pub exact: bool,
}

/// Why an answer is not an envelope.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    /// Not a JSON object.
    #[error("the answer is not a JSON object")]
    NotAnObject,
    /// No return code in either casing.
    #[error("the answer has no {0}")]
    NoReturnCode(&'static str),
    /// A return code that is neither text nor a number.
    #[error("the answer's {0} is neither a string nor a number")]
    BadReturnCode(&'static str),
}

impl Envelope {
    /// Reads `value` as `family`'s envelope.
    ///
    /// # Errors
    ///
    /// [`EnvelopeError`] when it is not one.
    pub fn read(family: PathFamily, value: &Value) -> Result<Envelope, EnvelopeError> {
        let names = family.names();
        let object = value.as_object().ok_or(EnvelopeError::NotAnObject)?;
        let code = lenient_field(object, names.return_code)
            .ok_or(EnvelopeError::NoReturnCode(names.return_code))?;
        let return_code = match code {
            Value::String(s) => s.trim().to_owned(),
            Value::Number(n) => n.to_string(),
            _ => return Err(EnvelopeError::BadReturnCode(names.return_code)),
        };
        let text = |name: &str| {
            lenient_field(object, name)
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let exact = code.is_string()
            && object.contains_key(names.return_code)
            && (object.contains_key(names.data) || lenient_field(object, names.data).is_none())
            && names.request_id.is_none_or(|id| object.contains_key(id));
        Ok(Envelope {
            return_code,
            return_message: text(names.return_message).unwrap_or_default(),
            data: lenient_field(object, names.data)
                .cloned()
                .unwrap_or(Value::Null),
            request_id: names.request_id.and_then(text),
            exact,
        })
    }

    /// Whether the code is success.
    pub fn is_ok(&self) -> bool {
        self.return_code == RETURN_OK
    }
}

/// Writes an envelope in `family`'s field names.
pub fn write_envelope(
    family: PathFamily,
    return_code: &str,
    message: &str,
    data: Value,
    request_id: &str,
) -> Value {
    let FieldNames {
        return_code: code_name,
        return_message,
        data: data_name,
        request_id: id_name,
        ..
    } = family.names();
    let mut object = Map::new();
    object.insert(code_name.to_owned(), Value::from(return_code));
    object.insert(return_message.to_owned(), Value::from(message));
    object.insert(data_name.to_owned(), data);
    if let Some(id_name) = id_name {
        object.insert(id_name.to_owned(), Value::from(request_id));
    }
    Value::Object(object)
}

/// The masked form the pages show (`136****6688`, `mu****ng@tencent.com`):
/// the first three and last four characters of a phone number, the first
/// two and last two of an email's local part.
pub fn mask(kind: InfoKind, value: &str) -> String {
    fn keep(s: &str, head: usize, tail: usize) -> String {
        let chars: Vec<char> = s.chars().collect();
        if chars.len() <= head + tail {
            return "*".repeat(chars.len().max(1));
        }
        let mut out: String = chars[..head].iter().collect();
        out.push_str("****");
        out.extend(&chars[chars.len() - tail..]);
        out
    }
    match kind {
        InfoKind::Phone => keep(value, 3, 4),
        InfoKind::Email => match value.split_once('@') {
            Some((local, domain)) => format!("{}@{domain}", keep(local, 2, 2)),
            None => keep(value, 2, 2),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn envelopes_are_written_in_the_family_s_names_and_read_back_exactly() {
        for family in PathFamily::ALL {
            let written = write_envelope(family, "0", "ok", json!(true), "r-1");
            let read = Envelope::read(family, &written).unwrap();
            assert!(
                read.is_ok() && read.exact && read.data == json!(true),
                "{family}"
            );
        }
        let old = write_envelope(PathFamily::V20250108, "0", "ok", json!("Ada"), "r-1");
        assert_eq!(
            old,
            json!({"ReturnCode": "0", "ReturnMessage": "ok", "Data": "Ada"})
        );
    }

    #[test]
    fn another_casing_or_a_numeric_code_is_understood_but_not_exact() {
        let other = json!({"ReturnCode": 46001, "ReturnMessage": "no", "Data": false});
        let read = Envelope::read(PathFamily::V20251205, &other).unwrap();
        assert_eq!(read.return_code, "46001");
        assert_eq!(read.return_message, "no");
        assert!(!read.exact);
        assert_eq!(
            Envelope::read(PathFamily::V20251205, &json!({"data": 1})),
            Err(EnvelopeError::NoReturnCode("returnCode"))
        );
        assert_eq!(
            Envelope::read(PathFamily::V20251205, &json!([1])),
            Err(EnvelopeError::NotAnObject)
        );
    }

    #[test]
    fn masks_follow_the_pages_examples() {
        assert_eq!(mask(InfoKind::Phone, "13600006688"), "136****6688");
        assert_eq!(
            mask(InfoKind::Email, "muzhiying@tencent.com"),
            "mu****ng@tencent.com"
        );
        assert_eq!(mask(InfoKind::Phone, "123"), "***");
    }

    #[test]
    fn request_params_use_each_family_s_field_names() {
        let p = request_params(PathFamily::V20250425, "u-1", Some(InfoKind::Email), None);
        assert_eq!(Value::Object(p), json!({"userId": "u-1", "Type": "email"}));
        let p = request_params(PathFamily::V20250108, "u-1", None, Some("c"));
        assert_eq!(
            Value::Object(p),
            json!({"UserId": "u-1", "TemporaryCode": "c"})
        );
    }
}
