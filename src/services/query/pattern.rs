//! EPC pattern matching for the `MATCH_*` parameters (EPCIS §8.2.7.1.1), as conditions on the
//! stored canonical keys (`crate::stored::epc_key`, a GS1 Digital Link for GS1 identifiers).
//!
//! - An EPC URI, a Digital Link or any other URI matches by key equality, so a URN and a Digital
//!   Link of one serial find the same events.
//! - An EPC pure-identity pattern (`urn:epc:idpat:sgtin:0614141.107346.*`) becomes key-prefix
//!   ranges: the Digital Link of the fixed part, then `/` (the serials of one GTIN). A pattern
//!   whose company prefix alone is fixed (`urn:epc:idpat:sgtin:0614141.*.*`) becomes one range
//!   per indicator digit (`…/01/{0-9}0614141`); an all-`*` pattern the range of its scheme.
//!   SGTIN, SSCC and SGLN patterns are handled field by field; the other schemes when only their
//!   last field is `*`. Range patterns (`[lo-hi]`) are refused.
//! - For classes (`MATCH_epcClass` …), a pattern with a fixed GTIN also matches that GTIN's
//!   lot classes (`urn:epc:class:lgtin:…`) and the GTIN-level class itself; a GTIN-only Digital
//!   Link is read as that same pattern.

use crate::storage::query::KeyMatch;
use crate::stored::epc_key;

const DL: &str = "https://id.gs1.org/";

/// The key conditions for one `MATCH_*` value. `Err` says why the pattern is refused.
pub fn key_matches(value: &str, class: bool) -> Result<Vec<KeyMatch>, String> {
    let value = value.trim();
    if let Some(rest) = value.strip_prefix("urn:epc:idpat:") {
        return pattern(value, rest);
    }
    let key = epc_key(value);
    if class && is_gtin_only(&key) {
        return gtin_class(&key);
    }
    Ok(vec![KeyMatch::Exact(key)])
}

/// `https://id.gs1.org/01/` + 14 digits and nothing else.
fn is_gtin_only(key: &str) -> bool {
    key.strip_prefix("https://id.gs1.org/01/")
        .is_some_and(|g| g.len() == 14 && g.bytes().all(|b| b.is_ascii_digit()))
}

/// The GTIN-level key itself and everything below it (serials, lots).
fn gtin_class(key: &str) -> Result<Vec<KeyMatch>, String> {
    Ok(vec![
        KeyMatch::Exact(key.to_owned()),
        range(&format!("{key}/"))?,
    ])
}

fn range(prefix: &str) -> Result<KeyMatch, String> {
    KeyMatch::prefix(prefix).ok_or_else(|| format!("{prefix:?} cannot be matched as a prefix"))
}

fn digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn pattern(value: &str, rest: &str) -> Result<Vec<KeyMatch>, String> {
    if value.contains('[') {
        return Err(format!(
            "{value:?}: range patterns ([lo-hi]) are not supported"
        ));
    }
    let (scheme, body) = rest
        .split_once(':')
        .ok_or_else(|| format!("{value:?} is not an EPC pattern (urn:epc:idpat:scheme:…)"))?;
    let fields: Vec<&str> = body.split('.').collect();
    let bad = || format!("{value:?} is not a valid {scheme} pattern");
    match (scheme, fields.as_slice()) {
        ("sgtin", [cp, item, serial]) => {
            if *serial != "*" {
                return Err(format!(
                    "{value:?}: an SGTIN pattern ends in .* (for one serial, give the EPC itself)"
                ));
            }
            match (*cp, *item) {
                ("*", "*") => Ok(vec![range(&format!("{DL}01/"))?]),
                (cp, "*") if digits(cp) && (6..=12).contains(&cp.len()) => {
                    per_digit(&format!("{DL}01/"), cp)
                }
                (cp, item) if digits(cp) && digits(item) && cp.len() + item.len() == 13 => {
                    let key = epcis::id::normalise(value).ok_or_else(bad)?;
                    gtin_class(&key)
                }
                _ => Err(bad()),
            }
        }
        ("sscc", [cp, serial]) => match (*cp, *serial) {
            ("*", "*") => Ok(vec![range(&format!("{DL}00/"))?]),
            (cp, "*") if digits(cp) && (6..=12).contains(&cp.len()) => {
                per_digit(&format!("{DL}00/"), cp)
            }
            _ => Err(bad()),
        },
        ("sgln", [cp, loc, ext]) => {
            if *ext != "*" {
                return Err(format!(
                    "{value:?}: an SGLN pattern ends in .* (for one location, give the SGLN itself)"
                ));
            }
            match (*cp, *loc) {
                ("*", "*") => Ok(vec![range(&format!("{DL}414/"))?]),
                (cp, "*") if digits(cp) && (6..=12).contains(&cp.len()) => {
                    Ok(vec![range(&format!("{DL}414/{cp}"))?])
                }
                (cp, loc)
                    if digits(cp)
                        && (digits(loc) || loc.is_empty())
                        && cp.len() + loc.len() == 12 =>
                {
                    let twelve = format!("{cp}{loc}");
                    let check = epcis::id::check_digit::check_digit(&twelve).map_err(|_| bad())?;
                    let key = format!("{DL}414/{twelve}{check}");
                    Ok(vec![
                        KeyMatch::Exact(key.clone()),
                        range(&format!("{key}/"))?,
                    ])
                }
                _ => Err(bad()),
            }
        }
        _ => match epcis::id::normalise(value) {
            Some(key) => Ok(vec![
                KeyMatch::Exact(key.clone()),
                range(&format!("{key}/"))?,
            ]),
            None => Err(format!(
                "{value:?}: this EPC pattern is not supported (SGTIN, SSCC and SGLN patterns \
                 with any fields as *, other schemes with only the last field as *)"
            )),
        },
    }
}

/// One range per leading digit (GTIN indicator, SSCC extension) before the company prefix.
fn per_digit(base: &str, cp: &str) -> Result<Vec<KeyMatch>, String> {
    (0..=9).map(|d| range(&format!("{base}{d}{cp}"))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prefix(p: &str) -> KeyMatch {
        KeyMatch::prefix(p).unwrap()
    }

    #[test]
    fn an_epc_matches_its_key_in_either_spelling() {
        let dl = "https://id.gs1.org/01/10614141073464/21/2018";
        for v in ["urn:epc:id:sgtin:0614141.107346.2018", dl] {
            assert_eq!(key_matches(v, false).unwrap(), [KeyMatch::Exact(dl.into())]);
        }
        assert_eq!(
            key_matches("urn:example:thing", false).unwrap(),
            [KeyMatch::Exact("urn:example:thing".into())]
        );
    }

    #[test]
    fn an_sgtin_pattern_is_the_gtin_and_everything_below_it() {
        let gtin = "https://id.gs1.org/01/10614141073464";
        assert_eq!(
            key_matches("urn:epc:idpat:sgtin:0614141.107346.*", false).unwrap(),
            [KeyMatch::Exact(gtin.into()), prefix(&format!("{gtin}/"))]
        );
        // A GTIN-only Digital Link is the same class for class matching, an exact key otherwise.
        assert_eq!(
            key_matches(gtin, true).unwrap(),
            key_matches("urn:epc:idpat:sgtin:0614141.107346.*", true).unwrap()
        );
        assert_eq!(
            key_matches(gtin, false).unwrap(),
            [KeyMatch::Exact(gtin.into())]
        );
    }

    #[test]
    fn company_prefix_patterns_cover_every_indicator_digit() {
        let m = key_matches("urn:epc:idpat:sgtin:0614141.*.*", false).unwrap();
        assert_eq!(m.len(), 10);
        assert_eq!(m[1], prefix("https://id.gs1.org/01/10614141"));
        let m = key_matches("urn:epc:idpat:sscc:0614141.*", false).unwrap();
        assert_eq!(m[0], prefix("https://id.gs1.org/00/00614141"));
        assert_eq!(
            key_matches("urn:epc:idpat:sgtin:*.*.*", false).unwrap(),
            [prefix("https://id.gs1.org/01/")]
        );
    }

    #[test]
    fn an_sgln_pattern_is_the_gln_and_its_extensions() {
        assert_eq!(
            key_matches("urn:epc:idpat:sgln:0614141.00001.*", false).unwrap(),
            [
                KeyMatch::Exact("https://id.gs1.org/414/0614141000012".into()),
                prefix("https://id.gs1.org/414/0614141000012/")
            ]
        );
    }

    #[test]
    fn bad_patterns_are_refused_with_a_reason() {
        for p in [
            "urn:epc:idpat:sgtin:0614141.107346.2018",
            "urn:epc:idpat:sgtin:0614141.10734X.*",
            "urn:epc:idpat:sgtin:[0-5].*.*",
            "urn:epc:idpat:sgtin:*.107346.*",
            "urn:epc:idpat:nonsense",
            "urn:epc:idpat:foo:1.*",
        ] {
            assert!(key_matches(p, false).is_err(), "{p}");
        }
    }
}
