//! `POST /group/` (create a group) and `GET /group/info/` (upload-groups.openapi.yml).

use std::sync::Arc;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

use super::error::{ErrorCode, UploadError};
use super::files::FileUploadInfo;
use super::form::query_fields;
use crate::auth;
use crate::auth::upload::{KeyField, PubKey, SignedForm};
use crate::domain::files::is_live;
use crate::domain::groups::{parse_member, GroupId, MemberFields, MAX_MEMBERS};
use crate::domain::time::iso;
use crate::store::{Expiry, GroupMember, GroupRecord, NewGroup};
use crate::urls::bases;
use crate::AppState;

/// The `groupInfo` object: the group and each member as `fileUploadInfo` plus
/// `default_effects`, or `null` where the member's file is gone at `now_us`.
#[derive(Serialize)]
struct GroupInfo<'a> {
    id: String,
    datetime_created: String,
    datetime_stored: Option<()>,
    files_count: i64,
    cdn_url: String,
    url: String,
    files: Vec<Option<FileUploadInfo<'a>>>,
}

fn group_answer<'a>(
    state: &AppState,
    headers: &HeaderMap,
    group: &GroupRecord,
    members: &'a [GroupMember],
    now_us: i64,
) -> GroupInfo<'a> {
    let b = bases(&state.config.public_urls, headers);
    let id = GroupId {
        uuid: group.uuid,
        count: group.files_count,
    };
    let retention = state.retention_us();
    let files = members
        .iter()
        .map(|m| match &m.file {
            Some(f) if is_live(f, now_us, retention) => {
                Some(FileUploadInfo::member(f, &m.default_effects))
            }
            _ => None,
        })
        .collect();
    GroupInfo {
        id: id.to_string(),
        datetime_created: iso(group.created_us),
        datetime_stored: None,
        files_count: group.files_count,
        cdn_url: format!("{}/{}/", b.cdn, id),
        url: format!("{}/groups/{}/", b.api, id),
        files,
    }
}

/// `POST /group/` (also `/group//`): creates a group from `files[N]` / `files[]` members.
pub async fn create_group(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    SignedForm(fields, project, _): SignedForm<PubKey>,
) -> Result<Response, UploadError> {
    let mut slots = MemberFields::default();
    for (name, value) in &fields.0 {
        slots.offer(name, value);
    }
    if slots.is_empty() {
        return Err(UploadError::new(ErrorCode::GroupFilesInvalidError));
    }
    if slots.len() > MAX_MEMBERS {
        return Err(UploadError::new(ErrorCode::FilesNumberLimitExceededError));
    }
    let mut members = Vec::with_capacity(slots.len());
    for value in slots.into_ordered() {
        let member = parse_member(&value).ok_or_else(|| {
            UploadError::with(ErrorCode::GroupFileURLParsingFailedError, &[&value])
        })?;
        members.push((member.uuid, member.default_effects));
    }
    let now = state.clock.now_us();
    let group = NewGroup {
        uuid: uuid::Uuid::new_v4(),
        project: project.pub_key.clone(),
        members,
    };
    // The store checks the members and writes the group with other creates waiting (group
    // commit), at a creation time unique in the project; the answer is built from the rows
    // it read, with no second round trip.
    let expiry = Expiry::new(now, state.retention_us());
    let (record, members) = state
        .store
        .create_group(group, state.clock.unique_us(), expiry)
        .await?
        .ok_or_else(|| UploadError::new(ErrorCode::GroupFilesNotFoundError))?;
    // Judged at the time the members were found live: a file expiring while the group is
    // written must not show as `null` in the answer that created the group.
    Ok(Json(group_answer(&state, &headers, &record, &members, now)).into_response())
}

/// `GET /group/info/`: a group by `group_id`.
pub async fn group_info(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> Result<Response, UploadError> {
    let q = query_fields(uri.query())?;
    let project = auth::upload::project(&state, &q, PubKey::NAME).await?;
    let group_id = q.require("group_id", ErrorCode::GroupIdRequiredError)?;
    let not_found = || UploadError::new(ErrorCode::GroupNotFoundError);
    let id = GroupId::parse(group_id).ok_or_else(not_found)?;
    let (group, members) = state
        .store
        .group(Some(&project.pub_key), id.uuid)
        .await?
        .filter(|(g, _)| g.files_count == id.count)
        .ok_or_else(not_found)?;
    let now = state.clock.now_us();
    Ok(Json(group_answer(&state, &headers, &group, &members, now)).into_response())
}
