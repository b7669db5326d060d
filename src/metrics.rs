//! Every Prometheus family of tocsin, in one struct on its own registry.
//!
//! Metrics observe every stage: the scheduler's observer hands each
//! [`PollReport`] to [`Metrics::observe_poll`], the consumer counts matches,
//! the rule watcher counts reloads, and `http` encodes the registry on
//! `/metrics`. Each field's doc comment *is* its HELP text (the `families!`
//! macro passes it on), so the code, `docs/metrics.md` and a scrape agree.
//!
//! Label values come only from config (source ids), rules (rule and
//! indicator ids) and enums (outcomes, status classes, severities) — never
//! from feed text or error messages — so the number of series is bounded.

use crate::config::SourceConfig;
use crate::model::Match;
use crate::score::{Level, Summary};
use crate::source::PollReport;
use crate::store::SourceState;
use prometheus::core::Collector;
use prometheus::{
    Encoder, Gauge, GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec,
    Opts, Registry, TextEncoder,
};

/// The content type of the text exposition format served on `/metrics`.
pub const CONTENT_TYPE: &str = prometheus::TEXT_FORMAT;

/// Buckets of fetch durations, in seconds: from a fast local read to the
/// default 30 s fetch timeout and beyond.
const FETCH_SECONDS: &[f64] = &[0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];

/// Every outcome a poll can have: success, 304, or a failure kind.
pub const FETCH_OUTCOMES: &[&str] = &[
    "ok",
    "not_modified",
    "timeout",
    "connect",
    "redirects",
    "status",
    "retry_later",
    "too_large",
    "body",
    "local",
    "parse",
    "store",
];

/// A metric family that can be built from a name, HELP text and labels.
trait Family: Collector + Clone + 'static {
    fn build(name: &str, help: &str, labels: &[&str]) -> Self;
}

impl Family for IntCounterVec {
    fn build(name: &str, help: &str, labels: &[&str]) -> Self {
        IntCounterVec::new(Opts::new(name, help), labels).expect("valid counter")
    }
}

impl Family for IntGaugeVec {
    fn build(name: &str, help: &str, labels: &[&str]) -> Self {
        IntGaugeVec::new(Opts::new(name, help), labels).expect("valid gauge")
    }
}

impl Family for GaugeVec {
    fn build(name: &str, help: &str, labels: &[&str]) -> Self {
        GaugeVec::new(Opts::new(name, help), labels).expect("valid gauge")
    }
}

impl Family for IntGauge {
    fn build(name: &str, help: &str, labels: &[&str]) -> Self {
        assert!(labels.is_empty(), "{name}: a plain gauge has no labels");
        IntGauge::with_opts(Opts::new(name, help)).expect("valid gauge")
    }
}

impl Family for Gauge {
    fn build(name: &str, help: &str, labels: &[&str]) -> Self {
        assert!(labels.is_empty(), "{name}: a plain gauge has no labels");
        Gauge::with_opts(Opts::new(name, help)).expect("valid gauge")
    }
}

impl Family for HistogramVec {
    fn build(name: &str, help: &str, labels: &[&str]) -> Self {
        let opts = HistogramOpts::new(name, help).buckets(FETCH_SECONDS.to_vec());
        HistogramVec::new(opts, labels).expect("valid histogram")
    }
}

/// HELP text from doc comment lines: trimmed, joined, without code marks.
fn help(lines: &[&str]) -> String {
    let text: Vec<&str> = lines.iter().map(|l| l.trim()).collect();
    text.join(" ").replace('`', "")
}

/// Declares the `Metrics` struct and its constructor from one list, so a
/// family's field, name, labels and HELP text are written once.
macro_rules! families {
    ($( $(#[doc = $doc:literal])+ $field:ident: $ty:ty = $name:literal [$($label:literal),*]; )+) => {
        /// Every metric family of the daemon, registered on `registry`.
        pub struct Metrics {
            registry: Registry,
            $( $(#[doc = $doc])+ pub $field: $ty, )+
        }

        impl Metrics {
            /// Builds every family on a fresh registry.
            pub fn new() -> Metrics {
                let registry = Registry::new();
                $(
                    let $field = <$ty as Family>::build($name, &help(&[$($doc),+]), &[$($label),*]);
                    registry
                        .register(Box::new($field.clone()))
                        .expect("metric names are unique");
                )+
                Metrics { registry, $($field),+ }
            }
        }
    };
}

families! {
    /// Polls of each source by outcome: `ok`, `not_modified`, or the kind of
    /// failure (`timeout`, `connect`, `redirects`, `status`, `retry_later`,
    /// `too_large`, `body`, `local`, `parse`, `store`).
    fetches: IntCounterVec = "tocsin_fetches_total" ["source", "outcome"];
    /// Time taken by each poll to fetch its document (request and body) or
    /// read it from disk, in seconds.
    fetch_duration: HistogramVec = "tocsin_fetch_duration_seconds" ["source"];
    /// HTTP responses received from sources by status class (`2xx`, `3xx`,
    /// `4xx`, `5xx`); after redirects only the final response counts.
    http_responses: IntCounterVec = "tocsin_http_responses_total" ["source", "class"];
    /// Bytes of documents fetched or read from sources, after decompression.
    fetched_bytes: IntCounterVec = "tocsin_fetched_bytes_total" ["source"];
    /// Items parsed from the documents of each source.
    items_parsed: IntCounterVec = "tocsin_items_parsed_total" ["source"];
    /// Items not seen before and passed on to matching (a source's first
    /// fetch records its items as seen without passing them on).
    items_new: IntCounterVec = "tocsin_items_new_total" ["source"];
    /// Items dropped because they had been seen before.
    items_duplicate: IntCounterVec = "tocsin_items_duplicate_total" ["source"];
    /// Documents that could not be parsed: a poll that failed to parse, or
    /// one skipped file of a spool directory.
    parse_errors: IntCounterVec = "tocsin_parse_errors_total" ["source"];
    /// When each source was last polled successfully (including `not
    /// modified`), as a Unix timestamp in seconds.
    last_success: GaugeVec = "tocsin_last_success_timestamp_seconds" ["source"];
    /// The configured poll interval of each source, in seconds.
    source_interval: GaugeVec = "tocsin_source_interval_seconds" ["source"];
    /// Failed polls of each source since its last success.
    consecutive_failures: IntGaugeVec = "tocsin_source_consecutive_failures" ["source"];
    /// Rule matches on new items by indicator, severity, rule and mode
    /// (`live`, or `shadow` for rules that are evaluated but never alert).
    matches: IntCounterVec = "tocsin_matches_total" ["indicator", "severity", "rule", "mode"];
    /// Rule reloads by outcome: `swapped` (new rules in use) or `kept` (the
    /// files had errors and the previous rules stay).
    rule_reloads: IntCounterVec = "tocsin_rule_reloads_total" ["outcome"];
    /// Decayed activity of each indicator: the weights of its live matches,
    /// each halved every half-life.
    indicator_activity: GaugeVec = "tocsin_indicator_activity" ["indicator"];
    /// Activity a steady stream at the indicator's long-run rate would
    /// sustain.
    indicator_baseline: GaugeVec = "tocsin_indicator_baseline" ["indicator"];
    /// Level of each indicator: 0 normal, 1 elevated, 2 high, 3 critical.
    indicator_level: IntGaugeVec = "tocsin_indicator_level" ["indicator"];
    /// Theatre index (0 to 100) summarising the activity of every indicator.
    theatre_index: Gauge = "tocsin_theatre_index" [];
    /// Config reloads (SIGHUP) by outcome: `swapped` (the new config is in
    /// use) or `kept` (it had errors; the running config stays).
    config_reloads: IntCounterVec = "tocsin_config_reloads_total" ["outcome"];
    /// Rules in use.
    rules_loaded: IntGauge = "tocsin_rules_loaded" [];
    /// Sources in the config.
    sources_configured: IntGauge = "tocsin_sources_configured" [];
    /// Stories started (the first matched item of a new story), by the
    /// indicator of its most severe match.
    stories: IntCounterVec = "tocsin_stories_total" ["indicator"];
    /// Alerts raised, by indicator, severity and kind (`story` or `level`);
    /// silenced alerts count here and in `tocsin_alerts_silenced_total`.
    alerts: IntCounterVec = "tocsin_alerts_total" ["indicator", "severity", "kind"];
    /// Alerts held back from every sink by a silence.
    alerts_silenced: IntCounterVec = "tocsin_alerts_silenced_total" ["indicator"];
    /// Delivery attempts by sink and outcome: `delivered`, `retry` (failed,
    /// will be retried) or `dead` (given up: too old, or refused for good).
    deliveries: IntCounterVec = "tocsin_deliveries_total" ["sink", "outcome"];
    /// Deliveries waiting in the outbox of each sink.
    outbox_pending: IntGaugeVec = "tocsin_outbox_pending" ["sink"];
    /// Age of the oldest alert still waiting for each sink, in seconds (0
    /// when none waits).
    outbox_oldest_pending_age: GaugeVec = "tocsin_outbox_oldest_pending_age_seconds" ["sink"];
    /// Deliveries given up on (dead letters) for each sink, as kept in the store.
    dead_letters: IntGaugeVec = "tocsin_dead_letters" ["sink"];
    /// Always 1; the `version` label names the running tocsin.
    build_info: IntGaugeVec = "tocsin_build_info" ["version"];
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// Creates the series of every source at zero, so rates and alerts work
    /// from the first scrape, and restores what the store remembers (last
    /// success, failures in a row) so a restart does not reset them.
    /// Every indicator in `indicators` starts at activity, baseline and
    /// level 0 until the first summary is observed.
    pub fn init(
        &self,
        sources: &[SourceConfig],
        states: &[SourceState],
        rules: usize,
        indicators: &[&str],
    ) {
        self.build_info
            .with_label_values(&[env!("CARGO_PKG_VERSION")])
            .set(1);
        self.sources_configured.set(sources.len() as i64);
        self.rules_loaded.set(rules as i64);
        for outcome in ["swapped", "kept"] {
            self.rule_reloads.with_label_values(&[outcome]);
            self.config_reloads.with_label_values(&[outcome]);
        }
        for id in indicators {
            // Alert counters exist from the start, so `increase()` in the
            // dashboard sees the first alert of an indicator.
            self.stories.with_label_values(&[id]);
            for severity in ["info", "warning", "critical"] {
                for kind in ["story", "level"] {
                    self.alerts.with_label_values(&[id, severity, kind]);
                }
            }
            self.alerts_silenced.with_label_values(&[id]);
            self.indicator_activity.with_label_values(&[id]).set(0.0);
            self.indicator_baseline.with_label_values(&[id]).set(0.0);
            self.indicator_level.with_label_values(&[id]).set(0);
        }
        self.theatre_index.set(0.0);
        for src in sources {
            let id = [src.id.as_str()];
            self.source_interval
                .with_label_values(&id)
                .set(src.interval.as_secs_f64());
            self.fetches.with_label_values(&[src.id.as_str(), "ok"]);
            self.fetch_duration.with_label_values(&id);
            for family in [
                &self.fetched_bytes,
                &self.items_parsed,
                &self.items_new,
                &self.items_duplicate,
                &self.parse_errors,
            ] {
                family.with_label_values(&id);
            }
            let state = states.iter().find(|s| s.source == src.id);
            let failures = state.map_or(0, |s| s.consecutive_failures);
            self.consecutive_failures
                .with_label_values(&id)
                .set(i64::from(failures));
            if let Some(at) = state.and_then(|s| s.last_success) {
                self.last_success
                    .with_label_values(&id)
                    .set(at.timestamp() as f64);
            }
        }
    }

    /// Counts one poll of one source.
    pub fn observe_poll(&self, report: &PollReport) {
        let id = [report.source.as_str()];
        let outcome = match &report.result {
            Ok(ok) if ok.not_modified => "not_modified",
            Ok(_) => "ok",
            Err(e) => e.kind(),
        };
        self.fetches
            .with_label_values(&[report.source.as_str(), outcome])
            .inc();
        self.fetch_duration
            .with_label_values(&id)
            .observe(report.fetch_duration.as_secs_f64());
        if let Some(status) = report.http_status {
            self.http_responses
                .with_label_values(&[report.source.as_str(), status_class(status)])
                .inc();
        }
        self.consecutive_failures
            .with_label_values(&id)
            .set(i64::from(report.consecutive_failures));
        match &report.result {
            Ok(ok) => {
                let count = |family: &IntCounterVec, n: usize| {
                    family.with_label_values(&id).inc_by(n as u64);
                };
                count(&self.fetched_bytes, ok.bytes);
                count(&self.items_parsed, ok.items_parsed);
                count(&self.items_new, ok.new_items.len());
                count(&self.items_duplicate, ok.duplicates);
                count(&self.parse_errors, ok.unparsed_files);
                let now = chrono::Utc::now().timestamp_millis() as f64 / 1000.0;
                self.last_success.with_label_values(&id).set(now);
            }
            Err(crate::source::PollError::Parse(_)) => {
                self.parse_errors.with_label_values(&id).inc();
            }
            Err(_) => {}
        }
    }

    /// Counts the matches of one item.
    pub fn observe_matches(&self, matches: &[Match]) {
        for m in matches {
            let mode = if m.shadow { "shadow" } else { "live" };
            self.matches
                .with_label_values(&[
                    m.indicator.as_str(),
                    m.severity.as_str(),
                    m.rule.as_str(),
                    mode,
                ])
                .inc();
        }
    }

    /// Sets the indicator gauges and the theatre index from a summary, and
    /// drops the series of indicators it no longer has (a rule reload
    /// removed them).
    pub fn observe_summary(&self, summary: &Summary) {
        let current: Vec<&str> = summary
            .indicators
            .iter()
            .map(|s| s.indicator.as_str())
            .collect();
        let stale: Vec<String> = self.indicator_level.collect()[0]
            .get_metric()
            .iter()
            .flat_map(|m| m.get_label())
            .map(|l| l.value().to_owned())
            .filter(|id| !current.contains(&id.as_str()))
            .collect();
        for id in &stale {
            let id = [id.as_str()];
            let _ = self.indicator_activity.remove_label_values(&id);
            let _ = self.indicator_baseline.remove_label_values(&id);
            let _ = self.indicator_level.remove_label_values(&id);
        }
        for s in &summary.indicators {
            let id = [s.indicator.as_str()];
            self.indicator_activity
                .with_label_values(&id)
                .set(s.score.activity);
            self.indicator_baseline
                .with_label_values(&id)
                .set(s.score.baseline);
            self.indicator_level
                .with_label_values(&id)
                .set(level_value(s.score.level));
        }
        self.theatre_index.set(summary.theatre_index);
    }

    /// Creates the delivery series of every sink at zero.
    pub fn init_sinks(&self, sinks: &[&str]) {
        for sink in sinks {
            for outcome in ["delivered", "retry", "dead"] {
                self.deliveries.with_label_values(&[sink, outcome]);
            }
            self.outbox_pending.with_label_values(&[sink]).set(0);
            self.outbox_oldest_pending_age
                .with_label_values(&[sink])
                .set(0.0);
            self.dead_letters.with_label_values(&[sink]).set(0);
        }
    }

    /// Counts one delivery attempt.
    pub fn observe_delivery(&self, sink: &str, outcome: &str) {
        self.deliveries.with_label_values(&[sink, outcome]).inc();
    }

    /// Counts a new story.
    pub fn observe_story(&self, indicator: &str) {
        self.stories.with_label_values(&[indicator]).inc();
    }

    /// Counts a raised alert.
    pub fn observe_alert(&self, alert: &crate::alert::AlertDoc) {
        self.alerts
            .with_label_values(&[
                alert.indicator.as_str(),
                alert.severity.as_str(),
                alert.kind.as_str(),
            ])
            .inc();
        if alert.silenced_by.is_some() {
            self.alerts_silenced
                .with_label_values(&[alert.indicator.as_str()])
                .inc();
        }
    }

    /// Sets the outbox gauges of the configured sinks from the store.
    pub fn observe_outbox(
        &self,
        sinks: &[&str],
        stats: &[crate::store::OutboxStats],
        now: chrono::DateTime<chrono::Utc>,
    ) {
        for sink in sinks {
            let s = stats.iter().find(|s| s.sink == *sink);
            let label = [*sink];
            self.outbox_pending
                .with_label_values(&label)
                .set(s.map_or(0, |s| s.pending as i64));
            let age = s
                .and_then(|s| s.oldest_pending)
                .map_or(0.0, |t| (now - t).as_seconds_f64().max(0.0));
            self.outbox_oldest_pending_age
                .with_label_values(&label)
                .set(age);
            self.dead_letters
                .with_label_values(&label)
                .set(s.map_or(0, |s| s.dead as i64));
        }
    }

    /// Encodes every family in the text exposition format (0.0.4).
    pub fn encode(&self) -> Result<String, prometheus::Error> {
        let mut buf = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut buf)?;
        String::from_utf8(buf).map_err(|e| prometheus::Error::Msg(e.to_string()))
    }
}

/// The number of a level on `tocsin_indicator_level`.
pub fn level_value(level: Level) -> i64 {
    match level {
        Level::Normal => 0,
        Level::Elevated => 1,
        Level::High => 2,
        Level::Critical => 3,
    }
}

/// The bounded label of an HTTP status.
fn status_class(status: u16) -> &'static str {
    match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        500..=599 => "5xx",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{PollError, PollOk, fetch::FetchError};
    use std::time::Duration;

    fn report(result: Result<PollOk, PollError>, status: Option<u16>) -> PollReport {
        PollReport {
            source: "s".into(),
            consecutive_failures: u32::from(result.is_err()),
            result,
            next_due: chrono::Utc::now(),
            http_status: status,
            fetch_duration: Duration::from_millis(120),
        }
    }

    fn ok(parsed: usize, duplicates: usize) -> PollOk {
        PollOk {
            not_modified: false,
            items_parsed: parsed,
            new_items: vec![],
            duplicates,
            unparsed_files: 0,
            bytes: 1000,
        }
    }

    #[test]
    fn help_text_is_the_doc_comment() {
        let metrics = Metrics::new();
        let text = metrics.encode().unwrap();
        assert!(text.contains(
            "# HELP tocsin_rules_loaded Rules in use.\n# TYPE tocsin_rules_loaded gauge\n"
        ));
        let help = &metrics.fetches.desc()[0].help;
        assert!(
            help.starts_with("Polls of each source by outcome: ok, not_modified, or the kind of failure (timeout, connect,"),
            "{help}"
        );
    }

    #[test]
    fn polls_are_counted_by_outcome_and_status_class() {
        let metrics = Metrics::new();
        metrics.observe_poll(&report(Ok(ok(5, 2)), Some(200)));
        metrics.observe_poll(&report(
            Err(PollError::Fetch(FetchError::Status(503))),
            Some(503),
        ));
        metrics.observe_poll(&report(Err(PollError::Fetch(FetchError::Timeout)), None));
        let text = metrics.encode().unwrap();
        for line in [
            "tocsin_fetches_total{outcome=\"ok\",source=\"s\"} 1",
            "tocsin_fetches_total{outcome=\"status\",source=\"s\"} 1",
            "tocsin_fetches_total{outcome=\"timeout\",source=\"s\"} 1",
            "tocsin_http_responses_total{class=\"2xx\",source=\"s\"} 1",
            "tocsin_http_responses_total{class=\"5xx\",source=\"s\"} 1",
            "tocsin_items_parsed_total{source=\"s\"} 5",
            "tocsin_items_duplicate_total{source=\"s\"} 2",
            "tocsin_fetched_bytes_total{source=\"s\"} 1000",
            "tocsin_source_consecutive_failures{source=\"s\"} 1",
            "tocsin_fetch_duration_seconds_count{source=\"s\"} 3",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
        }
    }

    #[test]
    fn indicators_start_at_zero_and_follow_the_summary() {
        use crate::model::Severity;
        use crate::score::{Event, ScoreModel};
        let metrics = Metrics::new();
        metrics.init(&[], &[], 0, &["a", "b"]);
        let text = metrics.encode().unwrap();
        for line in [
            "tocsin_indicator_level{indicator=\"a\"} 0",
            "tocsin_indicator_activity{indicator=\"b\"} 0",
            "tocsin_indicator_baseline{indicator=\"b\"} 0",
            "tocsin_theatre_index 0",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
        }
        let now = chrono::Utc::now();
        let events = [("b", Event::new(now, Severity::Critical, 1.0))];
        let summary = ScoreModel::default().summarise(["a", "b"], &events, now);
        metrics.observe_summary(&summary);
        let text = metrics.encode().unwrap();
        for line in [
            "tocsin_indicator_level{indicator=\"a\"} 0",
            "tocsin_indicator_level{indicator=\"b\"} 2",
            "tocsin_indicator_activity{indicator=\"b\"} 9",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
        }
        assert!(metrics.theatre_index.get() > 0.0);
        assert_eq!(level_value(Level::Critical), 3);
        // A reload removed indicator b: its series go.
        let summary = ScoreModel::default().summarise(["a"], &events, now);
        metrics.observe_summary(&summary);
        let text = metrics.encode().unwrap();
        assert!(!text.contains("indicator=\"b\""), "{text}");
        assert!(text.contains("tocsin_indicator_level{indicator=\"a\"} 0"));
    }

    #[test]
    fn every_failure_kind_is_a_declared_outcome() {
        let errors = [
            PollError::Fetch(FetchError::Timeout),
            PollError::Fetch(FetchError::Connect(String::new())),
            PollError::Fetch(FetchError::Redirects),
            PollError::Fetch(FetchError::Status(500)),
            PollError::Fetch(FetchError::RetryLater {
                status: 429,
                after: Duration::ZERO,
            }),
            PollError::Fetch(FetchError::TooLarge { limit: 1 }),
            PollError::Fetch(FetchError::Body(String::new())),
            PollError::Local {
                path: String::new(),
                reason: String::new(),
            },
            PollError::Parse(crate::parse::ParseError::Empty),
            PollError::Store(String::new()),
        ];
        for e in errors {
            assert!(FETCH_OUTCOMES.contains(&e.kind()), "{}", e.kind());
        }
    }
}
