//! Capture: an EPCIS document (1.2 XML, 2.0 XML or JSON-LD) into the repository, exactly once,
//! atomically, with the serial ledger, master data and DSCSA statement updated in the same
//! transaction, and its audit record beside them.
//!
//! The document is decoded on a blocking thread and streamed to the writer one event at a
//! time through a bounded channel: memory stays bounded by one event (plus the original bytes,
//! which are stored for audit), and decoding overlaps with the database work.
//!
//! Rules:
//! - **Idempotent** on the CBV 2.0 hash ID: an event stored before is counted as a duplicate
//!   and changes nothing. An error declaration (same hash as the event it declares) is stored
//!   beside that event; the same declaration twice is a duplicate.
//! - **Error behaviour** (`GS1-Capture-Error-Behaviour`): `rollback` (default) stores all
//!   events or none. `proceed` skips an event the server refuses (a time it cannot read, an
//!   anomaly in strict mode) and stores the rest. A document that does not decode is refused
//!   whole in both modes: past a syntax error nothing can be trusted.
//! - **Anomalies** (packing or shipping a serial never commissioned here, commissioning twice,
//!   shipping what is decommissioned, destroyed or dispensed, unpacking what is not inside) are
//!   recorded with the event; the partner's data is never dropped. `strict` refuses the event
//!   instead.

use std::fmt::Write as _;

use epcis::model::{Action, Document, Event, EventKind, Header, Vocabulary};
use epcis::{DecodeError, Limits};
use serde::Serialize;
use sha2::{Digest as _, Sha256};
use sqlx::{AnyConnection, Connection as _};
use tokio::sync::mpsc;

use crate::audit::record::hex;
use crate::services::ledger::{Change, Ledger};
use crate::services::{Actor, audit_seam};
use crate::storage::capture::{self as store, EventRow};
use crate::storage::{Backend, Db, StorageError, checkpoint, now_text};
use crate::stored::{self, EpcRole, epc_key};

/// The `captured_by` of what the home organisation imports on the command line: not a valid
/// principal id, so no partner can be mistaken for it.
pub const HOME: &str = "(home)";

/// What to do when an event is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ErrorBehaviour {
    /// All events or none (the standard's default).
    #[default]
    Rollback,
    /// Store the events that can be stored.
    Proceed,
}

impl ErrorBehaviour {
    /// The header value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rollback => "rollback",
            Self::Proceed => "proceed",
        }
    }

    /// Parses the header value (case-insensitive).
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "rollback" => Some(Self::Rollback),
            "proceed" => Some(Self::Proceed),
            _ => None,
        }
    }
}

/// How to capture.
#[derive(Debug, Clone, Default)]
pub struct CaptureOptions {
    /// Rollback or proceed.
    pub behaviour: ErrorBehaviour,
    /// Refuse events with business-rule anomalies instead of recording them.
    pub strict: bool,
    /// Decoder limits (size, depth, events, EPCs per event).
    pub limits: Limits,
}

/// Why an event or the document was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refusal {
    /// The event's position in the document (0-based), when one event is at fault.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_index: Option<u64>,
    /// `ValidationException` or `CaptureLimitExceededException`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// What is wrong, where.
    pub detail: String,
}

/// The outcome of a capture that committed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CaptureReport {
    /// The stored document.
    pub document_id: i64,
    /// Events in the document.
    pub events: u64,
    /// Events (and error declarations) stored by this capture.
    pub new: u64,
    /// Events already stored.
    pub duplicates: u64,
    /// Anomalies recorded.
    pub anomalies: u64,
    /// Events skipped under `proceed`.
    pub refused: Vec<Refusal>,
    /// Anomalies recorded, by kind (indexed by [`AnomalyKind`]; for the metrics).
    #[serde(skip)]
    anomaly_kinds: [u64; AnomalyKind::ALL.len()],
}

impl CaptureReport {
    /// Anomalies of `kind` recorded by this capture.
    pub fn anomalies_of(&self, kind: AnomalyKind) -> u64 {
        self.anomaly_kinds.get(kind as usize).copied().unwrap_or(0)
    }
}

/// A business-rule anomaly capture records (`anomalies.kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnomalyKind {
    /// A serial commissioned a second time; the first commissioning stands.
    CommissionedTwice,
    /// A serial shipped after it was decommissioned, destroyed or dispensed.
    InactiveShipped,
    /// A serial packed, shipped or named that was never commissioned here.
    NotCommissioned,
    /// A serial unpacked from a container it is not inside.
    NotInside,
}

impl AnomalyKind {
    /// Every kind, in index order.
    pub const ALL: [Self; 4] = [
        Self::CommissionedTwice,
        Self::InactiveShipped,
        Self::NotCommissioned,
        Self::NotInside,
    ];

    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CommissionedTwice => "commissioned_twice",
            Self::InactiveShipped => "inactive_shipped",
            Self::NotCommissioned => "not_commissioned",
            Self::NotInside => "not_inside",
        }
    }
}

/// Why nothing was stored.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// The document or one of its events is refused (under `rollback`, or a decode error).
    #[error("{}", .0.first().map_or("refused", |r| r.detail.as_str()))]
    Refused(Vec<Refusal>),
    /// The database failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl From<sqlx::Error> for CaptureError {
    fn from(e: sqlx::Error) -> Self {
        Self::Storage(e.into())
    }
}

fn decode_refusal(e: &DecodeError) -> Refusal {
    let kind = if matches!(e.problem, epcis::Problem::Limit { .. }) {
        "CaptureLimitExceededException"
    } else {
        "ValidationException"
    };
    Refusal {
        event_index: None,
        kind,
        detail: e.to_string(),
    }
}

enum Item {
    Event(Box<Prepared>),
    End(Result<Box<Document>, DecodeError>),
}

/// An event with what the writer needs of it that does not touch the store: its hash ID, its
/// stored body and its EPC keys. Computed on the decoder's thread, so that the writer, whose
/// statements are the capture's critical path, only writes.
struct Prepared {
    event: Event,
    hash: String,
    body: String,
    keys: EventKeys,
}

impl Prepared {
    fn of(event: Event, ignore: &[(String, String)]) -> Self {
        Self {
            hash: epcis::event_hash_id_ignoring(&event, ignore),
            body: stored::body(&event),
            keys: EventKeys::of(&event),
            event,
        }
    }
}

/// Captures `bytes` as `captured_by` (a principal id, or [`HOME`]), on behalf of `actor`.
pub async fn capture(
    db: &Db,
    actor: &Actor,
    captured_by: &str,
    bytes: bytes::Bytes,
    content_type: &str,
    options: &CaptureOptions,
) -> Result<CaptureReport, CaptureError> {
    // A few events of lead are enough to keep the writer busy; each can be large (a shipping
    // event of 1,000 EPCs with its body and keys is about 250 KB), and peak memory counts.
    let (tx_items, mut rx_items) = mpsc::channel::<Item>(16);
    let limits = options.limits.clone();
    let input = bytes.clone();
    let decoder = tokio::task::spawn_blocking(move || {
        let result = epcis::decode_stream(&input[..], &limits, |head, event| {
            let prepared = Prepared::of(event, &head.hash_ignore);
            // The receiver only goes away when the writer gave up; stop decoding then.
            tx_items
                .blocking_send(Item::Event(Box::new(prepared)))
                .map_err(|_| {
                    DecodeError::new(
                        epcis::Position::Document,
                        epcis::Problem::Io("capture abandoned".into()),
                    )
                })
        });
        let _ = tx_items.blocking_send(Item::End(result.map(Box::new)));
    });

    // The transaction runs on a connection held here, so that it can be restored after the
    // commit (`storage::checkpoint`).
    let mut conn = db.pool().acquire().await?;
    let mut tx = db.begin_write_on(&mut conn).await?;
    if db.backend() == Backend::Postgres {
        // A capture's statements each touch a few rows of large tables through an index. With
        // the default random_page_cost (4, tuned for spinning disks) the planner prefers hash
        // joins over sequential scans of the ledger for every event: quadratic over a large
        // document (measured: 148 s for 100,000 units).
        sqlx::query("SET LOCAL random_page_cost = 1.1")
            .execute(&mut *tx)
            .await?;
        // One capture at a time, as SQLite's write lock gives: two documents naming the same
        // serials in different orders would otherwise wait on each other's uncommitted ledger
        // rows (deadlock, seen in the concurrent-capture test).
        sqlx::query("SELECT pg_advisory_xact_lock(5001001)")
            .execute(&mut *tx)
            .await?;
    }
    let received_at = now_text();
    let record_time = stored::micros(&received_at).unwrap_or(0);
    let sha = hex(&Sha256::digest(&bytes));
    let document_id = store::insert_document(
        &mut tx,
        &sha,
        content_type,
        &bytes,
        captured_by,
        &received_at,
    )
    .await?;
    // The decoder holds its own handle on the bytes until it is done; ours is no longer
    // needed, so they are freed before the ledger's flush, a capture's peak of memory.
    drop(bytes);
    let mut writer = Writer {
        captured_by,
        document_id,
        record_time,
        strict: options.strict,
        report: CaptureReport {
            document_id,
            ..CaptureReport::default()
        },
        ledger: Ledger::new(db.backend()),
    };
    let mut head = None;
    while let Some(item) = rx_items.recv().await {
        match item {
            Item::Event(prepared) => {
                let event = &prepared.event;
                let index = writer.report.events;
                writer.report.events += 1;
                // Counts to restore when `proceed` skips the event.
                let counts = (
                    writer.report.new,
                    writer.report.duplicates,
                    writer.report.anomalies,
                    writer.report.anomaly_kinds,
                );
                let outcome = match options.behaviour {
                    ErrorBehaviour::Rollback => {
                        if writer.ledger.is_full() {
                            writer.ledger.flush(&mut tx).await?;
                        }
                        writer.event(&mut tx, &prepared).await
                    }
                    ErrorBehaviour::Proceed => {
                        // Each event's ledger changes reach the store inside its savepoint,
                        // so a refused event takes nothing with it but its own changes.
                        let mut savepoint = tx.begin().await?;
                        let mut outcome = writer.event(&mut savepoint, &prepared).await;
                        if outcome.is_ok() {
                            outcome = writer
                                .ledger
                                .flush(&mut savepoint)
                                .await
                                .map_err(Skip::Storage);
                        }
                        if outcome.is_ok() {
                            savepoint.commit().await?;
                        } else {
                            writer.ledger.discard();
                        }
                        outcome
                    }
                };
                match outcome {
                    Ok(()) => {}
                    Err(Skip::Refused(detail)) => {
                        let refusal = Refusal {
                            event_index: Some(index),
                            kind: "ValidationException",
                            detail: format!(
                                "event {} ({}): {detail}",
                                index + 1,
                                event.kind.name()
                            ),
                        };
                        (
                            writer.report.new,
                            writer.report.duplicates,
                            writer.report.anomalies,
                            writer.report.anomaly_kinds,
                        ) = counts;
                        if options.behaviour == ErrorBehaviour::Rollback {
                            drop(rx_items);
                            let _ = decoder.await;
                            return Err(CaptureError::Refused(vec![refusal]));
                        }
                        writer.report.refused.push(refusal);
                    }
                    Err(Skip::Storage(e)) => {
                        drop(rx_items);
                        let _ = decoder.await;
                        return Err(e.into());
                    }
                }
            }
            Item::End(Ok(doc)) => head = Some(doc),
            Item::End(Err(e)) => {
                drop(rx_items);
                let _ = decoder.await;
                return Err(CaptureError::Refused(vec![decode_refusal(&e)]));
            }
        }
    }
    let _ = decoder.await;
    writer.ledger.flush(&mut tx).await?;
    let Some(head) = head else {
        return Err(CaptureError::Refused(vec![Refusal {
            event_index: None,
            kind: "ValidationException",
            detail: "the document ended before it was complete".into(),
        }]));
    };
    header(
        &mut tx,
        &head.header,
        captured_by,
        document_id,
        &received_at,
    )
    .await?;
    let r = &writer.report;
    let subject = format!(
        "document {sha}: {} events, {} new, {} duplicates, {} anomalies, {} refused",
        r.events,
        r.new,
        r.duplicates,
        r.anomalies,
        r.refused.len()
    );
    audit_seam(&mut tx, actor, "epcis.capture", &subject).await?;
    if db.backend() == Backend::Sqlite {
        // The log of a large capture is copied into the database file after the commit, on
        // a background task, instead of before the commit returns.
        checkpoint::without_inline_checkpoint(&mut tx).await?;
        let committed = tx.commit().await;
        if checkpoint::restore(&mut conn, db.pool()).await.is_err() {
            // Not back to the pool with its automatic checkpoint off.
            conn.close_on_drop();
        }
        committed?;
    } else {
        tx.commit().await?;
    }
    Ok(writer.report)
}

enum Skip {
    Refused(String),
    Storage(StorageError),
}

impl From<StorageError> for Skip {
    fn from(e: StorageError) -> Self {
        Self::Storage(e)
    }
}

struct Writer<'a> {
    captured_by: &'a str,
    document_id: i64,
    record_time: i64,
    strict: bool,
    report: CaptureReport,
    /// The serial ledger as this capture changes it, written back in sets.
    ledger: Ledger,
}

const OWNING_PARTY: &str = "urn:epcglobal:cbv:sdt:owning_party";
const CBVMDA: &str = "urn:epcglobal:cbv:mda";

/// The EPC keys of `epcs`, sorted, each once: an event that names an EPC twice (as a URN and
/// as a Digital Link, say) names one serial, and key order is the order the ledger writes in.
fn keys<'e>(epcs: impl IntoIterator<Item = &'e String>) -> Vec<String> {
    let mut keys: Vec<String> = epcs.into_iter().map(|e| epc_key(e)).collect();
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// An event's instance identifiers as EPC keys, each list sorted and each key once: computed
/// once per event for the query rows and the ledger (normalising an EPC is most of the cost).
struct EventKeys {
    epc: Vec<String>,
    child: Vec<String>,
    input: Vec<String>,
    output: Vec<String>,
    parent: Option<String>,
}

impl EventKeys {
    fn of(e: &Event) -> Self {
        Self {
            epc: keys(&e.epc_list),
            child: keys(&e.child_epcs),
            input: keys(&e.input_epc_list),
            output: keys(&e.output_epc_list),
            parent: e.parent_id.as_deref().map(epc_key),
        }
    }

    /// `list` and the parent, sorted, each once.
    fn with_parent(&self, list: &[String]) -> Vec<String> {
        let mut all = list.to_vec();
        if let Some(p) = &self.parent
            && let Err(at) = all.binary_search(p)
        {
            all.insert(at, p.clone());
        }
        all
    }
}

impl Writer<'_> {
    async fn event(&mut self, conn: &mut AnyConnection, p: &Prepared) -> Result<(), Skip> {
        let (e, hash, body) = (&p.event, p.hash.as_str(), &p.body);
        let event_time =
            stored::micros(&e.event_time).map_err(|m| Skip::Refused(format!("eventTime: {m}")))?;
        if let Some(decl) = &e.error_declaration {
            let declaration_time = stored::micros(&decl.declaration_time)
                .map_err(|m| Skip::Refused(format!("errorDeclaration/declarationTime: {m}")))?;
            if let Some(original) = store::find_event(conn, hash, e.event_id.as_deref()).await? {
                if self
                    .declaration(conn, original, decl, body, declaration_time)
                    .await?
                {
                    self.report.new += 1;
                } else {
                    self.report.duplicates += 1;
                }
                return Ok(());
            }
        }
        let read_point = e.read_point.as_ref().map(|l| epc_key(&l.id));
        let biz_location = e.biz_location.as_ref().map(|l| epc_key(&l.id));
        let row = EventRow {
            hash_id: hash,
            event_id: e.event_id.as_deref().unwrap_or(hash),
            event_type: e.kind.name(),
            action: e.action.map(Action::as_str),
            event_time,
            record_time: self.record_time,
            biz_step: e.biz_step.as_deref(),
            disposition: e.disposition.as_deref(),
            read_point: read_point.as_deref(),
            biz_location: biz_location.as_deref(),
            transformation_id: e.transformation_id.as_deref(),
            captured_by: self.captured_by,
            document_id: self.document_id,
            body,
        };
        let Some(id) = store::insert_event(conn, &row).await? else {
            self.report.duplicates += 1;
            return Ok(());
        };
        self.report.new += 1;
        self.query_rows(conn, id, e, &p.keys).await?;
        if let Some(decl) = &e.error_declaration {
            // Declared erroneous on arrival, with no original here: keep it beside itself, and
            // let it change nothing in the ledger.
            let declaration_time = stored::micros(&decl.declaration_time).unwrap_or(event_time);
            self.declaration(conn, id, decl, body, declaration_time)
                .await?;
            return Ok(());
        }
        let owner = e
            .destinations
            .iter()
            .chain(&e.sources)
            .find(|p| p.kind == OWNING_PARTY)
            .map(|p| epc_key(&p.id));
        let change = Change {
            event: id,
            time: event_time,
            biz_step: e.biz_step.as_deref(),
            disposition: e.disposition.as_deref(),
            owner: owner.as_deref(),
            location: biz_location.as_deref(),
            state: state_after(e),
            recalled: e
                .disposition
                .as_deref()
                .is_some_and(|d| d.ends_with(":disp:recalled")),
        };
        self.ledger(conn, e, &p.keys, &change).await
    }

    /// Stores `decl` (the declaring event's stored `body`) beside event row `event`; `false`
    /// when the same declaration was stored before.
    async fn declaration(
        &self,
        conn: &mut AnyConnection,
        event: i64,
        decl: &epcis::model::ErrorDeclaration,
        body: &str,
        declaration_time: i64,
    ) -> Result<bool, Skip> {
        let body_sha = hex(&Sha256::digest(body.as_bytes()));
        let row = store::DeclarationRow {
            event,
            declaration_time,
            reason: decl.reason.as_deref(),
            body,
            body_sha256: &body_sha,
            captured_by: self.captured_by,
            document_id: self.document_id,
            record_time: self.record_time,
            corrective: &decl.corrective_event_ids,
        };
        Ok(store::insert_error_declaration(conn, &row).await?)
    }

    async fn query_rows(
        &mut self,
        conn: &mut AnyConnection,
        id: i64,
        e: &Event,
        k: &EventKeys,
    ) -> Result<(), Skip> {
        let lists = [
            (EpcRole::Epc, &k.epc),
            (EpcRole::Child, &k.child),
            (EpcRole::Input, &k.input),
            (EpcRole::Output, &k.output),
        ];
        for (role, list) in lists {
            self.ledger.index_epcs(list, id, role.as_str());
        }
        if let Some(parent) = &k.parent {
            self.ledger
                .index_epcs(std::slice::from_ref(parent), id, EpcRole::Parent.as_str());
        }
        let quantities = [
            (EpcRole::Epc, &e.quantity_list),
            (EpcRole::Child, &e.child_quantity_list),
            (EpcRole::Input, &e.input_quantity_list),
            (EpcRole::Output, &e.output_quantity_list),
        ];
        for (role, list) in quantities {
            for q in list {
                let amount = q
                    .quantity
                    .as_deref()
                    .and_then(|s| s.trim().parse::<f64>().ok());
                let class = epc_key(&q.epc_class);
                store::insert_class(conn, id, role.as_str(), &class, amount, q.uom.as_deref())
                    .await?;
            }
        }
        for bt in &e.biz_transactions {
            store::insert_biz_transaction(conn, id, bt.kind.as_deref().unwrap_or(""), &bt.id)
                .await?;
        }
        for (direction, list) in [("source", &e.sources), ("destination", &e.destinations)] {
            for p in list {
                let gln = stored::gln_of(&p.id);
                store::insert_party(
                    conn,
                    id,
                    direction,
                    &p.kind,
                    &epc_key(&p.id),
                    gln.as_deref(),
                )
                .await?;
            }
        }
        for f in stored::fields(e) {
            store::insert_field(conn, id, &f).await?;
        }
        Ok(())
    }

    async fn ledger(
        &mut self,
        conn: &mut AnyConnection,
        e: &Event,
        k: &EventKeys,
        c: &Change<'_>,
    ) -> Result<(), Skip> {
        match (e.kind, e.action) {
            (EventKind::Object, Some(Action::Add)) if !e.epc_list.is_empty() => {
                let (lot, expiry) = lot_and_expiry(e);
                let twice = self.ledger.commission(conn, &k.epc, lot, expiry, c).await?;
                self.anomalies(
                    conn,
                    c.event,
                    &twice,
                    AnomalyKind::CommissionedTwice,
                    |epc| format!("{epc} was already commissioned; the first commissioning stands"),
                )
                .await?;
            }
            (EventKind::Object | EventKind::Transaction, _) if !e.epc_list.is_empty() => {
                let keys = k.with_parent(&k.epc);
                self.require_commissioned(conn, c.event, &keys, e).await?;
                if is_shipping(e) {
                    let inactive = self.ledger.inactive(conn, &keys).await?;
                    self.anomalies(
                        conn,
                        c.event,
                        &inactive,
                        AnomalyKind::InactiveShipped,
                        |epc| {
                            format!(
                                "{epc} is shipped but was decommissioned, destroyed or dispensed"
                            )
                        },
                    )
                    .await?;
                }
                self.ledger.observe(conn, &keys, c).await?;
            }
            (EventKind::Aggregation, Some(Action::Add)) => {
                let Some(parent) = &k.parent else {
                    return Ok(());
                };
                self.require_commissioned(conn, c.event, &k.child, e)
                    .await?;
                self.ledger
                    .ensure_known(conn, std::slice::from_ref(parent), c.event, c.time)
                    .await?;
                self.ledger.pack(conn, parent, &k.child, c).await?;
            }
            (EventKind::Aggregation, Some(Action::Delete)) => {
                let Some(parent) = &k.parent else {
                    return Ok(());
                };
                let children = if k.child.is_empty() {
                    self.ledger.children_of(conn, parent).await?
                } else {
                    k.child.clone()
                };
                let outside = self.ledger.not_inside(conn, parent, &children).await?;
                self.anomalies(conn, c.event, &outside, AnomalyKind::NotInside, |epc| {
                    format!("{epc} is unpacked from {parent} but is not inside it")
                })
                .await?;
                self.ledger.unpack(conn, parent, &children, c).await?;
            }
            (EventKind::Aggregation, _) => {
                let keys = k.with_parent(&k.child);
                self.require_commissioned(conn, c.event, &keys, e).await?;
                self.ledger.observe(conn, &keys, c).await?;
            }
            (EventKind::Object, _) if c.recalled => {
                // A recall names the lot, not each serial: one statement over the stored
                // ledger, so the cache goes to the store first.
                self.ledger.flush(conn).await?;
                for q in &e.quantity_list {
                    if let Some((gtin, lot)) = gtin_and_lot(&epc_key(&q.epc_class)) {
                        store::recall_lot(conn, gtin, lot).await?;
                    }
                }
            }
            (EventKind::Transformation, _) => {
                if !k.input.is_empty() {
                    self.require_commissioned(conn, c.event, &k.input, e)
                        .await?;
                    self.ledger.observe(conn, &k.input, c).await?;
                }
                if !k.output.is_empty() {
                    let (lot, expiry) = lot_and_expiry(e);
                    self.ledger
                        .commission(conn, &k.output, lot, expiry, c)
                        .await?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Records `not_commissioned` anomalies for `keys` never commissioned here, and gives them
    /// ledger rows so what happens to them next is still tracked.
    async fn require_commissioned(
        &mut self,
        conn: &mut AnyConnection,
        event: i64,
        keys: &[String],
        e: &Event,
    ) -> Result<(), Skip> {
        let missing = self.ledger.not_commissioned(conn, keys).await?;
        if missing.is_empty() {
            return Ok(());
        }
        let what = match (e.kind, e.action) {
            (EventKind::Aggregation, Some(Action::Add)) => "packed",
            _ if is_shipping(e) => "shipped",
            _ => "named in an event",
        };
        self.anomalies(conn, event, &missing, AnomalyKind::NotCommissioned, |epc| {
            format!("{epc} is {what} but was never commissioned in this repository")
        })
        .await?;
        let time = stored::micros(&e.event_time).unwrap_or(0);
        self.ledger
            .ensure_known(conn, &missing, event, time)
            .await?;
        Ok(())
    }

    async fn anomalies(
        &mut self,
        conn: &mut AnyConnection,
        event: i64,
        epcs: &[String],
        kind: AnomalyKind,
        detail: impl Fn(&str) -> String,
    ) -> Result<(), Skip> {
        let kind_index = kind as usize;
        let kind = kind.as_str();
        if epcs.is_empty() {
            return Ok(());
        }
        if self.strict {
            let mut text = format!("{kind}: {}", detail(&epcs[..1].concat()));
            if epcs.len() > 1 {
                let _ = write!(text, " (and {} more)", epcs.len() - 1);
            }
            return Err(Skip::Refused(format!(
                "strict capture refuses anomalies: {text}"
            )));
        }
        for epc in epcs {
            store::insert_anomaly(conn, event, Some(epc), kind, &detail(epc)).await?;
        }
        self.report.anomalies += epcs.len() as u64;
        if let Some(n) = self.report.anomaly_kinds.get_mut(kind_index) {
            *n += epcs.len() as u64;
        }
        Ok(())
    }
}

fn is_shipping(e: &Event) -> bool {
    e.biz_step
        .as_deref()
        .is_some_and(|s| s.ends_with(":bizstep:shipping"))
}

/// The ledger state an event leaves its objects in, if it changes it.
fn state_after(e: &Event) -> Option<&'static str> {
    let step = e.biz_step.as_deref().unwrap_or("");
    let disp = e.disposition.as_deref().unwrap_or("");
    if step.ends_with(":bizstep:destroying") || disp.ends_with(":disp:destroyed") {
        Some("destroyed")
    } else if step.ends_with(":bizstep:dispensing") || disp.ends_with(":disp:dispensed") {
        Some("dispensed")
    } else if step.ends_with(":bizstep:decommissioning")
        || (e.kind == EventKind::Object && e.action == Some(Action::Delete))
    {
        Some("decommissioned")
    } else {
        None
    }
}

/// GTIN and lot of a canonical LGTIN class key (`https://id.gs1.org/01/{gtin}/10/{lot}`).
fn gtin_and_lot(key: &str) -> Option<(&str, &str)> {
    let rest = key.strip_prefix("https://id.gs1.org/01/")?;
    let (gtin, lot) = rest.split_once("/10/")?;
    (gtin.len() == 14 && !lot.is_empty() && !lot.contains('/')).then_some((gtin, lot))
}

fn lot_and_expiry(e: &Event) -> (Option<&str>, Option<&str>) {
    (
        e.ilmd_value(CBVMDA, "lotNumber"),
        e.ilmd_value(CBVMDA, "itemExpirationDate"),
    )
}

/// Stores the header's master data and DSCSA transaction statement.
async fn header(
    conn: &mut AnyConnection,
    h: &Header,
    captured_by: &str,
    document_id: i64,
    now: &str,
) -> Result<(), StorageError> {
    for vocabulary in &h.master_data {
        if vocabulary.kind.ends_with("EPCClass") {
            products(conn, vocabulary, captured_by, document_id, now).await?;
        } else if vocabulary.kind.ends_with("Location") || vocabulary.kind.ends_with("ReadPoint") {
            locations(conn, vocabulary, captured_by, document_id, now).await?;
        }
    }
    if let Some(s) = &h.transaction_statement {
        let statement = serde_json::json!({
            "affirmTransactionStatement": s.affirm,
            "legalNotice": s.legal_notice,
            "other": s.extra.iter().map(element_json).collect::<Vec<_>>(),
        })
        .to_string();
        store::insert_statement(
            conn,
            document_id,
            s.affirm.as_deref(),
            s.legal_notice.as_deref(),
            &statement,
            captured_by,
            now,
        )
        .await?;
    }
    Ok(())
}

fn element_json(e: &epcis::model::Element) -> serde_json::Value {
    serde_json::json!({
        "namespace": e.namespace,
        "name": e.name,
        "text": e.text,
        "children": e.children.iter().map(element_json).collect::<Vec<_>>(),
    })
}

fn attributes_json(v: &epcis::model::VocabularyElement) -> String {
    let list: Vec<serde_json::Value> = v
        .attributes
        .iter()
        .map(|a| {
            if a.children.is_empty() {
                serde_json::json!({"id": a.id, "value": a.value})
            } else {
                serde_json::json!({"id": a.id, "value": a.value,
                    "children": a.children.iter().map(element_json).collect::<Vec<_>>()})
            }
        })
        .collect();
    serde_json::Value::Array(list).to_string()
}

async fn products(
    conn: &mut AnyConnection,
    vocabulary: &Vocabulary,
    captured_by: &str,
    document_id: i64,
    now: &str,
) -> Result<(), StorageError> {
    for v in &vocabulary.elements {
        let key = epc_key(&v.id);
        let gtin = key
            .strip_prefix("https://id.gs1.org/01/")
            .and_then(|rest| rest.get(..14));
        let ndc = v
            .attribute("additionalTradeItemIdentificationTypeCode")
            .filter(|t| t.to_ascii_uppercase().contains("NDC"))
            .and_then(|_| v.attribute("additionalTradeItemIdentification"))
            .map(|n| n.chars().filter(char::is_ascii_digit).collect::<String>());
        let attributes = attributes_json(v);
        let non_empty = |name: &str| v.attribute(name).filter(|s| !s.is_empty());
        let row = store::ProductRow {
            class_id: &v.id,
            gtin,
            ndc: ndc.as_deref(),
            name: non_empty("regulatedProductName"),
            dosage_form: non_empty("dosageFormType"),
            strength: non_empty("strengthDescription"),
            net_content: non_empty("netContentDescription"),
            manufacturer: non_empty("manufacturerOfTradeItemPartyName"),
            attributes: &attributes,
        };
        store::insert_product(conn, &row, document_id, captured_by, now).await?;
    }
    Ok(())
}

async fn locations(
    conn: &mut AnyConnection,
    vocabulary: &Vocabulary,
    captured_by: &str,
    document_id: i64,
    now: &str,
) -> Result<(), StorageError> {
    for v in &vocabulary.elements {
        let gln = stored::gln_of(&v.id);
        let attributes = attributes_json(v);
        let children = serde_json::to_string(&v.children).unwrap_or_else(|_| "[]".into());
        let child_keys: Vec<String> = v.children.iter().map(|c| epc_key(c)).collect();
        let row = store::LocationRow {
            location_id: &v.id,
            gln: gln.as_deref(),
            name: v.attribute("name").filter(|s| !s.is_empty()),
            attributes: &attributes,
            children: &children,
        };
        store::insert_location(conn, &row, &child_keys, document_id, captured_by, now).await?;
    }
    Ok(())
}
