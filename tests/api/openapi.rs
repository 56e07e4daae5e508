//! `GET /openapi.json`: a valid OpenAPI 3.1 document (checked by a real validator when
//! `DSCSA_OPENAPI_PYTHON` names a Python with PyPI `openapi-spec-validator`; `.ci/run`
//! installs it), and one that agrees with the router: every documented operation is routed
//! and answers a dummy request with a documented status, typical requests of key routes
//! answer documented statuses, and methods and paths the document does not name get the
//! router's 405 or its fallback 404.

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::{Backend, TestApp, json, spawn_app, spawn_demo, staff};

crate::on_both_backends!(
    openapi_json_is_a_valid_openapi_3_1_document,
    the_document_and_the_router_agree,
);

/// The detail of the router's fallback 404 (`error::not_found`).
const FALLBACK: &str = "no such resource on this server";

async fn fetch(app: &TestApp, cn: &str) -> Value {
    let response = app
        .client(Some(&app.issue(cn)))
        .get(format!("{}/openapi.json", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    json(response).await
}

async fn openapi_json_is_a_valid_openapi_3_1_document(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.register(crate::helpers::partner("east", &["0860001000009"]))
        .await;
    // Behind mTLS like everything else: a certificate bound to no principal is refused.
    let unbound = app
        .client(Some(&app.issue("nobody")))
        .get(format!("{}/openapi.json", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(unbound.status(), 403);
    assert_eq!(json(unbound).await["code"], "certificate_not_bound");

    let doc = fetch(&app, "east").await;
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(doc["servers"][0]["url"], "/");
    assert_eq!(
        doc["components"]["securitySchemes"]["mutualTLS"]["type"],
        "mutualTLS"
    );
    assert_eq!(doc["security"], serde_json::json!([{ "mutualTLS": [] }]));
    let codes = doc["components"]["schemas"]["Problem"]["properties"]["code"]["enum"]
        .as_array()
        .unwrap();
    for code in dscsa_exchange::error::Code::ALL {
        assert!(codes.contains(&Value::from(code.name())), "{}", code.name());
    }
    let tags: Vec<&str> = doc["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    let paths = doc["paths"].as_object().unwrap();
    for (path, item) in paths {
        assert!(path.starts_with('/') && !path.contains('*'), "{path}");
        for (method, op) in item.as_object().unwrap() {
            let tag = op["tags"][0].as_str().unwrap();
            assert!(tags.contains(&tag), "{method} {path}: tag {tag}");
            assert!(op["operationId"].is_string(), "{method} {path}");
            assert!(!op["responses"].as_object().unwrap().is_empty());
        }
    }
    for key in [
        "/whoami",
        "/openapi.json",
        "/audit",
        "/epcis/capture",
        "/epcis/events",
        "/epcis/events/{eventID}",
        "/vrs/gtin/{gtin}/lot/{lot}/ser/{ser}",
        "/tracing/requests",
        "/investigations/{id}/form-3911",
        "/fda/records-requests/{id}/package",
    ] {
        assert!(paths.contains_key(key), "{key} is not documented");
    }
    // Types with a schema are referenced, not inlined.
    assert_eq!(
        paths["/vrs/gtin/{gtin}/lot/{lot}/ser/{ser}"]["get"]["responses"]["200"]["content"]["application/json"]
            ["schema"]["$ref"],
        "#/components/schemas/Answer"
    );
    validate(&doc).await;
    app.stop().await;
}

/// Runs PyPI `openapi-spec-validator` over the document, when `.ci/run` provided it.
async fn validate(doc: &Value) {
    #[allow(
        clippy::disallowed_methods,
        reason = "test: where the validator's Python lives"
    )]
    let Some(python) = std::env::var_os("DSCSA_OPENAPI_PYTHON") else {
        eprintln!(
            "skipped: validating /openapi.json needs DSCSA_OPENAPI_PYTHON (a Python with PyPI \
             openapi-spec-validator 0.9; .ci/run installs it)"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, serde_json::to_vec(doc).unwrap()).unwrap();
    let output = tokio::process::Command::new(python)
        .args([
            "-c",
            "import json, sys\n\
             from openapi_spec_validator import validate\n\
             from openapi_spec_validator.validation import OpenAPIV31SpecValidator\n\
             validate(json.load(open(sys.argv[1])), cls=OpenAPIV31SpecValidator)\n\
             print('valid')",
        ])
        .arg(&file)
        .output()
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "openapi-spec-validator refused the document:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// `template` with each `{param}` replaced by a dummy value.
fn dummy_path(template: &str) -> String {
    template
        .split('/')
        .map(|s| if s.starts_with('{') { "dummy" } else { s })
        .collect::<Vec<_>>()
        .join("/")
}

/// Status and body of one request with an empty body.
async fn send(client: &reqwest::Client, method: &Method, url: &str) -> (StatusCode, String) {
    let response = client.request(method.clone(), url).send().await.unwrap();
    let status = response.status();
    (status, response.text().await.unwrap())
}

fn documented(doc: &Value, template: &str, method: &str) -> Vec<u16> {
    doc["paths"][template][method]["responses"]
        .as_object()
        .unwrap_or_else(|| panic!("{method} {template} is not documented"))
        .keys()
        .map(|s| s.parse().unwrap())
        .collect()
}

fn assert_documented(doc: &Value, template: &str, method: &str, status: StatusCode, body: &str) {
    let statuses = documented(doc, template, method);
    assert!(
        statuses.contains(&status.as_u16()),
        "{method} {template} answered {status}, documented {statuses:?}: {body}"
    );
}

async fn the_document_and_the_router_agree(backend: Backend) {
    let Some(app) = spawn_demo(backend).await else {
        return;
    };
    // Compliance staff hold every permission but administer and read_audit, so most
    // requests get past authorisation into the handler.
    app.register(staff("oa-compliance", partners::StaffRole::Compliance))
        .await;
    let doc = fetch(&app, "oa-compliance").await;
    let client = app.client(Some(&app.issue("oa-compliance")));
    let probes = [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::PATCH,
        Method::OPTIONS,
    ];
    let mut operations = 0;
    for (template, item) in doc["paths"].as_object().unwrap() {
        let url = format!("{}{}", app.base, dummy_path(template));
        let item = item.as_object().unwrap();
        for method in &probes {
            let name = method.as_str().to_ascii_lowercase();
            let (status, body) = send(&client, method, &url).await;
            if item.contains_key(&name) {
                operations += 1;
                // Routed: the handler (or its extractors) answered, not the router.
                assert_ne!(status, 405, "{method} {template} is documented, not routed");
                assert!(
                    !(status == 404 && body.contains(FALLBACK)),
                    "{method} {template} is documented, not routed: {body}"
                );
                assert_documented(&doc, template, &name, status, &body);
            } else {
                assert!(
                    status == 405 || (status == 404 && body.contains(FALLBACK)),
                    "{method} {template} is not documented but answered {status}: {body}"
                );
            }
        }
    }
    assert!(operations > 40, "only {operations} operations documented");

    // Paths the document does not name reach the fallback.
    for path in [
        "/nope",
        "/openapi.yaml",
        "/vrs/gtin/1/lot/2",
        "/investigations/1/unknown",
        "/fda/records-requests/1/package/more",
        "/masterdata/products",
    ] {
        let (status, body) = send(&client, &Method::GET, &format!("{}{path}", app.base)).await;
        assert_eq!(status, 404, "{path}: {body}");
        assert!(body.contains(FALLBACK), "{path}: {body}");
    }

    // Typical requests of key routes answer what the document says.
    let east = app.client(Some(&app.issue("whs-east")));
    let (status, body) = send(&east, &Method::GET, &format!("{}/whoami", app.base)).await;
    assert_eq!(status, 200);
    assert_documented(&doc, "/whoami", "get", status, &body);

    let vrs = "/vrs/gtin/{gtin}/lot/{lot}/ser/{ser}";
    let gtin: String =
        sqlx::query_scalar("SELECT gtin FROM serials WHERE gtin IS NOT NULL LIMIT 1")
            .fetch_one(app.app().db().pool())
            .await
            .unwrap();
    for (gtin, expected) in [(gtin.as_str(), 200), ("00860001000016", 404)] {
        let url = format!(
            "{}/vrs/gtin/{gtin}/lot/L1/ser/no-such-serial?exp=280630&reqGLN=0860001000009",
            app.base
        );
        let (status, body) = send(&east, &Method::GET, &url).await;
        assert_eq!(status, expected, "{body}");
        assert_documented(&doc, vrs, "get", status, &body);
    }

    let response = client
        .post(format!("{}/epcis/capture", app.base))
        .header("content-type", "application/ld+json")
        .body(CAPTURE_DOCUMENT)
        .send()
        .await
        .unwrap();
    let status = response.status();
    assert_eq!(status, 202);
    assert_documented(&doc, "/epcis/capture", "post", status, "");

    let auditor = app.client(Some(&app.issue("auditor")));
    let (status, body) = send(&auditor, &Method::GET, &format!("{}/audit", app.base)).await;
    assert_eq!(status, 200);
    assert_documented(&doc, "/audit", "get", status, &body);
    app.stop().await;
}

const CAPTURE_DOCUMENT: &str = r#"{
  "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
  "type": "EPCISDocument",
  "schemaVersion": "2.0",
  "creationDate": "2026-01-05T10:00:00.000Z",
  "epcisBody": {"eventList": [{
    "type": "ObjectEvent",
    "eventTime": "2026-01-05T10:00:00.000Z",
    "eventTimeZoneOffset": "+00:00",
    "epcList": ["urn:epc:id:sgtin:0614141.107346.9999"],
    "action": "ADD",
    "bizStep": "commissioning",
    "disposition": "active",
    "readPoint": {"id": "urn:epc:id:sgln:0614141.00001.0"}
  }]}
}"#;
