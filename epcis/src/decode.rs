//! Format detection and the whole-document and streaming entry points.

use std::io::BufRead;

use crate::model::{Document, Event};
use crate::xml::{self, XmlEvents};
use crate::{DecodeError, DecodeResult, Limits, Position, Problem};

/// The syntax of an EPCIS document.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Syntax {
    /// XML (EPCIS 1.x or 2.0; the namespace tells which).
    Xml,
    /// JSON-LD (EPCIS 2.0).
    JsonLd,
}

/// Detects the syntax from the first significant byte (after a UTF-8 BOM and whitespace).
pub fn detect(prefix: &[u8]) -> Option<Syntax> {
    let body = prefix.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(prefix);
    match body.iter().find(|b| !b.is_ascii_whitespace())? {
        b'<' => Some(Syntax::Xml),
        b'{' => Some(Syntax::JsonLd),
        _ => None,
    }
}

fn undetected() -> DecodeError {
    DecodeError::new(
        Position::Document,
        Problem::NotEpcis(
            "neither XML nor JSON: an EPCIS document starts with '<' (XML) or '{' (JSON-LD)".into(),
        ),
    )
}

/// Decodes a whole document in any supported syntax, with default limits.
pub fn decode(bytes: &[u8]) -> DecodeResult<Document> {
    decode_with(bytes, &Limits::default())
}

/// Decodes a whole document in any supported syntax.
pub fn decode_with(bytes: &[u8], limits: &Limits) -> DecodeResult<Document> {
    if bytes.len() as u64 > limits.max_document_bytes {
        return Err(DecodeError::new(
            Position::Document,
            Problem::Limit {
                what: "document size in bytes",
                limit: limits.max_document_bytes,
            },
        ));
    }
    match detect(bytes).ok_or_else(undetected)? {
        Syntax::Xml => xml::decode_all(bytes, limits),
        Syntax::JsonLd => crate::jsonld::decode(bytes, limits),
    }
}

/// Decodes a document of any supported syntax from a reader, handing each event to `on_event`
/// as soon as it is decoded, with the document head read so far (root attributes, header,
/// `ignoreFields`), and returns the complete head (everything but the events).
///
/// XML is read in bounded memory. JSON-LD is streamed too when `@context` precedes `epcisBody`
/// (as every generator we know writes it); otherwise the events are held until the context is
/// known. An error from `on_event` stops decoding and is returned as is.
pub fn decode_stream<R, F>(mut input: R, limits: &Limits, mut on_event: F) -> DecodeResult<Document>
where
    R: BufRead,
    F: FnMut(&Document, Event) -> DecodeResult<()>,
{
    let syntax = {
        let buf = input
            .fill_buf()
            .map_err(|e| DecodeError::new(Position::Document, Problem::Io(e.to_string())))?;
        detect(buf).ok_or_else(undetected)?
    };
    match syntax {
        Syntax::Xml => {
            let mut events = XmlEvents::new(input, limits)?;
            while let Some(event) = events.next() {
                let event = event?;
                on_event(events.head(), event)?;
            }
            Ok(events.into_head())
        }
        Syntax::JsonLd => crate::jsonld::decode_stream(input, limits, &mut on_event),
    }
}
