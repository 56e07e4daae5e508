//! FDA records package (issue 8): time and peak RSS to produce the package of one lot of
//! 100,000 units, with its 10,000 cases and 200 pallets, out of a store of about 1,000,000
//! events.
//!
//! ```bash
//! cargo run --release --example fda_package -- --events 1000000 --runs 5            # SQLite
//! cargo run --release --example fda_package -- --events 1000000 --runs 3 \
//!     --postgres postgres://postgres@127.0.0.1:5432/postgres                         # PostgreSQL
//! ```
//!
//! The store is `fixtures::bulk::deep_chain_document` batches (background: units three
//! containers deep, five hops each) plus one `fixtures::bulk::lot_document` of `--units` units
//! (lot `BIGLOT1`: cases of 10, pallets of 50 cases, pallets shipped to a wholesaler, cases on
//! to pharmacies), kept under `--store` or in database `dscsa_bench_fda_<events>` between runs.
//!
//! Each run is a fresh process (this example again, with `--once`) that does what
//! `dscsa fda export --gtin <bulk GTIN> --lot BIGLOT1` does: check the request, record it,
//! trace the lot, gather and write the package, record its events and the audit record. It
//! prints the wall time of that and its peak RSS (`VmHWM` of `/proc/self/status`, the whole
//! process's high-water mark). The parent reports the median and the spread.

use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use clap::Parser;
use dscsa_exchange::fixtures::bulk;
use dscsa_exchange::services::Actor;
use dscsa_exchange::services::fda::{self, NewRequest, ProductSpec};

#[path = "support/store.rs"]
mod store;

#[derive(Debug, Parser)]
struct Args {
    /// Events in the store (the lot's events, then deep-chain batches of 1,830 to this many).
    #[arg(long, default_value_t = 1_000_000)]
    events: u64,
    /// Units in the lot (a multiple of 500).
    #[arg(long, default_value_t = 100_000)]
    units: u64,
    /// Directory of the SQLite store.
    #[arg(long, default_value = "target/bench-stores")]
    store: std::path::PathBuf,
    /// PostgreSQL admin URL; the store is database `dscsa_bench_fda_<events>` there.
    #[arg(long)]
    postgres: Option<String>,
    /// Runs (one process each).
    #[arg(long, default_value_t = 5)]
    runs: u32,
    /// Produce one package in this process and print the measurement (used by the runs).
    #[arg(long, hide = true)]
    once: bool,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    dscsa_exchange::cli::init_tracing("warn");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let name = format!("fda-{}", args.events);
    let dir = args.store.join(&name);
    let lot_events = bulk::lot_events(args.units);
    let background = args
        .events
        .saturating_sub(lot_events)
        .div_ceil(bulk::DEEP_EVENTS);
    rt.block_on(async {
        let url = store::url(&dir, args.postgres.as_deref(), &name).await?;
        if args.once {
            return once(&url, args.units).await;
        }
        // Batch 0 is the lot; batches 1.. the background.
        let units = args.units;
        let db = store::load(&url, background + 1, move |b| {
            if b == 0 {
                bulk::lot_document(units)
            } else {
                bulk::deep_chain_document(b - 1)
            }
        })
        .await?;
        let events: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM events")
            .fetch_one(db.pool())
            .await?;
        let serials: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM serials")
            .fetch_one(db.pool())
            .await?;
        db.close().await;
        println!(
            "fda_package: {events} events, {serials} EPCs in the ledger; lot {} of {} units \
             ({lot_events} events); {} runs, one process each, {} cores",
            bulk::BIG_LOT,
            args.units,
            args.runs,
            std::thread::available_parallelism().map_or(0, |n| n.get())
        );
        let exe = std::env::current_exe()?;
        let mut secs = Vec::new();
        let mut rss = Vec::new();
        for run in 1..=args.runs {
            let mut cmd = Command::new(&exe);
            cmd.args(["--once", "--events", &args.events.to_string()])
                .args(["--units", &args.units.to_string()])
                .arg("--store")
                .arg(&args.store);
            if let Some(pg) = &args.postgres {
                cmd.args(["--postgres", pg]);
            }
            let out = cmd.output()?;
            anyhow::ensure!(
                out.status.success(),
                "run {run} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let line = String::from_utf8_lossy(&out.stdout);
            let m: serde_json::Value = serde_json::from_str(line.trim())?;
            println!("  run {run}: {m}");
            secs.push(m["seconds"].as_f64().unwrap_or(f64::NAN));
            rss.push(m["peakRssMiB"].as_f64().unwrap_or(f64::NAN));
        }
        let summary = |v: &mut Vec<f64>| {
            v.sort_by(f64::total_cmp);
            let median = v.get(v.len() / 2).copied().unwrap_or(f64::NAN);
            (
                median,
                v.first().copied().unwrap_or(f64::NAN),
                v.last().copied().unwrap_or(f64::NAN),
            )
        };
        let (t, tmin, tmax) = summary(&mut secs);
        let (r, rmin, rmax) = summary(&mut rss);
        println!(
            "  median {t:.2} s (min {tmin:.2}, max {tmax:.2}); peak RSS median {r:.0} MiB \
             (min {rmin:.0}, max {rmax:.0})"
        );
        anyhow::Ok(())
    })
}

/// One package, measured.
async fn once(url: &dscsa_exchange::config::DatabaseUrl, units: u64) -> anyhow::Result<()> {
    let db = dscsa_exchange::storage::Db::connect(url, 4).await?;
    let started = Instant::now();
    let new = NewRequest {
        request_ref: "FDA letter 2026-123 (benchmark)".into(),
        products: vec![ProductSpec {
            gtin: Some(bulk::gtin()),
            lot: Some(bulk::BIG_LOT.into()),
            ..ProductSpec::default()
        }],
        ..NewRequest::default()
    };
    let checked = fda::request::check(&db, &new).await?;
    let actor = Actor::cli();
    let job = fda::receive(&db, &actor, &checked).await?;
    let producer = fda::Producer {
        db: db.clone(),
        organisation: Arc::new(dscsa_exchange::config::OrganisationSettings::demo()),
        key: Arc::new(dscsa_exchange::audit::CheckpointKey::generate()?),
    };
    let stages = Arc::new(Stages {
        started,
        marks: std::sync::Mutex::new(Vec::new()),
    });
    let produced = fda::produce(&producer, &actor, &job, &checked, false, stages.clone()).await?;
    let seconds = started.elapsed().as_secs_f64();
    stages.mark("done");
    anyhow::ensure!(
        produced.contents.packages as u64 == units,
        "expected {units} packages, got {:?}",
        produced.contents
    );
    let hwm_kib = proc_status_kib("VmHWM:");
    let marks = stages.marks.lock().map(|m| m.clone()).unwrap_or_default();
    println!(
        "{}",
        serde_json::json!({
            "seconds": (seconds * 1000.0).round() / 1000.0,
            "peakRssMiB": (hwm_kib / 1024.0).round(),
            "packageBytes": produced.bytes.len(),
            "contents": produced.contents,
            "stages": marks,
        })
    );
    db.close().await;
    Ok(())
}

/// A field of `/proc/self/status`, in KiB (NaN when absent).
fn proc_status_kib(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(f64::NAN)
}

/// When each production stage started (seconds since the request was checked) and the
/// process's resident and peak memory then (MiB), to see where time and memory go.
struct Stages {
    started: Instant,
    marks: std::sync::Mutex<Vec<serde_json::Value>>,
}

impl Stages {
    fn mark(&self, name: &str) {
        let at = (self.started.elapsed().as_secs_f64() * 1000.0).round() / 1000.0;
        let rss = (proc_status_kib("VmRSS:") / 1024.0).round();
        let hwm = (proc_status_kib("VmHWM:") / 1024.0).round();
        if let Ok(mut m) = self.marks.lock() {
            m.push(serde_json::json!([name, at, rss, hwm]));
        }
    }
}

impl fda::Progress for Stages {
    fn stage(&self, name: &str, _total: u64) {
        self.mark(name);
    }
}
