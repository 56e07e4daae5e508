//! A deterministic DSCSA-style event stream for benchmarks (shared by the criterion bench and
//! the `gen_dscsa` example): a manufacturer commissions serials in batches of ten with lot and
//! expiry ILMD, packs them into cases, and ships cases to a wholesaler with PO and despatch
//! advice, owning party and location source/destination, and the GS1 US `dropShipment` flag.
//! Mix per 20 events: 9 commissioning, 9 packing, 2 shipping.

use epcis::model::{
    Action, BizTransaction, Element, Event, EventKind, GS1USHC_NS, Location, SourceDest,
};

const CBVMDA: &str = "urn:epcglobal:cbv:mda";
const GCP: &str = "0312345";

fn sgtin(n: u64) -> String {
    format!(
        "urn:epc:id:sgtin:{GCP}.067890.{:012X}",
        n.wrapping_mul(0x9E37_79B9) & 0xFFFF_FFFF_FFFF
    )
}

fn sscc(n: u64) -> String {
    format!("urn:epc:id:sscc:{GCP}.0{n:09}")
}

fn sgln(loc: &str) -> String {
    format!("urn:epc:id:sgln:{GCP}.{loc}.0")
}

/// The `i`-th event of the stream.
pub(crate) fn event(i: u64) -> Event {
    let slot = i % 20;
    let block = i / 20;
    let minute = i % 60;
    let time = format!(
        "2026-03-{:02}T{:02}:{minute:02}:00.000-05:00",
        1 + (block / 24) % 28,
        block % 24
    );
    let mut e = Event::new(EventKind::Object, time, "-05:00".into());
    e.read_point = Some(Location {
        id: sgln("00001"),
        extensions: Vec::new(),
    });
    e.biz_location = Some(Location {
        id: sgln("00001"),
        extensions: Vec::new(),
    });
    match slot {
        0..=8 => {
            let first = (block * 9 + slot) * 10;
            e.epc_list = (first..first + 10).map(sgtin).collect();
            e.action = Some(Action::Add);
            e.biz_step = Some("urn:epcglobal:cbv:bizstep:commissioning".into());
            e.disposition = Some("urn:epcglobal:cbv:disp:active".into());
            e.ilmd = Some(vec![
                Element::leaf(
                    CBVMDA,
                    Some("cbvmda"),
                    "lotNumber",
                    &format!("LOT{:05}", block % 1000),
                ),
                Element::leaf(CBVMDA, Some("cbvmda"), "itemExpirationDate", "2028-06-30"),
            ]);
        }
        9..=17 => {
            let case = block * 9 + (slot - 9);
            let first = case * 10;
            e.kind = EventKind::Aggregation;
            e.parent_id = Some(sscc(case));
            e.child_epcs = (first..first + 10).map(sgtin).collect();
            e.action = Some(Action::Add);
            e.biz_step = Some("urn:epcglobal:cbv:bizstep:packing".into());
            e.disposition = Some("urn:epcglobal:cbv:disp:in_progress".into());
        }
        _ => {
            let first = block * 9 + (slot - 18) * 4;
            e.epc_list = (first..first + 4).map(sscc).collect();
            e.action = Some(Action::Observe);
            e.biz_step = Some("urn:epcglobal:cbv:bizstep:shipping".into());
            e.disposition = Some("urn:epcglobal:cbv:disp:in_transit".into());
            e.biz_transactions = vec![
                BizTransaction {
                    kind: Some("urn:epcglobal:cbv:btt:po".into()),
                    id: format!("urn:epcglobal:cbv:bt:0614141000005:PO{block:08}"),
                },
                BizTransaction {
                    kind: Some("urn:epcglobal:cbv:btt:desadv".into()),
                    id: format!("urn:epcglobal:cbv:bt:0312345000015:DA{block:08}"),
                },
            ];
            e.sources = vec![
                SourceDest {
                    kind: "urn:epcglobal:cbv:sdt:owning_party".into(),
                    id: sgln("00000"),
                },
                SourceDest {
                    kind: "urn:epcglobal:cbv:sdt:location".into(),
                    id: sgln("00001"),
                },
            ];
            e.destinations = vec![
                SourceDest {
                    kind: "urn:epcglobal:cbv:sdt:owning_party".into(),
                    id: "urn:epc:id:sgln:0614141.00000.0".into(),
                },
                SourceDest {
                    kind: "urn:epcglobal:cbv:sdt:location".into(),
                    id: "urn:epc:id:sgln:0614141.00777.0".into(),
                },
            ];
            e.extensions = vec![Element::leaf(
                GS1USHC_NS,
                Some("gs1ushc"),
                "dropShipment",
                "false",
            )];
        }
    }
    e
}
