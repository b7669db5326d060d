//! Building the service from a validated config, and running it.
//!
//! `build` does all start-up IO once (open the store, build the HTTP
//! client); `run` binds the side door, spawns the tracked tasks and shuts
//! them down on a signal. Every task is cancellable and tracked, so
//! shutdown is prompt and clean. Under systemd, `run` reports readiness,
//! reloads and shutdown, and keeps the watchdog fed while the scheduler
//! makes progress (see `systemd`).

pub mod pipeline;
pub mod reload;
pub mod systemd;

use crate::config::Config;
use crate::http::{self, Check, HttpState, Readiness};
use crate::metrics::Metrics;
use crate::model::Item;
use crate::sink::{Sink, deliver};
use crate::source::schedule::{self, Limits, Observer};
use crate::source::{PollReport, Poller, fetch::Fetcher};
use crate::store::Store;
use anyhow::Context;
use arc_swap::ArcSwap;
use reload::LiveRules;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
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
    pub metrics: Arc<Metrics>,
}

/// References from the config into the rules (sink and corroboration
/// filters naming indicators and rules), checked once both are loaded.
/// Each error names the config file, line and column.
pub fn cross_check(config: &Config, rules: &crate::rules::RuleSet) -> Vec<String> {
    let indicator_known = |id: &str| rules.indicators().iter().any(|i| i.id == id);
    let mut errors = Vec::new();
    for sink in &config.sinks {
        for id in sink.indicators.iter().filter(|i| !indicator_known(i)) {
            errors.push(format!(
                "{}: sinks.{}: unknown indicator {id:?} (not declared in {})",
                sink.at,
                sink.name,
                config.rules_dir.join("indicators.toml").display()
            ));
        }
    }
    for c in &config.alerts.corroborate {
        if let Some(id) = c.indicator.as_ref().filter(|i| !indicator_known(i)) {
            errors.push(format!(
                "{}: alerts.corroborate: unknown indicator {id:?}",
                c.at
            ));
        }
        if let Some(id) = c
            .rule
            .as_ref()
            .filter(|r| !rules.rules().iter().any(|x| x.id == **r))
        {
            errors.push(format!("{}: alerts.corroborate: unknown rule {id:?}", c.at));
        }
    }
    errors
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
        let errors = cross_check(&config, &rules.current());
        if !errors.is_empty() {
            anyhow::bail!("{}", errors.join("\n"));
        }
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
        let names: Vec<&str> = config.sinks.iter().map(|s| s.name.as_str()).collect();
        metrics.init_sinks(&names);
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

/// The reloadable part of the daemon: everything a config change can
/// affect (sources, fetch limits, scoring, alert policy, sinks, retention).
/// A SIGHUP with a valid config stops it and starts a new one; the store,
/// the rules, the metrics and the HTTP side door outlive it.
struct Generation {
    cancel: CancellationToken,
    tracker: TaskTracker,
    heartbeat: Arc<crate::source::heartbeat::Heartbeat>,
}

fn start_generation(
    app: &App,
    config: &Config,
    root: &CancellationToken,
) -> anyhow::Result<Generation> {
    let cancel = root.child_token();
    let tracker = TaskTracker::new();
    let poller = Arc::new(Poller {
        fetcher: Fetcher::new(&config.fetch).context("cannot build HTTP client")?,
        store: app.store.clone(),
        jitter: config.fetch.jitter,
        backoff_max: config.fetch.backoff_max,
    });
    let limits = Arc::new(Limits::new(&config.fetch));
    let sinks = build_sinks(config)?;
    let pipeline = Arc::new(
        pipeline::Pipeline::new(
            config,
            app.store.clone(),
            app.rules.clone(),
            app.metrics.clone(),
        )
        .context("cannot restore live stories from the store")?,
    );
    let (tx, rx) = mpsc::channel::<Vec<Item>>(1024);
    let metrics = app.metrics.clone();
    let observer: Observer = Arc::new(move |report| {
        log_report(report);
        metrics.observe_poll(report);
    });
    let heartbeat = schedule::spawn(
        config.sources.clone(),
        poller,
        limits,
        tx,
        observer,
        cancel.clone(),
        &tracker,
    );
    let wake = deliver::spawn(
        sinks,
        app.store.clone(),
        config.alerts.max_delivery_age,
        app.metrics.clone(),
        cancel.clone(),
        &tracker,
    );
    tracker.spawn(outbox_gauges(
        app.store.clone(),
        app.metrics.clone(),
        config.sinks.iter().map(|s| s.name.clone()).collect(),
        cancel.clone(),
    ));
    // The consumer ends when every scheduler task has dropped its sender,
    // so the batches already queued are still matched and recorded.
    tracker.spawn(pipeline::consume(rx, pipeline, wake));
    tracker.spawn(prune_loop(
        app.store.clone(),
        config.retention,
        cancel.clone(),
    ));
    tracker.close();
    Ok(Generation {
        cancel,
        tracker,
        heartbeat,
    })
}

impl Generation {
    /// Stops polling and delivery; waits for in-flight work up to `grace`.
    async fn stop(self, grace: Duration) -> bool {
        self.cancel.cancel();
        tokio::time::timeout(grace, self.tracker.wait())
            .await
            .is_ok()
    }
}

/// Builds every configured sink.
fn build_sinks(config: &Config) -> anyhow::Result<Vec<Arc<Sink>>> {
    config
        .sinks
        .iter()
        .map(|s| {
            Sink::new(
                s.clone(),
                &config.fetch.user_agent,
                config.alerts.delivery_timeout,
                config.alerts.resolve_after,
            )
            .map(Arc::new)
            .with_context(|| format!("cannot build HTTP client of sink {:?}", s.name))
        })
        .collect()
}

/// How long shutdown (or a reload) waits for in-flight work: deliveries in
/// flight may take up to their timeout.
fn grace(config: &Config) -> Duration {
    SHUTDOWN_GRACE.max(config.alerts.delivery_timeout + Duration::from_secs(2))
}

/// Reads the config again for a SIGHUP and checks it against the rules in
/// use. Settings that only a restart can change are reported and kept.
fn reread_config(old: &Config, rules: &crate::rules::RuleSet) -> Result<Config, Vec<String>> {
    let mut new = crate::config::load(&old.path)
        .map_err(|errors| errors.0.iter().map(ToString::to_string).collect::<Vec<_>>())?;
    let errors = cross_check(&new, rules);
    if !errors.is_empty() {
        return Err(errors);
    }
    let fixed = [
        ("http.listen", new.listen != old.listen),
        ("state_dir", new.state_dir != old.state_dir),
        ("rules_dir", new.rules_dir != old.rules_dir),
    ];
    for (key, changed) in fixed {
        if changed {
            tracing::warn!(
                key,
                "config reload: `{key}` changed; it takes effect on restart"
            );
        }
    }
    new.listen = old.listen;
    new.state_dir = old.state_dir.clone();
    new.rules_dir = old.rules_dir.clone();
    Ok(new)
}

/// Runs the daemon until SIGTERM or SIGINT. Failing to bind `http.listen`
/// is fatal before anything else starts. SIGHUP reloads the rules and the
/// config; a config with errors is logged and the running one kept.
pub async fn run(app: App) -> anyhow::Result<()> {
    // Signal handlers first: once systemd hears READY=1 it may send
    // SIGHUP or SIGTERM at any moment.
    let shutdown = shutdown_signal();
    let mut hangup = reload::hangup();
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
        config: ArcSwap::from_pointee(app.config.clone()),
    });
    tracker.spawn(http::serve(listener, state.clone(), cancel.clone()));
    let mut config = app.config.clone();
    let sources = Arc::new(AtomicUsize::new(config.sources.len()));
    let rules = app.rules.current().rule_count();
    tracing::info!(
        sources = config.sources.len(),
        sinks = config.sinks.len(),
        rules,
        store = %app.store.path().display(),
        "tocsin started"
    );
    let mut generation = start_generation(&app, &config, &cancel)?;
    readiness.pass(Check::Scheduler);
    let heartbeat = Arc::new(ArcSwap::new(generation.heartbeat.clone()));
    tracker.spawn(reload::watch(
        app.rules.clone(),
        app.metrics.clone(),
        sources.clone(),
        cancel.clone(),
    ));
    if let Some(every) = systemd::watchdog_interval() {
        let stale_after = systemd::stale_after(config.fetch.timeout);
        tracing::info!(
            every_ms = u64::try_from(every.as_millis()).unwrap_or(u64::MAX),
            stale_after_ms = u64::try_from(stale_after.as_millis()).unwrap_or(u64::MAX),
            "systemd watchdog enabled"
        );
        tracker.spawn(systemd::watchdog(
            every,
            heartbeat.clone(),
            stale_after,
            cancel.clone(),
        ));
    }
    tracker.close();
    systemd::ready(&systemd::status_line(config.sources.len(), rules));

    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            _ = reload::Hangup::recv(&mut hangup) => {}
        }
        tracing::info!("SIGHUP: reloading rules and config");
        systemd::reloading();
        reload::reload_rules(&app.rules, &app.metrics, true, config.sources.len()).await;
        let rules_now = app.rules.current();
        match reread_config(&config, &rules_now) {
            Err(errors) => {
                for e in &errors {
                    tracing::error!("{e}");
                }
                tracing::error!(
                    errors = errors.len(),
                    "config reload failed; keeping the running config"
                );
                app.metrics
                    .config_reloads
                    .with_label_values(&["kept"])
                    .inc();
            }
            Ok(new) => {
                // Stop the old generation first: two schedulers must never
                // poll (and record) the same source at once.
                // A poll in flight is not cut off (it records its source's
                // state), so wait for it: its items must reach the old
                // pipeline before the new one restores stories from the store.
                let wait = grace(&config).max(config.fetch.timeout + Duration::from_secs(5));
                if !generation.stop(wait).await {
                    tracing::warn!("config reload: in-flight work did not finish in time");
                }
                let states = app.store.source_states().unwrap_or_default();
                let indicators: Vec<&str> = rules_now
                    .indicators()
                    .iter()
                    .map(|i| i.id.as_str())
                    .collect();
                app.metrics
                    .init(&new.sources, &states, rules_now.rule_count(), &indicators);
                let names: Vec<&str> = new.sinks.iter().map(|s| s.name.as_str()).collect();
                app.metrics.init_sinks(&names);
                generation = match start_generation(&app, &new, &cancel) {
                    Ok(g) => {
                        tracing::info!(
                            sources = new.sources.len(),
                            sinks = new.sinks.len(),
                            "config reloaded"
                        );
                        app.metrics
                            .config_reloads
                            .with_label_values(&["swapped"])
                            .inc();
                        config = new;
                        state.config.store(Arc::new(config.clone()));
                        g
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "config reload failed; restarting with the previous config");
                        app.metrics
                            .config_reloads
                            .with_label_values(&["kept"])
                            .inc();
                        start_generation(&app, &config, &cancel)?
                    }
                };
                heartbeat.store(generation.heartbeat.clone());
                sources.store(config.sources.len(), Ordering::Relaxed);
            }
        }
        systemd::ready(&systemd::status_line(
            config.sources.len(),
            app.rules.current().rule_count(),
        ));
    }
    tracing::info!("shutting down");
    systemd::stopping();
    cancel.cancel();
    let grace = grace(&config);
    tokio::select! {
        _ = async { tracker.wait().await; generation.tracker.wait().await } => tracing::info!("stopped cleanly"),
        _ = tokio::time::sleep(grace) => tracing::warn!("shutdown grace period expired; exiting"),
        _ = shutdown_signal() => tracing::warn!("second signal; exiting at once"),
    }
    Ok(())
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

/// Keeps the outbox gauges current (pending, oldest pending age, dead).
async fn outbox_gauges(
    store: Arc<Store>,
    metrics: Arc<Metrics>,
    sinks: Vec<String>,
    cancel: CancellationToken,
) {
    if sinks.is_empty() {
        return;
    }
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tick.tick() => {}
        }
        let store = store.clone();
        match tokio::task::spawn_blocking(move || store.outbox_stats()).await {
            Ok(Ok(stats)) => {
                let names: Vec<&str> = sinks.iter().map(String::as_str).collect();
                metrics.observe_outbox(&names, &stats, chrono::Utc::now());
            }
            Ok(Err(e)) => tracing::error!(error = %e, "cannot read outbox"),
            Err(_) => {}
        }
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
