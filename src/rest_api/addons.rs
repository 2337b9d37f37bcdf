//! `POST /addons/<name>/execute/` and `GET /addons/<name>/execute/status/?request_id=`
//! for the four add-ons (the rules are in `crate::addons`).
//!
//! Answers are `application/json`, as production's recordings of these two operations show
//! (not the versioned REST media type). An unknown add-on name is a path production does
//! not have (its HTML 404). Errors, decided where production's are not recorded: a body
//! that is not a JSON object or has no `target` is 400 ``` `target` parameter is
//! required.```, a `target` that is not a uuid 400 ``Bad `target` parameter. Use UUID.``, a
//! uuid that names no live file of the project 404 `Not found.`, parameters the add-on does
//! not take (or of the wrong type) 400 ``Bad `params` parameter: <why>``, a run of the
//! same add-on on the same file in progress 409 `Concurrent call attempted`. The status of
//! a well-formed `request_id` the project has no run of (another project's, another
//! add-on's) is `{"status": "unknown"}`.

use std::sync::Arc;

use axum::extract::{FromRequest, FromRequestParts, Path, Request as HttpRequest, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use uuid::Uuid;

use super::copies::json_object;
use super::error::{plain_json_response, unknown_route, RestError, RestErrorCode};
use super::files::live_file;
use super::pagination::{last_value, query_pairs};
use crate::addons::{self, Addon, ExecuteError, Request};
use crate::auth::rest::RestCall;
use crate::domain::files::should_store;
use crate::webhooks::events::EventSource;
use crate::AppState;

impl From<ExecuteError> for RestError {
    fn from(e: ExecuteError) -> Self {
        match e {
            ExecuteError::Concurrent => RestError::new(RestErrorCode::AddonConcurrentCall),
            ExecuteError::Store(e) => e.into(),
        }
    }
}

/// An authenticated REST call and the add-on its path names. Authentication comes first; a
/// name of no add-on then answers as a path production does not have.
pub struct AddonCall(pub RestCall, pub Addon);

impl FromRequest<Arc<AppState>> for AddonCall {
    type Rejection = Response;

    async fn from_request(request: HttpRequest, state: &Arc<AppState>) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let name = Path::<String>::from_request_parts(&mut parts, state).await;
        let call = RestCall::from_request(HttpRequest::from_parts(parts, body), state)
            .await
            .map_err(IntoResponse::into_response)?;
        let addon = name.ok().and_then(|Path(name)| Addon::parse(&name));
        addon
            .map(|addon| Self(call, addon))
            .ok_or_else(unknown_route)
    }
}

/// `POST /addons/<name>/execute/`: runs the add-on on `target` and answers its `request_id`.
pub async fn execute(
    State(state): State<Arc<AppState>>,
    source: EventSource,
    AddonCall(call, addon): AddonCall,
) -> Result<Response, RestError> {
    let body =
        json_object(&call.body).map_err(|_| RestError::new(RestErrorCode::AddonTargetRequired))?;
    let target = match body.get("target") {
        None | Some(Value::Null) => return Err(RestError::new(RestErrorCode::AddonTargetRequired)),
        Some(Value::String(s)) => {
            Uuid::parse_str(s.trim()).map_err(|_| RestError::new(RestErrorCode::AddonTargetBad))?
        }
        Some(_) => return Err(RestError::new(RestErrorCode::AddonTargetBad)),
    };
    let request = Request::parse(addon, body.get("params"))
        .map_err(|why| RestError::with(RestErrorCode::AddonParamsInvalid, &[&why]))?;
    let project = &call.project;
    let file = live_file(&state, &project.pub_key, target).await?;
    let store_new = should_store(None, project.autostore);
    let request_id = addons::execute(state.clone(), file, request, store_new, source).await?;
    Ok(plain_json_response(
        StatusCode::OK,
        &json!({ "request_id": request_id.to_string() }),
    ))
}

/// `GET /addons/<name>/execute/status/?request_id=<uuid>`.
pub async fn status(
    State(state): State<Arc<AppState>>,
    AddonCall(call, addon): AddonCall,
) -> Result<Response, RestError> {
    let pairs = query_pairs(call.uri.query());
    let request_id = last_value(&pairs, "request_id")
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| RestError::new(RestErrorCode::AddonRequestIdRequired))?;
    let request_id = Uuid::parse_str(request_id.trim())
        .map_err(|_| RestError::new(RestErrorCode::AddonRequestIdBad))?;
    let answer = addons::status(&state, &call.project.pub_key, addon, request_id).await?;
    Ok(plain_json_response(StatusCode::OK, &answer))
}
