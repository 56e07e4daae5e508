//! Verification on the partner listener in the GS1 Lightweight Messaging (VRS) wire format
//! (`../shared/reference/dscsa.md` §1): `GET /vrs/gtin/{gtin}/lot/{lot}/ser/{ser}` and
//! `GET /vrs/checkConnectivity`.
//!
//! HTTP codes as the guideline gives them: 200 for verified and not verified alike; 400 for a
//! malformed request (the problem body names the field); 401/403 for authentication and
//! permission, including a `reqGLN` that is not one of the presenting partner's GLNs (no
//! confused deputy: a partner cannot ask in another party's name); 404 for a GTIN this
//! responder does not answer for; 503 when the responder GLN is not configured. Lots and
//! serials arrive percent-encoded in the path (`/`, `%`, `&`, `+` are legal in both) and are
//! decoded once, by the router's path extractor; a `+` in a path is a plus sign.

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use partners::PrincipalKind;

use super::openapi::{JSON, Operation, Route, Tag, schema};
use crate::auth::{AppState, Authorized, Verify};
use crate::error::{ApiError, Code};
use crate::services::verify::{self, RawRequest, Request, Requester, VerifyError};

const REQ_GLN: &str = "GLN of the requesting location: required of a trading partner and one of \
    the GLNs registered for its certificate (403 `requester_gln_not_bound` otherwise); staff and \
    systems may omit it.";
const VERSION: &str = "GS1US-Version of the request, e.g. `1.3.0`; the answer's shape is the \
    same for 1.0.2 to 1.3.";

/// The routes.
pub(super) fn routes() -> Vec<Route> {
    vec![
        Route::new("/vrs/gtin/{gtin}/lot/{lot}/ser/{ser}").get(
            verify_handler,
            Operation::new(
                "vrsVerify",
                Tag::Verification,
                "Verify a product identifier",
            )
            .describe(
                "Answers whether GTIN, lot, serial and expiry match a package this \
                     responder commissioned (GS1 Lightweight Messaging response). Verified and \
                     not verified are both 200. Lot and serial are percent-encoded in the path.",
            )
            .needs::<Verify>()
            .path_param("gtin", "GTIN-14.")
            .path_param("lot", "Lot or batch number (percent-encoded).")
            .path_param("ser", "Serial number (percent-encoded).")
            .query_required("exp", "Expiry date as YYMMDD (day 00 for the whole month).")
            .query("reqGLN", REQ_GLN)
            .query("corrUUID", "Correlation id, echoed in the answer.")
            .query(
                "context",
                "Reason: `dscsaSaleableReturn` or `dscsaExceptionVerification`.",
            )
            .query(
                "linkType",
                "`verificationService` (or `gs1:verificationService`).",
            )
            .query("ctrlPossessAtt", "`true` or `false`.")
            .query("email", "Requester contact, at most 254 characters.")
            .query("telephone", "Requester contact, at most 254 characters.")
            .header("GS1US-Version", VERSION)
            .reply(
                200,
                "The answer: `data.verified`, and why not.",
                JSON,
                Some(schema::<verify::Answer>),
            )
            .problem(400, "A malformed field; the detail names it.")
            .problem(
                404,
                "`gtin_not_answered`: this responder does not answer for the GTIN.",
            ),
        ),
        Route::new("/vrs/checkConnectivity").get(
            check_connectivity,
            Operation::new(
                "vrsCheckConnectivity",
                Tag::Verification,
                "Check that this responder answers for a GTIN",
            )
            .needs::<Verify>()
            .query_required("gtin", "GTIN-14 to check the responder for.")
            .query("reqGLN", REQ_GLN)
            .header("GS1US-Version", VERSION)
            .reply(200, "`{\"responderGLN\": …}`.", JSON, None)
            .problem(400, "A malformed field; the detail names it.")
            .problem(
                404,
                "`gtin_not_answered`: this responder does not answer for the GTIN.",
            ),
        ),
    ]
}

/// The query parameters the binding defines; others are ignored, as a Digital Link resolver
/// would.
#[derive(Debug, Default)]
struct Params {
    exp: Option<String>,
    link_type: Option<String>,
    context: Option<String>,
    req_gln: Option<String>,
    corr_uuid: Option<String>,
    gtin: Option<String>,
}

fn params(raw: Option<&str>) -> Result<Params, ApiError> {
    let pairs = crate::services::query::params::pairs(raw)
        .map_err(|e| ApiError::new(Code::InvalidParameter, e.to_string()))?;
    let mut p = Params::default();
    for (k, v) in pairs {
        let slot = match k.as_str() {
            "exp" => &mut p.exp,
            "linkType" => &mut p.link_type,
            "context" => &mut p.context,
            "reqGLN" => &mut p.req_gln,
            "corrUUID" => &mut p.corr_uuid,
            "gtin" => &mut p.gtin,
            "ctrlPossessAtt" => {
                if !matches!(v.as_str(), "true" | "false") {
                    return Err(invalid(
                        "ctrlPossessAtt",
                        &format!("{v:?} is not true or false"),
                    ));
                }
                continue;
            }
            "email" | "telephone" => {
                if v.chars().count() > 254 || v.chars().any(char::is_control) {
                    return Err(invalid(
                        if k == "email" { "email" } else { "telephone" },
                        "at most 254 characters, no control characters",
                    ));
                }
                continue;
            }
            _ => continue,
        };
        if slot.replace(v).is_some() {
            return Err(ApiError::new(
                Code::InvalidParameter,
                format!("{k}: given more than once"),
            ));
        }
    }
    if let Some(link) = &p.link_type
        && link != "verificationService"
        && link != "gs1:verificationService"
    {
        return Err(invalid(
            "linkType",
            &format!("{link:?}: this endpoint serves only verificationService"),
        ));
    }
    Ok(p)
}

fn invalid(field: &str, message: &str) -> ApiError {
    ApiError::new(Code::InvalidParameter, format!("{field}: {message}"))
}

/// The `reqGLN` rule: a partner must name one of its own GLNs; the home organisation's staff
/// and systems may omit it or name the organisation's GLN.
fn check_req_gln(
    auth: &Authorized<Verify>,
    state: &AppState,
    req_gln: Option<&str>,
) -> Result<(), ApiError> {
    let principal = auth.principal();
    match (&principal.kind, req_gln) {
        (PrincipalKind::Partner(_), None) => Err(invalid(
            "reqGLN",
            "required: the GLN of the requesting location, one of those registered for your certificate",
        )),
        (PrincipalKind::Partner(record), Some(gln)) => {
            if record.glns.iter().any(|g| g.as_str() == gln) {
                Ok(())
            } else {
                Err(ApiError::new(
                    Code::RequesterGlnNotBound,
                    format!(
                        "reqGLN {gln} is not one of the GLNs registered for principal {}",
                        principal.id
                    ),
                ))
            }
        }
        (_, None) => Ok(()),
        (_, Some(gln)) if state.organisation.gln.as_deref() == Some(gln) => Ok(()),
        (_, Some(gln)) => Err(ApiError::new(
            Code::RequesterGlnNotBound,
            format!("reqGLN {gln} is not the home organisation's GLN"),
        )),
    }
}

fn verify_error(e: VerifyError) -> ApiError {
    match e {
        VerifyError::NotConfigured => ApiError::new(Code::ServiceUnavailable, e.to_string()),
        VerifyError::UnknownGtin(_) => ApiError::new(Code::GtinNotAnswered, e.to_string()),
        VerifyError::Storage(s) => ApiError::internal(s),
    }
}

fn json(body: &impl serde::Serialize) -> Response {
    let mut response = axum::Json(body).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache"),
    );
    response
}

/// `GS1US-Version`, when sent, must look like a version (`1.3.0`); it is not otherwise
/// interpreted: the answer's shape is the same for 1.0.2 to 1.3.
fn check_version(headers: &HeaderMap) -> Result<(), ApiError> {
    if let Some(v) = headers.get("gs1us-version") {
        let ok = v.to_str().is_ok_and(|s| {
            !s.is_empty()
                && s.len() <= 16
                && s.split('.')
                    .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        });
        if !ok {
            return Err(invalid("GS1US-Version", "expected a version such as 1.3.0"));
        }
    }
    Ok(())
}

async fn verify_handler(
    auth: Authorized<Verify>,
    State(state): State<AppState>,
    Path((gtin, lot, ser)): Path<(String, String, String)>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    check_version(&headers)?;
    let p = params(raw.as_deref())?;
    let exp = p.exp.as_deref().ok_or_else(|| {
        invalid(
            "exp",
            "required: the expiry date as YYMMDD (day 00 for the whole month)",
        )
    })?;
    let request = Request::new(&RawRequest {
        gtin: &gtin,
        lot: Some(&lot),
        serial: &ser,
        exp: Some(exp),
        req_gln: p.req_gln.as_deref(),
        context: p.context.as_deref(),
        corr_uuid: p.corr_uuid.as_deref(),
    })
    .map_err(|e| ApiError::new(Code::InvalidParameter, e.to_string()))?;
    check_req_gln(&auth, &state, request.req_gln())?;
    let requester = Requester {
        id: auth.principal().id.to_string(),
        channel: "rest",
    };
    let (answer, log) = verify::answer(
        &state.ledger_reads,
        &state.organisation,
        &requester,
        &request,
    )
    .await
    .map_err(verify_error)?;
    let mut response = json(&answer);
    // The log entry commits with the request's audit record (see `audit_layer`).
    response
        .extensions_mut()
        .insert(super::audit_layer::AuditCompanions(vec![
            crate::services::audit_writer::Companion::Verification(log),
        ]));
    Ok(response)
}

async fn check_connectivity(
    auth: Authorized<Verify>,
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    check_version(&headers)?;
    let p = params(raw.as_deref())?;
    let gtin = p
        .gtin
        .as_deref()
        .ok_or_else(|| invalid("gtin", "required: the GTIN-14 to check the responder for"))?;
    let gtin = epcis::id::Gtin::parse(gtin).map_err(|e| invalid("gtin", &e.to_string()))?;
    let req_gln = p
        .req_gln
        .as_deref()
        .map(|g| {
            g.parse::<partners::Gln>()
                .map(|g| g.to_string())
                .map_err(|e| invalid("reqGLN", &e.to_string()))
        })
        .transpose()?;
    check_req_gln(&auth, &state, req_gln.as_deref())?;
    let responder = state
        .organisation
        .gln
        .clone()
        .ok_or_else(|| verify_error(VerifyError::NotConfigured))?;
    if !verify::answers_for(&state.db, &state.organisation, &gtin).await? {
        return Err(verify_error(VerifyError::UnknownGtin(
            gtin.as_str().to_owned(),
        )));
    }
    Ok(json(&serde_json::json!({ "responderGLN": responder })))
}
