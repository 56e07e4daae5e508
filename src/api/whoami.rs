//! `GET /whoami`: the caller's principal, certificate, permissions and visibility. Partners use
//! it to debug onboarding: which certificate the server saw, which binding matched, what they
//! will be able to see.

use axum::routing::get;
use axum::{Json, Router};
use partners::{Action, PeerIdentity, Principal};
use serde::Serialize;

use crate::auth::{AppState, Authorized, Identify};

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/whoami", get(whoami))
}

#[derive(Debug, Serialize)]
struct WhoAmI {
    principal: Principal,
    certificate: Certificate,
    permissions: Vec<&'static str>,
    visibility: Visibility,
}

#[derive(Debug, Serialize)]
struct Certificate {
    #[serde(flatten)]
    identity: PeerIdentity,
    binding_id: i64,
}

#[derive(Debug, Serialize)]
struct Visibility {
    #[serde(flatten)]
    policy: partners::Visibility,
    summary: String,
}

const ACTIONS: [(Action, &str); 9] = [
    (Action::Administer, "administer"),
    (Action::CaptureEvents, "capture_events"),
    (Action::Identify, "identify"),
    (Action::Investigate, "investigate"),
    (Action::QueryEvents, "query_events"),
    (Action::ReadAudit, "read_audit"),
    (Action::RecordsRequest, "records_request"),
    (Action::Trace, "trace"),
    (Action::Verify, "verify"),
];

async fn whoami(caller: Authorized<Identify>) -> Json<WhoAmI> {
    let policy = caller.visibility();
    Json(WhoAmI {
        principal: caller.principal().clone(),
        certificate: Certificate {
            identity: caller.identity().clone(),
            binding_id: caller.binding_id(),
        },
        permissions: ACTIONS
            .iter()
            .filter(|(a, _)| caller.principal().permits(*a))
            .map(|(_, name)| *name)
            .collect(),
        visibility: Visibility {
            summary: policy.summary(),
            policy,
        },
    })
}
