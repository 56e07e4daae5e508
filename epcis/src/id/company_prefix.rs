//! GS1 Company Prefix lengths: what turning a GTIN, SSCC or GLN into an EPC URI needs.
//!
//! An EPC URI writes the company prefix and the reference as separate parts
//! (`urn:epc:id:sgtin:0614141.812345.…`); a GTIN, a Digital Link or a barcode does not say
//! where the prefix ends. GS1 assigns prefixes of 6 to 12 digits and publishes the lengths in a
//! global table (the GCP length list), which this service cannot fetch. The length therefore
//! comes from:
//!
//! 1. master data: an EPCClass vocabulary element or any EPC URI we received for the product
//!    (`urn:epc:idpat:sgtin:030001.0012345.*` says the prefix is `030001`), fed to
//!    [`CompanyPrefixTable::learn`];
//! 2. configuration: prefixes an operator lists for their trading partners, fed to
//!    [`CompanyPrefixTable::insert`].
//!
//! When neither knows the key, conversion fails with [`IdError::CompanyPrefixUnknown`], which
//! says what to add. There is no built-in table and no guessing: a wrong split yields a
//! different, valid-looking EPC.

use std::collections::HashSet;

use super::check_digit::require_digits;
use super::epc::Epc;
use super::error::IdError;

/// Where a GS1 Company Prefix ends.
pub trait CompanyPrefixLengths {
    /// The length (6-12) of the company prefix at the start of `key_digits`, or `None` if
    /// unknown. `key_digits` are the key's digits from where the prefix starts: a GTIN-14
    /// without its indicator digit ([`super::Gtin::company_prefix_digits`]), an SSCC without its
    /// extension digit, a GLN as it is.
    fn prefix_length(&self, key_digits: &str) -> Option<usize>;
}

/// Any `Fn(&str) -> Option<usize>` is a prefix-length source (handy for tests and adapters).
impl<F: Fn(&str) -> Option<usize>> CompanyPrefixLengths for F {
    fn prefix_length(&self, key_digits: &str) -> Option<usize> {
        self(key_digits)
    }
}

/// A set of known GS1 Company Prefixes, matched longest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompanyPrefixTable {
    prefixes: HashSet<String>,
}

impl CompanyPrefixTable {
    /// An empty table.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a company prefix (6 to 12 digits).
    ///
    /// # Errors
    /// [`IdError::Empty`], [`IdError::Charset`], [`IdError::Length`].
    pub fn insert(&mut self, prefix: &str) -> Result<(), IdError> {
        require_digits("company prefix", prefix)?;
        if !(6..=12).contains(&prefix.len()) {
            return Err(IdError::length(
                "company prefix",
                prefix,
                "a GS1 company prefix for EPC URIs has 6 to 12 digits",
            ));
        }
        self.prefixes.insert(prefix.to_owned());
        Ok(())
    }

    /// Learns the company prefix an EPC URI states (instance, class or pattern).
    pub fn learn(&mut self, epc: &Epc) {
        // A parsed Epc's prefix is 6-12 digits, so this cannot fail.
        let _ = self.insert(epc.company_prefix());
    }

    /// Number of known prefixes.
    #[must_use]
    pub fn len(&self) -> usize {
        self.prefixes.len()
    }

    /// Whether no prefix is known.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.prefixes.is_empty()
    }
}

impl CompanyPrefixLengths for CompanyPrefixTable {
    fn prefix_length(&self, key_digits: &str) -> Option<usize> {
        (6..=12).rev().find(|&n| {
            key_digits
                .get(..n)
                .is_some_and(|p| self.prefixes.contains(p))
        })
    }
}

impl<'a> FromIterator<&'a Epc> for CompanyPrefixTable {
    fn from_iter<I: IntoIterator<Item = &'a Epc>>(iter: I) -> Self {
        let mut table = Self::new();
        iter.into_iter().for_each(|e| table.learn(e));
        table
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_prefix_wins() {
        let mut t = CompanyPrefixTable::new();
        t.insert("030001").unwrap();
        t.insert("0300010").unwrap();
        assert_eq!(t.prefix_length("0300010123455"), Some(7));
        assert_eq!(t.prefix_length("0300011123455"), Some(6));
        assert_eq!(t.prefix_length("0300021123455"), None);
        assert_eq!(t.prefix_length(""), None);
        assert_eq!(t.prefix_length("é"), None);
        assert_eq!(t.len(), 2);
    }

    #[test]
    fn learns_from_master_data_uris() {
        let epc = Epc::parse("urn:epc:idpat:sgtin:030001.0012345.*").unwrap();
        let t: CompanyPrefixTable = [&epc].into_iter().collect();
        assert_eq!(t.prefix_length("0300010123455"), Some(6));
    }

    #[test]
    fn insert_rejects_bad_prefixes() {
        let mut t = CompanyPrefixTable::new();
        for bad in ["", "12345", "1234567890123", "12345a", "١٢٣٤٥٦"] {
            assert!(t.insert(bad).is_err(), "{bad}");
        }
        assert!(t.is_empty());
    }

    #[test]
    fn closures_are_sources() {
        let seven = |_: &str| Some(7);
        assert_eq!(seven.prefix_length("x"), Some(7));
    }
}
