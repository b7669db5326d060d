//! `GET /api/v1/items`: stored items, newest first, with their matches.
//!
//! Filters: `indicator`, `severity` (minimum), `source`, `matched=true`;
//! paging: `limit`, `before` (see [`super::ListQuery`]).

use super::{ListQuery, Page, Paged, blocking};
use crate::http::HttpState;
use crate::http::error::ApiError;
use crate::model::Severity;
use crate::store::ItemQuery;
use axum::Json;
use axum::extract::State;
use serde::Deserialize;
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

/// One item as the API shows it: the stored item and its matches.
pub use crate::store::StoredItem as ItemView;

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
    Ok(Paged::new(found.items, found.next))
}

pub(super) async fn list(
    State(state): State<Arc<HttpState>>,
    query: ListQuery<ItemFilter>,
) -> Result<Json<Paged<ItemView>>, ApiError> {
    let page = blocking(&state, move |s| load(s, &query.filter, query.page)).await?;
    Ok(Json(page))
}
