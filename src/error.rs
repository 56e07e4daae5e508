//! The server's one error code table and its RFC 7807 problem-details bodies.
//!
//! [`Code`] is the single source of truth: stable snake_case code, title, HTTP status. Library
//! and storage errors map into an [`ApiError`] carrying a code and a detail sentence. The body
//! is `application/problem+json`:
//!
//! ```json
//! {"type":"urn:dscsa:problem:principal_suspended","title":"Principal suspended","status":403,
//!  "detail":"principal acme is suspended: ask the home organisation to reinstate it",
//!  "code":"principal_suspended"}
//! ```
//!
//! 5xx bodies carry a generic detail only; the internal error rides in the response
//! extensions and is logged once by [`log_server_errors`], inside the request span.

use axum::Json;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

macro_rules! codes {
    ($($variant:ident => ($name:literal, $status:ident, $title:literal)),+ $(,)?) => {
        /// Every error the API can answer with.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Code {
            $(#[doc = $title] $variant),+
        }

        impl Code {
            /// Every code, for the table test.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The stable snake_case code.
            pub fn name(self) -> &'static str {
                match self { $(Self::$variant => $name),+ }
            }

            /// The HTTP status.
            pub fn status(self) -> StatusCode {
                match self { $(Self::$variant => StatusCode::$status),+ }
            }

            /// A short, fixed title.
            pub fn title(self) -> &'static str {
                match self { $(Self::$variant => $title),+ }
            }
        }
    };
}

codes! {
    ActionNotPermitted => ("action_not_permitted", FORBIDDEN, "Action not permitted"),
    CertificateAmbiguous => ("certificate_ambiguous", FORBIDDEN, "Certificate maps to several principals"),
    CertificateExpired => ("certificate_expired", FORBIDDEN, "Certificate expired"),
    CertificateNotBound => ("certificate_not_bound", FORBIDDEN, "Certificate not bound to a principal"),
    CertificateRevoked => ("certificate_revoked", FORBIDDEN, "Certificate revoked"),
    Conflict => ("conflict", CONFLICT, "Conflict with the current state"),
    GtinNotAnswered => ("gtin_not_answered", NOT_FOUND, "GTIN not answered by this responder"),
    Internal => ("internal", INTERNAL_SERVER_ERROR, "Internal error"),
    InvalidParameter => ("invalid_parameter", BAD_REQUEST, "Invalid parameter"),
    NotFound => ("not_found", NOT_FOUND, "Not found"),
    NetworkNotAllowed => ("network_not_allowed", FORBIDDEN, "Request from outside the principal's networks"),
    PrincipalSuspended => ("principal_suspended", FORBIDDEN, "Principal suspended"),
    RateLimited => ("rate_limited", TOO_MANY_REQUESTS, "Too many requests"),
    RequesterGlnNotBound => ("requester_gln_not_bound", FORBIDDEN, "Requester GLN not bound to this certificate"),
    ServiceUnavailable => ("service_unavailable", SERVICE_UNAVAILABLE, "Service unavailable"),
    Unauthenticated => ("unauthenticated", UNAUTHORIZED, "No verified client certificate"),
}

/// An error on its way to becoming a problem-details response.
#[derive(Debug)]
pub struct ApiError {
    code: Code,
    detail: String,
    internal: Option<String>,
    retry_after: Option<std::time::Duration>,
}

impl ApiError {
    /// An error with a detail sentence for the caller.
    pub fn new(code: Code, detail: impl Into<String>) -> Self {
        Self {
            code,
            detail: detail.into(),
            internal: None,
            retry_after: None,
        }
    }

    /// Adds `Retry-After` (whole seconds, at least 1) to the response.
    #[must_use]
    pub fn with_retry_after(mut self, wait: std::time::Duration) -> Self {
        self.retry_after = Some(wait);
        self
    }

    /// A 500 whose cause is logged, never shown.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        Self {
            code: Code::Internal,
            detail: "the server could not complete the request; it has been logged".into(),
            internal: Some(cause.to_string()),
            retry_after: None,
        }
    }

    /// The code.
    pub fn code(&self) -> Code {
        self.code
    }
}

impl From<crate::storage::StorageError> for ApiError {
    fn from(e: crate::storage::StorageError) -> Self {
        Self::internal(e)
    }
}

/// The problem-details body.
#[derive(Debug, Serialize)]
struct Problem<'a> {
    #[serde(rename = "type")]
    kind: String,
    title: &'static str,
    status: u16,
    detail: &'a str,
    code: &'static str,
}

/// The internal cause of a 5xx, for the logging middleware.
#[derive(Debug, Clone)]
struct InternalCause(String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.code.status();
        let body = Problem {
            kind: format!("urn:dscsa:problem:{}", self.code.name()),
            title: self.code.title(),
            status: status.as_u16(),
            detail: &self.detail,
            code: self.code.name(),
        };
        let mut response = (status, Json(body)).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(wait) = self.retry_after {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(wait.as_secs().max(1)),
            );
        }
        if let Some(cause) = self.internal {
            attach_internal_cause(&mut response, cause);
        }
        // For the metrics layer: the reason of a refusal.
        response.extensions_mut().insert(self.code);
        response
    }
}

/// Attaches the internal cause of a 5xx to `response`, for [`log_server_errors`] to log once;
/// it never reaches the body.
pub fn attach_internal_cause(response: &mut Response, cause: String) {
    response.extensions_mut().insert(InternalCause(cause));
}

/// Logs the internal cause of 5xx responses at `error`, once, inside the request span.
pub async fn log_server_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    if let Some(InternalCause(cause)) = response.extensions().get::<InternalCause>() {
        tracing::error!(status = response.status().as_u16(), cause = %cause, "request failed");
    }
    response
}

/// The answer to a path no route matches.
pub async fn not_found() -> ApiError {
    ApiError::new(Code::NotFound, "no such resource on this server")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_table_is_consistent() {
        let mut names: Vec<&str> = Code::ALL.iter().map(|c| c.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Code::ALL.len(), "duplicate code names");
        for code in Code::ALL {
            assert!(
                code.name()
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'_')
            );
            assert!(code.status().is_client_error() || code.status().is_server_error());
        }
    }

    #[tokio::test]
    async fn internal_errors_hide_their_cause() {
        let response =
            ApiError::internal("password authentication failed for user x").into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "application/problem+json"
        );
        let body = axum::body::to_bytes(response.into_body(), 4096)
            .await
            .unwrap();
        let body = String::from_utf8(body.to_vec()).unwrap();
        assert_eq!(
            body,
            r#"{"type":"urn:dscsa:problem:internal","title":"Internal error","status":500,"detail":"the server could not complete the request; it has been logged","code":"internal"}"#
        );
    }
}
