//! Decode + hash throughput on one core: reads a document into memory once, then decodes it and
//! computes every event's CBV 2.0 hash ID, RUNS times, and prints events/s and MB/s as the median
//! with min..max. The streaming decoder is used, as the capture path will.
//!
//! ```text
//! cargo run --release -p epcis --example bench_decode_hash -- FILE [RUNS]
//! ```

use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(path) = args.get(1) else {
        eprintln!("usage: bench_decode_hash FILE [RUNS]");
        std::process::exit(2);
    };
    let runs: usize = args.get(2).and_then(|r| r.parse().ok()).unwrap_or(5);
    let bytes = std::fs::read(path).unwrap_or_else(|e| {
        eprintln!("{path}: {e}");
        std::process::exit(2);
    });
    let mb = bytes.len() as f64 / 1e6;
    let mut secs = Vec::with_capacity(runs);
    let mut events = 0u64;
    let mut epcs = 0usize;
    let mut check = 0u8;
    // BENCH_DECODE_ONLY=1 skips hashing, to split the cost between decoder and hash.
    let decode_only = std::env::var_os("BENCH_DECODE_ONLY").is_some();
    for _ in 0..runs {
        events = 0;
        epcs = 0;
        let start = Instant::now();
        let result =
            epcis::decode_stream(bytes.as_slice(), &epcis::Limits::default(), |head, e| {
                if !decode_only {
                    let id = epcis::event_hash_id_ignoring(&e, &head.hash_ignore);
                    check ^= id.as_bytes().last().copied().unwrap_or(0);
                }
                events += 1;
                epcs += e.epc_count();
                Ok(())
            });
        secs.push(start.elapsed().as_secs_f64());
        if let Err(e) = result {
            eprintln!("{path}: {e}");
            std::process::exit(1);
        }
    }
    secs.sort_by(f64::total_cmp);
    let median = secs.get(runs / 2).copied().unwrap_or(f64::NAN);
    let (min, max) = (
        secs.first().copied().unwrap_or(f64::NAN),
        secs.last().copied().unwrap_or(f64::NAN),
    );
    println!(
        "{path}: {mb:.1} MB, {events} events, {epcs} EPCs, {runs} runs (checksum {check})\n  \
         time      median {median:.3} s  (min {min:.3} .. max {max:.3})\n  \
         events/s  median {:.0}  (min {:.0} .. max {:.0})\n  \
         MB/s      median {:.1}  (min {:.1} .. max {:.1})",
        events as f64 / median,
        events as f64 / max,
        events as f64 / min,
        mb / median,
        mb / max,
        mb / min,
    );
}
