//! A small streaming XML emitter: tags, attributes, escaped text, two-space indentation.
//!
//! Invariant: whatever strings it is given, the output stays well-formed XML 1.0. Text and
//! attribute values are escaped (`&`, `<`, `>`, `"`; `\r` always and `\t`/`\n` in attributes as
//! character references, so that they survive end-of-line and attribute-value normalisation);
//! characters XML 1.0 cannot carry at all (C0 controls other than tab, line feed and carriage
//! return, U+FFFE, U+FFFF) become U+FFFD. Names are passed through [`super::ns::ncname`] so a
//! hostile name cannot open or close markup.

use std::io::{self, Write};

use super::ns::ncname;

/// A qualified name as the emitter writes it: optional prefix and local name.
pub(super) type QName<'a> = (Option<&'a str>, &'a str);

/// Streaming XML output.
pub(super) struct XmlOut<W: Write> {
    out: W,
    depth: usize,
}

impl<W: Write> XmlOut<W> {
    /// An emitter writing to `out`.
    pub(super) fn new(out: W) -> Self {
        Self { out, depth: 0 }
    }

    /// The underlying writer.
    pub(super) fn into_inner(self) -> W {
        self.out
    }

    /// Writes raw markup that the caller guarantees is well-formed (the XML declaration).
    pub(super) fn raw(&mut self, s: &str) -> io::Result<()> {
        self.out.write_all(s.as_bytes())
    }

    fn newline(&mut self) -> io::Result<()> {
        self.out.write_all(b"\n")?;
        for _ in 0..self.depth {
            self.out.write_all(b"  ")?;
        }
        Ok(())
    }

    fn name(&mut self, (prefix, local): QName<'_>) -> io::Result<()> {
        if let Some(p) = prefix {
            self.out.write_all(ncname(p).as_bytes())?;
            self.out.write_all(b":")?;
        }
        self.out.write_all(ncname(local).as_bytes())
    }

    /// Opens a start tag on a new line; attributes may follow, then [`Self::open_end`] or
    /// [`Self::empty_end`].
    pub(super) fn open(&mut self, name: QName<'_>) -> io::Result<()> {
        if self.depth > 0 {
            self.newline()?;
        }
        self.out.write_all(b"<")?;
        self.name(name)
    }

    /// Writes one attribute into the open start tag. An unqualified attribute named `xmlns` is
    /// written as `_xmlns`: it would otherwise declare a default namespace.
    pub(super) fn attr(&mut self, name: QName<'_>, value: &str) -> io::Result<()> {
        let name = match name {
            (None, "xmlns") => (None, "_xmlns"),
            other => other,
        };
        self.out.write_all(b" ")?;
        self.name(name)?;
        self.out.write_all(b"=\"")?;
        escape(&mut self.out, value, true)?;
        self.out.write_all(b"\"")
    }

    /// Writes a namespace declaration into the open start tag.
    pub(super) fn xmlns(&mut self, prefix: &str, uri: &str) -> io::Result<()> {
        self.out.write_all(b" xmlns:")?;
        self.out.write_all(ncname(prefix).as_bytes())?;
        self.out.write_all(b"=\"")?;
        escape(&mut self.out, uri, true)?;
        self.out.write_all(b"\"")
    }

    /// Closes the start tag of an element that will have content.
    pub(super) fn open_end(&mut self) -> io::Result<()> {
        self.depth += 1;
        self.out.write_all(b">")
    }

    /// Closes the start tag as an empty element.
    pub(super) fn empty_end(&mut self) -> io::Result<()> {
        self.out.write_all(b"/>")
    }

    /// Escaped character data inside the current element.
    pub(super) fn text(&mut self, s: &str) -> io::Result<()> {
        escape(&mut self.out, s, false)
    }

    /// The end tag of an element opened with [`Self::open_end`]. `block` puts it on its own line
    /// (the element had child elements).
    pub(super) fn close(&mut self, name: QName<'_>, block: bool) -> io::Result<()> {
        self.depth = self.depth.saturating_sub(1);
        if block {
            self.newline()?;
        }
        self.out.write_all(b"</")?;
        self.name(name)?;
        self.out.write_all(b">")
    }

    /// An unqualified element holding only text: `<name>text</name>`.
    pub(super) fn leaf(&mut self, name: &str, text: &str) -> io::Result<()> {
        self.open((None, name))?;
        self.open_end()?;
        self.text(text)?;
        self.close((None, name), false)
    }

    /// Opens an unqualified element that will hold child elements.
    pub(super) fn start(&mut self, name: &str) -> io::Result<()> {
        self.open((None, name))?;
        self.open_end()
    }

    /// Closes an element opened with [`Self::start`].
    pub(super) fn end(&mut self, name: &str) -> io::Result<()> {
        self.close((None, name), true)
    }

    /// A list element with one leaf per value: `<list><item>v</item>...</list>`; `<list/>` when
    /// empty.
    pub(super) fn list(&mut self, list: &str, item: &str, values: &[String]) -> io::Result<()> {
        if values.is_empty() {
            self.open((None, list))?;
            return self.empty_end();
        }
        self.start(list)?;
        for v in values {
            self.leaf(item, v)?;
        }
        self.end(list)
    }
}

/// Writes `s` escaped for XML text (`attr == false`) or a double-quoted attribute value.
pub(super) fn escape(out: &mut impl Write, s: &str, attr: bool) -> io::Result<()> {
    let mut start = 0;
    for (i, c) in s.char_indices() {
        let rep: &str = match c {
            '&' => "&amp;",
            '<' => "&lt;",
            '>' => "&gt;",
            '"' => "&quot;",
            '\r' => "&#13;",
            '\t' if attr => "&#9;",
            '\n' if attr => "&#10;",
            '\t' | '\n' => continue,
            '\u{0}'..='\u{1F}' | '\u{FFFE}' | '\u{FFFF}' => "\u{FFFD}",
            _ => continue,
        };
        out.write_all(s.get(start..i).unwrap_or_default().as_bytes())?;
        out.write_all(rep.as_bytes())?;
        start = i + c.len_utf8();
    }
    out.write_all(s.get(start..).unwrap_or_default().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn esc(s: &str, attr: bool) -> String {
        let mut v = Vec::new();
        escape(&mut v, s, attr).unwrap();
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn markup_characters_are_escaped() {
        assert_eq!(
            esc("a<b>&\"c\" ]]> é", false),
            "a&lt;b&gt;&amp;&quot;c&quot; ]]&gt; é"
        );
    }

    #[test]
    fn whitespace_survives_normalisation() {
        assert_eq!(esc("a\tb\nc\rd", false), "a\tb\nc&#13;d");
        assert_eq!(esc("a\tb\nc\rd", true), "a&#9;b&#10;c&#13;d");
    }

    #[test]
    fn characters_xml_cannot_carry_become_replacement_characters() {
        assert_eq!(
            esc("a\u{0}b\u{1B}c\u{FFFF}", false),
            "a\u{FFFD}b\u{FFFD}c\u{FFFD}"
        );
    }

    #[test]
    fn names_cannot_break_markup() {
        let mut x = XmlOut::new(Vec::new());
        x.open((Some("p x"), "a\"><b")).unwrap();
        x.attr((None, "c d"), "v").unwrap();
        x.attr((None, "xmlns"), "http://evil.example/").unwrap();
        x.empty_end().unwrap();
        assert_eq!(
            String::from_utf8(x.into_inner()).unwrap(),
            "<p_x:a___b c_d=\"v\" _xmlns=\"http://evil.example/\"/>"
        );
    }
}
