//! Investigations of suspect and illegitimate product (DSCSA §582(b)(4)…(e)(4);
//! `../shared/reference/dscsa.md` §3): open a case for serials or a lot, quarantine it with a
//! real EPCIS event, attach notes, determine it cleared, suspect or illegitimate (which starts
//! the 24-hour FDA notification clock), record FDA's incident number, request and confirm
//! termination, close. Form FDA 3911 data comes from [`form3911`].
//!
//! Each use-case is one transaction with its audit record (`audit_seam`) and one timeline
//! entry: the case row, the ledger flags it sets and the record commit together or not at all.
//! WHY the quarantine and release events commit first, in a transaction of their own: they go
//! through [`capture::capture`] exactly as a partner's event would (same validation, ledger
//! update, audit record), and capture owns its transaction (on SQLite, the write lock). The
//! case change follows; if it failed, the event would stand as what it is, a true
//! observation that the product was put on hold, and the case could be quarantined again.
//!
//! The state machine (anything else is refused with a sentence saying what must come first):
//!
//! ```text
//! open ──quarantine──▶ quarantined
//!  │                      │
//!  └──determine──────────┴─▶ determined (cleared | suspect | illegitimate)
//!        suspect ──determine again──▶ cleared | illegitimate
//!        cleared ──close──▶ closed
//!        illegitimate ──fda-notification──▶ (incident number)
//!                     ──termination request──▶ termination_requested ──confirm──▶ terminated ──close──▶ closed
//! ```
//!
//! Free text (descriptions, notes, reasons) is bounded ([`MAX_TEXT`] characters, no control
//! characters but newlines and tabs) and refused when it looks like patient information: DSCSA
//! records carry no PHI (`dscsa.md` §5.3), and these records are kept for six years and handed
//! to FDA and trading partners.

pub mod form3911;

use epcis::id::{DigitalLink, Epc, Gln, Gtin};
use epcis::model::{Action, Document, Event, EventKind, Location};
use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;

use crate::config::OrganisationSettings;
use crate::services::capture::{self, CaptureError, CaptureOptions, HOME};
use crate::services::{Actor, audit_seam};
use crate::storage::investigations::{self as store, CaseRow, Flag, ItemRow, NewEntry};
use crate::storage::{Db, StorageError, now_text};
use crate::stored::epc_key;

/// Longest description, note or reason, in characters.
pub const MAX_TEXT: usize = 4000;
/// Most products (serials and lots) one case names.
pub const MAX_ITEMS: usize = 1000;
/// Most serials a view or a quarantine event lists.
pub const MAX_SERIALS: i64 = 10_000;
/// Hours between an illegitimate determination and the FDA notification deadline.
pub const FDA_HOURS: i64 = 24;

/// Why an investigation use-case did nothing.
#[derive(Debug, thiserror::Error)]
pub enum InvestigationError {
    /// A field of the request is not valid; `field` names it.
    #[error("{field}: {detail}")]
    Invalid {
        /// The field, as the request names it (`serials[2]`, `reason`).
        field: String,
        /// What is wrong.
        detail: String,
    },
    /// No case with this id or reference.
    #[error("no investigation {0:?}")]
    NotFound(String),
    /// The case's state does not allow this step; the message says what must come first.
    #[error("{0}")]
    Conflict(String),
    /// The quarantine or release event was refused by capture.
    #[error("the {what} event was refused: {detail}")]
    EventRefused {
        /// `quarantine` or `release`.
        what: &'static str,
        /// Capture's reason.
        detail: String,
    },
    /// The database failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl From<sqlx::Error> for InvestigationError {
    fn from(e: sqlx::Error) -> Self {
        Self::Storage(e.into())
    }
}

fn invalid(field: impl Into<String>, detail: impl Into<String>) -> InvestigationError {
    InvestigationError::Invalid {
        field: field.into(),
        detail: detail.into(),
    }
}

macro_rules! word_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident => $word:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $(#[doc = $word] $variant),+ }

        impl $name {
            /// Every value, for messages.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The stored word.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $word),+ }
            }

            /// Parses the stored word.
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($word => Some(Self::$variant),)+ _ => None }
            }

            /// `a | b | c`, for messages.
            pub fn choices() -> String {
                Self::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(" | ")
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

word_enum!(
    /// What prompted a case.
    Reason {
        ComplianceAudit => "compliance_audit",
        Illegitimate => "illegitimate",
        Recall => "recall",
        Suspect => "suspect",
    }
);

word_enum!(
    /// Where a case stands.
    Status {
        Open => "open",
        Quarantined => "quarantined",
        Determined => "determined",
        TerminationRequested => "termination_requested",
        Terminated => "terminated",
        Closed => "closed",
    }
);

word_enum!(
    /// The outcome of an investigation.
    Determination {
        Cleared => "cleared",
        Illegitimate => "illegitimate",
        Suspect => "suspect",
    }
);

/// A product a case names, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Product {
    /// One serialised package: its ledger key, GTIN and serial number.
    Serial {
        /// Ledger key (canonical Digital Link).
        key: String,
        /// GTIN-14.
        gtin: String,
        /// Serial number.
        serial: String,
    },
    /// Every package of one lot.
    Lot {
        /// GTIN-14.
        gtin: String,
        /// Lot number.
        lot: String,
    },
}

impl Product {
    /// Parses an SGTIN/LGTIN EPC URN or a GS1 Digital Link naming a serial (AI 21) or a lot
    /// (AI 10). `field` names the value in errors.
    pub fn parse_identifier(field: &str, value: &str) -> Result<Self, InvestigationError> {
        let value = value.trim();
        if value.starts_with("urn:epc:") {
            let epc: Epc = value.parse().map_err(|e: epcis::id::IdError| {
                invalid(field, format!("{value:?} is not a valid EPC URN: {e}"))
            })?;
            let gtin = epc
                .gtin()
                .ok_or_else(|| invalid(field, format!("{value:?} names no GTIN (use an SGTIN)")))?;
            if let Some(serial) = epc.serial() {
                return Ok(Self::Serial {
                    key: epc_key(value),
                    gtin: gtin.as_str().to_owned(),
                    serial: serial.to_owned(),
                });
            }
            if let Some(lot) = epc.lot() {
                return Ok(Self::Lot {
                    gtin: gtin.as_str().to_owned(),
                    lot: lot.to_owned(),
                });
            }
            return Err(invalid(
                field,
                format!("{value:?} names neither a serial nor a lot"),
            ));
        }
        if value.starts_with("http") {
            let dl = DigitalLink::parse(value).map_err(|e| {
                invalid(
                    field,
                    format!("{value:?} is not a valid GS1 Digital Link: {e}"),
                )
            })?;
            let gtin = dl
                .gtin()
                .ok_or_else(|| invalid(field, format!("{value:?} names no GTIN (AI 01)")))?;
            if let Some(serial) = dl.serial() {
                return Ok(Self::Serial {
                    key: epc_key(value),
                    gtin: gtin.as_str().to_owned(),
                    serial: serial.to_owned(),
                });
            }
            if let Some(lot) = dl.lot() {
                return Ok(Self::Lot {
                    gtin: gtin.as_str().to_owned(),
                    lot: lot.to_owned(),
                });
            }
            return Err(invalid(
                field,
                format!("{value:?} names neither a serial (AI 21) nor a lot (AI 10)"),
            ));
        }
        Err(invalid(
            field,
            format!(
                "{value:?}: give an SGTIN EPC URN (urn:epc:id:sgtin:…), an LGTIN \
                 (urn:epc:class:lgtin:…) or a GS1 Digital Link (https://id.gs1.org/01/…/21/…)"
            ),
        ))
    }

    /// A serial from a GTIN and a serial number.
    pub fn from_gtin_serial(
        field: &str,
        gtin: &str,
        serial: &str,
    ) -> Result<Self, InvestigationError> {
        let gtin = parse_gtin(&format!("{field}.gtin"), gtin)?;
        let serial = serial.trim();
        epcis::id::charset::check_cset82("serial", serial)
            .map_err(|e| invalid(format!("{field}.serial"), e.to_string()))?;
        if serial.is_empty() || serial.len() > 20 {
            return Err(invalid(
                format!("{field}.serial"),
                "a serial number has 1 to 20 characters",
            ));
        }
        let link = format!(
            "https://id.gs1.org/01/{}/21/{}",
            gtin.as_str(),
            epcis::id::charset::dl_encode(serial)
        );
        Ok(Self::Serial {
            key: epc_key(&link),
            gtin: gtin.as_str().to_owned(),
            serial: serial.to_owned(),
        })
    }

    /// A lot from a GTIN and a lot number.
    pub fn from_gtin_lot(field: &str, gtin: &str, lot: &str) -> Result<Self, InvestigationError> {
        let gtin = parse_gtin(&format!("{field}.gtin"), gtin)?;
        let lot = lot.trim();
        epcis::id::charset::check_cset82("lot", lot)
            .map_err(|e| invalid(format!("{field}.lot"), e.to_string()))?;
        if lot.is_empty() || lot.len() > 20 {
            return Err(invalid(
                format!("{field}.lot"),
                "a lot number has 1 to 20 characters",
            ));
        }
        Ok(Self::Lot {
            gtin: gtin.as_str().to_owned(),
            lot: lot.to_owned(),
        })
    }

    fn row(&self) -> ItemRow {
        match self {
            Self::Serial { key, gtin, serial } => ItemRow {
                kind: "serial".into(),
                epc: Some(key.clone()),
                gtin: gtin.clone(),
                serial: Some(serial.clone()),
                lot: None,
            },
            Self::Lot { gtin, lot } => ItemRow {
                kind: "lot".into(),
                epc: None,
                gtin: gtin.clone(),
                serial: None,
                lot: Some(lot.clone()),
            },
        }
    }
}

fn parse_gtin(field: &str, value: &str) -> Result<Gtin, InvestigationError> {
    let value = value.trim();
    let padded = if value.len() < 14 && value.bytes().all(|b| b.is_ascii_digit()) {
        format!("{value:0>14}")
    } else {
        value.to_owned()
    };
    Gtin::parse(&padded).map_err(|e| invalid(field, format!("{value:?} is not a valid GTIN: {e}")))
}

/// Checks free text: bounded, no control characters but newline and tab, nothing that looks
/// like patient information. Returns it trimmed.
pub fn check_text(field: &str, text: &str, required: bool) -> Result<String, InvestigationError> {
    let text = text.trim();
    if required && text.is_empty() {
        return Err(invalid(field, "must not be empty"));
    }
    let chars = text.chars().count();
    if chars > MAX_TEXT {
        return Err(invalid(
            field,
            format!(
                "{chars} characters; at most {MAX_TEXT} (attach documents elsewhere and refer to them)"
            ),
        ));
    }
    if let Some(c) = text
        .chars()
        .find(|c| c.is_control() && *c != '\n' && *c != '\t')
    {
        return Err(invalid(
            field,
            format!("control character U+{:04X} is not allowed", u32::from(c)),
        ));
    }
    if let Some(what) = looks_like_phi(text) {
        return Err(invalid(
            field,
            format!(
                "looks like patient information ({what}): DSCSA investigation records are kept \
                 six years and shared with FDA and trading partners, and must not carry PHI; \
                 refer to the pharmacy's own record instead"
            ),
        ));
    }
    Ok(text.to_owned())
}

/// The obvious PHI markers only (a heuristic, not a guarantee): a US social security number
/// pattern, or a label naming a patient, a birth date or a medical record number.
fn looks_like_phi(text: &str) -> Option<&'static str> {
    let lower = text.to_lowercase();
    for (marker, what) in [
        ("patient name", "a patient name"),
        ("patient:", "a patient name"),
        ("date of birth", "a date of birth"),
        ("dob:", "a date of birth"),
        ("mrn:", "a medical record number"),
        ("medical record number", "a medical record number"),
        ("ssn", "a social security number"),
    ] {
        if lower.contains(marker) {
            return Some(what);
        }
    }
    // ddd-dd-dddd not inside a longer run of digits.
    let b = text.as_bytes();
    let shape = |w: &[u8]| {
        w.iter().enumerate().all(|(i, c)| {
            if i == 3 || i == 6 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        })
    };
    for (i, w) in b.windows(11).enumerate() {
        let before = i.checked_sub(1).and_then(|j| b.get(j));
        let after = b.get(i + 11);
        if shape(w)
            && !before.is_some_and(|c| c.is_ascii_digit() || *c == b'-')
            && !after.is_some_and(|c| c.is_ascii_digit() || *c == b'-')
        {
            return Some("a social security number");
        }
    }
    None
}

/// What opening a case needs.
#[derive(Debug, Clone)]
pub struct NewInvestigation {
    /// Why.
    pub reason: Reason,
    /// What prompted it (checked with [`check_text`]).
    pub description: String,
    /// The serials and lots (at least one, at most [`MAX_ITEMS`]).
    pub products: Vec<Product>,
}

/// The FDA notification clock of a case, as every view shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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

fn parse_time(text: &str) -> Option<time::OffsetDateTime> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()
}

fn format_time(t: time::OffsetDateTime) -> String {
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
#[derive(Debug, Clone, Serialize)]
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
    entry(&mut tx, id, "open", &who, &at, Status::Open, &details, None).await?;
    audit_seam(&mut tx, actor, "investigations open", &reference).await?;
    tx.commit().await?;
    show(db, &id.to_string()).await
}

#[allow(clippy::too_many_arguments, reason = "one timeline row's columns")]
async fn entry(
    conn: &mut AnyConnection,
    id: i64,
    action: &str,
    actor: &str,
    at: &str,
    status: Status,
    details: &serde_json::Value,
    event_hash: Option<&str>,
) -> Result<(), StorageError> {
    store::append(
        conn,
        id,
        &NewEntry {
            action,
            actor,
            at,
            status_after: status.as_str(),
            details: &details.to_string(),
            event_hash,
        },
    )
    .await
}

async fn load(conn: &mut AnyConnection, key: &str) -> Result<CaseRow, InvestigationError> {
    store::find(conn, key.trim())
        .await?
        .ok_or_else(|| InvestigationError::NotFound(key.to_owned()))
}

fn status_of(c: &CaseRow) -> Result<Status, InvestigationError> {
    Status::parse(&c.status).ok_or_else(|| {
        StorageError::Corrupt(format!(
            "investigation {} status {:?}",
            c.reference, c.status
        ))
        .into()
    })
}

fn determination_of(c: &CaseRow) -> Option<Determination> {
    c.determination.as_deref().and_then(Determination::parse)
}

fn conflict(c: &CaseRow, what: &str) -> InvestigationError {
    InvestigationError::Conflict(format!(
        "investigation {} is {}: {what}",
        c.reference,
        describe(c)
    ))
}

fn describe(c: &CaseRow) -> String {
    match &c.determination {
        Some(d) => format!("{} ({d})", c.status),
        None => c.status.clone(),
    }
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

/// The EPCIS event that puts the case's serials on hold (`holding`,
/// `sellable_not_accessible`) or releases them (`sellable_accessible`), as the home
/// organisation, at its GLN when configured.
fn hold_event(org: &OrganisationSettings, epcs: Vec<String>, disposition: &str) -> Document {
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
async fn capture_hold(
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

/// Quarantines the case's product: captures the hold event, sets `quarantined` and `suspect`
/// on its serials.
pub async fn quarantine(
    db: &Db,
    actor: &Actor,
    org: &OrganisationSettings,
    key: &str,
) -> Result<CaseView, InvestigationError> {
    let (c, epcs) = {
        let mut conn = db.pool().acquire().await?;
        let c = load(&mut conn, key).await?;
        check_quarantine(&c)?;
        let epcs = case_epcs(&mut conn, &c).await?;
        (c, epcs)
    };
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
    let at = now_text();
    if c.status == Status::Open.as_str() {
        c.status = Status::Quarantined.as_str().into();
    }
    c.quarantine_event = Some(hash.clone());
    c.updated_at.clone_from(&at);
    store::update(&mut tx, &c).await?;
    let (who, _, _) = actor.audit_identity();
    let details = serde_json::json!({
        "event_hash": hash,
        "epcs": count,
        "ledger_rows_quarantined": flagged,
        "biz_step": "holding",
        "disposition": "sellable_not_accessible",
    });
    let status = status_of(&c)?;
    entry(
        &mut tx,
        c.id,
        "quarantine",
        &who,
        &at,
        status,
        &details,
        Some(&hash),
    )
    .await?;
    audit_seam(&mut tx, actor, "investigations quarantine", &c.reference).await?;
    tx.commit().await?;
    show(db, &c.id.to_string()).await
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
    let at = now_text();
    c.updated_at.clone_from(&at);
    store::update(&mut tx, &c).await?;
    let (who, _, _) = actor.audit_identity();
    entry(
        &mut tx,
        c.id,
        "note",
        &who,
        &at,
        status_of(&c)?,
        &serde_json::json!({"text": text}),
        None,
    )
    .await?;
    audit_seam(&mut tx, actor, "investigations note", &c.reference).await?;
    tx.commit().await?;
    show(db, &c.id.to_string()).await
}

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
    let at = now_text();
    c.updated_at.clone_from(&at);
    store::update(&mut tx, &c).await?;
    let (who, _, _) = actor.audit_identity();
    let details = serde_json::json!({"summary": summary, "results": results});
    entry(
        &mut tx,
        c.id,
        "verification",
        &who,
        &at,
        status_of(&c)?,
        &details,
        None,
    )
    .await?;
    audit_seam(&mut tx, actor, "investigations verify", &c.reference).await?;
    tx.commit().await?;
    show(db, &c.id.to_string()).await
}

word_enum!(
    /// Form FDA 3911 item 5, classification of notification.
    Classification {
        Counterfeit => "counterfeit",
        Diverted => "diverted",
        FraudulentTransaction => "fraudulent_transaction",
        IntentionalAdulteration => "intentional_adulteration",
        Stolen => "stolen",
        UnfitForDistribution => "unfit_for_distribution",
    }
);

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
    let (c, epcs) = {
        let mut conn = db.pool().acquire().await?;
        let c = load(&mut conn, key).await?;
        check_determine(&c)?;
        let epcs = case_epcs(&mut conn, &c).await?;
        (c, epcs)
    };
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
    c.updated_at.clone_from(&at);
    store::update(&mut tx, &c).await?;
    let (who, _, _) = actor.audit_identity();
    let details = serde_json::json!({
        "determination": d.determination.as_str(),
        "classification": d.classification.map(Classification::as_str),
        "note": note,
        "ledger_rows": rows,
        "release_event": release,
        "fda_deadline": c.fda_deadline,
    });
    entry(
        &mut tx,
        c.id,
        "determine",
        &who,
        &at,
        Status::Determined,
        &details,
        release.as_deref(),
    )
    .await?;
    audit_seam(&mut tx, actor, "investigations determine", &c.reference).await?;
    tx.commit().await?;
    show(db, &c.id.to_string()).await
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
    let at = now_text();
    c.fda_incident_number = Some(incident.to_owned());
    c.fda_notified_at = Some(notified.clone());
    c.updated_at.clone_from(&at);
    store::update(&mut tx, &c).await?;
    let clock = FdaClock::of(&c, time::OffsetDateTime::now_utc());
    let (who, _, _) = actor.audit_identity();
    let details = serde_json::json!({
        "incident_number": incident,
        "notified_at": notified,
        "deadline": c.fda_deadline,
        "in_time": clock.state == "met",
    });
    entry(
        &mut tx,
        c.id,
        "fda_notification",
        &who,
        &at,
        Status::Determined,
        &details,
        None,
    )
    .await?;
    audit_seam(&mut tx, actor, "investigations notify-fda", &c.reference).await?;
    tx.commit().await?;
    show(db, &c.id.to_string()).await
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
    c.updated_at.clone_from(&at);
    store::update(&mut tx, &c).await?;
    let (who, _, _) = actor.audit_identity();
    entry(
        &mut tx,
        c.id,
        action,
        &who,
        &at,
        status_of(&c)?,
        &details,
        None,
    )
    .await?;
    audit_seam(&mut tx, actor, "investigations terminate", &c.reference).await?;
    tx.commit().await?;
    show(db, &c.id.to_string()).await
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
    c.updated_at.clone_from(&at);
    store::update(&mut tx, &c).await?;
    let (who, _, _) = actor.audit_identity();
    entry(
        &mut tx,
        c.id,
        "close",
        &who,
        &at,
        Status::Closed,
        &serde_json::json!({"note": note}),
        None,
    )
    .await?;
    audit_seam(&mut tx, actor, "investigations close", &c.reference).await?;
    tx.commit().await?;
    show(db, &c.id.to_string()).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_parse_to_serials_and_lots() {
        let s = Product::parse_identifier("serials[0]", "urn:epc:id:sgtin:0614141.010001.ABC1")
            .unwrap();
        let Product::Serial { key, gtin, serial } = &s else {
            panic!("{s:?}")
        };
        assert_eq!(gtin, "00614141100019");
        assert_eq!(serial, "ABC1");
        assert_eq!(key, "https://id.gs1.org/01/00614141100019/21/ABC1");
        let dl =
            Product::parse_identifier("x", "https://id.gs1.org/01/00614141100019/21/ABC1").unwrap();
        assert_eq!(dl, s);
        let pair = Product::from_gtin_serial("products[0]", "00614141100019", "ABC1").unwrap();
        assert_eq!(pair, s);
        let lot =
            Product::parse_identifier("x", "urn:epc:class:lgtin:0614141.010001.LOT1").unwrap();
        assert_eq!(
            lot,
            Product::Lot {
                gtin: "00614141100019".into(),
                lot: "LOT1".into()
            }
        );
        let e = Product::parse_identifier("serials[3]", "urn:epc:id:sgtin:junk").unwrap_err();
        assert!(e.to_string().starts_with("serials[3]: "), "{e}");
        assert!(Product::from_gtin_serial("products[0]", "00614141100016", "A").is_err());
    }

    #[test]
    fn free_text_is_bounded_and_refuses_obvious_phi() {
        assert!(check_text("note", "Carton seal broken; 3 units rechecked", true).is_ok());
        assert!(check_text("note", "", true).is_err());
        assert!(check_text("note", &"x".repeat(MAX_TEXT + 1), true).is_err());
        assert!(check_text("note", "bell\u{7}", true).is_err());
        assert!(check_text("note", "Patient: John Smith", true).is_err());
        assert!(check_text("note", "see 123-45-6789", true).is_err());
        // A lot number or a phone number is not an SSN.
        assert!(check_text("note", "lot 0123-45-67890 and +1 555-0100", true).is_ok());
    }

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
