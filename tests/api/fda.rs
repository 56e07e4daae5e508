//! FDA records packages through the real server: a package for a serial (followed through its
//! containers), for a lot, for an NDC and lot; the CSV's rows are the trace's hops; the two
//! event files decode to the same events; a tampered package fails verification; producing a
//! package is audited; partners and auditors are refused, and a regulator's request makes the
//! products' events visible to it. And the command line: `dscsa fda export` and
//! `dscsa fda verify-package` with their exit codes.

use std::io::{Read as _, Write as _};
use std::process::Command;

use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, dscsa, exited, json, spawn_demo};

crate::on_both_backends!(
    packages_for_a_serial_a_lot_and_an_ndc_and_lot,
    only_staff_and_regulators_and_regulators_see_what_they_asked_for,
);

const GTIN: &str = "00614141100019";
const NDC: &str = "0614-1100-01";
const LOT: &str = "LOT2605R";

/// Submits a request as `who`, waits for its package, returns the job and the zip.
async fn produce(app: &TestApp, who: &str, body: Value) -> (Value, Vec<u8>) {
    let client = app.client(Some(&app.issue(who)));
    let response = client
        .post(format!("{}/fda/records-requests", app.base))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let job = json(response).await;
    assert_eq!(
        location,
        format!("/fda/records-requests/{}", job["id"].as_str().unwrap())
    );
    assert_eq!(job["status"], "pending");
    // The 24-hour clock runs from receipt.
    let received = dscsa_exchange::stored::micros(job["receivedAt"].as_str().unwrap()).unwrap();
    let deadline = dscsa_exchange::stored::micros(job["deadline"].as_str().unwrap()).unwrap();
    assert_eq!(deadline - received, 24 * 3600 * 1_000_000);
    let mut job = job;
    for _ in 0..300 {
        job = json(
            client
                .get(format!("{}{location}", app.base))
                .send()
                .await
                .unwrap(),
        )
        .await;
        if job["status"] != "pending" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(job["status"], "ready", "{job}");
    let response = client
        .get(format!("{}{location}/package", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/zip");
    let bytes = response.bytes().await.unwrap().to_vec();
    assert_eq!(
        job["packageSha256"],
        dscsa_exchange::audit::record::hex(&<sha2::Sha256 as sha2::Digest>::digest(&bytes))
    );
    (job, bytes)
}

/// Every entry of a zip, by name, in order.
pub(crate) fn unzip(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    (0..archive.len())
        .map(|i| {
            let mut f = archive.by_index(i).unwrap();
            let mut out = Vec::new();
            f.read_to_end(&mut out).unwrap();
            (f.name().unwrap().into_owned(), out)
        })
        .collect()
}

fn file<'a>(files: &'a [(String, Vec<u8>)], name: &str) -> &'a [u8] {
    &files.iter().find(|(n, _)| n == name).unwrap().1
}

/// A zip with `name` replaced by `content` (or added).
fn rezip(files: &[(String, Vec<u8>)], name: &str, content: &[u8]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    let mut replaced = false;
    for (n, b) in files {
        w.start_file(n.as_str(), options).unwrap();
        if n == name {
            w.write_all(content).unwrap();
            replaced = true;
        } else {
            w.write_all(b).unwrap();
        }
    }
    if !replaced {
        w.start_file(name, options).unwrap();
        w.write_all(content).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// RFC 4180 rows (quoted fields, doubled quotes, CRLF).
fn csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    rows
}

/// The CSV as maps from column to value.
fn csv_records(text: &str) -> Vec<std::collections::BTreeMap<String, String>> {
    let rows = csv(text);
    let header = rows[0].clone();
    rows[1..]
        .iter()
        .map(|r| header.iter().cloned().zip(r.iter().cloned()).collect())
        .collect()
}

async fn trace(app: &TestApp, product: Value) -> Value {
    let body = json!({"tiRequestSet": {
        "tiRequestAuditReferences": {"tiRequestID": uuid::Uuid::new_v4().to_string(),
                                     "tiRequestTimestamp": "2026-11-22T08:00:00Z"},
        "tiRequestingPartyInformation": {"departmentName": "Compliance"},
        "investigationReasonAttestation": "Recalled Product Investigation",
        "responseTypeRequested": "TransactionInformation",
        "productIdentifier": product}});
    let response = app
        .client(Some(&app.issue("compliance")))
        .post(format!("{}/tracing/requests", app.base))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    json(response).await["tiResponse"]["trace"].clone()
}

/// The CSV's rows are the trace's hops: same events, parties, counts, in order.
fn assert_rows_match_trace(csv_text: &str, trace: &Value) {
    let rows = csv_records(csv_text);
    let hops = trace["hops"].as_array().unwrap();
    assert_eq!(rows.len(), hops.len(), "{csv_text}\n{trace}");
    assert!(!hops.is_empty());
    for (row, hop) in rows.iter().zip(hops) {
        assert_eq!(row["event_hash_id"], hop["eventHashId"].as_str().unwrap());
        assert_eq!(
            row["g_transaction_date"],
            hop["transactionDate"].as_str().unwrap()
        );
        assert_eq!(
            row["i_transferor_gln"],
            hop["transferor"]["gln"].as_str().unwrap()
        );
        assert_eq!(
            row["j_transferee_gln"],
            hop["transferee"]["gln"].as_str().unwrap()
        );
        assert_eq!(
            row["i_transferor_name"],
            hop["transferor"]["name"].as_str().unwrap()
        );
        assert_eq!(
            row["e_number_of_containers"],
            hop["numberOfContainers"].to_string()
        );
        assert_eq!(
            row["a_product_name"],
            trace["product"]["name"].as_str().unwrap()
        );
        assert_eq!(row["c_ndc"], trace["product"]["ndc"].as_str().unwrap());
        assert_eq!(row["f_lot"], trace["product"]["lot"].as_str().unwrap());
        let packages = row["package_identifiers"].split(' ').count() as i64;
        assert!(packages >= 1 && packages <= hop["numberOfContainers"].as_i64().unwrap());
    }
}

/// Both event files decode, hold the same events, and hold every hop's event.
fn assert_events_agree(files: &[(String, Vec<u8>)], trace: &Value) -> Vec<String> {
    let xml = epcis::decode(file(files, "events.xml")).unwrap();
    let jsonld = epcis::decode(file(files, "events.jsonld")).unwrap();
    assert_eq!(xml.schema_version, "1.2");
    let ids = xml.event_hash_ids();
    // The CBV 2.0 hash covers every field of an event: equal hashes, equal events (the
    // namespace prefixes may differ: JSON-LD cannot bind `cbvmda` to the 1.2 namespace).
    assert_eq!(ids, jsonld.event_hash_ids(), "same events, same order");
    let times = |d: &epcis::Document| {
        d.events
            .iter()
            .map(|e| e.event_time.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(times(&xml), times(&jsonld));
    for hop in trace["hops"].as_array().unwrap() {
        let hash = hop["eventHashId"].as_str().unwrap();
        assert!(
            ids.iter().any(|i| i == hash),
            "hop event {hash} in the events"
        );
    }
    assert_eq!(
        ids.len(),
        trace["eventsFollowed"].as_u64().unwrap() as usize
    );
    ids
}

async fn packages_for_a_serial_a_lot_and_an_ndc_and_lot(backend: Backend) {
    let Some(app) = spawn_demo(backend).await else {
        return;
    };
    crate::tracing::scenario(&app).await;
    let key = *app.app().audit_public_key();
    // The manufacturer declares its shipment of the container erroneous: the package carries
    // the declaration with the event.
    use crate::tracing::{ACME, CONTAINER, EAST, place, transfer};
    let declared = crate::tracing::object(
        5,
        &[CONTAINER],
        "OBSERVE",
        "shipping",
        "in_transit",
        &format!("{}{}", place(ACME.1), transfer(ACME, EAST, "PO-T1")),
    )
    .replacen(
        "<eventTimeZoneOffset>+00:00</eventTimeZoneOffset>",
        "<eventTimeZoneOffset>+00:00</eventTimeZoneOffset><errorDeclaration>\
         <declarationTime>2026-04-02T00:00:00Z</declarationTime>\
         <reason>urn:epcglobal:cbv:er:incorrect_data</reason></errorDeclaration>",
        1,
    );
    crate::tracing::capture_as(&app, "mfg-acme", &[declared]).await;

    // A serial, followed through its case, pallet and shipping container.
    let (job, bytes) = produce(
        &app,
        "compliance",
        json!({"requestRef": "FDA letter 2026-123", "products": [{"epc": crate::tracing::UNIT}]}),
    )
    .await;
    let v = dscsa_exchange::services::fda::manifest::verify_package(&bytes, &key).unwrap();
    assert!(v.ok(), "{v:?}");
    assert_eq!(v.files_checked, 7);
    let files = unzip(&bytes);
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "README.txt",
            "manifest.json",
            "transaction-information.csv",
            "transaction-statements.json",
            "report.html",
            "events.xml",
            "events.jsonld",
            "audit.jsonl"
        ]
    );
    let manifest: Value = serde_json::from_slice(file(&files, "manifest.json")).unwrap();
    assert_eq!(manifest["request"]["reference"], "FDA letter 2026-123");
    assert_eq!(manifest["request"]["id"], job["id"]);
    assert_eq!(manifest["producedBy"]["actor"], "compliance");
    assert_eq!(manifest["generator"]["name"], "dscsa-exchange");
    assert_eq!(manifest["signature"]["algorithm"], "Ed25519");
    let unit_trace = trace(&app, json!({"gtin": GTIN, "serialNumber": "TRACE1"})).await;
    let csv_text = String::from_utf8(file(&files, "transaction-information.csv").to_vec()).unwrap();
    assert_rows_match_trace(&csv_text, &unit_trace);
    let rows = csv_records(&csv_text);
    let unit_key = dscsa_exchange::stored::epc_key(crate::tracing::UNIT);
    assert!(rows.iter().all(|r| r["package_identifiers"] == unit_key));
    let ids = assert_events_agree(&files, &unit_trace);
    let shipped = epcis::decode(file(&files, "events.xml")).unwrap();
    let declared: Vec<&epcis::Event> = shipped
        .events
        .iter()
        .filter(|e| e.error_declaration.is_some())
        .collect();
    assert_eq!(
        declared.len(),
        1,
        "the declared shipment, with its declaration"
    );
    assert_eq!(declared[0].event_time, "2026-04-01T10:05:00Z");
    assert!(
        ids.len() > rows.len(),
        "containers' events are included: {ids:?}"
    );
    let html = String::from_utf8(file(&files, "report.html").to_vec()).unwrap();
    assert!(html.contains("Amoxidemo") && html.contains("FDA letter 2026-123"));
    assert!(html.contains("Custody chain"));
    let statements: Value =
        serde_json::from_slice(file(&files, "transaction-statements.json")).unwrap();
    assert_eq!(
        statements["products"][0]["transactions"]
            .as_array()
            .unwrap()
            .len(),
        rows.len()
    );

    // A lot of the demo supply chain (cases, shipments), and the same lot by its NDC.
    let (_, lot_bytes) = produce(
        &app,
        "compliance",
        json!({"requestRef": "FDA recall R-7", "products": [{"gtin": GTIN, "lot": LOT}]}),
    )
    .await;
    let lot_files = unzip(&lot_bytes);
    let lot_trace = trace(&app, json!({"gtin": GTIN, "lotNumber": LOT})).await;
    let lot_csv =
        String::from_utf8(file(&lot_files, "transaction-information.csv").to_vec()).unwrap();
    assert_rows_match_trace(&lot_csv, &lot_trace);
    assert_events_agree(&lot_files, &lot_trace);
    let lot_html = String::from_utf8(file(&lot_files, "report.html").to_vec()).unwrap();
    assert!(
        lot_html.contains("LOT2605R, 2028-06-30"),
        "the lot's expiry from the ledger"
    );
    let lot_manifest: Value = serde_json::from_slice(file(&lot_files, "manifest.json")).unwrap();
    assert_eq!(
        lot_manifest["contents"]["packages"],
        lot_trace["product"]["packages"]
    );
    let (_, ndc_bytes) = produce(
        &app,
        "compliance",
        json!({"requestRef": "FDA recall R-7", "products": [{"ndc": NDC, "lot": LOT}]}),
    )
    .await;
    let ndc_files = unzip(&ndc_bytes);
    let ndc_csv =
        String::from_utf8(file(&ndc_files, "transaction-information.csv").to_vec()).unwrap();
    let strip = |text: &str| -> Vec<Vec<String>> {
        csv(text)
            .into_iter()
            .map(|mut r| {
                r.remove(0);
                r
            })
            .collect()
    };
    assert_eq!(
        strip(&ndc_csv),
        strip(&lot_csv),
        "the NDC names the same lot"
    );
    let hashes = |files: &[(String, Vec<u8>)]| {
        epcis::decode(file(files, "events.xml"))
            .unwrap()
            .event_hash_ids()
    };
    assert_eq!(hashes(&ndc_files), hashes(&lot_files));

    // Tampering: a changed file, an added file, a changed manifest, another key.
    let mut altered = html.clone().into_bytes();
    altered.extend_from_slice(b"<!-- edited -->");
    let v = dscsa_exchange::services::fda::manifest::verify_package(
        &rezip(&files, "report.html", &altered),
        &key,
    )
    .unwrap();
    assert!(!v.ok());
    assert!(
        v.problems
            .iter()
            .any(|p| p.starts_with("report.html: SHA-256")),
        "{v:?}"
    );
    let v = dscsa_exchange::services::fda::manifest::verify_package(
        &rezip(&files, "extra.txt", b"x"),
        &key,
    )
    .unwrap();
    assert!(
        v.problems.iter().any(|p| p.starts_with("extra.txt")),
        "{v:?}"
    );
    let forged = String::from_utf8(file(&files, "manifest.json").to_vec())
        .unwrap()
        .replace("FDA letter 2026-123", "FDA letter 2026-124");
    let v = dscsa_exchange::services::fda::manifest::verify_package(
        &rezip(&files, "manifest.json", forged.as_bytes()),
        &key,
    )
    .unwrap();
    assert!(!v.signature_valid && !v.ok(), "{v:?}");
    let other = dscsa_exchange::audit::CheckpointKey::generate()
        .unwrap()
        .public();
    let v = dscsa_exchange::services::fda::manifest::verify_package(&bytes, &other).unwrap();
    assert!(!v.ok());
    assert!(dscsa_exchange::services::fda::manifest::verify_package(b"not a zip", &key).is_err());

    // Producing a package is audited: who, which request, which products; and the package's
    // audit.jsonl of a later request shows the access to the product.
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT target, params FROM audit_records WHERE action = 'fda records package' \
         AND outcome = 'ok' ORDER BY seq",
    )
    .fetch_all(app.app().db().pool())
    .await
    .unwrap();
    assert_eq!(rows.len(), 3);
    assert!(
        rows[0].0.contains(&job["id"].as_str().unwrap().to_owned())
            && rows[0].0.contains(&unit_key),
        "{rows:?}"
    );
    assert!(rows[0].1.contains("FDA letter 2026-123"));
    assert!(rows[1].0.contains(&format!("{GTIN} lot {LOT}")));
    let (_, again) = produce(
        &app,
        "compliance",
        json!({"requestRef": "FDA letter 2026-123", "products": [{"gtin": GTIN, "serial": "TRACE1"}]}),
    )
    .await;
    let audit = String::from_utf8(file(&unzip(&again), "audit.jsonl").to_vec()).unwrap();
    let actions: Vec<String> = audit
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["action"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert!(
        actions.iter().any(|a| a == "fda records package"),
        "{actions:?}"
    );
    assert!(
        actions.iter().any(|a| a == "POST /tracing/requests") || actions.len() >= 2,
        "{actions:?}"
    );
    app.stop().await;
}

async fn only_staff_and_regulators_and_regulators_see_what_they_asked_for(backend: Backend) {
    let Some(app) = spawn_demo(backend).await else {
        return;
    };
    crate::tracing::scenario(&app).await;
    let body =
        json!({"requestRef": "FDA letter 2026-200", "products": [{"epc": crate::tracing::UNIT}]});
    for who in ["whs-east", "mfg-acme", "auditor"] {
        let response = app
            .client(Some(&app.issue(who)))
            .post(format!("{}/fda/records-requests", app.base))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403, "{who}");
        let problem = json(response).await;
        assert_eq!(problem["code"], "action_not_permitted");
    }
    // Bad requests name the field.
    let compliance = app.client(Some(&app.issue("compliance")));
    for (bad, field) in [
        (
            json!({"requestRef": "", "products": [{"epc": crate::tracing::UNIT}]}),
            "requestRef",
        ),
        (json!({"requestRef": "x", "products": []}), "products"),
        (
            json!({"requestRef": "x", "products": [{"gtin": GTIN}]}),
            "products[0]",
        ),
        (
            json!({"requestRef": "x", "products": [{"gtin": "00614141100016", "lot": "L"}]}),
            "products[0].gtin",
        ),
        (
            json!({"requestRef": "x", "products": [{"ndc": "12", "lot": "L"}]}),
            "products[0].ndc",
        ),
        (
            json!({"requestRef": "x", "products": [{"epc": crate::tracing::UNIT}], "from": "yesterday"}),
            "from",
        ),
        (
            json!({"requestRef": "x", "products": [{"epc": crate::tracing::UNIT}], "from": "2026-05-01", "to": "2026-04-01"}),
            "to",
        ),
    ] {
        let response = compliance
            .post(format!("{}/fda/records-requests", app.base))
            .json(&bad)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{bad}");
        let problem = json(response).await;
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .starts_with(&format!("{field}:")),
            "{field}: {problem}"
        );
    }
    let unknown = compliance
        .get(format!("{}/fda/records-requests/nope/package", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);

    // The regulator sees no event until its request is answered, then the package's events.
    let query = format!(
        "{}/epcis/events?MATCH_anyEPC={}",
        app.base,
        crate::tracing::UNIT
    );
    let fda = app.client(Some(&app.issue("fda")));
    let seen = |v: &Value| {
        v["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
            .as_array()
            .map_or(0, Vec::len)
    };
    let before = json(fda.get(&query).send().await.unwrap()).await;
    assert_eq!(seen(&before), 0, "{before}");
    let (_, compliance_job) = {
        let (job, bytes) = produce(&app, "compliance", body.clone()).await;
        (bytes, job)
    };
    // Not the regulator's request: 404 to it, and still no event visible.
    let other = fda
        .get(format!(
            "{}/fda/records-requests/{}",
            app.base,
            compliance_job["id"].as_str().unwrap()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 404);
    assert_eq!(seen(&json(fda.get(&query).send().await.unwrap()).await), 0);
    let (job, bytes) = produce(&app, "fda", body.clone()).await;
    assert_eq!(job["regulator"], "fda");
    let files = unzip(&bytes);
    let events = epcis::decode(file(&files, "events.xml"))
        .unwrap()
        .events
        .len();
    let after = json(fda.get(&query).send().await.unwrap()).await;
    assert!(seen(&after) > 0 && seen(&after) <= events, "{after}");
    // Other products stay invisible to the regulator.
    let other_unit = json(
        fda.get(format!(
            "{}/epcis/events?EQ_bizStep=commissioning",
            app.base
        ))
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert!(
        seen(&other_unit) <= 2,
        "only the request's commissioning events: {other_unit}"
    );
    app.stop().await;
}

/// `dscsa fda export` of a lot from a captured generated chain, `verify-package` intact (0),
/// altered (1), unreadable (2).
#[test]
fn export_and_verify_through_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let (chain, files) = crate::cli::generated_chain(data);
    let mut args = vec!["capture"];
    args.extend(files.iter().map(String::as_str));
    exited(&dscsa(data, &args), 0);
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(chain.join("manifest.json")).unwrap())
            .unwrap();
    let lot = manifest["lots"][0]["lot"].as_str().unwrap();
    let gtin = manifest["gtin"].as_str().unwrap_or(GTIN);
    let out = data.join("records.zip");
    let printed = exited(
        &dscsa(
            data,
            &[
                "fda",
                "export",
                "--gtin",
                gtin,
                "--lot",
                lot,
                "--from",
                "2020-01-01",
                "--request-ref",
                "FDA letter 2026-123",
                "--out",
                out.to_str().unwrap(),
            ],
        ),
        0,
    );
    assert!(
        printed.contains("FDA letter 2026-123") && printed.contains("SHA-256"),
        "{printed}"
    );
    // Refuses to overwrite.
    let again = dscsa(
        data,
        &[
            "fda",
            "export",
            "--gtin",
            gtin,
            "--lot",
            lot,
            "--request-ref",
            "x",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(again.status.code(), Some(2));
    let ok = exited(
        &dscsa(data, &["fda", "verify-package", out.to_str().unwrap()]),
        0,
    );
    assert!(ok.contains("intact: 7 file(s)"), "{ok}");
    let bytes = std::fs::read(&out).unwrap();
    let files = unzip(&bytes);
    let rows = csv(std::str::from_utf8(file(&files, "transaction-information.csv")).unwrap());
    assert!(rows.len() > 1, "the lot was shipped");
    let altered = data.join("altered.zip");
    std::fs::write(
        &altered,
        rezip(&files, "transaction-information.csv", b"nothing to see\r\n"),
    )
    .unwrap();
    let bad = exited(
        &dscsa(data, &["fda", "verify-package", altered.to_str().unwrap()]),
        1,
    );
    assert!(
        bad.contains("ALTERED") && bad.contains("transaction-information.csv"),
        "{bad}"
    );
    // With the public key instead of the key file: README.txt prints it.
    let readme = String::from_utf8(file(&files, "README.txt").to_vec()).unwrap();
    let public = readme
        .split("--public-key ")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap();
    let by_key = Command::new(env!("CARGO_BIN_EXE_dscsa"))
        .args([
            "fda",
            "verify-package",
            out.to_str().unwrap(),
            "--public-key",
            public,
        ])
        .output()
        .unwrap();
    exited(&by_key, 0);
    let garbage = data.join("garbage.zip");
    std::fs::write(&garbage, b"not a zip").unwrap();
    exited(
        &dscsa(data, &["fda", "verify-package", garbage.to_str().unwrap()]),
        2,
    );
    // A bad flag is named.
    let bad_flag = dscsa(
        data,
        &[
            "fda",
            "export",
            "--gtin",
            "00614141100016",
            "--lot",
            lot,
            "--request-ref",
            "x",
            "--out",
            data.join("x.zip").to_str().unwrap(),
        ],
    );
    assert_eq!(bad_flag.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&bad_flag.stderr).contains("--gtin"),
        "{bad_flag:?}"
    );
}
