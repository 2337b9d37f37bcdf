//! Files: a grid of a project's files with thumbnails from the emulator's CDN (by state,
//! searchable by name, uuid or metadata, paged by upload time), and a page per file with
//! its REST JSON, metadata and a CDN URL builder that previews operations live.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use super::html::{duration, esc, json_block, page, size, time, url_part, ROOT};
use super::{expiry, newest_first, pager, project_picker, redirect, Page, Section};
use crate::domain::files::is_live;
use crate::rest_api::files::{as_seen, rest_file};
use crate::rest_api::version::ApiVersion;
use crate::store::console::{FileSearch, FileView};
use crate::store::FileRecord;
use crate::urls::bases;
use crate::AppState;

/// Files on one page of the grid.
const PAGE: i64 = 48;
/// Thumbnail edge in CSS pixels (the cells are fixed at this size: no layout shift).
pub const THUMB: u32 = 160;

/// Query of the grid.
#[derive(Deserialize, Default)]
pub struct ListParams {
    project: Option<String>,
    view: Option<String>,
    q: Option<String>,
    after: Option<i64>,
    before: Option<i64>,
}

/// The views, as (query value, label, view).
const VIEWS: [(&str, &str, FileView); 4] = [
    ("all", "All", FileView::All),
    ("stored", "Stored", FileView::Stored),
    ("expiring", "Expiring", FileView::Expiring),
    ("removed", "Removed", FileView::Removed),
];

/// Where a file stands now, in words, and a class for its badge.
pub fn state_badge(state: &AppState, f: &FileRecord) -> String {
    let now = state.clock.now_us();
    let retention = state.retention_us();
    let (class, text) = if f.removed_us.is_some() {
        ("removed", "removed".to_owned())
    } else if !is_live(f, now, retention) {
        ("removed", "expired".to_owned())
    } else if f.stored_us.is_some() {
        ("stored", "stored".to_owned())
    } else {
        (
            "expiring",
            format!(
                "expires in {}",
                duration(f.uploaded_us.saturating_add(retention) - now)
            ),
        )
    };
    format!("<span class=\"badge {class}\">{text}</span>")
}

/// A fixed-size thumbnail: the CDN's preview for live images, a label otherwise.
pub fn thumbnail(state: &AppState, f: &FileRecord, effects: &str) -> String {
    let live = is_live(f, state.clock.now_us(), state.retention_us());
    if live && f.image.is_some() {
        let effects = if effects.is_empty() {
            String::new()
        } else {
            format!("-/{}", effects.trim_start_matches('/'))
        };
        format!(
            "<span class=\"thumb\"><img src=\"/{}/{}-/preview/{THUMB}x{THUMB}/\" width=\"{THUMB}\" \
             height=\"{THUMB}\" alt=\"\" loading=\"lazy\" decoding=\"async\"></span>",
            f.uuid,
            esc(&effects)
        )
    } else {
        let label = if live {
            f.mime_type
                .rsplit('/')
                .next()
                .unwrap_or("file")
                .to_uppercase()
        } else {
            "gone".to_owned()
        };
        format!(
            "<span class=\"thumb placeholder\" aria-hidden=\"true\">{}</span>",
            esc(&label)
        )
    }
}

/// `GET /_emulator/console/files`: the grid.
pub async fn list(
    State(state): State<Arc<AppState>>,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Page {
    let p = Section::FILES.params(
        params,
        "Expected ?project=&view=&q=&after=|before=<microseconds>.",
    )?;
    let text = p.q.as_deref().map(str::trim).unwrap_or("");
    if let Ok(uuid) = Uuid::parse_str(text) {
        return Ok(redirect(&format!("{ROOT}/files/{uuid}")));
    }
    let (projects, project) = Section::FILES.project(&state, p.project.as_deref()).await?;
    let view_name = p.view.as_deref().unwrap_or("all");
    let Some((view_name, _, view)) = VIEWS.iter().find(|(n, _, _)| *n == view_name) else {
        return Err(Section::FILES.bad_request("view must be all, stored, expiring or removed."));
    };
    let search = FileSearch {
        view: *view,
        text: Some(text),
        expiry: expiry(&state),
    };
    let q = newest_first(p.after, p.before, PAGE);
    let found = state
        .store
        .find_files(&project.pub_key, &search, &q)
        .await
        .map_err(|e| Section::FILES.failed(e))?;
    let key = url_part(&project.pub_key);
    let mut body = project_picker(
        "/files",
        &projects,
        &project.pub_key,
        &[("view", view_name), ("q", text)],
    );
    body.push_str("<nav class=\"tabs\" aria-label=\"File views\">");
    for (name, label, _) in VIEWS {
        let current = if name == *view_name {
            " aria-current=\"page\""
        } else {
            ""
        };
        let _ = write!(
            body,
            "<a href=\"{ROOT}/files?project={key}&amp;view={name}&amp;q={}\"{current}>{label}</a>",
            esc(&url_part(text))
        );
    }
    body.push_str("</nav>");
    let _ = write!(
        body,
        "<form method=\"get\" action=\"{ROOT}/files\" class=\"inline search\" role=\"search\">\
         <input type=\"hidden\" name=\"project\" value=\"{}\">\
         <input type=\"hidden\" name=\"view\" value=\"{view_name}\">\
         <label>Search <input type=\"search\" name=\"q\" value=\"{}\" \
         placeholder=\"name, uuid or metadata\"></label><button type=\"submit\">Find</button></form>",
        esc(&project.pub_key),
        esc(text)
    );
    if found.items.is_empty() {
        body.push_str("<p class=\"note\">No files here.</p>");
    } else {
        body.push_str("<ul class=\"grid\" id=\"files\">");
        for f in &found.items {
            let _ = write!(
                body,
                "<li class=\"cell\" data-uuid=\"{u}\"><a href=\"{ROOT}/files/{u}\">{thumb}\
                 <span class=\"name\" title=\"{name}\">{name}</span>\
                 <span class=\"meta\">{size} {badge}</span></a></li>",
                u = f.uuid,
                thumb = thumbnail(&state, f, ""),
                name = esc(&f.original_filename),
                size = size(f.size),
                badge = state_badge(&state, f),
            );
        }
        body.push_str("</ul>");
    }
    let q = esc(&url_part(text));
    let link = |cursor: &str, at: i64, rel: &str, label: &str| {
        format!(
            "<a href=\"{ROOT}/files?project={key}&amp;view={view_name}&amp;q={q}&amp;{cursor}={at}\" \
             rel=\"{rel}\">{label}</a>"
        )
    };
    body.push_str(&pager(&found, |f| f.uploaded_us, link));
    Ok(page("/files", "Files", &body))
}

/// `GET /_emulator/console/files/<uuid>`: one file.
pub async fn detail(
    State(state): State<Arc<AppState>>,
    Path(raw): Path<String>,
    headers: HeaderMap,
) -> Page {
    let uuid = Uuid::parse_str(&raw).map_err(|_| Section::FILES.missing("No such file."))?;
    let file = Section::FILES.found(state.store.file(None, uuid).await, "No such file.")?;
    let file = as_seen(file, state.clock.now_us(), state.retention_us());
    let b = bases(&state.config.public_urls, &headers);
    let rest = Value::Object(rest_file(&file, ApiVersion::V07, &b));
    let live = is_live(&file, state.clock.now_us(), state.retention_us());
    let u = file.uuid;
    let mut body = format!(
        "<p><a href=\"{ROOT}/files?project={key}\">← {pk} files</a></p>\
         <div class=\"split\"><div>{thumb}</div><dl class=\"facts\">\
         <dt>UUID</dt><dd><code>{u}</code></dd>\
         <dt>Project</dt><dd>{pk}</dd>\
         <dt>Name</dt><dd>{name}</dd>\
         <dt>Size</dt><dd>{size} ({bytes} bytes)</dd>\
         <dt>MIME type</dt><dd>{mime}</dd>\
         <dt>Image</dt><dd>{image}</dd>\
         <dt>Uploaded</dt><dd>{uploaded}</dd>\
         <dt>Stored</dt><dd>{stored}</dd>\
         <dt>Removed</dt><dd>{removed}</dd>\
         <dt>State</dt><dd>{badge}</dd>\
         <dt>Links</dt><dd><a href=\"/{u}/\">CDN</a> · <a href=\"{rest_url}\">REST</a> (needs the project's keys)</dd>\
         </dl></div>",
        key = url_part(&file.project),
        pk = esc(&file.project),
        thumb = thumbnail(&state, &file, ""),
        name = esc(&file.original_filename),
        size = size(file.size),
        bytes = file.size,
        mime = esc(&file.mime_type),
        image = file.image.as_ref().map_or("—".to_owned(), |i| format!(
            "{} {}×{} {}",
            esc(&i.format),
            i.width,
            i.height,
            esc(&i.color_mode)
        )),
        uploaded = time(file.uploaded_us),
        stored = file.stored_us.map_or("—".to_owned(), time),
        removed = file.removed_us.map_or("—".to_owned(), time),
        badge = state_badge(&state, &file),
        rest_url = esc(&format!("{}/files/{u}/", b.api)),
    );
    body.push_str("<h2>Metadata</h2>");
    if file.metadata.is_empty() {
        body.push_str("<p class=\"note\">No metadata.</p>");
    } else {
        body.push_str(
            "<div class=\"scroll\"><table id=\"metadata\"><thead><tr><th>Key</th><th>Value</th>\
             </tr></thead><tbody>",
        );
        for (k, v) in &file.metadata {
            let v = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
            let _ = write!(
                body,
                "<tr><td><code>{}</code></td><td>{}</td></tr>",
                esc(k),
                esc(&v)
            );
        }
        body.push_str("</tbody></table></div>");
    }
    body.push_str(
        "<h2>Appdata</h2><p class=\"note\"><code>{}</code>: the emulator runs no add-ons, so \
         no add-on writes appdata (<code>include=appdata</code> answers this).</p>",
    );
    if live && file.image.is_some() {
        let _ = write!(
            body,
            "<h2>CDN URL builder</h2><section class=\"card builder\" data-builder data-base=\"/{u}/\">\
             <label>Operations <input name=\"ops\" value=\"preview/400x400/\" spellcheck=\"false\" \
             autocomplete=\"off\" data-ops></label>\
             <div class=\"presets\" role=\"group\" aria-label=\"Add an operation\">\
             <button type=\"button\" data-op=\"resize/200x/\">resize</button>\
             <button type=\"button\" data-op=\"scale_crop/200x200/center/\">scale_crop</button>\
             <button type=\"button\" data-op=\"crop/50px50p/center/\">crop</button>\
             <button type=\"button\" data-op=\"rotate/90/\">rotate</button>\
             <button type=\"button\" data-op=\"flip/\">flip</button>\
             <button type=\"button\" data-op=\"mirror/\">mirror</button>\
             <button type=\"button\" data-op=\"grayscale/\">grayscale</button>\
             <button type=\"button\" data-op=\"invert/\">invert</button>\
             <button type=\"button\" data-op=\"format/webp/\">webp</button>\
             <button type=\"button\" data-op=\"quality/lightest/\">quality</button>\
             <button type=\"button\" data-reset>clear</button></div>\
             <p>URL: <a data-url href=\"/{u}/\"><code>/{u}/</code></a></p>\
             <p class=\"note\" data-status aria-live=\"polite\"></p>\
             <div class=\"preview\"><img data-preview alt=\"Preview of the operations\"></div></section>"
        );
    }
    body.push_str("<h2>REST JSON</h2><p class=\"note\">As <code>GET /files/&lt;uuid&gt;/</code> answers it (API 0.7).</p>");
    body.push_str(&json_block(&rest));
    Ok(page("/files", &file.original_filename, &body))
}
