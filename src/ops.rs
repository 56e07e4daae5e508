//! The operations listener: plain HTTP, meant for loopback or a private network, revealing no
//! data. `/healthz` answers 200 while the process runs; `/readyz` answers 200 when the database
//! answers and the server is not shutting down, 503 otherwise. Metrics come later.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use tokio::sync::watch;

use crate::storage::Db;

#[derive(Debug, Clone)]
struct OpsState {
    db: Db,
    shutdown: watch::Receiver<bool>,
}

/// The ops routes.
pub(crate) fn router(db: Db, shutdown: watch::Receiver<bool>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .with_state(OpsState { db, shutdown })
}

async fn readyz(State(state): State<OpsState>) -> (StatusCode, &'static str) {
    if *state.shutdown.borrow() {
        return (StatusCode::SERVICE_UNAVAILABLE, "shutting down\n");
    }
    match state.db.ping().await {
        Ok(()) => (StatusCode::OK, "ready\n"),
        Err(e) => {
            tracing::warn!(error = %e, "readiness: database unavailable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n")
        }
    }
}
