//! Decode errors that say where, which field, which value and which rule.
//!
//! Every rejection a partner sees names its position (XML line and column, or a JSON pointer),
//! the field, the offending value and the broken rule, e.g.
//! `line 42 col 7: epcList/epc "urn:epc:id:sgtin:0614141.107346.20 17": serial contains ' ' (0x20),
//! which is outside GS1 CSET 82`. The type knows nothing of HTTP: the server maps it.

use std::fmt;

/// Where in a document a problem was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Position {
    /// XML: 1-based line and column (in bytes) of the element the problem is in.
    Xml {
        /// 1-based line.
        line: u64,
        /// 1-based column, in bytes.
        column: u64,
    },
    /// JSON: an RFC 6901 pointer to the offending member.
    Json(String),
    /// JSON syntax errors: serde_json's line and column.
    JsonText {
        /// 1-based line.
        line: u64,
        /// 1-based column.
        column: u64,
    },
    /// The document as a whole (format detection, limits on the whole input).
    Document,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Xml { line, column } | Self::JsonText { line, column } => {
                write!(f, "line {line} col {column}")
            }
            Self::Json(pointer) if pointer.is_empty() => f.write_str("document root"),
            Self::Json(pointer) => write!(f, "at {pointer}"),
            Self::Document => f.write_str("document"),
        }
    }
}

/// What is wrong.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// A value breaks a rule of the standard.
    #[error("{field} {value:?}: {rule}")]
    InvalidValue {
        /// The field path, e.g. `epcList/epc`.
        field: String,
        /// The offending value (truncated to 200 characters).
        value: String,
        /// The rule it breaks.
        rule: String,
    },
    /// A required field is absent.
    #[error("{field} is required on {within}")]
    Missing {
        /// The missing field.
        field: &'static str,
        /// What requires it, e.g. `AggregationEvent`.
        within: String,
    },
    /// An element or member where the standard allows none.
    #[error("unexpected {what}")]
    Unexpected {
        /// What was found, e.g. `element <foo> in <epcList>`.
        what: String,
    },
    /// The bytes are not well-formed XML or JSON.
    #[error("not well-formed {syntax}: {detail}")]
    Syntax {
        /// `XML` or `JSON`.
        syntax: &'static str,
        /// The parser's description.
        detail: String,
    },
    /// Refused on principle: DOCTYPE, entity declarations, encodings other than UTF-8.
    #[error("{0}")]
    Refused(String),
    /// A size limit was exceeded.
    #[error("{what} exceeds the limit of {limit}")]
    Limit {
        /// What was counted.
        what: &'static str,
        /// The configured limit.
        limit: u64,
    },
    /// The input is not an EPCIS document in a syntax we read.
    #[error("{0}")]
    NotEpcis(String),
    /// Reading the input failed.
    #[error("read error: {0}")]
    Io(String),
}

/// A located decode error.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{position}: {problem}")]
pub struct DecodeError {
    /// Where.
    pub position: Position,
    /// What.
    pub problem: Problem,
}

impl DecodeError {
    /// An error at a position.
    pub fn new(position: Position, problem: Problem) -> Self {
        Self { position, problem }
    }

    /// An invalid-value error; long values are truncated so that errors stay readable.
    pub fn invalid(
        position: Position,
        field: impl Into<String>,
        value: &str,
        rule: impl Into<String>,
    ) -> Self {
        let value = if value.chars().count() > 200 {
            let mut v: String = value.chars().take(200).collect();
            v.push('…');
            v
        } else {
            value.to_owned()
        };
        Self::new(
            position,
            Problem::InvalidValue {
                field: field.into(),
                value,
                rule: rule.into(),
            },
        )
    }
}

/// What [`crate::decode`] and the streaming decoders return.
pub type DecodeResult<T> = Result<T, DecodeError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_names_line_field_value_and_rule() {
        let e = DecodeError::invalid(
            Position::Xml {
                line: 42,
                column: 7,
            },
            "epcList/epc",
            "urn:epc:id:sgtin:0614141.107346.20 17",
            "serial contains ' ' (0x20), which is outside GS1 CSET 82",
        );
        assert_eq!(
            e.to_string(),
            "line 42 col 7: epcList/epc \"urn:epc:id:sgtin:0614141.107346.20 17\": serial contains ' ' (0x20), which is outside GS1 CSET 82"
        );
    }

    #[test]
    fn long_values_are_truncated() {
        let e = DecodeError::invalid(Position::Document, "f", &"x".repeat(1000), "r");
        assert!(e.to_string().len() < 300);
    }
}
