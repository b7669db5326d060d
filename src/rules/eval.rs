//! Evaluation against a labelled set: how well the rules find what a human
//! marked, per indicator and overall.
//!
//! The labelled-set format is JSON Lines, one object per line:
//! `{"id", "title", "summary", "lang", "labels": ["indicator-id", ...],
//! "source"}`; an item with `labels: []` is a negative for every indicator.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::RuleSet;
use crate::parse::normalise::fold;

/// One hand-labelled item.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Labelled {
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub summary: String,
    #[serde(default)]
    pub lang: Option<String>,
    /// Indicator ids the item belongs to; empty for a negative.
    pub labels: Vec<String>,
    /// Where the item comes from (feed, seed document, synthetic).
    #[serde(default)]
    pub source: Option<String>,
}

/// A line of a labelled set that is not a valid labelled item.
#[derive(Debug, thiserror::Error)]
#[error("line {line}: {source}")]
pub struct LabelError {
    pub line: usize,
    #[source]
    pub source: serde_json::Error,
}

/// Parses a JSON Lines labelled set; blank lines are skipped.
pub fn parse_labelled(text: &str) -> Result<Vec<Labelled>, LabelError> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|source| LabelError {
                line: i + 1,
                source,
            })
        })
        .collect()
}

/// Confusion counts and the derived scores.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Scores {
    pub tp: usize,
    pub fp: usize,
    #[serde(rename = "fn")]
    pub fn_: usize,
}

impl Scores {
    /// tp / (tp + fp); `None` when nothing was predicted.
    pub fn precision(&self) -> Option<f64> {
        ratio(self.tp, self.tp + self.fp)
    }

    /// tp / (tp + fn); `None` when nothing was labelled.
    pub fn recall(&self) -> Option<f64> {
        ratio(self.tp, self.tp + self.fn_)
    }

    /// Harmonic mean of precision and recall; `None` when either is.
    pub fn f1(&self) -> Option<f64> {
        let (p, r) = (self.precision()?, self.recall()?);
        Some(if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        })
    }
}

fn ratio(a: usize, b: usize) -> Option<f64> {
    (b > 0).then(|| a as f64 / b as f64)
}

/// Scores of one indicator, with the item ids to look at when tuning.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct IndicatorReport {
    pub indicator: String,
    pub scores: Scores,
    pub false_positives: Vec<String>,
    pub false_negatives: Vec<String>,
}

/// Result of [`evaluate`].
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct EvalReport {
    /// Declared indicators first (file order), then labels the set uses that
    /// no file declares.
    pub indicators: Vec<IndicatorReport>,
    /// Micro-average: counts summed over indicators.
    pub overall: Scores,
    pub items: usize,
}

/// Runs the rules over each labelled item. An item counts as predicted for
/// an indicator when any active (non-shadow) rule of that indicator matches.
pub fn evaluate(rules: &RuleSet, items: &[Labelled]) -> EvalReport {
    let mut by_id: BTreeMap<&str, IndicatorReport> = BTreeMap::new();
    let mut order: Vec<String> = rules.indicators().iter().map(|i| i.id.clone()).collect();
    for l in items.iter().flat_map(|i| &i.labels) {
        if !order.contains(l) {
            order.push(l.clone());
        }
    }
    for id in &order {
        by_id.insert(
            id,
            IndicatorReport {
                indicator: id.clone(),
                ..Default::default()
            },
        );
    }
    for item in items {
        let matches = rules.match_folded(&fold(&item.title), &fold(&item.summary));
        let predicted: BTreeSet<&str> = matches
            .iter()
            .filter(|m| !m.shadow)
            .map(|m| m.indicator.as_str())
            .collect();
        let truth: BTreeSet<&str> = item.labels.iter().map(String::as_str).collect();
        for id in predicted.union(&truth) {
            let r = by_id
                .get_mut(*id)
                .expect("every indicator and label is registered");
            match (predicted.contains(id), truth.contains(id)) {
                (true, true) => r.scores.tp += 1,
                (true, false) => {
                    r.scores.fp += 1;
                    r.false_positives.push(item.id.clone());
                }
                _ => {
                    r.scores.fn_ += 1;
                    r.false_negatives.push(item.id.clone());
                }
            }
        }
    }
    let mut report = EvalReport {
        items: items.len(),
        ..Default::default()
    };
    for id in &order {
        let r = by_id.remove(id.as_str()).expect("registered above");
        report.overall.tp += r.scores.tp;
        report.overall.fp += r.scores.fp;
        report.overall.fn_ += r.scores.fn_;
        report.indicators.push(r);
    }
    report
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    const RULES: &str = r#"
[[indicator]]
id = "a"
title = "A"
[[indicator]]
id = "b"
title = "B"
[[rule]]
id = "a/raid"
indicator = "a"
severity = "warning"
match = "raid"
[[rule]]
id = "b/shadow"
indicator = "b"
severity = "warning"
mode = "shadow"
match = "raid"
"#;

    #[test]
    fn counts_tp_fp_fn_and_ignores_shadow_rules() {
        let rules = RuleSet::from_files(vec![(PathBuf::from("r.toml"), RULES.into())]).unwrap();
        let set = parse_labelled(concat!(
            r#"{"id":"1","title":"Police raid","summary":"","lang":"en","labels":["a"],"source":"t"}"#,
            "\n",
            r#"{"id":"2","title":"Another raid","labels":[]}"#,
            "\n\n",
            r#"{"id":"3","title":"Quiet","labels":["a","b","c"]}"#,
        ))
        .unwrap();
        let r = evaluate(&rules, &set);
        assert_eq!(r.items, 3);
        let a = &r.indicators[0];
        assert_eq!((a.scores.tp, a.scores.fp, a.scores.fn_), (1, 1, 1));
        assert_eq!(a.false_positives, ["2"]);
        assert_eq!(a.false_negatives, ["3"]);
        assert_eq!(a.scores.precision(), Some(0.5));
        let b = &r.indicators[1];
        assert_eq!((b.scores.tp, b.scores.fp, b.scores.fn_), (0, 0, 1));
        assert_eq!(r.indicators[2].indicator, "c");
        assert_eq!((r.overall.tp, r.overall.fp, r.overall.fn_), (1, 1, 3));
        assert_eq!(r.overall.f1(), Some(2.0 * 0.5 * 0.25 / 0.75));
    }

    #[test]
    fn bad_line_names_its_number() {
        let e = parse_labelled("{\"id\":\"1\",\"title\":\"x\",\"labels\":[]}\n{oops").unwrap_err();
        assert_eq!(e.line, 2);
    }
}
