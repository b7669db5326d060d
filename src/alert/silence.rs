//! Silences: an analyst's "not now" for an indicator, optionally narrowed
//! to one rule or to items whose title contains some text. A silenced alert
//! is still recorded (and visible), only its deliveries are not made.

use super::AlertDoc;
use super::tracker::LiveStory;
use crate::parse::normalise::fold;
use chrono::{DateTime, Utc};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Silence {
    pub id: i64,
    pub indicator: String,
    pub rule: Option<String>,
    /// Text the story's titles must contain (compared folded).
    pub match_text: Option<String>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub comment: String,
    pub created_by: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl Silence {
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.starts_at <= now && now < self.ends_at
    }

    /// Whether this silence holds back `alert` (of `story`, if a story
    /// alert) at `now`.
    pub fn covers(&self, alert: &AlertDoc, story: Option<&LiveStory>, now: DateTime<Utc>) -> bool {
        if !self.is_active(now) || !alert.indicators.contains(&self.indicator) {
            return false;
        }
        if let Some(rule) = &self.rule
            && !alert.rules.iter().any(|r| r == rule)
        {
            return false;
        }
        match (&self.match_text, story) {
            (None, _) => true,
            (Some(text), Some(story)) => {
                let needle = fold(text);
                story.items.iter().any(|i| i.norm_title.contains(&needle))
            }
            (Some(text), None) => fold(&alert.title).contains(&fold(text)),
        }
    }
}

/// The first silence that covers the alert.
pub fn silenced_by(
    silences: &[Silence],
    alert: &AlertDoc,
    story: Option<&LiveStory>,
    now: DateTime<Utc>,
) -> Option<i64> {
    silences
        .iter()
        .find(|s| s.covers(alert, story, now))
        .map(|s| s.id)
}
