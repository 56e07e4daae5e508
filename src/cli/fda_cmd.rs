//! `dscsa fda …`: produce an FDA records package on the host (`export`, the same service as
//! `POST /fda/records-requests`), and check one (`verify-package`), as FDA or an auditor
//! would, with only the package and the producer's public key.
//!
//! Exit codes of `verify-package`: 0 the package is as produced; 1 it was altered (a file
//! changed, added or missing, the manifest changed, or signed by another key); 2 it could not
//! be checked (unreadable file, not a zip, no key).

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use clap::{Args, Subcommand};

use super::ConfigArgs;
use super::partners_cmd::connect;
use crate::audit::CheckpointKey;
use crate::audit::checkpoint::public_key_from_hex;
use crate::services::Actor;
use crate::services::fda::{self as svc, FdaError, NewRequest, ProductSpec};

#[derive(Debug, Subcommand)]
pub(crate) enum FdaCommand {
    /// Produce the records package FDA asked for: every transaction's information and
    /// statement for the products, as a signed zip (CSV, JSON, printable HTML, EPCIS 1.2 and
    /// 2.0 events, audit records, manifest with SHA-256s).
    ///
    /// Name the products with --epc (one or more), --gtin with --serial or --lot, or --ndc with
    /// --lot. The request is recorded with its 24-hour deadline, and producing the package is
    /// audited (who, which request, which products).
    ///
    /// Example: dscsa fda export --gtin 00614141100019 --lot LOT2605R --request-ref "FDA letter 2026-123" --out records.zip
    Export(ExportArgs),
    /// Check a records package: every file's SHA-256 against the manifest and the manifest's
    /// signature against the producer's public key. Exit 0 intact, 1 altered, 2 could not run.
    VerifyPackage(VerifyArgs),
}

#[derive(Debug, Args)]
pub(crate) struct ExportArgs {
    /// A package: an SGTIN EPC URN or GS1 Digital Link (repeat for several).
    #[arg(long, value_name = "EPC", num_args = 1.., conflicts_with_all = ["gtin", "ndc", "serial", "lot"])]
    epc: Vec<String>,
    /// GTIN-14, with --serial (a package) or --lot (a lot).
    #[arg(long, value_name = "GTIN", conflicts_with = "ndc")]
    gtin: Option<String>,
    /// Serial number (with --gtin).
    #[arg(long, value_name = "SERIAL", requires = "gtin", conflicts_with = "lot")]
    serial: Option<String>,
    /// Lot number (with --gtin or --ndc).
    #[arg(long, value_name = "LOT")]
    lot: Option<String>,
    /// NDC-10, hyphenated or ten digits (with --lot).
    #[arg(long, value_name = "NDC", requires = "lot")]
    ndc: Option<String>,
    /// Period start: a date (from midnight UTC) or an RFC 3339 time.
    #[arg(long, value_name = "DATE")]
    from: Option<String>,
    /// Period end: a date (that day included) or an RFC 3339 time (excluded).
    #[arg(long, value_name = "DATE")]
    to: Option<String>,
    /// The requester's reference, e.g. "FDA letter 2026-123".
    #[arg(long, value_name = "TEXT")]
    request_ref: String,
    /// The regulator principal the request is for: the products' events become visible to it.
    #[arg(long, value_name = "PRINCIPAL")]
    regulator: Option<String>,
    /// Where to write the zip (refuses to overwrite).
    #[arg(long, value_name = "FILE.zip")]
    out: PathBuf,
    #[command(flatten)]
    config: ConfigArgs,
}

#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// The package.
    #[arg(value_name = "FILE.zip")]
    file: PathBuf,
    /// The producer's public key (64 hex characters, as README.txt and `dscsa audit keygen`
    /// print it).
    #[arg(long, value_name = "HEX", conflicts_with = "key_file")]
    public_key: Option<String>,
    /// An audit key file (its public half is used); default: the configured audit.key_file.
    #[arg(long, value_name = "FILE")]
    key_file: Option<PathBuf>,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    config: ConfigArgs,
}

pub(crate) async fn run(cmd: FdaCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        FdaCommand::Export(args) => export(args).await,
        FdaCommand::VerifyPackage(args) => Ok(verify(&args)),
    }
}

fn products(args: &ExportArgs) -> Vec<ProductSpec> {
    if !args.epc.is_empty() {
        return args
            .epc
            .iter()
            .map(|e| ProductSpec {
                epc: Some(e.clone()),
                ..ProductSpec::default()
            })
            .collect();
    }
    vec![ProductSpec {
        gtin: args.gtin.clone(),
        serial: args.serial.clone(),
        lot: args.lot.clone(),
        ndc: args.ndc.clone(),
        ..ProductSpec::default()
    }]
}

/// A flag name for a request field, so errors name what the user typed.
fn flag(field: &str) -> String {
    let last = field.rsplit('.').next().unwrap_or(field);
    match last {
        "requestRef" => "--request-ref".into(),
        "products" => "--epc/--gtin/--ndc".into(),
        f if f.starts_with("products[") => "--epc/--gtin/--serial/--lot/--ndc".into(),
        f => format!("--{f}"),
    }
}

async fn export(args: ExportArgs) -> anyhow::Result<ExitCode> {
    if args.epc.is_empty() && args.gtin.is_none() && args.ndc.is_none() {
        anyhow::bail!(
            "name the products: --epc EPC..., --gtin G --serial S, --gtin G --lot L, or --ndc N --lot L"
        );
    }
    if args.out.exists() {
        anyhow::bail!(
            "--out {}: the file exists; choose another name",
            args.out.display()
        );
    }
    let config = args.config.load()?;
    let key =
        crate::app::load_audit_key(&config.audit).context("the audit key signs the package")?;
    let db = connect(&args.config).await?;
    let new = NewRequest {
        request_ref: args.request_ref.clone(),
        products: products(&args),
        from: args.from.clone(),
        to: args.to.clone(),
        regulator: args.regulator.clone(),
    };
    let checked = match svc::request::check(&db, &new).await {
        Ok(c) => c,
        Err(FdaError::Invalid { field, detail }) => {
            anyhow::bail!("{}: {detail}", flag(&field))
        }
        Err(e) => return Err(e.into()),
    };
    let actor = Actor::cli();
    let job = svc::receive(&db, &actor, &checked).await?;
    let bar = Arc::new(Bar::new());
    let producer = svc::Producer {
        db: db.clone(),
        organisation: Arc::new(config.organisation.clone()),
        key: Arc::new(key),
    };
    let produced = svc::produce(&producer, &actor, &job, &checked, false, bar.clone())
        .await
        .context("producing the records package")?;
    bar.0.finish_and_clear();
    write_new(&args.out, &produced.bytes)?;
    let c = &produced.contents;
    println!(
        "{}: request {} ({}), {} product(s), {} package(s), {} transaction(s), {} event(s), \
         {} investigation(s), {} verification(s), {} audit record(s); {} bytes, SHA-256 {}; \
         due {}",
        args.out.display(),
        job.id,
        job.request_ref,
        c.products,
        c.packages,
        c.transactions,
        c.events,
        c.investigations,
        c.verifications,
        c.audit_records,
        produced.bytes.len(),
        produced.job.package_sha256.as_deref().unwrap_or("-"),
        job.deadline,
    );
    db.close().await;
    Ok(ExitCode::SUCCESS)
}

/// Writes a new file, refusing to replace one.
fn write_new(path: &std::path::Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .with_context(|| format!("--out {}", path.display()))?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .with_context(|| format!("writing {}", path.display()))
}

/// The progress bar: one per stage, on stderr when it is a terminal.
struct Bar(indicatif::ProgressBar);

impl Bar {
    fn new() -> Self {
        let bar = if std::io::stderr().is_terminal() {
            indicatif::ProgressBar::new(0)
        } else {
            indicatif::ProgressBar::hidden()
        };
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("{msg:16} {bar:30} {pos}/{len} {elapsed}")
        {
            bar.set_style(style);
        }
        Self(bar)
    }
}

impl svc::Progress for Bar {
    fn stage(&self, name: &str, total: u64) {
        self.0.set_message(name.to_owned());
        self.0.set_length(total);
        self.0.set_position(0);
    }

    fn advance(&self, n: u64) {
        self.0.inc(n);
    }
}

fn verify(args: &VerifyArgs) -> ExitCode {
    let key = match trusted(args) {
        Ok(k) => k,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(2);
        }
    };
    let bytes = match std::fs::read(&args.file) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: {}: {e}", args.file.display());
            return ExitCode::from(2);
        }
    };
    let v = match svc::manifest::verify_package(&bytes, &key) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("error: {}: {e}", args.file.display());
            return ExitCode::from(2);
        }
    };
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({"ok": v.ok(), "result": v}))
                .unwrap_or_default()
        );
    } else if v.ok() {
        println!(
            "{}: intact: {} file(s) match the manifest, signature valid (request {}, produced {})",
            args.file.display(),
            v.files_checked,
            v.request_ref.as_deref().unwrap_or("-"),
            v.produced_at.as_deref().unwrap_or("-"),
        );
    } else {
        println!("{}: ALTERED", args.file.display());
        for p in &v.problems {
            println!("  {p}");
        }
    }
    if v.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// `--public-key`, else the public half of `--key-file`, else of the configured audit key.
fn trusted(args: &VerifyArgs) -> anyhow::Result<ed25519_dalek::VerifyingKey> {
    if let Some(hex) = &args.public_key {
        return public_key_from_hex(hex)
            .context("--public-key is not an Ed25519 public key (64 hex characters)");
    }
    let path = match &args.key_file {
        Some(p) => p.clone(),
        None => args.config.load()?.audit.key_file,
    };
    let key = CheckpointKey::read(&path).with_context(|| {
        format!(
            "no --public-key, and the key file {} cannot be read",
            path.display()
        )
    })?;
    Ok(key.public())
}
