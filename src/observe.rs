//! Request logging: a request id on every line (also sent back as `X-Uploadcare-Request-Id`,
//! as production does), and one line per request with method, path, the API it belongs to
//! (`crate::routing`), status, latency, the project's public key when the request shows it,
//! and the error the client was given. The same middleware reads a request's facts once
//! ([`RequestFacts`]) and hands the request and its answer to the console's journal
//! (`crate::console::journal`).
//! Query strings, bodies and `Authorization` values are never logged.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

use crate::routing::Api;
use crate::upload_api::error::UploadError;
use crate::AppState;

/// What the request logger learned of a request before passing it on, read once for the
/// layers inside it (the journal, faults) and the handlers that record it (webhook events'
/// `initiator`).
#[derive(Clone, Debug)]
pub struct RequestFacts {
    /// The request id, also sent as `X-Uploadcare-Request-Id`.
    pub id: uuid::Uuid,
    /// The API the path belongs to.
    pub api: Api,
    /// The public key the request names without its body ([`request_pub_key`]).
    pub pub_key: Option<Arc<str>>,
    /// When the request reached the logger.
    pub started: Instant,
}

impl RequestFacts {
    /// Reads a request's facts, giving it a new id.
    pub fn read(request: &Request) -> Self {
        Self {
            id: uuid::Uuid::new_v4(),
            api: Api::of(request.uri().path()),
            pub_key: request_pub_key(request).map(Arc::from),
            started: Instant::now(),
        }
    }

    /// The facts the request logger attached to `request`, or read now where it did not.
    pub fn of(request: &Request) -> Self {
        match request.extensions().get::<Self>() {
            Some(facts) => facts.clone(),
            None => Self::read(request),
        }
    }
}

/// An error a handler answered with (`<code>: <message>`), left in the response for the log
/// line by the APIs whose errors are not an [`UploadError`].
#[derive(Clone, Debug)]
pub struct ErrorNote(pub String);

/// Middleware: gives each request its [`RequestFacts`] and a span with its id, keeps it and
/// its answer in the console's journal, and logs one line when it ends.
pub async fn observe_requests(
    State(state): State<Arc<AppState>>,
    mut request: Request,
    next: Next,
) -> Response {
    let facts = RequestFacts::read(&request);
    request.extensions_mut().insert(facts.clone());
    let pending = state.journal.begin(state.clock.now_us(), &request);
    let method = request.method().clone();
    let uri = request.uri().clone();
    let span = tracing::info_span!("request", request_id = %facts.id);
    let mut response = next.run(request).instrument(span.clone()).await;
    let error = error_text(&response);
    if let Some(pending) = pending {
        response = pending
            .finish(&state.journal, &facts, error.as_deref(), response)
            .await;
    }
    let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
    let id = facts.id.hyphenated().encode_lower(&mut text);
    if let Ok(v) = HeaderValue::from_bytes(id.as_bytes()) {
        response.headers_mut().insert("x-uploadcare-request-id", v);
    }
    let status = response.status().as_u16();
    let latency_ms = facts.started.elapsed().as_secs_f64() * 1000.0;
    let api = facts.api.name();
    let project = facts.pub_key.as_deref().unwrap_or("-");
    span.in_scope(|| match error {
        Some(error) => tracing::info!(
            %method, path = uri.path(), api, status, latency_ms, project, error, "request"
        ),
        None => tracing::info!(
            %method, path = uri.path(), api, status, latency_ms, project, "request"
        ),
    });
    response
}

/// The error an answer carries (`<code>: <message>`), if any.
fn error_text(response: &Response) -> Option<String> {
    match response.extensions().get::<UploadError>() {
        Some(e) => Some(format!("{}: {}", e.code.name(), e.message)),
        None => response
            .extensions()
            .get::<ErrorNote>()
            .map(|n| n.0.clone()),
    }
}

/// The public key a request names where it can be read without its body (query or REST
/// `Authorization`; the public key is not a secret).
fn request_pub_key(request: &Request) -> Option<String> {
    // Only the two Uploadcare schemes name a public key; any other value (an admin bearer
    // token, Basic credentials) is a secret and is not read.
    if let Some(credentials) = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(crate::auth::rest::parse_authorization)
    {
        return Some(credentials.pub_key.to_owned());
    }
    form_urlencoded::parse(request.uri().query().unwrap_or("").as_bytes())
        .find(|(k, _)| k == "pub_key" || k == "UPLOADCARE_PUB_KEY")
        .map(|(_, v)| v.into_owned())
}
