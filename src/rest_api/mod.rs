//! The REST API (`api.uploadcare.com`): files, file metadata and tags, file search, groups
//! and the project.
//!
//! Every matched route runs behind [`negotiate`]: a missing or unknown version in `Accept`
//! answers 406, and JSON answers carry the requested version's media type exactly (no
//! charset). REST paths that match no route answer production's HTML 404, whatever the
//! headers (`crate::routing`).

pub mod addons;
pub mod conversions;
pub mod copies;
pub mod error;
pub mod files;
pub mod groups;
pub mod metadata;
pub mod pagination;
pub mod path_call;
pub mod project;
pub mod search;
pub mod tags;
pub mod version;
pub mod webhooks;

use std::sync::Arc;

use axum::extract::Request;
use axum::http::{header, HeaderValue, Method};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::Router;

use self::error::{RestError, RestErrorCode};
use self::version::ApiVersion;
use crate::AppState;

/// The REST API's routes: a table of paths, each with its methods. Unknown REST paths are
/// answered by the app's fallback (`crate::routing`): a catch-all route next to
/// `/groups/{id}/` would be a routing conflict.
pub fn router() -> Router<Arc<AppState>> {
    let routes = [
        ("/groups/", get(groups::list_groups)),
        (
            "/groups/{id}/",
            get(groups::group_info).delete(groups::delete_group),
        ),
        ("/groups/{id}/storage/", put(groups::store_group)),
        (
            "/files/storage/",
            put(files::files_storage).delete(files::files_storage),
        ),
        ("/files/", get(files::list_files)),
        ("/files/local_copy/", post(copies::local_copy)),
        ("/files/remote_copy/", post(copies::remote_copy)),
        ("/files/search/", post(search::search_files)),
        ("/files/{uuid}/", get(files::file_info)),
        (
            "/files/{uuid}/storage/",
            put(files::file_storage).delete(files::file_storage),
        ),
        ("/files/{uuid}/metadata/", get(metadata::get_metadata)),
        (
            "/files/{uuid}/metadata/{key}/",
            get(metadata::get_key)
                .put(metadata::put_key)
                .delete(metadata::delete_key),
        ),
        (
            "/files/{uuid}/tags/",
            get(tags::get_tags)
                .put(tags::put_tags)
                .patch(tags::patch_tags),
        ),
        ("/project/", get(project::project_info)),
        ("/convert/document/", post(conversions::convert_document)),
        ("/convert/document/{uuid}/", get(conversions::document_info)),
        (
            "/convert/document/status/{token}/",
            get(conversions::document_status),
        ),
        ("/convert/video/", post(conversions::convert_video)),
        (
            "/convert/video/status/{token}/",
            get(conversions::video_status),
        ),
        ("/addons/{name}/execute/", post(addons::execute)),
        ("/addons/{name}/execute/status/", get(addons::status)),
        (
            "/webhooks/",
            get(webhooks::list_webhooks).post(webhooks::create_webhook),
        ),
        (
            "/webhooks/{id}/",
            get(webhooks::webhook_info)
                .put(webhooks::update_webhook)
                .delete(webhooks::delete_webhook),
        ),
        ("/webhooks/unsubscribe/", delete(webhooks::unsubscribe)),
    ];
    routes
        .into_iter()
        .fold(Router::new(), |router, (path, methods)| {
            router.route(path, methods)
        })
        .method_not_allowed_fallback(method_not_allowed)
        .route_layer(middleware::from_fn(negotiate))
}

/// Django REST framework's answer to a known path with another method.
async fn method_not_allowed(method: Method) -> Response {
    RestError::with(RestErrorCode::MethodNotAllowed, &[method.as_str()]).into_response()
}

/// Picks the version from `Accept` (406 when there is none) for the handlers, and gives the
/// answer that version's media type.
async fn negotiate(mut request: Request, next: Next) -> Response {
    let Some(version) = ApiVersion::from_headers(request.headers()) else {
        return with_vary(RestError::new(RestErrorCode::NotAcceptable).into_response());
    };
    request.extensions_mut().insert(version);
    let mut response = next.run(request).await;
    let is_rest_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/vnd.uploadcare-"));
    if is_rest_json {
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(version.media_type()),
        );
    }
    with_vary(response)
}

/// Answers depend on `Accept`, as production's `Vary` says.
fn with_vary(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::VARY, HeaderValue::from_static("Accept"));
    response
}
