//! REST API errors, rendered in one place: `{"detail": ...}` with the version's exact media
//! type (the version middleware rewrites it to the requested version), and production's
//! HTML page for routes that do not exist.

use std::borrow::Cow;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::version::ApiVersion;
use crate::error::StoreError;

/// `Incorrect Accept header provided...` (406).
pub const NOT_ACCEPTABLE: &str = "Incorrect Accept header provided. Make sure to specify API version. Refer to REST API docs for details.";
/// 401 for a missing or malformed `Authorization`, an unknown scheme, or a missing, unreadable
/// or stale date on a signed request.
pub const INCORRECT_CREDENTIALS: &str = "Incorrect authentication credentials.";
/// 401 when the simple scheme's secret is not the project's.
pub const SECRET_KEY_NOT_FOUND: &str = "Secret key not found.";
/// 401 when a signed request's signature does not match.
pub const INVALID_SIGNATURE: &str = "Invalid signature. Please check your Secret key.";
/// 400 for `Uploadcare.Simple` over plain HTTP when HTTPS is required.
pub const SIMPLE_AUTH_OVER_HTTP: &str =
    "Simple authentication over HTTP is forbidden. Please, use HTTPS or signed requests instead.";
/// 404 for unknown or malformed ids.
pub const NOT_FOUND: &str = "Not found.";

/// The body of production's answer to a route that does not exist (Django's 404 page).
const UNKNOWN_ROUTE_HTML: &str =
    "<h1>Not Found</h1><p>The requested resource was not found on this server.</p>";

/// A REST API error: a status and its `detail`.
#[derive(Debug)]
pub struct RestError {
    /// HTTP status.
    pub status: StatusCode,
    /// The `detail` text.
    pub detail: Cow<'static, str>,
}

impl RestError {
    /// An error with a fixed or built message.
    pub fn new(status: StatusCode, detail: impl Into<Cow<'static, str>>) -> Self {
        Self {
            status,
            detail: detail.into(),
        }
    }

    /// 400 with `detail`.
    pub fn bad_request(detail: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, detail)
    }

    /// 401 with `detail`.
    pub fn unauthorized(detail: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, detail)
    }

    /// 401 `Public key {public_key} not found.`
    pub fn public_key_not_found(public_key: &str) -> Self {
        Self::unauthorized(format!("Public key {public_key} not found."))
    }

    /// 404 `Not found.`
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, NOT_FOUND)
    }

    /// 406 for a missing or unknown version.
    pub fn not_acceptable() -> Self {
        Self::new(StatusCode::NOT_ACCEPTABLE, NOT_ACCEPTABLE)
    }
}

impl From<StoreError> for RestError {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "REST API store failure");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error.")
    }
}

impl IntoResponse for RestError {
    fn into_response(self) -> Response {
        json_response(self.status, &json!({ "detail": self.detail }))
    }
}

/// A JSON answer with the REST media type (v0.7 here; the version middleware puts the
/// requested version's type in its place).
pub fn json_response(status: StatusCode, body: &serde_json::Value) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(ApiVersion::V07.media_type()),
        )],
        bytes,
    )
        .into_response()
}

/// Production's answer to a REST route that does not exist: 404 with a small HTML page.
pub fn unknown_route() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        )],
        UNKNOWN_ROUTE_HTML,
    )
        .into_response()
}
