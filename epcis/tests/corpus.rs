//! Decodes every EPCIS document under `../shared/epcis-reference/` and checks what must hold.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::reference_dir;

/// Files under the reference folder that are not EPCIS event documents, or that are defective,
/// with the reason. Everything else must decode.
const NOT_DOCUMENTS: &[(&str, &str)] = &[
    ("json-schema/", "a JSON schema"),
    ("jsonld-context/", "a JSON-LD context"),
    ("ref-gs1-2.0.0/", "schema or context"),
    ("rest-openapi/", "query schema"),
    ("/Queries/", "a query request, not a document"),
    ("CaptureJob/", "a capture-job status body"),
    (
        "quartet_epcis/inbound.json",
        "QU4RTET's own pre-2.0 JSON, not EPCIS JSON-LD",
    ),
    (
        "v1_2/Events/TransformationEvent_Full.xml",
        "a fragment: an <extension> root",
    ),
    (
        "v1_2/MasterData/ValidMasterdataElement.xml",
        "a fragment: a <VocabularyList> root",
    ),
    (
        "v1_2/Events/ObjectEvent_Full.xml",
        "defective: source \"src\" is not a URI",
    ),
    (
        "WithSensorData/SensorDataExample1b.jsonld",
        "defective: an ObjectEvent with neither epcList nor quantityList, which the ratified \
         JSON schema requires (anyOf)",
    ),
];

/// Documents a test suite calls invalid that we accept on purpose, with the reason.
const ACCEPTED_ON_PURPOSE: &[(&str, &str)] = &[
    (
        "XML/Capture/Invalid/ObjectEvent_with_wrong_element_order.xml",
        "XML field order is not enforced: GS1's own examples and the hash's expected_equal \
         vectors reorder fields, and order does not change meaning",
    ),
    (
        "XML/Capture/Invalid/ObjectEvent_with_unknown_element.xml",
        "unqualified XML extension elements are kept, as SAP ATTP writes them; only \
         misspellings of standard fields are refused",
    ),
    ("/Queries/", "a query request, not a document"),
    (
        "QueryDocument_with_missing_value.xml",
        "a query request (Poll), not a document",
    ),
];

#[test]
fn every_reference_document_decodes_and_every_invalid_one_is_refused() {
    let files = common::files_with(&reference_dir(), &["xml", "jsonld", "json"]);
    let mut decoded = 0;
    let mut problems = Vec::new();
    for f in &files {
        let rel = f
            .strip_prefix(reference_dir())
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let bytes = std::fs::read(f).unwrap();
        let result = epcis::decode(&bytes);
        let invalid = rel.contains("/Invalid/")
            && !ACCEPTED_ON_PURPOSE
                .iter()
                .any(|(part, _)| rel.contains(part));
        let excused = NOT_DOCUMENTS.iter().any(|(part, _)| rel.contains(part));
        match (&result, invalid, excused) {
            (Ok(_), true, _) => problems.push(format!("{rel}: invalid document accepted")),
            (Err(e), false, false) => problems.push(format!("{rel}: {e}")),
            (Err(e), true, _) => {
                // A refusal must say where.
                let msg = e.to_string();
                if !(msg.starts_with("line ")
                    || msg.starts_with("at /")
                    || msg.starts_with("document"))
                {
                    problems.push(format!("{rel}: unlocated error {msg}"));
                }
            }
            (Ok(_), false, _) => decoded += 1,
            (Err(_), false, true) => {}
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(decoded >= 280, "only {decoded} documents decoded");
}
