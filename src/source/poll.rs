//! One poll of one source: fetch (or read) → parse → remember → report new
//! items. Every failure is recorded against that source only.

use super::fetch::{FetchError, Fetched, Fetcher, Validators};
use super::local;
use crate::config::{SourceConfig, SourceKind};
use crate::model::Item;
use crate::parse::{self, SourceCtx, html};
use crate::store::{FetchOutcome, Store};
use chrono::{DateTime, Utc};
use rand::RngExt;
use std::sync::Arc;
use std::time::Duration;

/// What a poll produced.
#[derive(Debug)]
pub struct PollReport {
    pub source: String,
    pub result: Result<PollOk, PollError>,
    /// When the source should be polled next (interval with jitter, or
    /// backoff after failures, or what `Retry-After` asked for).
    pub next_due: DateTime<Utc>,
    /// Status of the final HTTP response, when one arrived (none for local
    /// sources, timeouts before the headers and connection failures).
    pub http_status: Option<u16>,
    /// Time taken to fetch the document (request and body) or read it.
    pub fetch_duration: Duration,
    /// Failed polls in a row, this one included (0 after a success).
    pub consecutive_failures: u32,
}

/// A successful poll.
#[derive(Debug)]
pub struct PollOk {
    pub not_modified: bool,
    pub items_parsed: usize,
    pub new_items: Vec<Item>,
    /// Items dropped because they had been seen before.
    pub duplicates: usize,
    /// Files of a spool directory skipped because they did not parse.
    pub unparsed_files: usize,
    pub bytes: usize,
}

/// A failed poll.
#[derive(Debug, thiserror::Error)]
pub enum PollError {
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error("cannot read {path:?}: {reason}")]
    Local { path: String, reason: String },
    #[error("parse: {0}")]
    Parse(#[from] parse::ParseError),
    #[error("store: {0}")]
    Store(String),
}

impl PollError {
    /// A bounded label for metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            PollError::Fetch(e) => e.kind(),
            PollError::Local { .. } => "local",
            PollError::Parse(_) => "parse",
            PollError::Store(_) => "store",
        }
    }
}

/// Polls sources against the shared client and store.
pub struct Poller {
    pub fetcher: Fetcher,
    pub store: Arc<Store>,
    pub jitter: f64,
    pub backoff_max: Duration,
}

/// A fetched document, before parsing.
struct Document {
    parts: Vec<(Vec<u8>, Option<String>)>,
    validators: Validators,
    url: Option<url::Url>,
}

impl Poller {
    /// Polls one source once and records the outcome.
    pub async fn poll(&self, src: &SourceConfig) -> PollReport {
        let store = self.store.clone();
        let id = src.id.clone();
        let state = tokio::task::spawn_blocking(move || store.source_state(&id))
            .await
            .expect("store task panicked")
            .unwrap_or_else(|e| {
                tracing::error!(source.id = %src.id, error = %e, "cannot read source state");
                None
            })
            .unwrap_or_default();
        let validators = Validators {
            etag: state.etag.clone(),
            last_modified: state.last_modified.clone(),
        };
        let emit = state.initialized || src.first_fetch_emits;
        let started = std::time::Instant::now();
        let (http_status, fetched) = self.get(src, &validators).await;
        let fetch_duration = started.elapsed();
        let now = Utc::now();
        let next_due = self.next_due(src.interval, now);
        let result = match fetched {
            Ok(doc) => self.finish(src, doc, emit, now, next_due).await,
            Err(error) => Err(error),
        };
        let (result, next_due, consecutive_failures) = match result {
            Ok(ok) => (Ok(ok), next_due, 0),
            Err(error) => {
                let failures = state.consecutive_failures + 1;
                let next_due = self.fail(src, &error, failures, now).await;
                (Err(error), next_due, failures)
            }
        };
        PollReport {
            source: src.id.clone(),
            result,
            next_due,
            http_status,
            fetch_duration,
            consecutive_failures,
        }
    }

    /// Fetches or reads the document; `None` when it has not changed. The
    /// status of the HTTP response, if any, comes back with it.
    async fn get(
        &self,
        src: &SourceConfig,
        validators: &Validators,
    ) -> (Option<u16>, Result<Option<Document>, PollError>) {
        match &src.kind {
            SourceKind::Feed { url } | SourceKind::Html { url, .. } => {
                let attempt = self.fetcher.fetch(url, validators).await;
                let document = match attempt.result {
                    Ok(Fetched::NotModified) => Ok(None),
                    Ok(Fetched::Body {
                        bytes,
                        content_type,
                        validators,
                        url,
                    }) => Ok(Some(Document {
                        parts: vec![(bytes, content_type)],
                        validators,
                        url: Some(url),
                    })),
                    Err(e) => Err(e.into()),
                };
                (attempt.status, document)
            }
            SourceKind::File { path } | SourceKind::Dir { path } => {
                let is_dir = matches!(src.kind, SourceKind::Dir { .. });
                let shown = path.display().to_string();
                let local_err = move |e: std::io::Error| PollError::Local {
                    path: shown.clone(),
                    reason: e.to_string(),
                };
                let path = path.clone();
                let previous = validators.clone();
                let read = tokio::task::spawn_blocking(move || {
                    let snap = local::snapshot(&path, is_dir).map_err(&local_err)?;
                    if local::unchanged(&snap, &previous) {
                        return Ok(None);
                    }
                    let parts = snap
                        .files
                        .iter()
                        .map(|f| std::fs::read(f).map(|b| (b, None)))
                        .collect::<Result<_, _>>()
                        .map_err(&local_err)?;
                    let validators = Validators {
                        etag: Some(snap.validator),
                        last_modified: None,
                    };
                    Ok(Some(Document {
                        parts,
                        validators,
                        url: None,
                    }))
                })
                .await
                .expect("local read task panicked");
                (None, read)
            }
        }
    }

    /// Parses and stores a document (or records a 304), on a blocking thread.
    async fn finish(
        &self,
        src: &SourceConfig,
        doc: Option<Document>,
        emit: bool,
        now: DateTime<Utc>,
        next_due: DateTime<Utc>,
    ) -> Result<PollOk, PollError> {
        let store = self.store.clone();
        let src2 = src.clone();
        tokio::task::spawn_blocking(move || -> Result<PollOk, PollError> {
            let Some(doc) = doc else {
                let outcome = FetchOutcome::default();
                store
                    .record_fetch_success(&src2.id, &outcome, now, next_due)
                    .map_err(|e| PollError::Store(e.to_string()))?;
                return Ok(PollOk {
                    not_modified: true,
                    items_parsed: 0,
                    new_items: vec![],
                    duplicates: 0,
                    unparsed_files: 0,
                    bytes: 0,
                });
            };
            let bytes = doc.parts.iter().map(|(b, _)| b.len()).sum();
            let Parsed {
                items,
                selectors_empty,
                unparsed_files,
            } = parse_document(&src2, &doc, now)?;
            if selectors_empty {
                // A broken scraper must be visible, not silent.
                tracing::warn!(source.id = %src2.id, "html item selector matched nothing; the page layout may have changed");
            }
            let items_parsed = items.len();
            let inserted = store
                .insert_new_items(items, now, emit)
                .map_err(|e| PollError::Store(e.to_string()))?;
            let new_items = inserted.new;
            let outcome = FetchOutcome {
                etag: doc.validators.etag,
                last_modified: doc.validators.last_modified,
                new_items: new_items.len(),
                selectors_empty,
            };
            store
                .record_fetch_success(&src2.id, &outcome, now, next_due)
                .map_err(|e| PollError::Store(e.to_string()))?;
            Ok(PollOk {
                not_modified: false,
                items_parsed,
                new_items,
                duplicates: inserted.duplicates,
                unparsed_files,
                bytes,
            })
        })
        .await
        .expect("parse task panicked")
    }

    /// Records a failed poll and returns when to try again.
    async fn fail(
        &self,
        src: &SourceConfig,
        error: &PollError,
        failures: u32,
        now: DateTime<Utc>,
    ) -> DateTime<Utc> {
        let mut next_due = now
            + chrono::Duration::from_std(self.backoff(src.interval, failures)).unwrap_or_default();
        if let PollError::Fetch(FetchError::RetryLater { after, .. }) = error {
            next_due = next_due.max(now + chrono::Duration::from_std(*after).unwrap_or_default());
        }
        let store = self.store.clone();
        let (id, message) = (src.id.clone(), error.to_string());
        let recorded = tokio::task::spawn_blocking(move || {
            store.record_fetch_failure(&id, &message, now, next_due)
        })
        .await
        .expect("store task panicked");
        if let Err(e) = recorded {
            tracing::error!(source.id = %src.id, error = %e, "cannot record fetch failure");
        }
        next_due
    }

    /// The regular next poll: the interval, shifted by up to ±jitter.
    fn next_due(&self, interval: Duration, now: DateTime<Utc>) -> DateTime<Utc> {
        now + chrono::Duration::from_std(jittered(interval, self.jitter)).unwrap_or_default()
    }

    /// Exponential backoff: the interval doubled per consecutive failure,
    /// capped at `backoff_max` (never below the interval), with jitter so
    /// sources that failed together do not retry together.
    pub fn backoff(&self, interval: Duration, failures: u32) -> Duration {
        let factor = 2u32.saturating_pow(failures.saturating_sub(1).min(16));
        let raw = interval
            .saturating_mul(factor)
            .min(self.backoff_max.max(interval));
        jittered(raw, self.jitter)
    }
}

fn jittered(base: Duration, jitter: f64) -> Duration {
    if jitter <= 0.0 {
        return base;
    }
    let factor = rand::rng().random_range((1.0 - jitter)..=(1.0 + jitter));
    base.mul_f64(factor)
}

/// The items of a document, and what went wrong short of failing the poll.
struct Parsed {
    items: Vec<Item>,
    /// An `html` source's item selector matched nothing.
    selectors_empty: bool,
    /// Files of a spool directory skipped because they did not parse.
    unparsed_files: usize,
}

/// Parses every part of a document. For a spool directory, one bad file is
/// logged and skipped; only if every file fails is the poll an error.
fn parse_document(
    src: &SourceConfig,
    doc: &Document,
    now: DateTime<Utc>,
) -> Result<Parsed, PollError> {
    let ctx = SourceCtx {
        id: src.id.clone(),
        lang_hint: src.lang.clone(),
        tags: src.tags.clone(),
    };
    if let SourceKind::Html { spec, .. } = &src.kind {
        let (bytes, content_type) = &doc.parts[0];
        let text = parse::charset::decode(bytes, content_type.as_deref());
        let base = doc.url.clone().expect("html sources are fetched over HTTP");
        let page = html::parse_page(&text, &base, spec, &ctx, now);
        return Ok(Parsed {
            items: page.items,
            selectors_empty: page.matched == 0,
            unparsed_files: 0,
        });
    }
    let mut items = Vec::new();
    let mut last_error = None;
    let mut unparsed_files = 0;
    let mut parsed_any = doc.parts.is_empty();
    for (bytes, content_type) in &doc.parts {
        match parse::parse_document(bytes, content_type.as_deref(), &ctx, now) {
            Ok(found) => {
                parsed_any = true;
                items.extend(found);
            }
            Err(e) => {
                if doc.parts.len() > 1 {
                    tracing::warn!(source.id = %src.id, error = %e, "skipping unparseable file in spool");
                }
                unparsed_files += 1;
                last_error = Some(e);
            }
        }
    }
    match (parsed_any, last_error) {
        (false, Some(e)) => Err(e.into()),
        _ => Ok(Parsed {
            items,
            selectors_empty: false,
            unparsed_files,
        }),
    }
}
