//! The running server: [`Application::build`] prepares everything a request needs (development
//! PKI if configured, database and migrations, TLS), binds the listeners (partner, agent, ops) (port 0 in tests) and
//! starts serving; [`Application::stop`] or a signal shuts it down gracefully.

use std::net::SocketAddr;
use std::sync::Arc;

use partners::devpki;
use partners::tls::ServerTls;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::api;
use crate::audit::CheckpointKey;
use crate::auth::AppState;
use crate::config::Config;
use crate::storage::{Db, StorageError};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A listener address is taken or not allowed.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The development PKI could not be made, or the TLS files are unusable.
    #[error(transparent)]
    Tls(#[from] partners::Error),
    /// The database is unreachable or a migration failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// `database.migrate_on_start` is off and the schema is behind this build.
    #[error(
        "the database schema is {0} migration(s) behind this build and database.migrate_on_start \
         is false: run `dscsa migrate` as the schema owner first"
    )]
    SchemaBehind(usize),
    /// The audit checkpoint key is missing or unreadable.
    #[error("{0} (create one with `dscsa audit keygen --out FILE` and set audit.key_file)")]
    AuditKey(#[from] crate::audit::checkpoint::KeyError),
}

/// Loads the checkpoint key, creating it at the default location on first start.
pub fn load_audit_key(config: &crate::config::AuditConfig) -> Result<CheckpointKey, StartError> {
    if config.create_key && !config.key_file.exists() {
        let key = CheckpointKey::generate()?;
        if let Some(dir) = config.key_file.parent() {
            std::fs::create_dir_all(dir).map_err(|source| {
                crate::audit::checkpoint::KeyError::Io {
                    path: dir.display().to_string(),
                    source,
                }
            })?;
        }
        key.write(&config.key_file)?;
        tracing::warn!(
            path = %config.key_file.display(),
            public_key = %key.public_hex(),
            "audit checkpoint key created; in production keep it off the database host (audit.key_file)"
        );
        return Ok(key);
    }
    Ok(CheckpointKey::read(&config.key_file)?)
}

/// Signs checkpoints while the server runs: every `every` records, at least every `interval`
/// while records arrive, and once more at shutdown.
async fn checkpoints(
    db: Db,
    key: CheckpointKey,
    every: u64,
    interval: std::time::Duration,
    mut stop: watch::Receiver<bool>,
) {
    let tick = interval.min(std::time::Duration::from_secs(2));
    let mut last_forced = tokio::time::Instant::now();
    loop {
        let stopping = tokio::select! {
            _ = tokio::time::sleep(tick) => false,
            _ = stop.wait_for(|s| *s) => true,
        };
        let force = stopping || last_forced.elapsed() >= interval;
        match crate::services::audit::checkpoint_if_due(&db, &key, every, force).await {
            Ok(_) if force => last_forced = tokio::time::Instant::now(),
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "audit checkpoint failed"),
        }
        if stopping {
            break;
        }
    }
}

/// A server with both listeners bound and serving.
#[derive(Debug)]
pub struct Application {
    partner_addr: SocketAddr,
    agent_addr: Option<SocketAddr>,
    ops_addr: SocketAddr,
    db: Db,
    tls: Arc<ServerTls>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    audit_public_key: ed25519_dalek::VerifyingKey,
}

impl Application {
    /// Prepares and starts the server described by `config`.
    pub async fn build(config: &Config) -> Result<Self, StartError> {
        if let Some(layout) = &config.dev_pki {
            let (_, outcome) = devpki::ensure(layout)?;
            if outcome != devpki::Ensured::Existing {
                tracing::info!(dir = %layout.dir().display(), ?outcome, "development PKI");
            }
        }
        let db = Db::connect(&config.database_url, config.max_connections).await?;
        let applied = if config.migrate_on_start {
            db.migrate().await?
        } else {
            // A server running as a role without DDL rights (deploy/README.md): the owner
            // migrates with `dscsa migrate`; the server only checks it has been done.
            match db.pending_migrations().await? {
                0 => 0,
                pending => return Err(StartError::SchemaBehind(pending)),
            }
        };
        tracing::info!(backend = db.backend().as_str(), url = %config.database_url, applied, "database ready");
        {
            let mut conn = db.pool().acquire().await.map_err(StorageError::from)?;
            let interrupted = crate::storage::capture::fail_interrupted_jobs(
                &mut conn,
                &crate::storage::now_text(),
            )
            .await?;
            if interrupted > 0 {
                tracing::warn!(
                    interrupted,
                    "capture jobs left running by the previous process marked failed"
                );
            }
        }
        let tls = Arc::new(ServerTls::load(config.tls_files.clone())?);
        let audit_key = load_audit_key(&config.audit)?;
        // A second handle on the same key for FDA records packages (issue 8): the first
        // moves into the checkpoint task.
        let package_key = Arc::new(CheckpointKey::read(&config.audit.key_file)?);

        let partner = bind(config.partner_addr).await?;
        let ops = bind(config.ops_addr).await?;
        let partner_addr = partner.local_addr().map_err(|source| StartError::Bind {
            addr: config.partner_addr,
            source,
        })?;
        let ops_addr = ops.local_addr().map_err(|source| StartError::Bind {
            addr: config.ops_addr,
            source,
        })?;

        let (shutdown, stop) = watch::channel(false);
        let audit_public_key = audit_key.public();
        let organisation = Arc::new(config.organisation.clone());
        let metrics = Arc::new(crate::metrics::Metrics::new());
        let audit_writer =
            crate::services::audit_writer::AuditWriter::start(db.clone(), Arc::clone(&metrics));
        let router = api::router(AppState {
            db: db.clone(),
            tls: Arc::clone(&tls),
            audit_public_key,
            capture: config.capture.clone(),
            organisation: Arc::clone(&organisation),
            audit_writer: audit_writer.clone(),
            ledger_reads: crate::services::ledger_reads::LedgerReads::start(db.clone()),
            principals: crate::principal_cache::PrincipalCache::default(),
            package_key,
            limits: Arc::new(config.partner_limits.clone()),
            // Only calls are counted for principals; the row budget is never charged.
            request_budgets: crate::budgets::Budgets::new(
                config.partner_limits.requests_per_minute,
                u32::MAX,
            ),
            metrics: Arc::clone(&metrics),
        });
        let mut tasks = vec![tokio::spawn(crate::tls_listener::serve(
            partner,
            crate::tls_listener::Handshake::ClientCertificate(Arc::clone(&tls)),
            router,
            config.handshake_timeout,
            config.shutdown_grace,
            stop.clone(),
        ))];
        let mut agent_addr = None;
        if config.agent.enabled {
            let agent = bind(config.agent.addr).await?;
            let addr = agent.local_addr().map_err(|source| StartError::Bind {
                addr: config.agent.addr,
                source,
            })?;
            agent_addr = Some(addr);
            let resource = config
                .agent
                .public_url
                .clone()
                .unwrap_or_else(|| format!("https://localhost:{}/mcp", addr.port()));
            crate::services::query::ensure_page_token_key(&db)
                .await
                .map_err(|e| StorageError::Conflict(format!("page-token key: {e}")))?;
            let read_only =
                Db::connect_read_only(&config.database_url, config.max_connections).await?;
            let ctx = Arc::new(crate::mcp::McpContext::new(
                read_only,
                organisation,
                audit_writer,
                config.agent.clone(),
                resource,
                Arc::clone(&metrics),
            ));
            tasks.push(tokio::spawn(crate::tls_listener::serve(
                agent,
                crate::tls_listener::Handshake::ServerOnly(Arc::clone(&tls)),
                crate::mcp::http::router(ctx),
                config.handshake_timeout,
                config.shutdown_grace,
                stop.clone(),
            )));
        }
        let ops_router = crate::ops::router(db.clone(), stop.clone(), metrics);
        let mut ops_stop = stop.clone();
        tasks.push(tokio::spawn(async move {
            let served = axum::serve(ops, ops_router)
                .with_graceful_shutdown(async move {
                    let _ = ops_stop.wait_for(|s| *s).await;
                })
                .await;
            if let Err(e) = served {
                tracing::error!(error = %e, "ops listener failed");
            }
        }));
        tasks.push(tokio::spawn(checkpoints(
            db.clone(),
            audit_key,
            config.audit.checkpoint_every,
            config.audit.checkpoint_interval,
            stop.clone(),
        )));
        if !config.tls_reload_interval.is_zero() {
            tasks.push(tokio::spawn(watch_tls_files(
                Arc::clone(&tls),
                config.tls_reload_interval,
                stop,
            )));
        }
        tracing::info!(%partner_addr, ?agent_addr, %ops_addr, "listening");
        Ok(Self {
            audit_public_key,
            partner_addr,
            agent_addr,
            ops_addr,
            db,
            tls,
            shutdown,
            tasks,
        })
    }

    /// The public key the audit checkpoints are signed with.
    pub fn audit_public_key(&self) -> &ed25519_dalek::VerifyingKey {
        &self.audit_public_key
    }

    /// The partner listener's address (with the real port when configured as 0).
    pub fn partner_addr(&self) -> SocketAddr {
        self.partner_addr
    }

    /// The agent (MCP) listener's address, when enabled.
    pub fn agent_addr(&self) -> Option<SocketAddr> {
        self.agent_addr
    }

    /// The ops listener's address.
    pub fn ops_addr(&self) -> SocketAddr {
        self.ops_addr
    }

    /// The database.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The partner listener's TLS state (tests call [`ServerTls::reload`] on it).
    pub fn tls(&self) -> &Arc<ServerTls> {
        &self.tls
    }

    /// Runs until SIGINT or SIGTERM, reloading the TLS files on SIGHUP, then stops gracefully.
    /// `signals` should be installed before the server announces itself, so that a signal sent
    /// right after the announcement is not missed.
    pub async fn run_until_signalled(self, signals: Signals) {
        signals.wait(&self.tls).await;
        tracing::info!("shutting down: draining in-flight requests");
        self.stop().await;
    }

    /// Stops accepting, lets in-flight requests finish (up to the grace period), closes the
    /// database pool.
    pub async fn stop(self) {
        // Recorded before the listeners stop, so the final checkpoint covers it.
        let stop =
            crate::services::Actor::cli().record("serve stop", "", crate::audit::Outcome::Ok);
        if let Err(e) = crate::services::record(&self.db, stop).await {
            tracing::error!(error = %e, "could not record the stop in the audit trail");
        }
        let _ = self.shutdown.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
        self.db.close().await;
        tracing::info!("stopped");
    }
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, StartError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| StartError::Bind { addr, source })
}

/// Checks the TLS files every `interval` and reloads them when they change.
async fn watch_tls_files(
    tls: Arc<ServerTls>,
    interval: std::time::Duration,
    mut stop: watch::Receiver<bool>,
) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        match tls.reload_if_changed() {
            Ok(true) => tracing::info!("TLS files changed: reloaded (CRLs and certificates)"),
            Ok(false) => {}
            Err(e) => {
                tracing::error!(error = %e, "TLS files changed but do not load; keeping the previous configuration")
            }
        }
    }
}

/// The process signals the server answers: SIGINT and SIGTERM stop it, SIGHUP reloads TLS files.
#[derive(Debug)]
pub struct Signals {
    #[cfg(unix)]
    term: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    hup: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    /// Installs the handlers (from now on these signals no longer end the process by default).
    pub fn install() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Self {
                term: signal(SignalKind::terminate()).ok(),
                hup: signal(SignalKind::hangup()).ok(),
            }
        }
        #[cfg(not(unix))]
        Self {}
    }

    #[cfg(not(unix))]
    async fn wait(self, _tls: &ServerTls) {
        let _ = tokio::signal::ctrl_c().await;
    }

    #[cfg(unix)]
    async fn wait(mut self, tls: &ServerTls) {
        loop {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => return,
                _ = recv(self.term.as_mut()) => return,
                _ = recv(self.hup.as_mut()) => match tls.reload() {
                    Ok(()) => tracing::info!("SIGHUP: TLS files reloaded"),
                    Err(e) => tracing::error!(error = %e, "SIGHUP: TLS files do not load; keeping the previous configuration"),
                },
            }
        }
    }
}

#[cfg(unix)]
async fn recv(signal: Option<&mut tokio::signal::unix::Signal>) {
    match signal {
        Some(s) => {
            s.recv().await;
        }
        None => std::future::pending().await,
    }
}
