//! [`Epc`]: an EPC pure-identity URI (`urn:epc:id:…`), the LGTIN class URI
//! (`urn:epc:class:lgtin:…`) or an ID pattern with a fixed class (`urn:epc:idpat:sgtin:CP.IR.*`),
//! parsed per the GS1 Tag Data Standard.
//!
//! Invariants of a parsed [`Epc`]:
//! - the company prefix has 6 to 12 digits, and its length is kept (the URI states it; a Digital
//!   Link does not);
//! - the key is stored as the GS1 element string value with its check digit computed (GTIN-14,
//!   SSCC-18, GLN-13, …), so [`Epc::gtin`] and friends never fail;
//! - serials, lots and extensions are stored decoded and are within GS1 CSET 82 (CSET 39 for the
//!   CPI reference, digits where TDS says digits) and within their length limits.
//!
//! [`fmt::Display`] gives the canonical URI (TDS escaping, upper-case `%HH`);
//! [`Epc::to_digital_link`] the canonical `https://id.gs1.org/…` Digital Link URI. Parsing is in
//! the `epc_parse` module; the scheme table in [`super::epc_scheme`].

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::charset::{dl_encode, epc_escape};
use super::check_digit::with_check_digit;
pub use super::epc_scheme::{EpcForm, EpcScheme};
use super::epc_scheme::{Lead, Tail};
use super::error::IdError;
use super::keys::{Gln, Gtin, Sscc};

/// A parsed EPC URI. See the module documentation for its invariants.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Epc {
    pub(super) form: EpcForm,
    pub(super) scheme: EpcScheme,
    /// 6 to 12.
    pub(super) cp_len: usize,
    /// The element string value of the primary key, check digit included (AI 8006 value for
    /// ITIP; decoded text for GIAI, GINC, CPI).
    pub(super) key: String,
    /// Decoded serial, lot, extension or TPX (`None` for keys without one and for patterns).
    pub(super) extra: Option<String>,
}

impl Epc {
    /// An SGTIN from a GTIN, its company prefix length and a serial (CSET 82, 1-20 characters).
    ///
    /// # Errors
    /// [`IdError::Syntax`] for a company prefix length outside 6-12, serial errors.
    pub fn sgtin(gtin: &Gtin, company_prefix_len: usize, serial: &str) -> Result<Self, IdError> {
        Self::from_gtin(
            EpcScheme::Sgtin,
            EpcForm::Id,
            gtin,
            company_prefix_len,
            Some(serial),
        )
    }

    /// The LGTIN class URI for a GTIN and lot.
    ///
    /// # Errors
    /// As [`Epc::sgtin`], for the lot.
    pub fn lgtin(gtin: &Gtin, company_prefix_len: usize, lot: &str) -> Result<Self, IdError> {
        Self::from_gtin(
            EpcScheme::Lgtin,
            EpcForm::Class,
            gtin,
            company_prefix_len,
            Some(lot),
        )
    }

    /// The pattern `urn:epc:idpat:sgtin:CP.IR.*` (every instance of a GTIN).
    ///
    /// # Errors
    /// [`IdError::Syntax`] for a company prefix length outside 6-12.
    pub fn sgtin_pattern(gtin: &Gtin, company_prefix_len: usize) -> Result<Self, IdError> {
        Self::from_gtin(
            EpcScheme::Sgtin,
            EpcForm::Pattern,
            gtin,
            company_prefix_len,
            None,
        )
    }

    /// An SSCC URI.
    ///
    /// # Errors
    /// [`IdError::Syntax`] for a company prefix length outside 6-12.
    pub fn sscc(sscc: &Sscc, company_prefix_len: usize) -> Result<Self, IdError> {
        Self::build(
            EpcScheme::Sscc,
            EpcForm::Id,
            sscc.as_str(),
            company_prefix_len,
            None,
        )
    }

    /// An SGLN URI; `extension` `None` is written as TDS's "no extension" value `0`.
    ///
    /// # Errors
    /// [`IdError::Syntax`] for a company prefix length outside 6-12, extension errors.
    pub fn sgln(
        gln: &Gln,
        company_prefix_len: usize,
        extension: Option<&str>,
    ) -> Result<Self, IdError> {
        let ext = extension.unwrap_or("0");
        Self::build(
            EpcScheme::Sgln,
            EpcForm::Id,
            gln.as_str(),
            company_prefix_len,
            Some(ext),
        )
    }

    /// A PGLN (party) URI.
    ///
    /// # Errors
    /// [`IdError::Syntax`] for a company prefix length outside 6-12.
    pub fn pgln(gln: &Gln, company_prefix_len: usize) -> Result<Self, IdError> {
        Self::build(
            EpcScheme::Pgln,
            EpcForm::Id,
            gln.as_str(),
            company_prefix_len,
            None,
        )
    }

    fn from_gtin(
        scheme: EpcScheme,
        form: EpcForm,
        gtin: &Gtin,
        cp_len: usize,
        extra: Option<&str>,
    ) -> Result<Self, IdError> {
        Self::build(scheme, form, gtin.as_str(), cp_len, extra)
    }

    fn build(
        scheme: EpcScheme,
        form: EpcForm,
        key: &str,
        cp_len: usize,
        extra: Option<&str>,
    ) -> Result<Self, IdError> {
        if !(6..=12).contains(&cp_len) {
            return Err(IdError::syntax(
                "company prefix length",
                &cp_len.to_string(),
                "EPC URIs need a GS1 company prefix of 6 to 12 digits",
            ));
        }
        if let (Some(value), Tail::Text { field, max, rule }) = (extra, scheme.shape().tail) {
            super::charset::check_x(field, value, max, rule)?;
        }
        Ok(Self {
            form,
            scheme,
            cp_len,
            key: key.to_owned(),
            extra: extra.map(str::to_owned),
        })
    }

    /// The scheme.
    #[must_use]
    pub fn scheme(&self) -> EpcScheme {
        self.scheme
    }

    /// Instance, class or pattern.
    #[must_use]
    pub fn form(&self) -> EpcForm {
        self.form
    }

    /// The GS1 company prefix (6-12 digits).
    #[must_use]
    pub fn company_prefix(&self) -> &str {
        let start = self.key_offset();
        self.key.get(start..start + self.cp_len).unwrap_or_default()
    }

    /// The primary key's element string value with its check digit (e.g. the GTIN-14 of an
    /// SGTIN, the 18 digits of AI 8006 for an ITIP, the decoded GIAI).
    #[must_use]
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The GTIN of an SGTIN, LGTIN, ITIP or UPUI (instance or pattern).
    #[must_use]
    pub fn gtin(&self) -> Option<Gtin> {
        match self.scheme {
            EpcScheme::Sgtin | EpcScheme::Lgtin | EpcScheme::Itip | EpcScheme::Upui => {
                Gtin::parse(self.key.get(..14)?).ok()
            }
            _ => None,
        }
    }

    /// The serial of an SGTIN, ITIP, GRAI, GDTI, CPI or SGCN instance (decoded).
    #[must_use]
    pub fn serial(&self) -> Option<&str> {
        match self.scheme {
            EpcScheme::Sgtin
            | EpcScheme::Itip
            | EpcScheme::Grai
            | EpcScheme::Gdti
            | EpcScheme::Cpi
            | EpcScheme::Sgcn => self.extra.as_deref(),
            _ => None,
        }
    }

    /// The lot of an LGTIN (decoded).
    #[must_use]
    pub fn lot(&self) -> Option<&str> {
        match self.scheme {
            EpcScheme::Lgtin => self.extra.as_deref(),
            _ => None,
        }
    }

    /// The GLN of an SGLN or PGLN.
    #[must_use]
    pub fn gln(&self) -> Option<Gln> {
        match self.scheme {
            EpcScheme::Sgln | EpcScheme::Pgln => Gln::parse(&self.key).ok(),
            _ => None,
        }
    }

    /// The extension of an SGLN as written (`0` means none).
    #[must_use]
    pub fn gln_extension(&self) -> Option<&str> {
        match self.scheme {
            EpcScheme::Sgln => self.extra.as_deref(),
            _ => None,
        }
    }

    /// The SSCC of an SSCC URI.
    #[must_use]
    pub fn sscc_key(&self) -> Option<Sscc> {
        match self.scheme {
            EpcScheme::Sscc => Sscc::parse(&self.key).ok(),
            _ => None,
        }
    }

    /// The canonical GS1 Digital Link URI on `https://id.gs1.org`, check digit included; SGLN
    /// extension `0` is dropped, patterns map to their class key. For URIs with canonically
    /// escaped, CSET 82 values this equals [`super::normalise()`] of the URI.
    #[must_use]
    pub fn to_digital_link(&self) -> String {
        let shape = self.scheme.shape();
        let mut out = String::with_capacity(48);
        out.push_str("https://id.gs1.org/");
        out.push_str(shape.ai);
        out.push('/');
        out.push_str(&dl_encode(&self.key));
        // TDS: SGLN extension 0 means "no extension", which a Digital Link writes as no AI 254.
        if let Some(extra) = self
            .extra
            .as_deref()
            .filter(|e| !(self.scheme == EpcScheme::Sgln && *e == "0"))
        {
            out.push_str(shape.dl_joint);
            out.push_str(&dl_encode(extra));
        }
        out
    }

    /// Where the company prefix starts in `key`.
    fn key_offset(&self) -> usize {
        match self.scheme.shape().lead {
            Lead::Moved | Lead::Zero => 1,
            Lead::None => 0,
        }
    }

    /// The reference as the URI writes it (indicator or extension digit moved back in front).
    fn uri_reference(&self) -> String {
        let shape = self.scheme.shape();
        let start = self.key_offset() + self.cp_len;
        let Some(digits) = shape.digits else {
            return epc_escape(self.key.get(start..).unwrap_or_default()).into_owned();
        };
        let end = digits + usize::from(shape.lead == Lead::Zero);
        let rest = self.key.get(start..end).unwrap_or_default();
        match shape.lead {
            Lead::Moved => {
                let mut r = self.key.get(..1).unwrap_or_default().to_owned();
                r.push_str(rest);
                r
            }
            Lead::Zero | Lead::None => rest.to_owned(),
        }
    }

    /// Builds the key from a company prefix and a reference, both digits (see the scheme table).
    pub(super) fn key_from_digits(lead: Lead, cp: &str, reference: &str) -> String {
        let mut body = String::with_capacity(cp.len() + reference.len() + 2);
        match lead {
            Lead::Moved => {
                body.push_str(reference.get(..1).unwrap_or_default());
                body.push_str(cp);
                body.push_str(reference.get(1..).unwrap_or_default());
            }
            Lead::Zero => {
                body.push('0');
                body.push_str(cp);
                body.push_str(reference);
            }
            Lead::None => {
                body.push_str(cp);
                body.push_str(reference);
            }
        }
        with_check_digit(&body)
    }
}

impl fmt::Display for Epc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let form = match self.form {
            EpcForm::Class => "class",
            EpcForm::Id => "id",
            EpcForm::Pattern => "idpat",
        };
        write!(
            f,
            "urn:epc:{form}:{}:{}.{}",
            self.scheme,
            self.company_prefix(),
            self.uri_reference()
        )?;
        if self.scheme == EpcScheme::Itip {
            let piece = self.key.get(14..16).unwrap_or_default();
            let total = self.key.get(16..18).unwrap_or_default();
            write!(f, ".{piece}.{total}")?;
        }
        match (&self.extra, self.form) {
            (_, EpcForm::Pattern) => f.write_str(".*"),
            (Some(extra), _) => write!(f, ".{}", epc_escape(extra)),
            (None, _) => Ok(()),
        }
    }
}

impl FromStr for Epc {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        Self::parse(s)
    }
}

impl TryFrom<&str> for Epc {
    type Error = IdError;
    fn try_from(s: &str) -> Result<Self, IdError> {
        Self::parse(s)
    }
}

impl TryFrom<String> for Epc {
    type Error = IdError;
    fn try_from(s: String) -> Result<Self, IdError> {
        Self::parse(&s)
    }
}

impl From<Epc> for String {
    fn from(e: Epc) -> Self {
        e.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gtin(s: &str) -> Gtin {
        Gtin::parse(s).unwrap()
    }

    #[test]
    fn sgtin_from_gtin_writes_the_tds_uri() {
        let e = Epc::sgtin(&gtin("80614141123458"), 7, "6789/&%\"!?()").unwrap();
        assert_eq!(
            e.to_string(),
            "urn:epc:id:sgtin:0614141.812345.6789%2F%26%25%22!%3F()"
        );
        assert_eq!(e.company_prefix(), "0614141");
        assert_eq!(e.serial(), Some("6789/&%\"!?()"));
        assert_eq!(
            e.to_digital_link(),
            "https://id.gs1.org/01/80614141123458/21/6789%2F%26%25%22%21%3F%28%29"
        );
        assert_eq!(e.gtin(), Some(gtin("80614141123458")));
        assert_eq!(e.lot(), None);
    }

    #[test]
    fn lgtin_pattern_sscc_sgln_pgln() {
        let g = gtin("00300010123455");
        let lgtin = Epc::lgtin(&g, 6, "606412T").unwrap();
        assert_eq!(
            lgtin.to_string(),
            "urn:epc:class:lgtin:030001.0012345.606412T"
        );
        assert_eq!(
            lgtin.to_digital_link(),
            "https://id.gs1.org/01/00300010123455/10/606412T"
        );
        assert_eq!(lgtin.lot(), Some("606412T"));
        let pat = Epc::sgtin_pattern(&g, 6).unwrap();
        assert_eq!(pat.to_string(), "urn:epc:idpat:sgtin:030001.0012345.*");
        assert_eq!(
            pat.to_digital_link(),
            "https://id.gs1.org/01/00300010123455"
        );
        let sscc = Epc::sscc(&Sscc::parse("340123451111111111").unwrap(), 7).unwrap();
        assert_eq!(sscc.to_string(), "urn:epc:id:sscc:4012345.3111111111");
        assert_eq!(sscc.sscc_key().unwrap().as_str(), "340123451111111111");
        let gln = Gln::parse("4012345000054").unwrap();
        let sgln = Epc::sgln(&gln, 7, None).unwrap();
        assert_eq!(sgln.to_string(), "urn:epc:id:sgln:4012345.00005.0");
        assert_eq!(
            sgln.to_digital_link(),
            "https://id.gs1.org/414/4012345000054"
        );
        let sgln = Epc::sgln(&gln, 7, Some("122")).unwrap();
        assert_eq!(
            sgln.to_digital_link(),
            "https://id.gs1.org/414/4012345000054/254/122"
        );
        assert_eq!(sgln.gln(), Some(gln.clone()));
        assert_eq!(sgln.gln_extension(), Some("122"));
        let pgln = Epc::pgln(&gln, 12).unwrap();
        assert_eq!(pgln.to_string(), "urn:epc:id:pgln:401234500005.");
        assert_eq!(
            pgln.to_digital_link(),
            "https://id.gs1.org/417/4012345000054"
        );
    }

    #[test]
    fn constructors_reject_bad_input() {
        let g = gtin("80614141123458");
        assert!(Epc::sgtin(&g, 5, "1").is_err());
        assert!(Epc::sgtin(&g, 13, "1").is_err());
        assert!(Epc::sgtin(&g, 7, "").is_err());
        assert!(Epc::sgtin(&g, 7, "20 17").is_err());
        assert!(Epc::sgtin(&g, 7, &"1".repeat(21)).is_err());
        assert!(Epc::lgtin(&g, 7, "é").is_err());
    }
}
