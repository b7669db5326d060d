//! The commands that work from a config file: run, check, once, sources.

use crate::app::{self, App};
use crate::config::{self, Config};
use crate::source::health;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

/// Loads the config or prints every error (one per line) to stderr.
fn load(path: &Path) -> Result<Config, ExitCode> {
    config::load(path).map_err(|errors| {
        eprintln!("{errors}");
        eprintln!("{} error(s) in {}", errors.0.len(), path.display());
        ExitCode::from(2)
    })
}

/// As [`load`], without reading secrets: for the commands that only read
/// the store and the rules.
fn load_without_secrets(path: &Path) -> Result<Config, ExitCode> {
    config::load_without_secrets(path).map_err(|errors| {
        eprintln!("{errors}");
        eprintln!("{} error(s) in {}", errors.0.len(), path.display());
        ExitCode::from(2)
    })
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

pub fn run(path: &Path) -> anyhow::Result<ExitCode> {
    let config = match load(path) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let app = App::build(config)?;
    runtime()?.block_on(app::run(app))?;
    Ok(ExitCode::SUCCESS)
}

pub fn check(path: &Path) -> anyhow::Result<ExitCode> {
    let config = match load(path) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let rules = match crate::rules::RuleSet::load_dir(&config.rules_dir) {
        Ok(rules) => rules,
        Err(errors) => {
            eprintln!("{errors}");
            eprintln!(
                "{} error(s) in rules {}",
                errors.0.len(),
                config.rules_dir.display()
            );
            return Ok(ExitCode::from(2));
        }
    };
    let errors = app::cross_check(&config, &rules);
    if !errors.is_empty() {
        for e in &errors {
            eprintln!("{e}");
        }
        eprintln!("{} error(s) in {}", errors.len(), path.display());
        return Ok(ExitCode::from(2));
    }
    println!("config {}: ok", path.display());
    println!("  state dir: {}", config.state_dir.display());
    println!(
        "  rules:     {} rules, {} indicators in {}",
        rules.rule_count(),
        rules.indicator_count(),
        config.rules_dir.display()
    );
    println!("  listen:    {}", config.listen);
    println!("  sinks:     {}", config.sinks.len());
    for sink in &config.sinks {
        println!(
            "    {:<24} {:<12} min {:<8} {}",
            sink.name,
            sink.kind.name(),
            sink.min_severity.as_str(),
            if sink.indicators.is_empty() {
                "all indicators".to_owned()
            } else {
                sink.indicators.join(", ")
            }
        );
    }
    println!("  sources:   {}", config.sources.len());
    for src in &config.sources {
        println!(
            "    {:<24} {:<5} every {:<8} {}",
            src.id,
            src.kind.name(),
            humantime::format_duration(src.interval).to_string(),
            src.kind.location()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// One line of `once` output: the item, and what the rules found in it.
#[derive(serde::Serialize)]
struct OnceItem<'a> {
    #[serde(flatten)]
    item: &'a crate::model::Item,
    indicators: Vec<&'a str>,
    matches: &'a [crate::model::Match],
}

pub fn once(path: &Path, emit_first: bool) -> anyhow::Result<ExitCode> {
    let mut config = match load(path) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    if emit_first {
        config
            .sources
            .iter_mut()
            .for_each(|s| s.first_fetch_emits = true);
    }
    let app = App::build(config)?;
    let reports = runtime()?.block_on(app.poll_all_once());
    let rules = app.rules.current();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut failed = 0;
    for report in &reports {
        match &report.result {
            Ok(ok) => {
                for item in &ok.new_items {
                    let matches = rules.match_item(item);
                    app.store
                        .record_matches(item, &matches, chrono::Utc::now())?;
                    let mut indicators: Vec<&str> =
                        matches.iter().map(|m| m.indicator.as_str()).collect();
                    indicators.sort_unstable();
                    indicators.dedup();
                    serde_json::to_writer(
                        &mut out,
                        &OnceItem {
                            item,
                            indicators,
                            matches: &matches,
                        },
                    )?;
                    out.write_all(b"\n")?;
                }
            }
            Err(e) => {
                failed += 1;
                eprintln!("{}: {e}", report.source);
            }
        }
    }
    out.flush()?;
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

pub fn sources(path: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let config = match load_without_secrets(path) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let store = crate::store::Store::open(&config.state_dir)?;
    let states = store.source_states()?;
    let now = chrono::Utc::now();
    let health: Vec<_> = config
        .sources
        .iter()
        .map(|src| health::assess(src, states.iter().find(|s| s.source == src.id), now))
        .collect();
    if json {
        println!("{}", serde_json::to_string_pretty(&health)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<24} {:<8} {:<25} {:>5}  note",
        "source", "status", "last success", "fails"
    );
    for h in &health {
        let last = h.last_success.map_or("never".into(), |t| {
            t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
        });
        let note = h
            .silent_reason
            .clone()
            .or_else(|| h.last_error.clone())
            .unwrap_or_default();
        let status = serde_json::to_value(h.status)?
            .as_str()
            .unwrap_or("")
            .to_owned();
        println!(
            "{:<24} {:<8} {:<25} {:>5}  {}",
            h.source, status, last, h.consecutive_failures, note
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub fn indicators(path: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let config = match load_without_secrets(path) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let rules =
        crate::rules::RuleSet::load_dir(&config.rules_dir).map_err(|e| anyhow::anyhow!("{e}"))?;
    let store = crate::store::Store::open(&config.state_dir)?;
    let weights = config.source_weights();
    let summary = app::pipeline::indicator_summary(
        &store,
        &rules,
        &config.scoring,
        &weights,
        chrono::Utc::now(),
    )?;
    if json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("theatre index: {:.0}/100", summary.theatre_index);
    println!(
        "{:<22} {:<9} {:>9} {:>9} {:>8}",
        "indicator", "level", "activity", "baseline", "matches"
    );
    for s in &summary.indicators {
        println!(
            "{:<22} {:<9} {:>9.2} {:>9.2} {:>8}",
            s.indicator,
            s.score.level.as_str(),
            s.score.activity,
            s.score.baseline,
            s.matches
        );
    }
    Ok(ExitCode::SUCCESS)
}
