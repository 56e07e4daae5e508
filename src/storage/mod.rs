//! Storage: the only place with SQL. SQLite (embedded default) and PostgreSQL (production)
//! through one `sqlx` [`AnyPool`].
//!
//! Why `Any` and runtime-checked SQL rather than `query!` macros: the macros check each query
//! against one database at compile time, and this crate serves two. Following
//! `../shared/STYLE.md` (practical notes, "share SQL where the dialects agree and check it by
//! running the suite on both"), statements here are written once in the subset both dialects
//! share, with `$n` placeholders (SQLite accepts them through sqlx), every value bound, and
//! the whole integration suite runs on both backends. Where a dialect differs, a statement
//! branches on [`Backend`]. Schemas live in `migrations/sqlite` and `migrations/postgres`,
//! embedded with `sqlx::migrate!` and applied by `dscsa serve` at start and by `dscsa migrate`.
//!
//! Storage functions take a `&mut AnyConnection` (a pooled connection or an open transaction),
//! so a service can make several calls, and later its audit record, in one transaction.

pub mod agent_tokens;
pub mod audit;
pub mod capture;
pub mod checkpoint;
pub mod fda;
pub mod inventory;
pub mod investigations;
pub mod ledger;
pub mod masterdata;
pub mod principals;
pub mod query;
pub mod trace;
pub mod verify;

use std::fmt::Write as _;
use std::time::Duration;

use sqlx::AnyConnection;
use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, Connection as _, Transaction};

use crate::config::DatabaseUrl;

/// A statement with its binds, as built by the storage helpers that share bind code.
pub(crate) type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>;

/// Which database is behind the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// PostgreSQL.
    Postgres,
    /// SQLite (WAL mode, foreign keys on).
    Sqlite,
}

impl Backend {
    /// `sqlite` or `postgres`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Postgres => "postgres",
            Self::Sqlite => "sqlite",
        }
    }
}

/// Why a storage call failed.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// Something with this key already exists.
    #[error("{0} already exists")]
    AlreadyExists(String),
    /// A write would break a rule (the message says which).
    #[error("{0}")]
    Conflict(String),
    /// A stored row does not pass the domain types' checks (edited by hand?).
    #[error("stored data is not valid: {0}")]
    Corrupt(String),
    /// The database refused or failed.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// A migration failed.
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Nothing with this key.
    #[error("{0} not found")]
    NotFound(String),
}

impl StorageError {
    /// True when the error is a unique-constraint violation.
    pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
        matches!(e, sqlx::Error::Database(d) if d.kind() == sqlx::error::ErrorKind::UniqueViolation)
    }
}

impl From<partners::Error> for StorageError {
    fn from(e: partners::Error) -> Self {
        Self::Corrupt(e.to_string())
    }
}

/// The database: a pool and which backend it is.
#[derive(Debug, Clone)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
}

/// How a SQLite write transaction starts (why: [`Db::begin_write`]).
const SQLITE_BEGIN_WRITE: &str = "BEGIN IMMEDIATE";

static MIGRATE_SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static MIGRATE_POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

impl Db {
    /// Connects. A SQLite file and its directory are created if missing, and the file is put
    /// in WAL mode.
    pub async fn connect(url: &DatabaseUrl, max_connections: u32) -> Result<Self, StorageError> {
        Self::open(url, max_connections, false).await
    }

    /// Connects a pool that cannot write: every PostgreSQL transaction is `READ ONLY` and
    /// every SQLite connection `query_only`, so a bug in a reader fails instead of writing. The
    /// MCP tools use it (the database itself must exist and be migrated).
    pub async fn connect_read_only(
        url: &DatabaseUrl,
        max_connections: u32,
    ) -> Result<Self, StorageError> {
        Self::open(url, max_connections, true).await
    }

    async fn open(
        url: &DatabaseUrl,
        max_connections: u32,
        read_only: bool,
    ) -> Result<Self, StorageError> {
        sqlx::any::install_default_drivers();
        let backend = if url.is_sqlite() {
            Backend::Sqlite
        } else if url.expose().starts_with("postgres:") || url.expose().starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(StorageError::Conflict(format!(
                "database URL {url}: use sqlite://PATH or postgres://…"
            )));
        };
        if backend == Backend::Sqlite && !read_only {
            create_sqlite_dir(url.expose())?;
            let mut conn = AnyConnection::connect(url.expose()).await?;
            // 16 KiB pages for a new file (an existing one keeps its size): fewer B-tree levels
            // for the long EPC keys, and faster bulk capture. Must precede WAL mode.
            sqlx::query("PRAGMA page_size = 16384")
                .execute(&mut conn)
                .await?;
            sqlx::query("PRAGMA journal_mode = WAL")
                .execute(&mut conn)
                .await?;
            conn.close().await?;
        }
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections)
            // sqlx pings a connection before lending it out, by default: on SQLite a round trip
            // to the connection's worker thread on every acquire, for a connection that cannot go
            // stale (the file is local). PostgreSQL's can (a restarted server): pinged still.
            .test_before_acquire(backend == Backend::Postgres)
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // A 64 MiB page cache per connection (the default is 2 MiB): the serial
                        // ledger's indexes of a 100,000-unit shipment no longer fit in 2 MiB, and
                        // every page miss is a system call. A capture holds the write lock for
                        // its whole document, so other writers wait up to 60 s, not 5.
                        sqlx::query("PRAGMA cache_size = -65536")
                            .execute(&mut *conn)
                            .await?;
                        sqlx::query("PRAGMA busy_timeout = 60000")
                            .execute(&mut *conn)
                            .await?;
                    }
                    if read_only {
                        let statement = match backend {
                            Backend::Sqlite => "PRAGMA query_only = ON",
                            Backend::Postgres => {
                                "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY"
                            }
                        };
                        sqlx::query(statement).execute(&mut *conn).await?;
                    }
                    Ok(())
                })
            })
            .connect(url.expose())
            .await?;
        Ok(Self { pool, backend })
    }

    /// Applies the migrations that have not run yet. Returns how many ran.
    pub async fn migrate(&self) -> Result<usize, StorageError> {
        let migrator = match self.backend {
            Backend::Postgres => &MIGRATE_POSTGRES,
            Backend::Sqlite => &MIGRATE_SQLITE,
        };
        let before = self.applied_migrations().await.unwrap_or(0);
        migrator.run(&self.pool).await?;
        let after = self.applied_migrations().await?;
        Ok(after.saturating_sub(before))
    }

    /// How many of this build's migrations the database has not applied (all of them when it
    /// has never been migrated). Changes nothing.
    pub async fn pending_migrations(&self) -> Result<usize, StorageError> {
        let migrator = match self.backend {
            Backend::Postgres => &MIGRATE_POSTGRES,
            Backend::Sqlite => &MIGRATE_SQLITE,
        };
        let applied: Vec<i64> =
            sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
                .fetch_all(&self.pool)
                .await
                .unwrap_or_default();
        Ok(migrator
            .iter()
            .filter(|m| !applied.contains(&m.version))
            .count())
    }

    async fn applied_migrations(&self) -> Result<usize, StorageError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success")
            .fetch_one(&self.pool)
            .await?;
        Ok(usize::try_from(n).unwrap_or(0))
    }

    /// The backend.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The pool, for single-statement reads.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Starts a transaction.
    pub async fn begin(&self) -> Result<Transaction<'static, sqlx::Any>, StorageError> {
        Ok(self.pool.begin().await?)
    }

    /// Starts a transaction that will write. SQLite takes the write lock at once (`BEGIN
    /// IMMEDIATE`): a deferred transaction that reads first and writes later can fail with
    /// "database is locked" when another writer got in between, without waiting.
    pub async fn begin_write(&self) -> Result<Transaction<'static, sqlx::Any>, StorageError> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin_with(SQLITE_BEGIN_WRITE).await?,
            Backend::Postgres => self.pool.begin().await?,
        })
    }

    /// [`Db::begin_write`] on a connection the caller holds, to change its state around the
    /// commit (a capture's, `storage::checkpoint`).
    pub async fn begin_write_on<'c>(
        &self,
        conn: &'c mut AnyConnection,
    ) -> Result<Transaction<'c, sqlx::Any>, StorageError> {
        Ok(match self.backend {
            Backend::Sqlite => conn.begin_with(SQLITE_BEGIN_WRITE).await?,
            Backend::Postgres => conn.begin().await?,
        })
    }

    /// One round trip, for readiness.
    pub async fn ping(&self) -> Result<(), StorageError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Closes the pool, waiting for connections to be returned.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

fn create_sqlite_dir(url: &str) -> Result<(), StorageError> {
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let path = path.split('?').next().unwrap_or(path);
    if path.is_empty() || path == ":memory:" {
        return Ok(());
    }
    if let Some(dir) = std::path::Path::new(path).parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir)
            .map_err(|e| StorageError::Conflict(format!("{}: {e}", dir.display())))?;
    }
    Ok(())
}

/// Now, as RFC 3339 UTC text with microseconds: the stored form of every time.
pub fn now_text() -> String {
    let now = time::OffsetDateTime::now_utc();
    now.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| now.unix_timestamp().to_string())
}

/// `$first, … $(first + n - 1)`: the placeholders of a statement that binds a list.
pub(crate) fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `VALUES (…), (…), …`: `rows` rows of `cols` placeholders, `?` on SQLite and `$n` on
/// PostgreSQL. WHY not `$n` on both: sqlx's SQLite driver finds a numbered placeholder's value
/// by asking SQLite its name, a scan of the statement's named parameters, so a statement of n
/// numbered binds costs n² (measured: 90 % of a capture); anonymous ones bind in order.
pub(crate) fn values(backend: Backend, rows: usize, cols: usize) -> String {
    let mut out = String::with_capacity(rows * cols * 6 + 8);
    out.push_str("VALUES ");
    for r in 0..rows {
        if r > 0 {
            out.push_str(", ");
        }
        out.push('(');
        for c in 0..cols {
            if c > 0 {
                out.push_str(", ");
            }
            match backend {
                Backend::Sqlite => out.push('?'),
                Backend::Postgres => {
                    let _ = write!(out, "${}", r * cols + c + 1);
                }
            }
        }
        out.push(')');
    }
    out
}

/// `INSERT` (`UPDATE` with `update`) with, on SQLite, `OR ROLLBACK`. WHY: a multi-row
/// statement that may fail half-way makes SQLite copy every page it touches to a statement
/// journal, to undo that statement alone (measured: 12 % of a capture). Callers use it only for rows that cannot
/// conflict with what is stored (a capture's flush, the audit writer's batch), so a failure is
/// a defect; `OR ROLLBACK` ends the whole transaction instead, the caller fails whole, and no
/// journal is needed. PostgreSQL fails the
/// transaction on any error anyway.
pub(crate) fn write_verb(backend: Backend, update: bool) -> &'static str {
    match (backend, update) {
        (Backend::Sqlite, false) => "INSERT OR ROLLBACK INTO",
        (Backend::Sqlite, true) => "UPDATE OR ROLLBACK",
        (Backend::Postgres, false) => "INSERT INTO",
        (Backend::Postgres, true) => "UPDATE",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_anonymous_on_sqlite_and_numbered_on_postgres() {
        assert_eq!(values(Backend::Sqlite, 2, 2), "VALUES (?, ?), (?, ?)");
        assert_eq!(
            values(Backend::Postgres, 2, 3),
            "VALUES ($1, $2, $3), ($4, $5, $6)"
        );
    }
}
