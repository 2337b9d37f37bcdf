//! `POST /base/` (direct upload) and `GET /info/` (file info), and the `fileUploadInfo`
//! object both the file and group endpoints answer with.

use std::sync::Arc;

use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::error::{ErrorCode, UploadError};
use super::form::{field_text, multipart_error, query_fields, Fields, BODY_LIMIT};
use crate::auth;
use crate::auth::upload::{KeyField, PubKey, UploadcarePubKey};
use crate::blobs::BlobWriter;
use crate::domain::changes::{self, NewFile};
use crate::domain::files::{
    base_name, is_live, sanitize_filename, should_store, ContentInfo, ImageInfo,
};
use crate::domain::groups::parse_file_uuid;
use crate::domain::metadata::{self, MetadataError, MAX_KEYS, MAX_KEY_LEN, MAX_VALUE_LEN};
use crate::domain::tags;
use crate::rest_api::error::RestError;
use crate::store::FileRecord;
use crate::webhooks::events::EventSource;
use crate::AppState;

/// Largest file a direct upload takes (100 MiB).
pub const MAX_FILE_SIZE: u64 = 100 * 1024 * 1024;
/// Most files one direct upload takes.
pub const MAX_FILES: usize = 100;

/// The `fileUploadInfo` object, keys in production's order; serialised straight from the
/// record (no intermediate JSON tree: this is the hot path of `/info/` and group answers).
#[derive(Serialize)]
pub struct FileUploadInfo<'a> {
    size: i64,
    total: i64,
    done: i64,
    uuid: Uuid,
    file_id: Uuid,
    original_filename: &'a str,
    is_image: bool,
    is_stored: bool,
    image_info: Option<ImageInfo<'a>>,
    video_info: Option<()>,
    content_info: ContentInfo<'a>,
    is_ready: bool,
    filename: String,
    mime_type: &'a str,
    metadata: &'a Map<String, Value>,
    /// Only for group members.
    #[serde(skip_serializing_if = "Option::is_none")]
    default_effects: Option<&'a str>,
}

impl<'a> FileUploadInfo<'a> {
    /// The info of a file.
    pub fn of(file: &'a FileRecord) -> Self {
        Self {
            size: file.size,
            total: file.size,
            done: file.size,
            uuid: file.uuid,
            file_id: file.uuid,
            original_filename: &file.original_filename,
            is_image: file.image.is_some(),
            is_stored: file.stored_us.is_some(),
            image_info: ImageInfo::of(file),
            video_info: None,
            content_info: ContentInfo::of(file),
            is_ready: true,
            filename: sanitize_filename(&file.original_filename),
            mime_type: &file.mime_type,
            metadata: &file.metadata,
            default_effects: None,
        }
    }

    /// The info of a group member, with its `default_effects`.
    pub fn member(file: &'a FileRecord, default_effects: &'a str) -> Self {
        Self {
            default_effects: Some(default_effects),
            ..Self::of(file)
        }
    }
}

/// The `fileUploadInfo` object as a JSON map, for answers that add fields to it.
pub fn file_upload_info(file: &FileRecord) -> Map<String, Value> {
    match serde_json::to_value(FileUploadInfo::of(file)) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

/// The `tags` form field of an upload, normalized and checked. A broken rule answers 400
/// `UploadViewsError` with the rule's text (the REST API's), as the file-tags docs show.
pub fn form_tags(field: Option<&str>) -> Result<Vec<String>, UploadError> {
    tags::from_form(field).map_err(|e| UploadError {
        code: ErrorCode::UploadViewsError,
        message: RestError::tags(e).detail,
    })
}

/// The `metadata[key]` fields of an upload form, in arrival order, as checked metadata.
pub fn form_metadata(fields: &Fields) -> Result<Map<String, Value>, UploadError> {
    let pairs: Vec<(String, String)> = fields
        .0
        .iter()
        .filter_map(|(k, v)| {
            let key = k.strip_prefix("metadata[")?.strip_suffix(']')?;
            Some((key.to_owned(), v.clone()))
        })
        .collect();
    metadata::build(&pairs).map_err(metadata_error)
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
    source: EventSource,
    uri: axum::http::Uri,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Json<Map<String, Value>>, UploadError> {
    let mut fields: Fields = query_fields(uri.query())?;
    // A body that is not `multipart/form-data` (or has no boundary) is a parse failure.
    let mut multipart =
        multipart.map_err(|_| UploadError::new(ErrorCode::PostRequestParserFailedError))?;
    let mut files: Vec<Received> = Vec::new();
    let mut text_budget = BODY_LIMIT;
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
                let value = field_text(field, &mut text_budget).await?;
                fields.push(name, value)?;
            }
        }
    }

    let project = auth::upload::signed_project(&state, &fields, UploadcarePubKey::NAME).await?;
    let metadata = form_metadata(&fields)?;
    let tags = form_tags(fields.get("tags"))?;
    if files.is_empty() {
        return Err(UploadError::new(ErrorCode::FilesRequiredError));
    }
    let stored = should_store(fields.get("UPLOADCARE_STORE"), project.autostore);

    let mut answer = Map::new();
    let mut records = Vec::with_capacity(files.len());
    for received in files {
        let uuid = Uuid::new_v4();
        answer.insert(received.field, Value::String(uuid.to_string()));
        records.push(
            NewFile {
                uuid,
                project: project.pub_key.clone(),
                blob: received.blob,
                filename: received.filename,
                announced_type: None,
                metadata: metadata.clone(),
                tags: tags.clone(),
                store: stored,
                uploaded_us: state.clock.unique_us(),
            }
            .into_record(),
        );
    }
    // All files of the request and their events in one transaction.
    changes::create_files(&state, &mut records, &source).await?;
    Ok(Json(answer))
}

/// `GET /info/`: information about an uploaded file (`fileUploadInfo`).
pub async fn file_info(
    State(state): State<Arc<AppState>>,
    uri: axum::http::Uri,
) -> Result<Response, UploadError> {
    let q = query_fields(uri.query())?;
    let project = auth::upload::project(&state, &q, PubKey::NAME).await?;
    let file_id = q.require("file_id", ErrorCode::FileIdRequiredError)?;
    let uuid =
        parse_file_uuid(file_id).ok_or_else(|| UploadError::new(ErrorCode::FileIdInvalidError))?;
    let file = state
        .store
        .file(Some(&project.pub_key), uuid)
        .await?
        .filter(|f| is_live(f, state.clock.now_us(), state.retention_us()))
        .ok_or_else(|| UploadError::new(ErrorCode::FileNotFoundError))?;
    Ok(Json(FileUploadInfo::of(&file)).into_response())
}
