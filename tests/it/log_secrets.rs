//! No secret reaches the logs, at the most verbose level there is. The real binary runs with
//! `RUST_LOG=trace` (every crate: sqlx, hyper-util, reqwest, the emulator), in text and in
//! JSON, on SQLite and Postgres (a database URL with a password), with projects from a config
//! file and from `UC_PROJECTS` and an admin token. The test sends REST requests with
//! `Uploadcare.Simple` and HMAC-signed `Uploadcare` authorization (right and wrong secrets,
//! bad and stale signatures), signed uploads (`/base/`, `/multipart/start/`, `/from_url/`,
//! the signature in the form and in the query), `/from_url/` sources whose URLs carry a user
//! and password, and admin calls without, with a wrong and with the right token (refused with
//! exactly the admin API's 401, and without effect; then accepted). Every stdout and stderr
//! line is then searched for each secret key, upload and REST signature, full `Authorization`
//! value, the admin token and the passwords; none may appear. The log must hold one line per
//! request, the SQL statements and the HTTP client's trace lines, so an empty or quiet log
//! cannot pass. Further cases: a database password given in the URL's query
//! (`?password=`) or containing an unencoded `@`, and an admin token shaped `user:password`.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hmac::{Hmac, Mac};

use reqwest::multipart::{Form, Part};
use reqwest::{Method, RequestBuilder};

use sha2::Sha256;
use tokio::io::AsyncWriteExt;

const BIN: &str = env!("CARGO_BIN_EXE_uploadcare-emulator");
const V7: &str = "application/vnd.uploadcare-v0.7+json";
const TEXT: &str = "text/plain; charset=utf-8";
/// The file project (plain uploads) and the one requiring signed uploads.
const PUB: &str = "leakpub";
const SIGNED_PUB: &str = "leaksignedpub";
/// The project from `UC_PROJECTS` and the one the admin API creates.
const ENV_PUB: &str = "leakenvpub";
const ADMIN_PUB: &str = "leakadminpub";

/// Everything that must never be logged, with what it is.
#[derive(Default)]
struct Secrets(Vec<(String, String)>);

impl Secrets {
    fn add(&mut self, what: &str, value: impl Into<String>) -> String {
        let value = value.into();
        assert!(value.len() >= 8, "{what}: too short to search for");
        if !self.0.iter().any(|(_, v)| *v == value) {
            self.0.push((what.to_owned(), value.clone()));
        }
        value
    }
}

/// A distinctive value: `prefix` and a random hex tail.
fn unique(prefix: &str) -> String {
    format!("{prefix}{}", uuid::Uuid::new_v4().simple())
}

/// Hex HMAC-SHA256 of `expire` under `secret` (Upload API signatures).
fn upload_signature(secret: &str, expire: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(expire.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The running binary, its base URL and every line it wrote (stdout and stderr). Killed when
/// dropped, so a failed assertion leaves no process behind.
struct Emulator {
    child: Child,
    base: String,
    lines: Arc<Mutex<Vec<String>>>,
    readers: Vec<std::thread::JoinHandle<()>>,
}

impl Emulator {
    /// SIGTERM, a clean exit, and every line it wrote.
    fn stop(&mut self) -> Vec<String> {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        assert!(self.child.wait().unwrap().success());
        for reader in std::mem::take(&mut self.readers) {
            reader.join().unwrap();
        }
        std::mem::take(&mut *self.lines.lock().unwrap())
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Collects the lines of `stream` into `lines`; the address of the banner's first line is
/// also sent on `found`.
fn collect(
    stream: impl std::io::Read + Send + 'static,
    lines: Arc<Mutex<Vec<String>>>,
    found: Option<std::sync::mpsc::Sender<String>>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut found = found;
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            if let Some(addr) = line.strip_prefix("uploadcare-emulator listening on ") {
                if let Some(tx) = found.take() {
                    let _ = tx.send(addr.to_owned());
                }
            }
            lines.lock().unwrap().push(line);
        }
    })
}

fn spawn(config: &std::path::Path, env_projects: &str, format: &str) -> Emulator {
    let mut child = Command::new(BIN)
        .arg("--config")
        .arg(config)
        .args(["--listen", "127.0.0.1:0", "--log-format", format])
        .env_remove("UC_RECORD_ANSWERS")
        .env_remove("UC_DATABASE_URL")
        .env_remove("UC_ADMIN_TOKEN")
        .env("UC_PROJECTS", env_projects)
        // Everything, from every crate.
        .env("RUST_LOG", "trace")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn emulator");
    let lines = Arc::new(Mutex::new(Vec::new()));
    let (tx, rx) = std::sync::mpsc::channel();
    let readers = vec![
        collect(child.stdout.take().unwrap(), lines.clone(), Some(tx)),
        collect(child.stderr.take().unwrap(), lines.clone(), None),
    ];
    let base = rx
        .recv_timeout(Duration::from_secs(30))
        .unwrap_or_else(|_| panic!("no listening line in {:?}", lines.lock().unwrap()));
    Emulator {
        child,
        base,
        lines,
        readers,
    }
}

/// A status, content type and body.
type Reply = (u16, String, String);

/// Sends requests and counts them (each must leave one request line in the log).
struct Client {
    http: reqwest::Client,
    base: String,
    sent: usize,
}

impl Client {
    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http.request(method, format!("{}{path}", self.base))
    }

    async fn send(&mut self, r: RequestBuilder) -> Reply {
        self.sent += 1;
        let r = r.send().await.unwrap();
        let status = r.status().as_u16();
        let content_type = r
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (status, content_type, r.text().await.unwrap())
    }
}

fn detail(status: u16, content_type: &str, message: &str) -> Reply {
    (
        status,
        content_type.to_owned(),
        serde_json::json!({ "detail": message }).to_string(),
    )
}

/// A local source for `/from_url/`: answers every request with `hello` and keeps the
/// `Authorization` values it was sent (the URL's user and password, as Basic credentials).
async fn source_server() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let keep = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let keep = keep.clone();
            tokio::spawn(async move {
                let Some(text) = crate::common::source::read_head(&mut sock).await else {
                    return;
                };
                for line in text.lines() {
                    if let Some((k, v)) = line.split_once(':') {
                        if k.eq_ignore_ascii_case("authorization") {
                            keep.lock().unwrap().push(v.trim().to_owned());
                        }
                    }
                }
                let _ = sock
                    .write_all(
                        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
                    )
                    .await;
            });
        }
    });
    (addr.to_string(), seen)
}

/// REST calls: simple and signed, right and wrong.
async fn rest_calls(c: &mut Client, s: &mut Secrets, secret: &str, other_secret: &str) {
    let simple = |pub_key: &str, secret: &str| format!("Uploadcare.Simple {pub_key}:{secret}");
    let ok = s.add("Authorization", simple(PUB, secret));
    let r = c
        .send(
            c.request(Method::GET, "/files/?limit=1")
                .header("Accept", V7)
                .header("Authorization", &ok),
        )
        .await;
    assert_eq!((r.0, r.1.as_str()), (200, V7), "{}", r.2);
    let wrong = s.add("Authorization", simple(PUB, other_secret));
    let r = c
        .send(
            c.request(Method::GET, "/groups/")
                .header("Accept", V7)
                .header("Authorization", &wrong),
        )
        .await;
    assert_eq!(r, detail(401, V7, "Secret key not found."));
    let nonsense = s.add(
        "Authorization",
        format!("Uploadcare.Simple {PUB}:{}", unique("wrongsecret")),
    );
    let r = c
        .send(
            c.request(Method::GET, "/project/")
                .header("Accept", V7)
                .header("Authorization", &nonsense),
        )
        .await;
    assert_eq!(r, detail(401, V7, "Secret key not found."));

    // Signed, with a body the signature covers and without one.
    let date = chrono::Utc::now()
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    let body = br#"["00000000-0000-4000-8000-000000000000"]"#;
    for (method, uri, body, key, expect) in [
        (Method::GET, "/files/?limit=2", &b""[..], secret, 200),
        (Method::GET, "/project/", &b""[..], secret, 200),
        (Method::PUT, "/files/storage/", &body[..], secret, 200),
        (Method::GET, "/files/?limit=2", &b""[..], other_secret, 401),
        (
            Method::DELETE,
            "/files/storage/",
            &body[..],
            other_secret,
            401,
        ),
    ] {
        let signature = s.add(
            "REST signature",
            crate::common::rest_signature(
                key,
                method.as_str(),
                body,
                "application/json",
                &date,
                uri,
            ),
        );
        let auth = s.add("Authorization", format!("Uploadcare {PUB}:{signature}"));
        let r = c
            .send(
                c.request(method.clone(), uri)
                    .header("Accept", V7)
                    .header("Content-Type", "application/json")
                    .header("Date", &date)
                    .header("Authorization", &auth)
                    .body(body.to_vec()),
            )
            .await;
        if expect == 200 {
            assert_eq!((r.0, r.1.as_str()), (200, V7), "{method} {uri}: {}", r.2);
        } else {
            assert_eq!(
                r,
                detail(401, V7, "Invalid signature. Please check your Secret key."),
                "{method} {uri}"
            );
        }
    }
    // A signature that is not even hex, and one for another date.
    let garbage = s.add("REST signature", unique("not-a-signature-"));
    let auth = s.add("Authorization", format!("Uploadcare {PUB}:{garbage}"));
    let r = c
        .send(
            c.request(Method::GET, "/groups/")
                .header("Accept", V7)
                .header("Date", &date)
                .header("Authorization", &auth),
        )
        .await;
    assert_eq!(
        r,
        detail(401, V7, "Invalid signature. Please check your Secret key.")
    );
    let old = "Mon, 01 Jan 2018 00:00:00 GMT";
    let stale = s.add(
        "REST signature",
        crate::common::rest_signature(secret, "GET", b"", "", old, "/groups/"),
    );
    let auth = s.add("Authorization", format!("Uploadcare {PUB}:{stale}"));
    let r = c
        .send(
            c.request(Method::GET, "/groups/")
                .header("Accept", V7)
                .header("Date", old)
                .header("Authorization", &auth),
        )
        .await;
    assert_eq!(r, detail(401, V7, "Incorrect authentication credentials."));
}

/// Upload API calls with signatures, and imports from a URL with credentials.
async fn upload_calls(c: &mut Client, s: &mut Secrets, signed_secret: &str) {
    let expire = (chrono::Utc::now().timestamp() + 3600).to_string();
    let good = s.add("upload signature", upload_signature(signed_secret, &expire));
    let bad = s.add(
        "upload signature",
        upload_signature(&unique("notthesecret"), &expire),
    );
    let file = || Part::bytes(b"hello".to_vec()).file_name("a.txt");
    // In the form.
    let form = Form::new()
        .text("UPLOADCARE_PUB_KEY", SIGNED_PUB)
        .text("signature", good.clone())
        .text("expire", expire.clone())
        .part("file", file());
    let r = c
        .send(c.request(Method::POST, "/base/").multipart(form))
        .await;
    assert_eq!(r.0, 200, "{}", r.2);
    let form = Form::new()
        .text("UPLOADCARE_PUB_KEY", SIGNED_PUB)
        .text("signature", bad.clone())
        .text("expire", expire.clone())
        .part("file", file());
    let r = c
        .send(c.request(Method::POST, "/base/").multipart(form))
        .await;
    assert_eq!(r, (403, TEXT.to_owned(), "Invalid signature.".to_owned()));
    // In the query string.
    let form = Form::new()
        .text("UPLOADCARE_PUB_KEY", SIGNED_PUB)
        .part("file", file());
    let r = c
        .send(
            c.request(Method::POST, "/base/")
                .query(&[("signature", &good), ("expire", &expire)])
                .multipart(form),
        )
        .await;
    assert_eq!(r.0, 200, "{}", r.2);
    let r = c
        .send(
            c.request(Method::POST, "/multipart/start/")
                .query(&[("signature", &bad), ("expire", &expire)])
                .multipart(
                    Form::new()
                        .text("UPLOADCARE_PUB_KEY", SIGNED_PUB)
                        .text("filename", "big.bin")
                        .text("size", "20000000")
                        .text("content_type", "application/octet-stream"),
                ),
        )
        .await;
    assert_eq!(r, (403, TEXT.to_owned(), "Invalid signature.".to_owned()));
    let r = c
        .send(
            c.request(Method::POST, "/multipart/start/").multipart(
                Form::new()
                    .text("UPLOADCARE_PUB_KEY", SIGNED_PUB)
                    .text("signature", good.clone())
                    .text("expire", expire.clone())
                    .text("filename", "big.bin")
                    .text("size", "20000000")
                    .text("content_type", "application/octet-stream"),
            ),
        )
        .await;
    assert_eq!(r.0, 200, "{}", r.2);

    // Imports from URLs with a user and password: one served, one refused by the network.
    let (source, seen) = source_server().await;
    let password = s.add("source URL password", unique("urlpass"));
    let served = s.add(
        "source URL",
        format!("http://importer:{password}@{source}/file.txt"),
    );
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let refused = s.add(
        "source URL",
        format!("http://importer:{password}@{closed}/gone.txt"),
    );
    let mut outcomes = Vec::new();
    for url in [&served, &refused] {
        let form = Form::new()
            .text("pub_key", SIGNED_PUB)
            .text("signature", good.clone())
            .text("expire", expire.clone())
            .text("source_url", url.clone());
        let r = c
            .send(c.request(Method::POST, "/from_url/").multipart(form))
            .await;
        assert_eq!(r.0, 200, "{}", r.2);
        let token = serde_json::from_str::<serde_json::Value>(&r.2).unwrap()["token"]
            .as_str()
            .unwrap()
            .to_owned();
        let mut status = String::new();
        for _ in 0..200 {
            let r = c
                .send(
                    c.request(Method::GET, "/from_url/status/")
                        .query(&[("token", &token)]),
                )
                .await;
            let v: serde_json::Value = serde_json::from_str(&r.2).unwrap();
            status = v["status"].as_str().unwrap().to_owned();
            if status == "success" || status == "error" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        outcomes.push(status);
    }
    assert_eq!(outcomes, ["success", "error"]);
    for auth in seen.lock().unwrap().iter() {
        s.add("Authorization sent to the source", auth.clone());
    }
}

/// Admin calls: refused without the token (and without effect), accepted with it.
async fn admin_calls(c: &mut Client, s: &mut Secrets, token: &str) {
    let admin_secret = s.add("admin-created secret key", unique("admincreated"));
    let new_project = serde_json::json!({ "pub_key": ADMIN_PUB, "secret_key": admin_secret });
    let calls = |c: &Client| {
        vec![
            c.request(Method::POST, "/_emulator/projects")
                .json(&new_project),
            c.request(Method::POST, &format!("/_emulator/projects/{PUB}/reset")),
            c.request(Method::POST, &format!("/_emulator/projects/{PUB}/seed"))
                .json(&serde_json::json!({ "dir": "/nonexistent" })),
            c.request(Method::POST, "/_emulator/clock/advance")
                .json(&serde_json::json!({ "seconds": 0 })),
            c.request(Method::POST, "/_emulator/faults")
                .json(&serde_json::json!({ "kind": "error", "count": 100 })),
            c.request(Method::DELETE, "/_emulator/faults"),
        ]
    };
    let wrong_token = s.add("Authorization", format!("Bearer {}", unique("admtok")));
    let bare_token = s.add("Authorization", token.to_owned());
    let other_scheme = s.add("Authorization", format!("Token {token}"));
    let refusals: [Option<&str>; 4] = [
        None,
        Some(&wrong_token),
        Some(&bare_token),
        Some(&other_scheme),
    ];
    for auth in refusals {
        for r in calls(c) {
            let r = match auth {
                Some(a) => r.header("Authorization", a),
                None => r,
            };
            let got = c.send(r).await;
            assert_eq!(
                got,
                detail(401, "application/json", "Admin token required."),
                "{auth:?}"
            );
        }
    }
    // Refused means not done: no project, and no pending `error` fault (it would answer 500).
    let admin_auth = s.add(
        "Authorization",
        format!("Uploadcare.Simple {ADMIN_PUB}:{admin_secret}"),
    );
    let r = c
        .send(
            c.request(Method::GET, "/project/")
                .header("Accept", V7)
                .header("Authorization", &admin_auth),
        )
        .await;
    assert_eq!(
        r,
        detail(401, V7, &format!("Public key {ADMIN_PUB} not found."))
    );
    // Health and readiness stay open.
    for path in ["/_emulator/health", "/_emulator/ready"] {
        let r = c.send(c.request(Method::GET, path)).await;
        assert_eq!(r.0, 200, "{path}");
    }
    // With the token.
    let bearer = s.add("Authorization", format!("Bearer {token}"));
    let r = c
        .send(
            c.request(Method::POST, "/_emulator/projects")
                .header("Authorization", &bearer)
                .json(&new_project),
        )
        .await;
    assert_eq!(
        r,
        (
            201,
            "application/json".to_owned(),
            format!(
                r#"{{"pub_key":"{ADMIN_PUB}","name":"Emulated project","autostore":true,"signed_uploads":false}}"#
            )
        )
    );
    let r = c
        .send(
            c.request(Method::POST, "/_emulator/clock/advance")
                .header("Authorization", &bearer)
                .json(&serde_json::json!({ "seconds": 0 })),
        )
        .await;
    assert_eq!(r.0, 200, "{}", r.2);
    let r = c
        .send(
            c.request(Method::DELETE, "/_emulator/faults")
                .header("Authorization", &bearer),
        )
        .await;
    assert_eq!(r.0, 204);
    let r = c
        .send(
            c.request(Method::GET, "/project/")
                .header("Accept", V7)
                .header("Authorization", &admin_auth),
        )
        .await;
    assert_eq!((r.0, r.1.as_str()), (200, V7), "{}", r.2);
    // A bearer token is no REST credential.
    let r = c
        .send(
            c.request(Method::GET, "/project/")
                .header("Accept", V7)
                .header("Authorization", &bearer),
        )
        .await;
    assert_eq!(r, detail(401, V7, "Incorrect authentication credentials."));
    let r = c
        .send(
            c.request(Method::POST, &format!("/_emulator/projects/{PUB}/reset"))
                .header("Authorization", &bearer),
        )
        .await;
    assert_eq!(r.0, 204);
}

/// `line` without its ANSI colour codes (text logs are coloured even into a pipe).
fn plain(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // ESC [ parameters... final letter
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Whether `line` (without colours) is the emulator's one line for a finished request.
fn is_request_line(line: &str, format: &str) -> bool {
    if format == "json" {
        serde_json::from_str::<serde_json::Value>(line)
            .is_ok_and(|v| v["fields"]["message"] == "request" && v["fields"]["status"].is_u64())
    } else {
        line.contains("uploadcare_emulator::observe: request method=") && line.contains(" status=")
    }
}

/// A Postgres database for the emulator: its URL (with a password) and the parts of it that
/// must not be logged.
struct Database {
    url: String,
    name: String,
    secrets: Vec<String>,
}

async fn run(database: Option<Database>, format: &str, token: &str) {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Secrets::default();
    let secret = s.add("secret key", unique("sk-file-"));
    let signed_secret = s.add("secret key", unique("sk-signed-"));
    let env_secret = s.add("secret key", unique("sk-env-"));
    let token = s.add("admin token", token);
    for part in token.split(':').filter(|p| p.len() >= 8 && *p != token) {
        s.add("part of the admin token", part);
    }
    let (db, db_name) = match &database {
        Some(d) => {
            for secret in &d.secrets {
                s.add("database password", secret.clone());
            }
            s.add("database URL", d.url.clone());
            (d.url.clone(), d.name.clone())
        }
        None => {
            let path = dir.path().join("emulator.db").display().to_string();
            (format!("sqlite://{path}"), path)
        }
    };
    let config = dir.path().join("emulator.toml");
    std::fs::write(
        &config,
        format!(
            r#"data_dir = "{data}"
database_url = "{db}"
admin_token = "{token}"

[[projects]]
pub_key = "{PUB}"
secret_key = "{secret}"

[[projects]]
pub_key = "{SIGNED_PUB}"
secret_key = "{signed_secret}"
signed_uploads = true
"#,
            data = dir.path().display()
        ),
    )
    .unwrap();
    let mut emulator = spawn(&config, &format!("{ENV_PUB}:{env_secret}"), format);
    let mut c = Client {
        http: reqwest::Client::new(),
        base: emulator.base.clone(),
        sent: 0,
    };

    rest_calls(&mut c, &mut s, &secret, &signed_secret).await;
    // The environment's project authenticates too.
    let env_auth = s.add(
        "Authorization",
        format!("Uploadcare.Simple {ENV_PUB}:{env_secret}"),
    );
    let r = c
        .send(
            c.request(Method::GET, "/project/")
                .header("Accept", V7)
                .header("Authorization", &env_auth),
        )
        .await;
    assert_eq!((r.0, r.1.as_str()), (200, V7), "{}", r.2);
    upload_calls(&mut c, &mut s, &signed_secret).await;
    admin_calls(&mut c, &mut s, &token).await;

    let lines = emulator.stop();

    let plain: Vec<String> = lines.iter().map(|l| plain(l)).collect();
    let mut hits = Vec::new();
    for (raw, line) in lines.iter().zip(&plain) {
        for (what, value) in &s.0 {
            if raw.contains(value.as_str()) || line.contains(value.as_str()) {
                hits.push(format!("{what} in: {line}"));
            }
        }
    }
    let requests = plain.iter().filter(|l| is_request_line(l, format)).count();
    let client = plain
        .iter()
        .filter(|l| l.contains("hyper_util::client") || l.contains("reqwest::"))
        .count();
    let sqlx = plain.iter().filter(|l| l.contains("sqlx::query")).count();
    let traces = plain.iter().filter(|l| l.contains("TRACE")).count();
    let bytes: usize = lines.iter().map(String::len).sum();
    eprintln!(
        "{kind} {format}: {} lines ({bytes} bytes) scanned for {} secrets: {} hits; \
         {requests} request lines for {} requests, {sqlx} sqlx statements, {client} HTTP \
         client lines, {traces} TRACE lines",
        lines.len(),
        s.0.len(),
        hits.len(),
        c.sent,
        kind = db.split(':').next().unwrap(),
    );
    assert!(hits.is_empty(), "secrets in the log:\n{}", hits.join("\n"));
    // The log is the verbose one, and complete: every request, every SQL statement, the
    // `/from_url/` downloads at trace level.
    assert_eq!(requests, c.sent, "one line per request");
    assert!(sqlx > c.sent / 2, "sqlx's statements are missing");
    assert!(client > 0 && traces > 0, "trace-level lines are missing");
    // The banner names the store (its password redacted) and every project, but shows no
    // configured secret.
    let all = plain.join("\n");
    assert!(
        plain
            .iter()
            .any(|l| l.starts_with("  store: ") && l.contains(&db_name)),
        "no store line"
    );
    for pub_key in [PUB, SIGNED_PUB, ENV_PUB] {
        assert!(
            all.contains(&format!("public key {pub_key} secret key (as configured)")),
            "{pub_key}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_in_trace_logs_sqlite_text() {
    run(None, "text", &unique("admin-token-")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_in_trace_logs_sqlite_json() {
    run(None, "json", &unique("admin-token-")).await;
}

/// An admin token shaped like `user:password`: no half of it may be logged either (the
/// request line's `project` is read from any `Authorization` value with a colon).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_part_of_an_admin_token_with_a_colon_in_logs() {
    let token = format!("{}:{}", unique("tokenuser"), unique("tokenpass"));
    run(None, "json", &token).await;
}

/// Where a database URL carries its password.
enum Password {
    /// `postgres://user:PASSWORD@host/db`.
    UserInfo,
    /// The same with an `@` in the password, unencoded (the URL parser, and so sqlx, takes
    /// the last `@` as the end of the user info).
    WithAtSign,
    /// `postgres://user@host/db?password=PASSWORD`, which sqlx reads too.
    Query,
}

/// A fresh database on the server of `UC_TEST_POSTGRES_URL`, its URL carrying a password
/// (the server trusts local connections, so any password works); `None` without Postgres.
async fn postgres_with_password(password: Password) -> Option<Database> {
    let admin = crate::common::postgres_admin_url()?;
    let fresh = crate::common::fresh_postgres_database().await;
    let name = fresh.rsplit_once('/').unwrap().1.to_owned();
    let admin = url::Url::parse(&admin).unwrap();
    let server = format!(
        "{}:{}",
        admin.host_str().unwrap(),
        admin.port().unwrap_or(5432)
    );
    let user = admin.username();
    let first = unique("dbpass");
    let (url, secrets) = match password {
        Password::UserInfo => (
            format!("postgres://{user}:{first}@{server}/{name}"),
            vec![first],
        ),
        Password::WithAtSign => {
            let second = unique("dbpass");
            (
                format!("postgres://{user}:{first}@{second}@{server}/{name}"),
                vec![format!("{first}@{second}"), first, second],
            )
        }
        Password::Query => (
            format!("postgres://{user}@{server}/{name}?password={first}"),
            vec![first],
        ),
    };
    Some(Database { url, name, secrets })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_in_trace_logs_postgres_text() {
    if let Some(db) = postgres_with_password(Password::UserInfo).await {
        run(Some(db), "text", &unique("admin-token-")).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_in_trace_logs_postgres_json() {
    if let Some(db) = postgres_with_password(Password::UserInfo).await {
        run(Some(db), "json", &unique("admin-token-")).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_database_password_with_an_at_sign_in_logs() {
    if let Some(db) = postgres_with_password(Password::WithAtSign).await {
        run(Some(db), "text", &unique("admin-token-")).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_database_password_from_the_query_in_logs() {
    if let Some(db) = postgres_with_password(Password::Query).await {
        run(Some(db), "text", &unique("admin-token-")).await;
    }
}
