//! The operations listener: plain HTTP, meant for loopback or a private network, never a public
//! interface (it is unauthenticated). `/healthz` answers 200 while the process runs; `/readyz`
//! answers 200 when the database answers and the server is not shutting down, 503 otherwise;
//! `/metrics` serves [`crate::metrics`] in the OpenMetrics text format, with the audit trail's
//! head and the active bindings read from the database at scrape time. It reveals counts,
//! route templates, principal and binding ids, never events, serials or tokens.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::sync::watch;

use crate::metrics::{ActiveBinding, CONTENT_TYPE, Metrics, Scraped};
use crate::storage::{Db, StorageError};

#[derive(Debug, Clone)]
struct OpsState {
    db: Db,
    shutdown: watch::Receiver<bool>,
    metrics: Arc<Metrics>,
}

/// The ops routes.
pub(crate) fn router(db: Db, shutdown: watch::Receiver<bool>, metrics: Arc<Metrics>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .with_state(OpsState {
            db,
            shutdown,
            metrics,
        })
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

/// `GET /metrics`. If the database does not answer, the counters are still served; the
/// families read from it are left out (and the failure logged).
async fn metrics_text(State(state): State<OpsState>) -> Response {
    let pool = state.db.pool();
    let mut scraped = Scraped {
        pool_size: i64::from(pool.size()),
        pool_idle: i64::try_from(pool.num_idle()).unwrap_or(i64::MAX),
        ..Scraped::default()
    }
    .with_process();
    match read_database(&state.db).await {
        Ok((head, bindings)) => {
            scraped.audit_head = Some(head);
            scraped.bindings = Some(bindings);
        }
        Err(e) => tracing::warn!(error = %e, "metrics: database figures not read"),
    }
    match state.metrics.encode(&scraped) {
        Ok(text) => ([(header::CONTENT_TYPE, CONTENT_TYPE)], text).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "metrics: encoding failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

async fn read_database(db: &Db) -> Result<(i64, Vec<ActiveBinding>), StorageError> {
    let mut conn = db.pool().acquire().await?;
    let (head, _) = crate::storage::audit::head(&mut conn).await?;
    let bindings = crate::storage::principals::active_bindings(&mut conn)
        .await?
        .into_iter()
        .map(|b| ActiveBinding {
            id: b.id,
            principal: b.principal.as_str().to_owned(),
            not_after: b.not_after,
        })
        .collect();
    Ok((head, bindings))
}
