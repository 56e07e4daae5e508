//! Configuration: one typed struct, layered, strict, validated before anything binds.
//!
//! Layers, lowest first: built-in defaults < TOML file (`--config FILE`) < environment
//! variables `DSCSA__SECTION__KEY` (for example `DSCSA__PARTNER_LISTENER__ADDR`) < command-line
//! flags. Unknown keys are refused in every layer, with a message naming the key and where it
//! came from (`../shared/STYLE.md` rule 11). [`Settings`] is what the layers deserialize into;
//! [`Settings::resolve`] turns it into a [`Config`] with concrete paths. The database URL is a
//! [`DatabaseUrl`], whose `Debug`, `Display` and `Serialize` hide any password, so the effective
//! configuration can be printed (`dscsa check-config`) and logged.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Format as _, Serialized, Toml};
use figment::value::{Dict, Map, Value};
use partners::devpki::DevPkiLayout;
use partners::tls::ServerTlsFiles;
use secrecy::{ExposeSecret as _, SecretString};
use serde::{Deserialize, Serialize};

/// Prefix of configuration environment variables; `__` separates section and key.
pub const ENV_PREFIX: &str = "DSCSA__";

/// The configuration file's shape. Every field has a default; a file or the environment sets
/// only what differs.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Directory for the default SQLite database (`dscsa.db`) and the development PKI (`pki/`).
    pub data_dir: PathBuf,
    /// Database connection.
    pub database: DatabaseSettings,
    /// The partner listener (mutual TLS).
    pub partner_listener: PartnerListenerSettings,
    /// The operations listener (plain HTTP, health and readiness).
    pub ops_listener: OpsListenerSettings,
    /// The agent listener (TLS, bearer tokens): MCP for AI agents.
    pub agent_listener: AgentListenerSettings,
    /// Certificates, client CAs and CRLs for the partner listener.
    pub tls: TlsSettings,
    /// Shutdown behaviour.
    pub shutdown: ShutdownSettings,
    /// The audit trail's checkpoint signing.
    pub audit: AuditSettings,
    /// EPCIS capture limits and mode.
    pub capture: CaptureSettings,
    /// The home organisation: who answers verification requests and files Form FDA 3911.
    pub organisation: OrganisationSettings,
}

/// `[organisation]`: the company that runs this server (the home organisation). Its GLN is the
/// `responderGLN` of every verification answer; its company prefixes say which GTINs it
/// answers for; its name, address and contact prefill Form FDA 3911 and tracing answers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OrganisationSettings {
    /// Legal name.
    pub name: Option<String>,
    /// GLN (13 digits): the responder GLN of verification answers. Without it the server
    /// answers verification requests with 503 and says to set it.
    #[serde(deserialize_with = "gln_text")]
    pub gln: Option<String>,
    /// GS1 company prefixes whose GTINs this server answers verification requests for.
    /// Empty: every GTIN with a serial commissioned in this store.
    pub company_prefixes: Vec<String>,
    /// Street address.
    pub street: Option<String>,
    /// City.
    pub city: Option<String>,
    /// State (two letters).
    pub state: Option<String>,
    /// Postal code.
    pub postal_code: Option<String>,
    /// Country code (ISO 3166-1 alpha-2).
    pub country: Option<String>,
    /// Contact person for FDA and trading partners (Form FDA 3911 item 23).
    pub contact_name: Option<String>,
    /// Contact e-mail.
    pub contact_email: Option<String>,
    /// Contact telephone.
    pub contact_phone: Option<String>,
}

/// A GLN written as a string, or as a number (an environment value such as
/// `DSCSA__ORGANISATION__GLN=0614141000005` is read as a TOML integer, which drops the leading
/// zero: a GLN always has 13 digits, so the zeros are put back).
fn gln_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Text {
        Text(String),
        Number(u64),
    }
    Ok(match Option::<Text>::deserialize(d)? {
        None => None,
        Some(Text::Text(s)) => Some(s),
        Some(Text::Number(n)) => Some(format!("{n:013}")),
    })
}

impl OrganisationSettings {
    /// Checks the GLN and the company prefixes.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if let Some(gln) = &self.gln {
            gln.parse::<partners::Gln>()
                .map_err(|e| ConfigError::Invalid(format!("organisation.gln: {e}")))?;
        }
        for prefix in &self.company_prefixes {
            prefix
                .parse::<partners::CompanyPrefix>()
                .map_err(|e| ConfigError::Invalid(format!("organisation.company_prefixes: {e}")))?;
        }
        Ok(())
    }

    /// The demo supply chain's manufacturer, used by `serve --demo` when no organisation is
    /// configured: the demo server is the manufacturer's, so it answers for the demo GTIN.
    pub fn demo() -> Self {
        Self {
            name: Some("Acme Pharmaceuticals Inc.".into()),
            gln: Some(crate::demo::HOME_GLN.into()),
            company_prefixes: vec!["0614141".into()],
            street: Some("1 Demo Way".into()),
            city: Some("Springfield".into()),
            state: Some("NJ".into()),
            postal_code: Some("07081".into()),
            country: Some("US".into()),
            contact_name: Some("Demo Compliance Officer".into()),
            contact_email: Some("compliance@acme.example".into()),
            contact_phone: Some("+1 555 0100".into()),
        }
    }
}

/// `[capture]`: what `POST /epcis/capture` and `POST /epcis/events` accept. Advertised to
/// partners in the `GS1-EPCIS-Capture-Limit` and `GS1-EPCIS-Capture-File-Size-Limit` headers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CaptureSettings {
    /// Largest document in bytes (larger: 413).
    pub max_document_bytes: u64,
    /// Most events in one document (more: 413).
    pub max_events: u64,
    /// Refuse events with business-rule anomalies instead of recording them.
    pub strict: bool,
}

impl Default for CaptureSettings {
    fn default() -> Self {
        Self {
            max_document_bytes: 128 << 20,
            max_events: 500_000,
            strict: false,
        }
    }
}

/// `[audit]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditSettings {
    /// The Ed25519 checkpoint signing key (hex, written by `dscsa audit keygen`). Keep it outside
    /// the database's host or volume in production. Unset: `<data_dir>/audit.key`, created on
    /// first start.
    pub key_file: Option<PathBuf>,
    /// Sign a checkpoint after this many new records.
    pub checkpoint_every: u64,
    /// Sign a checkpoint at least this often (seconds) while new records arrive.
    pub checkpoint_interval_secs: u64,
}

impl Default for AuditSettings {
    fn default() -> Self {
        Self {
            key_file: None,
            checkpoint_every: 1000,
            checkpoint_interval_secs: 60,
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./dscsa-data"),
            database: DatabaseSettings::default(),
            partner_listener: PartnerListenerSettings::default(),
            ops_listener: OpsListenerSettings::default(),
            agent_listener: AgentListenerSettings::default(),
            tls: TlsSettings::default(),
            shutdown: ShutdownSettings::default(),
            audit: AuditSettings::default(),
            capture: CaptureSettings::default(),
            organisation: OrganisationSettings::default(),
        }
    }
}

/// `[database]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseSettings {
    /// `sqlite://PATH` or `postgres://USER:PASSWORD@HOST/DB`. Unset: SQLite at
    /// `<data_dir>/dscsa.db`.
    pub url: Option<DatabaseUrl>,
    /// Largest number of pooled connections.
    pub max_connections: u32,
    /// Whether `serve` applies pending migrations at start. Off: it only checks that none are
    /// pending and refuses to start otherwise (for a database role without DDL rights; the
    /// owner runs `dscsa migrate`).
    pub migrate_on_start: bool,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            url: None,
            max_connections: 8,
            migrate_on_start: true,
        }
    }
}

/// `[partner_listener]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PartnerListenerSettings {
    /// Address and port; port 0 picks a free port.
    pub addr: SocketAddr,
    /// Seconds a client has to finish the TLS handshake.
    pub handshake_timeout_secs: u64,
    /// Requests a minute each principal may make (a token bucket: bursts up to this many);
    /// past it, 429 with `Retry-After`.
    pub requests_per_minute: u32,
    /// Largest request body outside EPCIS capture (which has `capture.max_document_bytes`);
    /// past it, 413.
    pub max_body_bytes: usize,
    /// Longest a request may take, body included; past it, 503 (and its audit record says so).
    pub request_timeout_secs: u64,
    /// Networks each principal may connect from, by principal id: CIDRs such as
    /// `["203.0.113.0/24", "2001:db8::/48"]`. A principal not listed may connect from anywhere;
    /// a request from outside its networks gets 403.
    pub allowed_networks: std::collections::BTreeMap<String, Vec<String>>,
}

impl Default for PartnerListenerSettings {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 8443)),
            handshake_timeout_secs: 10,
            requests_per_minute: 60_000,
            max_body_bytes: 1 << 20,
            request_timeout_secs: 120,
            allowed_networks: std::collections::BTreeMap::new(),
        }
    }
}

impl PartnerListenerSettings {
    /// The abuse limits, checked: every limit at least 1, every network a CIDR, every key a
    /// principal id.
    fn limits(&self) -> Result<PartnerLimits, ConfigError> {
        if self.requests_per_minute == 0
            || self.max_body_bytes == 0
            || self.request_timeout_secs == 0
        {
            return Err(ConfigError::Invalid(
                "partner_listener: requests_per_minute, max_body_bytes and request_timeout_secs \
                 must be at least 1"
                    .into(),
            ));
        }
        let mut allowed_networks = std::collections::BTreeMap::new();
        for (id, cidrs) in &self.allowed_networks {
            let principal: partners::PrincipalId = id.parse().map_err(|e| {
                ConfigError::Invalid(format!(
                    "partner_listener.allowed_networks: {id:?} is not a principal id: {e}"
                ))
            })?;
            let nets = cidrs
                .iter()
                .map(|c| {
                    c.parse::<ipnet::IpNet>().map_err(|e| {
                        ConfigError::Invalid(format!(
                            "partner_listener.allowed_networks.{id}: {c:?} is not a network \
                             such as \"203.0.113.0/24\": {e}"
                        ))
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            if nets.is_empty() {
                return Err(ConfigError::Invalid(format!(
                    "partner_listener.allowed_networks.{id} is empty: it would lock the principal \
                     out; remove the entry to allow every network"
                )));
            }
            allowed_networks.insert(principal, nets);
        }
        Ok(PartnerLimits {
            requests_per_minute: self.requests_per_minute,
            max_body_bytes: self.max_body_bytes,
            request_timeout: Duration::from_secs(self.request_timeout_secs),
            allowed_networks,
        })
    }
}

/// The partner listener's abuse limits, resolved from `[partner_listener]`.
#[derive(Debug, Clone)]
pub struct PartnerLimits {
    /// Requests a minute per principal.
    pub requests_per_minute: u32,
    /// Largest request body outside capture.
    pub max_body_bytes: usize,
    /// Longest a request may take.
    pub request_timeout: Duration,
    /// Networks each listed principal may connect from.
    pub allowed_networks: std::collections::BTreeMap<partners::PrincipalId, Vec<ipnet::IpNet>>,
}

impl Default for PartnerLimits {
    /// The limits of the default `[partner_listener]`.
    fn default() -> Self {
        let d = PartnerListenerSettings::default();
        Self {
            requests_per_minute: d.requests_per_minute,
            max_body_bytes: d.max_body_bytes,
            request_timeout: Duration::from_secs(d.request_timeout_secs),
            allowed_networks: std::collections::BTreeMap::new(),
        }
    }
}

impl PartnerLimits {
    /// Whether `principal` may connect from `ip` (any address, if it has no networks listed).
    pub fn network_allows(&self, principal: &partners::PrincipalId, ip: std::net::IpAddr) -> bool {
        self.allowed_networks
            .get(principal)
            .is_none_or(|nets| nets.iter().any(|n| n.contains(&ip.to_canonical())))
    }
}

/// `[ops_listener]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OpsListenerSettings {
    /// Address and port (plain HTTP; keep it on loopback or a private network).
    pub addr: SocketAddr,
}

impl Default for OpsListenerSettings {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 9090)),
        }
    }
}

/// `[agent_listener]`: the MCP endpoint for AI agents (`/mcp`, Streamable HTTP over TLS with
/// the partner listener's server certificate; callers present bearer tokens issued by
/// `dscsa agents token issue`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AgentListenerSettings {
    /// Serve the agent listener.
    pub enabled: bool,
    /// Address and port; port 0 picks a free port.
    pub addr: SocketAddr,
    /// The canonical URI of the MCP endpoint as agents reach it (the OAuth resource, e.g.
    /// `https://mcp.example.com/mcp`). Unset: `https://localhost:<port>/mcp`.
    pub public_url: Option<String>,
    /// Host names (with or without port) the `Host` header may carry: a guard against DNS
    /// rebinding. Add the public host name when agents reach the server through it.
    pub allowed_hosts: Vec<String>,
    /// Browser origins allowed to call (scheme and host, e.g. `https://console.example.com`).
    /// Empty: any request that carries an `Origin` header is refused.
    pub allowed_origins: Vec<String>,
    /// OAuth authorization servers listed in the protected-resource metadata. Unset: the
    /// server's own origin (tokens come from `dscsa agents token issue`).
    pub authorization_servers: Vec<String>,
    /// Requests per minute per token (more: 429 with Retry-After).
    pub calls_per_minute: u32,
    /// Rows returned per minute per token (past it: 429 until the budget refills).
    pub rows_per_minute: u32,
    /// Largest structured answer of one tool call, in bytes (larger: a tool error asking to
    /// narrow the request).
    pub max_output_bytes: usize,
}

impl Default for AgentListenerSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            addr: SocketAddr::from(([127, 0, 0, 1], 8444)),
            public_url: None,
            allowed_hosts: vec!["localhost".into(), "127.0.0.1".into(), "::1".into()],
            allowed_origins: Vec::new(),
            authorization_servers: Vec::new(),
            calls_per_minute: 120,
            rows_per_minute: 20_000,
            max_output_bytes: 512 * 1024,
        }
    }
}

impl AgentListenerSettings {
    /// Checks the values.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.calls_per_minute == 0 || self.rows_per_minute == 0 || self.max_output_bytes < 1024 {
            return Err(ConfigError::Invalid(
                "agent_listener: calls_per_minute and rows_per_minute must be at least 1, \
                 max_output_bytes at least 1024"
                    .into(),
            ));
        }
        for url in self.public_url.iter().chain(&self.authorization_servers) {
            if !url.starts_with("https://") && !url.starts_with("http://localhost") {
                return Err(ConfigError::Invalid(format!(
                    "agent_listener: {url:?} must be an https:// URL"
                )));
            }
        }
        Ok(())
    }
}

/// `[tls]`. Leave `server_cert`, `server_key` and `client_ca` all unset to use the development
/// PKI under `<data_dir>/pki/`, generated on first start; set all three for production.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsSettings {
    /// Server certificate chain (PEM).
    pub server_cert: Option<PathBuf>,
    /// Server private key (PEM).
    pub server_key: Option<PathBuf>,
    /// CA certificates (PEM) whose client certificates are accepted.
    pub client_ca: Vec<PathBuf>,
    /// CRL files (PEM or DER), re-read when they change. With the development PKI the default is
    /// its `crl.pem`.
    pub crl: Vec<PathBuf>,
    /// Seconds between checks of the TLS files for changes (0: only on SIGHUP).
    pub reload_interval_secs: Option<u64>,
}

/// `[shutdown]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ShutdownSettings {
    /// Seconds in-flight requests get to finish after SIGINT or SIGTERM.
    pub grace_period_secs: u64,
}

impl Default for ShutdownSettings {
    fn default() -> Self {
        Self {
            grace_period_secs: 30,
        }
    }
}

/// A database URL whose password never prints.
#[derive(Clone, Deserialize)]
#[serde(from = "String")]
pub struct DatabaseUrl(SecretString);

impl DatabaseUrl {
    /// The full URL, password included: for connecting only.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// The URL with any password replaced by `***`.
    pub fn redacted(&self) -> String {
        let url = self.expose();
        let Some((scheme, rest)) = url.split_once("://") else {
            return url.to_owned();
        };
        let (authority, tail) = rest.split_at(rest.find(['/', '?']).unwrap_or(rest.len()));
        match authority.rsplit_once('@') {
            Some((userinfo, host)) => {
                let user = userinfo.split_once(':').map_or(userinfo, |(user, _)| user);
                let password = if userinfo.contains(':') { ":***" } else { "" };
                format!("{scheme}://{user}{password}@{host}{tail}")
            }
            None => url.to_owned(),
        }
    }

    /// Whether this is a SQLite URL.
    pub fn is_sqlite(&self) -> bool {
        self.expose().starts_with("sqlite:")
    }

    /// SQLite at a file path (created if missing).
    pub fn sqlite_file(path: &Path) -> Self {
        Self::from(format!("sqlite://{}?mode=rwc", path.display()))
    }
}

impl From<String> for DatabaseUrl {
    fn from(s: String) -> Self {
        Self(SecretString::from(s))
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({})", self.redacted())
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl Serialize for DatabaseUrl {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.redacted())
    }
}

/// Values given on the command line: the top layer.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--data-dir`.
    pub data_dir: Option<PathBuf>,
    /// `--database-url` (kept as text so the layer carries the real password).
    pub database_url: Option<String>,
    /// `--partner-addr`.
    pub partner_addr: Option<SocketAddr>,
    /// `--ops-addr`.
    pub ops_addr: Option<SocketAddr>,
    /// `--agent-addr`.
    pub agent_addr: Option<SocketAddr>,
}

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A layer has an unknown key or a value of the wrong type; figment's message names the key
    /// and its source (file or environment variable).
    #[error("configuration: {0}")]
    Layer(Box<figment::Error>),
    /// The configuration file is missing.
    #[error("configuration file {0}: not found")]
    MissingFile(PathBuf),
    /// Values are individually fine but do not fit together.
    #[error("configuration: {0}")]
    Invalid(String),
}

impl Settings {
    /// Loads the layers: defaults, then `file` (if given; it must exist), then the `DSCSA__*`
    /// variables among `env`, then `overrides`.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
        overrides: &Overrides,
    ) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Self::default()));
        if let Some(path) = file {
            if !path.exists() {
                return Err(ConfigError::MissingFile(path.to_owned()));
            }
            figment = figment.merge(Toml::file_exact(path));
        }
        figment = figment.merge(env_layer(env));
        if let Some(dir) = &overrides.data_dir {
            figment = figment.merge(Serialized::default("data_dir", dir));
        }
        if let Some(url) = &overrides.database_url {
            figment = figment.merge(Serialized::default("database.url", url));
        }
        if let Some(addr) = overrides.partner_addr {
            figment = figment.merge(Serialized::default("partner_listener.addr", addr));
        }
        if let Some(addr) = overrides.ops_addr {
            figment = figment.merge(Serialized::default("ops_listener.addr", addr));
        }
        if let Some(addr) = overrides.agent_addr {
            figment = figment.merge(Serialized::default("agent_listener.addr", addr));
        }
        figment
            .extract()
            .map_err(|e| ConfigError::Layer(Box::new(e)))
    }

    /// Loads with the process environment.
    #[allow(
        clippy::disallowed_methods,
        reason = "the one place the environment is read"
    )]
    pub fn load_from_process(
        file: Option<&Path>,
        overrides: &Overrides,
    ) -> Result<Self, ConfigError> {
        Self::load(file, std::env::vars(), overrides)
    }

    /// Concrete settings: default paths filled in from `data_dir`, values checked.
    pub fn resolve(self) -> Result<Config, ConfigError> {
        let pki = DevPkiLayout::new(self.data_dir.join("pki"));
        let t = &self.tls;
        let (files, dev_pki) = match (&t.server_cert, &t.server_key, t.client_ca.is_empty()) {
            (None, None, true) => (
                ServerTlsFiles {
                    cert: pki.server_cert(),
                    key: pki.server_key(),
                    client_cas: vec![pki.ca_cert()],
                    crls: if t.crl.is_empty() {
                        vec![pki.crl()]
                    } else {
                        t.crl.clone()
                    },
                },
                Some(pki),
            ),
            (Some(cert), Some(key), false) => (
                ServerTlsFiles {
                    cert: cert.clone(),
                    key: key.clone(),
                    client_cas: t.client_ca.clone(),
                    crls: t.crl.clone(),
                },
                None,
            ),
            _ => {
                return Err(ConfigError::Invalid(
                    "tls: set server_cert, server_key and client_ca together (production PKI), \
                     or none of them (development PKI under <data_dir>/pki)"
                        .into(),
                ));
            }
        };
        if self.database.max_connections == 0 || self.database.max_connections > 1000 {
            return Err(ConfigError::Invalid(format!(
                "database.max_connections = {}: use 1 to 1000",
                self.database.max_connections
            )));
        }
        let database_url = self
            .database
            .url
            .clone()
            .unwrap_or_else(|| DatabaseUrl::sqlite_file(&self.data_dir.join("dscsa.db")));
        if self.audit.checkpoint_every == 0 || self.audit.checkpoint_interval_secs == 0 {
            return Err(ConfigError::Invalid(
                "audit.checkpoint_every and audit.checkpoint_interval_secs must be at least 1"
                    .into(),
            ));
        }
        let audit = AuditConfig {
            key_file: self
                .audit
                .key_file
                .clone()
                .unwrap_or_else(|| self.data_dir.join("audit.key")),
            create_key: self.audit.key_file.is_none(),
            checkpoint_every: self.audit.checkpoint_every,
            checkpoint_interval: Duration::from_secs(self.audit.checkpoint_interval_secs),
        };
        if self.capture.max_document_bytes == 0 || self.capture.max_events == 0 {
            return Err(ConfigError::Invalid(
                "capture.max_document_bytes and capture.max_events must be at least 1".into(),
            ));
        }
        self.organisation.validate()?;
        self.agent_listener.validate()?;
        let partner_limits = self.partner_listener.limits()?;
        Ok(Config {
            partner_limits,
            agent: self.agent_listener,
            audit,
            capture: self.capture,
            organisation: self.organisation,
            database_url,
            max_connections: self.database.max_connections,
            migrate_on_start: self.database.migrate_on_start,
            partner_addr: self.partner_listener.addr,
            handshake_timeout: Duration::from_secs(self.partner_listener.handshake_timeout_secs),
            ops_addr: self.ops_listener.addr,
            tls_files: files,
            dev_pki,
            tls_reload_interval: Duration::from_secs(t.reload_interval_secs.unwrap_or(10)),
            shutdown_grace: Duration::from_secs(self.shutdown.grace_period_secs),
            data_dir: self.data_dir,
        })
    }
}

/// The operating-system user running the command (`$USER`, else `unknown`), for audit actors.
#[allow(
    clippy::disallowed_methods,
    reason = "configuration module: reads the environment"
)]
pub fn os_user() -> String {
    std::env::var("USER").unwrap_or_else(|_| "unknown".into())
}

/// The agent token of `dscsa mcp stdio` (`DSCSA_AGENT_TOKEN`), kept secret in memory.
#[allow(
    clippy::disallowed_methods,
    reason = "configuration module: reads the environment"
)]
pub fn agent_token_from_env() -> Option<SecretString> {
    std::env::var("DSCSA_AGENT_TOKEN")
        .ok()
        .filter(|t| !t.trim().is_empty())
        .map(SecretString::from)
}

/// Whether logs are JSON lines (`DSCSA_LOG_FORMAT=json`, for production log shipping) rather
/// than human-readable text. Read before the configuration, as logging starts first.
#[allow(
    clippy::disallowed_methods,
    reason = "configuration module: reads the environment"
)]
pub fn json_logs() -> bool {
    std::env::var("DSCSA_LOG_FORMAT").is_ok_and(|v| v.eq_ignore_ascii_case("json"))
}

/// `DSCSA__SECTION__KEY=value` variables as a figment layer. Values are read like TOML values
/// (`8443` is a number, `true` a boolean); keys are lower-cased.
fn env_layer(env: impl IntoIterator<Item = (String, String)>) -> Serialized<Dict> {
    let mut root = Dict::new();
    for (name, raw) in env {
        let Some(key) = name.strip_prefix(ENV_PREFIX) else {
            continue;
        };
        let path: Vec<String> = key.split("__").map(str::to_lowercase).collect();
        let value = raw.parse::<Value>().unwrap_or(Value::from(raw));
        insert_path(&mut root, &path, value);
    }
    Serialized::defaults(root)
}

fn insert_path(dict: &mut Map<String, Value>, path: &[String], value: Value) {
    match path {
        [] => {}
        [last] => {
            dict.insert(last.clone(), value);
        }
        [first, rest @ ..] => {
            let entry = dict
                .entry(first.clone())
                .or_insert_with(|| Value::from(Dict::new()));
            if let Value::Dict(_, inner) = entry {
                insert_path(inner, rest, value);
            } else {
                let mut inner = Dict::new();
                insert_path(&mut inner, rest, value);
                *entry = Value::from(inner);
            }
        }
    }
}

/// The resolved configuration the server runs with.
#[derive(Debug, Clone)]
pub struct Config {
    /// Data directory.
    pub data_dir: PathBuf,
    /// Database URL.
    pub database_url: DatabaseUrl,
    /// Pool size.
    pub max_connections: u32,
    /// Whether `serve` applies pending migrations (else it checks there are none).
    pub migrate_on_start: bool,
    /// Partner listener address.
    pub partner_addr: SocketAddr,
    /// TLS handshake deadline.
    pub handshake_timeout: Duration,
    /// The partner listener's abuse limits.
    pub partner_limits: PartnerLimits,
    /// Ops listener address.
    pub ops_addr: SocketAddr,
    /// TLS files of the partner listener.
    pub tls_files: ServerTlsFiles,
    /// The development PKI in use, if the TLS files are the defaults.
    pub dev_pki: Option<DevPkiLayout>,
    /// How often TLS files are checked for changes (zero: never, SIGHUP only).
    pub tls_reload_interval: Duration,
    /// How long in-flight requests get at shutdown.
    pub shutdown_grace: Duration,
    /// Audit checkpoint signing.
    pub audit: AuditConfig,
    /// Capture limits and mode.
    pub capture: CaptureSettings,
    /// The home organisation (validated).
    pub organisation: OrganisationSettings,
    /// The agent listener (validated).
    pub agent: AgentListenerSettings,
}

/// The resolved `[audit]` settings.
#[derive(Debug, Clone)]
pub struct AuditConfig {
    /// The checkpoint signing key file.
    pub key_file: PathBuf,
    /// Create the key file if it is missing (only for the default location).
    pub create_key: bool,
    /// Records between checkpoints.
    pub checkpoint_every: u64,
    /// Longest time between checkpoints while records arrive.
    pub checkpoint_interval: Duration,
}

impl Config {
    /// The effective configuration as TOML, every key explicit, the database password hidden.
    pub fn to_toml(&self) -> String {
        let effective = Settings {
            data_dir: self.data_dir.clone(),
            database: DatabaseSettings {
                url: Some(self.database_url.clone()),
                max_connections: self.max_connections,
                migrate_on_start: self.migrate_on_start,
            },
            partner_listener: PartnerListenerSettings {
                addr: self.partner_addr,
                handshake_timeout_secs: self.handshake_timeout.as_secs(),
                requests_per_minute: self.partner_limits.requests_per_minute,
                max_body_bytes: self.partner_limits.max_body_bytes,
                request_timeout_secs: self.partner_limits.request_timeout.as_secs(),
                allowed_networks: self
                    .partner_limits
                    .allowed_networks
                    .iter()
                    .map(|(id, nets)| {
                        (
                            id.to_string(),
                            nets.iter().map(ToString::to_string).collect(),
                        )
                    })
                    .collect(),
            },
            ops_listener: OpsListenerSettings {
                addr: self.ops_addr,
            },
            agent_listener: self.agent.clone(),
            tls: TlsSettings {
                server_cert: Some(self.tls_files.cert.clone()),
                server_key: Some(self.tls_files.key.clone()),
                client_ca: self.tls_files.client_cas.clone(),
                crl: self.tls_files.crls.clone(),
                reload_interval_secs: Some(self.tls_reload_interval.as_secs()),
            },
            shutdown: ShutdownSettings {
                grace_period_secs: self.shutdown_grace.as_secs(),
            },
            audit: AuditSettings {
                key_file: Some(self.audit.key_file.clone()),
                checkpoint_every: self.audit.checkpoint_every,
                checkpoint_interval_secs: self.audit.checkpoint_interval.as_secs(),
            },
            capture: self.capture.clone(),
            organisation: self.organisation.clone(),
        };
        toml::to_string_pretty(&effective)
            .unwrap_or_else(|e| format!("# cannot print the configuration: {e}\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_never_prints() {
        let url = DatabaseUrl::from(
            "postgres://app:s3cret@db.internal:5432/dscsa?sslmode=require".to_owned(),
        );
        for shown in [
            format!("{url:?}"),
            url.to_string(),
            toml::to_string(&DatabaseSettings {
                url: Some(url.clone()),
                max_connections: 1,
                migrate_on_start: true,
            })
            .unwrap(),
        ] {
            assert!(!shown.contains("s3cret"), "{shown}");
            assert!(
                shown.contains("postgres://app:***@db.internal:5432/dscsa"),
                "{shown}"
            );
        }
        assert_eq!(
            url.expose(),
            "postgres://app:s3cret@db.internal:5432/dscsa?sslmode=require"
        );
        let no_password = DatabaseUrl::from("postgres://app@db/dscsa".to_owned());
        assert_eq!(no_password.redacted(), "postgres://app@db/dscsa");
    }

    #[test]
    fn env_paths_nest() {
        let mut dict = Dict::new();
        insert_path(&mut dict, &["a".into(), "b".into()], Value::from(1));
        insert_path(&mut dict, &["a".into(), "c".into()], Value::from(2));
        let Some(Value::Dict(_, inner)) = dict.get("a") else {
            panic!("not nested: {dict:?}");
        };
        assert_eq!(inner.len(), 2);
    }
}
