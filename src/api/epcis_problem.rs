//! EPCIS 2.0 errors: RFC 7807 problem details whose `type` is one of the standard's
//! `epcisException:` names (`../shared/reference/epcis.md` §3.1), and the version headers every
//! `/epcis` answer carries.
//!
//! Authentication and authorisation failures keep the server-wide `urn:dscsa:problem:` codes
//! of [`crate::error`]: they happen before any EPCIS handler runs.

use axum::Json;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// The standard's exception types used by this server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EpcisException {
    /// The document or event is not valid.
    Validation,
    /// A capture limit (size, event count) is exceeded.
    CaptureLimitExceeded,
    /// A query parameter is unknown or has a bad value.
    QueryParameter,
    /// The query is valid but the server will not run it (too broad).
    QueryTooComplex,
    /// The result exceeds `maxEventCount`.
    QueryTooLarge,
    /// No such resource (or the caller may not see it).
    NoSuchResource,
    /// The resource exists already.
    ResourceAlreadyExists,
    /// The requested representation is not available.
    NotAcceptable,
    /// The body's media type is not supported.
    UnsupportedMediaType,
    /// The server failed.
    Implementation,
}

impl EpcisException {
    /// Every exception type, for the OpenAPI document.
    pub const ALL: [Self; 10] = [
        Self::Validation,
        Self::CaptureLimitExceeded,
        Self::QueryParameter,
        Self::QueryTooComplex,
        Self::QueryTooLarge,
        Self::NoSuchResource,
        Self::ResourceAlreadyExists,
        Self::NotAcceptable,
        Self::UnsupportedMediaType,
        Self::Implementation,
    ];

    /// The `type` value.
    pub fn type_uri(self) -> &'static str {
        match self {
            Self::Validation => "epcisException:ValidationException",
            Self::CaptureLimitExceeded => "epcisException:CaptureLimitExceededException",
            Self::QueryParameter => "epcisException:QueryParameterException",
            Self::QueryTooComplex => "epcisException:QueryTooComplexException",
            Self::QueryTooLarge => "epcisException:QueryTooLargeException",
            Self::NoSuchResource => "epcisException:NoSuchResourceException",
            Self::ResourceAlreadyExists => "epcisException:ResourceAlreadyExistsException",
            Self::NotAcceptable => "epcisException:NotAcceptableException",
            Self::UnsupportedMediaType => "epcisException:UnsupportedMediaTypeException",
            Self::Implementation => "epcisException:ImplementationException",
        }
    }

    /// A short title.
    pub fn title(self) -> &'static str {
        match self {
            Self::Validation => "Invalid EPCIS data",
            Self::CaptureLimitExceeded => "Capture limit exceeded",
            Self::QueryParameter => "Invalid query parameter",
            Self::QueryTooComplex => "Query too complex",
            Self::QueryTooLarge => "Query result too large",
            Self::NoSuchResource => "No such resource",
            Self::ResourceAlreadyExists => "Resource already exists",
            Self::NotAcceptable => "Not acceptable",
            Self::UnsupportedMediaType => "Unsupported media type",
            Self::Implementation => "Server error",
        }
    }
}

/// An EPCIS error on its way to becoming a response.
#[derive(Debug)]
pub struct EpcisProblem {
    kind: EpcisException,
    status: StatusCode,
    detail: String,
    internal: Option<String>,
}

impl EpcisProblem {
    /// A problem with a detail sentence for the caller.
    pub fn new(kind: EpcisException, status: StatusCode, detail: impl Into<String>) -> Self {
        Self {
            kind,
            status,
            detail: detail.into(),
            internal: None,
        }
    }

    /// A 500 whose cause is logged, never shown.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        Self {
            kind: EpcisException::Implementation,
            status: StatusCode::INTERNAL_SERVER_ERROR,
            detail: "the server could not complete the request; it has been logged".into(),
            internal: Some(cause.to_string()),
        }
    }

    /// The exception type.
    pub fn kind(&self) -> EpcisException {
        self.kind
    }
}

impl From<crate::storage::StorageError> for EpcisProblem {
    fn from(e: crate::storage::StorageError) -> Self {
        Self::internal(e)
    }
}

#[derive(Serialize)]
struct Body<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    title: &'static str,
    status: u16,
    detail: &'a str,
}

impl IntoResponse for EpcisProblem {
    fn into_response(self) -> Response {
        let body = Body {
            kind: self.kind.type_uri(),
            title: self.kind.title(),
            status: self.status.as_u16(),
            detail: &self.detail,
        };
        let mut response = (self.status, Json(body)).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        add_version_headers(response.headers_mut());
        if let Some(cause) = self.internal {
            crate::error::attach_internal_cause(&mut response, cause);
        }
        response
    }
}

/// `GS1-EPCIS-Version` and `GS1-CBV-Version`, on every `/epcis` answer.
pub fn add_version_headers(headers: &mut HeaderMap) {
    headers.insert(
        HeaderName::from_static("gs1-epcis-version"),
        HeaderValue::from_static("2.0.0"),
    );
    headers.insert(
        HeaderName::from_static("gs1-cbv-version"),
        HeaderValue::from_static("2.0.0"),
    );
}

/// Percent-encodes one path segment (RFC 3986: unreserved characters stay), for `Location`
/// headers naming event IDs such as `ni:///sha-256;…?ver=CBV2.0`.
pub fn path_segment(value: &str) -> String {
    let mut out = String::with_capacity(value.len() * 3);
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
