//! Encoders: EPCIS 2.0 JSON-LD, 2.0 XML and 1.2 XML, whole-document and streaming.
//!
//! [`to_jsonld`] and [`to_xml`] are thin wrappers over the streaming [`JsonLdWriter`] and
//! [`XmlWriter`]: one code path. A writer takes a [`DocumentHead`] (the document minus its
//! events), writes the document up to the event list, then one event per [`XmlWriter::event`]
//! call, and closes the document in `finish`. Memory stays bounded by one event. The writers
//! issue many small writes: hand them a `std::io::BufWriter` when writing to a file or socket.
//!
//! # What each output does with the model
//!
//! | model part | 2.0 XML | 1.2 XML | JSON-LD |
//! |---|---|---|---|
//! | document | `epcis:EPCISDocument` (`urn:epcglobal:epcis:xsd:2`), `schemaVersion="2.0"`; query documents `epcisq:EPCISQueryDocument` with `EPCISBody/epcisq:QueryResults/{queryName, subscriptionID, resultsBody/EventList}` | same in `…:xsd:1`, `schemaVersion="1.2"` | `type`, `schemaVersion: "2.0"`, `creationDate`, `epcisBody.eventList` or `epcisBody.queryResults.{subscriptionID, queryName, resultsBody.eventList}` |
//! | SBDH | `EPCISHeader/sbdh:StandardBusinessDocumentHeader`, first | same | `epcisHeader["sbdh:StandardBusinessDocumentHeader"]`, the XML tree as JSON (below), `sbdh` bound in `@context`: EPCIS 2.0 defines no JSON-LD form for the SBDH |
//! | master data | `EPCISHeader/extension/EPCISMasterData/VocabularyList` | same | `epcisHeader.epcisMasterData.vocabularyList[{type, vocabularyElementList[{id, attributes[{id, attribute}], children[]}]}]`; a structured attribute is an object |
//! | header extensions, DSCSA statement | after `extension` (unqualified ones in `extension/extension`) | same | `epcisHeader["prefix:name"]`, `epcisHeader["gs1ushc:dscsaTransactionStatement"]` |
//! | eventID, errorDeclaration | event children | `baseExtension` | members |
//! | certificationInfo | event child | `baseExtension/extension` | member (string, or array when several) |
//! | quantity / source / destination lists, ILMD | event children | the event's `extension` (Object, Aggregation, Transaction); TransformationEvent keeps them as children | arrays / `ilmd` object |
//! | sensorElementList, persistentDisposition | event children | `extension/extension` (TransformationEvent: `extension`) | members |
//! | TransformationEvent | in `EventList` | `EventList/extension/TransformationEvent` | `type` |
//! | AssociationEvent | in `EventList` | `EventList/extension/extension/AssociationEvent`, 2.0 content | `type` |
//! | user extensions | after the standard children; each run of unqualified ones inside `<extension>` | same, except at event level, where unqualified ones go in the nested `extension` | `prefix:name` members (unqualified: bare name) |
//! | `ignoreFields` ([`Document::hash_ignore`]) | root child `ignoreFields` with one empty element per field, before `EPCISBody` (where GS1's hash examples put it) | same | `"ignoreFields": ["prefix:name", ...]` |
//!
//! CBV values are written as the model keeps them in XML (URNs for standard values) and as bare
//! words in JSON-LD when standard ([`crate::cbv::bare_word`]), else as written. JSON-LD writes
//! quantities and the numeric sensor fields (`value`, `minValue`, ...) as JSON numbers: digits
//! copied verbatim when the lexical form already is a JSON number, an `xsd:decimal` respelt
//! without changing its value otherwise (`+5` → `5`, `.5` → `0.5`), a string when it is neither;
//! `booleanValue` `true`/`false` become JSON booleans; everything else is a string. Extension
//! elements become JSON values: text only → string; nothing at all → `{}`; attributes or
//! children → an object with the attributes (by qualified name), `"#text"`, then the children,
//! where repeated names become an array at the position of their first occurrence.
//!
//! # Namespaces
//!
//! An element keeps its namespace URI exactly (the event hash depends on it) and, when that
//! prefix is free, the prefix the partner wrote: one URI may be bound to several prefixes, as in
//! the source. A prefix taken by another URI, or reserved, is replaced by another prefix already
//! bound to the URI, else a fresh one (`ex1`, `ns1`, ...). A prefix is never rebound where it is
//! in scope. XML declares on the root every namespace of the header, of
//! [`DocumentHead::namespaces`] and of `ignoreFields`, plus the well-known `xsi`, `xsd`, `sbdh`,
//! `gs1ushc` and `cbvmda` (`urn:epcglobal:cbv:mda`, the 1.2 form) while those prefixes are free;
//! a namespace an event introduces is declared on the event element. JSON-LD references the
//! ratified 2.0 context and adds an object binding the other prefixes. That context is
//! `@protected`: its terms (`cbvmda` = `urn:epcglobal:cbv:mda:`, `gs1`, `cbv`, `epcis`, `xsd`,
//! `type`, ...) are never rebound, so `urn:epcglobal:cbv:mda` without the colon is written with
//! `cbvmda12`; URI schemes (`urn`, `http`, ...) are never used as prefixes either. A namespace an
//! event introduces goes into an event-level `@context`. [`to_jsonld`] and [`to_xml`] collect
//! every namespace up front, so their output declares each once, on the root.
//!
//! # What a 1.2 reader sees
//!
//! A 1.2 reader that knows nothing of 2.0 sees valid 1.2 (the XSD's `extension` wildcards are
//! `lax`): the standard 1.2 fields, plus sensor data, persistent disposition and certification
//! info as unknown elements in the nested `extension`s, and AssociationEvents as an unknown
//! element inside `EventList/extension/extension` (GS1's 1.2-to-2.0 XSLT turns them back; our
//! decoder unwraps every `extension`/`baseExtension` and reads them as 2.0).
//!
//! # Limits
//!
//! - `schemaVersion` is that of the output, not the model's `schema_version`.
//! - XML 1.0 cannot carry most C0 control characters, even escaped: they become U+FFFD. A name
//!   that is not an XML name (from a hand-built model or a JSON-LD key) has its other characters
//!   replaced by `_`, in both syntaxes, so it cannot break the markup.
//! - Some models have no XSD-valid rendering; the encoders keep the data and give up validity:
//!   a 1.2 header without SBDH (1.2 requires one), header extensions such as the DSCSA
//!   statement in 2.0 (the 2.0 `EPCISHeader` has no wildcard), several `certificationInfo`,
//!   unqualified event extensions in 2.0, unqualified extensions after qualified ones, a query
//!   document without a query name, a missing `creationDate`, `ignoreFields`.
//! - JSON-LD cannot say everything XML can: XML attributes of extension elements become members
//!   (a reader sees child elements), interleaved repeated names come back grouped (`a b a` →
//!   `a a b`), and a vocabulary value that XML keeps as an opaque bare word (`Temperature`)
//!   reads back in JSON-LD as the standard term it names.
//! - Fields the event type does not use (an `epcList` on an AggregationEvent) are not written.

mod json_out;
mod jsonld;
mod jsonld_event;
mod layout;
mod ns;
mod tree;
mod xml;
mod xml_event;
mod xml_out;

use std::io;

pub use jsonld::JsonLdWriter;
pub use xml::XmlWriter;

use crate::model::{Document, DocumentKind, EpcisVersion, Event, Header};

/// A namespace to declare on the document root (a hint: see [`DocumentHead::namespaces`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Namespace {
    /// The namespace URI, exactly as the elements carry it.
    pub uri: String,
    /// The preferred prefix, if any.
    pub prefix: Option<String>,
}

/// Everything a streaming writer needs before the first event: the document minus its events.
///
/// `schemaVersion` is not here: it follows from the output (`2.0` for JSON-LD and 2.0 XML, `1.2`
/// for 1.2 XML).
#[derive(Clone, Debug)]
pub struct DocumentHead<'a> {
    /// Capture document or query result.
    pub kind: DocumentKind,
    /// The `creationDate`; omitted when `None`.
    pub creation_date: Option<&'a str>,
    /// SBDH, master data and DSCSA statements.
    pub header: &'a Header,
    /// For a query document: the query name.
    pub query_name: Option<&'a str>,
    /// For a query document: the subscription ID.
    pub subscription_id: Option<&'a str>,
    /// The document's `ignoreFields` (namespace URI, local name), written as a root
    /// `ignoreFields` element (XML; its children are the named fields, empty) or member (JSON-LD,
    /// `prefix:name` strings).
    pub hash_ignore: &'a [(String, String)],
    /// Namespaces the events will use, to declare once on the root (XML) or in the root
    /// `@context` (JSON-LD). The header's namespaces are always declared there; an event namespace
    /// missing from this list is declared on the event itself, which is valid but repetitive.
    pub namespaces: Vec<Namespace>,
}

impl<'a> DocumentHead<'a> {
    /// The head of `doc`, with no event namespaces.
    pub fn of(doc: &'a Document) -> Self {
        Self {
            kind: doc.kind,
            creation_date: doc.creation_date.as_deref(),
            header: &doc.header,
            query_name: doc.query_name.as_deref(),
            subscription_id: doc.subscription_id.as_deref(),
            hash_ignore: &doc.hash_ignore,
            namespaces: Vec::new(),
        }
    }

    /// Adds every namespace `events` use to [`Self::namespaces`] (first preferred prefix wins).
    #[must_use]
    pub fn declaring<'e>(mut self, events: impl IntoIterator<Item = &'e Event>) -> Self {
        for ev in events {
            ns::event_namespaces(ev, &mut |uri, prefix| {
                if !uri.is_empty() && !self.namespaces.iter().any(|n| n.uri == uri) {
                    self.namespaces.push(Namespace {
                        uri: uri.to_owned(),
                        prefix: prefix.map(str::to_owned),
                    });
                }
            });
        }
        self
    }
}

/// The document as EPCIS 2.0 JSON-LD.
pub fn to_jsonld(doc: &Document) -> String {
    let head = DocumentHead::of(doc).declaring(&doc.events);
    into_string(|out| {
        let mut w = JsonLdWriter::new(out, &head)?;
        for e in &doc.events {
            w.event(e)?;
        }
        w.finish().map(drop)
    })
}

/// The document as EPCIS 2.0 or 1.2 XML.
pub fn to_xml(doc: &Document, version: EpcisVersion) -> String {
    let head = DocumentHead::of(doc).declaring(&doc.events);
    into_string(|out| {
        let mut w = XmlWriter::new(out, &head, version)?;
        for e in &doc.events {
            w.event(e)?;
        }
        w.finish().map(drop)
    })
}

/// Runs a writer into memory. WHY no error: writing to a `Vec` cannot fail, and the writers only
/// write UTF-8 (every piece is a `&str` or ASCII); the lossy fallbacks are unreachable.
fn into_string(write: impl FnOnce(&mut Vec<u8>) -> io::Result<()>) -> String {
    let mut buf = Vec::new();
    // A failure would leave a truncated document; there is none to report for a Vec.
    let _ = write(&mut buf);
    String::from_utf8(buf).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

#[cfg(test)]
mod tests;
