//! The audit layer's cost per request: `GET /whoami` through the real router, in process, one
//! request at a time (latency, not throughput), with and without the audit layer, in
//! alternating blocks so that drift affects both alike. Prints p50, p99 and mean per variant.
//!
//! ```text
//! cargo run --release --example audit_overhead -- [REQUESTS] [postgres://…]
//! ```
//! Without a URL: SQLite in a temporary directory (the embedded default, WAL).

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use dscsa_exchange::Application;
use dscsa_exchange::auth::AppState;
use dscsa_exchange::config::{Overrides, Settings};
use dscsa_exchange::services::{self, Actor};
use hyper::Request;
use partners::binding::BindingMatch;
use partners::devpki::DevCa;
use partners::{PeerIdentity, Principal, PrincipalKind, Status};
use tower::ServiceExt as _;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or(f64::NAN)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(5_000);
    let database_url = args.next();
    let dir = tempfile::tempdir()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let overrides = Overrides {
            data_dir: Some(dir.path().to_owned()),
            database_url: database_url.clone(),
            partner_addr: Some("127.0.0.1:0".parse()?),
            ops_addr: Some("127.0.0.1:0".parse()?),
            agent_addr: Some("127.0.0.1:0".parse()?),
        };
        let mut config = Settings::load(None, std::iter::empty(), &overrides)?.resolve()?;
        config.partner_limits.requests_per_minute = u32::MAX;
        let app = Application::build(&config).await?;
        let ca = DevCa::load(config.dev_pki.as_ref().ok_or("no dev pki")?)?;
        let id: partners::PrincipalId = format!("bench-{}", std::process::id()).parse()?;
        let principal = Principal {
            id: id.clone(),
            display_name: "Bench".into(),
            status: Status::Active,
            kind: PrincipalKind::Partner(partners::PartnerRecord {
                legal_name: "Bench".into(),
                role: partners::PartnerRole::Wholesaler,
                glns: vec!["0614141000005".parse()?],
                company_prefixes: vec![],
                licences: partners::Licences::default(),
                atp_credential: None,
            }),
        };
        services::principals::register(
            app.db(),
            &Actor::Demo,
            &principal,
            &[(BindingMatch::name(id.as_str())?, None)],
        )
        .await?;
        let cert = ca.issue_client(&id, 1)?;
        let identity = Arc::new(PeerIdentity::from_der(cert.cert_der())?);
        let metrics = Arc::new(dscsa_exchange::metrics::Metrics::new());
        let state = AppState {
            db: app.db().clone(),
            tls: Arc::clone(app.tls()),
            audit_public_key: *app.audit_public_key(),
            capture: Default::default(),
            organisation: Default::default(),
            audit_writer: services::audit_writer::AuditWriter::start(
                app.db().clone(),
                Arc::clone(&metrics),
            ),
            ledger_reads: services::ledger_reads::LedgerReads::direct(app.db().clone()),
            principals: Default::default(),
            package_key: Arc::new(dscsa_exchange::audit::CheckpointKey::generate()?),
            // A benchmark must not be throttled; the budget check still runs.
            limits: Arc::new(dscsa_exchange::config::PartnerLimits {
                requests_per_minute: u32::MAX,
                ..Default::default()
            }),
            request_budgets: dscsa_exchange::budgets::Budgets::new(u32::MAX, u32::MAX),
            metrics,
        };
        let routers = [
            (
                "with audit layer",
                dscsa_exchange::api::router(state.clone()),
            ),
            (
                "without audit layer",
                dscsa_exchange::api::unaudited_router_for_benchmarks(state),
            ),
        ];
        let mut samples: [Vec<f64>; 2] = [Vec::with_capacity(n), Vec::with_capacity(n)];
        let block = 250;
        for round in 0..(n / block + 1) * 2 + 2 {
            let which = round % 2;
            let (_, router) = &routers[which];
            for _ in 0..block {
                let mut req = Request::get("/whoami").body(Body::empty())?;
                req.extensions_mut().insert(Arc::clone(&identity));
                let start = Instant::now();
                let resp = router.clone().oneshot(req).await?;
                let _ = axum::body::to_bytes(resp.into_body(), 1 << 20).await?;
                let us = start.elapsed().as_secs_f64() * 1e6;
                // The first block of each is warm-up.
                if round >= 2 && samples[which].len() < n {
                    samples[which].push(us);
                }
            }
        }
        let backend = if database_url.is_some() {
            "PostgreSQL"
        } else {
            "SQLite"
        };
        println!("GET /whoami in process on {backend}, {n} sequential requests per variant:");
        let mut p50s = [0.0; 2];
        for (i, (name, _)) in routers.iter().enumerate() {
            let s = &mut samples[i];
            s.sort_by(f64::total_cmp);
            let mean = s.iter().sum::<f64>() / s.len() as f64;
            p50s[i] = percentile(s, 0.5);
            println!(
                "  {name:<20} p50 {:>8.1} µs   p99 {:>8.1} µs   mean {mean:>8.1} µs",
                percentile(s, 0.5),
                percentile(s, 0.99)
            );
        }
        println!("  audit layer adds {:.1} µs at p50", p50s[0] - p50s[1]);
        app.stop().await;
        Ok::<_, Box<dyn std::error::Error>>(())
    })?;
    Ok(())
}
