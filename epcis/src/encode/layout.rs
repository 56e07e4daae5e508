//! Where each part of an event goes: the element order of the EPCIS 2.0 and 1.2 XSD sequences
//! per event type, and the `extension` wrappers of 1.2.
//!
//! The tables are the single source of the order for 2.0 XML and JSON-LD (which uses the 2.0
//! order for readability; JSON members are unordered) and for 1.2 XML.
//! Only the parts meaningful for an event's type are listed (EPCIS 2.0 §7.4); a field the type
//! does not use is not written.

use crate::model::EventKind;

/// One type-specific part of an event (the parts every type shares are written by the encoders
/// directly: times, eventID, errorDeclaration, certificationInfo, extensions).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Part {
    /// `parentID`.
    ParentId,
    /// `epcList`.
    EpcList,
    /// `childEPCs`.
    ChildEpcs,
    /// `inputEPCList`.
    InputEpcList,
    /// `inputQuantityList`.
    InputQuantityList,
    /// `outputEPCList`.
    OutputEpcList,
    /// `outputQuantityList`.
    OutputQuantityList,
    /// `transformationID`.
    TransformationId,
    /// `quantityList`.
    QuantityList,
    /// `childQuantityList`.
    ChildQuantityList,
    /// `action`.
    Action,
    /// `bizStep`.
    BizStep,
    /// `disposition`.
    Disposition,
    /// `readPoint`.
    ReadPoint,
    /// `bizLocation`.
    BizLocation,
    /// `bizTransactionList`.
    BizTransactions,
    /// `sourceList`.
    Sources,
    /// `destinationList`.
    Destinations,
    /// `sensorElementList`.
    Sensors,
    /// `persistentDisposition`.
    PersistentDisposition,
    /// `ilmd`.
    Ilmd,
}

use Part::*;

/// The EPCIS 2.0 XSD order of an event type's parts.
pub(super) fn parts_v2(kind: EventKind) -> &'static [Part] {
    match kind {
        EventKind::Object => &[
            EpcList,
            Action,
            BizStep,
            Disposition,
            ReadPoint,
            BizLocation,
            BizTransactions,
            QuantityList,
            Sources,
            Destinations,
            Sensors,
            PersistentDisposition,
            Ilmd,
        ],
        EventKind::Aggregation => &[
            ParentId,
            ChildEpcs,
            Action,
            BizStep,
            Disposition,
            ReadPoint,
            BizLocation,
            BizTransactions,
            ChildQuantityList,
            Sources,
            Destinations,
            Sensors,
            PersistentDisposition,
        ],
        EventKind::Transaction => &[
            BizTransactions,
            ParentId,
            EpcList,
            Action,
            BizStep,
            Disposition,
            ReadPoint,
            BizLocation,
            QuantityList,
            Sources,
            Destinations,
            Sensors,
            PersistentDisposition,
        ],
        EventKind::Transformation => &[
            InputEpcList,
            InputQuantityList,
            OutputEpcList,
            OutputQuantityList,
            TransformationId,
            BizStep,
            Disposition,
            ReadPoint,
            BizLocation,
            BizTransactions,
            Sources,
            Destinations,
            Sensors,
            PersistentDisposition,
            Ilmd,
        ],
        EventKind::Association => &[
            ParentId,
            ChildEpcs,
            ChildQuantityList,
            Action,
            BizStep,
            Disposition,
            ReadPoint,
            BizLocation,
            BizTransactions,
            Sources,
            Destinations,
            Sensors,
            PersistentDisposition,
        ],
    }
}

/// Where an event type's parts go in EPCIS 1.2 XML.
#[derive(Clone, Copy, Debug)]
pub(super) struct Layout12 {
    /// Direct children of the event element, in XSD order.
    pub(super) body: &'static [Part],
    /// Children of the event's `<extension>`.
    pub(super) extension: &'static [Part],
    /// Children of `<extension><extension>`: the 2.0-only parts.
    pub(super) nested: &'static [Part],
    /// Unqualified user extensions go in the nested `<extension>` (else in `<extension>`): the
    /// wrapper whose content model is `##local`.
    pub(super) unqualified_nested: bool,
}

/// The EPCIS 1.2 layout of an event type. TransformationEvent (1.1) has no nested wrapper:
/// its `<extension>` is already `##local`. AssociationEvent does not exist in 1.2: it is written
/// with its 2.0 content inside `EventList/extension/extension`, the shape GS1's 1.2-to-2.0 XSLT
/// reads back.
pub(super) fn layout_v12(kind: EventKind) -> Layout12 {
    const WITH_NESTED: &[Part] = &[Sensors, PersistentDisposition];
    match kind {
        EventKind::Object => Layout12 {
            body: &[
                EpcList,
                Action,
                BizStep,
                Disposition,
                ReadPoint,
                BizLocation,
                BizTransactions,
            ],
            extension: &[QuantityList, Sources, Destinations, Ilmd],
            nested: WITH_NESTED,
            unqualified_nested: true,
        },
        EventKind::Aggregation => Layout12 {
            body: &[
                ParentId,
                ChildEpcs,
                Action,
                BizStep,
                Disposition,
                ReadPoint,
                BizLocation,
                BizTransactions,
            ],
            extension: &[ChildQuantityList, Sources, Destinations],
            nested: WITH_NESTED,
            unqualified_nested: true,
        },
        EventKind::Transaction => Layout12 {
            body: &[
                BizTransactions,
                ParentId,
                EpcList,
                Action,
                BizStep,
                Disposition,
                ReadPoint,
                BizLocation,
            ],
            extension: &[QuantityList, Sources, Destinations],
            nested: WITH_NESTED,
            unqualified_nested: true,
        },
        EventKind::Transformation => Layout12 {
            body: &[
                InputEpcList,
                InputQuantityList,
                OutputEpcList,
                OutputQuantityList,
                TransformationId,
                BizStep,
                Disposition,
                ReadPoint,
                BizLocation,
                BizTransactions,
                Sources,
                Destinations,
                Ilmd,
            ],
            extension: WITH_NESTED,
            nested: &[],
            unqualified_nested: false,
        },
        EventKind::Association => Layout12 {
            body: parts_v2(EventKind::Association),
            extension: &[],
            nested: &[],
            unqualified_nested: false,
        },
    }
}

/// True when the XSD requires the part even when the model's list is empty (it is then written
/// as an empty list element).
pub(super) fn required(v12: bool, e: &crate::model::Event, part: Part) -> bool {
    match (e.kind, part) {
        (EventKind::Transaction, BizTransactions) => true,
        // EPCIS 2.0 requires an ObjectEvent to carry epcList or quantityList (the XSD always
        // requires epcList); an empty list is written rather than dropped.
        (EventKind::Object, EpcList) => v12 || e.quantity_list.is_empty(),
        (EventKind::Transaction, EpcList) | (EventKind::Aggregation, ChildEpcs) => v12,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KINDS: [EventKind; 5] = [
        EventKind::Object,
        EventKind::Aggregation,
        EventKind::Transaction,
        EventKind::Transformation,
        EventKind::Association,
    ];

    #[test]
    fn the_12_layout_places_every_20_part_exactly_once() {
        for kind in KINDS {
            let l = layout_v12(kind);
            let mut got: Vec<Part> = [l.body, l.extension, l.nested].concat();
            let mut want = parts_v2(kind).to_vec();
            got.sort_by_key(|p| *p as u8);
            want.sort_by_key(|p| *p as u8);
            assert_eq!(got, want, "{kind:?}");
        }
    }
}
