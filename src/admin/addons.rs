//! What the add-ons no model runs for "find" in a file, declared by a test:
//! `PUT /_emulator/projects/<pub_key>/files/<uuid>/addons/<name>`.
//!
//! - `aws_rekognition_detect_labels`: `{"labels": [{"Name", "Confidence"?, "Parents"?,
//!   "Instances"?}, …]}`;
//! - `aws_rekognition_detect_moderation_labels`: `{"labels": [{"Name", "Confidence"?,
//!   "ParentName"?}, …]}`;
//! - `remove_bg`: `{"foreground_type": "<class>"}` (reported with a `type_level`).
//!
//! The answer (200) is what the next run will write into `data` (labels in production's
//! shape, defaults filled in). Without a declaration the label add-ons find nothing. ClamAV
//! really scans the bytes, so it takes no declaration (400). The file must be one of the
//! project's (404 otherwise).

use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::put;
use axum::{Json, Router};
use serde_json::{json, Value};
use uuid::Uuid;

use super::{bad_request, json_body, not_found, store_failure, Answer, Refusal};
use crate::addons::{rekognition, Addon};
use crate::store::addons::AddonFixture;
use crate::AppState;

/// The route (behind the admin token).
pub fn routes() -> Router<Arc<AppState>> {
    Router::new().route(
        "/_emulator/projects/{pub_key}/files/{uuid}/addons/{addon}",
        put(declare),
    )
}

/// The stored declaration for `addon` from a request body, or why it is refused.
fn declaration(addon: Addon, body: &Value) -> Result<Value, String> {
    match addon {
        Addon::Labels | Addon::ModerationLabels => {
            let labels = body
                .get("labels")
                .and_then(Value::as_array)
                .ok_or("Expected {\"labels\": [ … ]}.")?;
            let moderation = addon == Addon::ModerationLabels;
            let labels: Vec<Value> = labels
                .iter()
                .map(|l| rekognition::normalise(l, moderation))
                .collect::<Result<_, _>>()?;
            Ok(Value::Array(labels))
        }
        Addon::RemoveBg => {
            let kind = body
                .get("foreground_type")
                .and_then(Value::as_str)
                .filter(|k| !k.trim().is_empty())
                .ok_or("Expected {\"foreground_type\": \"<class>\"}.")?;
            Ok(json!({ "foreground_type": kind }))
        }
        Addon::ClamAv => {
            Err("uc_clamav_virus_scan scans the file's bytes; it takes no declaration.".into())
        }
    }
}

async fn declare(
    State(state): State<Arc<AppState>>,
    Path((pub_key, uuid, name)): Path<(String, String, String)>,
    body: Result<Json<Value>, JsonRejection>,
) -> Answer {
    let addon = Addon::parse(&name)
        .ok_or_else(|| Refusal::new(StatusCode::NOT_FOUND, "Unknown add-on."))?;
    let uuid = Uuid::parse_str(&uuid).map_err(|_| not_found())?;
    state
        .store
        .file(Some(&pub_key), uuid)
        .await
        .map_err(|e| store_failure("reading a file", e))?
        .ok_or_else(not_found)?;
    let body = json_body(body, "Expected a JSON object.")?;
    let data = declaration(addon, &body).map_err(bad_request)?;
    state
        .store
        .set_addon_fixture(AddonFixture {
            project: &pub_key,
            file: uuid,
            addon: addon.name(),
            data: &data,
        })
        .await
        .map_err(|e| store_failure("declaring add-on results", e))?;
    let shown = match addon {
        Addon::Labels => rekognition::labels_data(data.as_array().cloned().unwrap_or_default()),
        Addon::ModerationLabels => {
            rekognition::moderation_data(data.as_array().cloned().unwrap_or_default())
        }
        _ => data,
    };
    Ok((StatusCode::OK, Json(shown)).into_response())
}
