//! `GET /audit` and `GET /audit/verify`: the trail for auditors (staff with the auditor role;
//! the `ReadAudit` scope). Reading the trail is itself recorded, like every request.

use axum::Json;
use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};

use super::openapi::{JSON, Operation, Route, Tag, schema};
use crate::audit::AuditRecord;
use crate::auth::{AppState, Authorized, ReadAudit};
use crate::error::{ApiError, Code};
use crate::storage::audit::{self as store, Filter};

/// Default and largest page.
const PER_PAGE: i64 = 100;
const MAX_PER_PAGE: i64 = 1000;

pub(super) fn routes() -> Vec<Route> {
    vec![
        Route::new("/audit").get(
            list,
            Operation::new("auditList", Tag::Audit, "Audit records, oldest first")
                .describe(
                    "A page of the audit trail; `next` links to the following page when this \
                     one is full. Reading the trail is itself recorded.",
                )
                .needs::<ReadAudit>()
                .query("from", "Earliest time (inclusive), RFC 3339.")
                .query("to", "Latest time (exclusive), RFC 3339.")
                .query("actor", "Only records of this principal id.")
                .query(
                    "action",
                    "Only records of this action (e.g. `GET /whoami`).",
                )
                .query_integer("after", "Continue after this sequence number.")
                .query_integer("perPage", "Page size, 1 to 1000 (default 100).")
                .reply(200, "A page of records.", JSON, Some(schema::<Page>))
                .problem(400, "A parameter is malformed or unknown."),
        ),
        Route::new("/audit/verify").get(
            verify,
            Operation::new("auditVerify", Tag::Audit, "Verify the audit trail's chain")
                .describe(
                    "Recomputes the hash chain and checks the signed checkpoints; `intact` says \
                     whether the trail is untouched, else where it breaks.",
                )
                .needs::<ReadAudit>()
                .reply(200, "The verification.", JSON, Some(schema::<Verification>)),
        ),
    ]
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ListQuery {
    /// Earliest time (inclusive), RFC 3339.
    from: Option<String>,
    /// Latest time (exclusive), RFC 3339.
    to: Option<String>,
    actor: Option<String>,
    action: Option<String>,
    /// Continue after this sequence number (the `next` link carries it).
    after: Option<i64>,
    per_page: Option<i64>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
struct Page {
    records: Vec<AuditRecord>,
    /// The next page, when this one is full.
    next: Option<String>,
}

fn check_time(name: &str, value: Option<&str>) -> Result<(), ApiError> {
    if let Some(v) = value
        && time::OffsetDateTime::parse(v, &time::format_description::well_known::Rfc3339).is_err()
    {
        return Err(ApiError::new(
            Code::InvalidParameter,
            format!("{name}={v:?} is not an RFC 3339 time such as 2026-11-21T00:00:00Z"),
        ));
    }
    Ok(())
}

async fn list(
    _auditor: Authorized<ReadAudit>,
    State(state): State<AppState>,
    Query(q): Query<ListQuery>,
) -> Result<Json<Page>, ApiError> {
    check_time("from", q.from.as_deref())?;
    check_time("to", q.to.as_deref())?;
    let per_page = q.per_page.unwrap_or(PER_PAGE);
    if !(1..=MAX_PER_PAGE).contains(&per_page) {
        return Err(ApiError::new(
            Code::InvalidParameter,
            format!("perPage={per_page}: use 1 to {MAX_PER_PAGE}"),
        ));
    }
    let filter = Filter {
        from_seq: q.after.map(|a| a + 1),
        to_seq: None,
        from_time: q.from.clone(),
        to_time: q.to.clone(),
        actor: q.actor.clone(),
        action: q.action.clone(),
    };
    let mut conn = state
        .db
        .pool()
        .acquire()
        .await
        .map_err(ApiError::internal)?;
    let records = store::records(&mut conn, &filter, per_page).await?;
    let next = (records.len() as i64 == per_page)
        .then(|| records.last().map(|r| r.seq))
        .flatten()
        .map(|last| {
            let mut link = format!("/audit?after={last}&perPage={per_page}");
            for (k, v) in [
                ("from", &q.from),
                ("to", &q.to),
                ("actor", &q.actor),
                ("action", &q.action),
            ] {
                if let Some(v) = v {
                    link.push_str(&format!("&{k}={}", encode(v)));
                }
            }
            link
        });
    Ok(Json(Page { records, next }))
}

/// Percent-encodes a query value (RFC 3986 unreserved characters pass).
fn encode(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
struct Verification {
    intact: bool,
    records: Option<u64>,
    checkpoints: Option<u64>,
    head_hash: Option<String>,
    first_bad_seq: Option<i64>,
    problem: Option<&'static str>,
    detail: Option<String>,
}

async fn verify(
    _auditor: Authorized<ReadAudit>,
    State(state): State<AppState>,
) -> Result<Json<Verification>, ApiError> {
    let result = crate::services::audit::verify(&state.db, 1, &state.audit_public_key).await?;
    Ok(Json(match result {
        Ok(s) => Verification {
            intact: true,
            records: Some(s.records),
            checkpoints: Some(s.checkpoints),
            head_hash: Some(s.head_hash),
            first_bad_seq: None,
            problem: None,
            detail: None,
        },
        Err(b) => Verification {
            intact: false,
            records: None,
            checkpoints: None,
            head_hash: None,
            first_bad_seq: Some(b.seq),
            problem: Some(b.kind.as_str()),
            detail: Some(b.detail),
        },
    }))
}
