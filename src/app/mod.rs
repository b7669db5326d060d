//! Building the service from a validated config, and running it.
//!
//! `build` does all start-up IO once (open the store, build the HTTP
//! client); `run` spawns the tracked tasks and shuts them down on a signal.
//! Every task is cancellable and tracked, so shutdown is prompt and clean.
//! Under systemd, `run` reports readiness, reloads and shutdown, and keeps
//! the watchdog fed while the scheduler makes progress (see `systemd`).

pub mod reload;
pub mod systemd;

use crate::config::Config;
use crate::model::Item;
use crate::source::schedule::{self, Limits, Observer};
use crate::source::{PollReport, Poller, fetch::Fetcher};
use crate::store::Store;
use anyhow::Context;
use reload::LiveRules;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How long shutdown waits for in-flight work before giving up.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(8);

/// The built service: config plus everything opened from it.
pub struct App {
    pub config: Config,
    pub store: Arc<Store>,
    pub poller: Arc<Poller>,
    pub limits: Arc<Limits>,
    pub rules: Arc<LiveRules>,
}

impl App {
    /// Loads the rules, opens the store and builds the fetcher. Rule errors
    /// are fatal here (a daemon never starts on rules it cannot read).
    pub fn build(config: Config) -> anyhow::Result<App> {
        let rules = LiveRules::load(&config.rules_dir).map_err(|errors| {
            anyhow::anyhow!(
                "{errors}\n{} error(s) in rules {}",
                errors.0.len(),
                config.rules_dir.display()
            )
        })?;
        let rules = Arc::new(rules);
        let store = Arc::new(Store::open(&config.state_dir)?);
        let fetcher = Fetcher::new(&config.fetch).context("cannot build HTTP client")?;
        let poller = Arc::new(Poller {
            fetcher,
            store: store.clone(),
            jitter: config.fetch.jitter,
            backoff_max: config.fetch.backoff_max,
        });
        let limits = Arc::new(Limits::new(&config.fetch));
        Ok(App {
            config,
            store,
            poller,
            limits,
            rules,
        })
    }

    /// Polls every source once, concurrently within the limits, and returns
    /// the reports (new items inside) in config order.
    pub async fn poll_all_once(&self) -> Vec<PollReport> {
        let mut set = tokio::task::JoinSet::new();
        for (index, src) in self.config.sources.iter().cloned().enumerate() {
            let (poller, limits) = (self.poller.clone(), self.limits.clone());
            set.spawn(async move {
                let _permits = limits.acquire(&src).await;
                (index, poller.poll(&src).await)
            });
        }
        let mut reports = set.join_all().await;
        reports.sort_by_key(|(index, _)| *index);
        reports.into_iter().map(|(_, report)| report).collect()
    }
}

/// Runs the daemon until SIGTERM or SIGINT.
pub async fn run(app: App) -> anyhow::Result<()> {
    // Signal handlers first: once systemd hears READY=1 it may send
    // SIGHUP or SIGTERM at any moment.
    let shutdown = shutdown_signal();
    let hangup = reload::hangup();
    let cancel = CancellationToken::new();
    let tracker = TaskTracker::new();
    let (tx, rx) = mpsc::channel::<Vec<Item>>(1024);
    let observer: Observer = Arc::new(log_report);
    let sources = app.config.sources.len();
    let rules = app.rules.current().rule_count();
    tracing::info!(
        sources,
        rules,
        store = %app.store.path().display(),
        "tocsin started"
    );
    let heartbeat = schedule::spawn(
        app.config.sources.clone(),
        app.poller.clone(),
        app.limits.clone(),
        tx,
        observer,
        cancel.clone(),
        &tracker,
    );
    tracker.spawn(consume(rx, app.rules.clone()));
    tracker.spawn(reload::watch(
        app.rules.clone(),
        hangup,
        sources,
        cancel.clone(),
    ));
    tracker.spawn(prune_loop(
        app.store.clone(),
        app.config.retention,
        cancel.clone(),
    ));
    if let Some(every) = systemd::watchdog_interval() {
        let stale_after = systemd::stale_after(app.config.fetch.timeout);
        tracing::info!(
            every_ms = u64::try_from(every.as_millis()).unwrap_or(u64::MAX),
            stale_after_ms = u64::try_from(stale_after.as_millis()).unwrap_or(u64::MAX),
            "systemd watchdog enabled"
        );
        tracker.spawn(systemd::watchdog(
            every,
            heartbeat,
            stale_after,
            cancel.clone(),
        ));
    }
    tracker.close();
    systemd::ready(&systemd::status_line(sources, rules));

    shutdown.await;
    tracing::info!("shutting down");
    systemd::stopping();
    cancel.cancel();
    tokio::select! {
        _ = tracker.wait() => tracing::info!("stopped cleanly"),
        _ = tokio::time::sleep(SHUTDOWN_GRACE) => tracing::warn!("shutdown grace period expired; exiting"),
        _ = shutdown_signal() => tracing::warn!("second signal; exiting at once"),
    }
    Ok(())
}

/// The downstream end of the pipeline: every new item is matched against
/// the rules in use at that moment. Scores and alerts attach here.
async fn consume(mut rx: mpsc::Receiver<Vec<Item>>, rules: Arc<LiveRules>) {
    while let Some(batch) = rx.recv().await {
        let rules = rules.current();
        for item in batch {
            tracing::debug!(source.id = %item.source, item.id = %item.id, title = %item.title, "new item");
            for m in rules.match_item(&item) {
                tracing::info!(
                    source.id = %item.source,
                    item.id = %item.id,
                    rule.id = %m.rule,
                    indicator = %m.indicator,
                    severity = ?m.severity,
                    shadow = m.shadow,
                    terms = ?m.terms,
                    title = %item.title,
                    "indicator matched"
                );
            }
        }
    }
}

fn log_report(report: &PollReport) {
    match &report.result {
        Ok(ok) if ok.not_modified => tracing::debug!(source.id = %report.source, "not modified"),
        Ok(ok) => tracing::debug!(
            source.id = %report.source,
            items = ok.items_parsed,
            new = ok.new_items.len(),
            bytes = ok.bytes,
            "polled"
        ),
        Err(e) => tracing::warn!(
            source.id = %report.source,
            error.kind = e.kind(),
            error = %e,
            next_due = %report.next_due,
            "poll failed"
        ),
    }
}

async fn prune_loop(store: Arc<Store>, retention: Duration, cancel: CancellationToken) {
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tick.tick() => {}
        }
        let store = store.clone();
        match tokio::task::spawn_blocking(move || store.prune(chrono::Utc::now(), retention)).await
        {
            Ok(Ok(n)) if n > 0 => tracing::info!(keys = n, "pruned seen items past retention"),
            Ok(Err(e)) => tracing::error!(error = %e, "prune failed"),
            _ => {}
        }
    }
}

/// Resolves on SIGTERM or SIGINT. The handlers are installed when this is
/// called, not when the future is first polled, so a signal that arrives
/// in between is not lost (nor fatal).
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).expect("cannot install SIGTERM handler");
        let mut int = signal(SignalKind::interrupt()).expect("cannot install SIGINT handler");
        async move {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}
