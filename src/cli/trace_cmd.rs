//! `dscsa trace`: answer a tracing request as the home organisation (every hop), from the
//! command line, with the same service as `POST /tracing/requests`.

use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, ValueEnum};

use super::ConfigArgs;
use crate::audit::Outcome;
use crate::services::trace::{self, CheckedRequest, Product, Reason, ResponseType, Scope};
use crate::services::verify::Requester;
use crate::services::{self, Actor};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ResponseArg {
    /// Every custody hop with the ten transaction-information elements.
    TransactionInformation,
    /// Every owner we know of, in order.
    AllKnownOwners,
    /// The last owner we know of.
    LastKnownOwner,
}

#[derive(Debug, Args)]
pub(crate) struct TraceArgs {
    /// The package: an SGTIN EPC URN or a GS1 Digital Link with GTIN and serial.
    #[arg(conflicts_with_all = ["gtin", "serial", "lot"])]
    epc: Option<String>,
    /// GTIN-14 (with --serial for a package, with --lot for a lot).
    #[arg(long, required_unless_present = "epc")]
    gtin: Option<String>,
    /// Serial number of the package.
    #[arg(long, conflicts_with = "lot")]
    serial: Option<String>,
    /// Lot number: trace every package of the lot.
    #[arg(long)]
    lot: Option<String>,
    /// What to answer.
    #[arg(long, value_enum, default_value = "transaction-information")]
    response_type: ResponseArg,
    /// Print the answer document (JSON) instead of text.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    config: ConfigArgs,
}

pub(crate) async fn run(args: TraceArgs) -> anyhow::Result<ExitCode> {
    let product = match (&args.epc, &args.gtin, &args.serial, &args.lot) {
        (Some(epc), ..) => Product::from_epc(epc).map_err(|e| anyhow::anyhow!(e))?,
        (None, Some(gtin), serial, lot) => {
            let gtin = epcis::id::Gtin::parse(gtin).map_err(|e| anyhow::anyhow!("--gtin: {e}"))?;
            match (serial, lot) {
                (Some(serial), _) => Product::Serial {
                    gtin,
                    serial: serial.clone(),
                },
                (None, Some(lot)) => Product::Lot {
                    gtin,
                    lot: lot.clone(),
                },
                (None, None) => anyhow::bail!("give --serial (a package) or --lot (a lot)"),
            }
        }
        (None, None, ..) => anyhow::bail!("give an EPC, or --gtin with --serial or --lot"),
    };
    let response_type = match args.response_type {
        ResponseArg::TransactionInformation => ResponseType::TransactionInformation,
        ResponseArg::AllKnownOwners => ResponseType::AllKnownOwners,
        ResponseArg::LastKnownOwner => ResponseType::LastKnownOwner,
    };
    let config = args.config.load()?;
    let db = super::partners_cmd::connect(&args.config).await?;
    let actor = Actor::cli();
    let (who, _, _) = actor.audit_identity();
    let now = crate::storage::now_text();
    let request = CheckedRequest {
        request_id: uuid::Uuid::new_v4().to_string(),
        requested_at: now.clone(),
        requester_gln: None,
        reason: Reason::ComplianceAudit,
        response_type,
        product: product.clone(),
        test: false,
    };
    let raw = serde_json::json!({"command": "dscsa trace", "epc": args.epc, "gtin": args.gtin,
        "serial": args.serial, "lot": args.lot, "responseType": response_type.as_str()})
    .to_string();
    let requester = Requester {
        id: format!("cli:{who}"),
        channel: "cli",
    };
    let answer = trace::answer(
        &db,
        &config.organisation,
        &Scope::Everything,
        &requester,
        &request,
        &raw,
        now,
    )
    .await
    .context("tracing")?;
    let text = serde_json::to_string_pretty(&answer).context("encoding the answer")?;
    let mut record = actor.record("trace", &subject(&product), Outcome::Ok);
    record.params = serde_json::json!({"responseType": response_type.as_str()});
    record.result_digest = Some({
        use sha2::Digest as _;
        crate::audit::record::hex(&sha2::Sha256::digest(text.as_bytes()))
    });
    services::record(&db, record).await?;
    if args.json {
        println!("{text}");
    } else {
        print!("{}", render(&answer["tiResponse"]["trace"]));
    }
    Ok(ExitCode::SUCCESS)
}

fn subject(product: &Product) -> String {
    match product {
        Product::Serial { gtin, serial } => services::verify::sgtin_key(gtin, serial),
        Product::Lot { gtin, lot } => format!("{} lot {lot}", gtin.as_str()),
    }
}

/// The answer as text for a person at a terminal.
fn render(t: &serde_json::Value) -> String {
    let s = |v: &serde_json::Value| v.as_str().unwrap_or("-").to_owned();
    let party = |p: &serde_json::Value| format!("{} ({})", s(&p["name"]), s(&p["gln"]));
    let p = &t["product"];
    let mut out = format!(
        "{} {} {} NDC {} GTIN {} lot {} expiry {} ({} package(s))\n",
        s(&p["name"]),
        s(&p["strength"]),
        s(&p["dosageForm"]),
        s(&p["ndc"]),
        s(&p["gtin"]),
        s(&p["lot"]),
        s(&p["expiry"]),
        p["packages"]
    );
    out.push_str(&format!(
        "records begin with: {}{}\n",
        s(&t["upstream"]["endsWith"]),
        t["upstream"]["askNext"]
            .as_object()
            .map(|_| format!(", ask {}", party(&t["upstream"]["askNext"])))
            .unwrap_or_default()
    ));
    for h in t["hops"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "{}  {} -> {}  {} unit(s){}\n",
            s(&h["transactionDate"]),
            party(&h["transferor"]),
            party(&h["transferee"]),
            h["numberOfContainers"],
            h["viaContainers"]
                .as_array()
                .filter(|v| !v.is_empty())
                .map(|v| format!(" via {}", v.iter().map(s).collect::<Vec<_>>().join(", ")))
                .unwrap_or_default()
        ));
    }
    for o in t["owners"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "owner {} since {}\n",
            party(&o["party"]),
            s(&o["since"])
        ));
    }
    out.push_str(&format!(
        "records end with: {}{}\n",
        s(&t["downstream"]["endsWith"]),
        t["downstream"]["askNext"]
            .as_object()
            .map(|_| format!(", ask {}", party(&t["downstream"]["askNext"])))
            .unwrap_or_default()
    ));
    out
}
