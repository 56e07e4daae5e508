//! MCP tool-call latency and throughput (issue 7): `verify_product` and `trace_product` over
//! the real agent listener (TLS, bearer token, Streamable HTTP) with a million serials stored.
//!
//! ```bash
//! cargo run --release --example mcp_latency -- --units 1000000                # SQLite
//! cargo run --release --example mcp_latency -- --units 1000000 \
//!     --postgres postgres://postgres@127.0.0.1:5432/postgres                  # PostgreSQL
//! ```
//!
//! The store is the one `load_vrs` uses (`fixtures::bulk::shipments_document` batches, under
//! `--store` or in database `dscsa_bench_vrs_<units>`), so either example loads it once for
//! both. The server is the real `Application` on a 2-thread runtime; the client runs on a
//! second 2-thread runtime in the same process, on the same two cores. The token is a
//! compliance officer's with scopes `verify` and `trace`; its call budget is raised so the
//! rate limiter does not cut the run short (the budget check itself still runs on every call).
//!
//! Each call is one JSON-RPC `tools/call` POST to `/mcp` with protocol revision 2025-11-25
//! headers (the server is stateless: no session, no `initialize`), answered as JSON; every
//! call goes through the bearer-token lookup, the scope policy, the tool, the untrusted-text
//! fence and output cap, and the audit record, committed before the answer.
//!
//! 1. One call at a time on one keep-alive connection: `--rounds` x `--requests` per tool,
//!    p50, p90, p99 and max per round.
//! 2. Throughput: closed loop, `--concurrency` keep-alive connections, `--trials` x
//!    `--seconds` per tool, calls/s median (min–max).
//!
//! Serials are drawn at random (SplitMix64, seed 13); every answer is checked (`verified:
//! true`; a trace with at least one hop), or the run counts it as an error.

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use dscsa_exchange::fixtures::bulk;
use dscsa_exchange::services::Actor;
use dscsa_exchange::services::agent_tokens::{self, IssueRequest};
use partners::{Principal, PrincipalKind, StaffRole, Status};

#[path = "support/load.rs"]
mod load;
#[path = "support/store.rs"]
mod store;

use load::{Op, Target, ms, percentile};

/// MCP `verify_product` and `trace_product` latency and calls/s over the agent listener.
#[derive(Debug, Parser)]
struct Args {
    #[command(flatten)]
    shipments: store::ShipmentsArgs,
    /// Sequential calls per round and tool.
    #[arg(long, default_value_t = 2000)]
    requests: u64,
    /// Sequential rounds per tool.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Seconds per throughput trial.
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// Throughput trials per tool.
    #[arg(long, default_value_t = 3)]
    trials: usize,
    /// Concurrent keep-alive connections in the throughput trials.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
}

/// The two tools measured.
#[derive(Debug, Clone, Copy)]
enum Tool {
    Verify,
    Trace,
}

impl Tool {
    fn name(self) -> &'static str {
        match self {
            Self::Verify => "verify_product",
            Self::Trace => "trace_product",
        }
    }

    /// The JSON-RPC request for call `n` (also its id: keep it below 2^53) against a store of
    /// `units` serials.
    fn request(self, n: u64, units: u64) -> String {
        let mut rng = dscsa_exchange::fixtures::Rng(13 ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let s = rng.next_u64() % units;
        let gtin = bulk::gtin();
        let serial = format!("{s:010}");
        let arguments = match self {
            Self::Verify => serde_json::json!({
                "gtin": gtin,
                "serial": serial,
                "lot": bulk::shipment_lot(s / bulk::SHIPMENT_BATCH),
                "expiry": "280630",
            }),
            Self::Trace => serde_json::json!({"gtin": gtin, "serial": serial}),
        };
        serde_json::json!({
            "jsonrpc": "2.0",
            "id": n,
            "method": "tools/call",
            "params": {"name": self.name(), "arguments": arguments},
        })
        .to_string()
    }

    /// Whether the answer is the right one (not an error, verified or traced).
    fn check(self, body: &[u8]) -> Result<(), String> {
        let value: serde_json::Value =
            serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))?;
        let result = &value["result"];
        let good = result["isError"] != true
            && match self {
                Self::Verify => result["structuredContent"]["answer"]["data"]["verified"] == true,
                Self::Trace => result["structuredContent"]["hops"]
                    .as_array()
                    .is_some_and(|h| !h.is_empty()),
            };
        if good {
            Ok(())
        } else {
            Err(format!("wrong answer: {}", String::from_utf8_lossy(body)))
        }
    }
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let (server_rt, client_rt) = store::runtimes()?;
    let dir = args.shipments.dir();
    let units = args.shipments.units;
    let (app, ca_der, token) = server_rt.block_on(async {
        let url = store::shipments(&dir, args.shipments.postgres.as_deref(), units).await?;
        let principal = Principal {
            id: "bench-compliance".parse()?,
            display_name: "Benchmark compliance officer".into(),
            status: Status::Active,
            kind: PrincipalKind::Staff {
                role: StaffRole::Compliance,
            },
        };
        let (app, ca_der, _cert) = store::serve_with(&dir, &url, principal, |config| {
            config.agent.calls_per_minute = u32::MAX;
            config.agent.rows_per_minute = u32::MAX;
        })
        .await?;
        let issued = agent_tokens::issue(
            app.db(),
            &Actor::cli(),
            IssueRequest {
                principal: "bench-compliance".parse()?,
                scopes: vec!["verify".into(), "trace".into()],
                gtins: Vec::new(),
                lot: None,
                investigation: None,
                ttl: Duration::from_secs(3600),
                purpose: "mcp_latency benchmark".into(),
            },
        )
        .await?;
        anyhow::Ok((app, ca_der, issued.token))
    })?;

    let agent = app
        .agent_addr()
        .ok_or_else(|| anyhow::anyhow!("the agent listener is off"))?;
    let client_config =
        partners::tls::client_config(std::slice::from_ref(&ca_der), None, &[b"http/1.1"], true)?;
    let target = Target::mtls(agent, client_config);
    let bearer: Arc<str> = format!("Bearer {token}").into();
    let op_for = |tool: Tool| -> Op {
        let bearer = Arc::clone(&bearer);
        Arc::new(move |sender, n| {
            let bearer = Arc::clone(&bearer);
            Box::pin(async move {
                let body = load::post_json_with(
                    sender,
                    "/mcp",
                    tool.request(n, units),
                    &[
                        ("authorization", &bearer),
                        ("accept", "application/json, text/event-stream"),
                        ("mcp-protocol-version", "2025-11-25"),
                    ],
                )
                .await?;
                tool.check(&body)
            })
        })
    };

    let duration = Duration::from_secs(args.seconds.clamp(1, 120));
    let trials = args.trials.clamp(1, 20);
    let rounds = args.rounds.clamp(1, 20);
    let concurrency = args.concurrency.clamp(1, 256);
    println!(
        "mcp_latency: {units} serials, {} backend, {} cores",
        if args.shipments.postgres.is_some() {
            "PostgreSQL"
        } else {
            "SQLite"
        },
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    client_rt.block_on(async {
        for tool in [Tool::Verify, Tool::Trace] {
            let op = op_for(tool);
            let mut sender = load::open(&target).await.map_err(anyhow::Error::msg)?;
            // Warm-up: caches, connection, the token's principal.
            for n in 0..50 {
                op(&mut sender, (1 << 40) + n)
                    .await
                    .map_err(anyhow::Error::msg)?;
            }
            for round in 0..rounds {
                let mut lat = Vec::new();
                let mut errors = 0;
                for i in 0..args.requests {
                    let n = (round as u64) << 32 | i;
                    let at = Instant::now();
                    match op(&mut sender, n).await {
                        Ok(()) => lat.push(at.elapsed()),
                        Err(e) => {
                            errors += 1;
                            if errors <= 3 {
                                eprintln!("{} call failed: {e}", tool.name());
                            }
                            sender = load::open(&target).await.map_err(anyhow::Error::msg)?;
                        }
                    }
                }
                lat.sort();
                println!(
                    "  {} one call at a time, round {}: p50 {} ms, p90 {} ms, p99 {} ms, max {} ms ({} calls, {errors} errors)",
                    tool.name(),
                    round + 1,
                    ms(percentile(&lat, 0.5)),
                    ms(percentile(&lat, 0.9)),
                    ms(percentile(&lat, 0.99)),
                    ms(lat.last().copied().unwrap_or_default()),
                    lat.len()
                );
            }
            let mut rates = Vec::new();
            for _ in 0..trials {
                let (rate, mut lat) =
                    load::closed_loop(&target, Arc::clone(&op), concurrency, duration).await;
                lat.sort();
                println!(
                    "  {} closed loop, {concurrency} connections: {rate:.0} calls/s, p50 {} ms, p99 {} ms ({} calls)",
                    tool.name(),
                    ms(percentile(&lat, 0.5)),
                    ms(percentile(&lat, 0.99)),
                    lat.len()
                );
                rates.push(rate);
            }
            load::summary(&format!("{} calls/s", tool.name()), rates);
        }
        anyhow::Ok(())
    })?;
    server_rt.block_on(app.stop());
    Ok(())
}
