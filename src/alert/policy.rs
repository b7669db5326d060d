//! The alert policy: when a story or a level change becomes an alert, and
//! which sinks it goes to.
//!
//! - **Freshness**: only an item published within `freshness` of now (and
//!   dated) can raise or re-raise an alert; old or undated items join their
//!   story and are scored, but never page on their own.
//! - **Corroboration**: a `[[alerts.corroborate]]` entry caps a severity
//!   below its `severity` until the story has `sources` distinct outlets
//!   within `window`, so one outlet's error cannot page everyone.
//! - **Once per story**: the first fresh item whose story reaches
//!   `min_severity` raises the alert; later items update it (sources, words)
//!   and page nobody, unless corroboration lifts the severity past a sink's
//!   minimum (that sink gets it once) or the story is still producing fresh
//!   items after `repeat_interval` (a new alert, a reminder).
//! - **Levels**: an indicator whose level rises to `level_min` or above
//!   raises an alert, not again for the same level within `repeat_interval`.

use super::doc::AlertDoc;
use super::tracker::{LiveStory, StoryItem};
use crate::config::{AlertSettings, SinkConfig};
use crate::model::Severity;
use crate::score::Level;
use chrono::{DateTime, Utc};
use std::collections::HashMap;

/// What to do about a story after an item joined it.
#[derive(Debug, Clone, PartialEq)]
pub enum StoryAction {
    /// Record the item; nothing to alert.
    Record,
    /// Raise a new alert (`repeat`: the story's earlier alert is older than
    /// the repeat interval).
    Raise { severity: Severity, repeat: bool },
    /// Update the story's alert; `new_sinks` are sinks that now want it
    /// because corroboration raised its severity.
    Update {
        alert_id: i64,
        severity: Severity,
        new_sinks: Vec<String>,
    },
}

/// What to do about a level change.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LevelAction {
    None,
    Raise { severity: Severity },
}

/// The policy over the validated settings.
pub struct Policy<'a> {
    pub settings: &'a AlertSettings,
    pub sinks: &'a [SinkConfig],
    /// Source id → its tags, for sink routing.
    pub source_tags: &'a HashMap<String, Vec<String>>,
}

/// The severity just below `s` (`info` stays `info`).
fn below(s: Severity) -> Severity {
    match s {
        Severity::Critical => Severity::Warning,
        _ => Severity::Info,
    }
}

impl Policy<'_> {
    /// An item that can page: dated, published within `freshness`, and not
    /// from the future (beyond a little clock skew).
    pub fn is_fresh(&self, item: &StoryItem, now: DateTime<Utc>) -> bool {
        let skew = chrono::Duration::minutes(10);
        let freshness = chrono::Duration::from_std(self.settings.freshness).unwrap_or_default();
        item.dated && item.published <= now + skew && now - item.published <= freshness
    }

    /// The story's severity after corroboration: each match's severity,
    /// capped by every corroboration entry that applies to it and that the
    /// story's sources do not yet satisfy; the highest of those.
    pub fn severity(&self, story: &LiveStory, now: DateTime<Utc>) -> Option<Severity> {
        story
            .items
            .iter()
            .flat_map(|i| &i.matches)
            .map(|m| {
                let mut s = m.severity;
                for c in &self.settings.corroborate {
                    let applies = c.indicator.as_ref().is_none_or(|i| *i == m.indicator)
                        && c.rule.as_ref().is_none_or(|r| *r == m.rule);
                    if !applies || s < c.severity {
                        continue;
                    }
                    let since = now - chrono::Duration::from_std(c.window).unwrap_or_default();
                    let mut outlets: Vec<&str> = story
                        .items
                        .iter()
                        .filter(|i| i.added_at >= since)
                        .map(|i| i.source.as_str())
                        .collect();
                    outlets.sort_unstable();
                    outlets.dedup();
                    if outlets.len() < c.sources {
                        s = below(c.severity);
                    }
                }
                s
            })
            .max()
    }

    /// The decision for `story` now that `story.items.last()` joined it.
    pub fn story_action(&self, story: &LiveStory, now: DateTime<Utc>) -> StoryAction {
        let Some(severity) = self.severity(story, now) else {
            return StoryAction::Record;
        };
        let fresh = story.items.last().is_some_and(|i| self.is_fresh(i, now));
        let pages = fresh && severity >= self.settings.min_severity;
        match &story.alert {
            None if pages => StoryAction::Raise {
                severity,
                repeat: false,
            },
            None => StoryAction::Record,
            Some(a) => {
                let repeat =
                    chrono::Duration::from_std(self.settings.repeat_interval).unwrap_or_default();
                if pages && now - a.created_at >= repeat {
                    return StoryAction::Raise {
                        severity,
                        repeat: true,
                    };
                }
                let severity = severity.max(a.severity);
                let new_sinks = if severity > a.severity {
                    self.sinks
                        .iter()
                        .filter(|s| !a.sinks.contains(&s.name))
                        .filter(|s| severity >= s.min_severity)
                        .map(|s| s.name.clone())
                        .collect()
                } else {
                    Vec::new()
                };
                StoryAction::Update {
                    alert_id: a.id,
                    severity,
                    new_sinks,
                }
            }
        }
    }

    /// Whether a level change pages: a rise to `level_min` or above whose
    /// level has not alerted within the repeat interval (`last_same` is the
    /// time of the last alert for this indicator at this level).
    pub fn level_action(
        &self,
        before: Level,
        after: Level,
        last_same: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> LevelAction {
        let repeat = chrono::Duration::from_std(self.settings.repeat_interval).unwrap_or_default();
        if after <= before || after < self.settings.level_min {
            return LevelAction::None;
        }
        if last_same.is_some_and(|t| now - t < repeat) {
            return LevelAction::None;
        }
        let severity = match after {
            Level::Critical => Severity::Critical,
            Level::High => Severity::Warning,
            _ => Severity::Info,
        };
        LevelAction::Raise { severity }
    }

    /// The sinks whose filters let `alert` through.
    pub fn route(&self, alert: &AlertDoc) -> Vec<String> {
        self.sinks
            .iter()
            .filter(|s| self.routes(s, alert))
            .map(|s| s.name.clone())
            .collect()
    }

    fn routes(&self, sink: &SinkConfig, alert: &AlertDoc) -> bool {
        let indicator_ok = sink.indicators.is_empty()
            || alert.indicators.iter().any(|i| sink.indicators.contains(i));
        // A level alert has no sources: tag filters do not apply to it.
        let tags_ok = sink.source_tags.is_empty()
            || alert.sources.is_empty()
            || alert.sources.iter().any(|src| {
                self.source_tags
                    .get(src)
                    .is_some_and(|tags| tags.iter().any(|t| sink.source_tags.contains(t)))
            });
        alert.severity >= sink.min_severity && indicator_ok && tags_ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::tracker::{AlertState, Tracker};
    use crate::config::secret::Secret;
    use crate::config::{Corroboration, SinkKind};
    use crate::model::{Item, Match};
    use crate::parse::normalise::fold;
    use std::time::Duration;

    fn settings() -> AlertSettings {
        AlertSettings {
            min_severity: Severity::Warning,
            level_min: Level::High,
            repeat_interval: Duration::from_secs(12 * 3600),
            freshness: Duration::from_secs(24 * 3600),
            story_window: Duration::from_secs(48 * 3600),
            story_similarity: 0.5,
            resolve_after: Duration::from_secs(24 * 3600),
            max_delivery_age: Duration::from_secs(24 * 3600),
            delivery_timeout: Duration::from_secs(10),
            corroborate: Vec::new(),
        }
    }

    /// A policy with no source tags.
    fn policy<'a>(settings: &'a AlertSettings, sinks: &'a [SinkConfig]) -> Policy<'a> {
        static NO_TAGS: std::sync::LazyLock<HashMap<String, Vec<String>>> =
            std::sync::LazyLock::new(HashMap::new);
        Policy {
            settings,
            sinks,
            source_tags: &NO_TAGS,
        }
    }

    fn sink(name: &str, min: Severity) -> SinkConfig {
        SinkConfig {
            name: name.into(),
            kind: SinkKind::Alertmanager,
            url: Secret::new("http://127.0.0.1:9093".into()),
            min_severity: min,
            indicators: Vec::new(),
            source_tags: Vec::new(),
            at: String::new(),
        }
    }

    fn item(
        source: &str,
        title: &str,
        published: DateTime<Utc>,
        severity: Severity,
    ) -> (Item, Vec<Match>) {
        let item = Item {
            source: source.into(),
            id: format!("{source}-{title}"),
            title: title.into(),
            summary: String::new(),
            link: Some("https://example.org/a".into()),
            published,
            dated: true,
            lang: Some("en".into()),
            tags: Vec::new(),
            norm_title: fold(title),
            norm_summary: String::new(),
        };
        let m = Match {
            rule: "border-clash/exchange-of-fire".into(),
            indicator: "border-clash".into(),
            severity,
            shadow: false,
            terms: vec!["exchange of fire".into()],
            spans: Vec::new(),
            labels: Default::default(),
        };
        (item, vec![m])
    }

    const TITLE: &str = "Exchange of fire on the Armenia Azerbaijan border near Tovuz, two wounded";

    #[test]
    fn a_story_pages_once_then_updates_then_repeats() {
        let s = settings();
        let sinks = [sink("ops", Severity::Warning)];
        let p = policy(&s, &sinks);
        let now = Utc::now();
        let mut t = Tracker::new(s.story_window, s.story_similarity);
        let (i, m) = item("a", TITLE, now, Severity::Warning);
        let (story, new) = t.add(StoryItem::new(&i, &m, now));
        assert!(new);
        assert_eq!(
            p.story_action(story, now),
            StoryAction::Raise {
                severity: Severity::Warning,
                repeat: false
            }
        );
        story.alert = Some(AlertState {
            id: 1,
            created_at: now,
            severity: Severity::Warning,
            sinks: vec!["ops".into()],
            silenced_by: None,
        });
        let later = now + chrono::Duration::hours(1);
        let (i, m) = item("b", TITLE, later, Severity::Warning);
        let (story, new) = t.add(StoryItem::new(&i, &m, later));
        assert!(!new);
        assert_eq!(
            p.story_action(story, later),
            StoryAction::Update {
                alert_id: 1,
                severity: Severity::Warning,
                new_sinks: vec![]
            }
        );
        let much_later = now + chrono::Duration::hours(13);
        let (i, m) = item("c", TITLE, much_later, Severity::Warning);
        let (story, _) = t.add(StoryItem::new(&i, &m, much_later));
        assert_eq!(
            p.story_action(story, much_later),
            StoryAction::Raise {
                severity: Severity::Warning,
                repeat: true
            }
        );
    }

    #[test]
    fn stale_undated_and_info_items_do_not_page() {
        let s = settings();
        let p = policy(&s, &[]);
        let now = Utc::now();
        let mut t = Tracker::new(s.story_window, s.story_similarity);
        let (i, m) = item(
            "a",
            TITLE,
            now - chrono::Duration::hours(30),
            Severity::Critical,
        );
        let (story, _) = t.add(StoryItem::new(&i, &m, now));
        assert_eq!(
            p.story_action(story, now),
            StoryAction::Record,
            "older than freshness"
        );
        let (mut i, m) = item(
            "b",
            "Azerbaijan recalls its ambassador from Moscow",
            now,
            Severity::Critical,
        );
        i.dated = false;
        let (story, _) = t.add(StoryItem::new(&i, &m, now));
        assert_eq!(p.story_action(story, now), StoryAction::Record, "undated");
        let (i, m) = item(
            "c",
            "Talks on the border commission continue in Baku",
            now,
            Severity::Info,
        );
        let (story, _) = t.add(StoryItem::new(&i, &m, now));
        assert_eq!(
            p.story_action(story, now),
            StoryAction::Record,
            "below min_severity"
        );
    }

    #[test]
    fn critical_needs_two_outlets_and_escalation_reaches_new_sinks_once() {
        let mut s = settings();
        s.corroborate.push(Corroboration {
            indicator: Some("border-clash".into()),
            rule: None,
            severity: Severity::Critical,
            sources: 2,
            window: Duration::from_secs(6 * 3600),
            at: String::new(),
        });
        let sinks = [
            sink("all", Severity::Warning),
            sink("pager", Severity::Critical),
        ];
        let p = policy(&s, &sinks);
        let now = Utc::now();
        let mut t = Tracker::new(s.story_window, s.story_similarity);
        let (i, m) = item("a", TITLE, now, Severity::Critical);
        let (story, _) = t.add(StoryItem::new(&i, &m, now));
        assert_eq!(
            p.story_action(story, now),
            StoryAction::Raise {
                severity: Severity::Warning,
                repeat: false
            },
            "one outlet: capped below critical"
        );
        story.alert = Some(AlertState {
            id: 4,
            created_at: now,
            severity: Severity::Warning,
            sinks: vec!["all".into()],
            silenced_by: None,
        });
        let (i, m) = item("b", TITLE, now, Severity::Critical);
        let (story, _) = t.add(StoryItem::new(&i, &m, now));
        assert_eq!(
            p.story_action(story, now),
            StoryAction::Update {
                alert_id: 4,
                severity: Severity::Critical,
                new_sinks: vec!["pager".into()]
            }
        );
    }

    #[test]
    fn levels_page_on_rises_to_level_min_not_again_within_repeat() {
        let s = settings();
        let p = policy(&s, &[]);
        let now = Utc::now();
        assert_eq!(
            p.level_action(Level::Normal, Level::Elevated, None, now),
            LevelAction::None
        );
        assert_eq!(
            p.level_action(Level::Elevated, Level::High, None, now),
            LevelAction::Raise {
                severity: Severity::Warning
            }
        );
        assert_eq!(
            p.level_action(
                Level::Normal,
                Level::Critical,
                Some(now - chrono::Duration::hours(13)),
                now
            ),
            LevelAction::Raise {
                severity: Severity::Critical
            }
        );
        assert_eq!(
            p.level_action(
                Level::Elevated,
                Level::High,
                Some(now - chrono::Duration::hours(1)),
                now
            ),
            LevelAction::None
        );
        assert_eq!(
            p.level_action(Level::Critical, Level::High, None, now),
            LevelAction::None,
            "a fall"
        );
    }

    #[test]
    fn routing_filters_by_severity_indicator_and_source_tags() {
        let s = settings();
        let mut only_az = sink("az", Severity::Info);
        only_az.source_tags = vec!["azerbaijan".into()];
        let mut only_cyber = sink("cyber", Severity::Info);
        only_cyber.indicators = vec!["cyber-attack".into()];
        let sinks = [sink("crit", Severity::Critical), only_az, only_cyber];
        let tags = HashMap::from([("report-az".to_owned(), vec!["azerbaijan".to_owned()])]);
        let p = Policy {
            settings: &s,
            sinks: &sinks,
            source_tags: &tags,
        };
        let now = Utc::now();
        let mut t = Tracker::new(s.story_window, s.story_similarity);
        let (i, m) = item("report-az", TITLE, now, Severity::Warning);
        let (story, _) = t.add(StoryItem::new(&i, &m, now));
        let doc = AlertDoc::for_story(
            story,
            Severity::Warning,
            &|i| i.to_owned(),
            &|_| None,
            0.0,
            now,
        );
        assert_eq!(p.route(&doc), vec!["az".to_owned()]);
    }
}
