//! Webhooks (REST API reference, "Webhook"): `GET|POST /webhooks/`, `GET|PUT|DELETE
//! /webhooks/<id>/` and `DELETE /webhooks/unsubscribe/`.
//!
//! Every write takes a form (`application/x-www-form-urlencoded`, what pyuploadcare creates
//! with) or a JSON object (`Content-Type` containing `json`; pyuploadcare's updates and every
//! rest-client call); a JSON body that is not an object answers 400 `Expected JSON object.`.
//! Validation and its answers live in `crate::webhooks::hooks`. Hooks belong to the calling
//! project: another project's hook id, like an unknown or non-numeric one, is 404
//! `Not found.`. Decisions where production is undocumented:
//! - `GET /webhooks/` lists the project's hooks oldest first, without paging (as production).
//! - `DELETE /webhooks/unsubscribe/` removes every hook of the project with that target
//!   (whatever its event) and answers 204; a target no hook has answers 404 `Not found.`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

use super::error::{deleted, json_response, RestError, RestErrorCode};
use super::path_call::{PathCall, PathNumber};
use crate::auth::rest::RestCall;
use crate::store::webhooks::{HookUpdate, HookWrite};
use crate::webhooks::hooks::{
    hook_json, unsubscribe_target, validate_create, validate_update, Fields, HookError,
    ALREADY_SUBSCRIBED,
};
use crate::AppState;

/// A refused hook write, in production's shapes: `{"detail": …}`, DRF's per-field lists, or
/// `non_field_errors`.
impl IntoResponse for HookError {
    fn into_response(self) -> Response {
        match self {
            HookError::TargetUrlMissing => {
                RestError::new(RestErrorCode::WebhookTargetUrlMissing).into_response()
            }
            HookError::Fields(errors) => {
                let mut o = Map::new();
                for (field, text) in errors {
                    o.insert(field.into(), json!([text]));
                }
                json_response(StatusCode::BAD_REQUEST, &Value::Object(o))
            }
            HookError::AlreadySubscribed => json_response(
                StatusCode::BAD_REQUEST,
                &json!({ "non_field_errors": [ALREADY_SUBSCRIBED] }),
            ),
        }
    }
}

/// What a hooks handler answers when it refuses: the REST API's `{"detail"}` errors, or a
/// refused hook write.
pub enum WebhookError {
    /// Not found, bad body, auth, store failure.
    Rest(RestError),
    /// Validation or a duplicate subscription.
    Hook(HookError),
}

impl From<RestError> for WebhookError {
    fn from(e: RestError) -> Self {
        WebhookError::Rest(e)
    }
}

impl From<HookError> for WebhookError {
    fn from(e: HookError) -> Self {
        WebhookError::Hook(e)
    }
}

impl From<crate::error::StoreError> for WebhookError {
    fn from(e: crate::error::StoreError) -> Self {
        WebhookError::Rest(e.into())
    }
}

impl IntoResponse for WebhookError {
    fn into_response(self) -> Response {
        match self {
            WebhookError::Rest(e) => e.into_response(),
            WebhookError::Hook(e) => e.into_response(),
        }
    }
}

/// The request's fields, read as JSON or as a form by its `Content-Type`.
fn fields(headers: &HeaderMap, call: &RestCall) -> Result<Fields, RestError> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains("json"));
    Fields::parse(&call.body, json).ok_or_else(|| RestError::new(RestErrorCode::JsonObjectExpected))
}

/// `GET /webhooks/`: the project's hooks, a plain array.
pub async fn list_webhooks(
    State(state): State<Arc<AppState>>,
    call: RestCall,
) -> Result<Response, RestError> {
    let hooks = state.store.list_hooks(&call.project.pub_key).await?;
    let list: Vec<Value> = hooks.iter().map(hook_json).collect();
    Ok(json_response(StatusCode::OK, &Value::Array(list)))
}

/// `POST /webhooks/`: subscribes a target to an event; 201 with the hook.
pub async fn create_webhook(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    call: RestCall,
) -> Result<Response, WebhookError> {
    let settings = validate_create(&fields(&headers, &call)?)?;
    let written = state
        .store
        .insert_hook(&call.project.pub_key, &settings, state.clock.now_us())
        .await?;
    Ok(write_answer(written, StatusCode::CREATED))
}

/// `GET /webhooks/<id>/`: one hook.
pub async fn webhook_info(
    State(state): State<Arc<AppState>>,
    PathCall(call, PathNumber(id)): PathCall<PathNumber>,
) -> Result<Response, RestError> {
    let hook = state
        .store
        .hook(&call.project.pub_key, id)
        .await?
        .ok_or_else(RestError::not_found)?;
    Ok(json_response(StatusCode::OK, &hook_json(&hook)))
}

/// `PUT /webhooks/<id>/`: changes the given settings; 200 with the hook.
pub async fn update_webhook(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    PathCall(call, PathNumber(id)): PathCall<PathNumber>,
) -> Result<Response, WebhookError> {
    let project = &call.project.pub_key;
    let hook = state
        .store
        .hook(project, id)
        .await?
        .ok_or_else(RestError::not_found)?;
    let settings = validate_update(&hook, &fields(&headers, &call)?)?;
    let written = state
        .store
        .update_hook(HookUpdate {
            project,
            id,
            settings: &settings,
            now_us: state.clock.now_us(),
        })
        .await?;
    Ok(write_answer(written, StatusCode::OK))
}

/// The answer to a hook write.
fn write_answer(written: HookWrite, status: StatusCode) -> Response {
    match written {
        HookWrite::Done(hook) => json_response(status, &hook_json(&hook)),
        HookWrite::NotFound => RestError::not_found().into_response(),
        HookWrite::Duplicate => HookError::AlreadySubscribed.into_response(),
    }
}

/// `DELETE /webhooks/<id>/`: deletes a hook; 204. Its queued deliveries are cancelled.
pub async fn delete_webhook(
    State(state): State<Arc<AppState>>,
    PathCall(call, PathNumber(id)): PathCall<PathNumber>,
) -> Result<Response, RestError> {
    deleted(state.store.delete_hook(&call.project.pub_key, id).await?)
}

/// `DELETE /webhooks/unsubscribe/`: deletes the project's hooks with `target_url`; 204.
pub async fn unsubscribe(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    call: RestCall,
) -> Result<Response, WebhookError> {
    let project = &call.project.pub_key;
    let target = unsubscribe_target(&fields(&headers, &call)?)?;
    let removed = state.store.delete_hooks_by_target(project, &target).await?;
    Ok(deleted(removed > 0)?)
}
