//! Batched ledger reads for verification.
//!
//! A verification reads one ledger row. Read one statement per request, each read is a round
//! trip to the database: on SQLite, two hand-offs to and from the connection's worker thread
//! (sqlx runs every SQLite connection on a thread of its own), plus the pool's. Under load the
//! hand-offs, not SQLite's work, were most of a verification's cost: `perf` during the
//! 16-connection load counted a fifth of all samples in futex waits and wake-ups.
//!
//! Here one task does the reading, the same way the audit trail's group commit does the
//! writing (`services::audit_writer`): a request hands its EPC key to the task and waits; the
//! task takes every key queued, reads their rows in one statement and answers each request.
//! One round trip serves a batch. A request that arrives alone is read alone, at once: nothing
//! waits for a batch to fill.
//!
//! If a batch's statement fails, or the task has stopped, each request reads its own row
//! directly, so a failure reaches the caller as the typed storage error of its own read.

use std::collections::HashMap;

use tokio::sync::{mpsc, oneshot};

use crate::storage::verify::{self as store, LedgerEntry};
use crate::storage::{Db, StorageError};

/// Most keys read in one statement.
const MAX_BATCH: usize = 256;

/// The task's answer to one key: `Some(row or none)`, or `None` when the batch failed and the
/// caller should read the row itself.
type Reply = Option<Option<LedgerEntry>>;

struct Read {
    epc: String,
    reply: oneshot::Sender<Reply>,
}

/// Ledger reads for verification: batched through a task ([`LedgerReads::start`]), or one
/// statement each ([`LedgerReads::direct`], for one-off callers such as the CLI). Cheap to
/// clone; the task ends when every handle is dropped.
#[derive(Debug, Clone)]
pub struct LedgerReads {
    db: Db,
    jobs: Option<mpsc::UnboundedSender<Read>>,
}

impl std::fmt::Debug for Read {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Read").field("epc", &self.epc).finish()
    }
}

impl LedgerReads {
    /// Starts the reading task on the current runtime.
    pub fn start(db: Db) -> Self {
        let (jobs, rx) = mpsc::unbounded_channel();
        tokio::spawn(run(db.clone(), rx));
        Self {
            db,
            jobs: Some(jobs),
        }
    }

    /// Reads without a task: one statement per read.
    pub fn direct(db: Db) -> Self {
        Self { db, jobs: None }
    }

    /// The database read from.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The ledger row of `epc` (a stored EPC key).
    ///
    /// # Errors
    /// The database failed.
    pub async fn entry(&self, epc: String) -> Result<Option<LedgerEntry>, StorageError> {
        if let Some(jobs) = &self.jobs {
            let (reply, answer) = oneshot::channel();
            let read = Read {
                epc: epc.clone(),
                reply,
            };
            if jobs.send(read).is_ok()
                && let Ok(Some(entry)) = answer.await
            {
                return Ok(entry);
            }
        }
        let mut conn = self.db.pool().acquire().await?;
        store::ledger_entry(&mut conn, &epc).await
    }
}

async fn run(db: Db, mut rx: mpsc::UnboundedReceiver<Read>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        match read_all(&db, &batch).await {
            Ok(found) => {
                for read in batch.drain(..) {
                    // Cloned, not moved: two requests of a batch may ask for the same key.
                    let _ = read.reply.send(Some(found.get(&read.epc).cloned()));
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, keys = batch.len(), "batched ledger read failed; each request reads alone");
                for read in batch.drain(..) {
                    let _ = read.reply.send(None);
                }
            }
        }
    }
}

async fn read_all(db: &Db, batch: &[Read]) -> Result<HashMap<String, LedgerEntry>, StorageError> {
    let keys: Vec<&str> = batch.iter().map(|r| r.epc.as_str()).collect();
    let keys = serde_json::to_string(&keys).map_err(|e| StorageError::Conflict(e.to_string()))?;
    let mut conn = db.pool().acquire().await?;
    Ok(store::ledger_entries(&mut conn, db.backend(), &keys)
        .await?
        .into_iter()
        .collect())
}
