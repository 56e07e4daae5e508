//! The reference implementation's view of an event: a tree of (name, text, children) shaped like
//! EPCIS 2.0 XML, with attributes as leaf children and namespaced names written `{uri}local`.

use std::borrow::Cow;

use crate::model::{Element, Event, QuantityElement, SensorField, SourceDest};

/// One node. `pair` marks the (type, value) pairs the reference builds for business
/// transactions, sources and destinations: they render their two children unsorted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Node<'a> {
    pub(crate) name: Cow<'a, str>,
    pub(crate) text: &'a str,
    pub(crate) children: Vec<Self>,
    pub(crate) pair: bool,
}

impl<'a> Node<'a> {
    fn leaf(name: &'static str, text: &'a str) -> Self {
        Self {
            name: Cow::Borrowed(name),
            text,
            children: Vec::new(),
            pair: false,
        }
    }

    fn parent(name: &'static str, children: Vec<Self>) -> Self {
        Self {
            name: Cow::Borrowed(name),
            text: "",
            children,
            pair: false,
        }
    }
}

fn qualified<'a>(namespace: &str, name: &'a str) -> Cow<'a, str> {
    if namespace.is_empty() {
        Cow::Borrowed(name)
    } else {
        Cow::Owned(format!("{{{namespace}}}{name}"))
    }
}

const RDFS: &str = "http://www.w3.org/2000/01/rdf-schema#";

/// JSON-LD comments are not part of the hash (the reference drops `comment`/`rdfs:comment`).
fn is_comment(e: &Element) -> bool {
    e.name == "comment" && (e.namespace.is_empty() || e.namespace == RDFS)
}

fn element(e: &Element) -> Node<'_> {
    let mut children: Vec<Node<'_>> = e
        .attributes
        .iter()
        .map(|a| Node {
            name: qualified(&a.namespace, &a.name),
            text: &a.value,
            children: Vec::new(),
            pair: false,
        })
        .collect();
    children.extend(e.children.iter().filter(|c| !is_comment(c)).map(element));
    Node {
        name: qualified(&e.namespace, &e.name),
        text: e.text.as_deref().unwrap_or(""),
        children,
        pair: false,
    }
}

fn epcs<'a>(name: &'static str, list: &'a [String]) -> Node<'a> {
    Node::parent(name, list.iter().map(|e| Node::leaf("epc", e)).collect())
}

fn quantities<'a>(name: &'static str, list: &'a [QuantityElement]) -> Node<'a> {
    Node::parent(
        name,
        list.iter()
            .map(|q| {
                let mut c = vec![Node::leaf("epcClass", &q.epc_class)];
                if let Some(n) = &q.quantity {
                    c.push(Node::leaf("quantity", n));
                }
                if let Some(u) = &q.uom {
                    c.push(Node::leaf("uom", u));
                }
                Node::parent("quantityElement", c)
            })
            .collect(),
    )
}

fn pair<'a>(kind: Option<&'a str>, item: &'static str, value: &'a str) -> Node<'a> {
    let mut children = Vec::with_capacity(2);
    if let Some(k) = kind {
        children.push(Node::leaf("type", k));
    }
    children.push(Node::leaf(item, value));
    Node {
        name: Cow::Borrowed(""),
        text: "",
        children,
        pair: true,
    }
}

fn source_dest<'a>(list: &'static str, item: &'static str, entries: &'a [SourceDest]) -> Node<'a> {
    Node::parent(
        list,
        entries
            .iter()
            .map(|e| pair(Some(e.kind.as_str()).filter(|k| !k.is_empty()), item, &e.id))
            .collect(),
    )
}

fn sensor_fields<'a>(name: &'static str, fields: &'a [SensorField]) -> Node<'a> {
    Node::parent(
        name,
        fields
            .iter()
            .map(|f| Node {
                name: qualified(&f.namespace, &f.name),
                text: &f.value,
                children: Vec::new(),
                pair: false,
            })
            .collect(),
    )
}

/// The children of an event node (everything but the event type), as the reference sees them.
/// Record time, event ID and the error declaration are left out: the hash never includes them.
pub(crate) fn event_children<'a>(ev: &'a Event, ignore: &[(String, String)]) -> Vec<Node<'a>> {
    let mut c = ordered_children(ev);
    c.extend(unordered_children(ev, ignore));
    c
}

/// The children the property order consumes.
fn ordered_children(ev: &Event) -> Vec<Node<'_>> {
    let mut c = Vec::with_capacity(24);
    c.push(Node::leaf("eventTime", &ev.event_time));
    c.push(Node::leaf(
        "eventTimeZoneOffset",
        &ev.event_time_zone_offset,
    ));
    c.extend(
        ev.certification_info
            .iter()
            .map(|i| Node::leaf("certificationInfo", i)),
    );
    if let Some(p) = &ev.parent_id {
        c.push(Node::leaf("parentID", p));
    }
    for (name, list) in [
        ("epcList", &ev.epc_list),
        ("childEPCs", &ev.child_epcs),
        ("inputEPCList", &ev.input_epc_list),
        ("outputEPCList", &ev.output_epc_list),
    ] {
        if !list.is_empty() {
            c.push(epcs(name, list));
        }
    }
    for (name, list) in [
        ("quantityList", &ev.quantity_list),
        ("childQuantityList", &ev.child_quantity_list),
        ("inputQuantityList", &ev.input_quantity_list),
        ("outputQuantityList", &ev.output_quantity_list),
    ] {
        if !list.is_empty() {
            c.push(quantities(name, list));
        }
    }
    if let Some(a) = ev.action {
        c.push(Node::leaf("action", a.as_str()));
    }
    if let Some(t) = &ev.transformation_id {
        c.push(Node::leaf("transformationID", t));
    }
    if let Some(s) = &ev.biz_step {
        c.push(Node::leaf("bizStep", s));
    }
    if let Some(d) = &ev.disposition {
        c.push(Node::leaf("disposition", d));
    }
    if let Some(pd) = &ev.persistent_disposition {
        let mut children: Vec<Node<'_>> = pd.set.iter().map(|d| Node::leaf("set", d)).collect();
        children.extend(pd.unset.iter().map(|d| Node::leaf("unset", d)));
        c.push(Node::parent("persistentDisposition", children));
    }
    for (name, loc) in [
        ("readPoint", &ev.read_point),
        ("bizLocation", &ev.biz_location),
    ] {
        if let Some(loc) = loc {
            let mut children = vec![Node::leaf("id", &loc.id)];
            children.extend(loc.extensions.iter().map(element));
            c.push(Node::parent(name, children));
        }
    }
    if !ev.sensor_elements.is_empty() {
        c.push(Node::parent(
            "sensorElementList",
            ev.sensor_elements
                .iter()
                .map(|s| {
                    let mut children = Vec::new();
                    if let Some(m) = &s.metadata {
                        children.push(sensor_fields("sensorMetadata", m));
                    }
                    children.extend(s.reports.iter().map(|r| sensor_fields("sensorReport", r)));
                    children.extend(s.extensions.iter().map(element));
                    Node::parent("sensorElement", children)
                })
                .collect(),
        ));
    }
    c
}

/// The children the property order does not consume: business transactions, sources,
/// destinations, ILMD and user extensions. The reference emits them after the ordered fields,
/// sorted as whole strings.
pub(crate) fn unordered_children<'a>(ev: &'a Event, ignore: &[(String, String)]) -> Vec<Node<'a>> {
    let mut c = Vec::with_capacity(6);
    if !ev.biz_transactions.is_empty() {
        c.push(Node::parent(
            "bizTransactionList",
            ev.biz_transactions
                .iter()
                .map(|b| pair(b.kind.as_deref(), "bizTransaction", &b.id))
                .collect(),
        ));
    }
    if !ev.sources.is_empty() {
        c.push(source_dest("sourceList", "source", &ev.sources));
    }
    if !ev.destinations.is_empty() {
        c.push(source_dest(
            "destinationList",
            "destination",
            &ev.destinations,
        ));
    }
    if let Some(ilmd) = &ev.ilmd {
        c.push(Node::parent(
            "ilmd",
            ilmd.iter()
                .filter(|e| !is_comment(e))
                .map(element)
                .collect(),
        ));
    }
    c.extend(
        ev.extensions
            .iter()
            .filter(|e| !is_comment(e))
            .filter(|e| {
                !ignore
                    .iter()
                    .any(|(ns, n)| *ns == e.namespace && *n == e.name)
            })
            .map(element),
    );
    c
}
