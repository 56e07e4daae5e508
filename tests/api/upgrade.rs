//! Upgrades: a store made by the previous schema version, holding the demo supply chain and
//! its audit trail, is migrated forward by this build with nothing lost, its audit trail
//! intact, and the new schema's features working. On SQLite and PostgreSQL.

use dscsa_exchange::config::DatabaseUrl;
use dscsa_exchange::services::Actor;
use dscsa_exchange::services::agent_tokens::{self, IssueRequest};
use dscsa_exchange::storage::{Backend as DbBackend, Db};

use crate::helpers::{Backend, PgDatabase};

crate::on_both_backends!(a_store_of_the_previous_schema_is_upgraded);

async fn count(db: &Db, table: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
        .fetch_one(db.pool())
        .await
        .unwrap()
}

async fn has_index(db: &Db, name: &str) -> bool {
    let sql = match db.backend() {
        DbBackend::Sqlite => {
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = $1"
        }
        DbBackend::Postgres => "SELECT COUNT(*) FROM pg_indexes WHERE indexname = $1",
    };
    let n: i64 = sqlx::query_scalar(sql)
        .bind(name)
        .fetch_one(db.pool())
        .await
        .unwrap();
    n > 0
}

async fn a_store_of_the_previous_schema_is_upgraded(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let (url, _database) = match backend {
        Backend::Sqlite => (DatabaseUrl::sqlite_file(&dir.path().join("old.db")), None),
        Backend::Postgres => {
            let Some(pg) = PgDatabase::create().await else {
                return;
            };
            (DatabaseUrl::from(pg.url.clone()), Some(pg))
        }
    };
    let db = Db::connect(&url, 2).await.unwrap();
    // The migrations as files, the way an older build embedded them: run up to the one
    // before the newest.
    let dialect = match db.backend() {
        DbBackend::Sqlite => "sqlite",
        DbBackend::Postgres => "postgres",
    };
    let migrator = sqlx::migrate::Migrator::new(std::path::Path::new(&format!(
        "{}/migrations/{dialect}",
        env!("CARGO_MANIFEST_DIR")
    )))
    .await
    .unwrap();
    let mut versions: Vec<i64> = migrator.iter().map(|m| m.version).collect();
    versions.sort_unstable();
    let [.., previous, latest] = versions[..] else {
        panic!("at least two migrations");
    };
    migrator.run_to(previous, db.pool()).await.unwrap();

    // Data written at the previous schema: principals, the demo supply chain, the audit
    // records of both.
    let pki = partners::devpki::DevPkiLayout::new(dir.path().join("pki"));
    partners::devpki::DevCa::generate()
        .unwrap()
        .write(&pki)
        .unwrap();
    dscsa_exchange::demo::setup(&db, Some(&pki)).await.unwrap();
    let chain = dscsa_exchange::demo::load_supply_chain(&db).await.unwrap();
    assert!(chain.events > 0);
    let tables = [
        "events",
        "serials",
        "event_epcs",
        "principals",
        "audit_records",
    ];
    assert!(
        has_index(&db, "verifications_corr").await,
        "before the upgrade"
    );
    let mut before = Vec::new();
    for table in tables {
        before.push(count(&db, table).await);
    }

    // A server that may not migrate (database.migrate_on_start = false) refuses to start on
    // it, naming `dscsa migrate`, and changes nothing.
    let overrides = dscsa_exchange::config::Overrides {
        data_dir: Some(dir.path().to_owned()),
        database_url: Some(url.expose().to_owned()),
        partner_addr: Some("127.0.0.1:0".parse().unwrap()),
        ops_addr: Some("127.0.0.1:0".parse().unwrap()),
        agent_addr: Some("127.0.0.1:0".parse().unwrap()),
    };
    let mut config = dscsa_exchange::config::Settings::load(None, std::iter::empty(), &overrides)
        .unwrap()
        .resolve()
        .unwrap();
    config.migrate_on_start = false;
    match dscsa_exchange::Application::build(&config).await {
        Err(e @ dscsa_exchange::app::StartError::SchemaBehind(1)) => {
            assert!(e.to_string().contains("dscsa migrate"), "{e}");
        }
        Err(e) => panic!("expected SchemaBehind(1): {e}"),
        Ok(_) => panic!("a server that may not migrate started on an old schema"),
    }
    assert_eq!(db.pending_migrations().await.unwrap(), 1);

    // This build's migrate applies exactly the newer migration(s), forward only.
    let applied = db.migrate().await.unwrap();
    assert_eq!(
        applied,
        versions.iter().filter(|v| **v > previous).count(),
        "the migrations after {previous} (up to {latest})"
    );
    for (table, n) in tables.iter().zip(before) {
        assert_eq!(count(&db, table).await, n, "{table} after the upgrade");
    }
    let intact = dscsa_exchange::services::audit::verify_chain_only(&db, 1)
        .await
        .unwrap();
    assert!(intact.is_ok(), "{intact:?}");
    // What the newest migration changed: the verification log's unused `corr_uuid` index is
    // gone (its rows are untouched, counted above).
    assert!(!has_index(&db, "verifications_corr").await);
    assert!(has_index(&db, "verifications_serial").await);
    // Agent tokens (migration 0009) work on the upgraded store.
    let issued = agent_tokens::issue(
        &db,
        &Actor::cli(),
        IssueRequest {
            principal: "compliance".parse().unwrap(),
            scopes: vec!["verify".into()],
            gtins: Vec::new(),
            lot: None,
            investigation: None,
            ttl: std::time::Duration::from_secs(60),
            purpose: "after the upgrade".into(),
        },
    )
    .await
    .unwrap();
    assert!(
        agent_tokens::authenticate(&db, &issued.token).await.is_ok(),
        "a token issued on the upgraded store authenticates"
    );
    // Running it again changes nothing; now the server that may not migrate starts.
    assert_eq!(db.migrate().await.unwrap(), 0);
    assert_eq!(db.pending_migrations().await.unwrap(), 0);
    let app = dscsa_exchange::Application::build(&config).await.unwrap();
    app.stop().await;
    db.close().await;
}
