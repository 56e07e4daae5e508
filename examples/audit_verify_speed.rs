//! `audit verify` speed on the storage-independent core: seals N records into a chain in memory
//! (with a checkpoint every 1,000), then verifies them, RUNS times; prints records/s, median and
//! min..max. The database read that `dscsa audit verify` adds is measured separately.
//!
//! ```text
//! cargo run --release --example audit_verify_speed -- [N] [RUNS]
//! ```

use std::time::Instant;

use dscsa_exchange::audit::{
    AuditRecord, Channel, CheckpointKey, GENESIS, NewRecord, Outcome, Verifier,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let n: i64 = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let runs: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(3);
    let key = CheckpointKey::generate()?;
    let mut prev = GENESIS.to_owned();
    let mut records: Vec<AuditRecord> = Vec::with_capacity(usize::try_from(n)?);
    let mut checkpoints = Vec::new();
    for i in 1..=n {
        let r = NewRecord {
            actor: format!("whs-east-{}", i % 7),
            actor_kind: "partner".into(),
            token_id: None,
            channel: Channel::Rest,
            action: "GET /vrs/gtin/{gtin}/lot/{lot}/ser/{ser}".into(),
            target: vec![format!("urn:epc:id:sgtin:0614141.107346.{i}")],
            params: serde_json::json!({"gtin": "00614141073467", "ser": i.to_string(), "reqGLN": "0860001000009"}),
            outcome: Outcome::Ok,
            status: Some(200),
            result_digest: Some(GENESIS.into()),
            rows: Some(1),
            purpose: None,
            client_addr: Some("127.0.0.1:51234".into()),
        }
        .seal(i, format!("2026-11-21T12:00:00.{:06}Z", i % 1_000_000), prev.clone());
        prev.clone_from(&r.hash);
        if i % 1000 == 0 {
            checkpoints.push(key.sign(i, &r.hash, "2026-11-21T12:00:00Z"));
        }
        records.push(r);
    }
    let public = key.public();
    let mut secs = Vec::new();
    for _ in 0..runs {
        let start = Instant::now();
        let mut v = Verifier::new(1, GENESIS.into(), checkpoints.iter().cloned(), &public);
        for r in &records {
            v.push(r)?;
        }
        let summary = v.finish()?;
        secs.push(start.elapsed().as_secs_f64());
        assert_eq!(summary.records, u64::try_from(n)?);
    }
    secs.sort_by(f64::total_cmp);
    let rate = |s: f64| n as f64 / s;
    println!(
        "{n} records, {} checkpoints, {runs} runs: median {:.0} records/s (min {:.0} .. max {:.0}); median {:.3} s",
        checkpoints.len(),
        rate(secs[runs / 2]),
        rate(secs[runs - 1]),
        rate(secs[0]),
        secs[runs / 2]
    );
    Ok(())
}
