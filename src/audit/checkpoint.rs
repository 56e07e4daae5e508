//! Signed checkpoints: every N records or T seconds, the head of the chain (sequence number and
//! hash) signed with an Ed25519 key that lives outside the database. A database administrator who
//! rewrites the trail and recomputes every hash still cannot produce the signatures, and one who
//! truncates the tail leaves a checkpoint pointing past the end.

use std::fmt;
use std::path::Path;

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};

use super::record::hex;

/// A signed statement that the trail's head was `head_hash` at `seq`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    /// Sequence number of the record the checkpoint covers.
    pub seq: i64,
    /// That record's hash.
    pub head_hash: String,
    /// When the checkpoint was signed (server UTC, RFC 3339).
    pub time: String,
    /// Ed25519 signature (hex) over [`Checkpoint::message`].
    pub signature: String,
    /// The public key (hex) that signed it, so a key rotation stays verifiable.
    pub public_key: String,
}

impl Checkpoint {
    /// The signed bytes: a versioned, newline-separated statement.
    pub fn message(seq: i64, head_hash: &str, time: &str) -> String {
        format!("dscsa-audit-checkpoint/v1\n{seq}\n{head_hash}\n{time}\n")
    }

    /// Whether the signature is valid for `trusted` (the operator's public key). A checkpoint
    /// signed by another key is not trusted, even if its signature is valid for that key.
    pub fn verify(&self, trusted: &VerifyingKey) -> bool {
        if self.public_key != hex(trusted.as_bytes()) {
            return false;
        }
        let Some(sig) = from_hex::<64>(&self.signature) else {
            return false;
        };
        trusted
            .verify(
                Self::message(self.seq, &self.head_hash, &self.time).as_bytes(),
                &Signature::from_bytes(&sig),
            )
            .is_ok()
    }
}

fn from_hex<const N: usize>(s: &str) -> Option<[u8; N]> {
    let b = s.as_bytes();
    if b.len() != N * 2 {
        return None;
    }
    let mut out = [0u8; N];
    for (o, pair) in out.iter_mut().zip(b.chunks_exact(2)) {
        let hi = char::from(*pair.first()?).to_digit(16)?;
        let lo = char::from(*pair.get(1)?).to_digit(16)?;
        *o = u8::try_from(hi * 16 + lo).ok()?;
    }
    Some(out)
}

/// Parses a public key given as 64 hex characters.
pub fn public_key_from_hex(s: &str) -> Option<VerifyingKey> {
    VerifyingKey::from_bytes(&from_hex::<32>(s.trim())?).ok()
}

/// The checkpoint signing key. Its `Debug` never shows the secret.
pub struct CheckpointKey(SigningKey);

impl fmt::Debug for CheckpointKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CheckpointKey(public {})", self.public_hex())
    }
}

/// Why a key file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Reading or writing the file failed.
    #[error("audit key file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not a key this program wrote.
    #[error("audit key file {0}: not a dscsa audit key (expected one line of 64 hex characters)")]
    Format(String),
    /// The operating system's random source failed.
    #[error("cannot generate a key: {0}")]
    Random(String),
}

impl CheckpointKey {
    /// A new random key.
    pub fn generate() -> Result<Self, KeyError> {
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret).map_err(|e| KeyError::Random(e.to_string()))?;
        Ok(Self(SigningKey::from_bytes(&secret)))
    }

    /// Reads a key written by [`CheckpointKey::write`].
    pub fn read(path: &Path) -> Result<Self, KeyError> {
        let text = std::fs::read_to_string(path).map_err(|source| KeyError::Io {
            path: path.display().to_string(),
            source,
        })?;
        let secret = from_hex::<32>(text.trim())
            .ok_or_else(|| KeyError::Format(path.display().to_string()))?;
        Ok(Self(SigningKey::from_bytes(&secret)))
    }

    /// Writes the secret as hex to a new file readable by the owner only; refuses to overwrite.
    pub fn write(&self, path: &Path) -> Result<(), KeyError> {
        use std::io::Write;
        let io = |source| KeyError::Io {
            path: path.display().to_string(),
            source,
        };
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(path).map_err(io)?;
        writeln!(file, "{}", hex(self.0.as_bytes())).map_err(io)
    }

    /// The public key, hex.
    pub fn public_hex(&self) -> String {
        hex(self.0.verifying_key().as_bytes())
    }

    /// The public key.
    pub fn public(&self) -> VerifyingKey {
        self.0.verifying_key()
    }

    /// Signs other bytes with the same key: an FDA records package's manifest
    /// (`services::fda::manifest`, which prefixes its own format line so that a signature of
    /// one kind can never pass as the other).
    pub fn sign_bytes(&self, bytes: &[u8]) -> Signature {
        self.0.sign(bytes)
    }

    /// Signs a checkpoint of the head at `seq`.
    pub fn sign(&self, seq: i64, head_hash: &str, time: &str) -> Checkpoint {
        let sig = self
            .0
            .sign(Checkpoint::message(seq, head_hash, time).as_bytes());
        Checkpoint {
            seq,
            head_hash: head_hash.to_owned(),
            time: time.to_owned(),
            signature: hex(&sig.to_bytes()),
            public_key: self.public_hex(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_and_forgeries_do_not() {
        let key = CheckpointKey::generate()
            .unwrap_or_else(|_| CheckpointKey(SigningKey::from_bytes(&[7; 32])));
        let c = key.sign(10, &"ab".repeat(32), "2026-11-21T00:00:00Z");
        assert!(c.verify(&key.public()));
        let mut forged = c.clone();
        forged.seq = 11;
        assert!(!forged.verify(&key.public()));
        let other = CheckpointKey(SigningKey::from_bytes(&[9; 32]));
        let by_other = other.sign(10, &c.head_hash, &c.time);
        assert!(
            !by_other.verify(&key.public()),
            "a valid signature by an untrusted key"
        );
        assert!(!format!("{key:?}").contains(&hex(key.0.as_bytes())));
    }

    #[test]
    fn key_files_round_trip_and_are_not_overwritten() {
        let dir = std::env::temp_dir().join(format!("dscsa-key-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("audit.key");
        let _ = std::fs::remove_file(&path);
        let key = CheckpointKey(SigningKey::from_bytes(&[3; 32]));
        assert!(key.write(&path).is_ok());
        assert!(key.write(&path).is_err());
        let back = CheckpointKey::read(&path)
            .map(|k| k.public_hex())
            .unwrap_or_default();
        assert_eq!(back, key.public_hex());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
