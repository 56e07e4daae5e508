//! `dscsa backup` and `dscsa restore`: a consistent copy of a SQLite store taken while the
//! server runs, and its restore into a fresh store.
//!
//! The copy is SQLite's `VACUUM INTO`, which reads the whole database inside one read
//! transaction: the server keeps writing (WAL), and the copy is the database as of the moment
//! the copy began, compacted, with its own integrity checked before the command reports
//! success. A restore refuses to overwrite a database, checks the backup's integrity, writes it
//! into place the same way, then applies the migrations the backup predates (forward only).
//!
//! PostgreSQL has its own tools for this, which also handle roles and large databases;
//! both commands refuse a PostgreSQL URL with the `pg_dump` / `pg_restore` commands to use
//! (README, "Backups").

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Args;
use sqlx::Connection as _;

use super::ConfigArgs;
use crate::audit::Outcome;
use crate::config::DatabaseUrl;
use crate::services::{self, Actor};
use crate::storage::Db;

#[derive(Debug, Args)]
pub(crate) struct BackupArgs {
    /// Where to write the copy (a new file: an existing one is never overwritten).
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    #[command(flatten)]
    config: ConfigArgs,
}

#[derive(Debug, Args)]
pub(crate) struct RestoreArgs {
    /// The backup to restore (a file written by `dscsa backup`).
    #[arg(long, value_name = "FILE")]
    from: PathBuf,
    #[command(flatten)]
    config: ConfigArgs,
}

const POSTGRES_BACKUP: &str = "on PostgreSQL use its own tools, which keep roles, ownership and \
     large tables in check: `pg_dump --format=custom --file FILE URL` (consistent while the \
     server runs), and to restore into a new, empty database: `createdb NEW && pg_restore \
     --dbname postgres://…/NEW --no-owner FILE`, then `dscsa migrate` and `dscsa audit verify` \
     against it (README, \"Backups\")";

/// The file of a `sqlite:` URL, or `None` for another database.
fn sqlite_file(url: &DatabaseUrl) -> Option<PathBuf> {
    let rest = url.expose().strip_prefix("sqlite:")?;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
}

/// Refuses `path` if anything is there: a backup or a restore never replaces a file.
fn refuse_existing(path: &Path, what: &str) -> anyhow::Result<()> {
    if path.exists() {
        anyhow::bail!(
            "{} exists: {what} never overwrites a file (move it away or choose another path)",
            path.display()
        );
    }
    Ok(())
}

/// What a copy holds, read from the copy itself after an integrity check.
struct Summary {
    events: i64,
    serials: i64,
    audit_head: i64,
    bytes: u64,
}

/// Opens `file` read-only, checks its integrity and counts what it holds.
async fn check_copy(file: &Path) -> anyhow::Result<Summary> {
    let url = format!("sqlite://{}?mode=ro", file.display());
    let mut conn = sqlx::SqliteConnection::connect(&url)
        .await
        .with_context(|| format!("opening {}", file.display()))?;
    let check: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut conn)
        .await
        .with_context(|| format!("checking {}", file.display()))?;
    anyhow::ensure!(
        check == "ok",
        "{} failed SQLite's integrity check: {check}",
        file.display()
    );
    let migrated: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
    )
    .fetch_one(&mut conn)
    .await?;
    anyhow::ensure!(
        migrated == 1,
        "{} is a SQLite database but not a dscsa-exchange store (no migrations table)",
        file.display()
    );
    let events = sqlx::query_scalar("SELECT COUNT(*) FROM events")
        .fetch_one(&mut conn)
        .await?;
    let serials = sqlx::query_scalar("SELECT COUNT(*) FROM serials")
        .fetch_one(&mut conn)
        .await?;
    let audit_head = sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM audit_records")
        .fetch_one(&mut conn)
        .await?;
    conn.close().await?;
    let bytes = std::fs::metadata(file)?.len();
    Ok(Summary {
        events,
        serials,
        audit_head,
        bytes,
    })
}

/// `VACUUM INTO`: a consistent, compacted copy of the database behind `conn` at `out`.
async fn vacuum_into(conn: &mut sqlx::SqliteConnection, out: &Path) -> anyhow::Result<()> {
    let target = out
        .to_str()
        .with_context(|| format!("{} is not valid UTF-8", out.display()))?;
    sqlx::query("VACUUM INTO $1")
        .bind(target)
        .execute(conn)
        .await
        .with_context(|| format!("writing {}", out.display()))?;
    Ok(())
}

pub(crate) async fn backup(args: BackupArgs) -> anyhow::Result<ExitCode> {
    let config = args.config.load()?;
    let Some(source) = sqlite_file(&config.database_url) else {
        eprintln!("dscsa backup copies a SQLite store; {POSTGRES_BACKUP}");
        return Ok(ExitCode::from(2));
    };
    anyhow::ensure!(
        source.exists(),
        "no database at {} (check --data-dir / --database-url)",
        source.display()
    );
    refuse_existing(&args.out, "backup")?;
    // The backup is on the record, and in the copy: recorded first, then copied.
    let db = Db::connect(&config.database_url, 1)
        .await
        .with_context(|| format!("connecting to {}", config.database_url))?;
    let out_text = args.out.display().to_string();
    services::record(&db, Actor::cli().record("backup", &out_text, Outcome::Ok))
        .await
        .context("writing the audit record of the backup")?;
    db.close().await;
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", source.display()))
        .await
        .with_context(|| format!("opening {}", source.display()))?;
    let copied = vacuum_into(&mut conn, &args.out).await;
    conn.close().await?;
    copied?;
    let summary = match check_copy(&args.out).await {
        Ok(summary) => summary,
        Err(e) => {
            // Never leave a copy that failed its check where it could be mistaken for a backup.
            let _ = std::fs::remove_file(&args.out);
            return Err(e.context("the copy was removed"));
        }
    };
    println!(
        "{}: backup of {} ({} bytes, integrity ok): {} events, {} serials, audit trail up to record {}",
        args.out.display(),
        source.display(),
        summary.bytes,
        summary.events,
        summary.serials,
        summary.audit_head
    );
    println!(
        "Keep it with the audit public key; restore with `dscsa restore --from {} --data-dir NEW_DIR`.",
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn restore(args: RestoreArgs) -> anyhow::Result<ExitCode> {
    let config = args.config.load()?;
    let Some(target) = sqlite_file(&config.database_url) else {
        eprintln!("dscsa restore writes a SQLite store; {POSTGRES_BACKUP}");
        return Ok(ExitCode::from(2));
    };
    refuse_existing(&target, "restore")?;
    let summary = check_copy(&args.from)
        .await
        .with_context(|| format!("{} cannot be restored", args.from.display()))?;
    if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut backup =
        sqlx::SqliteConnection::connect(&format!("sqlite://{}?mode=ro", args.from.display()))
            .await?;
    vacuum_into(&mut backup, &target).await?;
    backup.close().await?;
    let db = Db::connect(&config.database_url, 1)
        .await
        .with_context(|| format!("opening the restored store {}", target.display()))?;
    let applied = db
        .migrate()
        .await
        .context("applying migrations newer than the backup")?;
    let from_text = args.from.display().to_string();
    services::record(&db, Actor::cli().record("restore", &from_text, Outcome::Ok))
        .await
        .context("writing the audit record of the restore")?;
    db.close().await;
    println!(
        "{}: restored from {} ({} events, {} serials, audit trail up to record {}; {applied} newer migration(s) applied)",
        target.display(),
        args.from.display(),
        summary.events,
        summary.serials,
        summary.audit_head
    );
    println!("Check it with `dscsa audit verify` before starting the server on it.");
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_files_of_urls() {
        let file = |u: &str| sqlite_file(&DatabaseUrl::from(u.to_owned()));
        assert_eq!(
            file("sqlite:///var/lib/dscsa/dscsa.db?mode=rwc"),
            Some(PathBuf::from("/var/lib/dscsa/dscsa.db"))
        );
        assert_eq!(
            file("sqlite://./data/x.db"),
            Some(PathBuf::from("./data/x.db"))
        );
        assert_eq!(file("sqlite::memory:"), None);
        assert_eq!(file("postgres://u@h/db"), None);
    }
}
