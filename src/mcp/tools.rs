//! The ten MCP tools: typed inputs that refuse unknown fields, structured outputs, and thin
//! adapters over the services REST and the CLI use (verification, tracing, EPCIS query, master
//! data, investigations) plus two ledger reads.
//!
//! Every tool is read-only: it runs against the read-only database handle of
//! [`super::McpContext`] (on PostgreSQL every transaction is `READ ONLY`, on SQLite
//! `query_only`), and the one record a call leaves, its audit record (with the verification
//! log entry of `verify_product`), is written by the audit writer, not by the tool. A token's
//! narrowing ([`Limits`]) is checked before any read: a product outside it is refused with a
//! message that says so, exactly like a product the principal may not see is answered empty.
//!
//! Input mistakes come back as tool errors (`isError: true`) whose text says what to fix.

use epcis::id::Gtin;
use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::{tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::server::{
    DscsaMcp, current_grant, note_rows, note_target, note_truncated, note_verification,
};
use crate::services::agent_tokens::{Grant, Limits};
use crate::services::query::{self as query_service, EventQuery, Extensions, QueryError};
use crate::services::trace::{self as trace_service, Product, ResponseType, Trace};
use crate::services::verify::{self as verify_service, RawRequest, Request, Requester};
use crate::storage::StorageError;
use crate::storage::query::{Condition, KeyMatch};
use crate::stored::EpcRole;

/// Largest page of events.
const MAX_EVENTS_PER_PAGE: u32 = 50;

fn storage(e: StorageError) -> String {
    tracing::error!(error = %e, "MCP tool: storage failed");
    "the repository could not answer just now; try again".into()
}

fn query_error(e: QueryError) -> String {
    match e {
        QueryError::Storage(e) => storage(e),
        other => other.to_string(),
    }
}

fn outside(what: &str, limits: &Limits) -> String {
    format!(
        "{what} is outside this token's scope (it is limited to {}); ask the person who issued \
         the token for one that covers it",
        limits.summary()
    )
}

fn parse_gtin(field: &str, value: &str) -> Result<Gtin, String> {
    Gtin::parse(value.trim()).map_err(|e| format!("{field}: {e} (a GTIN-14 has 14 digits)"))
}

// ---- verify_product ----

/// Input of `verify_product`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyArgs {
    /// GTIN-14 of the package (with `serial`), e.g. "00614141100019".
    pub gtin: Option<String>,
    /// Serial number (GS1 AI 21), exactly as printed.
    pub serial: Option<String>,
    /// Lot number (AI 10); without it the lot is not compared.
    pub lot: Option<String>,
    /// Expiry as YYMMDD (day 00 means any day of that month); without it the expiry is not
    /// compared.
    pub expiry: Option<String>,
    /// Instead of the fields above: what a scanner read from the package's 2D code, an element
    /// string such as "(01)00614141100019(17)280630(10)L1(21)S1" or a GS1 Digital Link.
    pub scan: Option<String>,
}

/// Output of `verify_product`.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VerifyOut {
    /// GTIN-14 verified.
    pub gtin: String,
    /// Serial verified.
    pub serial: String,
    /// The answer in the GS1 Lightweight Messaging (VRS) shape: `data.verified`, and when not
    /// verified `data.verificationFailureReason`; `data.additionalInfo` flags a recalled,
    /// suspect, illegitimate or expired package.
    pub answer: verify_service::Answer,
}

// ---- trace_product ----

/// How much of the custody chain to return.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
pub enum TraceResponse {
    /// Every custody hop with the ten transaction-information elements (default).
    TransactionInformation,
    /// The owners in order.
    AllKnownOwners,
    /// The last known owner only.
    LastKnownOwner,
}

/// Input of `trace_product`: one package (`epc`, or `gtin` + `serial`) or a lot (`gtin` +
/// `lot`).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TraceArgs {
    /// The package's EPC: an SGTIN URN ("urn:epc:id:sgtin:0614141.110001.S1") or a GS1 Digital
    /// Link (`https://id.gs1.org/01/00614141100019/21/S1`).
    pub epc: Option<String>,
    /// GTIN-14, with `serial` or `lot`.
    pub gtin: Option<String>,
    /// Serial number.
    pub serial: Option<String>,
    /// Lot number (traces every package of the lot).
    pub lot: Option<String>,
    /// What to return (default TransactionInformation).
    pub response_type: Option<TraceResponse>,
}

// ---- events ----

/// Input of `product_events`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductEventsArgs {
    /// The package or container: SGTIN or SSCC as URN or Digital Link.
    pub epc: String,
    /// Events per page, 1 to 50 (default 20).
    pub per_page: Option<u32>,
    /// The `nextCursor` of the previous page, to continue.
    pub cursor: Option<String>,
}

/// A business transaction reference to filter on.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BizTransactionFilter {
    /// CBV type word: po, inv, desadv, bol, recadv, prodorder, ...
    #[serde(rename = "type")]
    pub kind: String,
    /// The reference, as in the event (often a URN).
    pub id: String,
}

/// Input of `find_events`: a bounded subset of the EPCIS 2.0 query parameters, ANDed.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FindEventsArgs {
    /// Event types: ObjectEvent, AggregationEvent, TransactionEvent, TransformationEvent,
    /// AssociationEvent.
    pub event_types: Option<Vec<String>>,
    /// Events at or after this time (RFC 3339, e.g. "2026-05-01T00:00:00Z").
    pub from: Option<String>,
    /// Events before this time (RFC 3339).
    pub to: Option<String>,
    /// CBV business steps, as words ("shipping") or URNs.
    pub biz_steps: Option<Vec<String>>,
    /// CBV dispositions ("in_transit", "active", "recalled", ...).
    pub dispositions: Option<Vec<String>>,
    /// Business locations (SGLN URN or Digital Link), including sub-locations.
    pub biz_locations: Option<Vec<String>>,
    /// EPCs or EPC patterns ("urn:epc:idpat:sgtin:0614141.110001.*") named in any role.
    pub epcs: Option<Vec<String>>,
    /// A business transaction named by the event.
    pub biz_transaction: Option<BizTransactionFilter>,
    /// Events per page, 1 to 50 (default 20).
    pub per_page: Option<u32>,
    /// The `nextCursor` of the previous page.
    pub cursor: Option<String>,
}

/// A page of EPCIS events.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventsOut {
    /// EPCIS 2.0 JSON-LD event objects, oldest first. Partner-specific fields (user
    /// extensions) are gathered under `extensions`; `ilmd` and `extensions` hold partner text
    /// and arrive fenced as untrusted data.
    pub events: Vec<serde_json::Value>,
    /// Events on this page.
    pub count: usize,
    /// More events match: pass `nextCursor` as `cursor` to continue.
    pub truncated: bool,
    /// The cursor of the next page.
    pub next_cursor: Option<String>,
}

// ---- ledger ----

/// Input of `lot_summary`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LotArgs {
    /// GTIN-14.
    pub gtin: String,
    /// Lot number.
    pub lot: String,
}

/// A value and how many serials have it.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Count {
    /// The value (a state word, a party id or GLN, a location).
    pub value: String,
    /// Serials.
    pub count: i64,
}

/// Output of `lot_summary`.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LotSummary {
    /// GTIN-14.
    pub gtin: String,
    /// Lot.
    pub lot: String,
    /// Serialised packages of the lot in the ledger.
    pub total: i64,
    /// By ledger status: active, decommissioned, destroyed, dispensed, unknown.
    pub by_status: Vec<Count>,
    /// By current holder (last owner), largest first (at most 20).
    pub by_holder: Vec<Count>,
    /// By last known location, largest first (at most 20).
    pub by_location: Vec<Count>,
    /// "recalled" (every package), "partially recalled" or "not recalled".
    pub recall_state: String,
    /// Packages flagged recalled.
    pub recalled: i64,
    /// Packages flagged suspect (open investigation).
    pub suspect: i64,
    /// Packages quarantined.
    pub quarantined: i64,
    /// Packages determined illegitimate.
    pub illegitimate: i64,
    /// Earliest expiry recorded (YYYY-MM-DD).
    pub expiry_earliest: Option<String>,
    /// Latest expiry recorded.
    pub expiry_latest: Option<String>,
}

/// Input of `container_contents`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContainerArgs {
    /// The container: SSCC ("urn:epc:id:sscc:0614141.1234567890") or Digital Link, or a
    /// serialised case.
    pub epc: String,
    /// Point in time (RFC 3339); default now.
    pub at: Option<String>,
    /// Most items to return, 1 to 500 (default 100).
    pub limit: Option<u32>,
}

/// One item inside a container.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContainedItem {
    /// The item's EPC (Digital Link).
    pub epc: String,
    /// The container it is directly inside.
    pub parent: String,
    /// 1 for direct contents, 2 for the contents of those, ...
    pub depth: i64,
    /// GTIN-14 of a serialised package.
    pub gtin: Option<String>,
    /// Its lot.
    pub lot: Option<String>,
    /// Its ledger status.
    pub status: Option<String>,
}

/// Output of `container_contents`.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContainerOut {
    /// The container (Digital Link).
    pub container: String,
    /// The point in time.
    pub at: String,
    /// What was inside, nearest first.
    pub items: Vec<ContainedItem>,
    /// Items left out because of `limit` or this token's narrowing.
    pub truncated: bool,
}

// ---- master data ----

/// Input of `product_master_data`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MasterDataArgs {
    /// GTIN-14 or NDC (10 digits, with or without hyphens).
    pub id: String,
}

/// Input of `partner_info`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PartnerArgs {
    /// The partner's principal id (as in tracing answers and the audit trail) or one of its
    /// GLNs.
    pub partner: String,
}

/// Output of `partner_info`: what the home organisation registered about a trading partner.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PartnerOut {
    /// Principal id.
    pub id: String,
    /// Legal name.
    pub legal_name: String,
    /// Role in the supply chain (manufacturer, wholesaler, dispenser, ...).
    pub role: String,
    /// active or suspended.
    pub status: String,
    /// Party and location GLNs.
    pub glns: Vec<String>,
    /// GS1 company prefixes it owns.
    pub company_prefixes: Vec<String>,
}

// ---- investigations ----

/// Input of `list_investigations`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListInvestigationsArgs {
    /// Only cases in this status: open, quarantined, determined, termination_requested,
    /// terminated, closed.
    pub status: Option<String>,
    /// Most cases, 1 to 100 (default 20), newest first.
    pub limit: Option<u32>,
}

/// Output of `list_investigations`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct InvestigationsOut {
    /// Cases, newest first.
    pub cases: Vec<crate::services::investigations::Summary>,
    /// More cases match than `limit`.
    pub truncated: bool,
}

/// Input of `investigation`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InvestigationArgs {
    /// The case reference (e.g. "INV-2026-0001") or id.
    pub reference: String,
}

/// Output of `investigation`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct InvestigationOut {
    /// The whole case: status and determination, the FDA clock, the products it names, their
    /// ledger state, the timeline of steps and the verifications run for it. Descriptions,
    /// notes and reasons are staff text about partner data and arrive fenced.
    pub case: serde_json::Value,
}

/// `per_page` checked.
fn page_size(per_page: Option<u32>) -> Result<u32, String> {
    match per_page.unwrap_or(20) {
        n @ 1..=MAX_EVENTS_PER_PAGE => Ok(n),
        n => Err(format!(
            "per_page: {n} is out of range; use 1 to {MAX_EVENTS_PER_PAGE}"
        )),
    }
}

/// Checks an EPC argument against the token's narrowing. A serial of a lot-narrowed token is
/// looked up in the ledger; containers (SSCC) and other identifiers are allowed only to tokens
/// not narrowed to products.
async fn check_epc(server: &DscsaMcp, limits: &Limits, epc: &str) -> Result<String, String> {
    let key = crate::stored::epc_key(epc.trim());
    if limits.gtins.is_empty() && limits.lot.is_none() {
        return Ok(key);
    }
    let Ok(Product::Serial { gtin, .. }) = Product::from_epc(&key) else {
        return Err(outside(&format!("{epc:?}"), limits));
    };
    if !limits.allows_gtin(&gtin) {
        return Err(outside(&format!("GTIN {}", gtin.as_str()), limits));
    }
    if limits.lot.is_some() {
        let mut conn = server
            .db()
            .pool()
            .acquire()
            .await
            .map_err(|e| storage(e.into()))?;
        let lot = crate::storage::trace::commissioning(&mut conn, &key)
            .await
            .map_err(storage)?
            .and_then(|(_, lot, _)| lot);
        if !limits.allows_lot(&gtin, lot.as_deref()) {
            return Err(outside(&format!("package {epc:?}"), limits));
        }
    }
    Ok(key)
}

/// The standard members of an EPCIS 2.0 JSON-LD event; anything else is a user extension.
const EVENT_MEMBERS: &[&str] = &[
    "type",
    "eventID",
    "eventTime",
    "eventTimeZoneOffset",
    "recordTime",
    "action",
    "bizStep",
    "disposition",
    "readPoint",
    "bizLocation",
    "epcList",
    "childEPCs",
    "parentID",
    "inputEPCList",
    "outputEPCList",
    "quantityList",
    "childQuantityList",
    "inputQuantityList",
    "outputQuantityList",
    "bizTransactionList",
    "sourceList",
    "destinationList",
    "sensorElementList",
    "persistentDisposition",
    "ilmd",
    "errorDeclaration",
    "certificationInfo",
    "transformationID",
];

/// The events as JSON-LD objects, extensions gathered under `extensions`.
fn events_json(mut events: Vec<epcis::Event>) -> Result<Vec<serde_json::Value>, String> {
    query_service::format_epcs(&mut events, query_service::EpcFormat::DigitalLink);
    let header = epcis::model::Header::default();
    let head = epcis::encode::DocumentHead {
        kind: epcis::model::DocumentKind::Query,
        creation_date: None,
        header: &header,
        query_name: Some("SimpleEventQuery"),
        subscription_id: None,
        hash_ignore: &[],
        namespaces: Vec::new(),
    }
    .declaring(&events);
    let mut out = Vec::new();
    let mut w = epcis::encode::JsonLdWriter::new(&mut out, &head).map_err(|e| e.to_string())?;
    for e in &events {
        w.event(e).map_err(|e| e.to_string())?;
    }
    w.finish().map_err(|e| e.to_string())?;
    let doc: serde_json::Value = serde_json::from_slice(&out).map_err(|e| e.to_string())?;
    let list = find_key(&doc, "eventList")
        .and_then(serde_json::Value::as_array)
        .cloned()
        .unwrap_or_default();
    Ok(list
        .into_iter()
        .map(|event| {
            let serde_json::Value::Object(map) = event else {
                return event;
            };
            let mut standard = serde_json::Map::new();
            let mut extensions = serde_json::Map::new();
            for (k, v) in map {
                if k == "@context" {
                    continue;
                }
                if EVENT_MEMBERS.contains(&k.as_str()) {
                    standard.insert(k, v);
                } else {
                    extensions.insert(k, v);
                }
            }
            if !extensions.is_empty() {
                standard.insert("extensions".into(), serde_json::Value::Object(extensions));
            }
            serde_json::Value::Object(standard)
        })
        .collect())
}

fn find_key<'v>(v: &'v serde_json::Value, key: &str) -> Option<&'v serde_json::Value> {
    match v {
        serde_json::Value::Object(map) => map
            .get(key)
            .or_else(|| map.values().find_map(|c| find_key(c, key))),
        serde_json::Value::Array(items) => items.iter().find_map(|c| find_key(c, key)),
        _ => None,
    }
}

/// Runs an event query for the grant and shapes the page.
async fn run_events(
    server: &DscsaMcp,
    grant: &Grant,
    query: &EventQuery,
) -> Result<EventsOut, String> {
    let visibility = partners::Visibility::of(&grant.principal);
    let page = query_service::events(server.db(), &visibility, query)
        .await
        .map_err(query_error)?;
    let events = events_json(page.events)?;
    note_rows(events.len() as u64);
    let next_cursor = page.next.map(|n| n.token);
    if next_cursor.is_some() {
        note_truncated();
    }
    Ok(EventsOut {
        count: events.len(),
        truncated: next_cursor.is_some(),
        events,
        next_cursor,
    })
}

fn all_roles() -> Vec<EpcRole> {
    vec![
        EpcRole::Epc,
        EpcRole::Parent,
        EpcRole::Child,
        EpcRole::Input,
        EpcRole::Output,
    ]
}

fn rfc3339_micros(field: &str, text: &str) -> Result<i64, String> {
    let t =
        time::OffsetDateTime::parse(text.trim(), &time::format_description::well_known::Rfc3339)
            .map_err(|e| format!("{field}: {text:?} is not an RFC 3339 time ({e})"))?;
    i64::try_from(t.unix_timestamp_nanos() / 1000).map_err(|_| format!("{field}: out of range"))
}

#[tool_router(vis = "pub(super)")]
impl DscsaMcp {
    /// Verify a drug package's product identifier against the manufacturer's serial ledger
    /// (DSCSA verification; the GS1 Lightweight Messaging / VRS answer). Use it when a package
    /// is returned for resale, looks suspect, or before deciding anything about it. Give the
    /// GTIN and serial (and lot and expiry from the label, so they are compared too), or the
    /// raw `scan` of the 2D barcode. The answer says whether the identifier is genuine and,
    /// when not, why (No_match_GTIN_Serial: never commissioned; ..._Lot / ..._Expiry: the
    /// label's lot or expiry differ from the record; Not_for_re-distribution: decommissioned,
    /// destroyed or illegitimate), plus flags: Recalled, Suspect, Illegitimate, Expired,
    /// ExpirationExtended. Every verification is recorded.
    #[tool(title = "Verify a product identifier")]
    pub(super) async fn verify_product(
        &self,
        Parameters(args): Parameters<VerifyArgs>,
    ) -> Result<Json<VerifyOut>, String> {
        let grant = current_grant()?;
        let request = match (&args.scan, &args.gtin, &args.serial) {
            (Some(scan), None, None) if args.lot.is_none() && args.expiry.is_none() => {
                Request::from_scan(scan)
            }
            (None, Some(gtin), Some(serial)) => Request::new(&RawRequest {
                gtin: gtin.trim(),
                serial: serial.trim(),
                lot: args.lot.as_deref().map(str::trim),
                exp: args.expiry.as_deref().map(str::trim),
                ..RawRequest::default()
            }),
            _ => {
                return Err(
                    "give either `scan` alone, or `gtin` and `serial` (with `lot` and `expiry` \
                     when the label shows them)"
                        .into(),
                );
            }
        }
        .map_err(|e| e.to_string())?;
        let limits = &grant.limits;
        if !limits.allows_gtin(request.gtin()) {
            return Err(outside(
                &format!("GTIN {}", request.gtin().as_str()),
                limits,
            ));
        }
        if limits.lot.is_some() {
            check_epc(self, limits, &request.epc_key()).await?;
        }
        note_target(request.epc_key());
        let requester = Requester {
            id: grant.principal.id.as_str().to_owned(),
            channel: "mcp",
        };
        let reads = crate::services::ledger_reads::LedgerReads::direct(self.db().clone());
        let (answer, entry) =
            verify_service::answer(&reads, self.organisation(), &requester, &request)
                .await
                .map_err(|e| match e {
                    verify_service::VerifyError::Storage(e) => storage(e),
                    other => other.to_string(),
                })?;
        note_verification(entry);
        note_rows(1);
        Ok(Json(VerifyOut {
            gtin: request.gtin().as_str().to_owned(),
            serial: request.serial().to_owned(),
            answer,
        }))
    }

    /// Trace a package (EPC, or GTIN + serial) or a whole lot (GTIN + lot) through its
    /// custody chain, following it inside cases and pallets (aggregation) across unpack and
    /// repack. Use it to answer "where has this been and who owned it?" for a DSCSA
    /// investigation. Each hop carries the ten statutory transaction-information elements
    /// (product name, strength and dosage form, NDC, container size, number of containers,
    /// lot, transaction and shipment dates, transferor and transferee with addresses), the
    /// business transactions (PO, invoice, despatch advice) and the transaction statement;
    /// `upstream`/`downstream` say where our records end and whom to ask next. A partner's
    /// token sees only the hops it was party to.
    #[tool(title = "Trace a package or lot")]
    pub(super) async fn trace_product(
        &self,
        Parameters(args): Parameters<TraceArgs>,
    ) -> Result<Json<Trace>, String> {
        let grant = current_grant()?;
        let limits = &grant.limits;
        let product = match (&args.epc, &args.gtin, &args.serial, &args.lot) {
            (Some(epc), None, None, None) => {
                let key = check_epc(self, limits, epc).await?;
                Product::from_epc(&key)?
            }
            (None, Some(gtin), Some(serial), None) => {
                let gtin = parse_gtin("gtin", gtin)?;
                let key = verify_service::sgtin_key(&gtin, serial.trim());
                check_epc(self, limits, &key).await?;
                Product::Serial {
                    gtin,
                    serial: serial.trim().to_owned(),
                }
            }
            (None, Some(gtin), None, Some(lot)) => {
                let gtin = parse_gtin("gtin", gtin)?;
                if !limits.allows_lot(&gtin, Some(lot.trim())) {
                    return Err(outside(
                        &format!("lot {lot:?} of {}", gtin.as_str()),
                        limits,
                    ));
                }
                Product::Lot {
                    gtin,
                    lot: lot.trim().to_owned(),
                }
            }
            _ => {
                return Err(
                    "give `epc`, or `gtin` with `serial`, or `gtin` with `lot` (one of the three)"
                        .into(),
                );
            }
        };
        note_target(match &product {
            Product::Serial { gtin, serial } => verify_service::sgtin_key(gtin, serial),
            Product::Lot { gtin, lot } => format!("{} lot {lot}", gtin.as_str()),
        });
        let response_type = match args
            .response_type
            .unwrap_or(TraceResponse::TransactionInformation)
        {
            TraceResponse::TransactionInformation => ResponseType::TransactionInformation,
            TraceResponse::AllKnownOwners => ResponseType::AllKnownOwners,
            TraceResponse::LastKnownOwner => ResponseType::LastKnownOwner,
        };
        let scope = trace_service::Scope::of(&grant.principal);
        let trace = trace_service::trace(
            self.db(),
            self.organisation(),
            &scope,
            &product,
            response_type,
        )
        .await
        .map_err(storage)?;
        let rows =
            trace.hops.as_ref().map_or(0, Vec::len) + trace.owners.as_ref().map_or(0, Vec::len);
        note_rows(rows.max(1) as u64);
        Ok(Json(trace))
    }

    /// The EPCIS events that name one package or container (commissioning, packing,
    /// shipping, receiving, decommissioning ...), oldest first, one page at a time. Use it to
    /// see the raw supply-chain record behind a trace. Only events the token's principal may
    /// see are returned.
    #[tool(title = "Events of a package")]
    pub(super) async fn product_events(
        &self,
        Parameters(args): Parameters<ProductEventsArgs>,
    ) -> Result<Json<EventsOut>, String> {
        let grant = current_grant()?;
        let per_page = page_size(args.per_page)?;
        let key = check_epc(self, &grant.limits, &args.epc).await?;
        note_target(key.clone());
        let mut pairs = vec![
            ("MATCH_anyEPC".to_owned(), key),
            ("perPage".to_owned(), per_page.to_string()),
            ("orderBy".to_owned(), "eventTime".to_owned()),
            ("orderDirection".to_owned(), "ASC".to_owned()),
        ];
        if let Some(cursor) = args.cursor {
            pairs.push(("nextPageToken".to_owned(), cursor));
        }
        let query =
            query_service::params::parse(&pairs, &Extensions::default()).map_err(query_error)?;
        Ok(Json(run_events(self, &grant, &query).await?))
    }

    /// Search EPCIS events with a bounded set of filters (event type, time window, business
    /// step, disposition, business location, EPCs or EPC patterns, a business transaction),
    /// ANDed, one page at a time. Use it for questions such as "what was shipped from this
    /// site last week" or "which events name this purchase order". Only events the token's
    /// principal may see are searched; a token narrowed to products searches only their
    /// events.
    #[tool(title = "Find events")]
    pub(super) async fn find_events(
        &self,
        Parameters(args): Parameters<FindEventsArgs>,
    ) -> Result<Json<EventsOut>, String> {
        let grant = current_grant()?;
        let limits = &grant.limits;
        let per_page = page_size(args.per_page)?;
        let mut pairs = vec![
            ("perPage".to_owned(), per_page.to_string()),
            ("orderBy".to_owned(), "eventTime".to_owned()),
            ("orderDirection".to_owned(), "ASC".to_owned()),
        ];
        let mut list = |name: &str, values: &Option<Vec<String>>| {
            if let Some(values) = values.as_ref().filter(|v| !v.is_empty()) {
                pairs.push((name.to_owned(), values.join(",")));
            }
        };
        list("eventType", &args.event_types);
        list("EQ_bizStep", &args.biz_steps);
        list("EQ_disposition", &args.dispositions);
        list("WD_bizLocation", &args.biz_locations);
        if let Some(from) = &args.from {
            rfc3339_micros("from", from)?;
            pairs.push(("GE_eventTime".to_owned(), from.trim().to_owned()));
        }
        if let Some(to) = &args.to {
            rfc3339_micros("to", to)?;
            pairs.push(("LT_eventTime".to_owned(), to.trim().to_owned()));
        }
        if let Some(bt) = &args.biz_transaction {
            let kind = bt.kind.trim();
            if kind.is_empty() || !kind.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                return Err("biz_transaction.type: a CBV word such as po, inv or desadv".into());
            }
            pairs.push((format!("EQ_bizTransaction_{kind}"), bt.id.trim().to_owned()));
        }
        let mut epcs = Vec::new();
        for epc in args.epcs.iter().flatten() {
            if epc.trim().starts_with("urn:epc:idpat:") {
                if !limits.gtins.is_empty() {
                    return Err(outside("an EPC pattern", limits));
                }
                epcs.push(epc.trim().to_owned());
            } else {
                epcs.push(check_epc(self, limits, epc).await?);
            }
        }
        if limits.lot.is_some() && epcs.is_empty() {
            return Err(format!(
                "this token is limited to {}: name the packages in `epcs` (or use \
                 product_events or lot_summary)",
                limits.summary()
            ));
        }
        if !epcs.is_empty() {
            pairs.push(("MATCH_anyEPC".to_owned(), epcs.join(",")));
        }
        if let Some(cursor) = args.cursor {
            pairs.push(("nextPageToken".to_owned(), cursor));
        }
        let mut query =
            query_service::params::parse(&pairs, &Extensions::default()).map_err(query_error)?;
        // A token narrowed to products searches only events naming their packages: a
        // condition in SQL, beside the principal's visibility.
        if !limits.gtins.is_empty() {
            let keys = limits
                .gtins
                .iter()
                .filter_map(|g| KeyMatch::prefix(&format!("https://id.gs1.org/01/{}/", g.as_str())))
                .collect();
            query.conditions.push(Condition::Epcs {
                roles: all_roles(),
                keys,
            });
        }
        Ok(Json(run_events(self, &grant, &query).await?))
    }

    /// Counts of one lot's packages from the serial ledger: by status (active, dispensed,
    /// destroyed, decommissioned), by current holder and by location, with the recall state
    /// and the numbers flagged suspect, quarantined or illegitimate. Use it to size a recall
    /// or an investigation: "how many of lot X are still in the channel, and with whom?".
    /// Home organisation tokens only.
    #[tool(title = "Lot summary")]
    pub(super) async fn lot_summary(
        &self,
        Parameters(args): Parameters<LotArgs>,
    ) -> Result<Json<LotSummary>, String> {
        let grant = current_grant()?;
        let gtin = parse_gtin("gtin", &args.gtin)?;
        let lot = args.lot.trim();
        if lot.is_empty() || lot.len() > 20 {
            return Err("lot: 1 to 20 characters (AI 10)".into());
        }
        if !grant.limits.allows_lot(&gtin, Some(lot)) {
            return Err(outside(
                &format!("lot {lot:?} of {}", gtin.as_str()),
                &grant.limits,
            ));
        }
        note_target(format!("{} lot {lot}", gtin.as_str()));
        let mut conn = self
            .db()
            .pool()
            .acquire()
            .await
            .map_err(|e| storage(e.into()))?;
        let counts = crate::storage::inventory::lot_counts(&mut conn, gtin.as_str(), lot, 20)
            .await
            .map_err(storage)?;
        let counted = |pairs: Vec<(String, i64)>| {
            pairs
                .into_iter()
                .map(|(value, count)| Count { value, count })
                .collect::<Vec<_>>()
        };
        let recall_state = match counts.recalled {
            0 => "not recalled",
            n if n == counts.total => "recalled",
            _ => "partially recalled",
        };
        note_rows(1);
        let (earliest, latest) = counts.expiry.clone().unzip();
        Ok(Json(LotSummary {
            gtin: gtin.as_str().to_owned(),
            lot: lot.to_owned(),
            total: counts.total,
            by_status: counted(counts.by_state),
            by_holder: counted(counts.by_owner),
            by_location: counted(counts.by_location),
            recall_state: recall_state.to_owned(),
            recalled: counts.recalled,
            suspect: counts.suspect,
            quarantined: counts.quarantined,
            illegitimate: counts.illegitimate,
            expiry_earliest: earliest,
            expiry_latest: latest,
        }))
    }

    /// What was inside a container (pallet SSCC, case) at a point in time, all levels down,
    /// from the aggregation records: use it to expand a shipment into its packages, or to see
    /// what a suspect case held when it was shipped. Home organisation tokens only.
    #[tool(title = "Container contents")]
    pub(super) async fn container_contents(
        &self,
        Parameters(args): Parameters<ContainerArgs>,
    ) -> Result<Json<ContainerOut>, String> {
        let grant = current_grant()?;
        let limit = match args.limit.unwrap_or(100) {
            n @ 1..=500 => i64::from(n),
            n => return Err(format!("limit: {n} is out of range; use 1 to 500")),
        };
        let (at_text, at) = match &args.at {
            Some(at) => (at.trim().to_owned(), rfc3339_micros("at", at)?),
            None => {
                let now = crate::storage::now_text();
                let micros = rfc3339_micros("at", &now)?;
                (now, micros)
            }
        };
        let container = crate::stored::epc_key(args.epc.trim());
        note_target(container.clone());
        let mut conn = self
            .db()
            .pool()
            .acquire()
            .await
            .map_err(|e| storage(e.into()))?;
        let (inside, more) = crate::storage::inventory::contents(&mut conn, &container, at, limit)
            .await
            .map_err(storage)?;
        let limits = &grant.limits;
        let total = inside.len();
        let items: Vec<ContainedItem> = inside
            .into_iter()
            .filter(|i| {
                limits.gtins.is_empty()
                    || i.gtin
                        .as_deref()
                        .and_then(|g| Gtin::parse(g).ok())
                        .is_some_and(|g| limits.allows_lot(&g, i.lot.as_deref()))
            })
            .map(|i| ContainedItem {
                epc: i.epc,
                parent: i.parent,
                depth: i.depth,
                gtin: i.gtin,
                lot: i.lot,
                status: i.state,
            })
            .collect();
        let truncated = more || items.len() < total;
        if truncated {
            note_truncated();
        }
        note_rows(items.len() as u64);
        Ok(Json(ContainerOut {
            container,
            at: at_text,
            items,
            truncated,
        }))
    }

    /// The product's master data as trading partners sent it: proprietary name, dosage form,
    /// strength, container size, NDC, manufacturer. Look up by GTIN-14 or NDC. Names and
    /// descriptions are partner-supplied text and arrive fenced as untrusted data.
    #[tool(title = "Product master data")]
    pub(super) async fn product_master_data(
        &self,
        Parameters(args): Parameters<MasterDataArgs>,
    ) -> Result<Json<query_service::masterdata::Product>, String> {
        let grant = current_grant()?;
        if let Ok(gtin) = Gtin::parse(args.id.trim())
            && !grant.limits.allows_gtin(&gtin)
        {
            return Err(outside(&format!("GTIN {}", gtin.as_str()), &grant.limits));
        }
        note_target(args.id.trim().to_owned());
        let visibility = partners::Visibility::of(&grant.principal);
        let product = query_service::masterdata::product(self.db(), &visibility, &args.id)
            .await
            .map_err(query_error)?;
        let allowed = grant.limits.gtins.is_empty()
            || product
                .gtin
                .as_deref()
                .and_then(|g| Gtin::parse(g).ok())
                .is_some_and(|g| grant.limits.allows_gtin(&g));
        if !allowed {
            return Err(outside(
                &format!("product {:?}", args.id.trim()),
                &grant.limits,
            ));
        }
        note_rows(1);
        Ok(Json(product))
    }

    /// A trading partner as the home organisation registered it: legal name, role, status,
    /// GLNs and company prefixes (no certificates, licences or secrets). Look up by principal
    /// id or by one of its GLNs, e.g. a transferee GLN from a trace. A partner's own token can
    /// look up only itself.
    #[tool(title = "Partner info")]
    pub(super) async fn partner_info(
        &self,
        Parameters(args): Parameters<PartnerArgs>,
    ) -> Result<Json<PartnerOut>, String> {
        let grant = current_grant()?;
        let wanted = args.partner.trim();
        if wanted.is_empty() || wanted.len() > 200 {
            return Err("partner: a principal id or a 13-digit GLN".into());
        }
        note_target(wanted.to_owned());
        let mut conn = self
            .db()
            .pool()
            .acquire()
            .await
            .map_err(|e| storage(e.into()))?;
        let id = if wanted.len() == 13 && wanted.bytes().all(|b| b.is_ascii_digit()) {
            crate::storage::principals::id_by_gln(&mut conn, wanted)
                .await
                .map_err(storage)?
        } else {
            Some(wanted.to_owned())
        };
        let not_found = || format!("no trading partner {wanted:?} is registered");
        let id: partners::PrincipalId =
            id.ok_or_else(not_found)?.parse().map_err(|_| not_found())?;
        let principal = crate::storage::principals::find(&mut conn, &id)
            .await
            .map_err(storage)?
            .ok_or_else(not_found)?;
        let Some(record) = principal.kind.record() else {
            return Err(not_found());
        };
        if !grant.principal.is_home_organisation() && grant.principal.id != principal.id {
            // Indistinguishable from an unknown partner: a partner learns nothing of others.
            return Err(not_found());
        }
        note_rows(1);
        Ok(Json(PartnerOut {
            id: principal.id.as_str().to_owned(),
            legal_name: record.legal_name.clone(),
            role: record.role.as_str().to_owned(),
            status: principal.status.as_str().to_owned(),
            glns: record.glns.iter().map(|g| g.as_str().to_owned()).collect(),
            company_prefixes: record
                .company_prefixes
                .iter()
                .map(|p| p.as_str().to_owned())
                .collect(),
        }))
    }

    /// Investigations of suspect and illegitimate product, newest first: reference, reason,
    /// status, determination and the 24-hour FDA notification clock. Use it to find the case
    /// an incident belongs to, or which cases are overdue. Compliance staff tokens only.
    #[tool(title = "List investigations")]
    pub(super) async fn list_investigations(
        &self,
        Parameters(args): Parameters<ListInvestigationsArgs>,
    ) -> Result<Json<InvestigationsOut>, String> {
        let grant = current_grant()?;
        let status = match args.status.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(s) => Some(
                crate::services::investigations::Status::parse(s).ok_or_else(|| {
                    format!(
                        "status: {s:?} is not one of {}",
                        crate::services::investigations::Status::choices()
                    )
                })?,
            ),
        };
        let limit = match args.limit.unwrap_or(20) {
            n @ 1..=100 => i64::from(n),
            n => return Err(format!("limit: {n} is out of range; use 1 to 100")),
        };
        let mut cases = crate::services::investigations::list(self.db(), status, limit + 1)
            .await
            .map_err(|e| e.to_string())?;
        if let Some(only) = &grant.limits.investigation {
            cases.retain(|c| &c.reference == only);
        }
        let truncated = cases.len() > usize::try_from(limit).unwrap_or(usize::MAX);
        cases.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        if truncated {
            note_truncated();
        }
        note_rows(cases.len() as u64);
        Ok(Json(InvestigationsOut { cases, truncated }))
    }

    /// One investigation, whole: what it names, the ledger state of its packages, every step
    /// (quarantine, notes, determination, FDA notification, termination), the FDA clock and
    /// the verifications run for it. Compliance staff tokens only.
    #[tool(title = "Investigation")]
    pub(super) async fn investigation(
        &self,
        Parameters(args): Parameters<InvestigationArgs>,
    ) -> Result<Json<InvestigationOut>, String> {
        let grant = current_grant()?;
        let key = args.reference.trim();
        note_target(key.to_owned());
        let view = crate::services::investigations::show(self.db(), key)
            .await
            .map_err(|e| e.to_string())?;
        if let Some(only) = &grant.limits.investigation
            && &view.reference != only
        {
            return Err(outside(&format!("investigation {key:?}"), &grant.limits));
        }
        note_rows(1 + view.serials.len() as u64);
        let case = serde_json::to_value(&view).map_err(|e| e.to_string())?;
        Ok(Json(InvestigationOut { case }))
    }
}
