//! Fuzz target: `epcis::fuzzing::identifiers` on arbitrary bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| epcis::fuzzing::identifiers(data));
