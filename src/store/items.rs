//! Seen items: de-duplication across polls and restarts, and the recent
//! items kept for later stages and the API.

use super::{Store, StoreError};
use crate::model::Item;
use crate::parse::identity::canonical_link;
use chrono::{DateTime, Duration, Utc};
use rusqlite::params;

/// The keys under which an item is remembered: its stable id, and its
/// canonical link when it has one, so a guid change on an unchanged article
/// (or a link that moved to https) does not make an old item new.
fn keys(item: &Item) -> Vec<String> {
    let mut keys = vec![item.id.clone()];
    if let Some(canon) = item.link.as_deref().and_then(canonical_link) {
        let key = format!("url:{canon}");
        if key != item.id {
            keys.push(key);
        }
    }
    keys
}

/// What [`Store::insert_new_items`] made of a batch.
#[derive(Debug, Default)]
pub struct Inserted {
    /// Items not seen before, in feed order (empty when not emitting).
    pub new: Vec<Item>,
    /// Items seen before, or twice in the batch.
    pub duplicates: usize,
}

impl Store {
    /// Records items as seen and returns those not seen before, in feed
    /// order. With `emit == false` (a source's first fetch) everything is
    /// recorded and nothing is returned. One transaction.
    pub fn insert_new_items(
        &self,
        items: Vec<Item>,
        now: DateTime<Utc>,
        emit: bool,
    ) -> Result<Inserted, StoreError> {
        let conn = self.conn();
        let tx = conn.unchecked_transaction()?;
        let mut fresh = Vec::new();
        let mut duplicates = 0;
        {
            let mut seen =
                tx.prepare_cached("SELECT 1 FROM seen_key WHERE source = ?1 AND key = ?2")?;
            let mut mark = tx.prepare_cached(
                "INSERT INTO seen_key (source, key, last_seen) VALUES (?1, ?2, ?3)
                 ON CONFLICT (source, key) DO UPDATE SET last_seen = excluded.last_seen",
            )?;
            let mut store_item = tx.prepare_cached(
                "INSERT OR IGNORE INTO item (source, item_id, title, summary, link, published, dated, lang, first_seen)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?;
            for item in items {
                let keys = keys(&item);
                let mut known = false;
                for key in &keys {
                    known |= seen.exists(params![item.source, key])?;
                }
                for key in &keys {
                    mark.execute(params![item.source, key, now.timestamp()])?;
                }
                if known || fresh.iter().any(|f: &Item| f.id == item.id) {
                    duplicates += 1;
                    continue;
                }
                store_item.execute(params![
                    item.source,
                    item.id,
                    item.title,
                    item.summary,
                    item.link,
                    item.published.timestamp(),
                    item.dated,
                    item.lang,
                    now.timestamp()
                ])?;
                if emit {
                    fresh.push(item);
                }
            }
        }
        tx.commit()?;
        Ok(Inserted {
            new: fresh,
            duplicates,
        })
    }

    /// Forgets seen keys and stored items not seen within `retention`.
    /// A key that is still in its feed is refreshed on every poll, so only
    /// items that left their feed long ago are forgotten.
    pub fn prune(
        &self,
        now: DateTime<Utc>,
        retention: std::time::Duration,
    ) -> Result<usize, StoreError> {
        let cutoff =
            (now - Duration::from_std(retention).unwrap_or(Duration::days(30))).timestamp();
        let conn = self.conn();
        let tx = conn.unchecked_transaction()?;
        let keys = tx.execute("DELETE FROM seen_key WHERE last_seen < ?1", [cutoff])?;
        tx.execute("DELETE FROM item WHERE first_seen < ?1", [cutoff])?;
        tx.execute("DELETE FROM item_match WHERE matched_at < ?1", [cutoff])?;
        tx.commit()?;
        Ok(keys)
    }

    /// How many item keys are remembered (for tests and status).
    pub fn seen_count(&self) -> Result<u64, StoreError> {
        Ok(self
            .conn()
            .query_row("SELECT COUNT(*) FROM seen_key", [], |r| r.get(0))?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::{RawEntry, SourceCtx, build_item};

    fn item(title: &str, link: &str) -> Item {
        let ctx = SourceCtx {
            id: "s".into(),
            ..Default::default()
        };
        let raw = RawEntry {
            title: Some(title),
            link: Some(link),
            ..Default::default()
        };
        build_item(raw, &ctx, Utc::now()).unwrap()
    }

    #[test]
    fn dedup_survives_reopen_and_link_changes() {
        let dir = tempfile::tempdir().unwrap();
        let now = Utc::now();
        {
            let store = Store::open(dir.path()).unwrap();
            let first = store
                .insert_new_items(vec![item("a", "http://x.org/a?utm_source=rss")], now, true)
                .unwrap();
            assert_eq!((first.new.len(), first.duplicates), (1, 0));
        }
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.schema_version().unwrap(), 3);
        let again = store
            .insert_new_items(
                vec![
                    item("a", "https://www.x.org/a"),
                    item("b", "https://x.org/b"),
                ],
                now,
                true,
            )
            .unwrap();
        assert_eq!(
            again
                .new
                .iter()
                .map(|i| i.title.as_str())
                .collect::<Vec<_>>(),
            ["b"]
        );
        assert_eq!(again.duplicates, 1);
    }

    #[test]
    fn first_fetch_marks_seen_without_emitting_and_prune_forgets() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let now = Utc::now();
        assert!(
            store
                .insert_new_items(vec![item("a", "https://x.org/a")], now, false)
                .unwrap()
                .new
                .is_empty()
        );
        assert!(
            store
                .insert_new_items(vec![item("a", "https://x.org/a")], now, true)
                .unwrap()
                .new
                .is_empty()
        );
        let later = now + Duration::days(40);
        assert_eq!(
            store
                .prune(later, std::time::Duration::from_secs(30 * 86400))
                .unwrap(),
            1
        );
        assert_eq!(store.seen_count().unwrap(), 0);
    }
}
