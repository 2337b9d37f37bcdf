//! Test harness: starts the emulator in-process on `127.0.0.1:0` over a fresh store (a
//! temporary SQLite file, or a new Postgres database when `UC_TEST_POSTGRES_URL` is set) and
//! talks real HTTP to it.
#![allow(dead_code)]

use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use serde_json::{json, Value};

use reqwest::header::CONTENT_TYPE;
use tokio::sync::oneshot;
use uploadcare_emulator::config::{Args, Config, ProjectConfig};
use uploadcare_emulator::AppState;

mod moto;
pub mod source;
mod uploads;
pub use moto::Moto;
pub use uploads::*;

/// Public key of the test project.
pub const PUB: &str = "demopublickey";
/// Secret key of the test project.
pub const SECRET: &str = "demosecretkey";
/// A second project, for isolation tests.
pub const OTHER_PUB: &str = "otherpublickey";
/// The second project's secret.
pub const OTHER_SECRET: &str = "othersecretkey";
/// A project that requires signed uploads.
pub const SIGNED_PUB: &str = "signedpublickey";
/// Its secret.
pub const SIGNED_SECRET: &str = "signedsecretkey";

/// Which database a test server uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The backends to run a test on in one loop: SQLite always, Postgres when
/// [`postgres_enabled`]. Prefer [`per_backend!`], which names the backend in the test's name.
pub fn backends() -> Vec<Backend> {
    let mut v = vec![Backend::Sqlite];
    if postgres_enabled() {
        v.push(Backend::Postgres);
    }
    v
}

/// A running emulator.
pub struct TestServer {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// The shared state (clock, store) for white-box setup such as advancing time.
    pub state: Arc<AppState>,
    /// Which backend it runs on.
    pub backend: Backend,
    /// HTTP client without redirects.
    pub client: reqwest::Client,
    _dir: tempfile::TempDir,
    _stop: oneshot::Sender<()>,
}

fn projects() -> Vec<ProjectConfig> {
    let p = |pub_key: &str, secret: &str, signed: bool| ProjectConfig {
        pub_key: pub_key.into(),
        secret_key: secret.into(),
        name: format!("{pub_key} project"),
        autostore: true,
        signed_uploads: signed,
    };
    vec![
        p(PUB, SECRET, false),
        p(OTHER_PUB, OTHER_SECRET, false),
        p(SIGNED_PUB, SIGNED_SECRET, true),
    ]
}

/// `UC_TEST_POSTGRES_URL` when [`postgres_enabled`], for tests that start the binary
/// themselves.
pub fn postgres_admin_url() -> Option<String> {
    postgres_enabled()
        .then(|| std::env::var("UC_TEST_POSTGRES_URL").ok())
        .flatten()
}

/// A fresh, empty Postgres database on the server named by `UC_TEST_POSTGRES_URL`.
/// Named `uc_test_<unix seconds>_<random>`; databases of earlier runs older than two hours are
/// dropped on the way (once per test process), so the server does not fill up with them.
pub async fn fresh_postgres_database() -> String {
    use sqlx::Connection;
    let admin = std::env::var("UC_TEST_POSTGRES_URL").expect("UC_TEST_POSTGRES_URL");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let name = format!("uc_test_{now}_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .expect("connect to postgres");
    // Once per test process: sweep databases of earlier runs (stamped, over two hours old).
    static SWEPT: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if !SWEPT.swap(true, std::sync::atomic::Ordering::SeqCst) {
        let old: Vec<(String,)> =
            sqlx::query_as("SELECT datname FROM pg_database WHERE datname LIKE 'uc\\_test\\_%'")
                .fetch_all(&mut conn)
                .await
                .unwrap_or_default();
        for (db,) in old {
            let stamp = db.split('_').nth(2).and_then(|t| t.parse::<u64>().ok());
            if stamp.is_some_and(|t| t > 1_000_000_000 && t + 7200 < now) {
                let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
                    .execute(&mut conn)
                    .await;
            }
        }
    }
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .expect("create database");
    let (base, _) = admin.rsplit_once('/').expect("database URL has a path");
    format!("{base}/{name}")
}

impl TestServer {
    /// Starts a server with the default configuration plus `tweak`.
    pub async fn start_with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = Config::resolve(Args::default(), None).expect("config");
        config.persistence.data_dir = dir.path().to_path_buf();
        config.persistence.database_url = match backend {
            Backend::Sqlite => format!("sqlite://{}", dir.path().join("test.db").display()),
            Backend::Postgres => fresh_postgres_database().await,
        };
        config.projects = projects();
        // Contract checks (tests/contract/run.sh): every server appends its answers here.
        config.record_answers = std::env::var_os("UC_RECORD_ANSWERS").map(Into::into);
        tweak(&mut config);
        let state = AppState::open(config).await.expect("open state");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let serve_state = state.clone();
        tokio::spawn(async move {
            uploadcare_emulator::serve(serve_state, listener, async {
                let _ = stopped.await;
            })
            .await
            .expect("serve");
        });
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Self {
            base: format!("http://{addr}"),
            state,
            backend,
            client,
            _dir: dir,
            _stop: stop,
        }
    }

    /// Starts a server with the default test configuration.
    pub async fn start(backend: Backend) -> Self {
        Self::start_with(backend, |_| {}).await
    }

    /// Absolute URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Uploads `bytes` as `name` through `POST /base/` and returns the new uuid.
    pub async fn upload(&self, pub_key: &str, name: &str, bytes: Vec<u8>) -> String {
        let form = reqwest::multipart::Form::new()
            .text("UPLOADCARE_PUB_KEY", pub_key.to_owned())
            .text("UPLOADCARE_STORE", "0")
            .part(
                "file",
                reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned()),
            );
        let r = self
            .client
            .post(self.url("/base/"))
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "upload failed");
        let v: serde_json::Value = r.json().await.unwrap();
        v["file"].as_str().unwrap().to_owned()
    }

    /// Creates a group of `members` (form values as given) and returns its id.
    pub async fn group(&self, pub_key: &str, members: &[String]) -> String {
        let mut form: Vec<(String, String)> = vec![("pub_key".into(), pub_key.into())];
        for (i, m) in members.iter().enumerate() {
            form.push((format!("files[{i}]"), m.clone()));
        }
        let r = self
            .client
            .post(self.url("/group/"))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "group creation failed");
        let v: serde_json::Value = r.json().await.unwrap();
        v["id"].as_str().unwrap().to_owned()
    }
}

/// A complete answer: status, content type and body text.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub content_type: String,
    pub body: String,
}

impl Answer {
    /// Reads a response whole.
    pub async fn of(r: reqwest::Response) -> Self {
        let status = r.status().as_u16();
        let content_type = r
            .headers()
            .get(CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let body = r.text().await.unwrap();
        Self {
            status,
            content_type,
            body,
        }
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// The CRC-32 of PNG chunks and ZIP entries (IEEE, reflected).
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A tiny valid PNG of `w`×`h` RGB pixels.
pub fn png(w: u32, h: u32) -> Vec<u8> {
    fn chunk(out: &mut Vec<u8>, kind: &[u8], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut c = kind.to_vec();
        c.extend_from_slice(data);
        out.extend_from_slice(&c);
        out.extend_from_slice(&crc32(&c).to_be_bytes());
    }
    // Stored (uncompressed) deflate blocks of the raw scanlines.
    // Each scanline: filter byte 0, then the pixels.
    let mut row = vec![0u8];
    for _ in 0..w {
        row.extend_from_slice(&[200, 30, 30]);
    }
    let raw = row.repeat(h as usize);
    let mut z = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = raw.chunks(65535).collect();
    for (i, block) in blocks.iter().enumerate() {
        z.push(u8::from(i + 1 == blocks.len()));
        let len = block.len() as u16;
        z.extend_from_slice(&len.to_le_bytes());
        z.extend_from_slice(&(!len).to_le_bytes());
        z.extend_from_slice(block);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &x in &raw {
        a = (a + u32::from(x)) % 65521;
        b = (b + a) % 65521;
    }
    z.extend_from_slice(&((b << 16) | a).to_be_bytes());
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &z);
    chunk(&mut out, b"IEND", &[]);
    out
}

/// The REST API 0.7 media type.
pub const V7: &str = "application/vnd.uploadcare-v0.7+json";
/// The REST API 0.6 media type.
pub const V6: &str = "application/vnd.uploadcare-v0.6+json";
/// The REST API's 404 body.
pub const NOT_FOUND: &str = r#"{"detail":"Not found."}"#;

/// A simple-auth REST request as `pub_key`.
pub async fn rest(
    s: &TestServer,
    pub_key: &str,
    accept: &str,
    method: reqwest::Method,
    uri: &str,
    body: &str,
) -> Answer {
    let secret = match pub_key {
        PUB => SECRET,
        OTHER_PUB => OTHER_SECRET,
        _ => "nosecret",
    };
    let url = if uri.starts_with("http") {
        uri.to_owned()
    } else {
        s.url(uri)
    };
    let r = s
        .client
        .request(method, url)
        .header("Accept", accept)
        .header("Content-Type", "application/json")
        .header(
            "Authorization",
            format!("Uploadcare.Simple {pub_key}:{secret}"),
        )
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    Answer::of(r).await
}

/// Content type of plain Upload API errors.
pub const TEXT: &str = "text/plain; charset=utf-8";
/// Content type of JSONP answers.
pub const JS: &str = "application/javascript; charset=utf-8";

/// Sends the request three times (plain, `jsonerrors=1`, `callback=cb`) and checks each
/// rendering of the error exactly. `make` builds a fresh request with extra query pairs.
pub async fn assert_error<F>(make: F, status: u16, code: &str, message: &str)
where
    F: Fn(&[(&str, &str)]) -> reqwest::RequestBuilder,
{
    let plain = Answer::of(make(&[]).send().await.unwrap()).await;
    assert_eq!(
        (
            plain.status,
            plain.content_type.as_str(),
            plain.body.as_str()
        ),
        (status, TEXT, message),
        "plain {code}"
    );
    let json_body = format!(
        "{{\"error\": {{\"content\": {}, \"status_code\": {status}, \"error_code\": \"{code}\"}}}}",
        serde_json::Value::from(message)
    );
    let json = Answer::of(make(&[("jsonerrors", "1")]).send().await.unwrap()).await;
    assert_eq!(
        (json.status, json.content_type.as_str(), json.body.as_str()),
        (200, "application/json", json_body.as_str()),
        "jsonerrors {code}"
    );
    let jsonp = Answer::of(make(&[("callback", "cb")]).send().await.unwrap()).await;
    assert_eq!(
        (
            jsonp.status,
            jsonp.content_type.as_str(),
            jsonp.body.as_str()
        ),
        (200, JS, format!("cb({json_body})").as_str()),
        "jsonp {code}"
    );
}

/// Where a `file://` blob store (the default: the data directory) keeps the blob `hash`:
/// `blobs/<2 hex>/<64 hex>`, the layout kept since the first release.
pub fn blob_path(s: &TestServer, hash: &str) -> std::path::PathBuf {
    s.state
        .config
        .persistence
        .data_dir
        .join("blobs")
        .join(&hash[..2])
        .join(hash)
}

/// Files under `dir`, recursively (none when it does not exist).
pub fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(files_under(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// Files under a data directory's `tmp/`, but for each process folder's empty owner file
/// (`.owner`, locked while its process lives).
pub fn temporary_files(data_dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    files_under(&data_dir.join("tmp"))
        .into_iter()
        .filter(|p| !p.ends_with(".owner"))
        .collect()
}

/// Hex HMAC-SHA1 of the REST API's canonical string, computed here independently of the
/// emulator's own code.
pub fn rest_signature(
    secret: &str,
    method: &str,
    body: &[u8],
    content_type: &str,
    date: &str,
    uri: &str,
) -> String {
    use hmac::{Hmac, Mac};
    use md5::{Digest, Md5};
    let md5 = hex::encode(Md5::digest(body));
    let text = format!("{method}\n{md5}\n{content_type}\n{date}\n{uri}");
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(text.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Says on the terminal, past the test harness's output capture, that `what` did not run and
/// why: a skipped check must not look like a passed one.
pub fn skip_visibly(what: &str, why: &str) {
    use std::io::Write;
    let test = std::thread::current().name().unwrap_or("a test").to_owned();
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {what}: {why}");
}

/// Whether Postgres tests run: `UC_TEST_POSTGRES_URL` is set. Without it a Postgres test
/// fails under `UC_REQUIRE_POSTGRES=1` (CI) and is skipped visibly otherwise.
pub fn postgres_enabled() -> bool {
    if std::env::var("UC_TEST_POSTGRES_URL").is_ok() {
        return true;
    }
    if std::env::var("UC_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") {
        panic!("UC_REQUIRE_POSTGRES=1 but UC_TEST_POSTGRES_URL is not set");
    }
    skip_visibly(
        "Postgres",
        "UC_TEST_POSTGRES_URL is not set (postgres://postgres@127.0.0.1:5432/test runs it)",
    );
    false
}

/// Runs `async fn NAME(backend: Backend)` as two tests, `NAME::sqlite` and `NAME::postgres`,
/// so a failure names its backend; the Postgres one runs only when [`postgres_enabled`].
/// Tokens after the name go to `#[tokio::test(...)]`; `per_backend!(sync NAME)` does the
/// same for a plain `fn NAME(backend: Backend)` that runs its own runtime.
macro_rules! per_backend {
    (sync $name:ident) => {
        mod $name {
            #[test]
            fn sqlite() {
                super::$name($crate::common::Backend::Sqlite);
            }

            #[test]
            fn postgres() {
                if $crate::common::postgres_enabled() {
                    super::$name($crate::common::Backend::Postgres);
                }
            }
        }
    };
    ($name:ident $(, $($arg:tt)+)?) => {
        mod $name {
            #[tokio::test$(($($arg)+))?]
            async fn sqlite() {
                super::$name($crate::common::Backend::Sqlite).await;
            }

            #[tokio::test$(($($arg)+))?]
            async fn postgres() {
                if $crate::common::postgres_enabled() {
                    super::$name($crate::common::Backend::Postgres).await;
                }
            }
        }
    };
}
pub(crate) use per_backend;

/// A database URL for `backend`: a SQLite file in `dir`, or a fresh Postgres database.
pub async fn database_url(backend: Backend, dir: &std::path::Path) -> String {
    match backend {
        Backend::Sqlite => format!("sqlite://{}", dir.join("emulator.db").display()),
        Backend::Postgres => fresh_postgres_database().await,
    }
}

/// The shared reference's copy of `name` (`UC_REFERENCE_DIR`, by default `../shared/reference`
/// beside the checkout), to compare the repository's own copies with. Without it the
/// comparison fails under `UC_REQUIRE_REFERENCE=1` and is skipped visibly otherwise.
pub fn shared_reference(name: &str) -> Option<String> {
    let dir = std::env::var_os("UC_REFERENCE_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/reference")
        });
    let path = dir.join(name);
    match std::fs::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(e) if std::env::var("UC_REQUIRE_REFERENCE").is_ok_and(|v| v == "1") => {
            panic!(
                "UC_REQUIRE_REFERENCE=1 but {} is unreadable: {e}",
                path.display()
            )
        }
        Err(e) => {
            skip_visibly(
                &format!("comparison with {}", path.display()),
                &format!("{e} (set UC_REFERENCE_DIR)"),
            );
            None
        }
    }
}

// ------------------------------------------------------------------ webhook receivers

/// One request a receiver got.
#[derive(Clone, Debug)]
pub struct Received {
    pub path: String,
    pub signature: Option<String>,
    pub content_type: Option<String>,
    pub body: String,
}

/// A local HTTP receiver: records every request and answers with `status` (or never, while
/// `hang` is set).
#[derive(Clone, Default)]
pub struct Receiver {
    pub base: String,
    pub got: Arc<Mutex<Vec<Received>>>,
    pub status: Arc<AtomicU16>,
    pub hang: Arc<std::sync::atomic::AtomicBool>,
}

impl Receiver {
    /// Listens on a free loopback port, answering 200.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let r = Receiver {
            base: format!("http://{}", listener.local_addr().unwrap()),
            ..Default::default()
        };
        r.status.store(200, Ordering::SeqCst);
        let app = axum::Router::new().fallback(receive).with_state(r.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        r
    }

    /// Absolute URL of `path` on the receiver.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Every request so far, in arrival order.
    pub fn got(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    /// The JSON bodies received on `path`, in arrival order.
    pub fn bodies(&self, path: &str) -> Vec<Value> {
        self.got()
            .iter()
            .filter(|r| r.path == path)
            .map(|r| serde_json::from_str(&r.body).unwrap())
            .collect()
    }
}

/// The receiver's one handler.
pub async fn receive(
    State(r): State<Receiver>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let header = |name: &str| headers.get(name).map(|v| v.to_str().unwrap().to_owned());
    r.got.lock().unwrap().push(Received {
        path: uri.path().to_owned(),
        signature: header("x-uc-signature"),
        content_type: header("content-type"),
        body: String::from_utf8(body.to_vec()).unwrap(),
    });
    if r.hang.load(Ordering::SeqCst) {
        std::future::pending::<()>().await;
    }
    StatusCode::from_u16(r.status.load(Ordering::SeqCst)).unwrap()
}

/// For the crash test: a receiver subscribed to `file.uploaded` of the
/// demo project of an emulator started as a separate process.
pub struct UploadEvents {
    receiver: Receiver,
}

impl UploadEvents {
    /// Starts a receiver and subscribes it on the emulator at `base`.
    pub async fn subscribe(base: &str) -> Self {
        let receiver = Receiver::start().await;
        let r = reqwest::Client::new()
            .post(format!("{base}/webhooks/"))
            .header("Accept", V7)
            .header("Authorization", format!("Uploadcare.Simple {PUB}:{SECRET}"))
            .json(&json!({"target_url": receiver.url("/crash"), "event": "file.uploaded"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        Self { receiver }
    }

    /// Flushes the emulator at `base`, then checks its events against `acked` (every
    /// acknowledged upload's event arrived) and the file rows of `db` (no event for a file
    /// that was never written). Returns (events received, duplicates).
    pub async fn check(&self, base: &str, acked: &[String], db: &str) -> (usize, usize) {
        let r = reqwest::Client::new()
            .post(format!("{base}/_emulator/webhooks/flush"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let got: Vec<String> = self
            .receiver
            .bodies("/crash")
            .iter()
            .map(|b| b["data"]["uuid"].as_str().unwrap().to_owned())
            .collect();
        let distinct: std::collections::HashSet<&String> = got.iter().collect();
        for uuid in acked {
            assert!(
                distinct.contains(uuid),
                "acknowledged upload {uuid} has no event"
            );
        }
        const SQL: &str = "SELECT uuid FROM files";
        let rows: Vec<(String,)> = if db.starts_with("sqlite:") {
            let pool = sqlx::SqlitePool::connect(db).await.unwrap();
            sqlx::query_as(SQL).fetch_all(&pool).await.unwrap()
        } else {
            let pool = sqlx::PgPool::connect(db).await.unwrap();
            sqlx::query_as(SQL).fetch_all(&pool).await.unwrap()
        };
        let written: std::collections::HashSet<String> = rows.into_iter().map(|(u,)| u).collect();
        for uuid in &distinct {
            assert!(
                written.contains(*uuid),
                "event for {uuid}, which was never written"
            );
        }
        (got.len(), got.len() - distinct.len())
    }
}

/// Replica A on a fresh Postgres database, and B on the same database and data directory;
/// `None` when Postgres is not enabled.
pub async fn replica_pair() -> Option<(TestServer, TestServer)> {
    if !postgres_enabled() {
        return None;
    }
    let a = TestServer::start(Backend::Postgres).await;
    let database_url = a.state.config.persistence.database_url.clone();
    let data_dir = a.state.config.persistence.data_dir.clone();
    let b = TestServer::start_with(Backend::Postgres, |c| {
        c.persistence.database_url = database_url;
        c.persistence.data_dir = data_dir;
    })
    .await;
    assert_ne!(a.state.replica.id, b.state.replica.id);
    Some((a, b))
}

/// Waits (up to 10 s) until `store` answers hot reads from `reads`: a Postgres store takes
/// the sole-replica lease shortly after it opens, when it is alone on its database.
pub async fn wait_for_reads(
    store: &dyn uploadcare_emulator::store::Store,
    reads: uploadcare_emulator::store::Reads,
) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while store.reads() != reads {
        assert!(
            std::time::Instant::now() < deadline,
            "the store reads from {:?}, not {reads:?}",
            store.reads()
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

/// Waits (up to 10 s) until the server answers hot reads from `reads` (`GET /_emulator/store`:
/// `memory`, `checked` or `database`), checking each answer's status and content type;
/// returns the answer that said so.
pub async fn wait_for_server_reads(s: &TestServer, reads: &str) -> Answer {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let a = Answer::of(
            s.client
                .get(s.url("/_emulator/store"))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(
            (a.status, a.content_type.as_str()),
            (200, "application/json")
        );
        if a.json()["reads"] == reads {
            return a;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "reads from {}, not {reads}",
            a.body
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
