//! The `dscsa` command line: argument definitions and dispatch.
//!
//! Exit codes: 0 success; 1 the input was read but is not valid (validation errors); 2 the
//! command could not run (bad arguments, unreadable file, unreachable database).

mod agents_cmd;
mod audit_cmd;
mod backup_cmd;
mod capture_cmd;
mod epcis_cmd;
mod epcis_hash;
mod fda_cmd;
mod fixtures_cmd;
mod investigations_cmd;
mod partners_cmd;
mod pki_cmd;
mod server_cmd;
mod trace_cmd;
mod verify_cmd;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::config::{Config, Overrides, Settings};

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
    /// Run the server: the partner listener (mutual TLS) and the ops listener.
    ///
    /// With no configuration: SQLite at ./dscsa-data/dscsa.db and a development PKI generated
    /// under ./dscsa-data/pki/ on first start. Migrations are applied at start. SIGINT or
    /// SIGTERM stops accepting and lets in-flight requests finish; SIGHUP re-reads the TLS
    /// files (CRLs), which are also checked for changes every few seconds.
    Serve(server_cmd::ServeArgs),
    /// Apply the database migrations that have not run yet, then exit.
    Migrate(ConfigArgs),
    /// Print the effective configuration (all layers applied, database password hidden) as TOML.
    ///
    /// Refuses unknown keys in the file and unknown DSCSA__* variables, naming them.
    CheckConfig(ConfigArgs),
    /// Manage principals: trading partners, regulators, staff and internal systems, and the
    /// certificates bound to them.
    #[command(subcommand)]
    Partners(partners_cmd::PartnersCommand),
    /// Make certificates for development and tests.
    #[command(subcommand)]
    Pki(pki_cmd::PkiCommand),
    /// The tamper-evident audit trail: key, verification, export.
    #[command(subcommand)]
    Audit(audit_cmd::AuditCommand),
    /// Generate demo and test data: a DSCSA supply chain as EPCIS documents.
    #[command(subcommand)]
    Fixtures(fixtures_cmd::FixturesCommand),
    /// Import EPCIS documents into the repository as the home organisation.
    ///
    /// Each file is one transaction: all of its events or none (unless --proceed). Events
    /// already stored are counted as duplicates and change nothing; business-rule anomalies
    /// are recorded with the event (or refused with --strict). Prints a line per file and a
    /// summary. Exit 0 when every file was captured, 1 when a file was refused.
    Capture(capture_cmd::CaptureArgs),
    /// Work with EPCIS documents offline: hash, validate, convert.
    #[command(subcommand)]
    Epcis(epcis_cmd::EpcisCommand),
    /// Investigations of suspect and illegitimate product: open a case, quarantine, notes,
    /// determination (the 24-hour FDA clock), FDA incident number, termination, close.
    #[command(subcommand)]
    Investigations(investigations_cmd::InvestigationsCommand),
    /// Form FDA 3911 data of a case, prefilled from the case, the serial ledger, master data
    /// and [organisation]: JSON, or a printable HTML page with --html.
    Form3911(investigations_cmd::Form3911Args),
    /// Verify a product identifier against the serial ledger, as the VRS endpoint answers a
    /// trading partner (the answer is logged and audited).
    ///
    /// Give --gtin and --serial (and --lot, --exp to compare them), or --scan with what a
    /// scanner read. Exit 0 when verified, 1 when not verified, 2 when it could not be answered.
    Verify(verify_cmd::VerifyArgs),
    /// Trace a package (or a lot) through its containers and custody hops, as the home
    /// organisation: the ten transaction-information elements per hop, and where the records
    /// end, whom to ask next. The request and the answer's digest are recorded.
    Trace(trace_cmd::TraceArgs),
    /// Lot-level records: FDA expiry extensions.
    #[command(subcommand)]
    Lots(verify_cmd::LotsCommand),
    /// AI agents: bearer tokens for the MCP tools on the agent listener.
    #[command(subcommand)]
    Agents(agents_cmd::AgentsCommand),
    /// The MCP tools over stdio, for a local agent (see also the agent listener, /mcp).
    #[command(subcommand)]
    Mcp(agents_cmd::McpCommand),
    /// Copy a SQLite store while the server runs (a consistent snapshot, integrity-checked).
    ///
    /// Refuses an existing --out file. On PostgreSQL it prints the pg_dump command to use and
    /// exits 2. Restore with `dscsa restore`.
    Backup(backup_cmd::BackupArgs),
    /// Restore a backup from `dscsa backup` into a fresh SQLite store (the --data-dir or
    /// --database-url given), then apply newer migrations. Refuses to overwrite a database.
    ///
    /// Check the result with `dscsa audit verify` before starting the server on it.
    Restore(backup_cmd::RestoreArgs),
    /// FDA records requests: produce the signed records package for products (`export`),
    /// and check one (`verify-package`).
    #[command(subcommand)]
    Fda(fda_cmd::FdaCommand),
}

/// Where the configuration comes from: defaults < `--config FILE` < `DSCSA__SECTION__KEY`
/// environment variables < these flags.
#[derive(Debug, Clone, Args)]
pub(crate) struct ConfigArgs {
    /// TOML configuration file (see README, "Configuration").
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Directory for the default SQLite database and the development PKI [default: ./dscsa-data].
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Database URL: sqlite://PATH or postgres://USER[:PASSWORD]@HOST[:PORT]/DB.
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
    /// Partner listener address [default: 127.0.0.1:8443].
    #[arg(long, value_name = "ADDR:PORT")]
    partner_addr: Option<std::net::SocketAddr>,
    /// Ops listener address [default: 127.0.0.1:9090].
    #[arg(long, value_name = "ADDR:PORT")]
    ops_addr: Option<std::net::SocketAddr>,
    /// Agent (MCP) listener address [default: 127.0.0.1:8444].
    #[arg(long, value_name = "ADDR:PORT")]
    agent_addr: Option<std::net::SocketAddr>,
}

impl ConfigArgs {
    /// Loads and resolves the layered configuration.
    pub(crate) fn load(&self) -> anyhow::Result<Config> {
        let overrides = Overrides {
            data_dir: self.data_dir.clone(),
            database_url: self.database_url.clone(),
            partner_addr: self.partner_addr,
            ops_addr: self.ops_addr,
            agent_addr: self.agent_addr,
        };
        Ok(Settings::load_from_process(self.config.as_deref(), &overrides)?.resolve()?)
    }
}

impl Cli {
    /// The log level when `RUST_LOG` is unset: `info` for the server, `warn` for one-shot
    /// commands.
    pub fn default_log_filter(&self) -> &'static str {
        match self.command {
            Command::Serve(_) => "info,sqlx=warn,tower_http=warn",
            _ => "warn",
        }
    }
}

/// Logging to stderr; `RUST_LOG` overrides `default_filter`.
pub fn init_tracing(default_filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if crate::config::json_logs() {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Epcis(cmd) => epcis_cmd::run(cmd),
        Command::Serve(args) => runtime()?.block_on(server_cmd::serve(args)),
        Command::Migrate(args) => runtime()?.block_on(server_cmd::migrate(args)),
        Command::CheckConfig(args) => server_cmd::check_config(&args),
        Command::Partners(cmd) => runtime()?.block_on(partners_cmd::run(cmd)),
        Command::Pki(cmd) => pki_cmd::run(cmd),
        Command::Audit(cmd) => runtime()?.block_on(audit_cmd::run(cmd)),
        Command::Fixtures(cmd) => fixtures_cmd::run(cmd),
        Command::Capture(args) => runtime()?.block_on(capture_cmd::run(args)),
        Command::Investigations(cmd) => runtime()?.block_on(investigations_cmd::run(cmd)),
        Command::Form3911(args) => runtime()?.block_on(investigations_cmd::form(args)),
        Command::Verify(args) => runtime()?.block_on(verify_cmd::run(args)),
        Command::Trace(args) => runtime()?.block_on(trace_cmd::run(args)),
        Command::Lots(cmd) => runtime()?.block_on(verify_cmd::lots(cmd)),
        Command::Agents(cmd) => runtime()?.block_on(agents_cmd::run(cmd)),
        Command::Mcp(cmd) => runtime()?.block_on(agents_cmd::mcp(cmd)),
        Command::Fda(cmd) => runtime()?.block_on(fda_cmd::run(cmd)),
        Command::Backup(args) => runtime()?.block_on(backup_cmd::backup(args)),
        Command::Restore(args) => runtime()?.block_on(backup_cmd::restore(args)),
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    use anyhow::Context as _;
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

#[cfg(test)]
mod tests {
    #[test]
    fn command_line_definition_is_consistent() {
        use clap::CommandFactory as _;
        super::Cli::command().debug_assert();
    }
}
