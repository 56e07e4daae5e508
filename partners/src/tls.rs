//! rustls configuration for the partner listener, and the matching client configuration.
//!
//! The server configuration is secure by default and has no switch to weaken it: client
//! certificates are mandatory ([`WebPkiClientVerifier`] without `allow_unauthenticated`), TLS
//! 1.3 and 1.2 with rustls's own cipher suites, ALPN `h2` then `http/1.1`, no key logging.
//! CRLs are read from files; revocation is checked for the whole chain and a certificate whose
//! status no configured CRL covers is refused (rustls's defaults). [`ServerTls`] keeps the
//! current configuration and rebuilds it when its files change, so CRLs are reloaded without a
//! restart; until the files parse again the previous configuration stays in force.
//!
//! rustls calls are confined to this module and the server's listener module, so a rustls
//! upgrade touches two files (`../shared/STYLE.md`, practical notes).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::SystemTime;

use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};

use crate::Error;
use crate::identity::PeerIdentity;

/// The files a partner listener's TLS is built from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerTlsFiles {
    /// Server certificate chain (PEM), leaf first.
    pub cert: PathBuf,
    /// Server private key (PEM: PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
    /// CA certificates (PEM) that issue client certificates.
    pub client_cas: Vec<PathBuf>,
    /// CRLs (PEM or DER) of those CAs; empty means no revocation checking.
    pub crls: Vec<PathBuf>,
}

impl ServerTlsFiles {
    fn all(&self) -> impl Iterator<Item = &PathBuf> {
        [&self.cert, &self.key]
            .into_iter()
            .chain(&self.client_cas)
            .chain(&self.crls)
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Reads every certificate in a PEM buffer (`path` names the source in errors).
pub fn read_certs_pem(pem: &[u8], path: &Path) -> Result<Vec<CertificateDer<'static>>, Error> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Error::Pem {
            path: path.to_owned(),
            what: format!("not PEM certificates: {e}"),
        })?;
    if certs.is_empty() {
        return Err(Error::Pem {
            path: path.to_owned(),
            what: "holds no CERTIFICATE block".into(),
        });
    }
    Ok(certs)
}

/// Reads every certificate in a PEM file.
pub fn read_certs_file(path: &Path) -> Result<Vec<CertificateDer<'static>>, Error> {
    let pem = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    read_certs_pem(&pem, path)
}

/// Reads the first private key in a PEM file.
pub fn read_key_file(path: &Path) -> Result<PrivateKeyDer<'static>, Error> {
    let pem = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    PrivateKeyDer::from_pem_slice(&pem).map_err(|e| Error::Pem {
        path: path.to_owned(),
        what: format!("no usable private key: {e}"),
    })
}

/// Reads the CRLs in a file: PEM `X509 CRL` blocks, or one DER CRL.
pub fn read_crls_file(path: &Path) -> Result<Vec<CertificateRevocationListDer<'static>>, Error> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    if bytes.first() == Some(&0x30) {
        return Ok(vec![CertificateRevocationListDer::from(bytes)]);
    }
    let crls = CertificateRevocationListDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Error::Pem {
            path: path.to_owned(),
            what: format!("not a PEM CRL: {e}"),
        })?;
    if crls.is_empty() {
        return Err(Error::Pem {
            path: path.to_owned(),
            what: "holds no X509 CRL block".into(),
        });
    }
    Ok(crls)
}

/// Builds the partner listener's server configuration from its files.
pub fn server_config(files: &ServerTlsFiles) -> Result<Arc<ServerConfig>, Error> {
    Ok(build(files)?.0)
}

fn build(files: &ServerTlsFiles) -> Result<(Arc<ServerConfig>, RevokedSerials), Error> {
    let chain = read_certs_file(&files.cert)?;
    let key = read_key_file(&files.key)?;
    let mut roots = RootCertStore::empty();
    for path in &files.client_cas {
        for ca in read_certs_file(path)? {
            roots
                .add(ca)
                .map_err(|e| Error::Tls(format!("{}: {e}", path.display())))?;
        }
    }
    if roots.is_empty() {
        return Err(Error::Tls(
            "no client CA configured: mutual TLS needs at least one CA certificate".into(),
        ));
    }
    let mut crls = Vec::new();
    for path in &files.crls {
        crls.extend(read_crls_file(path)?);
    }
    let revoked = RevokedSerials::from_crls(&crls)?;
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
        .with_crls(crls)
        .build()
        .map_err(|e| Error::Tls(e.to_string()))?;
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| Error::Tls(e.to_string()))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .map_err(|e| Error::Tls(format!("{}: {e}", files.key.display())))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok((Arc::new(config), revoked))
}

/// A server configuration with the same certificate and key but no client authentication:
/// for the agent listener, whose callers authenticate with bearer tokens.
pub fn server_only_config(files: &ServerTlsFiles) -> Result<Arc<ServerConfig>, Error> {
    let chain = read_certs_file(&files.cert)?;
    let key = read_key_file(&files.key)?;
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| Error::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| Error::Tls(format!("{}: {e}", files.key.display())))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The (issuer, serial) pairs the configured CRLs revoke, so that a connection opened before a
/// CRL reload is refused on its next request too.
#[derive(Debug, Default)]
struct RevokedSerials(HashSet<(Vec<u8>, String)>);

impl RevokedSerials {
    fn from_crls(crls: &[CertificateRevocationListDer<'_>]) -> Result<Self, Error> {
        let mut set = HashSet::new();
        for der in crls {
            let (_, crl) =
                x509_parser::parse_x509_crl(der).map_err(|e| Error::Tls(format!("CRL: {e}")))?;
            for revoked in crl.iter_revoked_certificates() {
                set.insert((
                    crl.issuer().as_raw().to_vec(),
                    revoked.raw_serial_as_string(),
                ));
            }
        }
        Ok(Self(set))
    }

    fn contains(&self, identity: &PeerIdentity) -> bool {
        self.0
            .contains(&(identity.issuer_der().to_vec(), identity.serial().to_owned()))
    }
}

/// Modification time and length of each file, to notice a change.
type Stamp = Vec<Option<(SystemTime, u64)>>;

fn stamp(files: &ServerTlsFiles) -> Stamp {
    files
        .all()
        .map(|p| {
            let meta = std::fs::metadata(p).ok()?;
            Some((meta.modified().ok()?, meta.len()))
        })
        .collect()
}

/// What one load of the files gives: the partner listener's configuration (client
/// certificates required), the agent listener's (same certificate, no client authentication),
/// and the revoked serials.
#[derive(Debug)]
struct Loaded {
    mutual: Arc<ServerConfig>,
    server_only: Arc<ServerConfig>,
    revoked: Arc<RevokedSerials>,
}

impl Loaded {
    fn from_files(files: &ServerTlsFiles) -> Result<Self, Error> {
        let (mutual, revoked) = build(files)?;
        Ok(Self {
            mutual,
            server_only: server_only_config(files)?,
            revoked: Arc::new(revoked),
        })
    }
}

/// The listeners' TLS state: the current server configurations, rebuilt from their files on
/// [`ServerTls::reload`] or when [`ServerTls::reload_if_changed`] sees them change, for the
/// partner listener (mutual TLS) and the agent listener (server certificate only) alike.
#[derive(Debug)]
pub struct ServerTls {
    files: ServerTlsFiles,
    current: RwLock<Loaded>,
    stamp: Mutex<Stamp>,
}

impl ServerTls {
    /// Loads the files; fails with an error naming the file at fault.
    pub fn load(files: ServerTlsFiles) -> Result<Self, Error> {
        let before = stamp(&files);
        let loaded = Loaded::from_files(&files)?;
        Ok(Self {
            files,
            current: RwLock::new(loaded),
            stamp: Mutex::new(before),
        })
    }

    /// The configuration new partner-listener connections use (client certificate required).
    pub fn current(&self) -> Arc<ServerConfig> {
        Arc::clone(
            &self
                .current
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .mutual,
        )
    }

    /// The configuration new agent-listener connections use: the same server certificate, no
    /// client authentication.
    pub fn current_server_only(&self) -> Arc<ServerConfig> {
        Arc::clone(
            &self
                .current
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .server_only,
        )
    }

    /// Whether a loaded CRL revokes this certificate. The handshake already refuses revoked
    /// certificates; this catches connections opened before the CRL that revokes them.
    pub fn is_revoked(&self, identity: &PeerIdentity) -> bool {
        let revoked = Arc::clone(
            &self
                .current
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .revoked,
        );
        revoked.contains(identity)
    }

    /// Rebuilds the configuration from the files. On error the previous one stays in force.
    pub fn reload(&self) -> Result<(), Error> {
        let before = stamp(&self.files);
        let loaded = Loaded::from_files(&self.files)?;
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = loaded;
        *self.stamp.lock().unwrap_or_else(PoisonError::into_inner) = before;
        Ok(())
    }

    /// Reloads when any file's modification time or length changed since the last load.
    /// Returns whether it reloaded.
    pub fn reload_if_changed(&self) -> Result<bool, Error> {
        let now = stamp(&self.files);
        let changed = *self.stamp.lock().unwrap_or_else(PoisonError::into_inner) != now;
        if changed {
            self.reload()?;
        }
        Ok(changed)
    }
}

/// Reads the end-entity certificate of a finished handshake. `None` when the peer sent no
/// certificate (which the mandatory verifier never lets through).
pub fn peer_identity(conn: &rustls::ServerConnection) -> Option<Result<PeerIdentity, Error>> {
    let leaf = conn.peer_certificates()?.first()?;
    Some(PeerIdentity::from_der(leaf))
}

/// A client identity to present: certificate chain and key.
#[derive(Debug)]
pub struct ClientIdentity {
    /// Certificate chain, leaf first.
    pub chain: Vec<CertificateDer<'static>>,
    /// Private key.
    pub key: PrivateKeyDer<'static>,
}

impl ClientIdentity {
    /// From PEM text (as [`crate::devpki::IssuedCert`] holds it).
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<Self, Error> {
        let chain = read_certs_pem(cert_pem.as_bytes(), Path::new("<client certificate>"))?;
        let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).map_err(|e| Error::Pem {
            path: PathBuf::from("<client key>"),
            what: e.to_string(),
        })?;
        Ok(Self { chain, key })
    }

    /// From PEM files.
    pub fn from_files(cert: &Path, key: &Path) -> Result<Self, Error> {
        Ok(Self {
            chain: read_certs_file(cert)?,
            key: read_key_file(key)?,
        })
    }
}

/// A client configuration that trusts the server certificates `server_cas` issue (DER) and
/// presents `identity`, if any. ALPN as given (empty for none). Session resumption is on unless
/// `resumption` is false (the handshake benchmark turns it off to measure full handshakes).
pub fn client_config(
    server_cas: &[CertificateDer<'static>],
    identity: Option<ClientIdentity>,
    alpn: &[&[u8]],
    resumption: bool,
) -> Result<Arc<ClientConfig>, Error> {
    let mut roots = RootCertStore::empty();
    for ca in server_cas {
        roots
            .add(ca.clone())
            .map_err(|e| Error::Tls(e.to_string()))?;
    }
    let builder = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| Error::Tls(e.to_string()))?
        .with_root_certificates(roots);
    let mut config = match identity {
        Some(id) => builder
            .with_client_auth_cert(id.chain, id.key)
            .map_err(|e| Error::Tls(e.to_string()))?,
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    if !resumption {
        config.resumption = rustls::client::Resumption::disabled();
    }
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devpki::{self, DevPkiLayout};

    fn files(layout: &DevPkiLayout) -> ServerTlsFiles {
        ServerTlsFiles {
            cert: layout.server_cert(),
            key: layout.server_key(),
            client_cas: vec![layout.ca_cert()],
            crls: vec![layout.crl()],
        }
    }

    #[test]
    fn builds_with_alpn_and_reloads_on_change() {
        let dir = tempfile::tempdir().unwrap();
        let layout = DevPkiLayout::new(dir.path());
        let (ca, _) = devpki::ensure(&layout).unwrap();
        let tls = ServerTls::load(files(&layout)).unwrap();
        assert_eq!(tls.current().alpn_protocols, [&b"h2"[..], b"http/1.1"]);
        assert!(!tls.reload_if_changed().unwrap());

        let client = ca.issue_client(&"acme".parse().unwrap(), 1).unwrap();
        let id = PeerIdentity::from_der(client.cert_der()).unwrap();
        assert!(!tls.is_revoked(&id));
        let crl = ca.crl_pem(&[client.serial()], 2).unwrap();
        devpki::write_file(&layout.crl(), crl.as_bytes(), false).unwrap();
        assert!(tls.reload_if_changed().unwrap());
        assert!(tls.is_revoked(&id));

        // A broken CRL keeps the previous configuration.
        devpki::write_file(&layout.crl(), b"garbage", false).unwrap();
        assert!(tls.reload_if_changed().is_err());
        assert!(tls.is_revoked(&id));
    }

    #[test]
    fn errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let layout = DevPkiLayout::new(dir.path());
        devpki::ensure(&layout).unwrap();
        let mut f = files(&layout);
        f.client_cas = vec![dir.path().join("missing.pem")];
        let err = ServerTls::load(f).unwrap_err().to_string();
        assert!(err.contains("missing.pem"), "{err}");
        let mut f = files(&layout);
        f.key = layout.ca_key();
        let err = ServerTls::load(f).unwrap_err().to_string();
        assert!(err.contains("ca.key"), "{err}");
    }
}
