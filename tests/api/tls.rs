//! The partner listener's front door: who gets past the TLS handshake, and who gets past the
//! authorisation extractor.

use partners::devpki::{DevCa, Validity};
use partners::{StaffRole, Status};
use reqwest::StatusCode;

use crate::helpers::{Backend, TestApp, json, partner, spawn_app, staff};

crate::on_both_backends!(
    no_certificate_is_refused_at_the_handshake,
    unknown_ca_is_refused_at_the_handshake,
    expired_certificate_is_refused_at_the_handshake,
    revoked_certificate_is_refused_after_crl_reload,
    a_renewed_server_certificate_reaches_both_listeners_without_a_restart,
    registered_partner_gets_whoami_over_h2_and_http1,
    suspended_partner_gets_403_problem,
    unbound_certificate_gets_403_problem,
    rotation_old_and_new_work_until_old_is_removed,
    staff_and_regulator_visibility,
    ops_listener_health_and_readiness,
);

async fn no_certificate_is_refused_at_the_handshake(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let err = app.whoami(None).await.unwrap_err();
    assert!(err.status().is_none(), "no HTTP status expected: {err:?}");
    app.stop().await;
}

async fn unknown_ca_is_refused_at_the_handshake(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.register(partner("acme", &[])).await;
    // Same common name as a registered partner, but issued by a CA the server does not trust.
    let stranger = DevCa::generate_named("someone else's CA").unwrap();
    let cert = stranger.issue_client(&"acme".parse().unwrap(), 30).unwrap();
    let err = app.whoami(Some(&cert)).await.unwrap_err();
    assert!(err.status().is_none(), "{err:?}");
    app.stop().await;
}

async fn expired_certificate_is_refused_at_the_handshake(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.register(partner("acme", &[])).await;
    let now = time::OffsetDateTime::now_utc();
    let expired = app
        .ca
        .issue_client_with(
            "acme",
            Validity {
                not_before: now - time::Duration::days(30),
                not_after: now - time::Duration::days(1),
            },
        )
        .unwrap();
    let err = app.whoami(Some(&expired)).await.unwrap_err();
    assert!(err.status().is_none(), "{err:?}");
    // A valid certificate for the same principal works.
    let fresh = app.issue("acme");
    assert_eq!(
        app.whoami(Some(&fresh)).await.unwrap().status(),
        StatusCode::OK
    );
    app.stop().await;
}

async fn revoked_certificate_is_refused_after_crl_reload(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.register(partner("acme", &[])).await;
    let cert = app.issue("acme");
    let other = app.issue("acme");
    // One keep-alive connection, opened before the revocation.
    let open = app.client_with(Some(&cert), &[b"http/1.1"]);
    let url = format!("{}/whoami", app.base);
    assert_eq!(
        open.get(&url).send().await.unwrap().status(),
        StatusCode::OK
    );

    let crl = app.ca.crl_pem(&[cert.serial()], 2).unwrap();
    partners::devpki::write_file(&app.layout.crl(), crl.as_bytes(), false).unwrap();
    assert!(
        app.app().tls().reload_if_changed().unwrap(),
        "CRL change not seen"
    );

    // New connections with the revoked certificate fail the handshake…
    let err = app.whoami(Some(&cert)).await.unwrap_err();
    assert!(err.status().is_none(), "{err:?}");
    // …the connection opened before the reload is refused on its next request…
    let response = open.get(&url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(json(response).await["code"], "certificate_revoked");
    // …and another certificate of the same principal still works.
    assert_eq!(
        app.whoami(Some(&other)).await.unwrap().status(),
        StatusCode::OK
    );
    app.stop().await;
}

async fn registered_partner_gets_whoami_over_h2_and_http1(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.register(partner("acme", &["0614141000005"])).await;
    let cert = app.issue("acme");
    let response = app.whoami(Some(&cert)).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.version(), reqwest::Version::HTTP_2);
    let body = json(response).await;
    assert_eq!(body["principal"]["id"], "acme");
    assert_eq!(body["principal"]["kind"], "partner");
    assert_eq!(body["principal"]["role"], "wholesaler");
    assert_eq!(
        body["certificate"]["fingerprint"],
        partners::Fingerprint::of_der(cert.cert_der()).as_str()
    );
    assert_eq!(body["visibility"]["scope"], "party_to");
    assert_eq!(body["visibility"]["glns"][0], "0614141000005");
    assert_eq!(
        body["permissions"],
        serde_json::json!([
            "capture_events",
            "identify",
            "query_events",
            "trace",
            "verify"
        ])
    );

    let http1 = app.client_with(Some(&cert), &[b"http/1.1"]);
    let response = http1
        .get(format!("{}/whoami", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.version(), reqwest::Version::HTTP_11);

    // Unknown paths answer with problem details too (after authentication at the handshake).
    let response = http1
        .get(format!("{}/nope", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    app.stop().await;
}

async fn suspended_partner_gets_403_problem(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.register(partner("acme", &[])).await;
    let cert = app.issue("acme");
    let id = "acme".parse().unwrap();
    let actor = dscsa_exchange::services::Actor::Demo;
    dscsa_exchange::services::principals::set_status(
        app.app().db(),
        &actor,
        &id,
        Status::Suspended,
    )
    .await
    .unwrap();
    let response = app.whoami(Some(&cert)).await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    assert_eq!(
        response.text().await.unwrap(),
        r#"{"type":"urn:dscsa:problem:principal_suspended","title":"Principal suspended","status":403,"detail":"principal acme is suspended: ask the home organisation to reinstate it","code":"principal_suspended"}"#
    );
    dscsa_exchange::services::principals::set_status(app.app().db(), &actor, &id, Status::Active)
        .await
        .unwrap();
    assert_eq!(
        app.whoami(Some(&cert)).await.unwrap().status(),
        StatusCode::OK
    );
    app.stop().await;
}

async fn unbound_certificate_gets_403_problem(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let cert = app.issue("nobody");
    let fingerprint = partners::Fingerprint::of_der(cert.cert_der());
    let response = app.whoami(Some(&cert)).await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        response.text().await.unwrap(),
        format!(
            r#"{{"type":"urn:dscsa:problem:certificate_not_bound","title":"Certificate not bound to a principal","status":403,"detail":"certificate {} (subject \"CN=nobody\") is valid but bound to no principal: send its SHA-256 fingerprint {} to the home organisation to have it bound","code":"certificate_not_bound"}}"#,
            fingerprint.short(),
            fingerprint
        )
    );
    app.stop().await;
}

async fn rotation_old_and_new_work_until_old_is_removed(backend: Backend) {
    use dscsa_exchange::services::{Actor, principals as svc};
    use partners::binding::BindingMatch;
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let db = app.app().db();
    let old = app.issue("acme-2024");
    let new = app.issue("acme-2025");
    let acme = partner("acme", &[]);
    let pin = |c: &partners::devpki::IssuedCert| {
        BindingMatch::Fingerprint(partners::Fingerprint::of_der(c.cert_der()))
    };
    let ids = svc::register(db, &Actor::Demo, &acme, &[(pin(&old), None)])
        .await
        .unwrap();
    assert_eq!(
        app.whoami(Some(&new)).await.unwrap().status(),
        StatusCode::FORBIDDEN
    );

    let new_binding = svc::bind(db, &Actor::Demo, &acme.id, &pin(&new), None)
        .await
        .unwrap();
    for cert in [&old, &new] {
        let response = app.whoami(Some(cert)).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(json(response).await["principal"]["id"], "acme");
    }
    // A third active binding is refused: two at a time.
    let third = app.issue("acme-2026");
    let err = svc::bind(db, &Actor::Demo, &acme.id, &pin(&third), None)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("two active"), "{err}");
    // The same certificate cannot speak for two principals.
    let other = partner("other", &[]);
    let err = svc::register(db, &Actor::Demo, &other, &[(pin(&new), None)])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("already bound"), "{err}");

    svc::unbind(db, &Actor::Demo, &acme.id, ids[0])
        .await
        .unwrap();
    let response = app.whoami(Some(&old)).await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(json(response).await["code"], "certificate_not_bound");
    let response = app.whoami(Some(&new)).await.unwrap();
    assert_eq!(
        json(response).await["certificate"]["binding_id"],
        new_binding
    );
    app.stop().await;
}

async fn staff_and_regulator_visibility(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.register(staff("jdoe", StaffRole::Compliance)).await;
    let mut fda = partner("fda", &[]);
    if let partners::PrincipalKind::Partner(record) = fda.kind {
        let mut record = record;
        record.role = partners::PartnerRole::Regulator;
        fda.kind = partners::PrincipalKind::for_record(record);
    }
    app.register(fda).await;
    let body = json(app.whoami(Some(&app.issue("jdoe"))).await.unwrap()).await;
    assert_eq!(body["principal"]["kind"], "staff");
    assert_eq!(body["principal"]["role"], "compliance");
    assert_eq!(body["visibility"]["scope"], "all");
    let body = json(app.whoami(Some(&app.issue("fda"))).await.unwrap()).await;
    assert_eq!(body["principal"]["kind"], "regulator");
    assert_eq!(body["visibility"]["scope"], "records_requests");
    app.stop().await;
}

async fn ops_listener_health_and_readiness(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let ops = format!("http://{}", app.app().ops_addr());
    let client = app.client(None); // a plain-HTTP request through the same client type
    let health = client.get(format!("{ops}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let ready = client.get(format!("{ops}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    assert_eq!(ready.text().await.unwrap(), "ready\n");
    let partner_addr = app.app().partner_addr();
    app.stop().await;
    // After stop, nothing listens any more.
    assert!(tokio::net::TcpStream::connect(partner_addr).await.is_err());
}

/// The leaf certificate a listener at `addr` presents to a new connection (no client
/// certificate: the partner listener refuses the handshake after sending its own).
async fn served_certificate(app: &TestApp, addr: std::net::SocketAddr) -> Vec<u8> {
    let ca = rustls::pki_types::CertificateDer::from(app.ca.cert_der().to_vec());
    let config = partners::tls::client_config(&[ca], None, &[b"http/1.1"], false).unwrap();
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let connector = tokio_rustls::TlsConnector::from(config);
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut seen = Vec::new();
    // Over TLS 1.3 the client finishes before the server refuses it, so the handshake
    // completes here for both listeners.
    if let Ok(stream) = connector.connect(name, tcp).await {
        let (_, conn) = stream.get_ref();
        seen = conn.peer_certificates().unwrap()[0].to_vec();
    }
    seen
}

async fn a_renewed_server_certificate_reaches_both_listeners_without_a_restart(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let agent = app.app().agent_addr().unwrap();
    let partner_addr = app.app().partner_addr();
    let before = served_certificate(&app, agent).await;
    assert!(!before.is_empty());
    assert_eq!(served_certificate(&app, partner_addr).await, before);

    let renewed = app.ca.issue_server().unwrap();
    renewed
        .write(&app.layout.server_cert(), &app.layout.server_key())
        .unwrap();
    assert!(app.app().tls().reload_if_changed().unwrap());

    let after = served_certificate(&app, agent).await;
    assert_eq!(
        after,
        renewed.cert_der(),
        "the agent listener serves the new certificate"
    );
    assert_ne!(after, before);
    assert_eq!(served_certificate(&app, partner_addr).await, after);
    app.stop().await;
}
