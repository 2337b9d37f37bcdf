//! The request journal: the last requests across the APIs, in memory, for the console's
//! Requests page.
//!
//! The request logger (`crate::observe`) hands every request to [`Journal::begin`] and its
//! answer to [`Pending::finish`], which keep: the emulator's time, API, method, path, query,
//! the project's public key when the request shows it, status, latency, the documented error
//! it was given, a few request headers from an allow-list (never `Authorization`, `Cookie` or
//! any other credential), the answer's headers (minus `Set-Cookie`) and the answer's body
//! when it is text and small. Request bodies are never kept (they are files, or forms with
//! signatures).
//!
//! Bounded twice: at most [`CAPACITY`] entries and [`BODY_BUDGET`] bytes of bodies; the
//! oldest go first. Requests the console makes for itself (its pages, and anything a console
//! page loads: thumbnails, previews, admin calls) and health probes are not kept, so looking
//! does not push out what one came to see.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::body::HttpBody;
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method};
use axum::response::Response;

use crate::observe::RequestFacts;
use crate::record::{content_type, essence, is_json_or_jsonp, read_body};

/// Most entries kept.
pub const CAPACITY: usize = 1000;
/// Most bytes of answer bodies kept across all entries (16 MiB).
pub const BODY_BUDGET: usize = 16 * 1024 * 1024;
/// Largest answer body kept (64 KiB); larger ones are noted, not kept.
pub const MAX_BODY: u64 = 64 * 1024;

/// Request headers worth seeing that never carry credentials.
static REQUEST_HEADERS: [HeaderName; 7] = [
    header::ACCEPT,
    header::CONTENT_TYPE,
    header::CONTENT_LENGTH,
    header::USER_AGENT,
    header::ORIGIN,
    HeaderName::from_static("x-uc-user-agent"),
    HeaderName::from_static("x-emulator-fault"),
];

/// One request and its answer. What comes from the request is copied (a slice of it would keep
/// the connection's whole read buffer alive); the answer's headers are kept as they are.
#[derive(Clone, Debug)]
pub struct Entry {
    /// Position in the journal (increasing; the newest is the largest).
    pub seq: u64,
    /// The request id (`X-Uploadcare-Request-Id`).
    pub request_id: uuid::Uuid,
    /// When it arrived, on the emulator's clock (microseconds).
    pub at_us: i64,
    /// The API (`upload`, `rest`, `cdn`, `admin`).
    pub api: &'static str,
    /// Method.
    pub method: Method,
    /// Path.
    pub path: String,
    /// Query string, if any.
    pub query: Option<String>,
    /// The public key the request names, if it shows one without its body.
    pub project: Option<Arc<str>>,
    /// Status sent.
    pub status: u16,
    /// Time to the answer's head, microseconds.
    pub latency_us: u64,
    /// The documented error code given, if any (`FileNotFoundError`, `not_found`, ...).
    pub error_code: Option<String>,
    /// The error's full text (`<code>: <message>`), if any.
    pub error: Option<String>,
    /// Allow-listed request headers.
    pub request_headers: Vec<(HeaderName, HeaderValue)>,
    /// The answer's headers, `Set-Cookie` left out.
    pub response_headers: HeaderMap,
    /// The answer's body when kept: the bytes sent (shown as lossy UTF-8).
    pub body: Option<axum::body::Bytes>,
    /// Why the body is not kept, when it is not.
    pub body_note: Option<String>,
}

/// The ring of entries.
#[derive(Debug, Default)]
pub struct Journal {
    inner: Mutex<Ring>,
}

#[derive(Debug, Default)]
struct Ring {
    entries: VecDeque<Arc<Entry>>,
    body_bytes: usize,
    next_seq: u64,
}

impl Journal {
    /// Adds an entry (its `seq` is assigned here), dropping the oldest beyond the bounds.
    pub fn push(&self, mut entry: Entry) {
        let Ok(mut ring) = self.inner.lock() else {
            return;
        };
        ring.next_seq += 1;
        entry.seq = ring.next_seq;
        ring.body_bytes += entry.body.as_ref().map_or(0, |b| b.len());
        ring.entries.push_back(Arc::new(entry));
        while ring.entries.len() > CAPACITY || ring.body_bytes > BODY_BUDGET {
            let Some(old) = ring.entries.pop_front() else {
                break;
            };
            ring.body_bytes -= old.body.as_ref().map_or(0, |b| b.len());
        }
    }

    /// Up to `limit` entries passing `keep` with `seq` below `before` (all when `None`),
    /// newest first, and whether older ones pass too.
    pub fn page(
        &self,
        before: Option<u64>,
        limit: usize,
        keep: impl Fn(&Entry) -> bool,
    ) -> (Vec<Arc<Entry>>, bool) {
        let Ok(ring) = self.inner.lock() else {
            return (Vec::new(), false);
        };
        let mut found = ring
            .entries
            .iter()
            .rev()
            .filter(|e| before.is_none_or(|b| e.seq < b))
            .filter(|e| keep(e));
        let items: Vec<Arc<Entry>> = found.by_ref().take(limit).cloned().collect();
        let more = found.next().is_some();
        (items, more)
    }

    /// The entry with this request id, if still kept.
    pub fn get(&self, request_id: &str) -> Option<Arc<Entry>> {
        let request_id = uuid::Uuid::parse_str(request_id).ok()?;
        let ring = self.inner.lock().ok()?;
        ring.entries
            .iter()
            .rev()
            .find(|e| e.request_id == request_id)
            .cloned()
    }

    /// Forgets every entry.
    pub fn clear(&self) {
        if let Ok(mut ring) = self.inner.lock() {
            ring.entries.clear();
            ring.body_bytes = 0;
        }
    }
}

/// Whether a request is the console's own: a console page, a health probe, or anything a
/// console page asked for (its `Referer` is a console page).
fn is_console_own(path: &str, headers: &HeaderMap) -> bool {
    if path.starts_with(super::html::ROOT)
        || path == "/_emulator/health"
        || path == "/_emulator/ready"
    {
        return true;
    }
    headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| url::Url::parse(r).ok())
        .is_some_and(|r| r.path().starts_with(super::html::ROOT))
}

/// Whether an answer body of this content type is kept.
fn is_text(content_type: &str) -> bool {
    let essence = essence(content_type);
    essence.starts_with("text/") || is_json_or_jsonp(&essence)
}

/// What the journal keeps of a request before it is answered ([`Journal::begin`]).
#[derive(Debug)]
pub struct Pending {
    at_us: i64,
    method: Method,
    path: String,
    query: Option<String>,
    request_headers: Vec<(HeaderName, HeaderValue)>,
}

impl Journal {
    /// Notes a request arriving at `at_us` on the emulator's clock; `None` for the console's
    /// own requests, which are not kept.
    pub fn begin(&self, at_us: i64, request: &Request) -> Option<Pending> {
        if is_console_own(request.uri().path(), request.headers()) {
            return None;
        }
        let request_headers = REQUEST_HEADERS
            .iter()
            .filter_map(|name| {
                let value = request.headers().get(name)?;
                Some((
                    name.clone(),
                    HeaderValue::from_bytes(value.as_bytes()).ok()?,
                ))
            })
            .collect();
        Some(Pending {
            at_us,
            method: request.method().clone(),
            path: request.uri().path().to_owned(),
            query: request.uri().query().map(str::to_owned),
            request_headers,
        })
    }
}

impl Pending {
    /// Keeps the request with its answer and the error it was given (`<code>: <message>`),
    /// and gives the answer back (its body re-assembled when it was read to be kept).
    pub async fn finish(
        self,
        journal: &Journal,
        facts: &RequestFacts,
        error: Option<&str>,
        response: Response,
    ) -> Response {
        let latency_us = facts.started.elapsed().as_micros() as u64;
        let status = response.status().as_u16();
        let mut response_headers = response.headers().clone();
        response_headers.remove(header::SET_COOKIE);
        let content_type = content_type(&response).unwrap_or("").to_owned();
        let (response, body, body_note) = match response.body().size_hint().exact() {
            Some(0) => (response, None, Some("empty".to_owned())),
            Some(len) if is_text(&content_type) && len <= MAX_BODY => {
                match read_body(response, MAX_BODY).await {
                    (response, Some(bytes)) => (response, Some(bytes), None),
                    (response, None) => (response, None, Some("unreadable".to_owned())),
                }
            }
            Some(len) if is_text(&content_type) => {
                (response, None, Some(format!("{len} bytes, not kept")))
            }
            Some(len) => (
                response,
                None,
                Some(format!("{len} bytes of {content_type}, not kept")),
            ),
            None => (response, None, Some("streamed, not kept".to_owned())),
        };
        journal.push(Entry {
            seq: 0,
            request_id: facts.id,
            at_us: self.at_us,
            api: facts.api.name(),
            method: self.method,
            path: self.path,
            query: self.query,
            project: facts.pub_key.clone(),
            status,
            latency_us,
            error_code: error
                .and_then(|e| e.split(':').next())
                .map(|c| c.trim().to_owned()),
            error: error.map(str::to_owned),
            request_headers: self.request_headers,
            response_headers,
            body,
            body_note,
        });
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(body: usize) -> Entry {
        Entry {
            seq: 0,
            request_id: uuid::Uuid::nil(),
            at_us: 0,
            api: "rest",
            method: Method::GET,
            path: "/files/".into(),
            query: None,
            project: None,
            status: 200,
            latency_us: 1,
            error_code: None,
            error: None,
            request_headers: Vec::new(),
            response_headers: HeaderMap::new(),
            body: Some("x".repeat(body).into()),
            body_note: None,
        }
    }

    #[test]
    fn keeps_the_newest_within_both_bounds() {
        let j = Journal::default();
        for _ in 0..CAPACITY + 5 {
            j.push(entry(1));
        }
        let (all, more) = j.page(None, usize::MAX, |_| true);
        assert_eq!(all.len(), CAPACITY);
        assert!(!more);
        assert_eq!(all[0].seq, (CAPACITY + 5) as u64, "newest first");
        for _ in 0..300 {
            j.push(entry(MAX_BODY as usize));
        }
        let (all, _) = j.page(None, usize::MAX, |_| true);
        let bytes: usize = all.iter().map(|e| e.body.as_ref().unwrap().len()).sum();
        assert!(bytes <= BODY_BUDGET, "{bytes}");
        let (page, more) = j.page(Some(all[0].seq), 10, |_| true);
        assert_eq!(page.len(), 10);
        assert!(more);
        assert_eq!(page[0].seq, all[0].seq - 1);
    }

    #[test]
    fn console_requests_are_not_kept() {
        let mut h = HeaderMap::new();
        assert!(is_console_own("/_emulator/console/files", &h));
        assert!(!is_console_own("/files/", &h));
        h.insert(
            header::REFERER,
            "http://127.0.0.1:8000/_emulator/console/files?x=1"
                .parse()
                .unwrap(),
        );
        assert!(is_console_own("/3f0a.../-/preview/160x160/", &h));
    }
}
