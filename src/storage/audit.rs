//! The audit tables: append a record in the caller's transaction, read ranges for verification,
//! export and the auditor's API, and store signed checkpoints.
//!
//! An append first bumps the single `audit_head` row. That statement takes the write lock
//! (SQLite) or the row lock (PostgreSQL) until the transaction ends, so two transactions never
//! chain onto the same head. The head row is a convenience: verification walks the records.

use sqlx::{AnyConnection, Row as _};

use super::verify::{LOG_ROWS_PER_STATEMENT, LogRow, bind_log, log_insert};
use super::{AnyQuery, Backend, StorageError, now_text};
use crate::audit::{AuditRecord, Channel, Checkpoint, NewRecord, Outcome};

/// Appends `record` to the trail, in the caller's transaction, and returns it sealed.
pub async fn append(
    conn: &mut AnyConnection,
    record: NewRecord,
) -> Result<AuditRecord, StorageError> {
    let (seq, prev): (i64, String) =
        sqlx::query_as("UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash")
            .fetch_one(&mut *conn)
            .await?;
    let sealed = record.seal(seq, now_text(), prev);
    // Numbered placeholders and a plain INSERT: one row, on either backend, inside a caller's
    // transaction that may go on after a failure.
    bind_record(
        sqlx::query(
            "INSERT INTO audit_records (seq, time, actor, actor_kind, token_id, channel, action, \
             target, params, outcome, status, result_digest, rows, purpose, client_addr, \
             prev_hash, hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
        ),
        &sealed,
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1")
        .bind(&sealed.hash)
        .execute(&mut *conn)
        .await?;
    Ok(sealed)
}

/// Rows of `audit_records` per statement: 17 binds each, under SQLite's 32,766.
const RECORDS_PER_STATEMENT: usize = 1900;

/// `INSERT` of `n` records. On SQLite, `INSERT OR ROLLBACK` with anonymous placeholders (why:
/// `super::write_verb`, `super::values`): the rows follow the head their writer holds, so a
/// conflict means another writer moved the head, and the transaction ends whole.
fn records_insert(backend: Backend, n: usize) -> String {
    format!(
        "{} audit_records (seq, time, actor, actor_kind, token_id, channel, action, target, \
         params, outcome, status, result_digest, rows, purpose, client_addr, prev_hash, hash) {}",
        super::write_verb(backend, false),
        super::values(backend, n, 17)
    )
}

/// Binds a row of [`records_insert`].
fn bind_record<'q>(query: AnyQuery<'q>, s: &AuditRecord) -> AnyQuery<'q> {
    query
        .bind(s.seq)
        .bind(s.time.clone())
        .bind(s.actor.clone())
        .bind(s.actor_kind.clone())
        .bind(s.token_id.clone())
        .bind(s.channel.as_str())
        .bind(s.action.clone())
        .bind(serde_json::to_string(&s.target).unwrap_or_else(|_| "[]".into()))
        .bind(crate::audit::canonical::to_string(&s.params))
        .bind(s.outcome.as_str())
        .bind(s.status)
        .bind(s.result_digest.clone())
        .bind(s.rows)
        .bind(s.purpose.clone())
        .bind(s.client_addr.clone())
        .bind(s.prev_hash.clone())
        .bind(s.hash.clone())
}

/// Seals `records` in order after the head `(seq, hash)`.
fn seal_after(head: (i64, String), records: Vec<NewRecord>) -> Vec<AuditRecord> {
    let (mut seq, mut prev) = head;
    let mut sealed = Vec::with_capacity(records.len());
    for record in records {
        seq += 1;
        let s = record.seal(seq, now_text(), prev);
        prev = s.hash.clone();
        sealed.push(s);
    }
    sealed
}

/// Appends `records` in order, in three statements whatever their number: the head is read
/// (and locked on PostgreSQL; the caller's write transaction holds SQLite's lock), the records
/// are sealed in memory one after the other, inserted with one multi-row statement, and the
/// head moves once. The group-commit writer uses it: each statement is a round trip to the
/// database (on SQLite, to the connection's worker thread), so per-record statements were
/// most of a request's cost.
pub async fn append_all(
    conn: &mut AnyConnection,
    backend: Backend,
    records: Vec<NewRecord>,
) -> Result<Vec<AuditRecord>, StorageError> {
    let lock = match backend {
        Backend::Postgres => " FOR UPDATE",
        Backend::Sqlite => "",
    };
    let head: (i64, String) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT seq, hash FROM audit_head WHERE id = 1{lock}"
    )))
    .fetch_one(&mut *conn)
    .await?;
    let sealed = seal_after(head, records);
    for chunk in sealed.chunks(RECORDS_PER_STATEMENT) {
        // The text holds placeholders only; every value is bound.
        let mut query = sqlx::query(sqlx::AssertSqlSafe(records_insert(backend, chunk.len())));
        for s in chunk {
            query = bind_record(query, s);
        }
        query.execute(&mut *conn).await?;
    }
    if let Some(last) = sealed.last() {
        sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
            .bind(last.seq)
            .bind(&last.hash)
            .execute(&mut *conn)
            .await?;
    }
    Ok(sealed)
}

/// SQLite only: a whole group commit (its verification log rows, its records after `head`, the
/// head's move) as one transaction sent to the connection in one statement list, so one round
/// trip to the connection's worker thread instead of six. `head` is the head as the caller
/// last wrote it; if another writer has appended since, the first record's sequence number is
/// taken, `INSERT OR ROLLBACK` ends the transaction, and the caller must read the head again
/// ([`append_all`]). After any error the connection may still be in the transaction: the
/// caller must not reuse it (the audit writer closes it).
pub async fn append_all_sqlite_at(
    conn: &mut AnyConnection,
    head: (i64, String),
    records: Vec<NewRecord>,
    log: &[LogRow<'_>],
) -> Result<Vec<AuditRecord>, StorageError> {
    let sealed = seal_after(head, records);
    let (Some(last), true, true) = (
        sealed.last(),
        sealed.len() <= RECORDS_PER_STATEMENT,
        log.len() <= LOG_ROWS_PER_STATEMENT,
    ) else {
        return Err(StorageError::Conflict(format!(
            "a batch of {} records and {} log rows is not written in one statement list",
            sealed.len(),
            log.len()
        )));
    };
    let mut sql = String::from("BEGIN IMMEDIATE; ");
    if !log.is_empty() {
        sql.push_str(&log_insert(Backend::Sqlite, log.len()));
        sql.push_str("; ");
    }
    sql.push_str(&records_insert(Backend::Sqlite, sealed.len()));
    sql.push_str("; UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1; COMMIT");
    // The text holds placeholders only; every value is bound, in statement order.
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for row in log {
        query = bind_log(query, row);
    }
    for s in &sealed {
        query = bind_record(query, s);
    }
    query
        .bind(last.seq)
        .bind(last.hash.clone())
        .execute(&mut *conn)
        .await?;
    Ok(sealed)
}

/// The last record's sequence number and hash (0 and the genesis hash for an empty trail).
pub async fn head(conn: &mut AnyConnection) -> Result<(i64, String), StorageError> {
    Ok(
        sqlx::query_as("SELECT seq, hash FROM audit_head WHERE id = 1")
            .fetch_one(&mut *conn)
            .await?,
    )
}

fn corrupt(seq: i64, what: &str) -> StorageError {
    StorageError::Corrupt(format!("audit record {seq}: {what}"))
}

fn record_from_row(row: &sqlx::any::AnyRow) -> Result<AuditRecord, StorageError> {
    let seq: i64 = row.try_get("seq")?;
    let channel = match row.try_get::<String, _>("channel")?.as_str() {
        "cli" => Channel::Cli,
        "mcp" => Channel::Mcp,
        "rest" => Channel::Rest,
        _ => return Err(corrupt(seq, "unknown channel")),
    };
    let outcome = match row.try_get::<String, _>("outcome")?.as_str() {
        "denied" => Outcome::Denied,
        "failed" => Outcome::Failed,
        "ok" => Outcome::Ok,
        _ => return Err(corrupt(seq, "unknown outcome")),
    };
    let target: String = row.try_get("target")?;
    let params: String = row.try_get("params")?;
    Ok(AuditRecord {
        seq,
        time: row.try_get("time")?,
        actor: row.try_get("actor")?,
        actor_kind: row.try_get("actor_kind")?,
        token_id: row.try_get("token_id")?,
        channel,
        action: row.try_get("action")?,
        target: serde_json::from_str(&target).map_err(|_| corrupt(seq, "target is not JSON"))?,
        params: serde_json::from_str(&params).map_err(|_| corrupt(seq, "params are not JSON"))?,
        outcome,
        status: row.try_get("status")?,
        result_digest: row.try_get("result_digest")?,
        rows: row.try_get("rows")?,
        purpose: row.try_get("purpose")?,
        client_addr: row.try_get("client_addr")?,
        prev_hash: row.try_get("prev_hash")?,
        hash: row.try_get("hash")?,
    })
}

/// Filters for reading the trail.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// First sequence number (inclusive).
    pub from_seq: Option<i64>,
    /// Last sequence number (inclusive).
    pub to_seq: Option<i64>,
    /// Earliest time (inclusive, RFC 3339).
    pub from_time: Option<String>,
    /// Latest time (exclusive, RFC 3339).
    pub to_time: Option<String>,
    /// Only this actor.
    pub actor: Option<String>,
    /// Only this action.
    pub action: Option<String>,
}

/// Up to `limit` records matching `filter`, in sequence order.
pub async fn records(
    conn: &mut AnyConnection,
    filter: &Filter,
    limit: i64,
) -> Result<Vec<AuditRecord>, StorageError> {
    // Every condition is a fixed fragment with a bound value; absent filters match everything.
    let rows = sqlx::query(
        "SELECT * FROM audit_records \
         WHERE ($1 IS NULL OR seq >= $1) AND ($2 IS NULL OR seq <= $2) \
           AND ($3 IS NULL OR time >= $3) AND ($4 IS NULL OR time < $4) \
           AND ($5 IS NULL OR actor = $5) AND ($6 IS NULL OR action = $6) \
         ORDER BY seq LIMIT $7",
    )
    .bind(filter.from_seq)
    .bind(filter.to_seq)
    .bind(filter.from_time.as_deref())
    .bind(filter.to_time.as_deref())
    .bind(filter.actor.as_deref())
    .bind(filter.action.as_deref())
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(record_from_row).collect()
}

/// The records whose targets or parameters mention `needle` (a GTIN, for an FDA records
/// package), with `from <= time < to` where given, in sequence order. The caller narrows them
/// further (serial, lot); this statement only keeps the scan to the period.
pub async fn mentioning(
    conn: &mut AnyConnection,
    needle: &str,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<Vec<AuditRecord>, StorageError> {
    let rows = sqlx::query(
        "SELECT * FROM audit_records \
         WHERE ($2 IS NULL OR time >= $2) AND ($3 IS NULL OR time < $3) \
           AND (target LIKE '%' || $1 || '%' OR params LIKE '%' || $1 || '%') \
         ORDER BY seq",
    )
    .bind(needle)
    .bind(from)
    .bind(to)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(record_from_row).collect()
}

/// The hash of the record at `seq`, if it exists.
pub async fn hash_at(conn: &mut AnyConnection, seq: i64) -> Result<Option<String>, StorageError> {
    Ok(
        sqlx::query_scalar("SELECT hash FROM audit_records WHERE seq = $1")
            .bind(seq)
            .fetch_optional(&mut *conn)
            .await?,
    )
}

/// Stores a signed checkpoint.
pub async fn insert_checkpoint(
    conn: &mut AnyConnection,
    c: &Checkpoint,
) -> Result<(), StorageError> {
    sqlx::query(
        "INSERT INTO audit_checkpoints (seq, head_hash, time, signature, public_key) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(c.seq)
    .bind(&c.head_hash)
    .bind(&c.time)
    .bind(&c.signature)
    .bind(&c.public_key)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// All checkpoints from `from_seq` on, in sequence order.
pub async fn checkpoints(
    conn: &mut AnyConnection,
    from_seq: i64,
) -> Result<Vec<Checkpoint>, StorageError> {
    let rows: Vec<(i64, String, String, String, String)> = sqlx::query_as(
        "SELECT seq, head_hash, time, signature, public_key FROM audit_checkpoints \
         WHERE seq >= $1 ORDER BY seq",
    )
    .bind(from_seq)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(seq, head_hash, time, signature, public_key)| Checkpoint {
            seq,
            head_hash,
            time,
            signature,
            public_key,
        })
        .collect())
}

/// The last checkpoint's sequence number (0 when there is none).
pub async fn last_checkpoint_seq(conn: &mut AnyConnection) -> Result<i64, StorageError> {
    let seq: Option<i64> = sqlx::query_scalar("SELECT MAX(seq) FROM audit_checkpoints")
        .fetch_one(&mut *conn)
        .await?;
    Ok(seq.unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use sqlx::Connection as _;

    use super::*;
    use crate::config::DatabaseUrl;
    use crate::storage::Db;

    use crate::audit::record::tests::sample as record;
    use crate::storage::verify::tests::sample as log_entry;

    async fn count(db: &Db, table: &str) -> i64 {
        sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
            .fetch_one(db.pool())
            .await
            .expect("count")
    }

    /// One statement list writes the log rows, the records after the given head and the new
    /// head; given a head another writer has moved, it writes nothing.
    #[tokio::test]
    async fn a_batch_in_one_round_trip_chains_or_changes_nothing() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let db = Db::connect(&DatabaseUrl::sqlite_file(&dir.path().join("a.db")), 2)
            .await
            .expect("connect");
        db.migrate().await.expect("migrate");
        let mut conn = db.pool().acquire().await.expect("connection").detach();
        let start = head(&mut conn).await.expect("head");
        let (records_before, log_before) = (
            count(&db, "audit_records").await,
            count(&db, "verifications").await,
        );

        let entries = [log_entry("S1"), log_entry("S2"), log_entry("S3")];
        let sealed = append_all_sqlite_at(
            &mut conn,
            start.clone(),
            vec![record(1), record(2)],
            &[entries[0].row(), entries[1].row()],
        )
        .await
        .expect("one round trip");
        assert_eq!(sealed.len(), 2);
        assert_eq!(
            (sealed[0].seq, &sealed[0].prev_hash),
            (start.0 + 1, &start.1)
        );
        assert_eq!(sealed[1].prev_hash, sealed[0].hash);
        let moved = head(&mut conn).await.expect("head");
        assert_eq!(moved, (sealed[1].seq, sealed[1].hash.clone()));
        assert_eq!(count(&db, "audit_records").await, records_before + 2);
        assert_eq!(count(&db, "verifications").await, log_before + 2);

        // A stale head: the first sequence number is taken, and nothing is written.
        let stale =
            append_all_sqlite_at(&mut conn, start, vec![record(3)], &[entries[2].row()]).await;
        assert!(stale.is_err(), "a stale head must be refused");
        conn.close().await.expect("close");
        assert_eq!(count(&db, "audit_records").await, records_before + 2);
        assert_eq!(count(&db, "verifications").await, log_before + 2);
        let mut conn = db.pool().acquire().await.expect("connection");
        assert_eq!(head(&mut conn).await.expect("head"), moved);
    }
}
