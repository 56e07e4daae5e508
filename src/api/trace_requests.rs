//! Tracing requests on the partner listener: `POST /tracing/requests` with a PDG TI-request
//! document (`tiRequestSet`), answered at once with the custody hops the requester may see
//! (`services::trace`). The answer carries the request's id and timestamp and the times the
//! request was received and answered, the response-time evidence DSCSA asks for; the same
//! is kept in `trace_requests`.
//!
//! A requesting-party GLN must be one of the presenting partner's GLNs (403 otherwise), as
//! for verification.

use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use partners::PrincipalKind;

use super::openapi::{JSON, Operation, Route, Tag};
use crate::auth::{AppState, Authorized, Trace};
use crate::error::{ApiError, Code};
use crate::services::trace::{self, Scope};
use crate::services::verify::Requester;

/// The routes.
pub(super) fn routes() -> Vec<Route> {
    vec![
        Route::new("/tracing/requests").post(
            request,
            Operation::new("traceRequest", Tag::Tracing, "Ask where a product has been")
                .describe(
                    "A PDG TI-request document (`tiRequestSet`, JSON) for a product; answered at \
                 once with the custody hops the requester may see, the request's id and \
                 timestamp, and when it was received and answered.",
                )
                .needs::<Trace>()
                .body(JSON, None, "A PDG TI-request document (`tiRequestSet`).")
                .reply(
                    200,
                    "The trace answer: the request echoed, the hops the requester may see, and \
                 the response-time evidence.",
                    JSON,
                    None,
                )
                .problem(
                    400,
                    "The request document is malformed; the detail says where.",
                )
                .problem(
                    403,
                    "The requesting-party GLN is not one of the caller's GLNs \
                 (`requester_gln_not_bound`), or another refusal.",
                ),
        ),
    ]
}

async fn request(
    auth: Authorized<Trace>,
    State(state): State<AppState>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let received_at = crate::storage::now_text();
    let checked = trace::check(&body).map_err(|e| ApiError::new(Code::InvalidParameter, e))?;
    let principal = auth.principal();
    if let (PrincipalKind::Partner(record), Some(gln)) = (&principal.kind, &checked.requester_gln)
        && !record.glns.iter().any(|g| g.as_str() == gln)
    {
        return Err(ApiError::new(
            Code::RequesterGlnNotBound,
            format!(
                "tiRequestingPartyInformation/gln {gln} is not one of the GLNs registered for principal {}",
                principal.id
            ),
        ));
    }
    let requester = Requester {
        id: principal.id.to_string(),
        channel: "rest",
    };
    let answer = trace::answer(
        &state.db,
        &state.organisation,
        &Scope::of(principal),
        &requester,
        &checked,
        &String::from_utf8_lossy(&body),
        received_at,
    )
    .await?;
    Ok(axum::Json(answer).into_response())
}
