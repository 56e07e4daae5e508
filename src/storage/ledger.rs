//! The serial ledger and the open aggregation intervals, read and written in sets: the SQL
//! behind the capture's write-back ledger (`services::ledger`). Every function runs in the
//! caller's transaction.
//!
//! Reads take a JSON array of keys (one bind, expanded by the database, as in
//! [`super::capture`]); writes bind every value in multi-row `VALUES` lists of at most
//! [`ROWS_PER_STATEMENT`] rows: a flush of 100,000 serials is a hundred statements, not
//! 100,000 round trips.

use sqlx::{AnyConnection, AssertSqlSafe, Row as _};

use super::capture::dialect;
use super::{AnyQuery, Backend, StorageError, values, write_verb};

/// Rows per write statement: at 16 columns, 16,000 binds, under SQLite's limit of 32,766 and
/// PostgreSQL's 65,535.
pub const ROWS_PER_STATEMENT: usize = 1000;

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

/// Runs one statement per `per_statement` rows: `sql(n)` is the statement for n rows, `bind`
/// adds a row's values in placeholder order.
async fn write_in_chunks<'a, T>(
    conn: &mut AnyConnection,
    rows: &[T],
    per_statement: usize,
    sql: impl Fn(usize) -> String,
    bind: impl Fn(AnyQuery<'a>, &T) -> AnyQuery<'a>,
) -> Result<(), StorageError> {
    for chunk in rows.chunks(per_statement) {
        let mut q = sqlx::query(AssertSqlSafe(sql(chunk.len())));
        for row in chunk {
            q = bind(q, row);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

fn bind_serial<'q>(q: AnyQuery<'q>, s: &SerialRow<&'q str>) -> AnyQuery<'q> {
    q.bind(s.epc)
        .bind(s.gtin)
        .bind(s.lot)
        .bind(s.expiry)
        .bind(s.commissioned_event)
        .bind(s.commissioned_at)
        .bind(s.parent)
        .bind(s.top)
        .bind(s.last_event)
        .bind(s.last_event_time)
        .bind(s.last_biz_step)
        .bind(s.last_disposition)
        .bind(s.owner)
        .bind(s.location)
        .bind(s.state)
        .bind(i64::from(s.recalled))
}

/// Inserts ledger rows that do not exist yet (at most [`ROWS_PER_STATEMENT`] a statement).
pub async fn insert_serials(
    conn: &mut AnyConnection,
    backend: Backend,
    rows: &[SerialRow<&str>],
) -> Result<(), StorageError> {
    let sql = |n| {
        format!(
            "{} serials ({SERIAL_COLUMNS}) {}",
            write_verb(backend, false),
            values(backend, n, 16)
        )
    };
    write_in_chunks(conn, rows, ROWS_PER_STATEMENT, sql, bind_serial).await
}

/// Rewrites existing ledger rows (every column but `suspect` and `quarantined`), by EPC key.
pub async fn update_serials(
    conn: &mut AnyConnection,
    backend: Backend,
    rows: &[SerialRow<&str>],
) -> Result<(), StorageError> {
    // WHY a CTE with a column list: SQLite names the columns of a bare VALUES list column1,
    // column2, …, and has no `AS v(a, b)`; both backends accept this form.
    let sql = |n| {
        format!(
            "WITH v ({SERIAL_COLUMNS}) AS ({}) \
             {} serials SET gtin = v.gtin, lot = v.lot, expiry = v.expiry, \
             commissioned_event = v.commissioned_event, commissioned_at = v.commissioned_at, \
             parent_epc = v.parent_epc, top_epc = v.top_epc, last_event = v.last_event, \
             last_event_time = v.last_event_time, last_biz_step = v.last_biz_step, \
             last_disposition = v.last_disposition, owner = v.owner, location = v.location, \
             state = v.state, recalled = v.recalled FROM v WHERE serials.epc = v.epc",
            values(backend, n, 16),
            write_verb(backend, true)
        )
    };
    write_in_chunks(conn, rows, ROWS_PER_STATEMENT, sql, bind_serial).await
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

fn bind_interval<'q>(q: AnyQuery<'q>, i: &IntervalRow<'q>) -> AnyQuery<'q> {
    q.bind(i.child)
        .bind(i.parent)
        .bind(i.from_event)
        .bind(i.from_time)
        .bind(i.to_event)
        .bind(i.to_time)
}

const INTERVAL_COLUMNS: &str = "child, parent, from_event, from_time, to_event, to_time";

/// Inserts new intervals, open or already closed.
pub async fn insert_intervals(
    conn: &mut AnyConnection,
    backend: Backend,
    rows: &[IntervalRow<'_>],
) -> Result<(), StorageError> {
    let sql = |n| {
        format!(
            "{} aggregation_intervals ({INTERVAL_COLUMNS}) {}",
            write_verb(backend, false),
            values(backend, n, 6)
        )
    };
    write_in_chunks(conn, rows, ROWS_PER_STATEMENT, sql, bind_interval).await
}

/// Closes stored open intervals, each found by child, parent and packing event.
pub async fn close_intervals(
    conn: &mut AnyConnection,
    backend: Backend,
    rows: &[IntervalRow<'_>],
) -> Result<(), StorageError> {
    let sql = |n| {
        format!(
            "WITH v ({INTERVAL_COLUMNS}) AS ({}) \
             {} aggregation_intervals SET to_event = v.to_event, to_time = v.to_time FROM v \
             WHERE aggregation_intervals.child = v.child \
             AND aggregation_intervals.parent = v.parent \
             AND aggregation_intervals.from_event = v.from_event \
             AND aggregation_intervals.to_time IS NULL",
            values(backend, n, 6),
            write_verb(backend, true)
        )
    };
    write_in_chunks(conn, rows, ROWS_PER_STATEMENT, sql, bind_interval).await
}

/// Rows per `event_epcs` statement (three columns: 15,000 binds).
pub const EPC_ROWS_PER_STATEMENT: usize = 5000;

/// Adds `event_epcs` rows (EPC key, event row id, role) of events this capture stored, each
/// once.
pub async fn insert_event_epcs(
    conn: &mut AnyConnection,
    backend: Backend,
    rows: &[(&str, i64, &str)],
) -> Result<(), StorageError> {
    let sql = |n| {
        format!(
            "{} event_epcs (epc, event, role) {}",
            write_verb(backend, false),
            values(backend, n, 3)
        )
    };
    write_in_chunks(
        conn,
        rows,
        EPC_ROWS_PER_STATEMENT,
        sql,
        |q, (epc, event, role)| q.bind(*epc).bind(*event).bind(*role),
    )
    .await
}
