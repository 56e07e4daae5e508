//! The SBDH and the DSCSA transaction statement as [`Element`] trees.
//!
//! Both are XML element trees in their own namespaces. Turning them into generic trees once lets
//! the XML and JSON-LD encoders write them with the same code they use for user extensions, so
//! both syntaxes carry the same structure (JSON-LD has no standard form for either).

use super::ns::SBDH_NS;
use crate::model::{Attribute, Element, GS1USHC_NS, Sbdh, SbdhParty, TransactionStatement};

fn sbdh(name: &str, text: Option<&str>, children: Vec<Element>) -> Element {
    Element {
        namespace: SBDH_NS.to_owned(),
        prefix: Some("sbdh".to_owned()),
        name: name.to_owned(),
        attributes: Vec::new(),
        text: text.map(str::to_owned),
        children,
    }
}

fn sbdh_leaf(name: &str, text: Option<&str>) -> Option<Element> {
    text.map(|t| sbdh(name, Some(t), Vec::new()))
}

fn party(name: &str, p: &SbdhParty) -> Element {
    let mut identifier = sbdh("Identifier", Some(&p.identifier), Vec::new());
    if let Some(a) = &p.authority {
        identifier.attributes.push(Attribute {
            namespace: String::new(),
            name: "Authority".to_owned(),
            value: a.clone(),
        });
    }
    let mut children = vec![identifier];
    children.extend(p.extra.iter().cloned());
    sbdh(name, None, children)
}

/// `sbdh:StandardBusinessDocumentHeader` in the SBDH XSD's element order: HeaderVersion, Sender*,
/// Receiver*, DocumentIdentification, then the other children as the model kept them.
pub(super) fn sbdh_tree(s: &Sbdh) -> Element {
    let mut children: Vec<Element> = Vec::new();
    children.extend(sbdh_leaf("HeaderVersion", s.header_version.as_deref()));
    children.extend(s.senders.iter().map(|p| party("Sender", p)));
    children.extend(s.receivers.iter().map(|p| party("Receiver", p)));
    let identification: Vec<Element> = [
        ("Standard", &s.standard),
        ("TypeVersion", &s.type_version),
        ("InstanceIdentifier", &s.instance_identifier),
        ("Type", &s.document_type),
        ("CreationDateAndTime", &s.creation_date_and_time),
    ]
    .into_iter()
    .filter_map(|(n, v)| sbdh_leaf(n, v.as_deref()))
    .collect();
    if !identification.is_empty() {
        children.push(sbdh("DocumentIdentification", None, identification));
    }
    children.extend(s.extra.iter().cloned());
    sbdh("StandardBusinessDocumentHeader", None, children)
}

/// `gs1ushc:dscsaTransactionStatement` with `affirmTransactionStatement`, `legalNotice` and the
/// other children as the model kept them.
pub(super) fn statement_tree(t: &TransactionStatement) -> Element {
    let leaf = |name: &str, text: &Option<String>| {
        text.as_deref()
            .map(|v| Element::leaf(GS1USHC_NS, Some("gs1ushc"), name, v))
    };
    let mut children: Vec<Element> = Vec::new();
    children.extend(leaf("affirmTransactionStatement", &t.affirm));
    children.extend(leaf("legalNotice", &t.legal_notice));
    children.extend(t.extra.iter().cloned());
    Element {
        namespace: GS1USHC_NS.to_owned(),
        prefix: Some("gs1ushc".to_owned()),
        name: "dscsaTransactionStatement".to_owned(),
        attributes: Vec::new(),
        text: None,
        children,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sbdh_follows_the_xsd_order() {
        let s = Sbdh {
            header_version: Some("1.0".into()),
            senders: vec![SbdhParty {
                identifier: "urn:epc:id:sgln:030001.111111.0".into(),
                authority: Some("GS1".into()),
                extra: Vec::new(),
            }],
            receivers: vec![SbdhParty::default()],
            standard: Some("EPCglobal".into()),
            creation_date_and_time: Some("2023-04-01T08:45:16Z".into()),
            ..Sbdh::default()
        };
        let t = sbdh_tree(&s);
        let names: Vec<&str> = t.children.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "HeaderVersion",
                "Sender",
                "Receiver",
                "DocumentIdentification"
            ]
        );
        let id = &t.children[1].children[0];
        assert_eq!(id.attributes[0].value, "GS1");
        let di: Vec<&str> = t.children[3]
            .children
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(di, ["Standard", "CreationDateAndTime"]);
    }
}
