//! The GS1 keys DSCSA uses as values: [`Gtin`] (trade item), [`Gln`] (party or location) and
//! [`Sscc`] (logistic unit).
//!
//! Each is a newtype over its canonical digit string, check digit verified at construction, so a
//! value of these types is always valid. A [`Gtin`] is always stored as GTIN-14: GTIN-8, -12 and
//! -13 are left-padded with zeros, which keeps the check digit valid. The US NDC mapping
//! ([`Gtin::from_ndc`], [`Gtin::ndc10_digits`]) lives in [`super::ndc`].

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::check_digit::{require_digits, verify};
use super::error::IdError;

/// Global Trade Item Number, stored as 14 digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Gtin(String);

impl Gtin {
    /// Parses a GTIN-8, -12, -13 or -14 (digits only) and pads it to 14 digits.
    ///
    /// # Errors
    /// [`IdError::Empty`], [`IdError::Charset`] (non-digit), [`IdError::Length`] (not 8, 12, 13
    /// or 14 digits), [`IdError::CheckDigit`].
    pub fn parse(s: &str) -> Result<Self, IdError> {
        require_digits("GTIN", s)?;
        let pad = match s.len() {
            8 => 6,
            12 => 2,
            13 => 1,
            14 => 0,
            _ => {
                return Err(IdError::length(
                    "GTIN",
                    s,
                    "a GTIN has 8, 12, 13 or 14 digits",
                ));
            }
        };
        verify("GTIN", s)?;
        let mut digits = "0".repeat(pad);
        digits.push_str(s);
        Ok(Self(digits))
    }

    /// Wraps 14 digits that the caller has just built with a correct check digit.
    pub(crate) fn from_gtin14(digits: String) -> Result<Self, IdError> {
        if digits.len() != 14 {
            return Err(IdError::length("GTIN", &digits, "a GTIN-14 has 14 digits"));
        }
        verify("GTIN", &digits)?;
        Ok(Self(digits))
    }

    /// The 14 digits.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The indicator digit (first digit of the GTIN-14; 0 for a GTIN-8/12/13).
    #[must_use]
    pub fn indicator(&self) -> u8 {
        self.0.bytes().next().map_or(0, |b| b.wrapping_sub(b'0'))
    }

    /// The 12 digits after the indicator and before the check digit, where the GS1 Company
    /// Prefix starts: what [`super::CompanyPrefixLengths`] is asked about.
    #[must_use]
    pub fn company_prefix_digits(&self) -> &str {
        self.0.get(1..).unwrap_or_default()
    }
}

/// Global Location Number (13 digits), for a party (`417`) or a physical location (`414`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Gln(String);

impl Gln {
    /// Parses a 13-digit GLN.
    ///
    /// # Errors
    /// [`IdError::Empty`], [`IdError::Charset`], [`IdError::Length`], [`IdError::CheckDigit`].
    pub fn parse(s: &str) -> Result<Self, IdError> {
        fixed_key("GLN", s, 13, "a GLN has 13 digits").map(Self)
    }

    /// The 13 digits.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Serial Shipping Container Code (18 digits).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Sscc(String);

impl Sscc {
    /// Parses an 18-digit SSCC.
    ///
    /// # Errors
    /// [`IdError::Empty`], [`IdError::Charset`], [`IdError::Length`], [`IdError::CheckDigit`].
    pub fn parse(s: &str) -> Result<Self, IdError> {
        fixed_key("SSCC", s, 18, "an SSCC has 18 digits").map(Self)
    }

    /// The 18 digits.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The extension digit (first digit).
    #[must_use]
    pub fn extension_digit(&self) -> u8 {
        self.0.bytes().next().map_or(0, |b| b.wrapping_sub(b'0'))
    }

    /// The 16 digits after the extension digit and before the check digit, where the GS1 Company
    /// Prefix starts.
    #[must_use]
    pub fn company_prefix_digits(&self) -> &str {
        self.0.get(1..).unwrap_or_default()
    }
}

fn fixed_key(
    field: &'static str,
    s: &str,
    len: usize,
    rule: &'static str,
) -> Result<String, IdError> {
    require_digits(field, s)?;
    if s.len() != len {
        return Err(IdError::length(field, s, rule));
    }
    verify(field, s)?;
    Ok(s.to_owned())
}

/// `FromStr`, `TryFrom<&str>`, `TryFrom<String>`, `Display` and `AsRef<str>` for an identifier
/// newtype with a `parse` constructor and an `as_str` accessor.
macro_rules! key_traits {
    ($t:ty) => {
        impl FromStr for $t {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                Self::parse(s)
            }
        }
        impl TryFrom<&str> for $t {
            type Error = IdError;
            fn try_from(s: &str) -> Result<Self, IdError> {
                Self::parse(s)
            }
        }
        impl TryFrom<String> for $t {
            type Error = IdError;
            fn try_from(s: String) -> Result<Self, IdError> {
                Self::parse(&s)
            }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl AsRef<str> for $t {
            fn as_ref(&self) -> &str {
                self.as_str()
            }
        }
    };
}
pub(crate) use key_traits;

key_traits!(Gtin);
key_traits!(Gln);
key_traits!(Sscc);

impl From<Gtin> for String {
    fn from(k: Gtin) -> Self {
        k.0
    }
}

impl From<Gln> for String {
    fn from(k: Gln) -> Self {
        k.0
    }
}

impl From<Sscc> for String {
    fn from(k: Sscc) -> Self {
        k.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gtin_pads_8_12_13_to_14() {
        assert_eq!(Gtin::parse("96385074").unwrap().as_str(), "00000096385074");
        assert_eq!(
            Gtin::parse("001122334455").unwrap().as_str(),
            "00001122334455"
        );
        assert_eq!(
            Gtin::parse("9780345418913").unwrap().as_str(),
            "09780345418913"
        );
        let g: Gtin = "05060917510011".parse().unwrap();
        assert_eq!(g.to_string(), "05060917510011");
        assert_eq!(g.indicator(), 0);
        assert_eq!(Gtin::parse("80614141123458").unwrap().indicator(), 8);
        assert_eq!(g.company_prefix_digits(), "5060917510011");
    }

    #[test]
    fn gtin_errors_name_value_and_rule() {
        let e = Gtin::parse("0061414112346").unwrap_err();
        assert!(matches!(e, IdError::CheckDigit { .. }), "{e}");
        let e = Gtin::parse("123456789").unwrap_err();
        assert_eq!(
            e.to_string(),
            r#"GTIN "123456789" has 9 characters; a GTIN has 8, 12, 13 or 14 digits"#
        );
        let e = Gtin::parse("0061414112345X").unwrap_err();
        assert_eq!(
            e.to_string(),
            r#"GTIN "0061414112345X" contains 'X' (0x58), which is outside the digits 0-9"#
        );
        assert!(matches!(Gtin::parse(""), Err(IdError::Empty { .. })));
        assert!(Gtin::parse("٠٠٦١٤١٤١١٢٣٤٥٢").is_err());
        assert!(Gtin::parse(" 00614141123452").is_err());
        assert!(Gtin::parse(&"0".repeat(100_000)).is_err());
    }

    #[test]
    fn gln_and_sscc() {
        assert_eq!(
            Gln::parse("4012345000054").unwrap().as_str(),
            "4012345000054"
        );
        assert!(matches!(
            Gln::parse("4012345000055"),
            Err(IdError::CheckDigit { .. })
        ));
        assert!(matches!(
            Gln::parse("401234500005"),
            Err(IdError::Length { .. })
        ));
        let s = Sscc::parse("340123451111111111").unwrap();
        assert_eq!(s.extension_digit(), 3);
        assert_eq!(s.company_prefix_digits(), "40123451111111111");
        assert!(matches!(
            Sscc::parse("340123451111111112"),
            Err(IdError::CheckDigit { .. })
        ));
        assert!(Sscc::parse("34012345111111111").is_err());
    }

    #[test]
    fn serde_goes_through_parse() {
        let g: Gtin = serde_json::from_str("\"9780345418913\"").unwrap();
        assert_eq!(serde_json::to_string(&g).unwrap(), "\"09780345418913\"");
        assert!(serde_json::from_str::<Gtin>("\"09780345418914\"").is_err());
        assert!(serde_json::from_str::<Gln>("\"x\"").is_err());
    }
}
