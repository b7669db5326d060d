//! The embedded store: SQLite (bundled), WAL mode, versioned migrations.
//!
//! This is the only module that speaks SQL. Callers use verbs
//! (`insert_new_items`, `record_fetch_success`, ...). Calls are synchronous
//! and short; async code runs them with `spawn_blocking`.

mod alerts;
mod browse;
mod items;
mod matches;
mod migrations;
mod silences;
mod sources;

pub use alerts::{AlertFilter, AlertWrite, DeliveryState, DueDelivery, OutboxStats};
pub use browse::{Cursor, ItemPage, ItemQuery, StoredItem, StoredMatch};
pub use items::Inserted;
pub use matches::MatchEvent;
pub use silences::NewSilence;
pub use sources::{FetchOutcome, SourceState};

use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

/// Errors from the store are not recoverable by the caller beyond logging
/// and retrying later, so they carry a message and the SQLite cause.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create state directory {path:?}: {source}")]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("store {path:?}: {source}")]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("store: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error(
        "store schema version {found} is newer than this tocsin knows ({known}); upgrade tocsin"
    )]
    TooNew { found: i64, known: i64 },
}

/// A handle to the store. Cheap to share in an `Arc`.
pub struct Store {
    conn: Mutex<Connection>,
    path: PathBuf,
}

impl Store {
    /// Opens (creating on first start) the store at `state_dir/tocsin.db`.
    pub fn open(state_dir: &Path) -> Result<Store, StoreError> {
        std::fs::create_dir_all(state_dir).map_err(|source| StoreError::CreateDir {
            path: state_dir.to_owned(),
            source,
        })?;
        let path = state_dir.join("tocsin.db");
        let conn = Connection::open(&path).map_err(|source| StoreError::Open {
            path: path.clone(),
            source,
        })?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        migrations::apply(&conn)?;
        Ok(Store {
            conn: Mutex::new(conn),
            path,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema version in use.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn()
            .query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves SQLite consistent (each verb
        // is one transaction), so a poisoned lock is safe to reuse.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }
}
