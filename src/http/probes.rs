//! Liveness and readiness probes.
//!
//! `/healthz` answers 200 for as long as the process serves HTTP.
//! `/readyz` answers 200 once the store is open, the rules are loaded and
//! the scheduler has been spawned (503 before), with each check in the body.

use super::HttpState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// One condition of readiness.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// The SQLite store is open.
    Store,
    /// The rules are compiled and in use.
    Rules,
    /// Every source has its polling task.
    Scheduler,
}

impl Check {
    const ALL: [Check; 3] = [Check::Store, Check::Rules, Check::Scheduler];

    fn name(self) -> &'static str {
        match self {
            Check::Store => "store",
            Check::Rules => "rules",
            Check::Scheduler => "scheduler",
        }
    }
}

/// The readiness checks, set by `app` as start-up proceeds.
#[derive(Debug, Default)]
pub struct Readiness {
    done: [AtomicBool; 3],
}

impl Readiness {
    /// Marks a check as passed.
    pub fn pass(&self, check: Check) {
        self.done[check as usize].store(true, Ordering::Release);
    }

    /// True when every check has passed.
    pub fn is_ready(&self) -> bool {
        Check::ALL.iter().all(|&c| self.passed(c))
    }

    fn passed(&self, check: Check) -> bool {
        self.done[check as usize].load(Ordering::Acquire)
    }

    /// `{"status": "ready" | "not_ready", "checks": {"store": "ok" | "pending", ...}}`.
    fn report(&self) -> Value {
        let checks: serde_json::Map<String, Value> = Check::ALL
            .iter()
            .map(|&c| {
                let state = if self.passed(c) { "ok" } else { "pending" };
                (c.name().to_owned(), Value::from(state))
            })
            .collect();
        let status = if self.is_ready() {
            "ready"
        } else {
            "not_ready"
        };
        json!({ "status": status, "checks": checks })
    }
}

pub(super) async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

pub(super) async fn readyz(State(state): State<Arc<HttpState>>) -> (StatusCode, Json<Value>) {
    let status = if state.readiness.is_ready() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(state.readiness.report()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_only_when_every_check_passed() {
        let r = Readiness::default();
        r.pass(Check::Store);
        r.pass(Check::Rules);
        assert!(!r.is_ready());
        assert_eq!(
            r.report(),
            json!({"status": "not_ready", "checks": {"store": "ok", "rules": "ok", "scheduler": "pending"}})
        );
        r.pass(Check::Scheduler);
        assert!(r.is_ready());
        assert_eq!(r.report()["status"], "ready");
    }
}
