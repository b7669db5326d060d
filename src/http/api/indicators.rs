//! `GET /api/v1/indicators` and `GET /api/v1/indicators/{id}`: every
//! indicator declared in the rules in use, scored now from the stored
//! matches, with a 7-day hourly history, and the theatre index.
//!
//! Everything is recomputed per request by the pure score model (see
//! `score::level`), so the API agrees with `/metrics` and `tocsin
//! indicators` and needs no state of its own.

use super::{blocking, now};
use crate::http::HttpState;
use crate::http::error::ApiError;
use crate::rules::Indicator;
use crate::score::{Event, Level};
use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

/// How far back the history goes.
pub const HISTORY_SPAN: Duration = Duration::from_secs(7 * 86400);
/// The gap between history points: a sixth of the half-life, so a burst
/// shows at close to its peak.
pub const HISTORY_STEP: Duration = Duration::from_secs(3600);

/// One point of an indicator's history.
#[derive(Debug, Clone, Serialize)]
pub struct Point {
    pub at: DateTime<Utc>,
    pub activity: f64,
    pub level: Level,
}

/// One point of the theatre index's history.
#[derive(Debug, Clone, Serialize)]
pub struct IndexPoint {
    pub at: DateTime<Utc>,
    pub index: f64,
}

/// One indicator: its declaration, its score now and its history.
#[derive(Debug, Clone, Serialize)]
pub struct IndicatorView {
    pub id: String,
    pub title: String,
    pub description: String,
    /// External codes (`cameo`, `acled`), when declared.
    pub labels: BTreeMap<String, Vec<String>>,
    pub activity: f64,
    pub baseline: f64,
    pub level: Level,
    /// Live matches over the last 7 days (the baseline window).
    pub matches_7d: usize,
    /// Oldest first, every [`HISTORY_STEP`] over [`HISTORY_SPAN`], the
    /// last point being `at`.
    pub history: Vec<Point>,
}

/// The answer of `/api/v1/indicators`.
#[derive(Debug, Clone, Serialize)]
pub struct Board {
    pub at: DateTime<Utc>,
    pub theatre_index: f64,
    pub history_step_seconds: u64,
    /// The theatre index at each history point.
    pub theatre_history: Vec<IndexPoint>,
    pub indicators: Vec<IndicatorView>,
}

/// The answer of `/api/v1/indicators/{id}`.
#[derive(Debug, Clone, Serialize)]
pub struct One {
    pub at: DateTime<Utc>,
    pub history_step_seconds: u64,
    #[serde(flatten)]
    pub indicator: IndicatorView,
}

/// History values are rounded: beyond 1e-3 activity means nothing, and the
/// 169 points of every indicator stay short.
fn round(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Live (non-shadow) match events of every indicator, far enough back for
/// the baseline of the oldest history point.
fn events_by_indicator(
    state: &HttpState,
    now: DateTime<Utc>,
) -> Result<HashMap<String, Vec<Event>>, ApiError> {
    let config = state.config();
    let back = HISTORY_SPAN + config.scoring.baseline_window;
    let since = now - chrono::Duration::from_std(back).unwrap_or_default();
    let weights = config.source_weights();
    let mut by: HashMap<String, Vec<Event>> = HashMap::new();
    // Shadow rules are recorded, never scored (as in `app::indicator_summary`).
    for e in state
        .store
        .match_events(since)?
        .into_iter()
        .filter(|e| !e.shadow)
    {
        by.entry(e.indicator).or_default().push(Event::new(
            e.matched_at,
            e.severity,
            weights.get(&e.source).copied().unwrap_or(1.0),
        ));
    }
    Ok(by)
}

fn view(state: &HttpState, ind: &Indicator, events: &[Event], now: DateTime<Utc>) -> IndicatorView {
    let config = state.config();
    let model = &config.scoring;
    let score = model.score(events, now);
    let from = now - chrono::Duration::from_std(HISTORY_SPAN).unwrap_or_default();
    let history = model
        .history(events, from, now, HISTORY_STEP)
        .into_iter()
        .map(|p| Point {
            at: p.at,
            activity: round(p.score.activity),
            level: p.score.level,
        })
        .collect();
    IndicatorView {
        id: ind.id.clone(),
        title: ind.title.clone(),
        description: ind.description.clone(),
        labels: ind.labels.clone(),
        activity: score.activity,
        baseline: score.baseline,
        level: score.level,
        matches_7d: events.iter().filter(|e| e.at > from && e.at <= now).count(),
        history,
    }
}

/// Every declared indicator, in rule-pack order, and the theatre index.
pub fn load(state: &HttpState, now: DateTime<Utc>) -> Result<Board, ApiError> {
    let events = events_by_indicator(state, now)?;
    let rules = state.rules.current();
    let indicators: Vec<IndicatorView> = rules
        .indicators()
        .iter()
        .map(|ind| {
            view(
                state,
                ind,
                events.get(&ind.id).map_or(&[], Vec::as_slice),
                now,
            )
        })
        .collect();
    let config = state.config();
    let model = &config.scoring;
    let theatre_index = model.theatre_index(indicators.iter().map(|i| i.activity));
    let points = indicators.first().map_or(0, |i| i.history.len());
    let theatre_history = (0..points)
        .map(|k| IndexPoint {
            at: indicators[0].history[k].at,
            index: round(model.theatre_index(indicators.iter().map(|i| i.history[k].activity))),
        })
        .collect();
    Ok(Board {
        at: now,
        theatre_index,
        history_step_seconds: HISTORY_STEP.as_secs(),
        theatre_history,
        indicators,
    })
}

/// One indicator, or `None` if the rules in use declare no such id.
pub fn load_one(state: &HttpState, id: &str, now: DateTime<Utc>) -> Result<Option<One>, ApiError> {
    let rules = state.rules.current();
    let Some(ind) = rules.indicators().iter().find(|i| i.id == id) else {
        return Ok(None);
    };
    let events = events_by_indicator(state, now)?;
    let mine = events.get(id).map_or(&[][..], Vec::as_slice);
    Ok(Some(One {
        at: now,
        history_step_seconds: HISTORY_STEP.as_secs(),
        indicator: view(state, ind, mine, now),
    }))
}

pub(super) async fn list(State(state): State<Arc<HttpState>>) -> Result<Json<Board>, ApiError> {
    Ok(Json(blocking(&state, |s| load(s, now())).await?))
}

pub(super) async fn one(
    State(state): State<Arc<HttpState>>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<One>, ApiError> {
    let Path(id) = id.map_err(|e| {
        ApiError::bad_request(format!("invalid path: {}", e.body_text().to_lowercase()))
    })?;
    let found = {
        let id = id.clone();
        blocking(&state, move |s| load_one(s, &id, now())).await?
    };
    found
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("unknown indicator `{id}`")))
}
