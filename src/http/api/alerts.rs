//! `GET /api/v1/alerts` (newest first, filter `indicator`, `severity`
//! minimum, `kind`), `GET /api/v1/alerts/{id}`: the alert documents
//! (docs/alerts.md) with where each delivery stands.

use super::{ListQuery, Page, Paged, blocking};
use crate::alert::AlertDoc;
use crate::http::HttpState;
use crate::http::error::ApiError;
use crate::model::Severity;
use crate::store::{AlertFilter, Cursor, DeliveryState};
use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The filter parameters of `/api/v1/alerts`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertQuery {
    pub indicator: Option<String>,
    /// Only alerts of at least this severity.
    pub severity: Option<Severity>,
    /// `story` or `level`.
    pub kind: Option<crate::alert::AlertKind>,
}

/// An alert and its deliveries.
#[derive(Debug, Clone, Serialize)]
pub struct AlertView {
    #[serde(flatten)]
    pub alert: AlertDoc,
    pub deliveries: Vec<DeliveryState>,
}

/// A page of alerts, newest first.
pub fn load(
    state: &HttpState,
    filter: &AlertQuery,
    page: Page,
) -> Result<Paged<AlertView>, ApiError> {
    // One more than asked, to know whether a next page exists.
    let mut alerts = state.store.alerts(&AlertFilter {
        indicator: filter.indicator.clone(),
        min_severity: filter.severity,
        kind: filter.kind,
        before: page.before.map(|c| c.rowid),
        limit: page.limit + 1,
    })?;
    let more = alerts.len() > page.limit;
    alerts.truncate(page.limit);
    let next = more.then(|| alerts.last()).flatten().map(|a| Cursor {
        at: a.created_at.timestamp(),
        rowid: a.id,
    });
    let views = alerts
        .into_iter()
        .map(|alert| {
            let deliveries = state.store.deliveries(alert.id)?;
            Ok(AlertView { alert, deliveries })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    Ok(Paged::new(views, next))
}

pub(super) async fn list(
    State(state): State<Arc<HttpState>>,
    query: ListQuery<AlertQuery>,
) -> Result<Json<Paged<AlertView>>, ApiError> {
    let page = blocking(&state, move |s| load(s, &query.filter, query.page)).await?;
    Ok(Json(page))
}

pub(super) async fn one(
    State(state): State<Arc<HttpState>>,
    Path(id): Path<String>,
) -> Result<Json<AlertView>, ApiError> {
    let Ok(id) = id.parse::<i64>() else {
        return Err(ApiError::bad_request(format!("invalid alert id `{id}`")));
    };
    let view = blocking(&state, move |s| {
        let alert = s
            .store
            .alert(id)?
            .ok_or_else(|| ApiError::not_found(format!("no alert {id}")))?;
        let deliveries = s.store.deliveries(id)?;
        Ok(AlertView { alert, deliveries })
    })
    .await?;
    Ok(Json(view))
}
