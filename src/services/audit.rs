//! The audit trail's use-cases: verify it from the database, sign checkpoints when due, export
//! it as JSON lines that verify on their own.

use std::io::Write;

use ed25519_dalek::VerifyingKey;
use serde::{Deserialize, Serialize};

use crate::audit::{AuditRecord, Break, Checkpoint, CheckpointKey, GENESIS, Summary, Verifier};
use crate::storage::audit::{self as store, Filter};
use crate::storage::{Db, StorageError, now_text};

/// Records read per query while verifying or exporting.
const PAGE: i64 = 10_000;

/// Verifies the trail from `from` (1 for the whole trail) against the checkpoints and `key`.
/// The outer error is a storage failure; the inner one the first break found.
pub async fn verify(
    db: &Db,
    from: i64,
    key: &VerifyingKey,
) -> Result<Result<Summary, Break>, StorageError> {
    walk(db, from, Some(key)).await
}

/// Verifies the hash chain only, ignoring checkpoints (no trusted key is available).
pub async fn verify_chain_only(db: &Db, from: i64) -> Result<Result<Summary, Break>, StorageError> {
    walk(db, from, None).await
}

async fn walk(
    db: &Db,
    from: i64,
    key: Option<&VerifyingKey>,
) -> Result<Result<Summary, Break>, StorageError> {
    // Without a key: any key and no checkpoints; the chain itself is still fully checked.
    let placeholder = ed25519_dalek::SigningKey::from_bytes(&[1; 32]).verifying_key();
    let mut conn = db.pool().acquire().await?;
    let from = from.max(1);
    let prev = if from == 1 {
        GENESIS.to_owned()
    } else {
        match store::hash_at(&mut conn, from - 1).await? {
            Some(h) => h,
            None => {
                return Ok(Err(Break {
                    seq: from - 1,
                    kind: crate::audit::BreakKind::Missing,
                    detail: "the record before the starting point is missing".into(),
                }));
            }
        }
    };
    let checkpoints = match key {
        Some(_) => store::checkpoints(&mut conn, from).await?,
        None => Vec::new(),
    };
    let mut verifier = Verifier::new(from, prev, checkpoints, key.unwrap_or(&placeholder));
    let mut next = from;
    loop {
        let filter = Filter {
            from_seq: Some(next),
            ..Filter::default()
        };
        let page = store::records(&mut conn, &filter, PAGE).await?;
        let Some(last) = page.last().map(|r| r.seq) else {
            break;
        };
        for r in &page {
            if let Err(b) = verifier.push(r) {
                return Ok(Err(b));
            }
        }
        next = last + 1;
    }
    Ok(verifier.finish())
}

/// Signs and stores a checkpoint of the head when `every` records have been added since the
/// last one, or when `force` is set and any have. Returns the checkpoint made, if any.
pub async fn checkpoint_if_due(
    db: &Db,
    key: &CheckpointKey,
    every: u64,
    force: bool,
) -> Result<Option<Checkpoint>, StorageError> {
    // A write transaction from the start: read-then-write in a deferred one fails at once
    // (SQLITE_BUSY, no retry) when the audit writer commits in between.
    let mut tx = db.begin_write().await?;
    let (head_seq, head_hash) = store::head(&mut tx).await?;
    let last = store::last_checkpoint_seq(&mut tx).await?;
    let pending = u64::try_from(head_seq - last).unwrap_or(0);
    if pending == 0 || (pending < every && !force) {
        return Ok(None);
    }
    let checkpoint = key.sign(head_seq, &head_hash, &now_text());
    store::insert_checkpoint(&mut tx, &checkpoint).await?;
    tx.commit().await?;
    tracing::info!(target: "audit", seq = head_seq, "checkpoint signed");
    Ok(Some(checkpoint))
}

/// One line of an export file.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ExportLine {
    /// First line: where the exported range starts in the chain.
    Header {
        /// Format version.
        version: u32,
        /// First exported sequence number.
        from_seq: i64,
        /// Hash of the record before it (the genesis hash when the range starts at 1).
        prev_hash: String,
    },
    /// A record.
    Record(Box<AuditRecord>),
    /// A checkpoint inside the range.
    Checkpoint(Checkpoint),
}

/// Writes records with `from_seq..=to_seq` (sequence numbers) as JSON lines: a header, the
/// records, then the checkpoints that fall in the range. Returns the number of records.
pub async fn export(
    db: &Db,
    from_seq: i64,
    to_seq: Option<i64>,
    out: &mut impl Write,
) -> Result<u64, anyhow::Error> {
    let mut conn = db.pool().acquire().await?;
    let from = from_seq.max(1);
    let prev_hash = if from == 1 {
        GENESIS.to_owned()
    } else {
        store::hash_at(&mut conn, from - 1).await?.ok_or_else(|| {
            anyhow::anyhow!("record {} (before the range) does not exist", from - 1)
        })?
    };
    let line = |l: &ExportLine, out: &mut dyn Write| -> anyhow::Result<()> {
        serde_json::to_writer(&mut *out, l)?;
        out.write_all(b"\n")?;
        Ok(())
    };
    line(
        &ExportLine::Header {
            version: 1,
            from_seq: from,
            prev_hash,
        },
        out,
    )?;
    let mut next = from;
    let mut count = 0u64;
    let mut last_seq = from - 1;
    loop {
        let filter = Filter {
            from_seq: Some(next),
            to_seq,
            ..Filter::default()
        };
        let page = store::records(&mut conn, &filter, PAGE).await?;
        let Some(last) = page.last().map(|r| r.seq) else {
            break;
        };
        for r in page {
            line(&ExportLine::Record(Box::new(r)), out)?;
            count += 1;
        }
        last_seq = last;
        next = last + 1;
    }
    for c in store::checkpoints(&mut conn, from).await? {
        if c.seq <= last_seq {
            line(&ExportLine::Checkpoint(c), out)?;
        }
    }
    Ok(count)
}

/// Verifies an export file on its own: the chain from its header, and every checkpoint in it
/// against `key`. Records after the last checkpoint in the file are chain-checked only.
pub fn verify_export(text: &str, key: &VerifyingKey) -> Result<Result<Summary, Break>, String> {
    let mut header = None;
    let mut records = Vec::new();
    let mut checkpoints = Vec::new();
    for (i, l) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        match serde_json::from_str::<ExportLine>(l).map_err(|e| format!("line {}: {e}", i + 1))? {
            ExportLine::Header {
                from_seq,
                prev_hash,
                ..
            } => header = Some((from_seq, prev_hash)),
            ExportLine::Record(r) => records.push(*r),
            ExportLine::Checkpoint(c) => checkpoints.push(c),
        }
    }
    let (from, prev) = header.ok_or("no header line: not a dscsa audit export")?;
    let mut v = Verifier::new(from, prev, checkpoints, key);
    for r in &records {
        if let Err(b) = v.push(r) {
            return Ok(Err(b));
        }
    }
    Ok(v.finish())
}
