//! The tamper-evident audit trail (21 CFR Part 11 §11.10(e)): one record per request or command,
//! hash-chained, with checkpoints signed by an Ed25519 key kept outside the database.
//!
//! This module is the storage-independent core: what a record is ([`record`]), its canonical
//! bytes and the chain hash, signed checkpoints ([`checkpoint`]), and the verifier that walks a
//! trail and names the first sequence number where it is broken and how ([`verify`]). Storage
//! writes records in the same transaction as the change they describe; `dscsa audit verify` and
//! the export reuse [`verify`] on what they read.

pub mod canonical;
pub mod checkpoint;
pub mod record;
pub mod verify;

pub use checkpoint::{Checkpoint, CheckpointKey};
pub use record::{AuditRecord, Channel, GENESIS, NewRecord, Outcome};
pub use verify::{Break, BreakKind, Summary, Verifier};
