//! XML for one event, in EPCIS 2.0 or 1.2 layout ([`super::layout`]).

use std::io::{self, Write};

use super::layout::{Part, layout_v12, parts_v2, required};
use super::ns::{self, Prefixes};
use super::xml::{write_element, write_extensions};
use super::xml_out::XmlOut;
use crate::model::{
    Element, ErrorDeclaration, Event, EventKind, Location, QuantityElement, SensorElement,
    SensorField, SourceDest,
};

/// Writes events into an [`XmlOut`] with the prefixes in scope.
pub(super) struct EventXml<'a, W: Write> {
    /// The output.
    pub(super) x: &'a mut XmlOut<W>,
    /// Prefixes: root bindings plus this event's own.
    pub(super) ns: &'a Prefixes,
    /// 1.2 layout rather than 2.0.
    pub(super) v12: bool,
}

impl<W: Write> EventXml<'_, W> {
    /// The event element, wrapped in `extension` elements where 1.2 needs them.
    pub(super) fn event(&mut self, e: &Event) -> io::Result<()> {
        let wrappers: usize = match (self.v12, e.kind) {
            (true, EventKind::Transformation) => 1,
            (true, EventKind::Association) => 2,
            _ => 0,
        };
        for _ in 0..wrappers {
            self.x.start("extension")?;
        }
        let name = e.kind.name();
        self.x.open((None, name))?;
        for (prefix, uri) in self.ns.local_declarations() {
            self.x.xmlns(prefix, uri)?;
        }
        self.x.open_end()?;
        self.base(e)?;
        if self.v12 {
            self.body_v12(e)?;
        } else {
            for &part in parts_v2(e.kind) {
                self.part(e, part)?;
            }
            write_extensions(self.x, self.ns, &e.extensions)?;
        }
        self.x.end(name)?;
        for _ in 0..wrappers {
            self.x.end("extension")?;
        }
        Ok(())
    }

    /// eventTime, recordTime, eventTimeZoneOffset, then eventID, errorDeclaration and
    /// certificationInfo: as children in 2.0, in `baseExtension` in 1.2.
    fn base(&mut self, e: &Event) -> io::Result<()> {
        self.x.leaf("eventTime", &e.event_time)?;
        if let Some(t) = &e.record_time {
            self.x.leaf("recordTime", t)?;
        }
        self.x
            .leaf("eventTimeZoneOffset", &e.event_time_zone_offset)?;
        let has_base = e.event_id.is_some()
            || e.error_declaration.is_some()
            || !e.certification_info.is_empty();
        if self.v12 && has_base {
            self.x.start("baseExtension")?;
        }
        if let Some(id) = &e.event_id {
            self.x.leaf("eventID", id)?;
        }
        if let Some(d) = &e.error_declaration {
            self.error_declaration(d)?;
        }
        if self.v12 && !e.certification_info.is_empty() {
            self.x.start("extension")?;
        }
        for c in &e.certification_info {
            self.x.leaf("certificationInfo", c)?;
        }
        if self.v12 && !e.certification_info.is_empty() {
            self.x.end("extension")?;
        }
        if self.v12 && has_base {
            self.x.end("baseExtension")?;
        }
        Ok(())
    }

    fn error_declaration(&mut self, d: &ErrorDeclaration) -> io::Result<()> {
        self.x.start("errorDeclaration")?;
        self.x.leaf("declarationTime", &d.declaration_time)?;
        if let Some(r) = &d.reason {
            self.x.leaf("reason", r)?;
        }
        if !d.corrective_event_ids.is_empty() {
            self.x.list(
                "correctiveEventIDs",
                "correctiveEventID",
                &d.corrective_event_ids,
            )?;
        }
        write_extensions(self.x, self.ns, &d.extensions)?;
        self.x.end("errorDeclaration")
    }

    /// The 1.2 body: direct parts, `extension` parts, nested `extension` parts, with the
    /// unqualified user extensions in the innermost `##local` wrapper and the qualified ones last.
    fn body_v12(&mut self, e: &Event) -> io::Result<()> {
        let l = layout_v12(e.kind);
        for &part in l.body {
            self.part(e, part)?;
        }
        let (unqualified, qualified): (Vec<&Element>, Vec<&Element>) =
            e.extensions.iter().partition(|x| x.namespace.is_empty());
        let nested_used = l.nested.iter().any(|&p| self.present(e, p))
            || (l.unqualified_nested && !unqualified.is_empty());
        let ext_used = l.extension.iter().any(|&p| self.present(e, p))
            || nested_used
            || (!l.unqualified_nested && !unqualified.is_empty());
        if ext_used {
            self.x.start("extension")?;
            for &part in l.extension {
                self.part(e, part)?;
            }
            if nested_used {
                self.x.start("extension")?;
                for &part in l.nested {
                    self.part(e, part)?;
                }
            }
            for u in &unqualified {
                write_element(self.x, self.ns, u)?;
            }
            if nested_used {
                self.x.end("extension")?;
            }
            self.x.end("extension")?;
        }
        for q in qualified {
            write_element(self.x, self.ns, q)?;
        }
        Ok(())
    }

    /// True when the part has something to write.
    fn present(&self, e: &Event, part: Part) -> bool {
        required(self.v12, e, part)
            || match part {
                Part::ParentId => e.parent_id.is_some(),
                Part::EpcList => !e.epc_list.is_empty(),
                Part::ChildEpcs => !e.child_epcs.is_empty(),
                Part::InputEpcList => !e.input_epc_list.is_empty(),
                Part::InputQuantityList => !e.input_quantity_list.is_empty(),
                Part::OutputEpcList => !e.output_epc_list.is_empty(),
                Part::OutputQuantityList => !e.output_quantity_list.is_empty(),
                Part::TransformationId => e.transformation_id.is_some(),
                Part::QuantityList => !e.quantity_list.is_empty(),
                Part::ChildQuantityList => !e.child_quantity_list.is_empty(),
                Part::Action => e.action.is_some(),
                Part::BizStep => e.biz_step.is_some(),
                Part::Disposition => e.disposition.is_some(),
                Part::ReadPoint => e.read_point.is_some(),
                Part::BizLocation => e.biz_location.is_some(),
                Part::BizTransactions => !e.biz_transactions.is_empty(),
                Part::Sources => !e.sources.is_empty(),
                Part::Destinations => !e.destinations.is_empty(),
                Part::Sensors => !e.sensor_elements.is_empty(),
                Part::PersistentDisposition => e.persistent_disposition.is_some(),
                Part::Ilmd => e.ilmd.is_some(),
            }
    }

    fn part(&mut self, e: &Event, part: Part) -> io::Result<()> {
        if !self.present(e, part) {
            return Ok(());
        }
        let x = &mut *self.x;
        match part {
            Part::ParentId => opt_leaf(x, "parentID", e.parent_id.as_deref()),
            Part::EpcList => x.list("epcList", "epc", &e.epc_list),
            Part::ChildEpcs => x.list("childEPCs", "epc", &e.child_epcs),
            Part::InputEpcList => x.list("inputEPCList", "epc", &e.input_epc_list),
            Part::OutputEpcList => x.list("outputEPCList", "epc", &e.output_epc_list),
            Part::InputQuantityList => quantities(x, "inputQuantityList", &e.input_quantity_list),
            Part::OutputQuantityList => {
                quantities(x, "outputQuantityList", &e.output_quantity_list)
            }
            Part::QuantityList => quantities(x, "quantityList", &e.quantity_list),
            Part::ChildQuantityList => quantities(x, "childQuantityList", &e.child_quantity_list),
            Part::TransformationId => {
                opt_leaf(x, "transformationID", e.transformation_id.as_deref())
            }
            Part::Action => opt_leaf(x, "action", e.action.map(|a| a.as_str())),
            Part::BizStep => opt_leaf(x, "bizStep", e.biz_step.as_deref()),
            Part::Disposition => opt_leaf(x, "disposition", e.disposition.as_deref()),
            Part::ReadPoint => self.location("readPoint", e.read_point.as_ref()),
            Part::BizLocation => self.location("bizLocation", e.biz_location.as_ref()),
            Part::BizTransactions => {
                x.start("bizTransactionList")?;
                for t in &e.biz_transactions {
                    x.open((None, "bizTransaction"))?;
                    if let Some(k) = &t.kind {
                        x.attr((None, "type"), k)?;
                    }
                    x.open_end()?;
                    x.text(&t.id)?;
                    x.close((None, "bizTransaction"), false)?;
                }
                x.end("bizTransactionList")
            }
            Part::Sources => source_dest(x, "sourceList", "source", &e.sources),
            Part::Destinations => source_dest(x, "destinationList", "destination", &e.destinations),
            Part::Sensors => {
                self.x.start("sensorElementList")?;
                for s in &e.sensor_elements {
                    self.sensor_element(s)?;
                }
                self.x.end("sensorElementList")
            }
            Part::PersistentDisposition => {
                let Some(pd) = &e.persistent_disposition else {
                    return Ok(());
                };
                x.start("persistentDisposition")?;
                for u in &pd.unset {
                    x.leaf("unset", u)?;
                }
                for s in &pd.set {
                    x.leaf("set", s)?;
                }
                x.end("persistentDisposition")
            }
            Part::Ilmd => {
                let items = e.ilmd.as_deref().unwrap_or_default();
                if items.is_empty() {
                    x.open((None, "ilmd"))?;
                    return x.empty_end();
                }
                x.start("ilmd")?;
                write_extensions(self.x, self.ns, items)?;
                self.x.end("ilmd")
            }
        }
    }

    fn location(&mut self, name: &str, l: Option<&Location>) -> io::Result<()> {
        let Some(l) = l else { return Ok(()) };
        self.x.start(name)?;
        self.x.leaf("id", &l.id)?;
        write_extensions(self.x, self.ns, &l.extensions)?;
        self.x.end(name)
    }

    fn sensor_element(&mut self, s: &SensorElement) -> io::Result<()> {
        self.x.start("sensorElement")?;
        if let Some(m) = &s.metadata {
            self.sensor_fields("sensorMetadata", m)?;
        }
        for r in &s.reports {
            self.sensor_fields("sensorReport", r)?;
        }
        write_extensions(self.x, self.ns, &s.extensions)?;
        self.x.end("sensorElement")
    }

    fn sensor_fields(&mut self, name: &str, fields: &[SensorField]) -> io::Result<()> {
        self.x.open((None, name))?;
        let repeated = ns::repeats(fields, |f| (f.namespace.as_str(), f.name.as_str()));
        for (f, repeat) in fields.iter().zip(repeated) {
            if repeat {
                continue;
            }
            let prefix = if f.namespace.is_empty() {
                None
            } else {
                self.ns.prefix_of(&f.namespace)
            };
            self.x.attr((prefix, &f.name), &f.value)?;
        }
        self.x.empty_end()
    }
}

fn opt_leaf<W: Write>(x: &mut XmlOut<W>, name: &str, v: Option<&str>) -> io::Result<()> {
    match v {
        Some(v) => x.leaf(name, v),
        None => Ok(()),
    }
}

fn quantities<W: Write>(x: &mut XmlOut<W>, name: &str, list: &[QuantityElement]) -> io::Result<()> {
    x.start(name)?;
    for q in list {
        x.start("quantityElement")?;
        x.leaf("epcClass", &q.epc_class)?;
        opt_leaf(x, "quantity", q.quantity.as_deref())?;
        opt_leaf(x, "uom", q.uom.as_deref())?;
        x.end("quantityElement")?;
    }
    x.end(name)
}

fn source_dest<W: Write>(
    x: &mut XmlOut<W>,
    list: &str,
    item: &str,
    entries: &[SourceDest],
) -> io::Result<()> {
    x.start(list)?;
    for s in entries {
        x.open((None, item))?;
        x.attr((None, "type"), &s.kind)?;
        x.open_end()?;
        x.text(&s.id)?;
        x.close((None, item), false)?;
    }
    x.end(list)
}
