//! MCP for AI agents: scoped, read-only, audited investigation tools (issue 7;
//! `../shared/reference/mcp.md`).
//!
//! - [`http`]: the agent listener's routes: OAuth protected-resource metadata, bearer-token
//!   authentication (401 with `WWW-Authenticate`, 403 `insufficient_scope` where the HTTP layer
//!   can tell), per-token rate limits (429 with `Retry-After`), and rmcp's Streamable HTTP
//!   service at `/mcp`, stateless, with Host and Origin checks.
//! - [`server`]: the handler: one policy for the tool list and each call, the untrusted-text
//!   fence and output cap, the audit record of every list and call.
//! - [`tools`]: the ten tools, thin adapters over the services.
//! - [`untrusted`]: stripping and fencing partner-supplied text.
//! - [`crate::budgets`]: per-token call and row budgets (shared with the partner listener).
//!
//! Tokens themselves (issue, list, revoke, authenticate) belong to
//! [`crate::services::agent_tokens`]. `dscsa mcp stdio` serves the same handler over stdio.

pub mod http;
pub mod server;
pub mod tools;
pub mod untrusted;

use std::sync::Arc;

use crate::config::{AgentListenerSettings, OrganisationSettings};
use crate::services::audit_writer::AuditWriter;
use crate::storage::Db;

pub use server::DscsaMcp;

/// What the MCP handler and the agent listener share.
#[derive(Debug)]
pub struct McpContext {
    /// The read-only database handle every tool reads through.
    pub db: Db,
    /// The home organisation (verification answers, trace answers).
    pub organisation: Arc<OrganisationSettings>,
    /// Where audit records (and the verification log entries of `verify_product`) go.
    pub audit: AuditWriter,
    /// Per-token budgets.
    pub budgets: crate::budgets::Budgets,
    /// The listener's settings.
    pub settings: AgentListenerSettings,
    /// The canonical URI of `/mcp` (the OAuth resource).
    pub resource: String,
    /// The server's metrics (tool calls, refusals).
    pub metrics: Arc<crate::metrics::Metrics>,
}

impl McpContext {
    /// A context over `db` (read-only) writing its audit records through `audit` and counting
    /// in `metrics`.
    pub fn new(
        db: Db,
        organisation: Arc<OrganisationSettings>,
        audit: AuditWriter,
        settings: AgentListenerSettings,
        resource: String,
        metrics: Arc<crate::metrics::Metrics>,
    ) -> Self {
        Self {
            budgets: crate::budgets::Budgets::new(
                settings.calls_per_minute,
                settings.rows_per_minute,
            ),
            db,
            organisation,
            audit,
            settings,
            resource,
            metrics,
        }
    }
}
