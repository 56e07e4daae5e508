//! Capture throughput: one EPCIS document into a FRESH store through the capture service (the
//! path `POST /epcis/capture` and `dscsa capture` take), timed, with the process's peak RSS.
//! One capture per process, so the peak belongs to that capture alone.
//!
//! ```text
//! cargo build --release --example capture_throughput
//! target/release/examples/capture_throughput FILE.xml UNITS [postgres://…/fresh_db]
//! ```
//!
//! Prints one JSON line: `{"db", "file", "units", "events", "seconds", "units_per_s",
//! "peak_rss_mib", "log_copied_s"}`. On SQLite the write-ahead log is copied into the database
//! file by a background task after the commit (`storage::checkpoint`), not by the capture;
//! `log_copied_s` is how long after the capture returned that copy was complete (the rest of
//! it done in the foreground here), so that no work is hidden from the figures. `scripts/bench-capture.sh` runs it several times per size and backend and
//! beside QU4RTET on the same documents. Without a URL the store is SQLite in a temporary
//! directory.

use dscsa_exchange::config::DatabaseUrl;
use dscsa_exchange::services::Actor;
use dscsa_exchange::services::capture::{self, CaptureOptions, HOME};
use dscsa_exchange::storage::Db;

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let file = args
        .next()
        .ok_or("usage: capture_throughput FILE UNITS [postgres://…]")?;
    let units: f64 = args.next().and_then(|u| u.parse().ok()).ok_or("UNITS")?;
    let url = args.next();
    // RUST_LOG=sqlx::query=debug shows each statement with its time, for profiling.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .try_init();
    let dir = tempfile::tempdir()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let url = url.map_or_else(
            || DatabaseUrl::sqlite_file(&dir.path().join("bench.db")),
            DatabaseUrl::from,
        );
        let backend = if url.is_sqlite() {
            "sqlite"
        } else {
            "postgres"
        };
        let db = Db::connect(&url, 2).await?;
        db.migrate().await?;
        let bytes = std::fs::read(&file)?;
        let start = std::time::Instant::now();
        let report = capture::capture(
            &db,
            &Actor::cli(),
            HOME,
            bytes.into(),
            "application/xml",
            &CaptureOptions::default(),
        )
        .await?;
        let seconds = start.elapsed().as_secs_f64();
        let log_copied = if url.is_sqlite() {
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(db.pool())
                .await?;
            Some(start.elapsed().as_secs_f64() - seconds)
        } else {
            None
        };
        println!(
            "{}",
            serde_json::json!({
                "db": backend,
                "file": file,
                "units": units,
                "events": report.events,
                "new": report.new,
                "anomalies": report.anomalies,
                "seconds": seconds,
                "units_per_s": units / seconds,
                "peak_rss_mib": peak_rss_mib(),
                "log_copied_s": log_copied,
            })
        );
        db.close().await;
        Ok::<_, Box<dyn std::error::Error>>(())
    })
}
