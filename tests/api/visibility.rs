//! The visibility policy's SQL, run on both backends against a small events table, agrees with
//! the policy evaluated in memory.

use partners::visibility::EventSchema;
use partners::{StaffRole, Visibility};
use sqlx::AssertSqlSafe;

use crate::helpers::{Backend, partner, spawn_app, staff};

crate::on_both_backends!(visibility_sql_matches_the_policy);

const SCHEMA: EventSchema = EventSchema {
    event_id: "e.id",
    captured_by: "e.captured_by",
    parties_table: "vis_test_parties",
    parties_event_id: "event_id",
    parties_gln: "gln",
    // The real tables: no records request exists here, so a regulator sees nothing.
    request_events_table: "fda_request_events",
    requests_table: "fda_records_requests",
};

/// (event id, captured by, source/destination GLNs)
const EVENTS: [(i64, &str, &[&str]); 5] = [
    (1, "acme", &[]),
    (2, "other", &["0614141000005"]),
    (3, "other", &["0614141000012", "0860001000009"]),
    (4, "other", &[]),
    (5, "third", &["0860001000009"]),
];

async fn visibility_sql_matches_the_policy(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let pool = app.app().db().pool();
    for ddl in [
        "CREATE TABLE vis_test_events (id BIGINT PRIMARY KEY, captured_by TEXT NOT NULL)",
        "CREATE TABLE vis_test_parties (event_id BIGINT NOT NULL, gln TEXT NOT NULL)",
    ] {
        sqlx::query(ddl).execute(pool).await.unwrap();
    }
    for (id, by, glns) in EVENTS {
        sqlx::query("INSERT INTO vis_test_events (id, captured_by) VALUES ($1, $2)")
            .bind(id)
            .bind(by)
            .execute(pool)
            .await
            .unwrap();
        for gln in glns {
            sqlx::query("INSERT INTO vis_test_parties (event_id, gln) VALUES ($1, $2)")
                .bind(id)
                .bind(*gln)
                .execute(pool)
                .await
                .unwrap();
        }
    }
    let policies = [
        Visibility::of(&partner("acme", &["0614141000005", "0614141000012"])),
        Visibility::of(&partner("acme", &[])),
        Visibility::of(&staff("jdoe", StaffRole::Auditor)),
        Visibility::RecordsRequests {
            regulator: "fda".parse().unwrap(),
        },
    ];
    for policy in policies {
        let condition = policy.condition();
        // $1 is taken by an earlier parameter, as in a real query.
        let sql = format!(
            "SELECT e.id FROM vis_test_events e WHERE e.id > $1 AND {} ORDER BY e.id",
            condition.render(&SCHEMA, 2)
        );
        let mut query = sqlx::query_scalar::<_, i64>(AssertSqlSafe(sql)).bind(0_i64);
        for value in &condition.binds {
            query = query.bind(value.clone());
        }
        let from_sql: Vec<i64> = query.fetch_all(pool).await.unwrap();
        let in_memory: Vec<i64> = EVENTS
            .iter()
            .filter(|(_, by, glns)| policy.permits(by, glns))
            .map(|(id, _, _)| *id)
            .collect();
        assert_eq!(from_sql, in_memory, "{policy:?}");
    }
    app.stop().await;
}
