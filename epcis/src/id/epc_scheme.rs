//! [`EpcScheme`] and [`EpcForm`]: which EPC URIs exist, and each scheme's layout (digits of
//! company prefix + reference, where the indicator or filter digit goes, what follows the
//! reference, which Digital Link AI it maps to), per GS1 Tag Data Standard §6.3 and §14.
//!
//! The layout table (`EpcScheme::shape`) is the single place [`super::Epc`]'s parser, display
//! and Digital Link conversion read scheme rules from.

use std::fmt;

/// The EPC scheme: which GS1 key the URI carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EpcScheme {
    /// Component / Part Identifier (AI 8010 + 8011).
    Cpi,
    /// Global Document Type Identifier (AI 253).
    Gdti,
    /// Global Individual Asset Identifier (AI 8004).
    Giai,
    /// Global Identification Number for Consignment (AI 401).
    Ginc,
    /// Global Returnable Asset Identifier (AI 8003).
    Grai,
    /// Global Shipment Identification Number (AI 402).
    Gsin,
    /// Global Service Relation Number, recipient (AI 8018).
    Gsrn,
    /// Global Service Relation Number, provider (AI 8017).
    Gsrnp,
    /// Individual Trade Item Piece (AI 8006 + 21).
    Itip,
    /// GTIN + batch/lot (class URI; AI 01 + 10).
    Lgtin,
    /// Party GLN (AI 417).
    Pgln,
    /// Serialised Global Coupon Number (AI 255).
    Sgcn,
    /// GLN of a physical location, with extension (AI 414 + 254).
    Sgln,
    /// Serialised GTIN (AI 01 + 21).
    Sgtin,
    /// Serial Shipping Container Code (AI 00).
    Sscc,
    /// Unit Pack Identifier (AI 01 + 235).
    Upui,
}

/// Which kind of EPC URI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EpcForm {
    /// `urn:epc:class:` (a class of objects, e.g. one lot of one GTIN).
    Class,
    /// `urn:epc:id:` (one object).
    Id,
    /// `urn:epc:idpat:` with every part but the last fixed (`….*`).
    Pattern,
}

/// How a scheme's company prefix and reference make the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lead {
    /// The reference's first digit (indicator, extension) goes before the company prefix.
    Moved,
    /// A `0` filter goes before the company prefix (GRAI).
    Zero,
    /// Company prefix then reference.
    None,
}

/// What follows the reference in an `urn:epc:id:` URI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tail {
    /// Nothing.
    None,
    /// CSET 82 text of 1 to `max` characters.
    Text {
        field: &'static str,
        max: usize,
        rule: &'static str,
    },
    /// 1 to `max` digits.
    Digits {
        field: &'static str,
        max: usize,
        rule: &'static str,
    },
    /// ITIP: piece, total (2 digits each), then a CSET 82 serial of up to 20.
    Itip,
}

/// A scheme's layout (GS1 TDS §6.3 and §14).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Shape {
    /// Digits of company prefix + reference before the check digit; `None` for the alphanumeric
    /// keys (GIAI, GINC, CPI: at most 30 characters in all).
    pub(crate) digits: Option<usize>,
    pub(crate) lead: Lead,
    /// The reference's name in error messages.
    pub(crate) reference: &'static str,
    /// The length rule for the reference.
    pub(crate) reference_rule: &'static str,
    pub(crate) tail: Tail,
    /// The Digital Link primary key AI.
    pub(crate) ai: &'static str,
    /// What joins the tail to the key in a Digital Link (`/21/`, or empty when concatenated).
    pub(crate) dl_joint: &'static str,
}

const SERIAL20: Tail = Tail::Text {
    field: "serial",
    max: 20,
    rule: "a serial has at most 20 characters",
};

impl EpcScheme {
    /// Every scheme, for iteration.
    pub const ALL: [Self; 16] = [
        Self::Cpi,
        Self::Gdti,
        Self::Giai,
        Self::Ginc,
        Self::Grai,
        Self::Gsin,
        Self::Gsrn,
        Self::Gsrnp,
        Self::Itip,
        Self::Lgtin,
        Self::Pgln,
        Self::Sgcn,
        Self::Sgln,
        Self::Sgtin,
        Self::Sscc,
        Self::Upui,
    ];

    /// The scheme's name as it appears in the URI (`sgtin`).
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Cpi => "cpi",
            Self::Gdti => "gdti",
            Self::Giai => "giai",
            Self::Ginc => "ginc",
            Self::Grai => "grai",
            Self::Gsin => "gsin",
            Self::Gsrn => "gsrn",
            Self::Gsrnp => "gsrnp",
            Self::Itip => "itip",
            Self::Lgtin => "lgtin",
            Self::Pgln => "pgln",
            Self::Sgcn => "sgcn",
            Self::Sgln => "sgln",
            Self::Sgtin => "sgtin",
            Self::Sscc => "sscc",
            Self::Upui => "upui",
        }
    }

    /// The scheme with this URI name.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }

    /// Whether URIs of `form` exist for this scheme here. Patterns are those the GS1 event-hash
    /// normaliser understands.
    #[must_use]
    pub const fn supports(self, form: EpcForm) -> bool {
        match form {
            EpcForm::Class => matches!(self, Self::Lgtin),
            EpcForm::Id => !matches!(self, Self::Lgtin),
            EpcForm::Pattern => matches!(
                self,
                Self::Sgtin
                    | Self::Grai
                    | Self::Gdti
                    | Self::Sgcn
                    | Self::Cpi
                    | Self::Itip
                    | Self::Upui
            ),
        }
    }

    pub(crate) const fn shape(self) -> Shape {
        const fn s(
            digits: Option<usize>,
            lead: Lead,
            reference: &'static str,
            reference_rule: &'static str,
            tail: Tail,
            ai: &'static str,
            dl_joint: &'static str,
        ) -> Shape {
            Shape {
                digits,
                lead,
                reference,
                reference_rule,
                tail,
                ai,
                dl_joint,
            }
        }
        const GTIN_REF: &str = "company prefix and indicator + item reference have 13 digits";
        const TWELVE: &str = "company prefix and reference have 12 digits";
        const SEVENTEEN: &str = "company prefix and reference have 17 digits";
        match self {
            Self::Sgtin => s(
                Some(13),
                Lead::Moved,
                "item reference",
                GTIN_REF,
                SERIAL20,
                "01",
                "/21/",
            ),
            Self::Lgtin => s(
                Some(13),
                Lead::Moved,
                "item reference",
                GTIN_REF,
                Tail::Text {
                    field: "lot",
                    max: 20,
                    rule: "a lot has at most 20 characters",
                },
                "01",
                "/10/",
            ),
            Self::Upui => s(
                Some(13),
                Lead::Moved,
                "item reference",
                GTIN_REF,
                Tail::Text {
                    field: "TPX",
                    max: 28,
                    rule: "a TPX has at most 28 characters",
                },
                "01",
                "/235/",
            ),
            Self::Itip => s(
                Some(13),
                Lead::Moved,
                "item reference",
                GTIN_REF,
                Tail::Itip,
                "8006",
                "/21/",
            ),
            Self::Sscc => s(
                Some(17),
                Lead::Moved,
                "serial reference",
                SEVENTEEN,
                Tail::None,
                "00",
                "",
            ),
            Self::Grai => s(
                Some(12),
                Lead::Zero,
                "asset type",
                TWELVE,
                Tail::Text {
                    field: "serial",
                    max: 16,
                    rule: "a GRAI serial has at most 16 characters",
                },
                "8003",
                "",
            ),
            Self::Sgln => s(
                Some(12),
                Lead::None,
                "location reference",
                TWELVE,
                Tail::Text {
                    field: "extension",
                    max: 20,
                    rule: "a GLN extension has at most 20 characters",
                },
                "414",
                "/254/",
            ),
            Self::Pgln => s(
                Some(12),
                Lead::None,
                "party reference",
                TWELVE,
                Tail::None,
                "417",
                "",
            ),
            Self::Gdti => s(
                Some(12),
                Lead::None,
                "document type",
                TWELVE,
                Tail::Text {
                    field: "serial",
                    max: 17,
                    rule: "a GDTI serial has at most 17 characters",
                },
                "253",
                "",
            ),
            Self::Sgcn => s(
                Some(12),
                Lead::None,
                "coupon reference",
                TWELVE,
                Tail::Digits {
                    field: "serial",
                    max: 12,
                    rule: "an SGCN serial has at most 12 digits",
                },
                "255",
                "",
            ),
            Self::Gsrn => s(
                Some(17),
                Lead::None,
                "service reference",
                SEVENTEEN,
                Tail::None,
                "8018",
                "",
            ),
            Self::Gsrnp => s(
                Some(17),
                Lead::None,
                "service reference",
                SEVENTEEN,
                Tail::None,
                "8017",
                "",
            ),
            Self::Gsin => s(
                Some(16),
                Lead::None,
                "shipper reference",
                "company prefix and reference have 16 digits",
                Tail::None,
                "402",
                "",
            ),
            Self::Giai => s(
                None,
                Lead::None,
                "individual asset reference",
                "a GIAI has at most 30 characters",
                Tail::None,
                "8004",
                "",
            ),
            Self::Ginc => s(
                None,
                Lead::None,
                "consignment reference",
                "a GINC has at most 30 characters",
                Tail::None,
                "401",
                "",
            ),
            Self::Cpi => s(
                None,
                Lead::None,
                "component/part reference",
                "a CPI has at most 30 characters",
                Tail::Digits {
                    field: "serial",
                    max: 12,
                    rule: "a CPI serial has at most 12 digits",
                },
                "8010",
                "/8011/",
            ),
        }
    }
}

impl fmt::Display for EpcScheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheme_names_round_trip() {
        for s in EpcScheme::ALL {
            assert_eq!(EpcScheme::from_name(s.name()), Some(s));
            assert_eq!(s.to_string(), s.name());
        }
        assert_eq!(EpcScheme::from_name("SGTIN"), None);
    }

    #[test]
    fn forms() {
        assert!(EpcScheme::Lgtin.supports(EpcForm::Class));
        assert!(!EpcScheme::Lgtin.supports(EpcForm::Id));
        assert!(!EpcScheme::Sscc.supports(EpcForm::Pattern));
        assert!(EpcScheme::Itip.supports(EpcForm::Pattern));
    }

    #[test]
    fn gtin_schemes_have_13_digits_with_the_indicator_moved() {
        for s in [
            EpcScheme::Sgtin,
            EpcScheme::Lgtin,
            EpcScheme::Itip,
            EpcScheme::Upui,
        ] {
            let shape = s.shape();
            assert_eq!((shape.digits, shape.lead), (Some(13), Lead::Moved));
        }
    }
}
