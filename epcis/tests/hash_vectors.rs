//! The CBV 2.0 event hash against the GS1 reference implementation's vectors
//! (`../shared/epcis-reference/event-hash/`, see `reference/epcis.md` §4.8).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};

fn dir(sub: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/epcis-reference/event-hash")
        .join(sub)
}

fn lines(p: &Path) -> Vec<String> {
    std::fs::read_to_string(p)
        .unwrap()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Checks every document that has a `.hashes` file next to it. Returns the failures.
fn check_dir(d: &Path) -> (usize, Vec<String>) {
    let mut failures = Vec::new();
    let mut checked = 0;
    let mut entries: Vec<_> = std::fs::read_dir(d)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    for input in entries {
        let ext = input.extension().and_then(|e| e.to_str()).unwrap_or("");
        if !matches!(ext, "xml" | "jsonld") {
            continue;
        }
        let hashes = input.with_extension("hashes");
        if !hashes.exists() {
            continue;
        }
        let name = input.file_name().unwrap().to_string_lossy().into_owned();
        let want = lines(&hashes);
        let regenerated = input.with_extension("prehashes.regenerated");
        let pre_file = if regenerated.exists() {
            regenerated
        } else {
            input.with_extension("prehashes")
        };
        let want_pre = if pre_file.exists() {
            lines(&pre_file)
        } else {
            Vec::new()
        };
        let doc = match epcis::decode(&std::fs::read(&input).unwrap()) {
            Ok(d) => d,
            Err(e) => {
                failures.push(format!("{name}: does not decode: {e}"));
                continue;
            }
        };
        let got = doc.event_hash_ids();
        checked += 1;
        if got.len() != want.len() {
            failures.push(format!(
                "{name}: {} events, {} hashes expected",
                got.len(),
                want.len()
            ));
            continue;
        }
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            if g != w {
                let pre = epcis::prehash(&doc.events[i]);
                let expected = want_pre.get(i).cloned().unwrap_or_default();
                failures.push(format!(
                    "{name} event {i}:\n  got      {pre}\n  expected {expected}"
                ));
            }
        }
    }
    (checked, failures)
}

#[test]
fn reference_examples_reproduce_every_hashes_file() {
    let (checked, failures) = check_dir(&dir("ralphtro-reference/examples"));
    assert!(checked >= 30, "only {checked} documents checked");
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn dscsa_example_and_ordering_probe() {
    for sub in [
        "generated-with-reference-impl/dscsa",
        "generated-with-reference-impl/ordering-probe",
    ] {
        let (checked, failures) = check_dir(&dir(sub));
        assert_eq!(checked, 1, "{sub}");
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }
    let doc = epcis::decode(
        &std::fs::read(dir(
            "generated-with-reference-impl/dscsa/GS1_US_Pharma_Example_2_2_1_1.xml",
        ))
        .unwrap(),
    )
    .unwrap();
    assert_eq!(doc.events.len(), 8);
}

#[test]
fn expected_equal_groups_hash_equal() {
    let d = dir("ralphtro-reference/expected_equal");
    let mut failures = Vec::new();
    for entry in std::fs::read_dir(&d).unwrap().flatten() {
        let p = entry.path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        let doc = match epcis::decode(&std::fs::read(&p).unwrap()) {
            Ok(doc) => doc,
            Err(e) => {
                failures.push(format!("{name}: {e}"));
                continue;
            }
        };
        let hashes: Vec<String> = doc.events.iter().map(epcis::event_hash_id).collect();
        assert!(hashes.len() >= 2, "{name} has {} events", hashes.len());
        if hashes.iter().any(|h| h != &hashes[0]) {
            let pres: Vec<String> = doc.events.iter().map(epcis::prehash).collect();
            failures.push(format!("{name}:\n  {}", pres.join("\n  ")));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[path = "../examples/support/dscsa_gen.rs"]
mod dscsa_gen;

/// The fast path (ordered fields written directly) and the reference's tree walk give the same
/// pre-hash for every event of every reference document and for generated DSCSA events.
#[test]
fn fast_path_equals_the_tree_walk() {
    let mut events = Vec::new();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/epcis-reference");
    let mut stack = vec![root];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(doc) = epcis::decode(&std::fs::read(&p).unwrap()) {
                events.extend(doc.events);
            }
        }
    }
    let from_reference = events.len();
    events.extend((0..2_000).map(dscsa_gen::event));
    assert!(
        from_reference > 500,
        "only {from_reference} reference events"
    );
    for (i, e) in events.iter().enumerate() {
        assert_eq!(
            epcis::prehash(e),
            epcis::prehash_by_tree_walk(e),
            "event {i}: {e:?}"
        );
    }
}
