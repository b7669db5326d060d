//! `GET /api/v1/sources`: every configured source and its health.

use super::{blocking, now};
use crate::config::{SourceConfig, SourceKind};
use crate::http::HttpState;
use crate::http::error::ApiError;
use crate::source::health::{self, Status};
use crate::store::SourceState;
use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::sync::Arc;

/// One source as the API shows it: its config and what the store knows.
#[derive(Debug, Clone, Serialize)]
pub struct SourceView {
    pub id: String,
    pub kind: &'static str,
    /// URL or path; a password in a URL is replaced by `***`.
    pub location: String,
    pub tags: Vec<String>,
    pub interval_seconds: u64,
    /// `ok`, `failing`, `silent` or `pending` (see `source::health`).
    pub health: Status,
    pub silent_reason: Option<String>,
    pub last_attempt: Option<DateTime<Utc>>,
    pub last_success: Option<DateTime<Utc>>,
    pub last_new_item: Option<DateTime<Utc>>,
    pub consecutive_failures: u32,
    pub last_error: Option<String>,
    pub next_due: Option<DateTime<Utc>>,
    pub fetches_total: u64,
    pub items_new_total: u64,
}

/// `{"sources": [...]}`, in config order.
#[derive(Debug, Clone, Serialize)]
pub struct SourceList {
    pub sources: Vec<SourceView>,
}

/// The location to show: a URL's password (`https://user:pw@host/`) is a
/// secret and never leaves the daemon.
fn location(kind: &SourceKind) -> String {
    match kind {
        SourceKind::Feed { url } | SourceKind::Html { url, .. } if url.password().is_some() => {
            let mut url = url.clone();
            let _ = url.set_password(Some("***"));
            url.to_string()
        }
        other => other.location(),
    }
}

fn view(cfg: &SourceConfig, state: Option<&SourceState>, now: DateTime<Utc>) -> SourceView {
    let h = health::assess(cfg, state, now);
    let st = state.cloned().unwrap_or_default();
    SourceView {
        id: cfg.id.clone(),
        kind: h.kind,
        location: location(&cfg.kind),
        tags: cfg.tags.clone(),
        interval_seconds: cfg.interval.as_secs(),
        health: h.status,
        silent_reason: h.silent_reason,
        last_attempt: st.last_attempt,
        last_success: h.last_success,
        last_new_item: h.last_new_item,
        consecutive_failures: h.consecutive_failures,
        last_error: h.last_error,
        next_due: h.next_due,
        fetches_total: st.fetches_total,
        items_new_total: st.items_new_total,
    }
}

/// Every configured source with its health at `now`.
pub fn load(state: &HttpState, now: DateTime<Utc>) -> Result<Vec<SourceView>, ApiError> {
    let stored = state.store.source_states()?;
    Ok(state
        .config()
        .sources
        .iter()
        .map(|cfg| view(cfg, stored.iter().find(|s| s.source == cfg.id), now))
        .collect())
}

pub(super) async fn list(
    State(state): State<Arc<HttpState>>,
) -> Result<Json<SourceList>, ApiError> {
    let sources = blocking(&state, |s| load(s, now())).await?;
    Ok(Json(SourceList { sources }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_passwords_are_masked() {
        let kind = |u: &str| SourceKind::Feed {
            url: u.parse().unwrap(),
        };
        assert_eq!(
            location(&kind("https://reader:hunter2@feeds.example.org/rss")),
            "https://reader:***@feeds.example.org/rss"
        );
        assert_eq!(
            location(&kind("https://feeds.example.org/rss")),
            "https://feeds.example.org/rss"
        );
    }
}
