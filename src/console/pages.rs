//! The projects page (keys, settings, counts, reset, fixtures), the clock and the faults.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};

use super::html::{duration, esc, page, size, time, url_part, ROOT};
use super::{expiry, Section};
use serde::Deserialize;

use crate::faults::{FaultKind, Scope};
use crate::store::console::{FileCounts, FileSearch, FileView};
use crate::store::{Cursor, Order, PageQuery};
use crate::AppState;

/// An action form: the script sends its fields as JSON to the admin API (`api`, `method`)
/// and reloads the page when it succeeds.
pub fn action(api: &str, method: &str, confirm: Option<&str>, inner: &str) -> String {
    let confirm = confirm.map_or(String::new(), |c| format!(" data-confirm=\"{}\"", esc(c)));
    format!(
        "<form class=\"action\" data-api=\"{}\" data-method=\"{method}\"{confirm}>{inner}\
         <output aria-live=\"polite\"></output></form>",
        esc(api)
    )
}

/// Projects with more files than this get no counts unless asked (`?counts=exact`): counting
/// is a pass over every row of the project, seconds at a million.
const COUNT_CAP: i64 = 100_000;

/// Query of the projects page.
#[derive(Deserialize)]
pub struct ProjectsParams {
    counts: Option<String>,
}

/// `GET /_emulator/console/`: every project with its keys, settings and counts.
pub async fn projects(
    State(state): State<Arc<AppState>>,
    params: Result<Query<ProjectsParams>, QueryRejection>,
) -> Response {
    let exact = params.is_ok_and(|Query(p)| p.counts.as_deref() == Some("exact"));
    let cap = (!exact).then_some(COUNT_CAP);
    let projects = match state.store.all_projects().await {
        Ok(p) => p,
        Err(e) => return Section::PROJECTS.failed(e).into_response(),
    };
    let rule = expiry(&state);
    let mut body = String::from(
        "<p class=\"lead\">Everything the emulator holds, by project. Files, groups and \
         webhooks link to their pages; the clock and faults steer every project.</p>",
    );
    for p in &projects {
        let key = url_part(&p.pub_key);
        let (counts, groups, hooks) = match tokio::try_join!(
            state.store.file_counts(&p.pub_key, rule, cap),
            state.store.count_groups(&p.pub_key),
            state.store.list_hooks(&p.pub_key),
        ) {
            Ok(x) => x,
            Err(e) => return Section::PROJECTS.failed(e).into_response(),
        };
        let yes_no = |b: bool| if b { "yes" } else { "no" };
        let _ = write!(
            body,
            "<section class=\"card project\" aria-labelledby=\"p-{id}\">\
             <h2 id=\"p-{id}\">{name}</h2>\
             <dl class=\"facts\"><dt>Public key</dt><dd><code>{pk}</code></dd>\
             <dt>Secret key</dt><dd><code>{sk}</code></dd>\
             <dt>Autostore</dt><dd>{auto}</dd><dt>Signed uploads</dt><dd>{signed}</dd></dl>\
             <ul class=\"counts\">{files}\
             <li><a href=\"{ROOT}/groups?project={key}\"><strong>{groups}</strong> groups</a></li>\
             <li><a href=\"{ROOT}/webhooks?project={key}\"><strong>{hooks}</strong> webhooks</a></li></ul>\
             <div class=\"actions\">{reset}{seed}</div></section>",
            id = esc(&p.pub_key),
            name = esc(&p.name),
            pk = esc(&p.pub_key),
            sk = esc(&p.secret_key),
            auto = yes_no(p.autostore),
            signed = yes_no(p.signed_uploads),
            files = file_counts(&key, counts),
            hooks = hooks.len(),
            reset = action(
                &format!("/_emulator/projects/{key}/reset"),
                "POST",
                Some(&format!(
                    "Remove every file and group of {}? Webhooks stay.",
                    p.pub_key
                )),
                "<button type=\"submit\" class=\"danger\">Reset files and groups</button>",
            ),
            seed = action(
                &format!("/_emulator/projects/{key}/seed"),
                "POST",
                None,
                "<label>Fixture folder <input name=\"dir\" required placeholder=\"/path/on/the/emulator\"></label>\
                 <button type=\"submit\">Load fixtures</button>",
            ),
        );
    }
    if projects.is_empty() {
        body.push_str("<p class=\"note\">No projects yet.</p>");
    }
    body.push_str(&format!(
        "<section class=\"card\"><h2>New project</h2>{}</section>",
        action(
            "/_emulator/projects",
            "POST",
            None,
            "<label>Public key <input name=\"pub_key\" required></label>\
             <label>Secret key <input name=\"secret_key\" required></label>\
             <label>Name <input name=\"name\"></label>\
             <label><input type=\"checkbox\" name=\"autostore\" checked> Autostore</label>\
             <label><input type=\"checkbox\" name=\"signed_uploads\"> Signed uploads</label>\
             <button type=\"submit\">Create</button>",
        )
    ));
    page("/", "Projects", &body)
}

/// The file counts of a project, each linking to its view; without numbers when the
/// project was too big to count.
fn file_counts(key: &str, counts: Option<FileCounts>) -> String {
    let views = [
        ("all", "files"),
        ("stored", "stored"),
        ("expiring", "expiring"),
        ("removed", "removed"),
    ];
    let Some(c) = counts else {
        let mut out = format!(
            "<li>more than {COUNT_CAP} files (<a href=\"{ROOT}/?counts=exact\">count them</a>, \
             a pass over every row)</li>"
        );
        for (view, label) in views {
            let _ = write!(
                out,
                "<li><a href=\"{ROOT}/files?project={key}&amp;view={view}\">{label}</a></li>"
            );
        }
        return out;
    };
    let mut out = String::new();
    for ((view, label), n) in views
        .into_iter()
        .zip([c.total, c.stored, c.expiring, c.removed])
    {
        let _ = write!(
            out,
            "<li><a href=\"{ROOT}/files?project={key}&amp;view={view}\"><strong>{n}</strong> {label}</a></li>"
        );
    }
    out
}

/// `GET /_emulator/console/clock`: the emulator's time, moving it, and what expires next.
pub async fn clock(State(state): State<Arc<AppState>>) -> Response {
    let now = state.clock.now_us();
    let wall = chrono::Utc::now().timestamp_micros();
    let retention = state.retention_us();
    let mut body = format!(
        "<dl class=\"facts\"><dt>Emulator time</dt><dd>{}</dd><dt>Wall clock</dt><dd>{}</dd>\
         <dt>Moved ahead by</dt><dd>{}</dd><dt>Retention of unstored files</dt><dd>{}</dd></dl>",
        time(now),
        time(wall),
        duration((now - wall).max(0)),
        duration(retention),
    );
    body.push_str(&action(
        "/_emulator/clock/advance",
        "POST",
        None,
        &format!(
            "<label>Move ahead by (seconds) <input type=\"number\" name=\"seconds\" min=\"0\" \
             max=\"315360000\" value=\"3600\" required></label>\
             <button type=\"submit\">Move</button>\
             <button type=\"submit\" name=\"seconds\" value=\"3600\">+1 hour</button>\
             <button type=\"submit\" name=\"seconds\" value=\"86400\">+1 day</button>\
             <button type=\"submit\" name=\"seconds\" value=\"{}\">+ retention</button>",
            retention / 1_000_000
        ),
    ));
    body.push_str(
        "<p class=\"note\">The clock only moves forward, as the admin API allows; a restart \
         sets it back to the wall clock.</p><h2>Expiring next</h2>",
    );
    let projects = match state.store.all_projects().await {
        Ok(p) => p,
        Err(e) => return Section::CLOCK.failed(e).into_response(),
    };
    let search = FileSearch {
        view: FileView::Expiring,
        text: None,
        expiry: expiry(&state),
    };
    let q = PageQuery {
        order: Order::Ascending,
        cursor: Cursor::Start,
        offset: 0,
        limit: 10,
    };
    let mut rows = String::new();
    for p in &projects {
        let files = match state.store.find_files(&p.pub_key, &search, &q).await {
            Ok(f) => f,
            Err(e) => return Section::CLOCK.failed(e).into_response(),
        };
        for f in files.items {
            let at = f.uploaded_us.saturating_add(retention);
            let _ = write!(
                rows,
                "<tr><td><a href=\"{ROOT}/files/{u}\">{name}</a></td><td>{pk}</td><td>{size}</td>\
                 <td>{at}</td><td>in {left}</td></tr>",
                u = f.uuid,
                name = esc(&f.original_filename),
                pk = esc(&p.pub_key),
                size = size(f.size),
                at = time(at),
                left = duration(at - now),
            );
        }
    }
    if rows.is_empty() {
        body.push_str("<p class=\"note\">No unstored file is waiting to expire.</p>");
    } else {
        body.push_str(&format!(
            "<div class=\"scroll\"><table><thead><tr><th>File</th><th>Project</th><th>Size</th>\
             <th>Expires at</th><th>Left</th></tr></thead><tbody>{rows}</tbody></table></div>\
             <p class=\"note\">The ten soonest of each project; all of them: Files, view \
             “expiring”.</p>"
        ));
    }
    page("/clock", "Clock", &body)
}

/// `GET /_emulator/console/faults`: pending faults, adding one, clearing them.
pub async fn faults(State(state): State<Arc<AppState>>) -> Response {
    let pending = state
        .faults
        .pending(state.store.as_ref())
        .await
        .unwrap_or_else(|e| {
            tracing::warn!(error = %e, "reading pending faults failed");
            Vec::new()
        });
    let mut body = String::from(
        "<p class=\"lead\">The next matching calls get a fault in their API's own format: \
         production's throttle (429 with <code>Retry-After</code>), a 500, or a delay. A \
         single request can ask for one with <code>X-Emulator-Fault: throttle | error | \
         delay=&lt;ms&gt;</code>.</p>",
    );
    if pending.is_empty() {
        body.push_str("<p class=\"note\" id=\"no-faults\">No fault is pending.</p>");
    } else {
        body.push_str(
            "<div class=\"scroll\"><table id=\"faults\"><thead><tr><th>Fault</th><th>API</th>\
             <th>Project</th><th>Calls left</th></tr></thead><tbody>",
        );
        for f in &pending {
            let kind = match f.kind {
                FaultKind::Throttle { retry_after } => {
                    format!("throttle (429, Retry-After {retry_after} s)")
                }
                FaultKind::ServerError => "error (500)".to_owned(),
                FaultKind::Delay(d) => format!("delay {} ms", d.as_millis()),
            };
            let api = match f.scope {
                Scope::Any => "any",
                Scope::Upload => "upload",
                Scope::Rest => "rest",
                Scope::Cdn => "cdn",
            };
            let _ = write!(
                body,
                "<tr><td>{kind}</td><td>{api}</td><td>{}</td><td>{}</td></tr>",
                esc(f.pub_key.as_deref().unwrap_or("any")),
                f.remaining
            );
        }
        body.push_str("</tbody></table></div>");
        body.push_str(&action(
            "/_emulator/faults",
            "DELETE",
            None,
            "<button type=\"submit\" class=\"danger\">Clear every fault</button>",
        ));
    }
    let projects = match state.store.all_projects().await {
        Ok(p) => p,
        Err(e) => return Section::FAULTS.failed(e).into_response(),
    };
    let mut project_options = String::from("<option value=\"\">any</option>");
    for p in &projects {
        let _ = write!(
            project_options,
            "<option value=\"{0}\">{0}</option>",
            esc(&p.pub_key)
        );
    }
    body.push_str(&format!(
        "<h2>Add a fault</h2>{}",
        action(
            "/_emulator/faults",
            "POST",
            None,
            &format!(
                "<label>Kind <select name=\"kind\"><option value=\"throttle\">throttle (429)</option>\
                 <option value=\"error\">error (500)</option><option value=\"delay\">delay</option></select></label>\
                 <label>API <select name=\"api\"><option value=\"\">any</option>\
                 <option value=\"upload\">upload</option><option value=\"rest\">rest</option>\
                 <option value=\"cdn\">cdn</option></select></label>\
                 <label>Project <select name=\"pub_key\">{project_options}</select></label>\
                 <label>Calls <input type=\"number\" name=\"count\" min=\"1\" value=\"1\"></label>\
                 <label>Retry-After (s) <input type=\"number\" name=\"retry_after\" min=\"0\" max=\"3600\" placeholder=\"1\"></label>\
                 <label>Delay (ms) <input type=\"number\" name=\"delay_ms\" min=\"0\" max=\"120000\" placeholder=\"1000\"></label>\
                 <button type=\"submit\">Add fault</button>"
            ),
        )
    ));
    page("/faults", "Faults", &body)
}
