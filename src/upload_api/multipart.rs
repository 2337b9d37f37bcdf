//! Multipart uploads (upload-api.openapi.yml): `POST /multipart/start/` opens a session and
//! hands out part URLs, the client `PUT`s each part there, and `POST /multipart/complete/`
//! joins the parts into the file.
//!
//! Production's part URLs are presigned AWS S3 URLs. The emulator serves them itself under
//! `/multipart/part/<uuid>/<n>/` on the Upload API's public base and answers them the way S3
//! does: `200` with an empty body and an `ETag` header, XML errors. Each part is streamed
//! (never held in memory) straight to its place in `<data dir>/multipart/<uuid>/data`, at
//! offset `(n - 1) × part_size`, so the file's bytes are written once: completion hashes the
//! joined file and moves it to its content address. A part counts once it is whole and
//! synced: then `<n>.done` records its size. A re-`PUT` first withdraws that record, so a
//! re-`PUT` that breaks off leaves the part missing, never half-counted. Sessions live in the
//! database, so an upload survives a restart.

use std::path::PathBuf;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures_util::StreamExt;
use md5::{Digest, Md5};
use serde_json::{json, Value};
use tokio::io::{AsyncSeekExt, AsyncWriteExt};
use uuid::Uuid;

use super::error::{ErrorCode, UploadError};
use super::files::{file_upload_info, form_metadata, form_tags};
use super::form::{text_fields, Fields};
use crate::auth;
use crate::auth::upload::{KeyField, SignedForm, UploadcarePubKey};
use crate::blobs::Staging;
use crate::domain::changes::{self, NewFile};
use crate::domain::files::{base_name, should_store};
use crate::error::StoreError;
use crate::server::{body_failure, BodyFailure};
use crate::store::MultipartUpload;
use crate::urls::bases;
use crate::webhooks::events::EventSource;
use crate::AppState;

/// Smallest file a multipart upload takes (production: 10 MiB, smaller files go to `/base/`).
pub const MIN_FILE_SIZE: u64 = 10_485_760;
/// Largest file a multipart upload takes: the emulated project limit (5 GiB).
pub const MAX_FILE_SIZE: u64 = 5 * 1024 * 1024 * 1024;
/// Smallest `part_size` (5 MiB, S3's minimum part), also the default.
pub const MIN_PART_SIZE: u64 = 5_242_880;
/// Largest `part_size` (5 GiB, S3's maximum part).
pub const MAX_PART_SIZE: u64 = 5_368_709_120;

/// The validated shape of an upload: total size, part size and number of parts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Plan {
    /// Total size in bytes.
    pub size: u64,
    /// Size of every part but the last.
    pub part_size: u64,
    /// Number of parts.
    pub parts: u64,
}

/// Checks `size` and `part_size` as sent, with production's errors and limits.
pub fn plan(size: Option<&str>, part_size: Option<&str>) -> Result<Plan, UploadError> {
    let size = size
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| UploadError::with(ErrorCode::RequestParamRequiredError, &["size"]))?;
    let size = within(
        size,
        ErrorCode::MultipartSizeInvalidError,
        (MIN_FILE_SIZE, ErrorCode::MultipartFileSizeTooSmallError),
        (
            MAX_FILE_SIZE,
            ErrorCode::MultipartFileSizeLimitExceededError,
        ),
    )?;
    let part_size = match part_size.map(str::trim).filter(|s| !s.is_empty()) {
        None => MIN_PART_SIZE,
        Some(p) => within(
            p,
            ErrorCode::MultipartPartSizeInvalidError,
            (MIN_PART_SIZE, ErrorCode::MultipartPartSizeTooSmallError),
            (MAX_PART_SIZE, ErrorCode::MultipartPartSizeTooBigError),
        )?,
    };
    Ok(Plan {
        size,
        part_size,
        parts: size.div_ceil(part_size),
    })
}

/// A size as sent: `invalid` unless a whole number (a negative one counts as 0), then the
/// `(limit, error)` of the bound it passes, the limit filling the message's `%d` if it has one.
fn within(
    raw: &str,
    invalid: ErrorCode,
    (min, too_small): (u64, ErrorCode),
    (max, too_big): (u64, ErrorCode),
) -> Result<u64, UploadError> {
    let n: i64 = raw.parse().map_err(|_| UploadError::new(invalid))?;
    let n = u64::try_from(n).unwrap_or(0);
    let out_of = |code: ErrorCode, limit: u64| UploadError::with(code, &[&limit.to_string()]);
    if n < min {
        return Err(out_of(too_small, min));
    }
    if n > max {
        return Err(out_of(too_big, max));
    }
    Ok(n)
}

/// A required text field: `%s is required.` when absent or blank.
fn required<'a>(fields: &'a Fields, name: &str) -> Result<&'a str, UploadError> {
    fields
        .given(name)
        .ok_or_else(|| UploadError::with(ErrorCode::RequestParamRequiredError, &[name]))
}

/// Where the parts of an upload are kept until completion with a `file://` blob store: in
/// its directory, so the joined file is renamed into place. (S3 stages them in the bucket:
/// [`crate::blobs::Staging`].)
fn parts_dir(state: &AppState, uuid: Uuid) -> PathBuf {
    state
        .blobs
        .local_root()
        .unwrap_or(&state.config.persistence.data_dir)
        .join("multipart")
        .join(uuid.simple().to_string())
}

/// The file the parts are written into, each at its offset.
fn data_path(state: &AppState, uuid: Uuid) -> PathBuf {
    parts_dir(state, uuid).join("data")
}

/// The record of part `n` (1-based): its size in bytes, present once the part is whole.
fn done_path(state: &AppState, uuid: Uuid, n: u64) -> PathBuf {
    parts_dir(state, uuid).join(format!("{n}.done"))
}

/// `POST /multipart/start/`: opens a session and answers `{"uuid", "parts": [URLs]}`.
pub async fn start(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    SignedForm(fields, project, _): SignedForm<UploadcarePubKey>,
) -> Result<Json<Value>, UploadError> {
    let filename = base_name(required(&fields, "filename")?);
    let plan = plan(fields.get("size"), fields.get("part_size"))?;
    let content_type = required(&fields, "content_type")?.to_owned();
    let metadata = form_metadata(&fields)?;
    let tags = form_tags(fields.get("tags"))?;
    let upload = MultipartUpload {
        uuid: Uuid::new_v4(),
        project: project.pub_key.clone(),
        filename,
        size: i64::try_from(plan.size).unwrap_or(i64::MAX),
        part_size: i64::try_from(plan.part_size).unwrap_or(i64::MAX),
        content_type,
        store: should_store(fields.get("UPLOADCARE_STORE"), project.autostore),
        metadata,
        tags,
        created_us: state.clock.now_us(),
        completed: false,
    };
    // The data file exists from the start: parts open it (never create it), so a part that
    // arrives after completion finds nothing to write into. (S3: parts meet in the bucket.)
    if state.blobs.staging().is_none() {
        let dir = parts_dir(&state, upload.uuid);
        tokio::fs::create_dir_all(&dir)
            .await
            .map_err(|e| UploadError::internal(e.into()))?;
        tokio::fs::File::create(data_path(&state, upload.uuid))
            .await
            .map_err(|e| UploadError::internal(e.into()))?;
    }
    state.store.insert_multipart(&upload).await?;
    let base = bases(&state.config.public_urls, &headers).upload;
    let parts: Vec<String> = (1..=plan.parts)
        .map(|n| format!("{base}/multipart/part/{}/{n}/", upload.uuid))
        .collect();
    Ok(Json(
        json!({ "uuid": upload.uuid.to_string(), "parts": parts }),
    ))
}

/// An S3-style XML error, as a presigned part URL answers.
fn s3_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    );
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/xml"),
        )],
        body,
    )
        .into_response()
}

fn no_such_upload() -> Response {
    s3_error(
        StatusCode::NOT_FOUND,
        "NoSuchUpload",
        "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.",
    )
}

fn internal_s3_error(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "multipart part failure");
    s3_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "InternalError",
        "We encountered an internal error. Please try again.",
    )
}

/// `PUT /multipart/part/<uuid>/<n>/`: stores part `n` (1-based) of an open upload, streaming
/// the body to disk; answers `200`, an empty body and the part's MD5 as `ETag`, like S3.
pub async fn put_part(
    State(state): State<Arc<AppState>>,
    Path((uuid, n)): Path<(String, String)>,
    body: Body,
) -> Response {
    let Ok(uuid) = Uuid::parse_str(&uuid) else {
        return no_such_upload();
    };
    let upload = match state.store.multipart(uuid).await {
        Ok(Some(u)) if !u.completed => u,
        Ok(_) => return no_such_upload(),
        Err(e) => return internal_s3_error(e),
    };
    let count = u64::try_from(upload.size)
        .unwrap_or(0)
        .div_ceil(u64::try_from(upload.part_size).unwrap_or(1).max(1));
    let n = match n.parse::<u64>() {
        Ok(n) if (1..=count).contains(&n) => n,
        _ => {
            return s3_error(
                StatusCode::BAD_REQUEST,
                "InvalidArgument",
                &format!("Part number must be an integer between 1 and {count}, inclusive"),
            )
        }
    };
    if let Some(staging) = state.blobs.staging() {
        return put_staged_part(&staging, uuid, n, body).await;
    }
    let dir = parts_dir(&state, uuid);
    // Shared lock on the data file: completion takes it exclusively, so it never joins a
    // file a part is still being written into.
    let data = match lock_data(data_path(&state, uuid), false).await {
        Ok(Some(file)) => file,
        Ok(None) => return no_such_upload(),
        Err(e) => return internal_s3_error(e),
    };
    // Withdrawn first: until this part is whole again, it counts as missing.
    let done = done_path(&state, uuid, n);
    if let Err(e) = tokio::fs::remove_file(&done).await {
        if e.kind() != std::io::ErrorKind::NotFound {
            return internal_s3_error(e);
        }
    }
    let part_size = u64::try_from(upload.part_size).unwrap_or(0);
    let size = u64::try_from(upload.size).unwrap_or(0);
    let offset = (n - 1) * part_size;
    let region = part_size.min(size - offset);
    match receive_part(data, offset, region, body).await {
        Ok(Received::Done { etag, size }) => {
            let tmp = dir.join(format!("{n}.{}.tmp", Uuid::new_v4().simple()));
            let recorded = async {
                tokio::fs::write(&tmp, size.to_string()).await?;
                tokio::fs::rename(&tmp, &done).await
            };
            if let Err(e) = recorded.await {
                let _ = tokio::fs::remove_file(&tmp).await;
                return internal_s3_error(e);
            }
            part_answer(Received::Done { etag, size })
        }
        Ok(other) => part_answer(other),
        Err(e) => internal_s3_error(e),
    }
}

/// S3's answer to a part PUT that ended as `received`.
fn part_answer(received: Received) -> Response {
    match received {
        Received::Done { etag, .. } => {
            let mut response = StatusCode::OK.into_response();
            if let Ok(v) = HeaderValue::from_str(&format!("\"{etag}\"")) {
                response.headers_mut().insert(header::ETAG, v);
            }
            response
        }
        Received::TooLarge => s3_error(
            StatusCode::BAD_REQUEST,
            "EntityTooLarge",
            "Your proposed upload exceeds the maximum allowed size",
        ),
        // S3's answers to a client that stalls or breaks off: the part stays missing.
        Received::Failed(BodyFailure::TimedOut) => s3_error(
            StatusCode::BAD_REQUEST,
            "RequestTimeout",
            "Your socket connection to the server was not read from or written to within the timeout period. Idle connections will be closed.",
        ),
        Received::Failed(_) => s3_error(
            StatusCode::BAD_REQUEST,
            "IncompleteBody",
            "You did not provide the number of bytes specified by the Content-Length HTTP header",
        ),
    }
}

/// Part `n` of `uuid` staged in the S3 bucket: withdrawn first (missing until whole again),
/// then streamed to `parts/<upload>/<n>`, which appears only once the body is complete.
async fn put_staged_part(staging: &Staging, uuid: Uuid, n: u64, body: Body) -> Response {
    let upload = uuid.simple().to_string();
    if let Err(e) = staging.remove_part(&upload, n).await {
        return internal_s3_error(e);
    }
    let mut writer = staging.part_writer(&upload, n);
    let mut md5 = Md5::new();
    let mut size: u64 = 0;
    let mut stream = body.into_data_stream();
    let refused = loop {
        let chunk = match stream.next().await {
            None => break None,
            Some(Err(e)) => break Some(Received::Failed(body_failure(&e))),
            Some(Ok(chunk)) => chunk,
        };
        size += chunk.len() as u64;
        if size > MAX_PART_SIZE {
            break Some(Received::TooLarge);
        }
        md5.update(&chunk);
        if let Err(e) = writer.write(&chunk).await {
            writer.abort().await;
            return internal_s3_error(e);
        }
    };
    if let Some(refused) = refused {
        writer.abort().await;
        return part_answer(refused);
    }
    if let Err(e) = writer.finish().await {
        return internal_s3_error(e);
    }
    part_answer(Received::Done {
        etag: hex::encode(md5.finalize()),
        size,
    })
}

/// Opens the data file at `path` for writing and locks it, shared or `exclusive`. `None`
/// when there is no such file, or when the file was joined (moved away) while waiting.
async fn lock_data(path: PathBuf, exclusive: bool) -> std::io::Result<Option<tokio::fs::File>> {
    use std::os::unix::fs::MetadataExt;
    tokio::task::spawn_blocking(move || {
        let file = match std::fs::OpenOptions::new().write(true).open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        if exclusive {
            file.lock()?;
        } else {
            file.lock_shared()?;
        }
        let held = file.metadata()?;
        match std::fs::metadata(&path) {
            Ok(now) if (now.dev(), now.ino()) == (held.dev(), held.ino()) => {
                Ok(Some(tokio::fs::File::from_std(file)))
            }
            Ok(_) => Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    })
    .await
    .map_err(std::io::Error::other)?
}

/// How receiving a part ended.
enum Received {
    /// The whole body arrived: the MD5 hex of the part and its size.
    Done { etag: String, size: u64 },
    /// The part is larger than S3 allows.
    TooLarge,
    /// The body stalled or broke off.
    Failed(BodyFailure),
}

/// Streams a request body into `path` at `offset`, hashing it. At most `region` bytes are
/// written (the part's place in the file); any more are counted, not written, so a part of
/// the wrong size never overwrites its neighbour and completion can tell what went wrong.
async fn receive_part(
    mut file: tokio::fs::File,
    offset: u64,
    region: u64,
    body: Body,
) -> Result<Received, StoreError> {
    file.seek(std::io::SeekFrom::Start(offset)).await?;
    let mut md5 = Md5::new();
    let mut size: u64 = 0;
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = match chunk {
            Ok(chunk) => chunk,
            Err(e) => return Ok(Received::Failed(body_failure(&e))),
        };
        let room = usize::try_from(region.saturating_sub(size)).unwrap_or(usize::MAX);
        size += chunk.len() as u64;
        if size > MAX_PART_SIZE {
            return Ok(Received::TooLarge);
        }
        md5.update(&chunk);
        file.write_all(&chunk[..chunk.len().min(room)]).await?;
    }
    file.flush().await?;
    file.sync_data().await?;
    Ok(Received::Done {
        etag: hex::encode(md5.finalize()),
        size,
    })
}

/// `POST /multipart/complete/`: joins the parts into the file and answers its
/// `fileUploadInfo`.
pub async fn complete(
    State(state): State<Arc<AppState>>,
    source: EventSource,
    request: Request,
) -> Result<Json<Value>, UploadError> {
    let fields = text_fields(request).await?;
    let project = auth::upload::project(&state, &fields, UploadcarePubKey::NAME).await?;
    let uuid = fields.require("uuid", ErrorCode::MultipartFileIdRequiredError)?;
    let uuid = Uuid::parse_str(uuid).map_err(|_| UploadError::new(ErrorCode::UUIDInvalidError))?;
    let upload = state
        .store
        .multipart(uuid)
        .await?
        .filter(|u| u.project == project.pub_key)
        .ok_or_else(|| UploadError::new(ErrorCode::MultipartFileNotFoundError))?;
    if upload.completed {
        return Err(UploadError::new(
            ErrorCode::MultipartFileAlreadyUploadedError,
        ));
    }
    let size = u64::try_from(upload.size).unwrap_or(0);
    let part_size = u64::try_from(upload.part_size).unwrap_or(1).max(1);
    let count = size.div_ceil(part_size);
    if let Some(staging) = state.blobs.staging() {
        return complete_staged(&state, &staging, &upload, &project.pub_key, source, count).await;
    }

    // Held until the file is joined: no part is being written meanwhile, and one that comes
    // later finds the data file gone.
    let Some(_data) = lock_data(data_path(&state, uuid), true)
        .await
        .map_err(|e| UploadError::internal(e.into()))?
    else {
        // Another completion joined it while this one waited.
        let completed = state
            .store
            .multipart(uuid)
            .await?
            .is_some_and(|u| u.completed);
        return Err(UploadError::new(if completed {
            ErrorCode::MultipartFileAlreadyUploadedError
        } else {
            ErrorCode::MultipartFileNotFoundError
        }));
    };
    // Sizes of the parts received so far, `None` where a part is missing.
    let mut sizes = Vec::new();
    for n in 1..=count {
        match tokio::fs::read_to_string(done_path(&state, uuid, n)).await {
            Ok(text) => sizes.push(text.trim().parse::<u64>().ok()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => sizes.push(None),
            Err(e) => return Err(UploadError::internal(e.into())),
        }
    }
    check_sizes(&sizes, size, part_size)?;

    // Every part is whole and in place: the data file is the file.
    let blob = state.blobs.adopt(&data_path(&state, uuid)).await?;
    let record = record_completed(&state, &upload, &project.pub_key, blob, &source).await?;
    if let Err(e) = tokio::fs::remove_dir_all(parts_dir(&state, uuid)).await {
        tracing::warn!(error = %e, %uuid, "could not remove multipart parts");
    }
    Ok(Json(Value::Object(file_upload_info(&record))))
}

/// Checks the parts' sizes (`None`: missing) against the upload's size and part size.
fn check_sizes(sizes: &[Option<u64>], size: u64, part_size: u64) -> Result<(), UploadError> {
    let total: u64 = sizes.iter().flatten().sum();
    if total > size {
        return Err(UploadError::new(
            ErrorCode::MultipartUploadSizeTooLargeError,
        ));
    }
    if total < size || sizes.iter().any(Option::is_none) {
        return Err(UploadError::new(
            ErrorCode::MultipartUploadSizeTooSmallError,
        ));
    }
    // The right total from parts of the wrong sizes (S3 refuses such a completion too).
    let last = sizes.len().saturating_sub(1);
    if sizes
        .iter()
        .enumerate()
        .any(|(i, s)| i < last && *s != Some(part_size))
    {
        return Err(UploadError::new(
            ErrorCode::MultipartFileCompletionFailedError,
        ));
    }

    Ok(())
}

/// Completion with parts staged in the S3 bucket: joined in order into one blob (hashed
/// once, as it streams), the file written, then the parts removed.
async fn complete_staged(
    state: &AppState,
    staging: &Staging,
    upload: &MultipartUpload,
    project: &str,
    source: EventSource,
    count: u64,
) -> Result<Json<Value>, UploadError> {
    use tokio::io::AsyncReadExt;
    let size = u64::try_from(upload.size).unwrap_or(0);
    let part_size = u64::try_from(upload.part_size).unwrap_or(1).max(1);
    let key = upload.uuid.simple().to_string();
    let staged = staging.parts(&key).await?;
    let sizes: Vec<Option<u64>> = (1..=count).map(|n| staged.get(&n).copied()).collect();
    check_sizes(&sizes, size, part_size)?;
    let mut writer = state.blobs.writer().await?;
    let mut buf = vec![0u8; 1 << 20];
    for n in 1..=count {
        let mut part = match staging.read_part(&key, n).await {
            Ok(part) => part,
            // Withdrawn since the listing: a client is sending it again.
            Err(_) if !staging.parts(&key).await?.contains_key(&n) => {
                return Err(UploadError::new(
                    ErrorCode::MultipartFileCompletionFailedError,
                ))
            }
            Err(e) => return Err(e.into()),
        };
        loop {
            let read = part
                .read(&mut buf)
                .await
                .map_err(|e| UploadError::internal(e.into()))?;
            if read == 0 {
                break;
            }
            writer.write(&buf[..read]).await?;
        }
    }
    if writer.size() != size {
        // A part was replaced while it was being read.
        return Err(UploadError::new(
            ErrorCode::MultipartFileCompletionFailedError,
        ));
    }
    let blob = writer.finish().await?;
    let record = record_completed(state, upload, project, blob, &source).await?;
    if let Err(e) = staging.remove_parts(&key).await {
        tracing::warn!(error = %e, uuid = %upload.uuid, "could not remove staged multipart parts");
    }
    Ok(Json(Value::Object(file_upload_info(&record))))
}

/// Writes the completed upload's file from its joined `blob`.
async fn record_completed(
    state: &AppState,
    upload: &MultipartUpload,
    project: &str,
    blob: crate::blobs::Blob,
    source: &EventSource,
) -> Result<crate::store::FileRecord, UploadError> {
    // Detection knows common formats only; otherwise the type the client announced stays.
    let mut record = NewFile {
        uuid: upload.uuid,
        project: project.to_owned(),
        blob,
        filename: upload.filename.clone(),
        announced_type: Some(upload.content_type.clone()),
        metadata: upload.metadata.clone(),
        tags: upload.tags.clone(),
        store: upload.store,
        uploaded_us: state.clock.unique_us(),
    }
    .into_record();
    if !changes::complete_multipart(state, &mut record, source).await? {
        return Err(UploadError::new(
            ErrorCode::MultipartFileAlreadyUploadedError,
        ));
    }
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(r: Result<Plan, UploadError>) -> Result<Plan, (ErrorCode, String)> {
        r.map_err(|e| (e.code, e.message))
    }

    #[test]
    fn plans() {
        assert_eq!(
            plan(Some("27796904"), None),
            Ok(Plan {
                size: 27_796_904,
                part_size: MIN_PART_SIZE,
                parts: 6
            })
        );
        assert_eq!(plan(Some("10485760"), Some("10485760")).unwrap().parts, 1);
        assert_eq!(plan(Some("10485761"), Some("5242880")).unwrap().parts, 3);
        assert_eq!(code(plan(None, None)).unwrap_err().1, "size is required.");
        assert_eq!(
            code(plan(Some("1e7"), None)).unwrap_err().0,
            ErrorCode::MultipartSizeInvalidError
        );
        assert_eq!(
            code(plan(Some("10485759"), None)).unwrap_err().1,
            "File size can not be less than 10485760 bytes. Please use direct upload instead of multipart."
        );
        assert_eq!(
            code(plan(Some("-5"), None)).unwrap_err().0,
            ErrorCode::MultipartFileSizeTooSmallError
        );
        assert_eq!(
            code(plan(Some("5368709121"), None)).unwrap_err().0,
            ErrorCode::MultipartFileSizeLimitExceededError
        );
        assert_eq!(
            code(plan(Some("10485760"), Some("x"))).unwrap_err().0,
            ErrorCode::MultipartPartSizeInvalidError
        );
        assert_eq!(
            code(plan(Some("10485760"), Some("5242879"))).unwrap_err().1,
            "Multipart Upload Part Size can not be less than 5242880 bytes."
        );
        assert_eq!(
            code(plan(Some("10485760"), Some("5368709121")))
                .unwrap_err()
                .1,
            "Multipart Upload Part Size can not be more than 5368709120 bytes."
        );
    }
}
