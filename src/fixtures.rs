//! `dscsa fixtures generate`: a deterministic, realistic DSCSA supply chain between the demo
//! principals, as the EPCIS 1.2 XML documents each party would exchange.
//!
//! The manufacturer (`mfg-acme`) commissions serials in two lots, packs them into cases and
//! pallets and ships pallets to the two wholesalers, with PO and despatch advice, the DSCSA
//! transaction statement and master data (product with NDC, locations with addresses) in the
//! header. Each wholesaler receives and unpacks its pallets and ships cases to the three
//! pharmacies, which receive, unpack and dispense. One pharmacy returns a saleable unit; the
//! manufacturer recalls the second lot; `manifest.json` names a serial to treat as suspect and
//! sample serials in each state, for tests and for `serve --demo`. The same options give the
//! same bytes.

use std::path::Path;

use epcis::model::{
    Action, BizTransaction, Document, Element, Event, EventKind, GS1USHC_NS, Header,
    MasterDataAttribute, QuantityElement, Sbdh, SbdhParty, SourceDest, TransactionStatement,
    Vocabulary, VocabularyElement,
};
use epcis::{EpcisVersion, encode};

const CBVMDA: &str = "urn:epcglobal:cbv:mda";
const MDA_ATTR: &str = "urn:epcglobal:cbv:mda#";
const GCP: &str = "0614141";
const ITEM_REF: &str = "010001";
const NDC: &str = "0614-1100-01";
const LOTS: [(&str, &str); 2] = [("LOT2605A", "2028-06-30"), ("LOT2605R", "2028-06-30")];
const WHOLESALERS: [&str; 2] = ["whs-east", "whs-west"];
const PHARMACIES: [&str; 3] = ["rx-main-street", "rx-riverside", "rx-hillcrest"];

/// What to generate.
#[derive(Debug, Clone)]
pub struct Options {
    /// Saleable units (serialised packages) to commission.
    pub units: u64,
    /// Seed of the serial numbers.
    pub seed: u64,
    /// Units per case.
    pub units_per_case: u64,
    /// Cases per pallet.
    pub cases_per_pallet: u64,
}

/// The generated documents (file name, EPCIS 1.2 XML) and the manifest.
#[derive(Debug)]
pub struct Generated {
    /// Documents in the order they would be captured.
    pub documents: Vec<(String, String)>,
    /// What is where: parties, product, lots, documents, sample serials.
    pub manifest: serde_json::Value,
}

/// SplitMix64: small, fast and deterministic; the serials need no more. Public so that
/// benchmarks and property tests draw their samples the same way.
#[derive(Debug, Clone)]
pub struct Rng(pub u64);

impl Rng {
    /// The next number.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number below `n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next_u64() % (n.max(1) as u64)).unwrap_or(0)
    }

    /// A 10-character serial from `[0-9A-Z]` (within GS1 CSET 82).
    fn serial(&mut self) -> String {
        const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
        let mut v = self.next_u64();
        (0..10)
            .map(|_| {
                let c = ALPHABET.get((v % 36) as usize).copied().unwrap_or(b'0');
                v /= 36;
                char::from(c)
            })
            .collect()
    }
}

fn gln_of(party: &str, site: bool) -> String {
    crate::demo::party(party)
        .and_then(|(_, glns)| glns.get(usize::from(site)).or_else(|| glns.first()))
        .map_or_else(String::new, |g| (*g).to_owned())
}

/// SGLN URN of a 13-digit GLN whose company prefix has 7 digits (all demo GLNs do).
fn sgln(gln: &str) -> String {
    format!(
        "urn:epc:id:sgln:{}.{}.0",
        gln.get(..7).unwrap_or_default(),
        gln.get(7..12).unwrap_or_default()
    )
}

fn sgtin(serial: &str) -> String {
    format!("urn:epc:id:sgtin:{GCP}.{ITEM_REF}.{serial}")
}

fn sscc(n: u64) -> String {
    format!("urn:epc:id:sscc:{GCP}.0{n:09}")
}

fn gtin() -> String {
    let body = format!(
        "{}{GCP}{}",
        ITEM_REF.get(..1).unwrap_or("0"),
        ITEM_REF.get(1..).unwrap_or("")
    );
    let check = epcis::id::check_digit::check_digit(&body).unwrap_or(0);
    format!("{body}{check}")
}

/// A clock that moves forward a minute per event, from 2026-03-02 08:00 Eastern.
struct Clock(u64);

impl Clock {
    /// The next event time: one minute later, 600 minutes a day from 08:00, days from
    /// 2026-03-02 on (into April and beyond for large chains).
    fn tick(&mut self) -> String {
        self.0 += 1;
        let (days, minute) = (self.0 / 600, self.0 % 600);
        let start = time::macros::date!(2026 - 03 - 02);
        let date = i64::try_from(days)
            .ok()
            .and_then(|d| start.checked_add(time::Duration::days(d)))
            .unwrap_or(time::Date::MAX);
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:00.000-05:00",
            date.year(),
            u8::from(date.month()),
            date.day(),
            8 + minute / 60,
            minute % 60
        )
    }
}

fn event(kind: EventKind, clock: &mut Clock, step: &str, disp: &str, at: &str) -> Event {
    let mut e = Event::new(kind, clock.tick(), "-05:00".into());
    e.action = Some(Action::Observe);
    e.biz_step = Some(format!("urn:epcglobal:cbv:bizstep:{step}"));
    e.disposition = Some(format!("urn:epcglobal:cbv:disp:{disp}"));
    let loc = epcis::model::Location {
        id: sgln(at),
        extensions: Vec::new(),
    };
    e.read_point = Some(loc.clone());
    e.biz_location = Some(loc);
    e
}

/// An aggregation event: `children` packed into (ADD) or unpacked from (DELETE) `parent`.
fn aggregation(
    clock: &mut Clock,
    (step, disp, at): (&str, &str, &str),
    action: Action,
    parent: &str,
    children: Vec<String>,
) -> Event {
    let mut e = event(EventKind::Aggregation, clock, step, disp, at);
    e.action = Some(action);
    e.parent_id = Some(parent.to_owned());
    e.child_epcs = children;
    e
}

fn transfer(e: &mut Event, from: &str, to: &str, po: &str) {
    let (from_party, from_site, to_party, to_site) = (
        gln_of(from, false),
        gln_of(from, true),
        gln_of(to, false),
        gln_of(to, true),
    );
    let sd = |kind: &str, gln: &str| SourceDest {
        kind: format!("urn:epcglobal:cbv:sdt:{kind}"),
        id: sgln(gln),
    };
    e.biz_transactions = vec![
        BizTransaction {
            kind: Some("urn:epcglobal:cbv:btt:po".into()),
            id: format!("urn:epcglobal:cbv:bt:{to_party}:{po}"),
        },
        BizTransaction {
            kind: Some("urn:epcglobal:cbv:btt:desadv".into()),
            id: format!("urn:epcglobal:cbv:bt:{from_party}:DA-{po}"),
        },
    ];
    e.sources = vec![sd("owning_party", &from_party), sd("location", &from_site)];
    e.destinations = vec![sd("owning_party", &to_party), sd("location", &to_site)];
    e.extensions = vec![Element::leaf(
        GS1USHC_NS,
        Some("gs1ushc"),
        "dropShipment",
        "false",
    )];
}

fn attr(name: &str, value: &str) -> MasterDataAttribute {
    MasterDataAttribute {
        id: format!("{MDA_ATTR}{name}"),
        value: value.to_owned(),
        children: Vec::new(),
    }
}

/// Master data, SBDH and the DSCSA statement for a transfer from `from` to `to`.
fn header(from: &str, to: &str) -> Header {
    let product = VocabularyElement {
        id: format!("urn:epc:idpat:sgtin:{GCP}.{ITEM_REF}.*"),
        attributes: vec![
            attr("additionalTradeItemIdentification", NDC),
            attr("additionalTradeItemIdentificationTypeCode", "US_FDA_NDC"),
            attr("regulatedProductName", "Amoxidemo"),
            attr(
                "manufacturerOfTradeItemPartyName",
                "Acme Pharmaceuticals Inc.",
            ),
            attr("dosageFormType", "CAPSULE"),
            attr("strengthDescription", "500 mg"),
            attr("netContentDescription", "30 capsules"),
        ],
        children: Vec::new(),
    };
    let location = |party: &str| {
        let (name, glns) = crate::demo::party(party).unwrap_or(("", &[]));
        glns.iter()
            .map(|g| VocabularyElement {
                id: sgln(g),
                attributes: vec![
                    attr("name", name),
                    attr("streetAddressOne", "1 Demo Way"),
                    attr("city", "Springfield"),
                    attr("state", "NJ"),
                    attr("postalCode", "07081"),
                    attr("countryCode", "US"),
                ],
                children: Vec::new(),
            })
            .collect::<Vec<_>>()
    };
    let mut locations = location(from);
    locations.extend(location(to));
    let party = |id: &str| SbdhParty {
        identifier: sgln(&gln_of(id, false)),
        authority: Some("SGLN".into()),
        extra: Vec::new(),
    };
    Header {
        sbdh: Some(Sbdh {
            header_version: Some("1.0".into()),
            senders: vec![party(from)],
            receivers: vec![party(to)],
            standard: Some("EPCglobal".into()),
            type_version: Some("1.0".into()),
            instance_identifier: Some(format!("{from}-{to}")),
            document_type: Some("Events".into()),
            creation_date_and_time: Some("2026-03-02T08:00:00Z".into()),
            extra: Vec::new(),
        }),
        master_data: vec![
            Vocabulary {
                kind: "urn:epcglobal:epcis:vtype:EPCClass".into(),
                elements: vec![product],
            },
            Vocabulary {
                kind: "urn:epcglobal:epcis:vtype:Location".into(),
                elements: locations,
            },
        ],
        transaction_statement: Some(TransactionStatement {
            affirm: Some("true".into()),
            legal_notice: Some(
                "Seller has complied with each applicable subsection of FDCA Sec. 581(27)(A)-(G)."
                    .into(),
            ),
            extra: Vec::new(),
        }),
        extensions: Vec::new(),
    }
}

fn document(header: Header, events: Vec<Event>) -> String {
    let doc = Document {
        schema_version: "1.2".into(),
        creation_date: Some("2026-03-02T08:00:00Z".into()),
        header,
        events,
        ..Document::default()
    };
    encode::to_xml(&doc, EpcisVersion::V1_2)
}

/// Generates the supply chain.
pub fn generate(o: &Options) -> Generated {
    let mut rng = Rng(o.seed);
    let mut clock = Clock(0);
    let units_per_case = o.units_per_case.max(1);
    let cases_per_pallet = o.cases_per_pallet.max(1);
    let serials: Vec<String> = (0..o.units.max(1)).map(|_| rng.serial()).collect();
    let recalled_from = serials.len() - serials.len() / 10;
    let mfg_site = gln_of("mfg-acme", true);
    let mut docs = Vec::new();
    let mut mfg = Vec::new();

    // Commissioning, 100 units per event, each lot separately.
    for (lot_index, range) in [(0, 0..recalled_from), (1, recalled_from..serials.len())] {
        let (lot, expiry) = LOTS[lot_index];
        for chunk in serials.get(range).unwrap_or_default().chunks(100) {
            let mut e = event(
                EventKind::Object,
                &mut clock,
                "commissioning",
                "active",
                &mfg_site,
            );
            e.action = Some(Action::Add);
            e.epc_list = chunk.iter().map(|s| sgtin(s)).collect();
            e.ilmd = Some(vec![
                Element::leaf(CBVMDA, Some("cbvmda"), "lotNumber", lot),
                Element::leaf(CBVMDA, Some("cbvmda"), "itemExpirationDate", expiry),
            ]);
            mfg.push(e);
        }
    }
    // Cases and pallets.
    let cases: Vec<&[String]> = serials.chunks(units_per_case as usize).collect();
    let case_ids: Vec<String> = (0..cases.len() as u64).map(|i| sscc(1_000 + i)).collect();
    let pallets: Vec<&[String]> = case_ids.chunks(cases_per_pallet as usize).collect();
    let pallet_ids: Vec<String> = (0..pallets.len() as u64)
        .map(|i| sscc(900_000 + i))
        .collect();
    let mut commission_sscc = event(
        EventKind::Object,
        &mut clock,
        "commissioning",
        "active",
        &mfg_site,
    );
    commission_sscc.action = Some(Action::Add);
    commission_sscc.epc_list = case_ids.iter().chain(&pallet_ids).cloned().collect();
    mfg.push(commission_sscc);
    let packing = ("packing", "in_progress", mfg_site.as_str());
    for (case, units) in case_ids.iter().zip(&cases) {
        let children = units.iter().map(|s| sgtin(s)).collect();
        mfg.push(aggregation(
            &mut clock,
            packing,
            Action::Add,
            case,
            children,
        ));
    }
    for (pallet, cases) in pallet_ids.iter().zip(&pallets) {
        mfg.push(aggregation(
            &mut clock,
            packing,
            Action::Add,
            pallet,
            cases.to_vec(),
        ));
    }
    docs.push((
        "01-mfg-acme-commission-pack.xml".to_owned(),
        "mfg-acme",
        document(header("mfg-acme", "mfg-acme"), mfg),
    ));

    // Pallets alternate between the wholesalers; each ships its cases round-robin to pharmacies.
    let mut manifest_docs = Vec::new();
    let mut at_pharmacy: Vec<(String, &str)> = Vec::new();
    let mut case_owner: Vec<(String, &str)> = Vec::new();
    for (w_index, w) in WHOLESALERS.iter().enumerate() {
        let mine: Vec<usize> = (0..pallet_ids.len()).filter(|p| p % 2 == w_index).collect();
        if mine.is_empty() {
            continue;
        }
        let w_site = gln_of(w, true);
        let mut ship = Vec::new();
        let mut receive = Vec::new();
        for &p in &mine {
            let pallet = pallet_ids.get(p).cloned().unwrap_or_default();
            let mut e = event(
                EventKind::Object,
                &mut clock,
                "shipping",
                "in_transit",
                &mfg_site,
            );
            e.epc_list = vec![pallet.clone()];
            transfer(&mut e, "mfg-acme", w, &format!("PO-{w}-{p:04}"));
            ship.push(e);
            let mut r = event(
                EventKind::Object,
                &mut clock,
                "receiving",
                "in_progress",
                &w_site,
            );
            r.epc_list = vec![pallet.clone()];
            receive.push(r);
            let children = pallets.get(p).map(|c| c.to_vec()).unwrap_or_default();
            let unpacking = ("unpacking", "in_progress", w_site.as_str());
            receive.push(aggregation(
                &mut clock,
                unpacking,
                Action::Delete,
                &pallet,
                children,
            ));
            for case in pallets.get(p).copied().unwrap_or_default() {
                case_owner.push((case.clone(), w));
            }
        }
        docs.push((
            format!("02-mfg-acme-to-{w}.xml"),
            "mfg-acme",
            document(header("mfg-acme", w), ship),
        ));
        docs.push((
            format!("03-{w}-receive-unpack.xml"),
            w,
            document(header(w, w), receive),
        ));
    }
    // Each case's units (as SGTIN URNs) and each case's index, computed once.
    let unit_cases = cases_of(&serials, units_per_case);
    let case_index: std::collections::HashMap<&str, usize> = case_ids
        .iter()
        .enumerate()
        .map(|(i, c)| (c.as_str(), i))
        .collect();
    for (rx_index, rx) in PHARMACIES.iter().enumerate() {
        let rx_site = gln_of(rx, false);
        let mut receive = Vec::new();
        for w in WHOLESALERS {
            let cases: Vec<&String> = case_owner
                .iter()
                .enumerate()
                .filter(|(i, (_, owner))| *owner == w && i % PHARMACIES.len() == rx_index)
                .map(|(_, (c, _))| c)
                .collect();
            if cases.is_empty() {
                continue;
            }
            let mut e = event(
                EventKind::Object,
                &mut clock,
                "shipping",
                "in_transit",
                &gln_of(w, true),
            );
            e.epc_list = cases.iter().map(|c| (*c).clone()).collect();
            transfer(&mut e, w, rx, &format!("PO-{rx}-{w}"));
            docs.push((
                format!("04-{w}-to-{rx}.xml"),
                w,
                document(header(w, rx), vec![e]),
            ));
            for case in cases {
                let mut r = event(
                    EventKind::Object,
                    &mut clock,
                    "receiving",
                    "in_progress",
                    &rx_site,
                );
                r.epc_list = vec![case.clone()];
                receive.push(r);
                let units = case_index
                    .get(case.as_str())
                    .and_then(|i| unit_cases.get(*i).cloned());
                let unpacking = ("unpacking", "sellable_accessible", rx_site.as_str());
                let children = units.clone().unwrap_or_default();
                receive.push(aggregation(
                    &mut clock,
                    unpacking,
                    Action::Delete,
                    case,
                    children,
                ));
                // Two units of every case are dispensed.
                let mut d = event(
                    EventKind::Object,
                    &mut clock,
                    "dispensing",
                    "dispensed",
                    &rx_site,
                );
                d.epc_list = units
                    .clone()
                    .unwrap_or_default()
                    .into_iter()
                    .take(2)
                    .collect();
                receive.push(d);
                for unit in units.unwrap_or_default().into_iter().skip(2) {
                    at_pharmacy.push((unit, rx));
                }
            }
        }
        docs.push((
            format!("05-{rx}-receive-dispense.xml"),
            rx,
            document(header(rx, rx), receive),
        ));
    }
    // A saleable return from the first pharmacy, and the recall of the second lot.
    let returned = at_pharmacy
        .iter()
        .find(|(_, rx)| *rx == "rx-main-street")
        .map(|(u, _)| u.clone());
    if let Some(unit) = &returned {
        let mut e = event(
            EventKind::Object,
            &mut clock,
            "shipping",
            "returned",
            &gln_of("rx-main-street", false),
        );
        e.epc_list = vec![unit.clone()];
        transfer(&mut e, "rx-main-street", "whs-east", "RMA-0001");
        docs.push((
            "06-rx-main-street-return.xml".to_owned(),
            "rx-main-street",
            document(header("rx-main-street", "whs-east"), vec![e]),
        ));
    }
    let (recalled_lot, _) = LOTS[1];
    let mut recall = event(
        EventKind::Object,
        &mut clock,
        "holding",
        "recalled",
        &mfg_site,
    );
    recall.quantity_list = vec![QuantityElement {
        epc_class: format!("urn:epc:class:lgtin:{GCP}.{ITEM_REF}.{recalled_lot}"),
        quantity: None,
        uom: None,
    }];
    docs.push((
        "07-mfg-acme-recall.xml".to_owned(),
        "mfg-acme",
        document(header("mfg-acme", "mfg-acme"), vec![recall]),
    ));

    for (file, captured_by, _) in &docs {
        manifest_docs.push(serde_json::json!({"file": file, "captured_by": captured_by}));
    }
    let sample = |i: usize| serials.get(i).map(|s| sgtin(s));
    let manifest = serde_json::json!({
        "generator": "dscsa fixtures generate",
        "units": serials.len(),
        "seed": o.seed,
        "gtin": gtin(),
        "ndc": NDC,
        "company_prefix": GCP,
        "lots": LOTS.iter().map(|(l, e)| serde_json::json!({"lot": l, "expiry": e})).collect::<Vec<_>>(),
        "recalled_lot": recalled_lot,
        "documents": manifest_docs,
        "samples": {
            "first_unit": sample(0),
            "dispensed": sample(0),
            "at_pharmacy": at_pharmacy.first().map(|(u, rx)| serde_json::json!({"epc": u, "holder": rx})),
            "returned": returned,
            "suspect": at_pharmacy.last().map(|(u, rx)| serde_json::json!({"epc": u, "holder": rx})),
            "recalled": sample(recalled_from),
            "case": case_ids.first(),
            "pallet": pallet_ids.first(),
        },
    });
    Generated {
        documents: docs.into_iter().map(|(f, _, d)| (f, d)).collect(),
        manifest,
    }
}

fn cases_of(serials: &[String], per_case: u64) -> Vec<Vec<String>> {
    serials
        .chunks(per_case.max(1) as usize)
        .map(|c| c.iter().map(|s| sgtin(s)).collect())
        .collect()
}

/// Writes the documents and `manifest.json` into `dir` (created if missing).
pub fn write(dir: &Path, generated: &Generated) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for (name, text) in &generated.documents {
        std::fs::write(dir.join(name), text)?;
    }
    let manifest = serde_json::to_string_pretty(&generated.manifest).unwrap_or_default();
    std::fs::write(dir.join("manifest.json"), manifest + "\n")
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};

    use super::*;

    #[test]
    fn the_clock_runs_past_the_end_of_march() {
        assert_eq!(Clock(0).tick(), "2026-03-02T08:01:00.000-05:00");
        let mut late = Clock(18_000 - 1);
        assert_eq!(late.tick(), "2026-04-01T08:00:00.000-05:00");
        for _ in 0..100_000 {
            let t = late.tick();
            assert!(crate::stored::micros(&t).is_ok(), "{t}");
        }
    }

    fn options(units: u64, seed: u64) -> Options {
        Options {
            units,
            seed,
            units_per_case: 10,
            cases_per_pallet: 4,
        }
    }

    #[test]
    fn same_options_same_bytes_other_seed_other_serials() {
        let (a, b) = (generate(&options(200, 7)), generate(&options(200, 7)));
        assert_eq!(a.documents, b.documents);
        assert_eq!(a.manifest, b.manifest);
        let c = generate(&options(200, 8));
        assert_ne!(
            a.manifest["samples"]["first_unit"],
            c.manifest["samples"]["first_unit"]
        );
    }

    #[test]
    fn the_supply_chain_is_consistent() {
        let g = generate(&options(230, 3));
        let mut hashes = HashSet::new();
        let mut commissioned = HashSet::new();
        let mut packed_into: HashMap<String, String> = HashMap::new();
        let mut dispensed = 0;
        for (name, text) in &g.documents {
            let doc = epcis::decode(text.as_bytes()).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(doc.header.transaction_statement.is_some(), "{name}");
            for (e, h) in doc.events.iter().zip(doc.event_hash_ids()) {
                assert!(hashes.insert(h), "{name}: duplicate event");
                let step = e.biz_step.as_deref().unwrap_or_default();
                if step.ends_with("commissioning") && e.ilmd.is_some() {
                    for epc in &e.epc_list {
                        assert!(commissioned.insert(epc.clone()), "{epc} commissioned twice");
                    }
                }
                if step == "urn:epcglobal:cbv:bizstep:packing" {
                    for child in &e.child_epcs {
                        let parent = e.parent_id.clone().unwrap_or_default();
                        assert!(
                            packed_into.insert(child.clone(), parent).is_none(),
                            "{child} packed twice"
                        );
                    }
                }
                if step.ends_with("dispensing") {
                    dispensed += e.epc_list.len();
                }
            }
        }
        assert_eq!(commissioned.len(), 230);
        assert!(
            commissioned.iter().all(|u| packed_into.contains_key(u)),
            "a unit never packed"
        );
        assert!(dispensed > 0);
        let samples = &g.manifest["samples"];
        for key in ["first_unit", "returned", "recalled", "case", "pallet"] {
            assert!(samples[key].is_string(), "{key}: {samples}");
        }
        assert!(samples["suspect"]["epc"].is_string());
        assert_eq!(g.manifest["recalled_lot"], "LOT2605R");
    }
}
