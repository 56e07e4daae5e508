//! Benchmark stores that survive between runs: a SQLite file under a directory, or a
//! PostgreSQL database named after the store, loaded batch by batch through the capture
//! service and resumed where a previous run stopped (one document per batch, counted in
//! `epcis_documents`). Loading a million-serial or million-event store takes minutes; a
//! benchmark run should not pay it twice.

#![allow(dead_code)] // each example uses a subset

use std::path::Path;
use std::time::Instant;

use anyhow::Context as _;
use dscsa_exchange::config::DatabaseUrl;
use dscsa_exchange::fixtures::bulk;
use dscsa_exchange::services::Actor;
use dscsa_exchange::services::capture::{self, CaptureOptions, HOME};
use dscsa_exchange::storage::Db;
use sqlx::Connection as _;

/// The store's URL: `<dir>/<name>.db`, or database `dscsa_bench_<name>` on the server of
/// `postgres` (created when missing).
pub(crate) async fn url(
    dir: &Path,
    postgres: Option<&str>,
    name: &str,
) -> anyhow::Result<DatabaseUrl> {
    let Some(admin_url) = postgres else {
        std::fs::create_dir_all(dir)?;
        return Ok(DatabaseUrl::from(format!(
            "sqlite://{}/{name}.db?mode=rwc",
            dir.display()
        )));
    };
    sqlx::any::install_default_drivers();
    let db = format!("dscsa_bench_{}", name.replace('-', "_"));
    let mut admin = sqlx::AnyConnection::connect(admin_url).await?;
    let exists: Option<i32> = sqlx::query_scalar("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(&db)
        .fetch_optional(&mut admin)
        .await?;
    if exists.is_none() {
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db}")))
            .execute(&mut admin)
            .await?;
    }
    admin.close().await?;
    let base = admin_url
        .rsplit_once('/')
        .context("postgres URL without a database")?
        .0;
    Ok(DatabaseUrl::from(format!("{base}/{db}")))
}

/// Captures batches `loaded..batches` of `document` as the home organisation, where `loaded`
/// is the number of documents already stored. Returns the database.
pub(crate) async fn load(
    url: &DatabaseUrl,
    batches: u64,
    document: impl Fn(u64) -> String,
) -> anyhow::Result<Db> {
    let db = Db::connect(url, 4).await?;
    db.migrate().await?;
    let loaded: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM epcis_documents")
        .fetch_one(db.pool())
        .await?;
    let loaded = u64::try_from(loaded).unwrap_or(0);
    if loaded >= batches {
        println!("  store ready: {loaded} batches already loaded");
        return Ok(db);
    }
    let started = Instant::now();
    let mut events = 0;
    for batch in loaded..batches {
        let report = capture::capture(
            &db,
            &Actor::cli(),
            HOME,
            document(batch).into_bytes().into(),
            "application/xml",
            &CaptureOptions::default(),
        )
        .await?;
        anyhow::ensure!(
            report.refused.is_empty(),
            "batch {batch} refused: {:?}",
            report.refused
        );
        events += report.new;
        if (batch + 1) % 20 == 0 || batch + 1 == batches {
            println!(
                "  loaded batch {}/{batches}: {events} events in {:.0} s",
                batch + 1,
                started.elapsed().as_secs_f64()
            );
        }
    }
    sqlx::query("ANALYZE").execute(db.pool()).await?;
    Ok(db)
}

/// Where the verification benchmarks' store lives (`load_vrs`, `mcp_latency`).
#[derive(Debug, clap::Args)]
pub(crate) struct ShipmentsArgs {
    /// Serials in the store.
    #[arg(long, default_value_t = 1_000_000)]
    pub(crate) units: u64,
    /// Directory of the SQLite store and the development PKI.
    #[arg(long, default_value = "target/bench-stores")]
    pub(crate) store: std::path::PathBuf,
    /// PostgreSQL admin URL; the store is database `dscsa_bench_vrs_<units>` on that server.
    #[arg(long)]
    pub(crate) postgres: Option<String>,
}

impl ShipmentsArgs {
    /// The store's directory (SQLite file and development PKI).
    pub(crate) fn dir(&self) -> std::path::PathBuf {
        self.store.join(format!("vrs-{}", self.units))
    }
}

/// The verification benchmarks' store (shared by `load_vrs` and `mcp_latency`): `units`
/// serials from `fixtures::bulk::shipments_document` batches, in `dir` or database
/// `dscsa_bench_vrs_<units>`, loaded on first use. Prints how many serials it holds.
pub(crate) async fn shipments(
    dir: &Path,
    postgres: Option<&str>,
    units: u64,
) -> anyhow::Result<DatabaseUrl> {
    let url = url(dir, postgres, &format!("vrs-{units}")).await?;
    let batches = units.div_ceil(bulk::SHIPMENT_BATCH);
    let db = load(&url, batches, |b| {
        bulk::shipments_document(
            b,
            bulk::SHIPMENT_BATCH.min(units - b * bulk::SHIPMENT_BATCH),
        )
    })
    .await?;
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM serials")
        .fetch_one(db.pool())
        .await?;
    println!("  {stored} serials in the ledger");
    db.close().await;
    Ok(url)
}

/// The server's and the client's runtimes: two threads each, so that a benchmark's server
/// and load generator share the machine's two cores the same way in every example.
pub(crate) fn runtimes() -> anyhow::Result<(tokio::runtime::Runtime, tokio::runtime::Runtime)> {
    let build = |name: &str| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .thread_name(name)
            .build()
    };
    Ok((build("server")?, build("client")?))
}

/// Starts the real server on the store at `url` (development PKI under `dir`, the demo
/// manufacturer as the home organisation, listeners on free loopback ports), registers
/// `principal` bound by name unless it exists, and issues its client certificate. Returns the
/// server, the CA certificate (DER) and the client certificate.
pub(crate) async fn serve_as(
    dir: &Path,
    url: &DatabaseUrl,
    principal: partners::Principal,
) -> anyhow::Result<(
    dscsa_exchange::Application,
    rustls::pki_types::CertificateDer<'static>,
    partners::devpki::IssuedCert,
)> {
    serve_with(dir, url, principal, |_| {}).await
}

/// [`serve_as`] with the resolved configuration adjusted by `configure` first.
pub(crate) async fn serve_with(
    dir: &Path,
    url: &DatabaseUrl,
    principal: partners::Principal,
    configure: impl FnOnce(&mut dscsa_exchange::config::Config),
) -> anyhow::Result<(
    dscsa_exchange::Application,
    rustls::pki_types::CertificateDer<'static>,
    partners::devpki::IssuedCert,
)> {
    let overrides = dscsa_exchange::config::Overrides {
        data_dir: Some(dir.to_owned()),
        database_url: Some(url.expose().to_owned()),
        partner_addr: Some("127.0.0.1:0".parse()?),
        ops_addr: Some("127.0.0.1:0".parse()?),
        agent_addr: Some("127.0.0.1:0".parse()?),
    };
    let mut config =
        dscsa_exchange::config::Settings::load(None, std::iter::empty(), &overrides)?.resolve()?;
    config.organisation = dscsa_exchange::config::OrganisationSettings::demo();
    // A load generator is one principal at thousands of requests a second: lift its budget
    // (the check still runs on every request).
    config.partner_limits.requests_per_minute = u32::MAX;
    configure(&mut config);
    let app = dscsa_exchange::Application::build(&config).await?;
    let ca = partners::devpki::DevCa::load(&config.dev_pki.clone().context("development PKI")?)?;
    let mut conn = app.db().pool().acquire().await?;
    let known = dscsa_exchange::storage::principals::find(&mut conn, &principal.id).await?;
    drop(conn);
    if known.is_none() {
        let binding = (
            partners::binding::BindingMatch::name(principal.id.as_str())?,
            None,
        );
        dscsa_exchange::services::principals::register(
            app.db(),
            &Actor::Demo,
            &principal,
            &[binding],
        )
        .await?;
    }
    let cert = ca.issue_client(&principal.id, 1)?;
    let ca_der = rustls::pki_types::CertificateDer::from(ca.cert_der().to_vec());
    Ok((app, ca_der, cert))
}
