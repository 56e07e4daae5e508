//! The audit trail through the real server: one record per request (refusals included), the
//! database refusing UPDATE and DELETE, and tampering with the triggers dropped detected at the
//! right sequence number, on SQLite and PostgreSQL.

use dscsa_exchange::audit::{BreakKind, CheckpointKey, GENESIS};
use dscsa_exchange::services::{self, Actor};
use dscsa_exchange::storage::audit as store;
use partners::{StaffRole, Status};
use reqwest::StatusCode;

use crate::helpers::{Backend, TestApp, json, partner, spawn_app, staff};

crate::on_both_backends!(
    every_request_leaves_exactly_one_record,
    auditor_reads_and_verifies_the_trail,
    update_and_delete_are_refused,
    a_changed_record_is_detected,
    a_deleted_record_is_detected,
    a_swapped_pair_is_detected,
    an_inserted_record_is_detected,
    a_forged_checkpoint_is_detected,
);

async fn head(app: &TestApp) -> i64 {
    let mut conn = app.app().db().pool().acquire().await.unwrap();
    store::head(&mut conn).await.unwrap().0
}

async fn last_record(app: &TestApp) -> dscsa_exchange::audit::AuditRecord {
    let seq = head(app).await;
    let mut conn = app.app().db().pool().acquire().await.unwrap();
    let filter = store::Filter {
        from_seq: Some(seq),
        ..store::Filter::default()
    };
    store::records(&mut conn, &filter, 1)
        .await
        .unwrap()
        .remove(0)
}

async fn every_request_leaves_exactly_one_record(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.register(partner("acme", &["0614141000005"])).await;
    let after_register = head(&app).await;
    assert_eq!(after_register, 1, "registering is one change, one record");
    assert_eq!(last_record(&app).await.action, "principal.register");

    let cert = app.issue("acme");
    let ok = app.whoami(Some(&cert)).await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    let body = ok.bytes().await.unwrap();
    let r = last_record(&app).await;
    assert_eq!(head(&app).await, after_register + 1);
    assert_eq!(
        (r.actor.as_str(), r.action.as_str(), r.status),
        ("acme", "GET /whoami", Some(200))
    );
    assert_eq!(r.outcome, dscsa_exchange::audit::Outcome::Ok);
    let digest = dscsa_exchange::audit::record::hex(&<sha2::Sha256 as sha2::Digest>::digest(&body));
    assert_eq!(
        r.result_digest.as_deref(),
        Some(digest.as_str()),
        "digest of what the caller received"
    );
    assert!(r.client_addr.is_some());

    // Refusals are recorded too: an unbound certificate, a partner asking for the audit trail,
    // an unknown route.
    let stranger = app.issue("stranger");
    assert_eq!(
        app.whoami(Some(&stranger)).await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    let r = last_record(&app).await;
    assert!(r.actor.starts_with("certificate:"), "{}", r.actor);
    assert_eq!(
        (r.outcome, r.status),
        (dscsa_exchange::audit::Outcome::Denied, Some(403))
    );

    let client = app.client(Some(&cert));
    let denied = client
        .get(format!("{}/audit", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status(), StatusCode::FORBIDDEN);
    let r = last_record(&app).await;
    assert_eq!(
        (r.actor.as_str(), r.action.as_str()),
        ("acme", "GET /audit")
    );

    let missing = client
        .get(format!("{}/no/such/thing?x=1", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let r = last_record(&app).await;
    assert_eq!(r.params, serde_json::json!({"x": "1"}));
    assert_eq!(r.target, vec!["/no/such/thing".to_owned()]);
    assert_eq!(
        head(&app).await,
        after_register + 4,
        "one record per request, no more"
    );

    // A suspension through the service is one change, one record, in its transaction.
    let id = "acme".parse().unwrap();
    services::principals::set_status(app.app().db(), &Actor::Demo, &id, Status::Suspended)
        .await
        .unwrap();
    assert_eq!(last_record(&app).await.action, "principal.suspend");
    assert_eq!(
        app.whoami(Some(&cert)).await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(head(&app).await, after_register + 6);
    app.stop().await;
}

async fn auditor_reads_and_verifies_the_trail(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.register(partner("acme", &[])).await;
    app.register(staff("auditor", StaffRole::Auditor)).await;
    let cert = app.issue("acme");
    for _ in 0..3 {
        app.whoami(Some(&cert)).await.unwrap();
    }
    let auditor = app.client(Some(&app.issue("auditor")));
    let page = json(
        auditor
            .get(format!("{}/audit?actor=acme&perPage=2", app.base))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let records = page["records"].as_array().unwrap();
    assert_eq!(records.len(), 2);
    assert!(records.iter().all(|r| r["actor"] == "acme"));
    let next = page["next"].as_str().unwrap();
    let rest = json(
        auditor
            .get(format!("{}{next}", app.base))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(rest["records"].as_array().unwrap().len(), 1);

    let bad = auditor
        .get(format!("{}/audit?from=yesterday", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert!(
        bad.text()
            .await
            .unwrap()
            .contains("from=\\\"yesterday\\\" is not an RFC 3339 time")
    );

    let verified = json(
        auditor
            .get(format!("{}/audit/verify", app.base))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(verified["intact"], true, "{verified}");
    app.stop().await;
}

async fn update_and_delete_are_refused(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.register(partner("acme", &[])).await;
    let pool = app.app().db().pool();
    for sql in [
        "UPDATE audit_records SET actor = 'nobody' WHERE seq = 1",
        "DELETE FROM audit_records WHERE seq = 1",
        "INSERT INTO audit_checkpoints (seq, head_hash, time, signature, public_key) VALUES (1, 'x', 't', 's', 'k')",
        "DELETE FROM audit_checkpoints",
    ] {
        let result = sqlx::query(sql).execute(pool).await;
        if sql.starts_with("INSERT") {
            // Inserting a checkpoint is allowed (it is append); the verifier judges it.
            result.unwrap();
            continue;
        }
        let error = result.expect_err(sql).to_string();
        assert!(error.contains("append-only"), "{sql}: {error}");
    }
    assert_eq!(head(&app).await, 1);
    app.stop().await;
}

/// A server with some history, its audit triggers dropped as a hostile administrator would.
async fn tampered_app(backend: Backend) -> Option<TestApp> {
    let app = spawn_app(backend).await?;
    app.register(partner("acme", &[])).await;
    let cert = app.issue("acme");
    for _ in 0..9 {
        app.whoami(Some(&cert)).await.unwrap();
    }
    assert_eq!(head(&app).await, 10);
    let drops: &[&str] = match backend {
        Backend::Sqlite => &[
            "DROP TRIGGER audit_records_no_update",
            "DROP TRIGGER audit_records_no_delete",
        ],
        Backend::Postgres => &["DROP TRIGGER audit_records_append_only ON audit_records"],
    };
    for sql in drops {
        sqlx::query(sqlx::AssertSqlSafe(*sql))
            .execute(app.app().db().pool())
            .await
            .unwrap();
    }
    Some(app)
}

async fn expect_break(app: &TestApp, seq: i64, kind: BreakKind) {
    let result = services::audit::verify(app.app().db(), 1, app.app().audit_public_key())
        .await
        .unwrap();
    let b = result.expect_err("tampering not detected");
    assert_eq!((b.seq, b.kind), (seq, kind), "{b}");
}

async fn exec(app: &TestApp, sql: &'static str) {
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .execute(app.app().db().pool())
        .await
        .unwrap();
}

async fn a_changed_record_is_detected(backend: Backend) {
    let Some(app) = tampered_app(backend).await else {
        return;
    };
    exec(
        &app,
        "UPDATE audit_records SET outcome = 'denied' WHERE seq = 5",
    )
    .await;
    expect_break(&app, 5, BreakKind::Changed).await;
    app.stop().await;
}

async fn a_deleted_record_is_detected(backend: Backend) {
    let Some(app) = tampered_app(backend).await else {
        return;
    };
    exec(&app, "DELETE FROM audit_records WHERE seq = 6").await;
    expect_break(&app, 6, BreakKind::Missing).await;
    app.stop().await;
}

async fn a_swapped_pair_is_detected(backend: Backend) {
    let Some(app) = tampered_app(backend).await else {
        return;
    };
    exec(&app, "UPDATE audit_records SET seq = -7 WHERE seq = 7").await;
    exec(&app, "UPDATE audit_records SET seq = 7 WHERE seq = 8").await;
    exec(&app, "UPDATE audit_records SET seq = 8 WHERE seq = -7").await;
    expect_break(&app, 7, BreakKind::Reordered).await;
    app.stop().await;
}

async fn an_inserted_record_is_detected(backend: Backend) {
    let Some(app) = tampered_app(backend).await else {
        return;
    };
    // Make room at seq 4 (renumbering 4..10 to 5..11), then insert a well-formed forgery
    // chained to record 3.
    exec(
        &app,
        "UPDATE audit_records SET seq = seq + 1000 WHERE seq >= 4",
    )
    .await;
    exec(
        &app,
        "UPDATE audit_records SET seq = seq - 999 WHERE seq >= 1000",
    )
    .await;
    let mut conn = app.app().db().pool().acquire().await.unwrap();
    let prev = store::hash_at(&mut conn, 3).await.unwrap().unwrap();
    let forged = Actor::Demo
        .record(
            "principal.register",
            "mallory",
            dscsa_exchange::audit::Outcome::Ok,
        )
        .seal(4, "2026-11-21T00:00:00Z".into(), prev);
    sqlx::query(
        "INSERT INTO audit_records (seq, time, actor, actor_kind, channel, action, target, params, \
         outcome, prev_hash, hash) VALUES ($1, $2, $3, $4, 'cli', $5, $6, '{}', 'ok', $7, $8)",
    )
    .bind(forged.seq)
    .bind(&forged.time)
    .bind(&forged.actor)
    .bind(&forged.actor_kind)
    .bind(&forged.action)
    .bind(serde_json::to_string(&forged.target).unwrap())
    .bind(&forged.prev_hash)
    .bind(&forged.hash)
    .execute(&mut *conn)
    .await
    .unwrap();
    drop(conn);
    expect_break(&app, 4, BreakKind::Inserted).await;
    app.stop().await;
}

async fn a_forged_checkpoint_is_detected(backend: Backend) {
    let Some(app) = tampered_app(backend).await else {
        return;
    };
    let mut conn = app.app().db().pool().acquire().await.unwrap();
    let hash5 = store::hash_at(&mut conn, 5).await.unwrap().unwrap();
    // Right head hash, wrong key: an administrator cannot sign with the operator's key.
    let forged = CheckpointKey::generate()
        .unwrap()
        .sign(5, &hash5, "2026-11-21T00:00:00Z");
    store::insert_checkpoint(&mut conn, &forged).await.unwrap();
    drop(conn);
    expect_break(&app, 5, BreakKind::BadSignature).await;
    let _ = GENESIS;
    app.stop().await;
}
