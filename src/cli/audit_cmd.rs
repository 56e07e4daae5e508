//! `dscsa audit …`: make the checkpoint key, verify the trail, export it for a SIEM or an
//! auditor, and verify an export on its own.

use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Subcommand, ValueEnum};

use super::ConfigArgs;
use super::partners_cmd::connect;
use crate::audit::checkpoint::public_key_from_hex;
use crate::audit::{CheckpointKey, Outcome};
use crate::services::{self, Actor};

#[derive(Debug, Subcommand)]
pub(crate) enum AuditCommand {
    /// Create the Ed25519 key that signs audit checkpoints, and print its public key.
    ///
    /// Keep the file outside the database's host or volume, readable only by the server's user,
    /// and give its path as `audit.key_file`. Give the printed public key to auditors: with it
    /// they can verify the trail, or an export, without the secret.
    Keygen {
        /// Where to write the key (refuses to overwrite).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Recompute the hash chain and check every signed checkpoint.
    ///
    /// Exit 0 when the trail is intact; otherwise print the first bad sequence number and what
    /// is wrong (changed, missing, reordered, inserted, checkpoint mismatch, truncated, bad
    /// signature) and exit 1. With --file, verify an export instead of the database.
    Verify(VerifyArgs),
    /// Write the trail (or a range of it) as JSON lines: a header, the records, and the
    /// checkpoints in the range, so that the file verifies on its own (`audit verify --file`).
    Export(ExportArgs),
}

#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// Start at this sequence number (the record before it is taken as the anchor).
    #[arg(long, value_name = "SEQ", default_value_t = 1)]
    from: i64,
    /// Verify this export file instead of the database.
    #[arg(long, value_name = "EXPORT.jsonl")]
    file: Option<PathBuf>,
    /// The trusted public key (hex), e.g. as printed by `audit keygen`; default: the public
    /// half of the configured audit.key_file.
    #[arg(long, value_name = "HEX")]
    public_key: Option<String>,
    #[command(flatten)]
    config: ConfigArgs,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum Format {
    /// One JSON object per line.
    Jsonl,
}

#[derive(Debug, Args)]
pub(crate) struct ExportArgs {
    /// First sequence number to export.
    #[arg(long, value_name = "SEQ", default_value_t = 1)]
    from: i64,
    /// Last sequence number to export (default: the newest).
    #[arg(long, value_name = "SEQ")]
    to: Option<i64>,
    /// Output format.
    #[arg(long, value_enum, default_value = "jsonl")]
    format: Format,
    /// Write here instead of standard output.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    #[command(flatten)]
    config: ConfigArgs,
}

/// The key checkpoints must be signed with: `--public-key`, else the configured key file's
/// public half. `None` when neither exists (no server has started yet): the chain is then
/// checked without its checkpoints, and the report says so.
fn trusted_key(
    public: Option<&str>,
    config: &ConfigArgs,
) -> anyhow::Result<Option<ed25519_dalek::VerifyingKey>> {
    if let Some(hex) = public {
        return public_key_from_hex(hex)
            .map(Some)
            .context("--public-key is not an Ed25519 public key (64 hex characters)");
    }
    let config = config.load()?;
    if !config.audit.key_file.exists() {
        eprintln!(
            "warning: no audit key at {} and no --public-key: checking the hash chain only; \
             signed checkpoints are NOT checked",
            config.audit.key_file.display()
        );
        return Ok(None);
    }
    let key = CheckpointKey::read(&config.audit.key_file)
        .context("the configured audit.key_file cannot be read (give --public-key instead)")?;
    Ok(Some(key.public()))
}

pub(crate) async fn run(cmd: AuditCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        AuditCommand::Keygen { out } => {
            let key = CheckpointKey::generate()?;
            key.write(&out)?;
            println!(
                "wrote {} (keep it secret; set audit.key_file to it)",
                out.display()
            );
            println!("public key: {}", key.public_hex());
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Verify(args) => verify(args).await,
        AuditCommand::Export(args) => export(args).await,
    }
}

async fn verify(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let key = trusted_key(args.public_key.as_deref(), &args.config)?;
    if let Some(file) = &args.file {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read {}", file.display()))?;
        let Some(key) = key else {
            anyhow::bail!("verifying an export needs the trusted key: give --public-key HEX");
        };
        return Ok(report(
            services::audit::verify_export(&text, &key).map_err(anyhow::Error::msg)?,
        ));
    }
    let db = connect(&args.config).await?;
    let result = match key {
        Some(key) => services::audit::verify(&db, args.from, &key).await?,
        None => services::audit::verify_chain_only(&db, args.from).await?,
    };
    let (outcome, rows) = match &result {
        Ok(s) => (Outcome::Ok, i64::try_from(s.records).ok()),
        Err(_) => (Outcome::Failed, None),
    };
    let mut record = Actor::cli().record("audit verify", "", outcome);
    record.params = serde_json::json!({"from": args.from});
    record.rows = rows;
    services::record(&db, record).await?;
    Ok(report(result))
}

fn report(result: Result<crate::audit::Summary, crate::audit::Break>) -> ExitCode {
    match result {
        Ok(s) => {
            match s.range {
                Some((a, b)) => println!(
                    "audit trail intact: {} records (seq {a}..={b}), {} signed checkpoints checked, head {}",
                    s.records, s.checkpoints, s.head_hash
                ),
                None => println!("audit trail intact: no records"),
            }
            ExitCode::SUCCESS
        }
        Err(b) => {
            println!("audit trail BROKEN at {b}");
            ExitCode::from(1)
        }
    }
}

async fn export(args: ExportArgs) -> anyhow::Result<ExitCode> {
    let Format::Jsonl = args.format;
    let db = connect(&args.config).await?;
    let count = match &args.out {
        Some(path) => {
            let file = std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?;
            let mut out = BufWriter::new(file);
            let n = services::audit::export(&db, args.from, args.to, &mut out).await?;
            out.flush()?;
            n
        }
        None => {
            let stdout = std::io::stdout();
            let mut out = BufWriter::new(stdout.lock());
            let n = services::audit::export(&db, args.from, args.to, &mut out).await?;
            out.flush()?;
            n
        }
    };
    let mut record = Actor::cli().record("audit export", "", Outcome::Ok);
    record.params = serde_json::json!({"from": args.from, "to": args.to});
    record.rows = i64::try_from(count).ok();
    services::record(&db, record).await?;
    eprintln!("exported {count} records");
    Ok(ExitCode::SUCCESS)
}
