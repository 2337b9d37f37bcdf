//! Public base URLs written into answers: the configured ones, or else the scheme and host
//! the request came to, so a client can follow every URL it is given.

use axum::http::{header, HeaderMap};

use crate::config::PublicUrls;

/// The three bases for one request (no trailing slash).
#[derive(Clone, Debug)]
pub struct Bases {
    /// Upload API.
    pub upload: String,
    /// REST API.
    pub api: String,
    /// CDN.
    pub cdn: String,
}

/// The origin the request was sent to: `http(s)://host[:port]`.
pub fn request_origin(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty())
        .unwrap_or("localhost");
    let scheme = match headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
    {
        Some("https") => "https",
        _ => "http",
    };
    format!("{scheme}://{host}")
}

/// The bases for a request: configured values win, the request's origin fills the rest.
pub fn bases(configured: &PublicUrls, headers: &HeaderMap) -> Bases {
    let origin = || request_origin(headers);
    Bases {
        upload: configured.upload.clone().unwrap_or_else(origin),
        api: configured.api.clone().unwrap_or_else(origin),
        cdn: configured.cdn.clone().unwrap_or_else(origin),
    }
}
