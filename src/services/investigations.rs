//! Investigations of suspect and illegitimate product (DSCSA §582(b)(4)…(e)(4);
//! `../shared/reference/dscsa.md` §3): open a case for serials or a lot, quarantine it with a
//! real EPCIS event, attach notes, determine it cleared, suspect or illegitimate (which starts
//! the 24-hour FDA notification clock), record FDA's incident number, request and confirm
//! termination, close. Form FDA 3911 data comes from [`form3911`].
//!
//! Each use-case is one transaction with its audit record (`audit_seam`) and one timeline
//! entry: the case row, the ledger flags it sets and the record commit together or not at all.
//! WHY the quarantine and release events commit first, in a transaction of their own: they go
//! through [`crate::services::capture::capture`] exactly as a partner's event would (same validation, ledger
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
//!
//! This module holds the public types (the error, the stored words, the limits) and
//! re-exports the use-cases from the submodules that own them: `input` parses identifiers and
//! free text, `step` loads a case and writes a step's record, `hold` builds and captures the
//! quarantine and release events, `lifecycle` moves a case through its states, `verification`
//! verifies its packages, `views` shows cases and their FDA clock, and [`form3911`] assembles
//! the FDA form's data.

pub mod form3911;
mod hold;
mod input;
mod lifecycle;
mod step;
mod verification;
mod views;

use serde::{Deserialize, Serialize};

use crate::storage::StorageError;

pub use hold::home_site;
pub use input::{Product, check_text};
pub use lifecycle::{
    NewDetermination, NewInvestigation, Termination, close, determine, note, notify_fda, open,
    quarantine, terminate,
};
pub use verification::{MAX_VERIFICATIONS, verify_case};
pub use views::{CaseView, EntryView, FdaClock, ItemView, SerialView, Summary, list, show};

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
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
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
