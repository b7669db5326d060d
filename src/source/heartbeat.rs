//! The scheduler's heartbeat: proof, for the systemd watchdog, that the
//! source loops are still making progress.
//!
//! Every source loop beats whenever it wakes, and it wakes at least every
//! [`BEAT_EVERY`] even when its source is not due. The beat goes stale only
//! when *no* loop has woken for a while: the runtime is wedged, every loop
//! is stuck in a poll or waiting for a slot held by one, or the loops have
//! died. The watchdog pinger stops pinging then, and systemd restarts the
//! service. A single slow source does not stop the beat (the others keep
//! it), and is reported by `health` instead.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::time::Instant;

/// The longest a sleeping source loop goes without beating.
pub const BEAT_EVERY: Duration = Duration::from_secs(5);

/// When the scheduler last showed progress.
#[derive(Debug)]
pub struct Heartbeat {
    epoch: Instant,
    /// Milliseconds from `epoch` to the last beat.
    last_ms: AtomicU64,
    /// With no sources there are no loops to beat; the scheduler is idle,
    /// not hung.
    idle: bool,
}

impl Heartbeat {
    /// A fresh heartbeat (it counts as a beat now) for `sources` loops.
    pub fn new(sources: usize) -> Heartbeat {
        Heartbeat {
            epoch: Instant::now(),
            last_ms: AtomicU64::new(0),
            idle: sources == 0,
        }
    }

    /// Records progress now.
    pub fn beat(&self) {
        self.beat_at(Instant::now());
    }

    /// Time since the last beat.
    pub fn age(&self) -> Duration {
        self.age_at(Instant::now())
    }

    /// Whether the scheduler beat within `stale_after`.
    pub fn is_alive(&self, stale_after: Duration) -> bool {
        self.idle || self.age() <= stale_after
    }

    fn beat_at(&self, now: Instant) {
        let ms = u64::try_from((now - self.epoch).as_millis()).unwrap_or(u64::MAX);
        self.last_ms.fetch_max(ms, Ordering::Relaxed);
    }

    fn age_at(&self, now: Instant) -> Duration {
        let last = Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
        now.saturating_duration_since(self.epoch)
            .saturating_sub(last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn goes_stale_without_beats_and_recovers_on_a_beat() {
        let hb = Heartbeat::new(3);
        let t0 = hb.epoch;
        assert_eq!(hb.age_at(t0), Duration::ZERO, "fresh at start");
        assert_eq!(hb.age_at(t0 + 61 * SECOND), 61 * SECOND);
        hb.beat_at(t0 + 61 * SECOND);
        assert_eq!(hb.age_at(t0 + 62 * SECOND), SECOND);
        // A late beat from a slower loop never moves the beat backwards.
        hb.beat_at(t0 + 10 * SECOND);
        assert_eq!(hb.age_at(t0 + 62 * SECOND), SECOND);
        hb.beat();
        assert!(hb.is_alive(SECOND));
    }

    #[test]
    fn a_scheduler_without_sources_is_idle_not_hung() {
        let hb = Heartbeat::new(0);
        assert!(hb.age_at(hb.epoch + 3600 * SECOND) > SECOND);
        assert!(hb.is_alive(Duration::ZERO));
    }
}
