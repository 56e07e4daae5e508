//! Value canonicalisation for the pre-hash string (`reference/epcis.md` §4.3).
//!
//! Every leaf value goes through, in this order: CBV URN → Web URI replacement, number
//! reformatting (as Python's `str(float(v))`, with its side effects, e.g. the lot `0805`
//! becomes `805`), then GS1 Digital Link normalisation. Times (keys containing `time`, not
//! `offset`, on the ordered path) are instead converted to UTC milliseconds.

use std::borrow::Cow;

use crate::time::DateTime;

const VOCAB: [(&str, &str); 5] = [
    (
        "urn:epcglobal:cbv:bizstep:",
        "https://ref.gs1.org/cbv/BizStep-",
    ),
    ("urn:epcglobal:cbv:disp:", "https://ref.gs1.org/cbv/Disp-"),
    ("urn:epcglobal:cbv:btt:", "https://ref.gs1.org/cbv/BTT-"),
    ("urn:epcglobal:cbv:sdt:", "https://ref.gs1.org/cbv/SDT-"),
    ("urn:epcglobal:cbv:er:", "https://ref.gs1.org/cbv/ER-"),
];

/// The canonical form of a (trimmed) leaf value.
pub(crate) fn value(text: &str) -> Cow<'_, str> {
    let mut memoised = None;
    let hit = MEMO.with(|m| {
        let Ok(mut m) = m.try_borrow_mut() else {
            return false;
        };
        m.get(text, |canon| {
            memoised = canon.map(str::to_owned);
        })
    });
    match (hit, memoised) {
        (true, Some(canon)) => Cow::Owned(canon),
        (true, None) => Cow::Borrowed(text),
        (false, _) => compute(text),
    }
}

/// Appends the canonical form of a (trimmed) leaf value to `out`.
pub(crate) fn push_value(out: &mut String, text: &str) {
    let written = MEMO.with(|m| {
        let Ok(mut m) = m.try_borrow_mut() else {
            return false;
        };
        m.get(text, |canon| out.push_str(canon.unwrap_or(text)))
    });
    if !written {
        out.push_str(&compute(text));
    }
}

/// Slots of the canonical-value memo.
const MEMO_SLOTS: usize = 256;
/// Longest value the memo keeps (a Digital Link or a CBV Web URI is well under this).
const MEMO_MAX_VALUE_BYTES: usize = 256;

/// A direct-mapped memo of [`compute`]: each value lands in one slot chosen by its hash and
/// replaces what was there. Business steps, dispositions, locations, parties and lots repeat
/// from event to event, and their canonical form (CBV Web URI, Digital Link) costs a parse;
/// a slot's strings are reused, so after warm-up a miss allocates only what [`compute`] does.
struct Memo {
    /// (value, its canonical form when different).
    slots: Vec<(String, Option<String>)>,
    hasher: foldhash::fast::FixedState,
}

impl Memo {
    /// Calls `f` with the canonical form of `text` (`None`: `text` itself); `false` when the
    /// memo has no slot for it (it then stays unchanged).
    fn get(&mut self, text: &str, f: impl FnOnce(Option<&str>)) -> bool {
        use std::hash::BuildHasher as _;
        // Only short values are kept: the repeating ones are identifiers and words, and a
        // thread must not hold on to a large extension text an untrusted document sent.
        if text.len() > MEMO_MAX_VALUE_BYTES {
            return false;
        }
        let index = usize::try_from(self.hasher.hash_one(text) % MEMO_SLOTS as u64).unwrap_or(0);
        let Some(slot) = self.slots.get_mut(index) else {
            return false;
        };
        if slot.0 != text {
            slot.1 = match compute(text) {
                Cow::Borrowed(_) => None,
                Cow::Owned(canon) => Some(canon),
            };
            slot.0.clear();
            slot.0.push_str(text);
        }
        f(slot.1.as_deref());
        true
    }
}

thread_local! {
    static MEMO: std::cell::RefCell<Memo> = std::cell::RefCell::new(Memo {
        slots: vec![(String::new(), None); MEMO_SLOTS],
        hasher: foldhash::fast::FixedState::with_seed(0x5eed),
    });
}

/// The canonical form, computed.
fn compute(text: &str) -> Cow<'_, str> {
    let mut v = Cow::Borrowed(text);
    if v.contains("urn:epcglobal:cbv:") {
        for (urn, web) in VOCAB {
            if v.contains(urn) {
                v = Cow::Owned(v.replace(urn, web));
            }
        }
    }
    if let Some(n) = python_float_str(&v) {
        v = Cow::Owned(n);
    }
    match normalise_cached(&v) {
        Some(dl) => Cow::Owned(dl),
        None => v,
    }
}

thread_local! {
    /// The last SGTIN prefix normalised (`urn:epc:id:sgtin:CP.IR.`) and its Digital Link
    /// (`https://id.gs1.org/01/GTIN/21/`): EPC lists repeat one GTIN, and its check digit need
    /// not be computed for every serial.
    static SGTIN_PREFIX: std::cell::RefCell<(String, String)> =
        const { std::cell::RefCell::new((String::new(), String::new())) };
}

/// [`crate::id::normalise`], with the SGTIN prefix remembered. The cache only answers for
/// serials of plain ASCII letters and digits, 1 to 20 of them, which the Digital Link writes
/// unchanged; everything else goes through the normaliser.
fn normalise_cached(v: &str) -> Option<String> {
    let Some(rest) = v.strip_prefix("urn:epc:id:sgtin:") else {
        return crate::id::normalise(v);
    };
    let Some(dot) = rest.rfind('.') else {
        return crate::id::normalise(v);
    };
    let split = v.len() - rest.len() + dot + 1;
    let (prefix, serial) = (v.get(..split).unwrap_or(v), v.get(split..).unwrap_or(""));
    let plain =
        (1..=20).contains(&serial.len()) && serial.bytes().all(|b| b.is_ascii_alphanumeric());
    if plain {
        let hit = SGTIN_PREFIX.with(|c| {
            let c = c.borrow();
            (c.0 == prefix).then(|| format!("{}{serial}", c.1))
        });
        if hit.is_some() {
            return hit;
        }
    }
    let dl = crate::id::normalise(v)?;
    if plain && let Some(dl_prefix) = dl.strip_suffix(serial) {
        SGTIN_PREFIX.with(|c| {
            let mut c = c.borrow_mut();
            c.0.clear();
            c.0.push_str(prefix);
            c.1.clear();
            c.1.push_str(dl_prefix);
        });
    }
    Some(dl)
}

/// For an EPC list whose entries all share one `urn:epc:id:sgtin:CP.IR.` prefix and have plain
/// serials (1 to 20 ASCII letters and digits, which the Digital Link writes unchanged): the
/// canonical Digital Link prefix (`https://id.gs1.org/01/GTIN/21/`) and the serials. The caller
/// sorts the serials and writes prefix + serial, which orders and renders exactly as the
/// normalised strings would (they share the prefix), without a string per EPC. `None` when the
/// list is not of that shape; the caller then canonicalises each value.
pub(crate) fn sgtin_list(values: &[String]) -> Option<(String, Vec<&str>)> {
    let first = values.first()?.trim();
    let rest = first.strip_prefix("urn:epc:id:sgtin:")?;
    let split = first.len() - rest.len() + rest.rfind('.')? + 1;
    let (prefix, first_serial) = (first.get(..split)?, first.get(split..)?);
    let plain =
        |s: &str| (1..=20).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric());
    let mut serials = Vec::with_capacity(values.len());
    for v in values {
        let serial = v.trim().strip_prefix(prefix)?;
        if !plain(serial) {
            return None;
        }
        serials.push(serial);
    }
    // The normaliser validates the prefix and gives its Digital Link form.
    let dl = normalise_cached(first)?;
    Some((dl.strip_suffix(first_serial)?.to_owned(), serials))
}

/// The canonical form of a time value: UTC with milliseconds, or unchanged if it is not a time.
pub(crate) fn time(text: &str) -> Cow<'_, str> {
    match DateTime::parse(text).and_then(|t| t.hash_form()) {
        Some(t) => Cow::Owned(t),
        None => Cow::Borrowed(text),
    }
}

/// Appends [`time`] of `text` to `out`.
pub(crate) fn push_time(out: &mut String, text: &str) {
    if !DateTime::parse(text).is_some_and(|t| t.write_hash_form(out)) {
        out.push_str(text);
    }
}

/// Whether Python's `float()` accepts the text, and the digits with underscores removed.
fn python_float_syntax(s: &str) -> Option<Cow<'_, str>> {
    let b = s.as_bytes();
    let first = *b.first()?;
    // Cheap rejection: the common case is a URI or a word.
    if !(first.is_ascii_digit() || matches!(first, b'+' | b'-' | b'.')) {
        return None;
    }
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (body.get(..i)?, Some(body.get(i + 1..)?)),
        None => (body, None),
    };
    // Underscores are allowed between digits only.
    let digits_ok = |part: &str, allow_empty: bool| -> bool {
        if part.is_empty() {
            return allow_empty;
        }
        let pb = part.as_bytes();
        pb.iter().all(|c| c.is_ascii_digit() || *c == b'_')
            && pb.first().is_some_and(u8::is_ascii_digit)
            && pb.last().is_some_and(u8::is_ascii_digit)
            && !part.contains("__")
    };
    let (int, frac) = match mantissa.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (mantissa, None),
    };
    let mantissa_ok = match frac {
        Some(f) => digits_ok(int, true) && digits_ok(f, true) && !(int.is_empty() && f.is_empty()),
        None => digits_ok(int, false),
    };
    if !mantissa_ok {
        return None;
    }
    if let Some(e) = exponent {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        if !digits_ok(e, false) {
            return None;
        }
    }
    Some(if s.contains('_') {
        Cow::Owned(s.replace('_', ""))
    } else {
        Cow::Borrowed(s)
    })
}

/// `str(float(s))`, with integral values printed as integers, as the reference does; `None`
/// when `s` is not a number (NaN and infinities included: the reference leaves or rejects them).
pub(crate) fn python_float_str(s: &str) -> Option<String> {
    let clean = python_float_syntax(s)?;
    let f: f64 = clean.parse().ok()?;
    if !f.is_finite() {
        return None;
    }
    if f.fract() == 0.0 {
        if f == 0.0 {
            return Some("0".to_owned());
        }
        return Some(format!("{f:.0}"));
    }
    // Python's repr: shortest round-trip digits; scientific notation when the decimal point
    // would sit four or more places left of the first digit.
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e')?;
    let exp: i32 = exp.parse().ok()?;
    if exp < -4 {
        let sign = if exp < 0 { '-' } else { '+' };
        return Some(format!("{mantissa}e{sign}{:02}", exp.unsigned_abs()));
    }
    Some(format!("{f}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_format_like_python_str_of_float() {
        let cases = [
            ("26.0", "26"),
            ("0.050", "0.05"),
            ("1e3", "1000"),
            ("+5", "5"),
            ("0805", "805"),
            ("00300010123455", "300010123455"),
            ("12345678901234567890", "12345678901234567168"),
            ("4.50", "4.5"),
            ("-0.0", "0"),
            ("0.0001", "0.0001"),
            ("0.00001", "1e-05"),
            ("1.5e-7", "1.5e-07"),
            ("1_000", "1000"),
            (".5", "0.5"),
            ("5.", "5"),
            ("123.456", "123.456"),
        ];
        for (input, want) in cases {
            assert_eq!(python_float_str(input).as_deref(), Some(want), "{input}");
        }
        for not_number in [
            "", "abc", "1_", "_1", "1__0", "inf", "nan", "1e", "e5", "1.2.3", "0x10", "A123", ".",
        ] {
            assert_eq!(python_float_str(not_number), None, "{not_number}");
        }
    }

    #[test]
    fn cached_sgtin_prefix_gives_what_the_normaliser_gives() {
        for v in [
            "urn:epc:id:sgtin:0614141.107346.2017",
            "urn:epc:id:sgtin:0614141.107346.2018",
            "urn:epc:id:sgtin:0614141.107346.20%2F7",
            "urn:epc:id:sgtin:0614141.107346.ABCDEFGHIJKLMNOPQRSTU",
            "urn:epc:id:sgtin:0614141.107346.2019",
            "urn:epc:id:sgtin:0614141.207346.2019",
            "urn:epc:id:sgtin:0614141.207346.",
            "urn:epc:id:sgtin:0614141.107346.x",
        ] {
            assert_eq!(normalise_cached(v), crate::id::normalise(v), "{v}");
        }
    }

    #[test]
    fn memoised_values_equal_computed_ones_and_long_values_are_not_kept() {
        let long = format!(
            "urn:epcglobal:cbv:bizstep:{}",
            "x".repeat(MEMO_MAX_VALUE_BYTES)
        );
        let values = [
            "urn:epcglobal:cbv:bizstep:shipping",
            "urn:epc:id:sgln:0614141.00001.0",
            "0805",
            "plain text",
            long.as_str(),
        ];
        // Twice: the second round is answered from the memo.
        for _ in 0..2 {
            for v in values {
                assert_eq!(value(v), compute(v), "{v}");
                let mut out = String::new();
                push_value(&mut out, v);
                assert_eq!(out, compute(v), "{v}");
            }
        }
        let kept = MEMO.with(|m| m.borrow().slots.iter().map(|s| s.0.len()).max());
        assert!(kept.is_some_and(|n| n <= MEMO_MAX_VALUE_BYTES), "{kept:?}");
    }

    #[test]
    fn cbv_urns_become_web_uris() {
        assert_eq!(
            value("urn:epcglobal:cbv:bizstep:shipping"),
            "https://ref.gs1.org/cbv/BizStep-shipping"
        );
        assert_eq!(
            value("urn:epcglobal:cbv:bt:0614141000005:PO123"),
            "urn:epcglobal:cbv:bt:0614141000005:PO123"
        );
    }
}
