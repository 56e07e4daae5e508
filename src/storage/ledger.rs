//! The serial ledger and the open aggregation intervals, read and written in sets: the SQL
//! behind the capture's write-back ledger (`services::ledger`). Every function runs in the
//! caller's transaction.
//!
//! Reads take a JSON array of keys, writes a JSON array of rows (one bind each, expanded by
//! the database, as in [`super::capture`]), at most [`ROWS_PER_STATEMENT`] rows a statement:
//! a flush of 100,000 serials is a few dozen statements, not 100,000 round trips.

use sqlx::{AnyConnection, AssertSqlSafe, Row as _};

use super::capture::dialect;
use super::{Backend, StorageError};

/// Rows per write statement: a bound JSON text of about 1 MB.
pub const ROWS_PER_STATEMENT: usize = 4000;

/// One `serials` row as stored, without the flags capture never changes (`suspect`,
/// `quarantined`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SerialRow<S> {
    /// EPC key.
    pub epc: S,
    /// GTIN-14 of an SGTIN.
    pub gtin: Option<S>,
    /// Lot from commissioning.
    pub lot: Option<S>,
    /// Expiry from commissioning.
    pub expiry: Option<S>,
    /// Commissioning event row id.
    pub commissioned_event: Option<i64>,
    /// Commissioning time, µs.
    pub commissioned_at: Option<i64>,
    /// Current container.
    pub parent: Option<S>,
    /// Outermost container.
    pub top: Option<S>,
    /// Last event row id.
    pub last_event: i64,
    /// Its time, µs.
    pub last_event_time: i64,
    /// Last business step.
    pub last_biz_step: Option<S>,
    /// Last disposition.
    pub last_disposition: Option<S>,
    /// Owning party key.
    pub owner: Option<S>,
    /// Business location key.
    pub location: Option<S>,
    /// `active` | `decommissioned` | `destroyed` | `dispensed` | `unknown`.
    pub state: S,
    /// Recalled flag.
    pub recalled: bool,
}

const SERIAL_COLUMNS: &str = "epc, gtin, lot, expiry, commissioned_event, commissioned_at, \
                              parent_epc, top_epc, last_event, last_event_time, last_biz_step, \
                              last_disposition, owner, location, state, recalled";

fn serial_from_row(r: &sqlx::any::AnyRow) -> Result<SerialRow<String>, StorageError> {
    Ok(SerialRow {
        epc: r.try_get(0)?,
        gtin: r.try_get(1)?,
        lot: r.try_get(2)?,
        expiry: r.try_get(3)?,
        commissioned_event: r.try_get(4)?,
        commissioned_at: r.try_get(5)?,
        parent: r.try_get(6)?,
        top: r.try_get(7)?,
        last_event: r.try_get(8)?,
        last_event_time: r.try_get(9)?,
        last_biz_step: r.try_get(10)?,
        last_disposition: r.try_get(11)?,
        owner: r.try_get(12)?,
        location: r.try_get(13)?,
        state: r.try_get(14)?,
        recalled: r.try_get::<i64, _>(15)? != 0,
    })
}

/// The ledger rows of `keys` (JSON array of EPC keys); keys without a row are left out.
pub async fn serials(
    conn: &mut AnyConnection,
    backend: Backend,
    keys: &str,
) -> Result<Vec<SerialRow<String>>, StorageError> {
    let sql = format!("SELECT {SERIAL_COLUMNS} FROM serials WHERE IN_JSON(epc, $1)");
    let rows = sqlx::query(dialect(backend, &sql))
        .bind(keys)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(serial_from_row).collect()
}

/// The ledger rows directly inside any of `parents` (JSON array of EPC keys).
pub async fn serials_inside(
    conn: &mut AnyConnection,
    backend: Backend,
    parents: &str,
) -> Result<Vec<SerialRow<String>>, StorageError> {
    // `IS NOT NULL` lets SQLite use the partial index on parent_epc.
    let sql = format!(
        "SELECT {SERIAL_COLUMNS} FROM serials \
         WHERE parent_epc IS NOT NULL AND IN_JSON(parent_epc, $1)"
    );
    let rows = sqlx::query(dialect(backend, &sql))
        .bind(parents)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(serial_from_row).collect()
}

/// An aggregation interval still open (the child is still inside the parent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenInterval {
    /// The contained EPC key.
    pub child: String,
    /// The container.
    pub parent: String,
    /// The event that packed it.
    pub from_event: i64,
    /// Its time, µs.
    pub from_time: i64,
}

/// The open intervals of `children` (JSON array of EPC keys).
pub async fn open_intervals(
    conn: &mut AnyConnection,
    backend: Backend,
    children: &str,
) -> Result<Vec<OpenInterval>, StorageError> {
    let rows = sqlx::query(dialect(
        backend,
        "SELECT child, parent, from_event, from_time FROM aggregation_intervals \
         WHERE to_time IS NULL AND IN_JSON(child, $1)",
    ))
    .bind(children)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(OpenInterval {
                child: r.try_get(0)?,
                parent: r.try_get(1)?,
                from_event: r.try_get(2)?,
                from_time: r.try_get(3)?,
            })
        })
        .collect()
}

/// The type of a column in a [`json_rows`] source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Int,
    Text,
}

/// `SELECT … FROM <the rows of the JSON array of arrays bound at $1>`, one column per entry of
/// `columns`. WHY JSON and not a `VALUES` list of binds: sqlx's SQLite driver finds each bind's
/// place by name, one scan of the statement's parameters per bind, so a statement of n binds
/// costs n²; one bound text of any length costs one parse.
fn json_rows(backend: Backend, columns: &[(&str, Kind)]) -> String {
    let list = columns
        .iter()
        .enumerate()
        .map(|(i, (name, kind))| match (backend, kind) {
            (Backend::Sqlite, _) | (Backend::Postgres, Kind::Text) => {
                format!("value ->> {i} AS {name}")
            }
            (Backend::Postgres, Kind::Int) => format!("(value ->> {i})::bigint AS {name}"),
        })
        .collect::<Vec<_>>()
        .join(", ");
    match backend {
        Backend::Sqlite => format!("SELECT {list} FROM json_each($1)"),
        Backend::Postgres => format!("SELECT {list} FROM jsonb_array_elements($1::jsonb)"),
    }
}

const SERIAL_KINDS: [(&str, Kind); 16] = [
    ("epc", Kind::Text),
    ("gtin", Kind::Text),
    ("lot", Kind::Text),
    ("expiry", Kind::Text),
    ("commissioned_event", Kind::Int),
    ("commissioned_at", Kind::Int),
    ("parent_epc", Kind::Text),
    ("top_epc", Kind::Text),
    ("last_event", Kind::Int),
    ("last_event_time", Kind::Int),
    ("last_biz_step", Kind::Text),
    ("last_disposition", Kind::Text),
    ("owner", Kind::Text),
    ("location", Kind::Text),
    ("state", Kind::Text),
    ("recalled", Kind::Int),
];

/// `rows` as a JSON array of arrays in [`SERIAL_KINDS`] order.
fn serials_json(rows: &[SerialRow<&str>]) -> String {
    let tuples: Vec<_> = rows
        .iter()
        .map(|s| {
            (
                s.epc,
                s.gtin,
                s.lot,
                s.expiry,
                s.commissioned_event,
                s.commissioned_at,
                s.parent,
                s.top,
                s.last_event,
                s.last_event_time,
                s.last_biz_step,
                s.last_disposition,
                s.owner,
                s.location,
                s.state,
                i64::from(s.recalled),
            )
        })
        .collect();
    serde_json::to_string(&tuples).unwrap_or_else(|_| "[]".into())
}

/// Inserts ledger rows that do not exist yet.
pub async fn insert_serials(
    conn: &mut AnyConnection,
    backend: Backend,
    rows: &[SerialRow<&str>],
) -> Result<(), StorageError> {
    let sql = format!(
        "INSERT INTO serials ({SERIAL_COLUMNS}) {}",
        json_rows(backend, &SERIAL_KINDS)
    );
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        sqlx::query(AssertSqlSafe(sql.as_str()))
            .bind(serials_json(chunk))
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Rewrites existing ledger rows (every column but `suspect` and `quarantined`), by EPC key.
pub async fn update_serials(
    conn: &mut AnyConnection,
    backend: Backend,
    rows: &[SerialRow<&str>],
) -> Result<(), StorageError> {
    let sql = format!(
        "WITH v AS ({}) \
         UPDATE serials SET gtin = v.gtin, lot = v.lot, expiry = v.expiry, \
         commissioned_event = v.commissioned_event, commissioned_at = v.commissioned_at, \
         parent_epc = v.parent_epc, top_epc = v.top_epc, last_event = v.last_event, \
         last_event_time = v.last_event_time, last_biz_step = v.last_biz_step, \
         last_disposition = v.last_disposition, owner = v.owner, location = v.location, \
         state = v.state, recalled = v.recalled FROM v WHERE serials.epc = v.epc",
        json_rows(backend, &SERIAL_KINDS)
    );
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        sqlx::query(AssertSqlSafe(sql.as_str()))
            .bind(serials_json(chunk))
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// An aggregation interval to write: new (inserted whole) or stored and now closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IntervalRow<'a> {
    /// The contained EPC key.
    pub child: &'a str,
    /// The container.
    pub parent: &'a str,
    /// The event that packed it.
    pub from_event: i64,
    /// Its time, µs.
    pub from_time: i64,
    /// The event that took it out, once closed.
    pub to_event: Option<i64>,
    /// Its time, µs.
    pub to_time: Option<i64>,
}

const INTERVAL_KINDS: [(&str, Kind); 6] = [
    ("child", Kind::Text),
    ("parent", Kind::Text),
    ("from_event", Kind::Int),
    ("from_time", Kind::Int),
    ("to_event", Kind::Int),
    ("to_time", Kind::Int),
];

fn intervals_json(rows: &[IntervalRow<'_>]) -> String {
    let tuples: Vec<_> = rows
        .iter()
        .map(|i| {
            (
                i.child,
                i.parent,
                i.from_event,
                i.from_time,
                i.to_event,
                i.to_time,
            )
        })
        .collect();
    serde_json::to_string(&tuples).unwrap_or_else(|_| "[]".into())
}

/// Inserts new intervals, open or already closed.
pub async fn insert_intervals(
    conn: &mut AnyConnection,
    backend: Backend,
    rows: &[IntervalRow<'_>],
) -> Result<(), StorageError> {
    let sql = format!(
        "INSERT INTO aggregation_intervals (child, parent, from_event, from_time, to_event, \
         to_time) {}",
        json_rows(backend, &INTERVAL_KINDS)
    );
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        sqlx::query(AssertSqlSafe(sql.as_str()))
            .bind(intervals_json(chunk))
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Closes stored open intervals, each found by child, parent and packing event.
pub async fn close_intervals(
    conn: &mut AnyConnection,
    backend: Backend,
    rows: &[IntervalRow<'_>],
) -> Result<(), StorageError> {
    let sql = format!(
        "WITH v AS ({}) \
         UPDATE aggregation_intervals SET to_event = v.to_event, to_time = v.to_time FROM v \
         WHERE aggregation_intervals.child = v.child \
         AND aggregation_intervals.parent = v.parent \
         AND aggregation_intervals.from_event = v.from_event \
         AND aggregation_intervals.to_time IS NULL",
        json_rows(backend, &INTERVAL_KINDS)
    );
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        sqlx::query(AssertSqlSafe(sql.as_str()))
            .bind(intervals_json(chunk))
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_rows_cast_integers_on_postgres_only() {
        let cols = [("a", Kind::Text), ("b", Kind::Int)];
        assert_eq!(
            json_rows(Backend::Sqlite, &cols),
            "SELECT value ->> 0 AS a, value ->> 1 AS b FROM json_each($1)"
        );
        assert_eq!(
            json_rows(Backend::Postgres, &cols),
            "SELECT value ->> 0 AS a, (value ->> 1)::bigint AS b FROM jsonb_array_elements($1::jsonb)"
        );
    }
}
