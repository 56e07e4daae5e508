//! Checkpoints of SQLite's write-ahead log, off the writers' path.
//!
//! By default, the SQLite connection whose commit takes the log past 1,000 pages copies the
//! whole log into the database file and syncs it before that commit returns. A capture of
//! 100,000 units commits about 60 MB of pages at once, so its caller also waited for that
//! copy and its sync: 0.5 s of a 3.0 s capture, measured on the project machine.
//!
//! Here the connections of a writing pool never checkpoint (`wal_autocheckpoint = 0`), and one
//! task per database does it every [`INTERVAL`], `PASSIVE` (it neither waits for nor blocks
//! readers and writers: it copies what no reader still needs, and the next round copies the
//! rest). Durability does not change: a commit is durable once its log frames are synced, as
//! before. The copy still happens, on the other core while the server goes on; a process that
//! exits first leaves the log for the next one to open (SQLite reads through it).
//!
//! The task ends when the last handle on the database is dropped.

use std::sync::{Arc, Weak};
use std::time::Duration;

use sqlx::AnyPool;

/// How often the log is copied into the database file. About the time a verification load
/// takes to write a few megabytes of log, so the log stays small.
pub(super) const INTERVAL: Duration = Duration::from_millis(250);

/// The pragma every connection of a writing SQLite pool runs.
pub(super) const NO_AUTOCHECKPOINT: &str = "PRAGMA wal_autocheckpoint = 0";

/// Starts the checkpointing task on the current runtime; it stops once `alive` has no strong
/// handle left.
pub(super) fn start(pool: AnyPool, alive: &Arc<()>) {
    let alive: Weak<()> = Arc::downgrade(alive);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if alive.strong_count() == 0 || pool.is_closed() {
                break;
            }
            if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                .execute(&pool)
                .await
            {
                // A busy or closing database: the next round tries again.
                tracing::debug!(error = %e, "WAL checkpoint did not run");
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use crate::config::DatabaseUrl;
    use crate::storage::Db;

    /// The commit leaves its pages in the log; the task, not the writer, copies them into the
    /// database file soon after.
    #[tokio::test]
    async fn the_log_reaches_the_database_file_in_the_background() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let file = dir.path().join("dscsa.db");
        let db = Db::connect(&DatabaseUrl::sqlite_file(&file), 2)
            .await
            .expect("connect");
        sqlx::query("CREATE TABLE blobs (b BLOB)")
            .execute(db.pool())
            .await
            .expect("create");
        let before = std::fs::metadata(&file).expect("database file").len();
        // 4 MiB: over the 1,000 pages that would have made the writer checkpoint itself.
        sqlx::query("INSERT INTO blobs VALUES (zeroblob(4194304))")
            .execute(db.pool())
            .await
            .expect("insert");
        let right_after = std::fs::metadata(&file).expect("database file").len();
        assert!(
            right_after < before + (1 << 20),
            "the writer copied the log itself ({before} -> {right_after} bytes)"
        );
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let now = std::fs::metadata(&file).expect("database file").len();
            if now >= before + (4 << 20) {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the log was not copied into the database file within 10 s ({now} bytes)"
            );
            tokio::time::sleep(super::INTERVAL / 2).await;
        }
    }
}
