//! Agent tokens: what an AI agent may do, for whom, and for how long.
//!
//! A token acts for one principal (a staff member, an internal system or a trading partner),
//! for a stated purpose, until it expires (default 8 h, at most 24 h) or is revoked. Its
//! [`AgentScope`]s say which MCP tools it may list and call; its [`Limits`] narrow what those
//! tools may be asked about (GTINs, one lot, one investigation). A token never widens its
//! principal: a scope the principal's kind does not permit cannot be issued, and every call
//! checks the principal again (suspended, role changed) before it runs.
//!
//! Only the SHA-256 of a token is stored; [`issue`] returns the token once.

use std::fmt;
use std::time::Duration;

use epcis::id::Gtin;
use partners::{Action, Principal, PrincipalId, Status};
use sha2::{Digest as _, Sha256};

use super::Actor;
use crate::storage::agent_tokens::{self as store, TokenRow};
use crate::storage::{Db, StorageError};

/// Longest lifetime of a token.
pub const MAX_TTL: Duration = Duration::from_secs(24 * 3600);
/// Lifetime when `--ttl` is not given.
pub const DEFAULT_TTL: Duration = Duration::from_secs(8 * 3600);

/// What a token may do; each scope opens a set of MCP tools (`crate::mcp::tools`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AgentScope {
    /// `verify_product`: is this serial genuine?
    Verify,
    /// `trace_product`: the custody chain of a package or a lot.
    Trace,
    /// `product_events`, `find_events`: the EPCIS events the principal may see.
    Events,
    /// `lot_summary`, `container_contents`: the serial ledger (home organisation only).
    Inventory,
    /// `product_master_data`, `partner_info`: product and partner records.
    MasterData,
    /// `list_investigations`, `investigation`: suspect-product cases (compliance staff only).
    Investigations,
}

impl AgentScope {
    /// Every scope, in a stable order.
    pub const ALL: [Self; 6] = [
        Self::Verify,
        Self::Trace,
        Self::Events,
        Self::Inventory,
        Self::MasterData,
        Self::Investigations,
    ];

    /// The scope's name, as `--scopes` takes it and OAuth metadata lists it (`dscsa:` + name).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Verify => "verify",
            Self::Trace => "trace",
            Self::Events => "events",
            Self::Inventory => "inventory",
            Self::MasterData => "master-data",
            Self::Investigations => "investigations",
        }
    }

    /// The OAuth scope string.
    pub fn oauth(self) -> String {
        format!("dscsa:{}", self.as_str())
    }

    /// Reads a name, with or without the `dscsa:` prefix.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        let s = s.strip_prefix("dscsa:").unwrap_or(s);
        Self::ALL.into_iter().find(|scope| scope.as_str() == s)
    }

    /// The action the principal must be permitted for the scope to be granted and used.
    pub fn action(self) -> Action {
        match self {
            Self::Verify => Action::Verify,
            Self::Trace => Action::Trace,
            Self::Events | Self::Inventory | Self::MasterData => Action::QueryEvents,
            Self::Investigations => Action::Investigate,
        }
    }

    /// Whether only the home organisation's principals may hold it: the serial ledger records
    /// every serial's holder and location, which is the home organisation's business alone.
    pub fn home_only(self) -> bool {
        matches!(self, Self::Inventory)
    }

    /// Whether `principal` may use this scope now.
    pub fn permitted_for(self, principal: &Principal) -> bool {
        principal.permits(self.action()) && (!self.home_only() || principal.is_home_organisation())
    }
}

impl fmt::Display for AgentScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a token narrows its tools to. Empty: no narrowing beyond the principal's visibility.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Limits {
    /// Only these GTINs (empty: any).
    pub gtins: Vec<Gtin>,
    /// Only this lot (of the single GTIN in `gtins`).
    pub lot: Option<String>,
    /// Only this investigation (case key).
    pub investigation: Option<String>,
}

impl Limits {
    /// Whether the token may ask about `gtin`.
    pub fn allows_gtin(&self, gtin: &Gtin) -> bool {
        self.gtins.is_empty() || self.gtins.contains(gtin)
    }

    /// Whether the token may ask about `lot` of `gtin` (`None`: a lot not known yet).
    pub fn allows_lot(&self, gtin: &Gtin, lot: Option<&str>) -> bool {
        self.allows_gtin(gtin)
            && match (&self.lot, lot) {
                (None, _) => true,
                (Some(mine), Some(asked)) => mine == asked,
                (Some(_), None) => false,
            }
    }

    /// One line for people and the audit trail.
    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        if !self.gtins.is_empty() {
            let gtins: Vec<&str> = self.gtins.iter().map(Gtin::as_str).collect();
            parts.push(format!("GTIN {}", gtins.join(", ")));
        }
        if let Some(lot) = &self.lot {
            parts.push(format!("lot {lot}"));
        }
        if let Some(case) = &self.investigation {
            parts.push(format!("investigation {case}"));
        }
        if parts.is_empty() {
            "none".into()
        } else {
            parts.join("; ")
        }
    }
}

/// An authenticated token: who it acts for and what it may do. Built only by [`authenticate`]
/// (and, for `dscsa mcp stdio`, by the same function on the token in the environment).
#[derive(Debug, Clone)]
pub struct Grant {
    /// Public token id (`at_…`), for the audit trail.
    pub token_id: String,
    /// The principal it acts for, as loaded on this request.
    pub principal: Principal,
    /// Scopes the token holds that the principal may still use.
    pub scopes: Vec<AgentScope>,
    /// Narrowing.
    pub limits: Limits,
    /// The purpose stated at issue.
    pub purpose: String,
    /// Expiry (Unix seconds).
    pub expires_at: i64,
}

impl Grant {
    /// Whether the grant holds `scope`.
    pub fn has(&self, scope: AgentScope) -> bool {
        self.scopes.contains(&scope)
    }
}

/// Why a token was refused.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// No such token (or not a token at all).
    #[error("the bearer token is not valid")]
    Unknown,
    /// Past its expiry.
    #[error("the bearer token expired at {0}")]
    Expired(String),
    /// Revoked.
    #[error("the bearer token was revoked at {0}")]
    Revoked(String),
    /// Its principal is suspended or gone.
    #[error("the token's principal {0} is suspended or no longer exists")]
    PrincipalInactive(String),
    /// A request to issue or revoke is not acceptable (the message names the field).
    #[error("{0}")]
    Invalid(String),
    /// The database failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// What `dscsa agents token issue` asks for.
#[derive(Debug, Clone)]
pub struct IssueRequest {
    /// The principal the token acts for.
    pub principal: PrincipalId,
    /// Scope names (`verify`, `dscsa:trace`, …).
    pub scopes: Vec<String>,
    /// GTINs to narrow to.
    pub gtins: Vec<String>,
    /// Lot to narrow to (needs exactly one GTIN).
    pub lot: Option<String>,
    /// Investigation to narrow to.
    pub investigation: Option<String>,
    /// Lifetime.
    pub ttl: Duration,
    /// Why the agent needs the access (recorded with every call).
    pub purpose: String,
}

/// A token just issued: the secret (shown once) and what was stored.
#[derive(Debug)]
pub struct Issued {
    /// The bearer token. Not stored anywhere.
    pub token: String,
    /// The stored row.
    pub row: TokenRow,
}

/// Reads `8h`, `30m`, `90s`, `1d` (or a bare number of seconds).
pub fn parse_ttl(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (number, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = number
        .parse()
        .map_err(|_| format!("--ttl {s:?}: write a number and a unit, e.g. 8h, 30m, 90s"))?;
    let secs = match unit {
        "" | "s" => n,
        "m" => n.saturating_mul(60),
        "h" => n.saturating_mul(3600),
        "d" => n.saturating_mul(86_400),
        _ => return Err(format!("--ttl {s:?}: the unit must be s, m, h or d")),
    };
    Ok(Duration::from_secs(secs))
}

fn sha256_hex(text: &str) -> String {
    hex(&Sha256::digest(text.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn random_hex(n: usize) -> Result<String, TokenError> {
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes)
        .map_err(|e| TokenError::Invalid(format!("no randomness for a token: {e}")))?;
    Ok(hex(&bytes))
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

fn parse_time(s: &str) -> Option<time::OffsetDateTime> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()
}

/// Issues a token after checking every field against the principal.
///
/// # Errors
/// [`TokenError::Invalid`] naming the field; storage failures.
pub async fn issue(db: &Db, actor: &Actor, request: IssueRequest) -> Result<Issued, TokenError> {
    let purpose = request.purpose.trim();
    if purpose.is_empty() {
        return Err(TokenError::Invalid(
            "--purpose: say why the agent needs this access (it is recorded with every call)"
                .into(),
        ));
    }
    if purpose.chars().count() > 500 || purpose.chars().any(char::is_control) {
        return Err(TokenError::Invalid(
            "--purpose: one line of at most 500 characters".into(),
        ));
    }
    if request.ttl.is_zero() || request.ttl > MAX_TTL {
        return Err(TokenError::Invalid(format!(
            "--ttl: between 1 s and 24 h (asked: {} s)",
            request.ttl.as_secs()
        )));
    }
    let mut scopes = Vec::new();
    for name in request.scopes.iter().flat_map(|s| s.split(',')) {
        if name.trim().is_empty() {
            continue;
        }
        let scope = AgentScope::parse(name).ok_or_else(|| {
            let known: Vec<&str> = AgentScope::ALL.iter().map(|s| s.as_str()).collect();
            TokenError::Invalid(format!(
                "--scopes: {:?} is not a scope; use {}",
                name.trim(),
                known.join(", ")
            ))
        })?;
        if !scopes.contains(&scope) {
            scopes.push(scope);
        }
    }
    if scopes.is_empty() {
        return Err(TokenError::Invalid(
            "--scopes: name at least one scope".into(),
        ));
    }
    scopes.sort();
    let mut gtins = Vec::new();
    for g in &request.gtins {
        let gtin =
            Gtin::parse(g.trim()).map_err(|e| TokenError::Invalid(format!("--gtin: {e}")))?;
        if !gtins.contains(&gtin) {
            gtins.push(gtin);
        }
    }
    if let Some(lot) = &request.lot {
        if gtins.len() != 1 {
            return Err(TokenError::Invalid(
                "--lot: give exactly one --gtin with it (a lot number belongs to one product)"
                    .into(),
            ));
        }
        if lot.trim().is_empty() || lot.len() > 20 {
            return Err(TokenError::Invalid(
                "--lot: 1 to 20 characters (AI 10)".into(),
            ));
        }
    }
    let mut conn = db.pool().acquire().await.map_err(StorageError::from)?;
    let principal = crate::storage::principals::find(&mut conn, &request.principal)
        .await?
        .ok_or_else(|| {
            TokenError::Invalid(format!("--principal: no principal {}", request.principal))
        })?;
    if principal.status != Status::Active {
        return Err(TokenError::Invalid(format!(
            "--principal: {} is suspended",
            principal.id
        )));
    }
    for scope in &scopes {
        if !scope.permitted_for(&principal) {
            return Err(TokenError::Invalid(format!(
                "--scopes: {scope} is not allowed for {} ({}): a token can only narrow what its \
                 principal may do",
                principal.id,
                principal.kind.word().as_str()
            )));
        }
    }
    let mut investigation = None;
    if let Some(case) = &request.investigation {
        if !principal.permits(Action::Investigate) {
            return Err(TokenError::Invalid(format!(
                "--investigation: {} may not see investigations",
                principal.id
            )));
        }
        let view = crate::services::investigations::show(db, case)
            .await
            .map_err(|e| TokenError::Invalid(format!("--investigation: {e}")))?;
        // The case's products narrow the token too, unless --gtin already did.
        if gtins.is_empty() {
            for item in &view.items {
                let gtin =
                    Gtin::parse(&item.gtin).map_err(|e| StorageError::Corrupt(e.to_string()))?;
                if !gtins.contains(&gtin) {
                    gtins.push(gtin);
                }
            }
        }
        investigation = Some(view.reference);
    }
    drop(conn);
    let now = time::OffsetDateTime::now_utc();
    let expires = now + request.ttl;
    let token = format!("dscsa_at_{}", random_hex(32)?);
    let (issued_by, _, _) = actor.audit_identity();
    let row = TokenRow {
        id: format!("at_{}", random_hex(6)?),
        principal_id: principal.id.as_str().to_owned(),
        scopes: scopes
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(" "),
        gtins: gtins.iter().map(Gtin::as_str).collect::<Vec<_>>().join(" "),
        lot: request.lot.map(|l| l.trim().to_owned()),
        investigation,
        purpose: purpose.to_owned(),
        issued_by,
        issued_at: rfc3339(now),
        expires_at: rfc3339(expires),
        revoked_at: None,
    };
    let mut tx = db.begin().await?;
    store::insert(&mut tx, &row, &sha256_hex(&token)).await?;
    super::audit_seam(&mut tx, actor, "agents token issue", &row.id).await?;
    tx.commit().await.map_err(StorageError::from)?;
    Ok(Issued { token, row })
}

/// Every token (without secrets), newest first.
///
/// # Errors
/// Storage failures.
pub async fn list(db: &Db) -> Result<Vec<TokenRow>, TokenError> {
    let mut conn = db.pool().acquire().await.map_err(StorageError::from)?;
    Ok(store::list(&mut conn).await?)
}

/// Revokes a token at once: its next request is refused.
///
/// # Errors
/// [`TokenError::Invalid`] when there is no such active token; storage failures.
pub async fn revoke(db: &Db, actor: &Actor, id: &str) -> Result<(), TokenError> {
    let mut tx = db.begin().await?;
    if !store::revoke(&mut tx, id, &crate::storage::now_text()).await? {
        return Err(TokenError::Invalid(format!(
            "no active token {id:?} (see `dscsa agents token list`)"
        )));
    }
    super::audit_seam(&mut tx, actor, "agents token revoke", id).await?;
    tx.commit().await.map_err(StorageError::from)?;
    Ok(())
}

/// Resolves a presented bearer token to its grant, refusing unknown, expired and revoked
/// tokens and inactive principals. Scopes the principal may no longer use are dropped.
///
/// # Errors
/// [`TokenError`] saying why.
pub async fn authenticate(db: &Db, presented: &str) -> Result<Grant, TokenError> {
    let presented = presented.trim();
    if !presented.starts_with("dscsa_at_") || presented.len() != 73 {
        return Err(TokenError::Unknown);
    }
    let mut conn = db.pool().acquire().await.map_err(StorageError::from)?;
    let row = store::by_secret(&mut conn, &sha256_hex(presented))
        .await?
        .ok_or(TokenError::Unknown)?;
    if let Some(at) = row.revoked_at {
        return Err(TokenError::Revoked(at));
    }
    let expires = parse_time(&row.expires_at)
        .ok_or_else(|| StorageError::Corrupt(format!("token {} expiry", row.id)))?;
    if expires <= time::OffsetDateTime::now_utc() {
        return Err(TokenError::Expired(row.expires_at));
    }
    let principal_id: PrincipalId = row.principal_id.parse().map_err(StorageError::from)?;
    let principal = crate::storage::principals::find(&mut conn, &principal_id)
        .await?
        .filter(|p| p.status == Status::Active)
        .ok_or_else(|| TokenError::PrincipalInactive(row.principal_id.clone()))?;
    let scopes = row
        .scopes
        .split_whitespace()
        .filter_map(AgentScope::parse)
        .filter(|s| s.permitted_for(&principal))
        .collect();
    let gtins = row
        .gtins
        .split_whitespace()
        .map(Gtin::parse)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| StorageError::Corrupt(format!("token {} GTIN: {e}", row.id)))?;
    Ok(Grant {
        token_id: row.id,
        principal,
        scopes,
        limits: Limits {
            gtins,
            lot: row.lot,
            investigation: row.investigation,
        },
        purpose: row.purpose,
        expires_at: expires.unix_timestamp(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_units() {
        assert_eq!(parse_ttl("8h"), Ok(Duration::from_secs(8 * 3600)));
        assert_eq!(parse_ttl("30m"), Ok(Duration::from_secs(1800)));
        assert_eq!(parse_ttl("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_ttl("1d"), Ok(Duration::from_secs(86_400)));
        assert!(parse_ttl("8 hours").is_err());
        assert!(parse_ttl("h").is_err());
    }

    #[test]
    fn scope_names_round_trip() {
        for scope in AgentScope::ALL {
            assert_eq!(AgentScope::parse(scope.as_str()), Some(scope));
            assert_eq!(AgentScope::parse(&scope.oauth()), Some(scope));
        }
        assert_eq!(AgentScope::parse("admin"), None);
    }

    #[test]
    fn lot_limit_needs_the_lot() {
        let gtin = Gtin::parse("00614141100019").unwrap();
        let limits = Limits {
            gtins: vec![gtin.clone()],
            lot: Some("L1".into()),
            investigation: None,
        };
        assert!(limits.allows_lot(&gtin, Some("L1")));
        assert!(!limits.allows_lot(&gtin, Some("L2")));
        assert!(!limits.allows_lot(&gtin, None));
        let other = Gtin::parse("00614141100026").unwrap();
        assert!(!limits.allows_gtin(&other));
    }
}
