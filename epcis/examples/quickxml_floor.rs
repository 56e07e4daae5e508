//! The floor under the XML decoder: quick-xml's namespace-resolving reader over the same bytes,
//! doing nothing with the events. Used to judge how much of decode time is ours.
//!
//! ```text
//! cargo run --release -p epcis --example quickxml_floor -- FILE
//! ```

use std::time::Instant;

fn main() {
    let path = std::env::args().nth(1).unwrap_or_default();
    let bytes = std::fs::read(&path).unwrap_or_default();
    for (name, buffered) in [
        ("buffered (BufRead, copies)", true),
        ("borrowed (slice)", false),
    ] {
        let start = Instant::now();
        let mut n = 0u64;
        if buffered {
            let mut r = quick_xml::reader::NsReader::from_reader(bytes.as_slice());
            let mut buf = Vec::new();
            loop {
                buf.clear();
                match r.read_resolved_event_into(&mut buf) {
                    Ok((_, quick_xml::events::Event::Eof)) | Err(_) => break,
                    Ok(_) => n += 1,
                }
            }
        } else {
            let text = std::str::from_utf8(&bytes).unwrap_or_default();
            let mut r = quick_xml::reader::NsReader::from_str(text);
            loop {
                match r.read_resolved_event() {
                    Ok((_, quick_xml::events::Event::Eof)) | Err(_) => break,
                    Ok(_) => n += 1,
                }
            }
        }
        let s = start.elapsed().as_secs_f64();
        println!(
            "{name}: {n} XML events in {s:.3} s, {:.0} MB/s",
            bytes.len() as f64 / 1e6 / s
        );
    }
}
