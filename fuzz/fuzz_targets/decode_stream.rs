//! Fuzz target: `epcis::fuzzing::decode_stream` on arbitrary bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| epcis::fuzzing::decode_stream(data));
