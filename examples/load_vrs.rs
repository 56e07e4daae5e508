//! Verification load generator (issue 6): `GET /vrs/gtin/../lot/../ser/..` over mutual TLS
//! with keep-alive connections, against the real server with a million serials stored.
//!
//! ```bash
//! cargo run --release --example load_vrs -- --units 1000000              # SQLite
//! cargo run --release --example load_vrs -- --units 1000000 \
//!     --postgres postgres://postgres@127.0.0.1:5432/postgres              # PostgreSQL
//! ```
//!
//! The store (`fixtures::bulk::shipments_document` batches) is kept under `--store`
//! (default `target/bench-stores`) or in database `dscsa_bench_vrs_<units>`, so only the
//! first run loads it. The server is the real `Application` on a 2-thread runtime; the client
//! runs on a second 2-thread runtime in the same process, on the same two cores.
//!
//! 1. Peak: closed loop, `--concurrency` keep-alive connections, `--trials` x `--seconds`.
//! 2. Half and full load: open loop at 50 % and 100 % of the peak median, latency measured
//!    from each request's scheduled time (queueing included), p50 and p99 per trial.
//! 3. One request at a time: on one kept-alive connection, and with a new mutual-TLS
//!    connection per request (the way the QU4RTET baseline was measured, over plain HTTP).
//!
//! Requests draw serials at random (SplitMix64, seed 7) with their right lot and expiry; every
//! answer must be `verified: true`, or the run counts it as an error.

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use dscsa_exchange::fixtures::bulk;
use partners::tls::ClientIdentity;
use partners::{Principal, PrincipalKind, Status};

#[path = "support/load.rs"]
mod load;
#[path = "support/store.rs"]
mod store;

use load::{Op, Target, ms, percentile};

/// Verification (VRS) throughput and latency over mutual TLS.
#[derive(Debug, Parser)]
struct Args {
    #[command(flatten)]
    shipments: store::ShipmentsArgs,
    /// Seconds per trial.
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// Trials per measurement.
    #[arg(long, default_value_t = 3)]
    trials: usize,
    /// Concurrent keep-alive connections.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
}

const REQ_GLN: &str = "0860001000009";

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let (server_rt, client_rt) = store::runtimes()?;
    let dir = args.shipments.dir();
    let units = args.shipments.units;
    let (app, ca_der, cert) = server_rt.block_on(async {
        let url = store::shipments(&dir, args.shipments.postgres.as_deref(), units).await?;
        let principal = Principal {
            id: "load-east".parse()?,
            display_name: "Load Test Wholesaler".into(),
            status: Status::Active,
            kind: PrincipalKind::Partner(partners::PartnerRecord {
                legal_name: "Load Test Wholesaler".into(),
                role: partners::PartnerRole::Wholesaler,
                glns: vec![REQ_GLN.parse()?],
                company_prefixes: vec![],
                licences: partners::Licences::default(),
                atp_credential: None,
            }),
        };
        store::serve_as(&dir, &url, principal).await
    })?;

    let gtin = bulk::gtin();
    let client_config = |resume: bool| {
        partners::tls::client_config(
            std::slice::from_ref(&ca_der),
            Some(ClientIdentity::from_pem(cert.cert_pem(), cert.key_pem()).expect("identity")),
            &[b"http/1.1"],
            resume,
        )
        .expect("client config")
    };
    let keep_alive = Target::mtls(app.partner_addr(), client_config(true));
    let fresh = Target::mtls(app.partner_addr(), client_config(false));
    let path = Arc::new(move |n: u64| {
        let mut rng = dscsa_exchange::fixtures::Rng(7 ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let s = rng.next_u64() % units;
        format!(
            "/vrs/gtin/{gtin}/lot/{}/ser/{s:010}?exp=280630&linkType=verificationService&context=dscsaSaleableReturn&reqGLN={REQ_GLN}",
            bulk::shipment_lot(s / bulk::SHIPMENT_BATCH)
        )
    });
    let op: Op = {
        let path = Arc::clone(&path);
        Arc::new(move |sender, n| {
            let path = path(n);
            Box::pin(async move {
                let body = load::get(sender, &path).await?;
                if memchr_verified(&body) {
                    Ok(())
                } else {
                    Err(format!("not verified: {}", String::from_utf8_lossy(&body)))
                }
            })
        })
    };

    let duration = Duration::from_secs(args.seconds.clamp(1, 120));
    let trials = args.trials.clamp(1, 20);
    let concurrency = args.concurrency.clamp(1, 256);
    println!(
        "load_vrs: {units} serials, {} backend, {trials} trials x {}s, {concurrency} connections, {} cores",
        if args.shipments.postgres.is_some() {
            "PostgreSQL"
        } else {
            "SQLite"
        },
        duration.as_secs(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    client_rt.block_on(async {
        load::closed_loop(&keep_alive, Arc::clone(&op), concurrency, Duration::from_secs(1)).await;
        let mut rates = Vec::new();
        for _ in 0..trials {
            let (rate, mut lat) = load::closed_loop(&keep_alive, Arc::clone(&op), concurrency, duration).await;
            lat.sort();
            println!(
                "  peak trial: {rate:.0}/s, p50 {} ms, p99 {} ms ({} requests)",
                ms(percentile(&lat, 0.5)),
                ms(percentile(&lat, 0.99)),
                lat.len()
            );
            rates.push(rate);
        }
        let peak = load::summary("closed loop (peak) verifications/s", rates);
        for share in [0.5, 1.0] {
            for _ in 0..trials {
                let (rate, mut lat) =
                    load::open_loop(&keep_alive, Arc::clone(&op), peak * share, concurrency, duration).await;
                lat.sort();
                println!(
                    "  open loop at {:.0}% of peak ({:.0}/s offered): achieved {rate:.0}/s, p50 {} ms, p99 {} ms, max {} ms",
                    share * 100.0,
                    peak * share,
                    ms(percentile(&lat, 0.5)),
                    ms(percentile(&lat, 0.99)),
                    ms(lat.last().copied().unwrap_or_default())
                );
            }
        }
        for (label, target, reuse) in [("one keep-alive connection", &keep_alive, true), ("new mTLS connection per request", &fresh, false)] {
            let mut lat = Vec::new();
            let mut sender = None;
            for n in 0..1000u64 {
                if sender.is_none() || !reuse {
                    sender = load::open(target).await.ok();
                }
                let Some(s) = sender.as_mut() else { continue };
                let at = Instant::now();
                match op(s, 1_000_000 + n).await {
                    Ok(()) if n >= 20 => lat.push(at.elapsed()),
                    Ok(()) => {}
                    Err(e) => {
                        eprintln!("request failed: {e}");
                        sender = None;
                    }
                }
            }
            lat.sort();
            println!(
                "  sequential, {label}: p50 {} ms, p99 {} ms ({} requests)",
                ms(percentile(&lat, 0.5)),
                ms(percentile(&lat, 0.99)),
                lat.len()
            );
        }
    });
    server_rt.block_on(app.stop());
    Ok(())
}

/// Whether a VRS answer says `"verified":true`.
fn memchr_verified(body: &[u8]) -> bool {
    body.windows(15).any(|w| w == b"\"verified\":true")
}
