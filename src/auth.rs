//! Authorisation: no handler runs without an authorised principal (`../shared/STYLE.md`
//! rule 8).
//!
//! The partner listener attaches the connection's verified certificate to every request as an
//! `Arc<PeerIdentity>`. A handler asks for [`Authorized<S>`], where the [`Scope`] `S` names the
//! [`Action`] it performs; the extractor resolves the certificate to a principal through the
//! active bindings, refuses a revoked certificate, an unbound or ambiguous certificate, a
//! suspended principal and a principal whose kind does not permit the action, each with 403
//! and a problem-details body saying why. The only constructor of [`Authorized`] is that
//! extractor, so a service taking `&Authorized<S>` cannot be reached without the check.

use std::marker::PhantomData;
use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use partners::tls::ServerTls;
use partners::{Action, PeerIdentity, Principal, Status, Visibility};

use crate::error::{ApiError, Code};
use crate::storage::Db;
use crate::storage::principals::Resolved;

/// What every partner-listener handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The database.
    pub db: Db,
    /// The partner listener's TLS state (for CRL checks of open connections).
    pub tls: Arc<ServerTls>,
    /// The public key audit checkpoints must be signed with (`GET /audit/verify`).
    pub audit_public_key: ed25519_dalek::VerifyingKey,
    /// Capture limits and mode.
    pub capture: crate::config::CaptureSettings,
    /// The home organisation.
    pub organisation: Arc<crate::config::OrganisationSettings>,
    /// The audit trail's group-commit writer (`services::audit_writer`).
    pub audit_writer: crate::services::audit_writer::AuditWriter,
    /// Verification's batched ledger reads (`services::ledger_reads`).
    pub ledger_reads: crate::services::ledger_reads::LedgerReads,
    /// Resolved principals by certificate (`principal_cache`).
    pub principals: crate::principal_cache::PrincipalCache,
    /// The audit checkpoint key, which also signs FDA records packages' manifests.
    pub package_key: Arc<crate::audit::CheckpointKey>,
    /// Abuse limits: allowed networks per principal, body and time limits.
    pub limits: Arc<crate::config::PartnerLimits>,
    /// Each principal's request budget (`limits.requests_per_minute`).
    pub request_budgets: crate::budgets::Budgets,
    /// The server's metrics (`crate::metrics`).
    pub metrics: Arc<crate::metrics::Metrics>,
}

/// A permission a handler needs, as a type.
pub trait Scope: Send + Sync + 'static {
    /// The action.
    const ACTION: Action;
    /// Its name in error messages.
    const NAME: &'static str;
}

macro_rules! scopes {
    ($($name:ident => $action:ident, $word:literal;)+) => {$(
        #[doc = concat!("Scope of handlers that ", $word, ".")]
        #[derive(Debug)]
        pub struct $name;
        impl Scope for $name {
            const ACTION: Action = Action::$action;
            const NAME: &'static str = $word;
        }
    )+};
}

scopes! {
    Administer => Administer, "administer principals";
    Capture => CaptureEvents, "capture events";
    Identify => Identify, "identify the caller";
    Investigate => Investigate, "run investigations";
    Query => QueryEvents, "query events";
    ReadAudit => ReadAudit, "read the audit trail";
    RecordsRequest => RecordsRequest, "produce FDA records packages";
    Trace => Trace, "send tracing requests";
    Verify => Verify, "verify product identifiers";
}

/// A principal that passed the checks for scope `S` on this request.
#[derive(Debug)]
pub struct Authorized<S: Scope> {
    principal: Principal,
    identity: Arc<PeerIdentity>,
    binding_id: i64,
    _scope: PhantomData<S>,
}

impl<S: Scope> Authorized<S> {
    /// The principal.
    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    /// The certificate it presented.
    pub fn identity(&self) -> &PeerIdentity {
        &self.identity
    }

    /// The binding that matched the certificate.
    pub fn binding_id(&self) -> i64 {
        self.binding_id
    }

    /// What the principal may see.
    pub fn visibility(&self) -> Visibility {
        Visibility::of(&self.principal)
    }
}

impl<S: Scope> FromRequestParts<AppState> for Authorized<S> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let identity = parts
            .extensions
            .get::<Arc<PeerIdentity>>()
            .cloned()
            .ok_or_else(|| {
                ApiError::new(
                    Code::Unauthenticated,
                    "this request arrived without a verified client certificate",
                )
            })?;
        let fingerprint = identity.fingerprint().short().to_owned();
        if state.tls.is_revoked(&identity) {
            return Err(ApiError::new(
                Code::CertificateRevoked,
                format!(
                    "certificate {fingerprint} (serial {}) is revoked by a CRL loaded after this connection opened",
                    identity.serial()
                ),
            ));
        }
        let mut conn = state
            .db
            .pool()
            .acquire()
            .await
            .map_err(ApiError::internal)?;
        let resolved = state.principals.resolve(&mut conn, &identity).await?;
        drop(conn);
        let (principal, binding_id) = match resolved {
            Resolved::Bound {
                principal,
                binding_id,
            } => (principal, binding_id),
            Resolved::Unbound => {
                return Err(ApiError::new(
                    Code::CertificateNotBound,
                    format!(
                        "certificate {fingerprint} (subject {:?}) is valid but bound to no principal: \
                         send its SHA-256 fingerprint {} to the home organisation to have it bound",
                        identity.subject(),
                        identity.fingerprint()
                    ),
                ));
            }
            Resolved::Expired => {
                return Err(ApiError::new(
                    Code::CertificateExpired,
                    format!("certificate {fingerprint} is past its end of validity"),
                ));
            }
            Resolved::Ambiguous(ids) => {
                let ids: Vec<&str> = ids.iter().map(|i| i.as_str()).collect();
                return Err(ApiError::new(
                    Code::CertificateAmbiguous,
                    format!(
                        "certificate {fingerprint} matches bindings of several principals ({}); \
                         the home organisation must remove all but one",
                        ids.join(", ")
                    ),
                ));
            }
        };
        tracing::Span::current().record("principal", principal.id.as_str());
        state.metrics.certificate_presented(
            binding_id,
            principal.id.as_str(),
            identity.not_after(),
        );
        if let Some(slot) = parts.extensions.get::<crate::api::audit_layer::AuditSlot>() {
            slot.set(principal.id.as_str(), principal.kind.word().as_str());
        }
        if principal.status == Status::Suspended {
            return Err(ApiError::new(
                Code::PrincipalSuspended,
                format!(
                    "principal {} is suspended: ask the home organisation to reinstate it",
                    principal.id
                ),
            ));
        }
        // Abuse limits come after identification (so refusals name the principal in the
        // audit trail) and before any work for the request.
        let from = parts
            .extensions
            .get::<crate::tls_listener::ClientAddr>()
            .map(|a| a.0.ip());
        if state.limits.allowed_networks.contains_key(&principal.id)
            && !from.is_some_and(|ip| state.limits.network_allows(&principal.id, ip))
        {
            return Err(ApiError::new(
                Code::NetworkNotAllowed,
                format!(
                    "principal {} may connect only from its configured networks; this request came from {}",
                    principal.id,
                    from.map_or_else(|| "an unknown address".to_owned(), |ip| ip.to_string())
                ),
            ));
        }
        if let Err(exhausted) = state.request_budgets.take_call(principal.id.as_str()) {
            let wait = exhausted.retry_after();
            return Err(ApiError::new(
                Code::RateLimited,
                format!(
                    "principal {} has used its {} requests a minute; retry in {} s",
                    principal.id,
                    state.limits.requests_per_minute,
                    wait.as_secs().max(1)
                ),
            )
            .with_retry_after(wait));
        }
        if !principal.permits(S::ACTION) {
            return Err(ApiError::new(
                Code::ActionNotPermitted,
                format!(
                    "principal {} ({}) may not {}",
                    principal.id,
                    principal.kind.word(),
                    S::NAME
                ),
            ));
        }
        Ok(Self {
            principal: *principal,
            identity,
            binding_id,
            _scope: PhantomData,
        })
    }
}
