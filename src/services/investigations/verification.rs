//! The verification step of a case: its packages (every serial it names, a sample of its lots)
//! verified through the VRS verification service, as any requester's would be, and what they
//! found kept on the timeline.

use epcis::id::DigitalLink;
use serde::Serialize;

use super::step::{Step, conflict, finish, load, status_of};
use super::views::CaseView;
use super::{InvestigationError, MAX_SERIALS, Status};
use crate::config::OrganisationSettings;
use crate::services::Actor;
use crate::storage::investigations::{self as store, ItemRow};
use crate::storage::{Db, now_text};

/// Most verifications one `verify` step runs.
pub const MAX_VERIFICATIONS: usize = 100;

/// What one verification of the case found, as the timeline keeps it.
#[derive(Debug, Clone, Serialize)]
struct Verified {
    gtin: String,
    serial: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    lot: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    verified: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    failure_reason: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    additional_info: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    corr_uuid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// The packages a verification step checks: every serial the case names, and of its lots a
/// sample of the larger of 3 packages or 10 % (the practice `dscsa.md` §3.2 cites, marked
/// unconfirmed there), at most [`MAX_VERIFICATIONS`] in all, in key order.
fn verification_targets(
    items: &[ItemRow],
    serials: &[store::SerialRow],
) -> Vec<(String, String, Option<String>)> {
    let mut out: Vec<(String, String, Option<String>)> = items
        .iter()
        .filter_map(|i| Some((i.gtin.clone(), i.serial.clone()?, None)))
        .collect();
    for lot in items.iter().filter(|i| i.kind == "lot") {
        let of_lot: Vec<&store::SerialRow> = serials
            .iter()
            .filter(|s| s.gtin.as_deref() == Some(lot.gtin.as_str()) && s.lot == lot.lot)
            .collect();
        let sample = of_lot.len().div_ceil(10).max(3);
        for s in of_lot.into_iter().take(sample) {
            let serial = DigitalLink::parse(&s.epc)
                .ok()
                .and_then(|dl| dl.serial().map(str::to_owned));
            if let Some(serial) = serial {
                out.push((lot.gtin.clone(), serial, lot.lot.clone()));
            }
        }
    }
    out.truncate(MAX_VERIFICATIONS);
    out
}

/// Verifies the case's packages through [`crate::services::verify::verify`] (the same
/// answer a VRS requester gets, logged in `verifications` with the case's id) and records what
/// they found on the timeline. WHY the log rows are written outside the case's transaction:
/// the verification service logs each answer as it makes it, as it does for every requester;
/// the timeline entry and the audit record then commit together.
pub async fn verify_case(
    db: &Db,
    actor: &Actor,
    org: &OrganisationSettings,
    key: &str,
) -> Result<CaseView, InvestigationError> {
    use crate::services::verify::{self, RawRequest, Request, Requester, VerifyError};
    let (c, targets) = {
        let mut conn = db.pool().acquire().await?;
        let c = load(&mut conn, key).await?;
        if status_of(&c)? == Status::Closed {
            return Err(conflict(&c, "a closed case is not verified again"));
        }
        let items = store::items(&mut conn, c.id).await?;
        let serials = store::serials(&mut conn, c.id, MAX_SERIALS).await?;
        (c, verification_targets(&items, &serials))
    };
    if org.gln.is_none() {
        return Err(conflict(
            &c,
            "verification needs the responder GLN: set `gln` in the [organisation] section",
        ));
    }
    let requester = match actor {
        Actor::Principal(id) => Requester {
            id: id.to_string(),
            channel: "rest",
        },
        Actor::Cli { os_user } => Requester {
            id: format!("cli:{os_user}"),
            channel: "cli",
        },
        Actor::Demo => Requester {
            id: "demo".into(),
            channel: "cli",
        },
    };
    let mut results = Vec::with_capacity(targets.len());
    for (gtin, serial, lot) in targets {
        let mut v = Verified {
            gtin: gtin.clone(),
            serial: serial.clone(),
            lot: lot.clone(),
            verified: None,
            failure_reason: None,
            additional_info: None,
            corr_uuid: None,
            error: None,
        };
        let request = Request::new(&RawRequest {
            gtin: &gtin,
            lot: lot.as_deref(),
            serial: &serial,
            context: Some("dscsaExceptionVerification"),
            ..RawRequest::default()
        });
        match request {
            Err(e) => v.error = Some(e.to_string()),
            Ok(request) => match verify::verify(db, org, &requester, &request, Some(c.id)).await {
                Ok(answer) => {
                    v.verified = Some(answer.data.verified);
                    v.failure_reason = answer.data.verification_failure_reason.map(|r| r.as_str());
                    v.additional_info = answer.data.additional_info.map(|a| a.as_str());
                    v.corr_uuid = Some(answer.corr_uuid);
                }
                Err(VerifyError::Storage(e)) => return Err(e.into()),
                Err(e) => v.error = Some(e.to_string()),
            },
        }
        results.push(v);
    }
    let verified = results.iter().filter(|r| r.verified == Some(true)).count();
    let failed: Vec<String> = results
        .iter()
        .filter(|r| r.verified == Some(false) || r.error.is_some())
        .map(|r| {
            let why = r
                .failure_reason
                .or(r.additional_info)
                .map(str::to_owned)
                .or_else(|| r.error.clone())
                .unwrap_or_default();
            format!("{} ({why})", r.serial)
        })
        .collect();
    let summary = if failed.is_empty() {
        format!("{verified} of {} package(s) verified", results.len())
    } else {
        format!(
            "{verified} of {} package(s) verified; not verified: {}",
            results.len(),
            failed.join(", ")
        )
    };
    let mut tx = db.begin_write().await?;
    let mut c = load(&mut tx, &c.id.to_string()).await?;
    let step = Step {
        action: "verification",
        audit: "investigations verify",
        details: serde_json::json!({"summary": summary, "results": results}),
        event_hash: None,
    };
    finish(db, tx, actor, &mut c, &now_text(), step).await
}
