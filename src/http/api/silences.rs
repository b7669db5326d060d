//! Silences over HTTP, as `tocsin silence` on the command line:
//! `GET /api/v1/silences[?all=true]`, `POST /api/v1/silences` with
//! `{"indicator", "rule"?, "match"?, "for": "6h", "comment", "created_by"?}`,
//! `POST /api/v1/silences/{id}/expire`. These are the only writes of the
//! side door; with `http.api_token` set they need the token like any API
//! call.

use super::blocking;
use crate::alert::Silence;
use crate::http::HttpState;
use crate::http::error::ApiError;
use crate::store::NewSilence;
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SilenceQuery {
    /// Expired silences too.
    pub all: Option<bool>,
}

#[derive(Debug, Serialize)]
pub struct SilenceList {
    pub silences: Vec<Silence>,
}

/// The body of `POST /api/v1/silences`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateSilence {
    pub indicator: String,
    pub rule: Option<String>,
    #[serde(rename = "match")]
    pub match_text: Option<String>,
    /// How long, e.g. `"6h"`.
    #[serde(rename = "for")]
    pub duration: String,
    pub comment: String,
    pub created_by: Option<String>,
}

pub fn load(state: &HttpState, all: bool) -> Result<Vec<Silence>, ApiError> {
    Ok(state.store.silences(Utc::now(), all)?)
}

pub(super) async fn list(
    State(state): State<Arc<HttpState>>,
    query: Result<Query<SilenceQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<SilenceList>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let all = query.all.unwrap_or(false);
    let silences = blocking(&state, move |s| load(s, all)).await?;
    Ok(Json(SilenceList { silences }))
}

pub(super) async fn create(
    State(state): State<Arc<HttpState>>,
    body: Result<Json<CreateSilence>, JsonRejection>,
) -> Result<(StatusCode, Json<Silence>), ApiError> {
    let Json(body) = body.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let duration = humantime::parse_duration(body.duration.trim())
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "invalid `for` {:?}: a duration like \"6h\" or \"30m\"",
                body.duration
            ))
        })?;
    if body.comment.trim().is_empty() {
        return Err(ApiError::bad_request("`comment` must not be empty"));
    }
    let rules = state.rules.current();
    if !rules.indicators().iter().any(|i| i.id == body.indicator) {
        return Err(ApiError::bad_request(format!(
            "unknown indicator `{}`",
            body.indicator
        )));
    }
    if let Some(rule) = &body.rule
        && !rules
            .rules()
            .iter()
            .any(|r| r.id == *rule && r.indicator == body.indicator)
    {
        return Err(ApiError::bad_request(format!(
            "no rule `{rule}` in indicator `{}`",
            body.indicator
        )));
    }
    let silence = blocking(&state, move |s| {
        let now = Utc::now();
        let ends_at = now
            + chrono::Duration::from_std(duration)
                .map_err(|_| ApiError::bad_request("`for` is too long"))?;
        Ok(s.store.add_silence(
            &NewSilence {
                indicator: body.indicator,
                rule: body.rule,
                match_text: body.match_text.filter(|t| !t.trim().is_empty()),
                starts_at: now,
                ends_at,
                comment: body.comment,
                created_by: body.created_by,
            },
            now,
        )?)
    })
    .await?;
    tracing::info!(silence.id = silence.id, indicator = %silence.indicator, ends_at = %silence.ends_at, "silence added over HTTP");
    Ok((StatusCode::CREATED, Json(silence)))
}

pub(super) async fn expire(
    State(state): State<Arc<HttpState>>,
    Path(id): Path<String>,
) -> Result<Json<Silence>, ApiError> {
    let Ok(id) = id.parse::<i64>() else {
        return Err(ApiError::bad_request(format!("invalid silence id `{id}`")));
    };
    let silence = blocking(&state, move |s| {
        s.store
            .expire_silence(id, Utc::now())?
            .ok_or_else(|| ApiError::not_found(format!("no silence {id}")))
    })
    .await?;
    Ok(Json(silence))
}
