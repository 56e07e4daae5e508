//! JSON-LD for one event: the 2.0 members in XSD order, CBV values as bare words, quantities and
//! numeric sensor values as JSON numbers when their lexical form allows it.

use std::io::{self, Write};

use super::json_out::{JsonOut, json_number};
use super::jsonld::{qualified_key, write_members};
use super::layout::{Part, parts_v2, required};
use super::ns::{self, Prefixes};
use crate::cbv::{VocabField, bare_word};
use crate::model::{
    ErrorDeclaration, Event, Location, QuantityElement, SensorElement, SensorField, SourceDest,
};

/// Writes events into a [`JsonOut`] with the prefixes in scope.
pub(super) struct EventJson<'a, W: Write> {
    /// The output.
    pub(super) j: &'a mut JsonOut<W>,
    /// Prefixes: root bindings plus this event's own.
    pub(super) ns: &'a Prefixes,
}

/// Sensor report fields whose XSD type is `xsd:double` (JSON schema: number).
const NUMERIC_SENSOR_FIELDS: &[&str] = &[
    "value",
    "minValue",
    "maxValue",
    "meanValue",
    "sDev",
    "percRank",
    "percValue",
];

/// The JSON-LD form of a canonical vocabulary value: the bare word when standard.
fn vocab(field: VocabField, value: &str) -> &str {
    bare_word(field, value).unwrap_or(value)
}

impl<W: Write> EventJson<'_, W> {
    /// The event object.
    pub(super) fn event(&mut self, e: &Event) -> io::Result<()> {
        let j = &mut *self.j;
        j.begin_object()?;
        let locals = self.ns.local_declarations();
        if !locals.is_empty() {
            j.key("@context")?;
            j.begin_object()?;
            for (prefix, uri) in locals {
                j.member(prefix, uri)?;
            }
            j.end_object()?;
        }
        j.member("type", e.kind.name())?;
        j.member("eventTime", &e.event_time)?;
        j.member_opt("recordTime", e.record_time.as_deref())?;
        j.member("eventTimeZoneOffset", &e.event_time_zone_offset)?;
        j.member_opt("eventID", e.event_id.as_deref())?;
        if let Some(d) = &e.error_declaration {
            self.error_declaration(d)?;
        }
        match e.certification_info.as_slice() {
            [] => {}
            [one] => self.j.member("certificationInfo", one)?,
            many => self.j.string_array("certificationInfo", many)?,
        }
        for &part in parts_v2(e.kind) {
            self.part(e, part)?;
        }
        write_members(self.j, self.ns, &e.extensions)?;
        self.j.end_object()
    }

    fn error_declaration(&mut self, d: &ErrorDeclaration) -> io::Result<()> {
        let j = &mut *self.j;
        j.key("errorDeclaration")?;
        j.begin_object()?;
        j.member("declarationTime", &d.declaration_time)?;
        j.member_opt(
            "reason",
            d.reason
                .as_deref()
                .map(|r| vocab(VocabField::ErrorReason, r)),
        )?;
        if !d.corrective_event_ids.is_empty() {
            j.string_array("correctiveEventIDs", &d.corrective_event_ids)?;
        }
        write_members(j, self.ns, &d.extensions)?;
        j.end_object()
    }

    fn part(&mut self, e: &Event, part: Part) -> io::Result<()> {
        let j = &mut *self.j;
        let list = |j: &mut JsonOut<W>, k: &str, v: &[String]| {
            if v.is_empty() && !required(false, e, part) {
                Ok(())
            } else {
                j.string_array(k, v)
            }
        };
        match part {
            Part::ParentId => j.member_opt("parentID", e.parent_id.as_deref()),
            Part::EpcList => list(j, "epcList", &e.epc_list),
            Part::ChildEpcs => list(j, "childEPCs", &e.child_epcs),
            Part::InputEpcList => list(j, "inputEPCList", &e.input_epc_list),
            Part::OutputEpcList => list(j, "outputEPCList", &e.output_epc_list),
            Part::QuantityList => quantities(j, "quantityList", &e.quantity_list),
            Part::ChildQuantityList => quantities(j, "childQuantityList", &e.child_quantity_list),
            Part::InputQuantityList => quantities(j, "inputQuantityList", &e.input_quantity_list),
            Part::OutputQuantityList => {
                quantities(j, "outputQuantityList", &e.output_quantity_list)
            }
            Part::TransformationId => {
                j.member_opt("transformationID", e.transformation_id.as_deref())
            }
            Part::Action => j.member_opt("action", e.action.map(|a| a.as_str())),
            Part::BizStep => j.member_opt(
                "bizStep",
                e.biz_step.as_deref().map(|v| vocab(VocabField::BizStep, v)),
            ),
            Part::Disposition => j.member_opt(
                "disposition",
                e.disposition
                    .as_deref()
                    .map(|v| vocab(VocabField::Disposition, v)),
            ),
            Part::ReadPoint => self.location("readPoint", e.read_point.as_ref()),
            Part::BizLocation => self.location("bizLocation", e.biz_location.as_ref()),
            Part::BizTransactions => {
                if e.biz_transactions.is_empty() && !required(false, e, part) {
                    return Ok(());
                }
                j.key("bizTransactionList")?;
                j.begin_array()?;
                for t in &e.biz_transactions {
                    j.begin_object()?;
                    j.member_opt(
                        "type",
                        t.kind
                            .as_deref()
                            .map(|k| vocab(VocabField::BizTransactionType, k)),
                    )?;
                    j.member("bizTransaction", &t.id)?;
                    j.end_object()?;
                }
                j.end_array()
            }
            Part::Sources => source_dest(j, "sourceList", "source", &e.sources),
            Part::Destinations => source_dest(j, "destinationList", "destination", &e.destinations),
            Part::Sensors => {
                if e.sensor_elements.is_empty() {
                    return Ok(());
                }
                j.key("sensorElementList")?;
                j.begin_array()?;
                for s in &e.sensor_elements {
                    self.sensor_element(s)?;
                }
                self.j.end_array()
            }
            Part::PersistentDisposition => {
                let Some(pd) = &e.persistent_disposition else {
                    return Ok(());
                };
                j.key("persistentDisposition")?;
                j.begin_object()?;
                for (k, values) in [("set", &pd.set), ("unset", &pd.unset)] {
                    if !values.is_empty() {
                        j.key(k)?;
                        j.begin_array()?;
                        for v in values {
                            j.string(vocab(VocabField::Disposition, v))?;
                        }
                        j.end_array()?;
                    }
                }
                j.end_object()
            }
            Part::Ilmd => {
                let Some(items) = &e.ilmd else { return Ok(()) };
                j.key("ilmd")?;
                j.begin_object()?;
                write_members(j, self.ns, items)?;
                j.end_object()
            }
        }
    }

    fn location(&mut self, key: &str, l: Option<&Location>) -> io::Result<()> {
        let Some(l) = l else { return Ok(()) };
        self.j.key(key)?;
        self.j.begin_object()?;
        self.j.member("id", &l.id)?;
        write_members(self.j, self.ns, &l.extensions)?;
        self.j.end_object()
    }

    fn sensor_element(&mut self, s: &SensorElement) -> io::Result<()> {
        self.j.begin_object()?;
        if let Some(m) = &s.metadata {
            self.j.key("sensorMetadata")?;
            self.sensor_fields(m)?;
        }
        self.j.key("sensorReport")?;
        self.j.begin_array()?;
        for r in &s.reports {
            self.sensor_fields(r)?;
        }
        self.j.end_array()?;
        write_members(self.j, self.ns, &s.extensions)?;
        self.j.end_object()
    }

    fn sensor_fields(&mut self, fields: &[SensorField]) -> io::Result<()> {
        self.j.begin_object()?;
        let repeated = ns::repeats(fields, |f| (f.namespace.as_str(), f.name.as_str()));
        for (f, repeat) in fields.iter().zip(repeated) {
            if repeat {
                continue;
            }
            self.j
                .key(&qualified_key(self.ns, &f.namespace, None, &f.name))?;
            let v = f.value.as_str();
            let standard = f.namespace.is_empty();
            let number = (standard && NUMERIC_SENSOR_FIELDS.contains(&f.name.as_str()))
                .then(|| json_number(v))
                .flatten();
            match (number, f.name.as_str()) {
                (Some(n), _) => self.j.literal(&n)?,
                (None, "booleanValue") if standard && (v == "true" || v == "false") => {
                    self.j.literal(v)?;
                }
                (None, "type") if standard => {
                    self.j.string(vocab(VocabField::MeasurementType, v))?
                }
                (None, "exception") if standard => {
                    self.j.string(vocab(VocabField::SensorException, v))?;
                }
                (None, "component") if standard => {
                    self.j.string(vocab(VocabField::Component, v))?
                }
                _ => self.j.string(v)?,
            }
        }
        self.j.end_object()
    }
}

fn quantities<W: Write>(j: &mut JsonOut<W>, key: &str, list: &[QuantityElement]) -> io::Result<()> {
    if list.is_empty() {
        return Ok(());
    }
    j.key(key)?;
    j.begin_array()?;
    for q in list {
        j.begin_object()?;
        j.member("epcClass", &q.epc_class)?;
        if let Some(n) = &q.quantity {
            j.key("quantity")?;
            match json_number(n) {
                Some(num) => j.literal(&num)?,
                None => j.string(n)?,
            }
        }
        j.member_opt("uom", q.uom.as_deref())?;
        j.end_object()?;
    }
    j.end_array()
}

fn source_dest<W: Write>(
    j: &mut JsonOut<W>,
    key: &str,
    member: &str,
    entries: &[SourceDest],
) -> io::Result<()> {
    if entries.is_empty() {
        return Ok(());
    }
    j.key(key)?;
    j.begin_array()?;
    for s in entries {
        j.begin_object()?;
        j.member("type", vocab(VocabField::SourceDestType, &s.kind))?;
        j.member(member, &s.id)?;
        j.end_object()?;
    }
    j.end_array()
}
