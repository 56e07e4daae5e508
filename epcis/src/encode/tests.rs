//! Unit tests of the encoders: the exact shape of each output form, checked against orders
//! written out from the XSDs (not from `layout`), escaping of hostile text and names, and
//! namespace prefixes.

use quick_xml::Reader;
use quick_xml::events::Event as X;
use serde_json::{Value, json};

use super::*;
use crate::model::{
    Action, Attribute, BizTransaction, Element, ErrorDeclaration, EventKind, GS1USHC_NS, Location,
    MasterDataAttribute, PersistentDisposition, QuantityElement, Sbdh, SbdhParty, SensorElement,
    SensorField, SourceDest, TransactionStatement, Vocabulary, VocabularyElement,
};

const EXT: &str = "http://ns.example.com/epcis/";
const MDA12: &str = "urn:epcglobal:cbv:mda";

/// A parsed XML element: qualified name, attributes, text (unescaped) and children.
#[derive(Debug, Default)]
struct Node {
    name: String,
    attrs: Vec<(String, String)>,
    text: String,
    children: Vec<Self>,
}

impl Node {
    fn names(&self) -> Vec<&str> {
        self.children.iter().map(|c| c.name.as_str()).collect()
    }

    fn child(&self, name: &str) -> &Self {
        self.children
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("no <{name}> in <{}>: {:?}", self.name, self.names()))
    }

    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

fn node(s: &quick_xml::events::BytesStart<'_>) -> Node {
    Node {
        name: s.name().as_ref().to_owned(),
        attrs: s
            .attributes()
            .map(|a| {
                let a = a.unwrap();
                let v = a
                    .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                    .unwrap();
                (a.key.as_ref().to_owned(), v.into_owned())
            })
            .collect(),
        ..Node::default()
    }
}

/// Parses XML strictly (end names checked, references resolved): panics when not well-formed.
fn parse(xml: &str) -> Node {
    let mut r = Reader::from_str(xml);
    let mut stack = vec![Node::default()];
    loop {
        match r.read_event().unwrap() {
            X::Start(s) => stack.push(node(&s)),
            X::Empty(s) => stack.last_mut().unwrap().children.push(node(&s)),
            X::End(_) => {
                let n = stack.pop().unwrap();
                stack.last_mut().unwrap().children.push(n);
            }
            X::Text(t) => stack.last_mut().unwrap().text.push_str(&t.xml10_content()),
            X::GeneralRef(g) => {
                let s = match g.resolve_char_ref().unwrap() {
                    Some(c) => c.to_string(),
                    None => match g.xml10_content().as_ref() {
                        "amp" => "&".into(),
                        "lt" => "<".into(),
                        "gt" => ">".into(),
                        "quot" => "\"".into(),
                        other => panic!("unexpected entity {other}"),
                    },
                };
                stack.last_mut().unwrap().text.push_str(&s);
            }
            X::Eof => break,
            _ => {}
        }
    }
    assert_eq!(stack.len(), 1, "unclosed elements");
    let mut doc = stack.pop().unwrap();
    assert_eq!(doc.children.len(), 1, "one root element");
    doc.children.pop().unwrap()
}

fn events_of(root: &Node) -> &Node {
    let body = root.child("EPCISBody");
    body.child("EventList")
}

fn leaf(ns: &str, prefix: &str, name: &str, text: &str) -> Element {
    Element::leaf(ns, Some(prefix).filter(|p| !p.is_empty()), name, text)
}

fn field(ns: &str, name: &str, value: &str) -> SensorField {
    SensorField {
        namespace: ns.into(),
        name: name.into(),
        value: value.into(),
    }
}

/// An event of `kind` with every field set, those the type does not use included (they must
/// not be written).
fn full_event(kind: EventKind) -> Event {
    let s = |v: &str| v.to_owned();
    let q = QuantityElement {
        epc_class: s("urn:epc:class:lgtin:4012345.012345.998877"),
        quantity: Some(s("200.50")),
        uom: Some(s("KGM")),
    };
    let mut e = Event::new(kind, s("2024-06-08T10:58:56Z"), s("+02:00"));
    e.record_time = Some(s("2024-06-08T11:00:00Z"));
    e.event_id = Some(s("urn:uuid:374d95fc-9457-4a51-bd6a-0bba133845a8"));
    e.error_declaration = Some(ErrorDeclaration {
        declaration_time: s("2024-06-09T10:00:00Z"),
        reason: Some(s("urn:epcglobal:cbv:er:incorrect_data")),
        corrective_event_ids: vec![s("urn:uuid:1")],
        extensions: vec![leaf(EXT, "ex", "ticket", "T1")],
    });
    e.certification_info = vec![s("https://cert.example.org/1")];
    e.parent_id = Some(s("urn:epc:id:sscc:0614141.1234567890"));
    e.epc_list = vec![s("urn:epc:id:sgtin:0614141.107346.1")];
    e.child_epcs = vec![s("urn:epc:id:sgtin:0614141.107346.2")];
    e.input_epc_list = vec![s("urn:epc:id:sgtin:0614141.107346.3")];
    e.output_epc_list = vec![s("urn:epc:id:sgtin:0614141.107346.4")];
    e.quantity_list = vec![q.clone()];
    e.child_quantity_list = vec![q.clone()];
    e.input_quantity_list = vec![q.clone()];
    e.output_quantity_list = vec![q];
    e.action = Some(Action::Add);
    e.transformation_id = Some(s("urn:epc:id:gdti:0614141.12345.400"));
    e.biz_step = Some(s("urn:epcglobal:cbv:bizstep:shipping"));
    e.disposition = Some(s("urn:epcglobal:cbv:disp:in_transit"));
    e.persistent_disposition = Some(PersistentDisposition {
        set: vec![s("urn:epcglobal:cbv:disp:completeness_verified")],
        unset: vec![s("urn:epcglobal:cbv:disp:completeness_inferred")],
    });
    e.read_point = Some(Location {
        id: s("urn:epc:id:sgln:0012345.11111.400"),
        extensions: Vec::new(),
    });
    e.biz_location = Some(Location {
        id: s("urn:epc:id:sgln:0012345.11111.0"),
        extensions: vec![leaf("", "", "room", "B")],
    });
    e.biz_transactions = vec![BizTransaction {
        kind: Some(s("urn:epcglobal:cbv:btt:po")),
        id: s("urn:epcglobal:cbv:bt:0614141000005:PO1"),
    }];
    e.sources = vec![SourceDest {
        kind: s("urn:epcglobal:cbv:sdt:owning_party"),
        id: s("urn:epc:id:pgln:4012345.00225"),
    }];
    e.destinations = vec![SourceDest {
        kind: s("urn:epcglobal:cbv:sdt:location"),
        id: s("urn:epc:id:sgln:0614141.00777.0"),
    }];
    e.sensor_elements = vec![SensorElement {
        metadata: Some(vec![field("", "time", "2024-06-08T10:00:00Z")]),
        reports: vec![vec![
            field("", "type", "https://gs1.org/voc/Temperature"),
            field("", "value", "26.0"),
            field("", "booleanValue", "true"),
            field("", "minValue", "+5"),
            field("", "maxValue", "high"),
            field(EXT, "probe", "p1"),
        ]],
        extensions: Vec::new(),
    }];
    e.ilmd = Some(vec![leaf(MDA12, "cbvmda", "lotNumber", "A123")]);
    e.extensions = vec![
        leaf("", "", "note", "n"),
        leaf(GS1USHC_NS, "gs1ushc", "dropShipment", "true"),
    ];
    e
}

fn doc(events: Vec<Event>) -> Document {
    Document {
        creation_date: Some("2024-06-08T12:00:00Z".into()),
        events,
        ..Document::default()
    }
}

const BASE_20: [&str; 6] = [
    "eventTime",
    "recordTime",
    "eventTimeZoneOffset",
    "eventID",
    "errorDeclaration",
    "certificationInfo",
];

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

fn dscsa_header() -> Header {
    Header {
        sbdh: Some(Sbdh {
            header_version: Some("1.0".into()),
            senders: vec![SbdhParty {
                identifier: "urn:epc:id:sgln:030001.111111.0".into(),
                authority: Some("GS1".into()),
                extra: Vec::new(),
            }],
            receivers: Vec::new(),
            standard: Some("EPCglobal".into()),
            ..Sbdh::default()
        }),
        master_data: vec![Vocabulary {
            kind: "urn:epcglobal:epcis:vtype:EPCClass".into(),
            elements: vec![VocabularyElement {
                id: "urn:epc:idpat:sgtin:030001.0012345.*".into(),
                attributes: vec![
                    MasterDataAttribute {
                        id: "urn:epcglobal:cbv:mda#regulatedProductName".into(),
                        value: "Epcistra".into(),
                        children: Vec::new(),
                    },
                    MasterDataAttribute {
                        id: "urn:example:packaging".into(),
                        value: String::new(),
                        children: vec![leaf(EXT, "ex", "layers", "3")],
                    },
                ],
                children: vec!["urn:epc:idpat:sgtin:030001.0012346.*".into()],
            }],
        }],
        transaction_statement: Some(TransactionStatement {
            affirm: Some("true".into()),
            legal_notice: Some("Seller has complied.".into()),
            extra: Vec::new(),
        }),
        extensions: vec![leaf(
            GS1USHC_NS,
            "gs1ushc",
            "guidelineVersion",
            "GS1 US DSCSA R1.3",
        )],
    }
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

fn clashing_event() -> Event {
    let mut e = full_event(EventKind::Object);
    e.ilmd = Some(vec![
        leaf(MDA12, "cbvmda", "lotNumber", "A"),
        leaf(
            "urn:epcglobal:cbv:mda:",
            "cbvmda",
            "itemExpirationDate",
            "2026-01-01",
        ),
        leaf("http://other.example/", "ex", "grade", "B"),
        leaf("http://gs1.example/", "gs1", "x", "1"),
        leaf("http://type.example/", "type", "x", "1"),
        leaf("http://urn.example/", "urn", "x", "1"),
        leaf("http://none.example/", "", "x", "1"),
    ]);
    e
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
fn jsonld_never_redefines_protected_terms() {
    let d = doc(vec![clashing_event()]);
    let protected = [
        "cbvmda", "gs1", "cbv", "epcis", "rdfs", "owl", "xsd", "dcterms", "type",
    ];
    let check = |ctx: &Value| {
        for (k, _) in ctx.as_object().unwrap() {
            assert!(!protected.contains(&k.as_str()), "{k} redefined in {ctx}");
            assert_ne!(k, "urn");
        }
    };
    let j: Value = serde_json::from_str(&to_jsonld(&d)).unwrap();
    assert_eq!(j["@context"][0], ns::EPCIS_CONTEXT);
    check(&j["@context"][1]);
    assert_eq!(j["@context"][1]["cbvmda12"], MDA12);
    let ilmd = &j["epcisBody"]["eventList"][0]["ilmd"];
    assert_eq!(ilmd["cbvmda12:lotNumber"], "A");
    assert_eq!(ilmd["cbvmda:itemExpirationDate"], "2026-01-01");
    assert_eq!(ilmd["gs11:x"], "1");

    let mut w = JsonLdWriter::new(Vec::new(), &DocumentHead::of(&d)).unwrap();
    w.event(&d.events[0]).unwrap();
    let j: Value = serde_json::from_slice(&w.finish().unwrap()).unwrap();
    assert_eq!(j["@context"], json!([ns::EPCIS_CONTEXT]));
    let ev = &j["epcisBody"]["eventList"][0];
    check(&ev["@context"]);
    assert_eq!(ev["@context"]["cbvmda12"], MDA12);
}

#[test]
fn jsonld_writes_the_json_shapes_of_the_standard() {
    let mut e = full_event(EventKind::Object);
    let mut tagged = leaf(EXT, "ex", "size", "10");
    tagged.attributes.push(Attribute {
        namespace: ns::XSI_NS.into(),
        name: "type".into(),
        value: "xsd:integer".into(),
    });
    let mut empty = leaf(EXT, "ex", "empty", "");
    empty.text = None;
    let mut parent = leaf(EXT, "ex", "box", "");
    parent.text = None;
    parent.children = vec![
        tagged,
        leaf(EXT, "ex", "size", "12"),
        leaf(EXT, "ex", "colour", "b"),
    ];
    e.extensions = vec![parent, empty, leaf("", "", "note", "n")];
    e.certification_info
        .push("https://cert.example.org/2".into());
    e.quantity_list.push(QuantityElement {
        epc_class: "urn:epc:class:lgtin:4012345.012345.1".into(),
        quantity: Some("lots".into()),
        uom: None,
    });
    e.disposition = Some("urn:example:disp:quarantined".into());
    let mut d = doc(vec![e]);
    d.header = dscsa_header();
    let text = to_jsonld(&d);
    assert!(
        text.contains("\"quantity\": 200.50"),
        "digits copied verbatim"
    );
    let j: Value = serde_json::from_str(&text).unwrap();
    let ev = &j["epcisBody"]["eventList"][0];
    assert_eq!(ev["type"], "ObjectEvent");
    assert_eq!(ev["action"], "ADD");
    assert_eq!(ev["bizStep"], "shipping");
    assert_eq!(ev["disposition"], "urn:example:disp:quarantined");
    assert_eq!(ev["errorDeclaration"]["reason"], "incorrect_data");
    assert_eq!(
        ev["certificationInfo"],
        json!(["https://cert.example.org/1", "https://cert.example.org/2"])
    );
    assert_eq!(ev["epcList"], json!(["urn:epc:id:sgtin:0614141.107346.1"]));
    assert_eq!(ev["quantityList"][0]["uom"], "KGM");
    assert_eq!(ev["quantityList"][1]["quantity"], "lots");
    assert_eq!(
        ev["bizTransactionList"],
        json!([{"type": "po", "bizTransaction": "urn:epcglobal:cbv:bt:0614141000005:PO1"}])
    );
    assert_eq!(
        ev["sourceList"],
        json!([{"type": "owning_party", "source": "urn:epc:id:pgln:4012345.00225"}])
    );
    assert_eq!(ev["destinationList"][0]["type"], "location");
    assert_eq!(
        ev["persistentDisposition"],
        json!({"set": ["completeness_verified"], "unset": ["completeness_inferred"]})
    );
    let report = &ev["sensorElementList"][0]["sensorReport"][0];
    assert_eq!(
        report,
        &json!({"type": "Temperature", "value": 26.0, "booleanValue": true, "minValue": 5,
                "maxValue": "high", "ex:probe": "p1"})
    );
    assert_eq!(
        ev["bizLocation"],
        json!({"id": "urn:epc:id:sgln:0012345.11111.0", "room": "B"})
    );
    assert_eq!(
        ev["ex:box"],
        json!({"ex:size": [{"xsi:type": "xsd:integer", "#text": "10"}, "12"], "ex:colour": "b"})
    );
    assert_eq!(ev["ex:empty"], json!({}));
    assert_eq!(ev["note"], "n");
    assert_eq!(j["@context"][1]["xsi"], ns::XSI_NS);

    let h = &j["epcisHeader"];
    let sbdh = &h["sbdh:StandardBusinessDocumentHeader"];
    assert_eq!(sbdh["sbdh:Sender"]["sbdh:Identifier"]["Authority"], "GS1");
    assert_eq!(
        sbdh["sbdh:DocumentIdentification"]["sbdh:Standard"],
        "EPCglobal"
    );
    let voc = &h["epcisMasterData"]["vocabularyList"][0];
    assert_eq!(voc["type"], "urn:epcglobal:epcis:vtype:EPCClass");
    let el = &voc["vocabularyElementList"][0];
    assert_eq!(el["attributes"][0]["attribute"], "Epcistra");
    assert_eq!(el["attributes"][1]["attribute"], json!({"ex:layers": "3"}));
    assert_eq!(
        el["children"],
        json!(["urn:epc:idpat:sgtin:030001.0012346.*"])
    );
    assert_eq!(h["gs1ushc:guidelineVersion"], "GS1 US DSCSA R1.3");
    assert_eq!(
        h["gs1ushc:dscsaTransactionStatement"]["gs1ushc:affirmTransactionStatement"],
        "true"
    );
    assert_eq!(j["@context"][1]["sbdh"], ns::SBDH_NS);
    assert_eq!(j["@context"][1]["gs1ushc"], GS1USHC_NS);
}

#[test]
fn fields_the_type_does_not_use_are_not_written() {
    let j: Value =
        serde_json::from_str(&to_jsonld(&doc(vec![full_event(EventKind::Aggregation)]))).unwrap();
    let ev = &j["epcisBody"]["eventList"][0];
    for absent in [
        "epcList",
        "quantityList",
        "inputEPCList",
        "transformationID",
        "ilmd",
    ] {
        assert!(
            ev.get(absent).is_none(),
            "{absent} written on an AggregationEvent"
        );
    }
    assert!(ev.get("childEPCs").is_some());
}

#[test]
fn head_declares_event_namespaces_once_first_prefix_winning() {
    let d = doc(vec![clashing_event(), full_event(EventKind::Object)]);
    let head = DocumentHead::of(&d).declaring(&d.events);
    let uris: Vec<&str> = head.namespaces.iter().map(|n| n.uri.as_str()).collect();
    let mut dedup = uris.clone();
    dedup.sort_unstable();
    dedup.dedup();
    assert_eq!(uris.len(), dedup.len());
    assert!(uris.contains(&EXT) && uris.contains(&MDA12));
    let mda = head.namespaces.iter().find(|n| n.uri == MDA12).unwrap();
    assert_eq!(mda.prefix.as_deref(), Some("cbvmda"));
    // Declared on the root, so no event declares anything.
    let xml = to_xml(&d, EpcisVersion::V2_0);
    assert!(!xml.contains("<ObjectEvent xmlns"), "{xml}");
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
