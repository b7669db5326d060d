//! The alert document. It is stored with the alert, shown by the API and
//! sent as the body of the generic webhook, so its fields are a public
//! schema (docs/alerts.md): add fields, never rename or remove one.

use super::tracker::LiveStory;
use crate::model::{Severity, Span};
use crate::score::{IndicatorScore, Level};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Why an alert was raised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertKind {
    /// A new story (or a story still running after the repeat interval).
    Story,
    /// An indicator's level rose.
    Level,
}

impl AlertKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::Story => "story",
            AlertKind::Level => "level",
        }
    }
}

/// Everything an analyst needs to act on an alert, and to see why it fired.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertDoc {
    /// Store id of the alert; also the idempotency key of its deliveries.
    pub id: i64,
    pub kind: AlertKind,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The indicator of the most severe match (or whose level rose).
    pub indicator: String,
    pub indicator_title: String,
    /// Every indicator the story's items matched.
    pub indicators: Vec<String>,
    pub severity: Severity,
    /// The indicator's level when the alert was raised or last updated.
    pub level: Level,
    /// The score that led to it.
    pub score: ScoreDoc,
    /// Headline: the story's first item's title, or a level sentence.
    pub title: String,
    pub link: Option<String>,
    pub published: Option<DateTime<Utc>>,
    /// Every rule that matched, in order of first match.
    pub rules: Vec<String>,
    /// Every contributing source, in order of first report.
    pub sources: Vec<String>,
    pub story: Option<StoryDoc>,
    /// Each matched rule on each item, with the words and where they are.
    pub matches: Vec<MatchDoc>,
    /// External taxonomy codes of the indicators (CAMEO, ACLED).
    pub labels: BTreeMap<String, Vec<String>>,
    /// Set when a silence held the alert back from every sink.
    pub silenced_by: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoreDoc {
    pub activity: f64,
    pub baseline: f64,
    pub theatre_index: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoryDoc {
    pub id: u64,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    pub items: Vec<ItemDoc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemDoc {
    pub source: String,
    pub id: String,
    pub title: String,
    pub link: Option<String>,
    pub published: DateTime<Utc>,
    pub dated: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MatchDoc {
    pub source: String,
    pub item_id: String,
    pub rule: String,
    pub indicator: String,
    pub severity: Severity,
    /// The matched words as found in the folded text.
    pub terms: Vec<String>,
    /// Byte offsets of each match in the folded title or summary.
    pub spans: Vec<SpanDoc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpanDoc {
    /// `title` or `summary`.
    pub field: String,
    pub start: usize,
    pub end: usize,
}

impl From<&Span> for SpanDoc {
    fn from(s: &Span) -> SpanDoc {
        let field = match s.field {
            crate::model::Field::Title => "title",
            crate::model::Field::Summary => "summary",
        };
        SpanDoc {
            field: field.into(),
            start: s.start,
            end: s.end,
        }
    }
}

/// At most this many items are carried in a story's document (the store
/// keeps all); the source list is always complete.
const MAX_ITEMS: usize = 50;

fn score_doc(score: Option<&IndicatorScore>, theatre_index: f64) -> (ScoreDoc, Level) {
    let (activity, baseline, level) = score.map_or((0.0, 0.0, Level::Normal), |s| {
        (s.score.activity, s.score.baseline, s.score.level)
    });
    let doc = ScoreDoc {
        activity,
        baseline,
        theatre_index,
    };
    (doc, level)
}

impl AlertDoc {
    /// The document of a story alert (id 0 until the store assigns one).
    pub fn for_story(
        story: &LiveStory,
        severity: Severity,
        title_of: &dyn Fn(&str) -> String,
        score_of: &dyn Fn(&str) -> Option<IndicatorScore>,
        theatre_index: f64,
        now: DateTime<Utc>,
    ) -> AlertDoc {
        let (mut rules, mut indicators, mut sources) = (Vec::new(), Vec::new(), Vec::new());
        let mut labels: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut matches = Vec::new();
        let mut top: Option<(Severity, &str)> = None;
        for item in &story.items {
            push_unique(&mut sources, &item.source);
            for m in &item.matches {
                push_unique(&mut rules, &m.rule);
                push_unique(&mut indicators, &m.indicator);
                if top.is_none_or(|(s, _)| m.severity > s) {
                    top = Some((m.severity, &m.indicator));
                }
                for (k, vs) in &m.labels {
                    let into = labels.entry(k.clone()).or_default();
                    for v in vs {
                        push_unique(into, v);
                    }
                }
                matches.push(MatchDoc {
                    source: item.source.clone(),
                    item_id: item.item_id.clone(),
                    rule: m.rule.clone(),
                    indicator: m.indicator.clone(),
                    severity: m.severity,
                    terms: m.terms.clone(),
                    spans: m.spans.iter().map(SpanDoc::from).collect(),
                });
            }
        }
        let indicator = top.map_or_else(String::new, |(_, i)| i.to_owned());
        let (score, level) = score_doc(score_of(&indicator).as_ref(), theatre_index);
        let lead = story.items.first();
        AlertDoc {
            id: 0,
            kind: AlertKind::Story,
            created_at: now,
            updated_at: now,
            indicator_title: title_of(&indicator),
            indicator,
            indicators,
            severity,
            level,
            score,
            title: lead.map(|i| i.title.clone()).unwrap_or_default(),
            link: lead.and_then(|i| i.link.clone()),
            published: lead.map(|i| i.published),
            rules,
            sources,
            story: Some(StoryDoc {
                id: story.id,
                first_seen: story.first_seen,
                last_seen: story.last_seen,
                items: story
                    .items
                    .iter()
                    .take(MAX_ITEMS)
                    .map(|i| ItemDoc {
                        source: i.source.clone(),
                        id: i.item_id.clone(),
                        title: i.title.clone(),
                        link: i.link.clone(),
                        published: i.published,
                        dated: i.dated,
                    })
                    .collect(),
            }),
            matches,
            labels,
            silenced_by: None,
        }
    }

    /// The document of a level alert.
    pub fn for_level(
        indicator: &IndicatorScore,
        title: String,
        severity: Severity,
        theatre_index: f64,
        now: DateTime<Utc>,
    ) -> AlertDoc {
        let (score, level) = score_doc(Some(indicator), theatre_index);
        AlertDoc {
            id: 0,
            kind: AlertKind::Level,
            created_at: now,
            updated_at: now,
            title: format!(
                "{title}: level {} (activity {:.1}, baseline {:.1})",
                level.as_str(),
                score.activity,
                score.baseline
            ),
            indicator_title: title,
            indicator: indicator.indicator.clone(),
            indicators: vec![indicator.indicator.clone()],
            severity,
            level,
            score,
            link: None,
            published: None,
            rules: Vec::new(),
            sources: Vec::new(),
            story: None,
            matches: Vec::new(),
            labels: BTreeMap::new(),
            silenced_by: None,
        }
    }

    /// Every distinct matched word, in order of first appearance.
    pub fn terms(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for t in self.matches.iter().flat_map(|m| &m.terms) {
            if !out.contains(&t.as_str()) {
                out.push(t);
            }
        }
        out
    }
}

fn push_unique(into: &mut Vec<String>, value: &str) {
    if !into.iter().any(|v| v == value) {
        into.push(value.to_owned());
    }
}
