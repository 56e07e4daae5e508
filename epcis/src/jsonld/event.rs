//! Maps one JSON-LD event object onto the model, with JSON-pointer-located errors.

use serde_json::{Map, Value};

use crate::cbv::{self, VocabField};
use crate::model::{
    Action, BizTransaction, Element, ErrorDeclaration, Event, EventKind, Location,
    PersistentDisposition, QuantityElement, SensorElement, SensorField, SourceDest,
};
use crate::validate;
use crate::{DecodeError, DecodeResult, Limits, Position, Problem};

use super::context::Context;

/// A JSON pointer, as the path to it: the text is built only when an error needs it. Every
/// member and list entry of every event has one, and formatting them all up front was a tenth
/// of the decoder's time.
#[derive(Clone, Copy)]
pub(crate) enum Ptr<'a> {
    /// The pointer of the enclosing value, as text.
    Root(&'a str),
    /// A member of an object.
    Key(&'a Self, &'a str),
    /// An entry of an array.
    Index(&'a Self, usize),
}

impl<'a> Ptr<'a> {
    pub(crate) fn new(base: &'a str) -> Self {
        Self::Root(base)
    }

    pub(crate) fn key<'b>(&'b self, key: &'b str) -> Ptr<'b> {
        Ptr::Key(self, key)
    }

    pub(crate) fn index(&self, i: usize) -> Ptr<'_> {
        Ptr::Index(self, i)
    }

    pub(crate) fn pos(&self) -> Position {
        let mut text = String::new();
        self.write(&mut text);
        Position::Json(text)
    }

    fn write(&self, out: &mut String) {
        match self {
            Self::Root(base) => out.push_str(base),
            Self::Key(parent, key) => {
                parent.write(out);
                out.push('/');
                // RFC 6901: `~` and `/` in a member name are escaped.
                for c in key.chars() {
                    match c {
                        '~' => out.push_str("~0"),
                        '/' => out.push_str("~1"),
                        c => out.push(c),
                    }
                }
            }
            Self::Index(parent, i) => {
                use std::fmt::Write as _;
                parent.write(out);
                let _ = write!(out, "/{i}");
            }
        }
    }
}

impl validate::At for Ptr<'_> {
    fn at(&self) -> Position {
        self.pos()
    }
}

/// The lexical form of a scalar: strings as they are (trimmed), numbers as written, booleans as
/// `true`/`false`. Objects and arrays have none.
pub(crate) fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null | Value::Array(_) | Value::Object(_) => None,
    }
}

fn string(value: &Value, at: &Ptr<'_>, field: &str) -> DecodeResult<String> {
    match value {
        Value::String(s) => Ok(s.trim().to_owned()),
        other => Err(DecodeError::invalid(
            at.pos(),
            field,
            &other.to_string(),
            "must be a string",
        )),
    }
}

fn array<'v>(value: &'v Value, at: &Ptr<'_>, field: &str) -> DecodeResult<&'v [Value]> {
    match value {
        Value::Array(items) => Ok(items),
        other => Err(DecodeError::invalid(
            at.pos(),
            field,
            &other.to_string(),
            "must be an array",
        )),
    }
}

fn object<'v>(value: &'v Value, at: &Ptr<'_>, field: &str) -> DecodeResult<&'v Map<String, Value>> {
    match value {
        Value::Object(map) => Ok(map),
        other => Err(DecodeError::invalid(
            at.pos(),
            field,
            &other.to_string(),
            "must be an object",
        )),
    }
}

/// Extension elements for one member (an array gives one element per item).
pub(crate) fn elements(
    ctx: &Context,
    key: &str,
    value: &Value,
    depth: usize,
    limits: &Limits,
    at: &Ptr<'_>,
) -> DecodeResult<Vec<Element>> {
    if depth > limits.max_depth {
        return Err(DecodeError::new(
            at.pos(),
            Problem::Limit {
                what: "JSON nesting depth",
                limit: limits.max_depth as u64,
            },
        ));
    }
    if let Value::Array(items) = value {
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            out.extend(elements(ctx, key, item, depth + 1, limits, &at.index(i))?);
        }
        return Ok(out);
    }
    let name = ctx.resolve(key);
    let mut element = Element {
        namespace: name.namespace,
        prefix: name.prefix,
        name: name.local,
        text: scalar(value),
        ..Element::default()
    };
    if let Value::Object(map) = value {
        for (k, v) in map {
            if k == "#text" {
                element.text = scalar(v);
            } else if !k.starts_with('@') {
                element
                    .children
                    .extend(elements(ctx, k, v, depth + 1, limits, &at.key(k))?);
            }
        }
    }
    Ok(vec![element])
}

fn epcs(value: &Value, at: &Ptr<'_>, field: &str, out: &mut Vec<String>) -> DecodeResult<()> {
    let items = array(value, at, field)?;
    out.reserve(items.len());
    let mut cache = validate::EpcCache::default();
    for (i, item) in items.iter().enumerate() {
        let epc = match item {
            Value::String(s) => s.trim().to_owned(),
            other => string(other, &at.index(i), field)?,
        };
        // The pointer is built only for an error.
        let pos = || at.index(i).pos();
        if let Err(e) =
            validate::epc_in_list(&epc, &mut cache, || field.to_owned(), Position::Document)
        {
            return Err(DecodeError::new(pos(), e.problem));
        }
        out.push(epc);
    }
    Ok(())
}

fn quantities(
    value: &Value,
    at: &Ptr<'_>,
    field: &str,
    out: &mut Vec<QuantityElement>,
) -> DecodeResult<()> {
    for (i, item) in array(value, at, field)?.iter().enumerate() {
        let here = at.index(i);
        let map = object(item, &here, field)?;
        if let Some(unknown) = map
            .keys()
            .find(|k| !matches!(k.as_str(), "epcClass" | "quantity" | "uom"))
        {
            return Err(DecodeError::invalid(
                here.key(unknown).pos(),
                unknown,
                unknown,
                "is not a field of a quantity element (epcClass, quantity, uom)",
            ));
        }
        let epc_class = match map.get("epcClass") {
            Some(v) => string(v, &here.key("epcClass"), "epcClass")?,
            None => {
                return Err(DecodeError::new(
                    here.pos(),
                    Problem::Missing {
                        field: "epcClass",
                        within: format!("{field} entry"),
                    },
                ));
            }
        };
        validate::epc_class(&epc_class, "epcClass", here.key("epcClass"))?;
        let quantity = match map.get("quantity") {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => Some(n.to_string()),
            Some(other) => {
                return Err(DecodeError::invalid(
                    here.key("quantity").pos(),
                    "quantity",
                    &other.to_string(),
                    "must be a number",
                ));
            }
        };
        let uom = map
            .get("uom")
            .map(|v| string(v, &here.key("uom"), "uom"))
            .transpose()?;
        out.push(QuantityElement {
            epc_class,
            quantity,
            uom,
        });
    }
    Ok(())
}

fn location(
    ctx: &Context,
    value: &Value,
    at: &Ptr<'_>,
    field: &'static str,
    limits: &Limits,
) -> DecodeResult<Location> {
    let map = object(value, at, field)?;
    let mut loc = Location::default();
    for (k, v) in map {
        if k == "id" {
            loc.id = string(v, &at.key(k), "id")?;
            // The two callers' names, without formatting one per event.
            let id_field: std::borrow::Cow<'_, str> = match field {
                "readPoint" => "readPoint/id".into(),
                "bizLocation" => "bizLocation/id".into(),
                other => format!("{other}/id").into(),
            };
            validate::uri(&loc.id, &id_field, at.key(k))?;
        } else if !k.starts_with('@') {
            loc.extensions
                .extend(elements(ctx, k, v, 1, limits, &at.key(k))?);
        }
    }
    if loc.id.is_empty() {
        return Err(DecodeError::new(
            at.pos(),
            Problem::Missing {
                field: "id",
                within: field.to_owned(),
            },
        ));
    }
    Ok(loc)
}

fn typed_entries(
    value: &Value,
    at: &Ptr<'_>,
    list: &str,
    item: &str,
    mut push: impl FnMut(Option<String>, String),
) -> DecodeResult<()> {
    for (i, entry) in array(value, at, list)?.iter().enumerate() {
        let here = at.index(i);
        let map = object(entry, &here, list)?;
        let id = match map.get(item) {
            Some(v) => string(v, &here.key(item), item)?,
            None => {
                return Err(DecodeError::new(
                    here.pos(),
                    Problem::Missing {
                        field: match item {
                            "source" => "source",
                            "destination" => "destination",
                            _ => "bizTransaction",
                        },
                        within: format!("{list} entry"),
                    },
                ));
            }
        };
        validate::uri(&id, item, here.key(item))?;
        let kind = map
            .get("type")
            .map(|v| string(v, &here.key("type"), "type"))
            .transpose()?;
        push(kind, id);
    }
    Ok(())
}

fn sensor_fields(ctx: &Context, value: &Value, at: &Ptr<'_>) -> DecodeResult<Vec<SensorField>> {
    let map = object(value, at, "sensor fields")?;
    let mut out = Vec::with_capacity(map.len());
    for (k, v) in map {
        if k.starts_with('@') {
            continue;
        }
        let raw = scalar(v).unwrap_or_else(|| v.to_string());
        let (namespace, name) = if k.contains(':') {
            let n = ctx.resolve(k);
            (n.namespace, n.local)
        } else {
            (String::new(), k.clone())
        };
        let value = match (namespace.is_empty(), name.as_str()) {
            (true, "type") => cbv::canonical_jsonld(VocabField::MeasurementType, &raw),
            (true, "exception") => cbv::canonical_jsonld(VocabField::SensorException, &raw),
            (true, "component") => cbv::canonical_jsonld(VocabField::Component, &raw),
            _ => cbv::expand_curie(&raw).unwrap_or(raw),
        };
        out.push(SensorField {
            namespace,
            name,
            value,
        });
    }
    Ok(out)
}

fn sensor_elements(
    ctx: &Context,
    value: &Value,
    at: &Ptr<'_>,
    limits: &Limits,
) -> DecodeResult<Vec<SensorElement>> {
    let mut out = Vec::new();
    for (i, item) in array(value, at, "sensorElementList")?.iter().enumerate() {
        let here = at.index(i);
        let mut sensor = SensorElement::default();
        for (k, v) in object(item, &here, "sensorElement")? {
            match k.as_str() {
                "sensorMetadata" => sensor.metadata = Some(sensor_fields(ctx, v, &here.key(k))?),
                "sensorReport" => {
                    for (j, report) in array(v, &here.key(k), "sensorReport")?.iter().enumerate() {
                        sensor
                            .reports
                            .push(sensor_fields(ctx, report, &here.key(k).index(j))?);
                    }
                }
                k if k.starts_with('@') => {}
                k => sensor
                    .extensions
                    .extend(elements(ctx, k, v, 1, limits, &here.key(k))?),
            }
        }
        out.push(sensor);
    }
    Ok(out)
}

fn error_declaration(
    ctx: &Context,
    value: &Value,
    at: &Ptr<'_>,
    limits: &Limits,
) -> DecodeResult<ErrorDeclaration> {
    let mut decl = ErrorDeclaration::default();
    for (k, v) in object(value, at, "errorDeclaration")? {
        let here = at.key(k);
        match k.as_str() {
            "declarationTime" => {
                decl.declaration_time = string(v, &here, k)?;
                validate::timestamp_lenient(
                    &decl.declaration_time,
                    "errorDeclaration/declarationTime",
                    here,
                )?;
            }
            "reason" => {
                decl.reason = Some(cbv::canonical_jsonld(
                    VocabField::ErrorReason,
                    &string(v, &here, k)?,
                ));
            }
            "correctiveEventIDs" => {
                for (i, id) in array(v, &here, k)?.iter().enumerate() {
                    decl.corrective_event_ids
                        .push(string(id, &here.index(i), k)?);
                }
            }
            k if k.starts_with('@') => {}
            k => decl
                .extensions
                .extend(elements(ctx, k, v, 1, limits, &here)?),
        }
    }
    if decl.declaration_time.is_empty() {
        return Err(DecodeError::new(
            at.pos(),
            Problem::Missing {
                field: "declarationTime",
                within: "errorDeclaration".into(),
            },
        ));
    }
    Ok(decl)
}

/// Maps one event object. `ctx` holds the document's prefixes; an event-level `@context` adds
/// to them for this event only.
pub(crate) fn event(
    doc_ctx: &Context,
    value: &Value,
    at: &Ptr<'_>,
    limits: &Limits,
) -> DecodeResult<Event> {
    let map = object(value, at, "event")?;
    let local_ctx;
    let ctx = match map.get("@context") {
        Some(extra) => {
            let mut c = doc_ctx.clone();
            c.extend(extra);
            local_ctx = c;
            &local_ctx
        }
        None => doc_ctx,
    };
    let kind_name = match map.get("type") {
        Some(v) => string(v, &at.key("type"), "type")?,
        None => {
            return Err(DecodeError::new(
                at.pos(),
                Problem::Missing {
                    field: "type",
                    within: "event".into(),
                },
            ));
        }
    };
    let Some(kind) = EventKind::from_name(&kind_name) else {
        return Err(DecodeError::invalid(
            at.key("type").pos(),
            "type",
            &kind_name,
            "is not an EPCIS event type (ObjectEvent, AggregationEvent, TransactionEvent, \
             TransformationEvent, AssociationEvent)",
        ));
    };
    let mut ev = Event::new(kind, String::new(), String::new());
    for (k, v) in map {
        let here = at.key(k);
        match k.as_str() {
            "type" | "@context" => {}
            "eventTime" => {
                ev.event_time = string(v, &here, k)?;
                validate::timestamp(&ev.event_time, k, here)?;
            }
            "recordTime" => {
                let t = string(v, &here, k)?;
                validate::timestamp_lenient(&t, k, here)?;
                ev.record_time = Some(t);
            }
            "eventTimeZoneOffset" => {
                ev.event_time_zone_offset = string(v, &here, k)?;
                validate::zone_offset(&ev.event_time_zone_offset, here)?;
            }
            "eventID" => ev.event_id = Some(string(v, &here, k)?),
            "errorDeclaration" => {
                ev.error_declaration = Some(error_declaration(ctx, v, &here, limits)?);
            }
            "certificationInfo" => match v {
                Value::Array(items) => {
                    for (i, item) in items.iter().enumerate() {
                        ev.certification_info.push(string(item, &here.index(i), k)?);
                    }
                }
                other => ev.certification_info.push(string(other, &here, k)?),
            },
            "parentID" => {
                let id = string(v, &here, k)?;
                validate::epc(&id, k, here)?;
                ev.parent_id = Some(id);
            }
            "epcList" => epcs(v, &here, k, &mut ev.epc_list)?,
            "childEPCs" => epcs(v, &here, k, &mut ev.child_epcs)?,
            "inputEPCList" => epcs(v, &here, k, &mut ev.input_epc_list)?,
            "outputEPCList" => epcs(v, &here, k, &mut ev.output_epc_list)?,
            "quantityList" => quantities(v, &here, k, &mut ev.quantity_list)?,
            "childQuantityList" => quantities(v, &here, k, &mut ev.child_quantity_list)?,
            "inputQuantityList" => quantities(v, &here, k, &mut ev.input_quantity_list)?,
            "outputQuantityList" => quantities(v, &here, k, &mut ev.output_quantity_list)?,
            "action" => {
                let a = string(v, &here, k)?;
                ev.action = Some(Action::parse(&a).ok_or_else(|| {
                    DecodeError::invalid(here.pos(), k, &a, "must be ADD, OBSERVE or DELETE")
                })?);
            }
            "transformationID" => ev.transformation_id = Some(string(v, &here, k)?),
            "bizStep" => {
                let step = cbv::canonical_jsonld(VocabField::BizStep, &string(v, &here, k)?);
                validate::vocabulary(&step, k, here)?;
                ev.biz_step = Some(step);
            }
            "disposition" => {
                let disp = cbv::canonical_jsonld(VocabField::Disposition, &string(v, &here, k)?);
                validate::vocabulary(&disp, k, here)?;
                ev.disposition = Some(disp);
            }
            "persistentDisposition" => {
                let mut pd = PersistentDisposition::default();
                for (pk, pv) in object(v, &here, k)? {
                    let list = match pk.as_str() {
                        "set" => &mut pd.set,
                        "unset" => &mut pd.unset,
                        _ => continue,
                    };
                    for (i, d) in array(pv, &here.key(pk), pk)?.iter().enumerate() {
                        list.push(cbv::canonical_jsonld(
                            VocabField::Disposition,
                            &string(d, &here.key(pk).index(i), pk)?,
                        ));
                    }
                }
                ev.persistent_disposition = Some(pd);
            }
            "readPoint" => ev.read_point = Some(location(ctx, v, &here, "readPoint", limits)?),
            "bizLocation" => {
                ev.biz_location = Some(location(ctx, v, &here, "bizLocation", limits)?)
            }
            "bizTransactionList" => typed_entries(v, &here, k, "bizTransaction", |kind, id| {
                ev.biz_transactions.push(BizTransaction {
                    kind: kind.map(|t| cbv::canonical_jsonld(VocabField::BizTransactionType, &t)),
                    id,
                });
            })?,
            "sourceList" => typed_entries(v, &here, k, "source", |kind, id| {
                ev.sources.push(SourceDest {
                    kind: cbv::canonical_jsonld(
                        VocabField::SourceDestType,
                        &kind.unwrap_or_default(),
                    ),
                    id,
                });
            })?,
            "destinationList" => typed_entries(v, &here, k, "destination", |kind, id| {
                ev.destinations.push(SourceDest {
                    kind: cbv::canonical_jsonld(
                        VocabField::SourceDestType,
                        &kind.unwrap_or_default(),
                    ),
                    id,
                });
            })?,
            "sensorElementList" => ev.sensor_elements = sensor_elements(ctx, v, &here, limits)?,
            "ilmd" => {
                let mut fields = Vec::new();
                for (ik, iv) in object(v, &here, k)? {
                    if !ik.starts_with('@') {
                        let new = elements(ctx, ik, iv, 1, limits, &here.key(ik))?;
                        for f in &new {
                            validate::qualified_extension(ik, &f.namespace, here.key(ik))?;
                        }
                        fields.extend(new);
                    }
                }
                ev.ilmd = Some(fields);
            }
            "rdfs:comment" | "comment" => {
                ev.extensions.extend(elements(ctx, k, v, 1, limits, &here)?);
            }
            _ => {
                // As in XML: unqualified extension members are kept (vendor blocks converted
                // from XML), misspellings of standard fields are refused.
                if !k.contains(':') {
                    validate::unqualified_extension(k, here)?;
                }
                ev.extensions.extend(elements(ctx, k, v, 1, limits, &here)?);
            }
        }
    }
    let missing = |field: &'static str| {
        DecodeError::new(
            at.pos(),
            Problem::Missing {
                field,
                within: kind.name().to_owned(),
            },
        )
    };
    if ev.event_time.is_empty() {
        return Err(missing("eventTime"));
    }
    if ev.event_time_zone_offset.is_empty() {
        return Err(missing("eventTimeZoneOffset"));
    }
    if ev.action.is_none() && kind != EventKind::Transformation {
        return Err(missing("action"));
    }
    if kind == EventKind::Object
        && !map.contains_key("epcList")
        && !map.contains_key("quantityList")
    {
        return Err(missing("epcList"));
    }
    if ev.epc_count() > limits.max_epcs_per_event {
        return Err(DecodeError::new(
            at.pos(),
            Problem::Limit {
                what: "EPCs in one event",
                limit: limits.max_epcs_per_event as u64,
            },
        ));
    }
    Ok(ev)
}

#[cfg(test)]
mod tests {
    use super::Ptr;
    use crate::Position;

    #[test]
    fn pointer_text_escapes_member_names_and_is_built_from_the_path() {
        let root = Ptr::new("/epcisBody/eventList/3");
        let member = root.key("ilmd");
        let odd = member.key("a/b~c");
        assert_eq!(
            odd.index(2).pos(),
            Position::Json("/epcisBody/eventList/3/ilmd/a~1b~0c/2".into())
        );
        assert_eq!(root.pos(), Position::Json("/epcisBody/eventList/3".into()));
    }
}
