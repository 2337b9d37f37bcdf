//! File tags: `GET`, `PUT` (replace: `{"tags": […]}`) and `PATCH` (`{"add": […],
//! "delete": […]}`, delete first) `/files/<uuid>/tags/` (docs: "File tags"; the wire shape
//! is what pyuploadcare 6.3.0 and @uploadcare/rest-client 6.21.0 send and read).
//!
//! The answer of `GET` is `{"tags"}`; of `PUT`/`PATCH`, `{"tags", "added", "deleted"}`:
//! the list in storage order, then what the call added and deleted (sorted for `PUT`, as
//! documented; request order for `PATCH`). A call that changes nothing writes nothing and
//! sends no webhook.
//!
//! Decisions where production is undocumented:
//! - Malformed, unknown, other projects', removed and expired files answer 404 `Not found.`
//!   (the docs: "404 for files in other projects or removed files").
//! - A body that is not a JSON object, a `tags` (PUT) that is missing or not a list, an
//!   `add`/`delete` that is not a list, or a member that is not a string answers 400
//!   `` `<field>` must be a list of strings. ``; a tag that breaks a rule answers 400 with the
//!   rule's text (`crate::domain::tags`, texts in `error.rs`). `null` for `add`/`delete`
//!   counts as absent (rest-client sends `undefined` members as absent too).

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Map, Value};

use super::error::{json_response, RestError, RestErrorCode};
use super::files::{live_file, LiveFile};
use super::path_call::PathCall;
use crate::domain::changes::{self, Description};
use crate::domain::tags::{self, TagChange};
use crate::store::FileRecord;
use crate::webhooks::events::EventSource;
use crate::AppState;

/// How often a `PUT`/`PATCH` retries when another request changed the tags meanwhile.
const MAX_ATTEMPTS: usize = 16;

/// `GET /files/<uuid>/tags/`.
pub async fn get_tags(
    PathCall(_, LiveFile(file)): PathCall<LiveFile>,
) -> Result<Response, RestError> {
    Ok(json_response(StatusCode::OK, &json!({ "tags": file.tags })))
}

/// The body as a JSON object; 400 naming `field` otherwise.
fn body_object(body: &[u8], field: &str) -> Result<Map<String, Value>, RestError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(o)) => Ok(o),
        _ => Err(not_list(field)),
    }
}

fn not_list(field: &str) -> RestError {
    RestError::with(RestErrorCode::TagsNotList, &[field])
}

/// A list of strings under `field`: `None` when absent or `null`.
fn string_list(body: &Map<String, Value>, field: &str) -> Result<Option<Vec<String>>, RestError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(str::to_owned).ok_or_else(|| not_list(field)))
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(not_list(field)),
    }
}

/// `PUT /files/<uuid>/tags/`: replaces the tags.
pub async fn put_tags(
    State(state): State<Arc<AppState>>,
    source: EventSource,
    PathCall(call, LiveFile(file)): PathCall<LiveFile>,
) -> Result<Response, RestError> {
    let given =
        string_list(&body_object(&call.body, "tags")?, "tags")?.ok_or_else(|| not_list("tags"))?;
    let new = tags::for_file(given.iter().map(String::as_str)).map_err(RestError::tags)?;
    let change = update(&state, &source, file, |current| {
        Ok(tags::replace(current, new.clone()))
    })
    .await?;
    Ok(answer(&change))
}

/// `PATCH /files/<uuid>/tags/`: deletes, then adds.
pub async fn patch_tags(
    State(state): State<Arc<AppState>>,
    source: EventSource,
    PathCall(call, LiveFile(file)): PathCall<LiveFile>,
) -> Result<Response, RestError> {
    let body = body_object(&call.body, "add")?;
    let add = string_list(&body, "add")?.unwrap_or_default();
    let delete = string_list(&body, "delete")?.unwrap_or_default();
    let add = tags::for_file(add.iter().map(String::as_str)).map_err(RestError::tags)?;
    let delete =
        tags::normalize_checked(delete.iter().map(String::as_str)).map_err(RestError::tags)?;
    let change = update(&state, &source, file, |current| {
        tags::patch(current, &add, &delete).map_err(RestError::tags)
    })
    .await?;
    Ok(answer(&change))
}

fn answer(change: &TagChange) -> Response {
    json_response(
        StatusCode::OK,
        &json!({ "tags": change.tags, "added": change.added, "deleted": change.deleted }),
    )
}

/// Writes what `change` makes of `file`'s tags (with its `file.info_updated` event) unless
/// another request changed them meanwhile; then reads the file again and retries, up to
/// [`MAX_ATTEMPTS`] times. A change that adds and deletes nothing writes nothing.
async fn update(
    state: &AppState,
    source: &EventSource,
    mut file: FileRecord,
    change: impl Fn(&[String]) -> Result<TagChange, RestError>,
) -> Result<TagChange, RestError> {
    for _ in 0..MAX_ATTEMPTS {
        let outcome = change(&file.tags)?;
        if outcome.tags == file.tags
            || changes::replace_description(
                state,
                &file,
                Description::Tags(outcome.tags.clone()),
                source,
            )
            .await?
        {
            return Ok(outcome);
        }
        file = live_file(state, &file.project, file.uuid).await?;
    }
    Err(RestError::new(RestErrorCode::TagsConflict))
}
