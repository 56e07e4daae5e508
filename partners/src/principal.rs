//! Principals: who can hold a client certificate, the partner record behind a trading partner,
//! and what each kind of principal may do.
//!
//! The home organisation (the company that runs the server) has staff and internal systems;
//! everyone else is a trading partner or a regulator. Roles and statuses are closed sets, spelled
//! on the wire and in the database as the lower-case words of [`PartnerRole::as_str`] and its
//! siblings.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::Error;
use crate::ids::{CompanyPrefix, Gln, PrincipalId, UsState};

macro_rules! word_enum {
    ($(#[$meta:meta])* $name:ident, $what:literal { $($(#[$vmeta:meta])* $variant:ident = $word:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "&'static str")]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The word used in the CLI, the API and the database.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $word),+
                }
            }
        }

        impl FromStr for $name {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self, Error> {
                match s {
                    $($word => Ok(Self::$variant),)+
                    _ => Err(Error::invalid($what, s, concat!("expected one of: ", $($word, " "),+))),
                }
            }
        }

        impl TryFrom<String> for $name {
            type Error = Error;
            fn try_from(s: String) -> Result<Self, Error> {
                s.parse()
            }
        }

        impl From<$name> for &'static str {
            fn from(v: $name) -> &'static str {
                v.as_str()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

word_enum!(
    /// A trading partner's role in the supply chain (DSCSA §581 categories), or regulator.
    PartnerRole, "partner role" {
        /// Dispenser (pharmacy, hospital pharmacy).
        Dispenser = "dispenser",
        /// Manufacturer (labeler).
        Manufacturer = "manufacturer",
        /// A DSCSA authority such as FDA or a state board of pharmacy.
        Regulator = "regulator",
        /// Repackager.
        Repackager = "repackager",
        /// Third-party logistics provider.
        ThirdPartyLogistics = "3pl",
        /// Wholesale distributor.
        Wholesaler = "wholesaler",
    }
);

word_enum!(
    /// Whether a principal may use the server at all.
    Status, "status" {
        /// May use the server within its permissions.
        Active = "active",
        /// Refused (403) on every request, whatever its certificate.
        Suspended = "suspended",
    }
);

word_enum!(
    /// The role of a member of the home organisation's staff.
    StaffRole, "staff role" {
        /// Administers principals and configuration.
        Admin = "admin",
        /// Reads the audit trail; read-only otherwise.
        Auditor = "auditor",
        /// Runs investigations, quarantines, FDA requests.
        Compliance = "compliance",
    }
);

word_enum!(
    /// The kind of a principal, as stored.
    KindWord, "principal kind" {
        /// A trading partner.
        Partner = "partner",
        /// A regulator.
        Regulator = "regulator",
        /// Home-organisation staff.
        Staff = "staff",
        /// A home-organisation internal system.
        System = "system",
    }
);

/// A state licence: number and issuing state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateLicence {
    /// Licence number as the state writes it.
    pub number: String,
    /// The state that issued it.
    pub state: UsState,
}

/// Licence references kept on a partner record (DSCSA ATP evidence, `reference/dscsa.md` §4.5).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Licences {
    /// State licence number and the state that issued it.
    pub state_licence: Option<StateLicence>,
    /// DEA registration number.
    pub dea: Option<String>,
    /// FDA establishment registration (FEI) number.
    pub fda_registration: Option<String>,
}

impl Licences {
    /// Checks a state licence number: 1 to 40 printable ASCII characters.
    pub fn parse_state_licence(number: &str, state: &str) -> Result<StateLicence, Error> {
        if number.is_empty()
            || number.len() > 40
            || !number.bytes().all(|b| b.is_ascii_graphic() || b == b' ')
        {
            return Err(Error::invalid(
                "state licence number",
                number,
                "1 to 40 printable ASCII characters",
            ));
        }
        Ok(StateLicence {
            number: number.to_owned(),
            state: state.parse()?,
        })
    }

    /// Checks a DEA registration number: two letters, seven digits, the last a check digit.
    pub fn parse_dea(s: &str) -> Result<String, Error> {
        let b = s.as_bytes();
        let shape = b.len() == 9
            && b.iter().take(2).all(u8::is_ascii_alphabetic)
            && b.iter().skip(2).all(u8::is_ascii_digit);
        if !shape {
            return Err(Error::invalid(
                "DEA number",
                s,
                "a DEA number is two letters and seven digits",
            ));
        }
        let d: Vec<u32> = b.iter().skip(2).map(|c| u32::from(c - b'0')).collect();
        let (odd, even, check) = match d.as_slice() {
            [a, b, c, e, f, g, check] => (a + c + f, b + e + g, *check),
            _ => return Err(Error::invalid("DEA number", s, "seven digits expected")),
        };
        if (odd + 2 * even) % 10 != check {
            return Err(Error::invalid(
                "DEA number",
                s,
                "the last digit is not the DEA check digit",
            ));
        }
        Ok(s.to_ascii_uppercase())
    }

    /// Checks an FDA registration (FEI) number: 7 to 10 digits.
    pub fn parse_fda_registration(s: &str) -> Result<String, Error> {
        if (7..=10).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit()) {
            Ok(s.to_owned())
        } else {
            Err(Error::invalid(
                "FDA registration",
                s,
                "an FDA registration (FEI) number is 7 to 10 digits",
            ))
        }
    }
}

/// What the home organisation knows about a trading partner or regulator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartnerRecord {
    /// Legal name, as on its licences.
    pub legal_name: String,
    /// Role in the supply chain.
    pub role: PartnerRole,
    /// Party GLNs (the organisation) and location GLNs (its sites), without distinction of use.
    pub glns: Vec<Gln>,
    /// GS1 company prefixes it owns (the GTINs it may commission).
    pub company_prefixes: Vec<CompanyPrefix>,
    /// Licence references.
    pub licences: Licences,
    /// Reference to its ATP credential (for example an OCI credential id), when known.
    pub atp_credential: Option<String>,
}

/// What kind of principal, with the details each kind carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PrincipalKind {
    /// A trading partner (manufacturer, repackager, wholesaler, 3PL, dispenser).
    Partner(PartnerRecord),
    /// A regulator (FDA, a state board): sees what its records requests cover.
    Regulator(PartnerRecord),
    /// A member of the home organisation's staff.
    Staff {
        /// The staff member's role.
        role: StaffRole,
    },
    /// One of the home organisation's own systems (for example the ERP that captures its events).
    System,
}

impl PrincipalKind {
    /// The stored word for this kind.
    pub fn word(&self) -> KindWord {
        match self {
            Self::Partner(_) => KindWord::Partner,
            Self::Regulator(_) => KindWord::Regulator,
            Self::Staff { .. } => KindWord::Staff,
            Self::System => KindWord::System,
        }
    }

    /// A partner or regulator kind for a record: the record's role decides which.
    pub fn for_record(record: PartnerRecord) -> Self {
        if record.role == PartnerRole::Regulator {
            Self::Regulator(record)
        } else {
            Self::Partner(record)
        }
    }

    /// The partner record, for partners and regulators.
    pub fn record(&self) -> Option<&PartnerRecord> {
        match self {
            Self::Partner(r) | Self::Regulator(r) => Some(r),
            Self::Staff { .. } | Self::System => None,
        }
    }
}

/// Someone or something the server can authenticate: the subject of certificate bindings,
/// permissions and visibility.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    /// Stable id.
    pub id: PrincipalId,
    /// Human-readable name (a person's name, a system's name, or the partner's legal name).
    pub display_name: String,
    /// Active or suspended.
    pub status: Status,
    /// Kind and its details.
    #[serde(flatten)]
    pub kind: PrincipalKind,
}

/// Something a principal may ask the server to do. Each request names one; the server's
/// authorisation extractor checks it with [`Principal::permits`] before any handler runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Administer principals, bindings and configuration.
    Administer,
    /// Capture EPCIS events.
    CaptureEvents,
    /// Say who you are (`GET /whoami`): any active principal.
    Identify,
    /// Run investigations, quarantines, Form 3911 and FDA records requests.
    Investigate,
    /// Query EPCIS events (always filtered by [`crate::Visibility`]).
    QueryEvents,
    /// Read the audit trail.
    ReadAudit,
    /// Produce FDA records packages (records requests): compliance staff and regulators.
    RecordsRequest,
    /// Send tracing requests.
    Trace,
    /// Verify product identifiers.
    Verify,
}

impl Principal {
    /// Whether this principal's kind allows `action`. Status is not considered here: callers
    /// check [`Status::Suspended`] first so that the refusal can say why.
    pub fn permits(&self, action: Action) -> bool {
        use Action::*;
        match &self.kind {
            PrincipalKind::Partner(_) => matches!(
                action,
                Identify | CaptureEvents | QueryEvents | Verify | Trace
            ),
            PrincipalKind::Regulator(_) => {
                matches!(action, Identify | QueryEvents | Trace | RecordsRequest)
            }
            PrincipalKind::Staff { role } => match role {
                StaffRole::Admin => matches!(action, Identify | Administer | QueryEvents),
                StaffRole::Auditor => matches!(action, Identify | QueryEvents | ReadAudit),
                StaffRole::Compliance => !matches!(action, Administer | ReadAudit),
            },
            PrincipalKind::System => matches!(
                action,
                Identify | CaptureEvents | QueryEvents | Verify | Trace
            ),
        }
    }

    /// True for staff and internal systems: the home organisation itself.
    pub fn is_home_organisation(&self) -> bool {
        matches!(
            self.kind,
            PrincipalKind::Staff { .. } | PrincipalKind::System
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(kind: PrincipalKind) -> Principal {
        Principal {
            id: "p".parse().unwrap(),
            display_name: "P".into(),
            status: Status::Active,
            kind,
        }
    }

    fn record(role: PartnerRole) -> PartnerRecord {
        PartnerRecord {
            legal_name: "Acme".into(),
            role,
            glns: vec![],
            company_prefixes: vec![],
            licences: Licences::default(),
            atp_credential: None,
        }
    }

    #[test]
    fn words_round_trip() {
        for role in PartnerRole::ALL {
            assert_eq!(role.as_str().parse::<PartnerRole>().unwrap(), *role);
        }
        let err = "distributor"
            .parse::<PartnerRole>()
            .unwrap_err()
            .to_string();
        assert!(err.contains("wholesaler"), "{err}");
    }

    #[test]
    fn regulator_role_makes_regulator_kind() {
        let kind = PrincipalKind::for_record(record(PartnerRole::Regulator));
        assert_eq!(kind.word(), KindWord::Regulator);
        let kind = PrincipalKind::for_record(record(PartnerRole::Wholesaler));
        assert_eq!(kind.word(), KindWord::Partner);
    }

    #[test]
    fn permission_matrix() {
        let partner = principal(PrincipalKind::Partner(record(PartnerRole::Dispenser)));
        assert!(partner.permits(Action::CaptureEvents));
        assert!(!partner.permits(Action::Investigate));
        assert!(!partner.permits(Action::ReadAudit));
        let auditor = principal(PrincipalKind::Staff {
            role: StaffRole::Auditor,
        });
        assert!(auditor.permits(Action::ReadAudit));
        assert!(!auditor.permits(Action::CaptureEvents));
        let compliance = principal(PrincipalKind::Staff {
            role: StaffRole::Compliance,
        });
        assert!(compliance.permits(Action::Investigate));
        assert!(!compliance.permits(Action::Administer));
        let regulator = principal(PrincipalKind::Regulator(record(PartnerRole::Regulator)));
        assert!(!regulator.permits(Action::CaptureEvents));
        // FDA records packages: compliance staff and regulators, nobody else.
        assert!(compliance.permits(Action::RecordsRequest));
        assert!(regulator.permits(Action::RecordsRequest));
        assert!(!partner.permits(Action::RecordsRequest));
        assert!(!auditor.permits(Action::RecordsRequest));
        for p in [&partner, &auditor, &compliance, &regulator] {
            assert!(p.permits(Action::Identify));
        }
        assert!(compliance.is_home_organisation());
        assert!(!partner.is_home_organisation());
    }

    #[test]
    fn licence_checks() {
        // Check digit: (A+C+E) + 2*(B+D+F) = (1+3+5) + 2*(2+4+6) = 33 -> 3.
        assert_eq!(Licences::parse_dea("ab1234563").unwrap(), "AB1234563");
        assert!(Licences::parse_dea("AB1234564").is_err());
        assert!(Licences::parse_dea("A11234563").is_err());
        assert!(Licences::parse_fda_registration("3001234567").is_ok());
        assert!(Licences::parse_fda_registration("12").is_err());
        assert!(Licences::parse_state_licence("WD-0001", "nj").is_ok());
        assert!(Licences::parse_state_licence("", "NJ").is_err());
        assert!(Licences::parse_state_licence("X", "ZZ").is_err());
    }
}
