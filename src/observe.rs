//! Request logging: a request id on every line (also sent back as `X-Uploadcare-Request-Id`,
//! as production does), and one line per request with method, path, the API it belongs to
//! (`crate::routing`), status, latency, the project's public key when the request shows it,
//! and the error the client was given.
//! Query strings, bodies and `Authorization` values are never logged.

use std::time::Instant;

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

use crate::faults::request_pub_key;
use crate::routing::Api;
use crate::upload_api::error::UploadError;

/// The id of the request being served (also sent as `X-Uploadcare-Request-Id`), for
/// handlers that record it (webhook events' `initiator`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestId(pub uuid::Uuid);

/// An error a handler answered with (`<code>: <message>`), left in the response for the log
/// line by the APIs whose errors are not an [`UploadError`].
#[derive(Clone, Debug)]
pub struct ErrorNote(pub String);

/// Middleware: wraps each request in a span with its id and logs one line when it ends.
pub async fn log_requests(mut request: Request, next: Next) -> Response {
    let id = uuid::Uuid::new_v4();
    request.extensions_mut().insert(RequestId(id));
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let api = Api::of(&path).name();
    let project = request_pub_key(&request);
    let span = tracing::info_span!("request", request_id = %id);
    let started = Instant::now();
    let mut response = next.run(request).instrument(span.clone()).await;
    if let Ok(v) = HeaderValue::from_str(&id.to_string()) {
        response.headers_mut().insert("x-uploadcare-request-id", v);
    }
    let error = response
        .extensions()
        .get::<UploadError>()
        .map(|e| format!("{}: {}", e.code.name(), e.message))
        .or_else(|| {
            response
                .extensions()
                .get::<ErrorNote>()
                .map(|n| n.0.clone())
        });
    let status = response.status().as_u16();
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    span.in_scope(|| match error {
        Some(error) => tracing::info!(
            %method, %path, api, status, latency_ms,
            project = project.as_deref().unwrap_or("-"), error, "request"
        ),
        None => tracing::info!(
            %method, %path, api, status, latency_ms,
            project = project.as_deref().unwrap_or("-"), "request"
        ),
    });
    response
}
