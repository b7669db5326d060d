//! Source health: whether each source is working, failing, or silent.
//!
//! "Silent" is the failure nobody notices: a feed that still answers 200 but
//! has stopped carrying news, or a scraped page whose layout changed so the
//! selectors match nothing. Both are judged here from stored state.

use crate::config::SourceConfig;
use crate::store::SourceState;
use chrono::{DateTime, Utc};
use serde::Serialize;

/// Overall status of a source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Never polled yet.
    Pending,
    Ok,
    /// The last poll failed.
    Failing,
    /// Polls succeed but the source yields nothing it usually would.
    Silent,
}

/// A source's health, for the CLI, logs and (later) the API.
#[derive(Debug, Clone, Serialize)]
pub struct Health {
    pub source: String,
    pub kind: &'static str,
    pub location: String,
    pub status: Status,
    pub last_success: Option<DateTime<Utc>>,
    pub last_new_item: Option<DateTime<Utc>>,
    pub consecutive_failures: u32,
    pub last_error: Option<String>,
    pub silent: bool,
    pub silent_reason: Option<String>,
    pub next_due: Option<DateTime<Utc>>,
}

/// Polls with news before a source's cadence is trusted enough to call it silent.
const MIN_BATCHES: u32 = 3;

/// Judges one source's health from its config and stored state.
pub fn assess(cfg: &SourceConfig, state: Option<&SourceState>, now: DateTime<Utc>) -> Health {
    let default = SourceState::default();
    let st = state.unwrap_or(&default);
    let silent_reason = silent_reason(cfg, st, now);
    let status = match () {
        _ if state.is_none() || st.last_attempt.is_none() => Status::Pending,
        _ if st.consecutive_failures > 0 => Status::Failing,
        _ if silent_reason.is_some() => Status::Silent,
        _ => Status::Ok,
    };
    Health {
        source: cfg.id.clone(),
        kind: cfg.kind.name(),
        location: cfg.kind.location(),
        status,
        last_success: st.last_success,
        last_new_item: st.last_new_item,
        consecutive_failures: st.consecutive_failures,
        last_error: st.last_error.clone(),
        silent: silent_reason.is_some(),
        silent_reason,
        next_due: st.next_due,
    }
}

fn silent_reason(cfg: &SourceConfig, st: &SourceState, now: DateTime<Utc>) -> Option<String> {
    if st.selectors_empty {
        return Some("the item selector matched nothing on the last page".into());
    }
    let (Some(gap), Some(last)) = (st.mean_new_gap_secs, st.last_new_item) else {
        return None;
    };
    if st.new_batches < MIN_BATCHES {
        return None;
    }
    // "Much longer than usual": four usual gaps, and never less than six
    // polls, so a fast feed's quiet hour at night is not an alarm.
    let threshold = (4.0 * gap).max(6.0 * cfg.interval.as_secs_f64());
    let quiet = (now - last).num_seconds() as f64;
    (quiet > threshold).then(|| {
        format!(
            "no new items for {} (usually every {})",
            humantime::format_duration(std::time::Duration::from_secs(quiet as u64)),
            humantime::format_duration(std::time::Duration::from_secs(gap as u64))
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SourceKind;
    use std::time::Duration;

    fn cfg() -> SourceConfig {
        SourceConfig {
            id: "s".into(),
            kind: SourceKind::Dir { path: "x".into() },
            interval: Duration::from_secs(60),
            tags: vec![],
            lang: None,
            first_fetch_emits: false,
            weight: 1.0,
        }
    }

    #[test]
    fn silent_when_quiet_far_beyond_cadence() {
        let now = Utc::now();
        let mut st = SourceState {
            last_attempt: Some(now),
            last_new_item: Some(now - chrono::Duration::minutes(50)),
            mean_new_gap_secs: Some(600.0),
            new_batches: 5,
            ..Default::default()
        };
        let h = assess(&cfg(), Some(&st), now);
        assert_eq!(h.status, Status::Silent, "{h:?}");
        st.last_new_item = Some(now - chrono::Duration::minutes(30));
        assert_eq!(assess(&cfg(), Some(&st), now).status, Status::Ok);
        st.selectors_empty = true;
        assert_eq!(assess(&cfg(), Some(&st), now).status, Status::Silent);
        st.consecutive_failures = 2;
        assert_eq!(assess(&cfg(), Some(&st), now).status, Status::Failing);
        assert_eq!(assess(&cfg(), None, now).status, Status::Pending);
    }
}
