//! Fills a store's audit trail with N records through the real append path (10,000 per
//! transaction), signing a checkpoint every 1,000, so that `dscsa audit verify` can be timed on
//! a large trail.
//!
//! ```text
//! cargo run --release --example audit_fill -- DATA_DIR N [postgres://…]
//! time target/release/dscsa audit verify --data-dir DATA_DIR [--database-url …]
//! ```

use dscsa_exchange::audit::{Channel, NewRecord, Outcome};
use dscsa_exchange::config::{Overrides, Settings};
use dscsa_exchange::storage::{Db, audit};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = std::path::PathBuf::from(args.next().ok_or("usage: audit_fill DATA_DIR N [URL]")?);
    let n: i64 = args.next().and_then(|a| a.parse().ok()).ok_or("N")?;
    let url = args.next();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let overrides = Overrides {
            data_dir: Some(dir.clone()),
            database_url: url,
            partner_addr: None,
            ops_addr: None,
            agent_addr: None,
        };
        let config = Settings::load(None, std::iter::empty(), &overrides)?.resolve()?;
        let key = dscsa_exchange::app::load_audit_key(&config.audit)?;
        let db = Db::connect(&config.database_url, 2).await?;
        db.migrate().await?;
        let start = std::time::Instant::now();
        let mut written = 0;
        while written < n {
            let mut tx = db.begin().await?;
            for _ in 0..10_000.min(n - written) {
                written += 1;
                let r = audit::append(
                    &mut tx,
                    NewRecord {
                        actor: format!("whs-east-{}", written % 7),
                        actor_kind: "principal".into(),
                        token_id: None,
                        channel: Channel::Rest,
                        action: "GET /whoami".into(),
                        target: vec!["/whoami".into()],
                        params: serde_json::json!({"i": written}),
                        outcome: Outcome::Ok,
                        status: Some(200),
                        result_digest: Some("0".repeat(64)),
                        rows: None,
                        purpose: None,
                        client_addr: Some("127.0.0.1:50000".into()),
                    },
                )
                .await?;
                if r.seq % 1000 == 0 {
                    audit::insert_checkpoint(&mut tx, &key.sign(r.seq, &r.hash, &r.time)).await?;
                }
            }
            tx.commit().await?;
        }
        println!(
            "appended {n} records in {:.1} s",
            start.elapsed().as_secs_f64()
        );
        db.close().await;
        Ok::<_, Box<dyn std::error::Error>>(())
    })?;
    Ok(())
}
