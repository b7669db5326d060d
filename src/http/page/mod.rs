//! `GET /`: the status page, rendered on the server with `maud`.
//!
//! One HTML document with its CSS inline: no script, no external asset, no
//! build step. Every string from a feed or the config goes through maud's
//! escaping, links are shown only for `http(s)` URLs, and the answer
//! carries a Content-Security-Policy that forbids every script, so a
//! hostile feed can at worst show odd text. The page refreshes itself
//! every minute.
//!
//! The page is assembled from sections (`sections.rs`), each a function of
//! [`PageData`]; the data comes from the same `load` functions as the API.

mod highlight;
mod sections;
mod sparkline;

use super::HttpState;
use super::api::{self, Page, blocking, now};
use super::error::ApiError;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use std::sync::Arc;

/// Matched items shown on the page.
const RECENT_ITEMS: usize = 30;

/// Seconds between automatic reloads of the page.
const REFRESH_SECS: u32 = 60;

/// No script may run, whatever a feed smuggles in; styles only inline.
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; \
                   base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// Everything the page shows, read at once.
pub(super) struct PageData {
    pub now: DateTime<Utc>,
    pub board: api::indicators::Board,
    pub items: Vec<api::items::ItemView>,
    pub sources: Vec<api::sources::SourceView>,
}

fn load(state: &HttpState, now: DateTime<Utc>) -> Result<PageData, ApiError> {
    let matched = api::items::ItemFilter {
        matched: Some(true),
        ..Default::default()
    };
    let page = Page {
        limit: RECENT_ITEMS,
        before: None,
    };
    Ok(PageData {
        now,
        board: api::indicators::load(state, now)?,
        items: api::items::load(state, &matched, page)?.items,
        sources: api::sources::load(state, now)?,
    })
}

pub(super) async fn status_page(State(state): State<Arc<HttpState>>) -> Result<Response, ApiError> {
    let data = blocking(&state, |s| load(s, now())).await?;
    let mut response = render(&data).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // Links lead to outside sites, which need not learn where the
    // dashboard lives.
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// The whole document.
fn render(data: &PageData) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta http-equiv="refresh" content=(REFRESH_SECS);
                title { "tocsin — status" }
                style { (PreEscaped(include_str!("style.css"))) }
            }
            body {
                (sections::header(data))
                main {
                    (sections::indicators(data))
                    (sections::recent_alerts(data))
                    (sections::recent_items(data))
                    (sections::sources(data))
                }
                footer {
                    "tocsin " (env!("CARGO_PKG_VERSION"))
                    " · JSON at " code { "/api/v1/indicators" } ", "
                    code { "/api/v1/items" } ", " code { "/api/v1/sources" }
                    " · reloads every " (REFRESH_SECS) " s"
                }
            }
        }
    }
}
