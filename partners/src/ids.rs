//! Identifiers at the trust boundary: each is a newtype with a private field and a fallible
//! constructor, so a value of the type is valid by construction (`../shared/STYLE.md` rule 3).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::Error;

/// A principal's id: a short, stable slug chosen by the operator (`acme-wholesale`, `jdoe`).
///
/// Rules: 1 to 64 characters of lower-case ASCII letters, digits, `-`, `_` and `.`, starting
/// with a letter or digit. The id appears in URLs, logs and certificate subjects, so it stays
/// plain.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PrincipalId(String);

impl PrincipalId {
    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for PrincipalId {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let rule = "a principal id is 1-64 characters of a-z, 0-9, '-', '_' and '.', starting with a letter or digit";
        let first_ok = s
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        let rest_ok = s.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.')
        });
        if first_ok && rest_ok && s.len() <= 64 {
            Ok(Self(s.to_owned()))
        } else {
            Err(Error::invalid("principal id", s, rule))
        }
    }
}

/// A GS1 Global Location Number: 13 digits with a valid GS1 check digit.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Gln(String);

impl Gln {
    /// The 13 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Gln {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        if s.len() != 13 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::invalid("GLN", s, "a GLN is exactly 13 digits"));
        }
        if !gs1_check_digit_ok(s.as_bytes()) {
            return Err(Error::invalid(
                "GLN",
                s,
                "the last digit is not the GS1 check digit of the first 12",
            ));
        }
        Ok(Self(s.to_owned()))
    }
}

/// True when the last digit of `digits` (all ASCII digits, at least one) is the GS1 mod-10
/// check digit of the others.
fn gs1_check_digit_ok(digits: &[u8]) -> bool {
    let Some((&check, body)) = digits.split_last() else {
        return false;
    };
    // Weights 3,1,3,1… from the rightmost body digit.
    let sum: u32 = body
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| u32::from(d - b'0') * if i % 2 == 0 { 3 } else { 1 })
        .sum();
    (10 - sum % 10) % 10 == u32::from(check - b'0')
}

/// A GS1 company prefix: 6 to 12 digits (the GTINs and GLNs a company may issue start with it).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CompanyPrefix(String);

impl CompanyPrefix {
    /// The digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for CompanyPrefix {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        if (6..=12).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(s.to_owned()))
        } else {
            Err(Error::invalid(
                "GS1 company prefix",
                s,
                "a GS1 company prefix is 6 to 12 digits",
            ))
        }
    }
}

/// The SHA-256 fingerprint of a certificate's DER encoding, kept as 64 lower-case hex digits.
///
/// Parsing accepts upper case and `:` separators (`openssl x509 -fingerprint -sha256` output,
/// with or without its `sha256 Fingerprint=` label).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Fingerprint(String);

impl Fingerprint {
    /// The fingerprint of DER bytes.
    pub fn of_der(der: &[u8]) -> Self {
        use sha2::Digest as _;
        let digest = sha2::Sha256::digest(der);
        let mut hex = String::with_capacity(64);
        for byte in digest {
            use std::fmt::Write as _;
            // Writing to a String cannot fail.
            let _ = write!(hex, "{byte:02x}");
        }
        Self(hex)
    }

    /// The 64 lower-case hex digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first 16 hex digits, enough to name a certificate in logs and listings.
    pub fn short(&self) -> &str {
        self.0.get(..16).unwrap_or(&self.0)
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({})", self.0)
    }
}

impl FromStr for Fingerprint {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let body = s
            .rsplit_once('=')
            .map_or(s, |(_, fingerprint)| fingerprint)
            .trim();
        let hex: String = body
            .chars()
            .filter(|c| *c != ':')
            .map(|c| c.to_ascii_lowercase())
            .collect();
        if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(Self(hex))
        } else {
            Err(Error::invalid(
                "SHA-256 fingerprint",
                s,
                "a SHA-256 fingerprint is 64 hex digits, optionally separated by ':'",
            ))
        }
    }
}

/// A US state or territory postal code (two upper-case letters), for state licences.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct UsState(String);

impl UsState {
    /// The two letters.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Postal codes of the states, DC and the territories that license drug distribution.
const US_STATES: [&str; 56] = [
    "AK", "AL", "AR", "AS", "AZ", "CA", "CO", "CT", "DC", "DE", "FL", "GA", "GU", "HI", "IA", "ID",
    "IL", "IN", "KS", "KY", "LA", "MA", "MD", "ME", "MI", "MN", "MO", "MP", "MS", "MT", "NC", "ND",
    "NE", "NH", "NJ", "NM", "NV", "NY", "OH", "OK", "OR", "PA", "PR", "RI", "SC", "SD", "TN", "TX",
    "UT", "VA", "VI", "VT", "WA", "WI", "WV", "WY",
];

impl FromStr for UsState {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let upper = s.to_ascii_uppercase();
        if US_STATES.contains(&upper.as_str()) {
            Ok(Self(upper))
        } else {
            Err(Error::invalid(
                "state",
                s,
                "a state is a US postal code such as NJ or CA",
            ))
        }
    }
}

macro_rules! string_newtype_impls {
    ($($t:ty),*) => {$(
        impl TryFrom<String> for $t {
            type Error = Error;
            fn try_from(s: String) -> Result<Self, Error> {
                s.parse()
            }
        }
        impl From<$t> for String {
            fn from(v: $t) -> String {
                v.0
            }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    )*};
}

string_newtype_impls!(PrincipalId, Gln, CompanyPrefix, Fingerprint, UsState);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gln_check_digit() {
        assert!("0614141000005".parse::<Gln>().is_ok());
        assert!("0614141000012".parse::<Gln>().is_ok());
        let err = "0614141000006".parse::<Gln>().unwrap_err().to_string();
        assert!(err.contains("check digit"), "{err}");
        assert!("061414100000".parse::<Gln>().is_err());
        assert!("06141410000a5".parse::<Gln>().is_err());
    }

    #[test]
    fn principal_id_rules() {
        for ok in ["acme", "acme-wholesale", "a.b_c-1", "0day"] {
            assert!(ok.parse::<PrincipalId>().is_ok(), "{ok}");
        }
        for bad in [
            "",
            "-acme",
            "Acme",
            "acme wholesale",
            "acmé",
            &"a".repeat(65),
        ] {
            assert!(bad.parse::<PrincipalId>().is_err(), "{bad}");
        }
    }

    #[test]
    fn fingerprint_forms() {
        let fp = Fingerprint::of_der(b"hello");
        assert_eq!(
            fp.as_str(),
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
        let colons: String = fp
            .as_str()
            .to_ascii_uppercase()
            .as_bytes()
            .chunks(2)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join(":");
        assert_eq!(colons.parse::<Fingerprint>().unwrap(), fp);
        assert_eq!(
            format!("sha256 Fingerprint={colons}")
                .parse::<Fingerprint>()
                .unwrap(),
            fp
        );
        assert!("abc".parse::<Fingerprint>().is_err());
        assert_eq!(fp.short(), "2cf24dba5fb0a30e");
    }

    #[test]
    fn prefixes_and_states() {
        assert!("0614141".parse::<CompanyPrefix>().is_ok());
        assert!("12345".parse::<CompanyPrefix>().is_err());
        assert_eq!("nj".parse::<UsState>().unwrap().as_str(), "NJ");
        assert!("XX".parse::<UsState>().is_err());
    }

    #[test]
    fn long_values_are_cut_in_errors() {
        let err = "x".repeat(1000).parse::<Gln>().unwrap_err().to_string();
        assert!(err.len() < 200, "{err}");
    }
}
