//! Stage 1, IO: sources, the scheduler, fetching and source health.
//!
//! `schedule` decides *when* each source is polled, `poll` does one poll
//! (via `fetch` for HTTP or `local` for files), and `health` judges from
//! stored state whether each source is working, failing or silent;
//! `heartbeat` tells the systemd watchdog that the loops still progress.

pub mod fetch;
pub mod health;
pub mod heartbeat;
pub mod local;
pub mod poll;
pub mod schedule;

pub use poll::{PollError, PollOk, PollReport, Poller};
