//! `manifest.json`: the request, who produced the package and when, the generator, what it
//! holds, and every other file with its SHA-256 and size, signed with the audit checkpoint
//! key (Ed25519). And the check of a package: [`verify_package`].
//!
//! The signed bytes are `dscsa-fda-records-package/v1\n` followed by the canonical JSON
//! (`crate::audit::canonical`: members sorted, no whitespace) of the manifest without its
//! `signature` member. Anyone can reproduce them with a JSON library that sorts keys, so the
//! signature can be checked without this program; the manifest itself is written pretty for
//! people.

use std::collections::BTreeSet;
use std::io::Read as _;

use ed25519_dalek::{Signature, Verifier as _, VerifyingKey};
use serde::Serialize;
use sha2::{Digest as _, Sha256};

use super::package::{Contents, Meta};
use super::request::Checked;
use crate::audit::CheckpointKey;
use crate::audit::record::hex;

/// The manifest's name in the zip.
pub const MANIFEST: &str = "manifest.json";
/// The manifest's format, also the signature's domain separator.
pub const FORMAT: &str = "dscsa-fda-records-package/v1";
/// Largest manifest [`verify_package`] reads into memory (one is a few KiB). The other
/// entries are hashed as they are inflated, never held whole, so a hostile zip (a deflate bomb)
/// costs time, not memory.
const MAX_MANIFEST: u64 = 16 << 20;

/// The bytes the signature covers: the format line, then the canonical JSON of `manifest`
/// without `signature`.
pub fn signed_bytes(manifest: &serde_json::Value) -> Vec<u8> {
    let mut unsigned = manifest.clone();
    if let Some(o) = unsigned.as_object_mut() {
        o.remove("signature");
    }
    format!(
        "{FORMAT}\n{}",
        crate::audit::canonical::to_string(&unsigned)
    )
    .into_bytes()
}

/// The manifest of `files` (the package's other files, in zip order), signed.
pub(super) fn manifest(
    meta: &Meta,
    checked: &Checked,
    contents: &Contents,
    files: &[(&str, Vec<u8>)],
    key: &CheckpointKey,
) -> String {
    #[derive(Serialize)]
    struct File<'a> {
        name: &'a str,
        sha256: String,
        bytes: usize,
    }
    let files: Vec<File<'_>> = files
        .iter()
        .map(|(name, bytes)| File {
            name,
            sha256: hex(&Sha256::digest(bytes)),
            bytes: bytes.len(),
        })
        .collect();
    let resolved: Vec<serde_json::Value> = checked
        .products
        .iter()
        .map(|r| {
            let (serial, lot) = match &r.product {
                crate::services::trace::Product::Serial { serial, .. } => (Some(serial), None),
                crate::services::trace::Product::Lot { lot, .. } => (None, Some(lot)),
            };
            serde_json::json!({"asked": r.asked, "gtin": r.product.gtin().as_str(),
                               "serial": serial, "lot": lot})
        })
        .collect();
    let mut manifest = serde_json::json!({
        "format": FORMAT,
        "request": {
            "id": meta.job.id,
            "reference": meta.job.request_ref,
            "products": checked.asked,
            "resolvedProducts": resolved,
            "from": meta.from,
            "to": meta.to,
            "regulator": meta.job.regulator,
            "receivedAt": meta.job.received_at,
            "deadline": meta.job.deadline,
        },
        "producedBy": {
            "actor": meta.actor,
            "actorKind": meta.actor_kind,
            "channel": meta.channel,
            "organisation": {"name": meta.organisation.name, "gln": meta.organisation.gln},
        },
        "producedAt": meta.produced_at,
        "generator": {"name": "dscsa-exchange", "version": env!("CARGO_PKG_VERSION")},
        "contents": contents,
        "files": files,
    });
    let signature = key.sign_bytes(&signed_bytes(&manifest));
    if let Some(o) = manifest.as_object_mut() {
        o.insert(
            "signature".into(),
            serde_json::json!({
                "algorithm": "Ed25519",
                "publicKey": key.public_hex(),
                "signedBytes": format!("\"{FORMAT}\\n\" + canonical JSON of this manifest without \"signature\" (members sorted, no whitespace)"),
                "value": hex(&signature.to_bytes()),
            }),
        );
    }
    serde_json::to_string_pretty(&manifest).unwrap_or_default()
}

/// What [`verify_package`] found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Verification {
    /// Files whose SHA-256 (and size) match the manifest.
    pub files_checked: usize,
    /// The signature verified with the trusted key.
    pub signature_valid: bool,
    /// Each problem, one sentence (empty: the package is as produced).
    pub problems: Vec<String>,
    /// The request reference the manifest names.
    pub request_ref: Option<String>,
    /// When it was produced.
    pub produced_at: Option<String>,
}

impl Verification {
    /// No problem found.
    pub fn ok(&self) -> bool {
        self.problems.is_empty() && self.signature_valid
    }
}

/// Why a package could not be checked at all (as opposed to checked and found altered).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Unreadable(pub String);

/// Checks a package: the manifest is present and signed by `trusted`, every file it lists is
/// there with that SHA-256 and size, and nothing else is in the zip.
///
/// # Errors
/// [`Unreadable`] when the bytes are not a zip archive.
pub fn verify_package(bytes: &[u8], trusted: &VerifyingKey) -> Result<Verification, Unreadable> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| Unreadable(format!("not a zip archive: {e}")))?;
    let mut v = Verification {
        files_checked: 0,
        signature_valid: false,
        problems: Vec::new(),
        request_ref: None,
        produced_at: None,
    };
    let names: Vec<String> = archive
        .file_names()
        .filter_map(Result::ok)
        .map(|n| n.into_owned())
        .collect();
    let manifest_text = match read_entry(&mut archive, MANIFEST) {
        Ok(b) => b,
        Err(e) => {
            v.problems.push(format!("{MANIFEST}: {e}"));
            return Ok(v);
        }
    };
    let manifest: serde_json::Value = match serde_json::from_slice(&manifest_text) {
        Ok(m) => m,
        Err(e) => {
            v.problems
                .push(format!("{MANIFEST} is not valid JSON (altered?): {e}"));
            return Ok(v);
        }
    };
    v.request_ref = manifest["request"]["reference"].as_str().map(str::to_owned);
    v.produced_at = manifest["producedAt"].as_str().map(str::to_owned);
    if manifest["format"] != FORMAT {
        v.problems.push(format!(
            "{MANIFEST}: format is {}, expected {FORMAT:?}",
            manifest["format"]
        ));
    }
    // The signature.
    let sig = &manifest["signature"];
    let public = sig["publicKey"].as_str().unwrap_or_default();
    if public != hex(trusted.as_bytes()) {
        v.problems.push(format!(
            "the manifest is signed by key {public:?}, not by the trusted key {}",
            hex(trusted.as_bytes())
        ));
    } else {
        match sig["value"]
            .as_str()
            .and_then(from_hex64)
            .map(|b| Signature::from_bytes(&b))
        {
            Some(s) if trusted.verify(&signed_bytes(&manifest), &s).is_ok() => {
                v.signature_valid = true;
            }
            Some(_) => v.problems.push(format!(
                "the signature of {MANIFEST} does not verify: the manifest was altered after it \
                 was signed"
            )),
            None => v
                .problems
                .push(format!("{MANIFEST} has no readable signature value")),
        }
    }
    // The files.
    let mut listed = BTreeSet::new();
    for f in manifest["files"].as_array().into_iter().flatten() {
        let (Some(name), Some(sha)) = (f["name"].as_str(), f["sha256"].as_str()) else {
            v.problems.push(format!(
                "{MANIFEST}: a file entry without name or sha256: {f}"
            ));
            continue;
        };
        listed.insert(name.to_owned());
        match hash_entry(&mut archive, name) {
            Ok((actual, size)) => {
                if actual != sha {
                    v.problems.push(format!(
                        "{name}: SHA-256 is {actual}, the manifest says {sha}: altered"
                    ));
                } else if f["bytes"].as_u64() != Some(size) {
                    v.problems.push(format!(
                        "{name}: {size} bytes, the manifest says {}",
                        f["bytes"]
                    ));
                } else {
                    v.files_checked += 1;
                }
            }
            Err(e) => v.problems.push(format!("{name}: {e}")),
        }
    }
    if listed.is_empty() {
        v.problems.push(format!("{MANIFEST} lists no file"));
    }
    for n in names {
        if n != MANIFEST && !listed.contains(&n) {
            v.problems
                .push(format!("{n}: in the zip but not in the manifest: added"));
        }
    }
    Ok(v)
}

fn read_entry(
    archive: &mut zip::ZipArchive<std::io::Cursor<&[u8]>>,
    name: &str,
) -> Result<Vec<u8>, String> {
    let entry = archive
        .by_name(name)
        .map_err(|_| "missing from the zip".to_owned())?;
    let mut out = Vec::new();
    entry
        .take(MAX_MANIFEST)
        .read_to_end(&mut out)
        .map_err(|e| format!("cannot be read (damaged?): {e}"))?;
    Ok(out)
}

/// The SHA-256 (hex) and size of an entry, computed as it is inflated.
fn hash_entry(
    archive: &mut zip::ZipArchive<std::io::Cursor<&[u8]>>,
    name: &str,
) -> Result<(String, u64), String> {
    let mut entry = archive
        .by_name(name)
        .map_err(|_| "missing from the zip".to_owned())?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut size = 0u64;
    loop {
        let n = entry
            .read(&mut buf)
            .map_err(|e| format!("cannot be read (damaged?): {e}"))?;
        if n == 0 {
            break;
        }
        hasher.update(buf.get(..n).unwrap_or_default());
        size += n as u64;
    }
    Ok((hex(&hasher.finalize()), size))
}

fn from_hex64(s: &str) -> Option<[u8; 64]> {
    let b = s.as_bytes();
    if b.len() != 128 {
        return None;
    }
    let mut out = [0u8; 64];
    for (o, pair) in out.iter_mut().zip(b.chunks_exact(2)) {
        let hi = char::from(*pair.first()?).to_digit(16)?;
        let lo = char::from(*pair.get(1)?).to_digit(16)?;
        *o = u8::try_from(hi * 16 + lo).ok()?;
    }
    Some(out)
}
