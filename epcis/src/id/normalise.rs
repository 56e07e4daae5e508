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
//! - a 12-digit-company-prefix GRAI/GDTI/SGCN pattern needs two dots after the prefix;
//! - Digital Link URIs are checked against a final whitelist whose character class excludes `%`,
//!   so a Digital Link with any percent-escape is not normalisable;
//! - the host check treats the dots of `id.gs1.org` as "any character but newline", so
//!   `https://idXgs1Yorg/01/…` is kept as is (see the `domain_dots_are_wildcards` test);
//! - short names (`/gtin/`, `/ser/`, …) are replaced anywhere in the URI, one name after the
//!   other, each replacing every non-overlapping occurrence;
//! - GTINs of 9 to 11 digits are padded as if they were GTIN-8 (and then rejected).
//!
//! Deliberate divergences, both for inputs no conforming system produces: `\d` means ASCII digits
//! (Python's also matches other Unicode digits), and a trailing `\n` is not ignored (Python's
//! `$` matches before a final newline).
//!
//! Cost: values that cannot be identifiers (no `urn:epc:` or `http` prefix, or no `.`) return
//! after a few byte comparisons without allocating.

use super::check_digit::compute;

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
        normalise_web(uri)
    }
}

// ---------------------------------------------------------------------------------------------
// EPC URIs
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// Digital Link URIs
// ---------------------------------------------------------------------------------------------

const SHORT_NAMES: [(&str, &str); 17] = [
    ("/gtin/", "/01/"),
    ("/itip/", "/8006/"),
    ("/cpid/", "/8010/"),
    ("/gln/", "/414/"),
    ("/party/", "/417/"),
    ("/gsrnp/", "/8017/"),
    ("/gsrn/", "/8018/"),
    ("/gcn/", "/255/"),
    ("/sscc/", "/00/"),
    ("/gdti/", "/253/"),
    ("/ginc/", "/401/"),
    ("/gsin/", "/402/"),
    ("/grai/", "/8003/"),
    ("/giai/", "/8004/"),
    ("/cpv/", "/22/"),
    ("/lot/", "/10/"),
    ("/ser/", "/21/"),
];

/// Primary keys, in the order the reference looks for them when it re-hosts a URI.
const REHOST_KEYS: [&str; 14] = [
    "/00/", "/01/", "/253/", "/255/", "/401/", "/402/", "/414/", "/417/", "/8003/", "/8004/",
    "/8006/", "/8010/", "/8017/", "/8018/",
];

fn normalise_web(uri: &str) -> Option<String> {
    let after_scheme = uri
        .strip_prefix("https:")
        .or_else(|| uri.strip_prefix("http:"))?;
    if !has_key_segment(after_scheme) {
        return None;
    }
    let mut s = match uri.split_once('?') {
        Some((before, _)) => before.to_owned(),
        None => uri.to_owned(),
    };
    for (short, ai) in SHORT_NAMES {
        if s.contains(short) {
            s = s.replace(short, ai);
        }
    }
    if !is_canonical(&s) {
        if let Some(at) = REHOST_KEYS.iter().find_map(|k| s.find(k)) {
            s = format!("{HOST}{}", s.get(at..)?);
        }
    }
    pad_gtin(&mut s);
    drop_cpv(&mut s);
    drop_lot(&mut s);
    is_valid_output(&s).then_some(s)
}

/// The reference's first gate: somewhere before the first `?`/`#` a segment `/KEY/` followed by
/// four digits and one more character that is not `/`.
fn has_key_segment(after_scheme: &str) -> bool {
    let end = after_scheme.find(['?', '#']).unwrap_or(after_scheme.len());
    let head = after_scheme.get(..end).unwrap_or_default();
    head.match_indices('/').any(|(i, _)| {
        let Some((key, value)) = after_scheme.get(i + 1..).and_then(|r| r.split_once('/')) else {
            return false;
        };
        is_gate_key(key) && starts_with_four_digits_and_more(value)
    })
}

fn is_gate_key(key: &str) -> bool {
    matches!(
        key,
        "01" | "gtin"
            | "8006"
            | "itip"
            | "8010"
            | "cpid"
            | "414"
            | "gln"
            | "417"
            | "party"
            | "8017"
            | "gsrnp"
            | "8018"
            | "gsrn"
            | "255"
            | "gcn"
            | "00"
            | "sscc"
            | "253"
            | "gdti"
            | "401"
            | "ginc"
            | "402"
            | "gsin"
            | "8003"
            | "grai"
            | "8004"
            | "giai"
    )
}

fn starts_with_four_digits_and_more(value: &str) -> bool {
    let b = value.as_bytes();
    b.get(..4).is_some_and(|d| d.iter().all(u8::is_ascii_digit))
        && b.get(4).is_some_and(|&c| c != b'/')
}

/// `https://id?gs1?org` where each `?` is any character but a newline (the reference's
/// unescaped `.`); returns what follows.
fn after_host(s: &str) -> Option<&str> {
    let rest = s.strip_prefix("https://id")?;
    let rest = skip_wildcard(rest)?.strip_prefix("gs1")?;
    skip_wildcard(rest)?.strip_prefix("org")
}

fn skip_wildcard(s: &str) -> Option<&str> {
    let mut chars = s.chars();
    match chars.next() {
        Some('\n') | None => None,
        Some(_) => Some(chars.as_str()),
    }
}

fn is_canonical(s: &str) -> bool {
    let Some(rest) = after_host(s).and_then(|r| r.strip_prefix('/')) else {
        return false;
    };
    let Some((key, value)) = rest.split_once('/') else {
        return false;
    };
    matches!(
        key,
        "01" | "8006"
            | "8010"
            | "414"
            | "417"
            | "8017"
            | "8018"
            | "255"
            | "00"
            | "253"
            | "401"
            | "402"
            | "8003"
            | "8004"
    ) && starts_with_four_digits_and_more(value)
}

fn leading_digits(s: &str) -> usize {
    s.bytes().take_while(u8::is_ascii_digit).count()
}

fn pad_gtin(s: &mut String) {
    let Some(n) = after_host(s)
        .and_then(|r| r.strip_prefix("/01/"))
        .map(leading_digits)
    else {
        return;
    };
    let pad = match n {
        14.. => return,
        13 => "/01/0",
        12 => "/01/00",
        8..=11 => "/01/000000",
        _ => return,
    };
    *s = s.replace("/01/", pad);
}

/// The `01` or `8006` key of a constrained URI: `/01/` + 14 digits or `/8006/` + 18 digits;
/// returns what follows.
fn after_item_key(s: &str) -> Option<&str> {
    let rest = after_host(s)?;
    let (value, digits) = if let Some(v) = rest.strip_prefix("/01/") {
        (v, 14)
    } else {
        (rest.strip_prefix("/8006/")?, 18)
    };
    let (key, tail) = value.split_at_checked(digits)?;
    is_digits(key).then_some(tail)
}

/// The reference's Digital Link value class: `"'-.0-9;<=>?A-Z_a-z`.
fn is_dl_value(b: u8) -> bool {
    matches!(b, b'"' | b'\'' | b'-' | b'.' | b'0'..=b'9' | b';'..=b'?' | b'A'..=b'Z' | b'_' | b'a'..=b'z')
}

fn all_dl_values(s: &str, max: usize) -> bool {
    s.len() <= max && s.bytes().all(is_dl_value)
}

fn drop_cpv(s: &mut String) {
    let Some(cpv) = after_item_key(s).and_then(|t| t.strip_prefix("/22/")) else {
        return;
    };
    // A: the CPV is the last qualifier; B: more qualifiers follow it (20 characters at most for
    // all of them, slashes included). The reference then keeps `x[x.find('/'):-1]` (A) or
    // `x[x.find('/'):]` (B) of `x`, the text after the first `/22/`.
    let drop_last = if all_dl_values(cpv, 20) {
        true
    } else if cpv.len() <= 20 && cpv.bytes().all(|b| b == b'/' || is_dl_value(b)) {
        false
    } else {
        return;
    };
    cut_qualifier(s, "/22/", drop_last);
}

fn drop_lot(s: &mut String) {
    let Some(rest) = after_item_key(s).and_then(|t| t.strip_prefix("/10/")) else {
        return;
    };
    let Some((lot, serial)) = rest.split_once("/21/") else {
        return;
    };
    if all_dl_values(lot, 20) && all_dl_values(serial, 20) {
        cut_qualifier(s, "/10/", false);
    }
}

/// `s[:s.find(q)] + x[x.find('/'):end]` with `x = s[s.find(q) + len(q):]` and `end` the end of
/// `x`, or its last character with `drop_last`, using Python's slice semantics (`find` gives -1
/// when absent, negative indices count from the end, an empty range gives "").
fn cut_qualifier(s: &mut String, q: &str, drop_last: bool) {
    let Some(at) = s.find(q) else {
        return;
    };
    let x = s.get(at + q.len()..).unwrap_or_default();
    let last = x.char_indices().next_back().map_or(0, |(i, _)| i);
    let start = x.find('/').unwrap_or(last);
    let end = if drop_last { last } else { x.len() };
    let tail = x.get(start..end).unwrap_or_default().to_owned();
    s.truncate(at);
    s.push_str(&tail);
}

/// The reference's final whitelist of constrained canonical Digital Links.
fn is_valid_output(s: &str) -> bool {
    let Some(rest) = after_host(s).and_then(|r| r.strip_prefix('/')) else {
        return false;
    };
    let Some((ai, value)) = rest.split_once('/') else {
        return false;
    };
    fn digits_then(v: &str, n: usize) -> Option<&str> {
        v.split_at_checked(n)
            .filter(|(d, _)| is_digits(d))
            .map(|(_, t)| t)
    }
    let exact_digits = |v: &str, n: usize| v.len() == n && is_digits(v);
    let qualified = |tail: &str, quals: &[(&str, usize)]| {
        tail.is_empty()
            || quals
                .iter()
                .any(|(q, max)| tail.strip_prefix(q).is_some_and(|v| all_dl_values(v, *max)))
    };
    match ai {
        "00" => exact_digits(value, 18),
        "01" => digits_then(value, 14)
            .is_some_and(|t| qualified(t, &[("/21/", 20), ("/10/", 20), ("/235/", 28)])),
        "253" => digits_then(value, 13).is_some_and(|t| all_dl_values(t, 17)),
        "255" => digits_then(value, 13).is_some_and(|t| t.len() <= 12 && is_digits(t)),
        "401" | "8004" => all_dl_values(value, 30),
        "402" => exact_digits(value, 17),
        "414" => digits_then(value, 13).is_some_and(|t| qualified(t, &[("/254/", 20)])),
        "417" => exact_digits(value, 13),
        "8003" => digits_then(value, 14).is_some_and(|t| all_dl_values(t, 16)),
        "8006" => {
            digits_then(value, 18).is_some_and(|t| qualified(t, &[("/21/", 20), ("/10/", 20)]))
        }
        "8010" => is_cpi_output(value),
        "8017" | "8018" => exact_digits(value, 18),
        _ => false,
    }
}

/// `8010/` + `[#-/0-9A-Z]{0,30}`, optionally followed by `/8011/` + up to 12 digits.
fn is_cpi_output(value: &str) -> bool {
    let cpi_char = |b: u8| matches!(b, b'#' | b'-' | b'/' | b'0'..=b'9' | b'A'..=b'Z');
    let cpi_ok = |v: &str| v.len() <= 30 && v.bytes().all(cpi_char);
    if cpi_ok(value) {
        return true;
    }
    value
        .rfind("/8011/")
        .and_then(|at| Some((value.get(..at)?, value.get(at + 6..)?)))
        .is_some_and(|(cpi, serial)| cpi_ok(cpi) && serial.len() <= 12 && is_digits(serial))
}
