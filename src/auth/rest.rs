//! REST API authentication: `Uploadcare.Simple <pub>:<secret>` and the signed
//! `Uploadcare <pub>:<hex HMAC-SHA1>` scheme, as the [`RestCall`] extractor.
//!
//! Which failure answers what (production's mapping is not documented; these follow the
//! wording of each message):
//! - no `Authorization`, a scheme other than the two, no `:` or an empty half, and, for signed
//!   requests, no date header, a date that cannot be read, or one more than 15 minutes from
//!   the server clock: 401 `Incorrect authentication credentials.`;
//! - a public key no project has (either scheme): 401 `Public key <key> not found.`;
//! - simple scheme with a secret that is not the project's: 401 `Secret key not found.`;
//! - signed scheme whose signature does not match: 401 `Invalid signature. Please check your
//!   Secret key.`;
//! - simple scheme over plain HTTP when `simple_auth_https_only` is set (HTTPS = the request's
//!   `X-Forwarded-Proto` is `https`): 400 `Simple authentication over HTTP is forbidden...`,
//!   checked before the keys, as production refuses the scheme itself.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderMap, Method, Uri};

use crate::domain::signing::{constant_time_eq, rest_signature_matches, rest_string_to_sign};
use crate::domain::time::parse_http_date;
use crate::rest_api::error::{RestError, RestErrorCode};
use crate::server::BodyFailure;
use crate::store::Project;
use crate::AppState;

/// Largest REST request body read (batch requests of 100 uuids need about 4 KiB).
const MAX_BODY: usize = 1024 * 1024;

/// Largest distance between a signed request's date and the server clock, in seconds.
const MAX_DATE_SKEW_S: i64 = 15 * 60;

/// An authenticated REST request: its project, and its URI and body (the body read whole),
/// which signatures cover.
#[derive(Debug)]
pub struct RestCall {
    /// The project whose keys signed the request; it sees only its own groups and files.
    pub project: Project,
    /// The request URI; handlers read their query from it.
    pub uri: Uri,
    /// The request body.
    pub body: Bytes,
}

impl FromRequest<Arc<AppState>> for RestCall {
    type Rejection = RestError;

    async fn from_request(request: Request, state: &Arc<AppState>) -> Result<Self, RestError> {
        let (parts, body) = request.into_parts();
        let body = axum::body::to_bytes(body, MAX_BODY).await.map_err(|e| {
            match crate::server::body_failure(&e) {
                BodyFailure::TooLarge => RestError::new(RestErrorCode::RequestBodyTooLarge),
                _ => RestError::new(RestErrorCode::MalformedRequest),
            }
        })?;
        let uri = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or_else(|| parts.uri.path());
        let project = authenticate(
            state,
            &Signed {
                method: &parts.method,
                headers: &parts.headers,
                uri,
                body: &body,
            },
        )
        .await?;
        Ok(Self {
            project,
            uri: parts.uri,
            body,
        })
    }
}

/// What a signature covers.
struct Signed<'a> {
    method: &'a Method,
    headers: &'a HeaderMap,
    uri: &'a str,
    body: &'a [u8],
}

/// The two schemes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    /// `Uploadcare.Simple <pub_key>:<secret_key>`.
    Simple,
    /// `Uploadcare <pub_key>:<hex HMAC-SHA1 signature>`.
    Signed,
}

/// A parsed `Authorization` value: the scheme, the public key and the credential (the secret
/// key or the signature), both non-empty.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Credentials<'a> {
    /// Which scheme.
    pub scheme: Scheme,
    /// The public key.
    pub pub_key: &'a str,
    /// The secret key (Simple) or the signature (Signed).
    pub credential: &'a str,
}

/// Parses an `Authorization` value; `None` for anything that is not one of the two schemes
/// with a non-empty `pub_key:credential`.
pub fn parse_authorization(value: &str) -> Option<Credentials<'_>> {
    let (scheme, param) = value.trim().split_once(' ')?;
    let scheme = match scheme {
        "Uploadcare.Simple" => Scheme::Simple,
        "Uploadcare" => Scheme::Signed,
        _ => return None,
    };
    let (pub_key, credential) = param.trim().split_once(':')?;
    if pub_key.is_empty() || credential.is_empty() {
        return None;
    }
    Some(Credentials {
        scheme,
        pub_key,
        credential,
    })
}

/// Checks the request's `Authorization` and returns its project.
async fn authenticate(state: &AppState, req: &Signed<'_>) -> Result<Project, RestError> {
    let incorrect = || RestError::new(RestErrorCode::IncorrectCredentials);
    let Credentials {
        scheme,
        pub_key,
        credential,
    } = req
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_authorization)
        .ok_or_else(incorrect)?;
    if matches!(scheme, Scheme::Simple)
        && state.config.simple_auth_https_only
        && !is_https(req.headers)
    {
        return Err(RestError::new(RestErrorCode::SimpleAuthOverHttp));
    }
    let project = state
        .projects
        .get(pub_key)
        .await?
        .ok_or_else(|| RestError::with(RestErrorCode::PublicKeyNotFound, &[pub_key]))?;
    match scheme {
        Scheme::Simple => {
            if !constant_time_eq(credential.as_bytes(), project.secret_key.as_bytes()) {
                return Err(RestError::new(RestErrorCode::SecretKeyNotFound));
            }
        }
        Scheme::Signed => {
            // @uploadcare/rest-client sends `X-Uploadcare-Date` (browsers cannot set `Date`);
            // pyuploadcare sends `Date`. The signature covers the header text as received.
            let date = req
                .headers
                .get("x-uploadcare-date")
                .or_else(|| req.headers.get(header::DATE))
                .and_then(|v| v.to_str().ok())
                .ok_or_else(incorrect)?;
            let date_s = parse_http_date(date).ok_or_else(incorrect)?;
            let now_s = state.clock.now_us() / 1_000_000;
            if (now_s - date_s).abs() > MAX_DATE_SKEW_S {
                return Err(incorrect());
            }
            let content_type = req
                .headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            let signed =
                rest_string_to_sign(req.method.as_str(), req.body, content_type, date, req.uri);
            if !rest_signature_matches(&project.secret_key, &signed, credential) {
                return Err(RestError::new(RestErrorCode::InvalidSignature));
            }
        }
    }
    Ok(project)
}

/// Whether the client reached us over HTTPS (through a proxy that says so).
fn is_https(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|p| p.trim().eq_ignore_ascii_case("https"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_from_proxy_header() {
        let mut h = HeaderMap::new();
        assert!(!is_https(&h));
        h.insert("x-forwarded-proto", "https".parse().unwrap());
        assert!(is_https(&h));
        h.insert("x-forwarded-proto", "http".parse().unwrap());
        assert!(!is_https(&h));
    }
}
