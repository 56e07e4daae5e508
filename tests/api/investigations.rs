//! Investigations through the real server, on the demo supply chain: from suspicion to
//! quarantine (a real EPCIS event), an illegitimate determination with its 24-hour FDA clock,
//! Form FDA 3911 data (JSON prefilled from master data, the ledger and the organisation; HTML
//! that escapes a hostile note), termination and closing; illegal transitions (409), unknown
//! cases (404), bad fields (400 naming them); partners refused on every route; the ledger
//! flags (suspect, quarantined, illegitimate, recalled); and the command line.

use dscsa_exchange::config::OrganisationSettings;
use partners::StaffRole;
use serde_json::{Value, json};

use crate::helpers::{
    Backend, TestApp, dscsa, exited, json, partner, spawn_app, spawn_app_with, spawn_demo, staff,
};

crate::on_both_backends!(
    suspicion_to_quarantine_illegitimate_3911_termination_and_close,
    illegal_transitions_are_409_unknown_cases_404_bad_fields_400,
    partners_are_refused_on_every_investigation_route,
    a_recall_marks_the_lot_and_a_cleared_case_releases_its_quarantine,
    the_3911_names_the_partner_a_unit_went_to_three_containers_deep,
);

/// A server for the demo's manufacturer, with the demo supply chain loaded; returns the app,
/// a compliance client and the demo's suspect serial.
async fn demo_app(backend: Backend) -> Option<(TestApp, reqwest::Client, String)> {
    let app = spawn_app_with(backend, |c| c.organisation = OrganisationSettings::demo()).await?;
    let chain = dscsa_exchange::demo::load_supply_chain(app.app().db())
        .await
        .unwrap();
    let (suspect, _holder) = chain.suspect.unwrap();
    app.register(staff("compliance", StaffRole::Compliance))
        .await;
    let client = app.client(Some(&app.issue("compliance")));
    Some((app, client, suspect))
}

async fn post(
    app: &TestApp,
    client: &reqwest::Client,
    path: &str,
    body: Value,
) -> reqwest::Response {
    client
        .post(format!("{}{path}", app.base))
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn ok(response: reqwest::Response) -> Value {
    let status = response.status();
    let body = json(response).await;
    assert!(status.is_success(), "{status}: {body}");
    body
}

async fn problem(response: reqwest::Response, status: u16) -> Value {
    assert_eq!(response.status(), status);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    json(response).await
}

/// The flags of one ledger row: (suspect, quarantined, illegitimate, recalled).
async fn flags(app: &TestApp, epc: &str) -> (i64, i64, i64, i64) {
    let key = dscsa_exchange::stored::epc_key(epc);
    sqlx::query_as(
        "SELECT suspect, quarantined, illegitimate, recalled FROM serials WHERE epc = $1",
    )
    .bind(key)
    .fetch_one(app.app().db().pool())
    .await
    .unwrap()
}

async fn suspicion_to_quarantine_illegitimate_3911_termination_and_close(backend: Backend) {
    let Some((app, client, suspect)) = demo_app(backend).await else {
        return;
    };
    // The demo's suspect unit may belong to the recalled lot: that flag is not this case's.
    let recalled = flags(&app, &suspect).await.3;
    assert_eq!(flags(&app, &suspect).await, (0, 0, 0, recalled));

    // Suspicion: the case opens and the serial is marked suspect.
    let response = post(
        &app,
        &client,
        "/investigations",
        json!({"reason": "suspect", "description": "Pharmacy reports a carton whose label print differs",
               "serials": [suspect]}),
    )
    .await;
    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let case = json(response).await;
    let id = case["id"].as_i64().unwrap();
    assert_eq!(location, format!("/investigations/{id}"));
    assert!(
        case["reference"].as_str().unwrap().starts_with("INV-"),
        "{case}"
    );
    assert!(
        case["reference"].as_str().unwrap().ends_with("-0001"),
        "{case}"
    );
    assert_eq!(case["status"], "open");
    assert_eq!(case["fda"]["state"], "not_started");
    assert_eq!(flags(&app, &suspect).await, (1, 0, 0, recalled));

    // Quarantine: a real EPCIS event, queryable like any other.
    let case = ok(post(
        &app,
        &client,
        &format!("/investigations/{id}/quarantine"),
        json!({}),
    )
    .await)
    .await;
    assert_eq!(case["status"], "quarantined");
    let hash = case["quarantine_event"].as_str().unwrap().to_owned();
    assert!(hash.starts_with("ni:///sha-256;"), "{hash}");
    assert_eq!(flags(&app, &suspect).await, (1, 1, 0, recalled));
    assert!(
        case["serials"][0]["last_disposition"]
            .as_str()
            .unwrap()
            .ends_with("sellable_not_accessible"),
        "{case}"
    );
    let events = client
        .get(format!(
            "{}/epcis/events?MATCH_epc={suspect}&EQ_bizStep=holding",
            app.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(events.status(), 200);
    let doc = epcis::decode(&events.bytes().await.unwrap()).unwrap();
    assert_eq!(doc.events.len(), 1);
    let event = &doc.events[0];
    assert!(
        event
            .disposition
            .as_deref()
            .unwrap()
            .ends_with("sellable_not_accessible")
    );
    assert!(
        event.read_point.as_ref().unwrap().id.contains("0614141"),
        "{event:?}"
    );
    assert_eq!(epcis::event_hash_id(event), hash);
    // Quarantining twice is refused.
    let p = problem(
        post(
            &app,
            &client,
            &format!("/investigations/{id}/quarantine"),
            json!({}),
        )
        .await,
        409,
    )
    .await;
    assert_eq!(p["code"], "conflict");

    // Verification through the VRS service, attached to the case.
    let case = ok(post(
        &app,
        &client,
        &format!("/investigations/{id}/verifications"),
        json!({}),
    )
    .await)
    .await;
    let verifications = case["verifications"].as_array().unwrap();
    assert_eq!(verifications.len(), 1, "{case}");
    assert_eq!(
        verifications[0]["answer"]["data"]["additionalInfo"], "Suspect",
        "{case}"
    );
    assert_eq!(verifications[0]["requester"], "compliance");
    let logged: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM verifications WHERE investigation_id = $1")
            .bind(id)
            .fetch_one(app.app().db().pool())
            .await
            .unwrap();
    assert_eq!(logged, 1);

    // A hostile note is kept as text.
    ok(post(
        &app,
        &client,
        &format!("/investigations/{id}/notes"),
        json!({"text": "<script>alert('x')</script> label font differs"}),
    )
    .await)
    .await;

    // Illegitimate: the ledger flag and the 24-hour clock.
    let case = ok(post(
        &app,
        &client,
        &format!("/investigations/{id}/determination"),
        json!({"determination": "illegitimate", "classification": "counterfeit",
               "note": "Manufacturer confirms the serial was never printed on this carton"}),
    )
    .await)
    .await;
    assert_eq!(case["status"], "determined");
    assert_eq!(case["determination"], "illegitimate");
    assert_eq!(case["fda"]["state"], "running");
    let left = case["fda"]["seconds_remaining"].as_i64().unwrap();
    assert!((86_000..=86_400).contains(&left), "{case}");
    assert!(case["fda"]["deadline"].is_string());
    assert!(
        case["fda"]["summary"].as_str().unwrap().contains("23 h"),
        "{case}"
    );
    assert_eq!(flags(&app, &suspect).await, (1, 1, 1, recalled));
    // The deadline shows in the list too.
    let list = ok(client
        .get(format!("{}/investigations", app.base))
        .send()
        .await
        .unwrap())
    .await;
    assert_eq!(list[0]["fda"]["state"], "running");

    // Form FDA 3911, prefilled.
    let form = ok(client
        .get(format!("{}/investigations/{id}/form-3911", app.base))
        .send()
        .await
        .unwrap())
    .await;
    assert_eq!(form["type_of_report"], "Initial");
    assert_eq!(form["classification"], "Counterfeit");
    let product = &form["products"][0];
    assert_eq!(product["ndc"], "0614-1100-01");
    assert_eq!(product["name"], "Amoxidemo");
    assert_eq!(product["strength"], "500 mg");
    assert_eq!(product["dosage_form"], "CAPSULE");
    assert_eq!(product["quantity"]["number"], 1);
    assert_eq!(product["expiration_dates"], json!(["2028-06-30"]));
    assert!(
        product["lot_numbers"][0]
            .as_str()
            .unwrap()
            .starts_with("LOT2605"),
        "{form}"
    );
    let serial = suspect.rsplit('.').next().unwrap();
    assert_eq!(product["serial_numbers"], json!([serial]));
    assert_eq!(form["company"]["name"], "Acme Pharmaceuticals Inc.");
    assert_eq!(form["company"]["contact_email"], "compliance@acme.example");
    assert!(
        form["description"]
            .as_str()
            .unwrap()
            .contains("label print differs")
    );
    let description = form["description"].as_str().unwrap();
    assert!(
        description.contains("Verification: 1 of 1 package(s) verified"),
        "{form}"
    );
    assert!(form["date_determined_illegitimate"].is_string());
    // The manufacturer shipped to a wholesaler: that wholesaler is the partner to notify.
    let partners = form["trading_partners"].as_array().unwrap();
    assert!(!partners.is_empty(), "{form}");
    assert!(
        partners
            .iter()
            .all(|p| p["relations"] == json!(["received_from_us"])),
        "{form}"
    );
    assert!(
        partners.iter().any(|p| p["principal"] == "whs-east"
            || p["principal"] == "whs-west"
            || p["name"]
                .as_str()
                .is_some_and(|n| n.contains("Distributors") || n.contains("Supply"))),
        "{form}"
    );

    // The printable page escapes the hostile note and loads nothing.
    for request in [
        client.get(format!(
            "{}/investigations/{id}/form-3911?format=html",
            app.base
        )),
        client
            .get(format!("{}/investigations/{id}/form-3911", app.base))
            .header("accept", "text/html"),
    ] {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        assert!(
            response.headers()["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("default-src 'none'")
        );
        let page = response.text().await.unwrap();
        assert!(
            page.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"),
            "{page}"
        );
        assert!(!page.contains("<script"), "{page}");
        assert!(!page.contains("src=") && !page.contains("href="), "{page}");
        assert!(page.contains("Amoxidemo") && page.contains("0614-1100-01"));
    }

    // Closing, terminating too early: 409 saying what comes first.
    let p = problem(
        post(
            &app,
            &client,
            &format!("/investigations/{id}/close"),
            json!({}),
        )
        .await,
        409,
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("terminate"), "{p}");
    let p = problem(
        post(
            &app,
            &client,
            &format!("/investigations/{id}/termination"),
            json!({"action": "request", "reason": "FDA agrees"}),
        )
        .await,
        409,
    )
    .await;
    assert!(
        p["detail"].as_str().unwrap().contains("incident number"),
        "{p}"
    );

    // FDA notified in time, then termination in consultation with FDA, then close.
    let case = ok(post(
        &app,
        &client,
        &format!("/investigations/{id}/fda-notification"),
        json!({"incident_number": "IN-2026-000123"}),
    )
    .await)
    .await;
    assert_eq!(case["fda"]["state"], "met");
    assert_eq!(case["fda_incident_number"], "IN-2026-000123");
    let form = ok(client
        .get(format!("{}/investigations/{id}/form-3911", app.base))
        .send()
        .await
        .unwrap())
    .await;
    assert_eq!(form["type_of_report"], "Follow-Up");
    assert_eq!(form["incident_number"], "IN-2026-000123");
    let case = ok(post(&app, &client, &format!("/investigations/{id}/termination"),
        json!({"action": "request", "reason": "Counterfeit units destroyed; no other units affected"})).await).await;
    assert_eq!(case["status"], "termination_requested");
    let form = ok(client
        .get(format!("{}/investigations/{id}/form-3911", app.base))
        .send()
        .await
        .unwrap())
    .await;
    assert_eq!(form["type_of_report"], "Request for Termination");
    assert!(
        form["termination_reason"]
            .as_str()
            .unwrap()
            .contains("destroyed")
    );
    let case = ok(post(
        &app,
        &client,
        &format!("/investigations/{id}/termination"),
        json!({"action": "confirm"}),
    )
    .await)
    .await;
    assert_eq!(case["status"], "terminated");
    let case = ok(post(
        &app,
        &client,
        &format!("/investigations/{id}/close"),
        json!({"note": "done"}),
    )
    .await)
    .await;
    assert_eq!(case["status"], "closed");
    let actions: Vec<&str> = case["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "open",
            "quarantine",
            "verification",
            "note",
            "determine",
            "fda_notification",
            "termination_requested",
            "terminated",
            "close"
        ]
    );
    assert_eq!(case["timeline"][1]["event_hash"], hash.as_str());
    // The reference works as the id; the illegitimate flag stays after closing.
    let by_ref = ok(client
        .get(format!(
            "{}/investigations/{}",
            app.base,
            case["reference"].as_str().unwrap()
        ))
        .send()
        .await
        .unwrap())
    .await;
    assert_eq!(by_ref["id"], id);
    assert_eq!(flags(&app, &suspect).await.2, 1);

    // Every change left its audit record, and the timeline refuses to be rewritten.
    let audited: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_records WHERE action LIKE 'investigations %' AND actor = 'compliance'")
        .fetch_one(app.app().db().pool())
        .await
        .unwrap();
    assert!(audited >= 8, "{audited}");
    let rewrite = sqlx::query("UPDATE investigation_timeline SET actor = 'someone else'")
        .execute(app.app().db().pool())
        .await;
    assert!(rewrite.is_err());
    app.stop().await;
}

/// Regression: the partners to notify come from the trace, which follows a unit through every
/// level of containers. The tracing scenario ships the unit from Acme (the home organisation)
/// to east inside a case, on a pallet, in a shipping container: three levels, one more than the
/// form's own walk used to follow, so it found no partner. East's later shipments (the unit to
/// the pharmacy, its old case to west) are not Acme's transfers and name no partner of ours.
async fn the_3911_names_the_partner_a_unit_went_to_three_containers_deep(backend: Backend) {
    let Some(app) = spawn_demo(backend).await else {
        return;
    };
    crate::tracing::scenario(&app).await;
    let client = app.client(Some(&app.issue("compliance")));
    let case = ok(post(
        &app,
        &client,
        "/investigations",
        json!({"reason": "suspect", "description": "Unit reported by the pharmacy",
               "serials": [crate::tracing::UNIT]}),
    )
    .await)
    .await;
    let form = ok(client
        .get(format!(
            "{}/investigations/{}/form-3911",
            app.base, case["id"]
        ))
        .send()
        .await
        .unwrap())
    .await;
    let partners = form["trading_partners"].as_array().unwrap();
    assert_eq!(partners.len(), 1, "{form}");
    assert_eq!(partners[0]["gln"], "0860001000009", "{form}");
    assert_eq!(partners[0]["relations"], json!(["received_from_us"]));
    assert!(partners[0]["name"].is_string(), "{form}");
}

async fn illegal_transitions_are_409_unknown_cases_404_bad_fields_400(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.register(staff("compliance", StaffRole::Compliance))
        .await;
    let client = app.client(Some(&app.issue("compliance")));

    // Bad fields are named.
    let p = problem(
        post(
            &app,
            &client,
            "/investigations",
            json!({"reason": "curious", "description": "x", "serials": []}),
        )
        .await,
        400,
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("curious"), "{p}");
    let p = problem(post(&app, &client, "/investigations",
        json!({"reason": "suspect", "description": "x", "serials": ["urn:epc:id:sgtin:0614141.010001.1", "nonsense"]})).await, 400).await;
    assert!(
        p["detail"].as_str().unwrap().starts_with("serials[1]"),
        "{p}"
    );
    let p = problem(post(&app, &client, "/investigations",
        json!({"reason": "suspect", "description": "x", "products": [{"gtin": "00614141100016", "serial": "1"}]})).await, 400).await;
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .starts_with("products[0].gtin"),
        "{p}"
    );
    let p = problem(post(&app, &client, "/investigations",
        json!({"reason": "suspect", "description": "Patient: Jane Roe", "products": [{"gtin": "00614141100019", "serial": "1"}]})).await, 400).await;
    assert!(
        p["detail"].as_str().unwrap().starts_with("description"),
        "{p}"
    );
    let p = problem(post(&app, &client, "/investigations",
        json!({"reason": "recall", "description": "x", "products": [{"gtin": "00614141100019", "serial": "1"}]})).await, 400).await;
    assert!(p["detail"].as_str().unwrap().starts_with("lots"), "{p}");
    let p = problem(
        post(
            &app,
            &client,
            "/investigations",
            json!({"reason": "suspect", "description": "x", "extra": 1}),
        )
        .await,
        400,
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("extra"), "{p}");

    // Unknown case.
    let p = problem(
        client
            .get(format!("{}/investigations/999999", app.base))
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;
    assert_eq!(p["code"], "not_found");
    problem(
        post(
            &app,
            &client,
            "/investigations/INV-1999-0001/close",
            json!({}),
        )
        .await,
        404,
    )
    .await;

    // A serial the ledger has never seen (a counterfeit often was never commissioned).
    let case = ok(post(
        &app,
        &client,
        "/investigations",
        json!({"reason": "compliance_audit", "description": "Routine check of one package",
               "products": [{"gtin": "00614141100019", "serial": "NEVER1"}]}),
    )
    .await)
    .await;
    let id = case["id"].as_i64().unwrap();
    let path = |step: &str| format!("/investigations/{id}/{step}");
    for (step, body, words) in [
        ("close", json!({}), "determine the case first"),
        (
            "termination",
            json!({"action": "request", "reason": "r"}),
            "no",
        ),
        (
            "termination",
            json!({"action": "confirm"}),
            "none to terminate",
        ),
        (
            "fda-notification",
            json!({"incident_number": "X1"}),
            "determine it first",
        ),
    ] {
        let p = problem(post(&app, &client, &path(step), body).await, 409).await;
        assert_eq!(p["code"], "conflict");
        assert!(p["detail"].as_str().unwrap().contains(words), "{step}: {p}");
    }
    let p = problem(
        post(
            &app,
            &client,
            &path("termination"),
            json!({"action": "request"}),
        )
        .await,
        400,
    )
    .await;
    assert!(p["detail"].as_str().unwrap().starts_with("reason"), "{p}");
    let p = problem(
        post(
            &app,
            &client,
            &path("determination"),
            json!({"determination": "cleared", "classification": "stolen"}),
        )
        .await,
        400,
    )
    .await;
    assert!(
        p["detail"].as_str().unwrap().starts_with("classification"),
        "{p}"
    );

    // Suspect is not final; cleared is.
    ok(post(
        &app,
        &client,
        &path("determination"),
        json!({"determination": "suspect"}),
    )
    .await)
    .await;
    let p = problem(post(&app, &client, &path("close"), json!({})).await, 409).await;
    assert!(p["detail"].as_str().unwrap().contains("not final"), "{p}");
    ok(post(
        &app,
        &client,
        &path("determination"),
        json!({"determination": "cleared", "note": "genuine"}),
    )
    .await)
    .await;
    problem(
        post(
            &app,
            &client,
            &path("determination"),
            json!({"determination": "illegitimate"}),
        )
        .await,
        409,
    )
    .await;
    problem(
        post(&app, &client, &path("quarantine"), json!({})).await,
        409,
    )
    .await;
    let case = ok(post(&app, &client, &path("close"), json!({})).await).await;
    assert_eq!(case["status"], "closed");
    problem(post(&app, &client, &path("close"), json!({})).await, 409).await;
    problem(
        post(&app, &client, &path("notes"), json!({"text": "late"})).await,
        409,
    )
    .await;
    // The list filters by status and refuses an unknown one.
    let closed = ok(client
        .get(format!("{}/investigations?status=closed", app.base))
        .send()
        .await
        .unwrap())
    .await;
    assert_eq!(closed.as_array().unwrap().len(), 1);
    problem(
        client
            .get(format!("{}/investigations?status=shut", app.base))
            .send()
            .await
            .unwrap(),
        400,
    )
    .await;
    app.stop().await;
}

async fn partners_are_refused_on_every_investigation_route(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.register(partner("whs-east", &["0860001000009"])).await;
    app.register(staff("auditor", StaffRole::Auditor)).await;
    app.register(staff("compliance", StaffRole::Compliance))
        .await;
    let compliance = app.client(Some(&app.issue("compliance")));
    let case = ok(post(&app, &compliance, "/investigations",
        json!({"reason": "suspect", "description": "d", "products": [{"gtin": "00614141100019", "serial": "S1"}]})).await).await;
    let id = case["id"].as_i64().unwrap();
    for who in ["whs-east", "auditor"] {
        let client = app.client(Some(&app.issue(who)));
        let gets = [
            "/investigations".to_owned(),
            format!("/investigations/{id}"),
            format!("/investigations/{id}/form-3911"),
        ];
        for path in gets {
            let p = problem(
                client
                    .get(format!("{}{path}", app.base))
                    .send()
                    .await
                    .unwrap(),
                403,
            )
            .await;
            assert_eq!(p["code"], "action_not_permitted", "{who} GET {path}");
        }
        let posts = ["/investigations".to_owned()].into_iter().chain(
            [
                "quarantine",
                "notes",
                "verifications",
                "determination",
                "fda-notification",
                "termination",
                "close",
            ]
            .iter()
            .map(|s| format!("/investigations/{id}/{s}")),
        );
        for path in posts {
            let p = problem(post(&app, &client, &path, json!({"text": "x"})).await, 403).await;
            assert_eq!(p["code"], "action_not_permitted", "{who} POST {path}");
        }
    }
    // Nothing changed.
    let case = ok(compliance
        .get(format!("{}/investigations/{id}", app.base))
        .send()
        .await
        .unwrap())
    .await;
    assert_eq!(case["timeline"].as_array().unwrap().len(), 1);
    app.stop().await;
}

async fn a_recall_marks_the_lot_and_a_cleared_case_releases_its_quarantine(backend: Backend) {
    let Some((app, client, _)) = demo_app(backend).await else {
        return;
    };
    let count = |sql: &'static str| {
        let pool = app.app().db().pool().clone();
        async move {
            sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    let lot_size = count("SELECT COUNT(*) FROM serials WHERE lot = 'LOT2605A'").await;
    assert!(lot_size > 0);
    assert_eq!(
        count("SELECT COUNT(*) FROM serials WHERE lot = 'LOT2605A' AND recalled = 1").await,
        0
    );
    let case = ok(post(
        &app,
        &client,
        "/investigations",
        json!({"reason": "recall", "description": "Voluntary recall: sterility assurance",
               "lots": [{"gtin": "00614141100019", "lot": "LOT2605A"}]}),
    )
    .await)
    .await;
    let id = case["id"].as_i64().unwrap();
    assert_eq!(
        count("SELECT COUNT(*) FROM serials WHERE lot = 'LOT2605A' AND recalled = 1").await,
        lot_size
    );
    assert_eq!(
        count("SELECT COUNT(*) FROM serials WHERE lot = 'LOT2605R' AND recalled = 0").await,
        0
    );
    // Quarantine names every serial of the lot.
    let case = ok(post(
        &app,
        &client,
        &format!("/investigations/{id}/quarantine"),
        json!({}),
    )
    .await)
    .await;
    assert_eq!(case["timeline"][1]["details"]["epcs"], lot_size);
    assert_eq!(count("SELECT COUNT(*) FROM serials WHERE lot = 'LOT2605A' AND quarantined = 1 AND suspect = 1").await, lot_size);
    assert_eq!(
        count("SELECT COUNT(*) FROM serials WHERE lot <> 'LOT2605A' AND quarantined = 1").await,
        0
    );
    // Cleared: flags cleared, a release event captured.
    let case = ok(post(
        &app,
        &client,
        &format!("/investigations/{id}/determination"),
        json!({"determination": "cleared"}),
    )
    .await)
    .await;
    assert!(case["release_event"].is_string(), "{case}");
    assert_eq!(
        count("SELECT COUNT(*) FROM serials WHERE quarantined = 1 OR suspect = 1").await,
        0
    );
    assert_eq!(count("SELECT COUNT(*) FROM events WHERE disposition LIKE '%sellable_accessible' AND biz_step LIKE '%holding'").await, 1);
    assert_eq!(
        count("SELECT COUNT(*) FROM serials WHERE lot = 'LOT2605A' AND recalled = 1").await,
        lot_size
    );
    let case = ok(post(
        &app,
        &client,
        &format!("/investigations/{id}/close"),
        json!({}),
    )
    .await)
    .await;
    assert_eq!(case["status"], "closed");
    app.stop().await;
}

#[test]
fn an_investigation_through_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let out = exited(
        &dscsa(
            data,
            &[
                "investigations",
                "open",
                "--reason",
                "suspect",
                "--description",
                "Returned package with a torn seal",
                "--gtin",
                "00614141100019",
                "--serial",
                "CLI1",
            ],
        ),
        0,
    );
    assert!(out.contains("INV-") && out.contains("open"), "{out}");
    let out = exited(&dscsa(data, &["investigations", "close", "1"]), 1);
    assert!(out.is_empty());
    let out = exited(
        &dscsa(
            data,
            &[
                "investigations",
                "determine",
                "1",
                "--as",
                "illegitimate",
                "--classification",
                "counterfeit",
            ],
        ),
        0,
    );
    assert!(out.contains("FDA notification due by"), "{out}");
    exited(
        &dscsa(
            data,
            &["investigations", "note", "1", "<b>seal</b> photographed"],
        ),
        0,
    );
    // No [organisation] gln here: verification is refused, saying what to set.
    let out = dscsa(data, &["investigations", "verify", "1"]);
    exited(&out, 1);
    assert!(String::from_utf8_lossy(&out.stderr).contains("[organisation]"));
    let out = exited(&dscsa(data, &["investigations", "list"]), 0);
    assert!(
        out.contains("illegitimate") && out.contains("left)"),
        "{out}"
    );
    let page = data.join("form.html");
    exited(
        &dscsa(
            data,
            &["form3911", "1", "--html", "--out", page.to_str().unwrap()],
        ),
        0,
    );
    let page = std::fs::read_to_string(page).unwrap();
    assert!(
        page.contains("&lt;b&gt;seal&lt;/b&gt;") && page.contains("CLI1"),
        "{page}"
    );
    let form: Value = serde_json::from_str(&exited(&dscsa(data, &["form3911", "1"]), 0)).unwrap();
    assert_eq!(form["products"][0]["serial_numbers"], json!(["CLI1"]));
    exited(
        &dscsa(
            data,
            &[
                "investigations",
                "notify-fda",
                "1",
                "--incident-number",
                "IN-9",
            ],
        ),
        0,
    );
    exited(
        &dscsa(
            data,
            &["investigations", "terminate", "1", "--reason", "destroyed"],
        ),
        0,
    );
    exited(
        &dscsa(data, &["investigations", "terminate", "1", "--confirm"]),
        0,
    );
    let out = exited(&dscsa(data, &["investigations", "close", "1"]), 0);
    assert!(out.contains("closed"), "{out}");
    let shown: Value = serde_json::from_str(&exited(
        &dscsa(data, &["investigations", "show", "1", "--json"]),
        0,
    ))
    .unwrap();
    assert_eq!(shown["timeline"].as_array().unwrap().len(), 7);
    assert!(!shown["timeline"][0]["actor"].as_str().unwrap().is_empty());
    let help = exited(&dscsa(data, &["investigations", "--help"]), 0);
    assert!(
        help.contains("quarantine") && help.contains("notify-fda"),
        "{help}"
    );
}
