//! The `dscsa` binary end to end: what a user types, what they see, and the exit codes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn shared(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/epcis-reference")
        .join(rel)
}

fn dscsa(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dscsa"))
        .args(args)
        .output()
        .unwrap()
}

const DSCSA: &str = "event-hash/generated-with-reference-impl/dscsa/GS1_US_Pharma_Example_2_2_1_1";

#[test]
fn hash_prints_the_reference_hashes_in_document_order() {
    let doc = shared(&format!("{DSCSA}.xml"));
    let out = dscsa(&["epcis", "hash", doc.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let want = std::fs::read_to_string(shared(&format!("{DSCSA}.hashes"))).unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap().trim(), want.trim());
}

#[test]
fn hash_with_prehash_prints_the_canonical_string() {
    let doc = shared(&format!("{DSCSA}.xml"));
    let out = dscsa(&["epcis", "hash", "--prehash", doc.to_str().unwrap()]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    let want = std::fs::read_to_string(shared(&format!("{DSCSA}.prehashes"))).unwrap();
    let got: Vec<&str> = stdout
        .lines()
        .map(|l| l.split_once('\t').unwrap().1)
        .collect();
    let want: Vec<&str> = want.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(got, want);
}

#[test]
fn validate_exits_1_with_a_located_error_and_0_when_valid() {
    let good = shared(&format!("{DSCSA}.xml"));
    let bad = shared(
        "openepcis-test-resources/2.0/EPCIS/XML/Capture/Invalid/ObjectEvent_with_invalid_action.xml",
    );
    let out = dscsa(&["epcis", "validate", good.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("valid (8 events)"));
    let out = dscsa(&[
        "epcis",
        "validate",
        good.to_str().unwrap(),
        bad.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains("line 12 col 17: action \"CREATE\": must be ADD, OBSERVE or DELETE"),
        "{stdout}"
    );
}

#[test]
fn convert_keeps_every_hash_in_every_form() {
    let doc = shared(&format!("{DSCSA}.xml"));
    let want = std::fs::read_to_string(shared(&format!("{DSCSA}.hashes"))).unwrap();
    let dir = std::env::temp_dir().join(format!("dscsa-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (to, version, name) in [
        ("jsonld", "2.0", "a.jsonld"),
        ("xml", "2.0", "b.xml"),
        ("xml", "1.2", "c.xml"),
    ] {
        let out_path = dir.join(name);
        let out = dscsa(&[
            "epcis",
            "convert",
            doc.to_str().unwrap(),
            "--to",
            to,
            "--epcis",
            version,
            "-o",
            out_path.to_str().unwrap(),
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let hashed = dscsa(&["epcis", "hash", out_path.to_str().unwrap()]);
        assert_eq!(
            String::from_utf8(hashed.stdout).unwrap().trim(),
            want.trim(),
            "{name}"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn missing_file_exits_2_and_says_which() {
    let out = dscsa(&["epcis", "hash", "/nonexistent/doc.xml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot open /nonexistent/doc.xml"));
}

#[test]
fn a_document_that_fails_half_way_leaves_no_output_file() {
    let doc = std::fs::read_to_string(shared(&format!("{DSCSA}.xml"))).unwrap();
    let cut = doc.find("<AggregationEvent>").unwrap();
    let dir = std::env::temp_dir().join(format!("dscsa-cli-trunc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let truncated = dir.join("truncated.xml");
    std::fs::write(&truncated, &doc[..cut + 200]).unwrap();
    let out_path = dir.join("out.jsonld");
    let out = dscsa(&[
        "epcis",
        "convert",
        truncated.to_str().unwrap(),
        "--to",
        "jsonld",
        "-o",
        out_path.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("line "),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out_path.exists() && !dir.join("out.partial").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}
