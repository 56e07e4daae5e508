//! User extension elements, kept losslessly: namespace, name, attributes, text and children.
//!
//! EPCIS lets every partner add its own elements (ILMD fields such as the CBV master-data lot
//! number, `gs1ushc:dropShipment`, vendor blocks such as SAP's). The store must hand them back
//! unchanged and the event hash must see them, so they are a small generic tree rather than
//! something the codec interprets.

/// An attribute of an extension element.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Attribute {
    /// Namespace URI; empty for an unqualified attribute.
    pub namespace: String,
    /// Local name.
    pub name: String,
    /// Value as written.
    pub value: String,
}

/// A user extension element (or an ILMD field).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Element {
    /// Namespace URI as declared by the document (never normalised: the hash sees it as written).
    pub namespace: String,
    /// The prefix the document used for the namespace, if any; kept so that encoders can write
    /// the familiar one (`cbvmda`, `gs1ushc`) back.
    pub prefix: Option<String>,
    /// Local name.
    pub name: String,
    /// Attributes in document order (namespace declarations excluded).
    pub attributes: Vec<Attribute>,
    /// Text content, trimmed; `None` when the element has no text.
    pub text: Option<String>,
    /// Child elements in document order.
    pub children: Vec<Self>,
}

impl Element {
    /// A leaf element with text.
    pub fn leaf(namespace: &str, prefix: Option<&str>, name: &str, text: &str) -> Self {
        Self {
            namespace: namespace.to_owned(),
            prefix: prefix.map(str::to_owned),
            name: name.to_owned(),
            attributes: Vec::new(),
            text: Some(text.to_owned()),
            children: Vec::new(),
        }
    }

    /// The number of elements in this subtree, this one included.
    pub fn size(&self) -> usize {
        1 + self.children.iter().map(Self::size).sum::<usize>()
    }
}
