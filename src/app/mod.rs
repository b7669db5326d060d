//! Building the service from a validated config, and running it.
//!
//! `build` does all start-up IO once (open the store, build the HTTP
//! client); `run` binds the side door, spawns the tracked tasks and shuts
//! them down on a signal. Every task is cancellable and tracked, so
//! shutdown is prompt and clean. Under systemd, `run` reports readiness,
//! reloads and shutdown, and keeps the watchdog fed while the scheduler
//! makes progress (see `systemd`).

pub mod reload;
pub mod systemd;

use crate::config::Config;
use crate::http::{self, Check, HttpState, Readiness};
use crate::metrics::Metrics;
use crate::model::Item;
use crate::score::{Event, Level, ScoreModel, Summary};
use crate::source::schedule::{self, Limits, Observer};
use crate::source::{PollReport, Poller, fetch::Fetcher};
use crate::store::Store;
use anyhow::Context;
use reload::LiveRules;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How often indicator scores are recomputed when no match arrives, so
/// activity decays on `/metrics` (and levels fall back) between matches.
const RESCORE_EVERY: Duration = Duration::from_secs(60);

/// How long shutdown waits for in-flight work before giving up.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(8);

/// The built service: config plus everything opened from it.
pub struct App {
    pub config: Config,
    pub store: Arc<Store>,
    pub poller: Arc<Poller>,
    pub limits: Arc<Limits>,
    pub rules: Arc<LiveRules>,
    pub metrics: Arc<Metrics>,
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
        let metrics = Arc::new(Metrics::new());
        let current = rules.current();
        let indicators: Vec<&str> = current.indicators().iter().map(|i| i.id.as_str()).collect();
        metrics.init(
            &config.sources,
            &store.source_states()?,
            current.rule_count(),
            &indicators,
        );
        Ok(App {
            config,
            store,
            poller,
            limits,
            rules,
            metrics,
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

/// Runs the daemon until SIGTERM or SIGINT. Failing to bind `http.listen`
/// is fatal before anything else starts.
pub async fn run(app: App) -> anyhow::Result<()> {
    // Signal handlers first: once systemd hears READY=1 it may send
    // SIGHUP or SIGTERM at any moment.
    let shutdown = shutdown_signal();
    let hangup = reload::hangup();
    let listener = http::bind(app.config.listen).await?;
    let cancel = CancellationToken::new();
    let tracker = TaskTracker::new();
    // The store is open and the rules are loaded: `build` succeeded.
    let readiness = Arc::new(Readiness::default());
    readiness.pass(Check::Store);
    readiness.pass(Check::Rules);
    let state = Arc::new(HttpState {
        metrics: app.metrics.clone(),
        readiness: readiness.clone(),
        store: app.store.clone(),
        rules: app.rules.clone(),
        sources: app.config.sources.clone(),
        api_token: app.config.api_token.clone(),
        model: ScoreModel::default(),
    });
    tracker.spawn(http::serve(listener, state, cancel.clone()));
    let (tx, rx) = mpsc::channel::<Vec<Item>>(1024);
    let metrics = app.metrics.clone();
    let observer: Observer = Arc::new(move |report| {
        log_report(report);
        metrics.observe_poll(report);
    });
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
    readiness.pass(Check::Scheduler);
    tracker.spawn(consume(
        rx,
        app.rules.clone(),
        app.store.clone(),
        app.metrics.clone(),
    ));
    tracker.spawn(reload::watch(
        app.rules.clone(),
        app.metrics.clone(),
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

/// Scores every declared indicator from the matches in the store.
pub fn indicator_summary(
    store: &Store,
    rules: &crate::rules::RuleSet,
    model: &ScoreModel,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Summary, crate::store::StoreError> {
    let since = now - chrono::Duration::from_std(model.baseline_window).unwrap_or_default();
    let events = store.match_events(since)?;
    // Shadow rules are counted where they are stored, never scored.
    let pairs: Vec<(&str, Event)> = events
        .iter()
        .filter(|e| !e.shadow)
        .map(|e| {
            (
                e.indicator.as_str(),
                Event::new(e.matched_at, e.severity, 1.0),
            )
        })
        .collect();
    let ids = rules.indicators().iter().map(|i| i.id.as_str());
    Ok(model.summarise(ids, &pairs, now))
}

/// The downstream end of the pipeline: every new item is matched against
/// the rules in use at that moment, its matches are counted and stored, and
/// indicator levels are re-scored. Alerts attach here.
async fn consume(
    mut rx: mpsc::Receiver<Vec<Item>>,
    rules: Arc<LiveRules>,
    store: Arc<Store>,
    metrics: Arc<Metrics>,
) {
    let model = ScoreModel::default();
    let mut levels: HashMap<String, Level> = HashMap::new();
    // The first tick fires at once: scores start from the stored matches,
    // so a restart does not reset them.
    let mut rescore = tokio::time::interval(RESCORE_EVERY);
    rescore.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let batch = tokio::select! {
            batch = rx.recv() => match batch {
                Some(batch) => batch,
                None => return,
            },
            _ = rescore.tick() => {
                let (store, rules, model) = (store.clone(), rules.current(), model.clone());
                let scored = tokio::task::spawn_blocking(move || {
                    indicator_summary(&store, &rules, &model, chrono::Utc::now())
                })
                .await;
                observe_scores(scored, &metrics, &mut levels);
                continue;
            }
        };
        let rules = rules.current();
        let mut matched = Vec::new();
        for item in batch {
            tracing::debug!(source.id = %item.source, item.id = %item.id, title = %item.title, "new item");
            let matches = rules.match_item(&item);
            metrics.observe_matches(&matches);
            for m in &matches {
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
            if !matches.is_empty() {
                matched.push((item, matches));
            }
        }
        if matched.is_empty() {
            continue;
        }
        let (store, rules, model) = (store.clone(), rules.clone(), model.clone());
        let scored = tokio::task::spawn_blocking(move || {
            let now = chrono::Utc::now();
            for (item, matches) in &matched {
                store.record_matches(item, matches, now)?;
            }
            indicator_summary(&store, &rules, &model, now)
        })
        .await;
        observe_scores(scored, &metrics, &mut levels);
        rescore.reset();
    }
}

/// Puts a fresh summary on `/metrics` and logs level changes.
fn observe_scores(
    scored: Result<Result<Summary, crate::store::StoreError>, tokio::task::JoinError>,
    metrics: &Metrics,
    levels: &mut HashMap<String, Level>,
) {
    match scored {
        Ok(Ok(summary)) => {
            metrics.observe_summary(&summary);
            log_level_changes(&summary, levels);
        }
        Ok(Err(e)) => tracing::error!(error = %e, "cannot record or score matches"),
        Err(e) => tracing::error!(error = %e, "scoring task failed"),
    }
}

fn log_level_changes(summary: &Summary, levels: &mut HashMap<String, Level>) {
    for s in &summary.indicators {
        let before = levels
            .insert(s.indicator.clone(), s.score.level)
            .unwrap_or(Level::Normal);
        if s.score.level != before {
            tracing::warn!(
                indicator = %s.indicator,
                level = ?s.score.level,
                previous = ?before,
                activity = s.score.activity,
                baseline = s.score.baseline,
                theatre_index = summary.theatre_index,
                "indicator level changed"
            );
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
