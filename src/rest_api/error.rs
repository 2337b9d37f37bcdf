//! REST API errors: every `detail` the REST API answers with, as data ([`RestErrorCode`]:
//! status and text), rendered in one place as `{"detail": ...}` with the version's exact
//! media type (the version middleware rewrites it to the requested version), and
//! production's HTML page for routes that do not exist.
//!
//! Texts come from the REST reference where it gives them (authentication, 406, 404,
//! throttling, batch limits) and from Django REST framework's wording otherwise. Metadata
//! rules answer with the Upload API's `FileMetadata*Error` messages, as production shares
//! them ([`RestError::metadata`]).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::version::ApiVersion;
use crate::domain::metadata::MetadataError;
use crate::domain::tags::TagError;
use crate::error::{error_catalogue, fill_template, StoreError};
use crate::observe::ErrorNote;

error_catalogue! {
    /// Every error the REST API answers with (the name is for logs; production sends none).
    enum RestErrorCode;
    // Negotiation and authentication (src/rest_api/version.rs, src/auth/rest.rs).
    NotAcceptable = (406, "Incorrect Accept header provided. Make sure to specify API version. Refer to REST API docs for details."),
    IncorrectCredentials = (401, "Incorrect authentication credentials."),
    PublicKeyNotFound = (401, "Public key %s not found."),
    SecretKeyNotFound = (401, "Secret key not found."),
    InvalidSignature = (401, "Invalid signature. Please check your Secret key."),
    SimpleAuthOverHttp = (400, "Simple authentication over HTTP is forbidden. Please, use HTTPS or signed requests instead."),
    // Any request.
    MethodNotAllowed = (405, "Method \"%s\" not allowed."),
    RequestBodyTooLarge = (413, "Request body is too large."),
    MalformedRequest = (400, "Malformed request."),
    NotFound = (404, "Not found."),
    Throttled = (429, "Request was throttled. Expected available in %s."),
    ServerError = (500, "Internal server error."),
    // Lists (src/rest_api/pagination.rs, src/rest_api/files.rs).
    InvalidOrdering = (400, "Invalid `ordering` value. Allowed values: %s, -%s."),
    InvalidDateTime = (400, "`%s` must be a date and time in ISO-8601 format."),
    InvalidFlag = (400, "`%s` must be either `true` or `false`."),
    // Batch storage and removal (src/rest_api/files.rs).
    UuidListExpected = (400, "Expected list of UUIDs"),
    UuidListEmpty = (400, "List of UUIDs can not be empty"),
    UuidListTooLong = (400, "Maximum UUIDs per request is exceeded. The limit is %s"),
    // Metadata (src/rest_api/metadata.rs): the rule's text is the Upload API's.
    MetadataInvalid = (400, "%s"),
    MetadataValueNotString = (400, "Not a valid string."),
    MetadataConflict = (409, "Metadata changed concurrently, try again."),
    // File tags (src/rest_api/tags.rs; the Upload API's `tags` field shares the rule texts,
    // the count one as the docs show it).
    TagsNotList = (400, "`%s` must be a list of strings."),
    TagInvalid = (400, "Tag `%s` is not valid. Tags are limited to 100 characters and may contain Latin letters, digits, `-`, `_` and `.` only."),
    TooManyTags = (400, "Too many tags: %s (max 50)."),
    TagsConflict = (409, "Tags changed concurrently, try again."),
    // File search (src/rest_api/search.rs; field errors are DRF's per-field shape there).
    JsonParseError = (400, "JSON parse error - %s"),
    // Webhooks (src/rest_api/webhooks.rs; field errors are DRF's, see src/webhooks/hooks.rs).
    WebhookTargetUrlMissing = (400, "`target_url` is missing."),
    JsonObjectExpected = (400, "Expected JSON object."),
    // Conversions (src/rest_api/conversions.rs); the curly quotes are the reference's.
    ConversionPathsRequired = (400, "“paths” parameter is required."),
    // Copies (src/rest_api/copies.rs): production's `fileCopyErrors`.
    CopySourceRequired = (400, "`source` parameter is required."),
    CopySourceBad = (400, "Bad `source` parameter. Use UUID or CDN URL."),
    CopyStoreInvalid = (400, "`store` parameter should be `true` or `false`."),
    CopyMetadataInvalid = (400, "`metadata` parameter should be an object of strings."),
    CopyNotEmulated = (400, "The emulator cannot make this copy: %s"),
    CopyStorageUnknown = (400, "Project has no storage with provided name."),
    CopyPatternInvalid = (400, "Invalid pattern provided: `%s`"),
    CopyPatternCharacter = (400, "Invalid pattern provided: Invalid character in a pattern."),
    CopyMakePublicInvalid = (400, "`make_public` parameter should be `true` or `false`."),
    // Add-ons (src/rest_api/addons.rs).
    AddonTargetRequired = (400, "`target` parameter is required."),
    AddonTargetBad = (400, "Bad `target` parameter. Use UUID."),
    AddonParamsInvalid = (400, "Bad `params` parameter: %s"),
    AddonConcurrentCall = (409, "Concurrent call attempted"),
    AddonRequestIdRequired = (400, "`request_id` parameter is required."),
    AddonRequestIdBad = (400, "Bad `request_id` parameter. Use UUID."),
}

/// The body of production's answer to a route that does not exist (Django's 404 page).
const UNKNOWN_ROUTE_HTML: &str =
    "<h1>Not Found</h1><p>The requested resource was not found on this server.</p>";

/// A REST API error: a code and its `detail` with the arguments filled in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RestError {
    /// The code.
    pub code: RestErrorCode,
    /// The `detail` as sent.
    pub detail: String,
}

impl RestError {
    /// An error whose `detail` has no arguments.
    pub fn new(code: RestErrorCode) -> Self {
        Self::with(code, &[])
    }

    /// An error with its `%s` placeholders replaced by `args`, in order.
    pub fn with(code: RestErrorCode, args: &[&str]) -> Self {
        Self {
            code,
            detail: fill_template(code.template(), args),
        }
    }

    /// 404 `Not found.`
    pub fn not_found() -> Self {
        Self::new(RestErrorCode::NotFound)
    }

    /// 429 telling the client when to come back.
    pub fn throttled(retry_after_s: u32) -> Self {
        let wait = match retry_after_s {
            1 => "1 second".to_owned(),
            n => format!("{n} seconds"),
        };
        Self::with(RestErrorCode::Throttled, &[&wait])
    }

    /// 400 for a broken metadata rule, in the Upload API's words.
    pub fn metadata(e: MetadataError) -> Self {
        let message = crate::upload_api::files::metadata_error(e).message;
        Self::with(RestErrorCode::MetadataInvalid, &[&message])
    }

    /// 400 for a broken tag rule.
    pub fn tags(e: TagError) -> Self {
        match e {
            TagError::Invalid(tag) => Self::with(RestErrorCode::TagInvalid, &[&tag]),
            TagError::TooMany(n) => Self::with(RestErrorCode::TooManyTags, &[&n.to_string()]),
        }
    }

    fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl From<StoreError> for RestError {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "REST API store failure");
        Self::new(RestErrorCode::ServerError)
    }
}

impl IntoResponse for RestError {
    fn into_response(self) -> Response {
        let mut response = json_response(self.status(), &json!({ "detail": self.detail }));
        response.extensions_mut().insert(ErrorNote(format!(
            "{}: {}",
            self.code.name(),
            self.detail
        )));
        response
    }
}

/// A JSON answer with the REST media type (v0.7 here; the version middleware puts the
/// requested version's type in its place).
pub fn json_response(status: StatusCode, body: &impl serde::Serialize) -> Response {
    json_bytes_response(status, serde_json::to_vec(body).unwrap_or_default().into())
}

/// [`json_response`] of a body already serialised.
pub fn json_bytes_response(status: StatusCode, bytes: axum::body::Bytes) -> Response {
    typed(status, ApiVersion::V07.media_type(), bytes)
}

/// A JSON answer with the unversioned `application/json` type, as production's add-on and
/// conversion submissions answer (pyuploadcare's recordings).
pub fn plain_json_response(status: StatusCode, body: &impl serde::Serialize) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    typed(status, "application/json", bytes)
}

/// 204 with no body when a `DELETE` found what it deletes; 404 `Not found.` otherwise.
pub fn deleted(found: bool) -> Result<Response, RestError> {
    if !found {
        return Err(RestError::not_found());
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// An answer with `body` of `content_type`.
fn typed(status: StatusCode, content_type: &'static str, body: impl IntoResponse) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
        body,
    )
        .into_response()
}

/// Production's answer to a REST route that does not exist: 404 with a small HTML page.
pub fn unknown_route() -> Response {
    typed(
        StatusCode::NOT_FOUND,
        "text/html; charset=utf-8",
        UNKNOWN_ROUTE_HTML,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_and_statuses_valid() {
        for (i, a) in RestErrorCode::ALL.iter().enumerate() {
            assert!(StatusCode::from_u16(a.status()).is_ok(), "{a:?}");
            assert!(a.status() >= 400, "{a:?}");
            for b in &RestErrorCode::ALL[i + 1..] {
                assert_ne!(a.template(), b.template(), "{a:?} and {b:?}");
            }
        }
    }

    #[test]
    fn fills_arguments() {
        assert_eq!(
            RestError::with(RestErrorCode::PublicKeyNotFound, &["%s"]).detail,
            "Public key %s not found."
        );
        assert_eq!(
            RestError::throttled(1).detail,
            "Request was throttled. Expected available in 1 second."
        );
        assert_eq!(
            RestError::throttled(10).detail,
            "Request was throttled. Expected available in 10 seconds."
        );
        assert_eq!(
            RestError::metadata(MetadataError::KeyEmpty).detail,
            "File's metadata key can not be empty."
        );
    }
}
