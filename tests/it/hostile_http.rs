//! Hostile input over HTTP, against a running server on both backends: thousands of randomly
//! malformed requests to every route family (wrong methods, mangled ids and paths, broken
//! query strings, bodies of the wrong type, truncated or absurd multipart bodies, mangled
//! `Authorization`, `Accept` and `Date` headers, null characters) get no 5xx, and the server
//! is healthy and serving afterwards; garbage on a raw socket (broken request lines, headers,
//! lengths and chunked encodings, oversized header blocks) gets a 4xx or a closed connection,
//! never a 5xx or a hang. The seed is printed; `UC_HOSTILE_SEED` and `UC_HOSTILE_CASES`
//! (default 3000 per backend) replay or extend a run.

use std::time::Duration;

use crate::common::{per_backend, Backend, TestServer, PUB, SECRET, TEXT};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// splitmix64: small, seedable, good enough to pick cases.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// Values that break parsers: empty, huge, encoded, unicode, nulls, numbers at the edges.
const NASTY: &[&str] = &[
    "",
    " ",
    "%",
    "%zz",
    "%00",
    "%FF%FE",
    "..",
    "../../etc/passwd",
    "~",
    "~0",
    "~-1",
    "~99999999999",
    "-1",
    "0",
    "99999999999999999999999",
    "1e309",
    "NaN",
    "null",
    "[]",
    "{}",
    "\"",
    "'",
    "<script>",
    "ü€𝄞",
    "a\u{0}b",
    "\u{7f}",
    "files[",
    "files[]]",
    "files[-1]",
    "files[99999999999999999999]",
];

/// A string made of random pieces of `NASTY` and, sometimes, a real id.
fn nasty(rng: &mut Rng, real: &[String]) -> String {
    let mut s = String::new();
    for _ in 0..1 + rng.below(3) {
        if !real.is_empty() && rng.chance(30) {
            s.push_str(rng.pick(real).as_str());
        } else {
            s.push_str(rng.pick::<&str>(NASTY));
        }
    }
    if rng.chance(5) {
        s.push_str(&"x".repeat(rng.below(20_000)));
    }
    s
}

fn encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// One generated request, kept whole so a failure can print it.
#[derive(Debug)]
struct Case {
    method: &'static str,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

const METHODS: &[&str] = &["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"];

fn path_for(rng: &mut Rng, real: &[String]) -> String {
    let id = |rng: &mut Rng| {
        if rng.chance(50) {
            rng.pick(real).clone()
        } else {
            encode(&nasty(rng, real))
        }
    };
    let raw = |rng: &mut Rng| nasty(rng, real).replace(['/', '?', '#', ' '], "");
    match rng.below(20) {
        0 => "/base/".into(),
        1 => "/info/".into(),
        2 => "/group/".into(),
        3 => "/group/info/".into(),
        4 => "/multipart/start/".into(),
        5 => "/multipart/complete/".into(),
        6 => format!("/multipart/part/{}/{}/", id(rng), raw(rng)),
        7 => "/from_url/".into(),
        8 => "/from_url/status/".into(),
        9 => format!("/files/{}/", id(rng)),
        10 => format!("/files/{}/metadata/{}/", id(rng), raw(rng)),
        11 => format!("/files/{}/", if rng.chance(50) { "storage" } else { "" }),
        12 => format!("/groups/{}/", id(rng)),
        13 => format!("/groups/{}/storage/", id(rng)),
        14 => "/groups/".into(),
        15 => "/project/".into(),
        16 => format!("/{}/", id(rng)),
        17 => format!("/{}/-/{}/", id(rng), raw(rng)),
        18 => format!("/{}/nth/{}/", id(rng), raw(rng)),
        _ => format!(
            "/{}/archive/{}/{}",
            id(rng),
            rng.pick(&["zip", "tar", "rar", ""]),
            raw(rng)
        ),
    }
}

fn query_for(rng: &mut Rng, real: &[String]) -> String {
    const KEYS: &[&str] = &[
        "pub_key",
        "UPLOADCARE_PUB_KEY",
        "file_id",
        "group_id",
        "token",
        "limit",
        "from",
        "ordering",
        "stored",
        "removed",
        "jsonerrors",
        "callback",
        "include",
        "source_url",
        "files[0]",
        "files[]",
    ];
    let mut pairs = Vec::new();
    for _ in 0..rng.below(6) {
        let key = *rng.pick(KEYS);
        let value = match rng.below(4) {
            0 => PUB.to_owned(),
            1 => rng.pick(real).clone(),
            _ => nasty(rng, real),
        };
        if rng.chance(20) {
            // Raw, unencoded: invalid percent-encoding and all.
            pairs.push(format!("{key}={}", value.replace(['#', ' '], "")));
        } else {
            pairs.push(format!("{}={}", encode(key), encode(&value)));
        }
    }
    pairs.join("&")
}

fn multipart_body(rng: &mut Rng, real: &[String]) -> (String, Vec<u8>) {
    let boundary = if rng.chance(90) { "B0unD" } else { "" };
    let mut body = Vec::new();
    for _ in 0..rng.below(5) {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        let name = match rng.below(5) {
            0 => "UPLOADCARE_PUB_KEY".to_owned(),
            1 => format!("files[{}]", rng.below(3)),
            2 => "file".to_owned(),
            3 => format!("metadata[{}]", nasty(rng, real)),
            _ => nasty(rng, real),
        };
        let value = match rng.below(3) {
            0 => PUB.to_owned(),
            1 => rng.pick(real).clone(),
            _ => nasty(rng, real),
        };
        match rng.below(4) {
            0 => body.extend_from_slice(b"Content-Disposition: form-data\r\n\r\n"),
            1 => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{}\"\r\nContent-Type: {}\r\n\r\n", nasty(rng, real), nasty(rng, real)).as_bytes(),
            ),
            2 => body.extend_from_slice(format!("X-Absurd: {}\r\n\r\n", "y".repeat(rng.below(10_000))).as_bytes()),
            _ => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            ),
        }
        body.extend_from_slice(value.as_bytes());
        body.extend_from_slice(b"\r\n");
    }
    if rng.chance(60) {
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    }
    if rng.chance(20) {
        // Truncated anywhere.
        let keep = rng.below(body.len() + 1);
        body.truncate(keep);
    }
    let content_type = match rng.below(4) {
        0 => "multipart/form-data".to_owned(),
        1 => format!("multipart/form-data; boundary=\"{boundary}\""),
        _ => format!("multipart/form-data; boundary={boundary}"),
    };
    (content_type, body)
}

fn case(rng: &mut Rng, real: &[String]) -> Case {
    let method = *rng.pick(METHODS);
    let mut path = path_for(rng, real);
    if rng.chance(70) {
        path = format!("{path}?{}", query_for(rng, real));
    }
    let mut headers = Vec::new();
    let (content_type, body) = match rng.below(6) {
        0 => multipart_body(rng, real),
        1 => (
            "application/x-www-form-urlencoded".into(),
            query_for(rng, real).into_bytes(),
        ),
        2 => {
            let mut b = query_for(rng, real).into_bytes();
            b.extend_from_slice(&[0xff, 0xfe, 0x00, 0xc3]);
            ("application/x-www-form-urlencoded".into(), b)
        }
        3 => (
            "application/json".into(),
            rng.pick(&[
                "[",
                "{\"a\":",
                "[1,2,3]",
                "\"x\"",
                "null",
                "[\"00000000-0000-0000-0000-000000000000\"]",
            ])
            .as_bytes()
            .to_vec(),
        ),
        4 => (nasty(rng, real), nasty(rng, real).into_bytes()),
        _ => (String::new(), Vec::new()),
    };
    if !content_type.is_empty() {
        headers.push(("Content-Type".to_owned(), content_type));
    }
    match rng.below(5) {
        0 => headers.push((
            "Authorization".into(),
            format!("Uploadcare.Simple {PUB}:{SECRET}"),
        )),
        1 => headers.push((
            "Authorization".into(),
            format!(
                "{} {}",
                rng.pick(&["Uploadcare", "Uploadcare.Simple", "Bearer", ""]),
                nasty(rng, real)
            ),
        )),
        2 => headers.push(("Authorization".into(), format!("Uploadcare {PUB}:zz"))),
        _ => {}
    }
    if rng.chance(60) {
        headers.push((
            "Accept".into(),
            rng.pick(&[
                "application/vnd.uploadcare-v0.7+json",
                "application/vnd.uploadcare-v0.5+json",
                "application/vnd.uploadcare-v9+json",
                "*/*",
                "",
                "application/vnd.uploadcare-v0.7+json;;;",
            ])
            .to_string(),
        ));
    }
    if rng.chance(30) {
        headers.push((
            rng.pick(&["Date", "X-Uploadcare-Date"]).to_string(),
            rng.pick(&[
                "Mon, 23 Nov 2026 10:00:00 GMT",
                "yesterday",
                "Mon, 99 Nov 2026 99:99:99 GMT",
                "",
            ])
            .to_string(),
        ));
    }
    if rng.chance(20) {
        headers.push((
            "Range".into(),
            rng.pick(&[
                "bytes=0-",
                "bytes=-0",
                "bytes=9-1",
                "bytes=a-b",
                "bytes=0-1,2-3",
            ])
            .to_string(),
        ));
    }
    if rng.chance(10) {
        headers.push(("If-None-Match".into(), nasty(rng, real)));
    }
    Case {
        method,
        path,
        headers,
        body,
    }
}

/// Sends a case as raw HTTP/1.1 (no client-side validation in the way) and returns the
/// status, or `None` when the server closed the connection without an answer.
async fn send_raw(addr: &str, case: &Case) -> Option<u16> {
    let mut head = format!(
        "{} {} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n",
        case.method, case.path
    );
    for (k, v) in &case.headers {
        // A header value with bytes HTTP does not allow is the raw-socket test's business.
        let v: String = v
            .chars()
            .filter(|c| !c.is_control() || *c == '\t')
            .collect();
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", case.body.len()));
    let mut stream = TcpStream::connect(addr).await.ok()?;
    stream.write_all(head.as_bytes()).await.ok()?;
    let _ = stream.write_all(&case.body).await;
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut answer))
        .await
        .expect("no answer within 20 s")
        .ok()?;
    let line = String::from_utf8_lossy(&answer);
    line.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()
}

per_backend!(
    random_malformed_requests_never_get_a_5xx,
    flavor = "multi_thread",
    worker_threads = 2
);
async fn random_malformed_requests_never_get_a_5xx(backend: Backend) {
    let seed = std::env::var("UC_HOSTILE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    let cases: usize = std::env::var("UC_HOSTILE_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3000);
    eprintln!(
        "hostile HTTP: seed {seed} (UC_HOSTILE_SEED={seed} replays it), {cases} cases per backend"
    );
    let s = TestServer::start_with(backend, |c| c.record_answers = None).await;
    let addr = s.base.trim_start_matches("http://").to_owned();
    // Real ids, so the cases reach past the id parsers.
    let mut real = Vec::new();
    for i in 0..3 {
        real.push(
            s.upload(PUB, &format!("r{i}.png"), crate::common::png(2, 2))
                .await,
        );
    }
    let group = s.group(PUB, &real).await;
    real.push(group);
    let mut rng = Rng(seed ^ (backend as u64));
    let mut by_status = std::collections::BTreeMap::<String, usize>::new();
    for _ in 0..cases {
        let case = case(&mut rng, &real);
        let status = send_raw(&addr, &case).await;
        if let Some(status) = status {
            assert!(
                status < 500,
                "{backend:?}: {status} for {} {} headers {:?} body {:?}",
                case.method,
                case.path,
                case.headers,
                String::from_utf8_lossy(&case.body[..case.body.len().min(300)])
            );
        }
        *by_status
            .entry(status.map_or("closed".into(), |s| s.to_string()))
            .or_default() += 1;
    }
    eprintln!("{backend:?}: answers by status {by_status:?}");
    // Still healthy and serving.
    let r = s
        .client
        .get(s.url("/_emulator/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let uuid = s.upload(PUB, "after.txt", b"after".to_vec()).await;
    assert!(s.group(PUB, &[uuid]).await.ends_with("~1"));
}

/// One raw-socket case: bytes to send, and whether to half-close after sending.
struct RawCase {
    name: &'static str,
    bytes: Vec<u8>,
}

fn raw_cases() -> Vec<RawCase> {
    let huge_header = format!(
        "GET /_emulator/health HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(1 << 20)
    );
    let mut many = String::from("GET /_emulator/health HTTP/1.1\r\nHost: x\r\n");
    for i in 0..200 {
        many.push_str(&format!("X-H{i}: v\r\n"));
    }
    many.push_str("\r\n");
    let cases: Vec<(&'static str, Vec<u8>)> = vec![
        ("garbage request line", b"HELLO THERE\r\n\r\n".to_vec()),
        ("binary noise", (0..=255u8).cycle().take(4096).collect()),
        ("unknown HTTP version", b"GET / HTTP/9.9\r\nHost: x\r\n\r\n".to_vec()),
        ("header without colon", b"GET / HTTP/1.1\r\nHost x\r\n\r\n".to_vec()),
        ("NUL in a header", b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n".to_vec()),
        ("NUL in the path", b"GET /\x00/ HTTP/1.1\r\nHost: x\r\n\r\n".to_vec()),
        ("space in the path", b"GET /a b/ HTTP/1.1\r\nHost: x\r\n\r\n".to_vec()),
        (
            "Content-Length shorter than the body",
            b"POST /group/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 3\r\n\r\npub_key=demopublickey".to_vec(),
        ),
        (
            "Content-Length longer than the body, then close",
            b"POST /group/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 999\r\n\r\npub_key=x".to_vec(),
        ),
        (
            "Content-Length not a number",
            b"POST /group/ HTTP/1.1\r\nHost: x\r\nContent-Length: ten\r\n\r\n".to_vec(),
        ),
        (
            "two different Content-Lengths",
            b"POST /group/ HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab".to_vec(),
        ),
        (
            "Content-Length and Transfer-Encoding",
            b"POST /group/ HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n".to_vec(),
        ),
        (
            "malformed chunk size",
            b"POST /base/ HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=B\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n".to_vec(),
        ),
        (
            "chunked body cut short, then close",
            b"POST /base/ HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=B\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n--B\r\nContent".to_vec(),
        ),
        ("a 1 MiB header", huge_header.into_bytes()),
        ("200 headers", many.into_bytes()),
    ];
    cases
        .into_iter()
        .map(|(name, bytes)| RawCase { name, bytes })
        .collect()
}

#[tokio::test]
async fn raw_socket_garbage_is_refused_cleanly() {
    let s = TestServer::start_with(Backend::Sqlite, |c| c.record_answers = None).await;
    let addr = s.base.trim_start_matches("http://").to_owned();
    let mut table = Vec::new();
    for case in raw_cases() {
        let mut stream = TcpStream::connect(&addr).await.unwrap();
        let _ = stream.write_all(&case.bytes).await;
        let _ = stream.shutdown().await;
        let mut answer = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(10), async {
            let mut buf = [0u8; 4096];
            loop {
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => answer.extend_from_slice(&buf[..n]),
                }
            }
        })
        .await;
        assert!(read.is_ok(), "{}: the connection hung", case.name);
        let text = String::from_utf8_lossy(&answer);
        let status_line = text.lines().next().unwrap_or("").to_owned();
        let status: Option<u16> = status_line
            .strip_prefix("HTTP/1.1 ")
            .and_then(|s| s.get(..3))
            .and_then(|s| s.parse().ok());
        match status {
            None => assert!(answer.is_empty(), "{}: not HTTP: {text:?}", case.name),
            Some(code) => assert!(
                (400..500).contains(&code),
                "{}: answered {status_line:?}",
                case.name
            ),
        }
        table.push(format!(
            "{:<50} {}",
            case.name,
            if status_line.is_empty() {
                "connection closed"
            } else {
                &status_line
            }
        ));
        // And the server still serves a normal request on a fresh connection.
        let r = s
            .client
            .get(s.url("/_emulator/health"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "after {}", case.name);
    }
    eprintln!("raw socket cases:\n{}", table.join("\n"));
}

per_backend!(null_characters_in_the_remaining_places);
async fn null_characters_in_the_remaining_places(backend: Backend) {
    let s = TestServer::start_with(backend, |c| c.record_answers = None).await;
    let uuid = s.upload(PUB, "a.txt", b"a".to_vec()).await;
    let null = |status: u16, a: crate::common::Answer, what: &str| {
        assert_eq!(
            (a.status, a.content_type.as_str(), a.body.as_str()),
            (status, TEXT, "Null characters are not allowed."),
            "{backend:?} {what}"
        );
    };
    // A file name with a NUL: a NUL byte in a part's headers is a header the multipart
    // parser refuses, so the documented answer is the parse failure.
    let form = reqwest::multipart::Form::new()
        .text("UPLOADCARE_PUB_KEY", PUB)
        .part(
            "file",
            reqwest::multipart::Part::bytes(b"x".to_vec()).file_name("a\u{0}b.txt"),
        );
    let a = crate::common::Answer::of(
        s.client
            .post(s.url("/base/"))
            .multipart(form)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (a.status, a.content_type.as_str(), a.body.as_str()),
        (400, TEXT, "HTTP POST request parsing failed."),
        "{backend:?} /base/ file name"
    );
    // Query values of the GET endpoints.
    for (path, query) in [
        ("/info/", vec![("pub_key", PUB), ("file_id", "a\u{0}")]),
        (
            "/group/info/",
            vec![("pub_key", PUB), ("group_id", "\u{0}~1")],
        ),
        ("/from_url/status/", vec![("token", "\u{0}")]),
    ] {
        let a = crate::common::Answer::of(
            s.client
                .get(s.url(path))
                .query(&query)
                .send()
                .await
                .unwrap(),
        )
        .await;
        null(400, a, path);
    }
    // `/from_url/` source URL.
    let a = crate::common::Answer::of(
        s.client
            .post(s.url("/from_url/"))
            .form(&[("pub_key", PUB), ("source_url", "http://x/\u{0}")])
            .send()
            .await
            .unwrap(),
    )
    .await;
    null(400, a, "/from_url/ source_url");
    // REST and CDN: a NUL in a path or a JSON body is a client error, never a 5xx.
    let rest = |method: reqwest::Method, path: String, body: &'static str| {
        s.client
            .request(method, s.url(&path))
            .header("Accept", crate::common::V7)
            .header("Authorization", format!("Uploadcare.Simple {PUB}:{SECRET}"))
            .header("Content-Type", "application/json")
            .body(body)
    };
    for (method, path, body) in [
        (reqwest::Method::GET, format!("/files/{uuid}%00/"), ""),
        (
            reqwest::Method::PUT,
            format!("/files/{uuid}/metadata/k%00/"),
            "\"v\"",
        ),
        (
            reqwest::Method::PUT,
            format!("/files/{uuid}/metadata/k/"),
            "\"a\\u0000b\"",
        ),
        (reqwest::Method::GET, "/groups/?from=%00".to_owned(), ""),
    ] {
        let r = rest(method.clone(), path.clone(), body)
            .send()
            .await
            .unwrap();
        assert!(
            (400..500).contains(&r.status().as_u16()),
            "{backend:?} {method} {path}: {}",
            r.status()
        );
    }
    // A batch reports a bad uuid as a problem of that item, with 200, as production does.
    let r = rest(
        reqwest::Method::PUT,
        "/files/storage/".to_owned(),
        "[\"\\u0000\"]",
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["problems"]["\u{0}"], "Invalid", "{v}");
    let r = s
        .client
        .get(s.url(&format!("/{uuid}%00/")))
        .send()
        .await
        .unwrap();
    assert!(
        (400..500).contains(&r.status().as_u16()),
        "CDN: {}",
        r.status()
    );
}
