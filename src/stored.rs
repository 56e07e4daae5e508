//! How the repository keeps an EPCIS event: the canonical forms that capture writes and query
//! reads, so the two cannot drift apart.
//!
//! - **EPC keys**: every instance or class identifier is stored as the CBV 2.0 hash's
//!   canonical GS1 Digital Link ([`epcis::id::normalise()`]), or as written when it is not a GS1
//!   identifier. A URN and a Digital Link of one serial get one key, and a verification
//!   request that carries only a GTIN and a serial can build the key without knowing where the
//!   company prefix ends.
//! - **Times** that queries compare are microseconds since the Unix epoch, UTC ([`micros`]).
//! - **The event itself** is kept as a one-event EPCIS 2.0 XML document ([`body`]): the 2.0
//!   XML encoder round-trips every decodable reference document exactly, so what a query
//!   returns is what was captured, in whichever syntax the caller asks for.
//! - **Query fields** of the flexible families (ILMD, extensions, sensor data) are flattened
//!   into rows by [`fields`], one per leaf, each with its [`FieldScope`] and nesting depth.

use epcis::model::{Element, Event};
use epcis::{EpcisVersion, encode};

/// The role an identifier plays in an event (`event_epcs.role`, `event_classes.role`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EpcRole {
    /// `epcList` / `quantityList`.
    Epc,
    /// `parentID`.
    Parent,
    /// `childEPCs` / `childQuantityList`.
    Child,
    /// `inputEPCList` / `inputQuantityList`.
    Input,
    /// `outputEPCList` / `outputQuantityList`.
    Output,
}

impl EpcRole {
    /// The stored word.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Epc => "epc",
            Self::Parent => "parent",
            Self::Child => "child",
            Self::Input => "input",
            Self::Output => "output",
        }
    }
}

/// Where a flattened field comes from (`event_fields.scope`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldScope {
    /// Instance/lot master data (`EQ_ILMD_…`, `EQ_INNER_ILMD_…`).
    Ilmd,
    /// A user extension of the event (`EQ_{field}`, `EQ_INNER_{field}`).
    Extension,
    /// An extension of the read point (`EQ_readPoint_{field}`).
    ReadPoint,
    /// An extension of the business location (`EQ_bizLocation_{field}`).
    BizLocation,
    /// An extension of the error declaration (`EQ_ERROR_DECLARATION_…`).
    ErrorDeclaration,
    /// A sensor element's extension (`EQ_SENSORELEMENT_…`).
    SensorElement,
    /// A `sensorMetadata` field (standard fields have an empty namespace).
    SensorMetadata,
    /// A `sensorReport` field (standard fields have an empty namespace).
    SensorReport,
    /// A persistent disposition value: name `set` or `unset`, empty namespace, the canonical
    /// CBV value as text (`EQ_persistentDisposition_set`/`_unset`).
    PersistentDisposition,
}

impl FieldScope {
    /// The stored word.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ilmd => "ilmd",
            Self::Extension => "ext",
            Self::ReadPoint => "read_point",
            Self::BizLocation => "biz_location",
            Self::ErrorDeclaration => "error_declaration",
            Self::SensorElement => "sensor_element",
            Self::SensorMetadata => "sensor_metadata",
            Self::SensorReport => "sensor_report",
            Self::PersistentDisposition => "persistent_disposition",
        }
    }
}

/// The stored key of an EPC, EPC class or pattern: its canonical Digital Link, or the value
/// as written (trimmed) when it is not a GS1 identifier.
pub fn epc_key(value: &str) -> String {
    let value = value.trim();
    epcis::id::normalise(value).unwrap_or_else(|| value.to_owned())
}

/// The 13-digit GLN of a party or location identifier (SGLN or PGLN URN, or a Digital Link
/// with AI 414 or 417), for the visibility policy.
pub fn gln_of(id: &str) -> Option<String> {
    let id = id.trim();
    if let Ok(epc) = id.parse::<epcis::id::Epc>() {
        return epc.gln().map(|g| g.as_str().to_owned());
    }
    epcis::id::DigitalLink::parse(id)
        .ok()
        .and_then(|dl| dl.gln().map(|g| g.as_str().to_owned()))
}

/// An EPCIS time (`xsd:dateTime` with a zone; RFC 3339) as microseconds since the Unix
/// epoch, UTC. A time without a zone is refused: EPCIS requires one, and guessing would move
/// the event by hours.
pub fn micros(text: &str) -> Result<i64, String> {
    let t =
        time::OffsetDateTime::parse(text.trim(), &time::format_description::well_known::Rfc3339)
            .map_err(|e| format!("{text:?} is not a date-time with a zone (RFC 3339): {e}"))?;
    i64::try_from(t.unix_timestamp_nanos() / 1000).map_err(|_| format!("{text:?} is out of range"))
}

/// Microseconds since the epoch as an RFC 3339 UTC time with microseconds (the form the
/// server writes record times in).
pub fn time_text(micros: i64) -> String {
    let nanos = i128::from(micros) * 1000;
    time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| micros.to_string())
}

/// The stored form of an event: a one-event EPCIS 2.0 XML document with an empty header.
pub fn body(event: &Event) -> String {
    let empty = epcis::Document {
        creation_date: Some(STORED_CREATION_DATE.to_owned()),
        ..epcis::Document::default()
    };
    let head = encode::DocumentHead::of(&empty).declaring([event]);
    let mut out = Vec::with_capacity(1024);
    // Writing to a Vec cannot fail, and the writer only writes UTF-8.
    let written = encode::XmlWriter::new(&mut out, &head, EpcisVersion::V2_0)
        .and_then(|mut w| w.event(event).and_then(|()| w.finish().map(drop)));
    debug_assert!(written.is_ok());
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// The fixed `creationDate` of stored bodies: the body is the event, not a document anyone
/// created; the capture's own time is `events.record_time`.
const STORED_CREATION_DATE: &str = "1970-01-01T00:00:00Z";

/// The event back from its stored form.
pub fn event_from_body(body: &str) -> Result<Event, String> {
    let doc = epcis::decode(body.as_bytes()).map_err(|e| format!("stored event: {e}"))?;
    doc.events
        .into_iter()
        .next()
        .ok_or_else(|| "stored event: the document holds no event".to_owned())
}

/// One flattened field of an event (`event_fields`).
#[derive(Debug, Clone, PartialEq)]
pub struct FieldRow {
    /// Where it comes from.
    pub scope: FieldScope,
    /// Namespace URI (empty for standard sensor fields).
    pub namespace: String,
    /// Local name.
    pub name: String,
    /// 0 at the top of its scope, 1 below (the `INNER_` families).
    pub depth: i64,
    /// The text, if any.
    pub text: Option<String>,
    /// The value as a number when the text is one (or a date-time, in microseconds), for the
    /// `GT_`/`GE_`/`LT_`/`LE_` families.
    pub num: Option<f64>,
}

/// Every queryable leaf of the event's flexible parts.
pub fn fields(event: &Event) -> Vec<FieldRow> {
    let mut out = Vec::new();
    if let Some(ilmd) = &event.ilmd {
        flatten(FieldScope::Ilmd, ilmd, 0, &mut out);
    }
    flatten(FieldScope::Extension, &event.extensions, 0, &mut out);
    if let Some(rp) = &event.read_point {
        flatten(FieldScope::ReadPoint, &rp.extensions, 0, &mut out);
    }
    if let Some(bl) = &event.biz_location {
        flatten(FieldScope::BizLocation, &bl.extensions, 0, &mut out);
    }
    if let Some(decl) = &event.error_declaration {
        flatten(FieldScope::ErrorDeclaration, &decl.extensions, 0, &mut out);
    }
    for sensor in &event.sensor_elements {
        flatten(FieldScope::SensorElement, &sensor.extensions, 0, &mut out);
        for f in sensor.metadata.iter().flatten() {
            out.push(row(
                FieldScope::SensorMetadata,
                &f.namespace,
                &f.name,
                0,
                Some(&f.value),
            ));
        }
        for report in &sensor.reports {
            for f in report {
                out.push(row(
                    FieldScope::SensorReport,
                    &f.namespace,
                    &f.name,
                    0,
                    Some(&f.value),
                ));
            }
        }
    }
    if let Some(pd) = &event.persistent_disposition {
        for (name, values) in [("set", &pd.set), ("unset", &pd.unset)] {
            for v in values {
                out.push(row(FieldScope::PersistentDisposition, "", name, 0, Some(v)));
            }
        }
    }
    out
}

fn flatten(scope: FieldScope, elements: &[Element], depth: i64, out: &mut Vec<FieldRow>) {
    for e in elements {
        out.push(row(scope, &e.namespace, &e.name, depth, e.text.as_deref()));
        flatten(scope, &e.children, 1, out);
    }
}

/// The number a field's text compares as in the `GT_`/`GE_`/`LT_`/`LE_` families: the text
/// as a finite number, else as a date-time in microseconds. Query values go through the same
/// function, so both sides of a comparison are read alike.
pub fn field_number(text: &str) -> Option<f64> {
    let t = text.trim();
    t.parse::<f64>()
        .ok()
        .filter(|n| n.is_finite())
        .or_else(|| micros(t).ok().map(|m| m as f64))
}

fn row(scope: FieldScope, ns: &str, name: &str, depth: i64, text: Option<&str>) -> FieldRow {
    let num = text.and_then(field_number);
    FieldRow {
        scope,
        namespace: ns.to_owned(),
        name: name.to_owned(),
        depth,
        text: text.map(str::to_owned),
        num,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_urn_and_a_digital_link_of_one_serial_share_a_key() {
        let urn = epc_key("urn:epc:id:sgtin:0614141.107346.2018");
        let dl = epc_key("https://id.gs1.org/01/10614141073464/21/2018");
        assert_eq!(urn, dl);
        assert_eq!(urn, "https://id.gs1.org/01/10614141073464/21/2018");
        assert_eq!(epc_key(" urn:example:thing "), "urn:example:thing");
    }

    #[test]
    fn glns_come_from_sgln_pgln_and_digital_links() {
        assert_eq!(
            gln_of("urn:epc:id:sgln:0614141.00001.0").as_deref(),
            Some("0614141000012")
        );
        assert_eq!(
            gln_of("urn:epc:id:pgln:0614141.00001").as_deref(),
            Some("0614141000012")
        );
        assert_eq!(
            gln_of("https://id.gs1.org/417/0614141000012").as_deref(),
            Some("0614141000012")
        );
        assert_eq!(gln_of("urn:example:party"), None);
    }

    #[test]
    fn times_are_compared_in_utc_microseconds() {
        let a = micros("2024-03-01T10:00:00.5-05:00").unwrap();
        let b = micros("2024-03-01T15:00:00.500Z").unwrap();
        assert_eq!(a, b);
        assert!(micros("2024-03-01T10:00:00").is_err());
        assert_eq!(time_text(b), "2024-03-01T15:00:00.5Z");
    }

    #[test]
    fn the_stored_body_gives_the_event_back() {
        let doc = epcis::decode(
            br#"<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2" schemaVersion="2.0" creationDate="2024-01-01T00:00:00Z"><EPCISBody><EventList><ObjectEvent><eventTime>2024-01-01T00:00:00Z</eventTime><eventTimeZoneOffset>+00:00</eventTimeZoneOffset><epcList><epc>urn:epc:id:sgtin:0614141.107346.2018</epc></epcList><action>ADD</action><bizStep>urn:epcglobal:cbv:bizstep:commissioning</bizStep><ilmd><cbvmda:lotNumber xmlns:cbvmda="urn:epcglobal:cbv:mda">L1</cbvmda:lotNumber></ilmd></ObjectEvent></EventList></EPCISBody></epcis:EPCISDocument>"#,
        )
        .unwrap();
        let event = &doc.events[0];
        assert_eq!(&event_from_body(&body(event)).unwrap(), event);
        let rows = fields(event);
        assert_eq!(rows.len(), 1);
        assert_eq!(
            (rows[0].scope, rows[0].name.as_str()),
            (FieldScope::Ilmd, "lotNumber")
        );
    }
}
