//! EPCIS 1.2/2.0 for DSCSA: one typed model, the XML and JSON-LD codecs, GS1 identifiers and the
//! CBV 2.0 event hash ID.
//!
//! The crate is pure: no I/O beyond `std::io::Read` handed in by the caller, no async, no SQL, no
//! HTTP. Everything that reads untrusted bytes returns a typed error that names where the defect is.

pub mod id;
