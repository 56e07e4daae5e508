//! SQL of FDA records requests: the request rows (received, deadline, status), the packages
//! produced for REST requests, the events each package holds (a regulator's visibility), and
//! the reads a package gathers beyond tracing: stored event bodies by id, the investigations
//! and verifications that name the products, NDC to GTIN through master data.
//!
//! Lists of ids are bound in statements of `CHUNK` placeholders, never one per round trip:
//! a package for a lot of 100,000 units holds tens of thousands of events.

use sqlx::{AnyConnection, Row as _};

use super::capture::dialect;
use super::verify::Logged;
use super::{Backend, StorageError, placeholders};

/// Ids bound per statement.
const CHUNK: usize = 1000;

/// A records request as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RequestRow {
    /// UUID.
    pub id: String,
    /// The requester's reference (`FDA letter 2026-123`).
    pub reference: String,
    /// Who asked (audit identity: principal id or host user).
    pub requested_by: String,
    /// `cli`, `rest`, `mcp`.
    pub channel: String,
    /// The regulator whose visibility the package widens, if any.
    pub regulator: Option<String>,
    /// The products asked for, JSON text.
    pub products: String,
    /// Period start (RFC 3339), if any.
    pub from_time: Option<String>,
    /// Period end (RFC 3339), if any.
    pub to_time: Option<String>,
    /// When the request reached us.
    pub received_at: String,
    /// `received_at` + 24 h.
    pub deadline: String,
    /// `pending`, `ready`, `failed`.
    pub status: String,
    /// When the package was produced (or production failed).
    pub completed_at: Option<String>,
    /// Why production failed.
    pub error: Option<String>,
    /// SHA-256 (hex) of the package file.
    pub package_sha256: Option<String>,
    /// Its size in bytes.
    pub package_bytes: Option<i64>,
}

const REQUEST_COLUMNS: &str = "id, reference, requested_by, channel, regulator, products, \
     from_time, to_time, received_at, deadline, status, completed_at, error, package_sha256, \
     package_bytes";

/// Stores a new request.
pub async fn insert_request(conn: &mut AnyConnection, r: &RequestRow) -> Result<(), StorageError> {
    sqlx::query(
        "INSERT INTO fda_records_requests (id, reference, requested_by, channel, regulator, \
         products, from_time, to_time, received_at, deadline, status, completed_at, error, \
         package_sha256, package_bytes) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
    )
    .bind(&r.id)
    .bind(&r.reference)
    .bind(&r.requested_by)
    .bind(&r.channel)
    .bind(r.regulator.as_deref())
    .bind(&r.products)
    .bind(r.from_time.as_deref())
    .bind(r.to_time.as_deref())
    .bind(&r.received_at)
    .bind(&r.deadline)
    .bind(&r.status)
    .bind(r.completed_at.as_deref())
    .bind(r.error.as_deref())
    .bind(r.package_sha256.as_deref())
    .bind(r.package_bytes)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Marks a request ready (with its package's digest and size) or failed (with why).
pub async fn complete_request(
    conn: &mut AnyConnection,
    id: &str,
    completed_at: &str,
    outcome: Result<(&str, i64), &str>,
) -> Result<(), StorageError> {
    let (status, sha, bytes, error) = match outcome {
        Ok((sha, bytes)) => ("ready", Some(sha), Some(bytes), None),
        Err(e) => ("failed", None, None, Some(e)),
    };
    sqlx::query(
        "UPDATE fda_records_requests SET status = $1, completed_at = $2, package_sha256 = $3, \
         package_bytes = $4, error = $5 WHERE id = $6",
    )
    .bind(status)
    .bind(completed_at)
    .bind(sha)
    .bind(bytes)
    .bind(error)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A request by id.
pub async fn request(
    conn: &mut AnyConnection,
    id: &str,
) -> Result<Option<RequestRow>, StorageError> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {REQUEST_COLUMNS} FROM fda_records_requests WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?)
}

/// Stores the package produced for a request.
pub async fn insert_package(
    conn: &mut AnyConnection,
    id: &str,
    produced_at: &str,
    sha256: &str,
    content: &[u8],
) -> Result<(), StorageError> {
    sqlx::query(
        "INSERT INTO fda_packages (request_id, produced_at, sha256, content) \
         VALUES ($1, $2, $3, $4)",
    )
    .bind(id)
    .bind(produced_at)
    .bind(sha256)
    .bind(content.to_vec())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The package of a request, if one was stored.
pub async fn package(conn: &mut AnyConnection, id: &str) -> Result<Option<Vec<u8>>, StorageError> {
    Ok(
        sqlx::query_scalar("SELECT content FROM fda_packages WHERE request_id = $1")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?,
    )
}

/// Records the events a request's package holds, `CHUNK` rows per statement.
pub async fn insert_request_events(
    conn: &mut AnyConnection,
    id: &str,
    events: &[i64],
) -> Result<(), StorageError> {
    for chunk in events.chunks(CHUNK) {
        // Placeholders only; the values are bound.
        let rows: Vec<String> = (0..chunk.len())
            .map(|i| format!("(${}, $1)", i + 2))
            .collect();
        let sql = format!(
            "INSERT INTO fda_request_events (event, request_id) VALUES {}",
            rows.join(", ")
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id);
        for event in chunk {
            query = query.bind(*event);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// The stored bodies (one-event EPCIS 2.0 XML) of `events`, by id, in the order asked.
pub async fn event_bodies(
    conn: &mut AnyConnection,
    events: &[i64],
) -> Result<Vec<(i64, String)>, StorageError> {
    let mut by_id = std::collections::HashMap::with_capacity(events.len());
    for chunk in events.chunks(CHUNK) {
        let sql = format!(
            "SELECT id, body FROM events WHERE id IN ({})",
            placeholders(1, chunk.len())
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for id in chunk {
            query = query.bind(*id);
        }
        for r in query.fetch_all(&mut *conn).await? {
            by_id.insert(r.try_get::<i64, _>(0)?, r.try_get::<String, _>(1)?);
        }
    }
    Ok(events
        .iter()
        .filter_map(|id| by_id.remove(id).map(|b| (*id, b)))
        .collect())
}

/// The references of the investigations that name `epcs` (a JSON array of ledger keys) or
/// the lot `lot` of `gtin`, oldest first.
pub async fn investigations_naming(
    conn: &mut AnyConnection,
    backend: Backend,
    gtin: &str,
    lot: Option<&str>,
    epcs: &str,
) -> Result<Vec<String>, StorageError> {
    // Two statements rather than `$3 IS NULL`: a NULL text bind has no type on PostgreSQL
    // through sqlx's Any driver.
    let lot_filter = if lot.is_some() {
        " OR (i.kind = 'lot' AND i.gtin = $1 AND i.lot = $3)"
    } else {
        ""
    };
    let sql = format!(
        "SELECT c.reference FROM investigations c WHERE c.id IN (\
           SELECT i.investigation_id FROM investigation_items i \
           WHERE (i.kind = 'serial' AND IN_JSON(i.epc, $2)){lot_filter}) \
         ORDER BY c.id"
    );
    let mut query = sqlx::query_scalar(dialect(backend, &sql))
        .bind(gtin)
        .bind(epcs);
    if let Some(lot) = lot {
        query = query.bind(lot);
    }
    Ok(query.fetch_all(&mut *conn).await?)
}

/// The logged verifications of `gtin` with one of `serials` (a JSON array), oldest first.
pub async fn verifications_of(
    conn: &mut AnyConnection,
    backend: Backend,
    gtin: &str,
    serials: &str,
) -> Result<Vec<Logged>, StorageError> {
    let rows = sqlx::query(dialect(
        backend,
        "SELECT corr_uuid, requested_at, requester, gtin, serial, lot, answer FROM verifications \
         WHERE gtin = $1 AND IN_JSON(serial, $2) ORDER BY id",
    ))
    .bind(gtin)
    .bind(serials)
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

/// The GTINs whose product master data carries this NDC (digits, hyphens ignored).
pub async fn gtins_of_ndc(
    conn: &mut AnyConnection,
    ndc_digits: &str,
) -> Result<Vec<String>, StorageError> {
    Ok(sqlx::query_scalar(
        "SELECT DISTINCT gtin FROM master_products \
         WHERE REPLACE(ndc, '-', '') = $1 AND gtin IS NOT NULL ORDER BY gtin",
    )
    .bind(ndc_digits)
    .fetch_all(&mut *conn)
    .await?)
}

/// Whether the ledger holds a serial of `gtin` in `lot`.
pub async fn lot_known(
    conn: &mut AnyConnection,
    gtin: &str,
    lot: &str,
) -> Result<bool, StorageError> {
    let found: Option<i32> =
        sqlx::query_scalar("SELECT 1 FROM serials WHERE gtin = $1 AND lot = $2 LIMIT 1")
            .bind(gtin)
            .bind(lot)
            .fetch_optional(&mut *conn)
            .await?;
    Ok(found.is_some())
}
