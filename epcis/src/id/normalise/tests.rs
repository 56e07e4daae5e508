//! Tests of [`super::normalise`]: the 71 reference vectors, the reference's quirks, and
//! properties.

use proptest::prelude::*;

use super::web::cut_qualifier;
use super::*;
use crate::id::Epc;

const VECTORS: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/epcis-reference/event-hash/dl-normaliser-vectors.tsv"
));

#[test]
fn all_reference_vectors() {
    let mut failures = Vec::new();
    let mut count = 0;
    for line in VECTORS
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let mut cols = line.split('\t');
        let (Some(group), Some(input), Some(expected)) = (cols.next(), cols.next(), cols.next())
        else {
            failures.push(format!("malformed line {line:?}"));
            continue;
        };
        count += 1;
        let expected = (expected != "(None)").then(|| expected.to_owned());
        let got = normalise(input);
        if got != expected {
            failures.push(format!(
                "{group}: {input:?}\n   expected {expected:?}\n   got      {got:?}"
            ));
        }
    }
    assert_eq!(count, 71, "vector count");
    assert!(
        failures.is_empty(),
        "{} of {count} vectors fail:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn non_identifiers_are_none() {
    for v in [
        "",
        "urn:epcglobal:cbv:bizstep:shipping",
        "https://ref.gs1.org/cbv/BizStep-shipping",
        "urn:epcglobal:cbv:bt:0614141000005:PO-1",
        "geo:47.506,19.07",
        "2024-01-01T00:00:00.000Z",
        "42.5",
        "urn:epc:id:sgtin:0614141812345",
        "http://localhost/01/09780345418913",
        "https://id.gs1.org/01/09780345418913#frag",
        "ftp://id.gs1.org/01/09780345418913",
        "HTTPS://id.gs1.org/01/09780345418913",
        "https://id.gs1.org/01/09780345418913/21/98%22",
    ] {
        assert_eq!(normalise(v), None, "{v:?}");
    }
}

#[test]
fn epc_quirks_of_the_reference() {
    let cases = [
        // Escapes are kept as written, lower case included.
        (
            "urn:epc:id:sgtin:0614141.812345.a%2fb",
            Some("https://id.gs1.org/01/80614141123458/21/a%2fb"),
        ),
        // GDTI: the character after the document type is skipped whatever it is.
        (
            "urn:epc:id:gdti:4012345.00009XPO",
            Some("https://id.gs1.org/253/4012345000092PO"),
        ),
        (
            "urn:epc:id:gdti:4012345.00009.",
            Some("https://id.gs1.org/253/4012345000092"),
        ),
        // GRAI with a 12-digit company prefix needs three dots; the third stays in the serial.
        (
            "urn:epc:id:grai:123456789012...X",
            Some("https://id.gs1.org/8003/01234567890128.X"),
        ),
        ("urn:epc:id:grai:123456789012..X", None),
        (
            "urn:epc:idpat:grai:123456789012...*",
            Some("https://id.gs1.org/8003/01234567890128"),
        ),
        (
            "urn:epc:idpat:sgcn:123456789012...*",
            Some("https://id.gs1.org/255/1234567890128"),
        ),
        // SGLN extension "0" is dropped, "00" is not.
        (
            "urn:epc:id:sgln:4012345.00005.00",
            Some("https://id.gs1.org/414/4012345000054/254/00"),
        ),
        (
            "urn:epc:id:sgln:401234500005..1",
            Some("https://id.gs1.org/414/4012345000054/254/1"),
        ),
        // Limits: 20 serial characters, an escape counting as one.
        (
            "urn:epc:id:sgtin:0614141.812345.%2F%2F%2F%2F%2F%2F%2F%2F%2F%2F%2F%2F%2F%2F%2F%2F%2F%2F%2F%2F",
            Some(
                "https://id.gs1.org/01/80614141123458/21/%2F%2F%2F%2F%2F%2F%2F%2F%2F%2F%2F%2F%2F%2F%2F%2F%2F%2F%2F%2F",
            ),
        ),
        (
            "urn:epc:id:sgtin:0614141.812345.123456789012345678901",
            None,
        ),
        ("urn:epc:id:sgtin:0614141.812345.%40", None),
        ("urn:epc:id:sgtin:0614141.812345.%2", None),
        ("urn:epc:id:sgtin:0614141.812345.a/b", None),
        ("urn:epc:id:sgtin:0614141.812345.", None),
        ("urn:epc:id:sgtin:06141.8123456.1", None),
        (
            "urn:epc:id:gdti:4012345.00009.%2FX",
            Some("https://id.gs1.org/253/4012345000092%2FX"),
        ),
        (
            "urn:epc:id:cpi:0614141.A%2d.1",
            Some("https://id.gs1.org/8010/0614141A%2d/8011/1"),
        ),
        ("urn:epc:id:cpi:0614141.a.1", None),
        ("urn:epc:id:cpi:0614141.A.1234567890123", None),
        (
            "urn:epc:id:giai:0614141.a:b",
            Some("https://id.gs1.org/8004/0614141a%3Ab"),
        ),
        ("urn:epc:id:giai:0614141.", None),
        ("urn:epc:idpat:itip:4012345.012345.01.2.*", None),
        ("urn:epc:id:itip:4012345.011111.01.02.", None),
    ];
    for (input, expected) in cases {
        assert_eq!(normalise(input).as_deref(), expected, "{input:?}");
    }
}

#[test]
fn digital_link_quirks_of_the_reference() {
    let cases = [
        // The dots of id.gs1.org are wildcards (the input still needs a '.' somewhere).
        (
            "https://idXgs1Yorg/01/09780345418913/10/A.B",
            Some("https://idXgs1Yorg/01/09780345418913/10/A.B"),
        ),
        (
            "https://id€gs1€org/01/09780345418913/21/x.y",
            Some("https://id€gs1€org/01/09780345418913/21/x.y"),
        ),
        ("https://idXgs1Yorg/01/09780345418913", None),
        (
            "https://idXgs1Yorg.example/01/09780345418913",
            Some("https://id.gs1.org/01/09780345418913"),
        ),
        // A short name anywhere is replaced; the first key in priority order re-hosts.
        (
            "https://example.com/a/gtin/09780345418913/ser/1",
            Some("https://id.gs1.org/01/09780345418913/21/1"),
        ),
        ("https://example.com/01/09780345418913/21/00/", None),
        // GTIN of 9 digits is padded like a GTIN-8, then rejected.
        ("https://id.gs1.org/01/123456789", None),
        // CPV followed by qualifiers of more than 20 characters in all is not normalisable.
        (
            "https://id.gs1.org/01/09780345418913/22/1/10/1223/21/765tzABCDEF",
            None,
        ),
        (
            "https://id.gs1.org/01/09780345418913/22/1/10/1223/21/765tz",
            Some("https://id.gs1.org/01/09780345418913/21/765tz"),
        ),
        (
            "https://id.gs1.org/01/09780345418913/22/",
            Some("https://id.gs1.org/01/09780345418913"),
        ),
        (
            "https://id.gs1.org/01/09780345418913/10//21/",
            Some("https://id.gs1.org/01/09780345418913/21/"),
        ),
        (
            "https://id.gs1.org/01/09780345418913?17=261231#x",
            Some("https://id.gs1.org/01/09780345418913"),
        ),
        (
            "https://id.gs1.org/8010/0628165987/8011/9876",
            Some("https://id.gs1.org/8010/0628165987/8011/9876"),
        ),
        (
            "https://id.gs1.org/8010/0628165987/8011/8011/1",
            Some("https://id.gs1.org/8010/0628165987/8011/8011/1"),
        ),
        (
            "https://id.gs1.org/8010/0628165987/8011/8011/1234567890123456",
            None,
        ),
        (
            "https://id.gs1.org/8010/06281/8011/8011/",
            Some("https://id.gs1.org/8010/06281/8011/8011/"),
        ),
        (
            "https://id.gs1.org/401/0614141xyz",
            Some("https://id.gs1.org/401/0614141xyz"),
        ),
        (
            "https://id.gs1.org/414/4012345000054/254/",
            Some("https://id.gs1.org/414/4012345000054/254/"),
        ),
        (
            "https://id.gs1.org/253/4602443000331",
            Some("https://id.gs1.org/253/4602443000331"),
        ),
        ("https://id.gs1.org/01/0978034541891é", None),
        ("https://id.gs1.org/01/09780345418913/21/é", None),
    ];
    for (input, expected) in cases {
        assert_eq!(normalise(input).as_deref(), expected, "{input:?}");
    }
}

/// Where we differ from the reference on purpose; the comment gives the reference's output.
#[test]
fn deliberate_divergences() {
    // Python's `$` matches before a trailing newline: "https://id.gs1.org/01/80614141123458/21/1\n".
    assert_eq!(normalise("urn:epc:id:sgtin:0614141.812345.1\n"), None);
    // "https://id.gs1.org/01/09780345418913/21/765tz\n"
    assert_eq!(
        normalise("https://id.gs1.org/01/09780345418913/21/765tz\n"),
        None
    );
    // Python's `\d` matches any Unicode digit: "https://id.gs1.org/01/8٠٦١٤١٤١123458/21/1".
    assert_eq!(normalise("urn:epc:id:sgtin:٠٦١٤١٤١.812345.1"), None);
    // "https://id.gs1.org/01/٠٩٧٨٠٣٤٥٤١٨٩١٣"
    assert_eq!(normalise("https://a.b/01/٠٩٧٨٠٣٤٥٤١٨٩١٣"), None);
}

#[test]
fn cut_qualifier_follows_python_slices() {
    let mut s = String::from("a/22/xyz");
    cut_qualifier(&mut s, "/22/", false);
    assert_eq!(s, "az");
    let mut s = String::from("a/22/xyz");
    cut_qualifier(&mut s, "/22/", true);
    assert_eq!(s, "a");
    let mut s = String::from("a/22/");
    cut_qualifier(&mut s, "/22/", true);
    assert_eq!(s, "a");
    let mut s = String::from("a/22/x/y");
    cut_qualifier(&mut s, "/22/", true);
    assert_eq!(s, "a/");
}

#[test]
fn pathological_input_stays_linear() {
    let start = std::time::Instant::now();
    let inputs = [
        format!("https://x.y{}", "/01/12345".repeat(100_000)),
        format!("https://x.y{}", "/gtin/".repeat(100_000)),
        format!("https://x.y/01/09780345418913/21/{}", "a".repeat(1_000_000)),
        format!("urn:epc:id:sgtin:0614141.812345.{}", "%2F".repeat(300_000)),
        format!("urn:epc:id:giai:0614141.{}", ".".repeat(1_000_000)),
        "/".repeat(1_000_000) + ".",
    ];
    for input in &inputs {
        let _ = normalise(input);
        let _ = crate::id::DigitalLink::parse(input);
        let _ = Epc::parse(input);
    }
    assert!(start.elapsed().as_secs() < 10, "took {:?}", start.elapsed());
}

/// Company prefix length and digits of a GTIN-based EPC URI, plus a serial.
fn sgtin_parts() -> impl Strategy<Value = (String, String, String)> {
    (6usize..=12).prop_flat_map(|cp_len| {
        (
            proptest::string::string_regex(&format!("[0-9]{{{cp_len}}}")).unwrap(),
            proptest::string::string_regex(&format!("[0-9]{{{}}}", 13 - cp_len)).unwrap(),
            "[!\"%&'()*+,\\-./0-9:;<=>?A-Z_a-z]{1,20}",
        )
    })
}

proptest! {
    #[test]
    fn never_panics(s in "\\PC{0,80}") {
        let _ = normalise(&s);
        for prefix in ["urn:epc:id:sgtin:", "urn:epc:id:gdti:", "urn:epc:idpat:itip:", "https://id.gs1.org/01/", "http://x.y/gtin/"] {
            let _ = normalise(&format!("{prefix}{s}"));
        }
    }

    #[test]
    fn never_panics_on_near_miss_structure(s in "[0-9./%*A-Za-z:?#2]{0,50}") {
        for prefix in ["urn:epc:id:sgtin:0614141.", "urn:epc:id:cpi:", "urn:epc:id:grai:123456789012.", "https://id.gs1.org/8010/", "https://id.gs1.org/01/0978034541891"] {
            let _ = normalise(&format!("{prefix}{s}"));
        }
    }

    /// For canonically escaped CSET 82 serials our own Epc conversion agrees with the reference.
    #[test]
    fn agrees_with_epc_to_digital_link((cp, reference, serial) in sgtin_parts()) {
        let uri = format!("urn:epc:id:sgtin:{cp}.{reference}.{}", crate::id::charset::epc_escape(&serial));
        let epc = Epc::parse(&uri).unwrap();
        prop_assert_eq!(&epc.to_string(), &uri);
        let dl = epc.to_digital_link();
        prop_assert_eq!(normalise(&uri), Some(dl.clone()));
        // Digital Links pass the reference's whitelist only without percent-escapes.
        if !dl.contains('%') {
            let again = normalise(&dl);
            prop_assert_eq!(again.as_deref(), Some(dl.as_str()));
        }
    }
}
