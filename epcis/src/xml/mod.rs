//! EPCIS XML (1.0/1.1/1.2 and 2.0, capture, query and master-data documents), read as a stream.
//!
//! [`XmlEvents`] reads the document head (root attributes, header with SBDH and master data)
//! when it is created, then yields one event at a time: memory is bounded by the largest event,
//! not by the document. The document is read to its end, so a truncated or ill-formed tail is an
//! error even after the last event was yielded.

mod decode;
mod reader;

use std::io::BufRead;

use crate::model::{Document, DocumentKind, EpcisVersion, Event};
use crate::{DecodeError, DecodeResult, Limits, Problem};

use reader::{Step, XNode, XmlReader};

const NS_EPCIS_1: &str = "urn:epcglobal:epcis:xsd:1";
const NS_EPCIS_2: &str = "urn:epcglobal:epcis:xsd:2";
const NS_QUERY_1: &str = "urn:epcglobal:epcis-query:xsd:1";
const NS_QUERY_2: &str = "urn:epcglobal:epcis-query:xsd:2";
const NS_MASTERDATA_1: &str = "urn:epcglobal:epcis-masterdata:xsd:1";
const NS_MASTERDATA_2: &str = "urn:epcglobal:epcis-masterdata:xsd:2";

/// Where the walker is, between events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Frame {
    /// Inside the root element.
    Root,
    /// Inside `EPCISBody`.
    Body,
    /// Inside `QueryResults` or `resultsBody` (query documents).
    Results,
    /// Inside an `EventList` (or an `extension` wrapper within it): children are events.
    Events,
    /// Inside an element whose content the walker ignores (closed by skipping).
    Other,
}

/// A streaming reader of one EPCIS XML document.
pub struct XmlEvents<R: BufRead> {
    reader: XmlReader<R>,
    head: Document,
    version: EpcisVersion,
    frames: Vec<Frame>,
    limits: Limits,
    events: u64,
    done: bool,
    /// The first event, read while looking for the end of the head.
    pending: Option<XNode>,
    /// The EPC prefix last fully checked, shared by the events of the document.
    epc_cache: crate::validate::EpcCache,
    /// Byte offset of the start tag of the event read last (see [`XmlEvents::event_offset`]).
    event_offset: Option<u64>,
    /// How many walker frames were open around the first event, and the fewest open since.
    first_depth: usize,
    low_depth: usize,
}

impl<R: BufRead> XmlEvents<R> {
    /// Reads the document head and stops before the first event.
    pub fn new(input: R, limits: &Limits) -> DecodeResult<Self> {
        let mut reader = XmlReader::new(input, limits.clone());
        // `step` skips the prolog (declaration, comments), so the first step is the root.
        let (mut root, empty) = match reader.step(None)? {
            Step::Open(node, empty) => (node, empty),
            Step::Close | Step::Eof => {
                return Err(DecodeError::new(
                    reader.position(),
                    Problem::NotEpcis("no root element: the input is empty".into()),
                ));
            }
        };
        // A bare event (the body of `POST /epcis/events`, and many test fixtures) is read as a
        // document of one event.
        if (root.ns.is_empty() || root.ns == NS_EPCIS_1 || root.ns == NS_EPCIS_2)
            && crate::model::EventKind::from_name(&root.local).is_some()
        {
            let version = if root.ns == NS_EPCIS_1 {
                EpcisVersion::V1_2
            } else {
                EpcisVersion::V2_0
            };
            root.ns = std::borrow::Cow::Borrowed("");
            if !empty {
                reader.read_subtree(&mut root)?;
            }
            return Ok(Self {
                reader,
                head: Document::default(),
                version,
                frames: Vec::new(),
                limits: limits.clone(),
                events: 0,
                done: false,
                pending: Some(root),
                epc_cache: crate::validate::EpcCache::default(),
                event_offset: None,
                first_depth: 0,
                low_depth: 0,
            });
        }
        let (kind, version) = match (&*root.ns, &*root.local) {
            (NS_EPCIS_1, "EPCISDocument") => (DocumentKind::Capture, EpcisVersion::V1_2),
            (NS_EPCIS_2, "EPCISDocument") => (DocumentKind::Capture, EpcisVersion::V2_0),
            (NS_QUERY_1, "EPCISQueryDocument") => (DocumentKind::Query, EpcisVersion::V1_2),
            (NS_QUERY_2, "EPCISQueryDocument") => (DocumentKind::Query, EpcisVersion::V2_0),
            (NS_MASTERDATA_1, "EPCISMasterDataDocument") => {
                (DocumentKind::Capture, EpcisVersion::V1_2)
            }
            (NS_MASTERDATA_2, "EPCISMasterDataDocument") => {
                (DocumentKind::Capture, EpcisVersion::V2_0)
            }
            (ns, local) => {
                return Err(DecodeError::new(
                    root.position(),
                    Problem::NotEpcis(format!(
                        "root element <{local}> in namespace {ns:?} is not an EPCIS document \
                         (expected EPCISDocument in {NS_EPCIS_1} or {NS_EPCIS_2})"
                    )),
                ));
            }
        };
        let head = Document {
            kind,
            schema_version: root.attr("schemaVersion").unwrap_or_default().to_owned(),
            creation_date: root.attr("creationDate").map(str::to_owned),
            ..Document::default()
        };
        let mut this = Self {
            reader,
            head,
            version,
            frames: if empty { Vec::new() } else { vec![Frame::Root] },
            limits: limits.clone(),
            events: 0,
            done: empty,
            pending: None,
            epc_cache: crate::validate::EpcCache::default(),
            event_offset: None,
            first_depth: 0,
            low_depth: 0,
        };
        if !this.done {
            this.pending = this.advance_to_event()?;
            this.first_depth = this.frames.len();
            this.low_depth = this.frames.len();
        }
        Ok(this)
    }

    /// The byte offset in the input of the start tag (`<`) of the event the last `next` returned
    /// (before the first `next`: of the first event), when the reader noted it. `None` for a
    /// document that is a bare event.
    pub fn event_offset(&self) -> Option<u64> {
        self.event_offset
    }

    /// Whether the elements open around the event the last `next` returned are the very ones
    /// that were open around the first event: none of them was closed (and another opened in
    /// its place) in between.
    ///
    /// Then the rest of the document, from this event's [`event_offset`](Self::event_offset)
    /// on, reads the same when it follows the document's bytes before the first event's
    /// offset: the element nesting and the namespaces in scope are the same. This is what lets
    /// a caller read the two halves of a large document on two threads and check the seam
    /// afterwards (`dscsa epcis hash` does). Byte positions in errors differ in such a spliced
    /// input, so a caller re-reads the part where one was found.
    pub fn nesting_unchanged(&self) -> bool {
        self.event_offset.is_some()
            && self.low_depth >= self.first_depth
            && self.frames.len() == self.first_depth
    }

    /// The document without its events: kind, schema version, creation date and header.
    pub fn head(&self) -> &Document {
        &self.head
    }

    /// The EPCIS version, from the root namespace.
    pub fn version(&self) -> EpcisVersion {
        self.version
    }

    /// Consumes the reader, returning the head.
    pub fn into_head(self) -> Document {
        self.head
    }

    /// Walks forward until the next event start (`pending`) or the end of the document.
    /// Header, master data and query metadata met on the way go into the head.
    fn advance_to_event(&mut self) -> DecodeResult<Option<XNode>> {
        while let Some(&frame) = self.frames.last() {
            let mut ignored = String::new();
            let step = self.reader.step(Some(&mut ignored))?;
            let (mut node, empty) = match step {
                Step::Open(node, empty) => (node, empty),
                Step::Close => {
                    self.frames.pop();
                    self.low_depth = self.low_depth.min(self.frames.len());
                    continue;
                }
                Step::Eof => {
                    return Err(DecodeError::new(
                        self.reader.position(),
                        Problem::Syntax {
                            syntax: "XML",
                            detail: "unexpected end of input: the document is truncated".into(),
                        },
                    ));
                }
            };
            let local = node.local.clone();
            let local: &str = &local;
            let unqualified = node.ns.is_empty();
            let next = match frame {
                Frame::Events if unqualified && local == "extension" => Frame::Events,
                Frame::Events => {
                    self.event_offset = self.reader.start_offset();
                    if !empty {
                        self.reader.read_subtree(&mut node)?;
                    }
                    return Ok(Some(node));
                }
                Frame::Root if unqualified && local == "EPCISHeader" => {
                    if !empty {
                        self.reader.read_subtree(&mut node)?;
                    }
                    self.head.header = decode::header(node);
                    continue;
                }
                Frame::Root if unqualified && local == "EPCISBody" => Frame::Body,
                Frame::Root if local == "ignoreFields" => {
                    if !empty {
                        self.reader.read_subtree(&mut node)?;
                    }
                    self.head.hash_ignore.extend(
                        node.children
                            .into_iter()
                            .map(|c| (c.ns.into_owned(), c.local.into_owned())),
                    );
                    continue;
                }
                Frame::Body if unqualified && local == "EventList" => Frame::Events,
                Frame::Body if unqualified && local == "VocabularyList" => {
                    // EPCISMasterDataDocument: the body holds vocabularies.
                    if !empty {
                        self.reader.read_subtree(&mut node)?;
                    }
                    let wrapper = XNode {
                        local: "EPCISMasterData".into(),
                        children: vec![node],
                        ..XNode::default()
                    };
                    decode::master_data(wrapper, &mut self.head.header.master_data);
                    continue;
                }
                // Query documents: some producers omit EPCISBody/QueryResults.
                Frame::Root | Frame::Body | Frame::Results
                    if local == "QueryResults" || local == "resultsBody" =>
                {
                    Frame::Results
                }
                Frame::Results if local == "EventList" => Frame::Events,
                Frame::Root | Frame::Results
                    if local == "queryName" || local == "subscriptionID" =>
                {
                    if !empty {
                        self.reader.read_subtree(&mut node)?;
                    }
                    if local == "queryName" {
                        self.head.query_name = Some(node.text);
                    } else {
                        self.head.subscription_id = Some(node.text);
                    }
                    continue;
                }
                _ => Frame::Other,
            };
            if empty {
                continue;
            }
            if next == Frame::Other {
                self.reader.skip_subtree()?;
            } else {
                self.frames.push(next);
            }
        }
        // Root closed: nothing but comments and whitespace may follow.
        match self.reader.step(None)? {
            Step::Eof => {}
            Step::Open(node, _) => {
                return Err(DecodeError::new(
                    node.position(),
                    Problem::Syntax {
                        syntax: "XML",
                        detail: format!("element <{}> after the end of the document", node.local),
                    },
                ));
            }
            Step::Close => {
                return Err(DecodeError::new(
                    self.reader.position(),
                    Problem::Syntax {
                        syntax: "XML",
                        detail: "unbalanced end tag".into(),
                    },
                ));
            }
        }
        self.done = true;
        Ok(None)
    }

    fn next_event(&mut self) -> DecodeResult<Option<Event>> {
        let node = match self.pending.take() {
            Some(node) => node,
            None if self.done => return Ok(None),
            None => match self.advance_to_event()? {
                Some(node) => node,
                None => return Ok(None),
            },
        };
        self.events += 1;
        if self.events > self.limits.max_events {
            return Err(DecodeError::new(
                node.position(),
                Problem::Limit {
                    what: "events in one document",
                    limit: self.limits.max_events,
                },
            ));
        }
        decode::event(node, &self.limits, &mut self.epc_cache).map(Some)
    }
}

impl<R: BufRead> Iterator for XmlEvents<R> {
    type Item = DecodeResult<Event>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.next_event() {
            Ok(Some(e)) => Some(Ok(e)),
            Ok(None) => None,
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

/// Where an event's start tag may begin in `window`, a piece of an EPCIS XML document: the
/// first `<` followed by an event element name (`ObjectEvent`, `AggregationEvent`, …, with or
/// without a namespace prefix) and whitespace, `>` or `/`.
///
/// A guess from the bytes alone: the text could sit in a comment, a CDATA section or inside an
/// `extension` wrapper. A caller that splits a document there checks the seam with
/// [`XmlEvents::nesting_unchanged`] when the reading from the start arrives at it.
pub fn find_event_start(window: &[u8]) -> Option<usize> {
    memchr::memchr_iter(b'<', window).find(|&at| {
        let Some(rest) = window.get(at + 1..) else {
            return false;
        };
        // An optional prefix: a name and a colon before any other delimiter.
        let name_end = rest
            .iter()
            .position(|b| !(b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.')))
            .unwrap_or(rest.len());
        let rest = match rest.get(name_end) {
            Some(b':') => rest.get(name_end + 1..).unwrap_or_default(),
            _ => rest,
        };
        crate::model::EventKind::ALL.iter().any(|kind| {
            rest.strip_prefix(kind.name().as_bytes())
                .and_then(|after| after.first())
                .is_some_and(|b| b.is_ascii_whitespace() || matches!(b, b'>' | b'/'))
        })
    })
}

/// Position-free helper for callers that want the whole document.
pub(crate) fn decode_all<R: BufRead>(input: R, limits: &Limits) -> DecodeResult<Document> {
    let mut events = XmlEvents::new(input, limits)?;
    let mut list = Vec::new();
    for e in events.by_ref() {
        list.push(e?);
    }
    let mut doc = events.into_head();
    doc.events = list;
    Ok(doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_start_is_found_with_or_without_a_prefix() {
        assert_eq!(find_event_start(b"</epc></x>\n  <ObjectEvent>"), Some(13));
        assert_eq!(
            find_event_start(b"<a/><epcis:AggregationEvent a='1'>"),
            Some(4)
        );
        assert_eq!(find_event_start(b"<TransactionEvent/>"), Some(0));
        // Other names that start the same way, and a cut-off tag, are not event starts.
        assert_eq!(find_event_start(b"<ObjectEventList><ObjectEvents>"), None);
        assert_eq!(find_event_start(b"<ObjectEvent"), None);
        assert_eq!(find_event_start(b"no markup"), None);
    }

    #[test]
    fn the_nesting_is_unchanged_between_events_of_one_list_only() {
        let doc = "<epcis:EPCISDocument xmlns:epcis='urn:epcglobal:epcis:xsd:1'><EPCISBody>\
                   <EventList><ObjectEvent><eventTime>2020-01-01T00:00:00Z</eventTime>\
                   <eventTimeZoneOffset>+00:00</eventTimeZoneOffset><epcList/><action>OBSERVE</action>\
                   </ObjectEvent><extension><TransformationEvent><eventTime>2020-01-01T00:00:00Z\
                   </eventTime><eventTimeZoneOffset>+00:00</eventTimeZoneOffset>\
                   </TransformationEvent></extension><ObjectEvent><eventTime>2020-01-01T00:00:00Z\
                   </eventTime><eventTimeZoneOffset>+00:00</eventTimeZoneOffset>\
                   <epcList/><action>OBSERVE</action></ObjectEvent></EventList></EPCISBody>\
                   </epcis:EPCISDocument>";
        let mut events = XmlEvents::new(doc.as_bytes(), &Limits::default()).expect("head");
        let mut seen = Vec::new();
        while let Some(event) = events.next() {
            event.expect("valid");
            let at = events.event_offset().expect("noted") as usize;
            assert_eq!(doc.get(at..at + 1), Some("<"));
            seen.push(events.nesting_unchanged());
        }
        // The transformation event sits one element deeper, in the 1.2 `extension` wrapper.
        assert_eq!(seen, [true, false, true]);
    }
}
