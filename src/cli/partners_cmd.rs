//! `dscsa partners …`: register principals, list and show them, suspend and reinstate them,
//! bind and unbind their certificates. Every change goes through `services::principals`, one
//! transaction each, with its audit seam.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand, ValueEnum};
use partners::binding::BindingMatch;
use partners::{
    Fingerprint, Licences, PartnerRecord, PartnerRole, PeerIdentity, Principal, PrincipalId,
    PrincipalKind, StaffRole, Status, Visibility,
};

use super::ConfigArgs;
use crate::audit::Outcome;
use crate::services::{self, Actor};
use crate::storage::{Db, principals};

#[derive(Debug, Subcommand)]
pub(crate) enum PartnersCommand {
    /// Register a principal: a trading partner (default), a regulator, a staff member or an
    /// internal system, optionally with its first certificate bindings.
    ///
    /// Example: dscsa partners add acme-wholesale --legal-name "Acme Wholesale LLC"
    /// --role wholesaler --gln 0614141000005 --prefix 0614141 --state-licence WD-1234 --state NJ
    /// --cert acme.pem
    Add(Box<AddArgs>),
    /// List every principal with its kind, role, status and number of active bindings.
    List {
        #[command(flatten)]
        config: ConfigArgs,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show one principal: record, bindings (active and removed, with ids), visibility.
    Show {
        /// Principal id.
        id: PrincipalId,
        #[command(flatten)]
        config: ConfigArgs,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Suspend a principal: every request with any of its certificates gets 403 from now on.
    Suspend {
        /// Principal id.
        id: PrincipalId,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Reinstate a suspended principal.
    Reinstate {
        /// Principal id.
        id: PrincipalId,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Bind a certificate to a principal (at most two active bindings: old and new during a
    /// rotation).
    Bind {
        /// Principal id.
        id: PrincipalId,
        #[command(flatten)]
        how: BindHow,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Remove a binding (see `partners show` for ids): its certificate stops working at once.
    Unbind {
        /// Principal id.
        id: PrincipalId,
        /// Binding id.
        binding: i64,
        #[command(flatten)]
        config: ConfigArgs,
    },
}

/// How to recognise the principal's certificate.
#[derive(Debug, Clone, Args)]
#[group(required = false, multiple = true)]
pub(crate) struct BindHow {
    /// Pin this certificate (PEM file): its SHA-256 fingerprint is bound, and its end of
    /// validity recorded.
    #[arg(long, value_name = "FILE")]
    cert: Vec<PathBuf>,
    /// Pin a certificate by SHA-256 fingerprint (hex, ':' separators allowed).
    #[arg(long, value_name = "SHA256")]
    fingerprint: Vec<Fingerprint>,
    /// Bind by name: any certificate from a configured client CA whose subject common name or
    /// DNS/URI/e-mail subject alternative name equals NAME.
    #[arg(long = "bind-name", value_name = "NAME")]
    names: Vec<String>,
}

impl BindHow {
    fn bindings(&self) -> anyhow::Result<Vec<services::principals::NewBinding>> {
        let mut out = Vec::new();
        for path in &self.cert {
            let der = partners::tls::read_certs_file(path)?
                .into_iter()
                .next()
                .with_context(|| format!("{}: no certificate", path.display()))?;
            let identity = PeerIdentity::from_der(&der)?;
            out.push((
                BindingMatch::Fingerprint(identity.fingerprint().clone()),
                Some(identity.not_after()),
            ));
        }
        for fingerprint in &self.fingerprint {
            out.push((BindingMatch::Fingerprint(fingerprint.clone()), None));
        }
        for name in &self.names {
            out.push((BindingMatch::name(name)?, None));
        }
        Ok(out)
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum KindArg {
    Partner,
    Regulator,
    Staff,
    System,
}

#[derive(Debug, Args)]
pub(crate) struct AddArgs {
    /// Principal id: 1-64 characters of a-z, 0-9, '-', '_', '.'.
    id: PrincipalId,
    /// What kind of principal.
    #[arg(long, value_enum, default_value = "partner")]
    kind: KindArg,
    /// Display name [default: the legal name for partners and regulators].
    #[arg(long)]
    display_name: Option<String>,
    /// Legal name (partners and regulators).
    #[arg(long)]
    legal_name: Option<String>,
    /// Supply-chain role (partners): manufacturer, repackager, wholesaler, 3pl, dispenser.
    #[arg(long)]
    role: Option<PartnerRole>,
    /// Staff role (staff): compliance, auditor, admin.
    #[arg(long)]
    staff_role: Option<StaffRole>,
    /// A party or location GLN (13 digits); repeat for several.
    #[arg(long = "gln", value_name = "GLN")]
    glns: Vec<partners::Gln>,
    /// A GS1 company prefix; repeat for several.
    #[arg(long = "prefix", value_name = "DIGITS")]
    prefixes: Vec<partners::CompanyPrefix>,
    /// State licence number (with --state).
    #[arg(long, requires = "state")]
    state_licence: Option<String>,
    /// State that issued the licence (postal code, e.g. NJ).
    #[arg(long, requires = "state_licence")]
    state: Option<String>,
    /// DEA registration number.
    #[arg(long)]
    dea: Option<String>,
    /// FDA establishment registration (FEI) number.
    #[arg(long)]
    fda_registration: Option<String>,
    /// Reference to the partner's ATP credential (e.g. an OCI credential id).
    #[arg(long)]
    atp_credential: Option<String>,
    #[command(flatten)]
    bind: BindHow,
    #[command(flatten)]
    config: ConfigArgs,
}

impl AddArgs {
    fn principal(&self) -> anyhow::Result<Principal> {
        let record = |role: PartnerRole| -> anyhow::Result<PartnerRecord> {
            let legal_name = self
                .legal_name
                .clone()
                .context("--legal-name is required for partners and regulators")?;
            let state_licence = match (&self.state_licence, &self.state) {
                (Some(n), Some(s)) => Some(Licences::parse_state_licence(n, s)?),
                _ => None,
            };
            Ok(PartnerRecord {
                legal_name,
                role,
                glns: self.glns.clone(),
                company_prefixes: self.prefixes.clone(),
                licences: Licences {
                    state_licence,
                    dea: self.dea.as_deref().map(Licences::parse_dea).transpose()?,
                    fda_registration: self
                        .fda_registration
                        .as_deref()
                        .map(Licences::parse_fda_registration)
                        .transpose()?,
                },
                atp_credential: self.atp_credential.clone(),
            })
        };
        let kind = match self.kind {
            KindArg::Partner => {
                let role = self.role.context(
                    "--role is required for a partner (manufacturer, repackager, wholesaler, 3pl, dispenser)",
                )?;
                if role == PartnerRole::Regulator {
                    bail!("use --kind regulator for a regulator");
                }
                PrincipalKind::Partner(record(role)?)
            }
            KindArg::Regulator => PrincipalKind::Regulator(record(PartnerRole::Regulator)?),
            KindArg::Staff => PrincipalKind::Staff {
                role: self
                    .staff_role
                    .context("--staff-role is required for staff (compliance, auditor, admin)")?,
            },
            KindArg::System => PrincipalKind::System,
        };
        let display_name = self
            .display_name
            .clone()
            .or_else(|| kind.record().map(|r| r.legal_name.clone()))
            .context("--display-name is required for staff and systems")?;
        Ok(Principal {
            id: self.id.clone(),
            display_name,
            status: Status::Active,
            kind,
        })
    }
}

pub(crate) async fn connect(config: &ConfigArgs) -> anyhow::Result<Db> {
    let config = config.load()?;
    let db = Db::connect(&config.database_url, 2)
        .await
        .with_context(|| format!("connecting to {}", config.database_url))?;
    db.migrate().await.context("applying migrations")?;
    Ok(db)
}

impl PartnersCommand {
    /// The command's audit action name, the principal it concerns, and its configuration.
    fn audit_info(&self) -> (&'static str, String, &ConfigArgs) {
        match self {
            Self::Add(a) => ("partners add", a.id.to_string(), &a.config),
            Self::List { config, .. } => ("partners list", String::new(), config),
            Self::Show { id, config, .. } => ("partners show", id.to_string(), config),
            Self::Suspend { id, config } => ("partners suspend", id.to_string(), config),
            Self::Reinstate { id, config } => ("partners reinstate", id.to_string(), config),
            Self::Bind { id, config, .. } => ("partners bind", id.to_string(), config),
            Self::Unbind { id, config, .. } => ("partners unbind", id.to_string(), config),
        }
    }
}

/// Runs a `partners` command. Changes are recorded in their own transaction by the services,
/// reads just before their output; a command that fails is recorded here as failed (when the
/// database can be reached at all).
pub(crate) async fn run(cmd: PartnersCommand) -> anyhow::Result<ExitCode> {
    let (action, subject, config) = cmd.audit_info();
    let (action, subject, config) = (action, subject, config.clone());
    let result = run_inner(cmd).await;
    if let Err(e) = &result
        && let Ok(db) = connect(&config).await
    {
        let mut record = Actor::cli().record(action, &subject, Outcome::Failed);
        record.params = serde_json::json!({ "error": e.to_string() });
        if let Err(audit) = services::record(&db, record).await {
            tracing::error!(error = %audit, "could not record the failed command");
        }
    }
    result
}

async fn run_inner(cmd: PartnersCommand) -> anyhow::Result<ExitCode> {
    let actor = Actor::cli();
    match cmd {
        PartnersCommand::Add(args) => {
            let principal = args.principal()?;
            let bindings = args.bind.bindings()?;
            let db = connect(&args.config).await?;
            let ids = services::principals::register(&db, &actor, &principal, &bindings).await?;
            println!(
                "registered {} ({}) with {} certificate binding(s){}",
                principal.id,
                principal.kind.word(),
                ids.len(),
                if ids.is_empty() {
                    "; bind a certificate with `dscsa partners bind`"
                } else {
                    ""
                }
            );
            db.close().await;
        }
        PartnersCommand::List { config, json } => {
            let db = connect(&config).await?;
            let mut conn = db.pool().acquire().await?;
            let listed = principals::list(&mut conn).await?;
            drop(conn);
            // A read leaves its record before anything is shown.
            let mut record = actor.record("partners list", "", Outcome::Ok);
            record.rows = i64::try_from(listed.len()).ok();
            services::record(&db, record).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&listed)?);
            } else {
                println!(
                    "{:<20} {:<10} {:<13} {:<10} {:>8}  NAME",
                    "ID", "KIND", "ROLE", "STATUS", "BINDINGS"
                );
                for p in &listed {
                    println!(
                        "{:<20} {:<10} {:<13} {:<10} {:>8}  {}",
                        p.id,
                        p.kind,
                        p.role.as_deref().unwrap_or("-"),
                        p.status,
                        p.active_bindings,
                        p.display_name
                    );
                }
            }
            db.close().await;
        }
        PartnersCommand::Show { id, config, json } => {
            let db = connect(&config).await?;
            let mut conn = db.pool().acquire().await?;
            let principal = principals::find(&mut conn, &id)
                .await?
                .with_context(|| format!("no principal {id}"))?;
            let bindings = principals::bindings(&mut conn, &id).await?;
            drop(conn);
            services::record(&db, actor.record("partners show", id.as_str(), Outcome::Ok)).await?;
            let visibility = Visibility::of(&principal);
            if json {
                let value = serde_json::json!({
                    "principal": principal,
                    "bindings": bindings,
                    "visibility": visibility,
                });
                println!("{}", serde_json::to_string_pretty(&value)?);
            } else {
                println!("{}", serde_json::to_string_pretty(&principal)?);
                println!("visibility: {}", visibility.summary());
                println!("bindings:");
                for b in &bindings {
                    println!(
                        "  #{:<4} {:<11} {}  created {}{}",
                        b.binding.id,
                        b.binding.matcher.kind(),
                        b.binding.matcher.value(),
                        b.created_at,
                        b.removed_at
                            .as_deref()
                            .map(|t| format!(", removed {t}"))
                            .unwrap_or_default()
                    );
                }
            }
            db.close().await;
        }
        PartnersCommand::Suspend { id, config } => {
            set_status(&config, &actor, &id, Status::Suspended).await?;
        }
        PartnersCommand::Reinstate { id, config } => {
            set_status(&config, &actor, &id, Status::Active).await?;
        }
        PartnersCommand::Bind { id, how, config } => {
            let bindings = how.bindings()?;
            if bindings.is_empty() {
                bail!("say what to bind: --cert FILE, --fingerprint SHA256 or --bind-name NAME");
            }
            let db = connect(&config).await?;
            for (matcher, not_after) in &bindings {
                let binding =
                    services::principals::bind(&db, &actor, &id, matcher, *not_after).await?;
                println!(
                    "bound {} {:?} to {id} as binding #{binding}",
                    matcher.kind(),
                    matcher.value()
                );
            }
            db.close().await;
        }
        PartnersCommand::Unbind {
            id,
            binding,
            config,
        } => {
            let db = connect(&config).await?;
            services::principals::unbind(&db, &actor, &id, binding).await?;
            println!("removed binding #{binding} of {id}");
            db.close().await;
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn set_status(
    config: &ConfigArgs,
    actor: &Actor,
    id: &PrincipalId,
    status: Status,
) -> anyhow::Result<()> {
    let db = connect(config).await?;
    let previous = services::principals::set_status(&db, actor, id, status).await?;
    println!("{id}: {previous} -> {status}");
    db.close().await;
    Ok(())
}
