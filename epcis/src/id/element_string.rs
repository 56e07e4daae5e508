//! [`ElementString`]: GS1 element strings as scanners deliver them from a 2D DataMatrix (or
//! GS1-128, GS1 QR, DotCode), and as people type them.
//!
//! Accepted input:
//! - an optional GS1 symbology identifier (`]d2` DataMatrix, `]C1` GS1-128, `]Q3` QR, `]e0`
//!   DataBar, `]J1` DotCode); other identifiers (`]d1`, …) mean the data is not GS1 and are refused;
//! - the raw form, AIs and values run together, a variable-length value ended by the group
//!   separator GS (0x1D). FNC1 in first position may arrive as a leading GS. People typing write
//!   GS as `<GS>`, `␝` (U+241D) or `^]`, all accepted; note that `<GS>` is therefore read as a
//!   separator even though `<`, `G`, `S`, `>` are CSET 82 characters;
//! - the human-readable form with parentheses, `(01)…(17)…(10)…(21)…`, where a variable-length
//!   value ends at the next `(` that opens a known AI;
//! - surrounding whitespace (scanners append CR/LF) is ignored.
//!
//! The AI table ([`AI_TABLE`]) covers what a pharmaceutical pack carries; an unknown AI is an
//! error naming it, because its length is unknown and the rest could not be split reliably.
//! Values are validated: digits and check digits for keys, `YYMMDD` dates (day `00` allowed),
//! GS1 CSET 82 and the maximum length for text.

use std::fmt;
use std::str::FromStr;

use super::charset::check_cset82;
use super::check_digit::{require_digits, verify};
use super::error::{IdError, shown};
use super::expiry::Expiry;

/// The group separator.
pub const GS: char = '\u{1d}';

const WHAT: &str = "element string";

/// How an AI's value is formed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AiFormat {
    /// `N{n}`: exactly n digits.
    Digits(usize),
    /// `N{n}` with a GS1 check digit.
    Key(usize),
    /// `N..{n}`: 1 to n digits.
    DigitsUpTo(usize),
    /// `X..{n}`: 1 to n CSET 82 characters.
    TextUpTo(usize),
    /// `N6` `YYMMDD`, day `00` allowed.
    Date,
    /// `N10` `YYMMDDHHMM`.
    DateTime,
}

impl AiFormat {
    /// The fixed length, if any.
    #[must_use]
    pub const fn fixed_len(self) -> Option<usize> {
        match self {
            Self::Digits(n) | Self::Key(n) => Some(n),
            Self::Date => Some(6),
            Self::DateTime => Some(10),
            Self::DigitsUpTo(_) | Self::TextUpTo(_) => None,
        }
    }
}

/// One application identifier this parser knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AiSpec {
    /// The AI digits, e.g. `01`.
    pub ai: &'static str,
    /// Its name in error messages, e.g. `GTIN`.
    pub name: &'static str,
    /// Its value format.
    pub format: AiFormat,
}

const fn spec(ai: &'static str, name: &'static str, format: AiFormat) -> AiSpec {
    AiSpec { ai, name, format }
}

/// The supported AIs (GS1 General Specifications §3.2).
pub const AI_TABLE: [AiSpec; 28] = [
    spec("00", "SSCC", AiFormat::Key(18)),
    spec("01", "GTIN", AiFormat::Key(14)),
    spec("02", "content GTIN", AiFormat::Key(14)),
    spec("10", "lot", AiFormat::TextUpTo(20)),
    spec("11", "production date", AiFormat::Date),
    spec("12", "due date", AiFormat::Date),
    spec("13", "packaging date", AiFormat::Date),
    spec("15", "best before date", AiFormat::Date),
    spec("16", "sell by date", AiFormat::Date),
    spec("17", "expiry", AiFormat::Date),
    spec("20", "variant", AiFormat::Digits(2)),
    spec("21", "serial", AiFormat::TextUpTo(20)),
    spec("22", "CPV", AiFormat::TextUpTo(20)),
    spec("30", "variable count", AiFormat::DigitsUpTo(8)),
    spec("37", "count", AiFormat::DigitsUpTo(8)),
    spec("240", "additional product ID", AiFormat::TextUpTo(30)),
    spec("241", "customer part number", AiFormat::TextUpTo(30)),
    spec("254", "GLN extension", AiFormat::TextUpTo(20)),
    spec("400", "order number", AiFormat::TextUpTo(30)),
    spec("414", "location GLN", AiFormat::Key(13)),
    spec("417", "party GLN", AiFormat::Key(13)),
    spec("710", "NHRN PZN (DE)", AiFormat::TextUpTo(20)),
    spec("711", "NHRN CIP (FR)", AiFormat::TextUpTo(20)),
    spec("712", "NHRN CN (ES)", AiFormat::TextUpTo(20)),
    spec("713", "NHRN DRN (BR)", AiFormat::TextUpTo(20)),
    spec("714", "NHRN AIM (PT)", AiFormat::TextUpTo(20)),
    spec("715", "NHRN NDC (US)", AiFormat::TextUpTo(20)),
    spec("7003", "expiry date and time", AiFormat::DateTime),
];

const SUPPORTED: &str = "00, 01, 02, 10, 11, 12, 13, 15, 16, 17, 20, 21, 22, 30, 37, 240, 241, 254, 400, 414, 417, 710-715, 7003";

/// GS1 symbology identifiers whose data is a GS1 element string.
const GS1_SYMBOLOGIES: [&str; 5] = ["]d2", "]C1", "]Q3", "]e0", "]J1"];

/// A parsed element string: AIs and their values, in scan order, each AI at most once.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ElementString {
    fields: Vec<(&'static AiSpec, String)>,
}

impl ElementString {
    /// Parses scanned or typed element string data; see the module documentation.
    ///
    /// # Errors
    /// [`IdError::Empty`], [`IdError::UnknownAi`], [`IdError::Unsupported`] for a non-GS1
    /// symbology, [`IdError::Syntax`] for structure (repeated AI with another value, missing
    /// parenthesis), and value errors wrapped in [`IdError::Context`] naming the AI.
    pub fn parse(input: &str) -> Result<Self, IdError> {
        let data = strip_symbology(input.trim())?;
        if data.is_empty() {
            return Err(IdError::Empty { field: WHAT });
        }
        let data = normalise_separators(data);
        let data = data.trim_start_matches(GS);
        let mut out = Self { fields: Vec::new() };
        if data.starts_with('(') {
            out.parse_bracketed(data)?;
        } else {
            out.parse_raw(data)?;
        }
        if out.fields.is_empty() {
            return Err(IdError::Empty { field: WHAT });
        }
        Ok(out)
    }

    fn parse_raw(&mut self, mut rest: &str) -> Result<(), IdError> {
        loop {
            rest = rest.trim_start_matches(GS);
            if rest.is_empty() {
                return Ok(());
            }
            let spec = lookup_prefix(rest)?;
            let after_ai = rest.get(spec.ai.len()..).unwrap_or_default();
            let (value, tail) = match spec.format.fixed_len() {
                Some(n) => take_chars(after_ai, n),
                None => after_ai.split_once(GS).unwrap_or((after_ai, "")),
            };
            self.push(spec, value)?;
            rest = tail;
        }
    }

    fn parse_bracketed(&mut self, mut rest: &str) -> Result<(), IdError> {
        loop {
            rest = rest.trim_start_matches([GS, ' ']);
            if rest.is_empty() {
                return Ok(());
            }
            let (ai, after) = rest
                .strip_prefix('(')
                .and_then(|r| r.split_once(')'))
                .ok_or_else(|| IdError::syntax(WHAT, rest, "expected '(' AI ')' here"))?;
            let spec = lookup_exact(ai)?;
            let after = after.trim_start_matches(' ');
            let end = match spec.format.fixed_len() {
                Some(n) => take_chars(after, n).0.len(),
                None => next_bracketed_ai(after).unwrap_or(after.len()),
            };
            let (value, tail) = after.split_at_checked(end).unwrap_or((after, ""));
            self.push(spec, value.trim_end_matches([' ', GS]))?;
            rest = tail;
        }
    }

    fn push(&mut self, spec: &'static AiSpec, value: &str) -> Result<(), IdError> {
        validate(spec, value).map_err(|e| e.within(&format!("AI ({})", spec.ai)))?;
        if let Some((_, previous)) = self.fields.iter().find(|(s, _)| s.ai == spec.ai) {
            if previous == value {
                return Ok(());
            }
            return Err(IdError::syntax(
                WHAT,
                value,
                format!("AI ({}) appears twice with different values", spec.ai),
            ));
        }
        self.fields.push((spec, value.to_owned()));
        Ok(())
    }

    /// The value of `ai` (e.g. `"21"`), if present.
    #[must_use]
    pub fn get(&self, ai: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(s, _)| s.ai == ai)
            .map(|(_, v)| v.as_str())
    }

    /// The AIs and values in scan order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.fields.iter().map(|(s, v)| (s.ai, v.as_str()))
    }

    /// Number of AIs.
    #[must_use]
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Whether there are no AIs (never true for a parsed value).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }
}

/// The human-readable form, `(01)…(21)…`.
impl fmt::Display for ElementString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.fields
            .iter()
            .try_for_each(|(s, v)| write!(f, "({}){v}", s.ai))
    }
}

impl FromStr for ElementString {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        Self::parse(s)
    }
}

impl TryFrom<&str> for ElementString {
    type Error = IdError;
    fn try_from(s: &str) -> Result<Self, IdError> {
        Self::parse(s)
    }
}

/// Removes a GS1 symbology identifier; refuses a non-GS1 one.
pub(crate) fn strip_symbology(data: &str) -> Result<&str, IdError> {
    if !data.starts_with(']') {
        return Ok(data);
    }
    GS1_SYMBOLOGIES
        .iter()
        .find_map(|id| data.strip_prefix(id))
        .ok_or_else(|| {
            IdError::unsupported(
                "symbology identifier",
                data.get(..3).unwrap_or(data),
                "the data is not a GS1 element string (GS1 symbologies: ]d2, ]C1, ]Q3, ]e0, ]J1)",
            )
        })
}

fn normalise_separators(data: &str) -> std::borrow::Cow<'_, str> {
    const TYPED: [&str; 3] = ["<GS>", "\u{241d}", "^]"];
    if !TYPED.iter().any(|t| data.contains(t)) {
        return std::borrow::Cow::Borrowed(data);
    }
    let gs = GS.to_string();
    std::borrow::Cow::Owned(TYPED.iter().fold(data.to_owned(), |s, t| s.replace(t, &gs)))
}

/// The first `n` characters (fewer if the input is shorter) and the rest.
fn take_chars(s: &str, n: usize) -> (&str, &str) {
    let end = s.char_indices().nth(n).map_or(s.len(), |(i, _)| i);
    s.split_at_checked(end).unwrap_or((s, ""))
}

/// Byte offset of the next `(AI)` with a known AI. Looks at most 5 bytes past each `(` (AIs have
/// 2 to 4 digits), so the scan stays linear.
fn next_bracketed_ai(s: &str) -> Option<usize> {
    s.match_indices('(').map(|(i, _)| i).find(|&i| {
        let after = s.get(i + 1..).unwrap_or_default();
        let digits = after.bytes().take(5).take_while(u8::is_ascii_digit).count();
        after.as_bytes().get(digits) == Some(&b')')
            && after
                .get(..digits)
                .is_some_and(|ai| lookup_exact(ai).is_ok())
    })
}

fn lookup_exact(ai: &str) -> Result<&'static AiSpec, IdError> {
    AI_TABLE
        .iter()
        .find(|s| s.ai == ai)
        .ok_or_else(|| IdError::UnknownAi {
            ai: shown(ai),
            supported: SUPPORTED,
        })
}

/// The AI at the start of raw data (GS1 AIs are prefix-free, so the first match is the one).
fn lookup_prefix(data: &str) -> Result<&'static AiSpec, IdError> {
    if let Some(spec) = AI_TABLE.iter().find(|s| data.starts_with(s.ai)) {
        return Ok(spec);
    }
    let digits = data.bytes().take_while(u8::is_ascii_digit).count();
    if digits < 2 {
        return Err(IdError::syntax(
            WHAT,
            data,
            "expected an application identifier (2 to 4 digits) here",
        ));
    }
    let len = ai_length(data.get(..2).unwrap_or_default()).min(digits);
    Err(IdError::UnknownAi {
        ai: data.get(..len).unwrap_or_default().to_owned(),
        supported: SUPPORTED,
    })
}

/// The length of an AI from its first two digits (GS1 General Specifications Figure 3.2-1),
/// used to name an unknown AI.
fn ai_length(first_two: &str) -> usize {
    match first_two {
        "23" | "24" | "25" | "40" | "41" | "42" | "71" => 3,
        "31" | "32" | "33" | "34" | "35" | "36" | "39" | "43" | "70" | "72" | "80" | "81"
        | "82" => 4,
        _ => 2,
    }
}

fn validate(spec: &AiSpec, value: &str) -> Result<(), IdError> {
    let field = spec.name;
    if value.is_empty() {
        return Err(IdError::Empty { field });
    }
    let exact = |n: usize| -> Result<(), IdError> {
        require_digits(field, value)?;
        if value.len() == n {
            Ok(())
        } else {
            Err(IdError::length(field, value, fixed_rule(n)))
        }
    };
    match spec.format {
        AiFormat::Digits(n) => exact(n),
        AiFormat::Key(n) => exact(n).and_then(|()| verify(field, value)),
        AiFormat::DigitsUpTo(n) => {
            require_digits(field, value)?;
            up_to(field, value, n)
        }
        AiFormat::TextUpTo(n) => {
            check_cset82(field, value)?;
            up_to(field, value, n)
        }
        AiFormat::Date => {
            exact(6)?;
            Expiry::parse_yymmdd(value).map(|_| ())
        }
        AiFormat::DateTime => {
            exact(10)?;
            let (date, time) = value.split_at_checked(6).unwrap_or((value, ""));
            Expiry::parse_yymmdd(date)?;
            let b = time.as_bytes();
            let hh = b
                .first()
                .zip(b.get(1))
                .map(|(a, b)| (a - b'0') * 10 + (b - b'0'));
            let mm = b
                .get(2)
                .zip(b.get(3))
                .map(|(a, b)| (a - b'0') * 10 + (b - b'0'));
            match (hh, mm) {
                (Some(0..=23), Some(0..=59)) => Ok(()),
                _ => Err(IdError::Date {
                    field,
                    value: shown(value),
                    rule: "HHMM must be a time from 0000 to 2359".to_owned(),
                }),
            }
        }
    }
}

fn up_to(field: &'static str, value: &str, max: usize) -> Result<(), IdError> {
    if value.chars().count() > max {
        let rule = match max {
            8 => "this AI allows at most 8 digits",
            20 => "this AI allows at most 20 characters",
            30 => "this AI allows at most 30 characters",
            _ => "longer than this AI allows",
        };
        return Err(IdError::length(field, value, rule));
    }
    Ok(())
}

fn fixed_rule(n: usize) -> &'static str {
    match n {
        2 => "this AI has exactly 2 digits (data cut short?)",
        6 => "this AI has exactly 6 digits, YYMMDD (data cut short?)",
        10 => "this AI has exactly 10 digits, YYMMDDHHMM (data cut short?)",
        13 => "this AI has exactly 13 digits (data cut short?)",
        14 => "this AI has exactly 14 digits (data cut short?)",
        18 => "this AI has exactly 18 digits (data cut short?)",
        _ => "this AI has a fixed length (data cut short?)",
    }
}

#[cfg(test)]
mod tests;
