//! Live rules: the compiled [`RuleSet`] in use, swapped atomically when the
//! rule files change or on SIGHUP. A reload that fails keeps the running
//! rules and logs every error; only start-up treats rule errors as fatal.

use super::systemd;
use crate::metrics::Metrics;
use crate::rules::RuleSet;
use crate::source::local;
use arc_swap::ArcSwap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How often the rules directory is checked for changes. Polling file
/// metadata works on every filesystem (including container bind mounts,
/// where inotify events are unreliable) and costs a few `stat` calls.
const WATCH_EVERY: Duration = Duration::from_secs(2);

/// The rules in use, shared by every task that matches.
pub struct LiveRules {
    dir: PathBuf,
    current: ArcSwap<RuleSet>,
    /// Validator of the files the current rules were loaded from.
    loaded_from: std::sync::Mutex<String>,
}

/// The outcome of a reload attempt.
#[derive(Debug, PartialEq, Eq)]
pub enum Reload {
    Unchanged,
    Swapped { rules: usize },
    Kept { errors: usize },
}

impl LiveRules {
    /// Loads the rules at start-up; errors are returned (and fatal).
    pub fn load(dir: &Path) -> Result<LiveRules, crate::rules::RuleErrors> {
        let validator = snapshot(dir);
        let rules = RuleSet::load_dir(dir)?;
        Ok(LiveRules {
            dir: dir.to_owned(),
            current: ArcSwap::from_pointee(rules),
            loaded_from: std::sync::Mutex::new(validator),
        })
    }

    /// The rules to match with now. Cheap; hold the guard only briefly.
    pub fn current(&self) -> Arc<RuleSet> {
        self.current.load_full()
    }

    /// The directory the rules are read from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Reloads if the files changed (or always, with `force`).
    pub fn reload(&self, force: bool) -> Reload {
        let validator = snapshot(&self.dir);
        let mut loaded_from = self.loaded_from.lock().unwrap_or_else(|p| p.into_inner());
        if !force && *loaded_from == validator {
            return Reload::Unchanged;
        }
        // Remember the attempt either way, so a broken file is reported
        // once per change, not every two seconds.
        *loaded_from = validator;
        match RuleSet::load_dir(&self.dir) {
            Ok(rules) => {
                let count = rules.rule_count();
                self.current.store(Arc::new(rules));
                tracing::info!(rules.count = count, rules.dir = %self.dir.display(), "rules reloaded");
                Reload::Swapped { rules: count }
            }
            Err(errors) => {
                for error in &errors.0 {
                    tracing::error!(rules.dir = %self.dir.display(), "{error}");
                }
                tracing::error!(
                    errors = errors.0.len(),
                    "rule reload failed; keeping the previous rules"
                );
                Reload::Kept {
                    errors: errors.0.len(),
                }
            }
        }
    }
}

fn snapshot(dir: &Path) -> String {
    local::snapshot(dir, true)
        .map(|s| s.validator)
        .unwrap_or_default()
}

/// The SIGHUP stream, installed before readiness is announced (so an early
/// `systemctl reload` is not fatal). `None` where there are no signals.
pub fn hangup() -> Option<Hangup> {
    #[cfg(unix)]
    {
        Some(Hangup(
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
                .expect("cannot install SIGHUP handler"),
        ))
    }
    #[cfg(not(unix))]
    None
}

/// An installed SIGHUP handler.
pub struct Hangup(#[cfg(unix)] tokio::signal::unix::Signal);

impl Hangup {
    pub async fn recv(hangup: &mut Option<Hangup>) {
        match hangup {
            #[cfg(unix)]
            Some(h) => {
                h.0.recv().await;
            }
            _ => std::future::pending().await,
        }
    }
}

/// Reloads whenever the rule files change, until cancelled (SIGHUP is
/// handled by `app::run`, which reloads config and rules together).
pub async fn watch(
    rules: Arc<LiveRules>,
    metrics: Arc<Metrics>,
    sources: Arc<std::sync::atomic::AtomicUsize>,
    cancel: CancellationToken,
) {
    let mut tick = tokio::time::interval(WATCH_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tick.tick() => {}
        };
        let sources = sources.load(std::sync::atomic::Ordering::Relaxed);
        reload_rules(&rules, &metrics, false, sources).await;
    }
}

/// One reload attempt, counted on `/metrics` and reported to systemd's
/// status line; returns whether the rules in use are the files on disk.
pub async fn reload_rules(
    rules: &Arc<LiveRules>,
    metrics: &Metrics,
    force: bool,
    sources: usize,
) -> bool {
    {
        let live = rules.clone();
        let outcome = tokio::task::spawn_blocking(move || live.reload(force)).await;
        let count = rules.current().rule_count();
        match &outcome {
            Ok(Reload::Swapped { rules }) => {
                metrics.rule_reloads.with_label_values(&["swapped"]).inc();
                metrics.rules_loaded.set(*rules as i64);
            }
            Ok(Reload::Kept { .. }) => metrics.rule_reloads.with_label_values(&["kept"]).inc(),
            Ok(Reload::Unchanged) | Err(_) => {}
        }
        let status = match outcome {
            Ok(Reload::Kept { errors }) => format!(
                "{}; last rule reload failed with {errors} error(s)",
                systemd::status_line(sources, count)
            ),
            _ => systemd::status_line(sources, count),
        };
        let ok = !matches!(outcome, Ok(Reload::Kept { .. }));
        if force || !matches!(outcome, Ok(Reload::Unchanged)) {
            systemd::status(&status);
        }
        ok
    }
}
