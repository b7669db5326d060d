//! Read-only queries for the HTTP API and the status page: stored items,
//! newest first, with their matches, filtered and paged by cursor.
//!
//! Paging is by keyset, not offset: a page ends at a [`Cursor`] (the time
//! and rowid of its last row) and the next page starts strictly below it,
//! so rows arriving meanwhile never shift or repeat a page.

use super::{Store, StoreError};
use crate::model::Severity;
use chrono::{DateTime, TimeZone, Utc};
use rusqlite::{Row, params};

/// A position in a newest-first listing: the time (Unix seconds) and rowid
/// of the last row of a page. The next page holds rows strictly older, ties
/// on time broken by rowid, so the order is total and stable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub at: i64,
    pub rowid: i64,
}

/// Which items to list.
#[derive(Debug, Clone, Default)]
pub struct ItemQuery {
    /// Only items with a match of this indicator.
    pub indicator: Option<String>,
    /// Only items with a match of at least this severity.
    pub min_severity: Option<Severity>,
    /// Only items of this source.
    pub source: Option<String>,
    /// Only items with at least one match.
    pub matched_only: bool,
    /// Only items older than this position.
    pub before: Option<Cursor>,
    /// At most this many items.
    pub limit: usize,
}

/// One stored item with its matches; serialised as is by the API
/// (`GET /api/v1/items`).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StoredItem {
    pub source: String,
    pub id: String,
    pub title: String,
    pub summary: String,
    pub link: Option<String>,
    pub published: DateTime<Utc>,
    /// False when the feed gave no date (`published` is then `first_seen`).
    pub dated: bool,
    pub lang: Option<String>,
    pub first_seen: DateTime<Utc>,
    /// Most severe first, then by rule id.
    pub matches: Vec<StoredMatch>,
    /// Where this item sits in the listing.
    #[serde(skip)]
    pub cursor: Cursor,
}

/// One stored match of an item.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StoredMatch {
    pub rule: String,
    pub indicator: String,
    pub severity: Severity,
    /// A shadow rule's match: recorded, never scored or alerted on.
    pub shadow: bool,
    /// The matched words as found in the folded text.
    pub terms: Vec<String>,
    pub matched_at: DateTime<Utc>,
}

/// A page of items and, when more remain, the cursor to ask for next.
#[derive(Debug, Clone, Default)]
pub struct ItemPage {
    pub items: Vec<StoredItem>,
    pub next: Option<Cursor>,
}

fn time(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(secs, 0).single().unwrap_or_default()
}

/// Severities as numbers SQL can compare; the stored form is the name.
const SEVERITY_RANK: &str =
    "CASE m.severity WHEN 'critical' THEN 3 WHEN 'warning' THEN 2 ELSE 1 END";

fn rank(severity: Severity) -> i64 {
    match severity {
        Severity::Info => 1,
        Severity::Warning => 2,
        Severity::Critical => 3,
    }
}

fn item_from_row(r: &Row<'_>) -> rusqlite::Result<StoredItem> {
    let first_seen: i64 = r.get("first_seen")?;
    Ok(StoredItem {
        source: r.get("source")?,
        id: r.get("item_id")?,
        title: r.get("title")?,
        summary: r.get("summary")?,
        link: r.get("link")?,
        published: time(r.get("published")?),
        dated: r.get("dated")?,
        lang: r.get("lang")?,
        first_seen: time(first_seen),
        matches: Vec::new(),
        cursor: Cursor {
            at: first_seen,
            rowid: r.get("rowid")?,
        },
    })
}

impl Store {
    /// Stored items, newest first (by first-seen time, then rowid), with
    /// their matches. Fetches one row past `limit` to know whether a next
    /// page exists. Shadow matches count for the filters and are flagged.
    pub fn items(&self, q: &ItemQuery) -> Result<ItemPage, StoreError> {
        let conn = self.conn();
        // Every filter is a parameter that is NULL when unused, so one
        // cached statement serves every combination. The cursor is always
        // bound (the first page starts below the largest position), so
        // SQLite walks `item_first_seen` from the cursor on, never from
        // the top, however deep the page.
        let sql = format!(
            "SELECT rowid, source, item_id, title, summary, link, published, dated, lang, first_seen
             FROM item
             WHERE (?1 IS NULL OR source = ?1)
               AND (first_seen, rowid) < (?2, ?3)
               AND (NOT ?4 OR EXISTS (
                 SELECT 1 FROM item_match m
                 WHERE m.source = item.source AND m.item_id = item.item_id
                   AND (?5 IS NULL OR m.indicator = ?5)
                   AND {SEVERITY_RANK} >= ?6))
             ORDER BY first_seen DESC, rowid DESC
             LIMIT ?7"
        );
        let filtered = q.matched_only || q.indicator.is_some() || q.min_severity.is_some();
        let before = q.before.unwrap_or(Cursor {
            at: i64::MAX,
            rowid: i64::MAX,
        });
        let mut stmt = conn.prepare_cached(&sql)?;
        let mut items: Vec<StoredItem> = stmt
            .query_map(
                params![
                    q.source,
                    before.at,
                    before.rowid,
                    filtered,
                    q.indicator,
                    q.min_severity.map_or(0, rank),
                    q.limit as i64 + 1,
                ],
                item_from_row,
            )?
            .collect::<Result<_, _>>()?;
        let next = if items.len() > q.limit {
            items.truncate(q.limit);
            items.last().map(|i| i.cursor)
        } else {
            None
        };
        let mut matches = conn.prepare_cached(&format!(
            "SELECT rule, indicator, severity, shadow, terms, matched_at FROM item_match m
             WHERE source = ?1 AND item_id = ?2
             ORDER BY {SEVERITY_RANK} DESC, rule"
        ))?;
        for item in &mut items {
            item.matches = matches
                .query_map(params![item.source, item.id], |r| {
                    let severity: String = r.get(2)?;
                    let terms: String = r.get(4)?;
                    Ok(StoredMatch {
                        rule: r.get(0)?,
                        indicator: r.get(1)?,
                        severity: severity.parse().unwrap_or(Severity::Info),
                        shadow: r.get(3)?,
                        terms: serde_json::from_str(&terms).unwrap_or_default(),
                        matched_at: time(r.get(5)?),
                    })
                })?
                .collect::<Result<_, _>>()?;
        }
        Ok(ItemPage { items, next })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Item, Match};
    use crate::parse::{RawEntry, SourceCtx, build_item};

    fn item(source: &str, guid: &str) -> Item {
        let ctx = SourceCtx {
            id: source.into(),
            ..Default::default()
        };
        let raw = RawEntry {
            guid: Some(guid),
            title: Some(guid),
            ..Default::default()
        };
        build_item(raw, &ctx, Utc::now()).unwrap()
    }

    fn matched(indicator: &str, severity: Severity, shadow: bool) -> Match {
        Match {
            rule: format!("{indicator}/r"),
            indicator: indicator.into(),
            severity,
            shadow,
            terms: vec!["word".into()],
            spans: vec![],
            labels: Default::default(),
        }
    }

    /// Five items of two sources seen at t0, t0 (same second), t0+1 …;
    /// some matched.
    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let t0 = Utc.timestamp_opt(1_750_000_000, 0).unwrap();
        let plan: [(&str, &str, i64, Option<Match>); 5] = [
            ("a", "a1", 0, Some(matched("x", Severity::Critical, false))),
            ("b", "b1", 0, None),
            ("a", "a2", 1, Some(matched("y", Severity::Info, false))),
            ("b", "b2", 2, Some(matched("x", Severity::Warning, true))),
            ("a", "a3", 3, None),
        ];
        for (source, guid, dt, m) in plan {
            let now = t0 + chrono::Duration::seconds(dt);
            let it = item(source, guid);
            store.insert_new_items(vec![it.clone()], now, true).unwrap();
            if let Some(m) = m {
                store.record_matches(&it, &[m], now).unwrap();
            }
        }
        (dir, store)
    }

    fn ids(page: &ItemPage) -> Vec<&str> {
        page.items.iter().map(|i| i.title.as_str()).collect()
    }

    #[test]
    fn pages_are_newest_first_and_never_repeat_or_skip() {
        let (_dir, store) = store();
        let mut q = ItemQuery {
            limit: 2,
            ..Default::default()
        };
        let mut seen = Vec::new();
        loop {
            let page = store.items(&q).unwrap();
            seen.extend(ids(&page).iter().map(|s| s.to_string()));
            match page.next {
                Some(next) => q.before = Some(next),
                None => break,
            }
        }
        // a1 and b1 share a second: rowid breaks the tie.
        assert_eq!(seen, ["a3", "b2", "a2", "b1", "a1"]);
    }

    #[test]
    fn filters_combine() {
        let (_dir, store) = store();
        let q = |f: fn(&mut ItemQuery)| {
            let mut q = ItemQuery {
                limit: 10,
                ..Default::default()
            };
            f(&mut q);
            let page = store.items(&q).unwrap();
            ids(&page).iter().map(|s| s.to_string()).collect::<Vec<_>>()
        };
        assert_eq!(q(|q| q.matched_only = true), ["b2", "a2", "a1"]);
        assert_eq!(q(|q| q.indicator = Some("x".into())), ["b2", "a1"]);
        assert_eq!(
            q(|q| q.min_severity = Some(Severity::Warning)),
            ["b2", "a1"]
        );
        assert_eq!(
            q(|q| {
                q.source = Some("a".into());
                q.min_severity = Some(Severity::Info);
            }),
            ["a2", "a1"]
        );
        assert_eq!(q(|q| q.source = Some("nope".into())), Vec::<String>::new());
        let page = store
            .items(&ItemQuery {
                indicator: Some("x".into()),
                limit: 1,
                ..Default::default()
            })
            .unwrap();
        let m = &page.items[0].matches[0];
        assert_eq!(
            (m.indicator.as_str(), m.severity, m.shadow, &m.terms[..]),
            ("x", Severity::Warning, true, &["word".to_owned()][..])
        );
        assert!(page.next.is_some());
    }
}
