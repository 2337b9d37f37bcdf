//! The CDN's errors, rendered in one place: short `text/plain` answers for paths, methods
//! and ranges; production's HTML error page for image processing and secure delivery.
//!
//! Approximation: production answers a missing file with an image saying "File not found"
//! (url-api.openapi.yml, `fileNotFoundError`); the emulator sends the same status with a
//! plain-text body, which is what programs check.
//!
//! The HTML page is production's, byte for byte, as recorded in pyuploadcare's cassettes
//! (`test_url_token_uuid_with_transformations.yaml`: an image operation on a text file).
//! Only that message text is production's; the others are the emulator's own.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::transform::TransformError;
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
    /// Image processing refused or failed.
    Transform(TransformError),
    /// Secure delivery: the token is missing, expired or wrong.
    Forbidden,
    /// The store or the blob directory failed; logged, never sent.
    Internal(StoreError),
}

impl From<TransformError> for CdnError {
    fn from(e: TransformError) -> Self {
        Self::Transform(e)
    }
}

/// Production's CDN error page for `status` with one message paragraph.
pub fn error_page(status: StatusCode, message: &str) -> Response {
    let reason = status.canonical_reason().unwrap_or("Error");
    let code = status.as_u16();
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"UTF-8\">\n\
         <title>{code}: {reason}</title>\n<style>\nbody {{\nmargin: 30px;\n\
         font-family: \"Helvetica Neue\", Helvetica, Arial, sans-serif;\nline-height: 1.6;\n\
         color: #666;\nbackground: white;\nmax-width: 700px;\n}}\nh3 {{ color: black }}\n\
         a {{\ncolor: #00cf70;\ntext-decoration: none;\ncursor: pointer;\n}}\n\
         a:hover {{ color: black }}\ncode {{\ncolor: black;\nfont-size: 13px;\n\
         background: #f8f8f8;\nborder: solid 1px #e4e4e4;\npadding: 2px 6px;\n\
         border-radius: 2px\n}}\n</style>\n</head>\n<body>\n<h3>{reason}</h3>\n\n\n\
         <p>{message}</p>\n\n\n\n<p>\nSee <a href=\"https://uploadcare.com/docs/delivery/cdn/\">\
         CDN documentation</a>.\n</p>\n\n</body>\n</html>\n",
        message = message
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;"),
    );
    (
        status,
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(HTML)),
            (header::VARY, HeaderValue::from_static("Accept")),
        ],
        html,
    )
        .into_response()
}

/// Content type of production's error pages.
pub const HTML: &str = "text/html; charset=UTF-8";

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
            CdnError::Transform(TransformError::Internal(e)) => {
                tracing::error!(error = %e, "image processing failure");
                (StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
            }
            CdnError::Transform(e @ TransformError::NotEmulated(_)) => {
                return error_page(StatusCode::NOT_IMPLEMENTED, &e.message());
            }
            CdnError::Transform(e) => {
                return error_page(StatusCode::BAD_REQUEST, &e.message());
            }
            CdnError::Forbidden => {
                return error_page(
                    StatusCode::FORBIDDEN,
                    "Access denied: this project requires a valid, unexpired secure delivery token.",
                );
            }
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
