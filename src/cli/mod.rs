//! The `dscsa` command line: argument definitions and dispatch.
//!
//! Exit codes: 0 success; 1 the input was read but is not valid (validation errors); 2 the
//! command could not run (bad arguments, unreadable file).

mod epcis_cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// DSCSA trading-partner exchange: EPCIS repository, verification, tracing, investigations,
/// FDA records and MCP tools for AI agents.
#[derive(Debug, Parser)]
#[command(name = "dscsa", version, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Work with EPCIS documents offline: hash, validate, convert.
    #[command(subcommand)]
    Epcis(epcis_cmd::EpcisCommand),
}

/// Logging for command-line use: warnings and errors to stderr, `RUST_LOG` overrides.
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Epcis(cmd) => epcis_cmd::run(cmd),
    }
}
