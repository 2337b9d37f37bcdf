//! Which API a request path belongs to, decided in one place for the routing fallback, the
//! CDN's catch-all, fault injection, request logs and the answer recorder.
//!
//! Production serves each API on its own host; the emulator serves them on one listener and
//! tells them apart by the path's first segment: the Upload API's (`/base/`, `/info/`,
//! `/group/`, `/multipart/`, `/from_url/`), the REST API's (`/files/`, `/groups/`,
//! `/project/`, and `/webhooks/`, `/addons/`, `/convert/`, which production's REST API has
//! even where the emulator does not build them yet), the emulator's own `/_emulator/`, and
//! everything else, the CDN's (every CDN path starts with a uuid or a group id).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::cdn::error::CdnError;

/// One of the APIs on the listener.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Api {
    /// The Upload API (`upload.uploadcare.com`).
    Upload,
    /// The REST API (`api.uploadcare.com`).
    Rest,
    /// The CDN (`ucarecdn.com`).
    Cdn,
    /// The emulator's control API under `/_emulator/`.
    Admin,
}

/// First path segments of the Upload API.
const UPLOAD: [&str; 5] = ["/base/", "/info/", "/group/", "/multipart/", "/from_url/"];

/// First path segments of the REST API.
const REST: [&str; 6] = [
    "/files/",
    "/groups/",
    "/project/",
    "/webhooks/",
    "/addons/",
    "/convert/",
];

/// First path segment of the emulator's control API.
const ADMIN: &str = "/_emulator/";

impl Api {
    /// The API a request path belongs to.
    pub fn of(path: &str) -> Api {
        if path.starts_with(ADMIN) {
            Api::Admin
        } else if UPLOAD.iter().any(|p| path.starts_with(p)) {
            Api::Upload
        } else if REST.iter().any(|p| path.starts_with(p)) {
            Api::Rest
        } else {
            Api::Cdn
        }
    }

    /// A short lower-case name, for logs and recorded answers.
    pub fn name(self) -> &'static str {
        match self {
            Api::Upload => "upload",
            Api::Rest => "rest",
            Api::Cdn => "cdn",
            Api::Admin => "admin",
        }
    }
}

/// The answer to a path no route matched, in the format of the API the path belongs to:
/// production's HTML 404 under the REST API's segments, the CDN's plain-text 404 elsewhere
/// (production's answer to an unknown Upload API path is not recorded; it gets the CDN's).
pub fn unknown_path(path: &str) -> Response {
    match Api::of(path) {
        Api::Rest => crate::rest_api::error::unknown_route(),
        Api::Upload | Api::Cdn | Api::Admin => CdnError::NotFound.into_response(),
    }
}

/// The answer to a request for an API this listener does not serve: a bare 404, as a host
/// that does not know the path would give.
pub fn not_served() -> Response {
    StatusCode::NOT_FOUND.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The cases the three old lists disagreed on, and the near-misses between the APIs.
    #[test]
    fn paths_map_to_apis() {
        let cases = [
            ("/base/", Api::Upload),
            ("/info/", Api::Upload),
            ("/group/", Api::Upload),
            ("/group//", Api::Upload),
            ("/group/info/", Api::Upload),
            ("/multipart/part/x/1/", Api::Upload),
            ("/from_url/status/", Api::Upload),
            ("/groups/", Api::Rest),
            ("/groups/x~1/storage/", Api::Rest),
            ("/files/storage/", Api::Rest),
            ("/files/a/b/c/", Api::Rest),
            ("/project/", Api::Rest),
            // Production REST namespaces the emulator does not build yet: the fault
            // injector called them REST, the fallback and the CDN did not.
            ("/webhooks/", Api::Rest),
            ("/webhooks/1/", Api::Rest),
            ("/addons/remove_bg/execute/", Api::Rest),
            ("/convert/document/", Api::Rest),
            ("/_emulator/health", Api::Admin),
            ("/_emulator/faults", Api::Admin),
            ("/d6d34fa9-addd-472c-868d-2e5c105f9fcd/", Api::Cdn),
            ("/d6d34fa9-addd-472c-868d-2e5c105f9fcd~2/nth/0/", Api::Cdn),
            // Without the closing slash a segment is not the API's.
            ("/files", Api::Cdn),
            ("/groupsx/", Api::Cdn),
            ("/_emulator", Api::Cdn),
            ("/", Api::Cdn),
            ("", Api::Cdn),
        ];
        for (path, api) in cases {
            assert_eq!(Api::of(path), api, "{path:?}");
        }
    }

    #[test]
    fn unknown_paths_answer_in_their_api_format() {
        let rest = unknown_path("/webhooks/1/");
        assert_eq!(rest.status(), StatusCode::NOT_FOUND);
        assert_eq!(
            rest.headers()["content-type"],
            "text/html; charset=utf-8",
            "REST"
        );
        for path in ["/base/x/", "/nope/", "/_emulator/nope"] {
            let r = unknown_path(path);
            assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
            assert_eq!(
                r.headers()["content-type"],
                "text/plain; charset=utf-8",
                "{path}"
            );
        }
    }
}
