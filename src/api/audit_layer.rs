//! Every request on the partner listener leaves one audit record, written before the response
//! is released: who (the principal the extractor resolved, else the certificate), what (method
//! and matched route), with which parameters (the query string), the status, the outcome, and
//! the SHA-256 of the response body. Refused requests (403, 404) are recorded too. If the record
//! cannot be written, the caller gets a 500 instead of the response: nothing is served that the
//! trail does not show.

use std::sync::{Arc, Mutex};

use axum::body::{Body, to_bytes};
use axum::extract::{MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use partners::PeerIdentity;
use sha2::{Digest, Sha256};

use crate::audit::{NewRecord, Outcome};
use crate::auth::AppState;
use crate::error::{ApiError, Code};
use crate::tls_listener::ClientAddr;

/// Largest response body the layer digests (responses are built in memory today).
const MAX_BODY: usize = 64 << 20;

/// Where the authorisation extractor leaves the principal it resolved, for the record.
#[derive(Debug, Clone, Default)]
pub struct AuditSlot(Arc<Mutex<Option<(String, String)>>>);

impl AuditSlot {
    /// Records the principal (id and kind) that made the request.
    pub fn set(&self, id: &str, kind: &str) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some((id.to_owned(), kind.to_owned()));
        }
    }

    fn take(&self) -> Option<(String, String)> {
        self.0.lock().ok().and_then(|mut s| s.take())
    }
}

fn outcome(status: StatusCode) -> Outcome {
    match status.as_u16() {
        200..=399 => Outcome::Ok,
        401 | 403 => Outcome::Denied,
        _ => Outcome::Failed,
    }
}

/// The query string as a JSON object (repeated keys become arrays).
fn query_params(query: Option<&str>) -> serde_json::Value {
    let mut map = serde_json::Map::new();
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let decode = |s: &str| percent_decode(&s.replace('+', " "));
        let (k, v) = (decode(k), serde_json::Value::String(decode(v)));
        match map.get_mut(&k) {
            Some(serde_json::Value::Array(a)) => a.push(v),
            Some(existing) => *existing = serde_json::Value::Array(vec![existing.take(), v]),
            None => {
                map.insert(k, v);
            }
        }
    }
    serde_json::Value::Object(map)
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (c, hex) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Rows a handler needs committed together with its request's audit record (the layer
/// writes them in the record's transaction): put in the response's extensions.
#[derive(Debug, Clone, Default)]
pub struct AuditCompanions(pub Vec<crate::services::audit_writer::Companion>);

/// The middleware.
pub async fn record_requests(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "(no route)".to_owned(), |p| p.as_str().to_owned());
    let action = format!("{} {route}", request.method());
    let path = request.uri().path().to_owned();
    let params = query_params(request.uri().query());
    let client = request
        .extensions()
        .get::<ClientAddr>()
        .map(|c| c.0.to_string());
    let certificate = request
        .extensions()
        .get::<Arc<PeerIdentity>>()
        .map(|i| i.fingerprint().to_string());
    let slot = AuditSlot::default();
    request.extensions_mut().insert(slot.clone());

    let mut response = next.run(request).await;
    let companions = response
        .extensions_mut()
        .remove::<AuditCompanions>()
        .map_or_else(Vec::new, |c| c.0);
    let status = response.status();
    let (parts, body) = response.into_parts();
    let bytes = match to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(e) => {
            tracing::error!(error = %e, "response body could not be read for the audit digest");
            return ApiError::new(Code::Internal, "internal error").into_response();
        }
    };
    let (actor, actor_kind) = match slot.take() {
        Some(p) => p,
        None => (
            certificate.map_or_else(|| "unknown".to_owned(), |f| format!("certificate:{f}")),
            "certificate".to_owned(),
        ),
    };
    let record = NewRecord {
        actor,
        actor_kind,
        token_id: None,
        channel: crate::audit::Channel::Rest,
        action,
        target: vec![path],
        params,
        outcome: outcome(status),
        status: Some(i64::from(status.as_u16())),
        result_digest: Some(crate::audit::record::hex(&Sha256::digest(&bytes))),
        rows: None,
        purpose: None,
        client_addr: client,
    };
    if let Err(e) = state.audit_writer.write(record, companions).await {
        tracing::error!(error = %e, "audit record not written: response withheld");
        return ApiError::new(Code::Internal, "internal error").into_response();
    }
    Response::from_parts(parts, Body::from(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_strings_become_json() {
        let v = query_params(Some("gtin=00614141073467&ser=A%2FB&exp=&ser=2&x+y=a+b"));
        assert_eq!(
            v,
            serde_json::json!({"gtin": "00614141073467", "ser": ["A/B", "2"], "exp": "", "x y": "a b"})
        );
        assert_eq!(query_params(None), serde_json::json!({}));
    }
}
