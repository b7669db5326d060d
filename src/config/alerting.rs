//! Validation of `[scoring]`, `[alerts]` and `[[sinks]]`.

use super::location::line_col;
use super::raw::{RawAlerts, RawScoring, RawSink, RawThreshold, RawUrl};
use super::secret::Secret;
use super::validate::{Checker, read_secret, secret};
use super::{AlertSettings, Corroboration, SinkConfig, SinkKind};
use crate::model::Severity;
use crate::score::{Level, ScoreModel, Threshold};
use std::collections::HashSet;
use std::ops::Range;
use std::time::Duration;
use toml::Spanned;
use url::Url;

const HOUR: u64 = 3600;

impl Checker<'_> {
    /// `file:line:col` of a span, for errors found later against the rules.
    fn location(&self, span: Range<usize>) -> String {
        let (line, col) = line_col(self.text, span.start);
        format!("{}:{line}:{col}", self.file.display())
    }

    fn severity(
        &mut self,
        field: &str,
        value: Option<&Spanned<String>>,
        default: Severity,
    ) -> Severity {
        let Some(value) = value else { return default };
        value
            .get_ref()
            .parse()
            .unwrap_or_else(|e: crate::model::UnknownSeverity| {
                self.error(value.span(), field, e.to_string());
                default
            })
    }

    fn fraction(&mut self, field: &str, value: Option<&Spanned<f64>>, default: f64) -> f64 {
        match value {
            Some(v) if !(*v.get_ref() > 0.0 && *v.get_ref() <= 1.0) => {
                self.error(
                    v.span(),
                    field,
                    format!("must be in (0, 1], got {}", v.get_ref()),
                );
                default
            }
            Some(v) => *v.get_ref(),
            None => default,
        }
    }
}

pub(super) fn scoring(ck: &mut Checker<'_>, raw: &RawScoring) -> ScoreModel {
    let d = ScoreModel::default();
    let mut threshold = |name: &str, value: Option<&Spanned<RawThreshold>>, default: Threshold| {
        let Some(v) = value else { return default };
        let t = v.get_ref();
        if !(t.activity.is_finite() && t.activity > 0.0 && t.ratio.is_finite() && t.ratio >= 0.0) {
            ck.error(
                v.span(),
                format!("scoring.{name}"),
                "`activity` must be > 0 and `ratio` >= 0",
            );
            return default;
        }
        Threshold {
            min_activity: t.activity,
            min_ratio: t.ratio,
        }
    };
    let thresholds = [
        threshold("elevated", raw.elevated.as_ref(), d.thresholds[0]),
        threshold("high", raw.high.as_ref(), d.thresholds[1]),
        threshold("critical", raw.critical.as_ref(), d.thresholds[2]),
    ];
    if thresholds
        .windows(2)
        .any(|w| w[1].min_activity < w[0].min_activity)
    {
        let span = [&raw.critical, &raw.high, &raw.elevated]
            .into_iter()
            .flatten()
            .next()
            .map_or(0..0, |t| t.span());
        ck.error(
            span,
            "scoring",
            "thresholds must not decrease from elevated to high to critical",
        );
    }
    let index_scale = match &raw.index_scale {
        Some(v) if !(v.get_ref().is_finite() && *v.get_ref() > 0.0) => {
            ck.error(v.span(), "scoring.index_scale", "must be greater than 0");
            d.index_scale
        }
        Some(v) => *v.get_ref(),
        None => d.index_scale,
    };
    ScoreModel {
        half_life: ck.duration("scoring.half_life", raw.half_life.as_ref(), d.half_life),
        baseline_window: ck.duration(
            "scoring.baseline_window",
            raw.baseline_window.as_ref(),
            d.baseline_window,
        ),
        thresholds,
        index_scale,
    }
}

pub(super) fn alerts(ck: &mut Checker<'_>, raw: &RawAlerts) -> AlertSettings {
    let level_min = match &raw.level_min {
        // One critical report already lifts a quiet indicator to `high`,
        // which the story alert covers; `critical` means a sustained burst.
        None => Level::Critical,
        Some(v) => match v.get_ref().as_str() {
            "elevated" => Level::Elevated,
            "high" => Level::High,
            "critical" => Level::Critical,
            other => {
                ck.error(
                    v.span(),
                    "alerts.level_min",
                    format!("{other:?} is not one of \"elevated\", \"high\", \"critical\""),
                );
                Level::High
            }
        },
    };
    let corroborate = raw
        .corroborate
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let at = |f: &str| format!("alerts.corroborate[{i}].{f}");
            let sources = ck.count(&at("sources"), Some(&c.sources), 2, 100);
            Corroboration {
                indicator: c.indicator.as_ref().map(|v| v.get_ref().clone()),
                rule: c.rule.as_ref().map(|v| v.get_ref().clone()),
                severity: ck.severity(&at("severity"), Some(&c.severity), Severity::Critical),
                sources,
                window: ck.duration(
                    &at("window"),
                    c.window.as_ref(),
                    Duration::from_secs(24 * HOUR),
                ),
                at: ck.location(c.severity.span()),
            }
        })
        .collect();
    AlertSettings {
        min_severity: ck.severity(
            "alerts.min_severity",
            raw.min_severity.as_ref(),
            Severity::Warning,
        ),
        level_min,
        repeat_interval: ck.duration(
            "alerts.repeat_interval",
            raw.repeat_interval.as_ref(),
            Duration::from_secs(12 * HOUR),
        ),
        freshness: ck.duration(
            "alerts.freshness",
            raw.freshness.as_ref(),
            Duration::from_secs(24 * HOUR),
        ),
        story_window: ck.duration(
            "alerts.story_window",
            raw.story_window.as_ref(),
            Duration::from_secs(48 * HOUR),
        ),
        story_similarity: ck.fraction(
            "alerts.story_similarity",
            raw.story_similarity.as_ref(),
            0.5,
        ),
        resolve_after: ck.duration(
            "alerts.resolve_after",
            raw.resolve_after.as_ref(),
            Duration::from_secs(24 * HOUR),
        ),
        max_delivery_age: ck.duration(
            "alerts.max_delivery_age",
            raw.max_delivery_age.as_ref(),
            Duration::from_secs(24 * HOUR),
        ),
        delivery_timeout: ck.duration(
            "alerts.delivery_timeout",
            raw.delivery_timeout.as_ref(),
            Duration::from_secs(10),
        ),
        corroborate,
    }
}

pub(super) fn sinks(ck: &mut Checker<'_>, raw: &[RawSink]) -> Vec<SinkConfig> {
    let mut names = HashSet::new();
    raw.iter()
        .enumerate()
        .filter_map(|(i, s)| {
            let at = |f: &str| format!("sinks[{i}].{f}");
            let name = s.name.get_ref().clone();
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
                ck.error(
                    s.name.span(),
                    at("name"),
                    format!("{name:?} must be non-empty ASCII letters, digits, '-', '_' or '.'"),
                );
            } else if !names.insert(name.clone()) {
                ck.error(s.name.span(), at("name"), format!("duplicate sink name {name:?}"));
            }
            let min_severity = ck.severity(&at("min_severity"), s.min_severity.as_ref(), Severity::Warning);
            let kind = match s.kind.get_ref().as_str() {
                "slack" | "alertmanager" => {
                    if let Some(sec) = &s.secret {
                        ck.error(sec.span(), at("secret"), "only `webhook` sinks take a signing secret");
                    }
                    if s.kind.get_ref() == "slack" {
                        SinkKind::Slack
                    } else {
                        SinkKind::Alertmanager
                    }
                }
                "webhook" => match &s.secret {
                    Some(sec) => SinkKind::Webhook {
                        secret: secret(ck, &at("secret"), sec)?,
                    },
                    None => {
                        ck.error(
                            s.kind.span(),
                            at("secret"),
                            "a \"webhook\" sink needs a signing `secret` ({ env = \"...\" } or { file = \"...\" })",
                        );
                        return None;
                    }
                },
                other => {
                    ck.error(
                        s.kind.span(),
                        at("kind"),
                        format!("{other:?} is not one of \"slack\", \"webhook\", \"alertmanager\""),
                    );
                    return None;
                }
            };
            let url = sink_url(ck, &at("url"), &s.url, &kind)?;
            Some(SinkConfig {
                name,
                kind,
                url,
                min_severity,
                indicators: s.indicators.iter().map(|i| i.get_ref().clone()).collect(),
                source_tags: s.source_tags.clone(),
                at: ck.location(s.name.span()),
            })
        })
        .collect()
}

/// Slack and webhook URLs carry their credential in the URL, so they must
/// come from the environment or a file; an Alertmanager URL may be written
/// out.
fn sink_url(
    ck: &mut Checker<'_>,
    field: &str,
    raw: &Spanned<RawUrl>,
    kind: &SinkKind,
) -> Option<Secret> {
    let value = match raw.get_ref() {
        RawUrl::Plain(url) if matches!(kind, SinkKind::Alertmanager) => url.clone(),
        RawUrl::Plain(_) => {
            ck.error(
                raw.span(),
                field,
                "this URL is a credential: give it as { env = \"VAR\" } or { file = \"path\" }, not in the config file",
            );
            return None;
        }
        // Without secrets (commands that only read the store) the value is
        // empty and its URL is not checked.
        RawUrl::Secret(_) if !ck.reads_secrets() => return Some(Secret::new(String::new())),
        RawUrl::Secret(s) => read_secret(ck, field, raw.span(), s)?.expose().to_owned(),
    };
    // The error must not echo the value: it may be a credential.
    match Url::parse(&value) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => Some(Secret::new(value)),
        _ => {
            ck.error(raw.span(), field, "is not an http(s) URL (value not shown)");
            None
        }
    }
}
