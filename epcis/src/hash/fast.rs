//! The ordered part of the pre-hash written straight into the output, for ordinary events.
//!
//! For an event without sensor data and without extensions inside `readPoint`/`bizLocation`
//! (every DSCSA event we have seen), the reference's ordered walk reduces to: each field of the
//! property order in turn, lists sorted by their rendered strings. Writing that directly avoids
//! building and consuming the reference's tree, the hot path of capture. Anything else returns
//! `false` and takes the tree walk. `tests::fast_path_equals_the_tree_walk` holds the two to the
//! same output on every reference document and on generated DSCSA events.

use std::borrow::Cow;

use super::canon;
use crate::model::{Event, QuantityElement};

/// Whether the fast path reproduces the tree walk for this event.
fn applies(ev: &Event) -> bool {
    ev.sensor_elements.is_empty()
        && [&ev.read_point, &ev.biz_location]
            .into_iter()
            .all(|l| l.as_ref().is_none_or(|l| l.extensions.is_empty()))
}

fn leaf(out: &mut String, name: &str, value: &str) {
    let value = value.trim();
    if value.is_empty() {
        return;
    }
    out.push_str(name);
    out.push('=');
    canon::push_value(out, value);
}

/// `name` + the sorted `item=value` strings, when there is at least one.
fn sorted_values<'a>(
    out: &mut String,
    name: &str,
    item: &str,
    values: impl Iterator<Item = &'a String>,
) {
    let mut canon: Vec<Cow<'_, str>> = values
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
        .map(canon::value)
        .collect();
    if canon.is_empty() {
        return;
    }
    // Sorting `item=v` strings is sorting the values: they share the prefix.
    canon.sort_unstable();
    out.push_str(name);
    for v in canon {
        out.push_str(item);
        out.push('=');
        out.push_str(&v);
    }
}

/// An EPC list: `name` + the sorted `epc=…` strings. Lists of one GTIN with plain serials (the
/// DSCSA norm) sort bare serials under their shared Digital Link prefix.
fn epc_list(out: &mut String, name: &str, list: &[String]) {
    if let Some((dl_prefix, mut serials)) = canon::sgtin_list(list) {
        serials.sort_unstable();
        out.push_str(name);
        for serial in serials {
            out.push_str("epc=");
            out.push_str(&dl_prefix);
            out.push_str(serial);
        }
        return;
    }
    sorted_values(out, name, "epc", list.iter());
}

fn quantities(out: &mut String, name: &str, list: &[QuantityElement]) {
    let mut rendered: Vec<String> = list
        .iter()
        .map(|q| {
            let mut s = String::from("quantityElement");
            leaf(&mut s, "epcClass", &q.epc_class);
            if let Some(n) = &q.quantity {
                leaf(&mut s, "quantity", n);
            }
            if let Some(u) = &q.uom {
                leaf(&mut s, "uom", u);
            }
            s
        })
        .filter(|s| s.len() > "quantityElement".len())
        .collect();
    if rendered.is_empty() {
        return;
    }
    rendered.sort_unstable();
    out.push_str(name);
    for s in rendered {
        out.push_str(&s);
    }
}

/// Writes the ordered fields of `ev`; `false` (and nothing written) when the fast path does not
/// apply.
pub(crate) fn ordered(ev: &Event, out: &mut String) -> bool {
    if !applies(ev) {
        return false;
    }
    let time = ev.event_time.trim();
    if !time.is_empty() {
        out.push_str("eventTime=");
        canon::push_time(out, time);
    }
    leaf(out, "eventTimeZoneOffset", &ev.event_time_zone_offset);
    let mut certs: Vec<Cow<'_, str>> = ev
        .certification_info
        .iter()
        .map(|c| c.trim())
        .filter(|c| !c.is_empty())
        .map(canon::value)
        .collect();
    certs.sort_unstable();
    for c in certs {
        out.push_str("certificationInfo=");
        out.push_str(&c);
    }
    if let Some(p) = &ev.parent_id {
        leaf(out, "parentID", p);
    }
    epc_list(out, "epcList", &ev.epc_list);
    epc_list(out, "inputEPCList", &ev.input_epc_list);
    epc_list(out, "childEPCs", &ev.child_epcs);
    quantities(out, "quantityList", &ev.quantity_list);
    quantities(out, "childQuantityList", &ev.child_quantity_list);
    quantities(out, "inputQuantityList", &ev.input_quantity_list);
    epc_list(out, "outputEPCList", &ev.output_epc_list);
    quantities(out, "outputQuantityList", &ev.output_quantity_list);
    if let Some(a) = ev.action {
        leaf(out, "action", a.as_str());
    }
    if let Some(t) = &ev.transformation_id {
        leaf(out, "transformationID", t);
    }
    if let Some(s) = &ev.biz_step {
        leaf(out, "bizStep", s);
    }
    if let Some(d) = &ev.disposition {
        leaf(out, "disposition", d);
    }
    if let Some(pd) = &ev.persistent_disposition {
        let mut inner = String::new();
        sorted_values(&mut inner, "", "set", pd.set.iter());
        sorted_values(&mut inner, "", "unset", pd.unset.iter());
        if !inner.is_empty() {
            out.push_str("persistentDisposition");
            out.push_str(&inner);
        }
    }
    for (name, loc) in [
        ("readPoint", &ev.read_point),
        ("bizLocation", &ev.biz_location),
    ] {
        if let Some(loc) = loc
            && !loc.id.trim().is_empty()
        {
            out.push_str(name);
            leaf(out, "id", &loc.id);
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use crate::model::{Action, Event, EventKind};

    /// EPC lists the shared-prefix shortcut must leave to the general path, and ones it takes,
    /// all equal to the reference's tree walk.
    #[test]
    fn epc_list_shortcut_matches_the_tree_walk() {
        let lists: [&[&str]; 7] = [
            &[
                "urn:epc:id:sgtin:0614141.107346.B2",
                "urn:epc:id:sgtin:0614141.107346.A10",
                "urn:epc:id:sgtin:0614141.107346.A9",
            ],
            &[
                "urn:epc:id:sgtin:0614141.107346.2017",
                "urn:epc:id:sgtin:0614141.207346.2017",
            ],
            &[
                "urn:epc:id:sgtin:0614141.107346.20%2F17",
                "urn:epc:id:sgtin:0614141.107346.1",
            ],
            &[
                "urn:epc:id:sgtin:0614141.107346.ABCDEFGHIJKLMNOPQRSTU",
                "urn:epc:id:sgtin:0614141.107346.1",
            ],
            &[
                "  urn:epc:id:sgtin:0614141.107346.7  ",
                "urn:epc:id:sgtin:0614141.107346.6",
            ],
            &["urn:epc:id:sgtin:0614141.107346.7", ""],
            &[
                "urn:epc:id:sscc:0614141.1234567890",
                "urn:epc:id:sgtin:0614141.107346.6",
            ],
        ];
        for list in lists {
            let mut e = Event::new(
                EventKind::Object,
                "2020-01-01T00:00:00Z".into(),
                "+00:00".into(),
            );
            e.action = Some(Action::Observe);
            e.epc_list = list.iter().map(|s| (*s).to_owned()).collect();
            e.child_epcs = e.epc_list.clone();
            assert_eq!(
                crate::hash::prehash(&e),
                crate::hash::prehash_by_tree_walk(&e),
                "{list:?}"
            );
        }
    }
}
