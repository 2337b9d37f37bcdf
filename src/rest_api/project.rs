//! `GET /project/` (REST API reference, "Project").

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value};

use super::error::{json_response, RestError};
use crate::auth::rest::RestCall;

/// `GET /project/`: the signing project, keys in the schema's order. The emulator has no
/// accounts, so `collaborators` is always empty.
pub async fn project_info(call: RestCall) -> Result<Response, RestError> {
    let p = &call.project;
    let mut o = Map::new();
    o.insert("collaborators".into(), Value::Array(Vec::new()));
    o.insert("name".into(), p.name.clone().into());
    o.insert("pub_key".into(), p.pub_key.clone().into());
    o.insert("autostore_enabled".into(), p.autostore.into());
    Ok(json_response(StatusCode::OK, &Value::Object(o)))
}
