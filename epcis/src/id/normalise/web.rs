//! The Digital Link half of [`super::normalise`]: the reference's regular expressions for
//! `http(s)` URIs, hand-written. Each function names the reference step it reproduces; the
//! quirks are listed in the parent module's documentation.

use super::{HOST, is_digits};

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

pub(super) fn normalise_web(uri: &str) -> Option<String> {
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
    if !is_canonical(&s)
        && let Some(at) = REHOST_KEYS.iter().find_map(|k| s.find(k))
    {
        s = format!("{HOST}{}", s.get(at..)?);
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
pub(super) fn cut_qualifier(s: &mut String, q: &str, drop_last: bool) {
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

/// `n` digits at the start of `v`; returns what follows.
fn digits_then(v: &str, n: usize) -> Option<&str> {
    v.split_at_checked(n)
        .filter(|(d, _)| is_digits(d))
        .map(|(_, t)| t)
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
