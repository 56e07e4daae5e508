//! Walks a trail in sequence order and names the first place it is broken, and how.
//!
//! What each kind of tampering looks like from here:
//! - a changed field: the record's content no longer gives its hash ([`BreakKind::Changed`]);
//! - a deleted record: a gap in the sequence ([`BreakKind::Missing`]);
//! - two records swapped: a record's content gives its hash only under another sequence number
//!   ([`BreakKind::Reordered`]);
//! - a record inserted in the middle (later ones renumbered): the record after it carries the
//!   sequence number before, and links to the record before that ([`BreakKind::Inserted`]); one
//!   with a valid hash but a foreign predecessor is also reported as inserted;
//! - a rewritten or truncated trail, hashes recomputed: the chain no longer reaches a signed
//!   checkpoint's hash, or a checkpoint lies past the end ([`BreakKind::CheckpointMismatch`],
//!   [`BreakKind::Truncated`]); a checkpoint not signed by the trusted key
//!   ([`BreakKind::BadSignature`]).

use std::collections::BTreeMap;
use std::fmt;

use ed25519_dalek::VerifyingKey;

use super::checkpoint::Checkpoint;
use super::record::AuditRecord;

/// What is wrong at a break.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BreakKind {
    /// The record's content does not give its hash.
    Changed,
    /// Records are missing (a gap in the sequence).
    Missing,
    /// The record belongs at another sequence number.
    Reordered,
    /// A record that is not part of the chain sits here.
    Inserted,
    /// A checkpoint's signature does not verify with the trusted key.
    BadSignature,
    /// The chain does not reach a checkpoint's signed hash.
    CheckpointMismatch,
    /// A checkpoint covers records that are no longer there.
    Truncated,
}

impl BreakKind {
    /// The word `audit verify` prints.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Changed => "changed",
            Self::Missing => "missing",
            Self::Reordered => "reordered",
            Self::Inserted => "inserted",
            Self::BadSignature => "bad signature",
            Self::CheckpointMismatch => "checkpoint mismatch",
            Self::Truncated => "truncated",
        }
    }
}

/// The first break found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Break {
    /// The first bad sequence number.
    pub seq: i64,
    /// What is wrong.
    pub kind: BreakKind,
    /// The detail, for a person.
    pub detail: String,
}

impl fmt::Display for Break {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "seq {}: {}: {}",
            self.seq,
            self.kind.as_str(),
            self.detail
        )
    }
}

impl std::error::Error for Break {}

/// What a clean verification covered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    /// Records checked.
    pub records: u64,
    /// First and last sequence numbers checked, if any.
    pub range: Option<(i64, i64)>,
    /// The head hash after the last record.
    pub head_hash: String,
    /// Checkpoints whose signature and hash were checked.
    pub checkpoints: u64,
}

/// How far to look for the sequence number a moved record belongs at.
const SWAP_WINDOW: i64 = 16;

/// An incremental verifier: feed it records in ascending sequence order.
pub struct Verifier<'k> {
    next_seq: i64,
    prev_hash: String,
    /// The hashes of the last few records (sequence, hash), for classifying moves.
    recent: std::collections::VecDeque<(i64, String)>,
    checkpoints: BTreeMap<i64, Checkpoint>,
    key: &'k VerifyingKey,
    records: u64,
    first: Option<i64>,
    checked_checkpoints: u64,
}

impl<'k> Verifier<'k> {
    /// Starts at `first_seq`, whose predecessor's hash is `prev_hash` (`GENESIS` for a whole
    /// trail; a checkpoint's hash to start from one). Checkpoints at or after `first_seq` are
    /// checked; their signatures must verify with `key`.
    pub fn new(
        first_seq: i64,
        prev_hash: String,
        checkpoints: impl IntoIterator<Item = Checkpoint>,
        key: &'k VerifyingKey,
    ) -> Self {
        Self {
            next_seq: first_seq,
            prev_hash,
            recent: std::collections::VecDeque::with_capacity(4),
            checkpoints: checkpoints
                .into_iter()
                .filter(|c| c.seq >= first_seq)
                .map(|c| (c.seq, c))
                .collect(),
            key,
            records: 0,
            first: None,
            checked_checkpoints: 0,
        }
    }

    fn brk(seq: i64, kind: BreakKind, detail: impl Into<String>) -> Break {
        Break {
            seq,
            kind,
            detail: detail.into(),
        }
    }

    /// The sequence number under which `r`'s content gives its stored hash, if a nearby one does.
    fn belongs_at(r: &AuditRecord) -> Option<i64> {
        let mut probe = r.clone();
        (r.seq.saturating_sub(SWAP_WINDOW)..=r.seq.saturating_add(SWAP_WINDOW))
            .filter(|s| *s != r.seq && *s > 0)
            .find(|s| {
                probe.seq = *s;
                probe.content_hash() == r.hash
            })
    }

    fn recent_hash(&self, seq: i64) -> Option<&str> {
        self.recent
            .iter()
            .find(|(s, _)| *s == seq)
            .map(|(_, h)| h.as_str())
    }

    /// Checks the next record.
    pub fn push(&mut self, r: &AuditRecord) -> Result<(), Break> {
        if r.seq < self.next_seq {
            return Err(Self::brk(
                r.seq,
                BreakKind::Reordered,
                format!(
                    "sequence goes back from {} to {}",
                    self.next_seq.saturating_sub(1),
                    r.seq
                ),
            ));
        }
        if r.seq > self.next_seq {
            return Err(Self::brk(
                self.next_seq,
                BreakKind::Missing,
                format!(
                    "records {}..={} are missing",
                    self.next_seq,
                    r.seq.saturating_sub(1)
                ),
            ));
        }
        if r.content_hash() != r.hash {
            return Err(match Self::belongs_at(r) {
                Some(s)
                    if s == r.seq.saturating_sub(1)
                        && Some(r.prev_hash.as_str())
                            == self.recent_hash(r.seq.saturating_sub(2)) =>
                {
                    Self::brk(
                        r.seq.saturating_sub(1),
                        BreakKind::Inserted,
                        format!(
                            "a record not in the chain was inserted here: the record now at seq {} \
                             is the original seq {s}",
                            r.seq
                        ),
                    )
                }
                Some(s) => Self::brk(
                    r.seq,
                    BreakKind::Reordered,
                    format!("this record's content belongs at seq {s}"),
                ),
                None => Self::brk(
                    r.seq,
                    BreakKind::Changed,
                    "the record's content does not match its hash",
                ),
            });
        }
        if r.prev_hash != self.prev_hash {
            return Err(Self::brk(
                r.seq,
                BreakKind::Inserted,
                "the record is self-consistent but does not follow the record before it",
            ));
        }
        if let Some(c) = self.checkpoints.get(&r.seq) {
            if !c.verify(self.key) {
                return Err(Self::brk(
                    r.seq,
                    BreakKind::BadSignature,
                    "the checkpoint here is not signed by the trusted audit key",
                ));
            }
            if c.head_hash != r.hash {
                return Err(Self::brk(
                    r.seq,
                    BreakKind::CheckpointMismatch,
                    "the chain's hash here differs from the signed checkpoint: the trail was \
                     rewritten",
                ));
            }
            self.checked_checkpoints += 1;
        }
        self.prev_hash.clone_from(&r.hash);
        if self.recent.len() == 3 {
            self.recent.pop_front();
        }
        self.recent.push_back((r.seq, r.hash.clone()));
        self.first.get_or_insert(r.seq);
        self.next_seq = r.seq.saturating_add(1);
        self.records += 1;
        Ok(())
    }

    /// Ends the walk: a checkpoint past the last record means the tail was removed.
    pub fn finish(self) -> Result<Summary, Break> {
        if let Some((&seq, c)) = self.checkpoints.range(self.next_seq..).next() {
            if !c.verify(self.key) {
                return Err(Self::brk(
                    seq,
                    BreakKind::BadSignature,
                    "a checkpoint past the end is not signed by the trusted audit key",
                ));
            }
            return Err(Self::brk(
                self.next_seq,
                BreakKind::Truncated,
                format!(
                    "a signed checkpoint covers seq {seq}, but the trail ends at seq {}",
                    self.next_seq.saturating_sub(1)
                ),
            ));
        }
        Ok(Summary {
            records: self.records,
            range: self.first.map(|f| (f, self.next_seq.saturating_sub(1))),
            head_hash: self.prev_hash,
            checkpoints: self.checked_checkpoints,
        })
    }
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::SigningKey;

    use super::super::checkpoint::CheckpointKey;
    use super::super::record::{GENESIS, tests::sample};
    use super::*;

    fn trail(n: i64) -> Vec<AuditRecord> {
        let mut prev = GENESIS.to_owned();
        (1..=n)
            .map(|i| {
                let r = sample(i).seal(
                    i,
                    format!("2026-11-21T00:00:{:02}.000000Z", i % 60),
                    prev.clone(),
                );
                prev.clone_from(&r.hash);
                r
            })
            .collect()
    }

    fn key() -> CheckpointKey {
        CheckpointKey::generate().unwrap_or_else(|_| panic!("no randomness"))
    }

    fn run(
        records: &[AuditRecord],
        checkpoints: Vec<Checkpoint>,
        k: &CheckpointKey,
    ) -> Result<Summary, Break> {
        let public = k.public();
        let mut v = Verifier::new(1, GENESIS.into(), checkpoints, &public);
        for r in records {
            v.push(r)?;
        }
        v.finish()
    }

    #[test]
    fn hostile_sequence_numbers_do_not_overflow() {
        let k = key();
        let public = k.public();
        for seq in [i64::MIN, i64::MIN + 1, -1, 0, i64::MAX - 1, i64::MAX] {
            let mut r = sample(1).seal(seq, "t".into(), GENESIS.into());
            r.hash = "00".repeat(32);
            let mut v = Verifier::new(seq, GENESIS.into(), vec![k.sign(seq, "x", "t")], &public);
            assert!(v.push(&r).is_err());
            let _ = Verifier::new(seq, GENESIS.into(), Vec::new(), &public).finish();
        }
    }

    #[test]
    fn an_untouched_trail_verifies() {
        let k = key();
        let t = trail(50);
        let cp = k.sign(40, &t[39].hash, "t");
        let s = run(&t, vec![cp], &k).unwrap_or_else(|b| panic!("{b}"));
        assert_eq!((s.records, s.range, s.checkpoints), (50, Some((1, 50)), 1));
    }

    #[test]
    fn each_kind_of_tampering_is_named_at_the_right_sequence() {
        let k = key();
        let t = trail(30);
        let expect = |records: &[AuditRecord], cps: Vec<Checkpoint>, seq: i64, kind: BreakKind| {
            let b = run(records, cps, &k)
                .err()
                .unwrap_or_else(|| panic!("{kind:?} not detected"));
            assert_eq!((b.seq, b.kind), (seq, kind), "{b}");
        };
        // A changed field.
        let mut changed = t.clone();
        changed[9].outcome = super::super::record::Outcome::Denied;
        expect(&changed, vec![], 10, BreakKind::Changed);
        // A deleted record.
        let mut deleted = t.clone();
        deleted.remove(11);
        expect(&deleted, vec![], 12, BreakKind::Missing);
        // A swapped pair (sequence numbers exchanged, rows kept).
        let mut swapped = t.clone();
        swapped.swap(14, 15);
        swapped[14].seq = 15;
        swapped[15].seq = 16;
        expect(&swapped, vec![], 15, BreakKind::Reordered);
        // An inserted row: later rows renumbered, the forged one hashed correctly.
        let mut inserted = t[..19].to_vec();
        let forged = sample(999).seal(20, "t".into(), t[18].hash.clone());
        inserted.push(forged);
        for r in &t[19..] {
            let mut moved = r.clone();
            moved.seq += 1;
            inserted.push(moved);
        }
        expect(&inserted, vec![], 20, BreakKind::Inserted);
        // A rewritten tail with every hash recomputed: only the checkpoint notices.
        let mut rewritten = t[..24].to_vec();
        let mut prev = t[23].hash.clone();
        for i in 25..=30 {
            let r = sample(i + 100).seal(i, "t".into(), prev.clone());
            prev.clone_from(&r.hash);
            rewritten.push(r);
        }
        expect(
            &rewritten,
            vec![k.sign(28, &t[27].hash, "t")],
            28,
            BreakKind::CheckpointMismatch,
        );
        // A truncated tail.
        expect(
            &t[..20],
            vec![k.sign(25, &t[24].hash, "t")],
            21,
            BreakKind::Truncated,
        );
        // A forged checkpoint (signed by another key).
        let other = CheckpointKey::generate().unwrap_or_else(|_| panic!());
        expect(
            &t,
            vec![other.sign(5, &t[4].hash, "t")],
            5,
            BreakKind::BadSignature,
        );
        let _ = SigningKey::from_bytes(&[0; 32]);
    }
}
