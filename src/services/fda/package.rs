//! Assembly of a records package: what is gathered from the store (async, batched SQL) and the
//! files written from it (CPU work, on a blocking thread).
//!
//! Gathering, per product: [`crate::services::trace::trace_detailed`] (custody hops with the ten
//! TI elements and the transaction statements, the events followed through every container
//! level, the package identifiers of each hop), the investigations naming the product and
//! their case views, the verifications of its serials; then, once for all products, the
//! stored bodies of the events in the period, and the audit records that mention the products
//! in the period.
//!
//! Files (in this order in the zip; the manifest lists them with their SHA-256):
//! `README.txt`, `manifest.json`, `transaction-information.csv`,
//! `transaction-statements.json`, `report.html`, `events.xml` (EPCIS 1.2), `events.jsonld`
//! (EPCIS 2.0), `audit.jsonl`. Every file is a function of the gathered records; the
//! production time (and the request's times) are the only things that change between two
//! packages of the same request over the same store. Zip entries carry the fixed DOS time
//! 1980-01-01 for that reason.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::io::Write as _;
use std::sync::Arc;

use serde::Serialize;

use super::request::{Checked, Resolved};
use super::{FdaError, Job, Progress, manifest};
use crate::audit::{AuditRecord, CheckpointKey};
use crate::config::OrganisationSettings;
use crate::services::Actor;
use crate::services::investigations::CaseView;
use crate::services::trace::{self, Hop, Party, Product, Scope, Trace};
use crate::storage::verify::Logged;
use crate::storage::{Db, StorageError};

/// What a package holds, in numbers (in the manifest and the audit record).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Contents {
    /// Products traced.
    pub products: usize,
    /// Serialised packages covered.
    pub packages: usize,
    /// Transactions (custody hops) in the period: rows of the CSV.
    pub transactions: usize,
    /// Events in `events.xml` / `events.jsonld`.
    pub events: usize,
    /// Investigations naming the products.
    pub investigations: usize,
    /// Logged verifications of the products' serials.
    pub verifications: usize,
    /// Audit records in `audit.jsonl`.
    pub audit_records: usize,
}

/// Everything recorded about one product.
#[derive(Debug, Clone)]
pub(super) struct ProductRecords {
    pub(super) resolved: Resolved,
    /// The trace, its hops cut to the period.
    pub(super) trace: Trace,
    /// Per hop of `trace`, the traced packages in the shipment.
    pub(super) hop_packages: Vec<Vec<String>>,
    pub(super) investigations: Vec<CaseView>,
    pub(super) verifications: Vec<Logged>,
}

impl ProductRecords {
    pub(super) fn hops(&self) -> &[Hop] {
        self.trace.hops.as_deref().unwrap_or_default()
    }
}

/// The package and what it records.
#[derive(Debug)]
pub(super) struct Built {
    pub(super) bytes: Vec<u8>,
    /// The events it holds (row ids).
    pub(super) event_ids: Vec<i64>,
    pub(super) contents: Contents,
}

/// Who produced the package, when, for which request: the manifest's head.
#[derive(Debug, Clone)]
pub(super) struct Meta {
    pub(super) job: Job,
    pub(super) actor: String,
    pub(super) actor_kind: String,
    pub(super) channel: String,
    pub(super) produced_at: String,
    pub(super) organisation: OrganisationSettings,
    pub(super) from: Option<String>,
    pub(super) to: Option<String>,
}

/// Gathers the records of `checked` and writes the package.
pub(super) async fn build(
    producer: &super::Producer,
    actor: &Actor,
    job: &Job,
    checked: &Checked,
    progress: Arc<dyn Progress>,
) -> Result<Built, FdaError> {
    let (db, organisation, key) = (
        &producer.db,
        &*producer.organisation,
        Arc::clone(&producer.key),
    );
    progress.stage("tracing", checked.products.len() as u64);
    let mut products = Vec::with_capacity(checked.products.len());
    let mut event_ids: BTreeSet<i64> = BTreeSet::new();
    let mut all_packages: HashSet<String> = HashSet::new();
    for resolved in &checked.products {
        let (records, ids, packages) = gather(db, organisation, checked, resolved).await?;
        event_ids.extend(ids);
        all_packages.extend(packages);
        products.push(records);
        progress.advance(1);
    }
    let audit = audit_records(db, checked, &all_packages).await?;
    let ids: Vec<i64> = event_ids.into_iter().collect();
    progress.stage("reading events", ids.len() as u64);
    let mut stored = Stored {
        bodies: Vec::with_capacity(ids.len()),
        declarations: HashMap::new(),
    };
    let mut conn = db.pool().acquire().await?;
    for chunk in ids.chunks(5000) {
        stored
            .bodies
            .extend(crate::storage::fda::event_bodies(&mut conn, chunk).await?);
        // Oldest first per event: the last one kept is the latest.
        for d in crate::storage::query::declarations(&mut conn, chunk).await? {
            stored.declarations.insert(d.event, d.body);
        }
        progress.advance(chunk.len() as u64);
    }
    drop(conn);
    let (who, kind, channel) = actor.audit_identity();
    let meta = Meta {
        job: job.clone(),
        actor: who,
        actor_kind: kind.to_owned(),
        channel: channel.as_str().to_owned(),
        produced_at: crate::storage::now_text(),
        organisation: organisation.clone(),
        from: checked.from.as_ref().map(|b| b.text.clone()),
        to: checked.to.as_ref().map(|b| b.text.clone()),
    };
    let checked = checked.clone();
    // CPU work (decoding, encoding, compressing, hashing) off the async workers.
    tokio::task::spawn_blocking(move || {
        write(&meta, &checked, &products, stored, &audit, &key, &*progress)
    })
    .await
    .map_err(|e| FdaError::Package(format!("the writer stopped: {e}")))?
}

/// One product's trace, cut to the period, with its investigations and verifications; and
/// the ids of the events followed in the period and the packages covered.
async fn gather(
    db: &Db,
    organisation: &OrganisationSettings,
    checked: &Checked,
    resolved: &Resolved,
) -> Result<(ProductRecords, Vec<i64>, Vec<String>), FdaError> {
    let detailed =
        trace::trace_detailed(db, organisation, &Scope::Everything, &resolved.product).await?;
    let mut t = detailed.trace;
    let mut hops = Vec::new();
    let mut hop_packages = Vec::new();
    for (hop, packages) in t
        .hops
        .take()
        .unwrap_or_default()
        .into_iter()
        .zip(detailed.hop_packages)
    {
        let at = crate::stored::micros(&hop.transaction_date).unwrap_or(i64::MIN);
        if checked.in_period(at) {
            hops.push(hop);
            hop_packages.push(packages);
        }
    }
    t.hops = Some(hops);
    let backend = db.backend();
    let mut conn = db.pool().acquire().await?;
    let gtin = resolved.product.gtin().as_str();
    let keys = serde_json::to_string(&detailed.packages).unwrap_or_else(|_| "[]".into());
    let lot = match &resolved.product {
        Product::Lot { lot, .. } => Some(lot.as_str()),
        Product::Serial { .. } => None,
    };
    // A lot's trace names no expiry (it is per serial in the ledger): the lot's first
    // serial's, which the lot shares.
    if t.product.expiry.is_none()
        && let Some(first) = detailed.packages.first()
    {
        t.product.expiry = crate::storage::trace::commissioning(&mut conn, first)
            .await?
            .and_then(|(_, _, expiry)| expiry);
    }
    let references =
        crate::storage::fda::investigations_naming(&mut conn, backend, gtin, lot, &keys).await?;
    let serials: Vec<String> = match &resolved.product {
        Product::Serial { serial, .. } => vec![serial.clone()],
        Product::Lot { .. } => detailed
            .packages
            .iter()
            .filter_map(|k| {
                epcis::id::DigitalLink::parse(k)
                    .ok()
                    .and_then(|dl| dl.serial().map(str::to_owned))
            })
            .collect(),
    };
    let serials = serde_json::to_string(&serials).unwrap_or_else(|_| "[]".into());
    let verifications =
        crate::storage::fda::verifications_of(&mut conn, backend, gtin, &serials).await?;
    drop(conn);
    let mut investigations = Vec::with_capacity(references.len());
    for r in &references {
        match crate::services::investigations::show(db, r).await {
            Ok(view) => investigations.push(view),
            Err(crate::services::investigations::InvestigationError::Storage(e)) => {
                return Err(e.into());
            }
            // Named by an item a moment ago: only a concurrent change could hide it.
            Err(e) => return Err(FdaError::Package(e.to_string())),
        }
    }
    Ok((
        ProductRecords {
            resolved: resolved.clone(),
            trace: t,
            hop_packages,
            investigations,
            verifications,
        },
        detailed.event_ids,
        detailed.packages,
    ))
}

/// The audit records in the period that mention a product: its GTIN, and its serial (a
/// serial product), or its lot or one of the lot's package identifiers (a lot).
async fn audit_records(
    db: &Db,
    checked: &Checked,
    packages: &HashSet<String>,
) -> Result<Vec<AuditRecord>, StorageError> {
    let mut conn = db.pool().acquire().await?;
    let mut found: BTreeMap<i64, AuditRecord> = BTreeMap::new();
    let gtins: BTreeSet<&str> = checked
        .products
        .iter()
        .map(|r| r.product.gtin().as_str())
        .collect();
    let from = checked.from.as_ref().map(|b| b.text.as_str());
    let to = checked.to.as_ref().map(|b| b.text.as_str());
    for gtin in gtins {
        for record in crate::storage::audit::mentioning(&mut conn, gtin, from, to).await? {
            let texts: Vec<String> = record
                .target
                .iter()
                .cloned()
                .chain(std::iter::once(record.params.to_string()))
                .collect();
            let names_package = record
                .target
                .iter()
                .any(|t| packages.contains(&crate::stored::epc_key(t)));
            let relevant = checked.products.iter().any(|r| match &r.product {
                Product::Serial { gtin: g, serial } => {
                    g.as_str() == gtin
                        && (names_package || texts.iter().any(|t| t.contains(serial.as_str())))
                }
                Product::Lot { gtin: g, lot } => {
                    g.as_str() == gtin
                        && (names_package || texts.iter().any(|t| t.contains(lot.as_str())))
                }
            });
            if relevant {
                found.insert(record.seq, record);
            }
        }
    }
    Ok(found.into_values().collect())
}

/// The stored events of a package: bodies by id, and the latest error declaration (the
/// declaring event's stored body) of each event that has one.
struct Stored {
    bodies: Vec<(i64, String)>,
    declarations: HashMap<i64, String>,
}

/// Writes every file and the zip.
fn write(
    meta: &Meta,
    checked: &Checked,
    products: &[ProductRecords],
    stored: Stored,
    audit: &[AuditRecord],
    key: &CheckpointKey,
    progress: &dyn Progress,
) -> Result<Built, FdaError> {
    progress.stage("writing events", stored.bodies.len() as u64);
    let corrupt =
        |id: i64, e: String| FdaError::Storage(StorageError::Corrupt(format!("event {id}: {e}")));
    let mut events = Vec::with_capacity(stored.bodies.len());
    for (id, body) in stored.bodies {
        let mut event = crate::stored::event_from_body(&body).map_err(|e| corrupt(id, e))?;
        // An event declared erroneous goes out with its latest error declaration, as the
        // query interface shows it: FDA sees the correction beside the original.
        if let Some(declaring) = stored.declarations.get(&id) {
            event.error_declaration = crate::stored::event_from_body(declaring)
                .map_err(|e| corrupt(id, e))?
                .error_declaration;
        }
        let at = crate::stored::micros(&event.event_time).unwrap_or(i64::MIN);
        if checked.in_period(at) {
            events.push((at, id, event));
        }
    }
    events.sort_by_key(|(at, id, _)| (*at, *id));
    let event_ids: Vec<i64> = events.iter().map(|(_, id, _)| *id).collect();
    let events: Vec<epcis::Event> = events.into_iter().map(|(_, _, e)| e).collect();
    let (xml, jsonld) = encode_events(&meta.produced_at, &events, progress)?;

    progress.stage("writing files", 5);
    let csv = transaction_csv(products);
    progress.advance(1);
    let statements = statements_json(meta, products);
    progress.advance(1);
    let audit_lines = audit_jsonl(audit);
    let contents = Contents {
        products: products.len(),
        packages: products.iter().map(|p| p.trace.product.packages).sum(),
        transactions: products.iter().map(|p| p.hops().len()).sum(),
        events: events.len(),
        investigations: products
            .iter()
            .flat_map(|p| p.investigations.iter().map(|c| c.id))
            .collect::<BTreeSet<_>>()
            .len(),
        verifications: products.iter().map(|p| p.verifications.len()).sum(),
        audit_records: audit.len(),
    };
    let html = super::report::html(meta, checked, products, &contents);
    progress.advance(1);
    let readme = readme(meta, key);
    let files: Vec<(&str, Vec<u8>)> = vec![
        ("README.txt", readme.into_bytes()),
        ("transaction-information.csv", csv.into_bytes()),
        ("transaction-statements.json", statements.into_bytes()),
        ("report.html", html.into_bytes()),
        ("events.xml", xml),
        ("events.jsonld", jsonld),
        ("audit.jsonl", audit_lines.into_bytes()),
    ];
    let manifest = manifest::manifest(meta, checked, &contents, &files, key);
    progress.advance(1);
    let bytes = zip(&manifest, &files)?;
    progress.advance(1);
    Ok(Built {
        bytes,
        event_ids,
        contents,
    })
}

/// `events.xml` (EPCIS 1.2) and `events.jsonld` (EPCIS 2.0), streamed event by event.
fn encode_events(
    created: &str,
    events: &[epcis::Event],
    progress: &dyn Progress,
) -> Result<(Vec<u8>, Vec<u8>), FdaError> {
    let doc = epcis::Document {
        creation_date: Some(created.to_owned()),
        ..epcis::Document::default()
    };
    let head = epcis::encode::DocumentHead::of(&doc).declaring(events);
    let io = |e: std::io::Error| FdaError::Package(format!("encoding events: {e}"));
    let mut xml = epcis::encode::XmlWriter::new(
        Vec::with_capacity(events.len() * 900),
        &head,
        epcis::EpcisVersion::V1_2,
    )
    .map_err(io)?;
    let mut jsonld =
        epcis::encode::JsonLdWriter::new(Vec::with_capacity(events.len() * 700), &head)
            .map_err(io)?;
    for (i, e) in events.iter().enumerate() {
        xml.event(e).map_err(io)?;
        jsonld.event(e).map_err(io)?;
        if i % 1000 == 999 {
            progress.advance(1000);
        }
    }
    progress.advance((events.len() % 1000) as u64);
    Ok((xml.finish().map_err(io)?, jsonld.finish().map_err(io)?))
}

/// The CSV columns, in order. (A)-(J) are the statutory elements of §581(26).
pub const CSV_COLUMNS: [&str; 27] = [
    "product_asked",
    "gtin",
    "event_id",
    "event_hash_id",
    "biz_step",
    "a_product_name",
    "b_strength",
    "b_dosage_form",
    "c_ndc",
    "d_container_size",
    "e_number_of_containers",
    "f_lot",
    "g_transaction_date",
    "h_shipment_date",
    "i_transferor_name",
    "i_transferor_address",
    "i_transferor_gln",
    "j_transferee_name",
    "j_transferee_address",
    "j_transferee_gln",
    "ship_from",
    "ship_to",
    "receipt_date",
    "business_transactions",
    "transaction_statement_affirmed",
    "via_containers",
    "package_identifiers",
];

/// `transaction-information.csv`: one row per transaction (custody hop), RFC 4180.
fn transaction_csv(products: &[ProductRecords]) -> String {
    let mut out = String::new();
    row(&mut out, CSV_COLUMNS.iter().map(|c| (*c).to_owned()));
    for p in products {
        let info = &p.trace.product;
        for (hop, packages) in p.hops().iter().zip(&p.hop_packages) {
            let o = |v: &Option<String>| v.clone().unwrap_or_default();
            row(
                &mut out,
                [
                    p.resolved.asked.clone(),
                    info.gtin.clone(),
                    hop.event_id.clone(),
                    hop.event_hash_id.clone(),
                    o(&hop.biz_step),
                    o(&info.name),
                    o(&info.strength),
                    o(&info.dosage_form),
                    o(&info.ndc),
                    o(&info.container_size),
                    hop.number_of_containers.to_string(),
                    o(&info.lot),
                    hop.transaction_date.clone(),
                    hop.shipment_date.clone(),
                    o(&hop.transferor.name),
                    address(&hop.transferor),
                    hop.transferor
                        .gln
                        .clone()
                        .unwrap_or_else(|| hop.transferor.id.clone()),
                    o(&hop.transferee.name),
                    address(&hop.transferee),
                    hop.transferee
                        .gln
                        .clone()
                        .unwrap_or_else(|| hop.transferee.id.clone()),
                    hop.ship_from
                        .as_ref()
                        .map(|p| p.id.clone())
                        .unwrap_or_default(),
                    hop.ship_to
                        .as_ref()
                        .map(|p| p.id.clone())
                        .unwrap_or_default(),
                    o(&hop.receipt_date),
                    hop.business_transactions
                        .iter()
                        .map(|t| {
                            format!("{}:{}", t.kind.rsplit(':').next().unwrap_or(&t.kind), t.id)
                        })
                        .collect::<Vec<_>>()
                        .join(" "),
                    hop.transaction_statement
                        .as_ref()
                        .and_then(|s| s.affirm.clone())
                        .unwrap_or_default(),
                    hop.via_containers.join(" "),
                    packages.join(" "),
                ]
                .into_iter(),
            );
        }
    }
    out
}

/// A party's address on one line.
pub(super) fn address(p: &Party) -> String {
    let city_line = [
        p.city.as_deref(),
        p.state.as_deref(),
        p.postal_code.as_deref(),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" ");
    [
        p.street_address.as_deref(),
        Some(city_line.as_str()),
        p.country_code.as_deref(),
    ]
    .into_iter()
    .flatten()
    .filter(|s| !s.is_empty())
    .collect::<Vec<_>>()
    .join(", ")
}

fn row(out: &mut String, fields: impl Iterator<Item = String>) {
    for (i, f) in fields.enumerate() {
        if i > 0 {
            out.push(',');
        }
        // Quoted when it must be (RFC 4180); a cell starting with a formula character is
        // quoted too, and prefixed, so a spreadsheet shows it rather than evaluating it.
        let formula = f.starts_with(['=', '+', '-', '@']);
        if formula || f.contains([',', '"', '\n', '\r']) {
            out.push('"');
            if formula {
                out.push('\'');
            }
            out.push_str(&f.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(&f);
        }
    }
    out.push_str("\r\n");
}

/// `transaction-statements.json`: per product, each transaction's statement with who made it.
fn statements_json(meta: &Meta, products: &[ProductRecords]) -> String {
    let party = |p: &Party| serde_json::json!({"gln": p.gln, "id": p.id, "name": p.name});
    let items: Vec<serde_json::Value> = products
        .iter()
        .map(|p| {
            let transactions: Vec<serde_json::Value> = p
                .hops()
                .iter()
                .map(|h| {
                    serde_json::json!({
                        "eventID": h.event_id,
                        "eventHashID": h.event_hash_id,
                        "transactionDate": h.transaction_date,
                        "transferor": party(&h.transferor),
                        "transferee": party(&h.transferee),
                        "businessTransactions": h.business_transactions,
                        "transactionStatement": h.transaction_statement,
                    })
                })
                .collect();
            serde_json::json!({
                "productAsked": p.resolved.asked,
                "gtin": p.trace.product.gtin,
                "lot": p.trace.product.lot,
                "transactions": transactions,
            })
        })
        .collect();
    let doc = serde_json::json!({
        "requestRef": meta.job.request_ref,
        "requestId": meta.job.id,
        "products": items,
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}

/// `audit.jsonl`: one sealed audit record per line, in sequence order.
fn audit_jsonl(records: &[AuditRecord]) -> String {
    let mut out = String::new();
    for r in records {
        if let Ok(line) = serde_json::to_string(r) {
            out.push_str(&line);
            out.push('\n');
        }
    }
    out
}

fn readme(meta: &Meta, key: &CheckpointKey) -> String {
    format!(
        "DSCSA records package\r\n\
         =====================\r\n\
         \r\n\
         Request: {reference} (id {id}), received {received}, due {deadline}.\r\n\
         Produced by {org} ({actor}, {channel}) at {produced} with dscsa-exchange {version}.\r\n\
         \r\n\
         Files\r\n\
         - manifest.json: the request, who produced the package and when, and every other\r\n\
           file with its SHA-256, signed (Ed25519) with the producer's audit key.\r\n\
         - transaction-information.csv: one row per transaction (change of ownership) with the\r\n\
           ten transaction-information elements of FD&C Act 581(26), columns a_ to j_, and the\r\n\
           package identifiers (GS1 Digital Links) of the product in that shipment.\r\n\
         - transaction-statements.json: each transaction's transaction statement and parties.\r\n\
         - report.html: the same for people, printable: per product the custody chain, each\r\n\
           transaction's information and statement, investigations and verifications.\r\n\
         - events.xml (EPCIS 1.2 XML) and events.jsonld (EPCIS 2.0 JSON-LD): every event that\r\n\
           touches the products, their cases and pallets included; the two hold the same events.\r\n\
         - audit.jsonl: the audit records (one JSON object per line) of access to the products\r\n\
           in the period.\r\n\
         \r\n\
         Checking that nothing was altered\r\n\
         The manifest is signed by the public key {public}.\r\n\
         Obtain that key from {org} through another channel, then run\r\n\
         \r\n\
             dscsa fda verify-package THIS-FILE.zip --public-key {public}\r\n\
         \r\n\
         or recompute each file's SHA-256 and compare it with manifest.json.\r\n",
        reference = meta.job.request_ref,
        id = meta.job.id,
        received = meta.job.received_at,
        deadline = meta.job.deadline,
        org = meta.organisation.name.as_deref().unwrap_or("the producer"),
        actor = meta.actor,
        channel = meta.channel,
        produced = meta.produced_at,
        version = env!("CARGO_PKG_VERSION"),
        public = key.public_hex(),
    )
}

/// The zip: `README.txt`, `manifest.json`, then the other files, deflated, with the fixed
/// DOS time of 1980-01-01 so the bytes depend on the contents only.
fn zip(manifest: &str, files: &[(&str, Vec<u8>)]) -> Result<Vec<u8>, FdaError> {
    let z = |e: zip::result::ZipError| FdaError::Package(format!("zip: {e}"));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        // Level 1: the event files compress about as well at 1 as at 6, in a fraction of the time.
        .compression_level(Some(1))
        .last_modified_time(zip::DateTime::default())
        .large_file(files.iter().map(|(_, b)| b.len()).sum::<usize>() > u32::MAX as usize / 2);
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let mut entries: Vec<(&str, &[u8])> = Vec::with_capacity(files.len() + 1);
    let (first, rest) = files.split_at(1.min(files.len()));
    entries.extend(first.iter().map(|(n, b)| (*n, b.as_slice())));
    entries.push((manifest::MANIFEST, manifest.as_bytes()));
    entries.extend(rest.iter().map(|(n, b)| (*n, b.as_slice())));
    for (name, bytes) in entries {
        w.start_file(name, options).map_err(z)?;
        w.write_all(bytes)
            .map_err(|e| FdaError::Package(format!("zip {name}: {e}")))?;
    }
    Ok(w.finish().map_err(z)?.into_inner())
}
