//! EPCIS 1.2/2.0 for DSCSA: one typed model, the XML and JSON-LD codecs, GS1 identifiers and the
//! CBV 2.0 event hash ID.
//!
//! The crate is pure: no I/O beyond the `std::io::BufRead` a caller hands in, no async, no SQL,
//! no HTTP. Everything that reads untrusted bytes returns a typed [`DecodeError`] that names
//! where the defect is.
#![warn(missing_docs)]
#![warn(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

pub mod cbv;
mod decode;
pub mod encode;
mod error;
#[doc(hidden)]
pub mod fuzzing;
mod hash;
pub mod id;
mod jsonld;
mod limits;
pub mod model;
mod time;
mod validate;
pub mod xml;

pub use decode::{Syntax, decode, decode_stream, decode_with, detect};
pub use error::{DecodeError, DecodeResult, Position, Problem};
pub use hash::{
    event_hash_id, event_hash_id_ignoring, hash_prehash, prehash, prehash_by_tree_walk,
    prehash_ignoring,
};
pub use limits::Limits;
pub use model::{Document, EpcisVersion, Event, EventKind};
