//! Silences, written by `tocsin silence` (or the API) and read by the
//! daemon before each alert. SQLite's WAL lets the CLI write while the
//! daemon runs, so no IPC is needed.

use super::alerts::secs;
use super::{Store, StoreError};
use crate::alert::Silence;
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Row, params};

/// A silence to create.
#[derive(Debug, Clone)]
pub struct NewSilence {
    pub indicator: String,
    pub rule: Option<String>,
    pub match_text: Option<String>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub comment: String,
    pub created_by: Option<String>,
}

fn from_row(r: &Row<'_>) -> rusqlite::Result<Silence> {
    Ok(Silence {
        id: r.get("id")?,
        indicator: r.get("indicator")?,
        rule: r.get("rule")?,
        match_text: r.get("match_text")?,
        starts_at: secs(r.get("starts_at")?),
        ends_at: secs(r.get("ends_at")?),
        comment: r.get("comment")?,
        created_by: r.get("created_by")?,
        created_at: secs(r.get("created_at")?),
    })
}

impl Store {
    /// Creates a silence and returns it.
    pub fn add_silence(&self, s: &NewSilence, now: DateTime<Utc>) -> Result<Silence, StoreError> {
        let conn = self.conn();
        conn.execute(
            "INSERT INTO silence (indicator, rule, match_text, starts_at, ends_at, comment,
                                  created_by, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                s.indicator,
                s.rule,
                s.match_text,
                s.starts_at.timestamp(),
                s.ends_at.timestamp(),
                s.comment,
                s.created_by,
                now.timestamp()
            ],
        )?;
        let id = conn.last_insert_rowid();
        Ok(conn.query_row("SELECT * FROM silence WHERE id = ?1", [id], from_row)?)
    }

    /// Silences, newest first; expired ones only when `all`.
    pub fn silences(&self, now: DateTime<Utc>, all: bool) -> Result<Vec<Silence>, StoreError> {
        let conn = self.conn();
        let mut stmt =
            conn.prepare_cached("SELECT * FROM silence WHERE ?2 OR ends_at > ?1 ORDER BY id DESC")?;
        let rows = stmt
            .query_map(params![now.timestamp(), all], from_row)?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    /// Ends a silence now. `None` when there is no such silence; an already
    /// expired silence is returned unchanged.
    pub fn expire_silence(
        &self,
        id: i64,
        now: DateTime<Utc>,
    ) -> Result<Option<Silence>, StoreError> {
        let conn = self.conn();
        conn.execute(
            "UPDATE silence SET ends_at = ?2 WHERE id = ?1 AND ends_at > ?2",
            params![id, now.timestamp()],
        )?;
        Ok(conn
            .query_row("SELECT * FROM silence WHERE id = ?1", [id], from_row)
            .optional()?)
    }
}
