//! GS1 identifiers for DSCSA: the GS1 keys (GTIN, GLN, SSCC) and the US NDC, EPC URIs, GS1
//! Digital Link URIs, 2D DataMatrix element strings, and the CBV 2.0 event hash's identifier
//! normaliser.
//!
//! Every type here is parse-don't-validate: a value of [`Gtin`], [`Epc`], [`DigitalLink`], … is
//! valid by construction (check digits verified, characters within GS1 CSET 82, lengths within
//! the GS1 limits), and parsing never panics on any input; it returns an [`IdError`] that names
//! the value and the broken rule.
//!
//! | module | owns |
//! |---|---|
//! | [`check_digit`] | the GS1 mod-10 check digit |
//! | [`charset`] | CSET 82/39, EPC URI escaping, Digital Link percent-encoding |
//! | [`keys`], [`ndc`] | [`Gtin`], [`Gln`], [`Sscc`], [`Ndc`] and the NDC ↔ GTIN mapping |
//! | [`epc`], `epc_parse`, [`epc_scheme`] | [`Epc`] (EPC pure-identity, class and pattern URIs) |
//! | [`normalise`](mod@normalise) | the event hash's reference normaliser, byte for byte |
//! | [`digital_link`], [`company_prefix`] | [`DigitalLink`], and its conversion to EPC URIs |
//! | [`element_string`], [`expiry`], [`scan`] | scanned 2D DataMatrix data: [`ScannedProduct`] |

// The crate root will turn these on crate-wide; until then this module holds itself to them.
#![warn(missing_docs)]
#![warn(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

pub mod charset;
pub mod check_digit;
pub mod company_prefix;
pub mod digital_link;
pub mod element_string;
pub mod epc;
mod epc_parse;
pub mod epc_scheme;
pub mod error;
pub mod expiry;
pub mod keys;
pub mod ndc;
pub mod normalise;
pub mod scan;

pub use company_prefix::{CompanyPrefixLengths, CompanyPrefixTable};
pub use digital_link::{DigitalLink, PrimaryKey};
pub use element_string::ElementString;
pub use epc::{Epc, EpcForm, EpcScheme};
pub use error::IdError;
pub use expiry::Expiry;
pub use keys::{Gln, Gtin, Sscc};
pub use ndc::{Ndc, NdcLayout};
pub use normalise::normalise;
pub use scan::ScannedProduct;

/// Feeds `data` (as lossy UTF-8) to every identifier parser and ignores the results: the entry
/// point of the identifier fuzz targets. Anything but a panic is a pass.
pub fn fuzz_identifiers(data: &[u8]) {
    let s = String::from_utf8_lossy(data);
    if let Ok(epc) = Epc::parse(&s) {
        let _ = epc.to_digital_link();
        let _ = Epc::parse(&epc.to_string());
    }
    let _ = normalise(&s);
    if let Ok(dl) = DigitalLink::parse(&s) {
        let _ = dl.to_string();
        let table = CompanyPrefixTable::new();
        let _ = dl.to_epc_urn(&table);
        let _ = dl.to_epc_urn(&|_: &str| Some(7));
    }
    let _ = ElementString::parse(&s);
    let _ = ScannedProduct::parse(&s);
    let _ = Gtin::parse(&s);
    let _ = Ndc::parse(&s);
}
