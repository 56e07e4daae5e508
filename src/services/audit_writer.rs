//! Group commit of the partner listener's audit records.
//!
//! Every request's record must be durable before its response is released, and the records
//! form one hash chain, so they are written one after the other. Written one transaction per
//! request, concurrent requests queue on the database's write lock: on SQLite a writer that
//! finds the lock taken sleeps in the busy handler (1, 2, 5, 10 ms ...), and each commit pays
//! its own fsync. Measured on the verification endpoint with 16 connections: 618 requests/s,
//! p99 200 ms.
//!
//! Here one task owns the writing: a request hands its record (and the rows that must commit
//! with it, such as the verification log entry of its answer) to the task and waits; the task
//! takes everything queued, writes it in one transaction in arrival order, commits once and
//! answers each request with its sealed record. Nothing is released before its commit. If a
//! batch fails, each of its requests is retried alone, so one bad row fails one request.
//! Verification answers are counted in the metrics once their log entry has committed.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use sqlx::AnyConnection;

use crate::audit::{AuditRecord, NewRecord};
use crate::metrics::Metrics;
use crate::storage::{Backend, Db, StorageError};

/// Most records in one transaction.
const MAX_BATCH: usize = 512;

/// A row that commits with an audit record.
#[derive(Debug, Clone)]
pub enum Companion {
    /// The log entry of a verification answer.
    Verification(crate::storage::verify::LogEntry),
}

struct Job {
    record: NewRecord,
    companions: Vec<Companion>,
    reply: oneshot::Sender<Result<AuditRecord, String>>,
}

/// A handle to the writer task; cheap to clone. The task ends when every handle is dropped.
#[derive(Debug, Clone)]
pub struct AuditWriter {
    jobs: mpsc::UnboundedSender<Job>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job")
            .field("action", &self.record.action)
            .finish()
    }
}

/// Why a record could not be written.
#[derive(Debug, thiserror::Error)]
#[error("audit record not written: {0}")]
pub struct WriteError(String);

impl AuditWriter {
    /// Starts the writer task on the current runtime; committed verification answers are
    /// counted in `metrics`.
    pub fn start(db: Db, metrics: Arc<Metrics>) -> Self {
        let (jobs, rx) = mpsc::unbounded_channel();
        tokio::spawn(run(db, rx, metrics));
        Self { jobs }
    }

    /// Writes `record` and `companions` in one transaction (shared with other requests' records)
    /// and returns the sealed record once committed.
    ///
    /// # Errors
    /// The transaction failed, or the writer has stopped.
    pub async fn write(
        &self,
        record: NewRecord,
        companions: Vec<Companion>,
    ) -> Result<AuditRecord, WriteError> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job {
                record,
                companions,
                reply,
            })
            .map_err(|_| WriteError("the audit writer has stopped".into()))?;
        answer
            .await
            .map_err(|_| WriteError("the audit writer has stopped".into()))?
            .map_err(WriteError)
    }
}

/// Counts the verification answers of a committed job.
fn count(metrics: &Metrics, job: &Job) {
    for companion in &job.companions {
        match companion {
            Companion::Verification(entry) => metrics.verification(entry),
        }
    }
}

/// The writer's state between batches. On SQLite: a connection of its own, taken out of the
/// pool (`detach`) because it runs transactions sqlx does not track and checkpoints the
/// write-ahead log more often than the pool's connections, and the head of the trail
/// as its last commit left it. With both, a batch is one round trip
/// (`storage::audit::append_all_sqlite_at`); each statement of the general path is a round trip
/// to the connection's worker thread, and under load each hand-off waits for a core.
struct Writer {
    db: Db,
    conn: Option<AnyConnection>,
    head: Option<(i64, String)>,
}

impl Writer {
    async fn write_all(&mut self, jobs: &[Job]) -> Result<Vec<AuditRecord>, StorageError> {
        if let Some(head) = self.head.take() {
            match self.write_at(head, jobs).await {
                Ok(sealed) => {
                    self.head = head_after(&sealed);
                    return Ok(sealed);
                }
                Err(e) => {
                    // Another writer moved the head, or the database failed: the connection may
                    // be inside the failed transaction, so it is closed, and the batch goes the
                    // general way, which reads the head again.
                    if let Some(conn) = self.conn.take() {
                        // Closing rolls back what the failed statement list left open.
                        let _ = sqlx::Connection::close(conn).await;
                    }
                    tracing::debug!(error = %e, "one-round-trip audit batch refused; written the general way");
                }
            }
        }
        let sealed = write_all(&self.db, jobs).await?;
        if self.db.backend() == Backend::Sqlite {
            self.head = head_after(&sealed);
        }
        Ok(sealed)
    }

    async fn write_at(
        &mut self,
        head: (i64, String),
        jobs: &[Job],
    ) -> Result<Vec<AuditRecord>, StorageError> {
        let conn = match self.conn.take() {
            Some(conn) => conn,
            None => {
                let mut conn = self.db.pool().acquire().await?.detach();
                // The commit that takes the write-ahead log past this many pages copies it into
                // the database file before it returns. At SQLite's 1,000 pages (16 MB here)
                // about one batch in a hundred took 5-50 ms, the rate of those copies, and every
                // request queued behind it waited: the half-load p99 (10-12 ms). A copy every
                // 100 pages is a tenth the size (p99 4.8-6.3 ms, peak unchanged; 30 pages
                // measured no better).
                sqlx::query("PRAGMA wal_autocheckpoint = 100")
                    .execute(&mut conn)
                    .await?;
                conn
            }
        };
        let conn = self.conn.insert(conn);
        let log = log_rows(jobs);
        let records = jobs.iter().map(|j| j.record.clone()).collect();
        crate::storage::audit::append_all_sqlite_at(conn, head, records, &log).await
    }
}

/// The head after `sealed`, the records just committed.
fn head_after(sealed: &[AuditRecord]) -> Option<(i64, String)> {
    sealed.last().map(|r| (r.seq, r.hash.clone()))
}

async fn run(db: Db, mut rx: mpsc::UnboundedReceiver<Job>, metrics: Arc<Metrics>) {
    let mut writer = Writer {
        db,
        conn: None,
        head: None,
    };
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        match writer.write_all(&batch).await {
            Ok(sealed) => {
                for (job, record) in batch.drain(..).zip(sealed) {
                    super::log_recorded(&record);
                    count(&metrics, &job);
                    let _ = job.reply.send(Ok(record));
                }
            }
            Err(e) if batch.len() == 1 => {
                for job in batch.drain(..) {
                    let _ = job.reply.send(Err(e.to_string()));
                }
            }
            Err(_) => {
                for job in batch.drain(..) {
                    let one = writer.write_all(std::slice::from_ref(&job)).await;
                    if one.is_ok() {
                        count(&metrics, &job);
                    }
                    let _ = job.reply.send(match one {
                        Ok(mut sealed) => sealed.pop().ok_or_else(|| "no record".to_owned()),
                        Err(e) => Err(e.to_string()),
                    });
                }
            }
        }
    }
}

/// The verification log rows of `jobs`, in order.
fn log_rows(jobs: &[Job]) -> Vec<crate::storage::verify::LogRow<'_>> {
    jobs.iter()
        .flat_map(|j| &j.companions)
        .map(|c| match c {
            Companion::Verification(entry) => entry.row(),
        })
        .collect()
}

/// The general way, on both backends: a pooled write transaction that reads the head.
async fn write_all(db: &Db, jobs: &[Job]) -> Result<Vec<AuditRecord>, StorageError> {
    let mut tx = db.begin_write().await?;
    crate::storage::verify::log_all(&mut tx, db.backend(), &log_rows(jobs)).await?;
    let records = jobs.iter().map(|j| j.record.clone()).collect();
    let sealed = crate::storage::audit::append_all(&mut tx, db.backend(), records).await?;
    tx.commit().await?;
    Ok(sealed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DatabaseUrl;

    use crate::audit::record::tests::sample as record;

    fn verification(serial: &str) -> Companion {
        Companion::Verification(crate::storage::verify::tests::sample(serial))
    }

    /// The one-round-trip batches chain onto the head the writer last wrote; when another
    /// writer appended in between, the batch is refused whole and written the general way,
    /// and the chain and the log stay whole.
    #[tokio::test]
    async fn batches_follow_a_head_moved_by_another_writer() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let db = Db::connect(&DatabaseUrl::sqlite_file(&dir.path().join("a.db")), 4)
            .await
            .expect("connect");
        db.migrate().await.expect("migrate");
        let writer = AuditWriter::start(db.clone(), Arc::new(Metrics::new()));
        let first = writer
            .write(record(1), vec![verification("S1")])
            .await
            .expect("first");
        // The second batch takes the one-round-trip way (the writer knows the head).
        let second = writer
            .write(record(2), vec![verification("S2"), verification("S3")])
            .await
            .expect("second");
        assert_eq!(
            (first.seq + 1, &first.hash),
            (second.seq, &second.prev_hash)
        );
        // Another writer appends behind the writer's back.
        let mut tx = db.begin_write().await.expect("begin");
        let other = crate::storage::audit::append(&mut tx, record(3))
            .await
            .expect("append");
        tx.commit().await.expect("commit");
        let third = writer
            .write(record(4), vec![verification("S4")])
            .await
            .expect("third");
        assert_eq!(third.seq, other.seq + 1);
        assert_eq!(third.prev_hash, other.hash);
        let fourth = writer.write(record(5), vec![]).await.expect("fourth");
        assert_eq!(
            (third.seq + 1, &third.hash),
            (fourth.seq, &fourth.prev_hash)
        );
        let summary = crate::services::audit::verify_chain_only(&db, 1)
            .await
            .expect("storage")
            .expect("the chain is whole");
        assert_eq!(summary.records, 5);
        let logged: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM verifications")
            .fetch_one(db.pool())
            .await
            .expect("count");
        assert_eq!(logged, 4, "each verification logged once");
    }
}
