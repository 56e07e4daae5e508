//! The EPCIS capture interface through the real server: capture jobs, idempotence, rollback and
//! proceed, strict mode, anomalies, the single-event endpoint, limits and media types,
//! concurrency, who may capture and who may read a job, and every decodable reference document.

use std::time::Duration;

use dscsa_exchange::fixtures::{self, Options};
use partners::StaffRole;
use serde_json::Value;

use crate::helpers::{Backend, TestApp, json, partner, spawn_app, spawn_app_with, staff};

crate::on_both_backends!(
    a_document_is_stored_once_and_its_job_says_so,
    rollback_leaves_the_store_unchanged,
    anomalies_are_recorded_or_refused_in_strict_mode,
    one_event_is_created_then_conflicts,
    limits_and_media_types_are_enforced,
    concurrent_overlapping_captures_store_each_event_once,
    only_capturing_principals_capture_and_jobs_stay_private,
    every_decodable_reference_document_is_captured,
    commissioning_twice_and_repeated_epcs,
    the_ledger_is_the_same_flushed_per_event_or_per_document,
    a_case_repacked_without_unpacking_takes_its_contents_along,
);

const MFG_GLNS: [&str; 2] = ["0614141000005", "0614141000012"];

fn fixture_documents(units: u64) -> Vec<(String, String)> {
    fixtures::generate(&Options {
        units,
        seed: 7,
        units_per_case: 10,
        cases_per_pallet: 5,
    })
    .documents
}

async fn count(app: &TestApp, table: &str) -> i64 {
    let sql = format!("SELECT COUNT(*) FROM {table}");
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .fetch_one(app.app().db().pool())
        .await
        .unwrap()
}

async fn post_capture(
    app: &TestApp,
    client: &reqwest::Client,
    body: impl Into<reqwest::Body>,
    content_type: &str,
    behaviour: Option<&str>,
) -> reqwest::Response {
    let mut request = client
        .post(format!("{}/epcis/capture", app.base))
        .header("content-type", content_type)
        .body(body);
    if let Some(b) = behaviour {
        request = request.header("GS1-Capture-Error-Behaviour", b);
    }
    request.send().await.unwrap()
}

/// Captures `body` and waits for its job to finish; returns the job.
async fn capture(
    app: &TestApp,
    client: &reqwest::Client,
    body: &str,
    behaviour: Option<&str>,
) -> Value {
    let response = post_capture(app, client, body.to_owned(), "application/xml", behaviour).await;
    assert_eq!(response.status(), 202, "{:?}", response.text().await);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with("/epcis/capture/"), "{location}");
    wait_for_job(app, client, &location).await
}

async fn wait_for_job(app: &TestApp, client: &reqwest::Client, location: &str) -> Value {
    for _ in 0..1200 {
        let job = json(
            client
                .get(format!("{}{location}", app.base))
                .send()
                .await
                .unwrap(),
        )
        .await;
        if job["running"] == false {
            return job;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("capture job {location} still running after 60 s");
}

async fn mfg_client(app: &TestApp) -> reqwest::Client {
    app.register(partner("mfg-acme", &MFG_GLNS)).await;
    app.client(Some(&app.issue("mfg-acme")))
}

async fn a_document_is_stored_once_and_its_job_says_so(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let client = mfg_client(&app).await;
    let docs = fixture_documents(100);
    let (_, first) = &docs[0];
    let expected = epcis::decode(first.as_bytes()).unwrap().events.len() as i64;

    let job = capture(&app, &client, first, None).await;
    assert_eq!(job["success"], true, "{job}");
    assert_eq!(job["captureErrorBehaviour"], "rollback");
    assert_eq!(job["events"], expected);
    assert_eq!(job["newEvents"], expected);
    assert_eq!(job["duplicateEvents"], 0);
    assert_eq!(count(&app, "events").await, expected);
    assert_eq!(count(&app, "epcis_documents").await, 1);
    // 100 units, 10 cases, 2 pallets commissioned; every unit and case packed.
    assert_eq!(count(&app, "serials").await, 112);
    assert_eq!(count(&app, "aggregation_intervals").await, 110);
    assert!(count(&app, "master_products").await >= 1);
    assert!(count(&app, "master_locations").await >= 1);

    let again = capture(&app, &client, first, None).await;
    assert_eq!(again["success"], true);
    assert_eq!(again["newEvents"], 0);
    assert_eq!(again["duplicateEvents"], expected);
    assert_eq!(
        count(&app, "events").await,
        expected,
        "nothing stored twice"
    );
    // The same master data again is not a new version.
    let products = count(&app, "master_products").await;
    capture(&app, &client, first, None).await;
    assert_eq!(count(&app, "master_products").await, products);

    // The ledger follows the chain: every unit ends inside a case inside a pallet.
    let (parents, tops): (i64, i64) = sqlx::query_as(
        "SELECT COUNT(parent_epc), COUNT(top_epc) FROM serials WHERE gtin IS NOT NULL",
    )
    .fetch_one(app.app().db().pool())
    .await
    .unwrap();
    assert_eq!((parents, tops), (100, 100));

    // Both jobs are listed, newest first.
    let list = json(
        client
            .get(format!("{}/epcis/capture?perPage=2", app.base))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(list.as_array().unwrap().len(), 2);
    app.stop().await;
}

async fn rollback_leaves_the_store_unchanged(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let client = mfg_client(&app).await;
    let docs = fixture_documents(100);
    let (_, first) = &docs[0];
    // Break one event in the middle of the document.
    let actions: Vec<usize> = first
        .match_indices("<action>ADD</action>")
        .map(|(i, _)| i)
        .collect();
    let middle = actions[actions.len() / 2];
    let broken = format!(
        "{}<action>MAYBE</action>{}",
        &first[..middle],
        &first[middle + "<action>ADD</action>".len()..]
    );
    let line = broken[..middle].lines().count();

    for behaviour in [None, Some("rollback"), Some("proceed")] {
        let job = capture(&app, &client, &broken, behaviour).await;
        assert_eq!(job["success"], false, "{job}");
        let errors = job["errors"].as_array().unwrap();
        assert_eq!(errors[0]["type"], "ValidationException");
        let detail = errors[0]["detail"].as_str().unwrap();
        assert!(detail.contains("MAYBE"), "{detail}");
        assert!(detail.contains(&format!("line {line}")), "{detail}");
    }
    for table in [
        "events",
        "event_epcs",
        "serials",
        "epcis_documents",
        "master_products",
    ] {
        assert_eq!(count(&app, table).await, 0, "{table}");
    }
    app.stop().await;
}

/// Packs serials that were never commissioned: recorded as anomalies by default; refused in
/// strict mode, the whole document (rollback) or that event (proceed).
async fn anomalies_are_recorded_or_refused_in_strict_mode(backend: Backend) {
    let docs = fixture_documents(100);
    let (_, first) = &docs[0];
    // Drop the units' commissioning events (the first events, with lot ILMD): packing then
    // names serials never commissioned here.
    let doc = epcis::decode(first.as_bytes()).unwrap();
    let commissioning = doc.events.iter().filter(|e| e.ilmd.is_some()).count();
    assert!(commissioning > 0);
    let mut without = doc.clone();
    without.events.retain(|e| e.ilmd.is_none());
    let body = epcis::encode::to_xml(&without, epcis::EpcisVersion::V1_2);
    let events = without.events.len() as i64;

    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let client = mfg_client(&app).await;
    let job = capture(&app, &client, &body, None).await;
    assert_eq!(job["success"], true, "{job}");
    assert_eq!(job["newEvents"], events);
    assert_eq!(
        job["anomalies"], 100,
        "each of the 100 units packed uncommissioned"
    );
    let kinds: Vec<(String, i64)> =
        sqlx::query_as("SELECT kind, COUNT(*) FROM anomalies GROUP BY kind ORDER BY kind")
            .fetch_all(app.app().db().pool())
            .await
            .unwrap();
    assert_eq!(kinds, vec![("not_commissioned".to_owned(), 100)]);
    app.stop().await;

    let Some(app) = spawn_app_with(backend, |c| c.capture.strict = true).await else {
        return;
    };
    let client = mfg_client(&app).await;
    let job = capture(&app, &client, &body, None).await;
    assert_eq!(job["success"], false);
    let detail = job["errors"][0]["detail"].as_str().unwrap();
    assert!(detail.contains("not_commissioned"), "{detail}");
    assert_eq!(count(&app, "events").await, 0);

    let job = capture(&app, &client, &body, Some("proceed")).await;
    assert_eq!(job["success"], false, "{job}");
    let refused = job["errors"].as_array().unwrap().len() as i64;
    assert_eq!(
        refused, 10,
        "the ten case packings are refused: {:#}",
        job["errors"]
    );
    assert_eq!(job["newEvents"], events - refused);
    assert_eq!(count(&app, "events").await, events - refused);
    assert_eq!(count(&app, "anomalies").await, 0);
    app.stop().await;
}

const ONE_EVENT: &str = r#"{
  "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
  "type": "ObjectEvent",
  "eventTime": "2026-01-05T10:00:00.000Z",
  "eventTimeZoneOffset": "+00:00",
  "epcList": ["urn:epc:id:sgtin:0614141.107346.2018"],
  "action": "ADD",
  "bizStep": "commissioning",
  "disposition": "active",
  "readPoint": {"id": "urn:epc:id:sgln:0614141.00001.0"}
}"#;

async fn one_event_is_created_then_conflicts(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let client = mfg_client(&app).await;
    let post = || {
        client
            .post(format!("{}/epcis/events", app.base))
            .header("content-type", "application/ld+json")
            .body(ONE_EVENT)
            .send()
    };
    let created = post().await.unwrap();
    assert_eq!(created.status(), 201);
    let location = created.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.starts_with("/epcis/events/ni%3A%2F%2F%2Fsha-256%3B"),
        "{location}"
    );
    assert_eq!(created.headers()["gs1-epcis-version"], "2.0.0");
    assert_eq!(count(&app, "events").await, 1);
    let ledger: (String, String) = sqlx::query_as("SELECT epc, state FROM serials")
        .fetch_one(app.app().db().pool())
        .await
        .unwrap();
    assert_eq!(
        ledger,
        (
            "https://id.gs1.org/01/10614141073464/21/2018".to_owned(),
            "active".to_owned()
        )
    );

    let conflict = post().await.unwrap();
    assert_eq!(conflict.status(), 409);
    let body = json(conflict).await;
    assert_eq!(
        body["type"],
        "epcisException:ResourceAlreadyExistsException"
    );
    assert!(body["detail"].as_str().unwrap().contains(&location));

    // A document of two events is not one event.
    let docs = fixture_documents(20);
    let two = client
        .post(format!("{}/epcis/events", app.base))
        .header("content-type", "application/xml")
        .body(docs[0].1.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(two.status(), 400);
    let body = json(two).await;
    assert_eq!(body["type"], "epcisException:ValidationException");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("exactly one event")
    );
    assert_eq!(count(&app, "events").await, 1);
    app.stop().await;
}

async fn limits_and_media_types_are_enforced(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |c| {
        c.capture.max_document_bytes = 10_000;
        c.capture.max_events = 5;
    })
    .await
    else {
        return;
    };
    let client = mfg_client(&app).await;
    let options = client
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/epcis/capture", app.base),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(options.status(), 204);
    assert_eq!(options.headers()["gs1-epcis-capture-limit"], "5");
    assert_eq!(
        options.headers()["gs1-epcis-capture-file-size-limit"],
        "10000"
    );

    let docs = fixture_documents(100);
    let big = post_capture(&app, &client, docs[0].1.clone(), "application/xml", None).await;
    assert_eq!(big.status(), 413);
    let body = json(big).await;
    assert_eq!(body["type"], "epcisException:CaptureLimitExceededException");

    // Small enough in bytes, too many events: the job fails with the limit named.
    let small = docs
        .iter()
        .find(|(_, d)| d.len() < 10_000 && epcis::decode(d.as_bytes()).unwrap().events.len() > 5);
    if let Some((_, small)) = small {
        let job = capture(&app, &client, small, None).await;
        assert_eq!(job["success"], false);
        assert_eq!(job["errors"][0]["type"], "CaptureLimitExceededException");
    }

    let text = post_capture(&app, &client, "hello", "text/plain", None).await;
    assert_eq!(text.status(), 415);
    assert_eq!(
        json(text).await["type"],
        "epcisException:UnsupportedMediaTypeException"
    );
    let mismatch = post_capture(&app, &client, "<x/>", "application/ld+json", None).await;
    assert_eq!(mismatch.status(), 400);
    let behaviour = post_capture(&app, &client, "<x/>", "application/xml", Some("all")).await;
    assert_eq!(behaviour.status(), 400);
    assert!(
        json(behaviour).await["detail"]
            .as_str()
            .unwrap()
            .contains("GS1-Capture-Error-Behaviour")
    );
    assert_eq!(
        count(&app, "capture_jobs").await,
        usize::from(small.is_some()) as i64
    );
    app.stop().await;
}

/// Two documents sharing events, captured at the same time, store each event once.
async fn concurrent_overlapping_captures_store_each_event_once(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let client = mfg_client(&app).await;
    let docs = fixture_documents(200);
    let doc = epcis::decode(docs[0].1.as_bytes()).unwrap();
    let n = doc.events.len();
    assert!(n >= 10);
    let mut a = doc.clone();
    a.events.truncate(n * 2 / 3);
    let mut b = doc.clone();
    b.events.drain(..n / 3);
    let (a, b) = (
        epcis::encode::to_xml(&a, epcis::EpcisVersion::V2_0),
        epcis::encode::to_jsonld(&b),
    );
    let post = |body: String, ct: &'static str| {
        let client = client.clone();
        let url = format!("{}/epcis/capture", app.base);
        async move {
            client
                .post(url)
                .header("content-type", ct)
                .body(body)
                .send()
                .await
                .unwrap()
        }
    };
    let (ra, rb) = tokio::join!(post(a, "application/xml"), post(b, "application/ld+json"));
    let la = ra.headers()["location"].to_str().unwrap().to_owned();
    let lb = rb.headers()["location"].to_str().unwrap().to_owned();
    let (ja, jb) = (
        wait_for_job(&app, &client, &la).await,
        wait_for_job(&app, &client, &lb).await,
    );
    assert_eq!(ja["success"], true, "{ja}");
    assert_eq!(jb["success"], true, "{jb}");
    assert_eq!(
        ja["newEvents"].as_i64().unwrap() + jb["newEvents"].as_i64().unwrap(),
        n as i64
    );
    assert_eq!(count(&app, "events").await, n as i64);
    app.stop().await;
}

async fn only_capturing_principals_capture_and_jobs_stay_private(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let mfg = mfg_client(&app).await;
    app.register(partner("whs-east", &["0860001000009"])).await;
    let other = app.client(Some(&app.issue("whs-east")));
    app.register(staff("auditor", StaffRole::Auditor)).await;
    let auditor = app.client(Some(&app.issue("auditor")));

    let refused = post_capture(&app, &auditor, ONE_EVENT, "application/ld+json", None).await;
    assert_eq!(refused.status(), 403);
    assert_eq!(count(&app, "capture_jobs").await, 0);

    let docs = fixture_documents(20);
    let response = post_capture(&app, &mfg, docs[0].1.clone(), "application/xml", None).await;
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    wait_for_job(&app, &mfg, &location).await;
    let theirs = other
        .get(format!("{}{location}", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(theirs.status(), 404);
    assert_eq!(
        json(theirs).await["type"],
        "epcisException:NoSuchResourceException"
    );
    let list = json(
        other
            .get(format!("{}/epcis/capture", app.base))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(list, serde_json::json!([]));
    // Captured by mfg-acme, recorded as such in the audit trail.
    let audited: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_records WHERE action = 'epcis.capture' AND actor = 'mfg-acme'",
    )
    .fetch_one(app.app().db().pool())
    .await
    .unwrap();
    assert_eq!(audited, 1);
    app.stop().await;
}

/// Every document under `epcis-reference` that the codec decodes is captured through the API
/// (each event once: the store holds exactly the distinct hash IDs), and every document it
/// refuses is refused by the server too.
async fn every_decodable_reference_document_is_captured(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let client = mfg_client(&app).await;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/epcis-reference");
    let mut files = Vec::new();
    collect(&root, &mut files);
    files.sort();
    assert!(
        files.len() > 50,
        "found {} reference documents",
        files.len()
    );
    let mut hashes = std::collections::BTreeSet::new();
    let mut declarations = std::collections::BTreeSet::new();
    let (mut captured, mut refused) = (0, 0);
    for path in &files {
        let bytes = std::fs::read(path).unwrap();
        let Some(syntax) = epcis::detect(&bytes) else {
            continue;
        };
        let content_type = match syntax {
            epcis::Syntax::Xml => "application/xml",
            epcis::Syntax::JsonLd => "application/ld+json",
        };
        let decoded = epcis::decode(&bytes);
        let response = post_capture(&app, &client, bytes.clone(), content_type, None).await;
        assert_eq!(response.status(), 202, "{}", path.display());
        let location = response.headers()["location"].to_str().unwrap().to_owned();
        let job = wait_for_job(&app, &client, &location).await;
        match decoded {
            Ok(doc) if doc.events.iter().all(times_readable) => {
                assert_eq!(job["success"], true, "{}: {job}", path.display());
                for (event, hash) in doc.events.iter().zip(doc.event_hash_ids()) {
                    if event.error_declaration.is_some() {
                        declarations.insert(hash.clone());
                    }
                    hashes.insert(hash);
                }
                captured += 1;
            }
            _ => {
                assert_eq!(job["success"], false, "{}: {job}", path.display());
                refused += 1;
            }
        }
    }
    assert!(captured > 50, "captured {captured}, refused {refused}");
    let stored: Vec<(String, i64)> = sqlx::query_as("SELECT hash_id, document_id FROM events")
        .fetch_all(app.app().db().pool())
        .await
        .unwrap();
    let unexpected: Vec<&(String, i64)> =
        stored.iter().filter(|(h, _)| !hashes.contains(h)).collect();
    assert!(
        unexpected.is_empty(),
        "stored but not in the documents: {unexpected:?}"
    );
    // Every other event is stored, once; an error declaration may instead sit beside the
    // event it declares (found by its eventID when its own hash differs).
    let stored: std::collections::BTreeSet<String> = stored.into_iter().map(|(h, _)| h).collect();
    let missing: Vec<&String> = hashes
        .difference(&stored)
        .filter(|h| !declarations.contains(*h))
        .collect();
    assert!(
        missing.is_empty(),
        "in the documents but not stored: {missing:?}"
    );
    let beside: i64 = count(&app, "event_error_declarations").await;
    assert!(
        beside > 0,
        "the reference documents hold error declarations"
    );
    app.stop().await;
}

/// Whether the server can place the event in time: EPCIS times need a zone, and the server
/// refuses (naming the field) one without.
fn times_readable(e: &epcis::Event) -> bool {
    let readable = |t: &str| dscsa_exchange::stored::micros(t).is_ok();
    readable(&e.event_time)
        && e.error_declaration
            .as_ref()
            .is_none_or(|d| readable(&d.declaration_time))
}

fn collect(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, out);
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("xml" | "json" | "jsonld")
        ) && std::fs::metadata(&path).is_ok_and(|m| m.len() < 5_000_000)
        {
            out.push(path);
        }
    }
}

/// A serial commissioned by a second event keeps its first commissioning and the second is an
/// anomaly; an EPC listed twice in one event is one serial.
async fn commissioning_twice_and_repeated_epcs(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let client = mfg_client(&app).await;
    let post = |body: String| {
        client
            .post(format!("{}/epcis/events", app.base))
            .header("content-type", "application/ld+json")
            .body(body)
            .send()
    };
    let first = ONE_EVENT.replace(
        r#"["urn:epc:id:sgtin:0614141.107346.2018"]"#,
        r#"["urn:epc:id:sgtin:0614141.107346.2018", "https://id.gs1.org/01/10614141073464/21/2018", "urn:epc:id:sgtin:0614141.107346.2019"]"#,
    );
    assert_eq!(post(first).await.unwrap().status(), 201);
    assert_eq!(
        count(&app, "serials").await,
        2,
        "the URN and the Digital Link are one serial"
    );
    let second = ONE_EVENT.replace("2026-01-05T10:00:00.000Z", "2026-02-05T10:00:00.000Z");
    assert_eq!(post(second).await.unwrap().status(), 201);
    let anomalies: Vec<(String, String)> =
        sqlx::query_as("SELECT kind, epc FROM anomalies ORDER BY id")
            .fetch_all(app.app().db().pool())
            .await
            .unwrap();
    assert_eq!(
        anomalies,
        vec![(
            "commissioned_twice".to_owned(),
            "https://id.gs1.org/01/10614141073464/21/2018".to_owned()
        )]
    );
    let commissioned_at: i64 = sqlx::query_scalar(
        "SELECT commissioned_at FROM serials WHERE epc = 'https://id.gs1.org/01/10614141073464/21/2018'",
    )
    .fetch_one(app.app().db().pool())
    .await
    .unwrap();
    assert_eq!(
        commissioned_at,
        dscsa_exchange::stored::micros("2026-01-05T10:00:00Z").unwrap(),
        "the first commissioning stands"
    );
    app.stop().await;
}

/// The ledger, its intervals, anomalies and EPC index rows, as text rows in a fixed order, with
/// event row ids replaced by hash IDs (ids differ between stores where refused captures used
/// up sequence numbers).
async fn ledger_dump(app: &TestApp) -> Vec<String> {
    let hash = |column: &str| {
        format!("COALESCE((SELECT hash_id FROM events e WHERE e.id = {column}), '-')")
    };
    let text = |column: &str| format!("COALESCE(CAST({column} AS TEXT), '-')");
    let serials = [
        text("epc"),
        text("gtin"),
        text("lot"),
        text("expiry"),
        hash("commissioned_event"),
        text("commissioned_at"),
        text("parent_epc"),
        text("top_epc"),
        hash("last_event"),
        text("last_event_time"),
        text("last_biz_step"),
        text("last_disposition"),
        text("owner"),
        text("location"),
        text("state"),
        text("recalled"),
    ];
    let intervals = [
        text("child"),
        text("parent"),
        hash("from_event"),
        text("from_time"),
        hash("to_event"),
        text("to_time"),
    ];
    let anomalies = [hash("event"), text("epc"), text("kind"), text("detail")];
    let epcs = [text("epc"), hash("event"), text("role")];
    let mut out = Vec::new();
    for (table, columns) in [
        ("serials", &serials[..]),
        ("aggregation_intervals", &intervals[..]),
        ("anomalies", &anomalies[..]),
        ("event_epcs", &epcs[..]),
    ] {
        let sql = format!("SELECT {} FROM {table}", columns.join(" || '|' || "));
        let mut rows: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_all(app.app().db().pool())
            .await
            .unwrap();
        rows.sort();
        out.push(format!("{table}: {} rows", rows.len()));
        out.extend(rows.into_iter().map(|r| format!("{table}: {r}")));
    }
    out
}

/// The capture's write-back ledger gives the same store whether it holds a whole document
/// before writing (`rollback`) or writes after every event and reads the stored rows back for
/// the next (`proceed`): the demo chain (packing, shipping, unpacking, dispensing, a return, a
/// recall) and the QU4RTET ledger cases (nested packing, repacking, decommissioning).
async fn the_ledger_is_the_same_flushed_per_event_or_per_document(backend: Backend) {
    use dscsa_exchange::services::Actor;
    use dscsa_exchange::services::capture::{self, CaptureOptions, ErrorBehaviour, HOME};

    let (Some(whole), Some(per_event)) = (spawn_app(backend).await, spawn_app(backend).await)
    else {
        return;
    };
    let mut documents: Vec<String> = fixture_documents(60)
        .into_iter()
        .map(|(_, body)| body)
        .collect();
    let quartet = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/epcis-reference/dscsa-examples/qu4rtet/quartet_epcis");
    let mut names: Vec<_> = std::fs::read_dir(&quartet)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "xml"))
        .collect();
    names.sort();
    documents.extend(names.iter().map(|p| std::fs::read_to_string(p).unwrap()));
    let mut captured = 0;
    for body in documents {
        let options = |behaviour| CaptureOptions {
            behaviour,
            ..CaptureOptions::default()
        };
        let capture = |app: &TestApp, behaviour| {
            let db = app.app().db().clone();
            let body = body.clone();
            async move {
                capture::capture(
                    &db,
                    &Actor::cli(),
                    HOME,
                    body.into(),
                    "application/xml",
                    &options(behaviour),
                )
                .await
            }
        };
        // A document refused whole under rollback may be stored in part under proceed: only
        // documents the first store takes whole go to the second.
        let Ok(report) = capture(&whole, ErrorBehaviour::Rollback).await else {
            continue;
        };
        let other = capture(&per_event, ErrorBehaviour::Proceed).await.unwrap();
        assert!(other.refused.is_empty(), "{other:?}");
        assert_eq!((report.new, report.anomalies), (other.new, other.anomalies));
        captured += 1;
    }
    assert!(captured > 20, "only {captured} documents captured");
    let (a, b) = (ledger_dump(&whole).await, ledger_dump(&per_event).await);
    assert!(
        a.iter()
            .any(|r| r.starts_with("aggregation_intervals: ") && r.contains("|-|-")),
        "some interval is still open"
    );
    assert!(
        !a.contains(&"anomalies: 0 rows".to_owned()),
        "some anomaly is recorded"
    );
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x, y);
    }
    assert_eq!(a.len(), b.len());
    whole.stop().await;
    per_event.stop().await;
}

fn json_ld_document(events: &[&str]) -> String {
    format!(
        r#"{{"@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
  "type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": "2026-01-05T09:00:00Z",
  "epcisBody": {{"eventList": [{}]}}}}"#,
        events.join(", ")
    )
}

fn packing(time: &str, parent: &str, child: &str) -> String {
    format!(
        r#"{{"type": "AggregationEvent", "eventTime": "{time}", "eventTimeZoneOffset": "+00:00",
  "parentID": "{parent}", "childEPCs": ["{child}"], "action": "ADD", "bizStep": "packing"}}"#
    )
}

/// A unit in a case on a pallet; the case is then packed into another case without being
/// unpacked from the pallet: the unit's top container follows its case (the ledger's top is
/// the outermost container of the parent chain). Once within one document (the ledger cache
/// alone) and once with the repacking in a second document (the stored rows read back).
async fn a_case_repacked_without_unpacking_takes_its_contents_along(backend: Backend) {
    use dscsa_exchange::services::Actor;
    use dscsa_exchange::services::capture::{self, CaptureOptions, HOME};
    use dscsa_exchange::stored::epc_key;

    let unit = "urn:epc:id:sgtin:0614141.107346.1";
    let case = "urn:epc:id:sscc:0614141.1000000001";
    let other_case = "urn:epc:id:sscc:0614141.1000000002";
    let pallet = "urn:epc:id:sscc:0614141.1000000003";
    let commission = format!(
        r#"{{"type": "ObjectEvent", "eventTime": "2026-01-05T10:00:00Z",
  "eventTimeZoneOffset": "+00:00", "epcList": ["{unit}", "{case}", "{other_case}", "{pallet}"],
  "action": "ADD", "bizStep": "commissioning", "disposition": "active"}}"#
    );
    let into_case = packing("2026-01-05T11:00:00Z", case, unit);
    let onto_pallet = packing("2026-01-05T12:00:00Z", pallet, case);
    let repacked = packing("2026-01-05T13:00:00Z", other_case, case);
    let together = [json_ld_document(&[
        &commission,
        &into_case,
        &onto_pallet,
        &repacked,
    ])];
    let apart = [
        json_ld_document(&[&commission, &into_case, &onto_pallet]),
        json_ld_document(&[&repacked]),
    ];
    for documents in [&together[..], &apart[..]] {
        let Some(app) = spawn_app(backend).await else {
            return;
        };
        for body in documents {
            let report = capture::capture(
                app.app().db(),
                &Actor::cli(),
                HOME,
                body.clone().into(),
                "application/ld+json",
                &CaptureOptions::default(),
            )
            .await
            .unwrap();
            assert_eq!(report.anomalies, 0, "{report:?}");
        }
        let pool = app.app().db().pool().clone();
        let ledger = |epc: &str| {
            let (key, pool) = (epc_key(epc), pool.clone());
            async move {
                sqlx::query_as::<_, (Option<String>, Option<String>)>(
                    "SELECT parent_epc, top_epc FROM serials WHERE epc = $1",
                )
                .bind(key)
                .fetch_one(&pool)
                .await
                .unwrap()
            }
        };
        let other = epc_key(other_case);
        assert_eq!(
            ledger(unit).await,
            (Some(epc_key(case)), Some(other.clone()))
        );
        assert_eq!(
            ledger(case).await,
            (Some(other.clone()), Some(other.clone()))
        );
        let open: Vec<(String, String)> = sqlx::query_as(
            "SELECT child, parent FROM aggregation_intervals WHERE to_time IS NULL ORDER BY child",
        )
        .fetch_all(app.app().db().pool())
        .await
        .unwrap();
        let mut expected = vec![(epc_key(unit), epc_key(case)), (epc_key(case), other)];
        expected.sort();
        assert_eq!(
            open, expected,
            "the case's interval on the pallet is closed"
        );
        app.stop().await;
    }
}
