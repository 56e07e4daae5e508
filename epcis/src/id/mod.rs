//! GS1 identifiers (issue 2): EPC URIs, GS1 Digital Link, element strings, GTIN/NDC, CSET 82.
mod check_digit;
mod error;
mod normalise;
pub use normalise::normalise;
