//! systemd integration: readiness, status, reload and stop notifications,
//! and watchdog keep-alive pings (`sd_notify(3)`).
//!
//! Everything here is a no-op outside systemd: without `NOTIFY_SOCKET`
//! nothing is sent, and without `WATCHDOG_USEC` no pinger runs. A failed
//! send is logged and never stops the daemon.

use crate::source::heartbeat::Heartbeat;
use sd_notify::NotifyState;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

fn send(states: &[NotifyState]) {
    if let Err(e) = sd_notify::notify(states) {
        tracing::warn!(error = %e, "cannot notify systemd");
    }
}

/// The `STATUS=` line shown by `systemctl status`.
pub fn status_line(sources: usize, rules: usize) -> String {
    format!("polling {sources} source(s) with {rules} rule(s)")
}

/// Start-up is complete (or a reload finished): `READY=1` and the status.
pub fn ready(status: &str) {
    send(&[NotifyState::Ready, NotifyState::Status(status)]);
}

/// Updates the status line only.
pub fn status(status: &str) {
    send(&[NotifyState::Status(status)]);
}

/// A reload has begun; [`ready`] ends it.
pub fn reloading() {
    // MONOTONIC_USEC lets systemd ≥ 253 match this reload to its request.
    match NotifyState::monotonic_usec_now() {
        Ok(now) => send(&[NotifyState::Reloading, now]),
        Err(_) => send(&[NotifyState::Reloading]),
    }
}

/// Shutdown has begun.
pub fn stopping() {
    send(&[NotifyState::Stopping, NotifyState::Status("shutting down")]);
}

/// How often to ping the watchdog: half of `WATCHDOG_USEC`, as
/// `sd_watchdog_enabled(3)` advises; `None` when no watchdog is set.
pub fn watchdog_interval() -> Option<Duration> {
    sd_notify::watchdog_enabled().map(|timeout| timeout / 2)
}

/// How long the scheduler may go without a beat before the pinger stops:
/// a poll in flight can legitimately take a whole fetch timeout, so every
/// loop may be busy that long without being hung.
pub fn stale_after(fetch_timeout: Duration) -> Duration {
    (fetch_timeout * 2).max(Duration::from_secs(60))
}

/// Sends `WATCHDOG=1` every `every` while the scheduler's heartbeat is
/// fresh. A stale heartbeat withholds the pings, so systemd kills and
/// restarts a hung daemon after `WatchdogSec=`.
pub async fn watchdog(
    every: Duration,
    heartbeat: Arc<arc_swap::ArcSwap<Heartbeat>>,
    stale_after: Duration,
    cancel: CancellationToken,
) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut pinging = true;
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tick.tick() => {}
        }
        // A config reload replaces the scheduler, and its heartbeat.
        let heartbeat = heartbeat.load();
        let alive = heartbeat.is_alive(stale_after);
        if alive {
            send(&[NotifyState::Watchdog]);
        }
        if alive != pinging {
            let age_ms = u64::try_from(heartbeat.age().as_millis()).unwrap_or(u64::MAX);
            if alive {
                tracing::info!(
                    heartbeat.age_ms = age_ms,
                    "scheduler progressing again; watchdog pings resumed"
                );
            } else {
                tracing::error!(
                    heartbeat.age_ms = age_ms,
                    "scheduler made no progress; withholding watchdog pings"
                );
            }
            pinging = alive;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_after_covers_a_whole_fetch_in_flight() {
        assert_eq!(
            stale_after(Duration::from_secs(30)),
            Duration::from_secs(60)
        );
        assert_eq!(
            stale_after(Duration::from_secs(90)),
            Duration::from_secs(180)
        );
    }

    #[test]
    fn status_line_names_the_counts() {
        assert_eq!(status_line(3, 41), "polling 3 source(s) with 41 rule(s)");
    }
}
