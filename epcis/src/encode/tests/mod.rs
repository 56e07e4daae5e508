//! Unit tests of the encoders: the exact shape of each output form, checked against orders
//! written out from the XSDs (not from `layout`), escaping of hostile text and names, and
//! namespace prefixes. This file holds the parser and the model builders; `xml` and `jsonld`
//! the tests.

mod jsonld;
mod xml;

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
