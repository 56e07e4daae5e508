//! Query latency with a million serials stored (issue 5): p50/p99 of `MATCH_epc` on one serial
//! and `EQ_bizTransaction_po` on one purchase order, through the query service (parameter
//! parsing, the dynamic SQL with the visibility condition, decoding the stored events), as the
//! home organisation and as a wholesaler whose visibility filter applies.
//!
//! ```bash
//! cargo run --release --example query_latency -- --units 1000000 --backend sqlite
//! cargo run --release --example query_latency -- --units 1000000 --backend postgres \
//!     --postgres-url postgres://postgres@127.0.0.1:5432/postgres
//! ```
//!
//! The store is loaded once per run through the capture service, into a fresh SQLite file or a
//! fresh PostgreSQL database (dropped at the end), with the documents of
//! `fixtures::bulk::shipments_document` (10,000 units each: commissioned 100 per event, with
//! lot and expiry, shipped 1,000 per event, one purchase order each, to the two demo
//! wholesalers).

use std::time::{Duration, Instant};

use anyhow::Context as _;
use dscsa_exchange::config::DatabaseUrl;
use dscsa_exchange::services::Actor;
use dscsa_exchange::services::capture::{self, CaptureOptions, HOME};
use dscsa_exchange::services::query::{self, Extensions, params};
use dscsa_exchange::storage::{Backend, Db};
use partners::Visibility;
use sqlx::Connection as _;

struct Args {
    units: u64,
    backend: String,
    postgres_url: String,
    iterations: usize,
    rounds: usize,
}

fn args() -> anyhow::Result<Args> {
    let mut a = Args {
        units: 1_000_000,
        backend: "sqlite".into(),
        postgres_url: "postgres://postgres@127.0.0.1:5432/postgres".into(),
        iterations: 2000,
        rounds: 3,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--units" => a.units = value.parse()?,
            "--backend" => a.backend = value,
            "--postgres-url" => a.postgres_url = value,
            "--iterations" => a.iterations = value.parse()?,
            "--rounds" => a.rounds = value.parse()?,
            _ => anyhow::bail!("unknown flag {flag}"),
        }
    }
    Ok(a)
}

/// A fresh database: a SQLite file in a temporary directory, or a new PostgreSQL database.
async fn fresh(a: &Args, dir: &std::path::Path) -> anyhow::Result<(String, Option<String>)> {
    if a.backend == "sqlite" {
        return Ok((
            format!("sqlite://{}/bench.db?mode=rwc", dir.display()),
            None,
        ));
    }
    sqlx::any::install_default_drivers();
    let name = format!("dscsa_query_bench_{}", std::process::id());
    let mut admin = sqlx::AnyConnection::connect(&a.postgres_url).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await?;
    admin.close().await?;
    let base = a.postgres_url.rsplit_once('/').context("postgres URL")?.0;
    Ok((format!("{base}/{name}"), Some(name)))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or_default()
}

async fn measure(
    rng: &mut dscsa_exchange::fixtures::Rng,
    db: &Db,
    visibility: &Visibility,
    name: &str,
    values: &[String],
    iterations: usize,
) -> anyhow::Result<()> {
    let mut times = Vec::with_capacity(iterations);
    let mut found = 0usize;
    // Warm-up: a page cache that has seen the indexes, as in a running server.
    for v in values.iter().take(50) {
        let q = params::parse(&[(name.to_owned(), v.clone())], &Extensions::default())?;
        query::events(db, visibility, &q).await?;
    }
    for _ in 0..iterations {
        let v = &values[rng.below(values.len())];
        let q = params::parse(&[(name.to_owned(), v.clone())], &Extensions::default())?;
        let t = Instant::now();
        let page = query::events(db, visibility, &q).await?;
        times.push(t.elapsed());
        found += page.events.len();
    }
    times.sort_unstable();
    println!(
        "  {name:<22} {:<10} p50 {:>7.3} ms  p99 {:>7.3} ms  max {:>7.3} ms  ({} events/query on average)",
        match visibility {
            Visibility::All => "home",
            _ => "wholesaler",
        },
        percentile(&times, 0.5).as_secs_f64() * 1e3,
        percentile(&times, 0.99).as_secs_f64() * 1e3,
        times.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
        found as f64 / iterations as f64,
    );
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let a = args()?;
    let dir = tempfile::tempdir()?;
    let (url, pg_name) = fresh(&a, dir.path()).await?;
    let db = Db::connect(&DatabaseUrl::from(url), 4).await?;
    db.migrate().await?;

    let t = Instant::now();
    let mut events = 0;
    let batch_units = dscsa_exchange::fixtures::bulk::SHIPMENT_BATCH;
    let batches = a.units.div_ceil(batch_units);
    for batch in 0..batches {
        let doc = dscsa_exchange::fixtures::bulk::shipments_document(
            batch,
            batch_units.min(a.units - batch * batch_units),
        );
        let report = capture::capture(
            &db,
            &Actor::cli(),
            HOME,
            doc.into_bytes().into(),
            "application/xml",
            &CaptureOptions::default(),
        )
        .await?;
        events += report.new;
    }
    println!(
        "  loaded {events} events in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    // A store at rest, as a server's is between captures: on PostgreSQL, VACUUM sets the hint
    // bits and visibility map that the first reads of a freshly loaded table would otherwise
    // write (and autovacuum would otherwise do during the measurement), and the checkpoint
    // writes the dirty pages out before the clock starts.
    if db.backend() == Backend::Postgres {
        sqlx::query("VACUUM ANALYZE").execute(db.pool()).await?;
        sqlx::query("CHECKPOINT").execute(db.pool()).await?;
    } else {
        sqlx::query("ANALYZE").execute(db.pool()).await?;
    }

    let serials: Vec<String> =
        sqlx::query_scalar("SELECT epc FROM serials WHERE epc LIKE 'https://id.gs1.org/01/%/21/%'")
            .fetch_all(db.pool())
            .await?;
    let pos: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT id FROM event_biz_transactions WHERE type = 'urn:epcglobal:cbv:btt:po'",
    )
    .fetch_all(db.pool())
    .await?;
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM serials")
        .fetch_one(db.pool())
        .await?;
    println!(
        "  {stored} serials in the ledger ({} SGTINs), {} purchase orders",
        serials.len(),
        pos.len()
    );
    let wholesaler = Visibility::PartyTo {
        captured_by: "whs-east".parse()?,
        glns: vec!["0860001000009".parse()?, "0860001000016".parse()?],
    };
    let mut rng = dscsa_exchange::fixtures::Rng(7);
    for round in 1..=a.rounds {
        println!("  round {round}");
        for visibility in [Visibility::All, wholesaler.clone()] {
            measure(
                &mut rng,
                &db,
                &visibility,
                "MATCH_epc",
                &serials,
                a.iterations,
            )
            .await?;
            let po = "EQ_bizTransaction_po";
            measure(&mut rng, &db, &visibility, po, &pos, a.iterations).await?;
        }
    }
    db.close().await;
    if let Some(name) = pg_name {
        let mut admin = sqlx::AnyConnection::connect(&a.postgres_url).await?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&mut admin)
        .await?;
    }
    Ok(())
}
