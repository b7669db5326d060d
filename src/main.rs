//! The `tocsin` binary: parses the command line and dispatches.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    let result = match args.command {
        cli::Command::TestRules(a) => cli::test_rules::run(a),
        cli::Command::Eval(a) => cli::eval::run(a),
        cli::Command::Replay(a) => cli::replay::run(a),
    };
    result.unwrap_or_else(|e| {
        eprintln!("error: {e:#}");
        ExitCode::FAILURE
    })
}
