//! Conversions: `GET /convert/document/<uuid>/`, `POST /convert/document/`,
//! `POST /convert/video/` and `GET /convert/{document,video}/status/<token>/` (REST
//! reference, "Conversion"). The work is `crate::conversions`'.
//!
//! Decisions where production is undocumented:
//! - Submissions answer `application/json` (production's recordings), the info and status
//!   answers the versioned type (likewise).
//! - A body that is not a JSON object answers 400 `Expected JSON object.`; `paths` missing,
//!   not a list of strings, or empty answers 400 `“paths” parameter is required.`.
//! - `store` and `save_in_group` may be strings (`"0"`, `"1"`, `"true"`, `"false"`) or
//!   booleans; anything else counts as absent.
//! - A token of another project, of the other kind, or not a number answers 404
//!   `Not found.`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;

use super::error::{json_response, plain_json_response, RestError, RestErrorCode};
use super::path_call::{PathCall, PathNumber};
use crate::auth::rest::RestCall;
use crate::conversions;
use crate::store::conversions::ConversionKind;
use crate::store::FileRecord;
use crate::AppState;

/// `GET /convert/document/<uuid>/`: the document's format and conversion targets.
pub async fn document_info(
    State(state): State<Arc<AppState>>,
    PathCall(call, file): PathCall<FileRecord>,
) -> Result<Response, RestError> {
    let info = conversions::document_info(&state, &call.project.pub_key, &file).await?;
    Ok(json_response(StatusCode::OK, &info))
}

/// `POST /convert/document/`.
pub async fn convert_document(
    State(state): State<Arc<AppState>>,
    call: RestCall,
) -> Result<Response, RestError> {
    submit(&state, &call, ConversionKind::Document).await
}

/// `POST /convert/video/`.
pub async fn convert_video(
    State(state): State<Arc<AppState>>,
    call: RestCall,
) -> Result<Response, RestError> {
    submit(&state, &call, ConversionKind::Video).await
}

/// A flag given as a string or a boolean.
fn flag(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(if *b { "1" } else { "0" }.to_owned()),
        _ => None,
    }
}

async fn submit(
    state: &Arc<AppState>,
    call: &RestCall,
    kind: ConversionKind,
) -> Result<Response, RestError> {
    let body: Value = serde_json::from_slice(&call.body)
        .map_err(|_| RestError::new(RestErrorCode::JsonObjectExpected))?;
    let Value::Object(body) = body else {
        return Err(RestError::new(RestErrorCode::JsonObjectExpected));
    };
    let paths: Vec<String> = body
        .get("paths")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .map(|v| v.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
        })
        .unwrap_or_default()
        .filter(|paths| !paths.is_empty())
        .ok_or_else(|| RestError::new(RestErrorCode::ConversionPathsRequired))?;
    let store = flag(body.get("store"));
    let save_in_group = matches!(
        flag(body.get("save_in_group")).as_deref(),
        Some("1" | "true")
    );
    let answer = conversions::submit(
        state,
        &call.project,
        kind,
        &paths,
        store.as_deref(),
        save_in_group,
    )
    .await?;
    Ok(plain_json_response(StatusCode::OK, &answer))
}

/// `GET /convert/document/status/<token>/`.
pub async fn document_status(
    State(state): State<Arc<AppState>>,
    token: PathCall<PathNumber>,
) -> Result<Response, RestError> {
    status(&state, token, ConversionKind::Document).await
}

/// `GET /convert/video/status/<token>/`.
pub async fn video_status(
    State(state): State<Arc<AppState>>,
    token: PathCall<PathNumber>,
) -> Result<Response, RestError> {
    status(&state, token, ConversionKind::Video).await
}

/// A conversion's status by its token; 404 for another project's token or the other kind's.
async fn status(
    state: &AppState,
    PathCall(call, PathNumber(token)): PathCall<PathNumber>,
    kind: ConversionKind,
) -> Result<Response, RestError> {
    let answer = conversions::status(state, &call.project.pub_key, kind, token)
        .await?
        .ok_or_else(RestError::not_found)?;
    Ok(json_response(StatusCode::OK, &answer))
}
