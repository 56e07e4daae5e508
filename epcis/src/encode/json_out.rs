//! A small streaming JSON emitter: objects, arrays, members, two-space indentation.
//!
//! Strings and keys go through `serde_json`, so escaping is serde_json's (quotes, backslashes and
//! control characters escaped; everything else written as UTF-8). Numbers and literals are written
//! only after the caller has checked their syntax ([`is_json_number`]). The emitter tracks commas
//! itself, so a document of any size is written without building a `serde_json::Value`.

use std::borrow::Cow;
use std::io::{self, Write};

/// Streaming JSON output.
pub(super) struct JsonOut<W: Write> {
    out: W,
    /// One entry per open container: whether it already has an item.
    stack: Vec<bool>,
    /// A key was just written; the next value follows it on the same line.
    after_key: bool,
}

impl<W: Write> JsonOut<W> {
    /// An emitter writing to `out`.
    pub(super) fn new(out: W) -> Self {
        Self {
            out,
            stack: Vec::new(),
            after_key: false,
        }
    }

    /// The underlying writer.
    pub(super) fn into_inner(self) -> W {
        self.out
    }

    fn newline(&mut self) -> io::Result<()> {
        self.out.write_all(b"\n")?;
        for _ in 0..self.stack.len() {
            self.out.write_all(b"  ")?;
        }
        Ok(())
    }

    /// Separator and indentation before an array item or an object key.
    fn item(&mut self) -> io::Result<()> {
        if let Some(has_items) = self.stack.last_mut() {
            let comma = *has_items;
            *has_items = true;
            if comma {
                self.out.write_all(b",")?;
            }
            self.newline()?;
        }
        Ok(())
    }

    /// What comes before a value: nothing after a key, else the array-item separator.
    fn value_start(&mut self) -> io::Result<()> {
        if std::mem::take(&mut self.after_key) {
            Ok(())
        } else {
            self.item()
        }
    }

    /// An object member's key; its value must follow.
    pub(super) fn key(&mut self, k: &str) -> io::Result<()> {
        self.item()?;
        serde_json::to_writer(&mut self.out, k)?;
        self.out.write_all(b": ")?;
        self.after_key = true;
        Ok(())
    }

    /// A string value.
    pub(super) fn string(&mut self, s: &str) -> io::Result<()> {
        self.value_start()?;
        serde_json::to_writer(&mut self.out, s)?;
        Ok(())
    }

    /// A number or literal the caller has checked (`12.5`, `true`).
    pub(super) fn literal(&mut self, s: &str) -> io::Result<()> {
        self.value_start()?;
        self.out.write_all(s.as_bytes())
    }

    /// Opens an object as a value.
    pub(super) fn begin_object(&mut self) -> io::Result<()> {
        self.value_start()?;
        self.stack.push(false);
        self.out.write_all(b"{")
    }

    /// Closes the innermost object.
    pub(super) fn end_object(&mut self) -> io::Result<()> {
        self.end(b"}")
    }

    /// Opens an array as a value.
    pub(super) fn begin_array(&mut self) -> io::Result<()> {
        self.value_start()?;
        self.stack.push(false);
        self.out.write_all(b"[")
    }

    /// Closes the innermost array.
    pub(super) fn end_array(&mut self) -> io::Result<()> {
        self.end(b"]")
    }

    fn end(&mut self, bracket: &[u8]) -> io::Result<()> {
        if self.stack.pop() == Some(true) {
            self.newline()?;
        }
        self.out.write_all(bracket)
    }

    /// `"key": "value"`.
    pub(super) fn member(&mut self, k: &str, v: &str) -> io::Result<()> {
        self.key(k)?;
        self.string(v)
    }

    /// `"key": "value"` when the value is present.
    pub(super) fn member_opt(&mut self, k: &str, v: Option<&str>) -> io::Result<()> {
        match v {
            Some(v) => self.member(k, v),
            None => Ok(()),
        }
    }

    /// `"key": ["a", "b"]`.
    pub(super) fn string_array(&mut self, k: &str, values: &[String]) -> io::Result<()> {
        self.key(k)?;
        self.begin_array()?;
        for v in values {
            self.string(v)?;
        }
        self.end_array()
    }
}

/// `s` as a JSON number: verbatim when it already is one, else an `xsd:decimal` lexical form
/// respelt without changing its value (`+5` → `5`, `007.50` → `7.50`, `.5` → `0.5`, `5.` → `5`);
/// `None` when `s` is neither (then the caller writes a string).
pub(super) fn json_number(s: &str) -> Option<Cow<'_, str>> {
    if is_json_number(s) {
        return Some(Cow::Borrowed(s));
    }
    let (negative, unsigned) = match s.as_bytes().first() {
        Some(b'-') => (true, s.get(1..)?),
        Some(b'+') => (false, s.get(1..)?),
        _ => (false, s),
    };
    let (int, frac) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let all_digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    if (int.is_empty() && frac.is_empty()) || !all_digits(int) || !all_digits(frac) {
        return None;
    }
    let int = int.trim_start_matches('0');
    let mut out = String::with_capacity(s.len() + 1);
    if negative {
        out.push('-');
    }
    out.push_str(if int.is_empty() { "0" } else { int });
    if !frac.is_empty() {
        out.push('.');
        out.push_str(frac);
    }
    Some(Cow::Owned(out))
}

/// True when `s` is a JSON number as RFC 8259 spells it: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
pub(super) fn is_json_number(s: &str) -> bool {
    fn digits(b: &[u8]) -> usize {
        b.iter().take_while(|c| c.is_ascii_digit()).count()
    }
    let b = s.as_bytes();
    let mut i = usize::from(b.first() == Some(&b'-'));
    let int = digits(b.get(i..).unwrap_or_default());
    if int == 0 || (int > 1 && b.get(i) == Some(&b'0')) {
        return false;
    }
    i += int;
    if b.get(i) == Some(&b'.') {
        let frac = digits(b.get(i + 1..).unwrap_or_default());
        if frac == 0 {
            return false;
        }
        i += 1 + frac;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let exp = digits(b.get(i..).unwrap_or_default());
        if exp == 0 {
            return false;
        }
        i += exp;
    }
    i == b.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_numbers_follow_rfc_8259() {
        for ok in ["0", "-0", "12", "12.50", "1e3", "-1.5E-7", "200"] {
            assert!(is_json_number(ok), "{ok}");
        }
        for bad in [
            "", "-", "+1", "01", "1.", ".5", "1e", "1e+", "NaN", "INF", " 1", "1 ", "0x10", "1,5",
        ] {
            assert!(!is_json_number(bad), "{bad}");
        }
    }

    #[test]
    fn xsd_decimals_are_respelt_as_json_numbers() {
        let n = |s| json_number(s).map(Cow::into_owned);
        assert_eq!(n("12.50").as_deref(), Some("12.50"));
        assert_eq!(n("+5").as_deref(), Some("5"));
        assert_eq!(n("007.50").as_deref(), Some("7.50"));
        assert_eq!(n(".5").as_deref(), Some("0.5"));
        assert_eq!(n("-.5").as_deref(), Some("-0.5"));
        assert_eq!(n("5.").as_deref(), Some("5"));
        assert_eq!(n("000").as_deref(), Some("0"));
        for bad in ["", ".", "+", "-", "1.2.3", "1,5", "abc", "INF", "1e", "+.e"] {
            assert_eq!(n(bad), None, "{bad}");
        }
    }

    #[test]
    fn nested_containers_get_commas_and_indentation() {
        let mut j = JsonOut::new(Vec::new());
        j.begin_object().unwrap();
        j.member("a", "x\"\u{1}").unwrap();
        j.key("b").unwrap();
        j.begin_array().unwrap();
        j.literal("1").unwrap();
        j.begin_object().unwrap();
        j.end_object().unwrap();
        j.end_array().unwrap();
        j.end_object().unwrap();
        let s = String::from_utf8(j.into_inner()).unwrap();
        assert_eq!(
            s,
            "{\n  \"a\": \"x\\\"\\u0001\",\n  \"b\": [\n    1,\n    {}\n  ]\n}"
        );
        let v: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(v["a"], "x\"\u{1}");
    }
}
