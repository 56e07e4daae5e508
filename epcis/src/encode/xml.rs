//! The streaming XML writer: document root, header, master data, and the generic writer for
//! extension element trees. Events are in `xml_event`.

use std::io::{self, Write};

use super::DocumentHead;
use super::ns::{self, CBVMDA_12, Prefixes, SBDH_NS, Syntax, XSD_NS, XSI_NS};
use super::tree::{sbdh_tree, statement_tree};
use super::xml_event::EventXml;
use super::xml_out::XmlOut;
use crate::model::{DocumentKind, Element, EpcisVersion, Event, GS1USHC_NS, Header, Vocabulary};

/// Streams an EPCIS XML document (2.0 or 1.2): [`Self::new`] writes everything up to the event
/// list, [`Self::event`] one event, [`Self::finish`] the rest.
pub struct XmlWriter<W: Write> {
    x: XmlOut<W>,
    ns: Prefixes,
    version: EpcisVersion,
    kind: DocumentKind,
}

impl<W: Write> XmlWriter<W> {
    /// Writes the XML declaration, the root element with its namespace declarations, the header
    /// and the body up to `<EventList>`.
    pub fn new(out: W, head: &DocumentHead<'_>, version: EpcisVersion) -> io::Result<Self> {
        let (epcis_ns, query_ns, schema_version) = match version {
            EpcisVersion::V1_2 => (
                "urn:epcglobal:epcis:xsd:1",
                "urn:epcglobal:epcis-query:xsd:1",
                "1.2",
            ),
            EpcisVersion::V2_0 => (
                "urn:epcglobal:epcis:xsd:2",
                "urn:epcglobal:epcis-query:xsd:2",
                "2.0",
            ),
        };
        let mut p = Prefixes::new(Syntax::Xml);
        p.bind(epcis_ns, Some("epcis"));
        if head.kind == DocumentKind::Query {
            p.bind(query_ns, Some("epcisq"));
        }
        ns::header_namespaces(head.header, &mut |uri, prefix| p.bind(uri, prefix));
        for n in &head.namespaces {
            p.bind(&n.uri, n.prefix.as_deref());
        }
        for (uri, _) in head.hash_ignore {
            p.bind(uri, None);
        }
        for (prefix, uri) in [
            ("xsi", XSI_NS),
            ("xsd", XSD_NS),
            ("sbdh", SBDH_NS),
            ("gs1ushc", GS1USHC_NS),
            ("cbvmda", CBVMDA_12),
        ] {
            p.bind_if_free(prefix, uri);
        }
        p.seal_root();

        let mut x = XmlOut::new(out);
        x.raw("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")?;
        let root = root_name(&p, head.kind, epcis_ns, query_ns);
        x.open(root)?;
        for (prefix, uri) in p.root_declarations() {
            x.xmlns(prefix, uri)?;
        }
        x.attr((None, "schemaVersion"), schema_version)?;
        if let Some(d) = head.creation_date {
            x.attr((None, "creationDate"), d)?;
        }
        x.open_end()?;
        if !head.header.is_empty() {
            write_header(&mut x, &p, head.header)?;
        }
        if !head.hash_ignore.is_empty() {
            // Where GS1's reference hash examples put it; no XSD slot allows an unqualified
            // element there, but the model has no namespace for the wrapper.
            x.start("ignoreFields")?;
            for (uri, name) in head.hash_ignore {
                let prefix = if uri.is_empty() {
                    None
                } else {
                    p.prefix_of(uri)
                };
                x.open((prefix, name))?;
                x.empty_end()?;
            }
            x.end("ignoreFields")?;
        }
        x.start("EPCISBody")?;
        if head.kind == DocumentKind::Query {
            x.open((p.prefix_of(query_ns), "QueryResults"))?;
            x.open_end()?;
            if let Some(q) = head.query_name {
                x.leaf("queryName", q)?;
            }
            if let Some(s) = head.subscription_id {
                x.leaf("subscriptionID", s)?;
            }
            x.start("resultsBody")?;
        }
        x.start("EventList")?;
        Ok(Self {
            x,
            ns: p,
            version,
            kind: head.kind,
        })
    }

    /// Writes one event. Namespaces the root does not declare are declared on the event element.
    pub fn event(&mut self, e: &Event) -> io::Result<()> {
        self.ns.clear_locals();
        let p = &mut self.ns;
        ns::event_namespaces(e, &mut |uri, prefix| p.bind(uri, prefix));
        let mut w = EventXml {
            x: &mut self.x,
            ns: &self.ns,
            v12: self.version == EpcisVersion::V1_2,
        };
        w.event(e)
    }

    /// Closes the event list, the body and the root; returns the writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.x.end("EventList")?;
        let (epcis_ns, query_ns) = match self.version {
            EpcisVersion::V1_2 => (
                "urn:epcglobal:epcis:xsd:1",
                "urn:epcglobal:epcis-query:xsd:1",
            ),
            EpcisVersion::V2_0 => (
                "urn:epcglobal:epcis:xsd:2",
                "urn:epcglobal:epcis-query:xsd:2",
            ),
        };
        if self.kind == DocumentKind::Query {
            self.x.end("resultsBody")?;
            self.x
                .close((self.ns.prefix_of(query_ns), "QueryResults"), true)?;
        }
        self.x.end("EPCISBody")?;
        self.x
            .close(root_name(&self.ns, self.kind, epcis_ns, query_ns), true)?;
        self.x.raw("\n")?;
        Ok(self.x.into_inner())
    }
}

fn root_name<'p>(
    p: &'p Prefixes,
    kind: DocumentKind,
    epcis_ns: &str,
    query_ns: &str,
) -> (Option<&'p str>, &'static str) {
    match kind {
        DocumentKind::Capture => (p.prefix_of(epcis_ns), "EPCISDocument"),
        DocumentKind::Query => (p.prefix_of(query_ns), "EPCISQueryDocument"),
    }
}

/// `EPCISHeader`: SBDH, `extension` (master data; unqualified header extensions in the nested
/// `extension`), then the qualified header extensions and the DSCSA statement.
fn write_header<W: Write>(x: &mut XmlOut<W>, p: &Prefixes, h: &Header) -> io::Result<()> {
    x.start("EPCISHeader")?;
    if let Some(s) = &h.sbdh {
        write_element(x, p, &sbdh_tree(s))?;
    }
    let unqualified: Vec<&Element> = h
        .extensions
        .iter()
        .filter(|e| e.namespace.is_empty())
        .collect();
    if !h.master_data.is_empty() || !unqualified.is_empty() {
        x.start("extension")?;
        if !h.master_data.is_empty() {
            x.start("EPCISMasterData")?;
            x.start("VocabularyList")?;
            for v in &h.master_data {
                write_vocabulary(x, p, v)?;
            }
            x.end("VocabularyList")?;
            x.end("EPCISMasterData")?;
        }
        if !unqualified.is_empty() {
            x.start("extension")?;
            for e in unqualified {
                write_element(x, p, e)?;
            }
            x.end("extension")?;
        }
        x.end("extension")?;
    }
    for e in h.extensions.iter().filter(|e| !e.namespace.is_empty()) {
        write_element(x, p, e)?;
    }
    if let Some(t) = &h.transaction_statement {
        write_element(x, p, &statement_tree(t))?;
    }
    x.end("EPCISHeader")
}

fn write_vocabulary<W: Write>(x: &mut XmlOut<W>, p: &Prefixes, v: &Vocabulary) -> io::Result<()> {
    x.open((None, "Vocabulary"))?;
    x.attr((None, "type"), &v.kind)?;
    if v.elements.is_empty() {
        return x.empty_end();
    }
    x.open_end()?;
    x.start("VocabularyElementList")?;
    for el in &v.elements {
        x.open((None, "VocabularyElement"))?;
        x.attr((None, "id"), &el.id)?;
        if el.attributes.is_empty() && el.children.is_empty() {
            x.empty_end()?;
            continue;
        }
        x.open_end()?;
        for a in &el.attributes {
            x.open((None, "attribute"))?;
            x.attr((None, "id"), &a.id)?;
            if a.value.is_empty() && a.children.is_empty() {
                x.empty_end()?;
                continue;
            }
            x.open_end()?;
            x.text(&a.value)?;
            for c in &a.children {
                write_element(x, p, c)?;
            }
            x.close((None, "attribute"), !a.children.is_empty())?;
        }
        if !el.children.is_empty() {
            x.list("children", "id", &el.children)?;
        }
        x.end("VocabularyElement")?;
    }
    x.end("VocabularyElementList")?;
    x.end("Vocabulary")
}

/// Writes an extension element tree with the prefixes in scope. Repeated attributes (same
/// namespace and name) are written once, since XML forbids duplicates.
pub(super) fn write_element<W: Write>(
    x: &mut XmlOut<W>,
    p: &Prefixes,
    e: &Element,
) -> io::Result<()> {
    // WHY the fallback: the collectors in `ns` bind every namespace before anything is written,
    // so it is not reached; were it reached, the namespace is still declared, on the element.
    let (prefix, inline) = match (
        e.namespace.as_str(),
        p.prefix_for(&e.namespace, e.prefix.as_deref()),
    ) {
        ("", _) => (None, false),
        (_, Some(pfx)) => (Some(pfx), false),
        (_, None) => (Some("ns0"), true),
    };
    x.open((prefix, &e.name))?;
    if inline {
        x.xmlns("ns0", &e.namespace)?;
    }
    let repeated = ns::repeats(&e.attributes, |a| (a.namespace.as_str(), a.name.as_str()));
    for (a, repeat) in e.attributes.iter().zip(repeated) {
        if repeat {
            continue;
        }
        let apfx = if a.namespace.is_empty() {
            None
        } else {
            p.prefix_of(&a.namespace)
        };
        x.attr((apfx, &a.name), &a.value)?;
    }
    let text = e.text.as_deref().unwrap_or_default();
    if text.is_empty() && e.children.is_empty() {
        return x.empty_end();
    }
    x.open_end()?;
    x.text(text)?;
    for c in &e.children {
        write_element(x, p, c)?;
    }
    x.close((prefix, &e.name), !e.children.is_empty())
}

/// Writes extension elements where the XSD has `extension` (`##local`) then `##other`: each run
/// of unqualified elements inside one `<extension>` (decoders unwrap it), the qualified ones as
/// they are, all in model order. A model whose unqualified elements come first, as every
/// XSD-valid source yields, gives XSD-valid output; other orders are kept rather than sorted.
pub(super) fn write_extensions<W: Write>(
    x: &mut XmlOut<W>,
    p: &Prefixes,
    elements: &[Element],
) -> io::Result<()> {
    let mut rest = elements;
    while let Some(first) = rest.first() {
        if first.namespace.is_empty() {
            let run = rest.iter().take_while(|e| e.namespace.is_empty()).count();
            let (unqualified, tail) = rest.split_at(run);
            x.start("extension")?;
            for e in unqualified {
                write_element(x, p, e)?;
            }
            x.end("extension")?;
            rest = tail;
        } else {
            write_element(x, p, first)?;
            rest = rest.get(1..).unwrap_or_default();
        }
    }
    Ok(())
}
