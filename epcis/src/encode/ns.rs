//! Namespace prefixes and names for the encoders.
//!
//! [`Prefixes`] decides which prefix each namespace URI gets in one output document. It never
//! rebinds a prefix the output already uses and never changes a namespace URI: an element keeps
//! the exact URI the partner wrote (the event hash sees it), and only its prefix may change when
//! the preferred one is taken. Bindings come in three layers: predefined (`xml` in XML; the
//! protected terms of the EPCIS 2.0 JSON-LD context), declared on the root, and declared on one
//! event (dropped again when the event ends, see [`Prefixes::clear_locals`]).
//!
//! [`ncname`] makes any model name safe to write as an XML name or JSON-LD term, so that a hostile
//! name cannot break the document's structure.

use std::borrow::Cow;

use crate::model::{Element, Event, GS1USHC_NS, Header};

/// The XML namespace, bound to `xml` by definition and never declared.
pub(super) const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";
/// XML Schema instance (`xsi:type`, `xsi:nil`).
pub(super) const XSI_NS: &str = "http://www.w3.org/2001/XMLSchema-instance";
/// XML Schema, as XML documents bind it (values such as `xsi:type="xsd:string"` refer to it).
pub(super) const XSD_NS: &str = "http://www.w3.org/2001/XMLSchema";
/// The UN/CEFACT Standard Business Document Header.
pub(super) const SBDH_NS: &str =
    "http://www.unece.org/cefact/namespaces/StandardBusinessDocumentHeader";
/// CBV master data, as EPCIS 1.2 documents write it (no trailing colon).
pub(super) const CBVMDA_12: &str = "urn:epcglobal:cbv:mda";
/// The EPCIS 2.0 JSON-LD context the encoders reference.
pub(super) const EPCIS_CONTEXT: &str =
    "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld";

/// The prefixes the ratified EPCIS 2.0 context binds (it is `@protected`: a document must not
/// bind them to anything else).
const JSONLD_PREDEFINED: &[(&str, &str)] = &[
    ("epcis", "https://ref.gs1.org/epcis/"),
    ("cbv", "https://ref.gs1.org/cbv/"),
    ("cbvmda", "urn:epcglobal:cbv:mda:"),
    ("gs1", "https://gs1.org/voc/"),
    ("rdfs", "http://www.w3.org/2000/01/rdf-schema#"),
    ("owl", "http://www.w3.org/2002/07/owl#"),
    ("xsd", "http://www.w3.org/2001/XMLSchema#"),
    ("dcterms", "http://purl.org/dc/terms/"),
];

/// Every other term of the ratified context: protected too, so never usable as a prefix.
/// Sorted for binary search.
const JSONLD_TERMS: &[&str] = &[
    "AggregationEvent",
    "AssociationEvent",
    "Collection",
    "EPCISDocument",
    "EPCISQueryDocument",
    "ObjectEvent",
    "TransactionEvent",
    "TransformationEvent",
    "action",
    "baseURL",
    "bizLocation",
    "bizStep",
    "bizTransactionList",
    "certificationInfo",
    "childEPCs",
    "childQuantityList",
    "children",
    "creationDate",
    "destinationList",
    "disposition",
    "epcClass",
    "epcList",
    "epcisBody",
    "epcisHeader",
    "errorDeclaration",
    "eventID",
    "eventList",
    "eventTime",
    "eventTimeZoneOffset",
    "id",
    "ilmd",
    "inputEPCList",
    "inputQuantityList",
    "instanceIdentifier",
    "masterData",
    "member",
    "outputEPCList",
    "outputQuantityList",
    "parentID",
    "persistentDisposition",
    "quantity",
    "quantityList",
    "queryName",
    "queryResults",
    "readPoint",
    "receiver",
    "recordTime",
    "resultsBody",
    "schemaVersion",
    "sender",
    "sensorElementList",
    "sourceList",
    "subscriptionID",
    "transformationID",
    "type",
    "uom",
    "vocabularyList",
];

/// URI schemes that appear in EPCIS values. Binding one of them as a JSON-LD prefix would make
/// every such value (`urn:epc:id:...`) a compact IRI, so they are never used as prefixes.
const URI_SCHEMES: &[&str] = &[
    "data", "did", "file", "ftp", "http", "https", "mailto", "ni", "tag", "urn", "uuid",
];

/// The syntax a [`Prefixes`] serves: the rules for reserved prefixes differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Syntax {
    /// XML: `xml*` is reserved.
    Xml,
    /// JSON-LD: the terms of the EPCIS context, `_` and common URI schemes are reserved.
    JsonLd,
}

/// Prefix bindings of one output document.
#[derive(Clone, Debug)]
pub(super) struct Prefixes {
    syntax: Syntax,
    /// `(prefix, uri)` in binding order: `[..fixed]` predefined, `[fixed..root]` declared on the
    /// root, `[root..]` declared on the current event.
    pairs: Vec<(String, String)>,
    fixed: usize,
    root: usize,
}

impl Prefixes {
    /// The predefined bindings of a syntax and nothing else.
    pub(super) fn new(syntax: Syntax) -> Self {
        let predefined: &[(&str, &str)] = match syntax {
            Syntax::Xml => &[("xml", XML_NS)],
            Syntax::JsonLd => JSONLD_PREDEFINED,
        };
        let pairs: Vec<(String, String)> = predefined
            .iter()
            .map(|(p, u)| ((*p).to_owned(), (*u).to_owned()))
            .collect();
        let fixed = pairs.len();
        Self {
            syntax,
            pairs,
            fixed,
            root: fixed,
        }
    }

    /// The prefix bound to `uri`, if any (the first bound).
    pub(super) fn prefix_of(&self, uri: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(_, u)| u == uri)
            .map(|(p, _)| p.as_str())
    }

    /// The prefix to write for `uri`: `preferred` when it is bound to `uri`, else the first
    /// prefix bound to `uri`.
    pub(super) fn prefix_for(&self, uri: &str, preferred: Option<&str>) -> Option<&str> {
        let preferred = preferred.map(ncname);
        preferred
            .and_then(|p| {
                self.pairs
                    .iter()
                    .find(|(q, u)| u == uri && *q == p)
                    .map(|(q, _)| q.as_str())
            })
            .or_else(|| self.prefix_of(uri))
    }

    fn is_taken(&self, prefix: &str) -> bool {
        self.pairs.iter().any(|(p, _)| p == prefix)
    }

    fn is_reserved(&self, prefix: &str) -> bool {
        match self.syntax {
            Syntax::Xml => prefix
                .get(..3)
                .is_some_and(|s| s.eq_ignore_ascii_case("xml")),
            Syntax::JsonLd => {
                prefix == "_"
                    || JSONLD_TERMS.binary_search(&prefix).is_ok()
                    || URI_SCHEMES.contains(&prefix.to_ascii_lowercase().as_str())
            }
        }
    }

    fn usable(&self, prefix: &str) -> bool {
        !prefix.is_empty() && !self.is_reserved(prefix) && !self.is_taken(prefix)
    }

    /// Makes `uri` writable with `preferred` (or, without one, the usual prefix of a well-known
    /// namespace). The preferred prefix is bound when free, even if the URI already has another
    /// prefix: two prefixes for one namespace are legal in XML and JSON-LD, and keep each
    /// element's prefix as the partner wrote it. When the preferred prefix is taken by another
    /// URI or reserved, an already bound prefix of the URI is used, else a fresh one
    /// (`{preferred}1`, `ns1`, ...). No-op for the empty URI (unqualified names).
    pub(super) fn bind(&mut self, uri: &str, preferred: Option<&str>) {
        if uri.is_empty() {
            return;
        }
        let base = preferred
            .or_else(|| well_known_prefix(uri))
            .map(ncname)
            .filter(|p| !p.is_empty());
        if let Some(b) = &base {
            if self.pairs.iter().any(|(p, u)| p == b && u == uri) {
                return;
            }
            if self.usable(b) {
                self.pairs.push((b.clone().into_owned(), uri.to_owned()));
                return;
            }
        }
        if self.prefix_of(uri).is_some() {
            return;
        }
        let special = (uri == CBVMDA_12)
            .then_some("cbvmda12")
            .filter(|c| self.usable(c));
        let chosen = special.map_or_else(
            || {
                let stem = base
                    .as_deref()
                    .filter(|b| !self.is_reserved(b))
                    .unwrap_or("ns");
                (1usize..)
                    .map(|n| format!("{stem}{n}"))
                    .find(|c| self.usable(c))
                    .unwrap_or_default()
            },
            str::to_owned,
        );
        self.pairs.push((chosen, uri.to_owned()));
    }

    /// Binds a well-known `prefix` to `uri` only when neither is in use yet.
    pub(super) fn bind_if_free(&mut self, prefix: &str, uri: &str) {
        if self.prefix_of(uri).is_none() && self.usable(prefix) {
            self.pairs.push((prefix.to_owned(), uri.to_owned()));
        }
    }

    /// Ends the root declarations: bindings made from now on belong to the current event.
    pub(super) fn seal_root(&mut self) {
        self.root = self.pairs.len();
    }

    /// The bindings to declare on the root element or in the root `@context`.
    pub(super) fn root_declarations(&self) -> &[(String, String)] {
        self.pairs.get(self.fixed..self.root).unwrap_or_default()
    }

    /// The bindings to declare on the current event.
    pub(super) fn local_declarations(&self) -> &[(String, String)] {
        self.pairs.get(self.root..).unwrap_or_default()
    }

    /// Forgets the current event's bindings.
    pub(super) fn clear_locals(&mut self) {
        self.pairs.truncate(self.root);
    }
}

/// For each item, whether an earlier item has the same (namespace, name): XML forbids repeated
/// attributes, so repeats are skipped. Linear in the number of items.
pub(super) fn repeats<'a, T>(
    items: &'a [T],
    key: impl Fn(&'a T) -> (&'a str, &'a str),
) -> Vec<bool> {
    let mut seen = std::collections::HashSet::with_capacity(items.len());
    items.iter().map(|i| !seen.insert(key(i))).collect()
}

/// The customary prefix of a namespace that often comes without one (attributes, sensor fields).
fn well_known_prefix(uri: &str) -> Option<&'static str> {
    Some(match uri {
        XSI_NS => "xsi",
        XSD_NS => "xsd",
        XML_NS => "xml",
        SBDH_NS => "sbdh",
        GS1USHC_NS => "gs1ushc",
        CBVMDA_12 => "cbvmda",
        _ => return None,
    })
}

/// A name made safe for XML (an NCName: no colon) and for JSON-LD terms: characters that are not
/// name characters become `_`, and a name that cannot start a name gets a leading `_`.
pub(super) fn ncname(name: &str) -> Cow<'_, str> {
    let mut chars = name.chars();
    let valid = chars.next().is_some_and(is_name_start) && chars.all(is_name_char);
    if valid {
        return Cow::Borrowed(name);
    }
    let mut out = String::with_capacity(name.len() + 1);
    if !name.chars().next().is_some_and(is_name_start) {
        out.push('_');
    }
    out.extend(name.chars().map(|c| if is_name_char(c) { c } else { '_' }));
    Cow::Owned(out)
}

/// XML 1.0 (fifth edition) `NameStartChar`, without `:`.
fn is_name_start(c: char) -> bool {
    matches!(c,
        'A'..='Z' | '_' | 'a'..='z'
        | '\u{C0}'..='\u{D6}' | '\u{D8}'..='\u{F6}' | '\u{F8}'..='\u{2FF}'
        | '\u{370}'..='\u{37D}' | '\u{37F}'..='\u{1FFF}' | '\u{200C}'..='\u{200D}'
        | '\u{2070}'..='\u{218F}' | '\u{2C00}'..='\u{2FEF}' | '\u{3001}'..='\u{D7FF}'
        | '\u{F900}'..='\u{FDCF}' | '\u{FDF0}'..='\u{FFFD}' | '\u{10000}'..='\u{EFFFF}')
}

/// XML 1.0 (fifth edition) `NameChar`, without `:`.
fn is_name_char(c: char) -> bool {
    is_name_start(c)
        || matches!(c,
            '-' | '.' | '0'..='9' | '\u{B7}' | '\u{300}'..='\u{36F}' | '\u{203F}'..='\u{2040}')
}

/// Calls `f(uri, preferred prefix)` for every namespace an element tree uses.
pub(super) fn element_namespaces<'a>(e: &'a Element, f: &mut impl FnMut(&'a str, Option<&'a str>)) {
    f(&e.namespace, e.prefix.as_deref());
    for a in &e.attributes {
        f(&a.namespace, None);
    }
    for c in &e.children {
        element_namespaces(c, f);
    }
}

/// Calls `f(uri, preferred prefix)` for every namespace an event uses.
pub(super) fn event_namespaces<'a>(ev: &'a Event, f: &mut impl FnMut(&'a str, Option<&'a str>)) {
    let locations = ev.read_point.iter().chain(&ev.biz_location);
    let elements = ev
        .extensions
        .iter()
        .chain(ev.ilmd.iter().flatten())
        .chain(locations.flat_map(|l| &l.extensions))
        .chain(ev.error_declaration.iter().flat_map(|d| &d.extensions))
        .chain(ev.sensor_elements.iter().flat_map(|s| &s.extensions));
    for e in elements {
        element_namespaces(e, f);
    }
    for s in &ev.sensor_elements {
        for field in s
            .metadata
            .iter()
            .flatten()
            .chain(s.reports.iter().flatten())
        {
            f(&field.namespace, None);
        }
    }
}

/// Calls `f(uri, preferred prefix)` for every namespace the header uses, the SBDH and the DSCSA
/// transaction statement included.
pub(super) fn header_namespaces<'a>(h: &'a Header, f: &mut impl FnMut(&'a str, Option<&'a str>)) {
    if let Some(sbdh) = &h.sbdh {
        f(SBDH_NS, Some("sbdh"));
        let parties = sbdh.senders.iter().chain(&sbdh.receivers);
        for e in parties.flat_map(|p| &p.extra).chain(&sbdh.extra) {
            element_namespaces(e, f);
        }
    }
    let attribute_children = h
        .master_data
        .iter()
        .flat_map(|v| &v.elements)
        .flat_map(|e| &e.attributes)
        .flat_map(|a| &a.children);
    for e in attribute_children.chain(&h.extensions) {
        element_namespaces(e, f);
    }
    if let Some(st) = &h.transaction_statement {
        f(GS1USHC_NS, Some("gs1ushc"));
        for e in &st.extra {
            element_namespaces(e, f);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn term_table_is_sorted_for_binary_search() {
        assert!(JSONLD_TERMS.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn protected_jsonld_prefixes_are_never_rebound() {
        let mut p = Prefixes::new(Syntax::JsonLd);
        p.bind(CBVMDA_12, Some("cbvmda"));
        p.bind("http://example.com/gs1", Some("gs1"));
        p.bind("http://example.com/type", Some("type"));
        p.bind("http://example.com/urn", Some("urn"));
        p.bind(XSI_NS, None);
        p.seal_root();
        assert_eq!(p.prefix_of("urn:epcglobal:cbv:mda:"), Some("cbvmda"));
        assert_eq!(p.prefix_of(CBVMDA_12), Some("cbvmda12"));
        assert_eq!(p.prefix_of("http://example.com/gs1"), Some("gs11"));
        assert_eq!(p.prefix_of("http://example.com/type"), Some("ns1"));
        assert_eq!(p.prefix_of("http://example.com/urn"), Some("ns2"));
        assert_eq!(p.prefix_of(XSI_NS), Some("xsi"));
        assert_eq!(p.root_declarations().len(), 5);
    }

    #[test]
    fn a_taken_xml_prefix_gets_a_fresh_one_and_xml_is_reserved() {
        let mut p = Prefixes::new(Syntax::Xml);
        p.bind("http://a.example/", Some("ext"));
        p.bind("http://b.example/", Some("ext"));
        p.bind("http://c.example/", Some("xmlfoo"));
        p.bind("http://d.example/", None);
        p.bind("", Some("empty"));
        // A second free prefix for a bound URI is bound too; a taken one is not.
        p.bind("http://a.example/", Some("other"));
        p.bind("http://a.example/", Some("ext1"));
        p.seal_root();
        let got: Vec<_> = p
            .root_declarations()
            .iter()
            .map(|(a, _)| a.as_str())
            .collect();
        assert_eq!(got, ["ext", "ext1", "ns1", "ns2", "other"]);
        assert_eq!(p.prefix_of(XML_NS), Some("xml"));
        let a = "http://a.example/";
        assert_eq!(p.prefix_for(a, Some("other")), Some("other"));
        assert_eq!(p.prefix_for(a, Some("ext1")), Some("ext"));
        assert_eq!(p.prefix_for(a, None), Some("ext"));
    }

    #[test]
    fn event_bindings_are_local() {
        let mut p = Prefixes::new(Syntax::Xml);
        p.bind("http://a.example/", Some("a"));
        p.seal_root();
        p.bind("http://b.example/", Some("a"));
        assert_eq!(p.local_declarations().len(), 1);
        p.clear_locals();
        assert!(p.local_declarations().is_empty());
        assert_eq!(p.prefix_of("http://b.example/"), None);
    }

    #[test]
    fn hostile_names_are_made_safe() {
        assert_eq!(ncname("lotNumber"), "lotNumber");
        assert_eq!(ncname("a b"), "a_b");
        assert_eq!(ncname("1abc"), "_1abc");
        assert_eq!(ncname("x\"/><evil"), "x____evil");
        assert_eq!(ncname("@context"), "__context");
        assert_eq!(ncname("p:q"), "p_q");
        assert_eq!(ncname(""), "_");
        assert_eq!(ncname("Größe"), "Größe");
    }
}
