//! The command line: parse arguments, dispatch to a command.

pub mod alerts;
mod daemon;
pub mod eval;
pub mod replay;
pub mod silence;
pub mod test_rules;

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;

/// tocsin: a risk-indicator monitoring daemon.
#[derive(Debug, Parser)]
#[command(name = "tocsin", version, about, propagate_version = true)]
pub struct Cli {
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Human, env = "TOCSIN_LOG_FORMAT")]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum LogFormat {
    Human,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon until SIGTERM/SIGINT.
    Run(ConfigArg),
    /// Validate the config (and rules) and print a summary; exit 1 on errors.
    Check(ConfigArg),
    /// Poll every source once, print new items as JSON Lines, and exit.
    Once(OnceArgs),
    /// Show the health of every configured source.
    Sources(SourcesArgs),
    /// Show every indicator's activity, baseline and level, and the theatre index.
    Indicators(SourcesArgs),
    /// Validate rule files and run every rule's examples.
    TestRules(test_rules::TestRulesArgs),
    /// Score the rules against a labelled set (precision, recall, F1).
    Eval(eval::EvalArgs),
    /// Match feed files offline and print matched items as JSON Lines.
    Replay(replay::ReplayArgs),
    /// Show the latest alerts and their deliveries.
    Alerts(alerts::AlertsArgs),
    /// Add, list or expire alert silences.
    Silence(silence::SilenceArgs),
}

#[derive(Debug, clap::Args)]
pub struct ConfigArg {
    /// Config file.
    #[arg(long, short, default_value = "tocsin.toml", env = "TOCSIN_CONFIG")]
    pub config: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct OnceArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Also print the items found on a source's first fetch (normally they
    /// are only recorded as seen).
    #[arg(long)]
    pub emit_first: bool,
}

#[derive(Debug, clap::Args)]
pub struct SourcesArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Runs the parsed command; the exit code follows the command's contract.
pub fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Run(args) => daemon::run(&args.config),
        Command::Check(args) => daemon::check(&args.config),
        Command::Once(args) => daemon::once(&args.config.config, args.emit_first),
        Command::Sources(args) => daemon::sources(&args.config.config, args.json),
        Command::Indicators(args) => daemon::indicators(&args.config.config, args.json),
        Command::TestRules(args) => test_rules::run(args),
        Command::Eval(args) => eval::run(args),
        Command::Replay(args) => replay::run(args),
        Command::Silence(args) => silence::run(args),
        Command::Alerts(args) => alerts::run(args),
    }
}
