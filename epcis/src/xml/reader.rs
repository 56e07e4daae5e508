//! A pull reader over quick-xml that yields namespace-resolved subtrees with positions.
//!
//! EPCIS documents are read one event at a time: the top-level walker skips down to the event
//! list, then asks for one subtree per event. A subtree ([`XNode`]) is small, so memory stays
//! bounded however large the document is. Every node remembers the line and column of its start
//! tag, which is what located errors report.
//!
//! Hostile input: DOCTYPE declarations are refused (so no DTD, no entity declarations, no external
//! entities); only the five predefined entities and character references are expanded; only UTF-8
//! is read; depth, value size, node count and total bytes are limited.

use std::borrow::Cow;
use std::io::BufRead;

use quick_xml::events::Event as XmlEvent;
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;

use crate::{DecodeError, Limits, Position, Problem};

const NS_EPCIS_1: &str = "urn:epcglobal:epcis:xsd:1";
const NS_EPCIS_2: &str = "urn:epcglobal:epcis:xsd:2";

/// A `BufRead` that counts lines and bytes as the parser consumes them.
///
/// It also notes where the markup (`<`) or reference (`&`) that an event starts with begins:
/// quick-xml consumes that first byte on its own, and the first such one-byte consume after
/// [`Counting::arm`] is the start of the event, even when whitespace before it was skipped in
/// the same read.
pub(crate) struct Counting<R> {
    inner: R,
    offset: u64,
    line: u64,
    line_start: u64,
    armed: bool,
    /// Line, column and byte offset of the `<` or `&` noted since the last arm.
    mark: Option<(u64, u64, u64)>,
}

impl<R: BufRead> Counting<R> {
    fn new(inner: R) -> Self {
        Self {
            inner,
            offset: 0,
            line: 1,
            line_start: 0,
            armed: false,
            mark: None,
        }
    }

    /// Forgets the last mark: the next `<` or `&` consumed on its own is noted. Not at the very
    /// start of the input, where the first event is located at line 1, column 1 (a byte order
    /// mark included). Returns whether it armed.
    fn arm(&mut self) -> bool {
        self.armed = self.offset > 0;
        self.mark = None;
        self.armed
    }

    /// Where the event read since [`Counting::arm`] starts, when it starts with `<` or `&`.
    fn mark(&self) -> Option<Position> {
        self.mark
            .map(|(line, column, _)| Position::Xml { line, column })
    }

    /// The byte offset of the same mark.
    fn mark_offset(&self) -> Option<u64> {
        self.mark.map(|(_, _, offset)| offset)
    }

    fn position(&self) -> Position {
        Position::Xml {
            line: self.line,
            column: self.offset - self.line_start + 1,
        }
    }
}

impl<R: BufRead> std::io::Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = {
            let available = self.fill_buf()?;
            let n = available.len().min(buf.len());
            if let (Some(dst), Some(src)) = (buf.get_mut(..n), available.get(..n)) {
                dst.copy_from_slice(src);
            }
            n
        };
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Counting<R> {
    #[inline]
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    #[inline]
    fn consume(&mut self, amt: usize) {
        if let Ok(buf) = self.inner.fill_buf() {
            let consumed = buf.get(..amt).unwrap_or(buf);
            if self.armed && matches!(consumed, [b'<' | b'&']) {
                self.mark = Some((self.line, self.offset - self.line_start + 1, self.offset));
                self.armed = false;
            }
            for nl in memchr::memchr_iter(b'\n', consumed) {
                self.line += 1;
                self.line_start = self.offset + nl as u64 + 1;
            }
        }
        self.offset += amt as u64;
        self.inner.consume(amt);
    }
}

/// An attribute with its namespace resolved.
#[derive(Debug, Clone)]
pub(crate) struct XAttr {
    pub(crate) ns: String,
    pub(crate) local: String,
    pub(crate) value: String,
}

/// An element or namespace name: borrowed from a static table for the standard vocabulary (no
/// allocation per element), owned otherwise.
pub(crate) type Name = Cow<'static, str>;

/// An element subtree with namespaces resolved and text trimmed.
#[derive(Debug, Clone, Default)]
pub(crate) struct XNode {
    pub(crate) ns: Name,
    pub(crate) prefix: Option<String>,
    pub(crate) local: Name,
    pub(crate) attrs: Vec<XAttr>,
    /// Text directly inside this element (all text nodes concatenated), trimmed.
    pub(crate) text: String,
    pub(crate) children: Vec<Self>,
    pub(crate) pos: (u64, u64),
}

impl XNode {
    pub(crate) fn position(&self) -> Position {
        Position::Xml {
            line: self.pos.0,
            column: self.pos.1,
        }
    }

    pub(crate) fn attr(&self, local: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|a| a.ns.is_empty() && a.local == local)
            .map(|a| a.value.as_str())
    }

    /// True for the 1.2 wrappers `extension` and `baseExtension` (unqualified).
    pub(crate) fn is_wrapper(&self) -> bool {
        self.ns.is_empty() && (self.local == "extension" || self.local == "baseExtension")
    }
}

/// What one step read, the element itself having been written into the caller's node (so that
/// it is built in place instead of being moved through each layer).
#[derive(Clone, Copy)]
enum Kind {
    /// A start tag (`true`: an empty-element tag).
    Open(bool),
    /// An end tag.
    Close,
    /// End of input.
    Eof,
}

/// What the walker sees at one step.
pub(crate) enum Step {
    /// A start tag; the element's content has not been read yet (unless `empty`).
    Open(XNode, bool),
    /// An end tag.
    Close,
    /// End of input.
    Eof,
}

/// The pull reader.
pub(crate) struct XmlReader<R: BufRead> {
    reader: NsReader<Counting<R>>,
    buf: Vec<u8>,
    depth: usize,
    limits: Limits,
}

fn xml_err(pos: Position, e: impl std::fmt::Display) -> DecodeError {
    DecodeError::new(
        pos,
        Problem::Syntax {
            syntax: "XML",
            detail: e.to_string(),
        },
    )
}

impl<R: BufRead> XmlReader<R> {
    pub(crate) fn new(input: R, limits: Limits) -> Self {
        let mut reader = NsReader::from_reader(Counting::new(input));
        let config = reader.config_mut();
        config.check_end_names = true;
        config.expand_empty_elements = false;
        config.trim_text(false);
        Self {
            reader,
            buf: Vec::with_capacity(4096),
            depth: 0,
            limits,
        }
    }

    /// The current position (just after what has been read).
    pub(crate) fn position(&self) -> Position {
        self.reader.get_ref().position()
    }

    /// The byte offset of the `<` of the element the last step opened, when it was noted.
    pub(crate) fn start_offset(&self) -> Option<u64> {
        self.reader.get_ref().mark_offset()
    }

    fn check_size(&self) -> Result<(), DecodeError> {
        let consumed = self.reader.get_ref().offset;
        if consumed > self.limits.max_document_bytes {
            return Err(DecodeError::new(
                Position::Document,
                Problem::Limit {
                    what: "document size in bytes",
                    limit: self.limits.max_document_bytes,
                },
            ));
        }
        Ok(())
    }

    /// Reads the next structural step, skipping comments, PIs and the XML declaration.
    /// Text before the step is appended to `text` when given (and dropped otherwise).
    pub(crate) fn step(&mut self, text: Option<&mut String>) -> Result<Step, DecodeError> {
        let mut node = XNode::default();
        Ok(match self.step_into(text, &mut node)? {
            Kind::Open(empty) => Step::Open(node, empty),
            Kind::Close => Step::Close,
            Kind::Eof => Step::Eof,
        })
    }

    /// [`XmlReader::step`], writing an opened element into `node` (a fresh, default node).
    fn step_into(
        &mut self,
        mut text: Option<&mut String>,
        node: &mut XNode,
    ) -> Result<Kind, DecodeError> {
        loop {
            let before = self.reader.get_ref().position();
            let armed = self.reader.get_mut().arm();
            // Leading whitespace can be skipped by quick-xml while nothing has accumulated
            // (values are trimmed): most of a document's text is indentation, and this spares an
            // event per indentation run. Once text has started, whitespace is content. The mark
            // keeps event positions where they were without the skip.
            self.reader.config_mut().trim_text_start =
                armed && text.as_deref().is_none_or(String::is_empty);
            let mut buf = std::mem::take(&mut self.buf);
            buf.clear();
            let result = self.read_one(&mut buf, before, text.as_deref_mut(), node);
            self.buf = buf;
            if let Some(kind) = result? {
                return Ok(kind);
            }
        }
    }

    /// Reads one quick-xml event; `None` for events the walker does not see.
    fn read_one(
        &mut self,
        buf: &mut Vec<u8>,
        before: Position,
        text: Option<&mut String>,
        node: &mut XNode,
    ) -> Result<Option<Kind>, DecodeError> {
        let (resolved, event) = match self.reader.read_resolved_event_into(buf) {
            Ok(read) => read,
            Err(e) => {
                let at = self.reader.get_ref().mark().unwrap_or(before);
                return Err(xml_err(at, e));
            }
        };
        let ns: Result<Name, String> = match resolved {
            ResolveResult::Bound(ns) => Ok(intern_namespace(ns.as_ref())),
            ResolveResult::Unbound => Ok(Cow::Borrowed("")),
            ResolveResult::Unknown(prefix) => {
                Err(format!("namespace prefix '{prefix}' is not declared"))
            }
        };
        // Where the event starts: skipped whitespace is not part of it.
        let before = self.reader.get_ref().mark().unwrap_or(before);
        let ns = ns.map_err(|detail| xml_err(before.clone(), detail))?;
        let (start, empty) = match event {
            XmlEvent::Start(start) => (start, false),
            XmlEvent::Empty(start) => (start, true),
            XmlEvent::End(_) => {
                self.depth = self.depth.saturating_sub(1);
                return Ok(Some(Kind::Close));
            }
            XmlEvent::Text(t) => {
                // Indentation between elements is most of the text in a document: while nothing
                // has accumulated, leading whitespace can be skipped without copying (values are
                // trimmed). Once text has started, whitespace is content (`a &amp; &lt; b`).
                let raw: &str = &t;
                let skip =
                    |out: &String| out.is_empty() && raw.bytes().all(|b| b.is_ascii_whitespace());
                if let Some(out) = text.filter(|out| !skip(out)) {
                    let decoded = t.xml10_content();
                    self.push_text(out, &decoded)?;
                }
                return Ok(None);
            }
            XmlEvent::CData(c) => {
                if let Some(out) = text {
                    let decoded = c.xml10_content();
                    self.push_text(out, &decoded)?;
                }
                return Ok(None);
            }
            XmlEvent::GeneralRef(r) => {
                let resolved = resolve_reference(&r, &before)?;
                if let Some(out) = text {
                    self.push_text(out, &resolved)?;
                }
                return Ok(None);
            }
            XmlEvent::DocType(doctype) => {
                // A bare `<!DOCTYPE name>` declares nothing (GS1's own examples carry one). An
                // internal subset or an external DTD could declare entities: refused.
                let body = doctype.xml10_content();
                let declares = body.contains('[')
                    || body
                        .split_whitespace()
                        .any(|w| w == "SYSTEM" || w == "PUBLIC");
                if declares {
                    return Err(DecodeError::new(
                        before,
                        Problem::Refused(
                            "DOCTYPE with an internal subset or external DTD is refused: EPCIS \
                             needs no DTD, and entity declarations are a known attack (billion \
                             laughs, external entities)"
                                .into(),
                        ),
                    ));
                }
                return Ok(None);
            }
            XmlEvent::Decl(decl) => {
                if let Some(Ok(enc)) = decl.encoding() {
                    let enc = enc.to_ascii_lowercase();
                    if enc != "utf-8" && enc != "utf8" && enc != "us-ascii" {
                        return Err(DecodeError::new(
                            before,
                            Problem::Refused(format!(
                                "encoding {enc:?} is not supported: send UTF-8"
                            )),
                        ));
                    }
                }
                return Ok(None);
            }
            XmlEvent::Comment(_) | XmlEvent::PI(_) => return Ok(None),
            XmlEvent::Eof => return Ok(Some(Kind::Eof)),
        };
        // Some producers qualify event content with the EPCIS namespace; below the root it
        // means the same as no namespace.
        let ns = if self.depth > 0 && (ns == NS_EPCIS_1 || ns == NS_EPCIS_2) {
            Cow::Borrowed("")
        } else {
            ns
        };
        self.open_node(&start, ns, before, node)?;
        if !empty {
            self.depth += 1;
            if self.depth > self.limits.max_depth {
                return Err(DecodeError::new(
                    node.position(),
                    Problem::Limit {
                        what: "element nesting depth",
                        limit: self.limits.max_depth as u64,
                    },
                ));
            }
        }
        self.check_size()?;
        Ok(Some(Kind::Open(empty)))
    }

    fn push_text(&self, out: &mut String, s: &str) -> Result<(), DecodeError> {
        if out.len() + s.len() > self.limits.max_value_bytes {
            return Err(DecodeError::new(
                self.position(),
                Problem::Limit {
                    what: "text value size in bytes",
                    limit: self.limits.max_value_bytes as u64,
                },
            ));
        }
        out.push_str(s);
        Ok(())
    }

    fn open_node(
        &self,
        start: &quick_xml::events::BytesStart<'_>,
        ns: Name,
        pos: Position,
        node: &mut XNode,
    ) -> Result<(), DecodeError> {
        let name = start.name();
        let (local, prefix) = name.decompose();
        node.ns = ns;
        node.local = intern_local(local.as_ref());
        node.prefix = prefix.map(|p| p.as_ref().to_owned());
        if let Position::Xml { line, column } = pos {
            node.pos = (line, column);
        }
        for attr in start.attributes() {
            let attr = attr.map_err(|e| xml_err(pos.clone(), e))?;
            if attr.key.as_namespace_binding().is_some() {
                continue;
            }
            let (resolved, attr_local) = self.reader.resolver().resolve_attribute(attr.key);
            let attr_ns = match resolved {
                ResolveResult::Bound(ns) => ns.as_ref().to_owned(),
                ResolveResult::Unbound => String::new(),
                ResolveResult::Unknown(p) => {
                    return Err(xml_err(
                        pos,
                        format!("namespace prefix '{p}' is not declared"),
                    ));
                }
            };
            let value = attr
                .normalized_value(quick_xml::XmlVersion::Explicit1_0)
                .map_err(|e| xml_err(pos.clone(), e))?
                .into_owned();
            if value.len() > self.limits.max_value_bytes {
                return Err(DecodeError::new(
                    pos,
                    Problem::Limit {
                        what: "attribute value size in bytes",
                        limit: self.limits.max_value_bytes as u64,
                    },
                ));
            }
            node.attrs.push(XAttr {
                ns: attr_ns,
                local: attr_local.as_ref().to_owned(),
                value: value.trim().to_owned(),
            });
        }
        Ok(())
    }

    /// Reads the content of an element that was just opened, into `node`, up to its end tag.
    pub(crate) fn read_subtree(&mut self, node: &mut XNode) -> Result<(), DecodeError> {
        let mut count = 0usize;
        self.fill(node, &mut count)?;
        trim_in_place(&mut node.text);
        Ok(())
    }

    fn fill(&mut self, node: &mut XNode, count: &mut usize) -> Result<(), DecodeError> {
        let mut text = std::mem::take(&mut node.text);
        loop {
            let mut child = XNode::default();
            match self.step_into(Some(&mut text), &mut child)? {
                Kind::Open(empty) => {
                    *count += 1;
                    if *count > self.limits.max_nodes_per_item {
                        return Err(DecodeError::new(
                            child.position(),
                            Problem::Limit {
                                what: "elements in one event or header",
                                limit: self.limits.max_nodes_per_item as u64,
                            },
                        ));
                    }
                    if !empty {
                        self.fill(&mut child, count)?;
                    }
                    trim_in_place(&mut child.text);
                    node.children.push(child);
                }
                Kind::Close => break,
                Kind::Eof => {
                    return Err(xml_err(
                        self.position(),
                        format!("unexpected end of input inside <{}>", node.local),
                    ));
                }
            }
        }
        node.text = text;
        Ok(())
    }

    /// Skips the rest of an element that was just opened.
    pub(crate) fn skip_subtree(&mut self) -> Result<(), DecodeError> {
        let mut depth = 1usize;
        while depth > 0 {
            match self.step(None)? {
                Step::Open(_, empty) => {
                    if !empty {
                        depth += 1;
                    }
                }
                Step::Close => depth -= 1,
                Step::Eof => {
                    return Err(xml_err(self.position(), "unexpected end of input"));
                }
            }
        }
        Ok(())
    }
}

/// Resolves `&name;` references: the five predefined entities and character references only.
fn resolve_reference(
    r: &quick_xml::events::BytesRef<'_>,
    pos: &Position,
) -> Result<String, DecodeError> {
    if r.is_char_ref() {
        return match r.resolve_char_ref() {
            Ok(Some(c)) => Ok(c.to_string()),
            Ok(None) | Err(_) => Err(xml_err(pos.clone(), "invalid character reference")),
        };
    }
    let name = r.xml10_content();
    Ok(match name.as_ref() {
        "amp" => "&",
        "lt" => "<",
        "gt" => ">",
        "quot" => "\"",
        "apos" => "'",
        other => {
            return Err(DecodeError::new(
                pos.clone(),
                Problem::Refused(format!(
                    "entity reference &{other}; is not defined (only the five XML entities are)"
                )),
            ));
        }
    }
    .to_owned())
}

/// Trims `s` without a new allocation (and without touching it when there is nothing to trim).
fn trim_in_place(s: &mut String) {
    let end = s.trim_end().len();
    s.truncate(end);
    let start = s.len() - s.trim_start().len();
    if start > 0 {
        s.drain(..start);
    }
}

/// Interns a name: one of the listed literals is returned borrowed, anything else is copied.
macro_rules! intern {
    ($value:expr, [$($name:literal),* $(,)?]) => {
        match $value {
            $($name => Cow::Borrowed($name),)*
            other => Cow::Owned(other.to_owned()),
        }
    };
}

/// The element names of the standard vocabulary, shared instead of allocated per element.
fn intern_local(local: &str) -> Name {
    intern!(
        local,
        [
            "epc",
            "eventTime",
            "eventTimeZoneOffset",
            "recordTime",
            "eventID",
            "epcList",
            "childEPCs",
            "inputEPCList",
            "outputEPCList",
            "action",
            "bizStep",
            "disposition",
            "readPoint",
            "bizLocation",
            "id",
            "extension",
            "baseExtension",
            "ilmd",
            "parentID",
            "bizTransactionList",
            "bizTransaction",
            "sourceList",
            "source",
            "destinationList",
            "destination",
            "quantityList",
            "childQuantityList",
            "inputQuantityList",
            "outputQuantityList",
            "quantityElement",
            "epcClass",
            "quantity",
            "uom",
            "ObjectEvent",
            "AggregationEvent",
            "TransactionEvent",
            "TransformationEvent",
            "AssociationEvent",
            "transformationID",
            "lotNumber",
            "itemExpirationDate",
            "sensorElementList",
            "sensorElement",
            "sensorMetadata",
            "sensorReport",
            "persistentDisposition",
            "set",
            "unset",
            "certificationInfo",
            "errorDeclaration",
            "declarationTime",
            "reason",
            "correctiveEventIDs",
            "correctiveEventID",
        ]
    )
}

/// Namespaces met in DSCSA documents, shared instead of allocated per element.
fn intern_namespace(ns: &str) -> Name {
    intern!(
        ns,
        [
            "urn:epcglobal:epcis:xsd:1",
            "urn:epcglobal:epcis:xsd:2",
            "urn:epcglobal:cbv:mda",
            "http://epcis.gs1us.org/hc/ns",
            "http://www.unece.org/cefact/namespaces/StandardBusinessDocumentHeader",
        ]
    )
}
