//! `GET /api/v1/stories`: stories (matched items clustered across outlets),
//! newest first, filter `indicator` and `severity` (minimum), with their
//! items and the ids of their alerts.

use super::{ListQuery, Page, Paged, blocking};
use crate::http::HttpState;
use crate::http::error::ApiError;
use crate::model::Severity;
use crate::store::{Cursor, StoryFilter, StoryRow};
use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use std::sync::Arc;

/// The filter parameters of `/api/v1/stories`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoryQuery {
    pub indicator: Option<String>,
    pub severity: Option<Severity>,
}

pub fn load(
    state: &HttpState,
    filter: &StoryQuery,
    page: Page,
) -> Result<Paged<StoryRow>, ApiError> {
    let mut stories = state.store.stories(&StoryFilter {
        indicator: filter.indicator.clone(),
        min_severity: filter.severity,
        before: page.before.map(|c| c.rowid),
        limit: page.limit + 1,
    })?;
    let more = stories.len() > page.limit;
    stories.truncate(page.limit);
    let next = more.then(|| stories.last()).flatten().map(|s| Cursor {
        at: s.last_seen.timestamp(),
        rowid: s.id,
    });
    Ok(Paged::new(stories, next))
}

pub(super) async fn list(
    State(state): State<Arc<HttpState>>,
    query: ListQuery<StoryQuery>,
) -> Result<Json<Paged<StoryRow>>, ApiError> {
    let page = blocking(&state, move |s| load(s, &query.filter, query.page)).await?;
    Ok(Json(page))
}
