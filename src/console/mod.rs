//! The console: a browser UI at `/_emulator/console/` to see and steer what the emulator
//! holds: projects, files, groups, webhooks, the request journal, the clock and faults.
//!
//! Server-rendered HTML (`html.rs` escapes every value), one stylesheet and one small script
//! embedded in the binary (`assets/`); a page loads nothing from outside the emulator (its
//! content security policy says so). Thumbnails and previews come from the emulator's own
//! CDN on the same listener. Pages only read; every change (clock, faults, reset, fixtures,
//! redelivery) is a call of the admin API (`crate::admin`) made by the script, so each rule
//! stays in one place.
//!
//! Guarded by the admin guard (`crate::admin`): when an admin token is set, a console route
//! answers 401 with a form that takes the token; a correct token sets an `HttpOnly`,
//! `SameSite=Strict` cookie on `/_emulator/` that the guard accepts like the bearer token,
//! for same-origin requests only ([`cookie_token`]).

mod files;
mod groups;
pub mod html;
pub mod journal;
mod pages;
mod requests;
mod webhooks;

use std::fmt::{Display, Write as _};
use std::sync::Arc;

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use self::html::{esc, html_response, problem, ROOT};
use crate::domain::signing::constant_time_eq;
use crate::error::StoreError;
use crate::store::{Cursor, Expiry, Order, Page as StorePage, PageQuery, Project};
use crate::urls::request_origin;
use crate::AppState;

/// The cookie that carries the admin token for the console.
const COOKIE: &str = "uc_emulator_admin";

/// The console's routes, guarded (merged into the admin API's guarded routes).
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/_emulator/console", get(to_root))
        .route("/_emulator/console/", get(pages::projects))
        .route("/_emulator/console/assets/{name}", get(asset))
        .route("/_emulator/console/files", get(files::list))
        .route("/_emulator/console/files/{uuid}", get(files::detail))
        .route("/_emulator/console/groups", get(groups::list))
        .route("/_emulator/console/groups/{id}", get(groups::detail))
        .route("/_emulator/console/webhooks", get(webhooks::list))
        .route(
            "/_emulator/console/webhooks/deliveries/{id}",
            get(webhooks::delivery),
        )
        .route("/_emulator/console/requests", get(requests::list))
        .route("/_emulator/console/requests/{id}", get(requests::detail))
        .route("/_emulator/console/clock", get(pages::clock))
        .route("/_emulator/console/faults", get(pages::faults))
}

/// The routes that answer without the token: the login form's target (which answers 401
/// itself unless the token it is given is right).
pub fn open_routes() -> Router<Arc<AppState>> {
    Router::new().route("/_emulator/console/login", post(login))
}

/// `GET /_emulator/console`: the console's root has a closing slash.
async fn to_root() -> Response {
    redirect(&format!("{ROOT}/"))
}

fn redirect(to: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

/// `GET /_emulator/console/assets/<name>`: the embedded stylesheet and script.
async fn asset(Path(name): Path<String>) -> Response {
    let (body, content_type) = match name.as_str() {
        "console.css" => (
            include_str!("assets/console.css"),
            "text/css; charset=utf-8",
        ),
        "console.js" => (
            include_str!("assets/console.js"),
            "text/javascript; charset=utf-8",
        ),
        _ => return problem(StatusCode::NOT_FOUND, "", "No such asset."),
    };
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response()
}

/// The admin token a request's console cookie carries, if the request may use it: only
/// same-origin requests (`Sec-Fetch-Site` same-origin or none, and an `Origin`, when sent,
/// equal to the request's own), so another site, or another port of this host, cannot make
/// the browser act with it.
pub fn cookie_token(headers: &HeaderMap, method: &Method) -> Option<String> {
    let fetch_site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    if fetch_site.is_some_and(|s| s != "same-origin" && s != "none") {
        return None;
    }
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    if origin.is_some_and(|o| o != request_origin(headers)) {
        return None;
    }
    if method != Method::GET && method != Method::HEAD && fetch_site.is_none() && origin.is_none() {
        // A browser says where a state-changing request comes from; without either header
        // it is not the console's script.
        return None;
    }
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == COOKIE).then(|| {
                percent_encoding::percent_decode_str(value)
                    .decode_utf8_lossy()
                    .into_owned()
            })
        })
}

/// The 401 answer to a console route without the token: a form that asks for it.
pub fn unauthorized(uri: &Uri) -> Response {
    let next = uri
        .path_and_query()
        .map_or(ROOT.to_owned(), |p| p.as_str().to_owned());
    login_form(
        &next,
        "This console is guarded by the emulator's admin token.",
    )
}

fn login_form(next: &str, message: &str) -> Response {
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"color-scheme\" content=\"light dark\">\
         <title>Admin token required · Uploadcare emulator</title></head>\
         <body><main id=\"main\"><h1>Admin token required</h1><p class=\"note\">{}</p>\
         <form method=\"post\" action=\"{ROOT}/login\" class=\"inline\">\
         <input type=\"hidden\" name=\"next\" value=\"{}\">\
         <label>Admin token <input type=\"password\" name=\"token\" autocomplete=\"current-password\" required autofocus></label>\
         <button type=\"submit\">Open the console</button></form></main></body></html>",
        esc(message),
        esc(next)
    );
    let mut r = html_response(StatusCode::UNAUTHORIZED, html);
    // The stylesheet is guarded too: this page loads nothing and reads well without.
    r.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; form-action 'self'; frame-ancestors 'none'"),
    );
    r
}

/// The login form's fields.
#[derive(Deserialize)]
struct Login {
    token: String,
    next: Option<String>,
}

/// `POST /_emulator/console/login`: a right token sets the console cookie and goes on to
/// `next` (a console path); anything else answers 401 with the form again.
async fn login(
    State(state): State<Arc<AppState>>,
    form: Result<Form<Login>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return login_form(&format!("{ROOT}/"), "Expected the admin token.");
    };
    let next = form
        .next
        .filter(|n| n.starts_with(&format!("{ROOT}/")) && !n.contains("//"))
        .unwrap_or_else(|| format!("{ROOT}/"));
    let Some(token) = &state.config.admin_token else {
        return redirect(&next);
    };
    if !constant_time_eq(form.token.as_bytes(), token.as_bytes()) {
        return login_form(&next, "That is not the admin token.");
    }
    let mut r = redirect(&next);
    let cookie = format!(
        "{COOKIE}={}; Path=/_emulator/; HttpOnly; SameSite=Strict",
        html::url_part(token)
    );
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

/// What a console page answers: the page, or the problem page that stands for it.
type Page = Result<Response, Problem>;

/// A problem page: its status, the console section it belongs to, and what went wrong.
struct Problem {
    status: StatusCode,
    section: &'static str,
    message: &'static str,
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        problem(self.status, self.section, self.message)
    }
}

/// A section of the console (`/files`, `/groups`, …): the problem pages of its routes.
#[derive(Clone, Copy)]
struct Section(&'static str);

impl Section {
    /// `/`: the projects.
    const PROJECTS: Self = Self("/");
    /// `/files`: a project's files, and one file.
    const FILES: Self = Self("/files");
    /// `/groups`: a project's groups, and one group.
    const GROUPS: Self = Self("/groups");
    /// `/webhooks`: a project's hooks and deliveries, and one delivery.
    const WEBHOOKS: Self = Self("/webhooks");
    /// `/requests`: the request journal, and one request.
    const REQUESTS: Self = Self("/requests");
    /// `/clock`: the emulator's time.
    const CLOCK: Self = Self("/clock");
    /// `/faults`: injected faults.
    const FAULTS: Self = Self("/faults");

    /// The page's query, or 400 saying the `usage` expected.
    fn params<T>(
        self,
        params: Result<Query<T>, QueryRejection>,
        usage: &'static str,
    ) -> Result<T, Problem> {
        params
            .map(|Query(p)| p)
            .map_err(|_| self.bad_request(usage))
    }

    /// A problem page of this section.
    fn problem(self, status: StatusCode, message: &'static str) -> Problem {
        Problem {
            status,
            section: self.0,
            message,
        }
    }

    /// 400 with `message`.
    fn bad_request(self, message: &'static str) -> Problem {
        self.problem(StatusCode::BAD_REQUEST, message)
    }

    /// 404 with `message`.
    fn missing(self, message: &'static str) -> Problem {
        self.problem(StatusCode::NOT_FOUND, message)
    }

    /// A store failure as a page (logged, never shown in detail).
    fn failed(self, e: StoreError) -> Problem {
        tracing::error!(error = %e, "console read failed");
        self.problem(StatusCode::INTERNAL_SERVER_ERROR, "Store failure.")
    }

    /// What a store read found; 404 with `message` when nothing.
    fn found<T>(
        self,
        read: Result<Option<T>, StoreError>,
        message: &'static str,
    ) -> Result<T, Problem> {
        read.map_err(|e| self.failed(e))?
            .ok_or_else(|| self.missing(message))
    }

    /// Every project and the one the page shows ([`pick_project`]); 404 when the asked one
    /// does not exist.
    async fn project(
        self,
        state: &AppState,
        asked: Option<&str>,
    ) -> Result<(Vec<Project>, Project), Problem> {
        let (all, chosen) = pick_project(state, asked)
            .await
            .map_err(|e| self.failed(e))?;
        let chosen = chosen.ok_or_else(|| self.missing("No such project."))?;
        Ok((all, chosen))
    }

    /// The query of a page that shows one project, every project and the one it shows: 400
    /// when the query does not parse, then 404 when the asked project does not exist.
    async fn project_query<T: ProjectQuery>(
        self,
        state: &AppState,
        params: Result<Query<T>, QueryRejection>,
    ) -> Result<(T, Vec<Project>, Project), Problem> {
        let p = self.params(params, T::USAGE)?;
        let (all, chosen) = self.project(state, p.project()).await?;
        Ok((p, all, chosen))
    }
}

/// The query of a page that shows one project ([`Section::project_query`]).
trait ProjectQuery {
    /// What the 400 of a query that does not parse says is expected.
    const USAGE: &'static str;

    /// The project asked for, if any.
    fn project(&self) -> Option<&str>;
}

/// The newest-first page of `limit` items a list's `?after=`/`?before=` asks for.
fn newest_first(after: Option<i64>, before: Option<i64>, limit: i64) -> PageQuery {
    let cursor = match (after, before) {
        (Some(at_us), _) => Cursor::After { at_us },
        (None, Some(at_us)) => Cursor::Before { at_us },
        (None, None) => Cursor::Start,
    };
    PageQuery {
        order: Order::Descending,
        cursor,
        offset: 0,
        limit,
    }
}

/// The pager of a [`newest_first`] page: `← Newer` before its first item and `Older →` after
/// its last, each where the list goes on; `link(cursor, at, rel, label)` writes one
/// (`cursor=at` is `before` or `after` the item's time by `time`, `rel` is `prev` or `next`).
fn pager<T>(
    page: &StorePage<T>,
    time: impl Fn(&T) -> i64,
    link: impl Fn(&str, i64, &str, &str) -> String,
) -> String {
    let mut nav = String::from("<nav class=\"pager\" aria-label=\"Pages\">");
    if let (true, Some(first)) = (page.has_previous, page.items.first()) {
        nav.push_str(&link("before", time(first), "prev", "← Newer"));
    }
    if let (true, Some(last)) = (page.has_next, page.items.last()) {
        nav.push_str(&link("after", time(last), "next", "Older →"));
    }
    nav.push_str("</nav>");
    nav
}

/// The pager of a list that pages only into the past by `?before=`: `← Newest` back to
/// `list` (its first page) unless this is it, and `Older →` to `list` before `older`, the
/// last item's cursor, when the list goes on.
fn older_pager(list: &str, first: bool, older: Option<impl Display>) -> String {
    let mut nav = String::from("<nav class=\"pager\" aria-label=\"Pages\">");
    if !first {
        let _ = write!(nav, "<a href=\"{list}\">← Newest</a>");
    }
    if let Some(at) = older {
        let _ = write!(
            nav,
            "<a rel=\"next\" href=\"{list}&amp;before={at}\">Older →</a>"
        );
    }
    nav.push_str("</nav>");
    nav
}

/// Every project, and the one a page shows: the asked one, else the first configured one,
/// else the first by key.
async fn pick_project(
    state: &AppState,
    asked: Option<&str>,
) -> Result<(Vec<Project>, Option<Project>), StoreError> {
    let all = state.store.all_projects().await?;
    let wanted = asked
        .filter(|a| !a.is_empty())
        .map(str::to_owned)
        .or_else(|| state.config.projects.first().map(|p| p.pub_key.clone()));
    let chosen = wanted
        .and_then(|w| all.iter().find(|p| p.pub_key == w).cloned())
        .or_else(|| {
            asked
                .filter(|a| !a.is_empty())
                .is_none()
                .then(|| all.first().cloned())
                .flatten()
        });
    Ok((all, chosen))
}

/// A GET form choosing the project of a page (other fields kept as hidden inputs).
fn project_picker(
    action: &str,
    projects: &[Project],
    current: &str,
    hidden: &[(&str, &str)],
) -> String {
    let options: Vec<(String, String)> = projects
        .iter()
        .map(|p| (p.pub_key.clone(), format!("{} ({})", p.pub_key, p.name)))
        .collect();
    let mut out = format!(
        "<form method=\"get\" action=\"{ROOT}{action}\" class=\"inline\" data-autosubmit>{}",
        html::select("project", "Project", &options, current)
    );
    for (name, value) in hidden {
        if !value.is_empty() {
            out.push_str(&format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                esc(name),
                esc(value)
            ));
        }
    }
    out.push_str("<button type=\"submit\">Show</button></form>");
    out
}

/// The expiry rule now.
fn expiry(state: &AppState) -> Expiry {
    Expiry::new(state.clock.now_us(), state.retention_us())
}
