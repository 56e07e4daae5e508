//! [`normalise`]: the CBV 2.0 event hash's GS1 identifier normaliser, a byte-for-byte
//! re-implementation of the reference `dl_normaliser.py` (RalphTro/epcis-event-hash-generator,
//! MIT) without regular expressions.
//!
//! It turns an EPC URI, EPC class URI, EPC ID pattern URI or any GS1 Digital Link URI into the
//! constrained canonical Digital Link on `https://id.gs1.org` (finest identification level only,
//! no CPV, no query string), or `None` when the value is not normalisable (the hash then keeps it
//! as is). The reference is the specification, quirks included, because two parties' hashes of
//! one event must agree:
//!
//! - EPC values are taken by fixed offsets after matching, so e.g. a GDTI serial loses the
//!   character after the document type whatever it is, and EPC escapes are kept as written
//!   (`%2f` stays lower-case); only `!()*+,:` are percent-encoded;
//! - with a 12-digit company prefix, GRAI URIs and GRAI/GDTI/SGCN patterns need an extra dot
//!   (`…:123456789012...X`, `…:123456789012...*`; TDS writes two), and a GRAI keeps that dot in
//!   its serial;
//! - Digital Link URIs are checked against a final whitelist whose character class excludes `%`,
//!   so a Digital Link with any percent-escape is not normalisable;
//! - the host check treats the dots of `id.gs1.org` as "any character but newline", so
//!   `https://idXgs1Yorg/01/…/10/A.B` is kept as is (see `digital_link_quirks_of_the_reference`);
//! - short names (`/gtin/`, `/ser/`, …) are replaced anywhere in the URI, one name after the
//!   other, each replacing every non-overlapping occurrence;
//! - GTINs of 9 to 11 digits are padded as if they were GTIN-8 (and then rejected).
//!
//! Deliberate divergences, both for inputs no conforming system produces: `\d` means ASCII digits
//! (Python's also matches other Unicode digits), and a trailing `\n` is not ignored (Python's
//! `$` matches before a final newline).
//!
//! Cost: values that cannot be identifiers (no `urn:epc:` or `http` prefix, or no `.`) return
//! after a first-byte test, one `memchr` and a prefix comparison, without allocating; EPC URIs
//! allocate only their result.

use super::check_digit::compute;

mod web;

const HOST: &str = "https://id.gs1.org";

/// The constrained canonical GS1 Digital Link for an EPC URI/class/pattern or a GS1 Digital Link
/// URI, exactly as the CBV 2.0 reference normaliser computes it; `None` if not normalisable.
#[must_use]
pub fn normalise(uri: &str) -> Option<String> {
    let bytes = uri.as_bytes();
    let epc = match bytes.first() {
        Some(b'u') => true,
        Some(b'h') => false,
        _ => return None,
    };
    // The reference gives up on values without a '.' before looking at anything else.
    memchr::memchr(b'.', bytes)?;
    if epc {
        uri.strip_prefix("urn:epc:").and_then(normalise_epc)
    } else {
        web::normalise_web(uri)
    }
}

/// `rest` is the URI after `urn:epc:`.
fn normalise_epc(rest: &str) -> Option<String> {
    let (kind, rest) = rest.split_once(':')?;
    let (scheme, body) = rest.split_once(':')?;
    match (kind, scheme) {
        ("id", "sgtin") => sgtin_like(body, "/21/", 20),
        ("id", "upui") => sgtin_like(body, "/235/", 28),
        ("class", "lgtin") => sgtin_like(body, "/10/", 20),
        ("id", "sscc") => {
            let (cp, reference, rest) = cp_ref(body, 17, false)?;
            if !rest.is_empty() {
                return None;
            }
            let (ext, serial_ref) = reference.split_at_checked(1)?;
            Some(keyed("00", &[ext, cp, serial_ref], ""))
        }
        ("id", "sgln") => {
            let (cp, reference, rest) = cp_ref(body, 12, false)?;
            epc_units(rest.strip_prefix('.')?, 1, 20)?;
            let extension = body.get(14..)?;
            let mut out = keyed("414", &[cp, reference], "");
            if extension != "0" {
                out.push_str("/254/");
                push_encoded(&mut out, extension);
            }
            Some(out)
        }
        ("id", "grai") => {
            let (cp, reference, rest) = cp_ref(body, 12, true)?;
            epc_units(rest.strip_prefix('.')?, 1, 16)?;
            let mut out = keyed("8003", &["0", cp, reference], "");
            push_encoded(&mut out, body.get(14..)?);
            Some(out)
        }
        ("id", "giai") => alnum(body, "8004"),
        ("id", "ginc") => alnum(body, "401"),
        ("id", "gsrn") => all_digits(body, 17, "8018"),
        ("id", "gsrnp") => all_digits(body, 17, "8017"),
        ("id", "gsin") => all_digits(body, 16, "402"),
        ("id", "pgln") => all_digits(body, 12, "417"),
        ("id", "gdti") => {
            let (cp, reference, rest) = cp_ref(body, 12, true)?;
            epc_units(rest, 1, 20)?;
            let mut out = keyed("253", &[cp, reference], "");
            push_encoded(&mut out, body.get(14..)?);
            Some(out)
        }
        ("id", "cpi") => {
            let (cp, cp_ref_text, serial) = cpi(body)?;
            let serial = serial.strip_prefix('.')?;
            if !(1..=12).contains(&serial.len()) || !is_digits(serial) {
                return None;
            }
            let mut out = cpi_key(cp, cp_ref_text);
            out.push_str("/8011/");
            out.push_str(serial);
            Some(out)
        }
        ("id", "sgcn") => {
            let (cp, reference, rest) = cp_ref(body, 12, false)?;
            let serial = rest.strip_prefix('.')?;
            if !(1..=12).contains(&serial.len()) || !is_digits(serial) {
                return None;
            }
            Some(keyed("255", &[cp, reference], body.get(14..)?))
        }
        ("id", "itip") => {
            let (cp, reference, rest) = cp_ref(body, 13, false)?;
            let serial = piece_total(rest)?.strip_prefix('.')?;
            epc_units(serial, 1, 20)?;
            let mut out = gtin_keyed("8006", cp, reference)?;
            out.push_str(body.get(15..17)?);
            out.push_str(body.get(18..20)?);
            out.push_str("/21/");
            push_encoded(&mut out, body.get(21..)?);
            Some(out)
        }
        ("idpat", "sgtin" | "upui") => {
            let (cp, reference, rest) = cp_ref(body, 13, false)?;
            (rest == ".*").then_some(())?;
            gtin_keyed("01", cp, reference)
        }
        ("idpat", "grai") => {
            let (cp, reference, rest) = cp_ref(body, 12, true)?;
            (rest == ".*").then(|| keyed("8003", &["0", cp, reference], ""))
        }
        ("idpat", "gdti") => {
            let (cp, reference, rest) = cp_ref(body, 12, true)?;
            (rest == ".*").then(|| keyed("253", &[cp, reference], ""))
        }
        ("idpat", "sgcn") => {
            let (cp, reference, rest) = cp_ref(body, 12, true)?;
            (rest == ".*").then(|| keyed("255", &[cp, reference], ""))
        }
        ("idpat", "cpi") => {
            let (cp, cp_ref_text, rest) = cpi(body)?;
            (rest == ".*").then(|| cpi_key(cp, cp_ref_text))
        }
        ("idpat", "itip") => {
            let (cp, reference, rest) = cp_ref(body, 13, false)?;
            (piece_total(rest)? == ".*").then_some(())?;
            let mut out = gtin_keyed("8006", cp, reference)?;
            out.push_str(body.get(15..17)?);
            out.push_str(body.get(18..20)?);
            Some(out)
        }
        _ => None,
    }
}

/// SGTIN, UPUI, LGTIN: `CP.IR.` then 1 to `max` EPC characters, appended after `joint`.
fn sgtin_like(body: &str, joint: &str, max: usize) -> Option<String> {
    let (cp, reference, rest) = cp_ref(body, 13, false)?;
    let value = rest.strip_prefix('.')?;
    epc_units(value, 1, max)?;
    let mut out = gtin_keyed("01", cp, reference)?;
    out.push_str(joint);
    push_encoded(&mut out, value);
    Some(out)
}

/// GSRN, GSRNP, GSIN, PGLN: `CP.REF` and nothing more; key = CP + REF + check digit.
fn all_digits(body: &str, total: usize, ai: &str) -> Option<String> {
    let (cp, reference, rest) = cp_ref(body, total, false)?;
    rest.is_empty().then(|| keyed(ai, &[cp, reference], ""))
}

/// GIAI, GINC: `CP.` then 1 to 30 − |CP| EPC characters.
fn alnum(body: &str, ai: &str) -> Option<String> {
    let (cp, value) = body.split_once('.')?;
    if !(6..=12).contains(&cp.len()) || !is_digits(cp) {
        return None;
    }
    epc_units(value, 1, 30 - cp.len())?;
    let mut out = format!("{HOST}/{ai}/{cp}");
    push_encoded(&mut out, value);
    Some(out)
}

/// CPI: `CP.` then 1 to 30 − |CP| CPI characters up to the next `.`; returns CP, reference and
/// what follows (starting at that `.`).
fn cpi(body: &str) -> Option<(&str, &str, &str)> {
    let (cp, rest) = body.split_once('.')?;
    if !(6..=12).contains(&cp.len()) || !is_digits(cp) {
        return None;
    }
    let end = rest.find('.')?;
    let (reference, tail) = rest.split_at_checked(end)?;
    cpi_units(reference, 1, 30 - cp.len())?;
    Some((cp, reference, tail))
}

fn cpi_key(cp: &str, reference: &str) -> String {
    let mut out = format!("{HOST}/8010/");
    push_encoded(&mut out, cp);
    push_encoded(&mut out, reference);
    out
}

/// `CP.REF` where CP has 6-12 digits and CP+REF have `total` digits. With `cp12_two_dots` a
/// 12-digit CP must be followed by two dots (the reference's GRAI/GDTI/SGCN-pattern quirk).
/// Returns CP, REF and the rest after them.
fn cp_ref(body: &str, total: usize, cp12_two_dots: bool) -> Option<(&str, &str, &str)> {
    let bytes = body.as_bytes();
    let cp_len = bytes.iter().take_while(|b| b.is_ascii_digit()).count();
    if !(6..=12).contains(&cp_len) || bytes.get(cp_len) != Some(&b'.') {
        return None;
    }
    let ref_len = total.checked_sub(cp_len)?;
    let ref_start = cp_len + 1;
    let ref_end = ref_start + ref_len;
    let reference = body.get(ref_start..ref_end)?;
    if !is_digits(reference) {
        return None;
    }
    let mut rest = body.get(ref_end..)?;
    if ref_len == 0 && cp12_two_dots {
        rest = rest.strip_prefix('.')?;
    }
    Some((body.get(..cp_len)?, reference, rest))
}

/// ITIP `.PP.TT` (two digits each); returns what follows.
fn piece_total(rest: &str) -> Option<&str> {
    let b = rest.as_bytes();
    let ok = matches!(b, [b'.', p1, p2, b'.', t1, t2, ..] if [p1, p2, t1, t2].iter().all(|d| d.is_ascii_digit()));
    ok.then(|| rest.get(6..)).flatten()
}

/// `https://id.gs1.org/{ai}/{parts…}{check digit}{suffix}`.
fn keyed(ai: &str, parts: &[&str], suffix: &str) -> String {
    let mut out = String::with_capacity(48);
    out.push_str(HOST);
    out.push('/');
    out.push_str(ai);
    out.push('/');
    let start = out.len();
    parts.iter().for_each(|p| out.push_str(p));
    let cd = compute(out.get(start..).unwrap_or_default().as_bytes());
    out.push(char::from(b'0' + cd));
    out.push_str(suffix);
    out
}

/// A GTIN key: indicator (first reference digit), CP, rest of the reference, check digit.
fn gtin_keyed(ai: &str, cp: &str, reference: &str) -> Option<String> {
    let (indicator, item) = reference.split_at_checked(1)?;
    Some(keyed(ai, &[indicator, cp, item], ""))
}

/// The reference's encoder: only `!()*+,:` are escaped.
fn push_encoded(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '!' => out.push_str("%21"),
            '(' => out.push_str("%28"),
            ')' => out.push_str("%29"),
            '*' => out.push_str("%2A"),
            '+' => out.push_str("%2B"),
            ',' => out.push_str("%2C"),
            ':' => out.push_str("%3A"),
            c => out.push(c),
        }
    }
}

fn is_digits(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_digit())
}

/// Counts the reference's EPC characters: `[!')(*+,.0-9:;=A-Za-z_-]` or one of its `%HH`
/// escapes. `Some(())` if `s` is wholly such characters, `min..=max` of them.
fn epc_units(s: &str, min: usize, max: usize) -> Option<()> {
    units(
        s,
        min,
        max,
        |b| {
            matches!(b, b'!' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b'.' | b'0'..=b'9'
            | b':' | b';' | b'=' | b'A'..=b'Z' | b'a'..=b'z' | b'_' | b'-')
        },
        |h, l| match h {
            b'2' => matches!(l, b'1' | b'2' | b'5'..=b'9' | b'A'..=b'F' | b'a'..=b'f'),
            b'3' => l.is_ascii_hexdigit(),
            b'4' | b'6' => matches!(l, b'1'..=b'9' | b'A'..=b'F' | b'a'..=b'f'),
            b'5' => matches!(l, b'0'..=b'9' | b'A' | b'a' | b'F' | b'f'),
            b'7' => matches!(l, b'0'..=b'9' | b'A' | b'a'),
            _ => false,
        },
    )
}

/// As [`epc_units`] for the CPI reference: `[0-9A-Z-]` or `%2[3dfDF]`, `%3[0-9]`,
/// `%4[1-9A-Fa-f]`, `%5[0-9Aa]`.
fn cpi_units(s: &str, min: usize, max: usize) -> Option<()> {
    units(
        s,
        min,
        max,
        |b| matches!(b, b'0'..=b'9' | b'A'..=b'Z' | b'-'),
        |h, l| match h {
            b'2' => matches!(l, b'3' | b'd' | b'f' | b'D' | b'F'),
            b'3' => l.is_ascii_digit(),
            b'4' => matches!(l, b'1'..=b'9' | b'A'..=b'F' | b'a'..=b'f'),
            b'5' => matches!(l, b'0'..=b'9' | b'A' | b'a'),
            _ => false,
        },
    )
}

fn units(
    s: &str,
    min: usize,
    max: usize,
    raw: fn(u8) -> bool,
    escape: fn(u8, u8) -> bool,
) -> Option<()> {
    let mut rest = s.as_bytes();
    let mut count = 0usize;
    while !rest.is_empty() {
        rest = match rest {
            [b'%', h, l, tail @ ..] if escape(*h, *l) => tail,
            [b, tail @ ..] if raw(*b) => tail,
            _ => return None,
        };
        count += 1;
        if count > max {
            return None;
        }
    }
    (count >= min).then_some(())
}

#[cfg(test)]
mod tests;
