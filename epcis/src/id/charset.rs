//! Character sets and escaping: GS1 CSET 82 and CSET 39, EPC URI escaping (GS1 Tag Data Standard)
//! and GS1 Digital Link percent-encoding.
//!
//! Invariants kept here:
//! - [`epc_escape`] output parses back with [`epc_unescape`] to the same value, and only uses the
//!   characters EPC URIs allow raw plus upper-case `%HH`.
//! - [`dl_encode`] output is a valid URI path segment and decodes with [`dl_decode`] to the same
//!   value.

use std::borrow::Cow;

use super::error::{IdError, shown};

/// Name of GS1 CSET 82 in error messages.
pub const CSET82: &str = "GS1 CSET 82";
/// Name of GS1 CSET 39 in error messages.
pub const CSET39: &str = "GS1 CSET 39";

/// Whether `b` is in GS1 CSET 82 (GS1 General Specifications Figure 7.11-1):
/// `!"%&'()*+,-./0-9:;<=>?A-Z_a-z`.
#[must_use]
pub const fn is_cset82(b: u8) -> bool {
    matches!(b, b'!' | b'"' | b'%'..=b'?' | b'A'..=b'Z' | b'_' | b'a'..=b'z')
}

/// Whether `b` is in GS1 CSET 39 (used by the CPI): `#-/0-9A-Z`.
#[must_use]
pub const fn is_cset39(b: u8) -> bool {
    matches!(b, b'#' | b'-' | b'/' | b'0'..=b'9' | b'A'..=b'Z')
}

/// Checks that every character of `value` is in GS1 CSET 82.
///
/// # Errors
/// [`IdError::Charset`] naming `field`, `value` and the first character outside the set.
pub fn check_cset82(field: &'static str, value: &str) -> Result<(), IdError> {
    check_set(field, value, CSET82, is_cset82)
}

/// Checks that every character of `value` is in GS1 CSET 39.
///
/// # Errors
/// [`IdError::Charset`] naming `field`, `value` and the first character outside the set.
pub fn check_cset39(field: &'static str, value: &str) -> Result<(), IdError> {
    check_set(field, value, CSET39, is_cset39)
}

fn check_set(
    field: &'static str,
    value: &str,
    name: &'static str,
    allowed: fn(u8) -> bool,
) -> Result<(), IdError> {
    match value.chars().find(|&c| !u8::try_from(c).is_ok_and(allowed)) {
        Some(c) => Err(IdError::charset(field, value, c, name)),
        None => Ok(()),
    }
}

/// A non-empty CSET 82 value of at most `max` characters (serials, lots, extensions).
pub(crate) fn check_x(
    field: &'static str,
    value: &str,
    max: usize,
    rule: &'static str,
) -> Result<(), IdError> {
    if value.is_empty() {
        return Err(IdError::Empty { field });
    }
    check_cset82(field, value)?;
    if value.len() > max {
        return Err(IdError::length(field, value, rule));
    }
    Ok(())
}

/// Characters an EPC URI component may carry unescaped (GS1 TDS §6.3, Table 6-1 minus the ones
/// that must be escaped).
const fn is_epc_raw(b: u8) -> bool {
    matches!(b,
        b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9'
        | b'!' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b'-' | b'.' | b':' | b';' | b'=' | b'_')
}

/// Escapes a serial, lot or other component for an EPC URI: `"`, `#`, `%`, `&`, `/`, `<`, `>`,
/// `?` (and anything else outside the raw set) become upper-case `%HH`.
#[must_use]
pub fn epc_escape(value: &str) -> Cow<'_, str> {
    escape_bytes(value, is_epc_raw)
}

/// Decodes an EPC URI component: `%HH` escapes become their byte. A raw character that TDS
/// requires to be escaped (`"`, `#`, `&`, `/`, `<`, `>`, `?`) is an error, so is a `%` that does
/// not start an escape.
///
/// # Errors
/// [`IdError::Unescaped`], [`IdError::Escape`]. Other characters pass through; callers check the
/// decoded value against the field's character set.
pub fn epc_unescape<'a>(field: &'static str, value: &'a str) -> Result<Cow<'a, str>, IdError> {
    if let Some(c) = value
        .chars()
        .find(|c| matches!(c, '"' | '#' | '&' | '/' | '<' | '>' | '?'))
    {
        return Err(IdError::Unescaped {
            field,
            value: shown(value),
            found: c,
        });
    }
    percent_decode(field, value)
}

/// Characters a GS1 Digital Link path segment carries unescaped: RFC 3986 unreserved plus `'`,
/// `;`, `=`. Everything else, including all of GS1 DL Table 7-1 (`!`, `#`, `%`, `&`, `(`, `)`,
/// `*`, `+`, `,`, `/`, `:`, space) and the URI-invalid `"`, `<`, `>`, `?`, is percent-encoded.
const fn is_dl_raw(b: u8) -> bool {
    matches!(b,
        b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'\'' | b';' | b'=')
}

/// Percent-encodes a value for a GS1 Digital Link path segment or query value (upper-case hex).
#[must_use]
pub fn dl_encode(value: &str) -> Cow<'_, str> {
    escape_bytes(value, is_dl_raw)
}

/// Decodes `%HH` escapes in a Digital Link segment. `+` stays `+` (it is not a space in a path).
///
/// # Errors
/// [`IdError::Escape`] for a `%` not followed by two hex digits or escapes that decode to invalid
/// UTF-8.
pub fn dl_decode<'a>(field: &'static str, value: &'a str) -> Result<Cow<'a, str>, IdError> {
    percent_decode(field, value)
}

fn escape_bytes(value: &str, raw: fn(u8) -> bool) -> Cow<'_, str> {
    if value.bytes().all(raw) {
        return Cow::Borrowed(value);
    }
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(value.len() + 8);
    for b in value.bytes() {
        if raw(b) {
            out.push(char::from(b));
        } else {
            out.push('%');
            for nibble in [b >> 4, b & 0xF] {
                out.push(HEX.get(usize::from(nibble)).map_or('0', |&h| char::from(h)));
            }
        }
    }
    Cow::Owned(out)
}

fn percent_decode<'a>(field: &'static str, value: &'a str) -> Result<Cow<'a, str>, IdError> {
    if !value.contains('%') {
        return Ok(Cow::Borrowed(value));
    }
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hi = bytes.get(i + 1).and_then(|&h| hex_value(h));
            let lo = bytes.get(i + 2).and_then(|&h| hex_value(h));
            let (Some(hi), Some(lo)) = (hi, lo) else {
                return Err(IdError::Escape {
                    field,
                    value: shown(value),
                    at: i,
                    rule: "'%' must be followed by two hex digits",
                });
            };
            out.push(hi << 4 | lo);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).map(Cow::Owned).map_err(|_| {
        // Point at the first escape of a non-ASCII byte: where the broken sequence starts or
        // close to it.
        let at = value
            .match_indices('%')
            .map(|(i, _)| i)
            .find(|&i| {
                bytes
                    .get(i + 1)
                    .and_then(|&h| hex_value(h))
                    .is_some_and(|h| h >= 8)
            })
            .unwrap_or(0);
        IdError::Escape {
            field,
            value: shown(value),
            at,
            rule: "the escapes decode to bytes that are not UTF-8",
        }
    })
}

const fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'A'..=b'F' => Some(b - b'A' + 10),
        b'a'..=b'f' => Some(b - b'a' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const CSET82_ALL: &str =
        "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz";

    #[test]
    fn cset82_is_exactly_the_82_characters() {
        assert_eq!(CSET82_ALL.len(), 82);
        let count = (0..=255u8).filter(|&b| is_cset82(b)).count();
        assert_eq!(count, 82);
        assert!(CSET82_ALL.bytes().all(is_cset82));
        assert!(check_cset82("serial", CSET82_ALL).is_ok());
    }

    #[test]
    fn cset82_rejects_space_hash_dollar_at_backslash_and_unicode() {
        let e = check_cset82("serial", "20 17").unwrap_err();
        assert_eq!(
            e.to_string(),
            r#"serial "20 17" contains ' ' (0x20), which is outside GS1 CSET 82"#
        );
        for bad in ["a#", "$", "@x", "a\\b", "é", "A\u{1d}B", "ＡＢ"] {
            assert!(check_cset82("lot", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn cset39() {
        assert!(check_cset39("CPI", "11-A#/Z09").is_ok());
        assert!(check_cset39("CPI", "a").is_err());
        assert_eq!((0..=255u8).filter(|&b| is_cset39(b)).count(), 39);
    }

    #[test]
    fn check_x_enforces_empty_and_length() {
        assert!(check_x("lot", "ABC", 20, "x").is_ok());
        assert!(matches!(
            check_x("lot", "", 20, "x"),
            Err(IdError::Empty { .. })
        ));
        assert!(matches!(
            check_x("lot", &"A".repeat(21), 20, "x"),
            Err(IdError::Length { .. })
        ));
    }

    #[test]
    fn epc_escaping_follows_tds() {
        assert_eq!(epc_escape("6789/&%\"!?()"), "6789%2F%26%25%22!%3F()");
        assert_eq!(epc_escape("<a>#"), "%3Ca%3E%23");
        assert!(matches!(epc_escape("plain-1.2"), Cow::Borrowed(_)));
        assert_eq!(
            epc_unescape("serial", "6789%2F%26%25%22!%3f()").unwrap(),
            "6789/&%\"!?()"
        );
        let e = epc_unescape("serial", "a/b").unwrap_err();
        assert!(matches!(e, IdError::Unescaped { found: '/', .. }));
        assert!(matches!(
            epc_unescape("serial", "50%"),
            Err(IdError::Escape { at: 2, .. })
        ));
        assert!(matches!(
            epc_unescape("serial", "%G1"),
            Err(IdError::Escape { .. })
        ));
        assert!(matches!(
            epc_unescape("serial", "%C3"),
            Err(IdError::Escape { .. })
        ));
        assert_eq!(epc_unescape("serial", "%C3%A9").unwrap(), "é");
    }

    #[test]
    fn dl_encoding_covers_table_7_1() {
        assert_eq!(
            dl_encode("! #%&()*+,/:"),
            "%21%20%23%25%26%28%29%2A%2B%2C%2F%3A"
        );
        assert_eq!(dl_encode("\"<>?"), "%22%3C%3E%3F");
        assert_eq!(dl_encode("Ab9-._~';="), "Ab9-._~';=");
        assert_eq!(dl_encode("é"), "%C3%A9");
        assert_eq!(dl_decode("serial", "a%2Fb+c").unwrap(), "a/b+c");
        assert!(dl_decode("serial", "%").is_err());
        assert!(dl_decode("serial", "%%%").is_err());
    }

    proptest! {
        #[test]
        fn epc_escape_round_trips(s in "[!\"%&'()*+,\\-./0-9:;<=>?A-Z_a-z#]{0,30}") {
            let escaped = epc_escape(&s);
            prop_assert_eq!(epc_unescape("serial", &escaped).unwrap(), s.as_str());
        }

        #[test]
        fn dl_encode_round_trips(s in "\\PC{0,30}") {
            let encoded = dl_encode(&s);
            prop_assert!(encoded.bytes().all(|b| is_dl_raw(b) || b == b'%' || b.is_ascii_hexdigit()));
            prop_assert_eq!(dl_decode("serial", &encoded).unwrap(), s.as_str());
        }

        #[test]
        fn decoders_never_panic(s in "\\PC{0,40}") {
            let _ = epc_unescape("serial", &s);
            let _ = dl_decode("serial", &s);
        }
    }
}
