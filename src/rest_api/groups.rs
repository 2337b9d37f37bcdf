//! `GET /groups/`, `GET|DELETE /groups/<id>/`, and the legacy `PUT /groups/<id>/storage/`
//! (REST API reference, "Group").

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{FromRequest, Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;
use serde_json::Value;

use super::error::{deleted, json_bytes_response, json_response, unknown_route, RestError};
use super::files::rest_file;
use super::pagination::{page_links, parse_list_query};
use super::path_call::{PathCall, PathTarget};
use super::version::{ApiVersion, RestView};
use crate::auth::rest::RestCall;
use crate::domain::changes;
use crate::domain::files::is_live;
use crate::domain::groups::GroupId;
use crate::domain::time::iso;
use crate::store::{FileChange, GroupMember, GroupRecord};
use crate::urls::Bases;
use crate::webhooks::events::EventSource;
use crate::AppState;

/// The `group` object, keys in production's order. v0.7 has no `datetime_stored`; earlier
/// versions carry it (`stored`).
#[derive(Serialize)]
struct GroupJson {
    id: String,
    datetime_created: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    datetime_stored: Option<Option<String>>,
    files_count: i64,
    cdn_url: String,
    url: String,
}

fn group_json(
    group: &GroupRecord,
    version: ApiVersion,
    stored: Option<i64>,
    b: &Bases,
) -> GroupJson {
    let id = GroupId {
        uuid: group.uuid,
        count: group.files_count,
    };
    GroupJson {
        datetime_created: iso(group.created_us),
        datetime_stored: version.is_legacy().then(|| stored.map(iso)),
        files_count: group.files_count,
        cdn_url: format!("{}/{}/", b.cdn, id),
        url: format!("{}/groups/{}/", b.api, id),
        id: id.to_string(),
    }
}

/// The `groupWithFiles` object: the group, then its members.
#[derive(Serialize)]
pub(crate) struct GroupWithFiles {
    #[serde(flatten)]
    group: GroupJson,
    files: Vec<Value>,
}

/// A page of `GET /groups/`.
#[derive(Serialize)]
struct GroupList {
    next: Option<String>,
    previous: Option<String>,
    total: i64,
    per_page: i64,
    results: Vec<GroupJson>,
}

/// When a group counts as stored (legacy versions): the latest store time of its members when
/// every member is live and stored, else `null`. The emulator keeps no group store time;
/// this is what production's field means for groups stored through it.
fn group_stored(members: &[GroupMember], now: i64, retention: i64) -> Option<i64> {
    members
        .iter()
        .map(|m| {
            m.file
                .as_ref()
                .filter(|f| is_live(f, now, retention))
                .and_then(|f| f.stored_us)
        })
        .try_fold(None::<i64>, |latest, stored| {
            stored.map(|s| Some(latest.map_or(s, |l| l.max(s))))
        })
        .flatten()
}

/// The `groupWithFiles` object: each member as a REST `file` plus `default_effects`, or
/// `null` where the member's file is removed or expired.
pub(crate) fn group_with_files(
    state: &AppState,
    version: ApiVersion,
    b: &Bases,
    group: &GroupRecord,
    members: &[GroupMember],
    stored: Option<i64>,
) -> GroupWithFiles {
    let now = state.clock.now_us();
    let retention = state.retention_us();
    let files: Vec<Value> = members
        .iter()
        .map(|m| match &m.file {
            Some(f) if is_live(f, now, retention) => {
                let mut file = rest_file(f, version, b);
                file.insert("default_effects".into(), m.default_effects.clone().into());
                Value::Object(file)
            }
            _ => Value::Null,
        })
        .collect();
    GroupWithFiles {
        group: group_json(group, version, stored, b),
        files,
    }
}

/// The group a path id names, with its members; 404 for malformed ids, unknown groups,
/// other projects' groups and a count that is not the group's.
pub struct PathGroup {
    group: GroupRecord,
    members: Vec<GroupMember>,
}

impl PathTarget for PathGroup {
    type Params = String;

    async fn find(state: &AppState, project: &str, raw: String) -> Result<Self, RestError> {
        let id = GroupId::parse(&raw).ok_or_else(RestError::not_found)?;
        let (group, members) = state
            .store
            .group(Some(project), id.uuid)
            .await?
            .filter(|(g, _)| g.files_count == id.count)
            .ok_or_else(RestError::not_found)?;
        Ok(Self { group, members })
    }
}

/// `GET /groups/<uuid~N>/`: a group with its files.
pub async fn group_info(
    State(state): State<Arc<AppState>>,
    view: RestView,
    PathCall(_, PathGroup { group, members }): PathCall<PathGroup>,
) -> Result<Response, RestError> {
    let stored = group_stored(&members, state.clock.now_us(), state.retention_us());
    let body = group_with_files(&state, view.version, &view.bases, &group, &members, stored);
    Ok(json_response(StatusCode::OK, &body))
}

/// Most bodies [`RenderedPages`] keeps (past it, it is emptied).
const RENDERED_PAGES: usize = 64;

/// Bodies of `GET /groups/` as rendered, each with the project's group version its page was
/// read at: a page read at the same version (and asked for the same way: project, API
/// version, origin, query) has the same body, so it is sent without rendering it again. The
/// version is the store's (every group insert and delete on any replica moves it), so a
/// stale body is never sent.
#[derive(Default)]
pub struct RenderedPages {
    bodies: Mutex<HashMap<String, (i64, axum::body::Bytes)>>,
}

impl RenderedPages {
    fn get(&self, key: &str, version: i64) -> Option<axum::body::Bytes> {
        let bodies = self.bodies.lock().unwrap_or_else(|p| p.into_inner());
        bodies
            .get(key)
            .filter(|(at, _)| *at == version)
            .map(|(_, body)| body.clone())
    }

    fn put(&self, key: String, version: i64, body: axum::body::Bytes) {
        let mut bodies = self.bodies.lock().unwrap_or_else(|p| p.into_inner());
        if bodies.len() >= RENDERED_PAGES && !bodies.contains_key(&key) {
            bodies.clear();
        }
        bodies.insert(key, (version, body));
    }
}

/// `GET /groups/`: a page of the project's groups.
pub async fn list_groups(
    State(state): State<Arc<AppState>>,
    view: RestView,
    call: RestCall,
) -> Result<Response, RestError> {
    let query = parse_list_query(call.uri.query())?;
    let project = &call.project.pub_key;
    let listed = state.store.list_groups(project, &query.page).await?;
    let key = format!(
        "{project}\n{}\n{}\n{}\n{}\n{}",
        view.version.media_type(),
        view.origin,
        view.bases.cdn,
        view.bases.api,
        call.uri.query().unwrap_or_default()
    );
    if let Some(body) = listed
        .version
        .and_then(|at| state.rendered_groups.get(&key, at))
    {
        return Ok(json_bytes_response(StatusCode::OK, body));
    }
    let base = format!("{}/groups/", view.origin);
    let (next, previous) = page_links(&base, &query.pairs, &listed.page, |x| x.created_us);
    let list = GroupList {
        next,
        previous,
        total: listed.total,
        per_page: query.page.limit,
        results: listed
            .page
            .items
            .iter()
            .map(|g| group_json(g, view.version, None, &view.bases))
            .collect(),
    };
    let body: axum::body::Bytes = serde_json::to_vec(&list).unwrap_or_default().into();
    if let Some(at) = listed.version {
        state.rendered_groups.put(key, at, body.clone());
    }
    Ok(json_bytes_response(StatusCode::OK, body))
}

/// `DELETE /groups/<uuid~N>/`: deletes the group (its files stay); 204 with no body and no
/// `Content-Type`, as production answers and @uploadcare/rest-client requires.
pub async fn delete_group(
    State(state): State<Arc<AppState>>,
    PathCall(call, PathGroup { group, .. }): PathCall<PathGroup>,
) -> Result<Response, RestError> {
    deleted(
        state
            .store
            .delete_group(&call.project.pub_key, group.uuid)
            .await?,
    )
}

/// `PUT /groups/<uuid~N>/storage/` (API 0.5 and 0.6): stores every live member and answers
/// the group with `datetime_stored` set. Production removed the route in 0.7, so there it
/// answers as for any unknown route, before authentication.
pub async fn store_group(
    State(state): State<Arc<AppState>>,
    view: RestView,
    source: EventSource,
    request: Request,
) -> Result<Response, RestError> {
    if !view.version.is_legacy() {
        return Ok(unknown_route());
    }
    let PathCall(call, PathGroup { group, members }) =
        PathCall::from_request(request, &state).await?;
    let project = &call.project.pub_key;
    let now = state.clock.now_us();
    let retention = state.retention_us();
    let mut live: Vec<uuid::Uuid> = members
        .iter()
        .filter_map(|m| m.file.as_ref())
        .filter(|f| is_live(f, now, retention))
        .map(|f| f.uuid)
        .collect();
    live.sort_unstable();
    live.dedup();
    changes::change_files(&state, (project, &live, now), &source, FileChange::Store).await?;
    let (group, members) = state
        .store
        .group(Some(project), group.uuid)
        .await?
        .ok_or_else(RestError::not_found)?;
    let body = group_with_files(
        &state,
        view.version,
        &view.bases,
        &group,
        &members,
        Some(now),
    );
    Ok(json_response(StatusCode::OK, &body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::FileRecord;
    use uuid::Uuid;

    fn member(stored: Option<i64>, removed: Option<i64>) -> GroupMember {
        GroupMember {
            file_uuid: Uuid::nil(),
            default_effects: String::new(),
            file: Some(FileRecord {
                uuid: Uuid::nil(),
                project: "p".into(),
                size: 1,
                blob: "b".into(),
                original_filename: "a.txt".into(),
                mime_type: "text/plain".into(),
                image: None,
                metadata: serde_json::Map::new(),
                tags: Vec::new(),
                uploaded_us: 0,
                stored_us: stored,
                removed_us: removed,
            }),
        }
    }

    #[test]
    fn group_is_stored_when_every_member_is() {
        let r = 1_000;
        assert_eq!(
            group_stored(&[member(Some(5), None), member(Some(9), None)], 10, r),
            Some(9)
        );
        assert_eq!(
            group_stored(&[member(Some(5), None), member(None, None)], 10, r),
            None
        );
        assert_eq!(group_stored(&[member(Some(5), Some(6))], 10, r), None);
        let gone = GroupMember {
            file: None,
            ..member(None, None)
        };
        assert_eq!(group_stored(&[member(Some(5), None), gone], 10, r), None);
    }
}
