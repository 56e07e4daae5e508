//! Parsing EPC URIs into [`Epc`] (GS1 Tag Data Standard §6 pure-identity, class and pattern
//! URIs).
//!
//! Strict on purpose: lower-case `urn:epc:` prefix and scheme, a company prefix of 6 to 12 digits,
//! exact digit counts, characters that TDS requires escaped (`"`, `#`, `&`, `/`, `<`, `>`, `?`)
//! rejected when raw, decoded values within their character set and length. Errors about one
//! part name the part and are wrapped in the whole URI ([`IdError::Context`]).

use super::charset::{CSET39, CSET82, check_x, epc_unescape, is_cset39, is_cset82};
use super::check_digit::require_digits;
use super::epc::{Epc, EpcForm, EpcScheme};
use super::epc_scheme::Tail;
use super::error::IdError;

const WHAT: &str = "EPC URI";
const PREFIX_RULE: &str = "an EPC URI starts with urn:epc:id:, urn:epc:class: or urn:epc:idpat:";

impl Epc {
    /// Parses an EPC URI: `urn:epc:id:{sgtin,sscc,sgln,pgln,grai,giai,gsrn,gsrnp,gdti,cpi,sgcn,
    /// ginc,gsin,itip,upui}:…`, `urn:epc:class:lgtin:…` or
    /// `urn:epc:idpat:{sgtin,grai,gdti,sgcn,cpi,itip,upui}:…​.*`.
    ///
    /// # Errors
    /// [`IdError::Syntax`] for the structure, [`IdError::Unsupported`] for other schemes and
    /// patterns, and a part's error wrapped in [`IdError::Context`] with the URI.
    pub fn parse(uri: &str) -> Result<Self, IdError> {
        let rest = uri
            .strip_prefix("urn:epc:")
            .ok_or_else(|| IdError::syntax(WHAT, uri, PREFIX_RULE))?;
        let (form, rest) = if let Some(r) = rest.strip_prefix("id:") {
            (EpcForm::Id, r)
        } else if let Some(r) = rest.strip_prefix("class:") {
            (EpcForm::Class, r)
        } else if let Some(r) = rest.strip_prefix("idpat:") {
            (EpcForm::Pattern, r)
        } else {
            return Err(IdError::syntax(WHAT, uri, PREFIX_RULE));
        };
        let (name, body) = rest
            .split_once(':')
            .ok_or_else(|| IdError::syntax(WHAT, uri, "expected a scheme such as sgtin and ':'"))?;
        let scheme = EpcScheme::from_name(name).ok_or_else(|| {
            IdError::unsupported(
                WHAT,
                uri,
                "known schemes are sgtin, sscc, sgln, pgln, grai, giai, gsrn, gsrnp, gdti, cpi, \
                 sgcn, ginc, gsin, itip, upui (urn:epc:id:) and lgtin (urn:epc:class:)",
            )
        })?;
        if !scheme.supports(form) {
            return Err(IdError::unsupported(
                WHAT,
                uri,
                "supported are urn:epc:id: for every scheme but lgtin, urn:epc:class:lgtin, and \
                 urn:epc:idpat: for sgtin, grai, gdti, sgcn, cpi, itip, upui",
            ));
        }
        parse_body(uri, form, scheme, body)
    }
}

fn parse_body(uri: &str, form: EpcForm, scheme: EpcScheme, body: &str) -> Result<Epc, IdError> {
    let shape = scheme.shape();
    let tail_parts = match (form, shape.tail) {
        (EpcForm::Pattern, Tail::Itip) => 3,
        (EpcForm::Pattern, _) => 1,
        (_, Tail::None) => 0,
        (_, Tail::Itip) => 3,
        (_, Tail::Text { .. } | Tail::Digits { .. }) => 1,
    };
    let want = 2 + tail_parts;
    let parts: Vec<&str> = body.splitn(want, '.').collect();
    if parts.len() != want {
        return Err(IdError::syntax(WHAT, uri, parts_rule(form, scheme)));
    }
    let [cp, reference, tail @ ..] = parts.as_slice() else {
        return Err(IdError::syntax(WHAT, uri, parts_rule(form, scheme)));
    };
    let ctx = |e: IdError| e.within(uri);

    require_digits("company prefix", cp).map_err(ctx)?;
    if !(6..=12).contains(&cp.len()) {
        return Err(ctx(IdError::length(
            "company prefix",
            cp,
            "EPC URIs need a GS1 company prefix of 6 to 12 digits",
        )));
    }
    let key = match shape.digits {
        Some(total) => {
            if !reference.is_empty() || total > cp.len() {
                require_digits(shape.reference, reference).map_err(ctx)?;
            }
            if cp.len() + reference.len() != total {
                return Err(ctx(IdError::length(
                    shape.reference,
                    reference,
                    shape.reference_rule,
                )));
            }
            Epc::key_from_digits(shape.lead, cp, reference)
        }
        None => {
            let decoded = epc_unescape(shape.reference, reference).map_err(ctx)?;
            let (set, allowed): (&'static str, fn(u8) -> bool) = if scheme == EpcScheme::Cpi {
                (CSET39, is_cset39)
            } else {
                (CSET82, is_cset82)
            };
            if decoded.is_empty() {
                return Err(ctx(IdError::Empty {
                    field: shape.reference,
                }));
            }
            if let Some(c) = decoded
                .chars()
                .find(|&c| !u8::try_from(c).is_ok_and(allowed))
            {
                return Err(ctx(IdError::charset(shape.reference, &decoded, c, set)));
            }
            let mut key = String::with_capacity(30);
            key.push_str(cp);
            key.push_str(&decoded);
            if key.len() > 30 {
                return Err(ctx(IdError::length(
                    shape.reference,
                    &key,
                    shape.reference_rule,
                )));
            }
            key
        }
    };

    if form == EpcForm::Pattern {
        return pattern(uri, scheme, cp.len(), key, tail);
    }
    let (key, extra) = match (shape.tail, tail) {
        (Tail::None, []) => (key, None),
        (Tail::Text { field, max, rule }, [text]) => {
            let decoded = epc_unescape(field, text).map_err(ctx)?;
            check_x(field, &decoded, max, rule).map_err(ctx)?;
            (key, Some(decoded.into_owned()))
        }
        (Tail::Digits { field, max, rule }, [digits]) => {
            require_digits(field, digits).map_err(ctx)?;
            if digits.len() > max {
                return Err(ctx(IdError::length(field, digits, rule)));
            }
            (key, Some((*digits).to_owned()))
        }
        (Tail::Itip, [piece, total, serial]) => {
            let key = itip_key(key, piece, total).map_err(ctx)?;
            let decoded = epc_unescape("serial", serial).map_err(ctx)?;
            check_x("serial", &decoded, 20, "a serial has at most 20 characters").map_err(ctx)?;
            (key, Some(decoded.into_owned()))
        }
        _ => return Err(IdError::syntax(WHAT, uri, parts_rule(form, scheme))),
    };
    Ok(Epc {
        form,
        scheme,
        cp_len: cp.len(),
        key,
        extra,
    })
}

fn pattern(
    uri: &str,
    scheme: EpcScheme,
    cp_len: usize,
    key: String,
    tail: &[&str],
) -> Result<Epc, IdError> {
    let key = match tail {
        ["*"] => key,
        [piece, total, "*"] => itip_key(key, piece, total).map_err(|e| e.within(uri))?,
        _ => {
            return Err(IdError::unsupported(
                WHAT,
                uri,
                "only patterns whose last part alone is '*' are supported (e.g. \
                 urn:epc:idpat:sgtin:0614141.812345.*)",
            ));
        }
    };
    Ok(Epc {
        form: EpcForm::Pattern,
        scheme,
        cp_len,
        key,
        extra: None,
    })
}

/// The AI 8006 value: GTIN-14, piece, total.
fn itip_key(mut gtin: String, piece: &str, total: &str) -> Result<String, IdError> {
    for (field, v) in [("piece", piece), ("total", total)] {
        require_digits(field, v)?;
        if v.len() != 2 {
            return Err(IdError::length(
                field,
                v,
                "an ITIP piece and total have 2 digits each",
            ));
        }
    }
    gtin.push_str(piece);
    gtin.push_str(total);
    Ok(gtin)
}

fn parts_rule(form: EpcForm, scheme: EpcScheme) -> String {
    let shape = scheme.shape();
    let mut rule = format!(
        "{} {} URI has the parts CompanyPrefix.{}",
        a_or_an(scheme),
        scheme.name().to_uppercase(),
        camel(shape.reference)
    );
    match (form, shape.tail) {
        (EpcForm::Pattern, Tail::Itip) => rule.push_str(".Piece.Total.*"),
        (EpcForm::Pattern, _) => rule.push_str(".*"),
        (_, Tail::Itip) => rule.push_str(".Piece.Total.Serial"),
        (_, Tail::Text { field, .. } | Tail::Digits { field, .. }) => {
            rule.push('.');
            rule.push_str(&camel(field));
        }
        (_, Tail::None) => {}
    }
    rule
}

fn a_or_an(scheme: EpcScheme) -> &'static str {
    match scheme.name().bytes().next() {
        Some(b's') => "an",
        _ => "a",
    }
}

/// `item reference` → `ItemReference`.
fn camel(words: &str) -> String {
    words
        .split([' ', '/'])
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::id::normalise;

    fn ok(uri: &str) -> Epc {
        Epc::parse(uri).unwrap_or_else(|e| panic!("{uri}: {e}"))
    }

    #[test]
    fn every_scheme_round_trips_and_converts() {
        // (URI, canonical Digital Link)
        let cases = [
            (
                "urn:epc:id:sgtin:0614141.812345.6789%2F%26%25%22!%3F()",
                "https://id.gs1.org/01/80614141123458/21/6789%2F%26%25%22%21%3F%28%29",
            ),
            (
                "urn:epc:id:sgtin:415056789012.0.987654",
                "https://id.gs1.org/01/04150567890128/21/987654",
            ),
            (
                "urn:epc:id:sscc:4012345.3111111111",
                "https://id.gs1.org/00/340123451111111111",
            ),
            (
                "urn:epc:id:sgln:4012345.00005.122",
                "https://id.gs1.org/414/4012345000054/254/122",
            ),
            (
                "urn:epc:id:sgln:4012345.00005.0",
                "https://id.gs1.org/414/4012345000054",
            ),
            (
                "urn:epc:id:pgln:999999999999.",
                "https://id.gs1.org/417/9999999999994",
            ),
            (
                "urn:epc:id:grai:4012345.00022.334455",
                "https://id.gs1.org/8003/04012345000221334455",
            ),
            (
                "urn:epc:id:giai:4012345.ABC345",
                "https://id.gs1.org/8004/4012345ABC345",
            ),
            (
                "urn:epc:id:gsrn:4012345.0000006765",
                "https://id.gs1.org/8018/401234500000067657",
            ),
            (
                "urn:epc:id:gsrnp:4012345.0000000007",
                "https://id.gs1.org/8017/401234500000000074",
            ),
            (
                "urn:epc:id:gdti:4012345.00009.PO-4711",
                "https://id.gs1.org/253/4012345000092PO-4711",
            ),
            (
                "urn:epc:id:gdti:987659999999..9",
                "https://id.gs1.org/253/98765999999929",
            ),
            (
                "urn:epc:id:cpi:0614141.11111111111111-A%23%2F.1234",
                "https://id.gs1.org/8010/061414111111111111111-A%23%2F/8011/1234",
            ),
            (
                "urn:epc:id:sgcn:4012345.67890.04711",
                "https://id.gs1.org/255/401234567890104711",
            ),
            (
                "urn:epc:id:ginc:0614141.xyz47%2F11",
                "https://id.gs1.org/401/0614141xyz47%2F11",
            ),
            (
                "urn:epc:id:gsin:4012345.222333444",
                "https://id.gs1.org/402/40123452223334442",
            ),
            (
                "urn:epc:id:itip:4012345.011111.01.02.987",
                "https://id.gs1.org/8006/040123451111180102/21/987",
            ),
            (
                "urn:epc:id:upui:1234567.098765.51qIgY)%3C%26Jp3*j7SDB",
                "https://id.gs1.org/01/01234567987651/235/51qIgY%29%3C%26Jp3%2Aj7SDB",
            ),
            (
                "urn:epc:class:lgtin:4012345.012345.Lot987",
                "https://id.gs1.org/01/04012345123456/10/Lot987",
            ),
            (
                "urn:epc:idpat:sgtin:4012345.012345.*",
                "https://id.gs1.org/01/04012345123456",
            ),
            (
                "urn:epc:idpat:grai:4012345.99999.*",
                "https://id.gs1.org/8003/04012345999990",
            ),
            (
                "urn:epc:idpat:gdti:4012345.11111.*",
                "https://id.gs1.org/253/4012345111118",
            ),
            (
                "urn:epc:idpat:sgcn:4012345.22222.*",
                "https://id.gs1.org/255/4012345222227",
            ),
            (
                "urn:epc:idpat:cpi:4012345.AB12.*",
                "https://id.gs1.org/8010/4012345AB12",
            ),
            (
                "urn:epc:idpat:itip:4012345.012345.01.02.*",
                "https://id.gs1.org/8006/040123451234560102",
            ),
            (
                "urn:epc:idpat:upui:4012345.012345.*",
                "https://id.gs1.org/01/04012345123456",
            ),
        ];
        for (uri, dl) in cases {
            let e = ok(uri);
            assert_eq!(e.to_string(), uri, "display");
            assert_eq!(e.to_digital_link(), dl, "{uri}");
            assert_eq!(ok(&e.to_string()), e);
        }
    }

    #[test]
    fn accessors() {
        let e = ok("urn:epc:id:sgtin:0614141.812345.6789%2F");
        assert_eq!((e.scheme(), e.form()), (EpcScheme::Sgtin, EpcForm::Id));
        assert_eq!(e.company_prefix(), "0614141");
        assert_eq!(e.gtin().unwrap().as_str(), "80614141123458");
        assert_eq!(e.serial(), Some("6789/"));
        assert_eq!(e.key(), "80614141123458");
        let e = ok("urn:epc:id:sscc:4012345.3111111111");
        assert_eq!(e.company_prefix(), "4012345");
        assert_eq!(e.gtin(), None);
        let e = ok("urn:epc:id:itip:4012345.011111.01.02.987");
        assert_eq!(e.gtin().unwrap().as_str(), "04012345111118");
        assert_eq!(e.serial(), Some("987"));
        let e = ok("urn:epc:id:grai:4012345.00022.334455");
        assert_eq!(e.company_prefix(), "4012345");
        assert_eq!(e.serial(), Some("334455"));
        let e = ok("urn:epc:id:cpi:0614141.11-A%23%2F.1234");
        assert_eq!(e.key(), "061414111-A#/");
        assert_eq!(e.company_prefix(), "0614141");
    }

    #[test]
    fn errors_name_the_part_and_the_uri() {
        let e = Epc::parse("urn:epc:id:sgtin:0614141.107346.20 17").unwrap_err();
        assert_eq!(
            e.to_string(),
            r#"urn:epc:id:sgtin:0614141.107346.20 17: serial "20 17" contains ' ' (0x20), which is outside GS1 CSET 82"#
        );
        let e = Epc::parse("urn:epc:id:sgtin:0614141.10734.1").unwrap_err();
        assert_eq!(
            e.to_string(),
            r#"urn:epc:id:sgtin:0614141.10734.1: item reference "10734" has 5 characters; company prefix and indicator + item reference have 13 digits"#
        );
        let e = Epc::parse("urn:epc:id:sgtin:0614141.107346").unwrap_err();
        assert_eq!(
            e.to_string(),
            r#"EPC URI "urn:epc:id:sgtin:0614141.107346": an SGTIN URI has the parts CompanyPrefix.ItemReference.Serial"#
        );
        let e = Epc::parse("urn:epc:id:sgtin:0614141.107346.a/b").unwrap_err();
        assert!(
            matches!(e.root(), IdError::Unescaped { found: '/', .. }),
            "{e}"
        );
        let e = Epc::parse("urn:epc:id:sgtin:06141.1073468.1").unwrap_err();
        assert!(e.to_string().contains("6 to 12 digits"), "{e}");
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        let bad = [
            "",
            "urn",
            "urn:epc:",
            "urn:epc:id:",
            "urn:epc:id:sgtin",
            "urn:epc:id:sgtin:",
            "urn:epc:id:sgtin:.",
            "urn:epc:id:sgtin:..",
            "urn:epc:id:sgtin:0614141.812345.",
            "urn:epc:id:sgtin:0614141.812345.%",
            "urn:epc:id:sgtin:0614141.812345.%2",
            "urn:epc:id:sgtin:0614141.812345.%zz",
            "urn:epc:id:sgtin:0614141.812345.é",
            "urn:epc:id:sgtin:٠٦١٤١٤١.812345.1",
            "urn:epc:id:sgtin:0614141.812345.123456789012345678901",
            "URN:EPC:ID:SGTIN:0614141.812345.1",
            "urn:epc:id:lgtin:0614141.812345.1",
            "urn:epc:class:sgtin:0614141.812345.1",
            "urn:epc:idpat:sgtin:0614141.*.*",
            "urn:epc:idpat:sscc:0614141.*",
            "urn:epc:id:foo:1.2",
            "urn:epc:id:sscc:4012345.311111111",
            "urn:epc:id:sscc:4012345.3111111111.1",
            "urn:epc:id:sgln:4012345.00005",
            "urn:epc:id:giai:4012345.",
            "urn:epc:id:giai:4012345.%2",
            "urn:epc:id:giai:4012345.12345678901234567890123X",
            "urn:epc:id:cpi:0614141.abc.1",
            "urn:epc:id:cpi:0614141.AB.1x",
            "urn:epc:id:cpi:0614141.AB.1234567890123",
            "urn:epc:id:itip:4012345.011111.1.02.987",
            "urn:epc:id:itip:4012345.011111.01.02",
            "urn:epc:id:grai:4012345.00022.12345678901234567",
            "urn:epc:id:sgcn:4012345.67890.x",
            "urn:epc:id:sgtin:0614141.812345.20\u{0}17",
            "urn:epc:id:sgtin:0614141.81234\u{e9}.1",
        ];
        for uri in bad {
            assert!(Epc::parse(uri).is_err(), "{uri:?} parsed");
        }
    }

    #[test]
    fn lenient_escapes_are_decoded_and_written_canonically() {
        let e = ok("urn:epc:id:sgtin:0614141.812345.%41b%2f");
        assert_eq!(e.serial(), Some("Ab/"));
        assert_eq!(e.to_string(), "urn:epc:id:sgtin:0614141.812345.Ab%2F");
    }

    #[test]
    fn serde_uses_the_uri() {
        let e: Epc = serde_json::from_str("\"urn:epc:id:sgtin:0614141.812345.1\"").unwrap();
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            "\"urn:epc:id:sgtin:0614141.812345.1\""
        );
        assert!(serde_json::from_str::<Epc>("\"urn:epc:id:sgtin:0614141.812345.\"").is_err());
    }

    const SERIAL: &str = "([!'()*+,\\-.0-9:;=A-Z_a-z]|%2[26F]|%25|%3[CEF]){1,16}";

    /// `urn:epc:{kind}:` + a company prefix of 6-12 digits + `.` + the rest of `total` digits +
    /// a tail drawn from `tail`.
    fn digits_uri(kind: &'static str, total: usize, tail: &str) -> BoxedStrategy<String> {
        let tail = tail.to_owned();
        (6usize..=12)
            .prop_flat_map(move |cp_len| {
                let digits = format!(
                    "urn:epc:{kind}:[0-9]{{{cp_len}}}\\.[0-9]{{{}}}{tail}",
                    total - cp_len
                );
                proptest::string::string_regex(&digits).unwrap()
            })
            .boxed()
    }

    /// `urn:epc:{kind}:` + a company prefix of 6-12 digits + `.` + a tail drawn from `tail`.
    fn text_uri(kind: &'static str, tail: &'static str) -> BoxedStrategy<String> {
        proptest::string::string_regex(&format!("urn:epc:{kind}:[0-9]{{6,12}}\\.{tail}"))
            .unwrap()
            .boxed()
    }

    /// Valid EPC URIs of every scheme and form (with canonical escapes).
    fn epc_like() -> impl Strategy<Value = String> {
        let serial = format!("\\.{SERIAL}");
        let serial: &'static str = Box::leak(serial.into_boxed_str());
        let itip: &'static str =
            Box::leak(format!("\\.[0-9]{{2}}\\.[0-9]{{2}}\\.{SERIAL}").into_boxed_str());
        prop_oneof![
            digits_uri("id:sgtin", 13, serial),
            digits_uri("id:sscc", 17, ""),
            digits_uri("id:sgln", 12, serial),
            digits_uri("id:pgln", 12, ""),
            digits_uri("id:grai", 12, serial),
            text_uri("id:giai", "([!'()*+,\\-.0-9:;=A-Z_a-z]|%2F){1,18}"),
            digits_uri("id:gsrn", 17, ""),
            digits_uri("id:gsrnp", 17, ""),
            digits_uri("id:gdti", 12, serial),
            text_uri("id:cpi", "[0-9A-Z\\-]{1,10}(%23|%2F)?\\.[0-9]{1,12}"),
            digits_uri("id:sgcn", 12, "\\.[0-9]{1,12}"),
            text_uri("id:ginc", "([!'()*+,\\-.0-9:;=A-Z_a-z]|%2F){1,18}"),
            digits_uri("id:gsin", 16, ""),
            digits_uri("id:itip", 13, itip),
            digits_uri("id:upui", 13, serial),
            digits_uri("class:lgtin", 13, serial),
            digits_uri("idpat:sgtin", 13, "\\.\\*"),
            digits_uri("idpat:upui", 13, "\\.\\*"),
            digits_uri("idpat:grai", 12, "\\.\\*"),
            digits_uri("idpat:gdti", 12, "\\.\\*"),
            digits_uri("idpat:sgcn", 12, "\\.\\*"),
            digits_uri("idpat:itip", 13, "\\.[0-9]{2}\\.[0-9]{2}\\.\\*"),
            text_uri("idpat:cpi", "[0-9A-Z\\-]{1,10}(%23|%2F)?\\.\\*"),
        ]
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,60}") {
            for prefix in ["", "urn:epc:id:sgtin:", "urn:epc:id:cpi:0614141.", "urn:epc:idpat:itip:4012345.012345."] {
                if let Ok(e) = Epc::parse(&format!("{prefix}{s}")) {
                    let _ = e.to_digital_link();
                    prop_assert_eq!(Epc::parse(&e.to_string()).unwrap(), e);
                }
            }
        }

        /// Every parsed EPC re-parses from its display, and the reference normaliser maps that
        /// display to our Digital Link — except where the reference wants a third dot after a
        /// 12-digit company prefix (GRAI, and GRAI/GDTI/SGCN patterns), where it gives `None`.
        #[test]
        fn display_round_trips_and_matches_the_normaliser(uri in epc_like()) {
            let e = Epc::parse(&uri).unwrap();
            let shown = e.to_string();
            prop_assert_eq!(&Epc::parse(&shown).unwrap(), &e);
            let quirk = e.company_prefix().len() == 12
                && (e.scheme() == EpcScheme::Grai
                    || (e.form() == EpcForm::Pattern && matches!(e.scheme(), EpcScheme::Gdti | EpcScheme::Sgcn)));
            let expected = if quirk { None } else { Some(e.to_digital_link()) };
            prop_assert_eq!(normalise(&shown), expected, "{}", shown);
        }
    }
}
