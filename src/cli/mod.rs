//! Command-line interface: one module per subcommand, each with a clap args
//! struct and a `run` that maps outcomes to exit codes.
//!
//! Minimal version for the `rules` branch; the lead's `cli` replaces it.

pub mod eval;
pub mod replay;
pub mod test_rules;

use clap::{Parser, Subcommand};

/// tocsin: risk-indicator monitoring daemon.
#[derive(Debug, Parser)]
#[command(name = "tocsin", version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate rule files and run every rule's examples.
    TestRules(test_rules::TestRulesArgs),
    /// Score the rules against a labelled set (precision, recall, F1).
    Eval(eval::EvalArgs),
    /// Match feed files offline and print matched items as JSON Lines.
    Replay(replay::ReplayArgs),
}

/// Loads rules for a command, printing errors; `None` means exit code 2.
pub fn load_rules(dir: &std::path::Path) -> Option<tocsin::rules::RuleSet> {
    match tocsin::rules::RuleSet::load_dir(dir) {
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
