//! The document header: SBDH routing, EPCIS master data and the DSCSA transaction statement.
//!
//! DSCSA transaction information is built from header master data (product name, NDC, dosage
//! form, strength, container size; location names and addresses), so it is first-class here:
//! several EPCIS implementations drop it (`reference/epcis.md` §1 item 2), we must not.

use super::Element;

/// The namespace of the GS1 US healthcare DSCSA extensions.
pub const GS1USHC_NS: &str = "http://epcis.gs1us.org/hc/ns";

/// A sender or receiver in the SBDH.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SbdhParty {
    /// The identifier, usually an SGLN URN or a GLN.
    pub identifier: String,
    /// The `Authority` attribute (`GS1`, `SGLN`, ...), if given.
    pub authority: Option<String>,
    /// Anything else inside the party element (contact information), kept as written.
    pub extra: Vec<Element>,
}

/// The UN/CEFACT Standard Business Document Header of an EPCIS XML document.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sbdh {
    /// `HeaderVersion`.
    pub header_version: Option<String>,
    /// `Sender` parties.
    pub senders: Vec<SbdhParty>,
    /// `Receiver` parties.
    pub receivers: Vec<SbdhParty>,
    /// `DocumentIdentification/Standard`.
    pub standard: Option<String>,
    /// `DocumentIdentification/TypeVersion`.
    pub type_version: Option<String>,
    /// `DocumentIdentification/InstanceIdentifier`.
    pub instance_identifier: Option<String>,
    /// `DocumentIdentification/Type`.
    pub document_type: Option<String>,
    /// `DocumentIdentification/CreationDateAndTime`.
    pub creation_date_and_time: Option<String>,
    /// Other SBDH children (`BusinessScope`, ...), kept as written.
    pub extra: Vec<Element>,
}

/// One master-data attribute of a vocabulary element.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MasterDataAttribute {
    /// Attribute ID, e.g. `urn:epcglobal:cbv:mda#regulatedProductName`.
    pub id: String,
    /// Text value (trimmed); empty for a structured attribute.
    pub value: String,
    /// Child elements of a structured attribute, kept as written.
    pub children: Vec<Element>,
}

/// One vocabulary element: a product class or a location, and its attributes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VocabularyElement {
    /// The element ID: an EPC class pattern (`urn:epc:idpat:sgtin:030001.0012345.*`), an SGLN.
    pub id: String,
    /// Attributes in document order.
    pub attributes: Vec<MasterDataAttribute>,
    /// IDs of child elements (location hierarchy).
    pub children: Vec<String>,
}

impl VocabularyElement {
    /// The first attribute with this ID, or with this CBV master-data short name
    /// (`regulatedProductName` matches `urn:epcglobal:cbv:mda#regulatedProductName`).
    pub fn attribute(&self, id: &str) -> Option<&str> {
        self.attributes.iter().find_map(|a| {
            let short = a.id.rsplit_once('#').map_or(a.id.as_str(), |(_, s)| s);
            (a.id == id || short == id).then_some(a.value.as_str())
        })
    }
}

/// One vocabulary: all elements of one type (EPCClass, Location, ...).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Vocabulary {
    /// Vocabulary type, e.g. `urn:epcglobal:epcis:vtype:EPCClass`.
    pub kind: String,
    /// Its elements in document order.
    pub elements: Vec<VocabularyElement>,
}

/// The GS1 US DSCSA transaction statement (`gs1ushc:dscsaTransactionStatement`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TransactionStatement {
    /// `affirmTransactionStatement` as written (`true`/`false`), if given.
    pub affirm: Option<String>,
    /// `legalNotice` text, if given.
    pub legal_notice: Option<String>,
    /// Other children, kept as written.
    pub extra: Vec<Element>,
}

/// The header of an EPCIS document.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Header {
    /// The SBDH, if the document has one.
    pub sbdh: Option<Sbdh>,
    /// Master-data vocabularies carried in the header.
    pub master_data: Vec<Vocabulary>,
    /// The DSCSA transaction statement, if the document carries one.
    pub transaction_statement: Option<TransactionStatement>,
    /// Other header elements (e.g. `gs1ushc:guidelineVersion`), kept as written.
    pub extensions: Vec<Element>,
}

impl Header {
    /// All vocabulary elements of the given type, across vocabularies.
    pub fn vocabulary_elements<'a>(
        &'a self,
        kind: &'a str,
    ) -> impl Iterator<Item = &'a VocabularyElement> + 'a {
        self.master_data
            .iter()
            .filter(move |v| v.kind == kind)
            .flat_map(|v| &v.elements)
    }

    /// True when the header carries nothing at all.
    pub fn is_empty(&self) -> bool {
        self.sbdh.is_none()
            && self.master_data.is_empty()
            && self.transaction_statement.is_none()
            && self.extensions.is_empty()
    }
}
