//! Maps the JSON-LD `epcisHeader` onto the model: master data, SBDH, DSCSA statement.
//!
//! EPCIS 2.0 defines `epcisMasterData` in JSON; the SBDH and the GS1 US `gs1ushc` statement have no
//! standard JSON-LD form, so they are read under their XML names as prefixed members
//! (`sbdh:StandardBusinessDocumentHeader`, `gs1ushc:dscsaTransactionStatement`), which is how
//! our encoder writes them.

use serde_json::Value;

use crate::model::{
    Element, GS1USHC_NS, Header, MasterDataAttribute, Sbdh, SbdhParty, TransactionStatement,
    Vocabulary, VocabularyElement,
};
use crate::{DecodeResult, Limits};

use super::context::Context;
use super::event::{Ptr, elements, scalar};

const SBDH_NS: &str = "http://www.unece.org/cefact/namespaces/StandardBusinessDocumentHeader";

fn str_field(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(scalar)
}

fn vocabulary(v: &Value) -> Vocabulary {
    let elements = v
        .get("vocabularyElementList")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .map(|ve| VocabularyElement {
                    id: str_field(ve, "id").unwrap_or_default(),
                    attributes: ve
                        .get("attributes")
                        .and_then(Value::as_array)
                        .map(|attrs| {
                            attrs
                                .iter()
                                .map(|a| MasterDataAttribute {
                                    id: str_field(a, "id").unwrap_or_default(),
                                    value: a.get("attribute").and_then(scalar).unwrap_or_default(),
                                    children: Vec::new(),
                                })
                                .collect()
                        })
                        .unwrap_or_default(),
                    children: ve
                        .get("children")
                        .and_then(Value::as_array)
                        .map(|c| c.iter().filter_map(scalar).collect())
                        .unwrap_or_default(),
                })
                .collect()
        })
        .unwrap_or_default();
    Vocabulary {
        kind: str_field(v, "type").unwrap_or_default(),
        elements,
    }
}

fn child_text(e: &Element, ns: &str, name: &str) -> Option<String> {
    e.children
        .iter()
        .find(|c| c.namespace == ns && c.name == name)
        .and_then(|c| c.text.clone())
}

fn sbdh_party(e: Element) -> SbdhParty {
    let mut party = SbdhParty::default();
    for c in e.children {
        if c.namespace == SBDH_NS && c.name == "Identifier" {
            party.authority =
                child_text(&c, "", "Authority").or_else(|| child_text(&c, SBDH_NS, "Authority"));
            party.identifier = c.text.unwrap_or_default();
        } else {
            party.extra.push(c);
        }
    }
    party
}

fn sbdh(e: Element) -> Sbdh {
    let mut out = Sbdh::default();
    for c in e.children {
        if c.namespace != SBDH_NS {
            out.extra.push(c);
            continue;
        }
        match c.name.as_str() {
            "HeaderVersion" => out.header_version = c.text,
            "Sender" => out.senders.push(sbdh_party(c)),
            "Receiver" => out.receivers.push(sbdh_party(c)),
            "DocumentIdentification" => {
                out.standard = child_text(&c, SBDH_NS, "Standard");
                out.type_version = child_text(&c, SBDH_NS, "TypeVersion");
                out.instance_identifier = child_text(&c, SBDH_NS, "InstanceIdentifier");
                out.document_type = child_text(&c, SBDH_NS, "Type");
                out.creation_date_and_time = child_text(&c, SBDH_NS, "CreationDateAndTime");
            }
            _ => out.extra.push(c),
        }
    }
    out
}

/// Maps `epcisHeader`.
pub(crate) fn header(ctx: &Context, v: &Value, limits: &Limits) -> DecodeResult<Header> {
    let mut header = Header::default();
    let Some(map) = v.as_object() else {
        return Ok(header);
    };
    let at = Ptr::new("/epcisHeader");
    for (k, v) in map {
        if k == "epcisMasterData" {
            if let Some(list) = v.get("vocabularyList").and_then(Value::as_array) {
                header.master_data.extend(list.iter().map(vocabulary));
            }
            continue;
        }
        if k.starts_with('@') {
            continue;
        }
        for e in elements(ctx, k, v, 1, limits, &at.key(k))? {
            match (e.namespace.as_str(), e.name.as_str()) {
                (SBDH_NS, "StandardBusinessDocumentHeader") => header.sbdh = Some(sbdh(e)),
                (GS1USHC_NS, "dscsaTransactionStatement") => {
                    let mut ts = TransactionStatement::default();
                    for c in e.children {
                        match (c.namespace.as_str(), c.name.as_str()) {
                            (GS1USHC_NS, "affirmTransactionStatement") => ts.affirm = c.text,
                            (GS1USHC_NS, "legalNotice") => ts.legal_notice = c.text,
                            _ => ts.extra.push(c),
                        }
                    }
                    header.transaction_statement = Some(ts);
                }
                _ => header.extensions.push(e),
            }
        }
    }
    Ok(header)
}
