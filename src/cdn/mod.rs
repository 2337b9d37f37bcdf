//! The CDN (`ucarecdn.com`, url-api.openapi.yml): files, groups and group archives, served
//! on the same listener as the other APIs. Every CDN path starts with a uuid, so one
//! catch-all route takes what the Upload and REST routes leave, and [`path::parse`] decides.
//!
//! Image operations (`resize`, `preview`, `format`, …) are applied by [`transform`] and
//! the results cached; a path without them serves the original bytes. `-/json/` answers
//! the (processed) file's facts, `-/inline/yes|no/` sets `Content-Disposition`, and a
//! project with a secure delivery secret needs signed URLs ([`secure`]).

pub mod archive;
pub mod error;
pub mod http;
pub mod path;
pub mod secure;
pub mod transform;

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::Value;

use tokio_util::io::ReaderStream;

use self::archive::ArchiveFormat;
use self::archive::{Entry, MAX_ARCHIVE_BYTES};
use self::error::CdnError;
use self::http::{http_date, if_range_holds, not_modified, range, RangeAnswer};
use self::path::{CdnPath, GroupTarget, Operation};
use self::transform::cache::Variant;
use self::transform::{Pipeline, TransformError};
use crate::blobs::Blobs;
use crate::domain::files::is_live;
use crate::domain::groups::GroupId;
use crate::routing::Api;
use crate::store::{FileRecord, GroupMember};
use crate::urls::bases;
use crate::AppState;
use axum::body::Bytes;

/// `Cache-Control` of stored files: production caches files "for up to one year".
const MAX_AGE_S: i64 = 31_536_000;

/// What production exposes to browsers (recorded on `ucarecdn.com`).
const EXPOSE_HEADERS: &str = "Content-Length, Etag, X-Image-Width, X-Image-Height, \
                              X-Image-Acceptable-Original, X-Image-Acceptable-Improved";

/// Production keeps files out of search engines by default.
const ROBOTS: &str = "noindex, nofollow, nosnippet, noarchive";

/// Read buffer of streamed bodies.
const CHUNK: usize = 64 * 1024;

/// The CDN's routes: one catch-all below the other APIs' static routes.
pub fn router() -> Router<Arc<AppState>> {
    Router::new().route("/{*path}", any(cdn))
}

/// Every CDN path, any method: parses the path, then serves a file, a group page, a group
/// member or a group archive.
async fn cdn(
    State(state): State<Arc<AppState>>,
    method: Method,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    // The catch-all also sees the other APIs' unknown paths (`/groups/a/b/`): those get
    // their own API's answer.
    if Api::of(uri.path()) != Api::Cdn {
        return crate::routing::unknown_path(uri.path());
    }
    match serve(&state, &method, &headers, &uri).await {
        Ok(response) => response,
        Err(e) => e.into_response(),
    }
}

async fn serve(
    state: &AppState,
    method: &Method,
    headers: &HeaderMap,
    uri: &Uri,
) -> Result<Response, CdnError> {
    let parsed = path::parse(uri.path()).ok_or(CdnError::NotFound)?;
    let head = match *method {
        Method::GET => false,
        Method::HEAD => true,
        _ => return Err(CdnError::MethodNotAllowed),
    };
    let now = state.clock.now_us();
    // A conversion's result has no bytes until its job finishes: not served until then.
    let live = |f: &FileRecord| is_live(f, now, state.retention_us()) && f.is_ready();
    match parsed {
        CdnPath::File { uuid, delivery } => {
            let file = state
                .store
                .file(None, uuid)
                .await?
                .filter(live)
                .ok_or(CdnError::NotFound)?;
            check_token(state, &file.project, uri)?;
            let serving = Serving {
                headers,
                head,
                file: &file,
                operations: &delivery.operations,
                filename: delivery.filename,
            };
            deliver(state, &serving).await
        }
        CdnPath::Group { id, target } => {
            let (_, members) = state
                .store
                .group(None, id.uuid)
                .await?
                .filter(|(g, _)| g.files_count == id.count)
                .ok_or(CdnError::NotFound)?;
            for project in members
                .iter()
                .filter_map(|m| m.file.as_ref().map(|f| &f.project))
            {
                check_token(state, project, uri)?;
            }
            match target {
                GroupTarget::Page => Ok(group_page(state, headers, id, &members, head)),
                GroupTarget::Nth { index, delivery } => {
                    let member = members.get(index).ok_or(CdnError::NotFound)?;
                    let file = member
                        .file
                        .as_ref()
                        .filter(|f| live(f))
                        .ok_or(CdnError::NotFound)?;
                    // The member's own effects come first, then the URL's.
                    let mut operations =
                        path::parse_effects(&member.default_effects).unwrap_or_default();
                    operations.extend(delivery.operations);
                    let serving = Serving {
                        headers,
                        head,
                        file,
                        operations: &operations,
                        filename: delivery.filename,
                    };
                    deliver(state, &serving).await
                }
                GroupTarget::Archive { format, filename } => {
                    // Production: "If the group contains a removed file, the archive
                    // operation will fail with a 404 error code."
                    let mut files = Vec::with_capacity(members.len());
                    for m in &members {
                        files.push(
                            m.file
                                .as_ref()
                                .filter(|f| live(f))
                                .ok_or(CdnError::NotFound)?,
                        );
                    }
                    group_archive(state, &files, id, format, filename, head)
                }
            }
        }
    }
}

/// Secure delivery: a project with a secret needs a valid token on every CDN path.
fn check_token(state: &AppState, project: &str, uri: &Uri) -> Result<(), CdnError> {
    match state.config.secure_delivery.get(project) {
        Some(secret) => {
            let now_s = state.clock.now_us().div_euclid(1_000_000);
            if secure::admits(uri.query(), uri.path(), secret, now_s) {
                Ok(())
            } else {
                Err(CdnError::Forbidden)
            }
        }
        None => Ok(()),
    }
}

/// One file to serve: the parts of the request that delivery reads, the file, and what its
/// URL asks for.
struct Serving<'a> {
    headers: &'a HeaderMap,
    head: bool,
    file: &'a FileRecord,
    operations: &'a [Operation],
    filename: Option<String>,
}

impl Serving<'_> {
    fn header(&self, name: HeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The name it is served under: the URL's custom filename, else the original's.
    fn name(&self) -> &str {
        self.filename
            .as_deref()
            .unwrap_or(&self.file.original_filename)
    }
}

/// Serves one file: its original bytes, its processed variant, or JSON about either
/// (`-/json/`, `-/main_colors/`, `detect_faces`), with validators, caching and single
/// byte ranges.
async fn deliver(state: &AppState, serving: &Serving<'_>) -> Result<Response, CdnError> {
    let file = serving.file;
    let pipeline = Pipeline::parse(serving.operations)?;
    if !pipeline.processes {
        if pipeline.detect_faces {
            if file.image.is_none() {
                return Err(TransformError::NotAnImage.into());
            }
            return Ok(file_json(file, None, true));
        }
        if pipeline.json {
            return Ok(file_json(file, None, false));
        }
        return deliver_original(state, serving).await;
    }
    if file.image.is_none() {
        return Err(TransformError::NotAnImage.into());
    }
    let accepts_webp = serving
        .header(header::ACCEPT)
        .is_some_and(|a| a.contains("image/webp"));
    let variant = transform::variant(state, file, &pipeline, accepts_webp).await?;
    if pipeline.json || pipeline.detect_faces {
        return Ok(file_json(file, Some(&variant), pipeline.detect_faces));
    }
    let (mime, kind) = match variant.format {
        Some(format) => (format.mime(), disposition(file, serving.operations)),
        None => ("application/json", "inline"),
    };
    let builder = common_headers(state, file, &variant.etag)
        .header(header::VARY, "Accept")
        .header("x-image-width", variant.width)
        .header("x-image-height", variant.height);
    let payload = Payload::Bytes(variant.bytes.clone());
    respond(serving, builder, &variant.etag, payload, mime, kind).await
}

/// The original bytes of a file.
async fn deliver_original(state: &AppState, serving: &Serving<'_>) -> Result<Response, CdnError> {
    let file = serving.file;
    let etag = format!("\"{}\"", file.blob);
    let builder = common_headers(state, file, &etag);
    let kind = disposition(file, serving.operations);
    let mime = content_type(&file.mime_type);
    let mime = mime.to_str().unwrap_or("application/octet-stream");
    let payload = Payload::Blob(state.blobs.clone(), file.blob.clone());
    respond(serving, builder, &etag, payload, mime, kind).await
}

/// A body to serve: a blob in the store (by its address) or bytes in memory.
enum Payload {
    Blob(Blobs, String),
    Bytes(Bytes),
}

/// Validators, caching and robots headers every delivered file carries.
fn common_headers(
    state: &AppState,
    file: &FileRecord,
    etag: &str,
) -> axum::http::response::Builder {
    Response::builder()
        .header(header::ETAG, etag)
        .header(header::LAST_MODIFIED, http_date(file.uploaded_us))
        .header(
            header::CACHE_CONTROL,
            format!("public, max-age={}", max_age(state, file)),
        )
        .header(header::ACCESS_CONTROL_EXPOSE_HEADERS, EXPOSE_HEADERS)
        .header("x-robots-tag", ROBOTS)
}

/// Answers 304, 206, 416 or 200 for `payload`, as the request's conditionals ask.
async fn respond(
    serving: &Serving<'_>,
    mut builder: axum::http::response::Builder,
    etag: &str,
    payload: Payload,
    mime: &str,
    kind: &str,
) -> Result<Response, CdnError> {
    let last_modified_s = serving.file.uploaded_us.div_euclid(1_000_000);
    if not_modified(
        serving.header(header::IF_NONE_MATCH),
        serving.header(header::IF_MODIFIED_SINCE),
        etag,
        last_modified_s,
    ) {
        return builder
            .status(StatusCode::NOT_MODIFIED)
            .body(Body::empty())
            .map_err(internal);
    }
    let size = match &payload {
        Payload::Blob(blobs, hash) => blobs.size(hash).await?,
        Payload::Bytes(b) => b.len() as u64,
    };
    let wanted = if if_range_holds(serving.header(header::IF_RANGE), etag, last_modified_s) {
        range(serving.header(header::RANGE), size)
    } else {
        RangeAnswer::Full
    };
    let (status, start, len) = match wanted {
        RangeAnswer::Full => (StatusCode::OK, 0, size),
        RangeAnswer::Partial { start, end } => {
            builder = builder.header(header::CONTENT_RANGE, format!("bytes {start}-{end}/{size}"));
            (StatusCode::PARTIAL_CONTENT, start, end - start + 1)
        }
        RangeAnswer::Unsatisfiable => return Err(CdnError::RangeNotSatisfiable(size)),
    };
    let body = match payload {
        _ if serving.head => Body::empty(),
        // A ranged read: on S3 one ranged GET of just these bytes.
        Payload::Blob(blobs, hash) => Body::from_stream(ReaderStream::with_capacity(
            blobs.read_range(&hash, start, len).await?,
            CHUNK,
        )),
        Payload::Bytes(bytes) => {
            // Both ends lie inside the body (`range` guarantees it).
            let (start, end) = (start as usize, (start + len) as usize);
            Body::from(bytes.slice(start..end))
        }
    };
    builder
        .status(status)
        .header(header::CONTENT_TYPE, mime)
        .header(header::CONTENT_LENGTH, len)
        .header(header::ACCEPT_RANGES, "bytes")
        .header(
            header::CONTENT_DISPOSITION,
            content_disposition(kind, serving.name()),
        )
        .body(body)
        .map_err(internal)
}

/// Seconds a client may cache a file: a year once stored, else until the file expires.
fn max_age(state: &AppState, file: &FileRecord) -> i64 {
    if file.stored_us.is_some() {
        return MAX_AGE_S;
    }
    let left_us = file
        .uploaded_us
        .saturating_add(state.retention_us())
        .saturating_sub(state.clock.now_us());
    (left_us / 1_000_000).clamp(0, MAX_AGE_S)
}

/// `inline` or `attachment`: images are shown and other files downloaded, unless
/// `-/inline/yes|no/` says otherwise (url-api.openapi.yml, "Image processing limitations").
fn disposition(file: &FileRecord, operations: &[Operation]) -> &'static str {
    let asked = operations
        .iter()
        .rev()
        .find(|op| op.name == "inline")
        .map(|op| op.params.first().map(String::as_str) != Some("no"));
    if asked.unwrap_or(file.image.is_some()) {
        "inline"
    } else {
        "attachment"
    }
}

/// Characters kept as they are in an RFC 5987 `filename*` value.
const ATTR_CHAR: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// `<kind>; filename="<ascii>"; filename*=UTF-8''<encoded>`.
fn content_disposition(kind: &str, name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c == ' ' || (c.is_ascii_graphic() && c != '"' && c != '\\') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded = utf8_percent_encode(name, ATTR_CHAR);
    format!("{kind}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

/// The stored MIME type as a header value, `application/octet-stream` if it is not one.
fn content_type(mime: &str) -> HeaderValue {
    HeaderValue::from_str(mime)
        .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"))
}

fn internal(e: axum::http::Error) -> CdnError {
    CdnError::Internal(crate::error::StoreError::Internal(e.to_string()))
}

/// `-/json/`: the file object of url-api.openapi.yml, in production's Python spacing, of
/// the processed image when there is one. Non-images carry only `id`; perceptual
/// `hash`/`blurhash` are not computed. `detect_faces` adds `faces`: the emulator finds
/// none, an honest answer in production's shape (pyuploadcare's cassette
/// `test_file_detect_faces.yaml`).
fn file_json(file: &FileRecord, processed: Option<&Variant>, faces: bool) -> Response {
    let mut object = serde_json::Map::new();
    object.insert("id".into(), file.uuid.to_string().into());
    if let Some(image) = &file.image {
        let (width, height, format) = match processed {
            Some(v) => (
                v.width.into(),
                v.height.into(),
                v.format
                    .map_or(image.format.clone(), |f| f.name().to_owned()),
            ),
            None => (
                image.width.into(),
                image.height.into(),
                image.format.clone(),
            ),
        };
        let width: Value = width;
        let height: Value = height;
        if faces {
            // Production's detect_faces answer: its own keys and order, no `sequence` or
            // `color_mode` (pyuploadcare's `test_file_detect_faces.yaml`).
            object.insert("orientation".into(), Value::Null);
            object.insert("format".into(), format.into());
            object.insert("height".into(), height);
            object.insert("width".into(), width);
            object.insert("geo_location".into(), Value::Null);
            object.insert("datetime_original".into(), Value::Null);
            object.insert("dpi".into(), Value::Null);
            object.insert("faces".into(), Value::Array(Vec::new()));
        } else {
            object.insert("dpi".into(), Value::Null);
            object.insert("width".into(), width);
            object.insert("format".into(), format.into());
            object.insert("height".into(), height);
            object.insert("sequence".into(), false.into());
            object.insert("color_mode".into(), image.color_mode.clone().into());
            object.insert("orientation".into(), Value::Null);
            object.insert("geo_location".into(), Value::Null);
            object.insert("datetime_original".into(), Value::Null);
        }
    }
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::ACCESS_CONTROL_EXPOSE_HEADERS, EXPOSE_HEADERS),
        ],
        python_json(&Value::Object(object)),
    )
        .into_response()
}

/// JSON as Python's `json.dumps` writes it: `", "` and `": "` separators.
fn python_json(value: &Value) -> String {
    match value {
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(python_json).collect();
            format!("[{}]", items.join(", "))
        }
        Value::Object(map) => {
            let pairs: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{}: {}", Value::from(k.as_str()), python_json(v)))
                .collect();
            format!("{{{}}}", pairs.join(", "))
        }
        other => other.to_string(),
    }
}

/// The group page: production documents "a list of individual file URLs with their UUIDs,
/// and index numbers in that group"; the emulator writes that as a small HTML list, each
/// item linking the member's `nth` URL and its file URL with default effects.
fn group_page(
    state: &AppState,
    headers: &HeaderMap,
    id: GroupId,
    members: &[GroupMember],
    head: bool,
) -> Response {
    let cdn = bases(&state.config.public_urls, headers).cdn;
    let now = state.clock.now_us();
    let mut items = String::new();
    for (i, m) in members.iter().enumerate() {
        let live = m
            .file
            .as_ref()
            .is_some_and(|f| is_live(f, now, state.retention_us()));
        let nth = format!("{cdn}/{id}/nth/{i}/");
        let effects = if m.default_effects.is_empty() {
            String::new()
        } else {
            format!("-/{}", m.default_effects)
        };
        let file_url = format!("{cdn}/{}/{effects}", m.file_uuid);
        if live {
            items.push_str(&format!(
                "<li value=\"{i}\"><a href=\"{nth}\">{nth}</a> {uuid} <a href=\"{file_url}\">{file_url}</a></li>\n",
                nth = escape(&nth),
                uuid = m.file_uuid,
                file_url = escape(&file_url),
            ));
        } else {
            items.push_str(&format!(
                "<li value=\"{i}\">{uuid} (removed)</li>\n",
                uuid = m.file_uuid
            ));
        }
    }
    let html = format!(
        "<!DOCTYPE html>\n<html>\n<head><meta charset=\"utf-8\"><title>Group {id}</title></head>\n\
         <body>\n<h1>Group {id}</h1>\n<ol start=\"0\">\n{items}</ol>\n</body>\n</html>\n"
    );
    let len = html.len();
    let body = if head {
        Body::empty()
    } else {
        Body::from(html)
    };
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
            (header::CONTENT_LENGTH, HeaderValue::from(len)),
            (
                HeaderName::from_static("x-robots-tag"),
                HeaderValue::from_static(ROBOTS),
            ),
        ],
        body,
    )
        .into_response()
}

/// Escapes text for HTML.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `/archive/zip|tar/[name]`: the group's original files, streamed as they are written.
fn group_archive(
    state: &AppState,
    files: &[&FileRecord],
    id: GroupId,
    format: ArchiveFormat,
    filename: Option<String>,
    head: bool,
) -> Result<Response, CdnError> {
    let total: u64 = files
        .iter()
        .map(|f| u64::try_from(f.size).unwrap_or(0))
        .sum();
    if total > MAX_ARCHIVE_BYTES {
        return Err(CdnError::ArchiveTooLarge);
    }
    let names = archive::entry_names(files.iter().map(|f| f.original_filename.as_str()));
    let entries: Vec<Entry> = files
        .iter()
        .zip(names)
        .map(|(f, name)| Entry {
            name,
            source: archive::Source::Blob(f.blob.clone()),
            size: u64::try_from(f.size).unwrap_or(0),
            mtime_s: f.uploaded_us.div_euclid(1_000_000),
        })
        .collect();
    let (mime, ext, len) = match format {
        ArchiveFormat::Zip => ("application/zip", "zip", archive::zip_len(&entries)),
        ArchiveFormat::Tar => ("application/x-tar", "tar", archive::tar_len(&entries)),
    };
    let name = filename.unwrap_or_else(|| format!("{id}.{ext}"));
    let body = if head {
        Body::empty()
    } else {
        // The writer runs beside the response; a closed connection ends it with an error.
        let (mut writer, reader) = tokio::io::duplex(CHUNK);
        let blobs = state.blobs.clone();
        tokio::spawn(async move {
            let written = match format {
                ArchiveFormat::Zip => archive::write_zip(&mut writer, &blobs, &entries).await,
                ArchiveFormat::Tar => archive::write_tar(&mut writer, &blobs, &entries).await,
            };
            if let Err(e) = written {
                tracing::warn!(error = %e, "group archive stopped");
            }
        });
        Body::from_stream(ReaderStream::with_capacity(reader, CHUNK))
    };
    Response::builder()
        .header(header::CONTENT_TYPE, mime)
        .header(header::CONTENT_LENGTH, len)
        .header(
            header::CONTENT_DISPOSITION,
            content_disposition("attachment", &name),
        )
        .header(header::ACCESS_CONTROL_EXPOSE_HEADERS, EXPOSE_HEADERS)
        .header("x-robots-tag", ROBOTS)
        .body(body)
        .map_err(internal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dispositions() {
        assert_eq!(
            content_disposition("inline", "a b.png"),
            "inline; filename=\"a b.png\"; filename*=UTF-8''a%20b.png"
        );
        assert_eq!(
            content_disposition("attachment", "ф\".txt"),
            "attachment; filename=\"__.txt\"; filename*=UTF-8''%D1%84%22.txt"
        );
    }

    #[test]
    fn python_spacing() {
        let v = serde_json::json!({"id": "x", "dpi": [72, 72], "n": null});
        assert_eq!(
            python_json(&v),
            "{\"id\": \"x\", \"dpi\": [72, 72], \"n\": null}"
        );
    }
}
