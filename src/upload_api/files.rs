//! `POST /base/` (direct upload) and `GET /info/` (file info), and the `fileUploadInfo`
//! object both the file and group endpoints answer with.

use std::sync::Arc;

use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, State};
use axum::Json;
use serde_json::{Map, Value};

use super::error::{ErrorCode, UploadError};
use super::form::{multipart_error, query_fields, Fields};
use crate::auth;
use crate::blobs::BlobWriter;
use crate::domain::content::detect;
use crate::domain::files::{
    base_name, content_info, image_info, is_live, sanitize_filename, should_store,
};
use crate::domain::groups::parse_file_uuid;
use crate::domain::metadata::{self, MetadataError, MAX_KEYS, MAX_KEY_LEN, MAX_VALUE_LEN};
use crate::store::FileRecord;
use crate::AppState;

/// Largest file a direct upload takes (100 MiB).
pub const MAX_FILE_SIZE: u64 = 100 * 1024 * 1024;
/// Most files one direct upload takes.
pub const MAX_FILES: usize = 100;

/// The `fileUploadInfo` object for a live file, keys in production's order.
pub fn file_upload_info(file: &FileRecord) -> Map<String, Value> {
    let uuid = Value::from(file.uuid.to_string());
    let fields: [(&str, Value); 15] = [
        ("size", file.size.into()),
        ("total", file.size.into()),
        ("done", file.size.into()),
        ("uuid", uuid.clone()),
        ("file_id", uuid),
        ("original_filename", file.original_filename.clone().into()),
        ("is_image", file.image.is_some().into()),
        ("is_stored", file.stored_us.is_some().into()),
        ("image_info", image_info(file).unwrap_or(Value::Null)),
        ("video_info", Value::Null),
        ("content_info", content_info(file)),
        ("is_ready", true.into()),
        (
            "filename",
            sanitize_filename(&file.original_filename).into(),
        ),
        ("mime_type", file.mime_type.clone().into()),
        ("metadata", Value::Object(file.metadata.clone())),
    ];
    fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

/// Maps a metadata rule to its Upload API error.
pub fn metadata_error(e: MetadataError) -> UploadError {
    let max_key = MAX_KEY_LEN.to_string();
    let max_value = MAX_VALUE_LEN.to_string();
    let max_keys = MAX_KEYS.to_string();
    match e {
        MetadataError::KeyEmpty => UploadError::new(ErrorCode::FileMetadataKeyEmptyError),
        MetadataError::KeyTooLong(k) => {
            UploadError::with(ErrorCode::FileMetadataKeyLengthTooBigError, &[&k, &max_key])
        }
        MetadataError::KeyForbidden(k) => {
            UploadError::with(ErrorCode::FileMetadataKeyForbiddenError, &[&k])
        }
        MetadataError::KeyDuplicated(k) => {
            UploadError::with(ErrorCode::FileMetadataKeyDuplicatedError, &[&k])
        }
        MetadataError::ValueEmpty(k) => {
            UploadError::with(ErrorCode::FileMetadataValueEmptyError, &[&k])
        }
        MetadataError::ValueTooLong(k) => UploadError::with(
            ErrorCode::FileMetadataValueLengthTooBigError,
            &[&k, &max_value],
        ),
        MetadataError::ValueForbidden(k) => {
            UploadError::with(ErrorCode::FileMetadataValueForbiddenError, &[&k])
        }
        MetadataError::TooManyKeys => {
            UploadError::with(ErrorCode::FileMetadataKeysNumberTooBigError, &[&max_keys])
        }
    }
}

/// A file part received in full.
struct Received {
    field: String,
    filename: String,
    blob: crate::blobs::Blob,
}

/// Streams one file part to a blob, refusing more than [`MAX_FILE_SIZE`] bytes.
async fn receive_file(
    state: &AppState,
    mut field: axum::extract::multipart::Field<'_>,
) -> Result<crate::blobs::Blob, UploadError> {
    let mut writer: BlobWriter = state.blobs.writer().await?;
    while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
        if writer.size() + chunk.len() as u64 > MAX_FILE_SIZE {
            return Err(UploadError::new(ErrorCode::FileSizeLimitExceededError));
        }
        writer.write(&chunk).await?;
    }
    Ok(writer.finish().await?)
}

/// `POST /base/`: direct upload of one or more files (upload-api.openapi.yml `baseUpload`).
pub async fn upload_base(
    State(state): State<Arc<AppState>>,
    uri: axum::http::Uri,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Json<Map<String, Value>>, UploadError> {
    let mut fields: Fields = query_fields(uri.query())?;
    // A body that is not `multipart/form-data` (or has no boundary) is a parse failure.
    let mut multipart =
        multipart.map_err(|_| UploadError::new(ErrorCode::PostRequestParserFailedError))?;
    let mut files: Vec<Received> = Vec::new();
    while let Some(field) = multipart.next_field().await.map_err(multipart_error)? {
        let name = field.name().unwrap_or("").to_owned();
        match field.file_name().map(str::to_owned) {
            Some(filename) => {
                if name.contains('\0') || filename.contains('\0') {
                    return Err(UploadError::new(ErrorCode::NullCharactersForbiddenError));
                }
                if files.len() >= MAX_FILES {
                    return Err(UploadError::new(
                        ErrorCode::RequestFileNumberLimitExceededError,
                    ));
                }
                let blob = receive_file(&state, field).await?;
                files.push(Received {
                    field: name,
                    filename: base_name(&filename),
                    blob,
                });
            }
            None => {
                let value = field.text().await.map_err(multipart_error)?;
                fields.push(name, value)?;
            }
        }
    }

    let project = auth::upload::project(
        &state,
        "UPLOADCARE_PUB_KEY",
        fields.get("UPLOADCARE_PUB_KEY"),
    )
    .await?;
    let now_us = state.clock.now_us();
    auth::upload::check_signature(
        &project,
        fields.get("signature"),
        fields.get("expire"),
        now_us / 1_000_000,
    )?;
    let pairs: Vec<(String, String)> = fields
        .0
        .iter()
        .filter_map(|(k, v)| {
            let key = k.strip_prefix("metadata[")?.strip_suffix(']')?;
            Some((key.to_owned(), v.clone()))
        })
        .collect();
    let metadata = metadata::build(&pairs).map_err(metadata_error)?;
    if files.is_empty() {
        return Err(UploadError::new(ErrorCode::FilesRequiredError));
    }
    let stored = should_store(fields.get("UPLOADCARE_STORE"), project.autostore);

    let mut answer = Map::new();
    for received in files {
        let detected = detect(&received.blob.head);
        let uploaded_us = state.clock.unique_us();
        let record = FileRecord {
            uuid: uuid::Uuid::new_v4(),
            project: project.pub_key.clone(),
            size: i64::try_from(received.blob.size).unwrap_or(i64::MAX),
            blob: received.blob.hash,
            original_filename: received.filename,
            mime_type: detected.mime_type,
            image: detected.image,
            metadata: metadata.clone(),
            uploaded_us,
            stored_us: stored.then_some(uploaded_us),
            removed_us: None,
        };
        state.store.insert_file(&record).await?;
        answer.insert(received.field, Value::String(record.uuid.to_string()));
    }
    Ok(Json(answer))
}

/// `GET /info/`: information about an uploaded file (`fileUploadInfo`).
pub async fn file_info(
    State(state): State<Arc<AppState>>,
    uri: axum::http::Uri,
) -> Result<Json<Value>, UploadError> {
    let q = query_fields(uri.query())?;
    let project = auth::upload::project(&state, "pub_key", q.get("pub_key")).await?;
    let file_id = q
        .get("file_id")
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| UploadError::new(ErrorCode::FileIdRequiredError))?;
    let uuid =
        parse_file_uuid(file_id).ok_or_else(|| UploadError::new(ErrorCode::FileIdInvalidError))?;
    let file = state
        .store
        .file(&project.pub_key, uuid)
        .await?
        .filter(|f| is_live(f, state.clock.now_us(), state.retention_us()))
        .ok_or_else(|| UploadError::new(ErrorCode::FileNotFoundError))?;
    Ok(Json(Value::Object(file_upload_info(&file))))
}
