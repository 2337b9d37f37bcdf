//! Upload API errors: every code of `upload-api-errors.tsv` with its status and message, and
//! their rendering (text/plain, `jsonerrors=1` JSON, or JSONP) in one place.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::error::{error_catalogue, fill_template, StoreError};

error_catalogue! {
    /// Every Upload API error code, as production names them (`error_code` in JSON errors).
    enum ErrorCode;
    AccountBlockedError = (403, "Account has been blocked."),
    AccountLimitsExceededError = (403, "Account has reached its limits."),
    AccountUnpaidError = (403, "Account has been blocked for non payment."),
    AutostoreDisabledError = (403, "Autostore is disabled."),
    BaseViewsError = (400, "Request processing failed."),
    FileMetadataKeyDuplicatedError = (400, "File's metadata key `%s` has a duplicate."),
    FileMetadataKeyEmptyError = (400, "File's metadata key can not be empty."),
    FileMetadataKeyForbiddenError = (400, "File's metadata key `%s` contains symbols not allowed by the metadata key format."),
    FileMetadataKeyLengthTooBigError = (400, "Length of file metadata key `%s` can not be more than %d symbols."),
    FileMetadataKeysNumberTooBigError = (400, "A file can not have more than %d metadata keys."),
    FileMetadataValueEmptyError = (400, "Value of the file metadata key `%s` can not be empty."),
    FileMetadataValueForbiddenError = (400, "Value of file metadata key `%s` contains symbols not allowed by the metadata value format."),
    FileMetadataValueLengthTooBigError = (400, "Value of file metadata's key `%s` can not be more than %d symbols in length."),
    FileSizeLimitExceededError = (400, "File is too large."),
    MethodNotAllowedError = (405, "HTTP method %s is not allowed for %s"),
    NullCharactersForbiddenError = (400, "Null characters are not allowed."),
    PostRequestParserFailedError = (400, "HTTP POST request parsing failed."),
    ProjectPublicKeyInvalidError = (403, "%s is invalid."),
    ProjectPublicKeyRemovedError = (403, "Project %s is marked as removed."),
    ProjectPublicKeyRequiredError = (403, "%s is required."),
    RequestFileNumberLimitExceededError = (400, "The request contains too many files."),
    RequestFiledsNumberLimitExceededError = (400, "The request contains too many HTTP POST fields."),
    RequestSizeLimitExceededError = (413, "The size of the request is too large."),
    RequestThrottledError = (429, "Request was throttled."),
    SignatureExpirationError = (403, "Expired signature."),
    SignatureExpirationInvalidError = (400, "`expire` must be a UNIX timestamp."),
    SignatureExpirationRequiredError = (400, "`expire` is required."),
    SignatureInvalidError = (403, "Invalid signature."),
    SignatureRequiredError = (400, "`signature` is required."),
    UploadAPIError = (500, "Internal error."),
    UploadFailedError = (403, "Upload failed."),
    DownloadFileError = (500, "Failed to download the file."),
    DownloadFileHTTPClientError = (500, "HTTP client error: %s."),
    DownloadFileHTTPNetworkError = (500, "HTTP network error: %s."),
    DownloadFileHTTPServerError = (500, "HTTP server error: %s."),
    DownloadFileHTTPURLValidationError = (500, "HTTP URL validation error: %s."),
    DownloadFileInternalServerError = (500, "Internal server error."),
    DownloadFileNotFoundError = (500, "downloaded file not found."),
    DownloadFileSizeLimitExceededError = (500, "Downloaded file is too big: %s > %s."),
    DownloadFileTaskFailedError = (500, "download task failed."),
    DownloadFileTimeLimitExceededError = (500, "Failed to download the file within the allotted time limit of %s seconds."),
    DownloadFileValidationFailedError = (500, "File validation error: %s"),
    FileIdInvalidError = (400, "file_id is invalid."),
    FileIdNotUniqueError = (400, "File id must be unique."),
    FileIdRequiredError = (400, "file_id is required."),
    FileNotFoundError = (404, "File is not found."),
    FileRequiredError = (400, "There should be a file."),
    FilesNumberLimitExceededError = (400, "There are too many files."),
    FilesRequiredError = (400, "Request does not contain files."),
    InternalRequestForbiddenError = (403, "Forbidden request."),
    InternalRequestInvalidError = (400, "Incorrect request."),
    MultipartFileAlreadyUploadedError = (400, "File is already uploaded."),
    MultipartFileCompletionFailedError = (400, "Can not complete upload. Wrong parts size?"),
    MultipartFileIdRequiredError = (400, "uuid is required."),
    MultipartFileNotFoundError = (404, "File is not found."),
    MultipartFileSizeLimitExceededError = (400, "File size exceeds project limit."),
    MultipartFileSizeTooSmallError = (400, "File size can not be less than %d bytes. Please use direct upload instead of multipart."),
    MultipartPartSizeInvalidError = (400, "Multipart Upload Part Size should be an integer."),
    MultipartPartSizeTooBigError = (400, "Multipart Upload Part Size can not be more than %d bytes."),
    MultipartPartSizeTooSmallError = (400, "Multipart Upload Part Size can not be less than %d bytes."),
    MultipartSizeInvalidError = (400, "size should be integer."),
    MultipartUploadSizeTooLargeError = (400, "Uploaded size is more than expected."),
    MultipartUploadSizeTooSmallError = (400, "File size mismatch. Not all parts uploaded?"),
    RequestParamRequiredError = (400, "%s is required."),
    SourceURLRequiredError = (400, "source_url is required."),
    TokenRequiredError = (400, "token is required."),
    UUIDInvalidError = (400, "uuid is invalid."),
    UploadViewsError = (400, "Upload request processing failed."),
    UploadcareFileIdDuplicatedError = (400, "UPLOADCARE_FILE_ID is duplicated. You are probably a lottery winner."),
    UploadcareFileIdInvalidError = (400, "UPLOADCARE_FILE_ID should be a valid UUID."),
    UploadcareFileIdRequiredError = (400, "UPLOADCARE_FILE_ID is required."),
    GroupFileURLParsingFailedError = (400, "This is not valid file url: %s."),
    GroupFilesInvalidError = (400, "No files[N] parameters found."),
    GroupFilesNotFoundError = (400, "Some files not found."),
    GroupIdRequiredError = (400, "group_id is required."),
    GroupNotFoundError = (404, "group_id is invalid."),
    GroupViewsError = (400, "Request to group processing failed."),
    FileInfectedError = (400, "The file is infected by %s virus."),
    FileTypeForbiddenError = (400, "Uploading of these file types is not allowed."),
    HostnameNotFoundError = (400, "Host does not exist."),
    URLBlacklistedError = (400, "Source is blacklisted."),
    URLHostMalformedError = (400, "URL host is malformed."),
    URLHostPrivateIPForbiddenError = (400, "Only public IPs are allowed."),
    URLHostRequiredError = (400, "No URL host supplied."),
    URLParsingFailedError = (400, "Failed to parse URL."),
    URLRedirectsLimitExceededError = (400, "Too many redirects."),
    URLSchemeInvalidError = (400, "Invalid URL scheme."),
    URLSchemeRequiredError = (400, "No URL scheme supplied."),
    URLValidationError = (400, "Failed to validate URL."),
}

/// An Upload API error: a code and its message with the arguments filled in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UploadError {
    /// The code.
    pub code: ErrorCode,
    /// The message as sent.
    pub message: String,
}

impl UploadError {
    /// An error whose message has no arguments (or keeps its template).
    pub fn new(code: ErrorCode) -> Self {
        Self::with(code, &[])
    }

    /// An error with its `%s`/`%d` placeholders replaced by `args`, in order.
    pub fn with(code: ErrorCode, args: &[&str]) -> Self {
        let message = fill_template(code.template(), args);
        Self { code, message }
    }

    /// `Internal error.` for a store failure, which is logged, never sent.
    pub fn internal(e: StoreError) -> Self {
        tracing::error!(error = %e, "store failure");
        Self::new(ErrorCode::UploadAPIError)
    }

    fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl From<StoreError> for UploadError {
    fn from(e: StoreError) -> Self {
        Self::internal(e)
    }
}

impl IntoResponse for UploadError {
    /// Renders as text/plain; [`render`] turns it into JSON or JSONP when the request asked.
    fn into_response(self) -> Response {
        let mut response = (
            self.status(),
            [(header::CONTENT_TYPE, HeaderValue::from_static(TEXT_PLAIN))],
            self.message.clone(),
        )
            .into_response();
        if self.code == ErrorCode::RequestThrottledError {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("10"));
        }
        response.extensions_mut().insert(self);
        response
    }
}

/// Content type of plain-text errors.
pub const TEXT_PLAIN: &str = "text/plain; charset=utf-8";

/// How the client asked for answers: `jsonerrors=1` and/or a JSONP `callback`.
#[derive(Clone, Debug, Default)]
pub struct AnswerFormat {
    /// `jsonerrors` was `1` (or `true`).
    pub json_errors: bool,
    /// A JSONP callback name, if valid.
    pub callback: Option<String>,
}

impl AnswerFormat {
    /// Reads the format from a query string.
    pub fn from_query(query: Option<&str>) -> Self {
        let mut format = Self::default();
        for (k, v) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            match &*k {
                "jsonerrors" => format.json_errors = matches!(&*v, "1" | "true"),
                "callback" if is_callback_name(&v) => format.callback = Some(v.into_owned()),
                _ => {}
            }
        }
        format
    }
}

/// A JSONP callback must be a plain JavaScript identifier path, never script.
fn is_callback_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'$' | b'.'))
}

/// Re-renders an answer in the format the request asked for: errors become
/// `{"error": {"content", "status_code", "error_code"}}` (HTTP 200) with `jsonerrors=1`
/// (or a `callback`),
/// and JSON answers are wrapped as `callback(…)` for JSONP.
pub async fn apply_format(format: &AnswerFormat, response: Response) -> Response {
    let error = response.extensions().get::<UploadError>().cloned();
    let response = match error {
        Some(e) if format.json_errors || format.callback.is_some() => {
            // Production answers JSON errors with HTTP 200 (clients read `error`, never the
            // status) and Python's spacing: recorded as
            // `{"error": {"content": "UPLOADCARE_PUB_KEY is invalid.", "status_code": 403}}`,
            // to which current production adds `error_code`.
            let (mut parts, _) = response.into_parts();
            let body = format!(
                "{{\"error\": {{\"content\": {}, \"status_code\": {}, \"error_code\": {}}}}}",
                serde_json::Value::from(e.message),
                e.code.status(),
                serde_json::Value::from(e.code.name()),
            );
            parts.status = StatusCode::OK;
            parts
                .headers
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON));
            parts.headers.remove(header::CONTENT_LENGTH);
            Response::from_parts(parts, axum::body::Body::from(body))
        }
        _ => response,
    };
    let Some(callback) = &format.callback else {
        return response;
    };
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 16 * 1024 * 1024).await else {
        return UploadError::new(ErrorCode::UploadAPIError).into_response();
    };
    let mut wrapped = Vec::with_capacity(bytes.len() + callback.len() + 2);
    wrapped.extend_from_slice(callback.as_bytes());
    wrapped.push(b'(');
    wrapped.extend_from_slice(&bytes);
    wrapped.push(b')');
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/javascript; charset=utf-8"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.status = StatusCode::OK;
    Response::from_parts(parts, axum::body::Body::from(wrapped))
}

/// Content type of JSON answers.
pub const JSON: &str = "application/json";

#[cfg(test)]
mod tests {
    use super::*;

    /// Every row of the reference table maps to the same status and message.
    #[test]
    fn codes_match_reference_table() {
        let table = include_str!("../../tests/fixtures/upload-api-errors.tsv");
        let mut seen = 0;
        for line in table.lines().skip(1).filter(|l| !l.trim().is_empty()) {
            let cols: Vec<&str> = line.split('\t').collect();
            let code = ErrorCode::ALL
                .iter()
                .find(|c| c.name() == cols[0])
                .unwrap_or_else(|| panic!("missing code {}", cols[0]));
            assert_eq!(code.status().to_string(), cols[1], "{}", cols[0]);
            assert_eq!(code.template(), cols[2], "{}", cols[0]);
            seen += 1;
        }
        assert_eq!(seen, ErrorCode::ALL.len());
    }

    #[test]
    fn fills_placeholders() {
        let e = UploadError::with(ErrorCode::ProjectPublicKeyRequiredError, &["pub_key"]);
        assert_eq!(e.message, "pub_key is required.");
        let e = UploadError::with(ErrorCode::FileMetadataKeyLengthTooBigError, &["k", "64"]);
        assert_eq!(
            e.message,
            "Length of file metadata key `k` can not be more than 64 symbols."
        );
        let e = UploadError::with(ErrorCode::GroupFileURLParsingFailedError, &["50%s"]);
        assert_eq!(e.message, "This is not valid file url: 50%s.");
    }
}
