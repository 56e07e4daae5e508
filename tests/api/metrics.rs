//! `GET /metrics` on the ops listener, scraped over HTTP after real requests through the
//! partner and agent listeners: the counters move by exactly what was done, routes are
//! labelled by their template, no label carries a serial, lot, token or raw path, and the
//! audit head gauge is the trail's last sequence number.

use std::collections::BTreeMap;

use dscsa_exchange::services::Actor;
use dscsa_exchange::services::agent_tokens::{self, IssueRequest};
use rmcp::model::{CallToolRequestParams, ClientConfig, ProtocolVersion};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::{ClientHandler, ServiceExt as _};

use crate::helpers::{Backend, TestApp, demo_serial, spawn_app, spawn_demo, staff};

crate::on_both_backends!(
    metrics_count_partner_and_agent_traffic,
    metrics_show_binding_expiry_and_process_basics,
);

/// A client that speaks the 2025-11-25 revision (its calls reach the handler, which counts
/// them, rather than being refused at the HTTP layer by name).
#[derive(Debug, Clone)]
struct Client2025;

impl ClientHandler for Client2025 {
    fn get_info(&self) -> ClientConfig {
        let mut info = ClientConfig::default();
        info.protocol_version = ProtocolVersion::V_2025_11_25;
        info
    }
}

const VRS_ROUTE: &str = "/vrs/gtin/{gtin}/lot/{lot}/ser/{ser}";
const EAST_GLN: &str = "0860001000009";

/// One sample: its name and labels.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Series {
    name: String,
    labels: BTreeMap<String, String>,
}

/// A parsed exposition: every sample's value.
#[derive(Debug, Clone)]
struct Scrape {
    samples: BTreeMap<Series, f64>,
    text: String,
}

impl Scrape {
    /// The value of `name` with exactly `labels`, 0 when the series is absent (a counter that
    /// never moved).
    fn get(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let series = Series {
            name: name.to_owned(),
            labels: labels
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        };
        self.samples.get(&series).copied().unwrap_or(0.0)
    }

    fn label_values(&self) -> impl Iterator<Item = &str> {
        self.samples
            .keys()
            .flat_map(|s| s.labels.values().map(String::as_str))
    }
}

/// Parses the OpenMetrics / Prometheus text format (the subset this server writes: no
/// timestamps or exemplars). Label values are quoted with `\\`, `\"` and `\n` escapes.
fn parse(text: &str) -> BTreeMap<Series, f64> {
    let mut samples = BTreeMap::new();
    for line in text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let mut chars = line.chars().peekable();
        let mut name = String::new();
        while let Some(&c) = chars.peek() {
            if c == '{' || c == ' ' {
                break;
            }
            name.push(c);
            chars.next();
        }
        let mut labels = BTreeMap::new();
        if chars.peek() == Some(&'{') {
            chars.next();
            loop {
                match chars.next().expect("label or }") {
                    '}' => break,
                    ',' => continue,
                    first => {
                        let mut key = String::from(first);
                        for c in chars.by_ref() {
                            if c == '=' {
                                break;
                            }
                            key.push(c);
                        }
                        assert_eq!(chars.next(), Some('"'), "{line}");
                        let mut value = String::new();
                        loop {
                            match chars.next().expect("closing quote") {
                                '"' => break,
                                '\\' => match chars.next().expect("escaped character") {
                                    'n' => value.push('\n'),
                                    other => value.push(other),
                                },
                                c => value.push(c),
                            }
                        }
                        labels.insert(key, value);
                    }
                }
            }
        }
        let value: String = chars.collect();
        let value = match value.trim() {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v.parse().unwrap_or_else(|_| panic!("value of {line:?}")),
        };
        assert!(
            samples.insert(Series { name, labels }, value).is_none(),
            "duplicate series: {line}"
        );
    }
    samples
}

async fn scrape(app: &TestApp) -> Scrape {
    let url = format!("http://{}/metrics", app.app().ops_addr());
    // Plain HTTP through the same client type as the TLS tests (it carries the crypto provider).
    let response = app.client(None).get(&url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    let text = response.text().await.unwrap();
    assert!(text.ends_with("# EOF\n"), "{text}");
    Scrape {
        samples: parse(&text),
        text,
    }
}

/// `after - before` for one series.
fn moved(before: &Scrape, after: &Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    after.get(name, labels) - before.get(name, labels)
}

async fn anomalies(app: &TestApp, kind: &str) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM anomalies WHERE kind = $1")
        .bind(kind)
        .fetch_one(app.app().db().pool())
        .await
        .unwrap()
}

async fn audit_max_seq(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT MAX(seq) FROM audit_records")
        .fetch_one(app.app().db().pool())
        .await
        .unwrap()
}

/// An ObjectEvent observing a serial never commissioned here: stored, with one
/// `not_commissioned` anomaly.
const UNCOMMISSIONED_OBSERVE: &str = r#"{
  "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
  "type": "ObjectEvent",
  "eventTime": "2026-01-05T10:00:00.000Z",
  "eventTimeZoneOffset": "+00:00",
  "epcList": ["urn:epc:id:sgtin:0614141.107346.METRICS1"],
  "action": "OBSERVE",
  "bizStep": "inspecting",
  "disposition": "active",
  "readPoint": {"id": "urn:epc:id:sgln:0614141.00001.0"}
}"#;

async fn metrics_count_partner_and_agent_traffic(backend: Backend) {
    let Some(app) = spawn_demo(backend).await else {
        return;
    };
    app.register(staff("comp-1", partners::StaffRole::Compliance))
        .await;
    let (gtin, serial, lot, exp) = demo_serial(&app, false).await;
    let token = agent_tokens::issue(
        app.app().db(),
        &Actor::cli(),
        IssueRequest {
            principal: "comp-1".parse().unwrap(),
            scopes: vec!["verify".into()],
            gtins: vec![],
            lot: None,
            investigation: None,
            ttl: std::time::Duration::from_secs(3600),
            purpose: "metrics test".into(),
        },
    )
    .await
    .unwrap()
    .token;
    let anomalies_before = anomalies(&app, "not_commissioned").await;
    let before = scrape(&app).await;

    // Partner listener: two verifications (verified, unknown serial) as whs-east.
    let east = app.client(Some(&app.issue("whs-east")));
    let query = format!("exp={exp}&context=dscsaSaleableReturn&reqGLN={EAST_GLN}");
    for ser in [serial.as_str(), "NOSUCH-SERIAL-77"] {
        let response = east
            .get(format!(
                "{}/vrs/gtin/{gtin}/lot/{lot}/ser/{ser}?{query}",
                app.base
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    // A capture of one event with an anomaly, then the same event again (409, a duplicate).
    let mfg = app.client(Some(&app.issue("mfg-acme")));
    for expected in [201, 409] {
        let response = mfg
            .post(format!("{}/epcis/events", app.base))
            .header("content-type", "application/ld+json")
            .body(UNCOMMISSIONED_OBSERVE)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), expected, "{:?}", response.text().await);
    }
    // Refused: a valid certificate bound to nobody.
    let stranger = app.client(Some(&app.issue("stranger")));
    let response = stranger
        .get(format!("{}/whoami", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    // No route: the raw path must not become a label.
    let response = east
        .get(format!("{}/no/such/SECRET-PATH-42", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);

    // Agent listener: no token (401), then a session with a verify-scoped token.
    let mcp_url = format!(
        "https://localhost:{}/mcp",
        app.app().agent_addr().unwrap().port()
    );
    let response = app
        .client(None)
        .post(&mcp_url)
        .header("accept", "application/json, text/event-stream")
        .json(&serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let config = StreamableHttpClientTransportConfig::with_uri(mcp_url.clone()).auth_header(&token);
    let transport = StreamableHttpClientTransport::with_client(app.client(None), config);
    let client = Client2025.serve(transport).await.unwrap();
    let call = |tool: &'static str, args: serde_json::Value| {
        let serde_json::Value::Object(args) = args else {
            panic!("arguments are an object");
        };
        client.call_tool(CallToolRequestParams::new(tool).with_arguments(args))
    };
    let ok = call(
        "verify_product",
        serde_json::json!({"gtin": gtin, "serial": serial, "lot": lot}),
    )
    .await
    .unwrap();
    assert_ne!(ok.is_error, Some(true));
    let failed = call(
        "verify_product",
        serde_json::json!({"gtin": "123", "serial": "S"}),
    )
    .await
    .unwrap();
    assert_eq!(failed.is_error, Some(true));
    call("lot_summary", serde_json::json!({"gtin": gtin, "lot": lot}))
        .await
        .unwrap_err();
    call("drop_tables", serde_json::json!({}))
        .await
        .unwrap_err();
    client.cancel().await.unwrap();

    let after = scrape(&app).await;
    let d = |name: &str, labels: &[(&str, &str)]| moved(&before, &after, name, labels);

    // HTTP requests by route template and status, with latency.
    let vrs = [("method", "GET"), ("route", VRS_ROUTE), ("status", "200")];
    assert_eq!(d("dscsa_http_requests_total", &vrs), 2.0, "{}", after.text);
    let vrs_latency = [("method", "GET"), ("route", VRS_ROUTE)];
    assert_eq!(
        d("dscsa_http_request_duration_seconds_count", &vrs_latency),
        2.0
    );
    assert!(d("dscsa_http_request_duration_seconds_sum", &vrs_latency) > 0.0);
    let inf = [("method", "GET"), ("route", VRS_ROUTE), ("le", "+Inf")];
    assert_eq!(d("dscsa_http_request_duration_seconds_bucket", &inf), 2.0);
    for (status, n) in [("201", 1.0), ("409", 1.0)] {
        let labels = [
            ("method", "POST"),
            ("route", "/epcis/events"),
            ("status", status),
        ];
        assert_eq!(d("dscsa_http_requests_total", &labels), n, "{status}");
    }
    let whoami = [("method", "GET"), ("route", "/whoami"), ("status", "403")];
    assert_eq!(d("dscsa_http_requests_total", &whoami), 1.0);
    let unmatched = [
        ("method", "GET"),
        ("route", "(unmatched)"),
        ("status", "404"),
    ];
    assert_eq!(d("dscsa_http_requests_total", &unmatched), 1.0);
    // Every route label is a template or "(unmatched)".
    for series in after.samples.keys() {
        if let Some(route) = series.labels.get("route") {
            assert!(
                route == "(unmatched)" || route.starts_with('/'),
                "route label {route:?}"
            );
            assert!(!route.contains("ser/") || route == VRS_ROUTE, "{route}");
        }
    }

    // Refusals.
    let refused = [
        ("listener", "partner"),
        ("status", "403"),
        ("reason", "certificate_not_bound"),
    ];
    assert_eq!(d("dscsa_http_refusals_total", &refused), 1.0);
    let no_token = [
        ("listener", "agent"),
        ("status", "401"),
        ("reason", "no_token"),
    ];
    assert_eq!(d("dscsa_http_refusals_total", &no_token), 1.0);

    // Capture: two documents stored, one new event, one duplicate, one anomaly.
    assert_eq!(
        d("dscsa_capture_documents_total", &[("outcome", "stored")]),
        2.0
    );
    assert_eq!(d("dscsa_capture_events_total", &[("result", "new")]), 1.0);
    assert_eq!(
        d("dscsa_capture_events_total", &[("result", "duplicate")]),
        1.0
    );
    let stored_anomalies = anomalies(&app, "not_commissioned").await - anomalies_before;
    assert_eq!(stored_anomalies, 1);
    assert_eq!(
        d(
            "dscsa_capture_anomalies_total",
            &[("kind", "not_commissioned")]
        ),
        1.0
    );

    // Verification outcomes, REST and MCP.
    let verified = |channel| {
        [
            ("channel", channel),
            ("verified", "true"),
            ("reason", "none"),
        ]
    };
    assert_eq!(d("dscsa_verifications_total", &verified("rest")), 1.0);
    assert_eq!(d("dscsa_verifications_total", &verified("mcp")), 1.0);
    let no_match = [
        ("channel", "rest"),
        ("verified", "false"),
        ("reason", "No_match_GTIN_Serial"),
    ];
    assert_eq!(d("dscsa_verifications_total", &no_match), 1.0);

    // MCP tool calls by tool and outcome; a name that is no tool is "(unknown)".
    let tool = |tool, outcome| [("tool", tool), ("outcome", outcome)];
    assert_eq!(
        d("dscsa_mcp_tool_calls_total", &tool("verify_product", "ok")),
        1.0
    );
    assert_eq!(
        d(
            "dscsa_mcp_tool_calls_total",
            &tool("verify_product", "failed")
        ),
        1.0
    );
    assert_eq!(
        d("dscsa_mcp_tool_calls_total", &tool("lot_summary", "denied")),
        1.0
    );
    assert_eq!(
        d("dscsa_mcp_tool_calls_total", &tool("(unknown)", "denied")),
        1.0
    );

    // No label carries a serial, lot, GTIN, token or raw path.
    for value in after.label_values() {
        for secret in [
            serial.as_str(),
            lot.as_str(),
            gtin.as_str(),
            token.as_str(),
            "NOSUCH-SERIAL-77",
            "SECRET-PATH-42",
            "drop_tables",
            "METRICS1",
        ] {
            assert!(
                !value.contains(secret),
                "label {value:?} carries {secret:?}"
            );
        }
    }

    // The audit head gauge is the trail's last sequence number.
    let max_seq = audit_max_seq(&app).await;
    assert_eq!(after.get("dscsa_audit_head_seq", &[]), max_seq as f64);
    let again = scrape(&app).await;
    assert_eq!(
        again.get("dscsa_audit_head_seq", &[]),
        max_seq as f64,
        "a scrape writes no audit record"
    );
    app.stop().await;
}

async fn metrics_show_binding_expiry_and_process_basics(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let db = app.app().db();
    // A name binding (no stored end of validity) and a binding made from a certificate file
    // (its end of validity stored).
    app.register(crate::helpers::partner("whs-east", &[])).await;
    let pinned_cert = app.issue("pinned-partner");
    let pinned = partners::PeerIdentity::from_der(pinned_cert.cert_der()).unwrap();
    let ids = dscsa_exchange::services::principals::register(
        db,
        &Actor::Demo,
        &crate::helpers::partner("pinned-partner", &[]),
        &[(
            partners::binding::BindingMatch::Fingerprint(pinned.fingerprint().clone()),
            Some(pinned.not_after()),
        )],
    )
    .await
    .unwrap();
    let name_binding: i64 = sqlx::query_scalar(
        "SELECT id FROM cert_bindings WHERE principal_id = 'whs-east' AND removed_at IS NULL",
    )
    .fetch_one(db.pool())
    .await
    .unwrap();

    let first = scrape(&app).await;
    let stored = |s: &Scrape, principal: &str, binding: i64| {
        s.get(
            "dscsa_binding_certificate_not_after_seconds",
            &[
                ("principal_id", principal),
                ("binding_id", &binding.to_string()),
            ],
        )
    };
    let presented = |s: &Scrape, principal: &str, binding: i64| {
        s.get(
            "dscsa_binding_presented_certificate_not_after_seconds",
            &[
                ("principal_id", principal),
                ("binding_id", &binding.to_string()),
            ],
        )
    };
    assert_eq!(
        stored(&first, "pinned-partner", ids[0]),
        pinned.not_after() as f64
    );
    assert_eq!(
        stored(&first, "whs-east", name_binding),
        0.0,
        "a name binding stores no end of validity"
    );
    assert_eq!(presented(&first, "whs-east", name_binding), 0.0);

    // Once its certificate is presented, the name binding shows that certificate's end.
    let east_cert = app.issue("whs-east");
    let east = partners::PeerIdentity::from_der(east_cert.cert_der()).unwrap();
    assert_eq!(app.whoami(Some(&east_cert)).await.unwrap().status(), 200);
    let second = scrape(&app).await;
    assert_eq!(
        presented(&second, "whs-east", name_binding),
        east.not_after() as f64
    );
    let now = time::OffsetDateTime::now_utc().unix_timestamp() as f64;
    let until = presented(&second, "whs-east", name_binding) - now;
    assert!(
        (29.0 * 86_400.0..=31.0 * 86_400.0).contains(&until),
        "the test certificate is valid 30 days: {until}"
    );

    // Process basics and the build.
    let started = second.get("process_start_time_seconds", &[]);
    assert!(started > 0.0 && started <= now, "{started}");
    assert_eq!(
        second.get(
            "dscsa_build_info",
            &[("version", env!("CARGO_PKG_VERSION"))]
        ),
        1.0
    );
    if cfg!(target_os = "linux") {
        assert!(second.get("process_resident_memory_bytes", &[]) > 0.0);
        assert!(second.get("process_open_fds", &[]) > 0.0);
    }
    app.stop().await;
}
