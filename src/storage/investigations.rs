//! Investigation writes and reads: the case row (current state, updated), its items and its
//! timeline (both append-only, refused UPDATE/DELETE by triggers in migration 0006), the serial
//! ledger flags a case sets, and the reads that prefill Form FDA 3911. Every function runs in
//! the caller's connection or transaction.
//!
//! The serials of a case are "the ledger rows its serial items name, plus every ledger row of
//! the lots it names" (`CASE_SERIALS`): one SQL condition, so a recall of a lot of 100,000
//! units is one statement, not 100,000.

use sqlx::{AnyConnection, AssertSqlSafe};

use super::{Backend, StorageError};

/// The ledger rows case `$1` names, as a condition on `serials`.
const CASE_SERIALS: &str = "(serials.epc IN (SELECT i.epc FROM investigation_items i \
     WHERE i.investigation_id = $1 AND i.epc IS NOT NULL) \
     OR EXISTS (SELECT 1 FROM investigation_items i WHERE i.investigation_id = $1 \
     AND i.kind = 'lot' AND i.gtin = serials.gtin AND i.lot = serials.lot))";

/// The current state of a case.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CaseRow {
    /// Row id.
    pub id: i64,
    /// `INV-YYYY-NNNN`.
    pub reference: String,
    /// `suspect` | `illegitimate` | `recall` | `compliance_audit`.
    pub reason: String,
    /// `open` | `quarantined` | `determined` | `termination_requested` | `terminated` | `closed`.
    pub status: String,
    /// `cleared` | `suspect` | `illegitimate`.
    pub determination: Option<String>,
    /// When the latest determination was made.
    pub determined_at: Option<String>,
    /// When the product was first determined illegitimate (3911 item 4).
    pub illegitimate_at: Option<String>,
    /// `illegitimate_at` + 24 h: when FDA must have been notified.
    pub fda_deadline: Option<String>,
    /// FDA's incident number (3911 item 2).
    pub fda_incident_number: Option<String>,
    /// When FDA was notified (3911 item 3).
    pub fda_notified_at: Option<String>,
    /// Why notification is no longer necessary (3911 item 18).
    pub termination_reason: Option<String>,
    /// When termination was requested of FDA.
    pub termination_requested_at: Option<String>,
    /// When FDA agreed to terminate.
    pub terminated_at: Option<String>,
    /// When the case was closed.
    pub closed_at: Option<String>,
    /// Hash ID of the quarantine event.
    pub quarantine_event: Option<String>,
    /// Hash ID of the release event (cleared after quarantine).
    pub release_event: Option<String>,
    /// What prompted the case.
    pub description: String,
    /// Who opened it.
    pub opened_by: String,
    /// When.
    pub opened_at: String,
    /// Last change.
    pub updated_at: String,
}

const CASE_COLUMNS: &str = "id, reference, reason, status, determination, determined_at, \
     illegitimate_at, fda_deadline, fda_incident_number, fda_notified_at, termination_reason, \
     termination_requested_at, terminated_at, closed_at, quarantine_event, release_event, \
     description, opened_by, opened_at, updated_at";

/// One serial or lot a case names.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ItemRow {
    /// `serial` | `lot`.
    pub kind: String,
    /// Ledger key of a serial item.
    pub epc: Option<String>,
    /// GTIN-14.
    pub gtin: String,
    /// Serial number of a serial item.
    pub serial: Option<String>,
    /// Lot of a lot item.
    pub lot: Option<String>,
}

/// One timeline entry.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TimelineRow {
    /// Order within the case, from 1.
    pub seq: i64,
    /// What happened.
    pub action: String,
    /// Who did it (audit identity).
    pub actor: String,
    /// When.
    pub at: String,
    /// The case's status afterwards.
    pub status_after: String,
    /// Details, JSON text.
    pub details: String,
    /// Hash ID of the EPCIS event the action captured, if any.
    pub event_hash: Option<String>,
}

/// A serial of a case, as the ledger knows it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SerialRow {
    /// Ledger key (canonical Digital Link).
    pub epc: String,
    /// GTIN-14.
    pub gtin: Option<String>,
    /// Lot.
    pub lot: Option<String>,
    /// Expiry as commissioned.
    pub expiry: Option<String>,
    /// `active`, `dispensed`, `unknown`, …
    pub state: String,
    /// Last disposition.
    pub last_disposition: Option<String>,
    /// Flag.
    pub suspect: i64,
    /// Flag.
    pub quarantined: i64,
    /// Flag.
    pub illegitimate: i64,
    /// Flag.
    pub recalled: i64,
}

/// The next free reference of `year`. Cases are never deleted, so the count of the year's
/// cases plus one is free; PostgreSQL serialises openings with an advisory lock (SQLite's
/// write transaction already does).
pub async fn next_reference(
    conn: &mut AnyConnection,
    backend: Backend,
    year: i32,
) -> Result<String, StorageError> {
    if backend == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_xact_lock(5001006)")
            .execute(&mut *conn)
            .await?;
    }
    let prefix = format!("INV-{year}-");
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM investigations WHERE reference LIKE $1")
        .bind(format!("{prefix}%"))
        .fetch_one(&mut *conn)
        .await?;
    Ok(format!("{prefix}{:04}", n + 1))
}

/// A new case.
#[derive(Debug)]
pub struct NewCase<'a> {
    /// Reference from [`next_reference`].
    pub reference: &'a str,
    /// Reason word.
    pub reason: &'a str,
    /// Description.
    pub description: &'a str,
    /// Opener.
    pub opened_by: &'a str,
    /// Now.
    pub at: &'a str,
}

/// Inserts a case (status `open`); returns its id.
pub async fn insert(conn: &mut AnyConnection, c: &NewCase<'_>) -> Result<i64, StorageError> {
    Ok(sqlx::query_scalar(
        "INSERT INTO investigations (reference, reason, status, description, opened_by, \
         opened_at, updated_at) VALUES ($1, $2, 'open', $3, $4, $5, $5) RETURNING id",
    )
    .bind(c.reference)
    .bind(c.reason)
    .bind(c.description)
    .bind(c.opened_by)
    .bind(c.at)
    .fetch_one(&mut *conn)
    .await?)
}

/// Adds an item to case `id`.
pub async fn insert_item(
    conn: &mut AnyConnection,
    id: i64,
    item: &ItemRow,
    at: &str,
) -> Result<(), StorageError> {
    sqlx::query(
        "INSERT INTO investigation_items (investigation_id, kind, epc, gtin, serial, lot, added_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(id)
    .bind(&item.kind)
    .bind(&item.epc)
    .bind(&item.gtin)
    .bind(&item.serial)
    .bind(&item.lot)
    .bind(at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Writes the mutable columns of `c` back to its row.
pub async fn update(conn: &mut AnyConnection, c: &CaseRow) -> Result<(), StorageError> {
    sqlx::query(
        "UPDATE investigations SET status = $2, determination = $3, determined_at = $4, \
         illegitimate_at = $5, fda_deadline = $6, fda_incident_number = $7, \
         fda_notified_at = $8, termination_reason = $9, termination_requested_at = $10, \
         terminated_at = $11, closed_at = $12, quarantine_event = $13, release_event = $14, \
         updated_at = $15 WHERE id = $1",
    )
    .bind(c.id)
    .bind(&c.status)
    .bind(&c.determination)
    .bind(&c.determined_at)
    .bind(&c.illegitimate_at)
    .bind(&c.fda_deadline)
    .bind(&c.fda_incident_number)
    .bind(&c.fda_notified_at)
    .bind(&c.termination_reason)
    .bind(&c.termination_requested_at)
    .bind(&c.terminated_at)
    .bind(&c.closed_at)
    .bind(&c.quarantine_event)
    .bind(&c.release_event)
    .bind(&c.updated_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A timeline entry to append.
#[derive(Debug)]
pub struct NewEntry<'a> {
    /// What happened.
    pub action: &'a str,
    /// Who.
    pub actor: &'a str,
    /// When.
    pub at: &'a str,
    /// Status afterwards.
    pub status_after: &'a str,
    /// JSON text.
    pub details: &'a str,
    /// Captured event's hash ID.
    pub event_hash: Option<&'a str>,
}

/// Appends an entry to case `id`'s timeline (next `seq`).
pub async fn append(
    conn: &mut AnyConnection,
    id: i64,
    e: &NewEntry<'_>,
) -> Result<(), StorageError> {
    sqlx::query(
        "INSERT INTO investigation_timeline (investigation_id, seq, action, actor, at, \
         status_after, details, event_hash) \
         SELECT $1, COALESCE(MAX(seq), 0) + 1, $2, $3, $4, $5, $6, $7 \
         FROM investigation_timeline WHERE investigation_id = $1",
    )
    .bind(id)
    .bind(e.action)
    .bind(e.actor)
    .bind(e.at)
    .bind(e.status_after)
    .bind(e.details)
    .bind(e.event_hash)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The case with this id or reference.
pub async fn find(conn: &mut AnyConnection, key: &str) -> Result<Option<CaseRow>, StorageError> {
    let id = key.parse::<i64>().unwrap_or(-1);
    let sql = format!("SELECT {CASE_COLUMNS} FROM investigations WHERE id = $1 OR reference = $2");
    Ok(sqlx::query_as(AssertSqlSafe(sql))
        .bind(id)
        .bind(key)
        .fetch_optional(&mut *conn)
        .await?)
}

/// Cases, newest first, optionally of one status, at most `limit`.
pub async fn list(
    conn: &mut AnyConnection,
    status: Option<&str>,
    limit: i64,
) -> Result<Vec<CaseRow>, StorageError> {
    let sql = format!(
        "SELECT {CASE_COLUMNS} FROM investigations WHERE ($1 = '' OR status = $1) \
         ORDER BY id DESC LIMIT $2"
    );
    Ok(sqlx::query_as(AssertSqlSafe(sql))
        .bind(status.unwrap_or(""))
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?)
}

/// The items of case `id`, in the order added.
pub async fn items(conn: &mut AnyConnection, id: i64) -> Result<Vec<ItemRow>, StorageError> {
    Ok(sqlx::query_as(
        "SELECT kind, epc, gtin, serial, lot FROM investigation_items \
         WHERE investigation_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?)
}

/// The timeline of case `id`, in order.
pub async fn timeline(conn: &mut AnyConnection, id: i64) -> Result<Vec<TimelineRow>, StorageError> {
    Ok(sqlx::query_as(
        "SELECT seq, action, actor, at, status_after, details, event_hash \
         FROM investigation_timeline WHERE investigation_id = $1 ORDER BY seq",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?)
}

/// The ledger rows of case `id` (at most `limit`), by key.
pub async fn serials(
    conn: &mut AnyConnection,
    id: i64,
    limit: i64,
) -> Result<Vec<SerialRow>, StorageError> {
    let sql = format!(
        "SELECT epc, gtin, lot, expiry, state, last_disposition, suspect, quarantined, \
         illegitimate, recalled FROM serials WHERE {CASE_SERIALS} ORDER BY epc LIMIT $2"
    );
    Ok(sqlx::query_as(AssertSqlSafe(sql))
        .bind(id)
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?)
}

/// How a change sets one ledger flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flag {
    /// Leave it.
    Keep,
    /// Set to 1.
    Set,
}

impl Flag {
    fn bind(self) -> i64 {
        match self {
            Self::Keep => -1,
            Self::Set => 1,
        }
    }
}

/// Sets the `suspect`, `quarantined` and `illegitimate` flags of case `id`'s serials. Returns
/// how many ledger rows it reached.
pub async fn flag(
    conn: &mut AnyConnection,
    id: i64,
    suspect: Flag,
    quarantined: Flag,
    illegitimate: Flag,
) -> Result<u64, StorageError> {
    let sql = format!(
        "UPDATE serials SET \
         suspect = CASE WHEN $2 = 1 THEN 1 ELSE suspect END, \
         quarantined = CASE WHEN $3 = 1 THEN 1 ELSE quarantined END, \
         illegitimate = CASE WHEN $4 = 1 THEN 1 ELSE illegitimate END \
         WHERE {CASE_SERIALS}"
    );
    Ok(sqlx::query(AssertSqlSafe(sql))
        .bind(id)
        .bind(suspect.bind())
        .bind(quarantined.bind())
        .bind(illegitimate.bind())
        .execute(&mut *conn)
        .await?
        .rows_affected())
}

/// Clears `suspect` and `quarantined` on case `id`'s serials that no other case still under
/// way names (a serial cleared here may be suspect in another case). Returns how many rows.
pub async fn clear(conn: &mut AnyConnection, id: i64) -> Result<u64, StorageError> {
    let sql = format!(
        "UPDATE serials SET suspect = 0, quarantined = 0 WHERE {CASE_SERIALS} \
         AND NOT EXISTS (SELECT 1 FROM investigation_items o \
             JOIN investigations v ON v.id = o.investigation_id \
             WHERE o.investigation_id <> $1 AND v.status NOT IN ('closed', 'terminated') \
             AND (v.determination IS NULL OR v.determination <> 'cleared') \
             AND (o.epc = serials.epc \
                  OR (o.kind = 'lot' AND o.gtin = serials.gtin AND o.lot = serials.lot)))"
    );
    Ok(sqlx::query(AssertSqlSafe(sql))
        .bind(id)
        .execute(&mut *conn)
        .await?
        .rows_affected())
}

/// The registered principal (id, legal name) holding `gln`, if any.
pub async fn partner_of_gln(
    conn: &mut AnyConnection,
    gln: &str,
) -> Result<Option<(String, String)>, StorageError> {
    Ok(sqlx::query_as(
        "SELECT g.principal_id, r.legal_name FROM partner_glns g \
         JOIN partner_records r ON r.principal_id = g.principal_id \
         WHERE g.gln = $1 ORDER BY g.principal_id LIMIT 1",
    )
    .bind(gln)
    .fetch_optional(&mut *conn)
    .await?)
}
