//! `dscsa fixtures generate`: write the demo supply chain as EPCIS documents.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Subcommand};

#[derive(Debug, Subcommand)]
pub(crate) enum FixturesCommand {
    /// Write a deterministic DSCSA supply chain between the demo principals: EPCIS 1.2 XML
    /// documents as each party would send them (commissioning with lot and expiry, packing,
    /// shipping with PO, despatch advice and transaction statement, receiving, unpacking,
    /// dispensing, a saleable return, a recalled lot) and `manifest.json` naming sample serials
    /// in each state. The same options always give the same bytes.
    Generate(GenerateArgs),
}

#[derive(Debug, Args)]
pub(crate) struct GenerateArgs {
    /// Saleable units (serialised packages) to commission.
    #[arg(long, default_value_t = 1000)]
    units: u64,
    /// Seed of the serial numbers.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Units per case.
    #[arg(long, default_value_t = 10)]
    units_per_case: u64,
    /// Cases per pallet.
    #[arg(long, default_value_t = 10)]
    cases_per_pallet: u64,
    /// Directory to write into (created if missing).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
}

pub(crate) fn run(cmd: FixturesCommand) -> anyhow::Result<ExitCode> {
    let FixturesCommand::Generate(args) = cmd;
    if args.units == 0 || args.units > 10_000_000 {
        anyhow::bail!("--units {}: use 1 to 10,000,000", args.units);
    }
    let generated = crate::fixtures::generate(&crate::fixtures::Options {
        units: args.units,
        seed: args.seed,
        units_per_case: args.units_per_case,
        cases_per_pallet: args.cases_per_pallet,
    });
    crate::fixtures::write(&args.out, &generated)
        .with_context(|| format!("writing into {}", args.out.display()))?;
    println!(
        "wrote {} documents and manifest.json into {}",
        generated.documents.len(),
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}
