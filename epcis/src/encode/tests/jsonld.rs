//! JSON-LD output: `@context`, the JSON shapes of the standard, the head's namespaces.

use super::*;

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
