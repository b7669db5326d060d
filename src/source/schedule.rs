//! The scheduler: one lightweight task per source, each sleeping until its
//! source is due, with a global and a per-host concurrency limit.
//!
//! Polls are spread by jitter (at start and on every interval), so a
//! thousand sources configured with the same interval do not fire in the
//! same second, and never more than `global_concurrency` fetches (and
//! `per_host_concurrency` to one host) run at once.

use super::heartbeat::{BEAT_EVERY, Heartbeat};
use super::poll::{PollReport, Poller};
use crate::config::{FetchSettings, SourceConfig, SourceKind};
use crate::model::Item;
use chrono::Utc;
use rand::RngExt;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::{Semaphore, mpsc};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Concurrency limits shared by all source tasks.
pub struct Limits {
    global: Semaphore,
    per_host: usize,
    hosts: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl Limits {
    pub fn new(settings: &FetchSettings) -> Limits {
        Limits {
            global: Semaphore::new(settings.global_concurrency),
            per_host: settings.per_host_concurrency,
            hosts: Mutex::new(HashMap::new()),
        }
    }

    /// Waits for a global and (for HTTP sources) a per-host slot.
    pub async fn acquire(&self, src: &SourceConfig) -> Permits<'_> {
        let global = self.global.acquire().await.expect("semaphore never closed");
        let host = match self.host(src) {
            Some(sem) => Some(sem.acquire_owned().await.expect("semaphore never closed")),
            None => None,
        };
        Permits {
            _global: global,
            _host: host,
        }
    }

    fn host(&self, src: &SourceConfig) -> Option<Arc<Semaphore>> {
        let host = match &src.kind {
            SourceKind::Feed { url } | SourceKind::Html { url, .. } => url.host_str()?.to_owned(),
            _ => return None,
        };
        let mut hosts = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
        Some(
            hosts
                .entry(host)
                .or_insert_with(|| Arc::new(Semaphore::new(self.per_host)))
                .clone(),
        )
    }
}

/// Held while a poll runs; dropping it frees the slots.
pub struct Permits<'a> {
    _global: tokio::sync::SemaphorePermit<'a>,
    _host: Option<tokio::sync::OwnedSemaphorePermit>,
}

/// Something that wants to hear about every poll (metrics, logs, `once`).
pub type Observer = Arc<dyn Fn(&PollReport) + Send + Sync>;

/// Spawns one task per source onto `tracker`. New items are sent to `out`
/// in per-poll batches; the tasks end when `cancel` fires. The returned
/// heartbeat shows whether the tasks are still making progress.
pub fn spawn(
    sources: Vec<SourceConfig>,
    poller: Arc<Poller>,
    limits: Arc<Limits>,
    out: mpsc::Sender<Vec<Item>>,
    observer: Observer,
    cancel: CancellationToken,
    tracker: &TaskTracker,
) -> Arc<Heartbeat> {
    let heartbeat = Arc::new(Heartbeat::new(sources.len()));
    let states: HashMap<String, _> = poller
        .store
        .source_states()
        .unwrap_or_default()
        .into_iter()
        .map(|s| (s.source.clone(), s.next_due))
        .collect();
    let shared = Arc::new(Shared {
        poller,
        limits,
        out,
        observer,
        cancel,
        heartbeat: heartbeat.clone(),
    });
    for src in sources {
        let first = first_due(
            &src,
            states.get(&src.id).copied().flatten(),
            shared.poller.jitter,
        );
        tracker.spawn(source_loop(src, first, shared.clone()));
    }
    heartbeat
}

/// When a source is first polled after start: at its stored due time if
/// that is still ahead (a restart does not re-poll everything at once),
/// otherwise soon, spread over a slice of the interval.
fn first_due(src: &SourceConfig, stored: Option<chrono::DateTime<Utc>>, jitter: f64) -> Instant {
    let now = Utc::now();
    if let Some(due) = stored.filter(|d| *d > now) {
        let wait = (due - now).to_std().unwrap_or_default().min(src.interval);
        return Instant::now() + wait;
    }
    let spread = src
        .interval
        .mul_f64(jitter.max(0.05))
        .min(std::time::Duration::from_secs(30));
    Instant::now() + spread.mul_f64(rand::rng().random_range(0.0..1.0))
}

/// What every source loop shares.
struct Shared {
    poller: Arc<Poller>,
    limits: Arc<Limits>,
    out: mpsc::Sender<Vec<Item>>,
    observer: Observer,
    cancel: CancellationToken,
    heartbeat: Arc<Heartbeat>,
}

async fn source_loop(src: SourceConfig, mut due: Instant, shared: Arc<Shared>) {
    let Shared {
        poller,
        limits,
        out,
        observer,
        cancel,
        heartbeat,
    } = &*shared;
    loop {
        heartbeat.beat();
        // Wake at least every BEAT_EVERY, so a long interval does not
        // look like a hang to the watchdog.
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep_until(due.min(Instant::now() + BEAT_EVERY)) => {}
        }
        if Instant::now() < due {
            continue;
        }
        let report = {
            let _permits = tokio::select! {
                _ = cancel.cancelled() => return,
                permits = limits.acquire(&src) => permits,
            };
            poller.poll(&src).await
        };
        observer(&report);
        let wait = (report.next_due - Utc::now()).to_std().unwrap_or_default();
        due = Instant::now() + wait;
        let new_items = report.result.map(|ok| ok.new_items).unwrap_or_default();
        if !new_items.is_empty() && out.send(new_items).await.is_err() {
            return; // downstream has shut down
        }
    }
}
