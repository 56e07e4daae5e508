//! The quarantine and release events of a case: an EPCIS ObjectEvent (`holding`, disposition
//! `sellable_not_accessible` or `sellable_accessible`) naming the case's serials, built as the
//! home organisation at its site ([`home_site`]) and captured through
//! [`capture::capture`] exactly as a partner's event would be (same validation, ledger update,
//! audit record). WHY these commit in a transaction of their own, before the case changes:
//! capture owns its transaction (on SQLite, the write lock); if the case change then failed, the
//! event would stand as what it is, a true observation that the product was put on hold.

use epcis::id::{Epc, Gln};
use epcis::model::{Action, Document, Event, EventKind, Location};
use sqlx::AnyConnection;

use super::step::load;
use super::{InvestigationError, MAX_SERIALS};
use crate::config::OrganisationSettings;
use crate::services::Actor;
use crate::services::capture::{self, CaptureError, CaptureOptions, HOME};
use crate::storage::investigations::{self as store, CaseRow};
use crate::storage::{Db, StorageError, now_text};

/// Case `key` and the ledger keys its hold event would name, read outside any write
/// transaction (capture takes its own), after `check` allows the step.
pub(super) async fn case_and_epcs(
    db: &Db,
    key: &str,
    check: fn(&CaseRow) -> Result<(), InvestigationError>,
) -> Result<(CaseRow, Vec<String>), InvestigationError> {
    let mut conn = db.pool().acquire().await?;
    let c = load(&mut conn, key).await?;
    check(&c)?;
    let epcs = case_epcs(&mut conn, &c).await?;
    Ok((c, epcs))
}

/// The EPCIS event that puts the case's serials on hold (`holding`,
/// `sellable_not_accessible`) or releases them (`sellable_accessible`), as the home
/// organisation, at its GLN when configured.
pub(super) fn hold_event(
    org: &OrganisationSettings,
    epcs: Vec<String>,
    disposition: &str,
) -> Document {
    let now = now_text();
    let mut e = Event::new(EventKind::Object, now, "+00:00".into());
    e.action = Some(Action::Observe);
    e.epc_list = epcs;
    e.biz_step = Some("urn:epcglobal:cbv:bizstep:holding".into());
    e.disposition = Some(format!("urn:epcglobal:cbv:disp:{disposition}"));
    if let Some(site) = home_site(org) {
        let loc = Location {
            id: site,
            extensions: Vec::new(),
        };
        e.read_point = Some(loc.clone());
        e.biz_location = Some(loc);
    }
    Document {
        schema_version: "2.0".into(),
        creation_date: Some(now_text()),
        events: vec![e],
        ..Document::default()
    }
}

/// The organisation's GLN as an SGLN URN (its company prefix length from
/// `organisation.company_prefixes`), or as a Digital Link when no prefix matches.
pub fn home_site(org: &OrganisationSettings) -> Option<String> {
    let gln = org.gln.as_deref()?.parse::<Gln>().ok()?;
    let prefix_len = org
        .company_prefixes
        .iter()
        .filter(|p| gln.as_str().starts_with(p.as_str()))
        .map(String::len)
        .max();
    match prefix_len.and_then(|n| Epc::sgln(&gln, n, None).ok()) {
        Some(epc) => Some(epc.to_string()),
        None => Some(format!("https://id.gs1.org/414/{}", gln.as_str())),
    }
}

/// Captures `doc` as the home organisation; returns the event's hash ID.
pub(super) async fn capture_hold(
    db: &Db,
    actor: &Actor,
    doc: &Document,
    what: &'static str,
) -> Result<String, InvestigationError> {
    let json = epcis::encode::to_jsonld(doc);
    // The hash ID as capture computes it: of the event decoded from the bytes stored.
    let decoded = epcis::decode(json.as_bytes()).map_err(|e| InvestigationError::EventRefused {
        what,
        detail: e.to_string(),
    })?;
    let hash = decoded
        .events
        .first()
        .map(|e| epcis::event_hash_id_ignoring(e, &decoded.hash_ignore))
        .ok_or_else(|| InvestigationError::EventRefused {
            what,
            detail: "no event".into(),
        })?;
    // The home organisation's own event, built here: the command-line defaults apply (the
    // partner-facing limits are for what partners send).
    let options = CaptureOptions::default();
    capture::capture(
        db,
        actor,
        HOME,
        json.into_bytes().into(),
        "application/ld+json",
        &options,
    )
    .await
    .map_err(|e| match e {
        CaptureError::Refused(r) => InvestigationError::EventRefused {
            what,
            detail: r
                .first()
                .map_or_else(|| "refused".into(), |r| r.detail.clone()),
        },
        CaptureError::Storage(e) => InvestigationError::Storage(e),
    })?;
    Ok(hash)
}

/// The ledger keys the case's hold event names: its serial items and every known serial of
/// its lots.
async fn case_epcs(conn: &mut AnyConnection, c: &CaseRow) -> Result<Vec<String>, StorageError> {
    let mut keys: Vec<String> = store::items(conn, c.id)
        .await?
        .into_iter()
        .filter_map(|i| i.epc)
        .collect();
    for s in store::serials(conn, c.id, MAX_SERIALS).await? {
        if !keys.contains(&s.epc) {
            keys.push(s.epc);
        }
    }
    Ok(keys)
}
