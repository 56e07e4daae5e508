//! Tracing through the real server: a unit three containers deep (case, pallet, shipping
//! container) shipped by the manufacturer, unpacked and repacked by the wholesaler into
//! another case and shipped on to a pharmacy. The trace follows the unit through the
//! intervals valid at each shipment, ignores what its old case does after the unit left it,
//! and shows each partner only the hops it is party to.

use dscsa_exchange::services::Actor;
use dscsa_exchange::services::capture::{self, CaptureOptions};

use crate::helpers::{Backend, TestApp, json, spawn_demo};

crate::on_both_backends!(
    a_unit_is_followed_through_three_levels_and_a_repack,
    partners_see_only_their_hops_and_requests_are_checked,
);

pub(crate) const ACME: (&str, &str) = ("0614141.00000.0", "0614141.00001.0");
pub(crate) const EAST: (&str, &str) = ("0860001.00000.0", "0860001.00001.0");
const WEST: (&str, &str) = ("0860002.00000.0", "0860002.00001.0");
const RX: (&str, &str) = ("0360003.00000.0", "0360003.00000.0");
pub(crate) const UNIT: &str = "urn:epc:id:sgtin:0614141.010001.TRACE1";
const OTHER: &str = "urn:epc:id:sgtin:0614141.010001.TRACE2";
const CASE1: &str = "urn:epc:id:sscc:0614141.0900000001";
const CASE2: &str = "urn:epc:id:sscc:0860001.0900000002";
const PALLET: &str = "urn:epc:id:sscc:0614141.0900000003";
pub(crate) const CONTAINER: &str = "urn:epc:id:sscc:0614141.0900000004";
const GTIN: &str = "00614141100019";

fn at(minute: u32) -> String {
    format!("2026-04-01T10:{minute:02}:00Z")
}

pub(crate) fn place(site: &str) -> String {
    format!(
        "<readPoint><id>urn:epc:id:sgln:{site}</id></readPoint><bizLocation><id>urn:epc:id:sgln:{site}</id></bizLocation>"
    )
}

pub(crate) fn transfer(from: (&str, &str), to: (&str, &str), po: &str) -> String {
    format!(
        "<bizTransactionList><bizTransaction type=\"urn:epcglobal:cbv:btt:po\">urn:epcglobal:cbv:bt:0860001000009:{po}</bizTransaction></bizTransactionList>\
         <sourceList><source type=\"urn:epcglobal:cbv:sdt:owning_party\">urn:epc:id:sgln:{}</source><source type=\"urn:epcglobal:cbv:sdt:location\">urn:epc:id:sgln:{}</source></sourceList>\
         <destinationList><destination type=\"urn:epcglobal:cbv:sdt:owning_party\">urn:epc:id:sgln:{}</destination><destination type=\"urn:epcglobal:cbv:sdt:location\">urn:epc:id:sgln:{}</destination></destinationList>",
        from.0, from.1, to.0, to.1
    )
}

pub(crate) fn object(
    minute: u32,
    epcs: &[&str],
    action: &str,
    step: &str,
    disp: &str,
    extra: &str,
) -> String {
    let epcs: String = epcs.iter().map(|e| format!("<epc>{e}</epc>")).collect();
    format!(
        "<ObjectEvent><eventTime>{}</eventTime><eventTimeZoneOffset>+00:00</eventTimeZoneOffset><epcList>{epcs}</epcList><action>{action}</action>\
         <bizStep>urn:epcglobal:cbv:bizstep:{step}</bizStep><disposition>urn:epcglobal:cbv:disp:{disp}</disposition>{extra}</ObjectEvent>",
        at(minute)
    )
}

fn aggregation(minute: u32, parent: &str, children: &[&str], action: &str, site: &str) -> String {
    let children: String = children.iter().map(|e| format!("<epc>{e}</epc>")).collect();
    let (step, disp) = if action == "ADD" {
        ("packing", "in_progress")
    } else {
        ("unpacking", "in_progress")
    };
    format!(
        "<AggregationEvent><eventTime>{}</eventTime><eventTimeZoneOffset>+00:00</eventTimeZoneOffset><parentID>{parent}</parentID><childEPCs>{children}</childEPCs>\
         <action>{action}</action><bizStep>urn:epcglobal:cbv:bizstep:{step}</bizStep><disposition>urn:epcglobal:cbv:disp:{disp}</disposition>{}</AggregationEvent>",
        at(minute),
        place(site)
    )
}

fn document(events: &[String]) -> String {
    format!(
        "<epcis:EPCISDocument xmlns:epcis=\"urn:epcglobal:epcis:xsd:2\" xmlns:cbvmda=\"urn:epcglobal:cbv:mda\" schemaVersion=\"2.0\" creationDate=\"2026-04-01T09:00:00Z\">\
         <EPCISBody><EventList>{}</EventList></EPCISBody></epcis:EPCISDocument>",
        events.concat()
    )
}

pub(crate) async fn capture_as(app: &TestApp, who: &str, events: &[String]) {
    let report = capture::capture(
        app.app().db(),
        &Actor::Principal(who.parse().unwrap()),
        who,
        bytes::Bytes::from(document(events)),
        "application/xml",
        &CaptureOptions::default(),
    )
    .await
    .unwrap();
    assert!(report.refused.is_empty(), "{report:?}");
    assert_eq!(report.anomalies, 0, "{report:?}");
}

/// The scenario: minute 1 commissioning, 2-4 packing three levels, 5 shipping to east;
/// east receives (6), unpacks pallet, case and unit (7-9), repacks the unit into case 2 (10),
/// ships case 2 to the pharmacy (11), and ships the old case 1 to west (12).
pub(crate) async fn scenario(app: &TestApp) {
    let ilmd = "<ilmd><cbvmda:lotNumber>LOTTRACE</cbvmda:lotNumber><cbvmda:itemExpirationDate>2028-12-31</cbvmda:itemExpirationDate></ilmd>";
    let site = ACME.1;
    capture_as(
        app,
        "mfg-acme",
        &[
            object(
                1,
                &[UNIT, OTHER],
                "ADD",
                "commissioning",
                "active",
                &format!("{}{ilmd}", place(site)),
            ),
            object(
                1,
                &[CASE1, PALLET, CONTAINER],
                "ADD",
                "commissioning",
                "active",
                &place(site),
            ),
            aggregation(2, CASE1, &[UNIT, OTHER], "ADD", site),
            aggregation(3, PALLET, &[CASE1], "ADD", site),
            aggregation(4, CONTAINER, &[PALLET], "ADD", site),
            object(
                5,
                &[CONTAINER],
                "OBSERVE",
                "shipping",
                "in_transit",
                &format!("{}{}", place(site), transfer(ACME, EAST, "PO-T1")),
            ),
        ],
    )
    .await;
    let site = EAST.1;
    capture_as(
        app,
        "whs-east",
        &[
            object(
                6,
                &[CONTAINER],
                "OBSERVE",
                "receiving",
                "in_progress",
                &place(site),
            ),
            aggregation(7, CONTAINER, &[PALLET], "DELETE", site),
            aggregation(8, PALLET, &[CASE1], "DELETE", site),
            aggregation(9, CASE1, &[UNIT], "DELETE", site),
            object(9, &[CASE2], "ADD", "commissioning", "active", &place(site)),
            aggregation(10, CASE2, &[UNIT], "ADD", site),
            object(
                11,
                &[CASE2],
                "OBSERVE",
                "shipping",
                "in_transit",
                &format!("{}{}", place(site), transfer(EAST, RX, "PO-T2")),
            ),
            object(
                12,
                &[CASE1],
                "OBSERVE",
                "shipping",
                "in_transit",
                &format!("{}{}", place(site), transfer(EAST, WEST, "PO-T3")),
            ),
        ],
    )
    .await;
}

fn request(
    response_type: &str,
    product: serde_json::Value,
    gln: Option<&str>,
) -> serde_json::Value {
    serde_json::json!({"tiRequestSet": {
        "tracingSchemaSetVersion": "2.0.0",
        "tiRequestAuditReferences": {
            "tiRequestID": uuid::Uuid::new_v4().to_string(),
            "tiRequestTimestamp": "2026-11-22T08:00:00Z",
        },
        "tiRequestingPartyInformation": {"departmentName": "Compliance", "preferredContactMethod": "email", "gln": gln},
        "investigationReasonAttestation": "Suspect Product Investigation",
        "responseTypeRequested": response_type,
        "productIdentifier": product,
    }})
}

async fn trace_as(app: &TestApp, who: &str, body: &serde_json::Value) -> (u16, serde_json::Value) {
    let client = app.client(Some(&app.issue(who)));
    let response = client
        .post(format!("{}/tracing/requests", app.base))
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, json(response).await)
}

fn unit() -> serde_json::Value {
    serde_json::json!({"gtin": GTIN, "serialNumber": "TRACE1"})
}

fn glns(hops: &serde_json::Value) -> Vec<(String, String)> {
    hops.as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["transferor"]["gln"].as_str().unwrap().to_owned(),
                h["transferee"]["gln"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn a_unit_is_followed_through_three_levels_and_a_repack(backend: Backend) {
    let Some(app) = spawn_demo(backend).await else {
        return;
    };
    scenario(&app).await;
    let (status, body) = trace_as(
        &app,
        "compliance",
        &request("TransactionInformation", unit(), None),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let r = &body["tiResponse"];
    assert_eq!(r["responderGLN"], "0614141000005");
    assert!(r["receivedAt"].as_str().unwrap() <= r["answeredAt"].as_str().unwrap());
    let t = &r["trace"];
    // The product's transaction information comes from the demo master data and the ledger.
    assert_eq!(t["product"]["name"], "Amoxidemo", "{t}");
    assert_eq!(t["product"]["ndc"], "0614110001");
    assert_eq!(t["product"]["strength"], "500 mg");
    assert_eq!(t["product"]["dosageForm"], "CAPSULE");
    assert_eq!(t["product"]["containerSize"], "30 capsules");
    assert_eq!(t["product"]["lot"], "LOTTRACE");
    assert_eq!(t["product"]["expiry"], "2028-12-31");
    // Two hops: through the shipping container, then through the new case. The old case's
    // later trip to west is not the unit's.
    assert_eq!(
        glns(&t["hops"]),
        vec![
            ("0614141000005".into(), "0860001000009".into()),
            ("0860001000009".into(), "0360003000002".into())
        ],
        "{t}"
    );
    let hops = t["hops"].as_array().unwrap();
    let container_key = dscsa_exchange::stored::epc_key(CONTAINER);
    let case2_key = dscsa_exchange::stored::epc_key(CASE2);
    assert_eq!(hops[0]["viaContainers"], serde_json::json!([container_key]));
    assert_eq!(
        hops[0]["numberOfContainers"], 2,
        "both units were in the container"
    );
    assert_eq!(hops[1]["viaContainers"], serde_json::json!([case2_key]));
    assert_eq!(hops[1]["numberOfContainers"], 1);
    assert_eq!(hops[0]["transactionDate"], "2026-04-01T10:05:00Z");
    assert_eq!(hops[0]["transferor"]["name"], "Acme Pharmaceuticals Inc.");
    assert_eq!(
        hops[0]["transferee"]["city"], "Springfield",
        "addresses from location master data"
    );
    assert_eq!(
        hops[1]["businessTransactions"][0]["id"],
        "urn:epcglobal:cbv:bt:0860001000009:PO-T2"
    );
    // Four containers, three levels deep at once.
    let containers: Vec<&str> = t["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["container"].as_str().unwrap())
        .collect();
    assert_eq!(containers.len(), 4, "{containers:?}");
    assert_eq!(t["upstream"]["endsWith"], "commissioning");
    assert_eq!(t["downstream"]["endsWith"], "transfer");
    assert_eq!(t["downstream"]["askNext"]["gln"], "0360003000002");

    // The other response types.
    let (_, body) = trace_as(&app, "compliance", &request("AllKnownOwners", unit(), None)).await;
    let owners: Vec<&str> = body["tiResponse"]["trace"]["owners"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["party"]["gln"].as_str().unwrap())
        .collect();
    assert_eq!(owners, ["0614141000005", "0860001000009", "0360003000002"]);
    assert!(body["tiResponse"]["trace"].get("hops").is_none());
    let (_, body) = trace_as(
        &app,
        "compliance",
        &request("Last Known Owner", unit(), None),
    )
    .await;
    let owners = body["tiResponse"]["trace"]["owners"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(owners.len(), 1);
    assert_eq!(owners[0]["party"]["gln"], "0360003000002");
    assert_eq!(owners[0]["since"], "2026-04-01T10:11:00Z");

    // The lot: both units; the old case's trip to west carries the other unit, so it is a hop.
    let lot = serde_json::json!({"gtin": GTIN, "lotNumber": "LOTTRACE"});
    let (_, body) = trace_as(
        &app,
        "compliance",
        &request("TransactionInformation", lot, None),
    )
    .await;
    let t = &body["tiResponse"]["trace"];
    assert_eq!(t["product"]["packages"], 2);
    assert_eq!(glns(&t["hops"]).len(), 3, "{t}");

    // A regulator sees every hop too; the requests are kept with their timestamps.
    let (status, body) = trace_as(
        &app,
        "fda",
        &request("TransactionInformation", unit(), None),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(glns(&body["tiResponse"]["trace"]["hops"]).len(), 2);
    let mut conn = app.app().db().pool().acquire().await.unwrap();
    let kept: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM trace_requests WHERE received_at <= answered_at")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
    assert_eq!(kept, 5);
    drop(conn);
    app.stop().await;
}

async fn partners_see_only_their_hops_and_requests_are_checked(backend: Backend) {
    let Some(app) = spawn_demo(backend).await else {
        return;
    };
    scenario(&app).await;
    // The wholesaler is party to both hops.
    let (status, body) = trace_as(
        &app,
        "whs-east",
        &request("TransactionInformation", unit(), Some("0860001000009")),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(glns(&body["tiResponse"]["trace"]["hops"]).len(), 2);
    // The pharmacy sees its own receipt only, not the manufacturer-to-wholesaler sale, and is
    // told whom to ask upstream.
    let (status, body) = trace_as(
        &app,
        "rx-main-street",
        &request("TransactionInformation", unit(), None),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let t = &body["tiResponse"]["trace"];
    assert_eq!(
        glns(&t["hops"]),
        vec![("0860001000009".into(), "0360003000002".into())],
        "{t}"
    );
    assert!(!t.to_string().contains("PO-T1"), "{t}");
    assert_eq!(t["upstream"]["askNext"]["gln"], "0860001000009");
    // West is party to neither of the unit's hops.
    let (_, body) = trace_as(
        &app,
        "whs-west",
        &request("TransactionInformation", unit(), None),
    )
    .await;
    assert_eq!(body["tiResponse"]["trace"]["hops"], serde_json::json!([]));

    // Refusals: another party's GLN, malformed fields named, a principal that may not trace.
    let (status, body) = trace_as(
        &app,
        "rx-main-street",
        &request("TransactionInformation", unit(), Some("0860001000009")),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("requester_gln_not_bound")),
        "{body}"
    );
    let mut bad = request("Everything", unit(), None);
    let (status, body) = trace_as(&app, "whs-east", &bad).await;
    assert_eq!(status, 400);
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("responseTypeRequested"),
        "{body}"
    );
    bad = request(
        "TransactionInformation",
        serde_json::json!({"gtin": GTIN}),
        None,
    );
    let (status, body) = trace_as(&app, "whs-east", &bad).await;
    assert_eq!(status, 400);
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("productIdentifier"),
        "{body}"
    );
    bad["tiRequestSet"]["tiRequestAuditReferences"]["tiRequestID"] =
        serde_json::json!("not-a-uuid");
    let (status, body) = trace_as(&app, "whs-east", &bad).await;
    assert_eq!(status, 400);
    assert!(
        body["detail"].as_str().unwrap().contains("tiRequestID"),
        "{body}"
    );
    let (status, body) = trace_as(
        &app,
        "auditor",
        &request("TransactionInformation", unit(), None),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("action_not_permitted")),
        "{body}"
    );
    app.stop().await;
}
