//! The delivery workers: one per sink, so a slow or failing sink never
//! delays another.
//!
//! A worker takes its sink's due `pending` deliveries from the store, makes
//! one attempt each and records the outcome: `delivered`; a retry at an
//! exponentially growing delay (or the receiver's `Retry-After`); or `dead`
//! when the alert is older than `max_delivery_age` or the receiver said no
//! for good (a 4xx). A delivery whose alert a silence covers by the time
//! of the attempt (a silence added after the alert was raised, while the
//! delivery waited or retried) is not made: its state becomes `silenced`.
//! Pending rows survive a restart, so a killed daemon
//! resumes them on start. On shutdown a worker starts no new attempt and
//! lets the one in flight finish (bounded by the sink's timeout).

use super::{SendError, Sink};
use crate::alert::silence::silenced_by;
use crate::metrics::Metrics;
use crate::store::{DueDelivery, Store};
use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// First retry delay; doubles per attempt up to `BACKOFF_MAX`.
const BACKOFF_BASE: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(300);
/// A `Retry-After` longer than this is capped (a receiver's typo must not
/// park an alert for days).
const RETRY_AFTER_MAX: Duration = Duration::from_secs(3600);
/// Deliveries taken per store query.
const BATCH: usize = 32;
/// How long an idle worker sleeps before looking again by itself.
const IDLE: Duration = Duration::from_secs(30);

/// Wakes the workers when new deliveries are written.
#[derive(Default, Clone)]
pub struct Wake(Vec<Arc<Notify>>);

impl Wake {
    pub fn wake(&self) {
        for n in &self.0 {
            // `notify_one` keeps a permit, so a worker busy right now still
            // looks again before it sleeps.
            n.notify_one();
        }
    }
}

/// The delay before retry number `attempts` (1 after the first failure).
pub fn backoff(attempts: u32, error: &SendError) -> Duration {
    if let Some(wait) = error.retry_after {
        return wait.min(RETRY_AFTER_MAX);
    }
    let exp = BACKOFF_BASE.saturating_mul(1 << attempts.saturating_sub(1).min(16));
    let capped = exp.min(BACKOFF_MAX);
    // Up to 10 % jitter so many alerts failing together do not retry in step.
    capped + capped.mul_f64(rand::random::<f64>() * 0.1)
}

/// Spawns one worker per sink on `tracker`.
pub fn spawn(
    sinks: Vec<Arc<Sink>>,
    store: Arc<Store>,
    max_age: Duration,
    metrics: Arc<Metrics>,
    cancel: CancellationToken,
    tracker: &tokio_util::task::TaskTracker,
) -> Wake {
    let mut wake = Wake::default();
    for sink in sinks {
        let notify = Arc::new(Notify::new());
        wake.0.push(notify.clone());
        tracker.spawn(worker(
            sink,
            store.clone(),
            max_age,
            metrics.clone(),
            notify,
            cancel.clone(),
        ));
    }
    wake
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, crate::store::StoreError> + Send + 'static,
) -> Option<T> {
    match tokio::task::spawn_blocking(f).await {
        Ok(Ok(v)) => Some(v),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "delivery: store error");
            None
        }
        Err(e) => {
            tracing::error!(error = %e, "delivery: store task failed");
            None
        }
    }
}

async fn worker(
    sink: Arc<Sink>,
    store: Arc<Store>,
    max_age: Duration,
    metrics: Arc<Metrics>,
    notify: Arc<Notify>,
    cancel: CancellationToken,
) {
    let name = sink.name().to_owned();
    let mut last_send: Option<tokio::time::Instant> = None;
    loop {
        if cancel.is_cancelled() {
            return;
        }
        let due = {
            let (store, name) = (store.clone(), name.clone());
            blocking(move || store.due_deliveries(&name, Utc::now(), BATCH))
                .await
                .unwrap_or_default()
        };
        let full = due.len() == BATCH;
        for d in due {
            if cancel.is_cancelled() {
                return;
            }
            if let Some(at) = last_send {
                let ready = at + sink.min_interval();
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    _ = tokio::time::sleep_until(ready) => {}
                }
            }
            last_send = Some(tokio::time::Instant::now());
            attempt(&sink, &store, &metrics, d, max_age).await;
        }
        if full {
            continue;
        }
        let wait = {
            let (store, name) = (store.clone(), name.clone());
            blocking(move || store.next_due(&name))
                .await
                .flatten()
                .map_or(IDLE, |t| until(t).min(IDLE))
        };
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = notify.notified() => {}
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

fn until(t: DateTime<Utc>) -> Duration {
    (t - Utc::now()).to_std().unwrap_or(Duration::ZERO)
}

async fn attempt(
    sink: &Sink,
    store: &Arc<Store>,
    metrics: &Metrics,
    d: DueDelivery,
    max_age: Duration,
) {
    let now = Utc::now();
    let (id, name) = (d.alert.id, d.sink.clone());
    // Silences are checked when an alert is raised; one added since then
    // (the on-call engineer silencing a flood while a sink is down) must
    // still stop the deliveries that have not been made yet.
    let silence = {
        let (store, alert) = (store.clone(), d.alert.clone());
        blocking(move || {
            store
                .silences(now, false)
                .map(|active| silenced_by(&active, &alert, None, now))
        })
        .await
        .flatten()
    };
    if let Some(silence) = silence {
        tracing::info!(sink = %name, alert.id = id, silence, "alert delivery held back by a silence added after the alert");
        metrics.observe_delivery(&name, "silenced");
        let store = store.clone();
        blocking(move || store.delivery_silenced(id, &name, silence, now)).await;
        return;
    }
    let age = (now - d.alert.created_at).to_std().unwrap_or_default();
    let outcome = if age > max_age {
        Err(SendError {
            message: format!(
                "gave up: alert is older than alerts.max_delivery_age ({})",
                humantime::format_duration(max_age)
            ),
            retry_after: None,
            permanent: true,
        })
    } else {
        sink.send(&d.alert, now).await
    };
    let now = Utc::now();
    let store = store.clone();
    match outcome {
        Ok(()) => {
            tracing::info!(sink = %name, alert.id = id, attempts = d.attempts + 1, "alert delivered");
            metrics.observe_delivery(&name, "delivered");
            blocking(move || store.delivery_succeeded(id, &name, now)).await;
        }
        Err(e) if e.permanent => {
            tracing::error!(sink = %name, alert.id = id, attempts = d.attempts + 1, error = %e.message, "alert delivery dead-lettered");
            metrics.observe_delivery(&name, "dead");
            blocking(move || store.delivery_failed(id, &name, &e.message, now, None)).await;
        }
        Err(e) => {
            let delay = backoff(d.attempts + 1, &e);
            let retry_at = now + chrono::Duration::from_std(delay).unwrap_or_default();
            tracing::warn!(
                sink = %name,
                alert.id = id,
                attempts = d.attempts + 1,
                retry_in_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                error = %e.message,
                "alert delivery failed; will retry"
            );
            metrics.observe_delivery(&name, "retry");
            blocking(move || store.delivery_failed(id, &name, &e.message, now, Some(retry_at)))
                .await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(retry_after: Option<u64>) -> SendError {
        SendError {
            message: String::new(),
            retry_after: retry_after.map(Duration::from_secs),
            permanent: false,
        }
    }

    #[test]
    fn backoff_doubles_to_a_cap_and_honours_retry_after() {
        let d1 = backoff(1, &err(None));
        let d3 = backoff(3, &err(None));
        assert!(
            d1 >= Duration::from_secs(1) && d1 <= Duration::from_millis(1100),
            "{d1:?}"
        );
        assert!(
            d3 >= Duration::from_secs(4) && d3 <= Duration::from_millis(4400),
            "{d3:?}"
        );
        assert!(backoff(40, &err(None)) <= BACKOFF_MAX.mul_f64(1.1));
        assert_eq!(backoff(1, &err(Some(7))), Duration::from_secs(7));
        assert_eq!(backoff(1, &err(Some(86_400))), RETRY_AFTER_MAX);
    }
}
