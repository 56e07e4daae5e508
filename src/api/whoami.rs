//! `GET /whoami`: the caller's principal, certificate, permissions and visibility. Partners use
//! it to debug onboarding: which certificate the server saw, which binding matched, what they
//! will be able to see.

use axum::Json;
use partners::{Action, PeerIdentity, Principal};
use serde::Serialize;

use super::openapi::{JSON, Operation, Route, Tag};
use crate::auth::{Authorized, Identify};

pub(super) fn routes() -> Vec<Route> {
    vec![
        Route::new("/whoami").get(
            whoami,
            Operation::new(
                "whoami",
                Tag::Identity,
                "The caller's principal and permissions",
            )
            .describe(
                "The principal the presented certificate is bound to, the certificate the \
                     server saw and the binding that matched, the principal's permissions and \
                     what it can see. For debugging onboarding.",
            )
            .needs::<Identify>()
            .reply(
                200,
                "`principal`, `certificate`, `permissions` (names as in \
                     `x-dscsa-permission`), `visibility`.",
                JSON,
                None,
            ),
        ),
    ]
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

/// The wire name of `action`, as `/whoami` lists it and the OpenAPI document names it.
pub(super) fn action_name(action: Action) -> &'static str {
    ACTIONS
        .iter()
        .find(|(a, _)| *a == action)
        .map_or("unknown", |(_, name)| *name)
}

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
