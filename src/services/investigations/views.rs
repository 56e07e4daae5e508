//! How a case is shown: the list of cases ([`list`]), one case whole ([`show`]: its items,
//! the ledger rows it reaches, its timeline and its verifications), and the 24-hour FDA
//! notification clock every view carries ([`FdaClock`]), computed at read time from the stored
//! deadline so it never goes stale.

use serde::Serialize;

use super::step::load;
use super::{InvestigationError, MAX_SERIALS, Status, invalid};
use crate::storage::Db;
use crate::storage::investigations::{self as store, CaseRow};

/// The FDA notification clock of a case, as every view shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct FdaClock {
    /// `not_started` (no illegitimate determination), `running`, `overdue`, `met` (notified in
    /// time) or `late` (notified after the deadline).
    pub state: &'static str,
    /// When FDA must have been notified (24 h after the illegitimate determination).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deadline: Option<String>,
    /// Seconds until the deadline (negative: overdue), while not notified.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seconds_remaining: Option<i64>,
    /// When FDA was notified.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notified_at: Option<String>,
    /// One line for people: "FDA notification due by … (3 h 12 min left)".
    pub summary: String,
}

pub(super) fn parse_time(text: &str) -> Option<time::OffsetDateTime> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()
}

pub(super) fn format_time(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

fn span(seconds: i64) -> String {
    let s = seconds.unsigned_abs();
    format!("{} h {:02} min", s / 3600, (s % 3600) / 60)
}

impl FdaClock {
    /// The clock of `case` at `now`.
    pub fn of(case: &CaseRow, now: time::OffsetDateTime) -> Self {
        let Some(deadline_text) = case.fda_deadline.clone() else {
            return Self {
                state: "not_started",
                deadline: None,
                seconds_remaining: None,
                notified_at: None,
                summary:
                    "no FDA notification due: the product has not been determined illegitimate"
                        .into(),
            };
        };
        let deadline = parse_time(&deadline_text);
        if let Some(notified) = case.fda_notified_at.clone() {
            let late = deadline
                .zip(parse_time(&notified))
                .is_some_and(|(d, n)| n > d);
            return Self {
                state: if late { "late" } else { "met" },
                summary: format!(
                    "FDA notified at {notified} ({} the deadline {deadline_text})",
                    if late { "after" } else { "before" }
                ),
                deadline: Some(deadline_text),
                seconds_remaining: None,
                notified_at: Some(notified),
            };
        }
        let remaining = deadline.map(|d| (d - now).whole_seconds());
        let overdue = remaining.is_some_and(|r| r < 0);
        Self {
            state: if overdue { "overdue" } else { "running" },
            summary: match remaining {
                Some(r) if r < 0 => format!(
                    "FDA notification OVERDUE: it was due by {deadline_text} ({} ago)",
                    span(r)
                ),
                Some(r) => format!("FDA notification due by {deadline_text} ({} left)", span(r)),
                None => format!("FDA notification due by {deadline_text}"),
            },
            deadline: Some(deadline_text),
            seconds_remaining: remaining,
            notified_at: None,
        }
    }
}

/// A case in a list.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Summary {
    /// Row id.
    pub id: i64,
    /// Reference.
    pub reference: String,
    /// Reason.
    pub reason: String,
    /// Status.
    pub status: String,
    /// Determination.
    pub determination: Option<String>,
    /// FDA clock.
    pub fda: FdaClock,
    /// Opened by.
    pub opened_by: String,
    /// Opened at.
    pub opened_at: String,
    /// Last change.
    pub updated_at: String,
}

impl Summary {
    fn of(c: &CaseRow, now: time::OffsetDateTime) -> Self {
        Self {
            id: c.id,
            reference: c.reference.clone(),
            reason: c.reason.clone(),
            status: c.status.clone(),
            determination: c.determination.clone(),
            fda: FdaClock::of(c, now),
            opened_by: c.opened_by.clone(),
            opened_at: c.opened_at.clone(),
            updated_at: c.updated_at.clone(),
        }
    }
}

/// An item of a case.
#[derive(Debug, Clone, Serialize)]
pub struct ItemView {
    /// `serial` | `lot`.
    pub kind: String,
    /// Ledger key of a serial.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub epc: Option<String>,
    /// GTIN.
    pub gtin: String,
    /// Serial number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
    /// Lot.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lot: Option<String>,
}

/// A serial of the case as the ledger knows it now.
#[derive(Debug, Clone, Serialize)]
pub struct SerialView {
    /// Ledger key.
    pub epc: String,
    /// GTIN.
    pub gtin: Option<String>,
    /// Lot.
    pub lot: Option<String>,
    /// Expiry.
    pub expiry: Option<String>,
    /// Ledger state.
    pub state: String,
    /// Last disposition.
    pub last_disposition: Option<String>,
    /// Flags.
    pub suspect: bool,
    /// Flags.
    pub quarantined: bool,
    /// Flags.
    pub illegitimate: bool,
    /// Flags.
    pub recalled: bool,
}

/// A timeline entry.
#[derive(Debug, Clone, Serialize)]
pub struct EntryView {
    /// Order.
    pub seq: i64,
    /// What happened.
    pub action: String,
    /// Who.
    pub actor: String,
    /// When.
    pub at: String,
    /// Status afterwards.
    pub status_after: String,
    /// Details (JSON).
    pub details: serde_json::Value,
    /// Hash ID of the EPCIS event captured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_hash: Option<String>,
}

/// A whole case.
#[derive(Debug, Clone, Serialize)]
pub struct CaseView {
    /// Row id.
    pub id: i64,
    /// Reference.
    pub reference: String,
    /// Reason.
    pub reason: String,
    /// Status.
    pub status: String,
    /// Determination.
    pub determination: Option<String>,
    /// When determined.
    pub determined_at: Option<String>,
    /// When first determined illegitimate.
    pub illegitimate_at: Option<String>,
    /// Classification (3911 item 5).
    pub classification: Option<String>,
    /// FDA clock.
    pub fda: FdaClock,
    /// FDA incident number.
    pub fda_incident_number: Option<String>,
    /// Termination reason.
    pub termination_reason: Option<String>,
    /// When termination was requested.
    pub termination_requested_at: Option<String>,
    /// When terminated.
    pub terminated_at: Option<String>,
    /// When closed.
    pub closed_at: Option<String>,
    /// Quarantine event hash ID.
    pub quarantine_event: Option<String>,
    /// Release event hash ID.
    pub release_event: Option<String>,
    /// Description.
    pub description: String,
    /// Opened by.
    pub opened_by: String,
    /// Opened at.
    pub opened_at: String,
    /// Last change.
    pub updated_at: String,
    /// What the case names.
    pub items: Vec<ItemView>,
    /// The ledger rows it reaches (at most [`MAX_SERIALS`]).
    pub serials: Vec<SerialView>,
    /// What happened, in order.
    pub timeline: Vec<EntryView>,
    /// The verifications run for the case (the `verifications` log), oldest first.
    pub verifications: Vec<crate::storage::verify::Logged>,
}

/// One case, whole.
pub async fn show(db: &Db, key: &str) -> Result<CaseView, InvestigationError> {
    let mut conn = db.pool().acquire().await?;
    let c = load(&mut conn, key).await?;
    let items = store::items(&mut conn, c.id).await?;
    let serials = store::serials(&mut conn, c.id, MAX_SERIALS).await?;
    let timeline = store::timeline(&mut conn, c.id).await?;
    let verifications = crate::storage::verify::for_investigation(&mut conn, c.id).await?;
    let classification = timeline
        .iter()
        .rev()
        .filter(|e| e.action == "determine")
        .find_map(|e| {
            serde_json::from_str::<serde_json::Value>(&e.details)
                .ok()
                .and_then(|d| d["classification"].as_str().map(str::to_owned))
        });
    let now = time::OffsetDateTime::now_utc();
    Ok(CaseView {
        fda: FdaClock::of(&c, now),
        classification,
        items: items
            .into_iter()
            .map(|i| ItemView {
                kind: i.kind,
                epc: i.epc,
                gtin: i.gtin,
                serial: i.serial,
                lot: i.lot,
            })
            .collect(),
        serials: serials
            .into_iter()
            .map(|s| SerialView {
                epc: s.epc,
                gtin: s.gtin,
                lot: s.lot,
                expiry: s.expiry,
                state: s.state,
                last_disposition: s.last_disposition,
                suspect: s.suspect != 0,
                quarantined: s.quarantined != 0,
                illegitimate: s.illegitimate != 0,
                recalled: s.recalled != 0,
            })
            .collect(),
        timeline: timeline
            .into_iter()
            .map(|e| EntryView {
                seq: e.seq,
                details: serde_json::from_str(&e.details).unwrap_or(serde_json::Value::Null),
                action: e.action,
                actor: e.actor,
                at: e.at,
                status_after: e.status_after,
                event_hash: e.event_hash,
            })
            .collect(),
        verifications,
        id: c.id,
        reference: c.reference,
        reason: c.reason,
        status: c.status,
        determination: c.determination,
        determined_at: c.determined_at,
        illegitimate_at: c.illegitimate_at,
        fda_incident_number: c.fda_incident_number,
        termination_reason: c.termination_reason,
        termination_requested_at: c.termination_requested_at,
        terminated_at: c.terminated_at,
        closed_at: c.closed_at,
        quarantine_event: c.quarantine_event,
        release_event: c.release_event,
        description: c.description,
        opened_by: c.opened_by,
        opened_at: c.opened_at,
        updated_at: c.updated_at,
    })
}

/// Cases, newest first, optionally of one status (at most `limit`, 1 to 500).
pub async fn list(
    db: &Db,
    status: Option<Status>,
    limit: i64,
) -> Result<Vec<Summary>, InvestigationError> {
    if !(1..=500).contains(&limit) {
        return Err(invalid("limit", format!("{limit}: use 1 to 500")));
    }
    let mut conn = db.pool().acquire().await?;
    let rows = store::list(&mut conn, status.map(Status::as_str), limit).await?;
    let now = time::OffsetDateTime::now_utc();
    Ok(rows.iter().map(|c| Summary::of(c, now)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fda_clock_counts_down_then_overdue() {
        let mut c = CaseRow {
            id: 1,
            reference: "INV-2026-0001".into(),
            reason: "suspect".into(),
            status: "determined".into(),
            determination: Some("illegitimate".into()),
            determined_at: None,
            illegitimate_at: Some("2026-01-01T00:00:00Z".into()),
            fda_deadline: Some("2026-01-02T00:00:00Z".into()),
            fda_incident_number: None,
            fda_notified_at: None,
            termination_reason: None,
            termination_requested_at: None,
            terminated_at: None,
            closed_at: None,
            quarantine_event: None,
            release_event: None,
            description: String::new(),
            opened_by: String::new(),
            opened_at: String::new(),
            updated_at: String::new(),
        };
        let at = |s: &str| parse_time(s).unwrap();
        let clock = FdaClock::of(&c, at("2026-01-01T20:30:00Z"));
        assert_eq!(clock.state, "running");
        assert_eq!(clock.seconds_remaining, Some(3 * 3600 + 1800));
        assert!(
            clock.summary.contains("3 h 30 min left"),
            "{}",
            clock.summary
        );
        let clock = FdaClock::of(&c, at("2026-01-02T01:00:00Z"));
        assert_eq!(clock.state, "overdue");
        c.fda_notified_at = Some("2026-01-01T12:00:00Z".into());
        assert_eq!(FdaClock::of(&c, at("2026-01-03T00:00:00Z")).state, "met");
    }
}
