//! EPCIS 2.0 JSON-LD: capture and query documents, decoded as a stream of events.
//!
//! serde drives the parse; each event object is materialised on its own and mapped, so memory is
//! bounded by the largest event when `@context` comes before `epcisBody` (the order every
//! generator we know writes). When it comes after, events are held until the context is known.
//! Errors inside the document are located by JSON pointer; syntax errors by line and column.

mod context;
mod event;
mod header;

use std::fmt;
use std::io::BufRead;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use crate::model::{Document, DocumentKind, Event};
use crate::{DecodeError, DecodeResult, Limits, Position, Problem};

use context::Context;
use event::Ptr;

/// Decodes a whole JSON-LD document (parsed from the slice: faster than through a reader).
pub(crate) fn decode(bytes: &[u8], limits: &Limits) -> DecodeResult<Document> {
    let mut events = Vec::new();
    let mut on_event = |_: &Document, e| {
        events.push(e);
        Ok(())
    };
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let mut head = drive(&mut de, limits, &mut on_event, || false)?;
    head.events = events;
    Ok(head)
}

/// Decodes a JSON-LD document from a reader, handing each event to `on_event`.
pub(crate) fn decode_stream<R: BufRead>(
    mut input: R,
    limits: &Limits,
    on_event: &mut dyn FnMut(&Document, Event) -> DecodeResult<()>,
) -> DecodeResult<Document> {
    if input
        .fill_buf()
        .is_ok_and(|b| b.starts_with(b"\xEF\xBB\xBF"))
    {
        input.consume(3);
    }
    let limited = LimitedReader {
        inner: input,
        left: limits.max_document_bytes,
        exceeded: std::rc::Rc::new(std::cell::Cell::new(false)),
    };
    let exceeded = limited.exceeded.clone();
    // serde_json reads a stream one byte at a time through `io::Bytes`, which std serves
    // straight from the buffer only when the reader is a `BufReader`: without this wrapper,
    // every byte was a call through the size limit into the input (a third of decode time).
    let buffered = std::io::BufReader::with_capacity(64 * 1024, limited);
    let mut de = serde_json::Deserializer::from_reader(buffered);
    drive(&mut de, limits, on_event, || exceeded.get())
}

fn drive<'de, R: serde_json::de::Read<'de>>(
    de: &mut serde_json::Deserializer<R>,
    limits: &Limits,
    on_event: &mut dyn FnMut(&Document, Event) -> DecodeResult<()>,
    exceeded: impl Fn() -> bool,
) -> DecodeResult<Document> {
    let mut state = State {
        ctx: Context::standard(),
        ctx_seen: false,
        held: Vec::new(),
        on_event,
        error: None,
        limits,
        count: 0,
        head: Document::default(),
        header: None,
    };
    let result = DocSeed(&mut state)
        .deserialize(&mut *de)
        .and_then(|()| de.end());
    if let Some(e) = state.error.take() {
        return Err(e);
    }
    if exceeded() {
        return Err(DecodeError::new(
            Position::Document,
            Problem::Limit {
                what: "document size in bytes",
                limit: limits.max_document_bytes,
            },
        ));
    }
    if let Err(e) = result {
        let problem = if e.is_io() {
            Problem::Io(e.to_string())
        } else {
            Problem::Syntax {
                syntax: "JSON",
                detail: strip_position(&e.to_string()),
            }
        };
        let position = if e.line() == 0 {
            Position::Document
        } else {
            Position::JsonText {
                line: e.line() as u64,
                column: e.column() as u64,
            }
        };
        return Err(DecodeError::new(position, problem));
    }
    state.flush_held()?;

    if let Some(h) = state.header.take() {
        state.head.header = header::header(&state.ctx, &h, limits)?;
    }
    if state.head.schema_version.is_empty() && state.head.kind == DocumentKind::Capture {
        state.head.schema_version = "2.0".into();
    }
    Ok(state.head)
}

/// serde_json appends " at line L column C" to its messages; we report the position ourselves.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message.get(..i).unwrap_or(message).to_owned(),
        None => message.to_owned(),
    }
}

/// A reader that stops at the document size limit.
struct LimitedReader<R> {
    inner: R,
    left: u64,
    exceeded: std::rc::Rc<std::cell::Cell<bool>>,
}

impl<R: BufRead> std::io::Read for LimitedReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.left == 0 {
            let mut probe = [0u8; 1];
            if self.inner.read(&mut probe)? > 0 {
                self.exceeded.set(true);
                return Err(std::io::Error::other("document size limit exceeded"));
            }
            return Ok(0);
        }
        let max = usize::try_from(self.left)
            .unwrap_or(usize::MAX)
            .min(buf.len());
        let n = self.inner.read(buf.get_mut(..max).unwrap_or_default())?;
        self.left -= n as u64;
        Ok(n)
    }
}

struct State<'a> {
    ctx: Context,
    ctx_seen: bool,
    held: Vec<(String, Value)>,
    on_event: &'a mut dyn FnMut(&Document, Event) -> DecodeResult<()>,
    error: Option<DecodeError>,
    limits: &'a Limits,
    count: u64,
    head: Document,
    header: Option<Value>,
}

impl State<'_> {
    fn fail<E: serde::de::Error>(&mut self, e: DecodeError) -> E {
        self.error = Some(e);
        E::custom("stopped")
    }

    fn event(&mut self, pointer: String, value: Value) -> DecodeResult<()> {
        self.count += 1;
        if self.count > self.limits.max_events {
            return Err(DecodeError::new(
                Position::Json(pointer),
                Problem::Limit {
                    what: "events in one document",
                    limit: self.limits.max_events,
                },
            ));
        }
        if !self.ctx_seen {
            self.held.push((pointer, value));
            return Ok(());
        }
        let ev = event::event(&self.ctx, &value, &Ptr::new(&pointer), self.limits)?;
        (self.on_event)(&self.head, ev)
    }

    /// Records `ignoreFields` names, resolved now so that streamed events honour them.
    fn add_ignore_fields(&mut self, v: &Value) {
        if let Value::Array(items) = v {
            for name in items.iter().filter_map(Value::as_str) {
                let n = self.ctx.resolve(name);
                self.head.hash_ignore.push((n.namespace, n.local));
            }
        }
    }

    fn flush_held(&mut self) -> DecodeResult<()> {
        for (pointer, value) in std::mem::take(&mut self.held) {
            let ev = event::event(&self.ctx, &value, &Ptr::new(&pointer), self.limits)?;
            (self.on_event)(&self.head, ev)?;
        }
        Ok(())
    }
}

struct DocSeed<'s, 'a>(&'s mut State<'a>);

impl<'de> DeserializeSeed<'de> for DocSeed<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for DocSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an EPCIS JSON-LD document (a JSON object)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let st = self.0;
        let mut saw_type = false;
        let mut bare_event: Option<serde_json::Map<String, Value>> = None;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "@context" => {
                    let v: Value = map.next_value()?;
                    st.ctx.extend(&v);
                    st.ctx_seen = true;
                }
                "type" => {
                    let v: Value = map.next_value()?;
                    saw_type = true;
                    st.head.kind = match v.as_str() {
                        Some("EPCISDocument") => DocumentKind::Capture,
                        Some("EPCISQueryDocument") => DocumentKind::Query,
                        // A bare event (the body of `POST /epcis/events`): a document of one.
                        Some(t) if crate::model::EventKind::from_name(t).is_some() => {
                            bare_event
                                .get_or_insert_with(serde_json::Map::new)
                                .insert(key, v);
                            DocumentKind::Capture
                        }
                        _ => {
                            return Err(st.fail(DecodeError::invalid(
                                Position::Json("/type".into()),
                                "type",
                                &v.to_string(),
                                "must be EPCISDocument or EPCISQueryDocument",
                            )));
                        }
                    };
                }
                "schemaVersion" => {
                    let v: Value = map.next_value()?;
                    st.head.schema_version = event::scalar(&v).unwrap_or_default();
                }
                "creationDate" => {
                    let v: Value = map.next_value()?;
                    st.head.creation_date = event::scalar(&v);
                }
                "epcisHeader" => st.header = Some(map.next_value()?),
                k if k == "ignoreFields" || k.ends_with(":ignoreFields") => {
                    let v: Value = map.next_value()?;
                    st.add_ignore_fields(&v);
                }
                "epcisBody" => map.next_value_seed(BodySeed(st, "/epcisBody"))?,
                _ => {
                    let v: Value = map.next_value()?;
                    bare_event
                        .get_or_insert_with(serde_json::Map::new)
                        .insert(key, v);
                }
            }
        }
        let is_bare = bare_event.as_ref().and_then(|m| m.get("type")).is_some();
        if let (true, Some(fields)) = (is_bare, bare_event) {
            st.ctx_seen = true;
            if let Err(e) = st.event(String::new(), Value::Object(fields)) {
                return Err(st.fail(e));
            }
            return Ok(());
        }
        if saw_type && !st.ctx_seen {
            return Err(st.fail(DecodeError::new(
                Position::Json(String::new()),
                Problem::Missing {
                    field: "@context",
                    within: "an EPCIS JSON-LD document (add the EPCIS 2.0 context URL)".into(),
                },
            )));
        }
        if !saw_type {
            return Err(st.fail(DecodeError::new(
                Position::Json(String::new()),
                Problem::NotEpcis(
                    "a JSON object without \"type\": \"EPCISDocument\" is not an EPCIS document"
                        .into(),
                ),
            )));
        }
        Ok(())
    }
}

struct BodySeed<'s, 'a>(&'s mut State<'a>, &'static str);

impl<'de> DeserializeSeed<'de> for BodySeed<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for BodySeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "an object at {}", self.1)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let (st, base) = (self.0, self.1);
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "eventList" => map.next_value_seed(ListSeed(st, format!("{base}/eventList")))?,
                "event" => {
                    let v: Value = map.next_value()?;
                    let pointer = format!("{base}/event");
                    if let Err(e) = st.event(pointer, v) {
                        return Err(st.fail(e));
                    }
                }
                "queryResults" => map.next_value_seed(BodySeed(st, "/epcisBody/queryResults"))?,
                "resultsBody" => {
                    map.next_value_seed(BodySeed(st, "/epcisBody/queryResults/resultsBody"))?
                }
                "queryName" => {
                    let v: Value = map.next_value()?;
                    st.head.query_name = event::scalar(&v);
                }
                k if k == "ignoreFields" || k.ends_with(":ignoreFields") => {
                    let v: Value = map.next_value()?;
                    st.add_ignore_fields(&v);
                }
                "subscriptionID" => {
                    let v: Value = map.next_value()?;
                    st.head.subscription_id = event::scalar(&v);
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

struct ListSeed<'s, 'a>(&'s mut State<'a>, String);

impl<'de> DeserializeSeed<'de> for ListSeed<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for ListSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "an array of events at {}", self.1)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let (st, base) = (self.0, self.1);
        let mut i = 0usize;
        while let Some(v) = seq.next_element::<Value>()? {
            if let Err(e) = st.event(format!("{base}/{i}"), v) {
                return Err(st.fail(e));
            }
            i += 1;
        }
        Ok(())
    }
}
