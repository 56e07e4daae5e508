//! FDA records requests on the partner listener, for compliance staff and regulators
//! (`Authorized<RecordsRequest>`: a trading partner gets 403). Thin adapters over
//! [`crate::services::fda`].
//!
//! - `POST /fda/records-requests` with `{"requestRef", "products": [{"epc"} | {"gtin",
//!   "serial"} | {"gtin", "lot"} | {"ndc", "lot"}], "from"?, "to"?, "regulator"?}`: the
//!   request is checked (400 naming the field), stored with its received time and 24-hour
//!   deadline, and answered 202 with the job and its `Location`; the package is produced in
//!   the background.
//! - `GET /fda/records-requests/{id}`: the job (status `pending`, `ready` or `failed`).
//! - `GET /fda/records-requests/{id}/package`: the zip (`application/zip`), 409 while pending
//!   or after a failure, saying which.
//!
//! A regulator sees only the requests it made or that name it (404 for others, as for an
//! unknown id); asking for itself, it is the request's regulator, so the products' events
//! become visible to it in the EPCIS query interface.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use partners::PrincipalKind;

use super::openapi::{JSON, Operation, Route, Tag, schema};
use crate::auth::{AppState, Authorized, RecordsRequest};
use crate::error::{ApiError, Code};
use crate::services::Actor;
use crate::services::fda::{self as svc, FdaError, NewRequest, Quiet};

const ID: &str = "The request id (UUID) from the submission's answer.";

/// The routes.
pub(super) fn routes() -> Vec<Route> {
    vec![
        Route::new("/fda/records-requests").post(
            submit,
            Operation::new("fdaSubmit", Tag::Fda, "Submit an FDA records request")
                .describe(
                    "Stores the request with its received time and 24-hour deadline and \
                     produces the records package in the background. A regulator asks for \
                     itself: the products' events become visible to it.",
                )
                .needs::<RecordsRequest>()
                .body(JSON, Some(schema::<NewRequest>), "The request.")
                .reply(202, "The job, `pending`.", JSON, Some(schema::<svc::Job>))
                .with_header("Location", "The job's URL.")
                .problem(400, "A malformed field; the detail names it."),
        ),
        Route::new("/fda/records-requests/{id}").get(
            show,
            Operation::new("fdaShow", Tag::Fda, "A records request's job")
                .needs::<RecordsRequest>()
                .path_param("id", ID)
                .reply(
                    200,
                    "The job: `pending`, `ready` or `failed`.",
                    JSON,
                    Some(schema::<svc::Job>),
                )
                .problem(404, "No such request, or not one the caller may see."),
        ),
        Route::new("/fda/records-requests/{id}/package").get(
            package,
            Operation::new("fdaPackage", Tag::Fda, "A records request's package")
                .needs::<RecordsRequest>()
                .path_param("id", ID)
                .reply(
                    200,
                    "The package (a zip with a signed manifest).",
                    &["application/zip"],
                    None,
                )
                .with_header("X-Package-SHA256", "SHA-256 (hex) of the zip.")
                .problem(404, "No such request, or not one the caller may see.")
                .problem(
                    409,
                    "The package is still pending, or its production failed.",
                ),
        ),
    ]
}

impl From<FdaError> for ApiError {
    fn from(e: FdaError) -> Self {
        match e {
            FdaError::Invalid { .. } => Self::new(Code::InvalidParameter, e.to_string()),
            FdaError::NotFound(_) => Self::new(Code::NotFound, e.to_string()),
            FdaError::NotReady(_) => Self::new(Code::Conflict, e.to_string()),
            FdaError::Package(_) | FdaError::Storage(_) => Self::internal(e),
        }
    }
}

async fn submit(
    State(state): State<AppState>,
    auth: Authorized<RecordsRequest>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let mut new: NewRequest = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::new(Code::InvalidParameter, format!("request body: {e}")))?;
    let principal = auth.principal();
    if let PrincipalKind::Regulator(_) = principal.kind {
        match &new.regulator {
            Some(r) if r.trim() != principal.id.as_str() => {
                return Err(ApiError::new(
                    Code::InvalidParameter,
                    format!(
                        "regulator: a regulator asks for itself ({}), not for {r:?}",
                        principal.id
                    ),
                ));
            }
            _ => new.regulator = Some(principal.id.to_string()),
        }
    }
    let checked = svc::request::check(&state.db, &new).await?;
    let actor = Actor::Principal(principal.id.clone());
    let job = svc::receive(&state.db, &actor, &checked).await?;
    let producer = svc::Producer {
        db: state.db.clone(),
        organisation: Arc::clone(&state.organisation),
        key: Arc::clone(&state.package_key),
    };
    let job_bg = job.clone();
    // The package is produced in the background: the request is answered at once with the
    // job, and the 24-hour clock is visible in it.
    tokio::spawn(async move {
        if let Err(e) =
            svc::produce(&producer, &actor, &job_bg, &checked, true, Arc::new(Quiet)).await
        {
            tracing::error!(target: "fda", request = %job_bg.id, error = %e, "records package failed");
        }
    });
    let location = format!("/fda/records-requests/{}", job.id);
    let mut response = (StatusCode::ACCEPTED, axum::Json(&job)).into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    Ok(response)
}

async fn show(
    State(state): State<AppState>,
    auth: Authorized<RecordsRequest>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let job = svc::job(&state.db, Some(auth.principal()), &id).await?;
    Ok(axum::Json(job).into_response())
}

async fn package(
    State(state): State<AppState>,
    auth: Authorized<RecordsRequest>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let (job, bytes) = svc::stored_package(&state.db, Some(auth.principal()), &id).await?;
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/zip"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"dscsa-records-{}.zip\"",
        job.id
    )) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    if let Some(sha) = job
        .package_sha256
        .as_deref()
        .and_then(|s| HeaderValue::from_str(s).ok())
    {
        headers.insert("x-package-sha256", sha);
    }
    Ok(response)
}
