//! [`Query`]: a route's query-string request, read into its wire struct
//! (which also describes the parameters to the OpenAPI document, through
//! its `IntoParams` derive), so that each parameter is named once.
//!
//! axum's own `Query` would answer a repeated parameter with a plain-text
//! 400 (serde_urlencoded's); this one parses with [`QueryParams`] (the
//! benchmarked fast path) and hands the pairs to the struct's `Deserialize`
//! through a small deserializer whose errors become the platform's `10002`,
//! worded as the hand parse worded them: the pattern of axum's
//! `customize-extractor-error` example.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::de::{self, DeserializeOwned, MapAccess, Visitor};

use serde::Serialize;

use super::answer::{Failure, invalid};
use super::params::QueryParams;
use crate::openserver::{ApiResponse, OpenServerError, StatusResponse};

/// The request `T` read from the query string; rejected, the platform's
/// `10002` in the error form `E` of the route's answer (as [`Failure`]).
pub(crate) struct Query<T, E = StatusResponse>(pub(crate) T, pub(crate) PhantomData<E>);

impl<T, E, S> FromRequestParts<S> for Query<T, E>
where
    T: DeserializeOwned,
    E: Serialize + ApiResponse,
    S: Sync,
{
    type Rejection = Failure<E>;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Failure<E>> {
        let params = QueryParams::parse(parts.uri.query());
        let request = T::deserialize(Pairs {
            pairs: params.pairs(),
        })
        .map_err(|e| Failure::from(e.into_platform()))?;
        Ok(Query(request, PhantomData))
    }
}

/// A deserialization error, kept apart so that a repeated field gets the
/// hand parse's words.
#[derive(Debug)]
pub(crate) enum Error {
    /// A parameter given more than once.
    Repeated(&'static str),
    /// Anything else serde says (a value that is not what the field takes).
    Other(String),
}

impl Error {
    fn into_platform(self) -> OpenServerError {
        match self {
            // The words of `QueryParams::string` and of the tests.
            Error::Repeated(name) => invalid(format_args!("{name} is given more than once")),
            Error::Other(what) => invalid(what),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Repeated(name) => write!(f, "{name} is given more than once"),
            Error::Other(what) => f.write_str(what),
        }
    }
}

impl std::error::Error for Error {}

impl de::Error for Error {
    fn custom<M: fmt::Display>(msg: M) -> Self {
        Error::Other(msg.to_string())
    }

    // serde's derive calls this when a struct's field comes twice: the one
    // error a query string of strings can give.
    fn duplicate_field(field: &'static str) -> Self {
        Error::Repeated(field)
    }
}

/// The pairs of a query string, as a map of strings to a struct's
/// `Deserialize`.
struct Pairs<I> {
    pairs: I,
}

impl<'de, 'q, 'a: 'q, I> de::Deserializer<'de> for Pairs<I>
where
    I: Iterator<Item = &'q (Cow<'a, str>, Cow<'a, str>)>,
{
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_map(PairsAccess {
            pairs: self.pairs,
            value: None,
        })
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

struct PairsAccess<'q, I> {
    pairs: I,
    value: Option<&'q str>,
}

impl<'de, 'q, 'a: 'q, I> MapAccess<'de> for PairsAccess<'q, I>
where
    I: Iterator<Item = &'q (Cow<'a, str>, Cow<'a, str>)>,
{
    type Error = Error;

    fn next_key_seed<K: de::DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        let Some((name, value)) = self.pairs.next() else {
            return Ok(None);
        };
        self.value = Some(value);
        seed.deserialize(Text(name)).map(Some)
    }

    fn next_value_seed<V: de::DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        seed.deserialize(Text(self.value.take().unwrap_or_default()))
    }
}

/// One name or value: a string, which an `Option` field takes as `Some`
/// and a newtype (a secret) as its string.
struct Text<'q>(&'q str);

impl<'de> de::Deserializer<'de> for Text<'_> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_str(self.0)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::openserver::{CheckSessionRequest, TokenRequest};

    fn read<T: DeserializeOwned>(query: &str) -> Result<T, String> {
        let params = QueryParams::parse(Some(query));
        T::deserialize(Pairs {
            pairs: params.pairs(),
        })
        .map_err(|e| e.into_platform().errmsg().to_owned())
    }

    #[test]
    fn a_query_string_reads_into_its_request() {
        let token: TokenRequest = read("appid=wx1&secret=s%20t&grant_type=client_credential&x=1")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(token.appid.as_deref(), Some("wx1"));
        assert_eq!(token.secret.as_ref().map(|s| s.secret()), Some("s t"));
        assert_eq!(token.grant_type.as_deref(), Some("client_credential"));
        let empty: CheckSessionRequest = read("").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(empty, CheckSessionRequest::default());
    }

    #[test]
    fn a_repeated_parameter_is_named_as_the_hand_parse_named_it() {
        let refused = read::<TokenRequest>("appid=a&appid=b");
        assert_eq!(
            refused.err().as_deref(),
            Some("invalid param: appid is given more than once")
        );
        // A parameter no field takes may come twice, as before.
        assert!(read::<TokenRequest>("x=1&x=2").is_ok());
    }
}
