//! Fault injection for testing clients' retry logic: the next N matching calls are answered
//! with production's throttle (429 with `Retry-After`), a 500, or a delay, in the wire
//! format of the API they were sent to. Faults come from the admin API or, per request,
//! from an `X-Emulator-Fault: throttle | error | delay=<ms>` header.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

use crate::rest_api::error::{RestError, RestErrorCode};
use crate::routing::Api;
use crate::upload_api::error::{apply_format, AnswerFormat, ErrorCode, UploadError};
use crate::AppState;

/// What a fault does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultKind {
    /// 429 with `Retry-After: retry_after`.
    Throttle {
        /// Seconds the client is told to wait.
        retry_after: u32,
    },
    /// 500 in the API's format.
    ServerError,
    /// The real answer, late.
    Delay(Duration),
}

/// Which API a fault applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Every API.
    Any,
    /// Upload API paths.
    Upload,
    /// REST API paths.
    Rest,
    /// CDN paths.
    Cdn,
}

/// A pending fault.
#[derive(Clone, Debug)]
pub struct Fault {
    /// What it does.
    pub kind: FaultKind,
    /// Where it applies.
    pub scope: Scope,
    /// Only calls naming this public key (query `pub_key` or the REST `Authorization`).
    pub pub_key: Option<String>,
    /// Calls left.
    pub remaining: u32,
}

/// The pending faults.
#[derive(Debug, Default)]
pub struct Faults {
    pending: Mutex<Vec<Fault>>,
    /// Whether any fault is pending, so the common case takes no lock.
    armed: AtomicBool,
}

impl Faults {
    /// Adds a fault.
    pub fn add(&self, fault: Fault) {
        if let Ok(mut p) = self.pending.lock() {
            p.push(fault);
            self.armed.store(true, Ordering::Release);
        }
    }

    /// Removes every fault.
    pub fn clear(&self) {
        if let Ok(mut p) = self.pending.lock() {
            p.clear();
            self.armed.store(false, Ordering::Release);
        }
    }

    /// The pending faults, in the order they apply.
    pub fn pending(&self) -> Vec<Fault> {
        self.pending.lock().map(|p| p.clone()).unwrap_or_default()
    }

    /// Takes one use of the first fault matching a call, if any.
    fn take(&self, scope: Scope, pub_key: Option<&str>) -> Option<FaultKind> {
        if !self.armed.load(Ordering::Acquire) {
            return None;
        }
        let mut pending = self.pending.lock().ok()?;
        let i = pending.iter().position(|f| {
            (f.scope == Scope::Any || f.scope == scope)
                && f.pub_key.as_deref().is_none_or(|k| Some(k) == pub_key)
        })?;
        let kind = pending[i].kind;
        pending[i].remaining -= 1;
        if pending[i].remaining == 0 {
            pending.remove(i);
            self.armed.store(!pending.is_empty(), Ordering::Release);
        }
        Some(kind)
    }
}

impl Scope {
    /// The scope of a call to `api`, or `None` for the emulator's own routes, which never
    /// fail.
    fn of(api: Api) -> Option<Scope> {
        match api {
            Api::Upload => Some(Scope::Upload),
            Api::Rest => Some(Scope::Rest),
            Api::Cdn => Some(Scope::Cdn),
            Api::Admin => None,
        }
    }
}

/// The public key a request names where it can be read without its body (query or REST
/// `Authorization`; the public key is not a secret).
pub fn request_pub_key(request: &Request) -> Option<String> {
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

fn header_fault(request: &Request) -> Option<FaultKind> {
    let value = request
        .headers()
        .get("x-emulator-fault")?
        .to_str()
        .ok()?
        .trim();
    match value {
        "throttle" => Some(FaultKind::Throttle { retry_after: 1 }),
        "error" => Some(FaultKind::ServerError),
        v => v
            .strip_prefix("delay=")
            .and_then(|ms| ms.parse::<u64>().ok())
            .map(|ms| FaultKind::Delay(Duration::from_millis(ms.min(120_000)))),
    }
}

/// Middleware: applies a pending or requested fault before the real handler runs.
pub async fn inject(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let Some(scope) = Scope::of(Api::of(request.uri().path())) else {
        return next.run(request).await;
    };
    let fault = header_fault(&request).or_else(|| {
        state
            .faults
            .take(scope, request_pub_key(&request).as_deref())
    });
    let Some(kind) = fault else {
        return next.run(request).await;
    };
    tracing::info!(fault = ?kind, "injecting fault");
    match kind {
        FaultKind::Delay(d) => {
            tokio::time::sleep(d).await;
            next.run(request).await
        }
        FaultKind::Throttle { retry_after } => {
            let format = AnswerFormat::from_query(request.uri().query());
            throttle(scope, &format, retry_after).await
        }
        FaultKind::ServerError => {
            let format = AnswerFormat::from_query(request.uri().query());
            server_error(scope, &format).await
        }
    }
}

async fn throttle(scope: Scope, format: &AnswerFormat, retry_after: u32) -> Response {
    let mut response = match scope {
        Scope::Upload => {
            let r = UploadError::new(ErrorCode::RequestThrottledError).into_response();
            apply_format(format, r).await
        }
        Scope::Rest => RestError::throttled(retry_after).into_response(),
        Scope::Cdn | Scope::Any => {
            (StatusCode::TOO_MANY_REQUESTS, "Too Many Requests").into_response()
        }
    };
    if let Ok(v) = HeaderValue::from_str(&retry_after.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, v);
    }
    response
}

async fn server_error(scope: Scope, format: &AnswerFormat) -> Response {
    match scope {
        Scope::Upload => {
            apply_format(
                format,
                UploadError::new(ErrorCode::UploadAPIError).into_response(),
            )
            .await
        }
        Scope::Rest => RestError::new(RestErrorCode::ServerError).into_response(),
        Scope::Cdn | Scope::Any => {
            (StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error").into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_are_used_up_in_order() {
        let f = Faults::default();
        f.add(Fault {
            kind: FaultKind::ServerError,
            scope: Scope::Rest,
            pub_key: Some("a".into()),
            remaining: 2,
        });
        assert_eq!(f.take(Scope::Upload, Some("a")), None);
        assert_eq!(f.take(Scope::Rest, Some("b")), None);
        assert_eq!(f.take(Scope::Rest, Some("a")), Some(FaultKind::ServerError));
        assert_eq!(f.take(Scope::Rest, Some("a")), Some(FaultKind::ServerError));
        assert_eq!(f.take(Scope::Rest, Some("a")), None);
    }

    #[test]
    fn admin_calls_never_fail() {
        assert_eq!(Scope::of(Api::of("/_emulator/faults")), None);
        assert_eq!(Scope::of(Api::of("/webhooks/")), Some(Scope::Rest));
    }
}
