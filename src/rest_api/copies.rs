//! `POST /files/local_copy/`: a copy of a file, processed by its CDN operations, as a new
//! file of the project (the rules are in `crate::domain::copies`).
//!
//! The body is a JSON object: `source` (required; a body that is not a JSON object has
//! none), `store` (`true`/`false`, as JSON booleans or strings; default `false`),
//! `metadata` (an object of strings, checked by the metadata rules). The answer is 201
//! `{"type": "file", "result": <file>}` with a `Location` header, as production's
//! recordings show.
//!
//! `result` is production's immediate answer, as the reference's `fileCopy` schema fixes
//! it: `size` 0, `mime_type` `application/octet-stream`, `is_image` false, `content_info`
//! null, the real uuid, times, names and `metadata`. Production answers before its copy is
//! done; the emulator's copy is done before the answer, so `GET /files/<uuid>/` right after
//! shows the finished file (what production shows once its copy finishes).

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use axum::Extension;
use serde_json::{json, Map, Value};

use super::error::{json_response, RestError, RestErrorCode};
use super::files::rest_file;
use super::version::ApiVersion;
use crate::auth::rest::RestCall;
use crate::cdn::transform::TransformError;
use crate::domain::copies::{local_copy as copy, remote_copy as copy_out, resolve, CopyError};
use crate::domain::metadata;
use crate::storages::{self, PatternError, Put, DEFAULT_PATTERN};
use crate::webhooks::events::EventSource;
use crate::AppState;

impl From<CopyError> for RestError {
    fn from(e: CopyError) -> Self {
        match e {
            CopyError::BadSource => RestError::new(RestErrorCode::CopySourceBad),
            CopyError::Transform(
                t @ (TransformError::NotEmulated(_) | TransformError::UnsupportedFormat),
            ) => RestError::with(RestErrorCode::CopyNotEmulated, &[&t.message()]),
            CopyError::Transform(TransformError::Internal(why)) => {
                tracing::error!(error = %why, "copy processing failed");
                RestError::new(RestErrorCode::ServerError)
            }
            CopyError::Transform(_) => RestError::new(RestErrorCode::CopySourceBad),
            CopyError::Store(e) => e.into(),
            CopyError::Pattern(PatternError::Invalid(p)) => {
                RestError::with(RestErrorCode::CopyPatternInvalid, &[&p])
            }
            CopyError::Pattern(PatternError::Character) => {
                RestError::new(RestErrorCode::CopyPatternCharacter)
            }
        }
    }
}

/// The body of a copy request: a JSON object; anything else has no `source` (400).
pub fn json_object(body: &[u8]) -> Result<Map<String, Value>, RestError> {
    match serde_json::from_slice(body) {
        Ok(Value::Object(o)) => Ok(o),
        _ => Err(RestError::new(RestErrorCode::CopySourceRequired)),
    }
}

/// The `source` field: a non-empty string, or 400.
pub fn source_field(body: &Map<String, Value>) -> Result<&str, RestError> {
    match body.get("source") {
        None | Some(Value::Null) => Err(RestError::new(RestErrorCode::CopySourceRequired)),
        Some(Value::String(s)) if s.trim().is_empty() => {
            Err(RestError::new(RestErrorCode::CopySourceRequired))
        }
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(RestError::new(RestErrorCode::CopySourceBad)),
    }
}

/// `store`: `true`/`false` as a JSON boolean or string; absent or `null` is `false`.
fn store_field(body: &Map<String, Value>) -> Result<bool, RestError> {
    match body.get("store") {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::String(s)) if s == "true" => Ok(true),
        Some(Value::String(s)) if s == "false" => Ok(false),
        Some(_) => Err(RestError::new(RestErrorCode::CopyStoreInvalid)),
    }
}

/// `metadata`: an object of strings obeying the metadata rules; absent or `null` is empty.
fn metadata_field(body: &Map<String, Value>) -> Result<Map<String, Value>, RestError> {
    let invalid = || RestError::new(RestErrorCode::CopyMetadataInvalid);
    match body.get("metadata") {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(o)) => {
            let pairs = o
                .iter()
                .map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_owned())))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(invalid)?;
            metadata::build(&pairs).map_err(RestError::metadata)
        }
        Some(_) => Err(invalid()),
    }
}

/// `POST /files/local_copy/`.
pub async fn local_copy(
    State(state): State<Arc<AppState>>,
    Extension(version): Extension<ApiVersion>,
    events: EventSource,
    call: RestCall,
) -> Result<Response, RestError> {
    let body = json_object(&call.body)?;
    let source = source_field(&body)?;
    let store = store_field(&body)?;
    let metadata = metadata_field(&body)?;
    let source = resolve(&state, &call.project.pub_key, source).await?;
    let file = copy(&state, &source, store, metadata, &events).await?;
    let mut result = rest_file(&file, version, &events.bases);
    result.insert("is_image".into(), false.into());
    result.insert("mime_type".into(), "application/octet-stream".into());
    result.insert("size".into(), 0.into());
    if result.contains_key("content_info") {
        result.insert("content_info".into(), Value::Null);
    }
    if result.contains_key("image_info") {
        result.insert("image_info".into(), Value::Null);
    }
    let location = format!("{}/files/{}/", events.bases.api, file.uuid);
    let mut response = json_response(
        StatusCode::CREATED,
        &json!({ "type": "file", "result": result }),
    );
    if let Ok(v) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    Ok(response)
}

/// `POST /files/remote_copy/`: `source`, `target` (a storage of the project; missing or
/// unknown is production's `Project has no storage with provided name.`), `make_public`
/// (default true), `pattern` (default the storage's, else `${default}`). 201 when written,
/// 200 when an object with that key exists already (production's two answers), both
/// `{"type": "url", "result": "s3://<bucket>/<key>"}`.
pub async fn remote_copy(
    State(state): State<Arc<AppState>>,
    call: RestCall,
) -> Result<Response, RestError> {
    let body = json_object(&call.body)?;
    let source = source_field(&body)?;
    let project = &call.project.pub_key;
    let storage = body
        .get("target")
        .and_then(Value::as_str)
        .and_then(|t| storages::find(&state.config.storages, project, t))
        .ok_or_else(|| RestError::new(RestErrorCode::CopyStorageUnknown))?;
    let public = match body.get("make_public") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) if s == "true" => true,
        Some(Value::String(s)) if s == "false" => false,
        Some(_) => return Err(RestError::new(RestErrorCode::CopyMakePublicInvalid)),
    };
    let pattern = match body.get("pattern") {
        None | Some(Value::Null) => storage.pattern.as_deref().unwrap_or(DEFAULT_PATTERN),
        Some(Value::String(p)) => p.as_str(),
        Some(_) => return Err(RestError::new(RestErrorCode::CopyPatternCharacter)),
    };
    let source = resolve(&state, project, source).await?;
    let (url, put) = copy_out(&state, &source, storage, pattern, public).await?;
    let status = match put {
        Put::Created => StatusCode::CREATED,
        Put::Exists => StatusCode::OK,
    };
    Ok(json_response(
        status,
        &json!({ "type": "url", "result": url }),
    ))
}
