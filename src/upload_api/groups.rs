//! `POST /group/` (create a group) and `GET /group/info/` (upload-groups.openapi.yml).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::Json;
use serde_json::{json, Value};

use super::error::{ErrorCode, UploadError};
use super::files::file_upload_info;
use super::form::{query_fields, text_fields};
use crate::auth;
use crate::domain::files::is_live;
use crate::domain::groups::{parse_member, GroupId, MemberFields, MAX_MEMBERS};
use crate::domain::time::iso;
use crate::store::{GroupMember, GroupRecord, NewGroup};
use crate::urls::bases;
use crate::AppState;

/// The `groupInfo` object: the group and each member as `fileUploadInfo` plus
/// `default_effects`, or `null` where the member's file is gone.
fn group_info_json(
    state: &AppState,
    headers: &HeaderMap,
    group: &GroupRecord,
    members: &[GroupMember],
) -> Value {
    let b = bases(&state.config.public_urls, headers);
    let id = GroupId {
        uuid: group.uuid,
        count: group.files_count,
    };
    let now = state.clock.now_us();
    let retention = state.retention_us();
    let files: Vec<Value> = members
        .iter()
        .map(|m| match &m.file {
            Some(f) if is_live(f, now, retention) => {
                let mut info = file_upload_info(f);
                info.insert("default_effects".into(), m.default_effects.clone().into());
                Value::Object(info)
            }
            _ => Value::Null,
        })
        .collect();
    json!({
        "id": id.to_string(),
        "datetime_created": iso(group.created_us),
        "datetime_stored": null,
        "files_count": group.files_count,
        "cdn_url": format!("{}/{}/", b.cdn, id),
        "url": format!("{}/groups/{}/", b.api, id),
        "files": files,
    })
}

/// `POST /group/` (also `/group//`): creates a group from `files[N]` / `files[]` members.
pub async fn create_group(
    State(state): State<Arc<AppState>>,
    request: Request,
) -> Result<Json<Value>, UploadError> {
    let headers = request.headers().clone();
    let fields = text_fields(request).await?;
    let project = auth::upload::project(&state, "pub_key", fields.get("pub_key")).await?;
    auth::upload::check_signature(
        &project,
        fields.get("signature"),
        fields.get("expire"),
        state.clock.now_us() / 1_000_000,
    )?;
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
    let mut wanted: Vec<uuid::Uuid> = members.iter().map(|(u, _)| *u).collect();
    wanted.sort_unstable();
    wanted.dedup();
    // Every member must be a live file of this project: not removed, and stored or
    // still within the retention of unstored files (as `/info/` sees it).
    let now_us = state.clock.now_us();
    let retention_us = state.retention_us();
    for uuid in &wanted {
        let file = state.store.file(&project.pub_key, *uuid).await?;
        if !file.is_some_and(|f| is_live(&f, now_us, retention_us)) {
            return Err(UploadError::new(ErrorCode::GroupFilesNotFoundError));
        }
    }
    let group = NewGroup {
        uuid: uuid::Uuid::new_v4(),
        project: project.pub_key.clone(),
        members,
    };
    // Creation times are unique per project (the `from` cursor relies on it): another
    // writer may have taken this microsecond, so take the next free one.
    let mut created_us = state.clock.unique_us();
    while !state.store.insert_group(&group, created_us).await? {
        created_us = state.clock.unique_us();
    }
    let (record, members) = state
        .store
        .group(&project.pub_key, group.uuid)
        .await?
        .ok_or_else(|| UploadError::new(ErrorCode::UploadAPIError))?;
    Ok(Json(group_info_json(&state, &headers, &record, &members)))
}

/// `GET /group/info/`: a group by `group_id`.
pub async fn group_info(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> Result<Json<Value>, UploadError> {
    let q = query_fields(uri.query())?;
    let project = auth::upload::project(&state, "pub_key", q.get("pub_key")).await?;
    let group_id = q
        .get("group_id")
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| UploadError::new(ErrorCode::GroupIdRequiredError))?;
    let not_found = || UploadError::new(ErrorCode::GroupNotFoundError);
    let id = GroupId::parse(group_id).ok_or_else(not_found)?;
    let (group, members) = state
        .store
        .group(&project.pub_key, id.uuid)
        .await?
        .filter(|(g, _)| g.files_count == id.count)
        .ok_or_else(not_found)?;
    Ok(Json(group_info_json(&state, &headers, &group, &members)))
}
