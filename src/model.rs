//! Plain data passed between pipeline stages.
//!
//! An [`Item`] is only made by `parse` (from feed bytes, HTML or JSON Lines),
//! so every downstream stage can rely on its invariants: a stable id that does
//! not change between polls, plain text without markup, and a folded matching
//! form beside the display text.

use chrono::{DateTime, Utc};
use serde::Serialize;

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
