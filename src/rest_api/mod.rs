//! The REST API (`api.uploadcare.com`).

use std::sync::Arc;

use axum::Router;

use crate::AppState;

/// The REST API's routes.
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
}
