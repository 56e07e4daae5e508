//! Tracing: "where has this package been and who owned it?" (`../shared/reference/dscsa.md`
//! §2). REST (`POST /tracing/requests`), the CLI (`dscsa trace`) and the FDA records package
//! call [`trace`].
//!
//! The package is followed through its containers: a serial packed in a case on a pallet is
//! found in the events that name the case or the pallet while it was inside them, using the
//! aggregation intervals (child, parent, from, to) the capture keeps, so unpacking and
//! repacking move it from one container's history to the next. Each event that moves
//! ownership (an `owning_party` source and destination) is a custody hop, answered with the
//! ten statutory transaction-information elements (§581(26)): product name, strength and
//! dosage form, NDC, container size, number of containers, lot, transaction date, shipment
//! date, transferor and transferee names and addresses, plus the package identifier, the
//! business transactions and the transaction statement of the document the event came in.
//! Where our records end, the answer names the upstream or downstream party to ask next.
//!
//! Scope: the home organisation and regulators see every hop; a trading partner sees the hops
//! it is party to (the visibility condition is part of the SQL that reads the events).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use epcis::id::Gtin;
use serde::{Deserialize, Serialize};

use crate::config::OrganisationSettings;
use crate::storage::trace::{self as store, EventHead, Interval};
use crate::storage::{Db, StorageError};

/// How deep containers may nest (unit, case, pallet, ... ) before the walk stops.
const MAX_DEPTH: usize = 8;

/// What the requester wants back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ResponseType {
    /// Every custody hop with its transaction information.
    TransactionInformation,
    /// Every owner we know of, in order.
    AllKnownOwners,
    /// The last owner we know of.
    LastKnownOwner,
}

impl ResponseType {
    /// Accepts the PDG words with or without spaces (`TransactionInformation`,
    /// `Transaction Information`, `Last Known Owners`, ...).
    pub fn parse(s: &str) -> Option<Self> {
        match squash(s).as_str() {
            "transactioninformation" => Some(Self::TransactionInformation),
            "allknownowners" => Some(Self::AllKnownOwners),
            "lastknownowner" | "lastknownowners" => Some(Self::LastKnownOwner),
            _ => None,
        }
    }

    /// The canonical word.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TransactionInformation => "TransactionInformation",
            Self::AllKnownOwners => "AllKnownOwners",
            Self::LastKnownOwner => "LastKnownOwner",
        }
    }
}

/// Why the requester asks (the investigation reason attestation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Reason {
    /// Suspect product investigation.
    SuspectProductInvestigation,
    /// Illegitimate product investigation.
    IllegitimateProductInvestigation,
    /// Recalled product investigation.
    RecalledProductInvestigation,
    /// Compliance audit.
    ComplianceAudit,
    /// Health authority inspection.
    HealthAuthorityInspection,
}

impl Reason {
    /// Accepts the PDG words with or without spaces.
    pub fn parse(s: &str) -> Option<Self> {
        match squash(s).as_str() {
            "suspectproductinvestigation" => Some(Self::SuspectProductInvestigation),
            "illegitimateproductinvestigation" => Some(Self::IllegitimateProductInvestigation),
            "recalledproductinvestigation" => Some(Self::RecalledProductInvestigation),
            "complianceaudit" => Some(Self::ComplianceAudit),
            "healthauthorityinspection" => Some(Self::HealthAuthorityInspection),
            _ => None,
        }
    }

    /// The canonical word.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SuspectProductInvestigation => "SuspectProductInvestigation",
            Self::IllegitimateProductInvestigation => "IllegitimateProductInvestigation",
            Self::RecalledProductInvestigation => "RecalledProductInvestigation",
            Self::ComplianceAudit => "ComplianceAudit",
            Self::HealthAuthorityInspection => "HealthAuthorityInspection",
        }
    }
}

fn squash(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace() && *c != '_' && *c != '-')
        .flat_map(char::to_lowercase)
        .collect()
}

/// The product asked about: one package, or a lot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Product {
    /// GTIN + serial (a package).
    Serial {
        /// GTIN-14.
        gtin: Gtin,
        /// Serial number.
        serial: String,
    },
    /// GTIN + lot.
    Lot {
        /// GTIN-14.
        gtin: Gtin,
        /// Lot number.
        lot: String,
    },
}

impl Product {
    /// The GTIN.
    pub fn gtin(&self) -> &Gtin {
        match self {
            Self::Serial { gtin, .. } | Self::Lot { gtin, .. } => gtin,
        }
    }

    /// A product from an EPC (SGTIN URN or Digital Link with a serial).
    ///
    /// # Errors
    /// The text is not a serialised GTIN.
    pub fn from_epc(epc: &str) -> Result<Self, String> {
        let key = crate::stored::epc_key(epc);
        let dl = epcis::id::DigitalLink::parse(&key)
            .map_err(|e| format!("{epc:?} is not an SGTIN EPC or Digital Link: {e}"))?;
        match (dl.gtin(), dl.serial()) {
            (Some(gtin), Some(serial)) => Ok(Self::Serial {
                gtin: gtin.clone(),
                serial: serial.to_owned(),
            }),
            _ => Err(format!(
                "{epc:?} names no serialised package (GTIN + serial)"
            )),
        }
    }
}

/// Who may see which hops.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every hop (home organisation, regulators).
    Everything,
    /// The hops the partner is party to.
    Partner(partners::Visibility),
}

impl Scope {
    /// The scope of a principal.
    pub fn of(principal: &partners::Principal) -> Self {
        match principal.kind {
            partners::PrincipalKind::Partner(_) => {
                Self::Partner(partners::Visibility::of(principal))
            }
            _ => Self::Everything,
        }
    }

    fn visibility(&self) -> partners::Visibility {
        match self {
            Self::Everything => partners::Visibility::All,
            Self::Partner(v) => v.clone(),
        }
    }
}

/// A party with its name and address from master data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Party {
    /// GLN.
    pub gln: Option<String>,
    /// The identifier as sent (SGLN, PGLN, ...).
    pub id: String,
    /// Business name.
    pub name: Option<String>,
    /// Street address.
    pub street_address: Option<String>,
    /// City.
    pub city: Option<String>,
    /// State.
    pub state: Option<String>,
    /// Postal code.
    pub postal_code: Option<String>,
    /// Country.
    pub country_code: Option<String>,
}

/// A business transaction reference (PO, invoice, despatch advice).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BizTransaction {
    /// CBV type (`po`, `inv`, `desadv`, ...) as sent.
    #[serde(rename = "type")]
    pub kind: String,
    /// The reference.
    pub id: String,
}

/// A DSCSA transaction statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Statement {
    /// `affirmTransactionStatement`.
    pub affirm: Option<String>,
    /// `legalNotice`.
    pub legal_notice: Option<String>,
}

/// One change of ownership.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Hop {
    /// The event's eventID.
    pub event_id: String,
    /// Its CBV 2.0 hash ID.
    pub event_hash_id: String,
    /// bizStep.
    pub biz_step: Option<String>,
    /// (G) date of the transaction (the transfer event's time).
    pub transaction_date: String,
    /// (H) date of the shipment.
    pub shipment_date: String,
    /// Time of a matching receipt, when the receiving event also names the transfer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receipt_date: Option<String>,
    /// (I) the party ownership moved from.
    pub transferor: Party,
    /// (J) the party ownership moved to.
    pub transferee: Party,
    /// Ship-from location.
    pub ship_from: Option<Party>,
    /// Ship-to location.
    pub ship_to: Option<Party>,
    /// (E) number of containers: units of this product (and lot, when known) in the shipment.
    pub number_of_containers: i64,
    /// The containers the package travelled in on this hop (empty: named itself).
    pub via_containers: Vec<String>,
    /// PO, invoice, despatch advice.
    pub business_transactions: Vec<BizTransaction>,
    /// The transaction statement of the document the transfer came in.
    pub transaction_statement: Option<Statement>,
}

/// (A)-(F) of the transaction information: what the product is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProductInfo {
    /// GTIN-14.
    pub gtin: String,
    /// (A) proprietary or established name.
    pub name: Option<String>,
    /// (B) strength.
    pub strength: Option<String>,
    /// (B) dosage form.
    pub dosage_form: Option<String>,
    /// (C) NDC.
    pub ndc: Option<String>,
    /// (D) container size.
    pub container_size: Option<String>,
    /// Manufacturer.
    pub manufacturer: Option<String>,
    /// (F) lot.
    pub lot: Option<String>,
    /// Expiry.
    pub expiry: Option<String>,
    /// The package identifier (canonical Digital Link), for a serial trace.
    pub package_identifier: Option<String>,
    /// Serialised packages covered (1 for a serial, the lot's count for a lot).
    pub packages: usize,
}

/// An owner, for the `AllKnownOwners` and `LastKnownOwner` answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Owner {
    /// The party.
    pub party: Party,
    /// Since when (the hop's transaction date; none for the first known owner).
    pub since: Option<String>,
}

/// Where our records stop, and whom to ask beyond them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Boundary {
    /// `commissioning` (the start is in our records), `dispensed`, `destroyed`,
    /// `decommissioned`, `home organisation` (it is with us), `transfer` (it left or reached
    /// us through a transfer) or `unknown`.
    pub ends_with: String,
    /// The party to ask for what lies beyond, when there is one.
    pub ask_next: Option<Party>,
}

/// The answer to a tracing request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Trace {
    /// What was traced.
    pub product: ProductInfo,
    /// The custody hops visible to the requester, oldest first (`TransactionInformation`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hops: Option<Vec<Hop>>,
    /// Owners in order (`AllKnownOwners`) or the last one (`LastKnownOwner`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owners: Option<Vec<Owner>>,
    /// Where the records begin (upstream).
    pub upstream: Boundary,
    /// Where they end (downstream).
    pub downstream: Boundary,
    /// Containers the package was in, with their windows (serial traces).
    pub containers: Vec<Containment>,
    /// Events followed (naming the package or its containers while it was inside).
    pub events_followed: usize,
}

/// The package was inside `container` from `from` until `to`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Containment {
    /// Container EPC key.
    pub container: String,
    /// From (RFC 3339).
    pub from: String,
    /// Until (RFC 3339), none while still inside.
    pub to: Option<String>,
}

/// A followed event: the event, the containers it named (via), the traced packages it named.
type Followed = (EventHead, BTreeSet<String>, BTreeSet<String>);

/// A window during which an EPC's events apply to the traced package.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Window {
    from: i64,
    to: Option<i64>,
}

impl Window {
    const ALWAYS: Self = Self {
        from: i64::MIN,
        to: None,
    };

    fn contains(self, t: i64) -> bool {
        self.from <= t && self.to.is_none_or(|to| t < to)
    }

    fn intersect(self, i: &Interval) -> Option<Self> {
        let from = self.from.max(i.from_time);
        let to = match (self.to, i.to_time) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        (to.is_none_or(|to| from < to)).then_some(Self { from, to })
    }
}

/// Traces `product` for a requester in `scope`, with the answer shaped by `response_type`.
///
/// # Errors
/// Storage failures; an unknown product is not an error (the answer has no hops and says our
/// records do not hold it).
pub async fn trace(
    db: &Db,
    organisation: &OrganisationSettings,
    scope: &Scope,
    product: &Product,
    response_type: ResponseType,
) -> Result<Trace, StorageError> {
    Ok(run(db, organisation, scope, product, response_type)
        .await?
        .trace)
}

/// A `TransactionInformation` trace with what an FDA records package needs beyond the
/// answer: the followed events and, per hop, the traced product's packages in the shipment.
#[derive(Debug, Clone)]
pub struct Detailed {
    /// The answer (with hops).
    pub trace: Trace,
    /// Row ids of the followed events (the package's and its containers' while it was
    /// inside), in time order.
    pub event_ids: Vec<i64>,
    /// Per hop (same order as `trace.hops`), the keys of the traced packages the shipment
    /// held: named by the event or inside the containers it named, at its time.
    pub hop_packages: Vec<Vec<String>>,
    /// Every package the trace started from (the serial, or the lot's serials).
    pub packages: Vec<String>,
}

/// [`trace`] for an FDA records package: the `TransactionInformation` answer, the ids of the
/// events it followed and the package identifiers of each hop.
///
/// # Errors
/// Storage failures.
pub async fn trace_detailed(
    db: &Db,
    organisation: &OrganisationSettings,
    scope: &Scope,
    product: &Product,
) -> Result<Detailed, StorageError> {
    run(
        db,
        organisation,
        scope,
        product,
        ResponseType::TransactionInformation,
    )
    .await
}

async fn run(
    db: &Db,
    organisation: &OrganisationSettings,
    scope: &Scope,
    product: &Product,
    response_type: ResponseType,
) -> Result<Detailed, StorageError> {
    let backend = db.backend();
    let mut conn = db.pool().acquire().await?;
    let conn = &mut *conn;
    let gtin = product.gtin().as_str();
    let (start, mut info) = match product {
        Product::Serial { gtin: g, serial } => {
            let key = super::verify::sgtin_key(g, serial);
            let ledger = store::commissioning(conn, &key).await?;
            let known = usize::from(ledger.is_some());
            let (lot, expiry) = ledger.map(|(_, l, e)| (l, e)).unwrap_or_default();
            let info = ProductInfo {
                lot,
                expiry,
                package_identifier: Some(key.clone()),
                packages: known,
                ..ProductInfo::default()
            };
            (vec![key], info)
        }
        Product::Lot { lot, .. } => {
            let serials = store::lot_serials(conn, gtin, lot).await?;
            let info = ProductInfo {
                lot: Some(lot.clone()),
                packages: serials.len(),
                ..ProductInfo::default()
            };
            (serials, info)
        }
    };
    info.gtin = gtin.to_owned();
    if let Some(p) = crate::storage::masterdata::product(conn, Some(gtin), None).await? {
        info.name = p.name;
        info.strength = p.strength;
        info.dosage_form = p.dosage_form;
        info.ndc = p.ndc;
        info.container_size = p.net_content;
        info.manufacturer = p.manufacturer;
    }

    // Containers, level by level: each interval of a child, cut to the child's own window.
    let mut windows: HashMap<String, BTreeSet<Window>> = start
        .iter()
        .map(|k| (k.clone(), BTreeSet::from([Window::ALWAYS])))
        .collect();
    let mut frontier: Vec<String> = start.clone();
    let mut containers = Vec::new();
    // Every interval read, by parent: what was inside each container when (for the packages
    // of each hop, computed in memory rather than one statement per hop).
    let mut inside: HashMap<String, Vec<Interval>> = HashMap::new();
    for _ in 0..MAX_DEPTH {
        if frontier.is_empty() {
            break;
        }
        let json = serde_json::to_string(&frontier).unwrap_or_else(|_| "[]".into());
        let intervals = store::intervals_of(conn, backend, &json).await?;
        let mut next = BTreeSet::new();
        for i in &intervals {
            let child_windows: Vec<Window> = windows
                .get(&i.child)
                .map(|w| w.iter().copied().collect())
                .unwrap_or_default();
            for w in child_windows {
                if let Some(cut) = w.intersect(i)
                    && windows.entry(i.parent.clone()).or_default().insert(cut)
                {
                    next.insert(i.parent.clone());
                    if matches!(product, Product::Serial { .. }) {
                        containers.push(Containment {
                            container: i.parent.clone(),
                            from: crate::stored::time_text(cut.from),
                            to: cut.to.map(crate::stored::time_text),
                        });
                    }
                }
            }
        }
        for i in intervals {
            inside.entry(i.parent.clone()).or_default().push(i);
        }
        frontier = next.into_iter().collect();
    }
    let start_set: HashSet<&String> = start.iter().collect();

    // The events of the package and of its containers while it was inside them.
    let all: Vec<&String> = windows.keys().collect();
    let json = serde_json::to_string(&all).unwrap_or_else(|_| "[]".into());
    let named = store::naming(conn, backend, &json).await?;
    let mut candidates: Vec<i64> = named.iter().map(|(_, id)| *id).collect();
    candidates.sort_unstable();
    candidates.dedup();
    let heads = store::heads(conn, &candidates, &scope.visibility()).await?;
    let mut followed: BTreeMap<(i64, i64), Followed> = BTreeMap::new();
    for (epc, id) in named {
        // Not in `heads`: an event the caller may not see.
        let Some(e) = heads.get(&id) else { continue };
        let applies = windows
            .get(&epc)
            .is_some_and(|ws| ws.iter().any(|w| w.contains(e.event_time)));
        if !applies {
            continue;
        }
        let via = !start_set.contains(&epc);
        let entry = followed
            .entry((e.event_time, e.id))
            .or_insert_with(|| (e.clone(), BTreeSet::new(), BTreeSet::new()));
        if via {
            entry.1.insert(epc);
        } else {
            entry.2.insert(epc);
        }
    }

    let ids: Vec<i64> = followed.values().map(|(e, _, _)| e.id).collect();
    let all_parties = store::parties(conn, &ids).await?;
    // Each party is looked up once per trace: the transferee of one hop is the transferor of
    // the next.
    let mut known: HashMap<String, Party> = HashMap::new();
    let mut all_txs = store::biz_transactions(conn, &ids).await?;
    let mut statements: HashMap<i64, Option<Statement>> = HashMap::new();
    let mut hops: Vec<Hop> = Vec::new();
    let mut hop_packages: Vec<Vec<String>> = Vec::new();
    let mut hop_index: HashMap<(String, String, Vec<BizTransaction>), usize> = HashMap::new();
    let mut last_state: Option<String> = None;
    let mut first_is_commissioning = false;
    for (index, (event, via, direct)) in followed.values().enumerate() {
        let step = event.biz_step.as_deref().unwrap_or_default();
        if index == 0 && step.ends_with("commissioning") && via.is_empty() {
            first_is_commissioning = true;
        }
        for terminal in ["dispensing", "destroying", "decommissioning"] {
            if step.ends_with(terminal) && via.is_empty() {
                last_state = Some(terminal.to_owned());
            }
        }
        let parties = all_parties.get(&event.id).map_or(&[][..], Vec::as_slice);
        let pick = |direction: &str, kind: &str| {
            parties
                .iter()
                .find(|p| p.direction == direction && p.kind.ends_with(kind))
        };
        let (Some(from), Some(to)) = (
            pick("source", "owning_party"),
            pick("destination", "owning_party"),
        ) else {
            continue;
        };
        let transferor = party(conn, &mut known, from.gln.as_deref(), &from.id).await?;
        let transferee = party(conn, &mut known, to.gln.as_deref(), &to.id).await?;
        let mut txs: Vec<BizTransaction> = all_txs
            .remove(&event.id)
            .unwrap_or_default()
            .into_iter()
            .map(|(kind, id)| BizTransaction { kind, id })
            .collect();
        txs.sort_by(|a, b| (&a.kind, &a.id).cmp(&(&b.kind, &b.id)));
        let when = crate::stored::time_text(event.event_time);
        // A receiving event that repeats the transfer (same parties, same transactions) is
        // the receipt of the hop already listed, not a second hop.
        // Looked up by key, not by scanning the hops: a lot has thousands of them.
        let key = (transferor.id.clone(), transferee.id.clone(), txs.clone());
        if let Some(hop) = hop_index.get(&key).and_then(|&i| hops.get_mut(i)) {
            hop.receipt_date.get_or_insert(when);
            continue;
        }
        hop_index.insert(key, hops.len());
        let ship_from = match pick("source", "location") {
            Some(p) => Some(party(conn, &mut known, p.gln.as_deref(), &p.id).await?),
            None => None,
        };
        let ship_to = match pick("destination", "location") {
            Some(p) => Some(party(conn, &mut known, p.gln.as_deref(), &p.id).await?),
            None => None,
        };
        let packages = packages_inside(&inside, &start_set, direct, via, event.event_time);
        let count = match product {
            // A serial's hop counts every unit of its product and lot in the shipment, not
            // only the traced one: one statement, over all aggregation intervals.
            Product::Serial { .. } => {
                let shipped: Vec<&String> = if via.is_empty() {
                    start
                        .iter()
                        .filter(|k| windows.contains_key(*k))
                        .take(1)
                        .collect()
                } else {
                    via.iter().collect()
                };
                let shipped_json = serde_json::to_string(&shipped).unwrap_or_else(|_| "[]".into());
                store::units_inside(
                    conn,
                    backend,
                    &shipped_json,
                    event.event_time,
                    gtin,
                    info.lot.as_deref(),
                )
                .await?
            }
            // A lot's hop: the lot's units in the shipment, which are the traced packages
            // found in memory (every interval below the shipped containers was read above).
            // WHY not a statement per hop: a lot shipped case by case has thousands of hops.
            Product::Lot { .. } => i64::try_from(packages.len()).unwrap_or(i64::MAX),
        };
        // Hops of one document share its statement: read it once.
        let statement = match statements.get(&event.document_id) {
            Some(s) => s.clone(),
            None => {
                let s = store::statement(conn, event.document_id).await?.map(
                    |(affirm, legal_notice)| Statement {
                        affirm,
                        legal_notice,
                    },
                );
                statements.insert(event.document_id, s.clone());
                s
            }
        };
        hops.push(Hop {
            event_id: event.event_id.clone(),
            event_hash_id: event.hash_id.clone(),
            biz_step: event.biz_step.clone(),
            transaction_date: when.clone(),
            shipment_date: when,
            receipt_date: None,
            transferor,
            transferee,
            ship_from,
            ship_to,
            number_of_containers: count,
            via_containers: via.iter().cloned().collect(),
            business_transactions: txs,
            transaction_statement: statement,
        });
        hop_packages.push(packages);
    }

    let upstream = if first_is_commissioning {
        Boundary {
            ends_with: "commissioning".into(),
            ask_next: None,
        }
    } else if let Some(first) = hops.first() {
        Boundary {
            ends_with: "transfer".into(),
            ask_next: Some(first.transferor.clone()),
        }
    } else {
        Boundary {
            ends_with: "unknown".into(),
            ask_next: None,
        }
    };
    let home = organisation.gln.as_deref();
    let downstream = match (&last_state, hops.last()) {
        (Some(state), _) => Boundary {
            ends_with: state
                .replace("ing", "ed")
                .replace("dispenseded", "dispensed"),
            ask_next: None,
        },
        (None, Some(last)) if last.transferee.gln.as_deref() == home && home.is_some() => {
            Boundary {
                ends_with: "home organisation".into(),
                ask_next: None,
            }
        }
        (None, Some(last)) => Boundary {
            ends_with: "transfer".into(),
            ask_next: Some(last.transferee.clone()),
        },
        (None, None) => Boundary {
            ends_with: "unknown".into(),
            ask_next: None,
        },
    };
    let owners = || -> Vec<Owner> {
        let mut owners: Vec<Owner> = hops
            .first()
            .map(|h| Owner {
                party: h.transferor.clone(),
                since: None,
            })
            .into_iter()
            .collect();
        owners.extend(hops.iter().map(|h| Owner {
            party: h.transferee.clone(),
            since: Some(h.transaction_date.clone()),
        }));
        owners
    };
    let (hops_out, owners_out) = match response_type {
        ResponseType::TransactionInformation => (Some(hops.clone()), None),
        ResponseType::AllKnownOwners => (None, Some(owners())),
        ResponseType::LastKnownOwner => (
            None,
            Some(owners().into_iter().last().into_iter().collect()),
        ),
    };
    Ok(Detailed {
        trace: Trace {
            product: info,
            hops: hops_out,
            owners: owners_out,
            upstream,
            downstream,
            containers,
            events_followed: followed.len(),
        },
        event_ids: ids,
        hop_packages,
        packages: start,
    })
}

/// The traced packages a shipment held at `at`: those the event named, and those inside the
/// containers it named, following the intervals down (at most [`MAX_DEPTH`] levels).
fn packages_inside(
    inside: &HashMap<String, Vec<Interval>>,
    start: &HashSet<&String>,
    direct: &BTreeSet<String>,
    via: &BTreeSet<String>,
    at: i64,
) -> Vec<String> {
    let mut found: BTreeSet<String> = direct.clone();
    let mut level: Vec<&String> = via.iter().collect();
    for _ in 0..MAX_DEPTH {
        let mut next = Vec::new();
        for parent in level {
            for i in inside.get(parent).map_or(&[][..], Vec::as_slice) {
                let during = i.from_time <= at && i.to_time.is_none_or(|to| at < to);
                if !during {
                    continue;
                }
                if start.contains(&i.child) {
                    found.insert(i.child.clone());
                } else {
                    next.push(&i.child);
                }
            }
        }
        if next.is_empty() {
            break;
        }
        level = next;
    }
    found.into_iter().collect()
}

/// A party's name and address: the latest location master data for its GLN, else the
/// registered partner with that GLN.
async fn party(
    conn: &mut sqlx::AnyConnection,
    known: &mut HashMap<String, Party>,
    gln: Option<&str>,
    id: &str,
) -> Result<Party, StorageError> {
    if let Some(p) = known.get(id) {
        return Ok(p.clone());
    }
    let p = lookup_party(conn, gln, id).await?;
    known.insert(id.to_owned(), p.clone());
    Ok(p)
}

/// [`party`] without the per-trace memory.
async fn lookup_party(
    conn: &mut sqlx::AnyConnection,
    gln: Option<&str>,
    id: &str,
) -> Result<Party, StorageError> {
    let mut p = Party {
        gln: gln.map(str::to_owned),
        id: id.to_owned(),
        name: None,
        street_address: None,
        city: None,
        state: None,
        postal_code: None,
        country_code: None,
    };
    let Some(gln) = gln else { return Ok(p) };
    if let Some(row) = crate::storage::masterdata::location(conn, gln).await? {
        let attributes: Vec<serde_json::Value> =
            serde_json::from_str(&row.attributes).unwrap_or_default();
        let get = |name: &str| {
            attributes.iter().find_map(|a| {
                let id = a["id"].as_str()?;
                (id.rsplit(['#', ':', '/']).next() == Some(name))
                    .then(|| a["value"].as_str().map(str::to_owned))
                    .flatten()
            })
        };
        p.name = row.name;
        p.street_address = get("streetAddressOne");
        p.city = get("city");
        p.state = get("state");
        p.postal_code = get("postalCode");
        p.country_code = get("countryCode");
    }
    if p.name.is_none() {
        p.name = crate::storage::principals::name_by_gln(conn, gln).await?;
    }
    Ok(p)
}

/// A tracing request in the PDG TI-request shape (`tiRequestSet`). Field names beyond those
/// the reference confirms (`tracingSchemaSetVersion`, `tiRequestAuditReferences` with
/// `tiRequestID`, `tiRequestTimestamp`, `tiRequesterInvestigationID`, and
/// `tiRequestingPartyInformation`) follow the PDG-aligned field list; README documents them.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TiRequestDocument {
    /// The request.
    pub ti_request_set: TiRequest,
}

/// The body of [`TiRequestDocument`].
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TiRequest {
    /// Schema set version (e.g. `2.0.0`).
    #[serde(default)]
    pub tracing_schema_set_version: Option<String>,
    /// Request id and time.
    pub ti_request_audit_references: AuditReferences,
    /// Who asks.
    pub ti_requesting_party_information: RequestingParty,
    /// Investigation reason attestation.
    pub investigation_reason_attestation: String,
    /// Free-text circumstances.
    #[serde(default)]
    pub investigation_circumstances: Option<String>,
    /// `TransactionInformation` | `AllKnownOwners` | `LastKnownOwner`.
    pub response_type_requested: String,
    /// GTIN + serial, or GTIN + lot.
    pub product_identifier: ProductIdentifier,
    /// A fire drill.
    #[serde(default)]
    pub test: bool,
}

/// `tiRequestAuditReferences`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditReferences {
    /// Request UUID.
    #[serde(rename = "tiRequestID")]
    pub ti_request_id: String,
    /// When the requester sent it (RFC 3339).
    pub ti_request_timestamp: String,
    /// The requester's investigation id.
    #[serde(default, rename = "tiRequesterInvestigationID")]
    pub ti_requester_investigation_id: Option<String>,
}

/// `tiRequestingPartyInformation`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestingParty {
    /// Department.
    #[serde(default)]
    pub department_name: Option<String>,
    /// How to answer.
    #[serde(default)]
    pub preferred_contact_method: Option<String>,
    /// The requester's GLN; it must be one of the presenting partner's.
    #[serde(default)]
    pub gln: Option<String>,
    /// Form FDA 3911 incident number, if any.
    #[serde(default)]
    pub pre_existing_incident_number: Option<String>,
}

/// `productIdentifier`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductIdentifier {
    /// GTIN-14.
    pub gtin: String,
    /// Serial number.
    #[serde(default)]
    pub serial_number: Option<String>,
    /// Lot number.
    #[serde(default)]
    pub lot_number: Option<String>,
}

/// A request checked field by field.
#[derive(Debug, Clone)]
pub struct CheckedRequest {
    /// The request id.
    pub request_id: String,
    /// When the requester sent it.
    pub requested_at: String,
    /// The requester's GLN.
    pub requester_gln: Option<String>,
    /// Reason.
    pub reason: Reason,
    /// Response type.
    pub response_type: ResponseType,
    /// What to trace.
    pub product: Product,
    /// Fire drill.
    pub test: bool,
}

/// Checks a request document; the error names the field (a JSON pointer).
///
/// # Errors
/// A message naming the field and what is wrong.
pub fn check(body: &[u8]) -> Result<CheckedRequest, String> {
    let doc: TiRequestDocument =
        serde_json::from_slice(body).map_err(|e| format!("tracing request: {e}"))?;
    let r = doc.ti_request_set;
    let field = |name: &str, msg: String| format!("/tiRequestSet/{name}: {msg}");
    uuid::Uuid::parse_str(&r.ti_request_audit_references.ti_request_id).map_err(|e| {
        field(
            "tiRequestAuditReferences/tiRequestID",
            format!("not a UUID: {e}"),
        )
    })?;
    crate::stored::micros(&r.ti_request_audit_references.ti_request_timestamp)
        .map_err(|e| field("tiRequestAuditReferences/tiRequestTimestamp", e))?;
    let reason = Reason::parse(&r.investigation_reason_attestation).ok_or_else(|| {
        field(
            "investigationReasonAttestation",
            format!(
                "{:?}: expected Suspect Product Investigation, Illegitimate Product Investigation, \
                 Recalled Product Investigation, Compliance Audit or Health Authority Inspection",
                r.investigation_reason_attestation
            ),
        )
    })?;
    let response_type = ResponseType::parse(&r.response_type_requested).ok_or_else(|| {
        field(
            "responseTypeRequested",
            format!(
                "{:?}: expected TransactionInformation, AllKnownOwners or LastKnownOwner",
                r.response_type_requested
            ),
        )
    })?;
    let gtin = Gtin::parse(&r.product_identifier.gtin)
        .map_err(|e| field("productIdentifier/gtin", e.to_string()))?;
    let product = match (
        r.product_identifier.serial_number,
        r.product_identifier.lot_number,
    ) {
        (Some(serial), _) => {
            epcis::id::charset::check_cset82("serial", &serial)
                .map_err(|e| field("productIdentifier/serialNumber", e.to_string()))?;
            Product::Serial { gtin, serial }
        }
        (None, Some(lot)) => {
            epcis::id::charset::check_cset82("lot", &lot)
                .map_err(|e| field("productIdentifier/lotNumber", e.to_string()))?;
            Product::Lot { gtin, lot }
        }
        (None, None) => {
            return Err(field(
                "productIdentifier",
                "give serialNumber (a package) or lotNumber (a lot)".into(),
            ));
        }
    };
    let requester_gln = r
        .ti_requesting_party_information
        .gln
        .map(|g| {
            g.parse::<partners::Gln>()
                .map(|g| g.to_string())
                .map_err(|e| field("tiRequestingPartyInformation/gln", e.to_string()))
        })
        .transpose()?;
    Ok(CheckedRequest {
        request_id: r.ti_request_audit_references.ti_request_id,
        requested_at: r.ti_request_audit_references.ti_request_timestamp,
        requester_gln,
        reason,
        response_type,
        product,
        test: r.test,
    })
}

/// Answers a checked request and records it (request, answer digest, timestamps) in
/// `trace_requests`. Returns the answer document as sent.
///
/// # Errors
/// Storage.
pub async fn answer(
    db: &Db,
    organisation: &OrganisationSettings,
    scope: &Scope,
    requester: &super::verify::Requester,
    request: &CheckedRequest,
    raw_request: &str,
    received_at: String,
) -> Result<serde_json::Value, StorageError> {
    let trace = trace(
        db,
        organisation,
        scope,
        &request.product,
        request.response_type,
    )
    .await?;
    let answered_at = crate::storage::now_text();
    let (serial, lot) = match &request.product {
        Product::Serial { serial, .. } => (Some(serial.as_str()), trace.product.lot.as_deref()),
        Product::Lot { lot, .. } => (None, Some(lot.as_str())),
    };
    let hops = trace.hops.as_ref().map_or(0, Vec::len);
    let body = serde_json::json!({
        "tiResponse": {
            "tiRequestID": request.request_id,
            "tiRequestTimestamp": request.requested_at,
            "receivedAt": received_at,
            "answeredAt": answered_at,
            "responderGLN": organisation.gln,
            "responderName": organisation.name,
            "responseType": request.response_type.as_str(),
            "investigationReasonAttestation": request.reason.as_str(),
            "test": request.test,
            "trace": trace,
        }
    });
    let digest = {
        use sha2::Digest as _;
        crate::audit::record::hex(&sha2::Sha256::digest(body.to_string().as_bytes()))
    };
    let mut conn = db.pool().acquire().await?;
    store::record_request(
        &mut conn,
        &store::RequestRow {
            request_id: &request.request_id,
            requested_at: Some(&request.requested_at),
            received_at: &received_at,
            answered_at: &answered_at,
            requester: &requester.id,
            channel: requester.channel,
            response_type: request.response_type.as_str(),
            reason: request.reason.as_str(),
            gtin: request.product.gtin().as_str(),
            serial,
            lot,
            hops: i64::try_from(hops).unwrap_or(i64::MAX),
            request: raw_request,
            answer_sha256: &digest,
        },
    )
    .await?;
    Ok(body)
}
