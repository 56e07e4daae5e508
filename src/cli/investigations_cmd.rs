//! `dscsa investigations …` and `dscsa form3911`: suspect and illegitimate product cases on the
//! host, as the command-line actor, through the same services as the REST API.
//!
//! Exit codes: 0 done; 1 refused (a bad value, a step the case's state does not allow, no
//! such case: the message says which, and the refusal is recorded in the audit trail); 2 the
//! command could not run.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Subcommand};

use super::ConfigArgs;
use crate::audit::Outcome;
use crate::config::OrganisationSettings;
use crate::services::investigations::{
    self as svc, CaseView, Classification, Determination, InvestigationError, NewDetermination,
    NewInvestigation, Product, Reason, Status, Termination, form3911,
};
use crate::services::{self, Actor};
use crate::storage::Db;

#[derive(Debug, Subcommand)]
pub(crate) enum InvestigationsCommand {
    /// Open a case for serials or lots. Reason `suspect` or `illegitimate` marks the serials
    /// suspect in the ledger; `recall` marks the lots recalled.
    ///
    /// Example: dscsa investigations open --reason suspect --description "Carton seal broken"
    /// --epc urn:epc:id:sgtin:0614141.010001.1234
    Open(OpenArgs),
    /// List cases, newest first, with their FDA deadline.
    List {
        /// Only cases with this status (open, quarantined, determined, termination_requested,
        /// terminated, closed).
        #[arg(long)]
        status: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: i64,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Show a case: state, FDA clock, products and their ledger flags, timeline.
    Show(CaseArgs),
    /// Quarantine the case's product: captures an EPCIS ObjectEvent (OBSERVE, bizStep holding,
    /// disposition sellable_not_accessible) as the home organisation and marks the serials
    /// quarantined and suspect.
    Quarantine(CaseArgs),
    /// Add a note to the case's timeline (at most 4000 characters; no patient information).
    Note {
        /// Case number or reference (INV-2026-0001).
        id: String,
        /// The note.
        text: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Verify the case's packages (its serials, and of its lots the larger of 3 or 10 %) as a
    /// VRS requester would be answered, and attach the answers to the case.
    Verify(CaseArgs),
    /// Record the determination. `illegitimate` marks the serials illegitimate and starts the
    /// 24-hour FDA notification clock; `cleared` clears the flags and captures a release event
    /// (sellable_accessible) if the product was quarantined; `suspect` keeps investigating.
    Determine {
        /// Case number or reference.
        id: String,
        /// cleared | suspect | illegitimate.
        #[arg(long = "as", value_name = "DETERMINATION")]
        determination: String,
        /// For illegitimate product (Form FDA 3911 item 5): counterfeit, diverted,
        /// fraudulent_transaction, intentional_adulteration, stolen, unfit_for_distribution.
        #[arg(long)]
        classification: Option<String>,
        /// Why.
        #[arg(long)]
        note: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Record that FDA was notified (Form FDA 3911 filed) and the incident number it gave.
    NotifyFda {
        /// Case number or reference.
        id: String,
        /// FDA's incident number.
        #[arg(long)]
        incident_number: String,
        /// When FDA was notified (RFC 3339) [default: now].
        #[arg(long)]
        notified_at: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Request termination of the FDA notification (after consulting FDA), or, with
    /// --confirm, record that FDA agreed.
    Terminate {
        /// Case number or reference.
        id: String,
        /// Why notification is no longer necessary (Form FDA 3911 item 18).
        #[arg(long, required_unless_present = "confirm", conflicts_with = "confirm")]
        reason: Option<String>,
        /// FDA agreed to terminate.
        #[arg(long)]
        confirm: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Close a case (cleared, or illegitimate with the notification terminated).
    Close {
        /// Case number or reference.
        id: String,
        /// A closing note.
        #[arg(long)]
        note: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        config: ConfigArgs,
    },
}

#[derive(Debug, Args)]
pub(crate) struct OpenArgs {
    /// suspect | illegitimate | recall | compliance_audit.
    #[arg(long)]
    reason: String,
    /// What prompted the case (at most 4000 characters; no patient information).
    #[arg(long)]
    description: String,
    /// A serial or lot: SGTIN or LGTIN EPC URN, or GS1 Digital Link. Repeatable.
    #[arg(long, value_name = "EPC")]
    epc: Vec<String>,
    /// GTIN for --serial and --lot.
    #[arg(long)]
    gtin: Option<String>,
    /// A serial number of --gtin. Repeatable.
    #[arg(long, requires = "gtin")]
    serial: Vec<String>,
    /// A lot of --gtin. Repeatable.
    #[arg(long, requires = "gtin")]
    lot: Vec<String>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    config: ConfigArgs,
}

#[derive(Debug, Args)]
pub(crate) struct CaseArgs {
    /// Case number or reference (INV-2026-0001).
    id: String,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    config: ConfigArgs,
}

/// `dscsa form3911`.
#[derive(Debug, Args)]
pub(crate) struct Form3911Args {
    /// Case number or reference.
    id: String,
    /// A printable HTML page instead of JSON.
    #[arg(long)]
    html: bool,
    /// Write to this file instead of standard output.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    #[command(flatten)]
    config: ConfigArgs,
}

async fn connect(config: &ConfigArgs) -> anyhow::Result<(Db, OrganisationSettings)> {
    let config = config.load()?;
    let db = Db::connect(&config.database_url, 2)
        .await
        .with_context(|| format!("connecting to {}", config.database_url))?;
    db.migrate().await.context("applying migrations")?;
    Ok((db, config.organisation))
}

impl InvestigationsCommand {
    fn audit_info(&self) -> (&'static str, &str, &ConfigArgs) {
        match self {
            Self::Open(a) => ("investigations open", "", &a.config),
            Self::List { config, .. } => ("investigations list", "", config),
            Self::Show(a) => ("investigations show", &a.id, &a.config),
            Self::Quarantine(a) => ("investigations quarantine", &a.id, &a.config),
            Self::Note { id, config, .. } => ("investigations note", id, config),
            Self::Verify(a) => ("investigations verify", &a.id, &a.config),
            Self::Determine { id, config, .. } => ("investigations determine", id, config),
            Self::NotifyFda { id, config, .. } => ("investigations notify-fda", id, config),
            Self::Terminate { id, config, .. } => ("investigations terminate", id, config),
            Self::Close { id, config, .. } => ("investigations close", id, config),
        }
    }
}

fn parse_word<T>(
    field: &str,
    value: &str,
    parse: fn(&str) -> Option<T>,
    choices: String,
) -> Result<T, InvestigationError> {
    parse(value.trim()).ok_or_else(|| InvestigationError::Invalid {
        field: field.to_owned(),
        detail: format!("{value:?} is not one of {choices}"),
    })
}

/// Runs an `investigations` command.
pub(crate) async fn run(cmd: InvestigationsCommand) -> anyhow::Result<ExitCode> {
    let (action, subject, config) = cmd.audit_info();
    let (action, subject, config) = (action, subject.to_owned(), config.clone());
    let (db, org) = connect(&config).await?;
    let result = run_inner(&db, &org, cmd).await;
    let code = refused(&db, action, &subject, result).await;
    db.close().await;
    code
}

/// Turns a refusal into exit 1 with its message, recorded as denied; storage failures stay
/// errors (exit 2).
async fn refused(
    db: &Db,
    action: &'static str,
    subject: &str,
    result: Result<(), InvestigationError>,
) -> anyhow::Result<ExitCode> {
    match result {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(InvestigationError::Storage(e)) => Err(e).context(action),
        Err(e) => {
            let mut record = Actor::cli().record(action, subject, Outcome::Denied);
            record.params = serde_json::json!({ "error": e.to_string() });
            services::record(db, record).await?;
            eprintln!("error: {e}");
            Ok(ExitCode::from(1))
        }
    }
}

async fn run_inner(
    db: &Db,
    org: &OrganisationSettings,
    cmd: InvestigationsCommand,
) -> Result<(), InvestigationError> {
    let actor = Actor::cli();
    let (case, json) = match cmd {
        InvestigationsCommand::Open(a) => {
            let reason = parse_word("--reason", &a.reason, Reason::parse, Reason::choices())?;
            let mut products = Vec::new();
            for e in &a.epc {
                products.push(Product::parse_identifier("--epc", e)?);
            }
            let gtin = a.gtin.as_deref().unwrap_or_default();
            for s in &a.serial {
                products.push(Product::from_gtin_serial("--serial", gtin, s)?);
            }
            for l in &a.lot {
                products.push(Product::from_gtin_lot("--lot", gtin, l)?);
            }
            let new = NewInvestigation {
                reason,
                description: a.description,
                products,
            };
            (svc::open(db, &actor, new).await?, a.json)
        }
        InvestigationsCommand::List {
            status,
            limit,
            json,
            ..
        } => {
            let status = status
                .map(|s| parse_word("--status", &s, Status::parse, Status::choices()))
                .transpose()?;
            let cases = svc::list(db, status, limit).await?;
            let mut record = actor.record("investigations list", "", Outcome::Ok);
            record.rows = i64::try_from(cases.len()).ok();
            services::record(db, record).await?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&cases).unwrap_or_default()
                );
            } else {
                println!(
                    "{:<15} {:<17} {:<22} {:<13} FDA",
                    "REFERENCE", "REASON", "STATUS", "DETERMINATION"
                );
                for c in &cases {
                    println!(
                        "{:<15} {:<17} {:<22} {:<13} {}",
                        c.reference,
                        c.reason,
                        c.status,
                        c.determination.as_deref().unwrap_or("-"),
                        c.fda.summary
                    );
                }
            }
            return Ok(());
        }
        InvestigationsCommand::Show(a) => {
            let case = svc::show(db, &a.id).await?;
            services::record(
                db,
                actor.record("investigations show", &case.reference, Outcome::Ok),
            )
            .await?;
            (case, a.json)
        }
        InvestigationsCommand::Quarantine(a) => {
            (svc::quarantine(db, &actor, org, &a.id).await?, a.json)
        }
        InvestigationsCommand::Verify(a) => {
            (svc::verify_case(db, &actor, org, &a.id).await?, a.json)
        }
        InvestigationsCommand::Note { id, text, json, .. } => {
            (svc::note(db, &actor, &id, &text).await?, json)
        }
        InvestigationsCommand::Determine {
            id,
            determination,
            classification,
            note,
            json,
            ..
        } => {
            let d = NewDetermination {
                determination: parse_word(
                    "--as",
                    &determination,
                    Determination::parse,
                    Determination::choices(),
                )?,
                classification: classification
                    .map(|c| {
                        parse_word(
                            "--classification",
                            &c,
                            Classification::parse,
                            Classification::choices(),
                        )
                    })
                    .transpose()?,
                note,
            };
            (svc::determine(db, &actor, org, &id, d).await?, json)
        }
        InvestigationsCommand::NotifyFda {
            id,
            incident_number,
            notified_at,
            json,
            ..
        } => (
            svc::notify_fda(db, &actor, &id, &incident_number, notified_at.as_deref()).await?,
            json,
        ),
        InvestigationsCommand::Terminate {
            id,
            reason,
            confirm,
            json,
            ..
        } => {
            let step = match (reason, confirm) {
                (_, true) => Termination::Confirm,
                (Some(reason), false) => Termination::Request { reason },
                (None, false) => {
                    return Err(InvestigationError::Invalid {
                        field: "--reason".into(),
                        detail: "give --reason to request termination, or --confirm".into(),
                    });
                }
            };
            (svc::terminate(db, &actor, &id, step).await?, json)
        }
        InvestigationsCommand::Close { id, note, json, .. } => {
            (svc::close(db, &actor, &id, note.as_deref()).await?, json)
        }
    };
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&case).unwrap_or_default()
        );
    } else {
        print_case(&case);
    }
    Ok(())
}

fn print_case(c: &CaseView) {
    println!(
        "{} (#{}): {} — reason {}",
        c.reference, c.id, c.status, c.reason
    );
    if let Some(d) = &c.determination {
        println!(
            "determination: {d}{}",
            c.classification
                .as_deref()
                .map(|x| format!(" ({x})"))
                .unwrap_or_default()
        );
    }
    println!("{}", c.fda.summary);
    if let Some(n) = &c.fda_incident_number {
        println!("FDA incident number: {n}");
    }
    println!("opened by {} at {}", c.opened_by, c.opened_at);
    println!("description: {}", c.description);
    println!("products:");
    for i in &c.items {
        match (&i.serial, &i.lot) {
            (Some(s), _) => println!("  serial {} (GTIN {})", s, i.gtin),
            (None, Some(l)) => println!("  lot {} (GTIN {})", l, i.gtin),
            _ => println!("  GTIN {}", i.gtin),
        }
    }
    let flagged = |f: fn(&svc::SerialView) -> bool| c.serials.iter().filter(|s| f(s)).count();
    println!(
        "ledger: {} serial(s); suspect {}, quarantined {}, illegitimate {}, recalled {}",
        c.serials.len(),
        flagged(|s| s.suspect),
        flagged(|s| s.quarantined),
        flagged(|s| s.illegitimate),
        flagged(|s| s.recalled)
    );
    if !c.verifications.is_empty() {
        println!("verifications:");
        for v in &c.verifications {
            println!(
                "  {} serial {}: verified {} {}",
                v.requested_at,
                v.serial,
                v.answer["data"]["verified"],
                v.answer["data"]["verificationFailureReason"]
                    .as_str()
                    .or(v.answer["data"]["additionalInfo"].as_str())
                    .unwrap_or("")
            );
        }
    }
    println!("timeline:");
    for e in &c.timeline {
        println!(
            "  {:>3} {} {} by {} -> {}",
            e.seq, e.at, e.action, e.actor, e.status_after
        );
    }
}

/// Runs `dscsa form3911`.
pub(crate) async fn form(args: Form3911Args) -> anyhow::Result<ExitCode> {
    let (db, org) = connect(&args.config).await?;
    let result = async {
        let data = form3911::build(&db, &org, &args.id).await?;
        services::record(
            &db,
            Actor::cli().record("form3911", &data.investigation, Outcome::Ok),
        )
        .await?;
        Ok::<_, InvestigationError>(data)
    }
    .await;
    let data = match result {
        Ok(d) => d,
        Err(e) => {
            let code = refused(&db, "form3911", &args.id, Err(e)).await;
            db.close().await;
            return code;
        }
    };
    db.close().await;
    let text = if args.html {
        form3911::html(&data)
    } else {
        serde_json::to_string_pretty(&data).context("encoding the form")? + "\n"
    };
    match &args.out {
        Some(path) => {
            std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
            eprintln!("wrote {}", path.display());
        }
        None => print!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}
