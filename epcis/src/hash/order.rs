//! The reference implementation's walk: ordered fields first, then the remainder, sorted.
//!
//! `EVENT` is the reference's `PROP_ORDER`. Business transactions, sources and destinations
//! have a sub-order that can never match (in the reference it names tuples), so they are not
//! consumed on the ordered path and come out in the remainder: that is the documented-vs-actual
//! order difference of `reference/epcis.md` §4.6, reproduced rather than special-cased.

use super::canon;
use super::tree::Node;

/// A field of the property order and the order of its children.
pub(crate) struct Field {
    name: &'static str,
    sub: Option<&'static [Self]>,
}

const fn leaf(name: &'static str) -> Field {
    Field { name, sub: None }
}

const fn parent(name: &'static str, sub: &'static [Field]) -> Field {
    Field {
        name,
        sub: Some(sub),
    }
}

const QUANTITY: &[Field] = &[parent(
    "quantityElement",
    &[leaf("epcClass"), leaf("quantity"), leaf("uom")],
)];
const EPC: &[Field] = &[leaf("epc")];
const NEVER: &[Field] = &[];

/// The property order of an event (the reference's `PROP_ORDER`).
pub(crate) const EVENT: &[Field] = &[
    leaf("eventTime"),
    leaf("eventTimeZoneOffset"),
    leaf("certificationInfo"),
    leaf("parentID"),
    parent("epcList", EPC),
    parent("inputEPCList", EPC),
    parent("childEPCs", EPC),
    parent("quantityList", QUANTITY),
    parent("childQuantityList", QUANTITY),
    parent("inputQuantityList", QUANTITY),
    parent("outputEPCList", EPC),
    parent("outputQuantityList", QUANTITY),
    leaf("action"),
    leaf("transformationID"),
    leaf("bizStep"),
    leaf("disposition"),
    parent("persistentDisposition", &[leaf("set"), leaf("unset")]),
    parent("readPoint", &[leaf("id")]),
    parent("bizLocation", &[leaf("id")]),
    parent("bizTransactionList", NEVER),
    parent("sourceList", NEVER),
    parent("destinationList", NEVER),
    parent(
        "sensorElementList",
        &[parent(
            "sensorElement",
            &[
                parent(
                    "sensorMetadata",
                    &[
                        leaf("time"),
                        leaf("startTime"),
                        leaf("endTime"),
                        leaf("deviceID"),
                        leaf("deviceMetadata"),
                        leaf("rawData"),
                        leaf("dataProcessingMethod"),
                        leaf("bizRules"),
                    ],
                ),
                parent(
                    "sensorReport",
                    &[
                        leaf("type"),
                        leaf("exception"),
                        leaf("deviceID"),
                        leaf("deviceMetadata"),
                        leaf("rawData"),
                        leaf("dataProcessingMethod"),
                        leaf("time"),
                        leaf("microorganism"),
                        leaf("chemicalSubstance"),
                        leaf("value"),
                        leaf("component"),
                        leaf("stringValue"),
                        leaf("booleanValue"),
                        leaf("hexBinaryValue"),
                        leaf("uriValue"),
                        leaf("minValue"),
                        leaf("maxValue"),
                        leaf("meanValue"),
                        leaf("sDev"),
                        leaf("percRank"),
                        leaf("percValue"),
                        leaf("uom"),
                        leaf("coordinateReferenceSystem"),
                    ],
                ),
            ],
        )],
    ),
];

fn is_time(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.contains("time") && !lower.contains("offset")
}

/// User extensions inside a container (not at event level) are set aside and appended after
/// the container's ordered fields. The reference recognises them by a `{…/}` name.
fn take_user_extensions<'a>(children: &mut Vec<Node<'a>>) -> Vec<Node<'a>> {
    if children.len() <= 1
        || children
            .iter()
            .any(|c| !c.pair && (c.name.contains("eventTime") || c.name.contains("action")))
    {
        return Vec::new();
    }
    let is_ext = |c: &Node<'_>| !c.pair && c.name.contains('{') && c.name.contains("/}");
    if !children.iter().any(is_ext) {
        return Vec::new();
    }
    let (ext, rest): (Vec<_>, Vec<_>) = std::mem::take(children).into_iter().partition(is_ext);
    *children = rest;
    ext
}

fn child_prehash(child: &mut Node<'_>, sub: Option<&'static [Field]>) -> String {
    let mut grand = String::new();
    if let Some(sub) = sub {
        in_order(&mut child.children, sub, &mut grand);
    }
    let text = child.text.trim();
    let text = if text.is_empty() {
        text.into()
    } else if is_time(&child.name) {
        canon::time(text)
    } else {
        canon::value(text)
    };
    if text.is_empty() && grand.is_empty() {
        return String::new();
    }
    let mut s = String::with_capacity(child.name.len() + 1 + text.len() + grand.len());
    s.push_str(&child.name);
    if !text.is_empty() {
        s.push('=');
        s.push_str(&text);
    }
    s.push_str(&grand);
    s
}

/// The ordered path: for each field in `order`, the matching children's strings, sorted.
/// Children fully consumed are removed; what remains is for [`remainder`].
pub(crate) fn in_order(children: &mut Vec<Node<'_>>, order: &'static [Field], out: &mut String) {
    let extensions = take_user_extensions(children);
    for field in order {
        let mut values = Vec::new();
        let mut i = 0;
        while let Some(child) = children.get_mut(i) {
            if child.pair || child.name != field.name {
                i += 1;
                continue;
            }
            let s = child_prehash(child, field.sub);
            if !s.is_empty() {
                values.push(s);
            }
            if child.children.is_empty() {
                children.remove(i);
            } else {
                i += 1;
            }
        }
        values.sort_unstable();
        for v in values {
            out.push_str(&v);
        }
    }
    if !extensions.is_empty() {
        generic(&extensions, out);
    }
}

fn should_sort(children: &[Node<'_>]) -> bool {
    !children
        .iter()
        .any(|c| !c.pair && matches!(c.name.as_ref(), "bizTransaction" | "source" | "destination"))
}

/// The generic path: `name=value` followed by the children, siblings sorted as strings.
fn generic(children: &[Node<'_>], out: &mut String) {
    let mut values: Vec<String> = children
        .iter()
        .map(|c| {
            let mut s = String::new();
            if c.pair {
                generic(&c.children, &mut s);
                return s;
            }
            s.push_str(&c.name);
            let text = c.text.trim();
            if !text.is_empty() {
                s.push('=');
                canon::push_value(&mut s, text);
            }
            generic(&c.children, &mut s);
            s
        })
        .collect();
    if values.len() > 1 && should_sort(children) {
        values.sort_unstable();
    }
    for v in values {
        out.push_str(&v);
    }
}

/// Everything the ordered path did not consume, sorted as whole strings.
pub(crate) fn remainder(children: Vec<Node<'_>>, out: &mut String) {
    let rest: Vec<_> = children
        .into_iter()
        .filter(|c| {
            c.pair
                || !matches!(
                    c.name.as_ref(),
                    "recordTime" | "eventID" | "type" | "errorDeclaration"
                )
        })
        .collect();
    if !rest.is_empty() {
        generic(&rest, out);
    }
}
