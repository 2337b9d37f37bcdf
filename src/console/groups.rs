//! Groups: a project's groups paged by creation time, and a page per group with its members
//! in order (each with its effects and a thumbnail showing them) and its REST JSON.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use serde::Deserialize;
use uuid::Uuid;

use super::files::{state_badge, thumbnail};
use super::html::{esc, json_block, page, time, url_part, ROOT};
use super::{newest_first, pager, project_picker, Page, ProjectQuery, Section};
use crate::domain::groups::GroupId;
use crate::rest_api::groups::group_with_files;
use crate::rest_api::version::ApiVersion;
use crate::store::GroupsPage;
use crate::urls::bases;
use crate::AppState;

/// Groups on one page.
const PAGE: i64 = 50;

/// Query of the list.
#[derive(Deserialize, Default)]
pub struct ListParams {
    project: Option<String>,
    after: Option<i64>,
    before: Option<i64>,
}

/// `GET /_emulator/console/groups`.
pub async fn list(
    State(state): State<Arc<AppState>>,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Page {
    let (p, projects, project) = Section::GROUPS.project_query(&state, params).await?;
    let q = newest_first(p.after, p.before, PAGE);
    let GroupsPage {
        page: groups,
        total,
        ..
    } = state
        .store
        .list_groups(&project.pub_key, &q)
        .await
        .map_err(|e| Section::GROUPS.failed(e))?;
    let key = url_part(&project.pub_key);
    let mut body = project_picker("/groups", &projects, &project.pub_key, &[]);
    let _ = write!(body, "<p>{total} groups, newest first.</p>");
    if groups.items.is_empty() {
        body.push_str("<p class=\"note\">No groups here.</p>");
    } else {
        body.push_str(
            "<div class=\"scroll\"><table id=\"groups\"><thead><tr><th>Group</th><th>Files</th>\
             <th>Created</th></tr></thead><tbody>",
        );
        for g in &groups.items {
            let id = GroupId {
                uuid: g.uuid,
                count: g.files_count,
            };
            let _ = write!(
                body,
                "<tr><td><a href=\"{ROOT}/groups/{id}\"><code>{id}</code></a></td><td>{}</td><td>{}</td></tr>",
                g.files_count,
                time(g.created_us)
            );
        }
        body.push_str("</tbody></table></div>");
    }
    let link = |cursor: &str, at: i64, rel: &str, label: &str| {
        format!(
            "<a rel=\"{rel}\" href=\"{ROOT}/groups?project={key}&amp;{cursor}={at}\">{label}</a>"
        )
    };
    body.push_str(&pager(&groups, |g| g.created_us, link));
    Ok(page("/groups", "Groups", &body))
}

/// The list shows one project.
impl ProjectQuery for ListParams {
    const USAGE: &'static str = "Expected ?project=&after=|before=<microseconds>.";

    fn project(&self) -> Option<&str> {
        self.project.as_deref()
    }
}

/// `GET /_emulator/console/groups/<id>` (`<uuid>~<count>` or the bare uuid).
pub async fn detail(
    State(state): State<Arc<AppState>>,
    Path(raw): Path<String>,
    headers: HeaderMap,
) -> Page {
    let uuid = match GroupId::parse(&raw) {
        Some(id) => Some(id.uuid),
        None => Uuid::parse_str(&raw).ok(),
    };
    let uuid = uuid.ok_or_else(|| Section::GROUPS.missing("No such group."))?;
    let (group, members) =
        Section::GROUPS.found(state.store.group(None, uuid).await, "No such group.")?;
    let project = members
        .iter()
        .find_map(|m| m.file.as_ref().map(|f| f.project.clone()));
    let id = GroupId {
        uuid: group.uuid,
        count: group.files_count,
    };
    let b = bases(&state.config.public_urls, &headers);
    let rest = group_with_files(&state, ApiVersion::V07, &b, &group, &members, None);
    let rest = serde_json::to_value(&rest).unwrap_or_default();
    let mut body = String::new();
    if let Some(p) = &project {
        let _ = write!(
            body,
            "<p><a href=\"{ROOT}/groups?project={}\">← {} groups</a></p>",
            url_part(p),
            esc(p)
        );
    }
    let _ = write!(
        body,
        "<dl class=\"facts\"><dt>Id</dt><dd><code>{id}</code></dd><dt>Created</dt><dd>{}</dd>\
         <dt>Files</dt><dd>{}</dd><dt>CDN</dt><dd><a href=\"/{id}/\">/{id}/</a> · \
         <a href=\"/{id}/archive/zip/\">zip</a></dd></dl><h2>Members in order</h2>\
         <ol class=\"members\" id=\"members\">",
        time(group.created_us),
        group.files_count
    );
    for (i, m) in members.iter().enumerate() {
        let effects = if m.default_effects.is_empty() {
            "<span class=\"note\">no effects</span>".to_owned()
        } else {
            format!("<code>-/{}</code>", esc(&m.default_effects))
        };
        match &m.file {
            Some(f) => {
                let _ = write!(
                    body,
                    "<li class=\"member\" data-uuid=\"{u}\"><a href=\"{ROOT}/files/{u}\">{thumb}</a>\
                     <div><span class=\"pos\">#{i}</span> <a href=\"{ROOT}/files/{u}\" class=\"name\">{name}</a>\
                     <br>{effects} {badge}<br><code class=\"small\">{u}</code></div></li>",
                    u = f.uuid,
                    thumb = thumbnail(&state, f, &m.default_effects),
                    name = esc(&f.original_filename),
                    badge = state_badge(&state, f),
                );
            }
            None => {
                let _ = write!(
                    body,
                    "<li class=\"member\" data-uuid=\"{u}\"><span class=\"thumb placeholder\" aria-hidden=\"true\">gone</span>\
                     <div><span class=\"pos\">#{i}</span> file row gone<br>{effects}<br><code class=\"small\">{u}</code></div></li>",
                    u = m.file_uuid,
                );
            }
        }
    }
    body.push_str("</ol><h2>REST JSON</h2><p class=\"note\">As <code>GET /groups/&lt;id&gt;/</code> answers it (API 0.7).</p>");
    body.push_str(&json_block(&rest));
    Ok(page("/groups", &format!("Group {id}"), &body))
}
