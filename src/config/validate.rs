//! Validation of a raw config into a [`Config`], collecting every problem.

use super::location::{field_at, line_col};
use super::raw::{RawConfig, RawSecret, RawSource};
use super::secret::{Secret, SecretRef};
use super::{Config, ConfigError, ConfigErrors, FetchSettings, SourceConfig, SourceKind};
use crate::parse::html::HtmlSpec;
use std::collections::HashSet;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;
use toml::Spanned;
use url::Url;

pub(super) const DEFAULT_INTERVAL: Duration = Duration::from_secs(300);
const DEFAULT_LISTEN: &str = "127.0.0.1:9750";

/// Collects errors against one file's text.
pub(super) struct Checker<'a> {
    pub(super) file: &'a Path,
    pub(super) text: &'a str,
    errors: Vec<ConfigError>,
    /// Whether secrets are read. Commands that only need the state and
    /// rules directories (`alerts`, `silence`, ...) run without the
    /// daemon's environment, so they check the references only.
    secrets: bool,
}

impl Checker<'_> {
    /// Reads a secret, unless this check runs without secrets.
    pub(super) fn resolve(&self, reference: &SecretRef) -> Result<Secret, String> {
        if self.secrets {
            reference.resolve()
        } else {
            Ok(Secret::new(String::new()))
        }
    }

    pub(super) fn reads_secrets(&self) -> bool {
        self.secrets
    }

    pub(super) fn error(
        &mut self,
        span: Range<usize>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) {
        let (line, col) = line_col(self.text, span.start);
        self.errors.push(ConfigError {
            file: self.file.to_owned(),
            line,
            col,
            field: field.into(),
            message: message.into(),
        });
    }

    pub(super) fn duration(
        &mut self,
        field: &str,
        value: Option<&Spanned<String>>,
        default: Duration,
    ) -> Duration {
        let Some(value) = value else { return default };
        match humantime::parse_duration(value.get_ref().trim()) {
            Ok(d) if !d.is_zero() => d,
            Ok(_) => {
                self.error(value.span(), field, "must be greater than zero");
                default
            }
            Err(_) => {
                let msg = format!(
                    "{:?} is not a duration (try \"5m\", \"30s\" or \"1h30m\")",
                    value.get_ref()
                );
                self.error(value.span(), field, msg);
                default
            }
        }
    }

    pub(super) fn count(
        &mut self,
        field: &str,
        value: Option<&Spanned<i64>>,
        default: usize,
        max: usize,
    ) -> usize {
        let Some(value) = value else { return default };
        match usize::try_from(*value.get_ref()) {
            Ok(n) if (1..=max).contains(&n) => n,
            _ => {
                self.error(
                    value.span(),
                    field,
                    format!("must be between 1 and {max}, got {}", value.get_ref()),
                );
                default
            }
        }
    }

    pub(super) fn path(&self, value: &str) -> PathBuf {
        let path = PathBuf::from(value);
        if path.is_absolute() {
            return path;
        }
        self.file.parent().unwrap_or(Path::new(".")).join(path)
    }
}

/// Parses and validates config text; `secrets`: read the secrets it names
/// (else they are left empty).
pub fn validate(file: &Path, text: &str, secrets: bool) -> Result<Config, ConfigErrors> {
    let mut ck = Checker {
        file,
        text,
        errors: Vec::new(),
        secrets,
    };
    let raw: RawConfig = match toml::from_str(text) {
        Ok(raw) => raw,
        Err(e) => {
            let span = e.span().unwrap_or(0..0);
            let field = field_at(text, span.start);
            ck.error(span, field, e.message().trim().to_owned());
            return Err(ConfigErrors(ck.errors));
        }
    };
    let config = build(&mut ck, raw);
    if ck.errors.is_empty() {
        Ok(config)
    } else {
        Err(ConfigErrors(ck.errors))
    }
}

/// Where a config under `/etc` keeps its state when neither `state_dir`
/// nor `$STATE_DIRECTORY` says otherwise (the unit's `StateDirectory=`).
const SYSTEM_STATE_DIR: &str = "/var/lib/tocsin";

fn build(ck: &mut Checker<'_>, raw: RawConfig) -> Config {
    let state_dir = match (&raw.state_dir, std::env::var_os("STATE_DIRECTORY")) {
        (Some(dir), _) => ck.path(dir.get_ref()),
        // Under systemd, StateDirectory= tells us where state belongs.
        (None, Some(dir)) => PathBuf::from(dir),
        // A system config keeps its state where the FHS puts it, not
        // beside itself in /etc.
        (None, None) if ck.file.starts_with("/etc") => PathBuf::from(SYSTEM_STATE_DIR),
        (None, None) => ck.path("state"),
    };
    let rules_dir = ck.path(raw.rules_dir.as_ref().map_or("rules", |d| d.get_ref()));
    let listen = match &raw.http.listen {
        Some(addr) => addr.get_ref().parse().unwrap_or_else(|_| {
            ck.error(
                addr.span(),
                "http.listen",
                format!(
                    "{:?} is not an address like \"127.0.0.1:9750\"",
                    addr.get_ref()
                ),
            );
            DEFAULT_LISTEN.parse().expect("default address")
        }),
        None => DEFAULT_LISTEN.parse().expect("default address"),
    };
    let api_token = raw
        .http
        .api_token
        .as_ref()
        .and_then(|s| secret(ck, "http.api_token", s));
    let fetch = fetch_settings(ck, &raw);
    let retention = ck.duration(
        "defaults.retention",
        raw.defaults.retention.as_ref(),
        Duration::from_secs(30 * 86400),
    );
    let default_interval = ck.duration(
        "defaults.interval",
        raw.defaults.interval.as_ref(),
        DEFAULT_INTERVAL,
    );
    let default_emit = first_fetch(
        ck,
        "defaults.first_fetch",
        raw.defaults.first_fetch.as_ref(),
        false,
    );
    let mut seen = HashSet::new();
    let sources = raw
        .sources
        .iter()
        .enumerate()
        .filter_map(|(i, s)| source(ck, i, s, default_interval, default_emit, &mut seen))
        .collect();
    let scoring = super::alerting::scoring(ck, &raw.scoring);
    let alerts = super::alerting::alerts(ck, &raw.alerts);
    let sinks = super::alerting::sinks(ck, &raw.sinks);
    Config {
        path: ck.file.to_owned(),
        state_dir,
        rules_dir,
        listen,
        api_token,
        fetch,
        retention,
        sources,
        scoring,
        alerts,
        sinks,
    }
}

fn fetch_settings(ck: &mut Checker<'_>, raw: &RawConfig) -> FetchSettings {
    let f = &raw.fetch;
    let max_body = match &f.max_body {
        Some(v) => match v.get_ref().parse::<bytesize::ByteSize>() {
            Ok(size) if size.as_u64() > 0 => size.as_u64(),
            _ => {
                ck.error(
                    v.span(),
                    "fetch.max_body",
                    format!("{:?} is not a size (try \"10MiB\")", v.get_ref()),
                );
                0
            }
        },
        None => 10 * 1024 * 1024,
    };
    let jitter = match &raw.defaults.jitter {
        Some(j) if !(0.0..=0.5).contains(j.get_ref()) => {
            ck.error(
                j.span(),
                "defaults.jitter",
                format!("must be between 0.0 and 0.5, got {}", j.get_ref()),
            );
            0.1
        }
        Some(j) => *j.get_ref(),
        None => 0.1,
    };
    FetchSettings {
        user_agent: f.user_agent.clone().unwrap_or_else(|| {
            format!(
                "tocsin/{} (risk-indicator monitor)",
                env!("CARGO_PKG_VERSION")
            )
        }),
        timeout: ck.duration("fetch.timeout", f.timeout.as_ref(), Duration::from_secs(30)),
        connect_timeout: ck.duration(
            "fetch.connect_timeout",
            f.connect_timeout.as_ref(),
            Duration::from_secs(10),
        ),
        max_body,
        max_redirects: ck.count("fetch.max_redirects", f.max_redirects.as_ref(), 5, 20),
        global_concurrency: ck.count(
            "fetch.global_concurrency",
            f.global_concurrency.as_ref(),
            32,
            1024,
        ),
        per_host_concurrency: ck.count(
            "fetch.per_host_concurrency",
            f.per_host_concurrency.as_ref(),
            2,
            64,
        ),
        backoff_max: ck.duration(
            "fetch.backoff_max",
            f.backoff_max.as_ref(),
            Duration::from_secs(3600),
        ),
        jitter,
    }
}

pub(super) fn secret(
    ck: &mut Checker<'_>,
    field: &str,
    raw: &Spanned<RawSecret>,
) -> Option<super::secret::Secret> {
    read_secret(ck, field, raw.span(), raw.get_ref())
}

/// Reads the secret `raw` names (`env` or `file`, exactly one); errors
/// point at `span` and never show a value.
pub(super) fn read_secret(
    ck: &mut Checker<'_>,
    field: &str,
    span: Range<usize>,
    raw: &RawSecret,
) -> Option<super::secret::Secret> {
    let reference = match (&raw.env, &raw.file) {
        (Some(env), None) => SecretRef::Env(env.clone()),
        (None, Some(file)) => SecretRef::File(ck.path(file)),
        _ => {
            ck.error(span, field, "give exactly one of `env` or `file`");
            return None;
        }
    };
    ck.resolve(&reference)
        .map_err(|e| ck.error(span, field, e))
        .ok()
}

fn first_fetch(
    ck: &mut Checker<'_>,
    field: &str,
    value: Option<&Spanned<String>>,
    default: bool,
) -> bool {
    match value.map(|v| (v, v.get_ref().as_str())) {
        None => default,
        Some((_, "mark-seen")) => false,
        Some((_, "emit")) => true,
        Some((v, other)) => {
            ck.error(
                v.span(),
                field,
                format!("{other:?} is not one of \"mark-seen\", \"emit\""),
            );
            default
        }
    }
}

fn source(
    ck: &mut Checker<'_>,
    index: usize,
    s: &RawSource,
    default_interval: Duration,
    default_emit: bool,
    seen: &mut HashSet<String>,
) -> Option<SourceConfig> {
    let at = |field: &str| format!("sources[{index}].{field}");
    let id = s.id.get_ref().clone();
    if id.is_empty()
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        ck.error(
            s.id.span(),
            at("id"),
            format!("{id:?} must be non-empty ASCII letters, digits, '-', '_' or '.'"),
        );
    } else if !seen.insert(id.clone()) {
        ck.error(s.id.span(), at("id"), format!("duplicate source id {id:?}"));
    }
    let interval = ck.duration(&at("interval"), s.interval.as_ref(), default_interval);
    let first_fetch_emits =
        first_fetch(ck, &at("first_fetch"), s.first_fetch.as_ref(), default_emit);
    let lang = s.lang.as_ref().map(|l| l.get_ref().to_ascii_lowercase());
    let weight = match &s.weight {
        Some(w) if !(w.get_ref().is_finite() && *w.get_ref() > 0.0) => {
            ck.error(w.span(), at("weight"), "must be a number greater than 0");
            1.0
        }
        Some(w) => *w.get_ref(),
        None => 1.0,
    };
    let kind = source_kind(ck, index, s)?;
    Some(SourceConfig {
        weight,
        id,
        kind,
        interval,
        tags: s.tags.clone(),
        lang,
        first_fetch_emits,
    })
}

fn source_kind(ck: &mut Checker<'_>, index: usize, s: &RawSource) -> Option<SourceKind> {
    let at = |field: &str| format!("sources[{index}].{field}");
    let kind = s.kind.get_ref().as_str();
    let needs_url = matches!(kind, "feed" | "html");
    let url = match (&s.url, needs_url) {
        (Some(u), true) => match Url::parse(u.get_ref()) {
            Ok(url) if matches!(url.scheme(), "http" | "https") => Some(url),
            _ => {
                ck.error(
                    u.span(),
                    at("url"),
                    format!("{:?} is not an http(s) URL", u.get_ref()),
                );
                None
            }
        },
        (None, true) => {
            ck.error(
                s.kind.span(),
                at("url"),
                format!("a {kind:?} source needs a `url`"),
            );
            None
        }
        (Some(u), false) => {
            ck.error(
                u.span(),
                at("url"),
                format!("a {kind:?} source takes a `path`, not a `url`"),
            );
            None
        }
        (None, false) => None,
    };
    if let (true, Some(p)) = (needs_url, &s.path) {
        ck.error(
            p.span(),
            at("path"),
            format!("a {kind:?} source takes a `url`, not a `path`"),
        );
    }
    if let (true, Some(sel)) = (kind != "html", &s.selectors) {
        ck.error(
            sel.span(),
            at("selectors"),
            "only `html` sources take selectors",
        );
    }
    match kind {
        "feed" => url.map(|url| SourceKind::Feed { url }),
        "html" => {
            let Some(sel) = &s.selectors else {
                ck.error(
                    s.kind.span(),
                    at("selectors"),
                    "an \"html\" source needs `selectors` (at least `item`)",
                );
                return None;
            };
            let spec = HtmlSpec::compile(sel.get_ref())
                .map_err(|e| ck.error(sel.span(), at("selectors"), e))
                .ok()?;
            url.map(|url| SourceKind::Html {
                url,
                selectors: sel.get_ref().clone(),
                spec,
            })
        }
        "file" | "dir" => {
            let Some(p) = &s.path else {
                ck.error(
                    s.kind.span(),
                    at("path"),
                    format!("a {kind:?} source needs a `path`"),
                );
                return None;
            };
            let path = ck.path(p.get_ref());
            Some(if kind == "file" {
                SourceKind::File { path }
            } else {
                SourceKind::Dir { path }
            })
        }
        other => {
            ck.error(
                s.kind.span(),
                at("kind"),
                format!("{other:?} is not one of \"feed\", \"html\", \"file\", \"dir\""),
            );
            None
        }
    }
}
