//! The crate's one error type. It never mentions HTTP or SQL: the server maps it to its own
//! code table.

use std::path::PathBuf;

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A certificate could not be parsed as X.509.
    #[error("certificate is not valid X.509: {0}")]
    BadCertificate(String),
    /// Generating keys, certificates or CRLs for the development PKI failed.
    #[error("development PKI: {0}")]
    DevPki(String),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// An identifier or field value is malformed; the message names the field and the rule.
    #[error("{field} {value:?}: {rule}")]
    Invalid {
        /// Which field.
        field: &'static str,
        /// The value given (bounded in length).
        value: String,
        /// The rule it breaks.
        rule: &'static str,
    },
    /// A PEM file holds no usable item of the kind wanted.
    #[error("{path}: {what}")]
    Pem {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        what: String,
    },
    /// rustls refused the configuration (for example a key that does not match the certificate).
    #[error("TLS configuration: {0}")]
    Tls(String),
}

impl Error {
    /// An [`Error::Invalid`] whose value is cut to 80 characters, so hostile input cannot make
    /// error messages (and logs) arbitrarily long.
    pub(crate) fn invalid(field: &'static str, value: &str, rule: &'static str) -> Self {
        let value = if value.chars().count() > 80 {
            let mut cut: String = value.chars().take(80).collect();
            cut.push('…');
            cut
        } else {
            value.to_owned()
        };
        Self::Invalid { field, value, rule }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}
