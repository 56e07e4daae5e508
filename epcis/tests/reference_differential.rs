//! Differential test against the GS1 reference hash generator (PyPI
//! `epcis-event-hash-generator`), when it is installed: generated DSCSA documents in 1.2 XML
//! and JSON-LD must get the reference's hash IDs, event for event. `.ci/run` installs the
//! reference and sets `EPCIS_HASH_REFERENCE` to its Python; without it the test says it skipped.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "../examples/support/dscsa_gen.rs"]
mod dscsa_gen;

use std::process::Command;

use epcis::encode::{DocumentHead, JsonLdWriter, XmlWriter};
use epcis::{Document, EpcisVersion};

const EVENTS: u64 = 2_000;

#[test]
fn generated_dscsa_documents_hash_as_the_reference_does() {
    let Some(python) = std::env::var_os("EPCIS_HASH_REFERENCE") else {
        eprintln!(
            "SKIPPED reference differential test: set EPCIS_HASH_REFERENCE to a Python with \
             epcis-event-hash-generator installed (.ci/run does)"
        );
        return;
    };
    let dir = std::env::temp_dir().join(format!("epcis-ref-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let events: Vec<_> = (0..EVENTS).map(dscsa_gen::event).collect();
    let doc = Document {
        schema_version: "1.2".into(),
        creation_date: Some("2026-03-01T00:00:00Z".into()),
        ..Document::default()
    };
    let head = DocumentHead::of(&doc).declaring(&events);
    for name in ["doc.xml", "doc.jsonld"] {
        let path = dir.join(name);
        let file = std::fs::File::create(&path).unwrap();
        if name.ends_with("xml") {
            let mut w = XmlWriter::new(file, &head, EpcisVersion::V1_2).unwrap();
            events.iter().for_each(|e| w.event(e).unwrap());
            w.finish().unwrap();
        } else {
            let mut w = JsonLdWriter::new(file, &head).unwrap();
            events.iter().for_each(|e| w.event(e).unwrap());
            w.finish().unwrap();
        }
        let out = Command::new(&python)
            .args(["-m", "epcis_event_hash_generator", "-l", "ERROR"])
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let reference: Vec<String> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .filter(|l| l.starts_with("ni:///"))
            .map(str::to_owned)
            .collect();
        let ours = epcis::decode(&std::fs::read(&path).unwrap())
            .unwrap()
            .event_hash_ids();
        assert_eq!(
            reference.len(),
            EVENTS as usize,
            "{name}: reference printed {}",
            reference.len()
        );
        let first_diff = ours.iter().zip(&reference).position(|(a, b)| a != b);
        assert_eq!(
            first_diff, None,
            "{name}: first differing event {first_diff:?}"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
