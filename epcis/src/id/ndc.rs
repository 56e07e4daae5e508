//! The US National Drug Code ([`Ndc`]) and its place inside a GTIN.
//!
//! A US prescription drug's GTIN-14 is `indicator + "03" + NDC-10 + check digit` (reference
//! `dscsa.md` §7.1): the `0` pads the UPC-12 to 14 digits and `3` is the UPC number-system
//! character for drugs. The HIPAA NDC-11 (5-4-2, zero-padded) form is deliberately not accepted:
//! which segment was padded cannot be told from the digits, so converting it would guess.
//!
//! An NDC-10 has three segments, labeler-product-package, in one of three layouts (4-4-2, 5-3-2,
//! 5-4-1). Hyphens give the layout; ten bare digits (and an NDC read out of a GTIN) have an
//! unknown layout. The FDA's 12-digit NDC (6-4-2, final rule 2026) is not mapped yet: the
//! [`NdcLayout`] enum is `#[non_exhaustive]` and [`Ndc`] keeps its digits as a string so that a
//! 12-digit form can be added without changing the API, once GS1 US publishes its GTIN mapping.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::check_digit::{require_digits, with_check_digit};
use super::error::IdError;
use super::keys::{Gtin, key_traits};

/// How the ten digits of an NDC-10 split into labeler, product and package codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NdcLayout {
    /// 5-3-2.
    FiveThreeTwo,
    /// 5-4-1.
    FiveFourOne,
    /// 4-4-2.
    FourFourTwo,
    /// Ten digits without hyphens: the split is not known.
    Unknown,
}

impl NdcLayout {
    /// Segment lengths, if known.
    #[must_use]
    pub const fn segments(self) -> Option<[usize; 3]> {
        match self {
            Self::FiveThreeTwo => Some([5, 3, 2]),
            Self::FiveFourOne => Some([5, 4, 1]),
            Self::FourFourTwo => Some([4, 4, 2]),
            Self::Unknown => None,
        }
    }
}

/// A US National Drug Code (NDC-10).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Ndc {
    /// The digits without hyphens (10 today).
    digits: String,
    layout: NdcLayout,
    /// The hyphenated or bare text, as [`fmt::Display`] shows it.
    text: String,
}

impl Ndc {
    /// Parses `4-4-2`, `5-3-2` or `5-4-1` hyphenated NDCs, or 10 bare digits (layout unknown).
    ///
    /// # Errors
    /// [`IdError::Empty`], [`IdError::Charset`], [`IdError::Syntax`] for a wrong hyphenation,
    /// [`IdError::Unsupported`] for NDC-11 and 12-digit NDCs, [`IdError::Length`].
    pub fn parse(s: &str) -> Result<Self, IdError> {
        if s.is_empty() {
            return Err(IdError::Empty { field: "NDC" });
        }
        if let Some(c) = s.chars().find(|c| !c.is_ascii_digit() && *c != '-') {
            return Err(IdError::charset("NDC", s, c, "the digits 0-9 and '-'"));
        }
        let digits: String = s.chars().filter(char::is_ascii_digit).collect();
        if digits.len() == 11 {
            return Err(IdError::unsupported(
                "NDC",
                s,
                "this is an 11-digit (HIPAA 5-4-2) NDC, whose zero padding hides the real \
                 layout; give the 10-digit NDC as printed on the package",
            ));
        }
        if digits.len() == 12 {
            return Err(IdError::unsupported(
                "NDC",
                s,
                "12-digit NDCs have no GS1 GTIN mapping in this version",
            ));
        }
        if !s.contains('-') {
            if digits.len() != 10 {
                return Err(IdError::length("NDC", s, "an NDC-10 has 10 digits"));
            }
            return Ok(Self {
                text: digits.clone(),
                digits,
                layout: NdcLayout::Unknown,
            });
        }
        let mut parts = s.split('-');
        let lens =
            [parts.next(), parts.next(), parts.next(), parts.next()].map(|p| p.map(str::len));
        let layout = match lens {
            [Some(4), Some(4), Some(2), None] => NdcLayout::FourFourTwo,
            [Some(5), Some(3), Some(2), None] => NdcLayout::FiveThreeTwo,
            [Some(5), Some(4), Some(1), None] => NdcLayout::FiveFourOne,
            _ => {
                return Err(IdError::syntax(
                    "NDC",
                    s,
                    "a hyphenated NDC-10 has the layout 4-4-2, 5-3-2 or 5-4-1",
                ));
            }
        };
        Ok(Self {
            digits,
            layout,
            text: s.to_owned(),
        })
    }

    /// The NDC-10 read from a GTIN in the US `03` form; its layout is unknown.
    #[must_use]
    pub fn from_gtin(gtin: &Gtin) -> Option<Self> {
        let digits = gtin.ndc10_digits()?.to_owned();
        Some(Self {
            text: digits.clone(),
            digits,
            layout: NdcLayout::Unknown,
        })
    }

    /// The digits without hyphens.
    #[must_use]
    pub fn digits(&self) -> &str {
        &self.digits
    }

    /// The layout.
    #[must_use]
    pub fn layout(&self) -> NdcLayout {
        self.layout
    }

    /// The text as parsed (hyphenated or bare digits).
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The labeler code (first segment), if the layout is known.
    #[must_use]
    pub fn labeler(&self) -> Option<&str> {
        self.segment(0)
    }

    /// The product code (second segment), if the layout is known.
    #[must_use]
    pub fn product(&self) -> Option<&str> {
        self.segment(1)
    }

    /// The package code (third segment), if the layout is known.
    #[must_use]
    pub fn package(&self) -> Option<&str> {
        self.segment(2)
    }

    fn segment(&self, index: usize) -> Option<&str> {
        let lens = self.layout.segments()?;
        let start: usize = lens.iter().take(index).sum();
        let len = *lens.get(index)?;
        self.digits.get(start..start + len)
    }
}

key_traits!(Ndc);

impl From<Ndc> for String {
    fn from(n: Ndc) -> Self {
        n.text
    }
}

impl Gtin {
    /// The US pharmaceutical GTIN-14 for an NDC-10: `indicator + "03" + NDC + check digit`.
    ///
    /// # Errors
    /// [`IdError::Syntax`] if `indicator` is not a single digit (0-9).
    pub fn from_ndc(ndc: &Ndc, indicator: u8) -> Result<Self, IdError> {
        if indicator > 9 {
            return Err(IdError::syntax(
                "GTIN indicator",
                &indicator.to_string(),
                "the indicator is one digit, 0-9",
            ));
        }
        require_digits("NDC", &ndc.digits)?;
        if ndc.digits.len() != 10 {
            return Err(IdError::length(
                "NDC",
                &ndc.digits,
                "an NDC-10 has 10 digits",
            ));
        }
        let mut body = String::with_capacity(14);
        body.push(char::from(b'0' + indicator));
        body.push_str("03");
        body.push_str(&ndc.digits);
        Self::from_gtin14(with_check_digit(&body))
    }

    /// The NDC-10 digits inside a GTIN of the US `03` form (positions 4-13), else `None`.
    #[must_use]
    pub fn ndc10_digits(&self) -> Option<&str> {
        let s = self.as_str();
        if s.get(1..3) == Some("03") {
            s.get(3..13)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts() {
        let n = Ndc::parse("0001-0123-45").unwrap();
        assert_eq!(n.layout(), NdcLayout::FourFourTwo);
        assert_eq!(n.digits(), "0001012345");
        assert_eq!(
            (n.labeler(), n.product(), n.package()),
            (Some("0001"), Some("0123"), Some("45"))
        );
        assert_eq!(n.to_string(), "0001-0123-45");
        let n = Ndc::parse("12345-678-90").unwrap();
        assert_eq!(n.layout(), NdcLayout::FiveThreeTwo);
        assert_eq!(n.package(), Some("90"));
        let n = Ndc::parse("12345-6789-0").unwrap();
        assert_eq!(n.layout(), NdcLayout::FiveFourOne);
        assert_eq!(n.product(), Some("6789"));
        let n = Ndc::parse("1234567890").unwrap();
        assert_eq!(n.layout(), NdcLayout::Unknown);
        assert_eq!(n.labeler(), None);
    }

    #[test]
    fn gtin_from_ndc_and_back() {
        let n = Ndc::parse("0001-0123-45").unwrap();
        let g = Gtin::from_ndc(&n, 0).unwrap();
        assert_eq!(g.as_str(), "00300010123455");
        assert_eq!(g.ndc10_digits(), Some("0001012345"));
        let back = Ndc::from_gtin(&g).unwrap();
        assert_eq!(back.digits(), "0001012345");
        assert_eq!(back.layout(), NdcLayout::Unknown);
        let case = Gtin::from_ndc(&n, 5).unwrap();
        assert_eq!(case.indicator(), 5);
        assert_eq!(case.ndc10_digits(), Some("0001012345"));
        assert!(Gtin::from_ndc(&n, 10).is_err());
        let not_ndc = Gtin::parse("05060917510011").unwrap();
        assert_eq!(not_ndc.ndc10_digits(), None);
        assert!(Ndc::from_gtin(&not_ndc).is_none());
    }

    #[test]
    fn rejected_forms() {
        for bad in [
            "",
            "0001-0123-4",
            "00001-0123-45",
            "000101234",
            "0001-0123-45-6",
            "--",
            "0001 0123 45",
            "000-1012345",
            "12345678901",
            "123456789012",
            "é",
            "0001-0123-45\n",
        ] {
            assert!(Ndc::parse(bad).is_err(), "{bad:?}");
        }
        let e = Ndc::parse("00001-0123-45").unwrap_err();
        assert!(e.to_string().contains("11-digit"), "{e}");
    }

    #[test]
    fn serde_round_trip() {
        let n: Ndc = serde_json::from_str("\"12345-678-90\"").unwrap();
        assert_eq!(serde_json::to_string(&n).unwrap(), "\"12345-678-90\"");
    }
}
