//! Per-source fetch state: validators, schedule, failures and health inputs.

use super::{Store, StoreError};
use chrono::{DateTime, TimeZone, Utc};
use rusqlite::{OptionalExtension, Row, params};

/// What the store remembers about one source between polls and restarts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SourceState {
    pub source: String,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub last_attempt: Option<DateTime<Utc>>,
    pub last_success: Option<DateTime<Utc>>,
    pub last_new_item: Option<DateTime<Utc>>,
    pub consecutive_failures: u32,
    pub last_error: Option<String>,
    pub next_due: Option<DateTime<Utc>>,
    /// The first fetch has happened (items found then were marked seen).
    pub initialized: bool,
    /// The last page of an `html` source matched no item element.
    pub selectors_empty: bool,
    /// Polls that yielded new items, and the smoothed gap between them.
    pub new_batches: u32,
    pub mean_new_gap_secs: Option<f64>,
    pub fetches_total: u64,
    pub items_new_total: u64,
}

/// The result of one successful poll, to be recorded.
#[derive(Debug, Clone, Default)]
pub struct FetchOutcome {
    /// Validators for the next conditional GET; `None` keeps the old ones
    /// (a 304 carries none).
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub new_items: usize,
    pub selectors_empty: bool,
}

fn ts(secs: Option<i64>) -> Option<DateTime<Utc>> {
    secs.and_then(|s| Utc.timestamp_opt(s, 0).single())
}

fn from_row(r: &Row<'_>) -> rusqlite::Result<SourceState> {
    Ok(SourceState {
        source: r.get("source")?,
        etag: r.get("etag")?,
        last_modified: r.get("last_modified")?,
        last_attempt: ts(r.get("last_attempt")?),
        last_success: ts(r.get("last_success")?),
        last_new_item: ts(r.get("last_new_item")?),
        consecutive_failures: r.get("consecutive_failures")?,
        last_error: r.get("last_error")?,
        next_due: ts(r.get("next_due")?),
        initialized: r.get("initialized")?,
        selectors_empty: r.get("selectors_empty")?,
        new_batches: r.get("new_batches")?,
        mean_new_gap_secs: r.get("mean_new_gap_secs")?,
        fetches_total: r.get("fetches_total")?,
        items_new_total: r.get("items_new_total")?,
    })
}

impl Store {
    /// The state of one source, if it was ever polled.
    pub fn source_state(&self, source: &str) -> Result<Option<SourceState>, StoreError> {
        let conn = self.conn();
        let state = conn
            .query_row(
                "SELECT * FROM source_state WHERE source = ?1",
                [source],
                from_row,
            )
            .optional()?;
        Ok(state)
    }

    /// The state of every source ever polled, by id.
    pub fn source_states(&self) -> Result<Vec<SourceState>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT * FROM source_state ORDER BY source")?;
        let rows = stmt.query_map([], from_row)?.collect::<Result<_, _>>()?;
        Ok(rows)
    }

    fn ensure_source(conn: &rusqlite::Connection, source: &str) -> rusqlite::Result<()> {
        conn.execute(
            "INSERT OR IGNORE INTO source_state (source) VALUES (?1)",
            [source],
        )?;
        Ok(())
    }

    /// Records a successful poll (200 or 304) and the next due time.
    pub fn record_fetch_success(
        &self,
        source: &str,
        outcome: &FetchOutcome,
        now: DateTime<Utc>,
        next_due: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let conn = self.conn();
        let tx = conn.unchecked_transaction()?;
        Self::ensure_source(&tx, source)?;
        let now_s = now.timestamp();
        if outcome.new_items > 0 {
            // Smooth the gap between polls that brought news, so "silent"
            // can be judged against this source's own cadence.
            tx.execute(
                "UPDATE source_state SET
                   mean_new_gap_secs = CASE
                     WHEN last_new_item IS NULL THEN mean_new_gap_secs
                     WHEN mean_new_gap_secs IS NULL THEN ?2 - last_new_item
                     ELSE 0.7 * mean_new_gap_secs + 0.3 * (?2 - last_new_item) END,
                   new_batches = new_batches + 1,
                   last_new_item = ?2,
                   items_new_total = items_new_total + ?3
                 WHERE source = ?1",
                params![source, now_s, outcome.new_items as i64],
            )?;
        }
        tx.execute(
            "UPDATE source_state SET
               etag = COALESCE(?2, etag), last_modified = COALESCE(?3, last_modified),
               last_attempt = ?4, last_success = ?4, consecutive_failures = 0, last_error = NULL,
               next_due = ?5, initialized = 1, selectors_empty = ?6, fetches_total = fetches_total + 1
             WHERE source = ?1",
            params![
                source,
                outcome.etag,
                outcome.last_modified,
                now_s,
                next_due.timestamp(),
                outcome.selectors_empty
            ],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Records a failed poll; returns the new count of consecutive failures.
    pub fn record_fetch_failure(
        &self,
        source: &str,
        error: &str,
        now: DateTime<Utc>,
        next_due: DateTime<Utc>,
    ) -> Result<u32, StoreError> {
        let conn = self.conn();
        Self::ensure_source(&conn, source)?;
        let failures = conn.query_row(
            "UPDATE source_state SET last_attempt = ?2, consecutive_failures = consecutive_failures + 1,
               last_error = ?3, next_due = ?4, fetches_total = fetches_total + 1
             WHERE source = ?1 RETURNING consecutive_failures",
            params![source, now.timestamp(), error, next_due.timestamp()],
            |r| r.get(0),
        )?;
        Ok(failures)
    }

    /// Moves a source's next due time (e.g. to honour `Retry-After`).
    pub fn set_next_due(&self, source: &str, next_due: DateTime<Utc>) -> Result<(), StoreError> {
        let conn = self.conn();
        Self::ensure_source(&conn, source)?;
        conn.execute(
            "UPDATE source_state SET next_due = ?2 WHERE source = ?1",
            params![source, next_due.timestamp()],
        )?;
        Ok(())
    }
}
