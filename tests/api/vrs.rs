//! Verification in the GS1 Lightweight Messaging wire format, through the real server on the
//! demo supply chain: every failure reason and additional-info value, percent-encoded lots
//! and serials, day-00 expiry, and the refusals (reqGLN of another party, malformed fields,
//! a GTIN we do not answer for, a principal that may not verify, no responder GLN).

use dscsa_exchange::services::Actor;
use dscsa_exchange::services::capture::{self, CaptureOptions};
use sqlx::Row as _;

use crate::helpers::{Backend, TestApp, demo_serial, json, spawn_app, spawn_demo};

crate::on_both_backends!(
    answers_follow_the_ledger,
    percent_encoded_identifiers_and_extended_expiry,
    refusals_name_the_reason,
    concurrent_answers_match_single_ones,
);

const EAST_GLN: &str = "0860001000009";
const WEST_GLN: &str = "0860002000008";

fn url(app: &TestApp, gtin: &str, lot: &str, ser: &str, query: &str) -> String {
    format!("{}/vrs/gtin/{gtin}/lot/{lot}/ser/{ser}?{query}", app.base)
}

async fn verify_as(
    client: &reqwest::Client,
    url: &str,
) -> (reqwest::StatusCode, serde_json::Value) {
    let response = client.get(url).send().await.unwrap();
    let status = response.status();
    (status, json(response).await)
}

async fn answers_follow_the_ledger(backend: Backend) {
    let Some(app) = spawn_demo(backend).await else {
        return;
    };
    let east = app.client(Some(&app.issue("whs-east")));
    let (gtin, ser, lot, exp) = demo_serial(&app, false).await;
    let q = |exp: &str| {
        format!(
            "exp={exp}&linkType=verificationService&context=dscsaSaleableReturn&reqGLN={EAST_GLN}"
        )
    };

    // Verified, with the standard shape; a corrUUID is made when none is sent.
    let (status, body) = verify_as(&east, &url(&app, &gtin, &lot, &ser, &q(&exp))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["verified"], true, "{body}");
    assert!(body["data"].get("verificationFailureReason").is_none());
    assert!(body["data"].get("additionalInfo").is_none());
    assert_eq!(body["responderGLN"], "0614141000005");
    assert!(uuid::Uuid::parse_str(body["corrUUID"].as_str().unwrap()).is_ok());
    assert!(
        body["verificationTimestamp"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );

    // Day 00 matches any day of the month; the corrUUID sent is echoed.
    let corr = "21EC2020-3AEA-4069-A2DD-08002B30309D";
    let month = format!("{}00", &exp[..4]);
    let (_, body) = verify_as(
        &east,
        &url(
            &app,
            &gtin,
            &lot,
            &ser,
            &format!("{}&corrUUID={corr}", q(&month)),
        ),
    )
    .await;
    assert_eq!(body["data"]["verified"], true, "{body}");
    assert_eq!(body["corrUUID"], corr);

    // Each failure reason.
    let next_month = if &exp[2..4] == "12" {
        "280100".to_owned()
    } else {
        format!("{}{:02}01", &exp[..2], exp[2..4].parse::<u8>().unwrap() + 1)
    };
    let cases = [
        (lot.as_str(), ser.as_str(), exp.as_str(), None),
        (
            "WRONGLOT",
            ser.as_str(),
            exp.as_str(),
            Some("No_match_GTIN_Serial_Lot"),
        ),
        (
            lot.as_str(),
            ser.as_str(),
            next_month.as_str(),
            Some("No_match_GTIN_Serial_Expiry"),
        ),
        (
            "WRONGLOT",
            ser.as_str(),
            next_month.as_str(),
            Some("No_match_GTIN_Serial_Lot_Expiry"),
        ),
        (
            lot.as_str(),
            "NOSUCHSERIAL",
            exp.as_str(),
            Some("No_match_GTIN_Serial"),
        ),
        (
            "WRONGLOT",
            "NOSUCHSERIAL",
            "990101",
            Some("No_match_GTIN_Serial"),
        ),
    ];
    for (l, s, e, reason) in cases {
        let (status, body) = verify_as(&east, &url(&app, &gtin, l, s, &q(e))).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            body["data"]["verified"],
            reason.is_none(),
            "{l} {s} {e}: {body}"
        );
        assert_eq!(
            body["data"]
                .get("verificationFailureReason")
                .and_then(|v| v.as_str()),
            reason,
            "{l} {s} {e}: {body}"
        );
    }

    // Recalled: the demo chain's manufacturer recalls the second lot.
    let (rgtin, rser, rlot, rexp) = demo_serial(&app, true).await;
    let (_, body) = verify_as(&east, &url(&app, &rgtin, &rlot, &rser, &q(&rexp))).await;
    assert_eq!(body["data"]["verified"], true, "{body}");
    assert_eq!(body["data"]["additionalInfo"], "Recalled", "{body}");

    // Suspect and illegitimate come from the ledger flags investigations set.
    let key =
        dscsa_exchange::services::verify::sgtin_key(&epcis::id::Gtin::parse(&gtin).unwrap(), &ser);
    let set = |column: &'static str| {
        let key = key.clone();
        let db = app.app().db().clone();
        async move {
            let mut conn = db.pool().acquire().await.unwrap();
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE serials SET {column} = 1 WHERE epc = $1"
            )))
            .bind(&key)
            .execute(&mut *conn)
            .await
            .unwrap();
        }
    };
    set("suspect").await;
    let (_, body) = verify_as(&east, &url(&app, &gtin, &lot, &ser, &q(&exp))).await;
    assert_eq!(
        (&body["data"]["verified"], &body["data"]["additionalInfo"]),
        (&serde_json::json!(true), &serde_json::json!("Suspect")),
        "{body}"
    );
    set("illegitimate").await;
    let (_, body) = verify_as(&east, &url(&app, &gtin, &lot, &ser, &q(&exp))).await;
    assert_eq!(body["data"]["verified"], false, "{body}");
    assert_eq!(
        body["data"]["verificationFailureReason"],
        "Not_for_re-distribution"
    );
    assert_eq!(body["data"]["additionalInfo"], "Illegitimate");

    // Every answer is in the verification log with its requester; the echoed corrUUID once.
    let mut conn = app.app().db().pool().acquire().await.unwrap();
    let row = sqlx::query(
        "SELECT requester, req_gln, verified, answer FROM verifications WHERE corr_uuid = $1",
    )
    .bind(corr)
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    assert_eq!(row.get::<String, _>(0), "whs-east");
    assert_eq!(row.get::<Option<String>, _>(1).as_deref(), Some(EAST_GLN));
    assert_eq!(row.get::<i64, _>(2), 1);
    assert!(row.get::<String, _>(3).contains(corr));
    let logged: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM verifications")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_eq!(logged, 11);
    drop(conn);
    app.stop().await;
}

/// An EPCIS 1.2 document commissioning one serial with `lot` and `expiry` (ISO date).
fn commissioning(epc_urn: &str, lot_xml: &str, expiry: &str) -> String {
    format!(
        r#"<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:1" xmlns:cbvmda="urn:epcglobal:cbv:mda" schemaVersion="1.2" creationDate="2026-03-01T08:00:00Z">
<EPCISBody><EventList><ObjectEvent>
<eventTime>2026-03-01T08:00:00Z</eventTime><eventTimeZoneOffset>+00:00</eventTimeZoneOffset>
<epcList><epc>{epc_urn}</epc></epcList><action>ADD</action>
<bizStep>urn:epcglobal:cbv:bizstep:commissioning</bizStep><disposition>urn:epcglobal:cbv:disp:active</disposition>
<extension><ilmd><cbvmda:lotNumber>{lot_xml}</cbvmda:lotNumber><cbvmda:itemExpirationDate>{expiry}</cbvmda:itemExpirationDate></ilmd></extension>
</ObjectEvent></EventList></EPCISBody></epcis:EPCISDocument>"#
    )
}

async fn percent_encoded_identifiers_and_extended_expiry(backend: Backend) {
    let Some(app) = spawn_demo(backend).await else {
        return;
    };
    // Serial A/B%&+1 and lot L/1&+% (both legal in GS1 character set 82), expired in 2025.
    let doc = commissioning(
        "urn:epc:id:sgtin:0614141.001001.A%2FB%25%26+1",
        "L/1&amp;+%",
        "2025-01-31",
    );
    let report = capture::capture(
        app.app().db(),
        &Actor::Principal("mfg-acme".parse().unwrap()),
        "mfg-acme",
        bytes::Bytes::from(doc),
        "application/xml",
        &CaptureOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(report.new, 1, "{report:?}");
    let east = app.client(Some(&app.issue("whs-east")));
    let gtin = "00614141010011";
    let (lot, ser) = ("L%2F1%26%2B%25", "A%2FB%25%26%2B1");
    let q = |exp: &str| format!("exp={exp}&reqGLN={EAST_GLN}");
    let (status, body) = verify_as(&east, &url(&app, gtin, lot, ser, &q("250131"))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["verified"], true, "{body}");
    assert_eq!(body["data"]["additionalInfo"], "Expired", "{body}");
    // A '+' in a path is a plus sign: the same serial with a raw '+' is found too.
    let (_, body) = verify_as(&east, &url(&app, gtin, lot, "A%2FB%25%26+1", &q("250131"))).await;
    assert_eq!(body["data"]["verified"], true, "{body}");

    // FDA extends the lot's expiry: both dates verify, and the answer says so.
    dscsa_exchange::services::verify::extend_expiry(
        app.app().db(),
        &Actor::cli(),
        &epcis::id::Gtin::parse(gtin).unwrap(),
        "L/1&+%",
        epcis::id::Expiry::parse_yymmdd("291231").unwrap(),
        "FDA expiry extension letter (test)",
    )
    .await
    .unwrap();
    for exp in ["250131", "291231", "291200"] {
        let (_, body) = verify_as(&east, &url(&app, gtin, lot, ser, &q(exp))).await;
        assert_eq!(body["data"]["verified"], true, "{exp}: {body}");
        assert_eq!(
            body["data"]["additionalInfo"], "ExpirationExtended",
            "{exp}: {body}"
        );
    }
    let (_, body) = verify_as(&east, &url(&app, gtin, lot, ser, &q("300101"))).await;
    assert_eq!(
        body["data"]["verificationFailureReason"], "No_match_GTIN_Serial_Expiry",
        "{body}"
    );
    app.stop().await;
}

async fn refusals_name_the_reason(backend: Backend) {
    let Some(app) = spawn_demo(backend).await else {
        return;
    };
    let east = app.client(Some(&app.issue("whs-east")));
    let (gtin, ser, lot, exp) = demo_serial(&app, false).await;
    let problem = |status: u16, code: &'static str, mention: &'static str| {
        move |(s, body): (reqwest::StatusCode, serde_json::Value)| {
            assert_eq!(s.as_u16(), status, "{body}");
            assert_eq!(body["code"], code, "{body}");
            assert!(body["detail"].as_str().unwrap().contains(mention), "{body}");
        }
    };
    // Another party's GLN: no confused deputy.
    problem(403, "requester_gln_not_bound", WEST_GLN)(
        verify_as(
            &east,
            &url(
                &app,
                &gtin,
                &lot,
                &ser,
                &format!("exp={exp}&reqGLN={WEST_GLN}"),
            ),
        )
        .await,
    );
    problem(400, "invalid_parameter", "reqGLN")(
        verify_as(&east, &url(&app, &gtin, &lot, &ser, &format!("exp={exp}"))).await,
    );
    problem(400, "invalid_parameter", "exp")(
        verify_as(
            &east,
            &url(
                &app,
                &gtin,
                &lot,
                &ser,
                &format!("exp=2028-06-30&reqGLN={EAST_GLN}"),
            ),
        )
        .await,
    );
    problem(400, "invalid_parameter", "exp")(
        verify_as(
            &east,
            &url(&app, &gtin, &lot, &ser, &format!("reqGLN={EAST_GLN}")),
        )
        .await,
    );
    problem(400, "invalid_parameter", "gtin")(
        verify_as(
            &east,
            &url(
                &app,
                "00614141010017",
                &lot,
                &ser,
                &format!("exp={exp}&reqGLN={EAST_GLN}"),
            ),
        )
        .await,
    );
    problem(400, "invalid_parameter", "ser")(
        verify_as(
            &east,
            &url(
                &app,
                &gtin,
                &lot,
                "123456789012345678901",
                &format!("exp={exp}&reqGLN={EAST_GLN}"),
            ),
        )
        .await,
    );
    problem(400, "invalid_parameter", "linkType")(
        verify_as(
            &east,
            &url(
                &app,
                &gtin,
                &lot,
                &ser,
                &format!("exp={exp}&reqGLN={EAST_GLN}&linkType=pip"),
            ),
        )
        .await,
    );
    problem(400, "invalid_parameter", "context")(
        verify_as(
            &east,
            &url(
                &app,
                &gtin,
                &lot,
                &ser,
                &format!("exp={exp}&reqGLN={EAST_GLN}&context=nonsense"),
            ),
        )
        .await,
    );
    // A GTIN of another company: this responder does not answer for it.
    problem(404, "gtin_not_answered", "00860001000016")(
        verify_as(
            &east,
            &url(
                &app,
                "00860001000016",
                &lot,
                &ser,
                &format!("exp={exp}&reqGLN={EAST_GLN}"),
            ),
        )
        .await,
    );
    // An auditor may read the audit trail but not verify.
    let auditor = app.client(Some(&app.issue("auditor")));
    problem(403, "action_not_permitted", "verify")(
        verify_as(
            &auditor,
            &url(&app, &gtin, &lot, &ser, &format!("exp={exp}")),
        )
        .await,
    );
    // None of the refusals was logged as a verification.
    let mut conn = app.app().db().pool().acquire().await.unwrap();
    let logged: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM verifications")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_eq!(logged, 0);
    drop(conn);

    // checkConnectivity: the responder GLN for our GTIN, 404 for another's, 403 for a foreign reqGLN.
    let check = |q: String| {
        let east = east.clone();
        let base = app.base.clone();
        async move { verify_as(&east, &format!("{base}/vrs/checkConnectivity?{q}")).await }
    };
    let (status, body) = check(format!("gtin={gtin}&reqGLN={EAST_GLN}")).await;
    assert_eq!(
        (status.as_u16(), &body),
        (200, &serde_json::json!({"responderGLN": "0614141000005"}))
    );
    problem(404, "gtin_not_answered", "00860001000016")(
        check(format!("gtin=00860001000016&reqGLN={EAST_GLN}")).await,
    );
    problem(403, "requester_gln_not_bound", WEST_GLN)(
        check(format!("gtin={gtin}&reqGLN={WEST_GLN}")).await,
    );
    app.stop().await;

    // Without [organisation] gln there is no responder: 503 naming the setting.
    let Some(bare) = spawn_app(backend).await else {
        return;
    };
    bare.register(crate::helpers::partner("east", &[EAST_GLN]))
        .await;
    let east = bare.client(Some(&bare.issue("east")));
    problem(503, "service_unavailable", "[organisation]")(
        verify_as(
            &east,
            &url(
                &bare,
                &gtin,
                &lot,
                &ser,
                &format!("exp={exp}&reqGLN={EAST_GLN}"),
            ),
        )
        .await,
    );
    bare.stop().await;
}

/// Many verifications at once are read in batches (`services::ledger_reads`): each must get
/// the answer it gets alone, whatever else its batch held (other serials, the same serial
/// twice, serials we do not have), and each must be logged once.
async fn concurrent_answers_match_single_ones(backend: Backend) {
    let Some(app) = spawn_demo(backend).await else {
        return;
    };
    let east = app.client(Some(&app.issue("whs-east")));
    let rows = {
        let mut conn = app.app().db().pool().acquire().await.unwrap();
        sqlx::query(
            "SELECT epc, gtin, lot, expiry FROM serials WHERE commissioned_event IS NOT NULL \
             AND lot IS NOT NULL ORDER BY epc LIMIT 24",
        )
        .fetch_all(&mut *conn)
        .await
        .unwrap()
    };
    assert!(rows.len() >= 12, "the demo chain has serials to verify");
    let mut urls = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let epc: String = row.get(0);
        let serial = epcis::id::DigitalLink::parse(&epc)
            .unwrap()
            .serial()
            .unwrap()
            .to_owned();
        let (gtin, lot, expiry): (String, String, String) = (row.get(1), row.get(2), row.get(3));
        let exp = format!("{}{}{}", &expiry[2..4], &expiry[5..7], &expiry[8..10]);
        let query = format!(
            "exp={exp}&reqGLN={EAST_GLN}&corrUUID={}",
            uuid::Uuid::new_v4()
        );
        urls.push(url(&app, &gtin, &lot, &serial, &query));
        // A serial we do not have, and a wrong lot, beside the real ones.
        if i % 4 == 0 {
            urls.push(url(&app, &gtin, &lot, &format!("NOSUCH{i}"), &query));
            urls.push(url(&app, &gtin, "WRONGLOT", &serial, &query));
        }
    }
    let alone: Vec<serde_json::Value> = {
        let mut answers = Vec::new();
        for u in &urls {
            let (status, body) = verify_as(&east, u).await;
            assert_eq!(status, 200, "{body}");
            answers.push(body["data"].clone());
        }
        answers
    };
    let count = |app: &TestApp| {
        let db = app.app().db().clone();
        async move {
            let mut conn = db.pool().acquire().await.unwrap();
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM verifications")
                .fetch_one(&mut *conn)
                .await
                .unwrap()
        }
    };
    let logged_before = count(&app).await;
    // Every request three times over, all at once: batches of many keys, each key several
    // times in a batch.
    let mut tasks = tokio::task::JoinSet::new();
    for round in 0..3 {
        for (i, u) in urls.iter().enumerate() {
            let (client, u) = (east.clone(), u.clone());
            tasks.spawn(async move { (round, i, verify_as(&client, &u).await) });
        }
    }
    let mut seen = 0;
    while let Some(done) = tasks.join_next().await {
        let (round, i, (status, body)) = done.unwrap();
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            body["data"], alone[i],
            "request {i} in round {round}: {body}"
        );
        seen += 1;
    }
    assert_eq!(seen, urls.len() * 3);
    let verified = alone.iter().filter(|d| d["verified"] == true).count();
    assert!(
        verified > 0 && verified < alone.len(),
        "a mix of answers: {alone:?}"
    );
    assert_eq!(
        count(&app).await - logged_before,
        i64::try_from(urls.len() * 3).unwrap(),
        "each concurrent verification is logged once"
    );
    app.stop().await;
}
