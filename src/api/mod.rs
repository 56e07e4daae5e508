//! The partner listener's HTTP API. Each module owns its routes, listed as data (`Route`s of
//! the private `openapi` module: handler and documentation together); [`router`] assembles them
//! with the shared layers (request span from the matched path, 5xx logging, problem-details
//! 404), the abuse limits (body and time), the audit layer and, outermost, the metrics
//! layer (`count_requests`); `openapi::document` describes the same list as `GET /openapi.json`.

mod audit;
pub mod audit_layer;
mod epcis_capture;
pub mod epcis_problem;
mod epcis_query;
mod fda;
mod investigations;
mod openapi;
mod trace_requests;
mod vrs;
mod whoami;

use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, State};
use axum::http::Request;
use axum::middleware::{Next, from_fn_with_state};
use axum::response::Response;
use tower_http::trace::TraceLayer;

use crate::auth::AppState;
use crate::error;
use crate::metrics::Listener;

/// The partner API.
pub fn router(state: AppState) -> Router {
    // The time limit sits inside the audit layer, so a request cut short is recorded (503);
    // the body limit applies to every extractor outside capture, which sets its own. The
    // metrics layer is outermost, so it counts what the audit layer recorded.
    let routes = routes()
        .layer(axum::extract::DefaultBodyLimit::max(
            state.limits.max_body_bytes,
        ))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            state.limits.request_timeout,
        ))
        .layer(from_fn_with_state(
            state.clone(),
            audit_layer::record_requests,
        ))
        .layer(from_fn_with_state(state.clone(), count_requests));
    with_shared_layers(routes).with_state(state)
}

/// Counts every request by method, matched route template (never the raw path) and status,
/// with its latency up to the response's release (the audit record committed), and each 401,
/// 403 or 429 by its problem code.
async fn count_requests(
    State(state): State<AppState>,
    request: axum::extract::Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = request.extensions().get::<MatchedPath>().cloned();
    let response = next.run(request).await;
    let status = response.status().as_u16();
    state.metrics.http_request(
        &method,
        route.as_ref().map(MatchedPath::as_str),
        status,
        started.elapsed(),
    );
    if matches!(status, 401 | 403 | 429) {
        let reason = response
            .extensions()
            .get::<error::Code>()
            .map_or("other", |c| c.name());
        state.metrics.refusal(Listener::Partner, status, reason);
    }
    response
}

/// The partner API WITHOUT the audit layer, for measuring that layer's cost only
/// (`examples/load_whoami.rs --no-audit`). The server never serves it: a request it answers
/// leaves no audit record.
#[doc(hidden)]
pub fn unaudited_router_for_benchmarks(state: AppState) -> Router {
    with_shared_layers(routes()).with_state(state)
}

/// Every route of the partner API, with its documentation: the one list both the router and
/// the OpenAPI document are built from.
fn all_routes() -> Vec<openapi::Route> {
    [
        whoami::routes(),
        openapi::routes(),
        audit::routes(),
        epcis_capture::routes(),
        epcis_query::routes(),
        investigations::routes(),
        vrs::routes(),
        trace_requests::routes(),
        fda::routes(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

fn routes() -> Router<AppState> {
    all_routes()
        .into_iter()
        .fold(Router::new(), |router, route| {
            router.route(route.path, route.router)
        })
        .fallback(error::not_found)
}

fn with_shared_layers(router: Router<AppState>) -> Router<AppState> {
    router
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
}
