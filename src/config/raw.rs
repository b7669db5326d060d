//! The config file as written: serde structs that mirror `tocsin.toml`.
//!
//! Values that need checking beyond their TOML type are kept `Spanned`, so
//! validation can point at the line and column of the offending value.

use crate::parse::html::HtmlSelectors;
use serde::Deserialize;
use toml::Spanned;

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// Directory for the store and other state (created on first start).
    pub state_dir: Option<Spanned<String>>,
    /// Directory of indicator rule files.
    pub rules_dir: Option<Spanned<String>>,
    #[serde(default)]
    pub http: RawHttp,
    #[serde(default)]
    pub fetch: RawFetch,
    #[serde(default)]
    pub defaults: RawDefaults,
    #[serde(default)]
    pub sources: Vec<RawSource>,
    #[serde(default)]
    pub scoring: RawScoring,
    #[serde(default)]
    pub alerts: RawAlerts,
    #[serde(default)]
    pub sinks: Vec<RawSink>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawHttp {
    pub listen: Option<Spanned<String>>,
    pub api_token: Option<Spanned<RawSecret>>,
}

/// A secret is named by where it lives, never written into the file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSecret {
    pub env: Option<String>,
    pub file: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawFetch {
    pub user_agent: Option<String>,
    pub timeout: Option<Spanned<String>>,
    pub connect_timeout: Option<Spanned<String>>,
    pub max_body: Option<Spanned<String>>,
    pub max_redirects: Option<Spanned<i64>>,
    pub global_concurrency: Option<Spanned<i64>>,
    pub per_host_concurrency: Option<Spanned<i64>>,
    pub backoff_max: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawDefaults {
    pub interval: Option<Spanned<String>>,
    /// Fraction of the interval by which each poll is randomly shifted.
    pub jitter: Option<Spanned<f64>>,
    /// What the first fetch of a new source does with the items already
    /// in it: `mark-seen` (default) or `emit`.
    pub first_fetch: Option<Spanned<String>>,
    /// How long seen-item records are kept for de-duplication.
    pub retention: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSource {
    pub id: Spanned<String>,
    pub kind: Spanned<String>,
    pub url: Option<Spanned<String>>,
    pub path: Option<Spanned<String>>,
    pub interval: Option<Spanned<String>>,
    #[serde(default)]
    pub tags: Vec<String>,
    pub lang: Option<Spanned<String>>,
    pub selectors: Option<Spanned<HtmlSelectors>>,
    pub first_fetch: Option<Spanned<String>>,
    /// Multiplies the score weight of this source's matches (default 1).
    pub weight: Option<Spanned<f64>>,
}

/// `[scoring]`: the indicator score model (see `score::level`).
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawScoring {
    pub half_life: Option<Spanned<String>>,
    pub baseline_window: Option<Spanned<String>>,
    pub elevated: Option<Spanned<RawThreshold>>,
    pub high: Option<Spanned<RawThreshold>>,
    pub critical: Option<Spanned<RawThreshold>>,
    pub index_scale: Option<Spanned<f64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawThreshold {
    pub activity: f64,
    pub ratio: f64,
}

/// `[alerts]`: when a story or a level change becomes an alert, and how
/// long delivery keeps trying.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawAlerts {
    pub min_severity: Option<Spanned<String>>,
    pub level_min: Option<Spanned<String>>,
    pub repeat_interval: Option<Spanned<String>>,
    pub freshness: Option<Spanned<String>>,
    pub story_window: Option<Spanned<String>>,
    pub story_similarity: Option<Spanned<f64>>,
    pub resolve_after: Option<Spanned<String>>,
    pub max_delivery_age: Option<Spanned<String>>,
    pub delivery_timeout: Option<Spanned<String>>,
    #[serde(default)]
    pub corroborate: Vec<RawCorroboration>,
}

/// A severity that needs more than one outlet before it is reached.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCorroboration {
    pub indicator: Option<Spanned<String>>,
    pub rule: Option<Spanned<String>>,
    pub severity: Spanned<String>,
    pub sources: Spanned<i64>,
    pub window: Option<Spanned<String>>,
}

/// `[[sinks]]`: where alerts are delivered.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSink {
    pub name: Spanned<String>,
    pub kind: Spanned<String>,
    pub url: Spanned<RawUrl>,
    /// The signing secret of a `webhook` sink.
    pub secret: Option<Spanned<RawSecret>>,
    pub min_severity: Option<Spanned<String>>,
    #[serde(default)]
    pub indicators: Vec<Spanned<String>>,
    #[serde(default)]
    pub source_tags: Vec<String>,
}

/// A URL written out, or (for URLs that are credentials, like Slack's)
/// named by where it lives.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum RawUrl {
    Plain(String),
    Secret(RawSecret),
}
