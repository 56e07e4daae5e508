//! The verified client certificate of a connection, as the rest of the server sees it.
//!
//! rustls has already checked the chain, validity dates and revocation when this runs; this
//! module only reads the end-entity certificate with `x509-parser` and keeps what binding and
//! logging need: the SHA-256 fingerprint, the subject common name, the subject alternative
//! names, serial, issuer and validity. The certificate bytes come from the network, so every
//! step is fallible and bounded: at most [`MAX_NAMES`] names of at most [`MAX_NAME_LEN`] bytes
//! are kept.

use serde::Serialize;
use x509_parser::extensions::GeneralName;

use crate::Error;
use crate::ids::Fingerprint;

/// How many names (common name plus SAN entries) are kept from one certificate.
pub const MAX_NAMES: usize = 16;
/// The longest name kept, in bytes; longer names are ignored.
pub const MAX_NAME_LEN: usize = 255;

/// What the server knows about the certificate a client presented.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PeerIdentity {
    fingerprint: Fingerprint,
    subject: String,
    common_name: Option<String>,
    names: Vec<String>,
    issuer: String,
    #[serde(skip)]
    issuer_der: Vec<u8>,
    serial: String,
    #[serde(serialize_with = "rfc3339")]
    not_before: i64,
    #[serde(serialize_with = "rfc3339")]
    not_after: i64,
}

/// Unix seconds written as RFC 3339 UTC, for people reading `/whoami`.
fn rfc3339<S: serde::Serializer>(unix: &i64, s: S) -> Result<S::Ok, S::Error> {
    let text = time::OffsetDateTime::from_unix_timestamp(*unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| unix.to_string());
    s.serialize_str(&text)
}

impl PeerIdentity {
    /// Reads a DER-encoded X.509 certificate.
    pub fn from_der(der: &[u8]) -> Result<Self, Error> {
        let (_, cert) = x509_parser::parse_x509_certificate(der)
            .map_err(|e| Error::BadCertificate(e.to_string()))?;
        let common_name = cert
            .subject()
            .iter_common_name()
            .next()
            .and_then(|cn| cn.as_str().ok())
            .filter(|cn| cn.len() <= MAX_NAME_LEN)
            .map(str::to_owned);
        let mut names: Vec<String> = common_name.iter().cloned().collect();
        if let Ok(Some(san)) = cert.subject_alternative_name() {
            for name in &san.value.general_names {
                let text = match name {
                    GeneralName::DNSName(s) | GeneralName::URI(s) | GeneralName::RFC822Name(s) => {
                        *s
                    }
                    _ => continue,
                };
                if names.len() >= MAX_NAMES {
                    break;
                }
                if text.len() <= MAX_NAME_LEN && !names.iter().any(|n| n == text) {
                    names.push(text.to_owned());
                }
            }
        }
        Ok(Self {
            fingerprint: Fingerprint::of_der(der),
            subject: cert.subject().to_string(),
            common_name,
            names,
            issuer: cert.issuer().to_string(),
            issuer_der: cert.issuer().as_raw().to_vec(),
            serial: cert.raw_serial_as_string(),
            not_before: cert.validity().not_before.timestamp(),
            not_after: cert.validity().not_after.timestamp(),
        })
    }

    /// SHA-256 of the certificate's DER bytes.
    pub fn fingerprint(&self) -> &Fingerprint {
        &self.fingerprint
    }

    /// The subject distinguished name, for display.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The first subject common name, if any.
    pub fn common_name(&self) -> Option<&str> {
        self.common_name.as_deref()
    }

    /// The names a subject binding can match: the common name, then the DNS, URI and e-mail
    /// subject alternative names, without duplicates.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The issuer distinguished name, for display.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The issuer distinguished name, DER (how a CRL names its issuer).
    pub fn issuer_der(&self) -> &[u8] {
        &self.issuer_der
    }

    /// The serial number as colon-separated hex.
    pub fn serial(&self) -> &str {
        &self.serial
    }

    /// Start of validity, Unix seconds.
    pub fn not_before(&self) -> i64 {
        self.not_before
    }

    /// End of validity, Unix seconds.
    pub fn not_after(&self) -> i64 {
        self.not_after
    }

    /// Whether `unix_seconds` falls inside the validity period.
    pub fn is_valid_at(&self, unix_seconds: i64) -> bool {
        self.not_before <= unix_seconds && unix_seconds <= self.not_after
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devpki::DevCa;

    #[test]
    fn reads_names_fingerprint_and_validity() {
        let ca = DevCa::generate().unwrap();
        let client = ca.issue_client(&"acme".parse().unwrap(), 30).unwrap();
        let id = PeerIdentity::from_der(client.cert_der()).unwrap();
        assert_eq!(id.common_name(), Some("acme"));
        assert_eq!(id.names(), ["acme", "urn:dscsa:principal:acme"]);
        assert_eq!(id.fingerprint(), &Fingerprint::of_der(client.cert_der()));
        assert!(id.issuer().contains("dscsa-exchange development CA"));
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        assert!(id.is_valid_at(now));
        assert!(!id.is_valid_at(now + 31 * 86_400));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for bytes in [&b""[..], b"\x30\x82\xff\xff", b"not a certificate"] {
            assert!(PeerIdentity::from_der(bytes).is_err());
        }
    }
}
