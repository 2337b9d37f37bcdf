//! The request journal's pages: the last requests across the APIs, filtered, and the whole
//! answer of one (see `journal.rs` for what is kept).

use std::fmt::Write as _;
use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderName, HeaderValue};
use serde::Deserialize;

use super::html::{esc, json_block, page, select, time, url_part, ROOT};
use super::journal::{Entry, CAPACITY};
use super::{older_pager, Page, Section};
use crate::AppState;

/// Requests on one page.
const PAGE: usize = 100;

/// Query of the list.
#[derive(Deserialize, Default)]
pub struct ListParams {
    api: Option<String>,
    status: Option<String>,
    q: Option<String>,
    before: Option<u64>,
}

/// Whether an entry passes the filters.
fn passes(e: &Entry, api: &str, status: &str, text: &str) -> bool {
    (api.is_empty() || e.api == api)
        && match status {
            "2xx" => (200..300).contains(&e.status),
            "3xx" => (300..400).contains(&e.status),
            "4xx" => (400..500).contains(&e.status),
            "5xx" => e.status >= 500,
            "errors" => e.status >= 400 || e.error.is_some(),
            _ => true,
        }
        && (text.is_empty()
            || e.path.contains(text)
            || uuid::Uuid::parse_str(text).is_ok_and(|id| id == e.request_id)
            || e.project.as_deref() == Some(text)
            || e.error_code.as_deref() == Some(text))
}

fn status_class(status: u16) -> &'static str {
    match status {
        500.. => "s5",
        400.. => "s4",
        300.. => "s3",
        _ => "s2",
    }
}

/// `GET /_emulator/console/requests`.
pub async fn list(
    State(state): State<Arc<AppState>>,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Page {
    let p = Section::REQUESTS.params(params, "Expected ?api=&status=&q=&before=<seq>.")?;
    let api = p.api.as_deref().unwrap_or("");
    let status = p.status.as_deref().unwrap_or("");
    let text = p.q.as_deref().map(str::trim).unwrap_or("");
    let (entries, more) = state
        .journal
        .page(p.before, PAGE, |e| passes(e, api, status, text));
    let opts = |v: &[&str]| -> Vec<(String, String)> {
        v.iter()
            .map(|s| {
                let label = if s.is_empty() { "any" } else { s };
                ((*s).to_owned(), label.to_owned())
            })
            .collect()
    };
    let mut body = format!(
        "<p class=\"lead\">The last {CAPACITY} requests to the emulator's APIs (the console's \
         own are left out), newest first, on the emulator's clock. Bodies of answers are kept \
         when they are text; request bodies and credentials never are.</p>\
         <form method=\"get\" action=\"{ROOT}/requests\" class=\"inline\" role=\"search\">{}{}\
         <label>Path, request id, project or error code <input type=\"search\" name=\"q\" value=\"{}\"></label>\
         <button type=\"submit\">Filter</button></form>",
        select(
            "api",
            "API",
            &opts(&["", "upload", "rest", "cdn", "admin"]),
            api
        ),
        select(
            "status",
            "Status",
            &opts(&["", "2xx", "3xx", "4xx", "5xx", "errors"]),
            status
        ),
        esc(text)
    );
    if entries.is_empty() {
        body.push_str("<p class=\"note\">No requests.</p>");
    } else {
        body.push_str(
            "<div class=\"scroll\"><table id=\"requests\"><thead><tr><th>Time</th><th>API</th>\
             <th>Method</th><th>Path</th><th>Status</th><th>Latency</th><th>Error</th>\
             <th>Request id</th></tr></thead><tbody>",
        );
        for e in &entries {
            let _ = write!(
                body,
                "<tr><td>{t}</td><td>{api}</td><td>{m}</td><td class=\"wrap\"><a href=\"{ROOT}/requests/{id}\">{path}</a></td>\
                 <td><span class=\"status {sc}\">{st}</span></td><td>{lat:.1} ms</td><td>{err}</td>\
                 <td><code class=\"small\">{id}</code></td></tr>",
                t = time(e.at_us),
                api = e.api,
                m = esc(e.method.as_str()),
                id = e.request_id,
                path = esc(&e.path),
                sc = status_class(e.status),
                st = e.status,
                lat = e.latency_us as f64 / 1000.0,
                err = esc(e.error_code.as_deref().unwrap_or("")),
            );
        }
        body.push_str("</tbody></table></div>");
    }
    let list = format!(
        "{ROOT}/requests?api={}&amp;status={}&amp;q={}",
        url_part(api),
        url_part(status),
        url_part(text)
    );
    let older = entries.last().filter(|_| more).map(|last| last.seq);
    body.push_str(&older_pager(&list, p.before.is_none(), older));
    Ok(page("/requests", "Requests", &body))
}

/// A header list as a table.
fn headers_table<'a>(
    headers: impl IntoIterator<Item = (&'a HeaderName, &'a HeaderValue)>,
) -> String {
    let mut rows = String::new();
    for (k, v) in headers {
        let _ = write!(
            rows,
            "<tr><th scope=\"row\"><code>{}</code></th><td class=\"wrap\">{}</td></tr>",
            esc(k.as_str()),
            esc(&String::from_utf8_lossy(v.as_bytes()))
        );
    }
    if rows.is_empty() {
        return "<p class=\"note\">None kept.</p>".to_owned();
    }
    format!("<div class=\"scroll\"><table><tbody>{rows}</tbody></table></div>")
}

/// `GET /_emulator/console/requests/<request id>`.
pub async fn detail(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> Page {
    let e = state.journal.get(&id).ok_or_else(|| {
        Section::REQUESTS.missing("No such request in the journal (it keeps the last ones only).")
    })?;
    let mut body = format!(
        "<p><a href=\"{ROOT}/requests\">← Requests</a></p><dl class=\"facts\">\
         <dt>Time</dt><dd>{t}</dd><dt>API</dt><dd>{api}</dd><dt>Request</dt><dd><code>{m} {path}{q}</code></dd>\
         <dt>Project</dt><dd>{project}</dd><dt>Status</dt><dd><span class=\"status {sc}\">{st}</span></dd>\
         <dt>Latency</dt><dd>{lat:.1} ms</dd><dt>Error</dt><dd>{err}</dd>\
         <dt>Request id</dt><dd><code>{id}</code></dd></dl>",
        t = time(e.at_us),
        api = e.api,
        m = esc(e.method.as_str()),
        path = esc(&e.path),
        q = e
            .query
            .as_ref()
            .map_or(String::new(), |q| format!("?{}", esc(q))),
        project = esc(e.project.as_deref().unwrap_or("—")),
        sc = status_class(e.status),
        st = e.status,
        lat = e.latency_us as f64 / 1000.0,
        err = esc(e.error.as_deref().unwrap_or("—")),
        id = e.request_id,
    );
    body.push_str("<h2>Request headers</h2>");
    body.push_str(&headers_table(
        e.request_headers.iter().map(|(k, v)| (k, v)),
    ));
    body.push_str("<h2>Answer headers</h2>");
    body.push_str(&headers_table(&e.response_headers));
    body.push_str("<h2>Answer body</h2>");
    match (&e.body, &e.body_note) {
        (Some(bytes), _) => {
            let text = String::from_utf8_lossy(bytes);
            match serde_json::from_str::<serde_json::Value>(&text) {
                Ok(v) if text.trim_start().starts_with(['{', '[']) => {
                    body.push_str(&json_block(&v));
                }
                _ => {
                    let _ = write!(body, "<pre tabindex=\"0\">{}</pre>", esc(&text));
                }
            }
        }
        (None, Some(note)) => {
            let _ = write!(body, "<p class=\"note\">{}</p>", esc(note));
        }
        (None, None) => body.push_str("<p class=\"note\">Not kept.</p>"),
    }
    Ok(page(
        "/requests",
        &format!("{} {}", e.method, e.path),
        &body,
    ))
}
