//! The EPCIS query interface through the real server: a small known supply chain captured
//! through the capture service, then every query parameter family with its exact result set,
//! pagination, page-token tampering, both output syntaxes decoded back, one event with its
//! error declarations, the listings, master data, and a property test of visibility and
//! completeness with several partners and random events and queries.

use std::collections::BTreeSet;

use dscsa_exchange::services::Actor;
use dscsa_exchange::services::capture::{self, CaptureOptions};
use partners::{StaffRole, Visibility};

use crate::helpers::{Backend, TestApp, partner, spawn_app, staff};

crate::on_both_backends!(
    each_parameter_family_selects_exactly_its_events,
    partners_see_only_what_they_are_party_to,
    pagination_walks_every_page_once,
    tampered_and_foreign_page_tokens_are_refused,
    both_syntaxes_decode_back_and_epcs_follow_the_requested_format,
    one_event_comes_with_its_error_declarations,
    listings_show_visible_values,
    master_data_by_gtin_ndc_and_gln,
    limits_and_refusals_are_epcis_exceptions,
    random_queries_return_exactly_the_visible_matching_events,
);

const ACME: &[&str] = &["0614141000005", "0614141000012"];
const EAST: &[&str] = &["0860001000009", "0860001000016"];
const WEST: &[&str] = &["0860002000008"];

const NS: &str = r#"xmlns:epcis="urn:epcglobal:epcis:xsd:2" xmlns:cbvmda="urn:epcglobal:cbv:mda" xmlns:mda2="urn:epcglobal:cbv:mda:" xmlns:ex="http://ns.example.com/epcis/" xmlns:gs1ushc="http://epcis.gs1us.org/hc/ns""#;

fn document(header: &str, events: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<epcis:EPCISDocument {NS} schemaVersion="2.0" creationDate="2024-01-01T00:00:00Z">{header}<EPCISBody><EventList>{events}</EventList></EPCISBody></epcis:EPCISDocument>"#
    )
}

const MASTER_DATA: &str = r#"<EPCISHeader><extension><EPCISMasterData><VocabularyList>
<Vocabulary type="urn:epcglobal:epcis:vtype:EPCClass"><VocabularyElementList>
<VocabularyElement id="urn:epc:idpat:sgtin:0614141.107346.*">
<attribute id="urn:epcglobal:cbv:mda#additionalTradeItemIdentification">0614-1100-01</attribute>
<attribute id="urn:epcglobal:cbv:mda#additionalTradeItemIdentificationTypeCode">FDA_NDC_11</attribute>
<attribute id="urn:epcglobal:cbv:mda#regulatedProductName">Examplamab 10 mg</attribute>
</VocabularyElement></VocabularyElementList></Vocabulary>
<Vocabulary type="urn:epcglobal:epcis:vtype:Location"><VocabularyElementList>
<VocabularyElement id="urn:epc:id:sgln:0614141.00000.0">
<attribute id="urn:epcglobal:cbv:mda#name">Acme HQ</attribute>
<children><id>urn:epc:id:sgln:0614141.00001.0</id></children>
</VocabularyElement>
<VocabularyElement id="urn:epc:id:sgln:0614141.00001.0">
<attribute id="urn:epcglobal:cbv:mda#name">Acme plant</attribute>
<children><id>urn:epc:id:sgln:0614141.00001.7</id></children>
</VocabularyElement>
</VocabularyElementList></Vocabulary>
</VocabularyList></EPCISMasterData></extension></EPCISHeader>"#;

const SSCC: &str = "urn:epc:id:sscc:0614141.1234567890";
const PLANT: &str = "urn:epc:id:sgln:0614141.00001.0";

fn sgtin(serial: &str) -> String {
    format!("urn:epc:id:sgtin:0614141.107346.{serial}")
}

/// The events acme captures (ev1–ev4, ev6–ev8).
fn acme_events() -> String {
    format!(
        r#"<ObjectEvent><eventTime>2024-01-01T10:00:00Z</eventTime><eventTimeZoneOffset>+00:00</eventTimeZoneOffset><eventID>urn:test:ev1</eventID>
<epcList><epc>{s1001}</epc><epc>{s1002}</epc></epcList><action>ADD</action>
<bizStep>urn:epcglobal:cbv:bizstep:commissioning</bizStep><disposition>urn:epcglobal:cbv:disp:active</disposition>
<readPoint><id>{PLANT}</id></readPoint><bizLocation><id>{PLANT}</id></bizLocation>
<ilmd><cbvmda:lotNumber>LOT1</cbvmda:lotNumber><cbvmda:itemExpirationDate>2026-01-31</cbvmda:itemExpirationDate></ilmd></ObjectEvent>
<ObjectEvent><eventTime>2024-01-02T10:00:00Z</eventTime><eventTimeZoneOffset>+00:00</eventTimeZoneOffset><eventID>urn:test:ev2</eventID>
<epcList><epc>{s2001}</epc><epc>https://id.gs1.org/01/10614141073464/21/2002</epc></epcList><action>ADD</action>
<bizStep>urn:epcglobal:cbv:bizstep:commissioning</bizStep><disposition>urn:epcglobal:cbv:disp:active</disposition>
<readPoint><id>urn:epc:id:sgln:0614141.00001.7</id></readPoint>
<ilmd><mda2:lotNumber>LOT2</mda2:lotNumber></ilmd></ObjectEvent>
<AggregationEvent><eventTime>2024-01-01T12:00:00Z</eventTime><eventTimeZoneOffset>+00:00</eventTimeZoneOffset><eventID>urn:test:ev3</eventID>
<parentID>{SSCC}</parentID><childEPCs><epc>{s1001}</epc><epc>{s1002}</epc><epc>{s2001}</epc></childEPCs><action>ADD</action>
<bizStep>urn:epcglobal:cbv:bizstep:packing</bizStep><readPoint><id>{PLANT}</id></readPoint></AggregationEvent>
<ObjectEvent><eventTime>2024-01-04T10:00:00Z</eventTime><eventTimeZoneOffset>+00:00</eventTimeZoneOffset><eventID>urn:test:ev4</eventID>
<epcList><epc>{SSCC}</epc></epcList><action>OBSERVE</action>
<bizStep>urn:epcglobal:cbv:bizstep:shipping</bizStep><disposition>urn:epcglobal:cbv:disp:in_transit</disposition>
<readPoint><id>{PLANT}</id></readPoint>
<bizTransactionList><bizTransaction type="urn:epcglobal:cbv:btt:po">urn:epcglobal:cbv:bt:0860001000009:PO-77</bizTransaction><bizTransaction type="urn:epcglobal:cbv:btt:desadv">urn:epcglobal:cbv:bt:0614141000005:ASN-1</bizTransaction></bizTransactionList>
<sourceList><source type="urn:epcglobal:cbv:sdt:owning_party">urn:epc:id:sgln:0614141.00000.0</source></sourceList>
<destinationList><destination type="urn:epcglobal:cbv:sdt:owning_party">urn:epc:id:sgln:0860001.00000.0</destination></destinationList>
<ex:temp>4.5</ex:temp><ex:outer><ex:inner>7</ex:inner></ex:outer></ObjectEvent>
<ObjectEvent><eventTime>2024-01-06T10:00:00Z</eventTime><eventTimeZoneOffset>+00:00</eventTimeZoneOffset><eventID>urn:test:ev6</eventID>
<epcList><epc>{s3001}</epc></epcList><action>OBSERVE</action>
<bizStep>urn:epcglobal:cbv:bizstep:shipping</bizStep><disposition>urn:epcglobal:cbv:disp:in_transit</disposition>
<bizTransactionList><bizTransaction type="urn:epcglobal:cbv:btt:po">urn:epcglobal:cbv:bt:0860002000008:PO-88</bizTransaction></bizTransactionList>
<sourceList><source type="urn:epcglobal:cbv:sdt:owning_party">urn:epc:id:sgln:0614141.00000.0</source></sourceList>
<destinationList><destination type="urn:epcglobal:cbv:sdt:owning_party">urn:epc:id:sgln:0860002.00000.0</destination></destinationList></ObjectEvent>
<ObjectEvent><eventTime>2024-01-07T10:00:00Z</eventTime><eventTimeZoneOffset>+00:00</eventTimeZoneOffset><eventID>urn:test:ev7</eventID>
<epcList/><action>OBSERVE</action><bizStep>urn:epcglobal:cbv:bizstep:inspecting</bizStep>
<persistentDisposition><set>urn:epcglobal:cbv:disp:completeness_verified</set></persistentDisposition>
<quantityList><quantityElement><epcClass>urn:epc:class:lgtin:0614141.107346.LOT1</epcClass><quantity>5</quantity><uom>KGM</uom></quantityElement></quantityList>
<sensorElementList><sensorElement><sensorMetadata time="2024-01-07T09:00:00Z" deviceID="urn:test:thermometer"/><sensorReport type="gs1:Temperature" value="4.5" uom="CEL"/></sensorElement></sensorElementList></ObjectEvent>
<TransformationEvent><eventTime>2024-01-08T10:00:00Z</eventTime><eventTimeZoneOffset>+00:00</eventTimeZoneOffset><eventID>urn:test:ev8</eventID>
<inputEPCList><epc>{s3001}</epc></inputEPCList><outputEPCList><epc>{s4001}</epc></outputEPCList>
<transformationID>urn:test:xform:1</transformationID><bizStep>urn:epcglobal:cbv:bizstep:repackaging</bizStep></TransformationEvent>"#,
        s1001 = sgtin("1001"),
        s1002 = sgtin("1002"),
        s2001 = sgtin("2001"),
        s3001 = sgtin("3001"),
        s4001 = sgtin("4001"),
    )
}

/// What east captures (ev5).
const EAST_EVENTS: &str = r#"<ObjectEvent><eventTime>2024-01-05T10:00:00Z</eventTime><eventTimeZoneOffset>+00:00</eventTimeZoneOffset><eventID>urn:test:ev5</eventID>
<epcList><epc>urn:epc:id:sscc:0614141.1234567890</epc></epcList><action>OBSERVE</action>
<bizStep>urn:epcglobal:cbv:bizstep:receiving</bizStep><disposition>urn:epcglobal:cbv:disp:in_progress</disposition>
<readPoint><id>urn:epc:id:sgln:0860001.00001.0</id></readPoint><bizLocation><id>urn:epc:id:sgln:0860001.00001.0</id></bizLocation>
<sourceList><source type="urn:epcglobal:cbv:sdt:owning_party">urn:epc:id:sgln:0614141.00000.0</source></sourceList>
<destinationList><destination type="urn:epcglobal:cbv:sdt:owning_party">urn:epc:id:sgln:0860001.00000.0</destination></destinationList></ObjectEvent>"#;

/// ev6 declared erroneous by acme, corrected by ev8.
fn declaration() -> String {
    acme_events()
        .split("<ObjectEvent>")
        .find(|e| e.contains("urn:test:ev6"))
        .map(|e| {
            format!(
                "<ObjectEvent>{}",
                e.replace(
                    "<eventID>urn:test:ev6</eventID>",
                    "<eventID>urn:test:ev6</eventID><errorDeclaration><declarationTime>2024-02-01T00:00:00Z</declarationTime><reason>urn:epcglobal:cbv:er:incorrect_data</reason><correctiveEventIDs><correctiveEventID>urn:test:ev8</correctiveEventID></correctiveEventIDs></errorDeclaration>"
                )
            )
        })
        .unwrap()
}

async fn capture_as(app: &TestApp, who: &str, doc: String) {
    let report = capture::capture(
        app.app().db(),
        &Actor::Principal(who.parse().unwrap()),
        who,
        bytes::Bytes::from(doc),
        "application/xml",
        &CaptureOptions::default(),
    )
    .await
    .unwrap();
    assert!(report.refused.is_empty(), "{report:?}");
}

/// A server with acme, east, west and a staff member, and the supply chain captured.
async fn seeded(backend: Backend) -> Option<(TestApp, Clients)> {
    let app = spawn_app(backend).await?;
    app.register(partner("acme", ACME)).await;
    app.register(partner("east", EAST)).await;
    app.register(partner("west", WEST)).await;
    app.register(staff("home", StaffRole::Compliance)).await;
    capture_as(&app, "acme", document(MASTER_DATA, &acme_events())).await;
    capture_as(&app, "east", document("", EAST_EVENTS)).await;
    capture_as(&app, "acme", document("", &declaration())).await;
    let clients = Clients {
        acme: app.client(Some(&app.issue("acme"))),
        east: app.client(Some(&app.issue("east"))),
        west: app.client(Some(&app.issue("west"))),
        home: app.client(Some(&app.issue("home"))),
        base: app.base.clone(),
    };
    Some((app, clients))
}

struct Clients {
    acme: reqwest::Client,
    east: reqwest::Client,
    west: reqwest::Client,
    home: reqwest::Client,
    base: String,
}

fn event_ids(body: &serde_json::Value) -> Vec<String> {
    body["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
        .as_array()
        .unwrap_or_else(|| panic!("no event list in {body}"))
        .iter()
        .map(|e| e["eventID"].as_str().unwrap().to_owned())
        .collect()
}

/// Every event ID of a query, following `Link: rel="next"` to the end.
async fn all_ids(client: &reqwest::Client, base: &str, path_and_query: &str) -> Vec<String> {
    let mut url = format!("{base}{path_and_query}");
    let mut out = Vec::new();
    for _ in 0..1000 {
        let response = client.get(&url).send().await.unwrap();
        assert_eq!(
            response.status(),
            200,
            "{url}: {}",
            response.text().await.unwrap()
        );
        let next = response
            .headers()
            .get("link")
            .map(|l| l.to_str().unwrap().to_owned());
        out.extend(event_ids(&response.json().await.unwrap()));
        match next {
            Some(link) => {
                let target = link
                    .strip_prefix('<')
                    .and_then(|l| l.split_once(">; rel=\"next\""))
                    .unwrap()
                    .0;
                url = format!("{base}{target}");
            }
            None => return out,
        }
    }
    panic!("more than 1000 pages");
}

fn set(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|i| format!("urn:test:{i}")).collect()
}

async fn each_parameter_family_selects_exactly_its_events(backend: Backend) {
    let Some((app, c)) = seeded(backend).await else {
        return;
    };
    let cases: &[(&str, &[&str])] = &[
        (
            "",
            &["ev1", "ev2", "ev3", "ev4", "ev5", "ev6", "ev7", "ev8"],
        ),
        (
            "eventType=AggregationEvent|TransformationEvent",
            &["ev3", "ev8"],
        ),
        (
            "GE_eventTime=2024-01-04T10:00:00Z&LT_eventTime=2024-01-06T10:00:00Z",
            &["ev4", "ev5"],
        ),
        (
            "GE_eventTime=2024-01-04T05:00:00-05:00",
            &["ev4", "ev5", "ev6", "ev7", "ev8"],
        ),
        ("LT_recordTime=2000-01-01T00:00:00Z", &[]),
        (
            "GE_recordTime=2000-01-01T00:00:00Z&eventType=AggregationEvent",
            &["ev3"],
        ),
        ("EQ_action=ADD", &["ev1", "ev2", "ev3"]),
        ("EQ_bizStep=shipping|receiving", &["ev4", "ev5", "ev6"]),
        (
            "EQ_bizStep=https://ref.gs1.org/cbv/BizStep-packing",
            &["ev3"],
        ),
        ("EQ_disposition=in_transit", &["ev4", "ev6"]),
        (
            "EQ_persistentDisposition_set=completeness_verified",
            &["ev7"],
        ),
        ("EQ_persistentDisposition_unset=completeness_verified", &[]),
        (
            "EQ_readPoint=urn:epc:id:sgln:0614141.00001.0",
            &["ev1", "ev3", "ev4"],
        ),
        (
            "EQ_readPoint=https://id.gs1.org/414/0860001000016",
            &["ev5"],
        ),
        ("EQ_bizLocation=urn:epc:id:sgln:0860001.00001.0", &["ev5"]),
        (
            "WD_readPoint=urn:epc:id:sgln:0614141.00000.0",
            &["ev1", "ev2", "ev3", "ev4"],
        ),
        ("WD_readPoint=urn:epc:id:sgln:0614141.00001.7", &["ev2"]),
        ("WD_bizLocation=urn:epc:id:sgln:0614141.00000.0", &["ev1"]),
        ("EQ_transformationID=urn:test:xform:1", &["ev8"]),
        (
            "MATCH_epc=urn:epc:id:sgtin:0614141.107346.1001",
            &["ev1", "ev3"],
        ),
        (
            "MATCH_epc=https://id.gs1.org/01/10614141073464/21/2002",
            &["ev2"],
        ),
        ("MATCH_epc=urn:epc:id:sgtin:0614141.107346.2002", &["ev2"]),
        (
            "MATCH_epc=urn:epc:idpat:sgtin:0614141.107346.*",
            &["ev1", "ev2", "ev3", "ev6"],
        ),
        (
            "MATCH_epc=urn:epc:idpat:sgtin:0614141.*.*",
            &["ev1", "ev2", "ev3", "ev6"],
        ),
        ("MATCH_epc=urn:epc:idpat:sscc:0614141.*", &["ev4", "ev5"]),
        ("MATCH_parentID=urn:epc:idpat:sscc:0614141.*", &["ev3"]),
        (
            "MATCH_inputEPC=urn:epc:id:sgtin:0614141.107346.3001",
            &["ev8"],
        ),
        (
            "MATCH_outputEPC=urn:epc:id:sgtin:0614141.107346.4001",
            &["ev8"],
        ),
        (
            "MATCH_anyEPC=urn:epc:id:sgtin:0614141.107346.3001",
            &["ev6", "ev8"],
        ),
        (
            "MATCH_anyEPC=urn:epc:id:sscc:0614141.1234567890",
            &["ev3", "ev4", "ev5"],
        ),
        (
            "MATCH_epcClass=urn:epc:class:lgtin:0614141.107346.LOT1",
            &["ev7"],
        ),
        (
            "MATCH_epcClass=urn:epc:idpat:sgtin:0614141.107346.*",
            &["ev7"],
        ),
        (
            "MATCH_anyEPCClass=https://id.gs1.org/01/10614141073464",
            &["ev7"],
        ),
        (
            "MATCH_inputEPCClass=urn:epc:idpat:sgtin:0614141.107346.*",
            &[],
        ),
        ("EQ_quantity=5", &["ev7"]),
        ("GT_quantity=5", &[]),
        ("GE_quantity=4.5&LE_quantity=5&LT_quantity=6", &["ev7"]),
        ("EQ_quantity_KGM=5", &["ev7"]),
        ("EQ_quantity_CEL=5", &[]),
        ("EQ_eventID=urn:test:ev2|urn:test:ev5", &["ev2", "ev5"]),
        ("EXISTS_errorDeclaration", &["ev6"]),
        (
            "EXISTS_errorDeclaration=false&EQ_bizStep=shipping",
            &["ev4"],
        ),
        ("GE_errorDeclarationTime=2024-02-01T00:00:00Z", &["ev6"]),
        ("LT_errorDeclarationTime=2024-02-01T00:00:00Z", &[]),
        ("EQ_errorReason=incorrect_data", &["ev6"]),
        ("EQ_correctiveEventID=urn:test:ev8", &["ev6"]),
        (
            "EQ_bizTransaction_po=urn:epcglobal:cbv:bt:0860001000009:PO-77",
            &["ev4"],
        ),
        (
            "EQ_bizTransaction_desadv=urn:epcglobal:cbv:bt:0614141000005:ASN-1",
            &["ev4"],
        ),
        (
            "EQ_bizTransaction_po=urn:epcglobal:cbv:bt:0614141000005:ASN-1",
            &[],
        ),
        (
            "EQ_source_owning_party=urn:epc:id:sgln:0614141.00000.0",
            &["ev4", "ev5", "ev6"],
        ),
        (
            "EQ_destination_owning_party=https://id.gs1.org/414/0860002000008",
            &["ev6"],
        ),
        (
            "EQ_destination_location=urn:epc:id:sgln:0860002.00000.0",
            &[],
        ),
        ("EQ_ILMD_cbvmda:lotNumber=LOT1|LOT2", &["ev1", "ev2"]),
        ("EQ_ILMD_urn:epcglobal:cbv:mda%23lotNumber=LOT2", &["ev2"]),
        ("EQ_ILMD_urn:epcglobal:cbv:mda:%23lotNumber=LOT1", &["ev1"]),
        ("EXISTS_ILMD_cbvmda:itemExpirationDate", &["ev1"]),
        ("EQ_http://ns.example.com/epcis/%23temp=4.5", &["ev4"]),
        ("GT_http://ns.example.com/epcis/%23temp=4", &["ev4"]),
        ("LE_http://ns.example.com/epcis/%23temp=4", &[]),
        ("EQ_INNER_http://ns.example.com/epcis/%23inner=7", &["ev4"]),
        ("EQ_http://ns.example.com/epcis/%23inner=7", &[]),
        ("EXISTS_INNER_http://ns.example.com/epcis/%23outer", &[]),
        ("EXISTS_sensorElementList", &["ev7"]),
        (
            "EQ_type=Temperature&EQ_deviceID=urn:test:thermometer",
            &["ev7"],
        ),
        (
            "GE_time=2024-01-07T09:00:00Z&LT_time=2024-01-07T09:00:01Z",
            &["ev7"],
        ),
        ("EQ_type=gs1:RelativeHumidity", &[]),
        (
            "EQ_bizStep=shipping&MATCH_epc=urn:epc:idpat:sscc:0614141.*&EQ_disposition=in_transit",
            &["ev4"],
        ),
    ];
    for (query, expected) in cases {
        let ids = all_ids(&c.home, &c.base, &format!("/epcis/events?{query}")).await;
        let got: BTreeSet<String> = ids.iter().cloned().collect();
        assert_eq!(got.len(), ids.len(), "{query}: duplicates {ids:?}");
        assert_eq!(got, set(expected), "{query}");
    }
    // The GS1-Extensions header declares prefixes for field names.
    let response = c
        .home
        .get(format!(
            "{}/epcis/events?GT_ex:temp=4&EQ_INNER_ex:inner=7",
            c.base
        ))
        .header("GS1-Extensions", "ex=http://ns.example.com/epcis/")
        .send()
        .await
        .unwrap();
    assert_eq!(event_ids(&response.json().await.unwrap()), ["urn:test:ev4"]);
    // Order: event time descending by default once orderBy is given.
    let ids = all_ids(
        &c.home,
        &c.base,
        "/epcis/events?orderBy=eventTime&EQ_action=ADD",
    )
    .await;
    assert_eq!(ids, ["urn:test:ev2", "urn:test:ev3", "urn:test:ev1"]);
    let ids = all_ids(
        &c.home,
        &c.base,
        "/epcis/events?orderBy=eventTime&orderDirection=ASC&EQ_action=ADD",
    )
    .await;
    assert_eq!(ids, ["urn:test:ev1", "urn:test:ev3", "urn:test:ev2"]);
    let ids = all_ids(&c.home, &c.base, "/epcis/events?EQ_action=ADD").await;
    assert_eq!(ids, ["urn:test:ev1", "urn:test:ev2", "urn:test:ev3"]);
    app.stop().await;
}

async fn partners_see_only_what_they_are_party_to(backend: Backend) {
    let Some((app, c)) = seeded(backend).await else {
        return;
    };
    // acme captured everything but ev5, and is the source of ev5.
    let acme = all_ids(&c.acme, &c.base, "/epcis/events").await;
    assert_eq!(acme.len(), 8);
    // east: its own capture (ev5) and the shipment to it (ev4).
    let east: BTreeSet<String> = all_ids(&c.east, &c.base, "/epcis/events")
        .await
        .into_iter()
        .collect();
    assert_eq!(east, set(&["ev4", "ev5"]));
    let west: BTreeSet<String> = all_ids(&c.west, &c.base, "/epcis/events")
        .await
        .into_iter()
        .collect();
    assert_eq!(west, set(&["ev6"]));
    // A filter never widens what a partner sees.
    let west = all_ids(
        &c.west,
        &c.base,
        "/epcis/events?MATCH_anyEPC=urn:epc:id:sscc:0614141.1234567890",
    )
    .await;
    assert!(west.is_empty());
    app.stop().await;
}

async fn pagination_walks_every_page_once(backend: Backend) {
    let Some((app, c)) = seeded(backend).await else {
        return;
    };
    for order in [
        "",
        "&orderBy=eventTime",
        "&orderBy=recordTime&orderDirection=ASC",
    ] {
        let whole = all_ids(
            &c.home,
            &c.base,
            &format!("/epcis/events?perPage=100{order}"),
        )
        .await;
        for per_page in [1, 2, 3, 7] {
            let paged = all_ids(
                &c.home,
                &c.base,
                &format!("/epcis/events?perPage={per_page}{order}"),
            )
            .await;
            assert_eq!(paged, whole, "perPage={per_page}{order}");
        }
    }
    // eventCountLimit caps the total over all pages.
    let capped = all_ids(
        &c.home,
        &c.base,
        "/epcis/events?perPage=2&eventCountLimit=3",
    )
    .await;
    assert_eq!(capped, ["urn:test:ev1", "urn:test:ev2", "urn:test:ev3"]);
    // The headers of a page with more to come.
    let response = c
        .home
        .get(format!(
            "{}/epcis/events?perPage=2&EQ_bizStep=shipping%7Creceiving",
            c.base
        ))
        .send()
        .await
        .unwrap();
    let link = response.headers()["link"].to_str().unwrap().to_owned();
    assert!(
        link.starts_with("</epcis/events?perPage=2&EQ_bizStep=shipping%7Creceiving&nextPageToken="),
        "{link}"
    );
    let expires = response.headers()["GS1-Next-Page-Token-Expires"]
        .to_str()
        .unwrap();
    assert!(
        time::OffsetDateTime::parse(expires, &time::format_description::well_known::Rfc3339)
            .is_ok()
    );
    assert_eq!(response.headers()["GS1-EPCIS-Version"], "2.0.0");
    assert_eq!(response.headers()["GS1-CBV-Version"], "2.0.0");
    app.stop().await;
}

fn token_of(response: &reqwest::Response) -> String {
    let link = response.headers()["link"].to_str().unwrap();
    link.split("nextPageToken=")
        .nth(1)
        .unwrap()
        .split('>')
        .next()
        .unwrap()
        .to_owned()
}

async fn problem_of(response: reqwest::Response) -> (u16, String, String) {
    let status = response.status().as_u16();
    let body: serde_json::Value = response.json().await.unwrap();
    (
        status,
        body["type"].as_str().unwrap().to_owned(),
        body["detail"].as_str().unwrap().to_owned(),
    )
}

async fn tampered_and_foreign_page_tokens_are_refused(backend: Backend) {
    let Some((app, c)) = seeded(backend).await else {
        return;
    };
    let first = c
        .home
        .get(format!("{}/epcis/events?perPage=2", c.base))
        .send()
        .await
        .unwrap();
    let token = token_of(&first);
    // Flip one hex digit in the middle (the position part).
    let mut bytes = token.clone().into_bytes();
    let i = bytes.len() / 2;
    bytes[i] = if bytes[i] == b'0' { b'1' } else { b'0' };
    let tampered = String::from_utf8(bytes).unwrap();
    for (query, why) in [
        (format!("perPage=2&nextPageToken={tampered}"), "not valid"),
        (
            format!("perPage=2&nextPageToken={token}&EQ_action=ADD"),
            "different query",
        ),
        ("nextPageToken=zz".to_owned(), "not valid"),
    ] {
        let response = c
            .home
            .get(format!("{}/epcis/events?{query}", c.base))
            .send()
            .await
            .unwrap();
        let (status, kind, detail) = problem_of(response).await;
        assert_eq!(
            (status, kind.as_str()),
            (400, "epcisException:QueryParameterException"),
            "{query}"
        );
        assert!(detail.contains(why), "{detail}");
    }
    // The genuine token still works, with another page size too.
    let response = c
        .home
        .get(format!(
            "{}/epcis/events?perPage=3&nextPageToken={token}",
            c.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(
        event_ids(&response.json().await.unwrap()),
        ["urn:test:ev3", "urn:test:ev4", "urn:test:ev6"]
    );
    app.stop().await;
}

async fn both_syntaxes_decode_back_and_epcs_follow_the_requested_format(backend: Backend) {
    let Some((app, c)) = seeded(backend).await else {
        return;
    };
    let url = format!(
        "{}/epcis/events?orderBy=eventTime&orderDirection=ASC",
        c.base
    );
    let xml = c
        .home
        .get(&url)
        .header("Accept", "application/xml")
        .send()
        .await
        .unwrap();
    assert_eq!(xml.headers()["content-type"], "application/xml");
    let xml = epcis::decode(&xml.bytes().await.unwrap()).unwrap();
    let json = c.home.get(&url).send().await.unwrap();
    assert_eq!(json.headers()["content-type"], "application/ld+json");
    let json = epcis::decode(&json.bytes().await.unwrap()).unwrap();
    assert_eq!(xml.kind, epcis::model::DocumentKind::Query);
    assert_eq!(json.kind, epcis::model::DocumentKind::Query);
    let ids = |d: &epcis::Document| -> Vec<String> {
        d.events
            .iter()
            .map(|e| e.event_id.clone().unwrap())
            .collect()
    };
    assert_eq!(ids(&xml), ids(&json));
    assert_eq!(ids(&xml).len(), 8);
    // The same events, up to the namespace prefixes each syntax picks (JSON-LD may not rebind
    // the protected `cbvmda` of the 2.0 context).
    assert_eq!(
        without_prefixes(xml.events.clone()),
        without_prefixes(json.events.clone())
    );
    // Digital Link by default; URNs when asked; as captured when asked.
    let ev2 = |d: &epcis::Document| {
        d.events
            .iter()
            .find(|e| e.event_id.as_deref() == Some("urn:test:ev2"))
            .unwrap()
            .epc_list
            .clone()
    };
    assert_eq!(
        ev2(&json),
        [
            "https://id.gs1.org/01/10614141073464/21/2001",
            "https://id.gs1.org/01/10614141073464/21/2002"
        ]
    );
    for (format, expected) in [
        (
            "Always_EPC_URN",
            [
                "urn:epc:id:sgtin:0614141.107346.2001",
                "urn:epc:id:sgtin:0614141.107346.2002",
            ],
        ),
        (
            "Never_Translates",
            [
                "urn:epc:id:sgtin:0614141.107346.2001",
                "https://id.gs1.org/01/10614141073464/21/2002",
            ],
        ),
    ] {
        let doc = c
            .home
            .get(&url)
            .header("GS1-EPC-Format", format)
            .send()
            .await
            .unwrap();
        let doc = epcis::decode(&doc.bytes().await.unwrap()).unwrap();
        assert_eq!(ev2(&doc), expected, "{format}");
    }
    app.stop().await;
}

fn without_prefixes(mut events: Vec<epcis::Event>) -> Vec<epcis::Event> {
    fn strip(elements: &mut [epcis::model::Element]) {
        for e in elements {
            e.prefix = None;
            strip(&mut e.children);
        }
    }
    for e in &mut events {
        strip(e.ilmd.as_deref_mut().unwrap_or_default());
        strip(&mut e.extensions);
    }
    events
}

async fn one_event_comes_with_its_error_declarations(backend: Backend) {
    let Some((app, c)) = seeded(backend).await else {
        return;
    };
    let response = c
        .west
        .get(format!("{}/epcis/events/urn:test:ev6", c.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let doc = epcis::decode(&response.bytes().await.unwrap()).unwrap();
    assert_eq!(doc.events.len(), 2);
    assert!(doc.events[0].error_declaration.is_none());
    let declaration = doc.events[1].error_declaration.as_ref().unwrap();
    assert_eq!(
        declaration.reason.as_deref(),
        Some("urn:epcglobal:cbv:er:incorrect_data")
    );
    assert_eq!(declaration.corrective_event_ids, ["urn:test:ev8"]);
    // An event the caller cannot see answers like one that does not exist.
    let hidden = problem_of(
        c.west
            .get(format!("{}/epcis/events/urn:test:ev1", c.base))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let absent = problem_of(
        c.west
            .get(format!("{}/epcis/events/urn:test:nope", c.base))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (hidden.0, hidden.1.as_str()),
        (404, "epcisException:NoSuchResourceException")
    );
    assert_eq!((absent.0, absent.1.as_str()), (hidden.0, hidden.1.as_str()));
    // The hash ID finds the event too.
    let hash = {
        let original = doc.events[0].clone();
        epcis::event_hash_id(&original)
    };
    let encoded = hash
        .replace('/', "%2F")
        .replace(';', "%3B")
        .replace('?', "%3F")
        .replace('=', "%3D");
    let response = c
        .home
        .get(format!("{}/epcis/events/{encoded}", c.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{hash}");
    app.stop().await;
}

async fn listings_show_visible_values(backend: Backend) {
    let Some((app, c)) = seeded(backend).await else {
        return;
    };
    let members = |body: serde_json::Value| -> Vec<String> {
        assert_eq!(body["type"], "Collection");
        body["member"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m.as_str().unwrap().to_owned())
            .collect()
    };
    let get = |client: &reqwest::Client, path: &str| {
        let url = format!("{}{path}", c.base);
        let client = client.clone();
        async move { client.get(url).send().await.unwrap() }
    };
    assert_eq!(
        members(get(&c.home, "/epcis/bizSteps").await.json().await.unwrap()),
        [
            "urn:epcglobal:cbv:bizstep:commissioning",
            "urn:epcglobal:cbv:bizstep:inspecting",
            "urn:epcglobal:cbv:bizstep:packing",
            "urn:epcglobal:cbv:bizstep:receiving",
            "urn:epcglobal:cbv:bizstep:repackaging",
            "urn:epcglobal:cbv:bizstep:shipping"
        ]
        .map(|u| u.rsplit(':').next().unwrap())
    );
    assert_eq!(
        members(get(&c.east, "/epcis/bizSteps").await.json().await.unwrap()),
        ["receiving", "shipping"]
    );
    assert_eq!(
        members(
            get(&c.west, "/epcis/dispositions")
                .await
                .json()
                .await
                .unwrap()
        ),
        ["in_transit"]
    );
    assert_eq!(
        members(
            get(&c.east, "/epcis/eventTypes")
                .await
                .json()
                .await
                .unwrap()
        ),
        ["ObjectEvent"]
    );
    assert_eq!(
        members(
            get(&c.east, "/epcis/readPoints")
                .await
                .json()
                .await
                .unwrap()
        ),
        [
            "https://id.gs1.org/414/0614141000012",
            "https://id.gs1.org/414/0860001000016"
        ]
    );
    assert_eq!(
        members(
            get(&c.east, "/epcis/bizLocations")
                .await
                .json()
                .await
                .unwrap()
        ),
        ["https://id.gs1.org/414/0860001000016"]
    );
    // Listings page too.
    let first = get(&c.home, "/epcis/bizSteps?perPage=4").await;
    let token = token_of(&first);
    assert_eq!(members(first.json().await.unwrap()).len(), 4);
    let rest = get(
        &c.home,
        &format!("/epcis/bizSteps?perPage=4&nextPageToken={token}"),
    )
    .await;
    assert!(rest.headers().get("link").is_none());
    assert_eq!(
        members(rest.json().await.unwrap()),
        ["repackaging", "shipping"]
    );
    // Value resources and their events.
    assert_eq!(
        members(
            get(&c.east, "/epcis/bizSteps/shipping")
                .await
                .json()
                .await
                .unwrap()
        ),
        ["events"]
    );
    assert_eq!(get(&c.east, "/epcis/bizSteps/packing").await.status(), 404);
    let ids = all_ids(&c.east, &c.base, "/epcis/bizSteps/shipping/events").await;
    assert_eq!(ids, ["urn:test:ev4"]);
    let ids = all_ids(
        &c.home,
        &c.base,
        "/epcis/eventTypes/AggregationEvent/events",
    )
    .await;
    assert_eq!(ids, ["urn:test:ev3"]);
    let ids = all_ids(&c.home, &c.base, "/epcis/dispositions/in_transit/events?EQ_bizTransaction_po=urn:epcglobal:cbv:bt:0860002000008:PO-88").await;
    assert_eq!(ids, ["urn:test:ev6"]);
    let ids = all_ids(
        &c.home,
        &c.base,
        "/epcis/readPoints/urn:epc:id:sgln:0860001.00001.0/events",
    )
    .await;
    assert_eq!(ids, ["urn:test:ev5"]);
    let ids = all_ids(
        &c.home,
        &c.base,
        "/epcis/bizLocations/https://id.gs1.org/414/0614141000012/events",
    )
    .await;
    assert_eq!(ids, ["urn:test:ev1"]);
    // An EPC as URN, and as an unencoded Digital Link.
    let ids = all_ids(
        &c.home,
        &c.base,
        "/epcis/epcs/urn:epc:id:sgtin:0614141.107346.3001/events",
    )
    .await;
    assert_eq!(ids, ["urn:test:ev6", "urn:test:ev8"]);
    let sscc = dscsa_exchange::stored::epc_key(SSCC);
    assert!(sscc.starts_with("https://id.gs1.org/00/"), "{sscc}");
    let ids = all_ids(&c.east, &c.base, &format!("/epcis/epcs/{sscc}/events")).await;
    assert_eq!(ids, ["urn:test:ev4", "urn:test:ev5"]);
    app.stop().await;
}

async fn master_data_by_gtin_ndc_and_gln(backend: Backend) {
    let Some((app, c)) = seeded(backend).await else {
        return;
    };
    let get = |client: &reqwest::Client, path: &str| {
        let url = format!("{}{path}", c.base);
        let client = client.clone();
        async move { client.get(url).send().await.unwrap() }
    };
    for path in [
        "/masterdata/products/10614141073464",
        "/masterdata/products/0614-1100-01",
        "/masterdata/products/0614110001",
    ] {
        let response = get(&c.home, path).await;
        assert_eq!(response.status(), 200, "{path}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["gtin"], "10614141073464", "{path}");
        assert_eq!(body["name"], "Examplamab 10 mg");
        assert_eq!(body["versions"], 1);
    }
    // west sees an event with a serial of this GTIN (ev6); a partner with no such event does not.
    assert_eq!(
        get(&c.west, "/masterdata/products/10614141073464")
            .await
            .status(),
        200
    );
    app.register(partner("south", &["0860003000007"])).await;
    let south = app.client(Some(&app.issue("south")));
    let hidden = problem_of(get(&south, "/masterdata/products/10614141073464").await).await;
    let absent = problem_of(get(&c.home, "/masterdata/products/10614141999993").await).await;
    assert_eq!(
        (hidden.0, hidden.1.as_str()),
        (404, "epcisException:NoSuchResourceException")
    );
    assert_eq!((absent.0, absent.1.as_str()), (hidden.0, hidden.1.as_str()));
    let bad = problem_of(get(&c.home, "/masterdata/products/12345").await).await;
    assert_eq!(
        (bad.0, bad.1.as_str()),
        (400, "epcisException:QueryParameterException")
    );
    // Locations: by GLN; east sees acme's plant (the read point of ev4), west does not.
    let body: serde_json::Value = get(&c.home, "/masterdata/locations/0614141000005")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["name"], "Acme HQ");
    assert_eq!(
        body["children"],
        serde_json::json!(["urn:epc:id:sgln:0614141.00001.0"])
    );
    assert_eq!(
        get(&c.east, "/masterdata/locations/0614141000012")
            .await
            .status(),
        200
    );
    assert_eq!(
        get(&c.west, "/masterdata/locations/0614141000012")
            .await
            .status(),
        404
    );
    // The owning party GLN of ev6's source is visible to west through the event.
    assert_eq!(
        get(&c.west, "/masterdata/locations/0614141000005")
            .await
            .status(),
        200
    );
    app.stop().await;
}

async fn limits_and_refusals_are_epcis_exceptions(backend: Backend) {
    let Some((app, c)) = seeded(backend).await else {
        return;
    };
    let get = |query: &str| {
        let url = format!("{}/epcis/events?{query}", c.base);
        let client = c.home.clone();
        async move { client.get(url).send().await.unwrap() }
    };
    let (status, kind, detail) = problem_of(get("maxEventCount=7").await).await;
    assert_eq!(
        (status, kind.as_str()),
        (413, "epcisException:QueryTooLargeException")
    );
    assert!(detail.contains("maxEventCount=7"), "{detail}");
    assert_eq!(get("maxEventCount=8").await.status(), 200);
    for (query, named) in [
        ("EQ_bizstep=shipping", "EQ_bizstep"),
        ("GE_eventTime=yesterday", "GE_eventTime=\"yesterday\""),
        ("perPage=5000", "perPage=\"5000\""),
        (
            "MATCH_epc=urn:epc:idpat:sgtin:0614141.107346.1",
            "MATCH_epc=",
        ),
        ("eventCountLimit=1&maxEventCount=1", "mutually exclusive"),
    ] {
        let (status, kind, detail) = problem_of(get(query).await).await;
        assert_eq!(
            (status, kind.as_str()),
            (400, "epcisException:QueryParameterException"),
            "{query}"
        );
        assert!(detail.contains(named), "{query}: {detail}");
    }
    let response = c
        .home
        .get(format!("{}/epcis/events", c.base))
        .header("Accept", "text/html")
        .send()
        .await
        .unwrap();
    let (status, kind, _) = problem_of(response).await;
    assert_eq!(
        (status, kind.as_str()),
        (406, "epcisException:NotAcceptableException")
    );
    // Without a certificate bound to a principal, nothing.
    let stranger = app.client(Some(&app.issue("stranger")));
    let response = stranger
        .get(format!("{}/epcis/events", c.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    app.stop().await;
}

// --- property test ---------------------------------------------------------------------------

/// Picking from a list with the fixtures' deterministic generator, so a failure replays with
/// its seed.
trait Pick {
    fn pick<T: Copy>(&mut self, items: &[T]) -> T;
}

impl Pick for dscsa_exchange::fixtures::Rng {
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}

/// The partners of the property test: id and party GLN (the SGLN `cp.00000.0` of the GLN).
const PARTIES: [(&str, &str, &str); 5] = [
    (
        "party-a",
        "0614141000005",
        "urn:epc:id:sgln:0614141.00000.0",
    ),
    (
        "party-b",
        "0860001000009",
        "urn:epc:id:sgln:0860001.00000.0",
    ),
    (
        "party-c",
        "0860002000008",
        "urn:epc:id:sgln:0860002.00000.0",
    ),
    (
        "party-d",
        "0360003000002",
        "urn:epc:id:sgln:0360003.00000.0",
    ),
    (
        "party-e",
        "0360004000001",
        "urn:epc:id:sgln:0360004.00000.0",
    ),
];
/// A party no partner owns.
const STRANGER: (&str, &str) = ("0360005000000", "urn:epc:id:sgln:0360005.00000.0");
const STEPS: [&str; 3] = ["shipping", "receiving", "packing"];
const POS: [&str; 3] = ["urn:test:po:1", "urn:test:po:2", "urn:test:po:3"];

#[derive(Debug)]
struct RandomEvent {
    id: String,
    captured_by: &'static str,
    step: &'static str,
    serials: Vec<u32>,
    po: Option<&'static str>,
    source: Option<(&'static str, &'static str)>,
    destination: Option<(&'static str, &'static str)>,
}

impl RandomEvent {
    fn xml(&self) -> String {
        let epcs: String = self
            .serials
            .iter()
            .map(|s| format!("<epc>{}</epc>", sgtin(&s.to_string())))
            .collect();
        let po = self.po.map_or(String::new(), |po| {
            format!(r#"<bizTransactionList><bizTransaction type="urn:epcglobal:cbv:btt:po">{po}</bizTransaction></bizTransactionList>"#)
        });
        let source = self.source.map_or(String::new(), |(_, sgln)| {
            format!(r#"<sourceList><source type="urn:epcglobal:cbv:sdt:owning_party">{sgln}</source></sourceList>"#)
        });
        let destination = self.destination.map_or(String::new(), |(_, sgln)| {
            format!(r#"<destinationList><destination type="urn:epcglobal:cbv:sdt:owning_party">{sgln}</destination></destinationList>"#)
        });
        format!(
            r#"<ObjectEvent><eventTime>2024-03-01T00:00:00Z</eventTime><eventTimeZoneOffset>+00:00</eventTimeZoneOffset><eventID>{id}</eventID><epcList>{epcs}</epcList><action>OBSERVE</action><bizStep>urn:epcglobal:cbv:bizstep:{step}</bizStep>{po}{source}{destination}</ObjectEvent>"#,
            id = self.id,
            step = self.step,
        )
    }

    fn glns(&self) -> Vec<&'static str> {
        self.source
            .iter()
            .chain(&self.destination)
            .map(|(gln, _)| *gln)
            .collect()
    }
}

#[derive(Debug)]
struct RandomQuery {
    step: Option<&'static str>,
    serial: Option<u32>,
    po: Option<&'static str>,
    source: Option<(&'static str, &'static str)>,
}

impl RandomQuery {
    fn url(&self, per_page: usize) -> String {
        let mut q = format!("/epcis/events?perPage={per_page}");
        if let Some(s) = self.step {
            q.push_str(&format!("&EQ_bizStep={s}"));
        }
        if let Some(s) = self.serial {
            q.push_str(&format!("&MATCH_epc={}", sgtin(&s.to_string())));
        }
        if let Some(po) = self.po {
            q.push_str(&format!("&EQ_bizTransaction_po={po}"));
        }
        if let Some((_, sgln)) = self.source {
            q.push_str(&format!("&EQ_source_owning_party={sgln}"));
        }
        q
    }

    fn matches(&self, e: &RandomEvent) -> bool {
        self.step.is_none_or(|s| s == e.step)
            && self.serial.is_none_or(|s| e.serials.contains(&s))
            && self.po.is_none_or(|po| e.po == Some(po))
            && self.source.is_none_or(|s| e.source == Some(s))
    }
}

async fn random_queries_return_exactly_the_visible_matching_events(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let seed = 0x5EED_0005;
    let mut rng = dscsa_exchange::fixtures::Rng(seed);
    let principals: Vec<partners::Principal> = PARTIES
        .iter()
        .map(|(id, gln, _)| partner(id, &[gln]))
        .collect();
    for p in &principals {
        app.register(p.clone()).await;
    }
    let mut pool: Vec<(&str, &str)> = PARTIES.iter().map(|(_, g, s)| (*g, *s)).collect();
    pool.push(STRANGER);
    let events: Vec<RandomEvent> = (0..60)
        .map(|i| {
            let mut serials: Vec<u32> = (0..1 + rng.below(3))
                .map(|_| rng.below(12) as u32)
                .collect();
            serials.sort_unstable();
            serials.dedup();
            RandomEvent {
                id: format!("urn:test:rand:{i}"),
                captured_by: PARTIES[rng.below(PARTIES.len())].0,
                step: rng.pick(&STEPS),
                serials,
                po: (rng.below(2) == 0).then(|| rng.pick(&POS)),
                source: (rng.below(3) > 0).then(|| rng.pick(&pool)),
                destination: (rng.below(3) > 0).then(|| rng.pick(&pool)),
            }
        })
        .collect();
    // Each partner captures its own events, several per document.
    for (id, _, _) in PARTIES {
        let mine: String = events
            .iter()
            .filter(|e| e.captured_by == id)
            .map(RandomEvent::xml)
            .collect();
        if !mine.is_empty() {
            capture_as(&app, id, document("", &mine)).await;
        }
    }
    let clients: Vec<reqwest::Client> = PARTIES
        .iter()
        .map(|(id, _, _)| app.client(Some(&app.issue(id))))
        .collect();
    for round in 0..25 {
        let query = RandomQuery {
            step: (rng.below(2) == 0).then(|| rng.pick(&STEPS)),
            serial: (rng.below(3) == 0).then(|| rng.below(12) as u32),
            po: (rng.below(3) == 0).then(|| rng.pick(&POS)),
            source: (rng.below(4) == 0).then(|| rng.pick(&pool)),
        };
        let per_page = 1 + rng.below(20);
        for (principal, client) in principals.iter().zip(&clients) {
            let visibility = Visibility::of(principal);
            let expected: BTreeSet<String> = events
                .iter()
                .filter(|e| query.matches(e) && visibility.permits(e.captured_by, &e.glns()))
                .map(|e| e.id.clone())
                .collect();
            let got = all_ids(client, &app.base, &query.url(per_page)).await;
            let got_set: BTreeSet<String> = got.iter().cloned().collect();
            assert_eq!(
                got_set.len(),
                got.len(),
                "duplicates: seed {seed:#x} round {round}"
            );
            for id in &got_set {
                let e = events.iter().find(|e| &e.id == id).unwrap();
                assert!(
                    visibility.permits(e.captured_by, &e.glns()),
                    "{} received {id} it is not party to (seed {seed:#x}, round {round})",
                    principal.id
                );
            }
            assert_eq!(
                got_set, expected,
                "{} with {query:?} (seed {seed:#x}, round {round})",
                principal.id
            );
        }
    }
    app.stop().await;
}
