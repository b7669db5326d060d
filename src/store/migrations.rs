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
    // 3: stories, alerts, the delivery outbox and silences. An alert and its
    // delivery rows are written in the transaction that records its story.
    r#"
    CREATE TABLE story (
        id         INTEGER PRIMARY KEY,
        first_seen INTEGER NOT NULL,
        last_seen  INTEGER NOT NULL,
        title      TEXT NOT NULL,
        link       TEXT,
        indicator  TEXT NOT NULL,
        severity   TEXT NOT NULL
    );
    CREATE INDEX story_last_seen ON story (last_seen);
    CREATE TABLE story_item (
        source     TEXT NOT NULL,
        item_id    TEXT NOT NULL,
        story_id   INTEGER NOT NULL REFERENCES story (id),
        title      TEXT NOT NULL,
        norm_title TEXT NOT NULL,
        link       TEXT,
        published  INTEGER NOT NULL,
        dated      INTEGER NOT NULL,
        added_at   INTEGER NOT NULL,
        signature  BLOB NOT NULL,
        matches    TEXT NOT NULL,
        PRIMARY KEY (source, item_id)
    );
    CREATE INDEX story_item_story ON story_item (story_id);
    CREATE TABLE alert (
        id          INTEGER PRIMARY KEY,
        kind        TEXT NOT NULL,
        story_id    INTEGER REFERENCES story (id),
        indicator   TEXT NOT NULL,
        severity    TEXT NOT NULL,
        level       TEXT NOT NULL,
        created_at  INTEGER NOT NULL,
        updated_at  INTEGER NOT NULL,
        silenced_by INTEGER,
        body        TEXT NOT NULL
    );
    CREATE INDEX alert_story ON alert (story_id);
    CREATE INDEX alert_created ON alert (created_at);
    CREATE INDEX alert_indicator_level ON alert (indicator, kind, level, created_at);
    CREATE TABLE delivery (
        alert_id     INTEGER NOT NULL REFERENCES alert (id),
        sink         TEXT NOT NULL,
        state        TEXT NOT NULL,
        attempts     INTEGER NOT NULL DEFAULT 0,
        next_attempt_ms INTEGER NOT NULL,
        last_attempt_ms INTEGER,
        last_error   TEXT,
        done_at_ms   INTEGER,
        PRIMARY KEY (alert_id, sink)
    ) WITHOUT ROWID;
    CREATE INDEX delivery_due ON delivery (sink, state, next_attempt_ms);
    CREATE TABLE silence (
        id         INTEGER PRIMARY KEY,
        indicator  TEXT NOT NULL,
        rule       TEXT,
        match_text TEXT,
        starts_at  INTEGER NOT NULL,
        ends_at    INTEGER NOT NULL,
        comment    TEXT NOT NULL,
        created_by TEXT,
        created_at INTEGER NOT NULL
    );
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
