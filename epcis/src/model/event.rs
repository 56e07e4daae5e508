//! The EPCIS event: the five standard event types in one struct, and the parts they share.
//!
//! One struct rather than five keeps the codecs and the hash free of per-type duplication: the
//! fields a type does not use stay empty, and [`EventKind`] says which fields are meaningful
//! (EPCIS 2.0 §7.4). Values are kept as the partner wrote them (trimmed), except CBV vocabulary,
//! which the decoders canonicalise (see [`crate::cbv`]), so that the same event decodes to the same
//! model from 1.2 XML, 2.0 XML and JSON-LD.

use super::Element;

/// Which of the EPCIS event types an [`Event`] is.
///
/// The order follows the EPCIS 2.0 standard, not the alphabet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// `ObjectEvent`: something happened to objects (commissioning, shipping, ...).
    Object,
    /// `AggregationEvent`: children packed into (or unpacked from) a parent container.
    Aggregation,
    /// `TransactionEvent`: objects associated with business transactions.
    Transaction,
    /// `TransformationEvent`: inputs consumed, outputs produced.
    Transformation,
    /// `AssociationEvent` (EPCIS 2.0): physical objects associated with a parent asset.
    Association,
}

impl EventKind {
    /// The five event types, in the standard's order.
    pub const ALL: [Self; 5] = [
        Self::Object,
        Self::Aggregation,
        Self::Transaction,
        Self::Transformation,
        Self::Association,
    ];

    /// The XML element name and JSON-LD `type` of this event type.
    pub fn name(self) -> &'static str {
        match self {
            Self::Object => "ObjectEvent",
            Self::Aggregation => "AggregationEvent",
            Self::Transaction => "TransactionEvent",
            Self::Transformation => "TransformationEvent",
            Self::Association => "AssociationEvent",
        }
    }

    /// The event type for an XML element name or JSON-LD `type`, if it is one.
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "ObjectEvent" => Self::Object,
            "AggregationEvent" => Self::Aggregation,
            "TransactionEvent" => Self::Transaction,
            "TransformationEvent" => Self::Transformation,
            "AssociationEvent" => Self::Association,
            _ => return None,
        })
    }
}

/// The `action` of an Object, Aggregation, Transaction or Association event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// The objects came into being, or were added to the parent / transaction.
    Add,
    /// The objects were observed; nothing was created or removed.
    Observe,
    /// The objects ceased to exist, or were removed from the parent / transaction.
    Delete,
}

impl Action {
    /// The wire form (`ADD`, `OBSERVE`, `DELETE`), the same in XML and JSON-LD.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Add => "ADD",
            Self::Observe => "OBSERVE",
            Self::Delete => "DELETE",
        }
    }

    /// Parses the wire form; anything else is `None`.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "ADD" => Self::Add,
            "OBSERVE" => Self::Observe,
            "DELETE" => Self::Delete,
            _ => return None,
        })
    }
}

/// One entry of a quantity list: a class-level identifier and an optional amount.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QuantityElement {
    /// EPC class URI (`urn:epc:class:lgtin:...`, `urn:epc:idpat:sgtin:...`) or a Digital Link.
    pub epc_class: String,
    /// The amount, in its lexical form (`xsd:decimal`), if given.
    pub quantity: Option<String>,
    /// UN/CEFACT Rec 20 unit code, if the quantity is not a count.
    pub uom: Option<String>,
}

/// A business transaction reference (purchase order, invoice, despatch advice, ...).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BizTransaction {
    /// Business transaction type (CBV `btt`, canonical URN form), if given.
    pub kind: Option<String>,
    /// The transaction identifier, e.g. `urn:epcglobal:cbv:bt:0614141000005:PO123`.
    pub id: String,
}

/// An entry of a source or destination list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SourceDest {
    /// Source/destination type (CBV `sdt`: owning_party, possessing_party, location).
    pub kind: String,
    /// The party or location: an SGLN or PGLN URN, or a Digital Link.
    pub id: String,
}

/// A read point or business location: an identifier plus any extension elements.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Location {
    /// SGLN URN or Digital Link of the location.
    pub id: String,
    /// Extension elements inside the `readPoint`/`bizLocation` element.
    pub extensions: Vec<Element>,
}

/// EPCIS 2.0 persistent disposition: dispositions set and unset by this event.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PersistentDisposition {
    /// Dispositions that hold from this event on (canonical CBV form).
    pub set: Vec<String>,
    /// Dispositions that no longer hold.
    pub unset: Vec<String>,
}

/// An error declaration: this event is declared erroneous, optionally with corrective events.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ErrorDeclaration {
    /// When the error was declared (as written).
    pub declaration_time: String,
    /// CBV error reason (canonical form), if given.
    pub reason: Option<String>,
    /// Event IDs of the events that correct this one.
    pub corrective_event_ids: Vec<String>,
    /// Extension elements of the declaration.
    pub extensions: Vec<Element>,
}

/// A name/value pair on a sensor metadata or report element.
///
/// In XML these are attributes; in JSON-LD, object members. `namespace` is set for user
/// extension attributes (e.g. `ext1:someFurtherMetadata`) and empty for the standard ones.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SensorField {
    /// Namespace URI of an extension field; empty for standard fields.
    pub namespace: String,
    /// Local name, e.g. `time`, `type`, `value`, `uom`.
    pub name: String,
    /// The value as written (vocabulary CURIEs and bare words expanded by the decoder).
    pub value: String,
}

/// One `sensorElement`: metadata about the device and the readings it reported.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SensorElement {
    /// The `sensorMetadata` fields, if present.
    pub metadata: Option<Vec<SensorField>>,
    /// One field list per `sensorReport`.
    pub reports: Vec<Vec<SensorField>>,
    /// Extension elements of the sensor element.
    pub extensions: Vec<Element>,
}

/// One EPCIS event, of any of the five types.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// Which event type this is; decides which of the fields below are meaningful.
    pub kind: EventKind,
    /// When the event happened, as written (ISO 8601 with a zone).
    pub event_time: String,
    /// When the event was recorded by the capturing system, if given.
    pub record_time: Option<String>,
    /// The time zone offset in effect where the event happened (`-05:00`).
    pub event_time_zone_offset: String,
    /// The event ID as sent, if any (often the CBV 2.0 hash ID, or a UUID URN).
    pub event_id: Option<String>,
    /// Set when this event declares an earlier event with the same ID erroneous.
    pub error_declaration: Option<ErrorDeclaration>,
    /// EPCIS 2.0 certification information URIs.
    pub certification_info: Vec<String>,
    /// Parent container (Aggregation, Association; optional on Transaction).
    pub parent_id: Option<String>,
    /// `epcList` (Object, Transaction).
    pub epc_list: Vec<String>,
    /// `childEPCs` (Aggregation, Association).
    pub child_epcs: Vec<String>,
    /// `inputEPCList` (Transformation).
    pub input_epc_list: Vec<String>,
    /// `outputEPCList` (Transformation).
    pub output_epc_list: Vec<String>,
    /// `quantityList` (Object, Transaction).
    pub quantity_list: Vec<QuantityElement>,
    /// `childQuantityList` (Aggregation, Association).
    pub child_quantity_list: Vec<QuantityElement>,
    /// `inputQuantityList` (Transformation).
    pub input_quantity_list: Vec<QuantityElement>,
    /// `outputQuantityList` (Transformation).
    pub output_quantity_list: Vec<QuantityElement>,
    /// The action; required on all types but Transformation.
    pub action: Option<Action>,
    /// `transformationID` (Transformation).
    pub transformation_id: Option<String>,
    /// Business step (canonical CBV form).
    pub biz_step: Option<String>,
    /// Disposition (canonical CBV form).
    pub disposition: Option<String>,
    /// EPCIS 2.0 persistent disposition.
    pub persistent_disposition: Option<PersistentDisposition>,
    /// Where the event was observed.
    pub read_point: Option<Location>,
    /// Where the objects are after the event.
    pub biz_location: Option<Location>,
    /// Business transactions (PO, invoice, despatch advice).
    pub biz_transactions: Vec<BizTransaction>,
    /// Sources (owning party, possessing party, location) of a transfer.
    pub sources: Vec<SourceDest>,
    /// Destinations of a transfer.
    pub destinations: Vec<SourceDest>,
    /// EPCIS 2.0 sensor data.
    pub sensor_elements: Vec<SensorElement>,
    /// Instance/lot master data (`ilmd`): lot number, expiry date, ... as extension elements.
    /// `None` when absent, `Some(empty)` for an empty `<ilmd/>`.
    pub ilmd: Option<Vec<Element>>,
    /// User extension elements at event level (e.g. `gs1ushc:dropShipment`), in document order.
    pub extensions: Vec<Element>,
}

impl Event {
    /// An event of the given type with only the required times set; every list empty.
    pub fn new(kind: EventKind, event_time: String, event_time_zone_offset: String) -> Self {
        Self {
            kind,
            event_time,
            record_time: None,
            event_time_zone_offset,
            event_id: None,
            error_declaration: None,
            certification_info: Vec::new(),
            parent_id: None,
            epc_list: Vec::new(),
            child_epcs: Vec::new(),
            input_epc_list: Vec::new(),
            output_epc_list: Vec::new(),
            quantity_list: Vec::new(),
            child_quantity_list: Vec::new(),
            input_quantity_list: Vec::new(),
            output_quantity_list: Vec::new(),
            action: None,
            transformation_id: None,
            biz_step: None,
            disposition: None,
            persistent_disposition: None,
            read_point: None,
            biz_location: None,
            biz_transactions: Vec::new(),
            sources: Vec::new(),
            destinations: Vec::new(),
            sensor_elements: Vec::new(),
            ilmd: None,
            extensions: Vec::new(),
        }
    }

    /// Every instance-level identifier the event names, parent first: the EPCs a tracing or
    /// visibility query matches against.
    pub fn all_epcs(&self) -> impl Iterator<Item = &str> {
        self.parent_id
            .iter()
            .chain(&self.epc_list)
            .chain(&self.child_epcs)
            .chain(&self.input_epc_list)
            .chain(&self.output_epc_list)
            .map(String::as_str)
    }

    /// The number of instance-level identifiers in the event's EPC lists (parent excluded).
    pub fn epc_count(&self) -> usize {
        self.epc_list.len()
            + self.child_epcs.len()
            + self.input_epc_list.len()
            + self.output_epc_list.len()
    }

    /// The value of an ILMD field by namespace and local name, e.g. the CBV master-data
    /// `lotNumber`. Both spellings of the CBV master-data namespace match (with and without the
    /// trailing colon; see `reference/epcis.md` §4.5).
    pub fn ilmd_value(&self, namespace: &str, name: &str) -> Option<&str> {
        let want = namespace.trim_end_matches(':');
        self.ilmd.as_deref()?.iter().find_map(|e| {
            (e.name == name && e.namespace.trim_end_matches(':') == want)
                .then_some(e.text.as_deref())
                .flatten()
        })
    }
}
