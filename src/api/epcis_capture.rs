//! The EPCIS 2.0 capture interface: `POST /epcis/capture` (a document, as a capture job),
//! `GET /epcis/capture[/{id}]` (jobs), `POST /epcis/events` (one event, synchronously), and
//! their `OPTIONS` (the limits).
//!
//! The body is read up to `capture.max_document_bytes` (413 past it, before anything is
//! decoded); the media type picks nothing but the refusal of what is neither XML nor JSON: the
//! decoder detects 1.2 XML, 2.0 XML and JSON-LD from the content, and a body that contradicts
//! its `Content-Type` is refused. A capture job runs after the 202: its outcome is read at its
//! `Location`. A job that was running when the server stopped is marked failed at the next
//! start (nothing of it was stored: the capture is one transaction).

use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::epcis_problem::{EpcisException, EpcisProblem, add_version_headers, path_segment};
use super::openapi::{JSON, Operation, Route, Tag, schema};
use crate::auth::{AppState, Authorized, Capture};
use crate::services::Actor;
use crate::services::capture::{self, CaptureError, CaptureOptions, ErrorBehaviour, Refusal};
use crate::storage::capture::{self as store, JobOutcome, JobRow};
use crate::storage::now_text;
use partners::Visibility;

/// Media types a capture body may have.
const EPCIS_MEDIA: &[&str] = &[
    "application/ld+json",
    "application/json",
    "application/xml",
    "text/xml",
];

fn options_op(id: &'static str) -> Operation {
    Operation::new(id, Tag::Capture, "The capture limits")
        .describe("No body; the headers give the limits and the supported error behaviours.")
        .empty(204, "`GS1-EPCIS-Capture-Limit`, `GS1-EPCIS-Capture-File-Size-Limit`, `GS1-Capture-Error-Behaviour`, `Allow`.")
}

fn capture_body(op: Operation, what: &'static str) -> Operation {
    op.needs::<Capture>()
        .body(EPCIS_MEDIA, None, what)
        .epcis_problem(400, "The body is not valid EPCIS (`ValidationException`).")
        .epcis_problem(
            413,
            "Past the capture limit (`CaptureLimitExceededException`).",
        )
        .epcis_problem(
            415,
            "Neither XML nor JSON-LD (`UnsupportedMediaTypeException`).",
        )
}

/// The capture routes.
pub(super) fn routes() -> Vec<Route> {
    vec![
        Route::new("/epcis/capture")
            .get(
                list_jobs,
                Operation::new("captureJobs", Tag::Capture, "The caller's capture jobs")
                    .needs::<Capture>()
                    .query_integer("perPage", "Page size, 1 to 100 (default 30).")
                    .query(
                        "nextPageToken",
                        "From the previous page's `Link: rel=\"next\"`.",
                    )
                    .reply(200, "Capture jobs, newest first.", JSON, None)
                    .epcis_problem(400, "A malformed parameter."),
            )
            .post(
                capture_document,
                capture_body(
                    Operation::new("captureDocument", Tag::Capture, "Capture an EPCIS document")
                        .header(
                            "GS1-Capture-Error-Behaviour",
                            "`rollback` (all events or none, the default) or `proceed`.",
                        ),
                    "An EPCIS 1.2 or 2.0 document (XML) or an EPCIS 2.0 JSON-LD document; the \
                     syntax is detected from the content and must agree with `Content-Type`.",
                )
                .reply(
                    202,
                    "The capture job, running.",
                    JSON,
                    Some(schema::<JobBody>),
                )
                .with_header("Location", "The job's URL, where its outcome is read."),
            )
            .options(options, options_op("captureOptions")),
        Route::new("/epcis/capture/{id}").get(
            one_job,
            Operation::new("captureJob", Tag::Capture, "One capture job")
                .needs::<Capture>()
                .path_param("id", "The job id (`captureID`).")
                .reply(
                    200,
                    "The job and its outcome.",
                    JSON,
                    Some(schema::<JobBody>),
                )
                .epcis_problem(
                    404,
                    "No such job of the caller's (`NoSuchResourceException`).",
                ),
        ),
        Route::new("/epcis/events")
            .post(
                capture_event,
                capture_body(
                    Operation::new("captureEvent", Tag::Capture, "Capture one event"),
                    "One EPCIS event, captured synchronously.",
                )
                .empty(201, "Captured.")
                .with_header("Location", "The event's URL in the query interface.")
                .epcis_problem(
                    409,
                    "The event is stored already (`ResourceAlreadyExistsException`).",
                ),
            )
            .options(options, options_op("captureEventOptions")),
    ]
    .into_iter()
    // The body limit is the configured one, enforced in `read_body` with an EPCIS problem.
    .map(|route| route.map_router(|r| r.layer(DefaultBodyLimit::disable())))
    .collect()
}

const CAPTURE_LIMIT: HeaderName = HeaderName::from_static("gs1-epcis-capture-limit");
const FILE_SIZE_LIMIT: HeaderName = HeaderName::from_static("gs1-epcis-capture-file-size-limit");
const ERROR_BEHAVIOUR: &str = "gs1-capture-error-behaviour";

fn limit_headers(state: &AppState, headers: &mut HeaderMap) {
    add_version_headers(headers);
    headers.insert(CAPTURE_LIMIT, HeaderValue::from(state.capture.max_events));
    headers.insert(
        FILE_SIZE_LIMIT,
        HeaderValue::from(state.capture.max_document_bytes),
    );
}

async fn options(State(state): State<AppState>) -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    let headers = response.headers_mut();
    limit_headers(&state, headers);
    headers.insert(
        header::ALLOW,
        HeaderValue::from_static("OPTIONS, GET, POST"),
    );
    headers.insert(
        HeaderName::from_static(ERROR_BEHAVIOUR),
        HeaderValue::from_static("rollback, proceed"),
    );
    response
}

/// The media type family of a capture body.
fn media_type(headers: &HeaderMap) -> Result<(&'static str, epcis::Syntax), EpcisProblem> {
    let value = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        "application/ld+json" | "application/json" => {
            Ok(("application/ld+json", epcis::Syntax::JsonLd))
        }
        "application/xml" | "text/xml" => Ok(("application/xml", epcis::Syntax::Xml)),
        "" => Err(EpcisProblem::new(
            EpcisException::UnsupportedMediaType,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Content-Type is missing: send application/ld+json (EPCIS 2.0 JSON-LD) or \
             application/xml (EPCIS 1.2 or 2.0 XML)",
        )),
        other => Err(EpcisProblem::new(
            EpcisException::UnsupportedMediaType,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "Content-Type {other} is not supported: send application/ld+json (EPCIS 2.0 \
                 JSON-LD) or application/xml (EPCIS 1.2 or 2.0 XML)"
            ),
        )),
    }
}

/// Reads the body up to the configured size; 413 past it (from `Content-Length` when the
/// client sent one, before reading).
async fn read_body(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
) -> Result<Bytes, EpcisProblem> {
    let limit = state.capture.max_document_bytes;
    let too_large = || {
        EpcisProblem::new(
            EpcisException::CaptureLimitExceeded,
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "the document is larger than this server's capture limit of {limit} bytes \
                 (GS1-EPCIS-Capture-File-Size-Limit): split it into several documents"
            ),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let max = usize::try_from(limit).unwrap_or(usize::MAX);
    axum::body::to_bytes(body, max).await.map_err(|e| {
        // `to_bytes` fails on the limit or on a broken connection; the source says which.
        if std::error::Error::source(&e).is_some_and(|s| s.is::<http_body_util::LengthLimitError>())
        {
            too_large()
        } else {
            EpcisProblem::new(
                EpcisException::Validation,
                StatusCode::BAD_REQUEST,
                format!("the request body could not be read: {e}"),
            )
        }
    })
}

fn error_behaviour(headers: &HeaderMap) -> Result<ErrorBehaviour, EpcisProblem> {
    let Some(value) = headers.get(ERROR_BEHAVIOUR) else {
        return Ok(ErrorBehaviour::Rollback);
    };
    value
        .to_str()
        .ok()
        .and_then(ErrorBehaviour::parse)
        .ok_or_else(|| {
            EpcisProblem::new(
                EpcisException::Validation,
                StatusCode::BAD_REQUEST,
                format!(
                    "GS1-Capture-Error-Behaviour: {:?} is not supported: use rollback (all events \
                     or none, the default) or proceed",
                    String::from_utf8_lossy(value.as_bytes())
                ),
            )
        })
}

/// Refuses a body whose content contradicts its declared media type.
fn check_syntax(bytes: &[u8], declared: epcis::Syntax) -> Result<(), EpcisProblem> {
    match epcis::detect(bytes) {
        Some(found) if found == declared => Ok(()),
        Some(found) => Err(EpcisProblem::new(
            EpcisException::Validation,
            StatusCode::BAD_REQUEST,
            format!("Content-Type says {declared:?} but the body is {found:?}"),
        )),
        None => Err(EpcisProblem::new(
            EpcisException::Validation,
            StatusCode::BAD_REQUEST,
            "the body is neither XML nor JSON: an EPCIS document starts with '<' (XML) or '{' \
             (JSON-LD)",
        )),
    }
}

fn options_for(state: &AppState, behaviour: ErrorBehaviour) -> CaptureOptions {
    let limits = epcis::Limits {
        max_document_bytes: state.capture.max_document_bytes,
        max_events: state.capture.max_events,
        ..epcis::Limits::default()
    };
    CaptureOptions {
        behaviour,
        strict: state.capture.strict,
        limits,
    }
}

/// `POST /epcis/capture`: 202 and the job's `Location`.
async fn capture_document(
    State(state): State<AppState>,
    auth: Authorized<Capture>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, EpcisProblem> {
    let (content_type, syntax) = media_type(&headers)?;
    let behaviour = error_behaviour(&headers)?;
    let bytes = read_body(&state, &headers, body).await?;
    check_syntax(&bytes, syntax)?;
    let principal = auth.principal().id.clone();
    let job_id = uuid::Uuid::new_v4().to_string();
    let options = options_for(&state, behaviour);
    {
        let mut tx = state.db.begin().await?;
        let job = store::NewJob {
            id: &job_id,
            captured_by: principal.as_str(),
            content_type,
            size: bytes.len(),
            error_behaviour: behaviour.as_str(),
            strict: options.strict,
            created_at: &now_text(),
        };
        store::insert_job(&mut tx, &job).await?;
        tx.commit()
            .await
            .map_err(crate::storage::StorageError::from)?;
    }
    let db = state.db.clone();
    let metrics = std::sync::Arc::clone(&state.metrics);
    let id = job_id.clone();
    tokio::spawn(async move {
        let actor = Actor::Principal(principal.clone());
        let result = capture::capture(
            &db,
            &actor,
            principal.as_str(),
            bytes,
            content_type,
            &options,
        )
        .await;
        metrics.capture_finished(&result);
        let outcome = job_outcome(result);
        let finish = async {
            let mut tx = db.begin().await?;
            store::finish_job(&mut tx, &id, &outcome, &now_text()).await?;
            tx.commit()
                .await
                .map_err(crate::storage::StorageError::from)
        };
        if let Err(e) = finish.await {
            tracing::error!(job = %id, error = %e, "could not record the end of a capture job");
        }
    });
    let mut response = (
        StatusCode::ACCEPTED,
        axum::Json(JobBody::running(&job_id, behaviour)),
    )
        .into_response();
    let headers = response.headers_mut();
    limit_headers(&state, headers);
    if let Ok(location) = HeaderValue::from_str(&format!("/epcis/capture/{job_id}")) {
        headers.insert(header::LOCATION, location);
    }
    Ok(response)
}

fn job_outcome(result: Result<capture::CaptureReport, CaptureError>) -> JobOutcome {
    let errors =
        |refusals: &[Refusal]| serde_json::to_string(refusals).unwrap_or_else(|_| "[]".into());
    match result {
        Ok(r) => JobOutcome {
            document_id: Some(r.document_id),
            success: r.refused.is_empty(),
            events: i64::try_from(r.events).unwrap_or(i64::MAX),
            events_new: i64::try_from(r.new).unwrap_or(i64::MAX),
            duplicates: i64::try_from(r.duplicates).unwrap_or(i64::MAX),
            anomalies: i64::try_from(r.anomalies).unwrap_or(i64::MAX),
            errors: errors(&r.refused),
        },
        Err(CaptureError::Refused(refusals)) => JobOutcome {
            errors: errors(&refusals),
            ..JobOutcome::default()
        },
        Err(CaptureError::Storage(e)) => {
            tracing::error!(error = %e, "capture failed");
            JobOutcome {
                errors: serde_json::json!([{
                    "type": "ImplementationException",
                    "detail": "the server could not store the document; it has been logged; nothing was stored"
                }])
                .to_string(),
                ..JobOutcome::default()
            }
        }
    }
}

/// The standard CaptureJob body, plus this server's counts.
#[derive(Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
struct JobBody {
    #[serde(rename = "captureID")]
    capture_id: String,
    created_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    finished_at: Option<String>,
    running: bool,
    success: bool,
    capture_error_behaviour: String,
    errors: serde_json::Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    events: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    new_events: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    duplicate_events: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    anomalies: Option<i64>,
}

impl JobBody {
    fn running(id: &str, behaviour: ErrorBehaviour) -> Self {
        Self {
            capture_id: id.to_owned(),
            created_at: None,
            finished_at: None,
            running: true,
            success: true,
            capture_error_behaviour: behaviour.as_str().to_owned(),
            errors: serde_json::json!([]),
            events: None,
            new_events: None,
            duplicate_events: None,
            anomalies: None,
        }
    }

    fn of(job: JobRow) -> Self {
        let finished = !job.running;
        Self {
            capture_id: job.id,
            created_at: Some(job.created_at),
            finished_at: job.finished_at,
            running: job.running,
            // While running, no error has been recorded yet (errors end the job).
            success: job.running || job.success,
            capture_error_behaviour: job.error_behaviour,
            errors: serde_json::from_str(&job.errors).unwrap_or_else(|_| serde_json::json!([])),
            events: finished.then_some(job.events),
            new_events: finished.then_some(job.events_new),
            duplicate_events: finished.then_some(job.duplicates),
            anomalies: finished.then_some(job.anomalies),
        }
    }
}

/// Whose jobs the caller may read: the home organisation all, a partner its own.
fn job_owner<S: crate::auth::Scope>(auth: &Authorized<S>) -> Option<String> {
    match auth.visibility() {
        Visibility::All => None,
        _ => Some(auth.principal().id.to_string()),
    }
}

async fn one_job(
    State(state): State<AppState>,
    auth: Authorized<Capture>,
    Path(id): Path<String>,
) -> Result<Response, EpcisProblem> {
    let owner = job_owner(&auth);
    let mut conn = state
        .db
        .pool()
        .acquire()
        .await
        .map_err(crate::storage::StorageError::from)?;
    let job = store::job(&mut conn, &id, owner.as_deref()).await?;
    let Some(job) = job else {
        return Err(EpcisProblem::new(
            EpcisException::NoSuchResource,
            StatusCode::NOT_FOUND,
            format!("no capture job {id:?} of yours"),
        ));
    };
    let mut response = axum::Json(JobBody::of(job)).into_response();
    add_version_headers(response.headers_mut());
    Ok(response)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct JobsQuery {
    per_page: Option<i64>,
    next_page_token: Option<String>,
}

/// `GET /epcis/capture`: the caller's jobs, newest first, `perPage` (default 30, at most 100)
/// at a time; `nextPageToken` is the creation time of the last job of the previous page.
async fn list_jobs(
    State(state): State<AppState>,
    auth: Authorized<Capture>,
    Query(q): Query<JobsQuery>,
) -> Result<Response, EpcisProblem> {
    let per_page = q.per_page.unwrap_or(30);
    if !(1..=100).contains(&per_page) {
        return Err(EpcisProblem::new(
            EpcisException::QueryParameter,
            StatusCode::BAD_REQUEST,
            format!("perPage={per_page}: use 1 to 100"),
        ));
    }
    let owner = job_owner(&auth);
    let mut conn = state
        .db
        .pool()
        .acquire()
        .await
        .map_err(crate::storage::StorageError::from)?;
    let jobs = store::jobs(
        &mut conn,
        owner.as_deref(),
        q.next_page_token.as_deref(),
        per_page + 1,
    )
    .await?;
    let more = jobs.len() as i64 > per_page;
    let page: Vec<JobRow> = jobs
        .into_iter()
        .take(usize::try_from(per_page).unwrap_or(100))
        .collect();
    let next = more
        .then(|| page.last().map(|j| j.created_at.clone()))
        .flatten();
    let body: Vec<JobBody> = page.into_iter().map(JobBody::of).collect();
    let mut response = axum::Json(body).into_response();
    add_version_headers(response.headers_mut());
    if let Some(token) = next {
        let link = format!(
            "</epcis/capture?perPage={per_page}&nextPageToken={}>; rel=\"next\"",
            path_segment(&token)
        );
        if let Ok(v) = HeaderValue::from_str(&link) {
            response.headers_mut().insert(header::LINK, v);
        }
    }
    Ok(response)
}

/// `POST /epcis/events`: one event, captured at once. 201 and the event's `Location`; 409 when
/// it is stored already.
async fn capture_event(
    State(state): State<AppState>,
    auth: Authorized<Capture>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, EpcisProblem> {
    let (content_type, syntax) = media_type(&headers)?;
    let bytes = read_body(&state, &headers, body).await?;
    check_syntax(&bytes, syntax)?;
    let document = match syntax {
        epcis::Syntax::JsonLd => wrap_json_event(&bytes)?,
        epcis::Syntax::Xml => bytes,
    };
    // One event, decoded before anything is stored, to name its ID and refuse a list.
    let decoded = epcis::decode_with(
        &document,
        &options_for(&state, ErrorBehaviour::Rollback).limits,
    )
    .map_err(|e| {
        EpcisProblem::new(
            EpcisException::Validation,
            StatusCode::BAD_REQUEST,
            e.to_string(),
        )
    })?;
    let [event] = decoded.events.as_slice() else {
        return Err(EpcisProblem::new(
            EpcisException::Validation,
            StatusCode::BAD_REQUEST,
            format!(
                "POST /epcis/events takes exactly one event; this body holds {}: use POST \
                 /epcis/capture for documents",
                decoded.events.len()
            ),
        ));
    };
    let hash = epcis::event_hash_id_ignoring(event, &decoded.hash_ignore);
    let event_id = event.event_id.clone().unwrap_or(hash);
    let principal = auth.principal().id.clone();
    let actor = Actor::Principal(principal.clone());
    let options = options_for(&state, ErrorBehaviour::Rollback);
    let result = capture::capture(
        &state.db,
        &actor,
        principal.as_str(),
        document,
        content_type,
        &options,
    )
    .await;
    state.metrics.capture_finished(&result);
    let report = result.map_err(|e| match e {
        CaptureError::Refused(refusals) => EpcisProblem::new(
            EpcisException::Validation,
            StatusCode::BAD_REQUEST,
            refusals
                .first()
                .map_or_else(|| "refused".to_owned(), |r| r.detail.clone()),
        ),
        CaptureError::Storage(e) => EpcisProblem::internal(e),
    })?;
    let location = format!("/epcis/events/{}", path_segment(&event_id));
    if report.new == 0 {
        return Err(EpcisProblem::new(
            EpcisException::ResourceAlreadyExists,
            StatusCode::CONFLICT,
            format!("the event is stored already, at {location}"),
        ));
    }
    let mut response = StatusCode::CREATED.into_response();
    let headers = response.headers_mut();
    limit_headers(&state, headers);
    if let Ok(v) = HeaderValue::from_str(&location) {
        headers.insert(header::LOCATION, v);
    }
    Ok(response)
}

/// A bare JSON-LD event (`EPCIS-Document-Event`: an event object, with or without its own
/// `@context`) becomes a one-event document; a whole document passes as it is.
fn wrap_json_event(bytes: &Bytes) -> Result<Bytes, EpcisProblem> {
    let bad = |detail: String| {
        EpcisProblem::new(EpcisException::Validation, StatusCode::BAD_REQUEST, detail)
    };
    let mut value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| bad(format!("the body is not JSON: {e}")))?;
    let serde_json::Value::Object(event) = &mut value else {
        return Err(bad("the body must be a JSON object: one EPCIS event".into()));
    };
    if event.get("type").and_then(|t| t.as_str()) == Some("EPCISDocument") {
        return Ok(bytes.clone());
    }
    let context = event.remove("@context").unwrap_or_else(|| {
        serde_json::json!("https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld")
    });
    let document = serde_json::json!({
        "@context": context,
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": now_text(),
        "epcisBody": {"eventList": [value]},
    });
    Ok(Bytes::from(document.to_string()))
}
