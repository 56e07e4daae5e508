//! [`ScannedProduct`]: the DSCSA product identifier read from a package — GTIN, serial, lot,
//! expiry — whatever the scanner produced.
//!
//! Input is either element string data (see [`super::element_string`] for the forms accepted) or
//! a GS1 Digital Link URI (a 2D code encoding a URL, possibly behind a QR symbology identifier
//! such as `]Q1`). The GTIN (AI 01) is required; the rest is optional here (a DSCSA saleable
//! unit carries all four, but a case label or a partial scan may not, and the caller decides).

use std::fmt;
use std::str::FromStr;

use super::charset::dl_encode;
use super::digital_link::{DigitalLink, PrimaryKey};
use super::element_string::ElementString;
use super::error::IdError;
use super::expiry::Expiry;
use super::keys::Gtin;

/// A product identifier from a scan.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ScannedProduct {
    gtin: Gtin,
    serial: Option<String>,
    lot: Option<String>,
    expiry: Option<Expiry>,
}

impl ScannedProduct {
    /// Parses scanner output: an element string (raw with GS, typed, or with parentheses, with
    /// or without a symbology identifier) or a GS1 Digital Link URI.
    ///
    /// # Errors
    /// The element string or Digital Link errors, and [`IdError::MissingAi`] without a GTIN.
    pub fn parse(input: &str) -> Result<Self, IdError> {
        let trimmed = input.trim();
        let after_id = match trimmed.strip_prefix(']') {
            // Any symbology may carry a URL (a plain QR code is `]Q1`).
            Some(rest) => rest.get(2..).unwrap_or_default(),
            None => trimmed,
        };
        let b = after_id.as_bytes();
        let is_http = |p: &[u8]| b.get(..p.len()).is_some_and(|h| h.eq_ignore_ascii_case(p));
        if is_http(b"https://") || is_http(b"http://") {
            return Self::from_digital_link(&DigitalLink::parse(after_id)?);
        }
        Self::from_element_string(&ElementString::parse(trimmed)?)
    }

    /// The product identifier in a parsed element string.
    ///
    /// # Errors
    /// [`IdError::MissingAi`] without AI 01.
    pub fn from_element_string(es: &ElementString) -> Result<Self, IdError> {
        let gtin = es
            .get("01")
            .ok_or_else(|| missing_gtin(es.get("00").is_some()))?;
        Ok(Self {
            // The element string parser verified the check digit already.
            gtin: Gtin::parse(gtin)?,
            serial: es.get("21").map(str::to_owned),
            lot: es.get("10").map(str::to_owned),
            expiry: es.get("17").map(Expiry::parse_yymmdd).transpose()?,
        })
    }

    /// The product identifier in a Digital Link.
    ///
    /// # Errors
    /// [`IdError::MissingAi`] if the link's primary key is not a GTIN.
    pub fn from_digital_link(dl: &DigitalLink) -> Result<Self, IdError> {
        let gtin = dl
            .gtin()
            .ok_or_else(|| missing_gtin(matches!(dl.key(), PrimaryKey::Sscc(_))))?;
        Ok(Self {
            gtin: gtin.clone(),
            serial: dl.serial().map(str::to_owned),
            lot: dl.lot().map(str::to_owned),
            expiry: dl.expiry(),
        })
    }

    /// The GTIN (14 digits).
    #[must_use]
    pub fn gtin(&self) -> &Gtin {
        &self.gtin
    }

    /// The serial (AI 21).
    #[must_use]
    pub fn serial(&self) -> Option<&str> {
        self.serial.as_deref()
    }

    /// The lot (AI 10).
    #[must_use]
    pub fn lot(&self) -> Option<&str> {
        self.lot.as_deref()
    }

    /// The expiry (AI 17).
    #[must_use]
    pub fn expiry(&self) -> Option<Expiry> {
        self.expiry
    }

    /// The canonical Digital Link: `https://id.gs1.org/01/{gtin}/10/{lot}/21/{serial}?17=…`.
    #[must_use]
    pub fn to_digital_link(&self) -> String {
        let mut out = format!("https://id.gs1.org/01/{}", self.gtin);
        for (ai, value) in [("10", &self.lot), ("21", &self.serial)] {
            if let Some(v) = value {
                out.push('/');
                out.push_str(ai);
                out.push('/');
                out.push_str(&dl_encode(v));
            }
        }
        if let Some(e) = self.expiry {
            out.push_str("?17=");
            out.push_str(&e.to_string());
        }
        out
    }
}

fn missing_gtin(has_sscc: bool) -> IdError {
    IdError::MissingAi {
        what: if has_sscc {
            "scan of a logistic unit (SSCC), not a product,"
        } else {
            "scan"
        },
        ai: "01",
        name: "GTIN",
    }
}

/// The human-readable element string, `(01)…(17)…(10)…(21)…`.
impl fmt::Display for ScannedProduct {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "(01){}", self.gtin)?;
        if let Some(e) = self.expiry {
            write!(f, "(17){e}")?;
        }
        if let Some(l) = &self.lot {
            write!(f, "(10){l}")?;
        }
        if let Some(s) = &self.serial {
            write!(f, "(21){s}")?;
        }
        Ok(())
    }
}

impl FromStr for ScannedProduct {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        Self::parse(s)
    }
}

impl TryFrom<&str> for ScannedProduct {
    type Error = IdError;
    fn try_from(s: &str) -> Result<Self, IdError> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn dscsa_example() {
        let p = ScannedProduct::parse("010506091751001110628S93R\x1d17241000218898847482518646")
            .unwrap();
        assert_eq!(p.gtin().as_str(), "05060917510011");
        assert_eq!(p.lot(), Some("628S93R"));
        assert_eq!(p.serial(), Some("8898847482518646"));
        let e = p.expiry().unwrap();
        assert_eq!((e.year(), e.month(), e.day()), (2024, 10, None));
        assert_eq!(e.to_string(), "241000");
        assert_eq!(
            p.to_string(),
            "(01)05060917510011(17)241000(10)628S93R(21)8898847482518646"
        );
        assert_eq!(
            p.to_digital_link(),
            "https://id.gs1.org/01/05060917510011/10/628S93R/21/8898847482518646?17=241000"
        );
        assert_eq!(ScannedProduct::parse(&p.to_string()).unwrap(), p);
        assert_eq!(ScannedProduct::parse(&p.to_digital_link()).unwrap(), p);
    }

    #[test]
    fn digital_link_scans() {
        let p =
            ScannedProduct::parse("]Q1https://example.com/01/05060917510011/21/A%2FB?exp=241000")
                .unwrap();
        assert_eq!(p.serial(), Some("A/B"));
        assert_eq!(p.expiry().unwrap().to_string(), "241000");
        let p: ScannedProduct = " HTTPS://id.gs1.org/gtin/05060917510011 ".parse().unwrap();
        assert_eq!(p.serial(), None);
        let e = ScannedProduct::parse("https://id.gs1.org/00/340123451111111111").unwrap_err();
        assert!(e.to_string().contains("logistic unit"), "{e}");
    }

    #[test]
    fn gtin_is_required() {
        let e = ScannedProduct::parse("(21)123").unwrap_err();
        assert_eq!(e.to_string(), "scan has no (01) GTIN");
        let e = ScannedProduct::parse("00340123451111111111").unwrap_err();
        assert!(e.to_string().contains("SSCC"), "{e}");
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        for bad in [
            "",
            "]",
            "]Q",
            "]Q1",
            "]Q1http",
            "]d1010506091751001121A",
            "http://",
            "https://x/01/1",
            "é",
            "(01)",
            "]e",
        ] {
            assert!(ScannedProduct::parse(bad).is_err(), "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,60}") {
            let _ = ScannedProduct::parse(&s);
            let _ = ScannedProduct::parse(&format!("]d2{s}"));
            let _ = ScannedProduct::parse(&format!("]{s}"));
        }
    }
}
