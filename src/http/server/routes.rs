//! The route table: each route declared once, as its path (from
//! [`wire::paths`](crate::http::wire::paths), shared with the clients), its
//! kind (which methods it takes; `refusals.rs` answers the others with a
//! 405 naming them in `Allow`) and its handler. From the one table come the
//! axum router, the metrics' route labels and the OpenAPI document's paths:
//! the handlers' `#[utoipa::path]` annotations describe an operation but
//! name no path, which the table gives them.

use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::response::Response;
use utoipa::OpenApi as _;
use utoipa::openapi::OpenApi;

use super::log::observed;
use super::refusals::{get_and_head, get_only, not_found, post_only};
use super::state::ServerState;
use super::{developer, openapi, operations, sdk};
use crate::http::wire::paths;

/// The route label of a request no route matched.
const UNMATCHED: &str = "unmatched";

/// `route_table! { documented { PATH => kind(handler), … } undocumented { … } }`:
/// [`LABELS`], [`routes`] and [`documented_paths`], each in the table's order.
macro_rules! route_table {
    (
        documented { $($path:ident => $kind:ident($($handler:ident)::+),)* }
        undocumented { $($bare_path:ident => $bare_kind:ident($bare_handler:path),)* }
    ) => {
        /// The route labels, by route index: the table's paths in its order,
        /// and `unmatched` last, so that a client's path never becomes a
        /// label.
        pub(super) const LABELS: &[&str] =
            &[$(paths::$path,)* $(paths::$bare_path,)* UNMATCHED];

        /// The router of the table; the POST routes read bodies of at most
        /// `body_limit` bytes, and a path of no route gets a 404.
        pub(super) fn routes(body_limit: usize) -> Router<Arc<ServerState>> {
            let router = Router::new();
            let mut index = 0;
            $(
                let router = router.route(paths::$path, $kind(index, $($handler)::+, body_limit));
                index += 1;
            )*
            $(
                let router = router.route(paths::$bare_path, $bare_kind(index, $bare_handler, body_limit));
                index += 1;
            )*
            router.fallback(observed(index, not_found))
        }

        /// Adds each documented route's operation (its handler's
        /// `#[utoipa::path]`) under the table's path, with the schemas it
        /// names.
        fn documented_paths(document: &mut OpenApi) {
            $(
                {
                    // utoipa collects an annotated handler (and its schemas)
                    // only through a derived document; each has the route
                    // alone, under no path, which the table's path replaces.
                    #[derive(utoipa::OpenApi)]
                    #[openapi(paths($($handler)::+))]
                    struct Route;
                    add_route(document, paths::$path, Route::openapi());
                }
            )*
        }
    };
}

route_table! {
    documented {
        JSCODE2SESSION => get_only(developer::jscode2session),
        TOKEN => get_only(developer::token),
        CHECKSESSION => get_only(developer::checksession),
        GET_USER_PHONE_NUMBER => post_only(developer::getuserphonenumber),
        GET_EMAIL_ADDRESS => post_only(developer::getemailaddress),
        SDK_LOGIN_CODE => post_only(sdk::login_code),
        SDK_CHECK_SESSION => post_only(sdk::check_session),
        SDK_USER_CODE => post_only(sdk::user_code),
        SDK_PROFILE => post_only(sdk::profile),
        SDK_AUTH_CODE => post_only(sdk::auth_code),
        SDK_OPEN_DATA => post_only(sdk::open_data),
        HEALTHZ => get_and_head(operations::healthz),
        READYZ => get_and_head(operations::readyz),
        METRICS => get_and_head(operations::metrics),
    }
    undocumented {
        OPENAPI => get_and_head(serve_document),
    }
}

/// Moves the one operation of `route` under `path` in `document`, and its
/// schemas into the document's.
fn add_route(document: &mut OpenApi, path: &str, mut route: OpenApi) {
    let items = std::mem::take(&mut route.paths.paths);
    for (_, item) in items {
        document.paths.paths.insert(path.to_owned(), item);
    }
    document.merge(route);
}

/// The document: `openapi.rs`'s description of the API, the table's
/// paths, then what every operation shares (`openapi::complete`).
fn document() -> OpenApi {
    let mut document = openapi::Document::openapi();
    documented_paths(&mut document);
    openapi::complete(&mut document);
    document
}

/// The document as JSON, written once.
pub(super) fn document_json() -> &'static str {
    static JSON: OnceLock<String> = OnceLock::new();
    JSON.get_or_init(|| openapi::to_json(&document()))
}

/// `GET /openserver/openapi.json`.
async fn serve_document() -> Response {
    openapi::serve(document_json())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every route of the table but the document's own is in the document,
    /// under its path.
    #[test]
    fn the_document_has_every_documented_route() {
        let document = document();
        let documented: Vec<&str> = document.paths.paths.keys().map(String::as_str).collect();
        let mut expected: Vec<&str> = LABELS
            .iter()
            .copied()
            .filter(|p| *p != UNMATCHED && *p != paths::OPENAPI)
            .collect();
        expected.sort_unstable();
        assert_eq!(documented, expected);
    }
}
