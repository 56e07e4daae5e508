//! Load-generation support shared by the examples that drive the real partner listener over
//! mutual TLS (or the plaintext baseline): connections, one request, closed-loop and
//! open-loop runs, and the summary statistics.

#![allow(dead_code)] // each example uses a subset

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::body::Body;
use hyper::Request;
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;

/// Hard cap on operations per run, whatever the duration.
pub(crate) const MAX_OPS: u64 = 5_000_000;

/// Where to connect, and with which TLS client configuration (none: plaintext).
#[derive(Clone)]
pub(crate) struct Target {
    pub(crate) addr: SocketAddr,
    pub(crate) tls: Option<(tokio_rustls::TlsConnector, ServerName<'static>)>,
}

pub(crate) trait Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> Io for T {}

pub(crate) type Sender = hyper::client::conn::http1::SendRequest<Body>;

impl Target {
    /// A target presenting `config` (a client configuration, with its certificate for the
    /// partner listener, without one for the agent listener) to `addr`, as `localhost`.
    pub(crate) fn mtls(addr: SocketAddr, config: Arc<rustls::ClientConfig>) -> Self {
        Self {
            addr,
            tls: Some((
                tokio_rustls::TlsConnector::from(config),
                ServerName::try_from("localhost").expect("name"),
            )),
        }
    }

    async fn connect(&self) -> std::io::Result<Box<dyn Io>> {
        let tcp = TcpStream::connect(self.addr).await?;
        tcp.set_nodelay(true)?;
        match &self.tls {
            None => Ok(Box::new(tcp)),
            Some((connector, name)) => Ok(Box::new(connector.connect(name.clone(), tcp).await?)),
        }
    }
}

/// Opens an HTTP/1.1 connection.
pub(crate) async fn open(target: &Target) -> Result<Sender, String> {
    let io = target.connect().await.map_err(|e| e.to_string())?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            eprintln!("connection ended: {e:?}");
        }
    });
    Ok(sender)
}

/// One GET; the body when the status is 2xx.
pub(crate) async fn get(sender: &mut Sender, path: &str) -> Result<bytes::Bytes, String> {
    let request = Request::get(path)
        .header("host", "localhost")
        .body(Body::empty())
        .map_err(|e| e.to_string())?;
    send(sender, request).await
}

/// One POST of a JSON body; the response body when the status is 2xx.
pub(crate) async fn post_json(
    sender: &mut Sender,
    path: &str,
    body: String,
) -> Result<bytes::Bytes, String> {
    post_json_with(sender, path, body, &[]).await
}

/// [`post_json`] with extra request headers.
pub(crate) async fn post_json_with(
    sender: &mut Sender,
    path: &str,
    body: String,
    headers: &[(&str, &str)],
) -> Result<bytes::Bytes, String> {
    let mut request = Request::post(path)
        .header("host", "localhost")
        .header("content-type", "application/json");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request.body(Body::from(body)).map_err(|e| e.to_string())?;
    send(sender, request).await
}

async fn send(sender: &mut Sender, request: Request<Body>) -> Result<bytes::Bytes, String> {
    // A new connection's dispatcher may not have started yet: wait for it.
    sender.ready().await.map_err(|e| format!("{e:?}"))?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| format!("{e:?}"))?;
    let status = response.status();
    let body = axum::body::to_bytes(Body::new(response.into_body()), 16 << 20)
        .await
        .map_err(|e| e.to_string())?;
    if status.is_success() {
        Ok(body)
    } else {
        Err(format!(
            "status {status}: {}",
            String::from_utf8_lossy(&body)
        ))
    }
}

/// What a request does: given the request number, send it on the connection and check the
/// answer.
pub(crate) type Op = Arc<
    dyn for<'a> Fn(
            &'a mut Sender,
            u64,
        )
            -> std::pin::Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>>
        + Send
        + Sync,
>;

/// Closed loop: `concurrency` keep-alive connections, each sending its next request when the
/// last is answered, for `duration`. Returns requests per second and every latency.
pub(crate) async fn closed_loop(
    target: &Target,
    op: Op,
    concurrency: usize,
    duration: Duration,
) -> (f64, Vec<Duration>) {
    let done = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (target, done, stop, op) = (
            target.clone(),
            Arc::clone(&done),
            Arc::clone(&stop),
            Arc::clone(&op),
        );
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut keep: Option<Sender> = None;
            while !stop.load(Ordering::Relaxed) && done.load(Ordering::Relaxed) < MAX_OPS {
                if keep.is_none() {
                    keep = open(&target).await.ok();
                }
                let Some(sender) = keep.as_mut() else {
                    continue;
                };
                let n = done.fetch_add(1, Ordering::Relaxed);
                let at = Instant::now();
                match op(sender, n).await {
                    Ok(()) => latencies.push(at.elapsed()),
                    Err(e) => {
                        eprintln!("request failed: {e}");
                        keep = None;
                    }
                }
            }
            latencies
        }));
    }
    tokio::time::sleep(duration).await;
    stop.store(true, Ordering::Relaxed);
    let mut all = Vec::new();
    for w in workers {
        all.extend(w.await.unwrap_or_default());
    }
    (all.len() as f64 / start.elapsed().as_secs_f64(), all)
}

/// Open loop: requests scheduled at `rate` per second over `connections` keep-alive
/// connections for `duration`; each latency is measured from the request's scheduled time,
/// so a server that falls behind is charged for the queueing it causes (no coordinated
/// omission). Returns the achieved rate and the latencies.
pub(crate) async fn open_loop(
    target: &Target,
    op: Op,
    rate: f64,
    connections: usize,
    duration: Duration,
) -> (f64, Vec<Duration>) {
    let total = ((rate * duration.as_secs_f64()) as u64).min(MAX_OPS);
    let start = Instant::now() + Duration::from_millis(50);
    let mut workers = Vec::new();
    for k in 0..connections as u64 {
        let (target, op) = (target.clone(), Arc::clone(&op));
        let connections = connections as u64;
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut keep: Option<Sender> = None;
            let mut n = k;
            while n < total {
                let due = start + Duration::from_secs_f64(n as f64 / rate);
                tokio::time::sleep_until(due.into()).await;
                if keep.is_none() {
                    keep = open(&target).await.ok();
                }
                let Some(sender) = keep.as_mut() else {
                    continue;
                };
                match op(sender, n).await {
                    Ok(()) => latencies.push(due.elapsed()),
                    Err(e) => {
                        eprintln!("request failed: {e}");
                        keep = None;
                    }
                }
                n += connections;
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for w in workers {
        all.extend(w.await.unwrap_or_default());
    }
    (
        all.len() as f64 / (Instant::now() - start).as_secs_f64(),
        all,
    )
}

/// The `p` quantile (0..=1) of sorted values.
pub(crate) fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or_default()
}

/// Milliseconds with two decimals.
pub(crate) fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

/// Prints median, min and max of per-trial rates; returns the median.
pub(crate) fn summary(name: &str, mut rates: Vec<f64>) -> f64 {
    rates.sort_by(f64::total_cmp);
    let median = rates[rates.len() / 2];
    println!(
        "{name:<46} median {median:>9.0}/s   min {:>9.0}   max {:>9.0}   trials {:?}",
        rates[0],
        rates[rates.len() - 1],
        rates.iter().map(|r| r.round() as u64).collect::<Vec<_>>()
    );
    median
}
