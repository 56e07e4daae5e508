//! RFC 7807 problem details with the `epcisException:` types of the EPCIS 2.0 REST binding
//! (`../shared/reference/epcis.md` §3.1), for the `/epcis` routes. Authentication and
//! authorisation refusals keep the server-wide `urn:dscsa:problem:` bodies of `crate::error`:
//! they happen before any EPCIS semantics.
//!
//! A 5xx carries a generic detail; its cause is logged here, once, inside the request span.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// The exception types of the standard that this server answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EpcisException {
    /// The server failed (500).
    ImplementationException,
    /// No such resource, or not visible to the caller (404).
    NoSuchResourceException,
    /// No acceptable representation (406).
    NotAcceptableException,
    /// A query parameter is unknown or malformed (400).
    QueryParameterException,
    /// More results than the client's `maxEventCount` (413).
    QueryTooLargeException,
}

impl EpcisException {
    /// The name after `epcisException:`.
    pub fn name(self) -> &'static str {
        match self {
            Self::ImplementationException => "ImplementationException",
            Self::NoSuchResourceException => "NoSuchResourceException",
            Self::NotAcceptableException => "NotAcceptableException",
            Self::QueryParameterException => "QueryParameterException",
            Self::QueryTooLargeException => "QueryTooLargeException",
        }
    }

    /// The HTTP status the standard pairs with it.
    pub fn status(self) -> StatusCode {
        match self {
            Self::ImplementationException => StatusCode::INTERNAL_SERVER_ERROR,
            Self::NoSuchResourceException => StatusCode::NOT_FOUND,
            Self::NotAcceptableException => StatusCode::NOT_ACCEPTABLE,
            Self::QueryParameterException => StatusCode::BAD_REQUEST,
            Self::QueryTooLargeException => StatusCode::PAYLOAD_TOO_LARGE,
        }
    }
}

#[derive(Debug, Serialize)]
struct Body<'a> {
    #[serde(rename = "type")]
    kind: String,
    title: &'static str,
    status: u16,
    detail: &'a str,
}

/// A problem-details response.
pub fn problem(kind: EpcisException, status: StatusCode, detail: &str) -> Response {
    let body = Body {
        kind: format!("epcisException:{}", kind.name()),
        title: kind.name(),
        status: status.as_u16(),
        detail,
    };
    let mut response = (status, Json(body)).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    response
}

/// An EPCIS error on its way to the client.
#[derive(Debug)]
pub struct EpcisError {
    kind: EpcisException,
    detail: String,
    cause: Option<String>,
}

impl EpcisError {
    /// An error the caller can act on.
    pub fn new(kind: EpcisException, detail: impl Into<String>) -> Self {
        Self {
            kind,
            detail: detail.into(),
            cause: None,
        }
    }

    /// A server failure: the cause is logged, never shown.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        Self {
            kind: EpcisException::ImplementationException,
            detail: "the server could not complete the request; it has been logged".into(),
            cause: Some(cause.to_string()),
        }
    }
}

impl IntoResponse for EpcisError {
    fn into_response(self) -> Response {
        if let Some(cause) = &self.cause {
            tracing::error!(cause = %cause, "request failed");
        }
        problem(self.kind, self.kind.status(), &self.detail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_body_names_the_exception_and_hides_internal_causes() {
        let response = EpcisError::internal("connection refused to 10.0.0.5").into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = axum::body::to_bytes(response.into_body(), 4096)
            .await
            .unwrap();
        assert_eq!(
            std::str::from_utf8(&body).unwrap(),
            r#"{"type":"epcisException:ImplementationException","title":"ImplementationException","status":500,"detail":"the server could not complete the request; it has been logged"}"#
        );
        let response = EpcisError::new(EpcisException::QueryParameterException, "perPage=\"0\": …")
            .into_response();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "application/problem+json"
        );
    }
}
