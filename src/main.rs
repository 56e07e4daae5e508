//! `dscsa`: the command-line entry point. Parses arguments, sets up logging, dispatches.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = dscsa_exchange::cli::Cli::parse();
    dscsa_exchange::cli::init_tracing(cli.default_log_filter());
    match dscsa_exchange::cli::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
