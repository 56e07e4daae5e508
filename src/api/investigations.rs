//! Investigations of suspect and illegitimate product, for compliance staff
//! (`Authorized<Investigate>`: a trading partner gets 403 on every route): open, list, show,
//! quarantine, notes, verifications, determination, FDA notification, termination, close, and the Form FDA
//! 3911 data as JSON or a printable HTML page. Thin adapters over
//! [`crate::services::investigations`].
//!
//! Request bodies are JSON objects with unknown fields refused; a bad field is a 400 problem
//! naming it, a step the case's state does not allow is a 409 saying what must come first, an
//! unknown case a 404. `{id}` is the case's number or its reference (`INV-2026-0001`).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use schemars::JsonSchema;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::openapi::{JSON, Operation, Route, SchemaFn, Tag, schema};
use crate::auth::{AppState, Authorized, Investigate};
use crate::error::{ApiError, Code};
use crate::services::Actor;
use crate::services::investigations::{
    self as svc, CaseView, Classification, Determination, InvestigationError, NewDetermination,
    NewInvestigation, Product, Reason, Status, Termination, form3911,
};

const ID: &str = "The case's number or its reference (`INV-2026-0001`).";
const CASE: &str = "The whole case: products, events, notes, verifications, determination, \
    FDA clock.";

/// An operation on one case (`{id}`), answering the case (or `answer`) as JSON.
fn on_case(id: &'static str, summary: &'static str, body: Option<SchemaFn>) -> Operation {
    let op = Operation::new(id, Tag::Investigations, summary)
        .needs::<Investigate>()
        .path_param("id", ID);
    let op = match body {
        Some(schema) => op.body(JSON, Some(schema), "Unknown fields are refused."),
        None => op,
    };
    op.reply(200, CASE, JSON, None)
        .problem(
            400,
            "A malformed case id or body; the detail names the field.",
        )
        .problem(404, "No such case.")
}

/// The investigation routes.
pub(super) fn routes() -> Vec<Route> {
    let step = |op: Operation| {
        op.problem(
            409,
            "The case's state does not allow this step yet; the detail says what must come first.",
        )
    };
    vec![
        Route::new("/investigations")
            .get(
                list,
                Operation::new("investigationsList", Tag::Investigations, "Cases, newest first")
                    .needs::<Investigate>()
                    .query("status", "Only cases in this status.")
                    .query_integer("limit", "At most this many, 1 to 500 (default 100).")
                    .reply(200, "Case summaries.", JSON, Some(schema::<Vec<svc::Summary>>))
                    .problem(400, "A malformed parameter."),
            )
            .post(
                open,
                Operation::new("investigationOpen", Tag::Investigations, "Open a case")
                    .describe(
                        "Opens an investigation of the products given as serial identifiers \
                         (EPC URNs or Digital Links), GTIN + serial pairs, or GTIN + lot pairs.",
                    )
                    .needs::<Investigate>()
                    .body(JSON, Some(schema::<OpenBody>), "Unknown fields are refused.")
                    .reply(201, CASE, JSON, None)
                    .with_header("Location", "The case's URL.")
                    .problem(400, "A malformed body; the detail names the field."),
            ),
        Route::new("/investigations/{id}")
            .get(show, on_case("investigationShow", "One case", None)),
        Route::new("/investigations/{id}/quarantine").post(
            quarantine,
            step(on_case("investigationQuarantine", "Quarantine the case's products", None)
                .describe("Captures the hold event and flags the products in the ledger.")),
        ),
        Route::new("/investigations/{id}/notes").post(
            note,
            on_case("investigationNote", "Add a note", Some(schema::<NoteBody>)),
        ),
        Route::new("/investigations/{id}/verifications").post(
            verify,
            step(on_case("investigationVerify", "Verify the case's packages", None).describe(
                "Verifies the case's serials and a sample of its lots and attaches the answers.",
            )),
        ),
        Route::new("/investigations/{id}/determination").post(
            determine,
            step(on_case(
                "investigationDetermine",
                "Record the determination",
                Some(schema::<DeterminationBody>),
            )),
        ),
        Route::new("/investigations/{id}/fda-notification").post(
            notify_fda,
            step(on_case(
                "investigationNotifyFda",
                "Record FDA's incident number",
                Some(schema::<FdaBody>),
            )),
        ),
        Route::new("/investigations/{id}/termination").post(
            terminate,
            step(on_case(
                "investigationTerminate",
                "Request, then confirm, termination of the notification",
                Some(schema::<TerminationBody>),
            ).describe(
                "`{\"action\":\"request\",\"reason\":…}` after FDA consultation, then \
                 `{\"action\":\"confirm\"}` when FDA agrees.",
            )),
        ),
        Route::new("/investigations/{id}/close").post(
            close,
            step(on_case("investigationClose", "Close the case", Some(schema::<CloseBody>))),
        ),
        Route::new("/investigations/{id}/form-3911").get(
            form,
            Operation::new("investigationForm3911", Tag::Investigations, "Form FDA 3911 data")
                .describe(
                    "The Form FDA 3911 data as JSON, or a printable HTML page with \
                     `?format=html` or `Accept: text/html`.",
                )
                .needs::<Investigate>()
                .path_param("id", ID)
                .query("format", "`json` or `html`.")
                .reply(200, "The form's data, or the page.", &["application/json", "text/html"], None)
                .problem(400, "A malformed parameter.")
                .problem(404, "No such case."),
        ),
    ]
}

impl From<InvestigationError> for ApiError {
    fn from(e: InvestigationError) -> Self {
        match e {
            InvestigationError::Invalid { .. } => Self::new(Code::InvalidParameter, e.to_string()),
            InvestigationError::NotFound(_) => Self::new(Code::NotFound, e.to_string()),
            InvestigationError::Conflict(_) | InvestigationError::EventRefused { .. } => {
                Self::new(Code::Conflict, e.to_string())
            }
            InvestigationError::Storage(e) => Self::internal(e),
        }
    }
}

/// Parses a JSON body (an empty body reads as `{}`), refusing it with a problem naming what is
/// wrong (serde names the field: "missing field `reason`", "unknown variant `x`, expected …").
fn body<T: DeserializeOwned>(bytes: &Bytes) -> Result<T, ApiError> {
    let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        bytes
    };
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::new(Code::InvalidParameter, format!("request body: {e}")))
}

fn actor(auth: &Authorized<Investigate>) -> Actor {
    Actor::Principal(auth.principal().id.clone())
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct GtinSerial {
    gtin: String,
    serial: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct GtinLot {
    gtin: String,
    lot: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct OpenBody {
    reason: Reason,
    description: String,
    #[serde(default)]
    serials: Vec<String>,
    #[serde(default)]
    products: Vec<GtinSerial>,
    #[serde(default)]
    lots: Vec<GtinLot>,
}

/// `POST /investigations`: 201, the case, and its `Location`.
async fn open(
    State(state): State<AppState>,
    auth: Authorized<Investigate>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let b: OpenBody = body(&bytes)?;
    let mut products = Vec::new();
    for (i, s) in b.serials.iter().enumerate() {
        products.push(Product::parse_identifier(&format!("serials[{i}]"), s)?);
    }
    for (i, p) in b.products.iter().enumerate() {
        products.push(Product::from_gtin_serial(
            &format!("products[{i}]"),
            &p.gtin,
            &p.serial,
        )?);
    }
    for (i, l) in b.lots.iter().enumerate() {
        products.push(Product::from_gtin_lot(
            &format!("lots[{i}]"),
            &l.gtin,
            &l.lot,
        )?);
    }
    let case = svc::open(
        &state.db,
        &actor(&auth),
        NewInvestigation {
            reason: b.reason,
            description: b.description,
            products,
        },
    )
    .await?;
    let mut response = (StatusCode::CREATED, Json(&case)).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("/investigations/{}", case.id)) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    Ok(response)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    status: Option<String>,
    limit: Option<i64>,
}

/// `GET /investigations?status=..&limit=..`: newest first.
async fn list(
    State(state): State<AppState>,
    _auth: Authorized<Investigate>,
    Query(q): Query<ListQuery>,
) -> Result<Response, ApiError> {
    let status = q
        .status
        .as_deref()
        .map(|s| {
            Status::parse(s).ok_or_else(|| {
                ApiError::new(
                    Code::InvalidParameter,
                    format!("status: {s:?} is not one of {}", Status::choices()),
                )
            })
        })
        .transpose()?;
    let cases = svc::list(&state.db, status, q.limit.unwrap_or(100)).await?;
    Ok(Json(cases).into_response())
}

/// `GET /investigations/{id}`.
async fn show(
    State(state): State<AppState>,
    _auth: Authorized<Investigate>,
    Path(id): Path<String>,
) -> Result<Json<CaseView>, ApiError> {
    Ok(Json(svc::show(&state.db, &id).await?))
}

/// `POST /investigations/{id}/quarantine`: the hold event, and the ledger flags.
async fn quarantine(
    State(state): State<AppState>,
    auth: Authorized<Investigate>,
    Path(id): Path<String>,
) -> Result<Json<CaseView>, ApiError> {
    Ok(Json(
        svc::quarantine(&state.db, &actor(&auth), &state.organisation, &id).await?,
    ))
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct NoteBody {
    text: String,
}

/// `POST /investigations/{id}/notes`.
async fn note(
    State(state): State<AppState>,
    auth: Authorized<Investigate>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Result<Json<CaseView>, ApiError> {
    let b: NoteBody = body(&bytes)?;
    Ok(Json(
        svc::note(&state.db, &actor(&auth), &id, &b.text).await?,
    ))
}

/// `POST /investigations/{id}/verifications`: verifies the case's packages (its serials, a
/// sample of its lots) and attaches the answers.
async fn verify(
    State(state): State<AppState>,
    auth: Authorized<Investigate>,
    Path(id): Path<String>,
) -> Result<Json<CaseView>, ApiError> {
    Ok(Json(
        svc::verify_case(&state.db, &actor(&auth), &state.organisation, &id).await?,
    ))
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct DeterminationBody {
    determination: Determination,
    classification: Option<Classification>,
    note: Option<String>,
}

/// `POST /investigations/{id}/determination`.
async fn determine(
    State(state): State<AppState>,
    auth: Authorized<Investigate>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Result<Json<CaseView>, ApiError> {
    let b: DeterminationBody = body(&bytes)?;
    let d = NewDetermination {
        determination: b.determination,
        classification: b.classification,
        note: b.note,
    };
    Ok(Json(
        svc::determine(&state.db, &actor(&auth), &state.organisation, &id, d).await?,
    ))
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct FdaBody {
    incident_number: String,
    notified_at: Option<String>,
}

/// `POST /investigations/{id}/fda-notification`: FDA's incident number.
async fn notify_fda(
    State(state): State<AppState>,
    auth: Authorized<Investigate>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Result<Json<CaseView>, ApiError> {
    let b: FdaBody = body(&bytes)?;
    Ok(Json(
        svc::notify_fda(
            &state.db,
            &actor(&auth),
            &id,
            &b.incident_number,
            b.notified_at.as_deref(),
        )
        .await?,
    ))
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
enum TerminationAction {
    Request,
    Confirm,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct TerminationBody {
    action: TerminationAction,
    reason: Option<String>,
}

/// `POST /investigations/{id}/termination`: `{"action":"request","reason":..}` after FDA
/// consultation, then `{"action":"confirm"}` when FDA agrees.
async fn terminate(
    State(state): State<AppState>,
    auth: Authorized<Investigate>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Result<Json<CaseView>, ApiError> {
    let b: TerminationBody = body(&bytes)?;
    let step = match b.action {
        TerminationAction::Request => Termination::Request {
            reason: b.reason.ok_or_else(|| {
                ApiError::new(
                    Code::InvalidParameter,
                    "reason: a termination request says why notification is no longer \
                     necessary (Form FDA 3911 item 18)",
                )
            })?,
        },
        TerminationAction::Confirm => Termination::Confirm,
    };
    Ok(Json(
        svc::terminate(&state.db, &actor(&auth), &id, step).await?,
    ))
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct CloseBody {
    note: Option<String>,
}

/// `POST /investigations/{id}/close`.
async fn close(
    State(state): State<AppState>,
    auth: Authorized<Investigate>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Result<Json<CaseView>, ApiError> {
    let b: CloseBody = body(&bytes)?;
    Ok(Json(
        svc::close(&state.db, &actor(&auth), &id, b.note.as_deref()).await?,
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FormQuery {
    format: Option<String>,
}

/// `GET /investigations/{id}/form-3911`: JSON, or the HTML page with `?format=html` or
/// `Accept: text/html`.
async fn form(
    State(state): State<AppState>,
    _auth: Authorized<Investigate>,
    Path(id): Path<String>,
    Query(q): Query<FormQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let html = match q.format.as_deref() {
        Some("html") => true,
        Some("json") => false,
        Some(other) => {
            return Err(ApiError::new(
                Code::InvalidParameter,
                format!("format: {other:?} is not one of json | html"),
            ));
        }
        None => headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("text/html")),
    };
    let data = form3911::build(&state.db, &state.organisation, &id).await?;
    if !html {
        return Ok(Json(data).into_response());
    }
    let mut response = form3911::html(&data).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    // Belt and braces beside the page's own meta tag: nothing runs, nothing loads.
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Ok(response)
}
