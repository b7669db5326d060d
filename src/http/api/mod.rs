//! The JSON API under `/api/v1`, read-only: one submodule per resource.
//!
//! Shared pieces every resource uses:
//!
//! - [`ListQuery`]: the query string of a list endpoint, split into paging
//!   ([`Page`]: `limit`, `before`) and the resource's own filter, whose
//!   unknown parameters are rejected (a typo is a 400, not a silently
//!   unfiltered list);
//! - [`Paged`]: the answer of a paged list, `{"items": [...], "next": ...}`;
//! - [`blocking`]: runs store reads off the async threads;
//! - errors are [`ApiError`]s (`{"error": "..."}` with the right status).
//!
//! Adding a resource: a file here with its view types, a `load` function
//! (the status page reuses it) and a handler, and one `.route` below.

pub mod indicators;
pub mod items;
pub mod sources;

use super::HttpState;
use super::error::{self, ApiError};
use crate::store::Cursor;
use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::routing::get;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::sync::Arc;

/// Items per page when `limit` is not given.
pub const DEFAULT_LIMIT: usize = 50;
/// The largest `limit` accepted.
pub const MAX_LIMIT: usize = 500;

/// The routes of `/api/v1`, without the token check (`http::router` adds it).
pub fn router() -> Router<Arc<HttpState>> {
    Router::new()
        .route("/sources", get(sources::list))
        .route("/items", get(items::list))
        .route("/indicators", get(indicators::list))
        .route("/indicators/{id}", get(indicators::one))
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
}

/// Runs a store read on the blocking pool: the store is synchronous SQLite
/// behind a mutex, and must not stall the threads serving requests.
pub async fn blocking<T, F>(state: &Arc<HttpState>, read: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&HttpState) -> Result<T, ApiError> + Send + 'static,
{
    let state = state.clone();
    tokio::task::spawn_blocking(move || read(&state))
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "http: read task failed");
            ApiError::internal("internal error")
        })?
}

/// The time a request is answered for, to the second: scores and
/// history points need no finer time, and whole seconds read better.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    use chrono::SubsecRound;
    chrono::Utc::now().trunc_subsecs(0)
}

/// Paging of a newest-first list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// `limit`: 1 to [`MAX_LIMIT`], default [`DEFAULT_LIMIT`].
    pub limit: usize,
    /// `before`: the `next` of an earlier page; only older rows follow.
    pub before: Option<Cursor>,
}

impl Default for Page {
    fn default() -> Page {
        Page {
            limit: DEFAULT_LIMIT,
            before: None,
        }
    }
}

/// A cursor as clients see it: `<unix seconds>_<rowid>`, e.g.
/// `1751277600_42`. Clients treat it as opaque and pass it back.
pub fn format_cursor(cursor: Cursor) -> String {
    format!("{}_{}", cursor.at, cursor.rowid)
}

fn parse_cursor(text: &str) -> Result<Cursor, ApiError> {
    let parsed = text
        .split_once('_')
        .and_then(|(at, rowid)| Some((at.parse().ok()?, rowid.parse().ok()?)));
    match parsed {
        Some((at, rowid)) => Ok(Cursor { at, rowid }),
        None => Err(ApiError::bad_request(format!(
            "invalid cursor `{text}` in `before`: pass the `next` of an earlier page"
        ))),
    }
}

fn parse_limit(text: &str) -> Result<usize, ApiError> {
    match text.parse::<usize>() {
        Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        _ => Err(ApiError::bad_request(format!(
            "invalid `limit` `{text}`: expected a whole number from 1 to {MAX_LIMIT}"
        ))),
    }
}

/// The query of a list endpoint: paging, and the filter `F` read from the
/// other parameters. `F` should be `#[serde(deny_unknown_fields)]` with
/// every field optional; its errors name the parameter.
#[derive(Debug, Clone)]
pub struct ListQuery<F> {
    pub page: Page,
    pub filter: F,
}

impl<F: DeserializeOwned> ListQuery<F> {
    /// Parses a query string (without the `?`).
    pub fn parse(query: &str) -> Result<ListQuery<F>, ApiError> {
        // Paging is taken out first and the filter deserialised from what
        // is left, so the filter can deny unknown fields (a typo is a 400);
        // a struct flattened into another cannot.
        let mut page = Page::default();
        let mut rest = url::form_urlencoded::Serializer::new(String::new());
        for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
            match &*key {
                "limit" => page.limit = parse_limit(&value)?,
                "before" => page.before = Some(parse_cursor(&value)?),
                _ => {
                    rest.append_pair(&key, &value);
                }
            }
        }
        let rest = rest.finish();
        let de = serde_urlencoded::Deserializer::new(url::form_urlencoded::parse(rest.as_bytes()));
        let filter = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner().to_string();
            if let Some(field) = inner.strip_prefix("unknown field ") {
                ApiError::bad_request(format!(
                    "unknown query parameter {field} (or `limit`, `before`)"
                ))
            } else if path == "." {
                ApiError::bad_request(format!("invalid query: {inner}"))
            } else {
                ApiError::bad_request(format!("invalid `{path}`: {inner}"))
            }
        })?;
        Ok(ListQuery { page, filter })
    }
}

impl<F, S> FromRequestParts<S> for ListQuery<F>
where
    F: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        ListQuery::parse(parts.uri.query().unwrap_or(""))
    }
}

/// The answer of a paged list: `{"items": [...], "next": "<cursor>" | null}`;
/// `next` is null on the last page.
#[derive(Debug, Clone, Serialize)]
pub struct Paged<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

impl<T> Paged<T> {
    pub fn new(items: Vec<T>, next: Option<Cursor>) -> Paged<T> {
        Paged {
            items,
            next: next.map(format_cursor),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq, Default)]
    #[serde(deny_unknown_fields)]
    struct Filter {
        flag: Option<bool>,
        name: Option<String>,
    }

    fn parse(q: &str) -> Result<ListQuery<Filter>, String> {
        ListQuery::<Filter>::parse(q).map_err(|e| e.message)
    }

    #[test]
    fn paging_and_filter_from_one_query() {
        let q = parse("limit=7&name=a%20b&before=1751277600_42&flag=true").unwrap();
        assert_eq!(q.page.limit, 7);
        assert_eq!(
            q.page.before,
            Some(Cursor {
                at: 1751277600,
                rowid: 42
            })
        );
        assert_eq!(
            q.filter,
            Filter {
                flag: Some(true),
                name: Some("a b".into())
            }
        );
        let q = parse("").unwrap();
        assert_eq!((q.page, q.filter), (Page::default(), Filter::default()));
        assert_eq!(format_cursor(Cursor { at: 5, rowid: 9 }), "5_9");
    }

    #[test]
    fn bad_queries_say_what_is_wrong() {
        for (query, want) in [
            (
                "limit=0",
                "invalid `limit` `0`: expected a whole number from 1 to 500",
            ),
            ("limit=501", "invalid `limit` `501`"),
            ("limit=x", "invalid `limit` `x`"),
            ("before=12", "invalid cursor `12` in `before`"),
            ("flag=yes", "invalid `flag`:"),
            (
                "nmae=a",
                "unknown query parameter `nmae`, expected `flag` or `name` (or `limit`, `before`)",
            ),
        ] {
            let err = parse(query).unwrap_err();
            assert!(err.starts_with(want), "{query}: {err}");
        }
    }
}
