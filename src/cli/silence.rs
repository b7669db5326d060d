//! `tocsin silence add|list|expire`: silences, written straight into the
//! daemon's store (SQLite in WAL mode lets the CLI write while the daemon
//! runs; the daemon reads silences before every alert).

use crate::alert::Silence;
use crate::store::{NewSilence, Store};
use chrono::Utc;
use clap::{Args, Subcommand};
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct SilenceArgs {
    /// Config file (for the state and rules directories).
    #[arg(
        long,
        short,
        global = true,
        default_value = "tocsin.toml",
        env = "TOCSIN_CONFIG"
    )]
    pub config: std::path::PathBuf,
    #[command(subcommand)]
    pub command: SilenceCommand,
}

#[derive(Debug, Subcommand)]
pub enum SilenceCommand {
    /// Silence alerts of an indicator (optionally one rule, or items whose
    /// title contains some text) for a while.
    Add(AddArgs),
    /// List active silences (`--all`: expired ones too).
    List {
        #[arg(long)]
        all: bool,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// End a silence now.
    Expire {
        /// The silence id (see `tocsin silence list`).
        id: i64,
    },
}

#[derive(Debug, Args)]
pub struct AddArgs {
    /// Indicator id (as in rules/indicators.toml).
    #[arg(long)]
    pub indicator: String,
    /// Only alerts in which this rule matched.
    #[arg(long)]
    pub rule: Option<String>,
    /// Only stories with an item whose title contains this text (compared
    /// case- and accent-folded, like rules).
    #[arg(long = "match")]
    pub match_text: Option<String>,
    /// How long, e.g. `6h`, `30m`, `2d`.
    #[arg(long = "for", value_parser = humantime::parse_duration)]
    pub duration: std::time::Duration,
    /// Why (required: a silence nobody can explain gets nobody paged).
    #[arg(long)]
    pub comment: String,
    /// Who (default: $USER).
    #[arg(long, env = "USER")]
    pub author: Option<String>,
}

pub fn run(args: SilenceArgs) -> anyhow::Result<ExitCode> {
    let config = match crate::config::load_without_secrets(&args.config) {
        Ok(c) => c,
        Err(errors) => {
            eprintln!("{errors}");
            return Ok(ExitCode::from(1));
        }
    };
    let store = Store::open(&config.state_dir)?;
    let now = Utc::now();
    match args.command {
        SilenceCommand::Add(add) => {
            let rules = crate::rules::RuleSet::load_dir(&config.rules_dir)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            if !rules.indicators().iter().any(|i| i.id == add.indicator) {
                eprintln!(
                    "error: unknown indicator {:?} (see `tocsin indicators`)",
                    add.indicator
                );
                return Ok(ExitCode::from(1));
            }
            if let Some(rule) = &add.rule
                && !rules
                    .rules()
                    .iter()
                    .any(|r| r.id == *rule && r.indicator == add.indicator)
            {
                eprintln!("error: no rule {rule:?} in indicator {:?}", add.indicator);
                return Ok(ExitCode::from(1));
            }
            if add.comment.trim().is_empty() || add.duration.is_zero() {
                eprintln!("error: --comment must not be empty and --for must be > 0");
                return Ok(ExitCode::from(1));
            }
            let silence = store.add_silence(
                &NewSilence {
                    indicator: add.indicator,
                    rule: add.rule,
                    match_text: add.match_text.filter(|t| !t.trim().is_empty()),
                    starts_at: now,
                    ends_at: now + chrono::Duration::from_std(add.duration)?,
                    comment: add.comment,
                    created_by: add.author,
                },
                now,
            )?;
            println!(
                "silence {} added, until {}",
                silence.id,
                silence.ends_at.to_rfc3339()
            );
        }
        SilenceCommand::List { all, json } => {
            let silences = store.silences(now, all)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&silences)?);
            } else {
                print_table(&silences, now);
            }
        }
        SilenceCommand::Expire { id } => match store.expire_silence(id, now)? {
            Some(s) => println!("silence {} expired at {}", s.id, s.ends_at.to_rfc3339()),
            None => {
                eprintln!("error: no silence {id}");
                return Ok(ExitCode::from(1));
            }
        },
    }
    Ok(ExitCode::SUCCESS)
}

fn print_table(silences: &[Silence], now: chrono::DateTime<Utc>) {
    println!(
        "{:>4}  {:<8} {:<22} {:<28} {:<20} {:<25} comment",
        "id", "state", "indicator", "rule", "match", "ends"
    );
    for s in silences {
        let state = if s.is_active(now) {
            "active"
        } else {
            "expired"
        };
        println!(
            "{:>4}  {:<8} {:<22} {:<28} {:<20} {:<25} {}",
            s.id,
            state,
            s.indicator,
            s.rule.as_deref().unwrap_or("*"),
            s.match_text.as_deref().unwrap_or("*"),
            s.ends_at.format("%Y-%m-%d %H:%M:%S UTC"),
            s.comment
        );
    }
}
