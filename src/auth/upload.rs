//! Upload API caller checks: the project named by a public key field, and signed uploads,
//! also as the [`SignedForm`] extractor.

use std::marker::PhantomData;
use std::sync::Arc;

use axum::extract::{FromRequest, Request};

use crate::domain::signing::upload_signature_matches;
use crate::store::Project;
use crate::upload_api::error::{ErrorCode, UploadError};
use crate::upload_api::form::{text_fields, Fields};
use crate::AppState;

/// The form field that carries an endpoint's public key.
pub trait KeyField {
    /// The field's name.
    const NAME: &'static str;
}

/// `pub_key`: the field of `/from_url/` and `/group/`.
pub struct PubKey;

impl KeyField for PubKey {
    const NAME: &'static str = "pub_key";
}

/// `UPLOADCARE_PUB_KEY`: the field of `/base/` and `/multipart/`.
pub struct UploadcarePubKey;

impl KeyField for UploadcarePubKey {
    const NAME: &'static str = "UPLOADCARE_PUB_KEY";
}

/// A signed upload form without files: the request's text fields (the query's, then the
/// body's) and the project its key field `K` names, its signature checked (see
/// [`signed_project`]).
pub struct SignedForm<K>(pub Fields, pub Project, pub PhantomData<K>);

impl<K: KeyField> FromRequest<Arc<AppState>> for SignedForm<K> {
    type Rejection = UploadError;

    async fn from_request(request: Request, state: &Arc<AppState>) -> Result<Self, UploadError> {
        let fields = text_fields(request).await?;
        let project = signed_project(state, &fields, K::NAME).await?;
        Ok(Self(fields, project, PhantomData))
    }
}

/// Resolves the project from the public key in field `field` (`pub_key` or
/// `UPLOADCARE_PUB_KEY`): `%s is required.` when absent, `%s is invalid.` when unknown.
pub async fn project(
    state: &AppState,
    fields: &Fields,
    field: &str,
) -> Result<Project, UploadError> {
    let key = fields
        .given(field)
        .ok_or_else(|| UploadError::with(ErrorCode::ProjectPublicKeyRequiredError, &[field]))?;
    state
        .projects
        .get(key)
        .await?
        .ok_or_else(|| UploadError::with(ErrorCode::ProjectPublicKeyInvalidError, &[field]))
}

/// The project of an upload form whose public key is in field `key_field` (see
/// [`project`]), with the form's `signature`/`expire` checked now (see [`check_signature`]).
pub async fn signed_project(
    state: &AppState,
    fields: &Fields,
    key_field: &str,
) -> Result<Project, UploadError> {
    let project = project(state, fields, key_field).await?;
    check_signature(
        &project,
        fields.get("signature"),
        fields.get("expire"),
        state.clock.now_us() / 1_000_000,
    )?;
    Ok(project)
}

/// Checks `signature`/`expire` when the project requires signed uploads. Where signatures
/// are not required they are accepted unchecked (pyuploadcare signs every upload).
pub fn check_signature(
    project: &Project,
    signature: Option<&str>,
    expire: Option<&str>,
    now_s: i64,
) -> Result<(), UploadError> {
    if !project.signed_uploads {
        return Ok(());
    }
    let signature = signature
        .filter(|s| !s.is_empty())
        .ok_or_else(|| UploadError::new(ErrorCode::SignatureRequiredError))?;
    let expire = expire
        .filter(|s| !s.is_empty())
        .ok_or_else(|| UploadError::new(ErrorCode::SignatureExpirationRequiredError))?;
    let expire_s: i64 = expire
        .trim()
        .parse()
        .map_err(|_| UploadError::new(ErrorCode::SignatureExpirationInvalidError))?;
    if expire_s < now_s {
        return Err(UploadError::new(ErrorCode::SignatureExpirationError));
    }
    if !upload_signature_matches(&project.secret_key, expire.trim(), signature) {
        return Err(UploadError::new(ErrorCode::SignatureInvalidError));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project(signed: bool) -> Project {
        Project {
            pub_key: "pk".into(),
            secret_key: "demosecretkey".into(),
            name: "p".into(),
            autostore: true,
            signed_uploads: signed,
        }
    }

    #[test]
    fn signed_upload_cases() {
        // printf '1454902434' | openssl dgst -sha256 -hmac demosecretkey
        let good = "f48020921ad3964cdf218f5f57bf97d1adaecf334898f05e24abb6610b99d2bb";
        let now = 1_454_900_000;
        let p = project(true);
        let code = |r: Result<(), UploadError>| r.err().map(|e| e.code);
        assert_eq!(
            code(check_signature(&p, Some(good), Some("1454902434"), now)),
            None
        );
        assert_eq!(
            code(check_signature(&p, None, Some("1454902434"), now)),
            Some(ErrorCode::SignatureRequiredError)
        );
        assert_eq!(
            code(check_signature(&p, Some(good), None, now)),
            Some(ErrorCode::SignatureExpirationRequiredError)
        );
        assert_eq!(
            code(check_signature(&p, Some(good), Some("soon"), now)),
            Some(ErrorCode::SignatureExpirationInvalidError)
        );
        assert_eq!(
            code(check_signature(
                &p,
                Some(good),
                Some("1454902434"),
                1_454_902_435
            )),
            Some(ErrorCode::SignatureExpirationError)
        );
        assert_eq!(
            code(check_signature(&p, Some("00"), Some("1454902434"), now)),
            Some(ErrorCode::SignatureInvalidError)
        );
        assert_eq!(
            code(check_signature(&project(false), None, None, now)),
            None
        );
    }
}
