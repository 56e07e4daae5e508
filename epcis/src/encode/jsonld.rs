//! The streaming JSON-LD writer: document, `@context`, header and master data, and the mapping of
//! extension element trees to JSON values. Events are in `jsonld_event`.

use std::collections::HashMap;
use std::io::{self, Write};

use super::DocumentHead;
use super::json_out::JsonOut;
use super::jsonld_event::EventJson;
use super::ns::{self, EPCIS_CONTEXT, Prefixes, Syntax, ncname};
use super::tree::{sbdh_tree, statement_tree};
use crate::model::{DocumentKind, Element, Event, Header, Vocabulary};

/// Streams an EPCIS 2.0 JSON-LD document: [`Self::new`] writes everything up to the event list,
/// [`Self::event`] one event, [`Self::finish`] the rest.
pub struct JsonLdWriter<W: Write> {
    j: JsonOut<W>,
    ns: Prefixes,
    kind: DocumentKind,
}

impl<W: Write> JsonLdWriter<W> {
    /// Writes `@context`, the document members, the header and the body up to `eventList`.
    pub fn new(out: W, head: &DocumentHead<'_>) -> io::Result<Self> {
        let mut p = Prefixes::new(Syntax::JsonLd);
        ns::header_namespaces(head.header, &mut |uri, prefix| p.bind(uri, prefix));
        for n in &head.namespaces {
            p.bind(&n.uri, n.prefix.as_deref());
        }
        for (uri, _) in head.hash_ignore {
            p.bind(uri, None);
        }
        p.seal_root();

        let mut j = JsonOut::new(out);
        j.begin_object()?;
        j.key("@context")?;
        j.begin_array()?;
        j.string(EPCIS_CONTEXT)?;
        if !p.root_declarations().is_empty() {
            j.begin_object()?;
            for (prefix, uri) in p.root_declarations() {
                j.member(prefix, uri)?;
            }
            j.end_object()?;
        }
        j.end_array()?;
        let doc_type = match head.kind {
            DocumentKind::Capture => "EPCISDocument",
            DocumentKind::Query => "EPCISQueryDocument",
        };
        j.member("type", doc_type)?;
        j.member("schemaVersion", "2.0")?;
        j.member_opt("creationDate", head.creation_date)?;
        if !head.hash_ignore.is_empty() {
            j.key("ignoreFields")?;
            j.begin_array()?;
            for (uri, name) in head.hash_ignore {
                j.string(&qualified_key(&p, uri, None, name))?;
            }
            j.end_array()?;
        }
        if !head.header.is_empty() {
            j.key("epcisHeader")?;
            write_header(&mut j, &p, head.header)?;
        }
        j.key("epcisBody")?;
        j.begin_object()?;
        if head.kind == DocumentKind::Query {
            j.key("queryResults")?;
            j.begin_object()?;
            j.member_opt("subscriptionID", head.subscription_id)?;
            j.member_opt("queryName", head.query_name)?;
            j.key("resultsBody")?;
            j.begin_object()?;
        }
        j.key("eventList")?;
        j.begin_array()?;
        Ok(Self {
            j,
            ns: p,
            kind: head.kind,
        })
    }

    /// Writes one event. Namespaces the root `@context` does not bind go into an event-level
    /// `@context`.
    pub fn event(&mut self, e: &Event) -> io::Result<()> {
        self.ns.clear_locals();
        let p = &mut self.ns;
        ns::event_namespaces(e, &mut |uri, prefix| p.bind(uri, prefix));
        EventJson {
            j: &mut self.j,
            ns: &self.ns,
        }
        .event(e)
    }

    /// Closes the event list, the body and the document; returns the writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.j.end_array()?;
        if self.kind == DocumentKind::Query {
            self.j.end_object()?;
            self.j.end_object()?;
        }
        self.j.end_object()?;
        self.j.end_object()?;
        let mut out = self.j.into_inner();
        out.write_all(b"\n")?;
        Ok(out)
    }
}

/// `epcisHeader`: the SBDH tree, `epcisMasterData`, header extensions and the DSCSA statement.
fn write_header<W: Write>(j: &mut JsonOut<W>, p: &Prefixes, h: &Header) -> io::Result<()> {
    j.begin_object()?;
    let sbdh = h.sbdh.as_ref().map(sbdh_tree);
    let statement = h.transaction_statement.as_ref().map(statement_tree);
    if let Some(s) = &sbdh {
        write_members(j, p, std::iter::once(s))?;
    }
    if !h.master_data.is_empty() {
        j.key("epcisMasterData")?;
        j.begin_object()?;
        j.key("vocabularyList")?;
        j.begin_array()?;
        for v in &h.master_data {
            write_vocabulary(j, p, v)?;
        }
        j.end_array()?;
        j.end_object()?;
    }
    write_members(j, p, h.extensions.iter().chain(&statement))?;
    j.end_object()
}

fn write_vocabulary<W: Write>(j: &mut JsonOut<W>, p: &Prefixes, v: &Vocabulary) -> io::Result<()> {
    j.begin_object()?;
    j.member("type", &v.kind)?;
    j.key("vocabularyElementList")?;
    j.begin_array()?;
    for el in &v.elements {
        j.begin_object()?;
        j.member("id", &el.id)?;
        if !el.attributes.is_empty() {
            j.key("attributes")?;
            j.begin_array()?;
            for a in &el.attributes {
                j.begin_object()?;
                j.member("id", &a.id)?;
                if !a.children.is_empty() {
                    j.key("attribute")?;
                    j.begin_object()?;
                    if !a.value.is_empty() {
                        j.member("#text", &a.value)?;
                    }
                    write_members(j, p, &a.children)?;
                    j.end_object()?;
                } else if !a.value.is_empty() {
                    j.member("attribute", &a.value)?;
                }
                j.end_object()?;
            }
            j.end_array()?;
        }
        if !el.children.is_empty() {
            j.string_array("children", &el.children)?;
        }
        j.end_object()?;
    }
    j.end_array()?;
    j.end_object()
}

/// The JSON-LD key of a namespaced name: `prefix:name`, or the bare name when unqualified.
pub(super) fn qualified_key(
    p: &Prefixes,
    namespace: &str,
    preferred: Option<&str>,
    name: &str,
) -> String {
    let local = ncname(name);
    match (namespace.is_empty(), p.prefix_for(namespace, preferred)) {
        (false, Some(prefix)) => format!("{prefix}:{local}"),
        // Unreachable: the collectors bind every namespace. Fall back to the full IRI, which
        // JSON-LD accepts as a key and which keeps the namespace.
        (false, None) => format!("{namespace}{local}"),
        (true, _) => local.into_owned(),
    }
}

/// Writes elements as members of the current object, grouped by key (`prefix:name`): one member
/// per key, at the position of its first occurrence; an array when the name repeats.
pub(super) fn write_members<'e, W: Write>(
    j: &mut JsonOut<W>,
    p: &Prefixes,
    elements: impl IntoIterator<Item = &'e Element>,
) -> io::Result<()> {
    let mut groups: Vec<(String, Vec<&Element>)> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for e in elements {
        let key = qualified_key(p, &e.namespace, e.prefix.as_deref(), &e.name);
        match index.get(&key).and_then(|&i| groups.get_mut(i)) {
            Some((_, g)) => g.push(e),
            None => {
                index.insert(key.clone(), groups.len());
                groups.push((key, vec![e]));
            }
        }
    }
    for (key, g) in groups {
        j.key(&key)?;
        if let [only] = g.as_slice() {
            write_value(j, p, only)?;
        } else {
            j.begin_array()?;
            for e in g {
                write_value(j, p, e)?;
            }
            j.end_array()?;
        }
    }
    Ok(())
}

/// One element as a JSON value: its text, or an object of attributes, `#text` and children.
fn write_value<W: Write>(j: &mut JsonOut<W>, p: &Prefixes, e: &Element) -> io::Result<()> {
    if e.attributes.is_empty() && e.children.is_empty() {
        return match e.text.as_deref() {
            Some(t) => j.string(t),
            // `{}`, not `""`: an empty string would read back as empty text.
            None => {
                j.begin_object()?;
                j.end_object()
            }
        };
    }
    j.begin_object()?;
    let repeated = ns::repeats(&e.attributes, |a| (a.namespace.as_str(), a.name.as_str()));
    for (a, _) in e.attributes.iter().zip(repeated).filter(|(_, r)| !r) {
        j.member(&qualified_key(p, &a.namespace, None, &a.name), &a.value)?;
    }
    j.member_opt("#text", e.text.as_deref())?;
    write_members(j, p, &e.children)?;
    j.end_object()
}
