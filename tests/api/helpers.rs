//! `spawn_app()`: a server on random ports with a fresh database and its own development PKI,
//! plus clients that present chosen certificates.

use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use dscsa_exchange::Application;
use dscsa_exchange::config::{Overrides, Settings};
use dscsa_exchange::services::{self, Actor};
use partners::binding::BindingMatch;
use partners::devpki::{DevCa, DevPkiLayout, IssuedCert};
use partners::tls::ClientIdentity;
use partners::{Principal, PrincipalKind, Status};
use sqlx::Connection as _;
use sqlx::Row as _;

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backend {
    Postgres,
    Sqlite,
}

/// A running server and what a test needs to talk to it.
pub(crate) struct TestApp {
    pub(crate) app: Option<Application>,
    pub(crate) ca: DevCa,
    pub(crate) layout: DevPkiLayout,
    pub(crate) base: String,
    pub(crate) config: dscsa_exchange::config::Config,
    _dir: tempfile::TempDir,
    _database: Option<PgDatabase>,
}

fn init_test_log() {
    if std::env::var_os("TEST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter("debug,sqlx=warn,hyper=info,rustls=info")
            .with_test_writer()
            .try_init();
    }
}

/// Starts a server on `backend`, or returns `None` (after saying so) when PostgreSQL is not
/// reachable.
pub(crate) async fn spawn_app(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, |_| {}).await
}

/// [`spawn_app`] with the resolved configuration adjusted by `configure` first.
pub(crate) async fn spawn_app_with(
    backend: Backend,
    configure: impl FnOnce(&mut dscsa_exchange::config::Config),
) -> Option<TestApp> {
    init_test_log();
    let dir = tempfile::tempdir().unwrap();
    let (database_url, database) = match backend {
        Backend::Sqlite => (None, None),
        Backend::Postgres => {
            let db = PgDatabase::create().await?;
            (Some(db.url.clone()), Some(db))
        }
    };
    let overrides = Overrides {
        data_dir: Some(dir.path().to_owned()),
        database_url,
        partner_addr: Some("127.0.0.1:0".parse().unwrap()),
        ops_addr: Some("127.0.0.1:0".parse().unwrap()),
        agent_addr: Some("127.0.0.1:0".parse().unwrap()),
    };
    let mut config = Settings::load(None, std::iter::empty(), &overrides)
        .unwrap()
        .resolve()
        .unwrap();
    config.tls_reload_interval = std::time::Duration::ZERO;
    config.shutdown_grace = std::time::Duration::from_secs(5);
    configure(&mut config);
    let app = Application::build(&config).await.unwrap();
    let layout = config.dev_pki.clone().unwrap();
    let ca = DevCa::load(&layout).unwrap();
    let base = format!("https://localhost:{}", app.partner_addr().port());
    Some(TestApp {
        app: Some(app),
        ca,
        layout,
        base,
        config,
        _dir: dir,
        _database: database,
    })
}

impl TestApp {
    pub(crate) fn app(&self) -> &Application {
        self.app.as_ref().unwrap()
    }

    /// A client certificate from the server's CA with this common name, valid 30 days.
    pub(crate) fn issue(&self, cn: &str) -> IssuedCert {
        self.ca.issue_client(&cn.parse().unwrap(), 30).unwrap()
    }

    /// Registers an active principal bound by name to `id` (the common name of `issue(id)`).
    pub(crate) async fn register(&self, principal: Principal) {
        let binding = BindingMatch::name(principal.id.as_str()).unwrap();
        services::principals::register(
            self.app().db(),
            &Actor::Demo,
            &principal,
            &[(binding, None)],
        )
        .await
        .unwrap();
    }

    /// A reqwest client trusting the server's CA, presenting `cert` if given, offering
    /// `alpn` (h2 and http/1.1 when empty).
    pub(crate) fn client_with(&self, cert: Option<&IssuedCert>, alpn: &[&[u8]]) -> reqwest::Client {
        let identity = cert.map(|c| ClientIdentity::from_pem(c.cert_pem(), c.key_pem()).unwrap());
        let alpn: &[&[u8]] = if alpn.is_empty() {
            &[b"h2", b"http/1.1"]
        } else {
            alpn
        };
        let ca = rustls::pki_types::CertificateDer::from(self.ca.cert_der().to_vec());
        let config = partners::tls::client_config(&[ca], identity, alpn, true).unwrap();
        reqwest::Client::builder()
            .use_preconfigured_tls(Arc::unwrap_or_clone(config))
            .build()
            .unwrap()
    }

    pub(crate) fn client(&self, cert: Option<&IssuedCert>) -> reqwest::Client {
        self.client_with(cert, &[])
    }

    /// `GET /whoami` with a fresh client presenting `cert`.
    pub(crate) async fn whoami(
        &self,
        cert: Option<&IssuedCert>,
    ) -> reqwest::Result<reqwest::Response> {
        self.client(cert)
            .get(format!("{}/whoami", self.base))
            .send()
            .await
    }

    pub(crate) async fn stop(mut self) {
        if let Some(app) = self.app.take() {
            app.stop().await;
        }
    }
}

/// A trading partner with GLNs.
pub(crate) fn partner(id: &str, glns: &[&str]) -> Principal {
    Principal {
        id: id.parse().unwrap(),
        display_name: format!("{id} Inc."),
        status: Status::Active,
        kind: PrincipalKind::Partner(partners::PartnerRecord {
            legal_name: format!("{id} Inc."),
            role: partners::PartnerRole::Wholesaler,
            glns: glns.iter().map(|g| g.parse().unwrap()).collect(),
            company_prefixes: vec!["0614141".parse().unwrap()],
            licences: partners::Licences::default(),
            atp_credential: None,
        }),
    }
}

/// A staff member.
pub(crate) fn staff(id: &str, role: partners::StaffRole) -> Principal {
    Principal {
        id: id.parse().unwrap(),
        display_name: format!("{id} (staff)"),
        status: Status::Active,
        kind: PrincipalKind::Staff { role },
    }
}

/// A response body as JSON.
pub(crate) async fn json(response: reqwest::Response) -> serde_json::Value {
    response.json().await.unwrap()
}

/// A fresh PostgreSQL database, dropped when this value is dropped.
pub(crate) struct PgDatabase {
    pub(crate) url: String,
    admin_url: String,
    name: String,
}

#[allow(
    clippy::disallowed_methods,
    reason = "test helper: where the test database lives"
)]
fn admin_url() -> String {
    std::env::var("DSCSA_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

impl PgDatabase {
    pub(crate) async fn create() -> Option<Self> {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        sqlx::any::install_default_drivers();
        let admin_url = admin_url();
        let mut admin = match sqlx::AnyConnection::connect(&admin_url).await {
            Ok(conn) => conn,
            Err(e) => {
                skip_postgres(&admin_url, &e);
                return None;
            }
        };
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let name = format!(
            "dscsa_test_{}_{}_{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .unwrap();
        let _ = admin.close().await;
        let (base, _) = admin_url.rsplit_once('/').unwrap();
        Some(Self {
            url: format!("{base}/{name}"),
            admin_url,
            name,
        })
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        // Drop runs inside the test's runtime: use a thread with its own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                if let Ok(mut admin) = sqlx::AnyConnection::connect(&admin_url).await {
                    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                    )))
                    .execute(&mut admin)
                    .await;
                    let _ = admin.close().await;
                }
            });
        })
        .join();
    }
}

/// Says once per test binary, past the test harness's output capture, that the PostgreSQL
/// half is skipped.
fn skip_postgres(url: &str, error: &sqlx::Error) {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = writeln!(
            std::io::stderr(),
            "\n*** skipped PostgreSQL half: cannot connect to {url} ({error}); \
             set DSCSA_TEST_POSTGRES_URL to a superuser URL to run it ***\n"
        );
    });
}

/// Generates one `#[tokio::test]` per backend for each case in `cases`.
#[macro_export]
macro_rules! on_both_backends {
    ($($case:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $case() {
                    super::$case($crate::helpers::Backend::Sqlite).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $case() {
                    super::$case($crate::helpers::Backend::Postgres).await;
                }
            )+
        }
    };
}

/// Runs the built `dscsa` binary with `args` and `--data-dir data_dir`.
pub(crate) fn dscsa(data_dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_dscsa"))
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .output()
        .unwrap()
}

/// Asserts the command exited with `code` (showing its output otherwise); returns its stdout.
pub(crate) fn exited(output: &std::process::Output, code: i32) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert_eq!(
        output.status.code(),
        Some(code),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// A server run by the demo manufacturer (`OrganisationSettings::demo()`), with the demo
/// principals registered (bound by name: `issue("whs-east")` is whs-east's certificate) and
/// the demo supply chain captured.
pub(crate) async fn spawn_demo(backend: Backend) -> Option<TestApp> {
    let app = spawn_app_with(backend, |c| {
        c.organisation = dscsa_exchange::config::OrganisationSettings::demo();
    })
    .await?;
    dscsa_exchange::demo::setup(app.app().db(), Some(&app.layout))
        .await
        .unwrap();
    dscsa_exchange::demo::load_supply_chain(app.app().db())
        .await
        .unwrap();
    Some(app)
}

/// A commissioned serial of the demo chain, recalled or not: (gtin, serial, lot, expiry YYMMDD).
pub(crate) async fn demo_serial(app: &TestApp, recalled: bool) -> (String, String, String, String) {
    let mut conn = app.app().db().pool().acquire().await.unwrap();
    let row = sqlx::query(
        "SELECT epc, gtin, lot, expiry FROM serials WHERE commissioned_event IS NOT NULL \
         AND lot IS NOT NULL AND recalled = $1 ORDER BY epc LIMIT 1",
    )
    .bind(i64::from(recalled))
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    let epc: String = row.get(0);
    let dl = epcis::id::DigitalLink::parse(&epc).unwrap();
    let expiry: String = row.get(3);
    // 2028-06-30 -> 280630
    let yymmdd = format!("{}{}{}", &expiry[2..4], &expiry[5..7], &expiry[8..10]);
    (
        row.get(1),
        dl.serial().unwrap().to_owned(),
        row.get(2),
        yymmdd,
    )
}
