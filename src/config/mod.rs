//! Configuration: raw file → validated, typed [`Config`].
//!
//! `load` reads one file and reports *all* problems at once, each as
//! `file:line:col: field: what is wrong`. Nothing here opens sockets or
//! databases; building the running service from a `Config` is `app`'s job.

mod location;
mod raw;
pub mod secret;
#[cfg(test)]
mod tests;
mod validate;

use crate::parse::html::{HtmlSelectors, HtmlSpec};
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

/// Reads and validates a config file.
pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigErrors(vec![ConfigError {
            file: path.to_owned(),
            line: 0,
            col: 0,
            field: String::new(),
            message: format!("cannot read config: {e}"),
        }])
    })?;
    from_str(path, &text)
}

/// Validates config text; `path` names the file in errors and anchors
/// relative paths.
pub fn from_str(path: &Path, text: &str) -> Result<Config, ConfigErrors> {
    validate::validate(path, text)
}
