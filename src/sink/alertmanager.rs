//! Prometheus Alertmanager, API v2: `POST /api/v2/alerts` with one alert.
//!
//! Labels identify the alert to Alertmanager (grouping, silences,
//! inhibition), so they are few and bounded: `alertname`, `indicator`,
//! `severity`, `rule`, and `story` or `level`. Everything else is an
//! annotation. `endsAt` is set `resolve_after` past the last send, so an
//! alert that is not re-sent resolves by itself.

use crate::alert::{AlertDoc, AlertKind};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};
use std::time::Duration;

/// The API path under the configured base URL.
pub const PATH: &str = "api/v2/alerts";

/// The JSON body for `alert`, sent at `now`.
pub fn body(alert: &AlertDoc, now: DateTime<Utc>, resolve_after: Duration) -> Value {
    let ends = now + chrono::Duration::from_std(resolve_after).unwrap_or_default();
    let mut labels = json!({
        "alertname": match alert.kind { AlertKind::Story => "TocsinStory", AlertKind::Level => "TocsinIndicatorLevel" },
        "indicator": alert.indicator,
        "severity": alert.severity.as_str(),
        "rule": alert.rules.first().map_or("", String::as_str),
    });
    match (&alert.story, alert.kind) {
        (Some(story), _) => labels["story"] = json!(story.id.to_string()),
        (None, _) => labels["level"] = json!(alert.level.as_str()),
    }
    let terms = alert.terms().join(", ");
    let summary = format!(
        "{} ({}): {} — matched: {}; sources: {}",
        alert.indicator_title,
        alert.severity.as_str(),
        alert.title,
        if terms.is_empty() { "—" } else { &terms },
        alert.sources.join(", ")
    );
    let mut annotations = json!({
        "title": alert.title,
        "summary": summary,
        "sources": alert.sources.join(", "),
        "level": alert.level.as_str(),
        "activity": format!("{:.2}", alert.score.activity),
        "alert_id": alert.id.to_string(),
    });
    if let Some(link) = &alert.link {
        annotations["link"] = json!(link);
    }
    let mut out = json!({
        "labels": labels,
        "annotations": annotations,
        "startsAt": alert.created_at.to_rfc3339_opts(SecondsFormat::Secs, true),
        "endsAt": ends.to_rfc3339_opts(SecondsFormat::Secs, true),
    });
    if let Some(link) = alert.link.as_ref().filter(|l| l.starts_with("http")) {
        out["generatorURL"] = json!(link);
    }
    json!([out])
}
