//! The emulator's own control API under `/_emulator/`, a prefix no Uploadcare API uses:
//! health and readiness, projects created at run time, project reset, the clock, fault
//! injection, the browser console (`crate::console`), and what the add-ons without a model
//! find in a file (`addons.rs`). Guarded by `Authorization: Bearer <admin token>` when a
//! token is configured (health and readiness stay open for orchestrators).

mod addons;
mod deliveries;

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::json;

use crate::config::ProjectConfig;
use crate::console;
use crate::domain::signing::constant_time_eq;
use crate::domain::time::iso;
use crate::error::StoreError;
use crate::faults::{Fault, FaultKind, Scope};
use crate::store::shared::SharedState;
use crate::AppState;

/// The admin routes.
pub fn router(state: Arc<AppState>) -> Router<Arc<AppState>> {
    let guarded = Router::new()
        .route("/_emulator/projects", post(create_project))
        .route("/_emulator/projects/{pub_key}/reset", post(reset_project))
        .route("/_emulator/projects/{pub_key}/seed", post(seed_project))
        .route("/_emulator/clock/advance", post(advance_clock))
        .route("/_emulator/faults", post(add_fault))
        .route("/_emulator/faults", delete(clear_faults))
        .merge(deliveries::routes())
        .merge(console::routes())
        .merge(addons::routes())
        .route_layer(middleware::from_fn_with_state(state, require_token));
    Router::new()
        .route("/_emulator/health", get(health))
        .route("/_emulator/ready", get(ready))
        .route("/_emulator/store", get(store_reads))
        .merge(console::open_routes())
        .merge(guarded)
}

fn detail(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "detail": message }))).into_response()
}

/// An admin call's error: `{"detail": message}` with its status.
struct Refusal {
    status: StatusCode,
    message: Cow<'static, str>,
}

impl Refusal {
    fn new(status: StatusCode, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        detail(self.status, &self.message)
    }
}

/// What an admin call answers: the answer, or the error that stands for it.
type Answer = Result<Response, Refusal>;

/// 400 `{"detail": message}`.
fn bad_request(message: impl Into<Cow<'static, str>>) -> Refusal {
    Refusal::new(StatusCode::BAD_REQUEST, message)
}

/// 404 `{"detail": "Not found."}`.
fn not_found() -> Refusal {
    Refusal::new(StatusCode::NOT_FOUND, "Not found.")
}

/// 500 `Store failure.` for a failed `doing` (logged with the error, never shown).
fn store_failure(doing: &str, e: StoreError) -> Refusal {
    tracing::error!(error = %e, "{doing} failed");
    Refusal::new(StatusCode::INTERNAL_SERVER_ERROR, "Store failure.")
}

/// A JSON body, or 400 saying what was `expected`.
fn json_body<T>(
    body: Result<Json<T>, JsonRejection>,
    expected: &'static str,
) -> Result<T, Refusal> {
    body.map(|Json(b)| b).map_err(|_| bad_request(expected))
}

/// A request body type of the admin API, with what its 400 answer says is expected.
trait Expected: DeserializeOwned {
    /// The message of the 400 answer to a body that is not one of these.
    const EXPECTED: &'static str;
}

/// A JSON body read before the handler runs; one that is not a `T` answers 400 with
/// [`Expected::EXPECTED`] (see [`json_body`]).
struct Body<T>(T);

impl<S: Send + Sync, T: Expected> FromRequest<S> for Body<T> {
    type Rejection = Refusal;

    async fn from_request(request: Request, state: &S) -> Result<Self, Refusal> {
        json_body(Json::from_request(request, state).await, T::EXPECTED).map(Body)
    }
}

impl Expected for NewProject {
    const EXPECTED: &'static str = "Expected a JSON object with pub_key and secret_key.";
}

impl Expected for SeedDir {
    const EXPECTED: &'static str = "Expected {\"dir\": \"<folder>\"}.";
}

impl Expected for Advance {
    const EXPECTED: &'static str = "Expected {\"seconds\": N} with 0 <= N <= 315360000.";
}

impl Expected for NewFault {
    const EXPECTED: &'static str = "Expected a JSON fault description.";
}

/// A change of the shared state, applied to every replica before the call answers
/// (src/replicas.rs).
async fn publish(
    state: &AppState,
    changed: Result<SharedState, StoreError>,
) -> Result<(), StoreError> {
    state.replica.publish(state, changed?).await
}

/// Nothing when project `pub_key` exists; 404 otherwise.
async fn existing_project(state: &AppState, pub_key: &str) -> Result<(), Refusal> {
    match state.projects.get(pub_key).await {
        Ok(Some(_)) => Ok(()),
        Ok(None) => Err(not_found()),
        Err(e) => Err(store_failure("reading a project", e)),
    }
}

/// Refuses admin calls (the console's pages included) without the configured token, given
/// as `Authorization: Bearer <token>` or, from the console's own pages, in its cookie
/// (`crate::console::cookie_token`); compared in constant time. The console's pages answer
/// their 401 as a page that asks for the token.
async fn require_token(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    if let Some(token) = &state.config.admin_token {
        let bearer = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        let allowed = match bearer {
            Some(given) => constant_time_eq(given.as_bytes(), token.as_bytes()),
            None => console::cookie_token(request.headers(), request.method())
                .is_some_and(|given| constant_time_eq(given.as_bytes(), token.as_bytes())),
        };
        if !allowed {
            if request.uri().path().starts_with(console::html::ROOT) {
                return console::unauthorized(request.uri());
            }
            return detail(StatusCode::UNAUTHORIZED, "Admin token required.");
        }
    }
    next.run(request).await
}

/// `GET /_emulator/health`: the process answers.
async fn health() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

/// `GET /_emulator/store`: where the store answers hot reads from now, `{"reads": …}`:
/// `memory`, `checked` or `database` (see [`crate::store::Reads`]).
async fn store_reads(State(state): State<Arc<AppState>>) -> Json<serde_json::Value> {
    Json(json!({ "reads": state.store.reads() }))
}

/// `GET /_emulator/ready`: ready only when the store answers.
async fn ready(State(state): State<Arc<AppState>>) -> Response {
    match tokio::time::timeout(Duration::from_secs(2), state.store.ping()).await {
        Ok(Ok(())) => Json(json!({ "status": "ready" })).into_response(),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness check failed");
            detail(StatusCode::SERVICE_UNAVAILABLE, "Store unavailable.")
        }
        Err(_) => detail(StatusCode::SERVICE_UNAVAILABLE, "Store unavailable."),
    }
}

/// Body of `POST /_emulator/projects`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewProject {
    pub_key: String,
    secret_key: String,
    name: Option<String>,
    autostore: Option<bool>,
    signed_uploads: Option<bool>,
}

/// `POST /_emulator/projects`: creates (or updates) a project with its keys.
async fn create_project(State(state): State<Arc<AppState>>, Body(p): Body<NewProject>) -> Answer {
    if p.pub_key.trim().is_empty() || p.secret_key.trim().is_empty() {
        return Err(bad_request("pub_key and secret_key must not be empty."));
    }
    let config = ProjectConfig {
        pub_key: p.pub_key.trim().to_owned(),
        secret_key: p.secret_key.trim().to_owned(),
        name: p.name.unwrap_or_else(|| "Emulated project".to_owned()),
        autostore: p.autostore.unwrap_or(true),
        signed_uploads: p.signed_uploads.unwrap_or(false),
    };
    let written = match state.projects.upsert(&config).await {
        // Other replicas drop their cached copy before this answers.
        Ok(()) if state.store.is_shared() => {
            publish(&state, state.store.bump_shared_version().await).await
        }
        other => other,
    };
    written.map_err(|e| store_failure("creating a project", e))?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "pub_key": config.pub_key,
            "name": config.name,
            "autostore": config.autostore,
            "signed_uploads": config.signed_uploads,
        })),
    )
        .into_response())
}

/// `POST /_emulator/projects/{pub_key}/reset`: removes every file and group of a project.
async fn reset_project(State(state): State<Arc<AppState>>, Path(pub_key): Path<String>) -> Answer {
    existing_project(&state, &pub_key).await?;
    state
        .store
        .reset_project(&pub_key)
        .await
        .map_err(|e| store_failure("resetting a project", e))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Body of `POST /_emulator/projects/{pub_key}/seed`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedDir {
    /// A folder on the emulator's machine (or in its container), laid out as for `--seed`.
    dir: std::path::PathBuf,
}

/// `POST /_emulator/projects/{pub_key}/seed`: loads a fixture folder into a project at run
/// time (same layout and uuids as `--seed`); answers the counts created.
async fn seed_project(
    State(state): State<Arc<AppState>>,
    Path(pub_key): Path<String>,
    Body(seed): Body<SeedDir>,
) -> Answer {
    existing_project(&state, &pub_key).await?;
    let (files, groups) = crate::seed::load_into(&state, &pub_key, &seed.dir)
        .await
        .map_err(bad_request)?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "files": files, "groups": groups })),
    )
        .into_response())
}

/// Body of `POST /_emulator/clock/advance`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Advance {
    seconds: i64,
}

/// `POST /_emulator/clock/advance`: moves the emulator's clock forward (expiry tests).
async fn advance_clock(State(state): State<Arc<AppState>>, Body(a): Body<Advance>) -> Answer {
    if !(0..=10 * 365 * 86400).contains(&a.seconds) {
        return Err(bad_request(Advance::EXPECTED));
    }
    let by_us = a.seconds * 1_000_000;
    if state.store.is_shared() {
        // Every replica's clock moves before this answers.
        publish(&state, state.store.advance_shared_clock(by_us).await)
            .await
            .map_err(|e| store_failure("moving the shared clock", e))?;
    } else {
        state.clock.advance(by_us);
    }
    Ok(Json(json!({ "now": iso(state.clock.now_us()) })).into_response())
}

/// Body of `POST /_emulator/faults`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewFault {
    /// `throttle` (429 with Retry-After), `error` (500) or `delay`.
    kind: String,
    /// How many matching requests it applies to.
    count: Option<u32>,
    /// `upload`, `rest`, `cdn`, or absent for any.
    api: Option<String>,
    /// Only requests of this project (public key), when set.
    pub_key: Option<String>,
    /// Seconds in `Retry-After` for throttles.
    retry_after: Option<u32>,
    /// Milliseconds for delays.
    delay_ms: Option<u64>,
}

/// `POST /_emulator/faults`: answers the next N matching calls with a fault.
async fn add_fault(State(state): State<Arc<AppState>>, Body(f): Body<NewFault>) -> Answer {
    let kind = match f.kind.as_str() {
        "throttle" => FaultKind::Throttle {
            retry_after: f.retry_after.unwrap_or(1).min(3600),
        },
        "error" => FaultKind::ServerError,
        "delay" => FaultKind::Delay(Duration::from_millis(
            f.delay_ms.unwrap_or(1000).min(120_000),
        )),
        _ => return Err(bad_request("kind must be throttle, error or delay.")),
    };
    let scope = match f.api.as_deref() {
        None => Scope::Any,
        Some("upload") => Scope::Upload,
        Some("rest") => Scope::Rest,
        Some("cdn") => Scope::Cdn,
        Some(_) => return Err(bad_request("api must be upload, rest or cdn.")),
    };
    let fault = Fault {
        kind,
        scope,
        pub_key: f.pub_key,
        remaining: f.count.unwrap_or(1).max(1),
    };
    // Every replica's mirror is armed before this answers.
    publish(&state, state.store.add_fault(&fault.to_row()).await)
        .await
        .map_err(|e| store_failure("adding a fault", e))?;
    Ok(StatusCode::CREATED.into_response())
}

/// `DELETE /_emulator/faults`: clears every pending fault.
async fn clear_faults(State(state): State<Arc<AppState>>) -> Answer {
    publish(&state, state.store.clear_faults().await)
        .await
        .map_err(|e| store_failure("clearing faults", e))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
