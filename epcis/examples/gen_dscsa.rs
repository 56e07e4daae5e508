//! Writes a deterministic DSCSA-style EPCIS document of N events, streaming (bounded memory),
//! for benchmarks and memory tests.
//!
//! ```text
//! cargo run --release -p epcis --example gen_dscsa -- EVENTS xml12|xml20|jsonld OUT
//! ```

#[path = "support/dscsa_gen.rs"]
mod dscsa_gen;

use std::io::BufWriter;

use epcis::encode::{DocumentHead, JsonLdWriter, XmlWriter};
use epcis::{Document, EpcisVersion};

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(n), Some(form), Some(out)) = (args.get(1), args.get(2), args.get(3)) else {
        eprintln!("usage: gen_dscsa EVENTS xml12|xml20|jsonld OUT");
        std::process::exit(2);
    };
    let n: u64 = n.parse().unwrap_or(0);
    let file = BufWriter::with_capacity(1 << 20, std::fs::File::create(out)?);
    let doc = Document {
        schema_version: "1.2".into(),
        creation_date: Some("2026-03-01T00:00:00Z".into()),
        ..Document::default()
    };
    let sample = [dscsa_gen::event(0), dscsa_gen::event(18)];
    let head = DocumentHead::of(&doc).declaring(&sample);
    match form.as_str() {
        "jsonld" => {
            let mut w = JsonLdWriter::new(file, &head)?;
            for i in 0..n {
                w.event(&dscsa_gen::event(i))?;
            }
            w.finish()?;
        }
        "xml12" | "xml20" => {
            let v = if form == "xml12" {
                EpcisVersion::V1_2
            } else {
                EpcisVersion::V2_0
            };
            let mut w = XmlWriter::new(file, &head, v)?;
            for i in 0..n {
                w.event(&dscsa_gen::event(i))?;
            }
            w.finish()?;
        }
        other => {
            eprintln!("unknown form {other}");
            std::process::exit(2);
        }
    }
    Ok(())
}
