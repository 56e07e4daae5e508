//! Trace latency (issue 6): `POST /tracing/requests` for a unit three containers deep with
//! five custody hops, with a million events stored, over mutual TLS on one keep-alive
//! connection, one request at a time.
//!
//! ```bash
//! cargo run --release --example trace_latency -- --events 1000000            # SQLite
//! cargo run --release --example trace_latency -- --events 1000000 \
//!     --postgres postgres://postgres@127.0.0.1:5432/postgres                  # PostgreSQL
//! ```
//!
//! The store is `fixtures::bulk::deep_chain_document` batches (500 units each: case, pallet
//! and shipping container; five hops, each a level lower; dispensing), kept under `--store`
//! or in database `dscsa_bench_trace_<events>` between runs. Each request traces a random
//! unit (SplitMix64, seed 11) as a compliance officer (every hop visible); the run checks that
//! every answer has five hops and that the first went through the shipping container.

use std::time::{Duration, Instant};

use clap::Parser;
use dscsa_exchange::fixtures::bulk;
use partners::tls::ClientIdentity;
use partners::{Principal, PrincipalKind, StaffRole, Status};

#[path = "support/load.rs"]
mod load;
#[path = "support/store.rs"]
mod store;

use load::{Target, ms, percentile};

#[derive(Debug, Parser)]
struct Args {
    /// Events in the store (rounded up to whole batches of 1,830).
    #[arg(long, default_value_t = 1_000_000)]
    events: u64,
    /// Directory of the SQLite store and the development PKI.
    #[arg(long, default_value = "target/bench-stores")]
    store: std::path::PathBuf,
    /// PostgreSQL admin URL; the store is database `dscsa_bench_trace_<events>` there.
    #[arg(long)]
    postgres: Option<String>,
    /// Requests per round.
    #[arg(long, default_value_t = 2000)]
    requests: u64,
    /// Rounds (p50/p99 per round).
    #[arg(long, default_value_t = 3)]
    rounds: u64,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    dscsa_exchange::cli::init_tracing("warn");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let name = format!("trace-{}", args.events);
    let dir = args.store.join(&name);
    let batches = args.events.div_ceil(bulk::DEEP_EVENTS);
    rt.block_on(async {
        let url = store::url(&dir, args.postgres.as_deref(), &name).await?;
        let db = store::load(&url, batches, bulk::deep_chain_document).await?;
        let events: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM events")
            .fetch_one(db.pool())
            .await?;
        let serials: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM serials")
            .fetch_one(db.pool())
            .await?;
        println!("  {events} events, {serials} EPCs in the ledger");
        db.close().await;

        let principal = Principal {
            id: "load-compliance".parse()?,
            display_name: "Load Test Compliance".into(),
            status: Status::Active,
            kind: PrincipalKind::Staff {
                role: StaffRole::Compliance,
            },
        };
        let (app, ca_der, cert) = store::serve_as(&dir, &url, principal).await?;
        let client = partners::tls::client_config(
            std::slice::from_ref(&ca_der),
            Some(ClientIdentity::from_pem(cert.cert_pem(), cert.key_pem())?),
            &[b"http/1.1"],
            std::env::var_os("RESUME").is_some(),
        )?;
        let target = Target::mtls(app.partner_addr(), client);
        let mut sender = load::open(&target).await.map_err(anyhow::Error::msg)?;
        let mut rng = dscsa_exchange::fixtures::Rng(11);
        let mut failures = 0u64;
        let container_prefix = "https://id.gs1.org/00/";
        let gtin = bulk::gtin();
        println!(
            "trace_latency: {events} events, {} rounds x {} requests, one keep-alive mTLS connection, {} cores",
            args.rounds,
            args.requests,
            std::thread::available_parallelism().map_or(0, |n| n.get())
        );
        for round in 1..=args.rounds {
            let mut lat: Vec<Duration> = Vec::new();
            for n in 0..args.requests + 20 {
                let batch = rng.next_u64() % batches;
                let unit = rng.next_u64() % bulk::DEEP_UNITS;
                let epc = bulk::deep_unit(batch, unit);
                let serial = epc.rsplit('.').next().unwrap_or_default().to_owned();
                let body = serde_json::json!({"tiRequestSet": {
                    "tiRequestAuditReferences": {
                        "tiRequestID": uuid::Uuid::new_v4().to_string(),
                        "tiRequestTimestamp": "2026-11-22T08:00:00Z"},
                    "tiRequestingPartyInformation": {"departmentName": "Compliance"},
                    "investigationReasonAttestation": "Compliance Audit",
                    "responseTypeRequested": "TransactionInformation",
                    "productIdentifier": {"gtin": gtin, "serialNumber": serial}}});
                let at = Instant::now();
                let answer = match load::post_json(&mut sender, "/tracing/requests", body.to_string()).await {
                    Ok(a) => a,
                    Err(e) => {
                        // Counted and reported, then a new connection.
                        failures += 1;
                        eprintln!("request failed: {e}");
                        sender = load::open(&target).await.map_err(anyhow::Error::msg)?;
                        continue;
                    }
                };
                let took = at.elapsed();
                let answer: serde_json::Value = serde_json::from_slice(&answer)?;
                let hops = &answer["tiResponse"]["trace"]["hops"];
                anyhow::ensure!(
                    hops.as_array().map(Vec::len) == Some(5),
                    "{epc}: expected 5 hops, got {hops}"
                );
                anyhow::ensure!(
                    hops[0]["viaContainers"][0]
                        .as_str()
                        .is_some_and(|c| c.starts_with(container_prefix)),
                    "{epc}: the first hop did not go through a container"
                );
                if n >= 20 {
                    lat.push(took);
                }
            }
            lat.sort();
            println!(
                "  round {round}: p50 {} ms, p90 {} ms, p99 {} ms, max {} ms ({} traces)",
                ms(percentile(&lat, 0.5)),
                ms(percentile(&lat, 0.9)),
                ms(percentile(&lat, 0.99)),
                ms(lat.last().copied().unwrap_or_default()),
                lat.len()
            );
        }
        println!("  failed requests (reconnected): {failures}");
        app.stop().await;
        anyhow::Ok(())
    })
}
