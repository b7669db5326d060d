//! `tocsin replay`: matches feed files offline and writes one JSON object per
//! item to stdout. Files are parsed and matched in parallel; output keeps the
//! file order so two runs over the same corpus give the same bytes.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use crate::model::{Item, Match, Severity};
use crate::parse::{SourceCtx, parse_document};
use crate::rules::RuleSet;
use chrono::{SecondsFormat, Utc};
use rayon::prelude::*;
use serde::Serialize;

use super::test_rules::load_rules;

/// Arguments of `tocsin replay`.
#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
    /// Rule directory.
    #[arg(long, default_value = "rules")]
    pub rules: PathBuf,
    /// Print every item, not only those with matches.
    #[arg(long)]
    pub all: bool,
    /// Also report matches of shadow rules (marked `"shadow": true`).
    #[arg(long)]
    pub shadow: bool,
    /// Feed files (RSS, Atom, JSON Feed), JSON Lines of items, or directories
    /// of them (read recursively).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
}

/// One output line.
#[derive(Serialize)]
struct OutItem<'a> {
    source: &'a str,
    id: &'a str,
    link: Option<&'a str>,
    title: &'a str,
    published: String,
    indicators: Vec<&'a str>,
    severity: Option<Severity>,
    matches: Vec<OutMatch<'a>>,
}

#[derive(Serialize)]
struct OutMatch<'a> {
    rule: &'a str,
    indicator: &'a str,
    severity: Severity,
    terms: &'a [String],
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    shadow: bool,
}

/// What one file gave: its output lines, or why it could not be parsed.
struct FileResult {
    out: Vec<u8>,
    items: usize,
    matched: usize,
    error: Option<String>,
}

/// Files per parallel batch; output is written batch by batch, in order.
const BATCH: usize = 256;

/// Runs the command.
pub fn run(args: ReplayArgs) -> anyhow::Result<ExitCode> {
    let Some(set) = load_rules(&args.rules) else {
        return Ok(ExitCode::from(2));
    };
    let started = Instant::now();
    let mut files = Vec::new();
    for p in &args.paths {
        collect_files(p, &mut files);
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
    let (mut items, mut matched, mut failed) = (0, 0, 0);
    for batch in files.chunks(BATCH) {
        let results: Vec<FileResult> = batch
            .par_iter()
            .map(|p| replay_file(p, &set, &args))
            .collect();
        for (path, r) in batch.iter().zip(results) {
            if let Some(e) = r.error {
                eprintln!("replay: skipping `{}`: {e}", path.display());
                failed += 1;
            }
            out.write_all(&r.out)?;
            items += r.items;
            matched += r.matched;
        }
    }
    out.flush()?;
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "replay: {} files ({failed} skipped), {items} items, {matched} matched, {secs:.3} s, {:.0} items/s",
        files.len(),
        items as f64 / secs.max(1e-9)
    );
    Ok(ExitCode::SUCCESS)
}

/// Adds `path` (a file) or every file under it (a directory), sorted.
fn collect_files(path: &Path, out: &mut Vec<PathBuf>) {
    if !path.is_dir() {
        out.push(path.to_path_buf());
        return;
    }
    let mut entries: Vec<PathBuf> = match std::fs::read_dir(path) {
        Ok(rd) => rd.filter_map(|e| e.ok().map(|e| e.path())).collect(),
        Err(e) => {
            eprintln!("replay: skipping `{}`: {e}", path.display());
            return;
        }
    };
    entries.sort();
    for e in entries {
        collect_files(&e, out);
    }
}

fn replay_file(path: &Path, set: &RuleSet, args: &ReplayArgs) -> FileResult {
    let mut r = FileResult {
        out: Vec::new(),
        items: 0,
        matched: 0,
        error: None,
    };
    let source = path.display().to_string();
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            r.error = Some(e.to_string());
            return r;
        }
    };
    let ctx = SourceCtx {
        id: source.clone(),
        ..SourceCtx::default()
    };
    let parsed = match parse_document(&bytes, None, &ctx, Utc::now()) {
        Ok(items) => items,
        Err(e) => {
            r.error = Some(e.to_string());
            return r;
        }
    };
    for item in &parsed {
        r.items += 1;
        let mut matches = set.match_item(item);
        matches.retain(|m| args.shadow || !m.shadow);
        if matches.iter().any(|m| !m.shadow) {
            r.matched += 1;
        } else if !args.all {
            continue;
        }
        write_item(&mut r.out, &source, item, &matches);
    }
    r
}

fn write_item(out: &mut Vec<u8>, source: &str, item: &Item, matches: &[Match]) {
    let alerting = || matches.iter().filter(|m| !m.shadow);
    let mut indicators: Vec<&str> = alerting().map(|m| m.indicator.as_str()).collect();
    indicators.sort_unstable();
    indicators.dedup();
    let line = OutItem {
        source,
        id: &item.id,
        link: item.link.as_deref(),
        title: &item.title,
        published: item.published.to_rfc3339_opts(SecondsFormat::Secs, true),
        indicators,
        severity: alerting().map(|m| m.severity).max(),
        matches: matches
            .iter()
            .map(|m| OutMatch {
                rule: &m.rule,
                indicator: &m.indicator,
                severity: m.severity,
                terms: &m.terms,
                shadow: m.shadow,
            })
            .collect(),
    };
    serde_json::to_writer(&mut *out, &line).expect("serialising to memory cannot fail");
    out.push(b'\n');
}
