//! Abuse limits on the partner listener, from the configuration: a per-principal request
//! budget (429 with `Retry-After`), allowed networks per principal (403), the body limit
//! outside capture (413), and the request time limit (503). Each refusal is on the audit
//! record; other principals are not affected.

use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::helpers::{Backend, TestApp, json, partner, spawn_app_with, staff};

crate::on_both_backends!(
    a_principal_over_its_budget_gets_429_with_retry_after,
    a_principal_outside_its_networks_gets_403,
    bodies_over_the_limit_get_413_outside_capture,
    a_request_that_takes_too_long_gets_503,
);

async fn refusals_recorded(app: &TestApp, status: i64) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM audit_records WHERE status = $1")
        .bind(status)
        .fetch_one(app.app().db().pool())
        .await
        .unwrap()
}

async fn a_principal_over_its_budget_gets_429_with_retry_after(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |c| c.partner_limits.requests_per_minute = 3).await
    else {
        return;
    };
    app.register(partner("busy", &["0614141000005"])).await;
    app.register(partner("calm", &["0860001000009"])).await;
    let busy = app.client(Some(&app.issue("busy")));
    for _ in 0..3 {
        let r = busy
            .get(format!("{}/whoami", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    let refused = busy
        .get(format!("{}/whoami", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 429);
    let wait: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=20).contains(&wait), "{wait}");
    let body = json(refused).await;
    assert_eq!(body["code"], "rate_limited", "{body}");
    assert!(body["detail"].as_str().unwrap().contains("busy"), "{body}");
    // Another principal has its own budget.
    assert_eq!(
        app.whoami(Some(&app.issue("calm"))).await.unwrap().status(),
        200
    );
    assert_eq!(refusals_recorded(&app, 429).await, 1);
    app.stop().await;
}

async fn a_principal_outside_its_networks_gets_403(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |c| {
        let mut nets = std::collections::BTreeMap::new();
        nets.insert(
            "remote".parse().unwrap(),
            vec![
                "10.9.0.0/16".parse().unwrap(),
                "2001:db8::/32".parse().unwrap(),
            ],
        );
        nets.insert(
            "local".parse().unwrap(),
            vec!["127.0.0.0/8".parse().unwrap()],
        );
        c.partner_limits.allowed_networks = nets;
    })
    .await
    else {
        return;
    };
    app.register(partner("remote", &["0614141000005"])).await;
    app.register(partner("local", &["0860001000009"])).await;
    app.register(partner("anywhere", &["0860001000016"])).await;
    let refused = app.whoami(Some(&app.issue("remote"))).await.unwrap();
    assert_eq!(refused.status(), 403);
    let body = json(refused).await;
    assert_eq!(body["code"], "network_not_allowed", "{body}");
    assert!(
        body["detail"].as_str().unwrap().contains("127.0.0.1"),
        "{body}"
    );
    assert_eq!(
        app.whoami(Some(&app.issue("local")))
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        app.whoami(Some(&app.issue("anywhere")))
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(refusals_recorded(&app, 403).await, 1);
    app.stop().await;
}

async fn bodies_over_the_limit_get_413_outside_capture(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |c| c.partner_limits.max_body_bytes = 512).await else {
        return;
    };
    app.register(staff("comp", partners::StaffRole::Compliance))
        .await;
    let client = app.client(Some(&app.issue("comp")));
    let padding = "x".repeat(2000);
    let response = client
        .post(format!("{}/tracing/requests", app.base))
        .json(&serde_json::json!({
            "product": {"gtin": "00614141100019", "serialNumber": padding},
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    // Capture has its own, larger limit (capture.max_document_bytes).
    let document = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/epcis-reference/fastnt-test-resources/v1_2/Events/ObjectEvent_Full.xml"
    ))
    .unwrap();
    assert!(document.len() > 512);
    let response = client
        .post(format!("{}/epcis/capture", app.base))
        .header("content-type", "application/xml")
        .body(document)
        .send()
        .await
        .unwrap();
    assert_ne!(
        response.status(),
        413,
        "capture is not bound by max_body_bytes"
    );
    assert_eq!(refusals_recorded(&app, 413).await, 1);
    app.stop().await;
}

async fn a_request_that_takes_too_long_gets_503(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |c| {
        c.partner_limits.request_timeout = Duration::from_secs(1);
    })
    .await
    else {
        return;
    };
    app.register(staff("slow", partners::StaffRole::Compliance))
        .await;
    let cert = app.issue("slow");
    let ca = rustls::pki_types::CertificateDer::from(app.ca.cert_der().to_vec());
    let config = partners::tls::client_config(
        &[ca],
        Some(partners::tls::ClientIdentity::from_pem(cert.cert_pem(), cert.key_pem()).unwrap()),
        &[b"http/1.1"],
        false,
    )
    .unwrap();
    let tcp = tokio::net::TcpStream::connect(app.app().partner_addr())
        .await
        .unwrap();
    let mut tls = tokio_rustls::TlsConnector::from(config)
        .connect(
            rustls::pki_types::ServerName::try_from("localhost").unwrap(),
            tcp,
        )
        .await
        .unwrap();
    // Headers promise 100 bytes of body; one arrives, then nothing.
    tls.write_all(
        b"POST /tracing/requests HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{",
    )
    .await
    .unwrap();
    tls.flush().await.unwrap();
    let started = std::time::Instant::now();
    let mut answer = vec![0; 4096];
    let n = tokio::time::timeout(Duration::from_secs(10), tls.read(&mut answer))
        .await
        .expect("the server answers before the client gives up")
        .unwrap();
    let head = String::from_utf8_lossy(&answer[..n]);
    assert!(head.starts_with("HTTP/1.1 503"), "{head}");
    assert!(started.elapsed() < Duration::from_secs(5));
    drop(tls);
    // The audit record is written as the response leaves; give the writer a moment.
    let mut recorded = 0;
    for _ in 0..50 {
        recorded = refusals_recorded(&app, 503).await;
        if recorded == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(recorded, 1);
    app.stop().await;
}
