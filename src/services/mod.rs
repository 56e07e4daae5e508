//! Services: one use-case, one transaction. REST handlers, CLI commands and (later) MCP tools
//! are thin adapters over these functions.
//!
//! Each state-changing service opens a transaction, makes its storage calls, calls
//! `audit_seam` with who acted and what they did, and commits: the seam appends the action's
//! record to the hash-chained audit trail in that same transaction, so no change can land
//! without its record. Actions that change nothing (reads, refusals, failures) are recorded
//! with [`record`], in a transaction of their own.

pub mod agent_tokens;
pub mod audit;
pub mod audit_writer;
pub mod capture;
pub mod fda;
pub mod investigations;
pub(crate) mod ledger;
pub mod ledger_reads;
pub mod principals;
pub mod query;
pub mod trace;
pub mod verify;

use sqlx::AnyConnection;

use crate::audit::{AuditRecord, Channel, NewRecord, Outcome};
use crate::storage::Db;

/// Who asked for a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// An operator on the host, through the `dscsa` command line.
    Cli {
        /// The operating-system user, as far as the environment says.
        os_user: String,
    },
    /// An authenticated principal, through the partner listener.
    Principal(partners::PrincipalId),
    /// `dscsa serve --demo` setting up the demo principals.
    Demo,
}

impl Actor {
    /// The command-line actor, named after `$USER` (or `unknown`).
    pub fn cli() -> Self {
        Self::Cli {
            os_user: crate::config::os_user(),
        }
    }
}

impl Actor {
    /// The actor's id and kind as the audit trail records them, and the channel it acts through.
    pub fn audit_identity(&self) -> (String, &'static str, Channel) {
        match self {
            Self::Cli { os_user } => (os_user.clone(), "host", Channel::Cli),
            Self::Principal(id) => (id.as_str().to_owned(), "principal", Channel::Rest),
            Self::Demo => ("serve --demo".to_owned(), "host", Channel::Cli),
        }
    }

    /// A record of `action` on `subject` by this actor, with empty details.
    pub fn record(&self, action: &str, subject: &str, outcome: Outcome) -> NewRecord {
        let (actor, actor_kind, channel) = self.audit_identity();
        NewRecord {
            actor,
            actor_kind: actor_kind.to_owned(),
            token_id: None,
            channel,
            action: action.to_owned(),
            target: if subject.is_empty() {
                Vec::new()
            } else {
                vec![subject.to_owned()]
            },
            params: serde_json::Value::Object(serde_json::Map::new()),
            outcome,
            status: None,
            result_digest: None,
            rows: None,
            purpose: None,
            client_addr: None,
        }
    }
}

/// Writes the audit record of a change in the change's own transaction: the change and its
/// record commit together or not at all.
pub(crate) async fn audit_seam(
    tx: &mut AnyConnection,
    actor: &Actor,
    action: &'static str,
    subject: &str,
) -> Result<(), crate::storage::StorageError> {
    let record =
        crate::storage::audit::append(tx, actor.record(action, subject, Outcome::Ok)).await?;
    tracing::info!(target: "audit", seq = record.seq, actor = %record.actor, action, subject, "state change");
    Ok(())
}

/// Records an action that changed nothing (a read, a refusal, a failed change) in a transaction
/// of its own.
pub async fn record(
    db: &Db,
    record: NewRecord,
) -> Result<AuditRecord, crate::storage::StorageError> {
    let mut tx = db.begin().await?;
    let sealed = crate::storage::audit::append(&mut tx, record).await?;
    tx.commit().await?;
    log_recorded(&sealed);
    Ok(sealed)
}

/// The log line of a committed audit record (no parameters: they may hold identifiers only
/// the trail should keep).
pub(crate) fn log_recorded(sealed: &AuditRecord) {
    tracing::info!(
        target: "audit",
        seq = sealed.seq,
        actor = %sealed.actor,
        channel = sealed.channel.as_str(),
        action = %sealed.action,
        outcome = sealed.outcome.as_str(),
        status = sealed.status,
        "recorded"
    );
}
