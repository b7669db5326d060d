//! JSON Lines of items: `{"id","title","summary","link","published","lang"}`
//! per line, the interchange form of `tocsin once` and `tocsin replay`.

use super::{ParseError, RawEntry, SourceCtx, build_item};
use crate::model::Item;
use chrono::{DateTime, Utc};
use serde::Deserialize;

#[derive(Deserialize)]
struct Line {
    id: Option<String>,
    title: Option<String>,
    summary: Option<String>,
    link: Option<String>,
    published: Option<String>,
    lang: Option<String>,
}

/// True when the first non-empty line is a complete JSON object that is not
/// a JSON Feed (which is one multi-line object with a `version` key).
pub fn looks_like_json_lines(text: &str) -> bool {
    /// Only the `version` key is read; the rest of the line is skipped
    /// without building values (a minified JSON Feed is one long line).
    #[derive(Deserialize)]
    struct Probe {
        version: Option<serde::de::IgnoredAny>,
    }
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    serde_json::from_str::<Probe>(first).is_ok_and(|p| p.version.is_none())
}

/// Parses JSON Lines into items; a line that is not a valid item object is
/// an error for the whole document (it is not a JSON Lines file after all).
pub fn parse(text: &str, ctx: &SourceCtx, now: DateTime<Utc>) -> Result<Vec<Item>, ParseError> {
    let mut items = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let parsed: Line = serde_json::from_str(line).map_err(|e| ParseError::JsonLines {
            line: index + 1,
            reason: e.to_string(),
        })?;
        let published = parsed.published.as_deref().and_then(parse_date);
        let raw = RawEntry {
            guid: parsed.id.as_deref(),
            title: parsed.title.as_deref(),
            body: parsed.summary.as_deref(),
            link: parsed.link.as_deref(),
            published,
            lang: parsed.lang.as_deref(),
        };
        items.extend(build_item(raw, ctx, now));
    }
    Ok(items)
}

/// Parses the date formats seen in feeds and pages: RFC 3339, RFC 2822, and
/// a bare `YYYY-MM-DD[ HH:MM[:SS]]` taken as UTC.
pub fn parse_date(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    if let Ok(t) = DateTime::parse_from_rfc2822(text) {
        return Some(t.with_timezone(&Utc));
    }
    for format in [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%d.%m.%Y %H:%M",
    ] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(text, format) {
            return Some(t.and_utc());
        }
    }
    for format in ["%Y-%m-%d", "%d.%m.%Y"] {
        if let Ok(d) = chrono::NaiveDate::parse_from_str(text, format) {
            return d.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_become_items() {
        let text = "{\"id\":\"a\",\"title\":\"One\",\"published\":\"2025-06-30T10:00:00Z\",\"lang\":\"en\"}\n\n{\"title\":\"Two\"}\n";
        assert!(looks_like_json_lines(text));
        let items = parse(text, &SourceCtx::default(), Utc::now()).unwrap();
        assert_eq!(items.len(), 2);
        assert!(items[0].dated);
        assert!(!items[1].dated);
    }

    #[test]
    fn json_feed_is_not_json_lines() {
        assert!(!looks_like_json_lines(
            "{\"version\": \"https://jsonfeed.org/version/1.1\", \"items\": []}"
        ));
    }

    #[test]
    fn dates() {
        assert!(parse_date("Mon, 30 Jun 2025 10:00:00 +0300").is_some());
        assert!(parse_date("2025-06-30").is_some());
        assert!(parse_date("yesterday").is_none());
    }
}
