//! Load generator for `GET /whoami`: full mTLS handshakes per second, requests per second on
//! keep-alive mTLS connections, and the same over plain HTTP for the overhead ratio.
//!
//! Run: `cargo run --release --example load_whoami -- [--seconds 3] [--trials 5] [--concurrency 8]`
//!
//! Everything stays on loopback (127.0.0.1, ports chosen by the OS) and every loop is bounded
//! in time and count. The server is the real `Application` (SQLite in a temporary directory,
//! development PKI, one registered partner bound by name) on its own Tokio runtime; the client
//! runs on a second runtime in the same process. Each request goes through the authorisation
//! extractor, so it includes the binding lookup in SQLite. The plain-HTTP baseline serves the
//! same router on a second, plaintext listener that attaches the partner's identity to each
//! request, so the difference between the two is the cost of TLS alone. That listener exists
//! only in this example: the server has no plaintext partner listener.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::body::Body;
use clap::Parser;
use dscsa_exchange::Application;
use dscsa_exchange::auth::AppState;
use dscsa_exchange::config::{Overrides, Settings};
use dscsa_exchange::services::{self, Actor};
use hyper::Request;
use hyper_util::rt::{TokioExecutor, TokioIo};
use partners::binding::BindingMatch;
use partners::devpki::DevCa;
use partners::tls::ClientIdentity;
use partners::{PeerIdentity, Principal, PrincipalKind, Status};
use rustls::pki_types::ServerName;
use tokio::net::TcpListener;
use tower::ServiceExt as _;

#[path = "support/load.rs"]
mod load;
use load::{Target, summary};

#[derive(Debug, Parser)]
struct Args {
    /// Seconds per trial.
    #[arg(long, default_value_t = 3)]
    seconds: u64,
    /// Trials per measurement (median and spread are over trials).
    #[arg(long, default_value_t = 5)]
    trials: usize,
    /// Concurrent client connections.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
}

async fn get_whoami(sender: &mut load::Sender) -> Result<(), String> {
    let request = Request::get("/whoami")
        .header("host", "localhost")
        .body(Body::empty())
        .map_err(|e| e.to_string())?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| e.to_string())?;
    if !response.status().is_success() {
        return Err(format!("status {}", response.status()));
    }
    axum::body::to_bytes(Body::new(response.into_body()), 1 << 20)
        .await
        .map_err(|e| e.to_string())?;
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// New connection per request.
    ConnectionPerRequest,
    /// One connection per worker, requests back to back (HTTP/1.1 keep-alive).
    KeepAlive,
}

/// One trial: `concurrency` workers for `duration`; returns operations per second.
async fn trial(target: &Target, mode: Mode, concurrency: usize, duration: Duration) -> f64 {
    let done = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (target, done, stop) = (target.clone(), Arc::clone(&done), Arc::clone(&stop));
        workers.push(tokio::spawn(async move {
            let mut keep: Option<load::Sender> = None;
            while !stop.load(Ordering::Relaxed) && done.load(Ordering::Relaxed) < load::MAX_OPS {
                let outcome = match mode {
                    Mode::ConnectionPerRequest => match load::open(&target).await {
                        Ok(mut sender) => get_whoami(&mut sender).await,
                        Err(e) => Err(e),
                    },
                    Mode::KeepAlive => {
                        if keep.is_none() {
                            keep = load::open(&target).await.ok();
                        }
                        match keep.as_mut() {
                            Some(sender) => get_whoami(sender).await,
                            None => Err("connect failed".into()),
                        }
                    }
                };
                match outcome {
                    Ok(()) => {
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => {
                        eprintln!("request failed: {e}");
                        keep = None;
                    }
                }
            }
        }));
    }
    tokio::time::sleep(duration).await;
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        let _ = w.await;
    }
    done.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64()
}

/// The plaintext baseline: the same router, each request carrying the partner's identity.
async fn serve_plaintext(listener: TcpListener, state: AppState, identity: Arc<PeerIdentity>) {
    let router = dscsa_exchange::api::router(state);
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let (router, identity) = (router.clone(), Arc::clone(&identity));
        tokio::spawn(async move {
            let service = router.map_request(move |mut r: Request<hyper::body::Incoming>| {
                r.extensions_mut().insert(Arc::clone(&identity));
                r
            });
            let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                .serve_connection(
                    TokioIo::new(tcp),
                    hyper_util::service::TowerToHyperService::new(service),
                )
                .await;
        });
    }
}

fn main() {
    let args = Args::parse();
    let dir = tempfile::tempdir().expect("temporary directory");
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_name("server")
        .build()
        .expect("server runtime");
    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_name("client")
        .build()
        .expect("client runtime");

    let overrides = Overrides {
        data_dir: Some(dir.path().to_owned()),
        partner_addr: Some("127.0.0.1:0".parse().expect("addr")),
        ops_addr: Some("127.0.0.1:0".parse().expect("addr")),
        agent_addr: Some("127.0.0.1:0".parse().expect("addr")),
        ..Overrides::default()
    };
    let mut config = Settings::load(None, std::iter::empty(), &overrides)
        .and_then(Settings::resolve)
        .expect("configuration");
    // One principal at thousands of requests a second: lift its budget (still checked).
    config.partner_limits.requests_per_minute = u32::MAX;
    let layout = config.dev_pki.clone().expect("development PKI");
    let (app, plain_addr, cert, ca) = server_rt.block_on(async {
        let app = Application::build(&config).await.expect("server starts");
        let ca = DevCa::load(&layout).expect("CA");
        let id: partners::PrincipalId = "load-partner".parse().expect("id");
        let principal = Principal {
            id: id.clone(),
            display_name: "Load Test Partner".into(),
            status: Status::Active,
            kind: PrincipalKind::Partner(partners::PartnerRecord {
                legal_name: "Load Test Partner".into(),
                role: partners::PartnerRole::Wholesaler,
                glns: vec!["0614141000005".parse().expect("gln")],
                company_prefixes: vec![],
                licences: partners::Licences::default(),
                atp_credential: None,
            }),
        };
        let binding = (BindingMatch::name(id.as_str()).expect("name"), None);
        services::principals::register(app.db(), &Actor::Demo, &principal, &[binding])
            .await
            .expect("register");
        let cert = ca.issue_client(&id, 1).expect("client certificate");
        let identity = Arc::new(PeerIdentity::from_der(cert.cert_der()).expect("identity"));
        let plain = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let plain_addr = plain.local_addr().expect("addr");
        let metrics = Arc::new(dscsa_exchange::metrics::Metrics::new());
        let state = AppState {
            db: app.db().clone(),
            tls: Arc::clone(app.tls()),
            audit_public_key: dscsa_exchange::audit::CheckpointKey::generate()
                .expect("key")
                .public(),
            capture: Default::default(),
            organisation: Default::default(),
            audit_writer: services::audit_writer::AuditWriter::start(
                app.db().clone(),
                Arc::clone(&metrics),
            ),
            ledger_reads: services::ledger_reads::LedgerReads::direct(app.db().clone()),
            principals: Default::default(),
            package_key: Arc::new(dscsa_exchange::audit::CheckpointKey::generate().expect("key")),
            // A benchmark must not be throttled; the budget check still runs.
            limits: Arc::new(dscsa_exchange::config::PartnerLimits {
                requests_per_minute: u32::MAX,
                ..Default::default()
            }),
            request_budgets: dscsa_exchange::budgets::Budgets::new(u32::MAX, u32::MAX),
            metrics,
        };
        tokio::spawn(serve_plaintext(plain, state, identity));
        (app, plain_addr, cert, ca)
    });

    let ca_der = rustls::pki_types::CertificateDer::from(ca.cert_der().to_vec());
    let client_id = || ClientIdentity::from_pem(cert.cert_pem(), cert.key_pem()).expect("identity");
    // Resumption off: every new connection is a full handshake with the client certificate.
    let full = partners::tls::client_config(
        std::slice::from_ref(&ca_der),
        Some(client_id()),
        &[b"http/1.1"],
        false,
    )
    .expect("client config");
    let mtls = Target {
        addr: app.partner_addr(),
        tls: Some((
            tokio_rustls::TlsConnector::from(full),
            ServerName::try_from("localhost").expect("name"),
        )),
    };
    let plain = Target {
        addr: plain_addr,
        tls: None,
    };

    let duration = Duration::from_secs(args.seconds.clamp(1, 60));
    let trials = args.trials.clamp(1, 20);
    let concurrency = args.concurrency.clamp(1, 256);
    println!(
        "load_whoami: {trials} trials x {}s, {concurrency} concurrent connections, loopback, \
         server and client on separate 2-thread runtimes, {} cores",
        duration.as_secs(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let run = |target: &Target, mode: Mode| -> Vec<f64> {
        client_rt.block_on(async {
            // Warm-up, not counted.
            trial(target, mode, concurrency, Duration::from_millis(500)).await;
            let mut rates = Vec::with_capacity(trials);
            for _ in 0..trials {
                rates.push(trial(target, mode, concurrency, duration).await);
            }
            rates
        })
    };
    let hs_req = summary(
        "mTLS full handshake + GET /whoami (new conn.)",
        run(&mtls, Mode::ConnectionPerRequest),
    );
    let plain_conn = summary(
        "plain HTTP new connection + GET /whoami",
        run(&plain, Mode::ConnectionPerRequest),
    );
    let ka = summary("mTLS keep-alive GET /whoami", run(&mtls, Mode::KeepAlive));
    let plain_ka = summary(
        "plain HTTP keep-alive GET /whoami",
        run(&plain, Mode::KeepAlive),
    );
    println!(
        "ratios (plain / mTLS, medians): keep-alive {:.2}x, connection per request {:.2}x",
        plain_ka / ka,
        plain_conn / hs_req
    );
    server_rt.block_on(app.stop());
}
