//! Fault injection for testing clients' retry logic: the next N matching calls are answered
//! with production's throttle (429 with `Retry-After`), a 500, or a delay, in the wire
//! format of the API they were sent to. Faults come from the admin API or, per request,
//! from an `X-Emulator-Fault: throttle | error | delay=<ms>` header.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

use crate::error::StoreError;
use crate::observe::RequestFacts;
use crate::rest_api::error::{RestError, RestErrorCode};
use crate::routing::Api;
use crate::store::shared::FaultRow;
use crate::store::Store;
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

/// The fault mirror: faults live in the store (so any replica uses them up, exactly
/// `remaining` times in total); this process only remembers whether any may be pending, so
/// the common case (none) costs no database round trip. The replica heartbeat re-arms it
/// (`crate::replicas`).
#[derive(Debug, Default)]
pub struct Faults {
    /// `generation << 1 | armed`: every change bumps the generation, so a take that found
    /// nothing disarms only if nothing re-armed the mirror meanwhile.
    mirror: AtomicU64,
}

impl Faults {
    /// Sets whether faults may be pending.
    pub fn set_armed(&self, armed: bool) {
        let _ = self
            .mirror
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |m| {
                Some(((m >> 1).wrapping_add(1) << 1) | u64::from(armed))
            });
    }

    /// The pending faults, in the order they apply.
    pub async fn pending(&self, store: &dyn Store) -> Result<Vec<Fault>, StoreError> {
        Ok(store
            .pending_faults()
            .await?
            .iter()
            .filter_map(Fault::from_row)
            .collect())
    }

    /// Takes one use of the first fault matching a call, if any.
    async fn take(
        &self,
        store: &dyn Store,
        scope: Scope,
        pub_key: Option<&str>,
    ) -> Result<Option<FaultKind>, StoreError> {
        let seen = self.mirror.load(Ordering::Acquire);
        if seen & 1 == 0 {
            return Ok(None);
        }
        let (taken, left) = store.take_fault(scope.name(), pub_key).await?;
        if !left {
            let disarmed = ((seen >> 1).wrapping_add(1)) << 1;
            let _ =
                self.mirror
                    .compare_exchange(seen, disarmed, Ordering::AcqRel, Ordering::Acquire);
        }
        Ok(taken.as_ref().and_then(Fault::from_row).map(|f| f.kind))
    }
}

impl Fault {
    /// The row that stores this fault.
    pub fn to_row(&self) -> FaultRow {
        let (kind, amount) = match self.kind {
            FaultKind::Throttle { retry_after } => ("throttle", i64::from(retry_after)),
            FaultKind::ServerError => ("error", 0),
            FaultKind::Delay(d) => ("delay", i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
        };
        FaultRow {
            kind: kind.to_owned(),
            amount,
            scope: self.scope.name().to_owned(),
            pub_key: self.pub_key.clone(),
            remaining: i64::from(self.remaining),
        }
    }

    /// The fault a row stores (`None` for a row this version cannot read).
    fn from_row(row: &FaultRow) -> Option<Fault> {
        let amount = u64::try_from(row.amount).ok()?;
        let kind = match row.kind.as_str() {
            "throttle" => FaultKind::Throttle {
                retry_after: u32::try_from(amount).ok()?,
            },
            "error" => FaultKind::ServerError,
            "delay" => FaultKind::Delay(Duration::from_millis(amount)),
            _ => return None,
        };
        let scope = match row.scope.as_str() {
            "any" => Scope::Any,
            "upload" => Scope::Upload,
            "rest" => Scope::Rest,
            "cdn" => Scope::Cdn,
            _ => return None,
        };
        Some(Fault {
            kind,
            scope,
            pub_key: row.pub_key.clone(),
            remaining: u32::try_from(row.remaining).ok()?,
        })
    }
}

impl Scope {
    /// The name stored for this scope.
    fn name(self) -> &'static str {
        match self {
            Scope::Any => "any",
            Scope::Upload => "upload",
            Scope::Rest => "rest",
            Scope::Cdn => "cdn",
        }
    }

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
    let facts = RequestFacts::of(&request);
    let Some(scope) = Scope::of(facts.api) else {
        return next.run(request).await;
    };
    let fault = match header_fault(&request) {
        Some(kind) => Some(kind),
        None => state
            .faults
            .take(state.store.as_ref(), scope, facts.pub_key.as_deref())
            .await
            .unwrap_or_else(|e| {
                tracing::warn!(error = %e, "reading pending faults failed");
                None
            }),
    };
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
    fn faults_round_trip_through_rows() {
        for kind in [
            FaultKind::Throttle { retry_after: 7 },
            FaultKind::ServerError,
            FaultKind::Delay(Duration::from_millis(250)),
        ] {
            let f = Fault {
                kind,
                scope: Scope::Cdn,
                pub_key: Some("a".into()),
                remaining: 3,
            };
            let back = Fault::from_row(&f.to_row()).expect("readable row");
            assert_eq!(
                (back.kind, back.scope, back.remaining),
                (kind, Scope::Cdn, 3)
            );
        }
    }

    #[test]
    fn the_mirror_arms_and_disarms() {
        let f = Faults::default();
        assert_eq!(f.mirror.load(Ordering::Acquire) & 1, 0);
        f.set_armed(true);
        assert_eq!(f.mirror.load(Ordering::Acquire) & 1, 1);
        f.set_armed(false);
        assert_eq!(f.mirror.load(Ordering::Acquire) & 1, 0);
    }

    #[test]
    fn admin_calls_never_fail() {
        assert_eq!(Scope::of(Api::of("/_emulator/faults")), None);
        assert_eq!(Scope::of(Api::of("/webhooks/")), Some(Scope::Rest));
    }
}
