//! Services: one use-case, one transaction. REST handlers, CLI commands and (later) MCP tools
//! are thin adapters over these functions.
//!
//! Each state-changing service opens a transaction, makes its storage calls, calls
//! [`audit_seam`] with who acted and what they did, and commits. Issue 4 (the audit trail)
//! turns that seam into an insert into the hash-chained audit table in the same transaction,
//! so no change can land without its record.

pub mod principals;

use sqlx::AnyConnection;

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

/// Where the audit record of a change is written, in the change's own transaction. Today it
/// only emits a tracing event; issue 4 writes the record here.
pub(crate) async fn audit_seam(
    _tx: &mut AnyConnection,
    actor: &Actor,
    action: &'static str,
    subject: &str,
) -> Result<(), crate::storage::StorageError> {
    tracing::info!(target: "audit", ?actor, action, subject, "state change");
    Ok(())
}
