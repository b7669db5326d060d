//! Plain data passed between pipeline stages.
//!
//! An [`Item`] is only made by `parse` (from feed bytes, HTML or JSON Lines),
//! so every downstream stage can rely on its invariants: a stable id that does
//! not change between polls, plain text without markup, and a folded matching
//! form beside the display text.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One news item, normalised and ready for matching.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Item {
    /// Id of the configured source that produced the item.
    pub source: String,
    /// Stable identity: the feed's guid, else the canonical link, else a hash
    /// of the folded title and content. Never a random id invented by a parser.
    pub id: String,
    /// Display title: plain text, entities decoded, whitespace collapsed.
    pub title: String,
    /// Display summary or content: plain text, as for `title`.
    pub summary: String,
    /// Canonical link (tracking parameters removed, scheme preserved).
    pub link: Option<String>,
    /// Published (or updated) time; for undated items, the first-seen time.
    pub published: DateTime<Utc>,
    /// False when the feed gave no parseable date: such an item is never
    /// treated as fresh news.
    pub dated: bool,
    /// Language code (`en`, `ru`, `az`, ...) from the feed, the source hint or
    /// detection; `None` when nothing is known.
    pub lang: Option<String>,
    /// Tags of the source, copied so later stages can route on them.
    pub tags: Vec<String>,
    /// Folded matching form of `title` (see [`crate::parse::normalise::fold`]).
    #[serde(skip)]
    pub norm_title: String,
    /// Folded matching form of `summary`.
    #[serde(skip)]
    pub norm_summary: String,
}

/// How urgent a rule match is; ordered so that `max()` gives the most urgent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth recording; commentary or weak signals.
    Info,
    /// A notable event in an indicator category.
    Warning,
    /// A fresh event that should page someone.
    Critical,
}

impl Severity {
    /// Returns the lowercase name used in rule files and output.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error for a severity name that is not `info`, `warning` or `critical`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown severity `{0}`, expected one of `info`, `warning`, `critical`")]
pub struct UnknownSeverity(pub String);

impl std::str::FromStr for Severity {
    type Err = UnknownSeverity;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "info" => Ok(Severity::Info),
            "warning" => Ok(Severity::Warning),
            "critical" => Ok(Severity::Critical),
            other => Err(UnknownSeverity(other.to_owned())),
        }
    }
}

/// Which folded text of an item a span points into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Field {
    /// `Item::norm_title`.
    Title,
    /// `Item::norm_summary`.
    Summary,
}

/// Where a matched term was found: byte offsets into the folded text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Span {
    /// The folded field the offsets refer to.
    pub field: Field,
    /// Byte offset of the first byte of the match.
    pub start: usize,
    /// Byte offset just past the match (for `word*`, the end of the word).
    pub end: usize,
}

/// One rule that matched one item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Match {
    /// Rule id, e.g. `media-closure/sputnik-shutdown`.
    pub rule: String,
    /// Indicator id the rule belongs to.
    pub indicator: String,
    /// Severity the rule assigns.
    pub severity: Severity,
    /// True for rules in shadow mode: counted and evaluated, never alerted on.
    pub shadow: bool,
    /// Distinct matched terms as found in the folded text (so `мигрант*`
    /// reports `мигрантов`), in order of first appearance.
    pub terms: Vec<String>,
    /// Every place a matched term was found.
    pub spans: Vec<Span>,
    /// External codes of the indicator: `cameo` and `acled`, when declared.
    pub labels: BTreeMap<String, Vec<String>>,
}
