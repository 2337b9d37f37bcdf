//! Reading Upload API requests: text fields from the query string and from an
//! `application/x-www-form-urlencoded` or `multipart/form-data` body, with the documented
//! parser, field-count and null-character errors.

use axum::extract::multipart::Field;
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::header;

use super::error::{ErrorCode, UploadError};
use crate::server::BodyFailure;

/// Most fields one request may carry.
pub const MAX_FIELDS: usize = 2000;

/// Text fields in arrival order: query first, then body.
#[derive(Debug, Default)]
pub struct Fields(pub Vec<(String, String)>);

impl Fields {
    /// The last value of `name`, if any.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The last value of `name`, trimmed, when it is not blank.
    pub fn given(&self, name: &str) -> Option<&str> {
        self.get(name).map(str::trim).filter(|v| !v.is_empty())
    }

    /// [`Fields::given`], or the error `missing` when the field is absent or blank.
    pub fn require(&self, name: &str, missing: ErrorCode) -> Result<&str, UploadError> {
        self.given(name).ok_or_else(|| UploadError::new(missing))
    }

    /// Adds a field, enforcing the field-count and null-character rules.
    pub fn push(&mut self, name: String, value: String) -> Result<(), UploadError> {
        if self.0.len() >= MAX_FIELDS {
            return Err(UploadError::new(
                ErrorCode::RequestFiledsNumberLimitExceededError,
            ));
        }
        if name.contains('\0') || value.contains('\0') {
            return Err(UploadError::new(ErrorCode::NullCharactersForbiddenError));
        }
        self.0.push((name, value));
        Ok(())
    }
}

/// Query-string fields of a request.
pub fn query_fields(query: Option<&str>) -> Result<Fields, UploadError> {
    let mut fields = Fields::default();
    for (k, v) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        fields.push(k.into_owned(), v.into_owned())?;
    }
    Ok(fields)
}

/// The query's fields followed by the body's text fields (files are not expected here).
pub async fn text_fields(request: Request) -> Result<Fields, UploadError> {
    let mut fields = query_fields(request.uri().query())?;
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if content_type.starts_with("multipart/form-data") {
        let mut multipart = Multipart::from_request(request, &())
            .await
            .map_err(|_| UploadError::new(ErrorCode::PostRequestParserFailedError))?;
        let mut budget = BODY_LIMIT;
        while let Some(field) = multipart.next_field().await.map_err(multipart_error)? {
            let name = field.name().unwrap_or("").to_owned();
            let value = field_text(field, &mut budget).await?;
            fields.push(name, value)?;
        }
    } else if request.method() == axum::http::Method::POST {
        let body = axum::body::to_bytes(request.into_body(), BODY_LIMIT)
            .await
            .map_err(|e| match crate::server::body_failure(&e) {
                BodyFailure::TooLarge => UploadError::new(ErrorCode::RequestSizeLimitExceededError),
                _ => UploadError::new(ErrorCode::PostRequestParserFailedError),
            })?;
        for (k, v) in form_urlencoded::parse(&body) {
            fields.push(k.into_owned(), v.into_owned())?;
        }
    }
    Ok(fields)
}

/// Largest body of a request without files, and most bytes of all text fields of a request
/// with files.
pub const BODY_LIMIT: usize = 4 * 1024 * 1024;

/// Reads a text field of a multipart body as UTF-8 (invalid sequences replaced), counting its
/// bytes against `budget`, the room left for all text fields of the request: a field that
/// does not fit makes the request too large, before it is buffered whole.
pub async fn field_text(mut field: Field<'_>, budget: &mut usize) -> Result<String, UploadError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
        *budget = budget
            .checked_sub(chunk.len())
            .ok_or_else(|| UploadError::new(ErrorCode::RequestSizeLimitExceededError))?;
        bytes.extend_from_slice(&chunk);
    }
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Maps a multipart stream error: a body over its limit is 413, anything else a parse error.
pub fn multipart_error(e: axum::extract::multipart::MultipartError) -> UploadError {
    if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        UploadError::new(ErrorCode::RequestSizeLimitExceededError)
    } else {
        UploadError::new(ErrorCode::PostRequestParserFailedError)
    }
}
