//! Stories, alerts and the delivery outbox.
//!
//! The invariant that makes delivery lose nothing: an alert and its
//! `delivery` rows (one per routed sink, state `pending`) are written in the
//! same transaction as the story item that raised it. The delivery worker
//! only ever moves a row from `pending` to `delivered` or `dead`.

use super::{Store, StoreError};
use crate::alert::{AlertDoc, AlertState, LiveStory, StoryItem};
use crate::model::{Match, Severity};
use crate::score::story::Signature;
use chrono::{DateTime, TimeZone, Utc};
use rusqlite::{OptionalExtension, Transaction, params};

/// What to write about the story's alert with the item.
#[derive(Debug)]
pub enum AlertWrite<'a> {
    /// Only the story and the item.
    None,
    /// A new alert, with a pending delivery for each sink (none when
    /// silenced). The store assigns `doc.id`.
    Raise {
        doc: &'a mut AlertDoc,
        sinks: &'a [String],
    },
    /// A new version of an existing alert's document, and deliveries for
    /// sinks that did not have it yet.
    Update {
        doc: &'a AlertDoc,
        new_sinks: &'a [String],
    },
}

/// A pending delivery that is due.
#[derive(Debug, Clone)]
pub struct DueDelivery {
    pub alert: AlertDoc,
    pub sink: String,
    pub attempts: u32,
}

/// The outbox of one sink, for metrics and the API.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OutboxStats {
    pub sink: String,
    pub pending: u64,
    /// Creation time of the oldest pending alert.
    pub oldest_pending: Option<DateTime<Utc>>,
    pub dead: u64,
    pub delivered: u64,
}

/// One delivery of an alert, for the API.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DeliveryState {
    pub sink: String,
    pub state: String,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub last_attempt: Option<DateTime<Utc>>,
    pub next_attempt: Option<DateTime<Utc>>,
    pub done_at: Option<DateTime<Utc>>,
}

/// Filters of an alert listing.
#[derive(Debug, Clone, Default)]
pub struct AlertFilter {
    pub indicator: Option<String>,
    pub min_severity: Option<Severity>,
    pub kind: Option<crate::alert::AlertKind>,
    /// Only alerts with an id below this (the cursor of the previous page).
    pub before: Option<i64>,
    pub limit: usize,
}

/// Filters of a story listing.
#[derive(Debug, Clone, Default)]
pub struct StoryFilter {
    pub indicator: Option<String>,
    pub min_severity: Option<Severity>,
    /// Only stories with an id below this.
    pub before: Option<i64>,
    pub limit: usize,
}

/// A stored story, for the API.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StoryRow {
    pub id: i64,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    pub title: String,
    pub link: Option<String>,
    /// The indicator of its most severe match.
    pub indicator: String,
    pub severity: Severity,
    /// Distinct sources, in order of first report.
    pub sources: Vec<String>,
    pub items: Vec<StoryItemRow>,
    /// Alerts raised for it, oldest first.
    pub alerts: Vec<i64>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct StoryItemRow {
    pub source: String,
    pub id: String,
    pub title: String,
    pub link: Option<String>,
    pub published: DateTime<Utc>,
    pub dated: bool,
    pub added_at: DateTime<Utc>,
}

pub(super) fn secs(t: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(t, 0).single().unwrap_or_default()
}

fn millis(t: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(t).single().unwrap_or_default()
}

fn severities_at_least(min: Option<Severity>) -> Vec<&'static str> {
    [Severity::Info, Severity::Warning, Severity::Critical]
        .into_iter()
        .filter(|s| min.is_none_or(|m| *s >= m))
        .map(Severity::as_str)
        .collect()
}

fn body(doc: &AlertDoc) -> String {
    serde_json::to_string(doc).expect("an alert document serialises")
}

fn parse_body(text: &str) -> rusqlite::Result<AlertDoc> {
    serde_json::from_str(text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

fn insert_deliveries(
    tx: &Transaction<'_>,
    alert_id: i64,
    sinks: &[String],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let mut insert = tx.prepare_cached(
        "INSERT OR IGNORE INTO delivery (alert_id, sink, state, next_attempt_ms)
         VALUES (?1, ?2, 'pending', ?3)",
    )?;
    for sink in sinks {
        insert.execute(params![alert_id, sink, now.timestamp_millis()])?;
    }
    Ok(())
}

fn insert_alert(tx: &Transaction<'_>, doc: &mut AlertDoc) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO alert (kind, story_id, indicator, severity, level, created_at, updated_at,
                            silenced_by, body)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7, '')",
        params![
            doc.kind.as_str(),
            doc.story.as_ref().map(|s| s.id as i64),
            doc.indicator,
            doc.severity.as_str(),
            doc.level.as_str(),
            doc.created_at.timestamp(),
            doc.silenced_by,
        ],
    )?;
    doc.id = tx.last_insert_rowid();
    tx.execute(
        "UPDATE alert SET body = ?2 WHERE id = ?1",
        params![doc.id, body(doc)],
    )?;
    Ok(())
}

impl Store {
    /// Records a story item, the story, and what the policy decided about
    /// its alert, in one transaction.
    pub fn record_story(
        &self,
        story: &LiveStory,
        item: &StoryItem,
        alert: AlertWrite<'_>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let conn = self.conn();
        let tx = conn.unchecked_transaction()?;
        let lead = story.items.first().unwrap_or(item);
        let severity = story
            .items
            .iter()
            .filter_map(StoryItem::severity)
            .max()
            .unwrap_or(Severity::Info);
        let indicator = story
            .items
            .iter()
            .flat_map(|i| &i.matches)
            .max_by_key(|m| m.severity)
            .map_or("", |m| m.indicator.as_str());
        tx.execute(
            "INSERT INTO story (id, first_seen, last_seen, title, link, indicator, severity)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (id) DO UPDATE SET last_seen = excluded.last_seen,
                 indicator = excluded.indicator, severity = excluded.severity",
            params![
                story.id as i64,
                story.first_seen.timestamp(),
                story.last_seen.timestamp(),
                lead.title,
                lead.link,
                indicator,
                severity.as_str()
            ],
        )?;
        let matches = serde_json::to_string(&item.matches).unwrap_or_else(|_| "[]".into());
        tx.execute(
            "INSERT OR REPLACE INTO story_item (source, item_id, story_id, title, norm_title, link,
                 published, dated, added_at, signature, matches)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            params![
                item.source,
                item.item_id,
                story.id as i64,
                item.title,
                item.norm_title,
                item.link,
                item.published.timestamp(),
                item.dated,
                item.added_at.timestamp(),
                item.signature.to_bytes(),
                matches
            ],
        )?;
        match alert {
            AlertWrite::None => {}
            AlertWrite::Raise { doc, sinks } => {
                insert_alert(&tx, doc)?;
                if doc.silenced_by.is_none() {
                    insert_deliveries(&tx, doc.id, sinks, now)?;
                }
            }
            AlertWrite::Update { doc, new_sinks } => {
                tx.execute(
                    "UPDATE alert SET severity = ?2, updated_at = ?3, body = ?4 WHERE id = ?1",
                    params![
                        doc.id,
                        doc.severity.as_str(),
                        doc.updated_at.timestamp(),
                        body(doc)
                    ],
                )?;
                if doc.silenced_by.is_none() {
                    insert_deliveries(&tx, doc.id, new_sinks, now)?;
                }
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Records a level alert and its pending deliveries in one transaction.
    pub fn record_level_alert(
        &self,
        doc: &mut AlertDoc,
        sinks: &[String],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let conn = self.conn();
        let tx = conn.unchecked_transaction()?;
        insert_alert(&tx, doc)?;
        if doc.silenced_by.is_none() {
            insert_deliveries(&tx, doc.id, sinks, now)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// When an indicator last alerted at `level` (for the repeat interval).
    pub fn last_level_alert(
        &self,
        indicator: &str,
        level: &str,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        let t: Option<i64> = self.conn().query_row(
            "SELECT MAX(created_at) FROM alert WHERE indicator = ?1 AND kind = 'level' AND level = ?2",
            params![indicator, level],
            |r| r.get(0),
        )?;
        Ok(t.map(secs))
    }

    /// The stories seen since `since` with their items and latest alert,
    /// and the highest story id ever stored.
    pub fn live_stories(&self, since: DateTime<Utc>) -> Result<(Vec<LiveStory>, u64), StoreError> {
        let conn = self.conn();
        let max_id: Option<i64> = conn.query_row("SELECT MAX(id) FROM story", [], |r| r.get(0))?;
        let mut stories: Vec<LiveStory> = conn
            .prepare(
                "SELECT id, first_seen, last_seen FROM story WHERE last_seen >= ?1 ORDER BY id",
            )?
            .query_map([since.timestamp()], |r| {
                Ok(LiveStory {
                    id: r.get::<_, i64>(0)? as u64,
                    first_seen: secs(r.get(1)?),
                    last_seen: secs(r.get(2)?),
                    items: Vec::new(),
                    alert: None,
                })
            })?
            .collect::<Result<_, _>>()?;
        let mut items = conn.prepare(
            "SELECT source, item_id, title, norm_title, link, published, dated, added_at,
                    signature, matches
             FROM story_item WHERE story_id = ?1 ORDER BY added_at, rowid",
        )?;
        let mut latest = conn.prepare(
            "SELECT id, created_at, severity, silenced_by FROM alert WHERE story_id = ?1
             ORDER BY id DESC LIMIT 1",
        )?;
        let mut sinks = conn.prepare("SELECT sink FROM delivery WHERE alert_id = ?1")?;
        for story in &mut stories {
            story.items = items
                .query_map([story.id as i64], |r| {
                    let signature: Vec<u8> = r.get(8)?;
                    let matches: String = r.get(9)?;
                    Ok(StoryItem {
                        source: r.get(0)?,
                        item_id: r.get(1)?,
                        title: r.get(2)?,
                        norm_title: r.get(3)?,
                        link: r.get(4)?,
                        published: secs(r.get(5)?),
                        dated: r.get(6)?,
                        added_at: secs(r.get(7)?),
                        signature: Signature::from_bytes(&signature)
                            .unwrap_or_else(|| Signature::of("", "")),
                        matches: serde_json::from_str::<Vec<Match>>(&matches).unwrap_or_default(),
                    })
                })?
                .collect::<Result<_, _>>()?;
            story.alert = latest
                .query_row([story.id as i64], |r| {
                    Ok(AlertState {
                        id: r.get(0)?,
                        created_at: secs(r.get(1)?),
                        severity: r.get::<_, String>(2)?.parse().unwrap_or(Severity::Info),
                        sinks: Vec::new(),
                        silenced_by: r.get(3)?,
                    })
                })
                .optional()?;
            if let Some(alert) = &mut story.alert {
                alert.sinks = sinks
                    .query_map([alert.id], |r| r.get(0))?
                    .collect::<Result<_, _>>()?;
            }
        }
        Ok((stories, max_id.unwrap_or(0) as u64))
    }

    /// An alert's document.
    pub fn alert(&self, id: i64) -> Result<Option<AlertDoc>, StoreError> {
        let text: Option<String> = self
            .conn()
            .query_row("SELECT body FROM alert WHERE id = ?1", [id], |r| r.get(0))
            .optional()?;
        Ok(text.map(|t| parse_body(&t)).transpose()?)
    }

    /// Alerts, newest first.
    pub fn alerts(&self, filter: &AlertFilter) -> Result<Vec<AlertDoc>, StoreError> {
        let severities = severities_at_least(filter.min_severity);
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT body FROM alert
             WHERE (?1 IS NULL OR indicator = ?1)
               AND severity IN (SELECT value FROM json_each(?2))
               AND (?3 IS NULL OR id < ?3)
               AND (?5 IS NULL OR kind = ?5)
             ORDER BY id DESC LIMIT ?4",
        )?;
        let rows = stmt
            .query_map(
                params![
                    filter.indicator,
                    serde_json::to_string(&severities).unwrap_or_default(),
                    filter.before,
                    filter.limit as i64,
                    filter.kind.map(|k| k.as_str())
                ],
                |r| parse_body(&r.get::<_, String>(0)?),
            )?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    /// Stories, newest first, with their items and alert ids.
    pub fn stories(&self, filter: &StoryFilter) -> Result<Vec<StoryRow>, StoreError> {
        let severities = severities_at_least(filter.min_severity);
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT id, first_seen, last_seen, title, link, indicator, severity FROM story
             WHERE (?1 IS NULL OR indicator = ?1)
               AND severity IN (SELECT value FROM json_each(?2))
               AND (?3 IS NULL OR id < ?3)
             ORDER BY id DESC LIMIT ?4",
        )?;
        let mut stories: Vec<StoryRow> = stmt
            .query_map(
                params![
                    filter.indicator,
                    serde_json::to_string(&severities).unwrap_or_default(),
                    filter.before,
                    filter.limit as i64
                ],
                |r| {
                    Ok(StoryRow {
                        id: r.get(0)?,
                        first_seen: secs(r.get(1)?),
                        last_seen: secs(r.get(2)?),
                        title: r.get(3)?,
                        link: r.get(4)?,
                        indicator: r.get(5)?,
                        severity: r.get::<_, String>(6)?.parse().unwrap_or(Severity::Info),
                        sources: Vec::new(),
                        items: Vec::new(),
                        alerts: Vec::new(),
                    })
                },
            )?
            .collect::<Result<_, _>>()?;
        let mut items = conn.prepare_cached(
            "SELECT source, item_id, title, link, published, dated, added_at FROM story_item
             WHERE story_id = ?1 ORDER BY added_at, rowid",
        )?;
        let mut alerts =
            conn.prepare_cached("SELECT id FROM alert WHERE story_id = ?1 ORDER BY id")?;
        for story in &mut stories {
            story.items = items
                .query_map([story.id], |r| {
                    Ok(StoryItemRow {
                        source: r.get(0)?,
                        id: r.get(1)?,
                        title: r.get(2)?,
                        link: r.get(3)?,
                        published: secs(r.get(4)?),
                        dated: r.get(5)?,
                        added_at: secs(r.get(6)?),
                    })
                })?
                .collect::<Result<_, _>>()?;
            for i in &story.items {
                if !story.sources.contains(&i.source) {
                    story.sources.push(i.source.clone());
                }
            }
            story.alerts = alerts
                .query_map([story.id], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
        }
        Ok(stories)
    }

    /// Where each delivery of an alert stands.
    pub fn deliveries(&self, alert_id: i64) -> Result<Vec<DeliveryState>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT sink, state, attempts, last_error, last_attempt_ms, next_attempt_ms, done_at_ms
             FROM delivery WHERE alert_id = ?1 ORDER BY sink",
        )?;
        let rows = stmt
            .query_map([alert_id], |r| {
                let state: String = r.get(1)?;
                let pending = state == "pending";
                Ok(DeliveryState {
                    sink: r.get(0)?,
                    state,
                    attempts: r.get(2)?,
                    last_error: r.get(3)?,
                    last_attempt: r.get::<_, Option<i64>>(4)?.map(millis),
                    next_attempt: pending
                        .then(|| r.get::<_, i64>(5).map(millis))
                        .transpose()?,
                    done_at: r.get::<_, Option<i64>>(6)?.map(millis),
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    /// Pending deliveries of `sink` due at `now`, oldest alert first.
    pub fn due_deliveries(
        &self,
        sink: &str,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<DueDelivery>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT a.body, d.attempts FROM delivery d JOIN alert a ON a.id = d.alert_id
             WHERE d.sink = ?1 AND d.state = 'pending' AND d.next_attempt_ms <= ?2
             ORDER BY d.next_attempt_ms, d.alert_id LIMIT ?3",
        )?;
        let rows = stmt
            .query_map(params![sink, now.timestamp_millis(), limit as i64], |r| {
                Ok(DueDelivery {
                    alert: parse_body(&r.get::<_, String>(0)?)?,
                    sink: sink.to_owned(),
                    attempts: r.get(1)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    /// When the next pending delivery of `sink` is due.
    pub fn next_due(&self, sink: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        let t: Option<i64> = self.conn().query_row(
            "SELECT MIN(next_attempt_ms) FROM delivery WHERE sink = ?1 AND state = 'pending'",
            [sink],
            |r| r.get(0),
        )?;
        Ok(t.map(millis))
    }

    /// Marks a delivery done.
    pub fn delivery_succeeded(
        &self,
        alert_id: i64,
        sink: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE delivery SET state = 'delivered', attempts = attempts + 1,
                 last_attempt_ms = ?3, done_at_ms = ?3, last_error = NULL
             WHERE alert_id = ?1 AND sink = ?2 AND state = 'pending'",
            params![alert_id, sink, now.timestamp_millis()],
        )?;
        Ok(())
    }

    /// Closes a pending delivery without an attempt because silence
    /// `silence_id` now covers its alert.
    pub fn delivery_silenced(
        &self,
        alert_id: i64,
        sink: &str,
        silence_id: i64,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE delivery SET state = 'silenced', done_at_ms = ?3, last_error = ?4
             WHERE alert_id = ?1 AND sink = ?2 AND state = 'pending'",
            params![
                alert_id,
                sink,
                now.timestamp_millis(),
                format!("held back by silence {silence_id}")
            ],
        )?;
        Ok(())
    }

    /// Records a failed attempt: retried at `retry_at`, or dead-lettered
    /// when `retry_at` is `None`.
    pub fn delivery_failed(
        &self,
        alert_id: i64,
        sink: &str,
        error: &str,
        now: DateTime<Utc>,
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        let (state, next, done) = match retry_at {
            Some(at) => ("pending", at.timestamp_millis(), None),
            None => ("dead", now.timestamp_millis(), Some(now.timestamp_millis())),
        };
        self.conn().execute(
            "UPDATE delivery SET state = ?3, attempts = attempts + 1, last_attempt_ms = ?4,
                 next_attempt_ms = ?5, done_at_ms = ?6, last_error = ?7
             WHERE alert_id = ?1 AND sink = ?2 AND state = 'pending'",
            params![
                alert_id,
                sink,
                state,
                now.timestamp_millis(),
                next,
                done,
                error
            ],
        )?;
        Ok(())
    }

    /// Pending, dead and delivered counts per sink (sinks with no rows are
    /// not listed).
    pub fn outbox_stats(&self) -> Result<Vec<OutboxStats>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT d.sink,
                    SUM(d.state = 'pending'),
                    MIN(CASE WHEN d.state = 'pending' THEN a.created_at END),
                    SUM(d.state = 'dead'),
                    SUM(d.state = 'delivered')
             FROM delivery d JOIN alert a ON a.id = d.alert_id
             GROUP BY d.sink ORDER BY d.sink",
        )?;
        let rows = stmt
            .query_map([], |r| {
                Ok(OutboxStats {
                    sink: r.get(0)?,
                    pending: r.get::<_, i64>(1)? as u64,
                    oldest_pending: r.get::<_, Option<i64>>(2)?.map(secs),
                    dead: r.get::<_, i64>(3)? as u64,
                    delivered: r.get::<_, i64>(4)? as u64,
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }
}
