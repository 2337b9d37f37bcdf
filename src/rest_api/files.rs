//! The REST `file` object, and batch `PUT`/`DELETE /files/storage/`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Extension;
use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::error::{json_response, RestError};
use super::version::ApiVersion;
use crate::auth::rest::RestCall;
use crate::domain::files::{content_info, image_info, is_live, sanitize_filename};
use crate::domain::groups::parse_file_uuid;
use crate::domain::time::iso;
use crate::store::FileRecord;
use crate::urls::{bases, Bases};
use crate::AppState;

/// Most uuids one batch request takes.
pub const MAX_BATCH: usize = 100;

/// The REST `file` object, keys in production's order. v0.7 (recorded 2022-2023):
/// `content_info` and `metadata`; earlier versions: `image_info` and `video_info` instead.
/// `appdata` is left out: production adds it only to `GET /files/` with `include=appdata`,
/// and its group members have none. `original_file_url` names the file by its cleaned name,
/// as production does, and is `null` once the file is removed.
pub fn rest_file(file: &FileRecord, version: ApiVersion, b: &Bases) -> Map<String, Value> {
    let uuid = file.uuid.to_string();
    let original_file_url = match file.removed_us {
        None => Value::from(format!(
            "{}/{}/{}",
            b.cdn,
            uuid,
            sanitize_filename(&file.original_filename)
        )),
        Some(_) => Value::Null,
    };
    let mut o = Map::new();
    o.insert("datetime_removed".into(), file.removed_us.map(iso).into());
    o.insert("datetime_stored".into(), file.stored_us.map(iso).into());
    o.insert("datetime_uploaded".into(), iso(file.uploaded_us).into());
    if version.is_legacy() {
        o.insert("image_info".into(), image_info(file).unwrap_or(Value::Null));
    }
    o.insert("is_image".into(), file.image.is_some().into());
    o.insert("is_ready".into(), true.into());
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
        o.insert("content_info".into(), content_info(file));
        o.insert("metadata".into(), Value::Object(file.metadata.clone()));
    }
    o
}

/// A batch request body, checked: the distinct well-formed uuids in order, and the
/// problems of the others.
struct Batch {
    uuids: Vec<Uuid>,
    problems: Map<String, Value>,
}

/// Reads a batch body: a JSON array of 1 to 100 strings.
fn parse_batch(body: &[u8]) -> Result<Batch, RestError> {
    let expected = || RestError::bad_request("Expected list of UUIDs");
    let value: Value = serde_json::from_slice(body).map_err(|_| expected())?;
    let items = value.as_array().ok_or_else(expected)?;
    if items.is_empty() {
        return Err(RestError::bad_request("List of UUIDs can not be empty"));
    }
    if items.len() > MAX_BATCH {
        return Err(RestError::bad_request(
            "Maximum UUIDs per request is exceeded. The limit is 100",
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

/// The two batch operations.
#[derive(Clone, Copy)]
enum BatchOp {
    Store,
    Remove,
}

/// `PUT /files/storage/`: stores up to 100 files.
pub async fn store_files(
    State(state): State<Arc<AppState>>,
    Extension(version): Extension<ApiVersion>,
    headers: HeaderMap,
    call: RestCall,
) -> Result<Response, RestError> {
    batch(&state, version, &headers, call, BatchOp::Store).await
}

/// `DELETE /files/storage/`: removes up to 100 files.
pub async fn remove_files(
    State(state): State<Arc<AppState>>,
    Extension(version): Extension<ApiVersion>,
    headers: HeaderMap,
    call: RestCall,
) -> Result<Response, RestError> {
    batch(&state, version, &headers, call, BatchOp::Remove).await
}

/// Runs a batch operation on the live files among the request's uuids; the others are
/// `Missing in the project` (unknown, another project's, removed, or expired unstored).
async fn batch(
    state: &AppState,
    version: ApiVersion,
    headers: &HeaderMap,
    call: RestCall,
    op: BatchOp,
) -> Result<Response, RestError> {
    let mut batch = parse_batch(&call.body)?;
    let project = &call.project.pub_key;
    let now = state.clock.now_us();
    let retention = state.retention_us();
    let mut live = Vec::with_capacity(batch.uuids.len());
    for uuid in &batch.uuids {
        match state.store.file(project, *uuid).await? {
            Some(f) if is_live(&f, now, retention) => live.push(*uuid),
            _ => {
                batch
                    .problems
                    .insert(uuid.to_string(), "Missing in the project".into());
            }
        }
    }
    let mut done = match op {
        BatchOp::Store => state.store.store_files(project, &live, now).await?,
        BatchOp::Remove => state.store.remove_files(project, &live, now).await?,
    };
    // Answer in request order.
    done.sort_by_key(|f| live.iter().position(|u| *u == f.uuid));
    let b = bases(&state.config.public_urls, headers);
    let result: Vec<Value> = done
        .iter()
        .map(|f| Value::Object(rest_file(f, version, &b)))
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
            .map(|e| e.detail.into_owned())
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
