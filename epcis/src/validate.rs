//! Value checks the decoders apply while mapping a document onto the model.
//!
//! Each check returns a located [`DecodeError`] naming the field, the value and the rule. They
//! are called at parse time, so a model that exists is a model that passed them (parse, don't
//! validate).

use crate::id;
use crate::time::DateTime;
use crate::{DecodeError, DecodeResult, Position};

/// Where a checked value is: a [`Position`], or something that makes one when a check fails
/// (a JSON pointer is text built from its path only for an error).
pub(crate) trait At {
    /// The position, for an error.
    fn at(&self) -> Position;
}

impl At for Position {
    fn at(&self) -> Position {
        self.clone()
    }
}

impl<T: At + ?Sized> At for &T {
    fn at(&self) -> Position {
        (**self).at()
    }
}

/// An `xsd:dateTime`, zone optional (record and declaration times, which some systems write in
/// local time without a zone; read as UTC).
pub(crate) fn timestamp_lenient(value: &str, field: &str, pos: impl At) -> DecodeResult<()> {
    match DateTime::parse(value) {
        Some(_) => Ok(()),
        None => Err(DecodeError::invalid(
            pos.at(),
            field,
            value,
            "is not an ISO 8601 date-time (YYYY-MM-DDThh:mm:ss[.fff]Z or ±hh:mm)",
        )),
    }
}

/// An `xsd:dateTime` with a zone. EPCIS 2.0 requires the zone, and without one a DSCSA event
/// time is ambiguous by up to a day.
pub(crate) fn timestamp(value: &str, field: &str, pos: impl At) -> DecodeResult<()> {
    match DateTime::parse(value) {
        Some(t) if t.has_zone() => Ok(()),
        Some(_) => Err(DecodeError::invalid(
            pos.at(),
            field,
            value,
            "has no time zone: add Z or an offset such as -05:00",
        )),
        None => Err(DecodeError::invalid(
            pos.at(),
            field,
            value,
            "is not an ISO 8601 date-time (YYYY-MM-DDThh:mm:ss[.fff]Z or ±hh:mm)",
        )),
    }
}

/// `eventTimeZoneOffset`: `±hh:mm`, from -14:00 to +14:00.
pub(crate) fn zone_offset(value: &str, pos: impl At) -> DecodeResult<()> {
    let b = value.as_bytes();
    let ok = matches!(b, [b'+' | b'-', h1, h2, b':', m1, m2]
        if h1.is_ascii_digit() && h2.is_ascii_digit() && m1.is_ascii_digit() && m2.is_ascii_digit()
            && ((h1 - b'0') * 10 + (h2 - b'0') < 14 && (m1 - b'0') < 6
                || (&[*h1, *h2, *m1, *m2] == b"1400")));
    if ok {
        Ok(())
    } else {
        Err(DecodeError::invalid(
            pos.at(),
            "eventTimeZoneOffset",
            value,
            "must be ±hh:mm between -14:00 and +14:00",
        ))
    }
}

/// A URI as EPCIS uses it: a scheme, no whitespace or control characters.
pub(crate) fn uri(value: &str, field: &str, pos: impl At) -> DecodeResult<()> {
    if value.is_empty() {
        return Err(DecodeError::invalid(
            pos.at(),
            field,
            value,
            "must not be empty",
        ));
    }
    let suspicious = |b: &u8| !b.is_ascii_graphic();
    if value.bytes().any(|b| suspicious(&b))
        && let Some(c) = value.chars().find(|c| c.is_whitespace() || c.is_control())
    {
        return Err(DecodeError::invalid(
            pos.at(),
            field,
            value,
            format!(
                "contains {c:?} (U+{:04X}), which a URI cannot contain",
                u32::from(c)
            ),
        ));
    }
    let scheme_ok = value.split_once(':').is_some_and(|(scheme, rest)| {
        !rest.is_empty()
            && scheme
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    });
    if !scheme_ok {
        return Err(DecodeError::invalid(
            pos.at(),
            field,
            value,
            "is not a URI (expected scheme:..., e.g. urn:epc:id:sgtin:... or https://id.gs1.org/...)",
        ));
    }
    Ok(())
}

/// An instance-level identifier: a URI, and when it is an EPC pure-identity URN, a valid one.
pub(crate) fn epc(value: &str, field: &str, pos: impl At) -> DecodeResult<()> {
    uri(value, field, &pos)?;
    epc_urn(value, field, pos)
}

/// Remembers the `urn:epc:id:sgtin:CP.IR.` prefix of the last fully parsed SGTIN, so that the
/// rest of an EPC list, which in DSCSA data nearly always shares it, checks only its serials.
#[derive(Default)]
pub(crate) struct EpcCache {
    prefix: String,
}

/// [`epc`] with a fast path for list entries that share the cached prefix and have a plain
/// alphanumeric serial (1 to 20 characters: within CSET 82 and needing no escapes). Anything else
/// takes the full parse. `path` is only called to build an error.
pub(crate) fn epc_in_list(
    value: &str,
    cache: &mut EpcCache,
    path: impl FnOnce() -> String,
    pos: impl At,
) -> DecodeResult<()> {
    if !cache.prefix.is_empty()
        && let Some(serial) = value.strip_prefix(cache.prefix.as_str())
        && (1..=20).contains(&serial.len())
        && serial.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        return Ok(());
    }
    epc(value, &path(), pos)?;
    if value.starts_with("urn:epc:id:sgtin:")
        && let Some(i) = value.rfind('.')
    {
        cache.prefix.clear();
        cache.prefix.push_str(value.get(..=i).unwrap_or_default());
    }
    Ok(())
}

/// A class-level identifier (quantity lists): a URI, and a valid one when it is an EPC class or
/// pattern URN.
pub(crate) fn epc_class(value: &str, field: &str, pos: impl At) -> DecodeResult<()> {
    uri(value, field, &pos)?;
    epc_urn(value, field, pos)
}

/// EPC URNs (`urn:epc:id:`, `urn:epc:class:`, `urn:epc:idpat:`) must parse: structure, digits,
/// CSET 82 serials and lots, TDS escaping. The message is the innermost identifier error, which
/// already names the part and the rule.
fn epc_urn(value: &str, field: &str, pos: impl At) -> DecodeResult<()> {
    if !value.starts_with("urn:epc:") {
        return Ok(());
    }
    match id::Epc::parse(value) {
        Ok(_) => Ok(()),
        // Schemes the identifier module does not model are accepted as URIs.
        Err(e) if matches!(e.root(), id::IdError::Unsupported { .. }) => Ok(()),
        Err(e) => Err(DecodeError::invalid(
            pos.at(),
            field,
            value,
            e.root().to_string(),
        )),
    }
}

/// A vocabulary value after canonicalisation: a standard word becomes a URI, so anything still
/// without a scheme is a bare word the CBV does not define.
pub(crate) fn vocabulary(value: &str, field: &str, pos: impl At) -> DecodeResult<()> {
    if value.contains(':') {
        return uri(value, field, pos);
    }
    Err(DecodeError::invalid(
        pos.at(),
        field,
        value,
        "is not a standard CBV value: use a CBV word (e.g. shipping, in_transit) or a full URI \
         for a private vocabulary",
    ))
}

/// Extension fields must be namespace-qualified; an unqualified unknown name is most often a
/// misspelt standard field.
pub(crate) fn qualified_extension(name: &str, namespace: &str, pos: impl At) -> DecodeResult<()> {
    if namespace.is_empty() {
        return Err(DecodeError::invalid(
            pos.at(),
            name,
            name,
            "is not an EPCIS field; extension fields must be namespace-qualified \
             (e.g. ex:field with the prefix declared)",
        ));
    }
    Ok(())
}

/// The standard event fields, for spotting misspellings.
const STANDARD_FIELDS: &[&str] = &[
    "eventTime",
    "recordTime",
    "eventTimeZoneOffset",
    "eventID",
    "errorDeclaration",
    "certificationInfo",
    "parentID",
    "epcList",
    "childEPCs",
    "inputEPCList",
    "outputEPCList",
    "quantityList",
    "childQuantityList",
    "inputQuantityList",
    "outputQuantityList",
    "action",
    "transformationID",
    "bizStep",
    "disposition",
    "persistentDisposition",
    "readPoint",
    "bizLocation",
    "bizTransactionList",
    "sourceList",
    "destinationList",
    "sensorElementList",
    "ilmd",
];

/// An unqualified element (XML) or member (JSON-LD) the standard does not define is kept (SAP ATTP, a common DSCSA
/// system, writes `<SAPExtension>` so), unless it is a standard field's name in the wrong case,
/// which is almost certainly a typo that would otherwise lose the field silently.
pub(crate) fn unqualified_extension(name: &str, pos: impl At) -> DecodeResult<()> {
    match STANDARD_FIELDS
        .iter()
        .find(|f| f.eq_ignore_ascii_case(name))
    {
        Some(standard) => Err(DecodeError::invalid(
            pos.at(),
            name,
            name,
            format!("is not an EPCIS field: did you mean {standard}? (names are case-sensitive)"),
        )),
        None => Ok(()),
    }
}

/// An `xsd:decimal` (XML) quantity.
pub(crate) fn decimal(value: &str, field: &str, pos: impl At) -> DecodeResult<()> {
    let body = value.strip_prefix(['+', '-']).unwrap_or(value);
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    let ok = !(int.is_empty() && frac.is_empty())
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(DecodeError::invalid(
            pos.at(),
            field,
            value,
            "is not a decimal number",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets() {
        for ok in ["+00:00", "-05:00", "+14:00", "-14:00", "+05:30"] {
            assert!(zone_offset(ok, Position::Document).is_ok(), "{ok}");
        }
        for bad in ["", "05:00", "+5:00", "+14:30", "+15:00", "-05:60", "Z"] {
            assert!(zone_offset(bad, Position::Document).is_err(), "{bad}");
        }
    }

    #[test]
    fn uris() {
        assert!(
            uri(
                "urn:epc:id:sgtin:0614141.107346.2017",
                "f",
                Position::Document
            )
            .is_ok()
        );
        assert!(
            uri(
                "https://id.gs1.org/01/09506000134352/21/1",
                "f",
                Position::Document
            )
            .is_ok()
        );
        let e = uri(
            "urn:epc:id:sgtin:0614141.107346.20 17",
            "epcList/epc",
            Position::Document,
        )
        .unwrap_err();
        assert!(e.to_string().contains("' '"), "{e}");
        assert!(uri("no-scheme", "f", Position::Document).is_err());
        assert!(uri("", "f", Position::Document).is_err());
    }

    #[test]
    fn decimals() {
        for ok in ["1", "+1", "-1.5", ".5", "5.", "0.050"] {
            assert!(decimal(ok, "q", Position::Document).is_ok(), "{ok}");
        }
        for bad in ["", ".", "1e3", "1,5", "NaN", "--1"] {
            assert!(decimal(bad, "q", Position::Document).is_err(), "{bad}");
        }
    }
}
