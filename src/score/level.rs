//! Indicator activity scores and levels.
//!
//! The model (documented in ARCHITECTURE.md):
//!
//! - Each match is an *event* with a weight: its severity's weight (info 1,
//!   warning 3, critical 9) times its source's weight (default 1).
//! - An indicator's **activity** at time `t` is the sum of its events'
//!   weights, each decayed by half every `half_life` (default 6 h):
//!   `A(t) = Σ wᵢ · 2^(−(t − tᵢ)/h)`. One critical report is worth 9 at
//!   once, 4.5 six hours later.
//! - Its **baseline** is the activity a steady stream at the indicator's own
//!   long-run rate would sustain: the weights of the last `baseline_window`
//!   (default 7 d), averaged per second, times `h / ln 2` (the steady state
//!   of the decay). A spike is activity far above the baseline.
//! - The **level** is the highest of `elevated`/`high`/`critical` whose
//!   thresholds the activity meets — an absolute floor *and* a multiple of
//!   the baseline — else `normal`. Both are needed: the floor keeps a quiet
//!   indicator from turning `high` on a single info match, the ratio keeps a
//!   chronically busy indicator from being permanently `critical`.
//! - The **theatre index** (0–100) summarises all indicators:
//!   `100 · (1 − exp(−Σ A / scale))`, so it grows with total activity and
//!   saturates instead of overflowing.
//!
//! Everything here is a pure function of events and a time, so scores are
//! recomputable from stored matches after a restart.

use crate::model::Severity;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Indicator level, from quiet to alarming.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Normal,
    Elevated,
    High,
    Critical,
}

impl Level {
    /// The lowercase name used in config, the API and alerts.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Normal => "normal",
            Level::Elevated => "elevated",
            Level::High => "high",
            Level::Critical => "critical",
        }
    }
}

/// A threshold a level must meet: an absolute floor and a baseline ratio.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Threshold {
    pub min_activity: f64,
    pub min_ratio: f64,
}

/// Parameters of the model; the defaults are documented above.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreModel {
    pub half_life: Duration,
    pub baseline_window: Duration,
    /// Thresholds for elevated, high and critical, in that order.
    pub thresholds: [Threshold; 3],
    /// Activity at which the theatre index reaches 63 (1 − 1/e).
    pub index_scale: f64,
}

impl Default for ScoreModel {
    fn default() -> Self {
        ScoreModel {
            half_life: Duration::from_secs(6 * 3600),
            baseline_window: Duration::from_secs(7 * 86400),
            thresholds: [
                Threshold {
                    min_activity: 3.0,
                    min_ratio: 2.0,
                },
                Threshold {
                    min_activity: 9.0,
                    min_ratio: 4.0,
                },
                Threshold {
                    min_activity: 27.0,
                    min_ratio: 8.0,
                },
            ],
            index_scale: 50.0,
        }
    }
}

/// One match, as the score sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Event {
    pub at: DateTime<Utc>,
    pub weight: f64,
}

impl Event {
    /// An event for a match of `severity` from a source of `source_weight`.
    pub fn new(at: DateTime<Utc>, severity: Severity, source_weight: f64) -> Event {
        Event {
            at,
            weight: severity_weight(severity) * source_weight,
        }
    }
}

/// The weight of one match of a severity.
pub fn severity_weight(severity: Severity) -> f64 {
    match severity {
        Severity::Info => 1.0,
        Severity::Warning => 3.0,
        Severity::Critical => 9.0,
    }
}

/// An indicator's state at one time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Score {
    pub activity: f64,
    pub baseline: f64,
    pub level: Level,
}

impl ScoreModel {
    /// Decayed activity at `now`; events in the future are ignored.
    pub fn activity(&self, events: &[Event], now: DateTime<Utc>) -> f64 {
        let h = self.half_life.as_secs_f64();
        events
            .iter()
            .filter(|e| e.at <= now)
            .map(|e| e.weight * (-(now - e.at).as_seconds_f64() / h).exp2())
            // `sum()` of no floats is -0.0, which prints as "-0.00".
            .fold(0.0, |a, b| a + b)
    }

    /// The activity a steady stream at the long-run rate would sustain.
    pub fn baseline(&self, events: &[Event], now: DateTime<Utc>) -> f64 {
        let window = self.baseline_window.as_secs_f64();
        let since = now - chrono::Duration::from_std(self.baseline_window).unwrap_or_default();
        let total: f64 = events
            .iter()
            .filter(|e| e.at <= now && e.at > since)
            .map(|e| e.weight)
            .fold(0.0, |a, b| a + b);
        total / window * self.half_life.as_secs_f64() / std::f64::consts::LN_2
    }

    /// The level for an activity against a baseline.
    pub fn level(&self, activity: f64, baseline: f64) -> Level {
        let levels = [Level::Elevated, Level::High, Level::Critical];
        let mut level = Level::Normal;
        for (threshold, candidate) in self.thresholds.iter().zip(levels) {
            let ratio_ok = baseline <= 0.0 || activity >= threshold.min_ratio * baseline;
            if activity >= threshold.min_activity && ratio_ok {
                level = candidate;
            }
        }
        level
    }

    /// Activity, baseline and level of one indicator at `now`.
    pub fn score(&self, events: &[Event], now: DateTime<Utc>) -> Score {
        let activity = self.activity(events, now);
        let baseline = self.baseline(events, now);
        Score {
            activity,
            baseline,
            level: self.level(activity, baseline),
        }
    }

    /// The theatre index (0–100) from every indicator's activity.
    pub fn theatre_index(&self, activities: impl IntoIterator<Item = f64>) -> f64 {
        let total: f64 = activities.into_iter().fold(0.0, |a, b| a + b);
        100.0 * (1.0 - (-total / self.index_scale).exp())
    }
}

/// One indicator's score in a summary.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IndicatorScore {
    pub indicator: String,
    #[serde(flatten)]
    pub score: Score,
    /// Matches counted in the baseline window.
    pub matches: usize,
}

/// All indicators' scores and the theatre index at one time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub at: DateTime<Utc>,
    pub theatre_index: f64,
    pub indicators: Vec<IndicatorScore>,
}

impl ScoreModel {
    /// Scores every listed indicator (in the given order) from its events.
    pub fn summarise<'a>(
        &self,
        indicators: impl IntoIterator<Item = &'a str>,
        events: &[(&str, Event)],
        now: DateTime<Utc>,
    ) -> Summary {
        let indicators: Vec<IndicatorScore> = indicators
            .into_iter()
            .map(|id| {
                let mine: Vec<Event> = events
                    .iter()
                    .filter(|(i, _)| *i == id)
                    .map(|(_, e)| *e)
                    .collect();
                IndicatorScore {
                    indicator: id.to_owned(),
                    score: self.score(&mine, now),
                    matches: mine.len(),
                }
            })
            .collect();
        let theatre_index = self.theatre_index(indicators.iter().map(|s| s.score.activity));
        Summary {
            at: now,
            theatre_index,
            indicators,
        }
    }
}

/// An indicator's state at one point of a history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistoryPoint {
    pub at: DateTime<Utc>,
    #[serde(flatten)]
    pub score: Score,
}

impl ScoreModel {
    /// The indicator's score at `from`, `from + step`, … up to `to`
    /// (inclusive): the same numbers as [`ScoreModel::score`] at each point,
    /// computed in one sweep over the events instead of one pass per point.
    ///
    /// The baseline of the earliest points looks back `baseline_window`
    /// before `from`, so callers pass events from that far back. A zero
    /// step yields the single point at `from`; `from > to` yields none.
    pub fn history(
        &self,
        events: &[Event],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        step: Duration,
    ) -> Vec<HistoryPoint> {
        let mut events = events.to_vec();
        events.sort_by_key(|e| e.at);
        // `prefix[i]` is the total weight of the first `i` events, so the
        // weight inside any window is one subtraction.
        let prefix: Vec<f64> = std::iter::once(0.0)
            .chain(events.iter().scan(0.0, |sum, e| {
                *sum += e.weight;
                Some(*sum)
            }))
            .collect();
        let h = self.half_life.as_secs_f64();
        let window = chrono::Duration::from_std(self.baseline_window).unwrap_or_default();
        let step_chrono = chrono::Duration::from_std(step).unwrap_or_default();
        let (mut hi, mut lo) = (0, 0);
        let mut activity = 0.0;
        let mut previous: Option<DateTime<Utc>> = None;
        let mut points = Vec::new();
        let mut at = from;
        while at <= to {
            // Activity at `at` is the previous activity decayed over the
            // step, plus the events since, each decayed from its own time.
            if let Some(prev) = previous {
                activity *= (-(at - prev).as_seconds_f64() / h).exp2();
            }
            while hi < events.len() && events[hi].at <= at {
                let e = events[hi];
                activity += e.weight * (-(at - e.at).as_seconds_f64() / h).exp2();
                hi += 1;
            }
            while lo < hi && events[lo].at <= at - window {
                lo += 1;
            }
            let baseline = (prefix[hi] - prefix[lo]) / self.baseline_window.as_secs_f64() * h
                / std::f64::consts::LN_2;
            points.push(HistoryPoint {
                at,
                score: Score {
                    activity,
                    baseline,
                    level: self.level(activity, baseline),
                },
            });
            if step_chrono <= chrono::Duration::zero() {
                break;
            }
            previous = Some(at);
            at += step_chrono;
        }
        points
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(hours: f64) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2025-06-30T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
            + chrono::Duration::milliseconds((hours * 3_600_000.0) as i64)
    }

    #[test]
    fn activity_halves_every_half_life() {
        let m = ScoreModel::default();
        let events = [Event::new(at(0.0), Severity::Critical, 1.0)];
        assert!((m.activity(&events, at(0.0)) - 9.0).abs() < 1e-9);
        assert!((m.activity(&events, at(6.0)) - 4.5).abs() < 1e-9);
        assert!((m.activity(&events, at(12.0)) - 2.25).abs() < 1e-9);
        assert_eq!(
            m.activity(&events, at(-1.0)),
            0.0,
            "future events do not count"
        );
    }

    #[test]
    fn baseline_is_the_steady_state_of_the_long_run_rate() {
        let m = ScoreModel::default();
        // One warning every hour for a week: activity settles at the baseline.
        let events: Vec<_> = (0..168)
            .map(|h| Event::new(at(h as f64), Severity::Warning, 1.0))
            .collect();
        let now = at(167.5);
        let s = m.score(&events, now);
        assert!((s.activity / s.baseline - 1.0).abs() < 0.1, "{s:?}");
        assert_eq!(s.level, Level::Normal, "a steady stream is not a spike");
    }

    #[test]
    fn a_burst_on_a_quiet_indicator_climbs_the_levels() {
        let m = ScoreModel::default();
        let mut events = vec![Event::new(at(0.0), Severity::Info, 1.0)];
        assert_eq!(
            m.score(&events, at(0.0)).level,
            Level::Normal,
            "one info match is noise"
        );
        events.push(Event::new(at(100.0), Severity::Warning, 1.0));
        assert_eq!(m.score(&events, at(100.0)).level, Level::Elevated);
        events.push(Event::new(at(100.1), Severity::Critical, 1.0));
        assert_eq!(m.score(&events, at(100.1)).level, Level::High);
        for i in 0..3 {
            events.push(Event::new(
                at(100.2 + i as f64 * 0.1),
                Severity::Critical,
                1.0,
            ));
        }
        assert_eq!(m.score(&events, at(100.5)).level, Level::Critical);
        assert_eq!(
            m.score(&events, at(160.0)).level,
            Level::Normal,
            "it decays back"
        );
    }

    #[test]
    fn summary_scores_each_indicator_in_order() {
        let m = ScoreModel::default();
        let events = [
            ("b", Event::new(at(0.0), Severity::Critical, 1.0)),
            ("a", Event::new(at(0.0), Severity::Info, 1.0)),
        ];
        let s = m.summarise(["a", "b", "c"], &events, at(0.0));
        let ids: Vec<_> = s
            .indicators
            .iter()
            .map(|i| (i.indicator.as_str(), i.matches))
            .collect();
        assert_eq!(ids, [("a", 1), ("b", 1), ("c", 0)]);
        assert_eq!(
            s.indicators[1].score.level,
            Level::High,
            "one fresh critical report"
        );
        assert!(s.theatre_index > 0.0);
    }

    #[test]
    fn source_weight_scales_and_index_saturates() {
        let m = ScoreModel::default();
        let e = Event::new(at(0.0), Severity::Warning, 0.5);
        assert_eq!(e.weight, 1.5);
        assert_eq!(m.theatre_index([0.0]), 0.0);
        let mid = m.theatre_index([25.0, 25.0]);
        assert!((mid - 63.2).abs() < 0.1, "{mid}");
        assert!(m.theatre_index([1e6]) <= 100.0);
    }
    #[test]
    fn history_agrees_with_score_at_every_point() {
        let m = ScoreModel::default();
        // Events before the history (they feed its first baselines), inside
        // it, exactly on a point, and after it.
        let mut events: Vec<Event> = (0..40)
            .map(|i| {
                let severity = [Severity::Info, Severity::Warning, Severity::Critical][i % 3];
                Event::new(at(i as f64 * 7.3 - 100.0), severity, 1.0)
            })
            .collect();
        events.push(Event::new(at(24.0), Severity::Critical, 2.0));
        events.push(Event::new(at(500.0), Severity::Critical, 1.0));
        events.reverse(); // any order in, sorted inside
        let step = Duration::from_secs(3 * 3600);
        let history = m.history(&events, at(0.0), at(168.0), step);
        assert_eq!(history.len(), 57, "168 h in steps of 3 h, both ends");
        assert_eq!(history[0].at, at(0.0));
        assert_eq!(history[56].at, at(168.0));
        for point in &history {
            let direct = m.score(&events, point.at);
            assert!(
                (point.score.activity - direct.activity).abs() < 1e-9
                    && (point.score.baseline - direct.baseline).abs() < 1e-9
                    && point.score.level == direct.level,
                "at {}: {:?} != {direct:?}",
                point.at,
                point.score
            );
        }
        assert!(history.iter().any(|p| p.score.level >= Level::High));
    }

    #[test]
    fn history_edges() {
        let m = ScoreModel::default();
        let events = [Event::new(at(0.0), Severity::Warning, 1.0)];
        let one = m.history(&events, at(1.0), at(5.0), Duration::ZERO);
        assert_eq!(one.len(), 1, "a zero step gives the first point only");
        assert!(
            m.history(&events, at(5.0), at(1.0), Duration::from_secs(60))
                .is_empty()
        );
        let quiet = m.history(&[], at(0.0), at(2.0), Duration::from_secs(3600));
        assert!(
            quiet
                .iter()
                .all(|p| p.score.activity == 0.0 && p.score.level == Level::Normal)
        );
    }
}
