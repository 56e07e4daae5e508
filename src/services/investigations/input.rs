//! Parsing what a person types into a case: product identifiers (SGTIN/LGTIN EPC URNs, GS1
//! Digital Links, GTIN + serial, GTIN + lot) into [`Product`]s with their ledger keys, and free
//! text ([`check_text`]): bounded to [`MAX_TEXT`] characters, no control characters but newline
//! and tab, and nothing that looks like patient information, because these records are kept six
//! years and shared with FDA and trading partners (`dscsa.md` §5.3).

use epcis::id::{DigitalLink, Epc, Gtin};

use super::{InvestigationError, MAX_TEXT, invalid};
use crate::storage::investigations::ItemRow;
use crate::stored::epc_key;

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
            return Self::of_parts(value, &gtin, epc.serial(), epc.lot()).ok_or_else(|| {
                invalid(field, format!("{value:?} names neither a serial nor a lot"))
            });
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
            return Self::of_parts(value, gtin, dl.serial(), dl.lot()).ok_or_else(|| {
                invalid(
                    field,
                    format!("{value:?} names neither a serial (AI 21) nor a lot (AI 10)"),
                )
            });
        }
        Err(invalid(
            field,
            format!(
                "{value:?}: give an SGTIN EPC URN (urn:epc:id:sgtin:…), an LGTIN \
                 (urn:epc:class:lgtin:…) or a GS1 Digital Link (https://id.gs1.org/01/…/21/…)"
            ),
        ))
    }

    /// The serial (when `serial` is given) or lot that identifier `value` names; none when it
    /// names neither. An EPC URN and a Digital Link carry the same parts.
    fn of_parts(value: &str, gtin: &Gtin, serial: Option<&str>, lot: Option<&str>) -> Option<Self> {
        let gtin = gtin.as_str().to_owned();
        match (serial, lot) {
            (Some(serial), _) => Some(Self::Serial {
                key: epc_key(value),
                gtin,
                serial: serial.to_owned(),
            }),
            (None, Some(lot)) => Some(Self::Lot {
                gtin,
                lot: lot.to_owned(),
            }),
            (None, None) => None,
        }
    }

    /// A serial from a GTIN and a serial number.
    pub fn from_gtin_serial(
        field: &str,
        gtin: &str,
        serial: &str,
    ) -> Result<Self, InvestigationError> {
        let gtin = parse_gtin(&format!("{field}.gtin"), gtin)?;
        let serial = number(field, "serial", serial)?;
        let link = format!(
            "https://id.gs1.org/01/{}/21/{}",
            gtin.as_str(),
            epcis::id::charset::dl_encode(&serial)
        );
        Ok(Self::Serial {
            key: epc_key(&link),
            gtin: gtin.as_str().to_owned(),
            serial,
        })
    }

    /// A lot from a GTIN and a lot number.
    pub fn from_gtin_lot(field: &str, gtin: &str, lot: &str) -> Result<Self, InvestigationError> {
        let gtin = parse_gtin(&format!("{field}.gtin"), gtin)?;
        let lot = number(field, "lot", lot)?;
        Ok(Self::Lot {
            gtin: gtin.as_str().to_owned(),
            lot,
        })
    }

    /// The item row that stores this product.
    pub(super) fn row(&self) -> ItemRow {
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

/// A serial or lot number (`what`) of product `field`: 1 to 20 characters of GS1's CSET 82,
/// trimmed.
fn number(field: &str, what: &'static str, value: &str) -> Result<String, InvestigationError> {
    let value = value.trim();
    epcis::id::charset::check_cset82(what, value)
        .map_err(|e| invalid(format!("{field}.{what}"), e.to_string()))?;
    if value.is_empty() || value.len() > 20 {
        return Err(invalid(
            format!("{field}.{what}"),
            format!("a {what} number has 1 to 20 characters"),
        ));
    }
    Ok(value.to_owned())
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
}
