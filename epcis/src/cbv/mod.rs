//! CBV vocabulary values: the one canonical form the model keeps, and the forms each syntax writes.
//!
//! The same business step reaches us as `urn:epcglobal:cbv:bizstep:shipping` (1.2 and 2.0 XML),
//! `shipping` (JSON-LD bare word), `cbv:BizStep-shipping` (CURIE) or
//! `https://ref.gs1.org/cbv/BizStep-shipping` (Web URI). The model keeps standard values in URN
//! form for the fields that have one (what DSCSA partners exchange), and the Web URI for those
//! that have no URN form (sensor vocabulary). Non-standard values are kept as written, after
//! CURIE expansion.
//!
//! XML decoders do not expand bare words: the GS1 reference hash treats a bare word in XML as an
//! opaque string, and so must we (`reference/epcis.md` §4.3).

mod words;

/// The CBV Web vocabulary base.
pub const CBV_WEB: &str = "https://ref.gs1.org/cbv/";
/// The GS1 Web vocabulary base.
pub const GS1_VOC: &str = "https://gs1.org/voc/";

/// A field whose value is drawn from a CBV or GS1 vocabulary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VocabField {
    /// `bizStep`.
    BizStep,
    /// `disposition` and persistent disposition `set`/`unset`.
    Disposition,
    /// `bizTransaction` `type`.
    BizTransactionType,
    /// `source`/`destination` `type`.
    SourceDestType,
    /// `errorDeclaration` `reason`.
    ErrorReason,
    /// sensor report `component`.
    Component,
    /// sensor report `type` (measurement type).
    MeasurementType,
    /// sensor report `exception`.
    SensorException,
}

impl VocabField {
    fn words(self) -> &'static [&'static str] {
        match self {
            Self::BizStep => words::BIZ_STEPS,
            Self::Disposition => words::DISPOSITIONS,
            Self::BizTransactionType => words::BIZ_TRANSACTION_TYPES,
            Self::SourceDestType => words::SOURCE_DEST_TYPES,
            Self::ErrorReason => words::ERROR_REASONS,
            Self::Component => words::COMPONENTS,
            Self::MeasurementType => words::MEASUREMENT_TYPES,
            Self::SensorException => words::SENSOR_EXCEPTIONS,
        }
    }

    /// The EPCIS 1.x URN prefix, for fields that have one.
    pub fn urn_prefix(self) -> Option<&'static str> {
        Some(match self {
            Self::BizStep => "urn:epcglobal:cbv:bizstep:",
            Self::Disposition => "urn:epcglobal:cbv:disp:",
            Self::BizTransactionType => "urn:epcglobal:cbv:btt:",
            Self::SourceDestType => "urn:epcglobal:cbv:sdt:",
            Self::ErrorReason => "urn:epcglobal:cbv:er:",
            Self::Component | Self::MeasurementType | Self::SensorException => return None,
        })
    }

    /// The Web URI prefix of the field's standard values.
    pub fn web_prefix(self) -> &'static str {
        match self {
            Self::BizStep => "https://ref.gs1.org/cbv/BizStep-",
            Self::Disposition => "https://ref.gs1.org/cbv/Disp-",
            Self::BizTransactionType => "https://ref.gs1.org/cbv/BTT-",
            Self::SourceDestType => "https://ref.gs1.org/cbv/SDT-",
            Self::ErrorReason => "https://ref.gs1.org/cbv/ER-",
            Self::Component => "https://ref.gs1.org/cbv/Comp-",
            Self::MeasurementType | Self::SensorException => GS1_VOC,
        }
    }

    /// True when `word` is a standard value of this field.
    pub fn is_standard_word(self, word: &str) -> bool {
        self.words().binary_search(&word).is_ok()
    }
}

/// Expands the `cbv:` and `gs1:` CURIEs; other values are returned unchanged.
pub fn expand_curie(value: &str) -> Option<String> {
    if let Some(rest) = value.strip_prefix("cbv:") {
        Some(format!("{CBV_WEB}{rest}"))
    } else {
        value
            .strip_prefix("gs1:")
            .map(|rest| format!("{GS1_VOC}{rest}"))
    }
}

/// The canonical model form of a vocabulary value as written in XML (any EPCIS version).
pub fn canonical(field: VocabField, value: &str) -> String {
    let expanded = expand_curie(value);
    let value = expanded.as_deref().unwrap_or(value);
    if let (Some(urn), Some(word)) = (field.urn_prefix(), value.strip_prefix(field.web_prefix()))
        && field.is_standard_word(word)
    {
        return format!("{urn}{word}");
    }
    value.to_owned()
}

/// The canonical model form of a vocabulary value as written in JSON-LD, where the context lets
/// standard values appear as bare words.
pub fn canonical_jsonld(field: VocabField, value: &str) -> String {
    if field.is_standard_word(value) {
        return match field.urn_prefix() {
            Some(urn) => format!("{urn}{value}"),
            None => format!("{}{value}", field.web_prefix()),
        };
    }
    canonical(field, value)
}

/// The standard word of a canonical value, if it is one (what JSON-LD writes bare).
pub fn bare_word(field: VocabField, value: &str) -> Option<&str> {
    let word = field
        .urn_prefix()
        .and_then(|p| value.strip_prefix(p))
        .or_else(|| value.strip_prefix(field.web_prefix()))?;
    field.is_standard_word(word).then_some(word)
}

/// The Web URI form of a canonical value (what EPCIS 2.0 XML may write, and what the hash uses).
pub fn web_uri(field: VocabField, value: &str) -> String {
    match field.urn_prefix().and_then(|p| value.strip_prefix(p)) {
        Some(word) => format!("{}{word}", field.web_prefix()),
        None => value.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_tables_are_sorted_for_binary_search() {
        for field in [
            VocabField::BizStep,
            VocabField::Disposition,
            VocabField::BizTransactionType,
            VocabField::SourceDestType,
            VocabField::ErrorReason,
            VocabField::Component,
            VocabField::MeasurementType,
            VocabField::SensorException,
        ] {
            let w = field.words();
            assert!(w.windows(2).all(|p| p[0] < p[1]), "{field:?} not sorted");
            assert!(!w.is_empty());
        }
    }

    #[test]
    fn every_spelling_of_a_standard_step_has_one_canonical_form() {
        let urn = "urn:epcglobal:cbv:bizstep:shipping";
        assert_eq!(canonical(VocabField::BizStep, urn), urn);
        assert_eq!(
            canonical(
                VocabField::BizStep,
                "https://ref.gs1.org/cbv/BizStep-shipping"
            ),
            urn
        );
        assert_eq!(canonical(VocabField::BizStep, "cbv:BizStep-shipping"), urn);
        assert_eq!(canonical_jsonld(VocabField::BizStep, "shipping"), urn);
        assert_eq!(bare_word(VocabField::BizStep, urn), Some("shipping"));
    }

    #[test]
    fn xml_bare_words_and_unknown_values_stay_as_written() {
        assert_eq!(canonical(VocabField::BizStep, "shipping"), "shipping");
        assert_eq!(
            canonical(VocabField::BizStep, "urn:example:step:x"),
            "urn:example:step:x"
        );
        assert_eq!(
            canonical_jsonld(VocabField::BizStep, "not_a_step"),
            "not_a_step"
        );
    }

    #[test]
    fn sensor_vocabulary_uses_the_gs1_web_vocabulary() {
        assert_eq!(
            canonical_jsonld(VocabField::MeasurementType, "Temperature"),
            "https://gs1.org/voc/Temperature"
        );
        assert_eq!(
            canonical(VocabField::MeasurementType, "gs1:Temperature"),
            "https://gs1.org/voc/Temperature"
        );
        assert_eq!(
            bare_word(
                VocabField::MeasurementType,
                "https://gs1.org/voc/Temperature"
            ),
            Some("Temperature")
        );
    }
}
