//! `dscsa agents token issue|list|revoke` (bearer tokens of AI agents) and `dscsa mcp stdio`
//! (the MCP tools over standard input and output, acting with the token in
//! `DSCSA_AGENT_TOKEN`).

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use clap::{Args, Subcommand};

use super::ConfigArgs;
use super::partners_cmd::connect;
use crate::services::Actor;
use crate::services::agent_tokens::{self, DEFAULT_TTL, IssueRequest};

/// Agent tokens.
#[derive(Debug, Subcommand)]
pub(crate) enum AgentsCommand {
    /// Bearer tokens for AI agents on the agent listener (MCP).
    #[command(subcommand)]
    Token(TokenCommand),
}

#[derive(Debug, Subcommand)]
pub(crate) enum TokenCommand {
    /// Issue a token and print it once (only its SHA-256 is stored).
    ///
    /// Scopes: verify (verify_product), trace (trace_product), events (product_events,
    /// find_events), inventory (lot_summary, container_contents; home organisation only),
    /// master-data (product_master_data, partner_info), investigations (list_investigations,
    /// investigation; compliance staff only). A token can only narrow what its principal may
    /// do and see: --gtin, --lot and --investigation narrow it further.
    ///
    /// Example: dscsa agents token issue --principal compliance-1 --scopes verify,trace
    /// --gtin 00614141100019 --lot LOT2605A --ttl 4h --purpose "recall 2026-11 triage"
    Issue(IssueArgs),
    /// List tokens (never their secrets): id, principal, scopes, narrowing, expiry, state.
    List {
        /// JSON lines instead of a table.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Revoke a token by id: its next request is refused with 401.
    Revoke {
        /// Token id (`at_…`, from `issue` or `list`).
        id: String,
        #[command(flatten)]
        config: ConfigArgs,
    },
}

#[derive(Debug, Args)]
pub(crate) struct IssueArgs {
    /// The principal the agent acts for (a staff member, system or partner id).
    #[arg(long)]
    principal: String,
    /// Comma-separated scopes (see above).
    #[arg(long, value_delimiter = ',', required = true)]
    scopes: Vec<String>,
    /// Narrow to this GTIN-14 (repeatable).
    #[arg(long)]
    gtin: Vec<String>,
    /// Narrow to this lot (needs exactly one --gtin).
    #[arg(long)]
    lot: Option<String>,
    /// Narrow to this investigation (reference or id); without --gtin, also to its products.
    #[arg(long)]
    investigation: Option<String>,
    /// Lifetime: 30m, 8h, 1d ... (at most 24h).
    #[arg(long, default_value = "8h")]
    ttl: String,
    /// Why the agent needs this access; recorded with every call it makes.
    #[arg(long)]
    purpose: String,
    /// Print the token alone (for scripts).
    #[arg(long)]
    quiet: bool,
    #[command(flatten)]
    config: ConfigArgs,
}

pub(crate) async fn run(cmd: AgentsCommand) -> anyhow::Result<ExitCode> {
    let AgentsCommand::Token(cmd) = cmd;
    match cmd {
        TokenCommand::Issue(args) => issue(args).await,
        TokenCommand::List { json, config } => {
            let db = connect(&config).await?;
            let rows = agent_tokens::list(&db).await?;
            let now = crate::storage::now_text();
            for row in rows {
                let state = if row.revoked_at.is_some() {
                    "revoked"
                } else if row.expires_at <= now {
                    "expired"
                } else {
                    "active"
                };
                if json {
                    println!(
                        "{}",
                        serde_json::json!({
                            "id": row.id, "principal": row.principal_id, "scopes": row.scopes,
                            "gtins": row.gtins, "lot": row.lot, "investigation": row.investigation,
                            "purpose": row.purpose, "issued_by": row.issued_by,
                            "issued_at": row.issued_at, "expires_at": row.expires_at,
                            "revoked_at": row.revoked_at, "state": state,
                        })
                    );
                } else {
                    println!(
                        "{}  {state:<7}  {}  [{}]  expires {}  {}",
                        row.id, row.principal_id, row.scopes, row.expires_at, row.purpose
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        TokenCommand::Revoke { id, config } => {
            let db = connect(&config).await?;
            agent_tokens::revoke(&db, &Actor::cli(), &id).await?;
            println!("revoked {id}");
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn issue(args: IssueArgs) -> anyhow::Result<ExitCode> {
    let ttl = if args.ttl.is_empty() {
        DEFAULT_TTL
    } else {
        agent_tokens::parse_ttl(&args.ttl).map_err(|e| anyhow::anyhow!(e))?
    };
    let principal = args
        .principal
        .parse()
        .map_err(|e| anyhow::anyhow!("--principal: {e}"))?;
    let db = connect(&args.config).await?;
    let issued = agent_tokens::issue(
        &db,
        &Actor::cli(),
        IssueRequest {
            principal,
            scopes: args.scopes,
            gtins: args.gtin,
            lot: args.lot,
            investigation: args.investigation,
            ttl,
            purpose: args.purpose,
        },
    )
    .await?;
    if args.quiet {
        println!("{}", issued.token);
    } else {
        let row = &issued.row;
        println!("token id:   {}", row.id);
        println!("principal:  {}", row.principal_id);
        println!("scopes:     {}", row.scopes);
        if !row.gtins.is_empty() || row.lot.is_some() || row.investigation.is_some() {
            println!(
                "narrowed:   gtins [{}] lot {} investigation {}",
                row.gtins,
                row.lot.as_deref().unwrap_or("-"),
                row.investigation.as_deref().unwrap_or("-")
            );
        }
        println!("expires:    {}", row.expires_at);
        println!();
        println!("{}", issued.token);
        println!();
        println!("This is the only time the token is shown; only its hash is stored.");
    }
    Ok(ExitCode::SUCCESS)
}

/// MCP over other transports.
#[derive(Debug, Subcommand)]
pub(crate) enum McpCommand {
    /// Serve the MCP tools over standard input and output (for an agent that starts this
    /// command itself), acting with the token in the DSCSA_AGENT_TOKEN environment variable:
    /// the same tools, scopes, narrowing, rate limits and audit records as over HTTP. Logs go
    /// to standard error.
    Stdio(StdioArgs),
}

#[derive(Debug, Args)]
pub(crate) struct StdioArgs {
    #[command(flatten)]
    config: ConfigArgs,
}

pub(crate) async fn mcp(cmd: McpCommand) -> anyhow::Result<ExitCode> {
    use rmcp::ServiceExt as _;
    let McpCommand::Stdio(args) = cmd;
    let token = crate::config::agent_token_from_env().ok_or_else(|| {
        anyhow::anyhow!("set DSCSA_AGENT_TOKEN to a token from `dscsa agents token issue`")
    })?;
    let config = args.config.load()?;
    let db = connect(&args.config).await?;
    {
        use secrecy::ExposeSecret as _;
        agent_tokens::authenticate(&db, token.expose_secret())
            .await
            .map_err(|e| anyhow::anyhow!("DSCSA_AGENT_TOKEN: {e}"))?;
    }
    crate::services::query::ensure_page_token_key(&db).await?;
    let read_only = crate::storage::Db::connect_read_only(&config.database_url, 2)
        .await
        .context("connecting read-only")?;
    // A stdio session serves no ops listener: its metrics are counted and never read.
    let metrics = Arc::new(crate::metrics::Metrics::new());
    let ctx = Arc::new(crate::mcp::McpContext::new(
        read_only,
        Arc::new(config.organisation.clone()),
        crate::services::audit_writer::AuditWriter::start(db.clone(), Arc::clone(&metrics)),
        config.agent.clone(),
        "stdio".into(),
        metrics,
    ));
    let server = crate::mcp::DscsaMcp::for_token(ctx, token);
    let running = server
        .serve(rmcp::transport::stdio())
        .await
        .context("starting the MCP session on stdio")?;
    running.waiting().await.context("serving MCP on stdio")?;
    Ok(ExitCode::SUCCESS)
}
