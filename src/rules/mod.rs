//! Stage 3, pure: rule files become a compiled, immutable [`RuleSet`] that
//! matches folded item text.
//!
//! Loading goes raw → validated → built: serde structs mirror the files
//! (`raw`), validation collects every problem with `file:line:col`
//! (`compile`, `exprs`, `contexts`), and the result is a [`Program`] run by
//! `matcher`. Matching cannot fail: every failure happens at load time.

mod compile;
mod contexts;
mod error;
pub mod eval;
mod exprs;
mod frequency;
mod matcher;
mod program;
mod raw;
mod scan;
mod term;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use error::{ErrorKind, RuleError, RuleErrors};
use program::Program;

use crate::model::{Item, Match, Severity};
use crate::parse::normalise::fold;

/// Whether a rule's matches can alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Matches alert (the default).
    Active,
    /// Evaluated and counted, never alerts: for trying out a rule.
    Shadow,
}

/// Which text a rule looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Title and summary (the default).
    All,
    /// Title only.
    Title,
}

/// A declared indicator category.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Indicator {
    pub id: String,
    pub title: String,
    pub description: String,
    /// External codes: `cameo` and `acled`, when declared.
    pub labels: BTreeMap<String, Vec<String>>,
}

/// Metadata of one compiled rule (the expression lives in the program).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Rule {
    pub id: String,
    pub indicator: String,
    pub severity: Severity,
    pub mode: Mode,
    pub scope: Scope,
    pub description: String,
    pub tags: Vec<String>,
    pub references: Vec<String>,
    /// File the rule was declared in.
    pub file: PathBuf,
    /// Texts the rule must match.
    pub examples_match: Vec<String>,
    /// Texts the rule must not match.
    pub examples_no_match: Vec<String>,
}

/// An example text that did not behave as its rule says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExampleFailure {
    pub rule: String,
    /// True for a `match` example that did not match, false for a
    /// `no_match` example that did.
    pub expected_match: bool,
    pub text: String,
}

/// A compiled, immutable rule set; `Send + Sync`, share it in an `Arc`.
#[derive(Debug)]
pub struct RuleSet {
    indicators: Vec<Indicator>,
    rules: Vec<Rule>,
    /// Index into `indicators` for each rule.
    rule_indicator: Vec<usize>,
    context_names: Vec<String>,
    program: Program,
}

impl RuleSet {
    /// Reads every `*.toml` file of `dir` (not recursive, sorted by name) and
    /// compiles them.
    pub fn load_dir(dir: &Path) -> Result<RuleSet, RuleErrors> {
        let io_err = |path: &Path, e: std::io::Error| {
            RuleErrors(vec![RuleError {
                file: path.to_path_buf(),
                line: 1,
                col: 1,
                message: format!("cannot read `{}`: {e}", path.display()),
                kind: ErrorKind::Io,
            }])
        };
        let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| io_err(dir, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml") && p.is_file())
            .collect();
        paths.sort();
        let mut files = Vec::with_capacity(paths.len());
        for p in paths {
            let text = std::fs::read_to_string(&p).map_err(|e| io_err(&p, e))?;
            files.push((p, text));
        }
        RuleSet::from_files(files)
    }

    /// Compiles rule files given as (path, text); the path is only used in
    /// error messages. Pure.
    pub fn from_files(files: Vec<(PathBuf, String)>) -> Result<RuleSet, RuleErrors> {
        let c = compile::compile(&files).map_err(RuleErrors)?;
        let rule_indicator = c
            .rules
            .iter()
            .map(|r| {
                c.indicators
                    .iter()
                    .position(|i| i.id == r.indicator)
                    .expect("validated")
            })
            .collect();
        Ok(RuleSet {
            indicators: c.indicators,
            rules: c.rules,
            rule_indicator,
            context_names: c.context_names,
            program: c.program,
        })
    }

    /// Matches an item's folded title and summary.
    pub fn match_item(&self, item: &Item) -> Vec<Match> {
        self.match_folded(&item.norm_title, &item.norm_summary)
    }

    /// Matches already folded text (see [`fold`]); shadow rules are included
    /// with `shadow: true`.
    pub fn match_folded(&self, title: &str, summary: &str) -> Vec<Match> {
        let texts = [title, summary];
        self.program
            .run(title, summary)
            .into_iter()
            .map(|h| {
                let rule = &self.rules[h.rule as usize];
                let mut terms: Vec<String> = Vec::new();
                // Spans come sorted, so terms are in order of appearance.
                for s in &h.spans {
                    let text = &texts[s.field as usize][s.start..s.end];
                    if !terms.iter().any(|t| t == text) {
                        terms.push(text.to_owned());
                    }
                }
                Match {
                    rule: rule.id.clone(),
                    indicator: rule.indicator.clone(),
                    severity: rule.severity,
                    shadow: rule.mode == Mode::Shadow,
                    terms,
                    spans: h.spans,
                    labels: self.indicators[self.rule_indicator[h.rule as usize]]
                        .labels
                        .clone(),
                }
            })
            .collect()
    }

    /// Runs every rule's examples (each text as a title with an empty
    /// summary) and returns the ones that fail.
    pub fn run_examples(&self) -> Vec<ExampleFailure> {
        let mut out = Vec::new();
        for rule in &self.rules {
            let cases = rule.examples_match.iter().map(|t| (true, t));
            let cases = cases.chain(rule.examples_no_match.iter().map(|t| (false, t)));
            for (expected, text) in cases {
                let matched = self
                    .match_folded(&fold(text), "")
                    .iter()
                    .any(|m| m.rule == rule.id);
                if matched != expected {
                    out.push(ExampleFailure {
                        rule: rule.id.clone(),
                        expected_match: expected,
                        text: text.clone(),
                    });
                }
            }
        }
        out
    }

    /// All rules, in file order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// All declared indicators, in file order.
    pub fn indicators(&self) -> &[Indicator] {
        &self.indicators
    }

    /// Names of the declared context groups.
    pub fn contexts(&self) -> &[String] {
        &self.context_names
    }

    /// Number of rules.
    pub fn rule_count(&self) -> usize {
        self.rules.len()
    }

    /// Number of indicators.
    pub fn indicator_count(&self) -> usize {
        self.indicators.len()
    }

    /// Approximate heap size of the word automaton, in bytes.
    pub fn automaton_bytes(&self) -> usize {
        self.program.ac.as_ref().map_or(0, |ac| ac.memory_usage())
    }

    /// Number of distinct terms and of distinct words in the automaton.
    pub fn term_counts(&self) -> (usize, usize) {
        (self.program.terms.len(), self.program.words.len())
    }
}
