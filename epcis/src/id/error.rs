//! [`IdError`], the one error type of the identifier parsers.
//!
//! Every message names the offending value (truncated to [`MAX_SHOWN`] characters, with control
//! characters escaped) and the rule it breaks, so that a partner reading an error body can fix the
//! data without reading our code. Characters are shown with their code (`' ' (0x20)`,
//! `'é' (U+00E9)`) because the usual culprits (spaces, NBSP, GS) are invisible.

use std::fmt::Write as _;

/// How many characters of an offending value an error message repeats.
pub const MAX_SHOWN: usize = 80;

/// Why an identifier could not be parsed or converted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdError {
    /// A character is outside the set the field allows (GS1 CSET 82, CSET 39 or the digits).
    #[error("{field} {value:?} contains {}, which is outside {charset}", show_char(*.found))]
    Charset {
        /// The field, e.g. `serial`.
        field: &'static str,
        /// The value (truncated).
        value: String,
        /// The first character that is not allowed.
        found: char,
        /// The allowed set, e.g. `GS1 CSET 82`.
        charset: &'static str,
    },
    /// A GS1 key's check digit does not match the digits before it.
    #[error(
        "{field} {value:?} ends in check digit {found}, but the digits before it give {expected}"
    )]
    CheckDigit {
        /// The key, e.g. `GTIN`.
        field: &'static str,
        /// The key as given.
        value: String,
        /// The check digit computed from the other digits.
        expected: u8,
        /// The last character of the value.
        found: char,
    },
    /// Converting to an EPC URI needs the GS1 Company Prefix length, and nothing told us.
    #[error(
        "company prefix length unknown for {key_name} {key}: add the product's master data \
         (EPCClass) or configure its GS1 company prefix"
    )]
    CompanyPrefixUnknown {
        /// The key type, e.g. `GTIN`.
        key_name: &'static str,
        /// The key.
        key: String,
    },
    /// An error inside a larger value (an EPC URI, a Digital Link, an element string field).
    #[error("{context}: {inner}")]
    Context {
        /// The larger value or the field, e.g. the URI (truncated) or `AI (10)`.
        context: String,
        /// What is wrong inside it.
        inner: Box<IdError>,
    },
    /// A date field is not a calendar date.
    #[error("{field} {value:?} is not a valid date: {rule}")]
    Date {
        /// The field, e.g. `expiry (17)`.
        field: &'static str,
        /// The value as given.
        value: String,
        /// What is wrong, e.g. `month 13 is outside 01-12`.
        rule: String,
    },
    /// A required value is empty.
    #[error("{field} is empty")]
    Empty {
        /// The field.
        field: &'static str,
    },
    /// A `%` that does not start a valid `%HH` escape, or escapes that decode to invalid UTF-8.
    #[error("{field} {value:?} has an invalid percent-escape at byte {at}: {rule}")]
    Escape {
        /// The field.
        field: &'static str,
        /// The value as given.
        value: String,
        /// Byte offset of the `%`.
        at: usize,
        /// What is wrong.
        rule: &'static str,
    },
    /// A value has the wrong length.
    #[error("{field} {value:?} has {actual} characters; {rule}")]
    Length {
        /// The field.
        field: &'static str,
        /// The value (truncated).
        value: String,
        /// Its length in characters.
        actual: usize,
        /// The length rule, e.g. `a GLN has 13 digits`.
        rule: &'static str,
    },
    /// A scan or Digital Link lacks a required application identifier.
    #[error("{what} has no ({ai}) {name}")]
    MissingAi {
        /// The input kind, e.g. `element string`.
        what: &'static str,
        /// The AI, e.g. `01`.
        ai: &'static str,
        /// Its name, e.g. `GTIN`.
        name: &'static str,
    },
    /// The input's structure is wrong (missing parts, wrong prefix, wrong order).
    #[error("{what} {value:?}: {rule}")]
    Syntax {
        /// The input kind, e.g. `EPC URI`.
        what: &'static str,
        /// The value (truncated).
        value: String,
        /// The rule it breaks.
        rule: String,
    },
    /// A character that EPC URIs require to be percent-encoded appears raw.
    #[error(
        "{field} {value:?} contains {}, which must be percent-encoded as %{:02X} in an EPC URI",
        show_char(*.found),
        u32::from(*.found)
    )]
    Unescaped {
        /// The field.
        field: &'static str,
        /// The value as given.
        value: String,
        /// The raw character.
        found: char,
    },
    /// An application identifier this parser does not know.
    #[error("application identifier ({ai}) is not supported; supported AIs: {supported}")]
    UnknownAi {
        /// The AI digits as read.
        ai: String,
        /// The supported AIs, comma separated.
        supported: &'static str,
    },
    /// A well-formed input of a kind this crate does not handle.
    #[error("{what} {value:?} is not supported: {rule}")]
    Unsupported {
        /// The input kind.
        what: &'static str,
        /// The value (truncated).
        value: String,
        /// Why, and what to use instead.
        rule: &'static str,
    },
}

impl IdError {
    /// Wraps `self` in the larger value it was found in.
    #[must_use]
    pub fn within(self, context: &str) -> Self {
        Self::Context {
            context: shown(context),
            inner: Box::new(self),
        }
    }

    /// The innermost error, skipping [`IdError::Context`] wrappers.
    #[must_use]
    pub fn root(&self) -> &Self {
        match self {
            Self::Context { inner, .. } => inner.root(),
            other => other,
        }
    }
}

/// A value as an error message repeats it: at most [`MAX_SHOWN`] characters, then `…`.
pub(crate) fn shown(value: &str) -> String {
    let mut chars = value.char_indices();
    match chars.nth(MAX_SHOWN) {
        Some((cut, _)) => {
            let mut out = value.get(..cut).unwrap_or_default().to_owned();
            out.push('…');
            out
        }
        None => value.to_owned(),
    }
}

/// `' ' (0x20)` for ASCII, `'é' (U+00E9)` otherwise.
fn show_char(c: char) -> String {
    let mut out = format!("{c:?}");
    let code = u32::from(c);
    // Writing to a String cannot fail.
    let _ = if c.is_ascii() {
        write!(out, " (0x{code:02X})")
    } else {
        write!(out, " (U+{code:04X})")
    };
    out
}

/// Shorthand for the common errors, so the parsers stay readable.
impl IdError {
    pub(crate) fn charset(
        field: &'static str,
        value: &str,
        found: char,
        set: &'static str,
    ) -> Self {
        Self::Charset {
            field,
            value: shown(value),
            found,
            charset: set,
        }
    }

    pub(crate) fn length(field: &'static str, value: &str, rule: &'static str) -> Self {
        Self::Length {
            field,
            value: shown(value),
            actual: value.chars().count(),
            rule,
        }
    }

    pub(crate) fn syntax(what: &'static str, value: &str, rule: impl Into<String>) -> Self {
        Self::Syntax {
            what,
            value: shown(value),
            rule: rule.into(),
        }
    }

    pub(crate) fn unsupported(what: &'static str, value: &str, rule: &'static str) -> Self {
        Self::Unsupported {
            what,
            value: shown(value),
            rule,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charset_message_names_value_char_and_rule() {
        let e = IdError::charset("serial", "20 17", ' ', "GS1 CSET 82");
        assert_eq!(
            e.to_string(),
            r#"serial "20 17" contains ' ' (0x20), which is outside GS1 CSET 82"#
        );
    }

    #[test]
    fn non_ascii_and_control_characters_are_shown_with_their_code() {
        let e = IdError::charset("lot", "A\u{a0}B", '\u{a0}', "GS1 CSET 82");
        assert!(e.to_string().contains("(U+00A0)"), "{e}");
        let e = IdError::charset("lot", "A\u{1d}B", '\u{1d}', "GS1 CSET 82");
        assert!(e.to_string().contains(r"'\u{1d}' (0x1D)"), "{e}");
    }

    #[test]
    fn context_prefixes_the_outer_value() {
        let e = IdError::charset("serial", "20 17", ' ', "GS1 CSET 82")
            .within("urn:epc:id:sgtin:0614141.107346.20 17");
        assert_eq!(
            e.to_string(),
            r#"urn:epc:id:sgtin:0614141.107346.20 17: serial "20 17" contains ' ' (0x20), which is outside GS1 CSET 82"#
        );
        assert!(matches!(e.root(), IdError::Charset { .. }));
    }

    #[test]
    fn long_values_are_truncated() {
        let long = "é".repeat(1000);
        let s = shown(&long);
        assert_eq!(s.chars().count(), MAX_SHOWN + 1);
        assert!(s.ends_with('…'));
        assert_eq!(shown("short"), "short");
    }

    #[test]
    fn unescaped_names_the_escape() {
        let e = IdError::Unescaped {
            field: "serial",
            value: "a/b".into(),
            found: '/',
        };
        assert_eq!(
            e.to_string(),
            r#"serial "a/b" contains '/' (0x2F), which must be percent-encoded as %2F in an EPC URI"#
        );
    }
}
