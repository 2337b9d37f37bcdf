//! Webhooks: a project's hooks and its deliveries (newest first, paged by id), and a page
//! per delivery with the exact body sent and a redeliver button.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use serde::Deserialize;

use super::html::{esc, json_block, page, time, url_part, ROOT};
use super::pages::action;
use super::{older_pager, project_picker, Page, ProjectQuery, Section};
use crate::store::webhooks::Delivery;
use crate::AppState;

/// Deliveries on one page.
const PAGE: i64 = 50;

/// Query of the list.
#[derive(Deserialize, Default)]
pub struct ListParams {
    project: Option<String>,
    before: Option<i64>,
}

/// The last attempt's outcome in words.
fn outcome(d: &Delivery) -> String {
    match (d.last_status, &d.last_error) {
        (Some(s), _) => format!("HTTP {s}"),
        (None, Some(e)) => esc(e),
        (None, None) => "—".to_owned(),
    }
}

/// The redeliver button of a delivery.
fn redeliver(d: &Delivery) -> String {
    action(
        &format!("/_emulator/webhooks/deliveries/{}/redeliver", d.id),
        "POST",
        None,
        "<button type=\"submit\">Redeliver</button>",
    )
}

/// `GET /_emulator/console/webhooks`.
pub async fn list(
    State(state): State<Arc<AppState>>,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Page {
    let (p, projects, project) = Section::WEBHOOKS.project_query(&state, params).await?;
    let (hooks, deliveries) = tokio::try_join!(
        state.store.list_hooks(&project.pub_key),
        state
            .store
            .delivery_page(Some(&project.pub_key), p.before, PAGE + 1)
    )
    .map_err(|e| Section::WEBHOOKS.failed(e))?;
    let key = url_part(&project.pub_key);
    let mut body = project_picker("/webhooks", &projects, &project.pub_key, &[]);
    body.push_str("<h2>Hooks</h2>");
    if hooks.is_empty() {
        body.push_str(
            "<p class=\"note\">No hooks; create one with <code>POST /webhooks/</code>.</p>",
        );
    } else {
        body.push_str(
            "<div class=\"scroll\"><table id=\"hooks\"><thead><tr><th>Id</th><th>Event</th>\
             <th>Target</th><th>Active</th><th>Signed</th><th>Version</th><th>Created</th>\
             </tr></thead><tbody>",
        );
        for h in &hooks {
            let _ = write!(
                body,
                "<tr><td>{}</td><td>{}</td><td class=\"wrap\">{}</td><td>{}</td><td>{}</td>\
                 <td>{}</td><td>{}</td></tr>",
                h.id,
                h.event.name(),
                esc(&h.target_url),
                if h.is_active { "yes" } else { "no" },
                if h.signing_secret.is_some() {
                    "yes"
                } else {
                    "no"
                },
                esc(&h.version),
                time(h.created_us)
            );
        }
        body.push_str("</tbody></table></div>");
    }
    body.push_str("<h2>Deliveries</h2>");
    let more = deliveries.len() as i64 > PAGE;
    let shown = &deliveries[..deliveries.len().min(PAGE as usize)];
    if shown.is_empty() {
        body.push_str("<p class=\"note\">No deliveries.</p>");
    } else {
        body.push_str(
            "<div class=\"scroll\"><table id=\"deliveries\"><thead><tr><th>Id</th><th>Event</th>\
             <th>State</th><th>Attempts</th><th>Last answer</th><th>Next try</th>\
             <th>Target</th><th></th></tr></thead><tbody>",
        );
        for d in shown {
            let _ = write!(
                body,
                "<tr data-delivery=\"{id}\" data-state=\"{st}\"><td><a href=\"{ROOT}/webhooks/deliveries/{id}\">{id}</a></td>\
                 <td>{ev}</td><td><span class=\"badge {st}\">{st}</span></td><td>{att}</td>\
                 <td>{out}</td><td>{next}</td><td class=\"wrap\">{target}</td><td>{btn}</td></tr>",
                id = d.id,
                ev = d.event.name(),
                st = d.state.name(),
                att = d.attempts,
                out = outcome(d),
                next = d.next_attempt_us.map_or("—".to_owned(), time),
                target = esc(&d.target_url),
                btn = redeliver(d),
            );
        }
        body.push_str("</tbody></table></div>");
    }
    let list = format!("{ROOT}/webhooks?project={key}");
    let older = shown.last().filter(|_| more).map(|last| last.id);
    body.push_str(&older_pager(&list, p.before.is_none(), older));
    Ok(page("/webhooks", "Webhooks", &body))
}

/// The list shows one project.
impl ProjectQuery for ListParams {
    const USAGE: &'static str = "Expected ?project=&before=<delivery id>.";

    fn project(&self) -> Option<&str> {
        self.project.as_deref()
    }
}

/// `GET /_emulator/console/webhooks/deliveries/<id>`.
pub async fn delivery(State(state): State<Arc<AppState>>, Path(raw): Path<String>) -> Page {
    let id = raw
        .parse::<i64>()
        .map_err(|_| Section::WEBHOOKS.missing("No such delivery."))?;
    let d = Section::WEBHOOKS.found(state.store.delivery(id).await, "No such delivery.")?;
    let mut body = format!(
        "<p><a href=\"{ROOT}/webhooks?project={key}\">← {pk} webhooks</a></p>\
         <dl class=\"facts\" data-state=\"{st}\"><dt>Event</dt><dd>{ev}</dd>\
         <dt>State</dt><dd><span class=\"badge {st}\">{st}</span></dd>\
         <dt>Attempts</dt><dd>{att}</dd><dt>Last answer</dt><dd>{out}</dd>\
         <dt>Latency</dt><dd>{lat}</dd><dt>Last attempt</dt><dd>{last}</dd>\
         <dt>Next try</dt><dd>{next}</dd><dt>Created</dt><dd>{created}</dd>\
         <dt>Hook</dt><dd>{hook}</dd><dt>Target</dt><dd class=\"wrap\">{target}</dd>\
         <dt>Signed</dt><dd>{signed}</dd>\
         <dt>File</dt><dd><a href=\"{ROOT}/files/{file}\"><code>{file}</code></a></dd></dl>{btn}\
         <h2>Body sent</h2>",
        key = url_part(&d.project),
        pk = esc(&d.project),
        st = d.state.name(),
        ev = d.event.name(),
        att = d.attempts,
        out = outcome(&d),
        lat = d.last_latency_us.map_or("—".to_owned(), |us| format!(
            "{:.1} ms",
            us as f64 / 1000.0
        )),
        last = d.last_attempt_us.map_or("—".to_owned(), time),
        next = d.next_attempt_us.map_or("—".to_owned(), time),
        created = time(d.created_us),
        hook = d.hook_id,
        target = esc(&d.target_url),
        signed = if d.signing_secret.is_some() {
            "yes (X-Uc-Signature)"
        } else {
            "no"
        },
        file = d.file_uuid,
        btn = redeliver(&d),
    );
    match serde_json::from_str::<serde_json::Value>(&d.body) {
        Ok(v) => body.push_str(&json_block(&v)),
        Err(_) => {
            let _ = write!(body, "<pre tabindex=\"0\">{}</pre>", esc(&d.body));
        }
    }
    Ok(page("/webhooks", &format!("Delivery {}", d.id), &body))
}
