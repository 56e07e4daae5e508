//! The typed EPCIS model shared by every codec: a document, its header, and its events.
//!
//! Invariants the decoders keep: leaf values are trimmed; CBV vocabulary values (bizStep,
//! disposition, business transaction, source/destination and error-reason types) are in their
//! canonical form ([`crate::cbv`]); nothing a partner sent is dropped, since unknown elements are
//! kept as [`Element`]s.

mod element;
mod event;
mod header;

pub use element::{Attribute, Element};
pub use event::{
    Action, BizTransaction, ErrorDeclaration, Event, EventKind, Location, PersistentDisposition,
    QuantityElement, SensorElement, SensorField, SourceDest,
};
pub use header::{
    GS1USHC_NS, Header, MasterDataAttribute, Sbdh, SbdhParty, TransactionStatement, Vocabulary,
    VocabularyElement,
};

/// Whether a document is a capture document or a query result.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DocumentKind {
    /// `EPCISDocument`: events sent for capture.
    #[default]
    Capture,
    /// `EPCISQueryDocument`: events returned by a query.
    Query,
}

/// The EPCIS version of a syntax, as detected on decode or requested on encode.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum EpcisVersion {
    /// EPCIS 1.0, 1.1 and 1.2 XML (namespace `urn:epcglobal:epcis:xsd:1`).
    V1_2,
    /// EPCIS 2.0 XML (`urn:epcglobal:epcis:xsd:2`) and JSON-LD.
    #[default]
    V2_0,
}

/// A whole EPCIS document.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Document {
    /// Capture document or query result.
    pub kind: DocumentKind,
    /// The `schemaVersion` attribute as written (`1.2`, `2.0`, sometimes `1` or `1.1`).
    pub schema_version: String,
    /// The `creationDate` as written.
    pub creation_date: Option<String>,
    /// SBDH, master data and DSCSA statements.
    pub header: Header,
    /// For a query document: the query name and subscription ID, when given.
    pub query_name: Option<String>,
    /// For a query document: the subscription ID, when given.
    pub subscription_id: Option<String>,
    /// Fields a document asks hashing to skip: a root-level `ignoreFields` list of qualified
    /// names (namespace URI, local name), as the GS1 reference hash generator supports for
    /// fields a repository adds to events it hands on (`reference/epcis.md` §4.2).
    pub hash_ignore: Vec<(String, String)>,
    /// The events in document order.
    pub events: Vec<Event>,
}

impl Document {
    /// The CBV 2.0 hash ID of each event, honouring the document's `ignoreFields`.
    pub fn event_hash_ids(&self) -> Vec<String> {
        self.events
            .iter()
            .map(|e| crate::hash::event_hash_id_ignoring(e, &self.hash_ignore))
            .collect()
    }
}
