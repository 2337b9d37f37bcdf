//! Webhook deliveries, for tests and for people: list them, send one again, and flush.
//!
//! - `GET /_emulator/webhooks/deliveries?pub_key=&limit=`: the latest deliveries (newest
//!   first; default 100, at most 1000), each with its event, hook, target, state, attempts,
//!   last status or error, latency, next try and the exact body sent.
//! - `POST /_emulator/webhooks/deliveries/<id>/redeliver`: due again now (even when it was
//!   delivered, failed or cancelled); answers the worker's flush of it.
//! - `POST /_emulator/webhooks/flush`: returns once every outbox event was fanned out and
//!   every delivery due now was attempted (failed ones keep their next try), so a test can
//!   change a file and then assert on its receiver without sleeping.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{bad_request, detail, not_found, store_failure, Answer};
use crate::domain::time::iso;
use crate::store::webhooks::Delivery;
use crate::AppState;

/// Longest a flush waits (a receiver that hangs holds it up to the delivery timeout).
const FLUSH_LIMIT: Duration = Duration::from_secs(120);

/// The delivery routes (behind the admin token).
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/_emulator/webhooks/deliveries", get(list_deliveries))
        .route(
            "/_emulator/webhooks/deliveries/{id}/redeliver",
            post(redeliver),
        )
        .route("/_emulator/webhooks/flush", post(flush))
}

/// Query of the list.
#[derive(Deserialize)]
struct ListQuery {
    pub_key: Option<String>,
    limit: Option<i64>,
}

/// One delivery as listed.
fn delivery_json(d: &Delivery) -> Value {
    json!({
        "id": d.id,
        "event": d.event.name(),
        "hook_id": d.hook_id,
        "project": d.project,
        "file_uuid": d.file_uuid,
        "target_url": d.target_url,
        "state": d.state.name(),
        "attempts": d.attempts,
        "last_status": d.last_status,
        "last_error": d.last_error,
        "latency_ms": d.last_latency_us.map(|us| us as f64 / 1000.0),
        "created": iso(d.created_us),
        "last_attempt": d.last_attempt_us.map(iso),
        "next_attempt": d.next_attempt_us.map(iso),
        "signed": d.signing_secret.is_some(),
        "body": d.body,
    })
}

/// `GET /_emulator/webhooks/deliveries`.
async fn list_deliveries(
    State(state): State<Arc<AppState>>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Answer {
    let Ok(Query(q)) = query else {
        return Err(bad_request("Expected ?pub_key=<key>&limit=<1..1000>."));
    };
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(bad_request("limit must be 1 to 1000."));
    }
    let list = state
        .store
        .list_deliveries(q.pub_key.as_deref(), limit)
        .await
        .map_err(|e| store_failure("listing deliveries", e))?;
    let list: Vec<Value> = list.iter().map(delivery_json).collect();
    Ok(Json(json!({ "deliveries": list })).into_response())
}

/// `POST /_emulator/webhooks/deliveries/<id>/redeliver`.
async fn redeliver(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> Answer {
    let id = id.parse::<i64>().map_err(|_| not_found())?;
    let due = state
        .store
        .redeliver(id, state.clock.now_us())
        .await
        .map_err(|e| store_failure("redelivering", e))?;
    if !due {
        return Err(not_found());
    }
    state.webhooks.wake();
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "id": id, "state": "pending" })),
    )
        .into_response())
}

/// `POST /_emulator/webhooks/flush`.
async fn flush(State(state): State<Arc<AppState>>) -> Response {
    match tokio::time::timeout(FLUSH_LIMIT, state.webhooks.flush(&state)).await {
        Ok(Ok(flushed)) => Json(json!({ "attempted": flushed.attempted })).into_response(),
        Ok(Err(e)) => store_failure("flushing deliveries", e).into_response(),
        Err(_) => detail(
            StatusCode::SERVICE_UNAVAILABLE,
            "Deliveries still running after 120 s.",
        ),
    }
}
