//! Answer recorder for contract checks (`--record-answers FILE`, off by default).
//!
//! Appends one JSON line per answer to the file: `method`, `path`, `api` (the API the path
//! belongs to, `crate::routing`), `route` (the matched route template, when one matched),
//! `query`, `status`, `content_type` and `body`. The body is kept
//! only when it is JSON (`application/json`, `application/*+json`), JSONP
//! (`application/javascript`) or `text/plain`, and its length is known and below
//! [`MAX_BODY`]; streamed bodies (CDN file bytes, archives) are never buffered and are
//! recorded as `null` with `body_omitted` saying why.
//!
//! Many servers may write the same file at once (every test starts its own): the file is
//! opened with `O_APPEND` for each answer and each line goes out in one `write` call, so
//! lines never interleave. Read by `tests/contract/check.py`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;
use serde_json::{json, Value};

use crate::routing::Api;

/// Largest body recorded, in bytes (1 MiB).
pub const MAX_BODY: u64 = 1024 * 1024;

/// A response's `Content-Type`, when it has a readable one.
pub fn content_type(response: &Response) -> Option<&str> {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
}

/// Reads a response's body of at most `max` bytes and gives the response back with the same
/// bytes (shared, not copied); `None` when the body could not be read (the response then
/// goes on with an empty body).
pub async fn read_body(response: Response, max: u64) -> (Response, Option<Bytes>) {
    let (parts, body) = response.into_parts();
    match axum::body::to_bytes(body, usize::try_from(max).unwrap_or(usize::MAX)).await {
        Ok(bytes) => (
            Response::from_parts(parts, Body::from(bytes.clone())),
            Some(bytes),
        ),
        Err(_) => (Response::from_parts(parts, Body::empty()), None),
    }
}

/// Where answers are appended.
#[derive(Clone, Debug)]
pub struct Recorder {
    path: PathBuf,
}

impl Recorder {
    /// A recorder appending to `path`; creates the file now so that a path that cannot be
    /// written fails at start-up, not on the first answer.
    pub fn open(path: &Path) -> Result<Self, String> {
        open_append(path)
            .map_err(|e| format!("cannot open answer record {}: {e}", path.display()))?;
        Ok(Self {
            path: path.to_path_buf(),
        })
    }

    /// Appends one line (a JSON object and `\n`) in a single write.
    fn append(&self, line: &Value) {
        let mut text = line.to_string();
        text.push('\n');
        let written = open_append(&self.path).and_then(|mut f| f.write_all(text.as_bytes()));
        if let Err(e) = written {
            tracing::warn!(path = %self.path.display(), error = %e, "cannot record an answer");
        }
    }
}

fn open_append(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
}

/// Whether a body of this content type is recorded: JSON, JSONP or `text/plain`.
fn is_recorded_type(content_type: &str) -> bool {
    let essence = essence(content_type);
    is_json_or_jsonp(&essence) || essence == "text/plain"
}

/// A content type's media type without parameters, in lower case.
pub fn essence(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// Whether a media type (an [`essence`]) is JSON (`application/json`,
/// `application/*+json`) or JSONP (`application/javascript`).
pub fn is_json_or_jsonp(essence: &str) -> bool {
    essence == "application/json"
        || essence == "application/javascript"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Middleware: passes the request on and records the answer.
pub async fn record(
    State(recorder): State<Arc<Recorder>>,
    request: Request,
    next: Next,
) -> Response {
    let method = request.method().to_string();
    let path = request.uri().path().to_owned();
    let api = Api::of(&path).name();
    let query = request.uri().query().map(str::to_owned);
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned());
    let response = next.run(request).await;
    let status = response.status().as_u16();
    let content_type = content_type(&response).map(str::to_owned);
    let exact_len = response.body().size_hint().exact();
    let (response, body, omitted) = match (&content_type, exact_len) {
        (Some(ct), Some(len)) if is_recorded_type(ct) && len <= MAX_BODY => {
            match read_body(response, MAX_BODY).await {
                (response, Some(bytes)) => {
                    let text = String::from_utf8_lossy(&bytes).into_owned();
                    (response, Some(text), None)
                }
                (response, None) => (response, None, Some("unreadable")),
            }
        }
        (Some(ct), Some(_)) if is_recorded_type(ct) => (response, None, Some("too large")),
        (Some(ct), None) if is_recorded_type(ct) => (response, None, Some("streamed")),
        _ => (response, None, Some("content type not recorded")),
    };
    let mut line = json!({
        "method": method,
        "path": path,
        "api": api,
        "route": route,
        "query": query,
        "status": status,
        "content_type": content_type,
        "body": body,
    });
    if let (Some(reason), Some(obj)) = (omitted, line.as_object_mut()) {
        obj.insert("body_omitted".to_owned(), Value::from(reason));
    }
    recorder.append(&line);
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;
    use axum::Router;

    #[test]
    fn records_json_and_text_only() {
        assert!(is_recorded_type("application/json"));
        assert!(is_recorded_type("application/vnd.uploadcare-v0.7+json"));
        assert!(is_recorded_type("text/plain; charset=utf-8"));
        assert!(is_recorded_type("application/javascript; charset=utf-8"));
        assert!(!is_recorded_type("image/png"));
        assert!(!is_recorded_type("text/html; charset=utf-8"));
    }

    /// One line per answer, the body kept and still sent whole to the client.
    #[tokio::test]
    async fn appends_one_line_per_answer() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("answers.jsonl");
        let recorder = Arc::new(Recorder::open(&file).unwrap());
        let app = Router::new()
            .route("/j/{id}/", get(|| async { axum::Json(json!({"a": 1})) }))
            .route(
                "/bytes/",
                get(|| async { ([(header::CONTENT_TYPE, "image/png")], "PNG") }),
            )
            .layer(axum::middleware::from_fn_with_state(recorder, record));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        let r = reqwest::get(format!("{base}/j/7/?x=1")).await.unwrap();
        assert_eq!(r.text().await.unwrap(), r#"{"a":1}"#);
        let r = reqwest::get(format!("{base}/bytes/")).await.unwrap();
        assert_eq!(r.text().await.unwrap(), "PNG");
        let text = std::fs::read_to_string(&file).unwrap();
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(
            lines[0],
            json!({"method": "GET", "path": "/j/7/", "api": "cdn", "route": "/j/{id}/", "query": "x=1",
                   "status": 200, "content_type": "application/json", "body": "{\"a\":1}"})
        );
        assert_eq!(lines[1]["body"], Value::Null);
        assert_eq!(lines[1]["body_omitted"], "content type not recorded");
        assert_eq!(lines.len(), 2);
    }
}
