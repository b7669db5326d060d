//! The `tocsin` binary: parse the command line, start logging, dispatch.

use clap::Parser;
use std::process::ExitCode;
use tocsin::cli::{Cli, LogFormat};

/// Parsing a feed allocates a string per field of every entry; mimalloc's
/// per-thread free lists make that markedly cheaper than glibc malloc for
/// `replay` and the daemon's parse stage alike (BENCHMARKS.md §3).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.log_format);
    match tocsin::cli::dispatch(cli) {
        Ok(code) => code,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Logs go to stderr (stdout carries command output such as JSON Lines).
/// `RUST_LOG` overrides the default level of `info`.
fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Human => builder.init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .init(),
    }
}
