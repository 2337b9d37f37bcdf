//! The CDN's errors, rendered in one place as short `text/plain` answers.
//!
//! Approximation: production answers a missing file with an image saying "File not found"
//! (url-api.openapi.yml, `fileNotFoundError`); the emulator sends the same status with a
//! plain-text body, which is what programs check.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::error::StoreError;

/// Methods the CDN serves (`OPTIONS` is answered by the CORS layer).
pub const ALLOW: &str = "GET, HEAD, OPTIONS";

/// What the CDN can fail with.
#[derive(Debug)]
pub enum CdnError {
    /// Unknown path, file, group or member; a removed or expired file; a group id whose
    /// `~N` is not the group's size.
    NotFound,
    /// A method other than `GET` or `HEAD` on a CDN path.
    MethodNotAllowed,
    /// A `Range` outside a body of this many bytes.
    RangeNotSatisfiable(u64),
    /// A group too large to archive (production's documented 2 GB limit).
    ArchiveTooLarge,
    /// The store or the blob directory failed; logged, never sent.
    Internal(StoreError),
}

impl From<StoreError> for CdnError {
    fn from(e: StoreError) -> Self {
        Self::Internal(e)
    }
}

impl From<std::io::Error> for CdnError {
    fn from(e: std::io::Error) -> Self {
        Self::Internal(StoreError::from(e))
    }
}

/// Content type of every CDN error.
pub const TEXT_PLAIN: &str = "text/plain; charset=utf-8";

impl IntoResponse for CdnError {
    fn into_response(self) -> Response {
        let (status, body) = match &self {
            CdnError::NotFound => (StatusCode::NOT_FOUND, "Not Found"),
            CdnError::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed"),
            CdnError::RangeNotSatisfiable(_) => {
                (StatusCode::RANGE_NOT_SATISFIABLE, "Range Not Satisfiable")
            }
            CdnError::ArchiveTooLarge => (
                StatusCode::BAD_REQUEST,
                "Total size of the group's files exceeds the archive limit of 2 GB.",
            ),
            CdnError::Internal(e) => {
                tracing::error!(error = %e, "CDN failure");
                (StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
            }
        };
        let mut response = (
            status,
            [(header::CONTENT_TYPE, HeaderValue::from_static(TEXT_PLAIN))],
            body,
        )
            .into_response();
        match self {
            CdnError::MethodNotAllowed => {
                response
                    .headers_mut()
                    .insert(header::ALLOW, HeaderValue::from_static(ALLOW));
            }
            CdnError::RangeNotSatisfiable(size) => {
                if let Ok(v) = HeaderValue::from_str(&format!("bytes */{size}")) {
                    response.headers_mut().insert(header::CONTENT_RANGE, v);
                }
            }
            _ => {}
        }
        response
    }
}
