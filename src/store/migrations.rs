//! Versioned schema migrations, applied in order on open. The version lives
//! in SQLite's `user_version`; a migration is never edited once released,
//! only followed by a new one.

use super::StoreError;
use rusqlite::Connection;

const MIGRATIONS: &[&str] = &[
    // 1: fetch state and de-duplication.
    r#"
    CREATE TABLE source_state (
        source               TEXT PRIMARY KEY,
        etag                 TEXT,
        last_modified        TEXT,
        last_attempt         INTEGER,
        last_success         INTEGER,
        last_new_item        INTEGER,
        consecutive_failures INTEGER NOT NULL DEFAULT 0,
        last_error           TEXT,
        next_due             INTEGER,
        initialized          INTEGER NOT NULL DEFAULT 0,
        selectors_empty      INTEGER NOT NULL DEFAULT 0,
        new_batches          INTEGER NOT NULL DEFAULT 0,
        mean_new_gap_secs    REAL,
        fetches_total        INTEGER NOT NULL DEFAULT 0,
        items_new_total      INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE seen_key (
        source     TEXT NOT NULL,
        key        TEXT NOT NULL,
        last_seen  INTEGER NOT NULL,
        PRIMARY KEY (source, key)
    ) WITHOUT ROWID;
    CREATE INDEX seen_key_last_seen ON seen_key (last_seen);
    CREATE TABLE item (
        rowid      INTEGER PRIMARY KEY,
        source     TEXT NOT NULL,
        item_id    TEXT NOT NULL,
        title      TEXT NOT NULL,
        summary    TEXT NOT NULL,
        link       TEXT,
        published  INTEGER NOT NULL,
        dated      INTEGER NOT NULL,
        lang       TEXT,
        first_seen INTEGER NOT NULL,
        UNIQUE (source, item_id)
    );
    CREATE INDEX item_first_seen ON item (first_seen);
    "#,
    // 2: matches of new items, the input of scores (recomputable after a restart).
    r#"
    CREATE TABLE item_match (
        source     TEXT NOT NULL,
        item_id    TEXT NOT NULL,
        rule       TEXT NOT NULL,
        indicator  TEXT NOT NULL,
        severity   TEXT NOT NULL,
        shadow     INTEGER NOT NULL,
        terms      TEXT NOT NULL,
        matched_at INTEGER NOT NULL,
        published  INTEGER NOT NULL,
        PRIMARY KEY (source, item_id, rule)
    ) WITHOUT ROWID;
    CREATE INDEX item_match_indicator ON item_match (indicator, matched_at);
    "#,
];

/// Brings the schema up to the newest version, one transaction a step.
pub fn apply(conn: &Connection) -> Result<(), StoreError> {
    let known = MIGRATIONS.len() as i64;
    let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found > known {
        return Err(StoreError::TooNew { found, known });
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let version = index as i64 + 1;
        let tx = conn.unchecked_transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", version)?;
        tx.commit()?;
        tracing::info!(store.schema_version = version, "store migrated");
    }
    Ok(())
}
