//! The agent listener's routes.
//!
//! - `GET /.well-known/oauth-protected-resource` and `…/mcp`: RFC 9728 metadata, public.
//! - `/mcp`: rmcp's Streamable HTTP service, stateless (every request carries its token; no
//!   session id can be replayed by another caller), behind `authenticate`: no token or a bad
//!   one → 401 with `WWW-Authenticate: Bearer resource_metadata=…, scope=…`; a 2026-07-28
//!   client calling a tool its token lacks (the `Mcp-Method`/`Mcp-Name` headers say so) → 403
//!   `insufficient_scope` naming the scope; over budget → 429 with `Retry-After`. rmcp checks
//!   `Host` against `allowed_hosts` and `Origin` against `allowed_origins` (DNS rebinding).
//!
//! Every refusal here is audited like a call (actor, reason, client address), and its body is a
//! JSON-RPC error that says why.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rmcp::transport::StreamableHttpService;
use rmcp::transport::streamable_http_server::StreamableHttpServerConfig;
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;

use super::McpContext;
use super::server::{DscsaMcp, scope_of};
use crate::audit::{Channel, NewRecord, Outcome};
use crate::metrics::Listener;
use crate::services::agent_tokens::{self, AgentScope, Grant, TokenError};

/// Largest JSON-RPC request body.
const MAX_BODY: usize = 1 << 20;

/// The agent listener's router.
pub fn router(ctx: Arc<McpContext>) -> Router {
    let mut config = StreamableHttpServerConfig::default()
        .with_allowed_hosts(ctx.settings.allowed_hosts.clone())
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .with_max_request_body_bytes(MAX_BODY);
    config = if ctx.settings.allowed_origins.is_empty() {
        config.enforce_origin_validation()
    } else {
        config.with_allowed_origins(ctx.settings.allowed_origins.clone())
    };
    let server = DscsaMcp::new(Arc::clone(&ctx));
    let service = StreamableHttpService::new(
        move || Ok(server.clone()),
        Arc::new(NeverSessionManager::default()),
        config,
    );
    Router::new()
        .nest_service("/mcp", service)
        .layer(from_fn_with_state(Arc::clone(&ctx), authenticate))
        .route("/.well-known/oauth-protected-resource", get(metadata))
        .route("/.well-known/oauth-protected-resource/mcp", get(metadata))
        .with_state(ctx)
}

/// The origin (`scheme://host[:port]`) of a URL.
fn origin(url: &str) -> String {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let end = url[after_scheme..]
        .find('/')
        .map_or(url.len(), |i| after_scheme + i);
    url[..end].to_owned()
}

fn metadata_url(ctx: &McpContext) -> String {
    format!(
        "{}/.well-known/oauth-protected-resource/mcp",
        origin(&ctx.resource)
    )
}

fn all_scopes() -> String {
    AgentScope::ALL
        .iter()
        .map(|s| s.oauth())
        .collect::<Vec<_>>()
        .join(" ")
}

/// RFC 9728 protected-resource metadata.
async fn metadata(State(ctx): State<Arc<McpContext>>) -> Response {
    let servers = if ctx.settings.authorization_servers.is_empty() {
        vec![origin(&ctx.resource)]
    } else {
        ctx.settings.authorization_servers.clone()
    };
    axum::Json(serde_json::json!({
        "resource": ctx.resource,
        "authorization_servers": servers,
        "scopes_supported": AgentScope::ALL.iter().map(|s| s.oauth()).collect::<Vec<_>>(),
        "bearer_methods_supported": ["header"],
        "resource_name": "dscsa-exchange MCP (read-only DSCSA investigation tools)",
    }))
    .into_response()
}

fn challenge(ctx: &McpContext, error: Option<(&str, &str)>, scope: &str) -> HeaderValue {
    let mut value = format!(
        "Bearer resource_metadata=\"{}\", scope=\"{scope}\"",
        metadata_url(ctx)
    );
    if let Some((code, description)) = error {
        let description: String = description
            .chars()
            .filter(|c| *c != '"' && *c != '\\' && !c.is_control())
            .collect();
        value.push_str(&format!(
            ", error=\"{code}\", error_description=\"{description}\""
        ));
    }
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static("Bearer"))
}

/// A refusal before the MCP handler: the HTTP status, and a JSON-RPC error body (`id` null: the
/// request was not read) so that MCP clients show the agent why, instead of a bare status.
fn problem(status: StatusCode, message: &str) -> Response {
    let code = match status {
        StatusCode::UNAUTHORIZED => -32001,
        StatusCode::FORBIDDEN => -32003,
        StatusCode::TOO_MANY_REQUESTS => -32029,
        _ => -32603,
    };
    let body = serde_json::json!({
        "jsonrpc": "2.0",
        "id": null,
        "error": { "code": code, "message": message },
    });
    (status, axum::Json(body)).into_response()
}

/// What the audit record of a refusal says about the request (taken before any await: a
/// request body is not `Sync`).
struct Seen {
    method: String,
    mcp_method: Option<String>,
    mcp_name: Option<String>,
    client_addr: Option<String>,
}

impl Seen {
    fn of(request: &Request) -> Self {
        Self {
            method: request.method().to_string(),
            mcp_method: header_text(request.headers(), "mcp-method"),
            mcp_name: header_text(request.headers(), "mcp-name"),
            client_addr: request
                .extensions()
                .get::<crate::tls_listener::ClientAddr>()
                .map(|a| a.0.to_string()),
        }
    }
}

/// Audits a refusal and, once recorded, counts it under `kind` (a fixed word: the metrics
/// label). A refusal that cannot be recorded becomes a 503 and is not counted as a refusal.
async fn audit_refusal(
    ctx: &McpContext,
    grant: Option<&Grant>,
    seen: &Seen,
    status: StatusCode,
    kind: &'static str,
    reason: &str,
) -> Result<(), Response> {
    let record = NewRecord {
        actor: grant.map_or_else(
            || "unauthenticated".to_owned(),
            |g| g.principal.id.as_str().to_owned(),
        ),
        actor_kind: "agent".into(),
        token_id: grant.map(|g| g.token_id.clone()),
        channel: Channel::Mcp,
        action: format!("{} /mcp", seen.method),
        target: Vec::new(),
        params: serde_json::json!({
            "reason": reason,
            "mcp_method": seen.mcp_method,
            "mcp_name": seen.mcp_name,
        }),
        outcome: Outcome::Denied,
        status: Some(i64::from(status.as_u16())),
        result_digest: None,
        rows: None,
        purpose: grant.map(|g| g.purpose.clone()),
        client_addr: seen.client_addr.clone(),
    };
    ctx.audit
        .write(record, Vec::new())
        .await
        .map(|_| ctx.metrics.refusal(Listener::Agent, status.as_u16(), kind))
        .map_err(|e| {
            tracing::error!(error = %e, "MCP: refusal not recorded");
            problem(
                StatusCode::SERVICE_UNAVAILABLE,
                "the request could not be recorded",
            )
        })
}

fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.chars().take(100).collect())
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Authenticates the bearer token, applies the step-up check and the call budget, and hands
/// the grant to the MCP handler in the request extensions.
async fn authenticate(
    State(ctx): State<Arc<McpContext>>,
    mut request: Request,
    next: Next,
) -> Response {
    let seen = Seen::of(&request);
    let Some(token) = bearer(request.headers()).map(str::to_owned) else {
        if let Err(r) = audit_refusal(
            &ctx,
            None,
            &seen,
            StatusCode::UNAUTHORIZED,
            "no_token",
            "no bearer token",
        )
        .await
        {
            return r;
        }
        let mut response = problem(
            StatusCode::UNAUTHORIZED,
            "this endpoint needs Authorization: Bearer <token> (dscsa agents token issue)",
        );
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            challenge(&ctx, None, &all_scopes()),
        );
        return response;
    };
    let grant = match agent_tokens::authenticate(&ctx.db, &token).await {
        Ok(grant) => grant,
        Err(TokenError::Storage(e)) => {
            tracing::error!(error = %e, "MCP: token lookup failed");
            return problem(StatusCode::SERVICE_UNAVAILABLE, "try again shortly");
        }
        Err(e) => {
            let reason = e.to_string();
            if let Err(r) = audit_refusal(
                &ctx,
                None,
                &seen,
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                &reason,
            )
            .await
            {
                return r;
            }
            let mut response = problem(StatusCode::UNAUTHORIZED, &reason);
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                challenge(&ctx, Some(("invalid_token", &reason)), &all_scopes()),
            );
            return response;
        }
    };
    // A 2026-07-28 client names the method and tool in headers: refuse a tool outside the
    // token's scopes here, with the scope that would allow it (step-up). Older clients, and
    // unknown tool names, get the JSON-RPC "tool not found" from the handler instead.
    let called = seen
        .mcp_method
        .as_deref()
        .filter(|m| *m == "tools/call")
        .and(seen.mcp_name.clone());
    if let Some(scope) = called.as_deref().and_then(scope_of)
        && !grant.has(scope)
    {
        let reason = format!("the token lacks the scope {} for this tool", scope.oauth());
        if let Err(r) = audit_refusal(
            &ctx,
            Some(&grant),
            &seen,
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            &reason,
        )
        .await
        {
            return r;
        }
        let mut response = problem(StatusCode::FORBIDDEN, &reason);
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            challenge(&ctx, Some(("insufficient_scope", &reason)), &scope.oauth()),
        );
        return response;
    }
    if let Err(exhausted) = ctx.budgets.take_call(&grant.token_id) {
        let reason = format!(
            "rate limit: this token has used its {} for now",
            exhausted.what()
        );
        if let Err(r) = audit_refusal(
            &ctx,
            Some(&grant),
            &seen,
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            &reason,
        )
        .await
        {
            return r;
        }
        let mut response = problem(StatusCode::TOO_MANY_REQUESTS, &reason);
        let secs = exhausted.retry_after().as_secs().max(1);
        if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return response;
    }
    request.extensions_mut().insert(Arc::new(grant));
    next.run(request).await
}

#[cfg(test)]
mod tests {
    #[test]
    fn origin_of_urls() {
        assert_eq!(
            super::origin("https://mcp.example.com/mcp"),
            "https://mcp.example.com"
        );
        assert_eq!(
            super::origin("https://localhost:8444/mcp"),
            "https://localhost:8444"
        );
        assert_eq!(super::origin("https://h"), "https://h");
    }
}
