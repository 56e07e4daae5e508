//! The life of a case, step by step: open it, quarantine its product, add notes, determine it
//! (cleared, suspect or illegitimate: the last starts the FDA clock), record FDA's incident
//! number, request and confirm termination, close it. Each step checks the state machine in the
//! parent module's documentation first and refuses with a sentence saying what must come first;
//! its change, timeline entry and audit record then commit in one transaction.

use super::hold::{capture_hold, case_and_epcs, hold_event};
use super::input::{Product, check_text};
use super::step::{Step, conflict, determination_of, finish, load, record, status_of};
use super::views::{CaseView, FdaClock, format_time, parse_time, show};
use super::{
    Classification, Determination, FDA_HOURS, InvestigationError, MAX_ITEMS, Reason, Status,
    invalid,
};
use crate::config::OrganisationSettings;
use crate::services::Actor;
use crate::storage::investigations::{self as store, CaseRow, Flag};
use crate::storage::{Db, now_text};

#[derive(Debug, Clone)]
pub struct NewInvestigation {
    /// Why.
    pub reason: Reason,
    /// What prompted it (checked with [`check_text`]).
    pub description: String,
    /// The serials and lots (at least one, at most [`MAX_ITEMS`]).
    pub products: Vec<Product>,
}

/// Opens a case. A recall marks its lots recalled in the ledger; a suspect or illegitimate
/// reason marks the serials suspect (there is reason to believe).
pub async fn open(
    db: &Db,
    actor: &Actor,
    new: NewInvestigation,
) -> Result<CaseView, InvestigationError> {
    let description = check_text("description", &new.description, true)?;
    if new.products.is_empty() {
        return Err(invalid(
            "serials",
            "name at least one product: serials (EPC URNs or Digital Links), products \
             (gtin + serial) or lots (gtin + lot)",
        ));
    }
    if new.products.len() > MAX_ITEMS {
        return Err(invalid(
            "serials",
            format!(
                "{} products; at most {MAX_ITEMS} per case (name the lot instead)",
                new.products.len()
            ),
        ));
    }
    if new.reason == Reason::Recall
        && !new
            .products
            .iter()
            .any(|p| matches!(p, Product::Lot { .. }))
    {
        return Err(invalid(
            "lots",
            "a recall names at least one lot (gtin + lot)",
        ));
    }
    let at = now_text();
    let (who, _, _) = actor.audit_identity();
    let mut tx = db.begin_write().await?;
    let year = time::OffsetDateTime::now_utc().year();
    let reference = store::next_reference(&mut tx, db.backend(), year).await?;
    let id = store::insert(
        &mut tx,
        &store::NewCase {
            reference: &reference,
            reason: new.reason.as_str(),
            description: &description,
            opened_by: &who,
            at: &at,
        },
    )
    .await?;
    let mut seen = std::collections::BTreeSet::new();
    for p in &new.products {
        let row = p.row();
        if seen.insert((row.epc.clone(), row.gtin.clone(), row.lot.clone())) {
            store::insert_item(&mut tx, id, &row, &at).await?;
        }
    }
    let mut marked = serde_json::Map::new();
    match new.reason {
        Reason::Recall => {
            let mut n = 0;
            for p in &new.products {
                if let Product::Lot { gtin, lot } = p {
                    n += crate::storage::capture::recall_lot(&mut tx, gtin, lot).await?;
                }
            }
            marked.insert("recalled".into(), n.into());
        }
        Reason::Suspect | Reason::Illegitimate => {
            let n = store::flag(&mut tx, id, Flag::Set, Flag::Keep, Flag::Keep).await?;
            marked.insert("suspect".into(), n.into());
        }
        Reason::ComplianceAudit => {}
    }
    let details = serde_json::json!({
        "reason": new.reason.as_str(),
        "products": seen.len(),
        "ledger_rows_marked": marked,
    });
    let step = Step {
        action: "open",
        audit: "investigations open",
        details,
        event_hash: None,
    };
    record(&mut tx, actor, id, &reference, Status::Open, &at, step).await?;
    tx.commit().await?;
    show(db, &id.to_string()).await
}

/// Quarantines the case's product: captures the hold event, sets `quarantined` and `suspect`
/// on its serials.
pub async fn quarantine(
    db: &Db,
    actor: &Actor,
    org: &OrganisationSettings,
    key: &str,
) -> Result<CaseView, InvestigationError> {
    let (c, epcs) = case_and_epcs(db, key, check_quarantine).await?;
    if epcs.is_empty() {
        return Err(conflict(
            &c,
            "none of its lots' serials is in the serial ledger: nothing to quarantine",
        ));
    }
    let count = epcs.len();
    let hash = capture_hold(
        db,
        actor,
        &hold_event(org, epcs, "sellable_not_accessible"),
        "quarantine",
    )
    .await?;
    let mut tx = db.begin_write().await?;
    let mut c = load(&mut tx, &c.id.to_string()).await?;
    check_quarantine(&c)?;
    let flagged = store::flag(&mut tx, c.id, Flag::Set, Flag::Set, Flag::Keep).await?;
    if c.status == Status::Open.as_str() {
        c.status = Status::Quarantined.as_str().into();
    }
    c.quarantine_event = Some(hash.clone());
    let step = Step {
        action: "quarantine",
        audit: "investigations quarantine",
        details: serde_json::json!({
            "event_hash": hash,
            "epcs": count,
            "ledger_rows_quarantined": flagged,
            "biz_step": "holding",
            "disposition": "sellable_not_accessible",
        }),
        event_hash: Some(&hash),
    };
    finish(db, tx, actor, &mut c, &now_text(), step).await
}

fn check_quarantine(c: &CaseRow) -> Result<(), InvestigationError> {
    if c.quarantine_event.is_some() {
        return Err(conflict(c, "its product is quarantined already"));
    }
    match (status_of(c)?, determination_of(c)) {
        (Status::Open, _)
        | (Status::Determined, Some(Determination::Suspect | Determination::Illegitimate)) => {
            Ok(())
        }
        (Status::Determined, _) => Err(conflict(c, "cleared product is not quarantined")),
        _ => Err(conflict(
            c,
            "quarantine is for cases still under investigation",
        )),
    }
}

/// Appends a note to the timeline.
pub async fn note(
    db: &Db,
    actor: &Actor,
    key: &str,
    text: &str,
) -> Result<CaseView, InvestigationError> {
    let text = check_text("text", text, true)?;
    let mut tx = db.begin_write().await?;
    let mut c = load(&mut tx, key).await?;
    if status_of(&c)? == Status::Closed {
        return Err(conflict(&c, "a closed case takes no more notes"));
    }
    let step = Step {
        action: "note",
        audit: "investigations note",
        details: serde_json::json!({"text": text}),
        event_hash: None,
    };
    finish(db, tx, actor, &mut c, &now_text(), step).await
}

/// A determination to record.
#[derive(Debug, Clone)]
pub struct NewDetermination {
    /// The outcome.
    pub determination: Determination,
    /// For illegitimate product: how (3911 item 5).
    pub classification: Option<Classification>,
    /// Why (checked with [`check_text`]).
    pub note: Option<String>,
}

/// Records a determination. `cleared` clears the ledger flags and, when the product was
/// quarantined, captures its release; `illegitimate` sets `serials.illegitimate` and starts the
/// FDA clock; `suspect` keeps the case under investigation.
pub async fn determine(
    db: &Db,
    actor: &Actor,
    org: &OrganisationSettings,
    key: &str,
    d: NewDetermination,
) -> Result<CaseView, InvestigationError> {
    let note = d
        .note
        .as_deref()
        .map(|n| check_text("note", n, false))
        .transpose()?;
    if d.classification.is_some() && d.determination != Determination::Illegitimate {
        return Err(invalid(
            "classification",
            "only an illegitimate determination is classified",
        ));
    }
    let (c, epcs) = case_and_epcs(db, key, check_determine).await?;
    let release = if d.determination == Determination::Cleared
        && c.quarantine_event.is_some()
        && c.release_event.is_none()
        && !epcs.is_empty()
    {
        Some(
            capture_hold(
                db,
                actor,
                &hold_event(org, epcs, "sellable_accessible"),
                "release",
            )
            .await?,
        )
    } else {
        None
    };
    let mut tx = db.begin_write().await?;
    let mut c = load(&mut tx, &c.id.to_string()).await?;
    check_determine(&c)?;
    let at = now_text();
    let rows = match d.determination {
        Determination::Cleared => store::clear(&mut tx, c.id).await?,
        Determination::Suspect => {
            store::flag(&mut tx, c.id, Flag::Set, Flag::Keep, Flag::Keep).await?
        }
        Determination::Illegitimate => {
            if c.illegitimate_at.is_none() {
                let now = time::OffsetDateTime::now_utc();
                c.illegitimate_at = Some(format_time(now));
                c.fda_deadline = Some(format_time(now + time::Duration::hours(FDA_HOURS)));
            }
            store::flag(&mut tx, c.id, Flag::Set, Flag::Keep, Flag::Set).await?
        }
    };
    c.status = Status::Determined.as_str().into();
    c.determination = Some(d.determination.as_str().into());
    c.determined_at = Some(at.clone());
    if release.is_some() {
        c.release_event.clone_from(&release);
    }
    let step = Step {
        action: "determine",
        audit: "investigations determine",
        details: serde_json::json!({
            "determination": d.determination.as_str(),
            "classification": d.classification.map(Classification::as_str),
            "note": note,
            "ledger_rows": rows,
            "release_event": release,
            "fda_deadline": c.fda_deadline,
        }),
        event_hash: release.as_deref(),
    };
    finish(db, tx, actor, &mut c, &at, step).await
}

fn check_determine(c: &CaseRow) -> Result<(), InvestigationError> {
    match (status_of(c)?, determination_of(c)) {
        (Status::Open | Status::Quarantined, _)
        | (Status::Determined, Some(Determination::Suspect)) => Ok(()),
        (Status::Determined, _) => Err(conflict(
            c,
            "the determination is final (only a suspect determination can be followed by cleared or illegitimate)",
        )),
        _ => Err(conflict(
            c,
            "a case past its determination cannot be determined again",
        )),
    }
}

/// Records that FDA was notified (Form FDA 3911 filed) and the incident number it assigned.
pub async fn notify_fda(
    db: &Db,
    actor: &Actor,
    key: &str,
    incident_number: &str,
    notified_at: Option<&str>,
) -> Result<CaseView, InvestigationError> {
    let incident = incident_number.trim();
    if incident.is_empty()
        || incident.len() > 64
        || !incident
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_/.".contains(&b))
    {
        return Err(invalid(
            "incident_number",
            "FDA's incident number: 1 to 64 letters, digits, '-', '_', '/' or '.'",
        ));
    }
    let notified = match notified_at {
        Some(t) => {
            let parsed = parse_time(t.trim()).ok_or_else(|| {
                invalid(
                    "notified_at",
                    format!("{t:?} is not an RFC 3339 date-time with a zone"),
                )
            })?;
            if parsed > time::OffsetDateTime::now_utc() + time::Duration::minutes(5) {
                return Err(invalid("notified_at", "is in the future"));
            }
            format_time(parsed)
        }
        None => now_text(),
    };
    let mut tx = db.begin_write().await?;
    let mut c = load(&mut tx, key).await?;
    if determination_of(&c) != Some(Determination::Illegitimate) {
        return Err(conflict(
            &c,
            "FDA is notified of product determined illegitimate: determine it first",
        ));
    }
    if let Some(n) = &c.fda_incident_number {
        return Err(conflict(
            &c,
            &format!("FDA's incident number {n} is recorded already"),
        ));
    }
    if status_of(&c)? != Status::Determined {
        return Err(conflict(&c, "FDA notification belongs before termination"));
    }
    c.fda_incident_number = Some(incident.to_owned());
    c.fda_notified_at = Some(notified.clone());
    let clock = FdaClock::of(&c, time::OffsetDateTime::now_utc());
    let step = Step {
        action: "fda_notification",
        audit: "investigations notify-fda",
        details: serde_json::json!({
            "incident_number": incident,
            "notified_at": notified,
            "deadline": c.fda_deadline,
            "in_time": clock.state == "met",
        }),
        event_hash: None,
    };
    finish(db, tx, actor, &mut c, &now_text(), step).await
}

/// The termination step.
#[derive(Debug, Clone)]
pub enum Termination {
    /// Ask FDA (3911 "Request for Termination") with the reason (item 18).
    Request {
        /// Why notification is no longer necessary.
        reason: String,
    },
    /// FDA agreed: the notification is terminated.
    Confirm,
}

/// Requests termination of the FDA notification, or records FDA's agreement.
pub async fn terminate(
    db: &Db,
    actor: &Actor,
    key: &str,
    step: Termination,
) -> Result<CaseView, InvestigationError> {
    let reason = match &step {
        Termination::Request { reason } => Some(check_text("reason", reason, true)?),
        Termination::Confirm => None,
    };
    let mut tx = db.begin_write().await?;
    let mut c = load(&mut tx, key).await?;
    if determination_of(&c) != Some(Determination::Illegitimate) {
        return Err(conflict(
            &c,
            "termination ends an FDA notification of illegitimate product: there is none to terminate",
        ));
    }
    let at = now_text();
    let (action, details) = match reason {
        Some(reason) => {
            if status_of(&c)? != Status::Determined {
                return Err(conflict(
                    &c,
                    "termination can be requested once, after the FDA notification",
                ));
            }
            if c.fda_incident_number.is_none() {
                return Err(conflict(
                    &c,
                    "record FDA's incident number first (POST …/fda-notification): termination is \
                     requested in consultation with FDA under that number",
                ));
            }
            c.status = Status::TerminationRequested.as_str().into();
            c.termination_reason = Some(reason.clone());
            c.termination_requested_at = Some(at.clone());
            (
                "termination_requested",
                serde_json::json!({"reason": reason}),
            )
        }
        None => {
            if status_of(&c)? != Status::TerminationRequested {
                return Err(conflict(
                    &c,
                    "request termination first; confirm it when FDA agrees",
                ));
            }
            c.status = Status::Terminated.as_str().into();
            c.terminated_at = Some(at.clone());
            ("terminated", serde_json::json!({}))
        }
    };
    let step = Step {
        action,
        audit: "investigations terminate",
        details,
        event_hash: None,
    };
    finish(db, tx, actor, &mut c, &at, step).await
}

/// Closes a case: cleared, or illegitimate with the FDA notification terminated.
pub async fn close(
    db: &Db,
    actor: &Actor,
    key: &str,
    note: Option<&str>,
) -> Result<CaseView, InvestigationError> {
    let note = note.map(|n| check_text("note", n, false)).transpose()?;
    let mut tx = db.begin_write().await?;
    let mut c = load(&mut tx, key).await?;
    match (status_of(&c)?, determination_of(&c)) {
        (Status::Closed, _) => return Err(conflict(&c, "it is closed already")),
        (Status::Determined, Some(Determination::Cleared)) | (Status::Terminated, _) => {}
        (Status::Determined, Some(Determination::Suspect)) => {
            return Err(conflict(
                &c,
                "a suspect determination is not final: determine the product cleared or illegitimate before closing",
            ));
        }
        (Status::Determined | Status::TerminationRequested, Some(Determination::Illegitimate)) => {
            return Err(conflict(
                &c,
                "a case of illegitimate product closes only after FDA agrees to terminate the \
                 notification: record the incident number, request termination, confirm it",
            ));
        }
        _ => {
            return Err(conflict(
                &c,
                "determine the case first (cleared, suspect or illegitimate); it cannot be closed before",
            ));
        }
    }
    let at = now_text();
    c.status = Status::Closed.as_str().into();
    c.closed_at = Some(at.clone());
    let step = Step {
        action: "close",
        audit: "investigations close",
        details: serde_json::json!({"note": note}),
        event_hash: None,
    };
    finish(db, tx, actor, &mut c, &at, step).await
}
