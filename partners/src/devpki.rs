//! A development PKI made with `rcgen`: a CA, a server certificate for `localhost`, one client
//! certificate per principal, and CRLs.
//!
//! This is for development, demos and tests. Keys are ECDSA P-256, written as PKCS#8 PEM with
//! mode 0600. Client certificates carry the principal id as subject common name and the URI
//! `urn:dscsa:principal:<id>` as subject alternative name, which is what a name binding made
//! by `dscsa serve --demo` matches. Production deployments bring their own CA; nothing in the
//! server depends on this module beyond `dscsa pki dev` and the first-start convenience.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, DnType,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose,
    RevokedCertParams, SanType, SerialNumber,
};
use time::{Duration, OffsetDateTime};

use crate::Error;
use crate::ids::PrincipalId;

/// Subject common name of the development CA.
pub const CA_COMMON_NAME: &str = "dscsa-exchange development CA";

/// File names inside a development PKI directory.
#[derive(Debug, Clone)]
pub struct DevPkiLayout {
    dir: PathBuf,
}

impl DevPkiLayout {
    /// The layout rooted at `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// CA certificate (PEM): the trust anchor for client certificates, and for `curl --cacert`.
    pub fn ca_cert(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    /// CA private key (PEM).
    pub fn ca_key(&self) -> PathBuf {
        self.dir.join("ca.key")
    }

    /// Server certificate (PEM).
    pub fn server_cert(&self) -> PathBuf {
        self.dir.join("server.pem")
    }

    /// Server private key (PEM).
    pub fn server_key(&self) -> PathBuf {
        self.dir.join("server.key")
    }

    /// The CA's CRL (PEM), empty when first written.
    pub fn crl(&self) -> PathBuf {
        self.dir.join("crl.pem")
    }

    /// A principal's client certificate (PEM).
    pub fn client_cert(&self, id: &PrincipalId) -> PathBuf {
        self.dir.join("clients").join(format!("{id}.pem"))
    }

    /// A principal's client private key (PEM).
    pub fn client_key(&self, id: &PrincipalId) -> PathBuf {
        self.dir.join("clients").join(format!("{id}.key"))
    }
}

/// A certificate and its private key, as issued.
pub struct IssuedCert {
    cert_pem: String,
    cert_der: Vec<u8>,
    key_pem: String,
    serial: Vec<u8>,
}

impl std::fmt::Debug for IssuedCert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedCert")
            .field("serial", &self.serial)
            .field("key_pem", &"[redacted]")
            .finish_non_exhaustive()
    }
}

impl IssuedCert {
    fn new(cert: &rcgen::Certificate, key: &KeyPair) -> Result<Self, Error> {
        let der = cert.der().to_vec();
        let (_, parsed) = x509_parser::parse_x509_certificate(&der)
            .map_err(|e| Error::BadCertificate(e.to_string()))?;
        let serial = parsed.raw_serial().to_vec();
        Ok(Self {
            cert_pem: cert.pem(),
            cert_der: der,
            key_pem: key.serialize_pem(),
            serial,
        })
    }

    /// The certificate, PEM.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The certificate, DER.
    pub fn cert_der(&self) -> &[u8] {
        &self.cert_der
    }

    /// The private key, PKCS#8 PEM.
    pub fn key_pem(&self) -> &str {
        &self.key_pem
    }

    /// The serial number's bytes (big-endian), as a CRL names it.
    pub fn serial(&self) -> &[u8] {
        &self.serial
    }

    /// Writes the certificate to `cert` and the key to `key` (mode 0600).
    pub fn write(&self, cert: &Path, key: &Path) -> Result<(), Error> {
        write_file(cert, self.cert_pem.as_bytes(), false)?;
        write_file(key, self.key_pem.as_bytes(), true)
    }
}

/// Validity of a client certificate to issue.
#[derive(Debug, Clone, Copy)]
pub struct Validity {
    /// Start (inclusive).
    pub not_before: OffsetDateTime,
    /// End (inclusive).
    pub not_after: OffsetDateTime,
}

impl Validity {
    /// From an hour ago for `days` days.
    pub fn days(days: i64) -> Self {
        let now = OffsetDateTime::now_utc();
        Self {
            not_before: now - Duration::hours(1),
            not_after: now + Duration::days(days),
        }
    }
}

/// The development CA: can issue server and client certificates and sign CRLs.
pub struct DevCa {
    issuer: Issuer<'static, KeyPair>,
    cert_pem: String,
    cert_der: Vec<u8>,
    key_pem: String,
}

impl std::fmt::Debug for DevCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevCa").finish_non_exhaustive()
    }
}

fn pki_err(e: rcgen::Error) -> Error {
    Error::DevPki(e.to_string())
}

impl DevCa {
    /// A new CA with a fresh key, valid ten years.
    pub fn generate() -> Result<Self, Error> {
        Self::generate_named(CA_COMMON_NAME)
    }

    /// A new CA with the given common name (tests use a second CA as "unknown").
    pub fn generate_named(common_name: &str) -> Result<Self, Error> {
        let key = KeyPair::generate().map_err(pki_err)?;
        let mut params = CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params
            .distinguished_name
            .push(DnType::OrganizationName, "dscsa-exchange development");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let validity = Validity::days(3650);
        params.not_before = validity.not_before;
        params.not_after = validity.not_after;
        let cert = params.self_signed(&key).map_err(pki_err)?;
        let key_pem = key.serialize_pem();
        Ok(Self {
            cert_pem: cert.pem(),
            cert_der: cert.der().to_vec(),
            key_pem,
            issuer: Issuer::new(params, key),
        })
    }

    /// Loads a CA written by [`DevCa::write`].
    pub fn load(layout: &DevPkiLayout) -> Result<Self, Error> {
        let cert_pem = read_to_string(&layout.ca_cert())?;
        let key_pem = read_to_string(&layout.ca_key())?;
        let key = KeyPair::from_pem(&key_pem).map_err(pki_err)?;
        let issuer = Issuer::from_ca_cert_pem(&cert_pem, key).map_err(pki_err)?;
        let cert_der = crate::tls::read_certs_pem(cert_pem.as_bytes(), &layout.ca_cert())?
            .into_iter()
            .next()
            .map(|c| c.to_vec())
            .ok_or_else(|| Error::Pem {
                path: layout.ca_cert(),
                what: "no certificate".into(),
            })?;
        Ok(Self {
            issuer,
            cert_pem,
            cert_der,
            key_pem,
        })
    }

    /// Writes the CA certificate and key into the layout's directory.
    pub fn write(&self, layout: &DevPkiLayout) -> Result<(), Error> {
        write_file(&layout.ca_cert(), self.cert_pem.as_bytes(), false)?;
        write_file(&layout.ca_key(), self.key_pem.as_bytes(), true)
    }

    /// The CA certificate, PEM.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The CA certificate, DER.
    pub fn cert_der(&self) -> &[u8] {
        &self.cert_der
    }

    /// A server certificate for `localhost`, `127.0.0.1` and `::1`, valid 825 days.
    pub fn issue_server(&self) -> Result<IssuedCert, Error> {
        let key = KeyPair::generate().map_err(pki_err)?;
        let mut params = CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        params.subject_alt_names = vec![
            SanType::DnsName("localhost".try_into().map_err(pki_err)?),
            SanType::IpAddress([127, 0, 0, 1].into()),
            SanType::IpAddress(std::net::Ipv6Addr::LOCALHOST.into()),
        ];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.use_authority_key_identifier_extension = true;
        let validity = Validity::days(825);
        params.not_before = validity.not_before;
        params.not_after = validity.not_after;
        let cert = params.signed_by(&key, &self.issuer).map_err(pki_err)?;
        IssuedCert::new(&cert, &key)
    }

    /// A client certificate for a principal, valid `days` days.
    pub fn issue_client(&self, id: &PrincipalId, days: i64) -> Result<IssuedCert, Error> {
        self.issue_client_with(id.as_str(), Validity::days(days))
    }

    /// A client certificate with the given common name and validity (tests issue expired ones).
    pub fn issue_client_with(
        &self,
        common_name: &str,
        validity: Validity,
    ) -> Result<IssuedCert, Error> {
        let key = KeyPair::generate().map_err(pki_err)?;
        let mut params = CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        let uri = format!("urn:dscsa:principal:{common_name}");
        params.subject_alt_names = vec![SanType::URI(uri.try_into().map_err(pki_err)?)];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.use_authority_key_identifier_extension = true;
        params.not_before = validity.not_before;
        params.not_after = validity.not_after;
        let cert = params.signed_by(&key, &self.issuer).map_err(pki_err)?;
        IssuedCert::new(&cert, &key)
    }

    /// A CRL (PEM) revoking the certificates with the given serials, valid 30 days.
    pub fn crl_pem(&self, revoked_serials: &[&[u8]], crl_number: u64) -> Result<String, Error> {
        let now = OffsetDateTime::now_utc();
        let params = CertificateRevocationListParams {
            this_update: now - Duration::minutes(5),
            next_update: now + Duration::days(30),
            crl_number: SerialNumber::from_slice(&crl_number.to_be_bytes()),
            issuing_distribution_point: None,
            revoked_certs: revoked_serials
                .iter()
                .map(|serial| RevokedCertParams {
                    serial_number: SerialNumber::from_slice(serial),
                    revocation_time: now - Duration::minutes(1),
                    reason_code: Some(rcgen::RevocationReason::KeyCompromise),
                    invalidity_date: None,
                })
                .collect(),
            key_identifier_method: KeyIdMethod::Sha256,
        };
        params
            .signed_by(&self.issuer)
            .and_then(|crl| crl.pem())
            .map_err(pki_err)
    }
}

/// What [`ensure`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ensured {
    /// A new CA, server certificate and empty CRL were written.
    Created,
    /// The files were there and the server certificate is valid for at least a week.
    Existing,
    /// The CA was there; the server certificate was missing or near its end and was reissued.
    ServerReissued,
}

/// Makes sure `layout` holds a development CA, a server certificate valid for at least a week,
/// and a CRL file; creates what is missing.
pub fn ensure(layout: &DevPkiLayout) -> Result<(DevCa, Ensured), Error> {
    let dir = layout.dir();
    fs::create_dir_all(dir.join("clients")).map_err(|e| Error::io(dir, e))?;
    let (ca, mut outcome) = if layout.ca_cert().exists() && layout.ca_key().exists() {
        (DevCa::load(layout)?, Ensured::Existing)
    } else {
        let ca = DevCa::generate()?;
        ca.write(layout)?;
        (ca, Ensured::Created)
    };
    if !still_valid(&layout.server_cert(), 7)? || !layout.server_key().exists() {
        ca.issue_server()?
            .write(&layout.server_cert(), &layout.server_key())?;
        if outcome == Ensured::Existing {
            outcome = Ensured::ServerReissued;
        }
    }
    if !layout.crl().exists() {
        write_file(&layout.crl(), ca.crl_pem(&[], 1)?.as_bytes(), false)?;
    }
    Ok((ca, outcome))
}

/// Whether the certificate at `path` exists and stays valid for at least `days` more days.
pub fn still_valid(path: &Path, days: i64) -> Result<bool, Error> {
    if !path.exists() {
        return Ok(false);
    }
    let pem = fs::read(path).map_err(|e| Error::io(path, e))?;
    let Some(der) = crate::tls::read_certs_pem(&pem, path)?.into_iter().next() else {
        return Ok(false);
    };
    let id = crate::PeerIdentity::from_der(&der)?;
    let horizon = OffsetDateTime::now_utc() + Duration::days(days);
    Ok(id.is_valid_at(horizon.unix_timestamp()))
}

fn read_to_string(path: &Path) -> Result<String, Error> {
    fs::read_to_string(path).map_err(|e| Error::io(path, e))
}

/// Writes a file, creating its directory; `private` files get mode 0600 on Unix.
pub fn write_file(path: &Path, bytes: &[u8], private: bool) -> Result<(), Error> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    }
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = private;
    let mut file = options.open(path).map_err(|e| Error::io(path, e))?;
    file.write_all(bytes).map_err(|e| Error::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ensure_creates_then_reuses() {
        let dir = tempfile::tempdir().unwrap();
        let layout = DevPkiLayout::new(dir.path());
        let (_, first) = ensure(&layout).unwrap();
        assert_eq!(first, Ensured::Created);
        let ca_before = fs::read(layout.ca_cert()).unwrap();
        let (ca, second) = ensure(&layout).unwrap();
        assert_eq!(second, Ensured::Existing);
        assert_eq!(fs::read(layout.ca_cert()).unwrap(), ca_before);
        assert!(layout.crl().exists());
        // The reloaded CA still issues certificates that name it as issuer.
        let client = ca.issue_client(&"acme".parse().unwrap(), 1).unwrap();
        let id = crate::PeerIdentity::from_der(client.cert_der()).unwrap();
        assert!(id.issuer().contains(CA_COMMON_NAME));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = fs::metadata(layout.ca_key()).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn issued_certs_redact_keys_in_debug() {
        let ca = DevCa::generate().unwrap();
        let cert = ca.issue_client(&"acme".parse().unwrap(), 1).unwrap();
        let debug = format!("{cert:?}");
        assert!(!debug.contains("PRIVATE KEY"), "{debug}");
        assert!(cert.key_pem().contains("PRIVATE KEY"));
    }
}
