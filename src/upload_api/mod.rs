//! The Upload API (`upload.uploadcare.com`): direct uploads, file info and groups.

pub mod error;
pub mod files;
pub mod form;
pub mod from_url;
pub mod groups;
pub mod multipart;

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Request};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::Router;

use self::error::{apply_format, AnswerFormat, ErrorCode, UploadError};
use crate::AppState;

/// Largest direct-upload request body: several files of up to 100 MiB each.
const BASE_BODY_LIMIT: usize = 512 * 1024 * 1024;

/// The Upload API's routes.
pub fn router() -> Router<Arc<AppState>> {
    // pyuploadcare posts groups to `/group//`: one creation answers both paths.
    let create_group = post(groups::create_group);
    Router::new()
        .route(
            "/base/",
            post(files::upload_base).layer(DefaultBodyLimit::max(BASE_BODY_LIMIT)),
        )
        .route("/info/", get(files::file_info))
        .route("/group/", create_group.clone())
        .route("/group//", create_group)
        .route("/group/info/", get(groups::group_info))
        // Multipart and from_url
        .route("/multipart/start/", post(multipart::start))
        .route("/multipart/complete/", post(multipart::complete))
        .route(
            "/multipart/part/{uuid}/{n}/",
            put(multipart::put_part).layer(DefaultBodyLimit::disable()),
        )
        .route(
            "/from_url/",
            post(from_url::from_url).get(from_url::from_url),
        )
        .route(
            "/from_url/status/",
            get(from_url::status).post(from_url::status),
        )
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn(answer_format))
}

/// `HTTP method %s is not allowed for %s` for a known path with another method.
async fn method_not_allowed(request: Request) -> Response {
    let method = request.method().to_string();
    let path = request.uri().path().to_owned();
    UploadError::with(ErrorCode::MethodNotAllowedError, &[&method, &path]).into_response()
}

/// Renders every answer as the request asked (`jsonerrors=1`, JSONP `callback`).
async fn answer_format(request: Request, next: Next) -> Response {
    let format = AnswerFormat::from_query(request.uri().query());
    let response = next.run(request).await;
    apply_format(&format, response).await
}
