//! Reading the scripts' answers: the status numbers the Lua and the Rust
//! share, and the typed replies.

use redis::{FromRedisValue, ParsingError, Value};

use crate::openserver::store::{Refused, StoreError};

/// Declares the status numbers once: the Rust enum, and the Lua constants
/// prepended to every script (so that a script says `return CODE_USED`,
/// never a bare number).
macro_rules! statuses {
    ($($(#[$doc:meta])* $name:ident = $number:literal as $lua:literal,)*) => {
        /// What a script answers instead of data.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub(super) enum Status {
            $($(#[$doc])* $name = $number,)*
        }

        impl Status {
            /// The status a number stands for.
            pub(super) fn from_number(number: i64) -> Option<Status> {
                match number {
                    $($number => Some(Status::$name),)*
                    _ => None,
                }
            }
        }

        /// `local NAME = number` for every status, to go before each script.
        pub(super) const LUA_STATUSES: &str =
            concat!($("local ", $lua, " = ", $number, "\n",)*);
    };
}

statuses! {
    /// Done, with nothing to say.
    Done = 0 as "DONE",
    InvalidCode = 1 as "INVALID_CODE",
    CodeUsed = 2 as "CODE_USED",
    RateLimited = 3 as "RATE_LIMITED",
    UnknownOpenid = 4 as "UNKNOWN_OPENID",
    UserCodeQuota = 5 as "USER_CODE_QUOTA",
    AppCodeQuota = 6 as "APP_CODE_QUOTA",
    TokenQuota = 7 as "TOKEN_QUOTA",
    GrantQuota = 8 as "GRANT_QUOTA",
    /// A key read before the script, to name the keys it is given, changed
    /// in between: read again and retry.
    Stale = 9 as "STALE",
    InvalidToken = 10 as "INVALID_TOKEN",
}

/// A script's answer: data, or a status other than [`Status::Done`]
/// (`DONE` is the data of an answer that has none: `()`, `None`).
pub(super) enum Reply<T> {
    Data(T),
    Status(Status),
}

impl<T: FromRedisValue> FromRedisValue for Reply<T> {
    fn from_redis_value(value: Value) -> Result<Self, ParsingError> {
        match value {
            Value::Int(number) if number == Status::Done as i64 => {
                T::from_redis_value(Value::Nil).map(Reply::Data)
            }
            Value::Int(number) => Status::from_number(number)
                .map(Reply::Status)
                .ok_or_else(|| format!("unknown status {number}").into()),
            other => T::from_redis_value(other).map(Reply::Data),
        }
    }
}

impl<T> Reply<T> {
    /// The data, or the refusal the status stands for.
    pub(super) fn into_result(self) -> Result<T, StoreError> {
        match self {
            Reply::Data(data) => Ok(data),
            Reply::Status(status) => Err(refusal(status as i64)),
        }
    }
}

/// The refusal a script's status number stands for; a number that is no
/// refusal is an answer the store cannot use.
pub(super) fn refusal(status: i64) -> StoreError {
    let refused = match Status::from_number(status) {
        Some(Status::InvalidCode) => Refused::InvalidCode,
        Some(Status::CodeUsed) => Refused::CodeUsed,
        Some(Status::RateLimited) => Refused::RateLimited,
        Some(Status::UnknownOpenid) => Refused::UnknownOpenid,
        Some(Status::UserCodeQuota) => Refused::UserCodeQuota,
        Some(Status::AppCodeQuota) => Refused::AppCodeQuota,
        Some(Status::TokenQuota) => Refused::TokenQuota,
        Some(Status::GrantQuota) => Refused::GrantQuota,
        Some(Status::InvalidToken) => Refused::InvalidToken,
        Some(Status::Stale) => {
            return StoreError::Unavailable(
                "redis: the state kept changing under the operation".to_owned(),
            );
        }
        Some(Status::Done) | None => return unexpected(&Value::Int(status)),
    };
    StoreError::Refused(refused)
}

pub(super) fn unexpected(value: &Value) -> StoreError {
    StoreError::Unavailable(format!("redis: unexpected answer {value:?}"))
}

/// A script's answer as a list: `DONE` (an empty one), another status (a
/// refusal), or an array. (The store reads typed answers; this one pins
/// down, in a test, how a status reads.)
#[cfg(test)]
pub(super) fn answer(value: Value) -> Result<Vec<Value>, StoreError> {
    Reply::<Vec<Value>>::from_redis_value(value.clone())
        .map_err(|_| unexpected(&value))?
        .into_result()
}

/// A millisecond count stored as text.
pub(super) fn millis(bytes: &[u8]) -> Option<u64> {
    std::str::from_utf8(bytes).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_has_its_lua_constant() {
        for number in 0..=10 {
            let status = Status::from_number(number).expect("a status");
            let name = format!("{status:?}");
            // CamelCase -> UPPER_SNAKE, as the constants are named.
            let mut lua = String::new();
            for (i, c) in name.chars().enumerate() {
                if c.is_uppercase() && i > 0 {
                    lua.push('_');
                }
                lua.push(c.to_ascii_uppercase());
            }
            assert!(
                LUA_STATUSES.contains(&format!("local {lua} = {number}\n")),
                "{lua}"
            );
        }
        assert_eq!(Status::from_number(11), None);
    }
}
