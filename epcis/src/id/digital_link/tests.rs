//! Tests of [`super::DigitalLink`].

use proptest::prelude::*;

use super::*;
use crate::id::CompanyPrefixTable;

fn ok(uri: &str) -> DigitalLink {
    DigitalLink::parse(uri).unwrap_or_else(|e| panic!("{uri}: {e}"))
}

fn table(prefixes: &[&str]) -> CompanyPrefixTable {
    let mut t = CompanyPrefixTable::new();
    prefixes.iter().for_each(|p| t.insert(p).unwrap());
    t
}

#[test]
fn gtin_with_qualifiers_and_expiry() {
    let d = ok("https://id.gs1.org/01/09506000134352/10/ABC/21/12%2F3?17=261200&linkType=gs1:pip");
    assert_eq!(d.gtin().unwrap().as_str(), "09506000134352");
    assert_eq!(
        (d.lot(), d.serial(), d.cpv()),
        (Some("ABC"), Some("12/3"), None)
    );
    assert_eq!(d.expiry().unwrap().to_string(), "261200");
    assert_eq!(d.key().ai(), "01");
    assert_eq!(
        d.to_string(),
        "https://id.gs1.org/01/09506000134352/10/ABC/21/12%2F3?17=261200"
    );
    assert_eq!(ok(&d.to_string()), d);
}

#[test]
fn short_names_path_prefix_and_short_gtins() {
    let d = ok(
        "HTTPS://brand.example.com/some/path/gtin/9506000134352/cpv/X1/lot/L1/ser/7/?exp=261231#top",
    );
    assert_eq!(d.gtin().unwrap().as_str(), "09506000134352");
    assert_eq!(
        (d.cpv(), d.lot(), d.serial()),
        (Some("X1"), Some("L1"), Some("7"))
    );
    assert_eq!(d.expiry().unwrap().day(), Some(31));
    assert_eq!(
        d.to_string(),
        "https://id.gs1.org/01/09506000134352/22/X1/10/L1/21/7?17=261231"
    );
    let d = ok("http://example.com/01/96385074");
    assert_eq!(d.gtin().unwrap().as_str(), "00000096385074");
}

#[test]
fn sscc_and_glns() {
    let d = ok("https://id.gs1.org/00/340123451111111111");
    assert_eq!(d.sscc().unwrap().as_str(), "340123451111111111");
    let d = ok("https://example.com/gln/4012345000054/254/122");
    assert_eq!(d.gln().unwrap().as_str(), "4012345000054");
    assert_eq!(d.gln_extension(), Some("122"));
    assert_eq!(
        d.to_string(),
        "https://id.gs1.org/414/4012345000054/254/122"
    );
    let d = ok("https://example.com/party/4012345000054");
    assert!(matches!(d.key(), PrimaryKey::Party(_)));
    assert_eq!(d.to_string(), "https://id.gs1.org/417/4012345000054");
}

#[test]
fn to_epc_urn_uses_the_company_prefix_table() {
    let t = table(&["030001", "4012345"]);
    let cases = [
        (
            "https://id.gs1.org/01/00300010123455/21/ABC",
            "urn:epc:id:sgtin:030001.0012345.ABC",
        ),
        (
            "https://id.gs1.org/01/00300010123455/10/L%2F1/21/S1",
            "urn:epc:id:sgtin:030001.0012345.S1",
        ),
        (
            "https://id.gs1.org/01/00300010123455/10/L%2F1",
            "urn:epc:class:lgtin:030001.0012345.L%2F1",
        ),
        (
            "https://id.gs1.org/01/00300010123455",
            "urn:epc:idpat:sgtin:030001.0012345.*",
        ),
        (
            "https://id.gs1.org/00/340123451111111111",
            "urn:epc:id:sscc:4012345.3111111111",
        ),
        (
            "https://id.gs1.org/414/4012345000054",
            "urn:epc:id:sgln:4012345.00005.0",
        ),
        (
            "https://id.gs1.org/414/4012345000054/254/122",
            "urn:epc:id:sgln:4012345.00005.122",
        ),
        (
            "https://id.gs1.org/417/4012345000054",
            "urn:epc:id:pgln:4012345.00005",
        ),
    ];
    for (dl, urn) in cases {
        assert_eq!(ok(dl).to_epc_urn(&t).unwrap(), urn, "{dl}");
        // And back: the EPC's own Digital Link converts to the same EPC.
        let epc = Epc::parse(urn).unwrap();
        assert_eq!(
            ok(&epc.to_digital_link()).to_epc_urn(&t).unwrap(),
            urn,
            "{urn}"
        );
    }
}

#[test]
fn unknown_company_prefix_says_what_to_do() {
    let e = ok("https://id.gs1.org/01/00300010123455/21/1")
        .to_epc_urn(&CompanyPrefixTable::new())
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "company prefix length unknown for GTIN 00300010123455: add the product's master data \
         (EPCClass) or configure its GS1 company prefix"
    );
    let bad_source = |_: &str| Some(3);
    assert!(
        ok("https://id.gs1.org/01/00300010123455")
            .to_epc_urn(&bad_source)
            .is_err()
    );
}

#[test]
fn errors() {
    let cases = [
        ("", "starts with https://"),
        ("urn:epc:id:sgtin:0614141.812345.1", "starts with https://"),
        ("ftp://id.gs1.org/01/09506000134352", "starts with https://"),
        ("https:///01/09506000134352", "host"),
        ("https://id.gs1.org", "no primary key"),
        ("https://id.gs1.org/", "no primary key"),
        ("https://id.gs1.org/abc/09506000134352", "no primary key"),
        ("https://id.gs1.org/01", "no value"),
        ("https://id.gs1.org/01/", "no value"),
        ("https://id.gs1.org/01/09506000134353", "check digit"),
        ("https://id.gs1.org/01/09506000134", "characters"),
        ("https://id.gs1.org/01/09506000134352/21", "no value"),
        (
            "https://id.gs1.org/01/09506000134352/21/1/10/L",
            "in that order",
        ),
        (
            "https://id.gs1.org/01/09506000134352/21/1/21/2",
            "in that order",
        ),
        (
            "https://id.gs1.org/01/09506000134352/99/1",
            "not a key qualifier",
        ),
        (
            "https://id.gs1.org/00/340123451111111111/21/1",
            "not a key qualifier",
        ),
        ("https://id.gs1.org/01/09506000134352/21/20%2017", "CSET 82"),
        (
            "https://id.gs1.org/01/09506000134352/21/%E2%82%AC",
            "CSET 82",
        ),
        (
            "https://id.gs1.org/01/09506000134352/21/%",
            "percent-escape",
        ),
        ("https://id.gs1.org/01/09506000134352/21/%C3", "not UTF-8"),
        (
            "https://id.gs1.org/01/09506000134352/21/123456789012345678901",
            "at most 20",
        ),
        ("https://id.gs1.org/01/09506000134352/21/", "no value"),
        ("https://id.gs1.org/01/09506000134352/21//", "empty"),
        (
            "https://id.gs1.org/8006/040123451234560102",
            "not supported",
        ),
        ("https://id.gs1.org/01/09506000134352?17=261300", "month 13"),
        (
            "https://id.gs1.org/01/09506000134352?17=261201&exp=261202",
            "two different",
        ),
        ("https://id.gs1.org/01/٠٩٥٠٦٠٠٠١٣٤٣٥٢", "digits"),
    ];
    for (uri, needle) in cases {
        match DigitalLink::parse(uri) {
            Ok(d) => panic!("{uri:?} parsed as {d:?}"),
            Err(e) => assert!(e.to_string().contains(needle), "{uri:?}: {e}"),
        }
    }
}

#[test]
fn serde_uses_the_canonical_uri() {
    let d: DigitalLink =
        serde_json::from_str("\"https://example.com/gtin/9506000134352/ser/1\"").unwrap();
    assert_eq!(
        serde_json::to_string(&d).unwrap(),
        "\"https://id.gs1.org/01/09506000134352/21/1\""
    );
}

proptest! {
    #[test]
    fn never_panics(s in "\\PC{0,80}") {
        let _ = DigitalLink::parse(&s);
        let _ = DigitalLink::parse(&format!("https://id.gs1.org/01/{s}"));
        if let Ok(d) = DigitalLink::parse(&format!("https://id.gs1.org/01/09506000134352/21/{s}")) {
            prop_assert_eq!(&DigitalLink::parse(&d.to_string()).unwrap(), &d);
            let _ = d.to_epc_urn(&|_: &str| Some(7));
        }
    }

    #[test]
    fn display_round_trips(lot in "[!\"%&'()*+,\\-./0-9:;<=>?A-Z_a-z]{1,20}", serial in "[!\"%&'()*+,\\-./0-9:;<=>?A-Z_a-z]{1,20}") {
        let uri = format!("https://id.gs1.org/01/09506000134352/10/{}/21/{}", dl_encode(&lot), dl_encode(&serial));
        let d = ok(&uri);
        prop_assert_eq!(d.lot(), Some(lot.as_str()));
        prop_assert_eq!(d.serial(), Some(serial.as_str()));
        prop_assert_eq!(d.to_string(), uri);
    }
}
