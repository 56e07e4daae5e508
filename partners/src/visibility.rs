//! The visibility policy: which events a principal may see (`../shared/DESIGN.md`, Data and
//! invariants).
//!
//! - The home organisation (its staff and internal systems) sees every event.
//! - A trading partner sees the events it captured and the events whose source or destination
//!   lists (owning party, possessing party, location) name one of its GLNs.
//! - A regulator sees what its FDA records requests cover: the events a records package
//!   produced for one of its requests holds (the repository keeps them per request).
//!
//! Every query path applies the policy in SQL, never after fetching. [`Visibility::condition`]
//! compiles the policy to a [`SqlCondition`]: a list of fragments drawn from the closed enum
//! [`Fragment`] plus the values to bind. [`SqlCondition::render`] writes the fragments with
//! `$n` placeholders (PostgreSQL and SQLite through sqlx both accept them) against the column
//! names of an [`EventSchema`], whose fields are `&'static str`: no text from a request or a
//! certificate ever becomes SQL.

use serde::Serialize;

use crate::ids::{Gln, PrincipalId};
use crate::principal::{Principal, PrincipalKind};

/// Which events a principal may see.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "scope", rename_all = "snake_case")]
pub enum Visibility {
    /// Every event (the home organisation).
    All,
    /// Events the principal captured, or whose source/destination GLNs include one of `glns`.
    PartyTo {
        /// Whose captures are visible.
        captured_by: PrincipalId,
        /// The principal's party and location GLNs.
        glns: Vec<Gln>,
    },
    /// The events the principal's FDA records requests cover (the events of the packages
    /// produced for them).
    RecordsRequests {
        /// The regulator.
        regulator: PrincipalId,
    },
}

impl Visibility {
    /// The policy for a principal.
    pub fn of(principal: &Principal) -> Self {
        match &principal.kind {
            PrincipalKind::Staff { .. } | PrincipalKind::System => Self::All,
            PrincipalKind::Partner(record) => Self::PartyTo {
                captured_by: principal.id.clone(),
                glns: record.glns.clone(),
            },
            PrincipalKind::Regulator(_) => Self::RecordsRequests {
                regulator: principal.id.clone(),
            },
        }
    }

    /// One sentence for people (the `/whoami` answer and `dscsa partners show`).
    pub fn summary(&self) -> String {
        match self {
            Self::All => "every event (home organisation)".into(),
            Self::PartyTo { glns, .. } if glns.is_empty() => {
                "events it captured (no GLNs registered, so no events of other parties)".into()
            }
            Self::PartyTo { glns, .. } => format!(
                "events it captured, and events whose source or destination names one of its {} GLN(s)",
                glns.len()
            ),
            Self::RecordsRequests { .. } => {
                "events covered by its FDA records requests (the events of the packages produced for them)".into()
            }
        }
    }

    /// The policy as an SQL condition.
    pub fn condition(&self) -> SqlCondition {
        match self {
            Self::All => SqlCondition {
                fragments: vec![Fragment::True],
                binds: vec![],
            },
            Self::PartyTo { captured_by, glns } => {
                let mut fragments = vec![Fragment::CapturedBy];
                let mut binds = vec![captured_by.to_string()];
                if !glns.is_empty() {
                    fragments.push(Fragment::PartyGlnIn(glns.len()));
                    binds.extend(glns.iter().map(ToString::to_string));
                }
                SqlCondition { fragments, binds }
            }
            Self::RecordsRequests { regulator } => SqlCondition {
                fragments: vec![Fragment::RequestedBy],
                binds: vec![regulator.to_string()],
            },
        }
    }

    /// The same policy evaluated in memory, for one event: who captured it and the GLNs of its
    /// source and destination lists. Tests check that SQL and this agree. A regulator's
    /// records requests live in the repository, not in the event: in memory they cover
    /// nothing, so this answers `false` for them (the SQL condition is the authority).
    pub fn permits(&self, captured_by: &str, party_glns: &[&str]) -> bool {
        match self {
            Self::All => true,
            Self::PartyTo {
                captured_by: me,
                glns,
            } => {
                me.as_str() == captured_by || glns.iter().any(|g| party_glns.contains(&g.as_str()))
            }
            Self::RecordsRequests { .. } => false,
        }
    }
}

/// One piece of a visibility condition. The set is closed: adding a way to see events means
/// adding a variant here, reviewed, not composing SQL elsewhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fragment {
    /// The event's capturing principal equals the next bind value.
    CapturedBy,
    /// Never true.
    False,
    /// One of the event's source/destination GLNs is among the next `n` bind values.
    PartyGlnIn(usize),
    /// The event is in a records package produced for a request of the regulator named by
    /// the next bind value.
    RequestedBy,
    /// Always true.
    True,
}

/// Where the events and their party GLNs live. The repository defines one constant of this
/// type; its fields are static so they cannot come from input.
#[derive(Debug, Clone, Copy)]
pub struct EventSchema {
    /// The events table's id column, qualified (`e.id`).
    pub event_id: &'static str,
    /// The events table's capturing-principal column, qualified (`e.captured_by`).
    pub captured_by: &'static str,
    /// The table with one row per (event, source/destination GLN).
    pub parties_table: &'static str,
    /// Its event id column.
    pub parties_event_id: &'static str,
    /// Its GLN column (13 digits).
    pub parties_gln: &'static str,
    /// The table with one row per (records request, event its package holds), columns
    /// `request_id` and `event`.
    pub request_events_table: &'static str,
    /// The records requests table, columns `id` and `regulator` (a principal id).
    pub requests_table: &'static str,
}

/// A compiled visibility condition: fragments to OR together, and the values they bind, in
/// order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlCondition {
    /// The fragments, joined with `OR`.
    pub fragments: Vec<Fragment>,
    /// The bind values, in placeholder order.
    pub binds: Vec<String>,
}

impl SqlCondition {
    /// The condition as SQL text in parentheses, numbering placeholders from `$first`. Bind
    /// [`SqlCondition::binds`] in order after the query's earlier parameters.
    pub fn render(&self, schema: &EventSchema, first: usize) -> String {
        let mut next = first;
        let mut placeholder = || {
            let p = format!("${next}");
            next += 1;
            p
        };
        let parts: Vec<String> = self
            .fragments
            .iter()
            .map(|fragment| match fragment {
                Fragment::True => "TRUE".to_owned(),
                Fragment::False => "FALSE".to_owned(),
                Fragment::CapturedBy => format!("{} = {}", schema.captured_by, placeholder()),
                Fragment::PartyGlnIn(n) => {
                    let list: Vec<String> = (0..*n).map(|_| placeholder()).collect();
                    format!(
                        "EXISTS (SELECT 1 FROM {t} vis_p WHERE vis_p.{eid} = {id} AND vis_p.{gln} IN ({list}))",
                        t = schema.parties_table,
                        eid = schema.parties_event_id,
                        id = schema.event_id,
                        gln = schema.parties_gln,
                        list = list.join(", ")
                    )
                }
                Fragment::RequestedBy => format!(
                    "EXISTS (SELECT 1 FROM {re} vis_r JOIN {rq} vis_q ON vis_q.id = vis_r.request_id \
                     WHERE vis_r.event = {id} AND vis_q.regulator = {p})",
                    re = schema.request_events_table,
                    rq = schema.requests_table,
                    id = schema.event_id,
                    p = placeholder()
                ),
            })
            .collect();
        format!("({})", parts.join(" OR "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::principal::{Licences, PartnerRecord, PartnerRole, StaffRole, Status};

    const SCHEMA: EventSchema = EventSchema {
        event_id: "e.id",
        captured_by: "e.captured_by",
        parties_table: "event_parties",
        parties_event_id: "event_id",
        parties_gln: "gln",
        request_events_table: "fda_request_events",
        requests_table: "fda_records_requests",
    };

    fn partner(glns: &[&str]) -> Principal {
        Principal {
            id: "acme".parse().unwrap(),
            display_name: "Acme".into(),
            status: Status::Active,
            kind: PrincipalKind::Partner(PartnerRecord {
                legal_name: "Acme".into(),
                role: PartnerRole::Wholesaler,
                glns: glns.iter().map(|g| g.parse().unwrap()).collect(),
                company_prefixes: vec![],
                licences: Licences::default(),
                atp_credential: None,
            }),
        }
    }

    #[test]
    fn home_organisation_sees_all() {
        for kind in [
            PrincipalKind::System,
            PrincipalKind::Staff {
                role: StaffRole::Auditor,
            },
        ] {
            let mut p = partner(&[]);
            p.kind = kind;
            let v = Visibility::of(&p);
            assert_eq!(v, Visibility::All);
            assert_eq!(v.condition().render(&SCHEMA, 1), "(TRUE)");
            assert!(v.permits("someone-else", &[]));
        }
    }

    #[test]
    fn partner_sees_its_captures_and_its_glns() {
        let v = Visibility::of(&partner(&["0614141000005", "0614141000012"]));
        let c = v.condition();
        assert_eq!(
            c.render(&SCHEMA, 3),
            "(e.captured_by = $3 OR EXISTS (SELECT 1 FROM event_parties vis_p \
             WHERE vis_p.event_id = e.id AND vis_p.gln IN ($4, $5)))"
        );
        assert_eq!(c.binds, ["acme", "0614141000005", "0614141000012"]);
        assert!(v.permits("acme", &[]));
        assert!(v.permits("other", &["0614141000012"]));
        assert!(!v.permits("other", &["0614141000029"]));
    }

    #[test]
    fn partner_without_glns_sees_only_its_captures() {
        let v = Visibility::of(&partner(&[]));
        assert_eq!(v.condition().render(&SCHEMA, 1), "(e.captured_by = $1)");
        assert!(v.summary().contains("no GLNs"));
    }

    #[test]
    fn hostile_ids_stay_bind_values() {
        // Ids and GLNs are validated newtypes, but even so they only ever travel as binds.
        let v = Visibility::of(&partner(&["0614141000005"]));
        let sql = v.condition().render(&SCHEMA, 1);
        assert!(
            !sql.contains("acme") && !sql.contains("0614141000005"),
            "{sql}"
        );
    }

    #[test]
    fn regulator_sees_what_its_records_requests_cover() {
        let mut p = partner(&["0614141000005"]);
        if let PrincipalKind::Partner(r) = &p.kind {
            let mut r = r.clone();
            r.role = PartnerRole::Regulator;
            p.kind = PrincipalKind::for_record(r);
        }
        let v = Visibility::of(&p);
        let c = v.condition();
        assert_eq!(
            c.render(&SCHEMA, 1),
            "(EXISTS (SELECT 1 FROM fda_request_events vis_r JOIN fda_records_requests vis_q \
             ON vis_q.id = vis_r.request_id WHERE vis_r.event = e.id AND vis_q.regulator = $1))"
        );
        assert_eq!(c.binds, ["acme"]);
        assert!(
            !v.permits("fda", &["0614141000005"]),
            "not from the event alone"
        );
    }
}
