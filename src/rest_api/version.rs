//! REST API versions: the `Accept` header picks one, and every answer carries its media type;
//! [`RestView`] hands handlers the version with the request's URL bases.

use std::sync::Arc;

use axum::extract::rejection::ExtensionRejection;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use axum::Extension;

use crate::urls::{bases, request_origin, Bases};
use crate::AppState;

/// A REST API version the emulator speaks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ApiVersion {
    /// `application/vnd.uploadcare-v0.5+json` (legacy: group storage, `image_info`).
    V05,
    /// `application/vnd.uploadcare-v0.6+json` (legacy, as 0.5 for everything built here).
    V06,
    /// `application/vnd.uploadcare-v0.7+json`, the current version.
    #[default]
    V07,
}

impl ApiVersion {
    /// The media type of this version, for `Accept` and `Content-Type`.
    pub fn media_type(self) -> &'static str {
        match self {
            ApiVersion::V05 => "application/vnd.uploadcare-v0.5+json",
            ApiVersion::V06 => "application/vnd.uploadcare-v0.6+json",
            ApiVersion::V07 => "application/vnd.uploadcare-v0.7+json",
        }
    }

    /// Whether this version predates 0.7 (group `datetime_stored`, legacy file objects,
    /// `PUT /groups/<id>/storage/`).
    pub fn is_legacy(self) -> bool {
        self != ApiVersion::V07
    }

    /// The version an `Accept` header asks for: the first of its media ranges (parameters
    /// ignored, case-insensitive) that names a known version; `None` when none does.
    pub fn from_accept(accept: &str) -> Option<Self> {
        accept.split(',').find_map(|range| {
            let media = range.split(';').next().unwrap_or("").trim();
            [ApiVersion::V05, ApiVersion::V06, ApiVersion::V07]
                .into_iter()
                .find(|v| media.eq_ignore_ascii_case(v.media_type()))
        })
    }

    /// The version requested by `headers`, `None` when `Accept` is missing or names none.
    pub fn from_headers(headers: &HeaderMap) -> Option<Self> {
        headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .and_then(Self::from_accept)
    }
}

/// What a handler writes REST objects for: the version `super::negotiate` picked, the URL
/// bases (configured, or the request's origin) and the request's origin (for page links).
pub struct RestView {
    /// The negotiated version.
    pub version: ApiVersion,
    /// Where objects' URLs point.
    pub bases: Bases,
    /// `http(s)://host[:port]` of the request.
    pub origin: String,
}

impl FromRequestParts<Arc<AppState>> for RestView {
    type Rejection = ExtensionRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, ExtensionRejection> {
        let Extension(version) = Extension::from_request_parts(parts, state).await?;
        Ok(Self {
            version,
            bases: bases(&state.config.public_urls, &parts.headers),
            origin: request_origin(&parts.headers),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_header_forms() {
        let v7 = "application/vnd.uploadcare-v0.7+json";
        assert_eq!(ApiVersion::from_accept(v7), Some(ApiVersion::V07));
        assert_eq!(
            ApiVersion::from_accept("application/vnd.uploadcare-v0.5+json"),
            Some(ApiVersion::V05)
        );
        assert_eq!(
            ApiVersion::from_accept("text/html, application/vnd.uploadcare-v0.6+json;q=0.9"),
            Some(ApiVersion::V06)
        );
        assert_eq!(
            ApiVersion::from_accept("APPLICATION/VND.UPLOADCARE-V0.7+JSON"),
            Some(ApiVersion::V07)
        );
        for bad in [
            "",
            "*/*",
            "application/json",
            "application/vnd.uploadcare-v0.4+json",
            "application/vnd.uploadcare-v0.8+json",
        ] {
            assert_eq!(ApiVersion::from_accept(bad), None, "{bad}");
        }
    }
}
