//! Who is asking, and what they may see: trading-partner identity for dscsa-exchange.
//!
//! This crate owns the pieces of the partner listener that need no web framework and no
//! database:
//!
//! - [`ids`]: validated identifiers (principal ids, GLNs, GS1 company prefixes, certificate
//!   fingerprints), each a newtype with a fallible constructor.
//! - [`principal`]: partner records (legal name, GLNs, prefixes, role, status, licences) and the
//!   four kinds of principal: trading partner, home-organisation staff, home-organisation
//!   system, regulator; and what each may do ([`principal::Action`]).
//! - [`identity`]: the verified client certificate of a connection, read with `x509-parser`
//!   (SHA-256 fingerprint, subject common name, subject alternative names, validity).
//! - [`binding`]: how a certificate maps to a principal (by subject name or by pinned
//!   fingerprint; two bindings at once for rotation; expiry enforced).
//! - [`tls`]: the rustls server configuration (mandatory client certificates, TLS 1.2 and 1.3,
//!   ALPN `h2` and `http/1.1`, CRLs from files) and the matching client configuration.
//! - [`devpki`]: a development PKI made with `rcgen` (CA, localhost server certificate, one
//!   client certificate per principal, CRLs).
//! - [`visibility`]: which events a principal may see, compiled to SQL conditions with bind
//!   values and a closed set of fragments.
//!
//! Nothing here weakens TLS: there is no accept-any verifier and no key logging.
#![warn(missing_docs)]
#![warn(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

pub mod binding;
pub mod devpki;
mod error;
pub mod identity;
pub mod ids;
pub mod principal;
pub mod tls;
pub mod visibility;

pub use binding::{BindingMatch, CertBinding, Resolution};
pub use error::Error;
pub use identity::PeerIdentity;
pub use ids::{CompanyPrefix, Fingerprint, Gln, PrincipalId, UsState};
pub use principal::{
    Action, Licences, PartnerRecord, PartnerRole, Principal, PrincipalKind, StaffRole,
    StateLicence, Status,
};
pub use visibility::Visibility;
