//! `GET /api/v1/items`: stored items, newest first, with their matches.
//!
//! Filters: `indicator`, `severity` (minimum), `source`, `matched=true`;
//! paging: `limit`, `before` (see [`super::ListQuery`]).

use super::{ListQuery, Page, Paged, blocking};
use crate::http::HttpState;
use crate::http::error::ApiError;
use crate::model::Severity;
use crate::store::{ItemQuery, StoredItem, StoredMatch};
use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The filter parameters of `/api/v1/items`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemFilter {
    /// Only items matched by a rule of this indicator.
    pub indicator: Option<String>,
    /// Only items with a match of at least this severity.
    pub severity: Option<Severity>,
    /// Only items of this source.
    pub source: Option<String>,
    /// `true`: only items with at least one match (shadow rules included).
    pub matched: Option<bool>,
}

/// One item as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ItemView {
    pub source: String,
    pub id: String,
    pub title: String,
    pub summary: String,
    pub link: Option<String>,
    pub published: DateTime<Utc>,
    /// False when the feed gave no date (`published` is then `first_seen`).
    pub dated: bool,
    pub lang: Option<String>,
    pub first_seen: DateTime<Utc>,
    /// Most severe first.
    pub matches: Vec<MatchView>,
}

/// One match of an item.
#[derive(Debug, Clone, Serialize)]
pub struct MatchView {
    pub rule: String,
    pub indicator: String,
    pub severity: Severity,
    /// A shadow rule's match: recorded, never scored or alerted on.
    pub shadow: bool,
    /// The matched words as found in the folded text.
    pub terms: Vec<String>,
    pub matched_at: DateTime<Utc>,
}

impl From<StoredMatch> for MatchView {
    fn from(m: StoredMatch) -> MatchView {
        MatchView {
            rule: m.rule,
            indicator: m.indicator,
            severity: m.severity,
            shadow: m.shadow,
            terms: m.terms,
            matched_at: m.matched_at,
        }
    }
}

impl From<StoredItem> for ItemView {
    fn from(i: StoredItem) -> ItemView {
        ItemView {
            source: i.source,
            id: i.id,
            title: i.title,
            summary: i.summary,
            link: i.link,
            published: i.published,
            dated: i.dated,
            lang: i.lang,
            first_seen: i.first_seen,
            matches: i.matches.into_iter().map(MatchView::from).collect(),
        }
    }
}

/// One page of items.
pub fn load(
    state: &HttpState,
    filter: &ItemFilter,
    page: Page,
) -> Result<Paged<ItemView>, ApiError> {
    let query = ItemQuery {
        indicator: filter.indicator.clone(),
        min_severity: filter.severity,
        source: filter.source.clone(),
        matched_only: filter.matched == Some(true),
        before: page.before,
        limit: page.limit,
    };
    let found = state.store.items(&query)?;
    let items = found.items.into_iter().map(ItemView::from).collect();
    Ok(Paged::new(items, found.next))
}

pub(super) async fn list(
    State(state): State<Arc<HttpState>>,
    query: ListQuery<ItemFilter>,
) -> Result<Json<Paged<ItemView>>, ApiError> {
    let page = blocking(&state, move |s| load(s, &query.filter, query.page)).await?;
    Ok(Json(page))
}
