//! SQL of tracing: aggregation intervals upward from a set of EPCs, the events naming a set of
//! EPCs and their heads (with the caller's visibility in the statement), an event's parties, business
//! transactions and transaction statement, and the count of a product's units inside
//! containers at an instant.

use sqlx::{AnyConnection, Row as _};

use super::capture::dialect;
use super::query::EVENT_SCHEMA;
use super::{Backend, StorageError, placeholders};

/// One aggregation interval: `child` was inside `parent` from `from_time` until `to_time`
/// (open when `None`), microseconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interval {
    /// The contained EPC key.
    pub child: String,
    /// Its container.
    pub parent: String,
    /// Packed at.
    pub from_time: i64,
    /// Unpacked at.
    pub to_time: Option<i64>,
}

/// The intervals whose child is one of `children` (a JSON array of EPC keys).
pub async fn intervals_of(
    conn: &mut AnyConnection,
    backend: Backend,
    children: &str,
) -> Result<Vec<Interval>, StorageError> {
    let rows = sqlx::query(dialect(
        backend,
        "SELECT child, parent, from_time, to_time FROM aggregation_intervals \
         WHERE IN_JSON(child, $1)",
    ))
    .bind(children)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Interval {
                child: r.try_get(0)?,
                parent: r.try_get(1)?,
                from_time: r.try_get(2)?,
                to_time: r.try_get(3)?,
            })
        })
        .collect()
}

/// What tracing needs of an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventHead {
    /// Row id.
    pub id: i64,
    /// Event time, microseconds.
    pub event_time: i64,
    /// CBV 2.0 hash ID.
    pub hash_id: String,
    /// eventID as sent.
    pub event_id: String,
    /// `ObjectEvent`, ...
    pub event_type: String,
    /// ADD, OBSERVE, DELETE.
    pub action: Option<String>,
    /// bizStep.
    pub biz_step: Option<String>,
    /// disposition.
    pub disposition: Option<String>,
    /// The document it came in.
    pub document_id: i64,
}

/// The (EPC key, event row id) pairs of the events naming any of `epcs` (a JSON array of
/// keys), one per EPC and role named. WHY narrow rows, with the events read apart in
/// [`heads`]: a lot of 100,000 units is named about 260,000 times by 30,000 events, and one
/// wide row per naming (hash, event ID, bizStep, ...) cost seconds and hundreds of MiB.
pub async fn naming(
    conn: &mut AnyConnection,
    backend: Backend,
    epcs: &str,
) -> Result<Vec<(String, i64)>, StorageError> {
    let rows = sqlx::query(dialect(
        backend,
        "SELECT x.epc, x.event FROM event_epcs x WHERE IN_JSON(x.epc, $1)",
    ))
    .bind(epcs)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
}

/// The heads of `events` that `visibility` lets the caller see (the condition is in the
/// statement), by row id, in one statement per 1,000 events.
pub async fn heads(
    conn: &mut AnyConnection,
    events: &[i64],
    visibility: &partners::Visibility,
) -> Result<std::collections::HashMap<i64, EventHead>, StorageError> {
    let condition = visibility.condition();
    let mut out = std::collections::HashMap::with_capacity(events.len());
    for chunk in events.chunks(1000) {
        // The visibility text comes from `partners::visibility` fragments over EVENT_SCHEMA's
        // static names; the ids and then its values are bound.
        let sql = format!(
            "SELECT e.id, e.event_time, e.hash_id, e.event_id, e.event_type, e.action, \
                    e.biz_step, e.disposition, e.document_id \
             FROM events e WHERE e.id IN ({}) AND {}",
            placeholders(1, chunk.len()),
            condition.render(&EVENT_SCHEMA, chunk.len() + 1)
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for id in chunk {
            query = query.bind(*id);
        }
        for value in &condition.binds {
            query = query.bind(value.as_str());
        }
        for r in query.fetch_all(&mut *conn).await? {
            let head = EventHead {
                id: r.try_get(0)?,
                event_time: r.try_get(1)?,
                hash_id: r.try_get(2)?,
                event_id: r.try_get(3)?,
                event_type: r.try_get(4)?,
                action: r.try_get(5)?,
                biz_step: r.try_get(6)?,
                disposition: r.try_get(7)?,
                document_id: r.try_get(8)?,
            };
            out.insert(head.id, head);
        }
    }
    Ok(out)
}

/// A source or destination of an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartyRow {
    /// `source` or `destination`.
    pub direction: String,
    /// The source/destination type as sent (`...:owning_party`, `location`, ...).
    pub kind: String,
    /// The identifier as sent.
    pub id: String,
    /// Its GLN, when it has one.
    pub gln: Option<String>,
}

/// The sources and destinations of `events`, by event, in one statement per 500 events.
pub async fn parties(
    conn: &mut AnyConnection,
    events: &[i64],
) -> Result<std::collections::HashMap<i64, Vec<PartyRow>>, StorageError> {
    let mut out: std::collections::HashMap<i64, Vec<PartyRow>> = std::collections::HashMap::new();
    for chunk in events.chunks(500) {
        // Placeholders only; the event ids are bound.
        let sql = format!(
            "SELECT event, direction, type, id, gln FROM event_parties WHERE event IN ({})",
            placeholders(1, chunk.len())
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for id in chunk {
            query = query.bind(*id);
        }
        for r in query.fetch_all(&mut *conn).await? {
            out.entry(r.try_get(0)?).or_default().push(PartyRow {
                direction: r.try_get(1)?,
                kind: r.try_get(2)?,
                id: r.try_get(3)?,
                gln: r.try_get(4)?,
            });
        }
    }
    Ok(out)
}

/// The business transactions (type, id) of `events`, by event, in one statement per 500.
pub async fn biz_transactions(
    conn: &mut AnyConnection,
    events: &[i64],
) -> Result<std::collections::HashMap<i64, Vec<(String, String)>>, StorageError> {
    let mut out: std::collections::HashMap<i64, Vec<(String, String)>> =
        std::collections::HashMap::new();
    for chunk in events.chunks(500) {
        // Placeholders only; the event ids are bound.
        let sql = format!(
            "SELECT event, type, id FROM event_biz_transactions WHERE event IN ({})",
            placeholders(1, chunk.len())
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for id in chunk {
            query = query.bind(*id);
        }
        for r in query.fetch_all(&mut *conn).await? {
            out.entry(r.try_get(0)?)
                .or_default()
                .push((r.try_get(1)?, r.try_get(2)?));
        }
    }
    Ok(out)
}

/// The DSCSA transaction statement of document `document` (affirmation, legal notice).
pub async fn statement(
    conn: &mut AnyConnection,
    document: i64,
) -> Result<Option<(Option<String>, Option<String>)>, StorageError> {
    let row = sqlx::query(
        "SELECT affirm, legal_notice FROM transaction_statements WHERE document_id = $1 \
         ORDER BY id LIMIT 1",
    )
    .bind(document)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).transpose()
}

/// How many serials of `gtin` (and `lot`, when given) were inside `epcs` (JSON array; the
/// EPCs themselves count too) at `at` microseconds, following aggregation intervals down.
pub async fn units_inside(
    conn: &mut AnyConnection,
    backend: Backend,
    epcs: &str,
    at: i64,
    gtin: &str,
    lot: Option<&str>,
) -> Result<i64, StorageError> {
    // Two statements rather than `$4 IS NULL`: a NULL text bind has no type on PostgreSQL
    // through sqlx's Any driver.
    let lot_filter = if lot.is_some() { " AND s.lot = $4" } else { "" };
    let sql = format!(
        "WITH RECURSIVE inside(epc, depth) AS ( \
           SELECT value, 0 FROM JSON_ROWS($1) \
           UNION \
           SELECT a.child, inside.depth + 1 FROM aggregation_intervals a \
             JOIN inside ON a.parent = inside.epc \
           WHERE a.from_time <= $2 AND (a.to_time IS NULL OR a.to_time > $2) AND inside.depth < 16) \
         SELECT COUNT(DISTINCT s.epc) FROM inside JOIN serials s ON s.epc = inside.epc \
         WHERE s.gtin = $3{lot_filter}"
    );
    let mut query = sqlx::query_scalar(dialect(backend, &sql))
        .bind(epcs)
        .bind(at)
        .bind(gtin);
    if let Some(lot) = lot {
        query = query.bind(lot);
    }
    Ok(query.fetch_one(&mut *conn).await?)
}

/// The serial keys of a lot.
pub async fn lot_serials(
    conn: &mut AnyConnection,
    gtin: &str,
    lot: &str,
) -> Result<Vec<String>, StorageError> {
    Ok(sqlx::query_scalar(
        "SELECT epc FROM serials WHERE gtin = $1 AND lot = $2 AND commissioned_event IS NOT NULL \
         ORDER BY epc",
    )
    .bind(gtin)
    .bind(lot)
    .fetch_all(&mut *conn)
    .await?)
}

/// The ledger's commissioning data of a serial: (gtin, lot, expiry).
pub async fn commissioning(
    conn: &mut AnyConnection,
    epc: &str,
) -> Result<Option<(Option<String>, Option<String>, Option<String>)>, StorageError> {
    let row = sqlx::query("SELECT gtin, lot, expiry FROM serials WHERE epc = $1")
        .bind(epc)
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
        .transpose()
}

/// One tracing request as received and answered.
#[derive(Debug)]
pub struct RequestRow<'a> {
    /// The requester's request id.
    pub request_id: &'a str,
    /// When the requester sent it.
    pub requested_at: Option<&'a str>,
    /// When it reached us.
    pub received_at: &'a str,
    /// When the answer was made.
    pub answered_at: &'a str,
    /// Principal id or `cli:<user>`.
    pub requester: &'a str,
    /// `rest`, `cli`, `mcp`.
    pub channel: &'a str,
    /// Response type.
    pub response_type: &'a str,
    /// Reason attestation.
    pub reason: &'a str,
    /// GTIN traced.
    pub gtin: &'a str,
    /// Serial traced.
    pub serial: Option<&'a str>,
    /// Lot traced.
    pub lot: Option<&'a str>,
    /// Hops answered.
    pub hops: i64,
    /// The request as received.
    pub request: &'a str,
    /// SHA-256 of the answer as sent.
    pub answer_sha256: &'a str,
}

/// Records a tracing request.
pub async fn record_request(
    conn: &mut AnyConnection,
    r: &RequestRow<'_>,
) -> Result<(), StorageError> {
    sqlx::query(
        "INSERT INTO trace_requests (request_id, requested_at, received_at, answered_at, \
         requester, channel, response_type, reason, gtin, serial, lot, hops, request, \
         answer_sha256) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(r.request_id)
    .bind(r.requested_at)
    .bind(r.received_at)
    .bind(r.answered_at)
    .bind(r.requester)
    .bind(r.channel)
    .bind(r.response_type)
    .bind(r.reason)
    .bind(r.gtin)
    .bind(r.serial)
    .bind(r.lot)
    .bind(r.hops)
    .bind(r.request)
    .bind(r.answer_sha256)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
