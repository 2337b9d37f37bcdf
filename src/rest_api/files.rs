//! The REST `file` object; `GET /files/`, `GET /files/<uuid>/`, `PUT|DELETE
//! /files/<uuid>/storage/`, and batch `PUT`/`DELETE /files/storage/`.
//!
//! Decisions where production is undocumented:
//! - An unstored file older than the project's retention has expired: production deletes
//!   such files, so the emulator shows it as removed at `datetime_uploaded` + retention
//!   (file info answers 200 with `datetime_removed` set, lists count it under `removed`,
//!   groups show `null`, the CDN answers 404).
//! - `GET /files/<uuid>/` answers removed and expired files (200, `datetime_removed` set);
//!   malformed, unknown and other projects' uuids answer 404 `Not found.`.
//! - `PUT /files/<uuid>/storage/` of a removed or expired file answers 404 (its bytes are
//!   gone); `DELETE` of one answers 200 with the file as it is (idempotent).
//! - `include=appdata` adds the file's `appdata` (`{}` when no add-on ran on it; see
//!   `crate::addons`); other `include` values are ignored.
//! - `stored`/`removed` take `true`/`false` (any case) or `1`/`0`; other values answer 400.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::response::Response;
use axum::Extension;
use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::error::{json_response, RestError, RestErrorCode};
use super::pagination::{last_value, page_links, parse_list_query_for, query_pairs, FILES};
use super::path_call::{PathCall, PathTarget};
use super::version::{ApiVersion, RestView};
use crate::auth::rest::RestCall;
use crate::domain::changes;
use crate::domain::files::{content_info, image_info, is_live, sanitize_filename};
use crate::domain::groups::parse_file_uuid;
use crate::domain::time::iso;
use crate::store::{Expiry, FileChange, FileFilter, FileRecord};
use crate::urls::Bases;
use crate::webhooks::events::EventSource;
use crate::AppState;

/// Most uuids one batch request takes.
pub const MAX_BATCH: usize = 100;

/// The REST `file` object, keys in production's order. v0.7 (recorded 2022-2023):
/// `content_info` and `metadata`, and `tags` (docs changelog 2026-06-29: in every v0.7 file
/// info, `[]` when none); earlier versions: `image_info` and `video_info` instead.
/// `appdata` is left out: production adds it only to `GET /files/` with `include=appdata`,
/// and its group members have none. `original_file_url` names the file by its cleaned name,
/// as production does, and is `null` once the file is removed.
pub fn rest_file(file: &FileRecord, version: ApiVersion, b: &Bases) -> Map<String, Value> {
    let uuid = file.uuid.to_string();
    let ready = file.is_ready();
    let original_file_url = match file.removed_us {
        None if ready => Value::from(format!(
            "{}/{}/{}",
            b.cdn,
            uuid,
            sanitize_filename(&file.original_filename)
        )),
        _ => Value::Null,
    };
    let mut o = Map::new();
    o.insert("datetime_removed".into(), file.removed_us.map(iso).into());
    o.insert("datetime_stored".into(), file.stored_us.map(iso).into());
    o.insert("datetime_uploaded".into(), iso(file.uploaded_us).into());
    if version.is_legacy() {
        o.insert("image_info".into(), image_info(file).unwrap_or(Value::Null));
    }
    // A conversion's result before its bytes exist: production's `null`s (pyuploadcare's
    // recordings of `GET /files/<uuid>/` right after `POST /convert/…`).
    let is_image = if ready {
        file.image.is_some().into()
    } else {
        Value::Null
    };
    o.insert("is_image".into(), is_image);
    o.insert("is_ready".into(), ready.into());
    o.insert("mime_type".into(), file.mime_type.clone().into());
    o.insert("original_file_url".into(), original_file_url);
    o.insert(
        "original_filename".into(),
        file.original_filename.clone().into(),
    );
    o.insert("size".into(), file.size.into());
    o.insert("url".into(), format!("{}/files/{}/", b.api, uuid).into());
    o.insert("uuid".into(), uuid.into());
    o.insert("variations".into(), Value::Null);
    if version.is_legacy() {
        o.insert("video_info".into(), Value::Null);
    } else {
        let info = if ready {
            content_info(file)
        } else {
            Value::Null
        };
        o.insert("content_info".into(), info);
        o.insert("metadata".into(), Value::Object(file.metadata.clone()));
        o.insert("tags".into(), Value::from(file.tags.clone()));
    }
    o
}

/// A file as the REST API shows it at `now_us`: an unstored file older than the retention
/// is removed from the moment it expired.
pub fn as_seen(mut file: FileRecord, now_us: i64, retention_us: i64) -> FileRecord {
    if file.removed_us.is_none() && !is_live(&file, now_us, retention_us) {
        file.removed_us = Some(file.uploaded_us.saturating_add(retention_us));
    }
    file
}

/// The project's file `uuid`, as seen now; 404 for unknown files and other projects' files.
pub async fn project_file(
    state: &AppState,
    project: &str,
    uuid: Uuid,
) -> Result<FileRecord, RestError> {
    let file = state
        .store
        .file(Some(project), uuid)
        .await?
        .ok_or_else(RestError::not_found)?;
    Ok(as_seen(file, state.clock.now_us(), state.retention_us()))
}

/// The project's live file `uuid`; 404 for removed and expired files too.
pub async fn live_file(
    state: &AppState,
    project: &str,
    uuid: Uuid,
) -> Result<FileRecord, RestError> {
    let file = project_file(state, project, uuid).await?;
    if file.removed_us.is_some() {
        return Err(RestError::not_found());
    }
    Ok(file)
}

/// A path's file uuid; 404 when it is malformed.
fn path_uuid(raw: &str) -> Result<Uuid, RestError> {
    Uuid::parse_str(raw).map_err(|_| RestError::not_found())
}

/// The file a path uuid names, as [`project_file`].
impl PathTarget for FileRecord {
    type Params = String;

    async fn find(state: &AppState, project: &str, raw: String) -> Result<Self, RestError> {
        project_file(state, project, path_uuid(&raw)?).await
    }
}

/// The live file a path uuid names, as [`live_file`].
pub struct LiveFile(pub FileRecord);

impl PathTarget for LiveFile {
    type Params = String;

    async fn find(state: &AppState, project: &str, raw: String) -> Result<Self, RestError> {
        live_file(state, project, path_uuid(&raw)?).await.map(Self)
    }
}

/// Reads a `true`/`false` query flag; `Err` carries the 400 `detail`.
fn flag(value: &str, name: &str) -> Result<bool, RestError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(RestError::with(RestErrorCode::InvalidFlag, &[name])),
    }
}

/// Whether `include` asks for `appdata`.
pub(super) fn wants_appdata(pairs: &[(String, String)]) -> bool {
    last_value(pairs, "include").is_some_and(|v| v.split(',').any(|p| p.trim() == "appdata"))
}

/// A REST file object, with its `appdata` when given.
fn file_json(file: &FileRecord, view: &RestView, appdata: Option<Map<String, Value>>) -> Value {
    let mut o = rest_file(file, view.version, &view.bases);
    if let Some(appdata) = appdata {
        o.insert("appdata".into(), Value::Object(appdata));
    }
    Value::Object(o)
}

/// 200 with one REST file object (see [`file_json`]), URLs on the request's bases.
fn file_answer(
    view: &RestView,
    file: &FileRecord,
    appdata: Option<Map<String, Value>>,
) -> Response {
    json_response(StatusCode::OK, &file_json(file, view, appdata))
}

/// The `appdata` of each of `files` when `wanted` (one query), else `None` for each.
async fn appdata_of(
    state: &AppState,
    files: &[FileRecord],
    wanted: bool,
) -> Result<Vec<Option<Map<String, Value>>>, RestError> {
    if !wanted {
        return Ok(vec![None; files.len()]);
    }
    let uuids: Vec<Uuid> = files.iter().map(|f| f.uuid).collect();
    let mut all = state.store.appdata(&uuids).await?;
    Ok(files
        .iter()
        .map(|f| Some(all.remove(&f.uuid).unwrap_or_default()))
        .collect())
}

/// `GET /files/`: a page of the project's files by upload time, with `total` counting the
/// filtered set and `totals` the project's removed, stored and unstored files.
pub async fn list_files(
    State(state): State<Arc<AppState>>,
    view: RestView,
    call: RestCall,
) -> Result<Response, RestError> {
    let query = parse_list_query_for(call.uri.query(), &FILES)?;
    let removed = last_value(&query.pairs, "removed")
        .map(|v| flag(v, "removed"))
        .transpose()?
        .unwrap_or(false);
    let stored = last_value(&query.pairs, "stored")
        .map(|v| flag(v, "stored"))
        .transpose()?;
    let now = state.clock.now_us();
    let retention = state.retention_us();
    let expiry = Expiry::new(now, retention);
    let filter = FileFilter {
        removed,
        stored,
        expiry,
    };
    let project = &call.project.pub_key;
    let page = state
        .store
        .list_files(project, &filter, &query.page)
        .await?;
    let total = state.store.count_files(project, &filter).await?;
    let count = |removed, stored| FileFilter {
        removed,
        stored,
        expiry,
    };
    let totals = json!({
        "removed": state.store.count_files(project, &count(true, None)).await?,
        "stored": state.store.count_files(project, &count(false, Some(true))).await?,
        "unstored": state.store.count_files(project, &count(false, Some(false))).await?,
    });
    let base = format!("{}/files/", view.origin);
    let (next, previous) = page_links(&base, &query.pairs, &page, |x| x.uploaded_us);
    let appdata = appdata_of(&state, &page.items, wants_appdata(&query.pairs)).await?;
    let results: Vec<Value> = page
        .items
        .into_iter()
        .zip(appdata)
        .map(|(f, a)| file_json(&as_seen(f, now, retention), &view, a))
        .collect();
    let mut o = Map::new();
    o.insert("next".into(), next.into());
    o.insert("previous".into(), previous.into());
    o.insert("total".into(), total.into());
    o.insert("totals".into(), totals);
    o.insert("per_page".into(), query.page.limit.into());
    o.insert("results".into(), results.into());
    Ok(json_response(StatusCode::OK, &Value::Object(o)))
}

/// `GET /files/<uuid>/`: one file, removed and expired ones included.
pub async fn file_info(
    State(state): State<Arc<AppState>>,
    view: RestView,
    PathCall(call, file): PathCall<FileRecord>,
) -> Result<Response, RestError> {
    let appdata = appdata_of(
        &state,
        std::slice::from_ref(&file),
        wants_appdata(&query_pairs(call.uri.query())),
    )
    .await?
    .pop()
    .flatten();
    Ok(file_answer(&view, &file, appdata))
}

/// `PUT /files/<uuid>/storage/` stores a live file (404 when it is removed or expired);
/// `DELETE` removes a file (its bytes leave the CDN and its group positions show `null`),
/// and a file already removed or expired is answered as it is.
pub async fn file_storage(
    State(state): State<Arc<AppState>>,
    view: RestView,
    method: Method,
    source: EventSource,
    PathCall(call, file): PathCall<FileRecord>,
) -> Result<Response, RestError> {
    let change = storage_change(&method);
    let project = &call.project.pub_key;
    let file = match (file.removed_us, change) {
        (Some(_), FileChange::Store) => return Err(RestError::not_found()),
        (Some(_), FileChange::Remove) => file,
        (None, _) => {
            let now = state.clock.now_us();
            let changed =
                changes::change_files(&state, (project, &[file.uuid], now), &source, change)
                    .await?
                    .pop();
            match (changed, change) {
                (Some(f), _) => f,
                (None, FileChange::Store) => return Err(RestError::not_found()),
                // Removed meanwhile by another request: answer what is there now.
                (None, FileChange::Remove) => project_file(&state, project, file.uuid).await?,
            }
        }
    };
    Ok(file_answer(&view, &file, None))
}

/// A batch request body, checked: the distinct well-formed uuids in order, and the
/// problems of the others.
struct Batch {
    uuids: Vec<Uuid>,
    problems: Map<String, Value>,
}

/// Reads a batch body: a JSON array of 1 to 100 strings.
fn parse_batch(body: &[u8]) -> Result<Batch, RestError> {
    let expected = || RestError::new(RestErrorCode::UuidListExpected);
    let value: Value = serde_json::from_slice(body).map_err(|_| expected())?;
    let items = value.as_array().ok_or_else(expected)?;
    if items.is_empty() {
        return Err(RestError::new(RestErrorCode::UuidListEmpty));
    }
    if items.len() > MAX_BATCH {
        return Err(RestError::with(
            RestErrorCode::UuidListTooLong,
            &[&MAX_BATCH.to_string()],
        ));
    }
    let mut batch = Batch {
        uuids: Vec::new(),
        problems: Map::new(),
    };
    for item in items {
        let text = item.as_str().ok_or_else(expected)?;
        match parse_file_uuid(text.trim()) {
            Some(u) if !batch.uuids.contains(&u) => batch.uuids.push(u),
            Some(_) => {}
            None => {
                batch.problems.insert(text.to_owned(), "Invalid".into());
            }
        }
    }
    Ok(batch)
}

/// What a `/storage/` route does: `PUT` stores, `DELETE` removes.
fn storage_change(method: &Method) -> FileChange {
    if method == Method::DELETE {
        FileChange::Remove
    } else {
        FileChange::Store
    }
}

/// `PUT /files/storage/` stores up to 100 files; `DELETE` removes them.
pub async fn files_storage(
    State(state): State<Arc<AppState>>,
    Extension(version): Extension<ApiVersion>,
    method: Method,
    source: EventSource,
    call: RestCall,
) -> Result<Response, RestError> {
    batch(&state, version, &source, call, storage_change(&method)).await
}

/// Runs a batch operation on the live files among the request's uuids; the others are
/// `Missing in the project` (unknown, another project's, removed, or expired unstored).
async fn batch(
    state: &AppState,
    version: ApiVersion,
    source: &EventSource,
    call: RestCall,
    change: FileChange,
) -> Result<Response, RestError> {
    let mut batch = parse_batch(&call.body)?;
    let project = &call.project.pub_key;
    let now = state.clock.now_us();
    let retention = state.retention_us();
    // One query for the whole batch (no query per uuid).
    let found: std::collections::HashSet<uuid::Uuid> = state
        .store
        .live_files(project, &batch.uuids)
        .await?
        .into_iter()
        .filter(|f| is_live(f, now, retention))
        .map(|f| f.uuid)
        .collect();
    let mut live = Vec::with_capacity(batch.uuids.len());
    for uuid in &batch.uuids {
        if found.contains(uuid) {
            live.push(*uuid);
        } else {
            batch
                .problems
                .insert(uuid.to_string(), "Missing in the project".into());
        }
    }
    let mut done = changes::change_files(state, (project, &live, now), source, change).await?;
    // Answer in request order.
    done.sort_by_key(|f| live.iter().position(|u| *u == f.uuid));
    let result: Vec<Value> = done
        .iter()
        .map(|f| Value::Object(rest_file(f, version, &source.bases)))
        .collect();
    Ok(json_response(
        StatusCode::OK,
        &json!({ "status": "ok", "problems": batch.problems, "result": result }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detail(body: &str) -> String {
        parse_batch(body.as_bytes())
            .err()
            .map(|e| e.detail)
            .unwrap_or_default()
    }

    #[test]
    fn batch_bodies() {
        assert_eq!(detail("{}"), "Expected list of UUIDs");
        assert_eq!(detail("not json"), "Expected list of UUIDs");
        assert_eq!(detail("[1]"), "Expected list of UUIDs");
        assert_eq!(detail("[]"), "List of UUIDs can not be empty");
        let many = format!("[{}]", vec!["\"x\""; 101].join(","));
        assert_eq!(
            detail(&many),
            "Maximum UUIDs per request is exceeded. The limit is 100"
        );
        let u = "d6d34fa9-addd-472c-868d-2e5c105f9fcd";
        let b = parse_batch(format!("[\"{u}\", \"nope\", \"{u}\"]").as_bytes()).unwrap();
        assert_eq!(b.uuids.len(), 1);
        assert_eq!(b.problems["nope"], "Invalid");
    }
}
