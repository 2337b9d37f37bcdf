//! `POST /from_url/` (import a file from a URL) and `GET /from_url/status/` (the import's
//! progress), as upload-api.openapi.yml describes them.
//!
//! Emulator choices where production differs or the contract is silent:
//! - Sources are fetched over plain `http://` only (no TLS backend is compiled in); an
//!   `https://` source is accepted and its task ends in `DownloadFileHTTPNetworkError`.
//! - Private and loopback addresses are allowed, so tests can serve files locally; production
//!   answers `URLHostPrivateIPForbiddenError` for them.
//! - Tasks live in the database (`from_url_tasks`), so `GET /from_url/status/` on any
//!   replica sees a download another replica runs. Progress is written at most every
//!   [`PROGRESS_EVERY`]. A task is owned by the replica downloading it; when that replica
//!   stops (no heartbeat, `crate::replicas`) the task ends in `error` with
//!   `DownloadFileTaskFailedError` (`download task failed.`), production's status for a
//!   download task that failed. Tasks are forgotten after [`TOKEN_TTL`] (status `unknown`,
//!   as production answers for expired tokens).
//! - The URL history behind `check_URL_duplicates` / `save_URL_duplicates` is kept in the
//!   database per project, keyed by the exact `source_url` string.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::Json;
use futures_util::StreamExt;
use serde_json::{Map, Value};
use url::{Host, ParseError, Url};
use uuid::Uuid;

use super::error::{ErrorCode, UploadError};
use super::files::{file_upload_info, form_metadata, form_tags};
use super::form::text_fields;
use crate::auth::upload::{PubKey, SignedForm};
use crate::domain::changes::{self, NewFile};
use crate::domain::files::{base_name, is_live, should_store};
use crate::error::StoreError;
use crate::store::shared::NewTask;
use crate::webhooks::events::EventSource;
use crate::AppState;

/// How long a token's status is kept.
pub const TOKEN_TTL: Duration = Duration::from_secs(24 * 3600);
/// Largest file an import takes (the emulated project limit, 5 GiB).
pub const MAX_DOWNLOAD_SIZE: u64 = 5 * 1024 * 1024 * 1024;
/// Shortest pause between two progress writes of one download.
pub const PROGRESS_EVERY: Duration = Duration::from_millis(250);
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
    /// Failed: the error's code name and message.
    Error {
        /// The code's name, e.g. `DownloadFileHTTPClientError`.
        code: String,
        /// The message as reported.
        message: String,
    },
}

/// Wall-clock microseconds before which a task is expired.
fn expired_before() -> i64 {
    crate::replicas::wall_us() - i64::try_from(TOKEN_TTL.as_micros()).unwrap_or(i64::MAX)
}

/// The state of a task, `None` when unknown or expired.
pub async fn task(state: &AppState, token: Uuid) -> Result<Option<TaskState>, StoreError> {
    let Some(row) = state
        .store
        .task(&token.to_string(), expired_before())
        .await?
    else {
        return Ok(None);
    };
    let bad = || StoreError::Internal(format!("bad from_url task row for {token}"));
    Ok(Some(match row.state.as_str() {
        "waiting" => TaskState::Waiting,
        "progress" => TaskState::Progress {
            total: row.total.and_then(|t| u64::try_from(t).ok()),
            done: u64::try_from(row.done).unwrap_or(0),
        },
        "success" => TaskState::Success {
            project: row.project.ok_or_else(bad)?,
            file: row
                .file_uuid
                .as_deref()
                .and_then(|u| Uuid::parse_str(u).ok())
                .ok_or_else(bad)?,
        },
        "error" => TaskState::Error {
            code: row.error_code.ok_or_else(bad)?,
            message: row.error_message.ok_or_else(bad)?,
        },
        _ => return Err(bad()),
    }))
}

/// Progress writes of one download, at most one per [`PROGRESS_EVERY`]; a progress held
/// back is written once the interval ends ([`ProgressWriter::due_in`]), so a stalled
/// download still shows what arrived.
struct ProgressWriter {
    token: String,
    last: Option<Instant>,
    held: Option<(Option<u64>, u64)>,
}

impl ProgressWriter {
    fn new(token: Uuid) -> Self {
        Self {
            token: token.to_string(),
            last: None,
            held: None,
        }
    }

    /// Writes `done` of `total`, or holds it back while the last write is younger than
    /// [`PROGRESS_EVERY`].
    async fn report(&mut self, state: &AppState, total: Option<u64>, done: u64) {
        self.held = Some((total, done));
        if self.due_in().is_none_or(|d| d.is_zero()) {
            self.flush(state).await;
        }
    }

    /// How long until the held-back progress is due, if one is held.
    fn due_in(&self) -> Option<Duration> {
        self.held?;
        Some(self.last.map_or(Duration::ZERO, |t| {
            PROGRESS_EVERY.saturating_sub(t.elapsed())
        }))
    }

    /// Writes the held-back progress, if any.
    async fn flush(&mut self, state: &AppState) {
        let Some((total, done)) = self.held.take() else {
            return;
        };
        self.last = Some(Instant::now());
        let total = total.and_then(|t| i64::try_from(t).ok());
        let done = i64::try_from(done).unwrap_or(i64::MAX);
        // Progress is advisory: a failed write is logged, and the next one replaces it.
        if let Err(e) = state.store.task_progress(&self.token, total, done).await {
            tracing::warn!(error = %e, "recording from_url progress failed");
        }
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
    SignedForm(fields, project, _): SignedForm<PubKey>,
) -> Result<Json<Value>, UploadError> {
    let source_url = fields.get("source_url").unwrap_or("").trim().to_owned();
    let url = parse_source_url(&source_url)?;
    check_host(&url).await?;
    let metadata = form_metadata(&fields)?;
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
    state
        .store
        .insert_task(
            NewTask {
                token: &token.to_string(),
                owner: &state.replica.id,
                wall_us: crate::replicas::wall_us(),
            },
            expired_before(),
        )
        .await?;
    let job = Job {
        token,
        project: project.pub_key.clone(),
        url,
        source_url,
        filename: fields.given("filename").map(base_name),
        store: should_store(fields.get("store"), project.autostore),
        metadata,
        tags,
        save_duplicate: save,
        source,
    };
    let task_state = state.clone();
    tokio::spawn(async move {
        let token = job.token.to_string();
        let store = &task_state.store;
        let ended = match download(&task_state, job).await {
            Ok((project, file)) => {
                store
                    .task_succeeded(&token, &project, &file.to_string())
                    .await
            }
            Err(e) => store.task_failed(&token, e.code.name(), &e.message).await,
        };
        if let Err(e) = ended {
            // The task stays unfinished; it ends in error once this replica stops.
            tracing::error!(error = %e, "recording a from_url outcome failed");
        }
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
    let mut progress = ProgressWriter::new(job.token);
    progress.report(state, total, 0).await;

    let internal = |e: crate::error::StoreError| {
        tracing::error!(error = %e, "from_url store failure");
        UploadError::new(ErrorCode::DownloadFileInternalServerError)
    };
    let mut writer = state.blobs.writer().await.map_err(internal)?;
    let mut stream = response.bytes_stream();
    loop {
        // Waiting for the next chunk, the held-back progress is written when due.
        let next = match progress.due_in() {
            Some(wait) => match tokio::time::timeout(wait, stream.next()).await {
                Ok(next) => next,
                Err(_) => {
                    progress.flush(state).await;
                    continue;
                }
            },
            None => stream.next().await,
        };
        let Some(chunk) = next else { break };
        let chunk = chunk.map_err(|e| request_error(&e))?;
        let done = writer.size() + chunk.len() as u64;
        if done > MAX_DOWNLOAD_SIZE {
            return Err(UploadError::with(
                ErrorCode::DownloadFileSizeLimitExceededError,
                &[&done.to_string(), &max],
            ));
        }
        writer.write(&chunk).await.map_err(internal)?;
        progress.report(state, total, done).await;
    }
    let blob = writer.finish().await.map_err(internal)?;
    let mut record = NewFile {
        uuid: Uuid::new_v4(),
        project: job.project.clone(),
        blob,
        filename,
        announced_type: None,
        metadata: job.metadata,
        tags: job.tags,
        store: job.store,
        uploaded_us: state.clock.unique_us(),
    }
    .into_record();
    changes::create_files(state, std::slice::from_mut(&mut record), &job.source)
        .await
        .map_err(internal)?;
    if job.save_duplicate {
        state
            .store
            .save_url_duplicate(&job.source_url, &record)
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
    let token = fields.require("token", ErrorCode::TokenRequiredError)?;
    let task = match Uuid::parse_str(token) {
        Ok(t) => task(&state, t).await?,
        Err(_) => None,
    };
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
        Some(TaskState::Error { code, message }) => {
            answer.insert("status".into(), "error".into());
            answer.insert("error".into(), message.into());
            answer.insert("error_code".into(), code.into());
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
