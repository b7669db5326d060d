//! `tocsin test-rules`: validates a rule directory and runs every rule's
//! examples. Exit 0 when all pass, 1 on a failing example, 2 on rule errors.

use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `tocsin test-rules`.
#[derive(Debug, clap::Args)]
pub struct TestRulesArgs {
    /// Rule directory.
    #[arg(long, default_value = "rules")]
    pub rules: PathBuf,
}

/// Every rule should carry at least this many examples of each kind.
const MIN_EXAMPLES: usize = 2;

/// Runs the command.
pub fn run(args: TestRulesArgs) -> anyhow::Result<ExitCode> {
    let Some(set) = load_rules(&args.rules) else {
        return Ok(ExitCode::from(2));
    };
    let failures = set.run_examples();
    for f in &failures {
        let what = if f.expected_match {
            "expected match"
        } else {
            "expected no match"
        };
        println!("FAIL {}: {what}: {:?}", f.rule, f.text);
    }
    let few: Vec<&str> = set
        .rules()
        .iter()
        .filter(|r| {
            r.examples_match.len() < MIN_EXAMPLES || r.examples_no_match.len() < MIN_EXAMPLES
        })
        .map(|r| r.id.as_str())
        .collect();
    for id in &few {
        println!("note {id}: fewer than {MIN_EXAMPLES} `match` or `no_match` examples");
    }
    let examples: usize = set
        .rules()
        .iter()
        .map(|r| r.examples_match.len() + r.examples_no_match.len())
        .sum();
    let (terms, words) = set.term_counts();
    println!(
        "{} rules, {} indicators, {} context groups, {terms} terms ({words} words, {} KiB automaton): \
         {examples} examples, {} failed",
        set.rule_count(),
        set.indicator_count(),
        set.contexts().len(),
        set.automaton_bytes() / 1024,
        failures.len()
    );
    Ok(if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Loads rules for a command, printing every error; `None` means exit 2.
pub(super) fn load_rules(dir: &std::path::Path) -> Option<crate::rules::RuleSet> {
    match crate::rules::RuleSet::load_dir(dir) {
        Ok(set) => Some(set),
        Err(errors) => {
            eprintln!("{errors}");
            eprintln!(
                "error: {} problem(s) in rules at `{}`",
                errors.0.len(),
                dir.display()
            );
            None
        }
    }
}
