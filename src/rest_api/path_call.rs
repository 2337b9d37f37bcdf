//! The [`PathCall`] extractor: an authenticated REST call and what its path names in the
//! calling project (a file, a metadata key, a group, a hook). Authentication comes first; a
//! path that does not parse then answers 404 `Not found.`, as one that names nothing does.

use std::future::Future;
use std::sync::Arc;

use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use serde::de::DeserializeOwned;

use super::error::RestError;
use crate::auth::rest::RestCall;
use crate::AppState;

/// What a REST path can name in a project.
pub trait PathTarget: Sized {
    /// The route's path parameters.
    type Params: DeserializeOwned + Send;

    /// Finds what `params` name in `project`; 404 (or the target's own error) otherwise.
    fn find(
        state: &AppState,
        project: &str,
        params: Self::Params,
    ) -> impl Future<Output = Result<Self, RestError>> + Send;
}

/// An authenticated REST call (its project and body) and the `T` its path names.
pub struct PathCall<T>(pub RestCall, pub T);

impl<T: PathTarget> FromRequest<Arc<AppState>> for PathCall<T> {
    type Rejection = RestError;

    async fn from_request(request: Request, state: &Arc<AppState>) -> Result<Self, RestError> {
        let (mut parts, body) = request.into_parts();
        let params = Path::<T::Params>::from_request_parts(&mut parts, state).await;
        let call = RestCall::from_request(Request::from_parts(parts, body), state).await?;
        let Path(params) = params.map_err(|_| RestError::not_found())?;
        let target = T::find(state, &call.project.pub_key, params).await?;
        Ok(Self(call, target))
    }
}

/// A number a path names as it is (a hook id, a conversion token); any other segment
/// answers 404.
pub struct PathNumber(pub i64);

impl PathTarget for PathNumber {
    type Params = i64;

    async fn find(_: &AppState, _: &str, number: i64) -> Result<Self, RestError> {
        Ok(Self(number))
    }
}
