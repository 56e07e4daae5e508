//! The partner listener's HTTP API. Each module owns its routes; [`router`] assembles them
//! with the shared layers (request span from the matched path, 5xx logging, problem-details
//! 404).

mod whoami;

use axum::Router;
use axum::extract::MatchedPath;
use axum::http::Request;
use tower_http::trace::TraceLayer;

use crate::auth::AppState;
use crate::error;

/// The partner API.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(whoami::router())
        .fallback(error::not_found)
        .layer(axum::middleware::from_fn(error::log_server_errors))
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
                let route = request
                    .extensions()
                    .get::<MatchedPath>()
                    .map_or("unmatched", MatchedPath::as_str);
                tracing::info_span!(
                    "request",
                    method = %request.method(),
                    route,
                    principal = tracing::field::Empty
                )
            }),
        )
        .with_state(state)
}
