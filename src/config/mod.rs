//! Configuration: raw file → validated, typed [`Config`].
//!
//! `load` reads one file and reports *all* problems at once, each as
//! `file:line:col: field: what is wrong`. Nothing here opens sockets or
//! databases; building the running service from a `Config` is `app`'s job.

mod alerting;
mod location;
mod raw;
pub mod secret;
#[cfg(test)]
mod tests;
mod validate;

use crate::model::Severity;
use crate::parse::html::{HtmlSelectors, HtmlSpec};
use crate::score::{Level, ScoreModel};
use secret::Secret;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use url::Url;

/// The validated configuration of a daemon.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file this came from.
    pub path: PathBuf,
    pub state_dir: PathBuf,
    pub rules_dir: PathBuf,
    pub listen: SocketAddr,
    pub api_token: Option<Secret>,
    pub fetch: FetchSettings,
    /// How long seen-item records are kept.
    pub retention: Duration,
    pub sources: Vec<SourceConfig>,
    /// The indicator score model (`[scoring]`).
    pub scoring: ScoreModel,
    /// The alert policy (`[alerts]`).
    pub alerts: AlertSettings,
    /// Where alerts go (`[[sinks]]`).
    pub sinks: Vec<SinkConfig>,
}

impl Config {
    /// Each source's score weight (`weight`, default 1), by source id.
    pub fn source_weights(&self) -> std::collections::HashMap<String, f64> {
        self.sources
            .iter()
            .map(|s| (s.id.clone(), s.weight))
            .collect()
    }
}

/// `[alerts]`, validated. Defaults are in `alerting.rs`.
#[derive(Debug, Clone)]
pub struct AlertSettings {
    /// A new story alerts when its (corroborated) severity reaches this.
    pub min_severity: Severity,
    /// An indicator alerts when its level rises to this or higher.
    pub level_min: Level,
    /// The same story or level does not alert again within this.
    pub repeat_interval: Duration,
    /// Only items published within this of now can raise an alert.
    pub freshness: Duration,
    /// Items within this of a story's last item can join it.
    pub story_window: Duration,
    /// MinHash similarity at which two items are the same story.
    pub story_similarity: f64,
    /// Alertmanager resolves an alert this long after it was last sent.
    pub resolve_after: Duration,
    /// Delivery gives up (dead letter) on alerts older than this.
    pub max_delivery_age: Duration,
    /// Time limit of one delivery attempt.
    pub delivery_timeout: Duration,
    pub corroborate: Vec<Corroboration>,
}

/// A severity that needs `sources` distinct outlets within `window`.
#[derive(Debug, Clone)]
pub struct Corroboration {
    /// Applies to matches of this indicator (any when `None`).
    pub indicator: Option<String>,
    /// Applies to matches of this rule (any when `None`).
    pub rule: Option<String>,
    pub severity: Severity,
    pub sources: usize,
    pub window: Duration,
    /// `file:line:col` of the entry, for errors found against the rules.
    pub at: String,
}

/// One `[[sinks]]` entry.
#[derive(Debug, Clone)]
pub struct SinkConfig {
    pub name: String,
    pub kind: SinkKind,
    /// The endpoint; a `Secret` because Slack and webhook URLs are
    /// credentials, so it never reaches logs or errors.
    pub url: Secret,
    pub min_severity: Severity,
    /// Only these indicators (all when empty).
    pub indicators: Vec<String>,
    /// Only items of sources with one of these tags (all when empty).
    pub source_tags: Vec<String>,
    /// `file:line:col` of the entry.
    pub at: String,
}

/// The kinds of sink.
#[derive(Debug, Clone)]
pub enum SinkKind {
    /// Slack incoming webhook (Block Kit).
    Slack,
    /// Generic JSON webhook signed per Standard Webhooks.
    Webhook { secret: Secret },
    /// Prometheus Alertmanager, API v2.
    Alertmanager,
}

impl SinkKind {
    pub fn name(&self) -> &'static str {
        match self {
            SinkKind::Slack => "slack",
            SinkKind::Webhook { .. } => "webhook",
            SinkKind::Alertmanager => "alertmanager",
        }
    }
}

/// Politeness and safety limits of the fetcher.
#[derive(Debug, Clone)]
pub struct FetchSettings {
    pub user_agent: String,
    pub timeout: Duration,
    pub connect_timeout: Duration,
    pub max_body: u64,
    pub max_redirects: usize,
    pub global_concurrency: usize,
    pub per_host_concurrency: usize,
    /// Upper bound of the exponential backoff after repeated failures.
    pub backoff_max: Duration,
    /// Fraction of the interval by which polls are randomly spread.
    pub jitter: f64,
}

/// One configured source.
#[derive(Debug, Clone)]
pub struct SourceConfig {
    pub id: String,
    pub kind: SourceKind,
    pub interval: Duration,
    pub tags: Vec<String>,
    pub lang: Option<String>,
    /// Emit the items found on the very first fetch (default: record them
    /// as seen, so adding a source does not flood downstream).
    pub first_fetch_emits: bool,
    /// Multiplies the score weight of this source's matches.
    pub weight: f64,
}

/// Where a source's documents come from.
#[derive(Debug, Clone)]
pub enum SourceKind {
    /// RSS, Atom or JSON Feed over HTTP(S).
    Feed { url: Url },
    /// A web page read with CSS selectors.
    Html {
        url: Url,
        selectors: HtmlSelectors,
        spec: HtmlSpec,
    },
    /// A local feed file.
    File { path: PathBuf },
    /// A spool directory of feed files.
    Dir { path: PathBuf },
}

impl SourceKind {
    /// The kind's name as written in config.
    pub fn name(&self) -> &'static str {
        match self {
            SourceKind::Feed { .. } => "feed",
            SourceKind::Html { .. } => "html",
            SourceKind::File { .. } => "file",
            SourceKind::Dir { .. } => "dir",
        }
    }

    /// The URL or path, for display.
    pub fn location(&self) -> String {
        match self {
            SourceKind::Feed { url } | SourceKind::Html { url, .. } => url.to_string(),
            SourceKind::File { path } | SourceKind::Dir { path } => path.display().to_string(),
        }
    }
}

/// One problem found in a config file.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError {
    pub file: PathBuf,
    pub line: usize,
    pub col: usize,
    pub field: String,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: ", self.file.display(), self.line, self.col)?;
        if !self.field.is_empty() {
            write!(f, "{}: ", self.field)?;
        }
        f.write_str(&self.message)
    }
}

/// All problems found in a config file, one per line when displayed.
#[derive(Debug, Clone)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// Reads and validates a config file, secrets included.
pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
    load_with(path, true)
}

/// Reads and validates a config file without reading its secrets (they are
/// left empty): for commands that only use the state and rules
/// directories, run by people who do not hold the daemon's secrets.
pub fn load_without_secrets(path: &Path) -> Result<Config, ConfigErrors> {
    load_with(path, false)
}

fn load_with(path: &Path, secrets: bool) -> Result<Config, ConfigErrors> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigErrors(vec![ConfigError {
            file: path.to_owned(),
            line: 0,
            col: 0,
            field: String::new(),
            message: format!("cannot read config: {e}"),
        }])
    })?;
    validate::validate(path, &text, secrets)
}

/// Validates config text; `path` names the file in errors and anchors
/// relative paths.
pub fn from_str(path: &Path, text: &str) -> Result<Config, ConfigErrors> {
    validate::validate(path, text, true)
}
