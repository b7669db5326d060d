//! `tocsin alerts`: the latest alerts and where their deliveries stand,
//! read from the store (works while the daemon runs).

use crate::model::Severity;
use crate::store::{AlertFilter, Store};
use clap::Args;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct AlertsArgs {
    #[command(flatten)]
    pub config: super::ConfigArg,
    /// Only this indicator.
    #[arg(long)]
    pub indicator: Option<String>,
    /// Only alerts of this severity or higher.
    #[arg(long)]
    pub severity: Option<Severity>,
    /// How many, newest first.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    /// Print JSON Lines (the alert document plus `deliveries`).
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: AlertsArgs) -> anyhow::Result<ExitCode> {
    let config = match crate::config::load_without_secrets(&args.config.config) {
        Ok(c) => c,
        Err(errors) => {
            eprintln!("{errors}");
            return Ok(ExitCode::from(1));
        }
    };
    let store = Store::open(&config.state_dir)?;
    let alerts = store.alerts(&AlertFilter {
        indicator: args.indicator,
        min_severity: args.severity,
        before: None,
        limit: args.limit,
    })?;
    for alert in alerts {
        let deliveries = store.deliveries(alert.id)?;
        if args.json {
            let mut value = serde_json::to_value(&alert)?;
            value["deliveries"] = serde_json::to_value(&deliveries)?;
            println!("{value}");
            continue;
        }
        let sent: Vec<String> = deliveries
            .iter()
            .map(|d| format!("{}:{}", d.sink, d.state))
            .collect();
        let note = match alert.silenced_by {
            Some(id) => format!("silenced by {id}"),
            None if sent.is_empty() => "no sink".to_owned(),
            None => sent.join(" "),
        };
        println!(
            "{:>5}  {}  {:<8} {:<22} {:>3} src  {}  [{note}]",
            alert.id,
            alert.created_at.format("%Y-%m-%d %H:%M"),
            alert.severity.as_str(),
            alert.indicator,
            alert.sources.len(),
            alert.title
        );
    }
    Ok(ExitCode::SUCCESS)
}
