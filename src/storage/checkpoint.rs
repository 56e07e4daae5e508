//! A large SQLite commit without the inline copy of the write-ahead log.
//!
//! By default, the SQLite connection whose commit takes the log past 1,000 pages copies the
//! whole log into the database file and syncs it before that commit returns. A capture of
//! 100,000 units commits about 60 MB of pages at once, so its caller also waited for that
//! copy and its sync: about 0.5 s of a 3.0 s capture, measured on the project machine.
//!
//! A capture's connection turns the automatic checkpoint off just before its commit and back
//! on right after ([`without_inline_checkpoint`], [`restore`]), and a background task copies
//! the log (`PASSIVE`: it neither waits for nor blocks readers and writers). Durability does
//! not change: a commit is durable once its log frames are synced, as before. The copy still
//! happens, on the other core while the server goes on; whatever it leaves is copied by the
//! next ordinary commit's automatic checkpoint, and a process that exits first leaves the log
//! for the next one to open (SQLite reads through it).
//!
//! Why only large commits: every connection without automatic checkpoints and a periodic
//! background copy instead was measured too, and took 12 % off the peak verification rate
//! (many small commits; interleaved A/B, 2,471–2,961/s against 2,939–3,313/s).

use sqlx::{AnyConnection, AnyPool};

use super::StorageError;

/// Back to SQLite's default automatic checkpoint threshold (1,000 pages), which every
/// connection of the pool keeps outside a large commit.
const RESTORE: &str = "PRAGMA wal_autocheckpoint = 1000";

/// Turns the automatic checkpoint off on the connection of the transaction about to commit.
///
/// # Errors
/// The statement failed.
pub async fn without_inline_checkpoint(conn: &mut AnyConnection) -> Result<(), StorageError> {
    sqlx::query("PRAGMA wal_autocheckpoint = 0")
        .execute(conn)
        .await?;
    Ok(())
}

/// After the commit: turns the automatic checkpoint back on for the connection, and starts
/// the copy of the log on a background task.
///
/// # Errors
/// The connection could not be restored; the caller must not return it to the pool.
pub async fn restore(conn: &mut AnyConnection, pool: &AnyPool) -> Result<(), StorageError> {
    sqlx::query(RESTORE).execute(conn).await?;
    let pool = pool.clone();
    tokio::spawn(async move {
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&pool)
            .await
        {
            // A busy or closing database: the next automatic checkpoint copies the log.
            tracing::debug!(error = %e, "background WAL checkpoint did not run");
        }
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use sqlx::Connection as _;

    use crate::config::DatabaseUrl;
    use crate::storage::Db;

    /// The commit leaves its pages in the log; the background task, not the writer, copies
    /// them into the database file, and the connection checkpoints by itself again after.
    #[tokio::test]
    async fn a_large_commit_leaves_the_copy_to_the_background() {
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
        let mut conn = db.pool().acquire().await.expect("connection");
        let mut tx = conn.begin().await.expect("begin");
        // 20 MiB: over the 1,000 pages (16 KiB each) that make a writer checkpoint itself.
        sqlx::query("INSERT INTO blobs VALUES (zeroblob(20971520))")
            .execute(&mut *tx)
            .await
            .expect("insert");
        super::without_inline_checkpoint(&mut tx)
            .await
            .expect("pragma");
        tx.commit().await.expect("commit");
        let right_after = std::fs::metadata(&file).expect("database file").len();
        assert!(
            right_after < before + (1 << 20),
            "the writer copied the log itself ({before} -> {right_after} bytes)"
        );
        super::restore(&mut conn, db.pool()).await.expect("restore");
        let pages: i64 = sqlx::query_scalar("PRAGMA wal_autocheckpoint")
            .fetch_one(&mut *conn)
            .await
            .expect("pragma");
        assert_eq!(pages, 1000);
        drop(conn);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let now = std::fs::metadata(&file).expect("database file").len();
            if now >= before + (20 << 20) {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the log was not copied into the database file within 10 s ({now} bytes)"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
}
