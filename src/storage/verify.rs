//! SQL of verification: ledger rows by primary key, one or a batch (with the lot's latest FDA
//! expiry extension), the verification log, and expiry extensions.

use sqlx::{AnyConnection, AssertSqlSafe, Row as _};

use super::capture::dialect;
use super::{AnyQuery, Backend, StorageError};

/// What verification needs of a serial's ledger row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerEntry {
    /// GTIN-14 of the serial.
    pub gtin: String,
    /// Lot from commissioning.
    pub lot: Option<String>,
    /// Expiry from commissioning, as sent (`YYYY-MM-DD`).
    pub expiry: Option<String>,
    /// The lot's latest FDA-extended expiry.
    pub extended_expiry: Option<String>,
    /// Commissioned here (not only observed).
    pub commissioned: bool,
    /// Ledger state (`active`, `decommissioned`, `destroyed`, `dispensed`, ...).
    pub state: String,
    /// Its lot is recalled.
    pub recalled: bool,
    /// Under investigation as suspect.
    pub suspect: bool,
    /// Determined illegitimate.
    pub illegitimate: bool,
}

/// The columns of a [`LedgerEntry`], after the EPC key, from `serials s`.
const ENTRY_COLUMNS: &str = "s.epc, s.gtin, s.lot, s.expiry, \
    (SELECT x.extended_expiry FROM expiry_extensions x \
      WHERE x.gtin = s.gtin AND x.lot = s.lot ORDER BY x.id DESC LIMIT 1), \
    s.commissioned_event, s.state, s.recalled, s.suspect, s.illegitimate";

/// The EPC key and ledger entry of a row of [`ENTRY_COLUMNS`].
fn entry_from_row(row: &sqlx::any::AnyRow) -> Result<(String, LedgerEntry), StorageError> {
    Ok((
        row.try_get(0)?,
        LedgerEntry {
            gtin: row.try_get::<Option<String>, _>(1)?.unwrap_or_default(),
            lot: row.try_get(2)?,
            expiry: row.try_get(3)?,
            extended_expiry: row.try_get(4)?,
            commissioned: row.try_get::<Option<i64>, _>(5)?.is_some(),
            state: row.try_get(6)?,
            recalled: row.try_get::<i64, _>(7)? != 0,
            suspect: row.try_get::<i64, _>(8)? != 0,
            illegitimate: row.try_get::<i64, _>(9)? != 0,
        },
    ))
}

/// The ledger row of `epc` (a stored EPC key).
pub async fn ledger_entry(
    conn: &mut AnyConnection,
    epc: &str,
) -> Result<Option<LedgerEntry>, StorageError> {
    let row = sqlx::query(AssertSqlSafe(format!(
        "SELECT {ENTRY_COLUMNS} FROM serials s WHERE s.epc = $1"
    )))
    .bind(epc)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref()
        .map(|r| entry_from_row(r).map(|(_, entry)| entry))
        .transpose()
}

/// The ledger rows of `epcs` (a JSON array of stored EPC keys), with their keys, in one
/// statement; keys with no row are left out.
pub async fn ledger_entries(
    conn: &mut AnyConnection,
    backend: Backend,
    epcs: &str,
) -> Result<Vec<(String, LedgerEntry)>, StorageError> {
    let sql = format!("SELECT {ENTRY_COLUMNS} FROM serials s WHERE IN_JSON(s.epc, $1)");
    let rows = sqlx::query(dialect(backend, &sql))
        .bind(epcs)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(entry_from_row).collect()
}

/// Whether any serial of `gtin` was commissioned here.
pub async fn gtin_known(conn: &mut AnyConnection, gtin: &str) -> Result<bool, StorageError> {
    Ok(sqlx::query_scalar::<_, i64>(
        "SELECT 1 FROM serials WHERE gtin = $1 AND commissioned_event IS NOT NULL LIMIT 1",
    )
    .bind(gtin)
    .fetch_optional(&mut *conn)
    .await?
    .is_some())
}

/// One verification, as logged.
#[derive(Debug)]
pub struct LogRow<'a> {
    /// Correlation id (echoed or made).
    pub corr_uuid: &'a str,
    /// When.
    pub requested_at: &'a str,
    /// Principal id or `cli:<user>`.
    pub requester: &'a str,
    /// `rest`, `cli`, `mcp`.
    pub channel: &'a str,
    /// Requester GLN.
    pub req_gln: Option<&'a str>,
    /// Verification context.
    pub context: Option<&'a str>,
    /// GTIN asked.
    pub gtin: &'a str,
    /// Lot asked.
    pub lot: Option<&'a str>,
    /// Serial asked.
    pub serial: &'a str,
    /// Expiry asked (`YYMMDD`).
    pub expiry: Option<&'a str>,
    /// The verdict.
    pub verified: bool,
    /// `verificationFailureReason`.
    pub failure_reason: Option<&'a str>,
    /// `additionalInfo`.
    pub additional_info: Option<&'a str>,
    /// The answer as sent (JSON).
    pub answer: &'a str,
    /// The investigation that asked.
    pub investigation: Option<i64>,
}

/// A [`LogRow`] that owns its values, to be written later (with the request's audit record).
#[derive(Debug, Clone)]
pub struct LogEntry {
    /// See [`LogRow`]; the fields mirror it.
    pub corr_uuid: String,
    /// When.
    pub requested_at: String,
    /// Who asked.
    pub requester: String,
    /// `rest`, `cli`, `mcp`.
    pub channel: String,
    /// Requester GLN.
    pub req_gln: Option<String>,
    /// Context.
    pub context: Option<String>,
    /// GTIN.
    pub gtin: String,
    /// Lot.
    pub lot: Option<String>,
    /// Serial.
    pub serial: String,
    /// Expiry asked.
    pub expiry: Option<String>,
    /// Verdict.
    pub verified: bool,
    /// Failure reason.
    pub failure_reason: Option<&'static str>,
    /// Additional info.
    pub additional_info: Option<&'static str>,
    /// The answer as sent.
    pub answer: String,
    /// The investigation that asked.
    pub investigation: Option<i64>,
}

impl LogEntry {
    /// The row to insert.
    pub fn row(&self) -> LogRow<'_> {
        LogRow {
            corr_uuid: &self.corr_uuid,
            requested_at: &self.requested_at,
            requester: &self.requester,
            channel: &self.channel,
            req_gln: self.req_gln.as_deref(),
            context: self.context.as_deref(),
            gtin: &self.gtin,
            lot: self.lot.as_deref(),
            serial: &self.serial,
            expiry: self.expiry.as_deref(),
            verified: self.verified,
            failure_reason: self.failure_reason,
            additional_info: self.additional_info,
            answer: &self.answer,
            investigation: self.investigation,
        }
    }
}

/// `INSERT` of `n` verification log rows (`OR ROLLBACK` on SQLite: see [`log_all`]), for
/// [`bind_log`].
pub(crate) fn log_insert(backend: Backend, n: usize) -> String {
    format!(
        "{} verifications (corr_uuid, requested_at, requester, channel, req_gln, context, gtin, \
         lot, serial, expiry, verified, failure_reason, additional_info, answer, \
         investigation_id) {}",
        super::write_verb(backend, false),
        super::values(backend, n, 15)
    )
}

/// Binds a row of [`log_insert`].
pub(crate) fn bind_log<'q>(query: AnyQuery<'q>, row: &LogRow<'_>) -> AnyQuery<'q> {
    query
        .bind(row.corr_uuid.to_owned())
        .bind(row.requested_at.to_owned())
        .bind(row.requester.to_owned())
        .bind(row.channel.to_owned())
        .bind(row.req_gln.map(str::to_owned))
        .bind(row.context.map(str::to_owned))
        .bind(row.gtin.to_owned())
        .bind(row.lot.map(str::to_owned))
        .bind(row.serial.to_owned())
        .bind(row.expiry.map(str::to_owned))
        .bind(i64::from(row.verified))
        .bind(row.failure_reason)
        .bind(row.additional_info)
        .bind(row.answer.to_owned())
        .bind(row.investigation)
}

/// Rows of the log per statement: 15 binds each, 15,000 in all.
pub(crate) const LOG_ROWS_PER_STATEMENT: usize = 1000;

/// Appends verifications to the log in one statement per 1,000 rows, in the caller's
/// transaction. On SQLite the statement is `INSERT OR ROLLBACK` with anonymous placeholders
/// (why: `storage::write_verb`, `storage::values`): a log row cannot conflict with a stored
/// one, so a failure ends the caller's transaction, which the audit writer then retries row by
/// row.
pub async fn log_all(
    conn: &mut AnyConnection,
    backend: Backend,
    rows: &[LogRow<'_>],
) -> Result<(), StorageError> {
    for chunk in rows.chunks(LOG_ROWS_PER_STATEMENT) {
        // The text holds placeholders only; every value is bound.
        let mut query = sqlx::query(AssertSqlSafe(log_insert(backend, chunk.len())));
        for row in chunk {
            query = bind_log(query, row);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Appends one verification to the log (outside any batch: the CLI's and investigations').
pub async fn log(
    conn: &mut AnyConnection,
    backend: Backend,
    row: &LogRow<'_>,
) -> Result<(), StorageError> {
    log_all(conn, backend, std::slice::from_ref(row)).await
}

/// A logged verification, for investigations and records packages.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Logged {
    /// Correlation id.
    pub corr_uuid: String,
    /// When.
    pub requested_at: String,
    /// Who asked.
    pub requester: String,
    /// GTIN.
    pub gtin: String,
    /// Serial.
    pub serial: String,
    /// Lot asked.
    pub lot: Option<String>,
    /// The answer as sent.
    pub answer: serde_json::Value,
}

/// The verifications an investigation ran, oldest first.
pub async fn for_investigation(
    conn: &mut AnyConnection,
    investigation: i64,
) -> Result<Vec<Logged>, StorageError> {
    let rows = sqlx::query(
        "SELECT corr_uuid, requested_at, requester, gtin, serial, lot, answer FROM verifications \
         WHERE investigation_id = $1 ORDER BY id",
    )
    .bind(investigation)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Logged {
                corr_uuid: r.try_get(0)?,
                requested_at: r.try_get(1)?,
                requester: r.try_get(2)?,
                gtin: r.try_get(3)?,
                serial: r.try_get(4)?,
                lot: r.try_get(5)?,
                answer: serde_json::from_str(&r.try_get::<String, _>(6)?)
                    .unwrap_or(serde_json::Value::Null),
            })
        })
        .collect()
}

/// Records an FDA-extended expiry for a lot.
pub async fn extend_expiry(
    conn: &mut AnyConnection,
    gtin: &str,
    lot: &str,
    extended: &str,
    reference: &str,
    by: &str,
    at: &str,
) -> Result<(), StorageError> {
    sqlx::query(
        "INSERT INTO expiry_extensions (gtin, lot, extended_expiry, reference, recorded_by, \
         recorded_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(gtin)
    .bind(lot)
    .bind(extended)
    .bind(reference)
    .bind(by)
    .bind(at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::LogEntry;

    /// A log entry of a failed verification of `serial`, for tests of the writers.
    pub(crate) fn sample(serial: &str) -> LogEntry {
        LogEntry {
            corr_uuid: uuid::Uuid::new_v4().to_string(),
            requested_at: crate::storage::now_text(),
            requester: "tester".into(),
            channel: "rest".into(),
            req_gln: None,
            context: None,
            gtin: "00614141000005".into(),
            lot: Some("L1".into()),
            serial: serial.into(),
            expiry: None,
            verified: false,
            failure_reason: Some("No_match_GTIN_Serial"),
            additional_info: None,
            answer: "{}".into(),
            investigation: None,
        }
    }
}
