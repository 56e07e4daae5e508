//! What the metrics cost a verification request (issue 9): the calls the partner listener makes
//! per `GET /vrs/...` (`http_request`, `certificate_presented`, and `verification` when the
//! answer's log entry commits), timed on the real [`Metrics`], single-threaded and with two
//! threads counting into the same series at once (the server has two worker threads).
//!
//! ```bash
//! cargo run --release --example metrics_cost
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::Method;
use dscsa_exchange::metrics::Metrics;
use dscsa_exchange::storage::verify::LogEntry;

const ROUTE: &str = "/vrs/gtin/{gtin}/lot/{lot}/ser/{ser}";
const ROUNDS: u32 = 2_000_000;

fn entry() -> LogEntry {
    LogEntry {
        corr_uuid: "21EC2020-3AEA-4069-A2DD-08002B30309D".into(),
        requested_at: "2026-01-05T10:00:00.000Z".into(),
        requester: "load-east".into(),
        channel: "rest".into(),
        req_gln: None,
        context: None,
        gtin: "00614141073467".into(),
        lot: None,
        serial: "0000000001".into(),
        expiry: None,
        verified: true,
        failure_reason: None,
        additional_info: None,
        answer: String::new(),
        investigation: None,
    }
}

/// One request's worth of metrics calls.
fn request(m: &Metrics, entry: &LogEntry) {
    m.certificate_presented(1, "load-east", 1_900_000_000);
    m.http_request(&Method::GET, Some(ROUTE), 200, Duration::from_micros(700));
    m.verification(entry);
}

fn run(m: &Metrics, rounds: u32) -> Duration {
    let entry = entry();
    let started = Instant::now();
    for _ in 0..rounds {
        request(m, std::hint::black_box(&entry));
    }
    started.elapsed()
}

fn main() {
    let metrics = Arc::new(Metrics::new());
    run(&metrics, 10_000);
    let one = run(&metrics, ROUNDS);
    println!(
        "one thread:  {:.0} ns per request ({ROUNDS} requests)",
        one.as_nanos() as f64 / f64::from(ROUNDS)
    );
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let m = Arc::clone(&metrics);
            std::thread::spawn(move || run(&m, ROUNDS))
        })
        .collect();
    let times: Vec<Duration> = threads
        .into_iter()
        .map(|t| t.join().expect("thread"))
        .collect();
    let worst = times.iter().max().copied().unwrap_or_default();
    println!(
        "two threads: {:.0} ns per request per thread, same series (contended)",
        worst.as_nanos() as f64 / f64::from(ROUNDS)
    );
    let at = 2_600.0;
    println!(
        "at {at} verifications/s: {:.3} % of one core",
        one.as_secs_f64() / f64::from(ROUNDS) * at * 100.0
    );
}
