//! Decodes every EPCIS document under `../shared/epcis-reference/` and checks what must hold.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};

pub fn reference_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/epcis-reference")
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, out);
        } else if matches!(
            p.extension().and_then(|e| e.to_str()),
            Some("xml" | "jsonld" | "json")
        ) {
            out.push(p);
        }
    }
}

#[test]
fn survey() {
    let mut files = Vec::new();
    walk(&reference_dir(), &mut files);
    files.sort();
    let mut ok = 0;
    for f in &files {
        let bytes = std::fs::read(f).unwrap();
        match epcis::decode(&bytes) {
            Ok(d) => {
                ok += 1;
                let _ = d;
            }
            Err(e) => println!(
                "FAIL {}: {e}",
                f.strip_prefix(reference_dir()).unwrap().display()
            ),
        }
    }
    println!("{ok}/{} decoded", files.len());
}
