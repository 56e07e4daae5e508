//! XML output: XSD element order, 1.2 wrappers, header, query documents, escaping, prefixes.

use super::*;

#[test]
fn xml_20_events_follow_the_xsd_sequences() {
    // The sequences of EPCglobal-epcis-2_0.xsd, type by type, then the user extensions.
    let tail = ["extension", "gs1ushc:dropShipment"];
    let cases: [(EventKind, &[&str]); 5] = [
        (
            EventKind::Object,
            &[
                "epcList",
                "action",
                "bizStep",
                "disposition",
                "readPoint",
                "bizLocation",
                "bizTransactionList",
                "quantityList",
                "sourceList",
                "destinationList",
                "sensorElementList",
                "persistentDisposition",
                "ilmd",
            ],
        ),
        (
            EventKind::Aggregation,
            &[
                "parentID",
                "childEPCs",
                "action",
                "bizStep",
                "disposition",
                "readPoint",
                "bizLocation",
                "bizTransactionList",
                "childQuantityList",
                "sourceList",
                "destinationList",
                "sensorElementList",
                "persistentDisposition",
            ],
        ),
        (
            EventKind::Transaction,
            &[
                "bizTransactionList",
                "parentID",
                "epcList",
                "action",
                "bizStep",
                "disposition",
                "readPoint",
                "bizLocation",
                "quantityList",
                "sourceList",
                "destinationList",
                "sensorElementList",
                "persistentDisposition",
            ],
        ),
        (
            EventKind::Transformation,
            &[
                "inputEPCList",
                "inputQuantityList",
                "outputEPCList",
                "outputQuantityList",
                "transformationID",
                "bizStep",
                "disposition",
                "readPoint",
                "bizLocation",
                "bizTransactionList",
                "sourceList",
                "destinationList",
                "sensorElementList",
                "persistentDisposition",
                "ilmd",
            ],
        ),
        (
            EventKind::Association,
            &[
                "parentID",
                "childEPCs",
                "childQuantityList",
                "action",
                "bizStep",
                "disposition",
                "readPoint",
                "bizLocation",
                "bizTransactionList",
                "sourceList",
                "destinationList",
                "sensorElementList",
                "persistentDisposition",
            ],
        ),
    ];
    for (kind, body) in cases {
        let root = parse(&to_xml(&doc(vec![full_event(kind)]), EpcisVersion::V2_0));
        let ev = &events_of(&root).children[0];
        assert_eq!(ev.name, kind.name());
        let want: Vec<&str> = BASE_20.iter().chain(body).chain(&tail).copied().collect();
        assert_eq!(ev.names(), want, "{kind:?}");
        let pd = ev.child("persistentDisposition");
        assert_eq!(pd.names(), ["unset", "set"]);
        let q = &ev
            .children
            .iter()
            .find(|c| c.name.ends_with("uantityList"))
            .unwrap();
        assert_eq!(q.children[0].names(), ["epcClass", "quantity", "uom"]);
    }
}

#[test]
fn xml_12_puts_newer_fields_in_the_extension_wrappers() {
    let events = [
        EventKind::Object,
        EventKind::Transformation,
        EventKind::Association,
    ]
    .map(full_event)
    .to_vec();
    let root = parse(&to_xml(&doc(events), EpcisVersion::V1_2));
    assert_eq!(root.name, "epcis:EPCISDocument");
    assert_eq!(root.attr("xmlns:epcis"), Some("urn:epcglobal:epcis:xsd:1"));
    assert_eq!(root.attr("schemaVersion"), Some("1.2"));
    let list = events_of(&root);
    assert_eq!(list.names(), ["ObjectEvent", "extension", "extension"]);

    let object = &list.children[0];
    assert_eq!(
        object.names(),
        [
            "eventTime",
            "recordTime",
            "eventTimeZoneOffset",
            "baseExtension",
            "epcList",
            "action",
            "bizStep",
            "disposition",
            "readPoint",
            "bizLocation",
            "bizTransactionList",
            "extension",
            "gs1ushc:dropShipment",
        ]
    );
    let base = object.child("baseExtension");
    assert_eq!(base.names(), ["eventID", "errorDeclaration", "extension"]);
    assert_eq!(base.child("extension").names(), ["certificationInfo"]);
    let ext = object.child("extension");
    assert_eq!(
        ext.names(),
        [
            "quantityList",
            "sourceList",
            "destinationList",
            "ilmd",
            "extension"
        ]
    );
    assert_eq!(
        ext.child("extension").names(),
        ["sensorElementList", "persistentDisposition", "note"]
    );
    assert_eq!(
        ext.child("ilmd").child("cbvmda:lotNumber").text,
        "A123",
        "ILMD keeps the 1.2 CBV master-data namespace"
    );

    let transformation = list.children[1].child("TransformationEvent");
    let names = transformation.names();
    assert!(
        names.ends_with(&["ilmd", "extension", "gs1ushc:dropShipment"]),
        "{names:?}"
    );
    assert_eq!(
        transformation.child("extension").names(),
        ["sensorElementList", "persistentDisposition", "note"]
    );

    let association = list.children[2]
        .child("extension")
        .child("AssociationEvent");
    let names = association.names();
    assert_eq!(names[3], "baseExtension");
    assert!(names.contains(&"childQuantityList") && names.contains(&"sensorElementList"));
}

#[test]
fn xml_header_has_sbdh_first_then_master_data_then_gs1ushc() {
    let mut d = doc(Vec::new());
    d.header = dscsa_header();
    for v in [EpcisVersion::V1_2, EpcisVersion::V2_0] {
        let root = parse(&to_xml(&d, v));
        let h = root.child("EPCISHeader");
        assert_eq!(
            h.names(),
            [
                "sbdh:StandardBusinessDocumentHeader",
                "extension",
                "gs1ushc:guidelineVersion",
                "gs1ushc:dscsaTransactionStatement",
            ]
        );
        let sbdh = h.child("sbdh:StandardBusinessDocumentHeader");
        assert_eq!(
            sbdh.names(),
            [
                "sbdh:HeaderVersion",
                "sbdh:Sender",
                "sbdh:DocumentIdentification"
            ]
        );
        let id = sbdh.child("sbdh:Sender").child("sbdh:Identifier");
        assert_eq!(id.attr("Authority"), Some("GS1"));
        let md = h
            .child("extension")
            .child("EPCISMasterData")
            .child("VocabularyList");
        let el = md
            .child("Vocabulary")
            .child("VocabularyElementList")
            .child("VocabularyElement");
        assert_eq!(el.names(), ["attribute", "attribute", "children"]);
        assert_eq!(el.children[1].child("ex:layers").text, "3");
        assert_eq!(root.child("EPCISBody").child("EventList").children.len(), 0);
    }
}

#[test]
fn query_documents_wrap_the_event_list_in_query_results() {
    let mut d = doc(vec![full_event(EventKind::Object)]);
    d.kind = DocumentKind::Query;
    d.query_name = Some("SimpleEventQuery".into());
    d.subscription_id = Some("sub-1".into());
    let root = parse(&to_xml(&d, EpcisVersion::V2_0));
    assert_eq!(root.name, "epcisq:EPCISQueryDocument");
    let qr = root.child("EPCISBody").child("epcisq:QueryResults");
    assert_eq!(qr.names(), ["queryName", "subscriptionID", "resultsBody"]);
    assert_eq!(qr.child("resultsBody").child("EventList").children.len(), 1);
    let j: Value = serde_json::from_str(&to_jsonld(&d)).unwrap();
    assert_eq!(j["type"], "EPCISQueryDocument");
    let qr = &j["epcisBody"]["queryResults"];
    assert_eq!(qr["queryName"], "SimpleEventQuery");
    assert_eq!(qr["subscriptionID"], "sub-1");
    assert_eq!(qr["resultsBody"]["eventList"][0]["type"], "ObjectEvent");
}

const HOSTILE: &str = "a<b>&c\"d' ]]> <!-- x --> \u{1}\u{1F}\te\r\nf é 漢 🚀 \u{FFFF}";

#[test]
fn hostile_text_and_names_stay_text() {
    let mut e = full_event(EventKind::Object);
    let mut evil = leaf(EXT, "ex", "x\"/><evil attr=\"", HOSTILE);
    evil.attributes.push(Attribute {
        namespace: String::new(),
        name: "v".into(),
        value: HOSTILE.into(),
    });
    evil.attributes.push(Attribute {
        namespace: String::new(),
        name: "xmlns".into(),
        value: "http://evil.example/".into(),
    });
    e.ilmd = Some(vec![leaf(MDA12, "cbvmda", "lotNumber", HOSTILE), evil]);
    let mut d = doc(vec![e]);
    d.header.transaction_statement = Some(TransactionStatement {
        legal_notice: Some(HOSTILE.into()),
        ..TransactionStatement::default()
    });
    // XML 1.0 cannot carry U+0001, U+001F or U+FFFF at all: they become U+FFFD.
    let xml_form = HOSTILE.replace(['\u{1}', '\u{1F}', '\u{FFFF}'], "\u{FFFD}");
    for v in [EpcisVersion::V1_2, EpcisVersion::V2_0] {
        let out = to_xml(&d, v);
        assert!(!out.contains("<evil"), "{out}");
        let root = parse(&out);
        let ev = &events_of(&root).children[0];
        let ilmd = match v {
            EpcisVersion::V1_2 => ev.child("extension").child("ilmd"),
            EpcisVersion::V2_0 => ev.child("ilmd"),
        };
        assert_eq!(ilmd.child("cbvmda:lotNumber").text, xml_form);
        let evil = ilmd.child("ex:x____evil_attr__");
        assert_eq!(evil.attr("v"), Some(xml_form.as_str()));
        assert_eq!(evil.attr("_xmlns"), Some("http://evil.example/"));
        assert_eq!(evil.attr("xmlns"), None);
        let st = root
            .child("EPCISHeader")
            .child("gs1ushc:dscsaTransactionStatement");
        assert_eq!(st.child("gs1ushc:legalNotice").text, xml_form);
    }
    let j: Value = serde_json::from_str(&to_jsonld(&d)).unwrap();
    let ilmd = &j["epcisBody"]["eventList"][0]["ilmd"];
    assert_eq!(
        ilmd["cbvmda12:lotNumber"], HOSTILE,
        "JSON carries every character"
    );
    assert_eq!(ilmd["ex:x____evil_attr__"]["v"], HOSTILE);
    assert_eq!(ilmd["ex:x____evil_attr__"]["#text"], HOSTILE);
    let st = &j["epcisHeader"]["gs1ushc:dscsaTransactionStatement"];
    assert_eq!(st["gs1ushc:legalNotice"], HOSTILE);
}

/// Fails when an element declares a prefix that is already in scope with another URI.
fn assert_no_rebinding(n: &Node, scope: &mut Vec<(String, String)>) {
    let depth = scope.len();
    for (k, v) in &n.attrs {
        if let Some(p) = k.strip_prefix("xmlns:") {
            let outer = scope.iter().rev().find(|(q, _)| q == p);
            assert!(
                outer.is_none_or(|(_, u)| u == v),
                "<{}> rebinds {p} from {outer:?} to {v}",
                n.name
            );
            scope.push((p.to_owned(), v.clone()));
        }
    }
    for c in &n.children {
        assert_no_rebinding(c, scope);
    }
    scope.truncate(depth);
}

#[test]
fn xml_prefixes_are_never_rebound() {
    let d = doc(vec![clashing_event(), full_event(EventKind::Aggregation)]);
    for v in [EpcisVersion::V1_2, EpcisVersion::V2_0] {
        for xml in [to_xml(&d, v), streamed_xml(&d, v)] {
            assert_no_rebinding(&parse(&xml), &mut Vec::new());
            let ilmd = xml.split("<ilmd>").nth(1).unwrap();
            assert!(ilmd.contains("<cbvmda:lotNumber>"), "{ilmd}");
            assert!(ilmd.contains("<cbvmda1:itemExpirationDate>"), "{ilmd}");
            // The ILMD's `ex` came first; the error declaration's `ex` namespace gets `ex1`.
            assert!(
                ilmd.contains("<ex:grade>") && ilmd.contains("<ns1:x>"),
                "{ilmd}"
            );
            assert!(xml.contains("<ex1:ticket>"), "{xml}");
        }
    }
}

fn streamed_xml(d: &Document, v: EpcisVersion) -> String {
    let mut w = XmlWriter::new(Vec::new(), &DocumentHead::of(d), v).unwrap();
    for e in &d.events {
        w.event(e).unwrap();
    }
    String::from_utf8(w.finish().unwrap()).unwrap()
}

#[test]
fn unqualified_extensions_keep_their_order_in_runs() {
    let mut e = full_event(EventKind::Object);
    e.ilmd = Some(vec![
        leaf(EXT, "ex", "a", "1"),
        leaf("", "", "b", "2"),
        leaf("", "", "c", "3"),
        leaf(EXT, "ex", "d", "4"),
    ]);
    let root = parse(&to_xml(&doc(vec![e]), EpcisVersion::V2_0));
    let ilmd = events_of(&root).children[0].child("ilmd");
    assert_eq!(ilmd.names(), ["ex:a", "extension", "ex:d"]);
    assert_eq!(ilmd.child("extension").names(), ["b", "c"]);
}

#[test]
fn empty_documents_are_complete() {
    let d = doc(Vec::new());
    for v in [EpcisVersion::V1_2, EpcisVersion::V2_0] {
        let root = parse(&to_xml(&d, v));
        assert!(root.children.iter().all(|c| c.name != "EPCISHeader"));
        assert_eq!(events_of(&root).children.len(), 0);
    }
    let j: Value = serde_json::from_str(&to_jsonld(&d)).unwrap();
    assert_eq!(j["epcisBody"]["eventList"], json!([]));
    assert_eq!(j["schemaVersion"], "2.0");
    assert!(j.get("epcisHeader").is_none());
}
