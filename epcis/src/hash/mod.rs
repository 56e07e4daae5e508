//! The CBV 2.0 event hash ID, exactly as the GS1 reference implementation computes it.
//!
//! The reference (`RalphTro/epcis-event-hash-generator`, `reference/epcis.md` §4) turns an event
//! into a tree of (name, text, children) in the shape of EPCIS 2.0 XML, then walks it: first the
//! fields of its canonical property order, each group sorted, then whatever is left, sorted as
//! whole strings. Its documented order and its actual order differ (§4.6: business transactions,
//! sources, destinations and ILMD come after the sensor list, and destinations before sources),
//! so rather than re-deriving the order we build the same tree from the model and run the same
//! walk: the quirks come out identical by construction.
//!
//! Deliberate differences from the reference, each a case where it crashes or depends on the
//! machine: a `bizTransaction` without a `type` hashes as `bizTransaction=…` (the reference raises
//! IndexError); a time without a zone is read as UTC (the reference uses the host's local zone);
//! a rounding carry to the next second is carried (the reference raises ValueError); JSON
//! booleans hash as `true`/`false`, as XML writes them (the reference writes Python's `True`).

mod canon;
mod fast;
mod order;
mod tree;

use sha2::{Digest, Sha256};

use crate::model::Event;

/// The pre-hash string of an event: the canonical serialisation that is hashed.
pub fn prehash(event: &Event) -> String {
    prehash_ignoring(event, &[])
}

/// The pre-hash string, leaving out event-level extension fields named in `ignore`
/// (namespace URI, local name).
pub fn prehash_ignoring(event: &Event, ignore: &[(String, String)]) -> String {
    // Sized for the usual event, so the string is not regrown on the way: each EPC writes
    // `epc=` and a Digital Link of about 50 bytes.
    let mut out = String::with_capacity(256 + 64 * event.epc_count());
    out.push_str("eventType=");
    out.push_str(event.kind.name());
    if fast::ordered(event, &mut out) {
        order::remainder(tree::unordered_children(event, ignore), &mut out);
    } else {
        tree_walk(event, ignore, &mut out);
    }
    out
}

/// The reference's walk over its whole tree: the definition the fast path must agree with.
fn tree_walk(event: &Event, ignore: &[(String, String)], out: &mut String) {
    let mut children = tree::event_children(event, ignore);
    order::in_order(&mut children, order::EVENT, out);
    order::remainder(children, out);
}

/// The pre-hash through the tree walk only (for the equivalence test).
#[doc(hidden)]
pub fn prehash_by_tree_walk(event: &Event) -> String {
    let mut out = format!("eventType={}", event.kind.name());
    tree_walk(event, &[], &mut out);
    out
}

/// The CBV 2.0 event hash ID: `ni:///sha-256;<hex>?ver=CBV2.0`.
pub fn event_hash_id(event: &Event) -> String {
    hash_prehash(&prehash(event))
}

/// The CBV 2.0 event hash ID, leaving out the extension fields named in `ignore`.
pub fn event_hash_id_ignoring(event: &Event, ignore: &[(String, String)]) -> String {
    hash_prehash(&prehash_ignoring(event, ignore))
}

/// The hash ID of a pre-hash string.
pub fn hash_prehash(prehash: &str) -> String {
    let digest = Sha256::digest(prehash.as_bytes());
    let mut out = String::with_capacity(14 + 64 + 11);
    out.push_str("ni:///sha-256;");
    for b in digest {
        // Both nibbles are below 16, so from_digit always succeeds.
        out.push(char::from_digit(u32::from(b >> 4), 16).unwrap_or('0'));
        out.push(char::from_digit(u32::from(b & 0xf), 16).unwrap_or('0'));
    }
    out.push_str("?ver=CBV2.0");
    out
}
