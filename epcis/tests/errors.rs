//! Rejections name the place, the field, the value and the rule. Messages are pinned here: a
//! change to one is a change partners will see.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

fn err(doc: &str) -> String {
    epcis::decode(doc.as_bytes()).unwrap_err().to_string()
}

const HEAD_12: &str = r#"<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:1" schemaVersion="1.2" creationDate="2026-01-01T00:00:00Z">
<EPCISBody>
  <EventList>
    <ObjectEvent>
      <eventTime>2026-01-01T00:00:00Z</eventTime>
      <eventTimeZoneOffset>-05:00</eventTimeZoneOffset>
"#;
const TAIL_12: &str = "    </ObjectEvent>\n  </EventList>\n</EPCISBody>\n</epcis:EPCISDocument>\n";

#[test]
fn serial_outside_cset82_names_line_column_field_value_and_rule() {
    let doc = format!(
        "{HEAD_12}      <epcList>\n        <epc>urn:epc:id:sgtin:0614141.107346.20 17</epc>\n      </epcList>\n      <action>ADD</action>\n{TAIL_12}"
    );
    assert_eq!(
        err(&doc),
        "line 8 col 9: epcList/epc \"urn:epc:id:sgtin:0614141.107346.20 17\": contains ' ' (U+0020), which a URI cannot contain"
    );
}

#[test]
fn bad_check_digit_free_urn_structure_is_refused_by_the_identifier_parser() {
    let doc = format!(
        "{HEAD_12}      <epcList><epc>urn:epc:id:sgtin:0614141.10734.2017</epc></epcList>\n      <action>ADD</action>\n{TAIL_12}"
    );
    let e = err(&doc);
    assert!(
        e.starts_with("line 7 col 16: epcList/epc \"urn:epc:id:sgtin:0614141.10734.2017\": "),
        "{e}"
    );
}

#[test]
fn misspelt_standard_field_is_caught() {
    let doc = format!(
        "{HEAD_12}      <epcList/>\n      <action>ADD</action>\n      <bizstep>urn:epcglobal:cbv:bizstep:shipping</bizstep>\n{TAIL_12}"
    );
    assert_eq!(
        err(&doc),
        "line 9 col 7: bizstep \"bizstep\": is not an EPCIS field: did you mean bizStep? (names are case-sensitive)"
    );
}

#[test]
fn missing_action_and_bad_offset() {
    let doc = format!("{HEAD_12}      <epcList/>\n{TAIL_12}");
    assert_eq!(
        err(&doc),
        "line 4 col 5: action is required on <ObjectEvent>"
    );
    let doc =
        HEAD_12.replace("-05:00", "-5:00") + "      <epcList/><action>ADD</action>\n" + TAIL_12;
    assert_eq!(
        err(&doc),
        "line 6 col 7: eventTimeZoneOffset \"-5:00\": must be ±hh:mm between -14:00 and +14:00"
    );
}

#[test]
fn json_errors_are_located_by_pointer() {
    let doc = r#"{"@context":["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
      "type":"EPCISDocument","schemaVersion":"2.0","creationDate":"2026-01-01T00:00:00Z",
      "epcisBody":{"eventList":[
        {"type":"ObjectEvent","eventTime":"2026-01-01T00:00:00Z","eventTimeZoneOffset":"+00:00",
         "epcList":["urn:epc:id:sgtin:0614141.107346.2017"],"action":"ADD","bizStep":"shiping"}]}}"#;
    assert_eq!(
        err(doc),
        "at /epcisBody/eventList/0/bizStep: bizStep \"shiping\": is not a standard CBV value: use a CBV word (e.g. shipping, in_transit) or a full URI for a private vocabulary"
    );
    let e = err("{\"type\": \"EPCISDocument\", ");
    assert!(e.starts_with("line 1 col "), "{e}");
}

#[test]
fn truncated_document_is_an_error_even_after_complete_events() {
    let doc = format!(
        "{HEAD_12}      <epcList/>\n      <action>ADD</action>\n    </ObjectEvent>\n  </EventList>\n"
    );
    let e = err(&doc);
    assert!(e.contains("truncated") || e.contains("end of input"), "{e}");
}

#[test]
fn whitespace_between_entity_references_is_kept() {
    let doc = format!(
        "{HEAD_12}      <epcList/>\n      <action>ADD</action>\n      <ex:note xmlns:ex=\"urn:ex\">  a &amp; &lt; b  </ex:note>\n{TAIL_12}"
    );
    let d = epcis::decode(doc.as_bytes()).unwrap();
    assert_eq!(d.events[0].extensions[0].text.as_deref(), Some("a & < b"));
}
