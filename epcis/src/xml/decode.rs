//! Maps XML subtrees to the model: events (EPCIS 1.2 and 2.0) and the document header.
//!
//! 1.2 wraps newer fields in `extension`/`baseExtension`; those wrappers are flattened so that
//! both versions map field by field onto the same model. Unqualified elements the standard does
//! not define, and every namespaced element, are kept as extensions: a partner's data is never
//! dropped.

use crate::cbv::{self, VocabField};
use crate::model::{
    Action, Attribute, BizTransaction, Element, ErrorDeclaration, Event, EventKind, GS1USHC_NS,
    Header, Location, MasterDataAttribute, PersistentDisposition, QuantityElement, Sbdh, SbdhParty,
    SensorElement, SensorField, SourceDest, TransactionStatement, Vocabulary, VocabularyElement,
};
use crate::validate;
use crate::{DecodeError, DecodeResult, Limits, Problem};

use super::reader::XNode;

const SBDH_NS: &str = "http://www.unece.org/cefact/namespaces/StandardBusinessDocumentHeader";

/// The children of `node`, with 1.2 `extension`/`baseExtension` wrappers replaced by their content.
pub(crate) fn flatten(children: Vec<XNode>) -> Vec<XNode> {
    if !children.iter().any(XNode::is_wrapper) {
        return children;
    }
    let mut out = Vec::with_capacity(children.len());
    for child in children {
        if child.is_wrapper() {
            out.extend(flatten(child.children));
        } else {
            out.push(child);
        }
    }
    out
}

/// The children of a node in document order with 1.2 wrappers opened, like [`flatten`] but
/// without collecting them into a new vector (an event's fields are moved once, not twice).
struct Flat {
    stack: Vec<std::vec::IntoIter<XNode>>,
}

impl Flat {
    fn new(children: Vec<XNode>) -> Self {
        let mut stack = Vec::with_capacity(2);
        stack.push(children.into_iter());
        Self { stack }
    }
}

impl Iterator for Flat {
    type Item = XNode;

    fn next(&mut self) -> Option<XNode> {
        loop {
            let top = self.stack.last_mut()?;
            match top.next() {
                Some(node) if node.is_wrapper() => self.stack.push(node.children.into_iter()),
                Some(node) => return Some(node),
                None => {
                    self.stack.pop();
                }
            }
        }
    }
}

/// A user extension element from a subtree.
pub(crate) fn element(node: XNode) -> Element {
    Element {
        namespace: node.ns.into_owned(),
        prefix: node.prefix,
        name: node.local.into_owned(),
        attributes: node
            .attrs
            .into_iter()
            .map(|a| Attribute {
                namespace: a.ns,
                name: a.local,
                value: a.value,
            })
            .collect(),
        text: (!node.text.is_empty()).then_some(node.text),
        children: node.children.into_iter().map(element).collect(),
    }
}

fn missing(field: &'static str, within: &XNode) -> DecodeError {
    DecodeError::new(
        within.position(),
        Problem::Missing {
            field,
            within: format!("<{}>", within.local),
        },
    )
}

/// The EPC values of an `epcList`-like element (children named `epc`, or 1.2's
/// `inputEPC`/`outputEPC` spellings), each checked.
fn epc_list(
    list: XNode,
    field: &'static str,
    out: &mut Vec<String>,
    cache: &mut validate::EpcCache,
) -> DecodeResult<()> {
    let mut children = flatten(list.children);
    out.reserve(children.len());
    // By reference: only the text is taken, the (large) nodes are not moved.
    for child in &mut children {
        if !child.ns.is_empty() {
            continue;
        }
        let local = &child.local;
        validate::epc_in_list(
            &child.text,
            cache,
            || format!("{field}/{local}"),
            child.position(),
        )?;
        out.push(std::mem::take(&mut child.text));
    }
    Ok(())
}

fn quantity_list(list: XNode, field: &str, out: &mut Vec<QuantityElement>) -> DecodeResult<()> {
    for q in flatten(list.children) {
        if !q.ns.is_empty() {
            continue;
        }
        let pos = q.position();
        let mut element = QuantityElement::default();
        for part in flatten(q.children) {
            match &*part.local {
                "epcClass" => element.epc_class = part.text,
                // GS1's own examples carry an empty <quantity/>: no amount.
                "quantity" if part.text.is_empty() => {}
                "quantity" => {
                    validate::decimal(&part.text, &format!("{field}/quantity"), part.position())?;
                    element.quantity = Some(part.text);
                }
                "uom" => element.uom = Some(part.text),
                _ => {}
            }
        }
        if element.epc_class.is_empty() {
            return Err(DecodeError::new(
                pos,
                Problem::Missing {
                    field: "epcClass",
                    within: format!("{field}/quantityElement"),
                },
            ));
        }
        validate::epc_class(&element.epc_class, &format!("{field}/epcClass"), pos)?;
        out.push(element);
    }
    Ok(())
}

fn location(node: XNode, field: &'static str) -> DecodeResult<Location> {
    let pos = node.position();
    let mut loc = Location::default();
    for child in flatten(node.children) {
        if child.ns.is_empty() && child.local == "id" {
            validate::uri(&child.text, &format!("{field}/id"), child.position())?;
            loc.id = child.text;
        } else {
            loc.extensions.push(element(child));
        }
    }
    if loc.id.is_empty() {
        return Err(DecodeError::new(
            pos,
            Problem::Missing {
                field: "id",
                within: format!("<{field}>"),
            },
        ));
    }
    Ok(loc)
}

fn typed_list<T>(
    list: XNode,
    item: &str,
    make: impl Fn(Option<&str>, String) -> T,
    out: &mut Vec<T>,
) -> DecodeResult<()> {
    for child in flatten(list.children) {
        if !child.ns.is_empty() || child.local != item {
            continue;
        }
        validate::uri(&child.text, item, child.position())?;
        let kind = child.attr("type").map(str::to_owned);
        out.push(make(kind.as_deref(), child.text));
    }
    Ok(())
}

fn sensor_fields(node: &XNode) -> Vec<SensorField> {
    node.attrs
        .iter()
        .map(|a| {
            let value = match (a.ns.is_empty(), a.local.as_str()) {
                (true, "type") => cbv::canonical(VocabField::MeasurementType, &a.value),
                (true, "exception") => cbv::canonical(VocabField::SensorException, &a.value),
                (true, "component") => cbv::canonical(VocabField::Component, &a.value),
                _ => expand_curie_value(&a.value),
            };
            SensorField {
                namespace: a.ns.clone(),
                name: a.local.clone(),
                value,
            }
        })
        .collect()
}

/// `gs1:` and `cbv:` CURIEs in sensor values are expanded, as the reference hash does.
fn expand_curie_value(value: &str) -> String {
    cbv::expand_curie(value).unwrap_or_else(|| value.to_owned())
}

fn sensor_element(node: XNode) -> SensorElement {
    let mut sensor = SensorElement::default();
    for child in flatten(node.children) {
        match (child.ns.is_empty(), &*child.local) {
            (true, "sensorMetadata") => sensor.metadata = Some(sensor_fields(&child)),
            (true, "sensorReport") => sensor.reports.push(sensor_fields(&child)),
            _ => sensor.extensions.push(element(child)),
        }
    }
    sensor
}

fn error_declaration(node: XNode) -> DecodeResult<ErrorDeclaration> {
    let pos = node.position();
    let mut decl = ErrorDeclaration::default();
    for child in flatten(node.children) {
        match (child.ns.is_empty(), &*child.local) {
            (true, "declarationTime") => {
                validate::timestamp_lenient(
                    &child.text,
                    "errorDeclaration/declarationTime",
                    child.position(),
                )?;
                decl.declaration_time = child.text;
            }
            (true, "reason") => {
                decl.reason = Some(cbv::canonical(VocabField::ErrorReason, &child.text))
            }
            (true, "correctiveEventIDs") => decl.corrective_event_ids.extend(
                flatten(child.children)
                    .into_iter()
                    .filter(|c| c.ns.is_empty())
                    .map(|c| c.text),
            ),
            _ => decl.extensions.push(element(child)),
        }
    }
    if decl.declaration_time.is_empty() {
        return Err(DecodeError::new(
            pos,
            Problem::Missing {
                field: "declarationTime",
                within: "<errorDeclaration>".into(),
            },
        ));
    }
    Ok(decl)
}

/// Maps one event subtree (element name = event type) to an [`Event`]. `cache` carries the EPC
/// prefix last checked from event to event (in DSCSA documents it rarely changes).
pub(crate) fn event(
    node: XNode,
    limits: &Limits,
    cache: &mut validate::EpcCache,
) -> DecodeResult<Event> {
    let Some(kind) = EventKind::from_name(&node.local).filter(|_| node.ns.is_empty()) else {
        return Err(DecodeError::new(
            node.position(),
            Problem::Unexpected {
                what: format!(
                    "element <{}> in the event list (not an EPCIS event type)",
                    node.local
                ),
            },
        ));
    };
    let mut ev = Event::new(kind, String::new(), String::new());
    let pos = node.position();
    let shell = XNode {
        local: node.local.clone(),
        pos: node.pos,
        ..XNode::default()
    };
    let mut has_identifier_list = false;
    for child in Flat::new(node.children) {
        has_identifier_list |=
            child.ns.is_empty() && (child.local == "epcList" || child.local == "quantityList");
        if !child.ns.is_empty() {
            ev.extensions.push(element(child));
            continue;
        }
        let cpos = child.position();
        match &*child.local {
            "eventTime" => {
                validate::timestamp(&child.text, "eventTime", cpos)?;
                ev.event_time = child.text;
            }
            "recordTime" => {
                validate::timestamp_lenient(&child.text, "recordTime", cpos)?;
                ev.record_time = Some(child.text);
            }
            "eventTimeZoneOffset" => {
                validate::zone_offset(&child.text, cpos)?;
                ev.event_time_zone_offset = child.text;
            }
            "eventID" => ev.event_id = Some(child.text),
            "errorDeclaration" => ev.error_declaration = Some(error_declaration(child)?),
            "certificationInfo" => ev.certification_info.push(child.text),
            "parentID" => {
                validate::epc(&child.text, "parentID", cpos)?;
                ev.parent_id = Some(child.text);
            }
            "epcList" => epc_list(child, "epcList", &mut ev.epc_list, cache)?,
            "childEPCs" => epc_list(child, "childEPCs", &mut ev.child_epcs, cache)?,
            "inputEPCList" => epc_list(child, "inputEPCList", &mut ev.input_epc_list, cache)?,
            "outputEPCList" => epc_list(child, "outputEPCList", &mut ev.output_epc_list, cache)?,
            "quantityList" => quantity_list(child, "quantityList", &mut ev.quantity_list)?,
            "childQuantityList" => {
                quantity_list(child, "childQuantityList", &mut ev.child_quantity_list)?;
            }
            "inputQuantityList" => {
                quantity_list(child, "inputQuantityList", &mut ev.input_quantity_list)?;
            }
            "outputQuantityList" => {
                quantity_list(child, "outputQuantityList", &mut ev.output_quantity_list)?;
            }
            "action" => {
                ev.action = Some(Action::parse(&child.text).ok_or_else(|| {
                    DecodeError::invalid(
                        cpos,
                        "action",
                        &child.text,
                        "must be ADD, OBSERVE or DELETE",
                    )
                })?);
            }
            "transformationID" => ev.transformation_id = Some(child.text),
            "bizStep" => {
                let step = cbv::canonical(VocabField::BizStep, &child.text);
                validate::vocabulary(&step, "bizStep", cpos)?;
                ev.biz_step = Some(step);
            }
            "disposition" => {
                let disp = cbv::canonical(VocabField::Disposition, &child.text);
                validate::vocabulary(&disp, "disposition", cpos)?;
                ev.disposition = Some(disp);
            }
            "persistentDisposition" => {
                let mut pd = PersistentDisposition::default();
                for part in flatten(child.children) {
                    let value = cbv::canonical(VocabField::Disposition, &part.text);
                    match &*part.local {
                        "set" => pd.set.push(value),
                        "unset" => pd.unset.push(value),
                        _ => {}
                    }
                }
                ev.persistent_disposition = Some(pd);
            }
            "readPoint" => ev.read_point = Some(location(child, "readPoint")?),
            "bizLocation" => ev.biz_location = Some(location(child, "bizLocation")?),
            "bizTransactionList" => typed_list(
                child,
                "bizTransaction",
                |kind, id| BizTransaction {
                    kind: kind.map(|k| cbv::canonical(VocabField::BizTransactionType, k)),
                    id,
                },
                &mut ev.biz_transactions,
            )?,
            "sourceList" => typed_list(
                child,
                "source",
                |kind, id| SourceDest {
                    kind: cbv::canonical(VocabField::SourceDestType, kind.unwrap_or_default()),
                    id,
                },
                &mut ev.sources,
            )?,
            "destinationList" => typed_list(
                child,
                "destination",
                |kind, id| SourceDest {
                    kind: cbv::canonical(VocabField::SourceDestType, kind.unwrap_or_default()),
                    id,
                },
                &mut ev.destinations,
            )?,
            "sensorElementList" => ev.sensor_elements.extend(
                flatten(child.children)
                    .into_iter()
                    .filter(|c| c.ns.is_empty() && c.local == "sensorElement")
                    .map(sensor_element),
            ),
            "ilmd" => {
                ev.ilmd = Some(flatten(child.children).into_iter().map(element).collect());
            }
            other => {
                validate::unqualified_extension(other, cpos)?;
                ev.extensions.push(element(child));
            }
        }
    }
    if ev.event_time.is_empty() {
        return Err(missing("eventTime", &shell));
    }
    if ev.event_time_zone_offset.is_empty() {
        return Err(missing("eventTimeZoneOffset", &shell));
    }
    if ev.action.is_none() && kind != EventKind::Transformation {
        return Err(missing("action", &shell));
    }
    if kind == EventKind::Object && !has_identifier_list {
        return Err(missing("epcList", &shell));
    }
    if ev.epc_count() > limits.max_epcs_per_event {
        return Err(DecodeError::new(
            pos,
            Problem::Limit {
                what: "EPCs in one event",
                limit: limits.max_epcs_per_event as u64,
            },
        ));
    }
    Ok(ev)
}

fn sbdh_party(node: XNode) -> SbdhParty {
    let mut party = SbdhParty::default();
    for child in node.children {
        if child.ns == SBDH_NS && child.local == "Identifier" {
            party.authority = child.attr("Authority").map(str::to_owned);
            party.identifier = child.text;
        } else {
            party.extra.push(element(child));
        }
    }
    party
}

fn sbdh(node: XNode) -> Sbdh {
    let mut out = Sbdh::default();
    for child in node.children {
        if child.ns != SBDH_NS {
            out.extra.push(element(child));
            continue;
        }
        match &*child.local {
            "HeaderVersion" => out.header_version = Some(child.text),
            "Sender" => out.senders.push(sbdh_party(child)),
            "Receiver" => out.receivers.push(sbdh_party(child)),
            "DocumentIdentification" => {
                for part in child.children {
                    let text = Some(part.text);
                    match &*part.local {
                        "Standard" => out.standard = text,
                        "TypeVersion" => out.type_version = text,
                        "InstanceIdentifier" => out.instance_identifier = text,
                        "Type" => out.document_type = text,
                        "CreationDateAndTime" => out.creation_date_and_time = text,
                        _ => {}
                    }
                }
            }
            _ => out.extra.push(element(child)),
        }
    }
    out
}

fn vocabulary(node: XNode) -> Vocabulary {
    let kind = node.attr("type").unwrap_or_default().to_owned();
    let mut elements = Vec::new();
    for list in flatten(node.children) {
        for ve in flatten(list.children) {
            if ve.local != "VocabularyElement" {
                continue;
            }
            let mut out = VocabularyElement {
                id: ve.attr("id").unwrap_or_default().to_owned(),
                ..VocabularyElement::default()
            };
            for part in flatten(ve.children) {
                match &*part.local {
                    "attribute" => out.attributes.push(MasterDataAttribute {
                        id: part.attr("id").unwrap_or_default().to_owned(),
                        value: part.text.clone(),
                        children: part.children.into_iter().map(element).collect(),
                    }),
                    "children" => out
                        .children
                        .extend(part.children.into_iter().map(|c| c.text)),
                    _ => {}
                }
            }
            elements.push(out);
        }
    }
    Vocabulary { kind, elements }
}

/// Collects master data from an `EPCISMasterData` subtree (header or body of a 1.2
/// master-data document).
pub(crate) fn master_data(node: XNode, out: &mut Vec<Vocabulary>) {
    for list in flatten(node.children) {
        if list.local == "VocabularyList" {
            out.extend(
                flatten(list.children)
                    .into_iter()
                    .filter(|v| v.local == "Vocabulary")
                    .map(vocabulary),
            );
        }
    }
}

/// Maps the `EPCISHeader` subtree to a [`Header`].
pub(crate) fn header(node: XNode) -> Header {
    let mut header = Header::default();
    for child in flatten(node.children) {
        match (&*child.ns, &*child.local) {
            (SBDH_NS, "StandardBusinessDocumentHeader") => header.sbdh = Some(sbdh(child)),
            ("", "EPCISMasterData") => master_data(child, &mut header.master_data),
            (GS1USHC_NS, "dscsaTransactionStatement") => {
                let mut ts = TransactionStatement::default();
                for part in child.children {
                    match (&*part.ns, &*part.local) {
                        (GS1USHC_NS, "affirmTransactionStatement") => ts.affirm = Some(part.text),
                        (GS1USHC_NS, "legalNotice") => ts.legal_notice = Some(part.text),
                        _ => ts.extra.push(element(part)),
                    }
                }
                header.transaction_statement = Some(ts);
            }
            _ => header.extensions.push(element(child)),
        }
    }
    header
}
