//! Entry points for the fuzz targets (`fuzz/`) and for the test that replays their corpus on
//! stable Rust. Each takes arbitrary bytes and must never panic, whatever they are.

use crate::{Limits, decode_with, encode, event_hash_id};

/// Small limits so that the fuzzer spends its time on structure, not on size.
fn limits() -> Limits {
    Limits {
        max_document_bytes: 1 << 20,
        max_depth: 32,
        max_events: 1_000,
        max_epcs_per_event: 10_000,
        max_value_bytes: 64 << 10,
        max_nodes_per_item: 100_000,
    }
}

/// Decodes a document in any syntax; when it decodes, hashes every event and runs the result
/// through every encoder and back.
pub fn decode_document(data: &[u8]) {
    let Ok(doc) = decode_with(data, &limits()) else {
        return;
    };
    for e in &doc.events {
        let _ = event_hash_id(e);
    }
    for text in [
        encode::to_jsonld(&doc),
        encode::to_xml(&doc, crate::EpcisVersion::V2_0),
        encode::to_xml(&doc, crate::EpcisVersion::V1_2),
    ] {
        let _ = decode_with(text.as_bytes(), &limits());
    }
}

/// Streams a document through the incremental decoder.
pub fn decode_stream(data: &[u8]) {
    let _ = crate::decode_stream(data, &limits(), |_, e| {
        let _ = event_hash_id(&e);
        Ok(())
    });
}

/// Feeds the bytes to every identifier parser.
pub fn identifiers(data: &[u8]) {
    crate::id::fuzz_identifiers(data);
}
