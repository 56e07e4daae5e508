//! What every step of a case shares: loading the case by id or reference, reading its stored
//! status and determination, refusing a step its state does not allow (a sentence naming the
//! case and what must come first), and writing the step's record. A step saves the case row,
//! appends one timeline entry and one audit record in the same transaction ([`finish`]), so the
//! three commit together or not at all.

use sqlx::{Any, AnyConnection, Transaction};

use super::views::{CaseView, show};
use super::{Determination, InvestigationError, Status};
use crate::services::{Actor, audit_seam};
use crate::storage::investigations::{self as store, CaseRow, NewEntry};
use crate::storage::{Db, StorageError};

/// What a step records besides the case row.
pub(super) struct Step<'a> {
    /// The timeline action (`quarantine`, `note`, `fda_notification`, ...).
    pub(super) action: &'a str,
    /// The audit action (`investigations quarantine`, ...).
    pub(super) audit: &'static str,
    /// The timeline entry's details.
    pub(super) details: serde_json::Value,
    /// Hash ID of the EPCIS event the step captured.
    pub(super) event_hash: Option<&'a str>,
}

/// Ends a step on case `c` as the step left it: stamps it `at` and saves the row, records the
/// step ([`record`]), commits, and returns the case as it now stands.
pub(super) async fn finish(
    db: &Db,
    mut tx: Transaction<'static, Any>,
    actor: &Actor,
    c: &mut CaseRow,
    at: &str,
    step: Step<'_>,
) -> Result<CaseView, InvestigationError> {
    at.clone_into(&mut c.updated_at);
    store::update(&mut tx, c).await?;
    record(&mut tx, actor, c.id, &c.reference, status_of(c)?, at, step).await?;
    tx.commit().await?;
    show(db, &c.id.to_string()).await
}

/// Appends the step's timeline entry (the case's status after it: `status`) and its audit
/// record to case `id` (reference `reference`) in `tx`.
pub(super) async fn record(
    tx: &mut AnyConnection,
    actor: &Actor,
    id: i64,
    reference: &str,
    status: Status,
    at: &str,
    step: Step<'_>,
) -> Result<(), StorageError> {
    let (who, _, _) = actor.audit_identity();
    store::append(
        tx,
        id,
        &NewEntry {
            action: step.action,
            actor: &who,
            at,
            status_after: status.as_str(),
            details: &step.details.to_string(),
            event_hash: step.event_hash,
        },
    )
    .await?;
    audit_seam(tx, actor, step.audit, reference).await
}

/// The case with id or reference `key`.
pub(super) async fn load(
    conn: &mut AnyConnection,
    key: &str,
) -> Result<CaseRow, InvestigationError> {
    store::find(conn, key.trim())
        .await?
        .ok_or_else(|| InvestigationError::NotFound(key.to_owned()))
}

/// The case's status; a word the store should never hold is corruption, not a conflict.
pub(super) fn status_of(c: &CaseRow) -> Result<Status, InvestigationError> {
    Status::parse(&c.status).ok_or_else(|| {
        StorageError::Corrupt(format!(
            "investigation {} status {:?}",
            c.reference, c.status
        ))
        .into()
    })
}

/// The case's determination, if any.
pub(super) fn determination_of(c: &CaseRow) -> Option<Determination> {
    c.determination.as_deref().and_then(Determination::parse)
}

/// Refuses a step: "investigation INV-… is determined (suspect): `what`".
pub(super) fn conflict(c: &CaseRow, what: &str) -> InvestigationError {
    InvestigationError::Conflict(format!(
        "investigation {} is {}: {what}",
        c.reference,
        describe(c)
    ))
}

fn describe(c: &CaseRow) -> String {
    match &c.determination {
        Some(d) => format!("{} ({d})", c.status),
        None => c.status.clone(),
    }
}
