//! `dscsa verify` (answer a verification from the ledger, as the VRS endpoint would) and
//! `dscsa lots extend-expiry` (record an FDA-extended expiry date for a lot).

use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Subcommand};

use super::ConfigArgs;
use crate::audit::Outcome;
use crate::services::verify::{self, RawRequest, Request, Requester};
use crate::services::{self, Actor};
use crate::storage::Db;

#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// GTIN-14 of the package.
    #[arg(long, required_unless_present = "scan", conflicts_with = "scan")]
    gtin: Option<String>,
    /// Serial number (AI 21), as printed.
    #[arg(long, required_unless_present = "scan", conflicts_with = "scan")]
    serial: Option<String>,
    /// Lot number (AI 10); without it the lot is not compared.
    #[arg(long, conflicts_with = "scan")]
    lot: Option<String>,
    /// Expiry as YYMMDD (day 00: the whole month); without it the expiry is not compared.
    #[arg(long, conflicts_with = "scan")]
    exp: Option<String>,
    /// What a scanner read from the 2D code: an element string, e.g.
    /// '(01)00614141100019(17)280630(10)LOT2605A(21)S1' or with GS separators, or a GS1
    /// Digital Link, e.g. 'https://id.gs1.org/01/00614141100019/10/LOT2605A/21/S1?17=280630'.
    #[arg(long, value_name = "DATA")]
    scan: Option<String>,
    /// Print the answer as the VRS JSON body instead of text.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    config: ConfigArgs,
}

/// Verifies; exit 0 when verified, 1 when not, 2 when the request could not be answered.
pub(crate) async fn run(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let config = args.config.load()?;
    let db = connect(&config).await?;
    let request = match &args.scan {
        Some(scan) => Request::from_scan(scan),
        None => Request::new(&RawRequest {
            gtin: args.gtin.as_deref().unwrap_or_default(),
            lot: args.lot.as_deref(),
            serial: args.serial.as_deref().unwrap_or_default(),
            exp: args.exp.as_deref(),
            ..RawRequest::default()
        }),
    }
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let actor = Actor::cli();
    let (who, _, _) = actor.audit_identity();
    let requester = Requester {
        id: format!("cli:{who}"),
        channel: "cli",
    };
    let result = verify::verify(&db, &config.organisation, &requester, &request, None).await;
    let mut record = actor.record("verify", &request.epc_key(), Outcome::Ok);
    record.params = serde_json::json!({"scan": args.scan.is_some()});
    let answer = match result {
        Ok(a) => a,
        Err(e) => {
            record.outcome = Outcome::Failed;
            services::record(&db, record).await?;
            return Err(anyhow::anyhow!("{e}"));
        }
    };
    let body = serde_json::to_string_pretty(&answer).context("encoding the answer")?;
    record.result_digest = Some(sha256_hex(body.as_bytes()));
    services::record(&db, record).await?;
    if args.json {
        println!("{body}");
    } else {
        println!("{answer}");
    }
    Ok(if answer.data.verified {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    crate::audit::record::hex(&sha2::Sha256::digest(bytes))
}

async fn connect(config: &crate::config::Config) -> anyhow::Result<Db> {
    let db = Db::connect(&config.database_url, 2)
        .await
        .with_context(|| format!("connecting to {}", config.database_url))?;
    db.migrate().await.context("applying migrations")?;
    Ok(db)
}

/// Lot-level records.
#[derive(Debug, Subcommand)]
pub(crate) enum LotsCommand {
    /// Record that FDA extended the expiry date of a lot: verification then accepts the
    /// extended date as well as the printed one and answers `ExpirationExtended`.
    ExtendExpiry {
        /// GTIN-14 of the product.
        #[arg(long)]
        gtin: String,
        /// Lot number.
        #[arg(long)]
        lot: String,
        /// The extended expiry, YYMMDD.
        #[arg(long, value_name = "YYMMDD")]
        to: String,
        /// Where the extension comes from (FDA letter, web page).
        #[arg(long)]
        reference: String,
        #[command(flatten)]
        config: ConfigArgs,
    },
}

pub(crate) async fn lots(cmd: LotsCommand) -> anyhow::Result<ExitCode> {
    let LotsCommand::ExtendExpiry {
        gtin,
        lot,
        to,
        reference,
        config,
    } = cmd;
    let gtin = epcis::id::Gtin::parse(&gtin).map_err(|e| anyhow::anyhow!("--gtin: {e}"))?;
    epcis::id::charset::check_cset82("lot", &lot).map_err(|e| anyhow::anyhow!("--lot: {e}"))?;
    let to = epcis::id::Expiry::parse_yymmdd(&to).map_err(|e| anyhow::anyhow!("--to: {e}"))?;
    if reference.trim().is_empty() {
        anyhow::bail!("--reference: say where the extension comes from");
    }
    let config = config.load()?;
    let db = connect(&config).await?;
    verify::extend_expiry(&db, &Actor::cli(), &gtin, &lot, to, &reference).await?;
    println!(
        "lot {lot} of {}: expiry extended to {to} ({reference})",
        gtin.as_str()
    );
    Ok(ExitCode::SUCCESS)
}
