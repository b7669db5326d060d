//! Stage 2, pure: feed bytes and HTML pages become [`Item`]s.
//!
//! Nothing here does IO or keeps state: the same bytes always give the same
//! items (apart from the first-seen time of undated items, which the caller
//! passes in as `now`).

pub mod charset;
pub mod feed;
pub mod html;
pub mod identity;
pub mod jsonl;
pub mod normalise;
pub mod text;

use crate::model::Item;
use chrono::{DateTime, Utc};

/// What the parser knows about the source a document came from.
#[derive(Debug, Clone, Default)]
pub struct SourceCtx {
    /// Configured source id.
    pub id: String,
    /// Language hint from config, used when the feed declares none.
    pub lang_hint: Option<String>,
    /// Tags from config, copied onto every item.
    pub tags: Vec<String>,
}

/// Why a document could not be turned into items.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("not a feed: {0}")]
    Feed(String),
    #[error("invalid JSON Lines at line {line}: {reason}")]
    JsonLines { line: usize, reason: String },
    #[error("document is empty")]
    Empty,
}

/// Parses a feed document of any supported kind, detected by content: RSS
/// 0.9x/1.0/2.0, Atom, JSON Feed, or JSON Lines of items.
pub fn parse_document(
    bytes: &[u8],
    content_type: Option<&str>,
    ctx: &SourceCtx,
    now: DateTime<Utc>,
) -> Result<Vec<Item>, ParseError> {
    let text = charset::decode(bytes, content_type);
    let trimmed = text.trim_start();
    if trimmed.is_empty() {
        return Err(ParseError::Empty);
    }
    if trimmed.starts_with('{') && jsonl::looks_like_json_lines(trimmed) {
        return jsonl::parse(trimmed, ctx, now);
    }
    feed::parse(trimmed.as_bytes(), ctx, now)
}

/// The fields a document gave for one entry, before normalisation.
#[derive(Debug, Default)]
pub struct RawEntry<'a> {
    pub guid: Option<&'a str>,
    pub title: Option<&'a str>,
    /// Summary or content, possibly HTML.
    pub body: Option<&'a str>,
    pub link: Option<&'a str>,
    pub published: Option<DateTime<Utc>>,
    pub lang: Option<&'a str>,
}

/// Normalises one entry into an [`Item`]. Returns `None` for an entry with
/// neither title nor text (nothing to match, nothing to show).
pub fn build_item(raw: RawEntry<'_>, ctx: &SourceCtx, now: DateTime<Utc>) -> Option<Item> {
    let title = raw.title.map(text::html_to_text).unwrap_or_default();
    let summary = raw.body.map(text::html_to_text).unwrap_or_default();
    if title.is_empty() && summary.is_empty() {
        return None;
    }
    let norm_title = normalise::fold(&title);
    let norm_summary = normalise::fold(&summary);
    let link = raw
        .link
        .map(str::trim)
        .filter(|l| l.starts_with("http://") || l.starts_with("https://"))
        .map(str::to_owned);
    let id = identity::stable_id(raw.guid, link.as_deref(), &norm_title, &norm_summary);
    let lang = raw
        .lang
        .and_then(text::primary_language)
        .or_else(|| ctx.lang_hint.clone())
        .or_else(|| text::detect_language(if title.len() >= 24 { &title } else { &summary }));
    Some(Item {
        source: ctx.id.clone(),
        id,
        title,
        summary,
        link,
        published: raw.published.unwrap_or(now),
        dated: raw.published.is_some(),
        lang,
        tags: ctx.tags.clone(),
        norm_title,
        norm_summary,
    })
}
