//! File metadata: `GET /files/<uuid>/metadata/` and `GET|PUT|DELETE
//! /files/<uuid>/metadata/<key>/` (REST API reference, "File metadata").
//!
//! Decisions where production is undocumented:
//! - Key and value rules are the Upload API's (`crate::domain::metadata`), and so are the
//!   400 `detail` texts (the Upload API's `FileMetadata*Error` messages, taken from its
//!   error table by [`RestError::metadata`]).
//! - A `PUT` body that is not a JSON string answers 400 `Not a valid string.` (Django REST
//!   framework's text for a string field).
//! - Unknown, malformed and other projects' file uuids, and keys the file does not have
//!   (`GET`, `DELETE`), answer 404 `Not found.`. Removed and expired files keep their
//!   metadata, readable and writable, as their file info stays readable.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use super::error::{json_response, RestError, RestErrorCode};
use super::files::project_file;
use super::path_call::{PathCall, PathTarget};
use crate::domain::changes::{self, Description};
use crate::domain::metadata::{check_key, check_value, MetadataError, MAX_KEYS};
use crate::store::FileRecord;
use crate::webhooks::events::EventSource;
use crate::AppState;

/// How often a `PUT`/`DELETE` retries when another request changed the metadata meanwhile.
const MAX_ATTEMPTS: usize = 16;

/// `GET /files/<uuid>/metadata/`: the whole metadata object.
pub async fn get_metadata(PathCall(_, file): PathCall<FileRecord>) -> Result<Response, RestError> {
    Ok(json_response(StatusCode::OK, &Value::Object(file.metadata)))
}

/// What a key path names: the checked key (400 first), and the project's file (then 404,
/// whatever the body).
pub struct KeyPath {
    key: String,
    file: FileRecord,
}

impl PathTarget for KeyPath {
    type Params = (String, String);

    async fn find(
        state: &AppState,
        project: &str,
        (raw, key): (String, String),
    ) -> Result<Self, RestError> {
        check_key(&key).map_err(RestError::metadata)?;
        let file = FileRecord::find(state, project, raw).await?;
        Ok(Self { key, file })
    }
}

/// `GET /files/<uuid>/metadata/<key>/`: one value, as a JSON string.
pub async fn get_key(
    PathCall(_, KeyPath { key, file }): PathCall<KeyPath>,
) -> Result<Response, RestError> {
    let value = file.metadata.get(&key).ok_or_else(RestError::not_found)?;
    Ok(json_response(StatusCode::OK, value))
}

/// `PUT /files/<uuid>/metadata/<key>/`: sets one value (body: a JSON string); 201 when the
/// key is new, 200 when it was there; the answer is the value.
pub async fn put_key(
    State(state): State<Arc<AppState>>,
    source: EventSource,
    PathCall(call, KeyPath { key, file }): PathCall<KeyPath>,
) -> Result<Response, RestError> {
    let value = match serde_json::from_slice::<Value>(&call.body) {
        Ok(Value::String(v)) => v,
        _ => return Err(RestError::new(RestErrorCode::MetadataValueNotString)),
    };
    check_value(&key, &value).map_err(RestError::metadata)?;
    let created = update(&state, &source, file, |metadata| {
        let created = !metadata.contains_key(&key);
        if created && metadata.len() >= MAX_KEYS {
            return Err(RestError::metadata(MetadataError::TooManyKeys));
        }
        let mut new = metadata.clone();
        new.insert(key.clone(), Value::String(value.clone()));
        Ok((new, created))
    })
    .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(json_response(status, &Value::String(value)))
}

/// `DELETE /files/<uuid>/metadata/<key>/`: deletes one key; 204 with no body.
pub async fn delete_key(
    State(state): State<Arc<AppState>>,
    source: EventSource,
    PathCall(_, KeyPath { key, file }): PathCall<KeyPath>,
) -> Result<Response, RestError> {
    update(&state, &source, file, |metadata| {
        if !metadata.contains_key(&key) {
            return Err(RestError::not_found());
        }
        let mut new = metadata.clone();
        new.shift_remove(&key);
        Ok((new, ()))
    })
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Replaces `file`'s metadata with what `change` makes of it (with its `file.info_updated`
/// event), unless another request changed it meanwhile; then reads the file again and
/// retries, up to [`MAX_ATTEMPTS`] times.
async fn update<T>(
    state: &AppState,
    source: &EventSource,
    mut file: FileRecord,
    mut change: impl FnMut(&Map<String, Value>) -> Result<(Map<String, Value>, T), RestError>,
) -> Result<T, RestError> {
    for _ in 0..MAX_ATTEMPTS {
        let (new, outcome) = change(&file.metadata)?;
        if changes::replace_description(state, &file, Description::Metadata(new), source).await? {
            return Ok(outcome);
        }
        file = project_file(state, &file.project, file.uuid).await?;
    }
    Err(RestError::new(RestErrorCode::MetadataConflict))
}
