//! `POST /from_url/` (import a file from a URL) and `GET /from_url/status/` (the import's
//! progress), as upload-api.openapi.yml describes them.
//!
//! Emulator choices where production differs or the contract is silent:
//! - Sources are fetched over plain `http://` only (no TLS backend is compiled in); an
//!   `https://` source is accepted and its task ends in `DownloadFileHTTPNetworkError`.
//! - Private and loopback addresses are allowed, so tests can serve files locally; production
//!   answers `URLHostPrivateIPForbiddenError` for them.
//! - Tokens live in memory: they do not survive a restart (their status is then `unknown`,
//!   as production answers for expired tokens) and are forgotten after [`TOKEN_TTL`].
//! - The URL history behind `check_URL_duplicates` / `save_URL_duplicates` is kept in the
//!   database per project, keyed by the exact `source_url` string.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::Json;
use futures_util::StreamExt;
use serde_json::{Map, Value};
use url::{Host, ParseError, Url};
use uuid::Uuid;

use super::error::{ErrorCode, UploadError};
use super::files::{file_upload_info, form_tags, metadata_error};
use super::form::text_fields;
use super::multipart::metadata_pairs;
use crate::auth;
use crate::domain::changes::{self, NewFile};
use crate::domain::files::{base_name, is_live, should_store};
use crate::domain::metadata;
use crate::webhooks::events::EventSource;
use crate::AppState;

/// How long a token's status is kept.
pub const TOKEN_TTL: Duration = Duration::from_secs(24 * 3600);
/// Largest file an import takes (the emulated project limit, 5 GiB).
pub const MAX_DOWNLOAD_SIZE: u64 = 5 * 1024 * 1024 * 1024;
/// Longest an import may take, in seconds.
pub const TIME_LIMIT_S: u64 = 600;
/// Most redirects an import follows.
pub const MAX_REDIRECTS: usize = 10;

/// Where an import stands.
#[derive(Clone, Debug)]
pub enum TaskState {
    /// Accepted, not started.
    Waiting,
    /// Downloading: bytes expected (when the source said) and received.
    Progress {
        /// `Content-Length` of the source, if sent.
        total: Option<u64>,
        /// Bytes received so far.
        done: u64,
    },
    /// Done: the new file.
    Success {
        /// Owning project.
        project: String,
        /// The file's uuid.
        file: Uuid,
    },
    /// Failed, with the error to report.
    Error(UploadError),
}

struct Task {
    created: Instant,
    state: TaskState,
}

/// The import tasks by token, in memory.
#[derive(Default)]
pub struct Tasks {
    tasks: Mutex<HashMap<Uuid, Task>>,
}

impl Tasks {
    fn with<T>(&self, f: impl FnOnce(&mut HashMap<Uuid, Task>) -> T) -> T {
        // A panic elsewhere cannot leave the map half-updated: every update is one insert.
        let mut tasks = self.tasks.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut tasks)
    }

    /// Registers a new task as waiting, forgetting tasks older than [`TOKEN_TTL`].
    fn start(&self, token: Uuid) {
        self.with(|tasks| {
            tasks.retain(|_, t| t.created.elapsed() < TOKEN_TTL);
            tasks.insert(
                token,
                Task {
                    created: Instant::now(),
                    state: TaskState::Waiting,
                },
            );
        });
    }

    /// Moves a task to `state`.
    fn set(&self, token: Uuid, state: TaskState) {
        self.with(|tasks| {
            if let Some(t) = tasks.get_mut(&token) {
                t.state = state;
            }
        });
    }

    /// The state of a task, `None` when unknown.
    pub fn get(&self, token: Uuid) -> Option<TaskState> {
        self.with(|tasks| {
            tasks
                .get(&token)
                .filter(|t| t.created.elapsed() < TOKEN_TTL)
                .map(|t| t.state.clone())
        })
    }
}

/// Validates a `source_url` with production's errors (the host is resolved separately).
pub fn parse_source_url(raw: &str) -> Result<Url, UploadError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(UploadError::new(ErrorCode::SourceURLRequiredError));
    }
    let url = Url::parse(raw).map_err(|e| {
        UploadError::new(match e {
            ParseError::RelativeUrlWithoutBase => ErrorCode::URLSchemeRequiredError,
            ParseError::EmptyHost => ErrorCode::URLHostRequiredError,
            ParseError::IdnaError
            | ParseError::InvalidIpv4Address
            | ParseError::InvalidIpv6Address
            | ParseError::InvalidDomainCharacter => ErrorCode::URLHostMalformedError,
            _ => ErrorCode::URLParsingFailedError,
        })
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(UploadError::new(ErrorCode::URLSchemeInvalidError));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(UploadError::new(ErrorCode::URLHostRequiredError));
    }
    Ok(url)
}

/// `Host does not exist.` when the URL's host name does not resolve.
async fn check_host(url: &Url) -> Result<(), UploadError> {
    let Some(Host::Domain(domain)) = url.host() else {
        return Ok(());
    };
    let port = url.port_or_known_default().unwrap_or(80);
    let found = tokio::net::lookup_host((domain, port))
        .await
        .is_ok_and(|mut addrs| addrs.next().is_some());
    if found {
        Ok(())
    } else {
        Err(UploadError::new(ErrorCode::HostnameNotFoundError))
    }
}

/// Whether a `0`/`1` flag field is set.
fn flag(value: Option<&str>) -> Option<bool> {
    value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(|v| matches!(v, "1" | "true" | "True"))
}

/// What a download needs.
struct Job {
    token: Uuid,
    project: String,
    url: Url,
    source_url: String,
    filename: Option<String>,
    store: bool,
    metadata: Map<String, Value>,
    tags: Vec<String>,
    save_duplicate: bool,
    /// The request that started it, for the new file's events.
    source: EventSource,
}

/// `POST /from_url/`: starts an import and answers `{"type": "token", "token"}`, or the
/// earlier import's file as `{"type": "file_info", …}` when duplicates are checked.
pub async fn from_url(
    State(state): State<Arc<AppState>>,
    source: EventSource,
    request: Request,
) -> Result<Json<Value>, UploadError> {
    let fields = text_fields(request).await?;
    let project = auth::upload::project(&state, "pub_key", fields.get("pub_key")).await?;
    auth::upload::check_signature(
        &project,
        fields.get("signature"),
        fields.get("expire"),
        state.clock.now_us() / 1_000_000,
    )?;
    let source_url = fields.get("source_url").unwrap_or("").trim().to_owned();
    let url = parse_source_url(&source_url)?;
    check_host(&url).await?;
    let metadata = metadata::build(&metadata_pairs(&fields)).map_err(metadata_error)?;
    let tags = form_tags(fields.get("tags"))?;
    let check = flag(fields.get("check_URL_duplicates")).unwrap_or(false);
    let save = flag(fields.get("save_URL_duplicates")).unwrap_or(check);

    if check {
        if let Some(uuid) = state
            .store
            .url_duplicate(&project.pub_key, &source_url)
            .await?
        {
            let file = state.store.file(Some(&project.pub_key), uuid).await?;
            if let Some(file) =
                file.filter(|f| is_live(f, state.clock.now_us(), state.retention_us()))
            {
                let mut answer = Map::new();
                answer.insert("type".into(), "file_info".into());
                answer.extend(file_upload_info(&file));
                return Ok(Json(Value::Object(answer)));
            }
        }
    }

    let token = Uuid::new_v4();
    state.from_url.start(token);
    let job = Job {
        token,
        project: project.pub_key.clone(),
        url,
        source_url,
        filename: fields
            .get("filename")
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(base_name),
        store: should_store(fields.get("store"), project.autostore),
        metadata,
        tags,
        save_duplicate: save,
        source,
    };
    let task_state = state.clone();
    tokio::spawn(async move {
        let token = job.token;
        let outcome = match download(&task_state, job).await {
            Ok((project, file)) => TaskState::Success { project, file },
            Err(e) => TaskState::Error(e),
        };
        task_state.from_url.set(token, outcome);
    });
    let mut answer = Map::new();
    answer.insert("type".into(), "token".into());
    answer.insert("token".into(), token.to_string().into());
    Ok(Json(Value::Object(answer)))
}

/// The innermost cause of an error, which names what actually failed.
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// Maps a failed request to the task error production reports.
fn request_error(e: &reqwest::Error) -> UploadError {
    if e.is_redirect() {
        UploadError::new(ErrorCode::URLRedirectsLimitExceededError)
    } else if e.is_timeout() {
        UploadError::with(
            ErrorCode::DownloadFileTimeLimitExceededError,
            &[&TIME_LIMIT_S.to_string()],
        )
    } else {
        UploadError::with(ErrorCode::DownloadFileHTTPNetworkError, &[&root_cause(e)])
    }
}

/// The file name from a `Content-Disposition` header, if it names one.
fn disposition_filename(value: &str) -> Option<String> {
    value.split(';').find_map(|part| {
        let (k, v) = part.trim().split_once('=')?;
        if !k.trim().eq_ignore_ascii_case("filename") {
            return None;
        }
        let v = v.trim().trim_matches('"').trim();
        (!v.is_empty()).then(|| base_name(v))
    })
}

/// The last path segment of the URL, percent-decoded.
fn url_filename(url: &Url) -> String {
    let last = url
        .path_segments()
        .and_then(|mut s| s.next_back())
        .unwrap_or("");
    base_name(&percent_encoding::percent_decode_str(last).decode_utf8_lossy())
}

/// Downloads the source into a blob and writes the file; returns `(project, uuid)`.
async fn download(state: &AppState, job: Job) -> Result<(String, Uuid), UploadError> {
    if job.url.scheme() != "http" {
        return Err(UploadError::with(
            ErrorCode::DownloadFileHTTPNetworkError,
            &["https sources are not supported by the emulator, use http://"],
        ));
    }
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::limited(MAX_REDIRECTS))
        .timeout(Duration::from_secs(TIME_LIMIT_S))
        .build()
        .map_err(|e| {
            tracing::error!(error = %e, "cannot build the HTTP client");
            UploadError::new(ErrorCode::DownloadFileInternalServerError)
        })?;
    let response = client
        .get(job.url.clone())
        .send()
        .await
        .map_err(|e| request_error(&e))?;
    let status = response.status();
    if status.is_client_error() {
        return Err(UploadError::with(
            ErrorCode::DownloadFileHTTPClientError,
            &[&status.as_u16().to_string()],
        ));
    }
    if status.is_server_error() {
        return Err(UploadError::with(
            ErrorCode::DownloadFileHTTPServerError,
            &[&status.as_u16().to_string()],
        ));
    }
    if !status.is_success() {
        return Err(UploadError::new(ErrorCode::DownloadFileError));
    }
    let max = MAX_DOWNLOAD_SIZE.to_string();
    let total = response.content_length();
    if let Some(total) = total.filter(|t| *t > MAX_DOWNLOAD_SIZE) {
        return Err(UploadError::with(
            ErrorCode::DownloadFileSizeLimitExceededError,
            &[&total.to_string(), &max],
        ));
    }
    let filename = job
        .filename
        .clone()
        .or_else(|| {
            response
                .headers()
                .get(reqwest::header::CONTENT_DISPOSITION)
                .and_then(|v| v.to_str().ok())
                .and_then(disposition_filename)
        })
        .unwrap_or_else(|| url_filename(response.url()));
    state
        .from_url
        .set(job.token, TaskState::Progress { total, done: 0 });

    let internal = |e: crate::error::StoreError| {
        tracing::error!(error = %e, "from_url store failure");
        UploadError::new(ErrorCode::DownloadFileInternalServerError)
    };
    let mut writer = state.blobs.writer().await.map_err(internal)?;
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| request_error(&e))?;
        let done = writer.size() + chunk.len() as u64;
        if done > MAX_DOWNLOAD_SIZE {
            return Err(UploadError::with(
                ErrorCode::DownloadFileSizeLimitExceededError,
                &[&done.to_string(), &max],
            ));
        }
        writer.write(&chunk).await.map_err(internal)?;
        state
            .from_url
            .set(job.token, TaskState::Progress { total, done });
    }
    let blob = writer.finish().await.map_err(internal)?;
    let uploaded_us = state.clock.unique_us();
    let record = NewFile {
        uuid: Uuid::new_v4(),
        project: job.project.clone(),
        blob,
        filename,
        announced_type: None,
        metadata: job.metadata,
        tags: job.tags,
        store: job.store,
        uploaded_us,
    }
    .into_record();
    changes::create_files(state, std::slice::from_ref(&record), &job.source)
        .await
        .map_err(internal)?;
    if job.save_duplicate {
        state
            .store
            .save_url_duplicate(&job.project, &job.source_url, record.uuid, uploaded_us)
            .await
            .map_err(internal)?;
    }
    Ok((job.project, record.uuid))
}

/// `GET /from_url/status/?token=`: where the import stands.
pub async fn status(
    State(state): State<Arc<AppState>>,
    request: Request,
) -> Result<Json<Value>, UploadError> {
    let fields = text_fields(request).await?;
    let token = fields
        .get("token")
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| UploadError::new(ErrorCode::TokenRequiredError))?;
    let task = Uuid::parse_str(token)
        .ok()
        .and_then(|t| state.from_url.get(t));
    let mut answer = Map::new();
    match task {
        None => {
            answer.insert("status".into(), "unknown".into());
        }
        Some(TaskState::Waiting) => {
            answer.insert("status".into(), "waiting".into());
        }
        Some(TaskState::Progress { total, done }) => {
            answer.insert("status".into(), "progress".into());
            // The JS client reads a missing total as the string `unknown`.
            answer.insert(
                "total".into(),
                total.map_or_else(|| Value::from("unknown"), Value::from),
            );
            answer.insert("done".into(), done.into());
        }
        Some(TaskState::Success { project, file }) => {
            let record = state
                .store
                .file(Some(&project), file)
                .await?
                .ok_or_else(|| UploadError::new(ErrorCode::UploadAPIError))?;
            answer = file_upload_info(&record);
            answer.insert("status".into(), "success".into());
        }
        Some(TaskState::Error(e)) => {
            answer.insert("status".into(), "error".into());
            answer.insert("error".into(), e.message.into());
            answer.insert("error_code".into(), e.code.name().into());
        }
    }
    Ok(Json(Value::Object(answer)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(raw: &str) -> Option<ErrorCode> {
        parse_source_url(raw).err().map(|e| e.code)
    }

    #[test]
    fn source_url_rules() {
        assert_eq!(code("http://example.com/a.png"), None);
        assert_eq!(code("https://127.0.0.1:8080/a.png"), None);
        assert_eq!(code(""), Some(ErrorCode::SourceURLRequiredError));
        assert_eq!(
            code("example.com/a.png"),
            Some(ErrorCode::URLSchemeRequiredError)
        );
        assert_eq!(
            code("ftp://example.com/a"),
            Some(ErrorCode::URLSchemeInvalidError)
        );
        assert_eq!(
            code("file:///etc/passwd"),
            Some(ErrorCode::URLSchemeInvalidError)
        );
        assert_eq!(code("http://"), Some(ErrorCode::URLHostRequiredError));
        assert_eq!(
            code("http://exa mple.com/"),
            Some(ErrorCode::URLHostMalformedError)
        );
        assert_eq!(
            code("http://example.com:99999/"),
            Some(ErrorCode::URLParsingFailedError)
        );
    }

    #[test]
    fn filenames() {
        assert_eq!(
            disposition_filename("attachment; filename=\"cat photo.png\"").as_deref(),
            Some("cat photo.png")
        );
        assert_eq!(disposition_filename("inline"), None);
        let url = Url::parse("http://h/dir/my%20file.png?x=1").unwrap();
        assert_eq!(url_filename(&url), "my file.png");
        assert_eq!(url_filename(&Url::parse("http://h/").unwrap()), "file");
    }
}
