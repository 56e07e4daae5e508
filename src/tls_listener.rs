//! The TLS listeners: TCP accept, the rustls handshake, then HTTP/1.1 or HTTP/2 (by ALPN)
//! over the TLS stream. On the partner listener the handshake requires a client certificate,
//! and the verified certificate is attached to every request of the connection; the agent
//! listener serves TLS without client certificates (its callers present bearer tokens).
//!
//! With `partners::tls`, this is the only module that calls rustls (through `tokio-rustls`).
//! A refused handshake (no certificate, unknown CA, expired, revoked) closes the connection
//! with the TLS alert rustls chose and a `debug` log line carrying the peer address and
//! reason; it never reaches HTTP. Shutdown stops accepting, then lets open connections finish
//! their in-flight requests for up to the grace period.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use partners::PeerIdentity;
use partners::tls::ServerTls;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt as _;

/// How a listener's TLS handshakes are made.
#[derive(Debug, Clone)]
pub(crate) enum Handshake {
    /// Mutual TLS: the partner listener's reloadable configuration; a client certificate is
    /// required and attached to each request.
    ClientCertificate(Arc<ServerTls>),
    /// Server authentication only (the agent listener), with the same reloaded certificate.
    ServerOnly(Arc<ServerTls>),
}

impl Handshake {
    fn acceptor(&self) -> TlsAcceptor {
        match self {
            Self::ClientCertificate(tls) => TlsAcceptor::from(tls.current()),
            Self::ServerOnly(tls) => TlsAcceptor::from(tls.current_server_only()),
        }
    }
}

/// Accepts connections until `shutdown` turns true, then drains.
pub(crate) async fn serve(
    listener: TcpListener,
    tls: Handshake,
    router: Router,
    handshake_timeout: Duration,
    grace: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    let graceful = GracefulShutdown::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.wait_for(|stop| *stop) => break,
        };
        let (tcp, peer) = match accepted {
            Ok(pair) => pair,
            Err(e) => {
                // Out of file descriptors and the like: pause rather than spin.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let acceptor = tls.acceptor();
        let needs_certificate = matches!(tls, Handshake::ClientCertificate(_));
        let router = router.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let stream = match tokio::time::timeout(handshake_timeout, acceptor.accept(tcp)).await {
                Ok(Ok(stream)) => stream,
                Ok(Err(e)) => {
                    tracing::debug!(%peer, error = %e, "TLS handshake refused");
                    return;
                }
                Err(_) => {
                    tracing::debug!(%peer, "TLS handshake timed out");
                    return;
                }
            };
            let identity = match partners::tls::peer_identity(stream.get_ref().1) {
                Some(Ok(identity)) => Some(Arc::new(identity)),
                Some(Err(e)) => {
                    tracing::debug!(%peer, error = %e, "client certificate unreadable");
                    return;
                }
                None if needs_certificate => return,
                None => None,
            };
            if let Some(identity) = &identity {
                tracing::debug!(%peer, fingerprint = identity.fingerprint().short(), "TLS session");
            }
            serve_connection(TokioIo::new(stream), identity, peer, router, watcher).await;
        });
    }
    drop(listener);
    if tokio::time::timeout(grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            ?grace,
            "grace period over: closing the connections still open"
        );
    }
}

/// The TCP peer of the connection a request arrived on (for the audit trail).
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub std::net::SocketAddr);

/// Serves HTTP on one authenticated connection, adding its identity to each request.
async fn serve_connection<I>(
    io: TokioIo<I>,
    identity: Option<Arc<PeerIdentity>>,
    peer: std::net::SocketAddr,
    router: Router,
    watcher: hyper_util::server::graceful::Watcher,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = router.map_request(move |mut request: Request<hyper::body::Incoming>| {
        if let Some(identity) = &identity {
            request.extensions_mut().insert(Arc::clone(identity));
        }
        request.extensions_mut().insert(ClientAddr(peer));
        request
    });
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // A connection that stops sending request headers is closed after 30 s (slow-loris guard);
    // HTTP/2 connections are pinged and closed when the peer stops answering.
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(30));
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Duration::from_secs(60))
        .keep_alive_timeout(Duration::from_secs(20));
    let connection = builder.serve_connection(io, TowerToHyperService::new(service));
    if let Err(e) = watcher.watch(connection.into_owned()).await {
        tracing::debug!(error = %e, "connection ended with an error");
    }
}
