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
}
