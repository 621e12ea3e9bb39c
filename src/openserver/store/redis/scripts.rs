//! The store's Lua scripts, one per rule, in `lua/` (each says which keys
//! and arguments it takes); loaded once and run with EVALSHA. Each is
//! prepended with the status constants of [`Status`](super::decode::Status),
//! so that Lua and Rust read the same numbers.

use redis::Script;

use super::decode::LUA_STATUSES;

/// Declares the scripts once: a field per script, loaded from
/// `lua/<name>.lua`, and the list [`Scripts::all`] loads into Redis.
macro_rules! scripts {
    ($($name:ident,)*) => {
        /// The store's scripts.
        pub(super) struct Scripts {
            $(pub(super) $name: Script,)*
        }

        impl Scripts {
            pub(super) fn new() -> Scripts {
                Scripts {
                    $($name: Script::new(&format!(
                        "{LUA_STATUSES}{}",
                        include_str!(concat!("lua/", stringify!($name), ".lua"))
                    )),)*
                }
            }

            pub(super) fn all(&self) -> impl Iterator<Item = &Script> {
                [$(&self.$name,)*].into_iter()
            }
        }
    };
}

scripts! {
    issue_code,
    redeem_login_code,
    redeem_user_code,
    replace_session,
    check_session,
    issue_token,
    token_record,
    issue_grant,
    redeem_grant,
}
