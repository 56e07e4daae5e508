//! Replays the fuzz corpus (`fuzz/corpus/<target>/`) and the reference documents through the
//! fuzz entry points on stable Rust, so CI exercises them without cargo-fuzz. A crash found by
//! the fuzzer is added to the corpus and stays here as a regression test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::Path;

fn replay(target: &str, run: fn(&[u8])) -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus").join(target);
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap().flatten() {
        let data = std::fs::read(entry.path()).unwrap();
        run(&data);
        // Every prefix too: truncated input is the commonest malformed input.
        for cut in [1, data.len() / 3, data.len() / 2, data.len().saturating_sub(1)] {
            run(data.get(..cut).unwrap_or_default());
        }
        n += 1;
    }
    n
}

#[test]
fn corpus_replays_without_panics() {
    assert!(replay("decode_document", epcis::fuzzing::decode_document) >= 5);
    assert!(replay("decode_stream", epcis::fuzzing::decode_stream) >= 5);
    assert!(replay("identifiers", epcis::fuzzing::identifiers) >= 5);
}

#[test]
fn hostile_documents_are_refused_with_a_reason() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/decode_document");
    let laughs = std::fs::read(dir.join("billion_laughs.xml")).unwrap();
    let e = epcis::decode(&laughs).unwrap_err().to_string();
    assert!(e.contains("DOCTYPE"), "{e}");
    let xxe = std::fs::read(dir.join("xxe.xml")).unwrap();
    assert!(epcis::decode(&xxe).unwrap_err().to_string().contains("DOCTYPE"));
    let deep = std::fs::read(dir.join("deep_nesting.xml")).unwrap();
    let e = epcis::decode(&deep).unwrap_err().to_string();
    assert!(e.contains("nesting depth"), "{e}");
    let deep_json = std::fs::read(dir.join("deep_nesting.json")).unwrap();
    assert!(epcis::decode(&deep_json).is_err());
    let truncated = std::fs::read(dir.join("truncated.xml")).unwrap();
    let e = epcis::decode(&truncated).unwrap_err().to_string();
    assert!(e.contains("end of input") || e.contains("truncated"), "{e}");
}
