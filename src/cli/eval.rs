//! `tocsin eval`: scores the rules against a labelled set and prints
//! precision, recall and F1 per indicator and overall.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::rules::eval::{EvalReport, Labelled, Scores, evaluate, parse_labelled};
use anyhow::Context as _;

use super::test_rules::load_rules;

/// Arguments of `tocsin eval`.
#[derive(Debug, clap::Args)]
pub struct EvalArgs {
    /// Labelled set, JSON Lines.
    #[arg(long)]
    pub labels: PathBuf,
    /// Rule directory.
    #[arg(long, default_value = "rules")]
    pub rules: PathBuf,
    /// Also list false positives and false negatives per indicator.
    #[arg(long)]
    pub verbose: bool,
}

/// Runs the command.
pub fn run(args: EvalArgs) -> anyhow::Result<ExitCode> {
    let Some(set) = load_rules(&args.rules) else {
        return Ok(ExitCode::from(2));
    };
    let text = std::fs::read_to_string(&args.labels)
        .with_context(|| format!("cannot read labelled set `{}`", args.labels.display()))?;
    let items = parse_labelled(&text)
        .with_context(|| format!("invalid labelled set `{}`", args.labels.display()))?;
    let report = evaluate(&set, &items);
    print_table(&report);
    if args.verbose {
        print_errors(&report, &items);
    }
    Ok(ExitCode::SUCCESS)
}

fn fmt_score(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| format!("{v:.3}"))
}

fn row(name: &str, s: &Scores) -> String {
    format!(
        "{name:<28} {:>5} {:>5} {:>5} {:>9} {:>7} {:>7}",
        s.tp,
        s.fp,
        s.fn_,
        fmt_score(s.precision()),
        fmt_score(s.recall()),
        fmt_score(s.f1())
    )
}

fn print_table(report: &EvalReport) {
    println!(
        "{:<28} {:>5} {:>5} {:>5} {:>9} {:>7} {:>7}",
        "indicator", "tp", "fp", "fn", "precision", "recall", "f1"
    );
    for r in &report.indicators {
        println!("{}", row(&r.indicator, &r.scores));
    }
    println!("{}", row("overall (micro)", &report.overall));
    println!("{} items", report.items);
}

fn print_errors(report: &EvalReport, items: &[Labelled]) {
    let titles: HashMap<&str, &str> = items
        .iter()
        .map(|i| (i.id.as_str(), i.title.as_str()))
        .collect();
    for r in &report.indicators {
        let lists = [("FP", &r.false_positives), ("FN", &r.false_negatives)];
        for (kind, ids) in lists {
            for id in ids {
                println!(
                    "{kind} {} {id}: {:?}",
                    r.indicator,
                    titles.get(id.as_str()).unwrap_or(&"")
                );
            }
        }
    }
}
