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
    out.push_str(&canon::value(value));
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
        out.push_str(&canon::time(time));
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
    sorted_values(out, "epcList", "epc", ev.epc_list.iter());
    sorted_values(out, "inputEPCList", "epc", ev.input_epc_list.iter());
    sorted_values(out, "childEPCs", "epc", ev.child_epcs.iter());
    quantities(out, "quantityList", &ev.quantity_list);
    quantities(out, "childQuantityList", &ev.child_quantity_list);
    quantities(out, "inputQuantityList", &ev.input_quantity_list);
    sorted_values(out, "outputEPCList", "epc", ev.output_epc_list.iter());
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
