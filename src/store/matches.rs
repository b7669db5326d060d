//! Matches of new items: what the rules found, kept so indicator scores can
//! be recomputed from the store at any time (after a restart, or for a
//! dashboard's history).

use super::{Store, StoreError};
use crate::model::{Item, Match, Severity};
use chrono::{DateTime, TimeZone, Utc};
use rusqlite::params;

/// One stored match, as scoring needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct MatchEvent {
    pub source: String,
    pub indicator: String,
    pub rule: String,
    pub severity: Severity,
    pub shadow: bool,
    pub matched_at: DateTime<Utc>,
}

impl Store {
    /// Records the matches of one item (idempotent per item and rule).
    pub fn record_matches(
        &self,
        item: &Item,
        matches: &[Match],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if matches.is_empty() {
            return Ok(());
        }
        let conn = self.conn();
        let tx = conn.unchecked_transaction()?;
        {
            let mut insert = tx.prepare_cached(
                "INSERT OR IGNORE INTO item_match
                   (source, item_id, rule, indicator, severity, shadow, terms, matched_at, published)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?;
            for m in matches {
                let terms = serde_json::to_string(&m.terms).unwrap_or_else(|_| "[]".into());
                insert.execute(params![
                    item.source,
                    item.id,
                    m.rule,
                    m.indicator,
                    m.severity.as_str(),
                    m.shadow,
                    terms,
                    now.timestamp(),
                    item.published.timestamp()
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Every match recorded since `since`, oldest first.
    pub fn match_events(&self, since: DateTime<Utc>) -> Result<Vec<MatchEvent>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT source, indicator, rule, severity, shadow, matched_at FROM item_match
             WHERE matched_at >= ?1 ORDER BY matched_at",
        )?;
        let rows = stmt
            .query_map([since.timestamp()], |r| {
                let severity: String = r.get(3)?;
                Ok(MatchEvent {
                    source: r.get(0)?,
                    indicator: r.get(1)?,
                    rule: r.get(2)?,
                    severity: severity.parse().unwrap_or(Severity::Info),
                    shadow: r.get(4)?,
                    matched_at: Utc.timestamp_opt(r.get(5)?, 0).single().unwrap_or_default(),
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }
}
