//! [`DigitalLink`]: a parsed GS1 Digital Link URI for the keys DSCSA uses, and its conversion to
//! an EPC URI.
//!
//! Supported primary keys: `01`/`gtin` (qualifiers `22`/`cpv`, `10`/`lot`, `21`/`ser`, in that
//! order, each optional), `00`/`sscc`, `414`/`gln` (qualifier `254`) and `417`/`party`. Any host
//! and any path before the primary key are accepted (GS1 Digital Link §4.7: a resolver may use a
//! path prefix). From the query string the expiry date (`17=YYMMDD` or `exp=YYMMDD`) is read;
//! other parameters (`linkType`, `context`, custom ones) are ignored; a fragment is ignored.
//! Values are percent-decoded, then checked against GS1 CSET 82 and their length limit.
//!
//! Turning a Digital Link into an EPC URI needs the GS1 Company Prefix length, which the URI does
//! not carry: see [`super::company_prefix`] for where it comes from. The CBV event-hash
//! normaliser is a separate, reference-exact function, [`super::normalise()`] (re-exported here).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::charset::{check_x, dl_decode, dl_encode};
use super::company_prefix::CompanyPrefixLengths;
use super::epc::Epc;
use super::error::{IdError, shown};
use super::expiry::Expiry;
use super::keys::{Gln, Gtin, Sscc};
pub use super::normalise::normalise;

const WHAT: &str = "GS1 Digital Link";

/// The primary key of a Digital Link.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PrimaryKey {
    /// `01` (or `gtin`).
    Gtin(Gtin),
    /// `417` (or `party`): a party GLN.
    Party(Gln),
    /// `414` (or `gln`): a physical location GLN.
    PhysicalLocation(Gln),
    /// `00` (or `sscc`).
    Sscc(Sscc),
}

impl PrimaryKey {
    /// The AI, e.g. `01`.
    #[must_use]
    pub const fn ai(&self) -> &'static str {
        match self {
            Self::Gtin(_) => "01",
            Self::Party(_) => "417",
            Self::PhysicalLocation(_) => "414",
            Self::Sscc(_) => "00",
        }
    }

    /// The key's digits.
    #[must_use]
    pub fn as_str(&self) -> &str {
        match self {
            Self::Gtin(k) => k.as_str(),
            Self::Party(k) | Self::PhysicalLocation(k) => k.as_str(),
            Self::Sscc(k) => k.as_str(),
        }
    }

    /// Qualifier AIs allowed after this key, in their required order.
    const fn qualifiers(&self) -> &'static [&'static str] {
        match self {
            Self::Gtin(_) => &["22", "10", "21"],
            Self::PhysicalLocation(_) => &["254"],
            Self::Party(_) | Self::Sscc(_) => &[],
        }
    }
}

/// A GS1 Digital Link URI with a supported primary key. See the module documentation.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DigitalLink {
    key: PrimaryKey,
    cpv: Option<String>,
    lot: Option<String>,
    serial: Option<String>,
    gln_extension: Option<String>,
    expiry: Option<Expiry>,
}

impl DigitalLink {
    /// Parses a GS1 Digital Link URI (`http` or `https`, any host).
    ///
    /// # Errors
    /// [`IdError::Syntax`] for the structure, [`IdError::Unsupported`] for other primary keys,
    /// and value errors wrapped in [`IdError::Context`] with the URI.
    pub fn parse(uri: &str) -> Result<Self, IdError> {
        let without_fragment = uri.split_once('#').map_or(uri, |(a, _)| a);
        let (head, query) = match without_fragment.split_once('?') {
            Some((h, q)) => (h, Some(q)),
            None => (without_fragment, None),
        };
        let rest = strip_prefix_ignore_case(head, "https://")
            .or_else(|| strip_prefix_ignore_case(head, "http://"))
            .ok_or_else(|| {
                IdError::syntax(
                    WHAT,
                    uri,
                    "a GS1 Digital Link starts with https:// or http://",
                )
            })?;
        let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
        if host.is_empty() || host.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(IdError::syntax(
                WHAT,
                uri,
                "the host is empty or contains spaces or control characters",
            ));
        }
        let mut segments: Vec<&str> = path.split('/').collect();
        if segments.last() == Some(&"") {
            segments.pop();
        }
        let start = segments
            .iter()
            .position(|s| primary_ai(s).is_some())
            .ok_or_else(|| {
                IdError::syntax(
                    WHAT,
                    uri,
                    "no primary key: expected /01/{GTIN}, /00/{SSCC}, /414/{GLN} or /417/{GLN}",
                )
            })?;
        let (key_segments, qualifier_segments) = segments
            .get(start..)
            .unwrap_or_default()
            .split_at_checked(2)
            .ok_or_else(|| IdError::syntax(WHAT, uri, "the primary key has no value"))?;
        let ctx = |e: IdError| e.within(uri);
        let [ai_name, value] = key_segments else {
            return Err(IdError::syntax(WHAT, uri, "the primary key has no value"));
        };
        let value = dl_decode("primary key", value).map_err(ctx)?;
        let key = match primary_ai(ai_name) {
            Some("01") => PrimaryKey::Gtin(Gtin::parse(&value).map_err(ctx)?),
            Some("00") => PrimaryKey::Sscc(Sscc::parse(&value).map_err(ctx)?),
            Some("414") => PrimaryKey::PhysicalLocation(Gln::parse(&value).map_err(ctx)?),
            Some("417") => PrimaryKey::Party(Gln::parse(&value).map_err(ctx)?),
            _ => {
                return Err(IdError::unsupported(
                    WHAT,
                    uri,
                    "only the primary keys 01 (GTIN), 00 (SSCC), 414 and 417 (GLN) are supported",
                ));
            }
        };
        let mut link = Self {
            key,
            cpv: None,
            lot: None,
            serial: None,
            gln_extension: None,
            expiry: None,
        };
        link.read_qualifiers(uri, qualifier_segments)?;
        if let Some(query) = query {
            link.read_query(uri, query)?;
        }
        Ok(link)
    }

    fn read_qualifiers(&mut self, uri: &str, segments: &[&str]) -> Result<(), IdError> {
        let allowed = self.key.qualifiers();
        let mut next_allowed = 0;
        for pair in segments.chunks(2) {
            let [name, value] = pair else {
                return Err(IdError::syntax(
                    WHAT,
                    uri,
                    "the last key qualifier has no value",
                ));
            };
            let ai = qualifier_ai(name);
            let position = allowed
                .iter()
                .position(|a| *a == ai)
                .filter(|&p| p >= next_allowed);
            let Some(position) = position else {
                return Err(IdError::syntax(
                    WHAT,
                    uri,
                    format!(
                        "{:?} is not a key qualifier of ({}) here; the qualifiers of ({}) are [{}], each at most once, in that order",
                        shown(name),
                        self.key.ai(),
                        self.key.ai(),
                        allowed.join(", ")
                    ),
                ));
            };
            next_allowed = position + 1;
            let (field, rule, slot) = match ai {
                "22" => ("CPV (22)", "a CPV has at most 20 characters", &mut self.cpv),
                "10" => ("lot (10)", "a lot has at most 20 characters", &mut self.lot),
                "21" => (
                    "serial (21)",
                    "a serial has at most 20 characters",
                    &mut self.serial,
                ),
                _ => (
                    "extension (254)",
                    "a GLN extension has at most 20 characters",
                    &mut self.gln_extension,
                ),
            };
            let decoded = dl_decode(field, value).map_err(|e| e.within(uri))?;
            check_x(field, &decoded, 20, rule).map_err(|e| e.within(uri))?;
            *slot = Some(decoded.into_owned());
        }
        Ok(())
    }

    fn read_query(&mut self, uri: &str, query: &str) -> Result<(), IdError> {
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            if name != "17" && name != "exp" {
                continue;
            }
            let value = dl_decode("expiry (17)", value).map_err(|e| e.within(uri))?;
            let expiry = Expiry::parse_yymmdd(&value).map_err(|e| e.within(uri))?;
            if self.expiry.is_some_and(|e| e != expiry) {
                return Err(IdError::syntax(
                    WHAT,
                    uri,
                    "two different expiry dates (17/exp)",
                ));
            }
            self.expiry = Some(expiry);
        }
        Ok(())
    }

    /// The primary key.
    #[must_use]
    pub fn key(&self) -> &PrimaryKey {
        &self.key
    }

    /// The GTIN, for an `01` link.
    #[must_use]
    pub fn gtin(&self) -> Option<&Gtin> {
        match &self.key {
            PrimaryKey::Gtin(g) => Some(g),
            _ => None,
        }
    }

    /// The SSCC, for an `00` link.
    #[must_use]
    pub fn sscc(&self) -> Option<&Sscc> {
        match &self.key {
            PrimaryKey::Sscc(s) => Some(s),
            _ => None,
        }
    }

    /// The GLN, for a `414` or `417` link.
    #[must_use]
    pub fn gln(&self) -> Option<&Gln> {
        match &self.key {
            PrimaryKey::Party(g) | PrimaryKey::PhysicalLocation(g) => Some(g),
            _ => None,
        }
    }

    /// The consumer product variant (`22`), decoded.
    #[must_use]
    pub fn cpv(&self) -> Option<&str> {
        self.cpv.as_deref()
    }

    /// The lot (`10`), decoded.
    #[must_use]
    pub fn lot(&self) -> Option<&str> {
        self.lot.as_deref()
    }

    /// The serial (`21`), decoded.
    #[must_use]
    pub fn serial(&self) -> Option<&str> {
        self.serial.as_deref()
    }

    /// The GLN extension (`254`), decoded.
    #[must_use]
    pub fn gln_extension(&self) -> Option<&str> {
        self.gln_extension.as_deref()
    }

    /// The expiry date from the query string (`17=` or `exp=`).
    #[must_use]
    pub fn expiry(&self) -> Option<Expiry> {
        self.expiry
    }

    /// The EPC for this link: SGTIN with a serial, else LGTIN class with a lot, else the pattern
    /// `urn:epc:idpat:sgtin:CP.IR.*`; SSCC; SGLN (extension `0` when none); PGLN.
    ///
    /// # Errors
    /// [`IdError::CompanyPrefixUnknown`] when `gcp` does not know the key's company prefix.
    pub fn to_epc(&self, gcp: &dyn CompanyPrefixLengths) -> Result<Epc, IdError> {
        match &self.key {
            PrimaryKey::Gtin(g) => {
                let len = prefix_len(gcp, "GTIN", g.as_str(), g.company_prefix_digits())?;
                match (&self.serial, &self.lot) {
                    (Some(serial), _) => Epc::sgtin(g, len, serial),
                    (None, Some(lot)) => Epc::lgtin(g, len, lot),
                    (None, None) => Epc::sgtin_pattern(g, len),
                }
            }
            PrimaryKey::Sscc(s) => Epc::sscc(
                s,
                prefix_len(gcp, "SSCC", s.as_str(), s.company_prefix_digits())?,
            ),
            PrimaryKey::PhysicalLocation(g) => Epc::sgln(
                g,
                prefix_len(gcp, "GLN", g.as_str(), g.as_str())?,
                self.gln_extension.as_deref(),
            ),
            PrimaryKey::Party(g) => Epc::pgln(g, prefix_len(gcp, "GLN", g.as_str(), g.as_str())?),
        }
    }

    /// [`DigitalLink::to_epc`] as a URI string.
    ///
    /// # Errors
    /// As [`DigitalLink::to_epc`].
    pub fn to_epc_urn(&self, gcp: &dyn CompanyPrefixLengths) -> Result<String, IdError> {
        self.to_epc(gcp).map(|e| e.to_string())
    }
}

fn prefix_len(
    gcp: &dyn CompanyPrefixLengths,
    key_name: &'static str,
    key: &str,
    digits: &str,
) -> Result<usize, IdError> {
    gcp.prefix_length(digits)
        .ok_or_else(|| IdError::CompanyPrefixUnknown {
            key_name,
            key: key.to_owned(),
        })
}

/// The canonical form on `https://id.gs1.org`, with all qualifiers and `?17=YYMMDD` when an
/// expiry is known.
impl fmt::Display for DigitalLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "https://id.gs1.org/{}/{}",
            self.key.ai(),
            self.key.as_str()
        )?;
        let qualifiers = [
            ("22", &self.cpv),
            ("10", &self.lot),
            ("21", &self.serial),
            ("254", &self.gln_extension),
        ];
        for (ai, value) in qualifiers {
            if let Some(v) = value {
                write!(f, "/{ai}/{}", dl_encode(v))?;
            }
        }
        if let Some(e) = self.expiry {
            write!(f, "?17={e}")?;
        }
        Ok(())
    }
}

impl FromStr for DigitalLink {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        Self::parse(s)
    }
}

impl TryFrom<&str> for DigitalLink {
    type Error = IdError;
    fn try_from(s: &str) -> Result<Self, IdError> {
        Self::parse(s)
    }
}

impl TryFrom<String> for DigitalLink {
    type Error = IdError;
    fn try_from(s: String) -> Result<Self, IdError> {
        Self::parse(&s)
    }
}

impl From<DigitalLink> for String {
    fn from(d: DigitalLink) -> Self {
        d.to_string()
    }
}

/// The AI of a primary key path segment (numeric or short name), including keys this parser
/// does not support (so that they get a clear error rather than "no primary key").
fn primary_ai(segment: &str) -> Option<&'static str> {
    Some(match segment {
        "01" | "gtin" => "01",
        "00" | "sscc" => "00",
        "414" | "gln" => "414",
        "417" | "party" => "417",
        "8006" | "itip" | "8010" | "cpid" | "8017" | "gsrnp" | "8018" | "gsrn" | "255" | "gcn"
        | "253" | "gdti" | "401" | "ginc" | "402" | "gsin" | "8003" | "grai" | "8004" | "giai" => {
            "other"
        }
        _ => return None,
    })
}

fn qualifier_ai(segment: &str) -> &str {
    match segment {
        "cpv" => "22",
        "lot" => "10",
        "ser" => "21",
        other => other,
    }
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| s.get(prefix.len()..))
        .flatten()
}

#[cfg(test)]
mod tests;
