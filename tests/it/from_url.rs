//! `/from_url/` imports over HTTP on every backend, fetching from a tiny local HTTP server.

use std::sync::Arc;
use std::time::Duration;

use crate::common::*;
use serde_json::Value;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::sync::Notify;

/// Fields sent, expected status, expected body.
type Case<'a> = (Vec<(&'a str, &'a str)>, u16, &'a str);

const TEXT: &str = "text/plain; charset=utf-8";

/// A source server with canned answers. `/slow` and `/slow-unknown` send 4 of 10 bytes (with
/// and without `Content-Length`), then wait for `release` before sending the rest.
struct Source {
    base: String,
    release: Arc<Notify>,
}

async fn source_server() -> Source {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let release = Arc::new(Notify::new());
    let gate = release.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let gate = gate.clone();
            tokio::spawn(async move {
                let Some(text) = source::read_head(&mut sock).await else {
                    return;
                };
                let path = text.split_whitespace().nth(1).unwrap_or("/").to_owned();
                let (status, headers, body): (&str, Vec<&str>, Vec<u8>) = match path.as_str() {
                    "/img.png" | "/dir/cat%20pic.png" => {
                        ("200 OK", vec!["Content-Type: image/png"], png(5, 4))
                    }
                    "/named" => (
                        "200 OK",
                        vec!["Content-Disposition: attachment; filename=\"report.txt\""],
                        b"hello".to_vec(),
                    ),
                    "/redirect" => ("302 Found", vec!["Location: /img.png"], Vec::new()),
                    "/loop" => ("302 Found", vec!["Location: /loop"], Vec::new()),
                    "/boom" => ("503 Service Unavailable", vec![], b"down".to_vec()),
                    "/slow" | "/slow-unknown" => {
                        let length = if path == "/slow" {
                            "Content-Length: 10\r\n"
                        } else {
                            ""
                        };
                        let head = format!("HTTP/1.1 200 OK\r\n{length}Connection: close\r\n\r\n");
                        let _ = sock.write_all(head.as_bytes()).await;
                        let _ = sock.write_all(b"0123").await;
                        let _ = sock.flush().await;
                        gate.notified().await;
                        let _ = sock.write_all(b"456789").await;
                        let _ = sock.shutdown().await;
                        return;
                    }
                    _ => ("404 Not Found", vec![], b"nope".to_vec()),
                };
                let mut head = format!(
                    "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n",
                    body.len()
                );
                for h in headers {
                    head.push_str(h);
                    head.push_str("\r\n");
                }
                head.push_str("\r\n");
                let _ = sock.write_all(head.as_bytes()).await;
                let _ = sock.write_all(&body).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    Source { base, release }
}

/// `POST /from_url/` with an urlencoded body (pyuploadcare's way).
async fn submit(s: &TestServer, fields: &[(&str, &str)]) -> Answer {
    Answer::of(
        s.client
            .post(s.url("/from_url/"))
            .form(fields)
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// Submits and returns the token.
async fn token(s: &TestServer, fields: &[(&str, &str)]) -> String {
    let r = submit(s, fields).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.content_type, "application/json");
    let v = r.json();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["type", "token"], "{}", r.body);
    assert_eq!(v["type"], "token");
    v["token"].as_str().unwrap().to_owned()
}

async fn status(s: &TestServer, token: &str) -> Answer {
    Answer::of(
        s.client
            .get(s.url("/from_url/status/"))
            .query(&[("token", token)])
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// Polls the status (as clients do) until `done` holds, for at most ten seconds.
async fn poll(s: &TestServer, token: &str, done: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..1000 {
        let r = status(s, token).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.content_type, "application/json");
        let v = r.json();
        if done(&v) {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("status of {token} never settled");
}

fn finished(v: &Value) -> bool {
    matches!(v["status"].as_str(), Some("success" | "error"))
}

per_backend!(imports_a_file_and_reports_success);
async fn imports_a_file_and_reports_success(backend: Backend) {
    let src = source_server().await;
    let s = TestServer::start(backend).await;
    let url = format!("{}/img.png", src.base);
    let t = token(
        &s,
        &[
            ("pub_key", PUB),
            ("source_url", &url),
            ("store", "0"),
            ("metadata[pet]", "cat"),
        ],
    )
    .await;
    let v = poll(&s, &t, finished).await;
    assert_eq!(v["status"], "success", "{v}");
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, [&FILE_UPLOAD_INFO_KEYS[..], &["status"]].concat());
    assert_eq!(v["size"], png(5, 4).len());
    assert_eq!(v["original_filename"], "img.png");
    assert_eq!(v["mime_type"], "image/png");
    assert_eq!(v["image_info"]["width"], 5);
    assert_eq!(v["is_stored"], false);
    assert_eq!(v["metadata"]["pet"], "cat");

    // The file is an ordinary upload now.
    let uuid = v["uuid"].as_str().unwrap();
    let info = Answer::of(
        s.client
            .get(s.url("/info/"))
            .query(&[("pub_key", PUB), ("file_id", uuid)])
            .send()
            .await
            .unwrap(),
    )
    .await;
    let mut expected = v.clone();
    expected.as_object_mut().unwrap().remove("status");
    assert_eq!(info.json(), expected);

    // @uploadcare/upload-client sends everything in the query string, no body.
    let r = Answer::of(
        s.client
            .post(s.url("/from_url/"))
            .query(&[
                ("jsonerrors", "1"),
                ("pub_key", PUB),
                ("source_url", &url),
                ("store", "1"),
                ("source", "url"),
            ])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let t = r.json()["token"].as_str().unwrap().to_owned();
    let v = poll(&s, &t, finished).await;
    assert_eq!(v["is_stored"], true);
}

per_backend!(file_names_come_from_param_header_or_url);
async fn file_names_come_from_param_header_or_url(backend: Backend) {
    let src = source_server().await;
    let s = TestServer::start(backend).await;
    let cases = [
        ("/img.png", Some("given name.png"), "given name.png"),
        ("/named", None, "report.txt"),
        ("/redirect", None, "img.png"),
        ("/dir/cat%20pic.png", None, "cat pic.png"),
    ];
    for (path, filename, expected) in cases {
        let url = format!("{}{path}", src.base);
        let mut fields = vec![("pub_key", PUB), ("source_url", url.as_str())];
        if let Some(f) = filename {
            fields.push(("filename", f));
        }
        let t = token(&s, &fields).await;
        let v = poll(&s, &t, finished).await;
        assert_eq!(v["status"], "success", "{path}: {v}");
        assert_eq!(v["original_filename"], expected, "{path}");
    }
}

per_backend!(download_failures_are_status_errors);
async fn download_failures_are_status_errors(backend: Backend) {
    let src = source_server().await;
    // A port nobody listens on.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let s = TestServer::start(backend).await;
    let cases = [
        (
            format!("{}/missing.png", src.base),
            r#"{"status":"error","error":"HTTP client error: 404.","error_code":"DownloadFileHTTPClientError"}"#,
        ),
        (
            format!("{}/boom", src.base),
            r#"{"status":"error","error":"HTTP server error: 503.","error_code":"DownloadFileHTTPServerError"}"#,
        ),
        (
            format!("{}/loop", src.base),
            r#"{"status":"error","error":"Too many redirects.","error_code":"URLRedirectsLimitExceededError"}"#,
        ),
        (
            "https://127.0.0.1:9/a.png".to_owned(),
            r#"{"status":"error","error":"HTTP network error: https sources are not supported by the emulator, use http://.","error_code":"DownloadFileHTTPNetworkError"}"#,
        ),
    ];
    for (url, expected) in cases {
        let t = token(&s, &[("pub_key", PUB), ("source_url", &url)]).await;
        poll(&s, &t, finished).await;
        let r = status(&s, &t).await;
        assert_eq!(
            (r.status, r.content_type.as_str(), r.body.as_str()),
            (200, "application/json", expected),
            "{url}"
        );
    }
    let url = format!("http://127.0.0.1:{closed}/a.png");
    let t = token(&s, &[("pub_key", PUB), ("source_url", &url)]).await;
    let v = poll(&s, &t, finished).await;
    assert_eq!(v["status"], "error");
    assert_eq!(v["error_code"], "DownloadFileHTTPNetworkError");
    let error = v["error"].as_str().unwrap();
    assert!(
        error.starts_with("HTTP network error: ") && error.ends_with('.'),
        "{error}"
    );
}

per_backend!(reports_progress_while_downloading);
async fn reports_progress_while_downloading(backend: Backend) {
    let src = source_server().await;
    let s = TestServer::start(backend).await;
    for (path, total) in [
        ("/slow", Value::from(10)),
        ("/slow-unknown", Value::from("unknown")),
    ] {
        let url = format!("{}{path}", src.base);
        let t = token(&s, &[("pub_key", PUB), ("source_url", &url)]).await;
        let v = poll(&s, &t, |v| v["status"] == "progress" && v["done"] == 4).await;
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, ["status", "total", "done"]);
        assert_eq!(v["total"], total, "{path}");
        src.release.notify_one();
        let v = poll(&s, &t, finished).await;
        assert_eq!(v["status"], "success", "{v}");
        assert_eq!(v["size"], 10);
        assert_eq!(v["mime_type"], "text/plain");
    }
}

per_backend!(submit_errors);
async fn submit_errors(backend: Backend) {
    let s = TestServer::start(backend).await;
    let ok = "http://127.0.0.1:9/a.png";
    let cases: Vec<Case> = vec![
        (vec![("source_url", ok)], 403, "pub_key is required."),
        (
            vec![("pub_key", ""), ("source_url", ok)],
            403,
            "pub_key is required.",
        ),
        (
            vec![("pub_key", "nope"), ("source_url", ok)],
            403,
            "pub_key is invalid.",
        ),
        (
            vec![("pub_key", SIGNED_PUB), ("source_url", ok)],
            400,
            "`signature` is required.",
        ),
        (vec![("pub_key", PUB)], 400, "source_url is required."),
        (
            vec![("pub_key", PUB), ("source_url", " ")],
            400,
            "source_url is required.",
        ),
        (
            vec![("pub_key", PUB), ("source_url", "example.com/a.png")],
            400,
            "No URL scheme supplied.",
        ),
        (
            vec![("pub_key", PUB), ("source_url", "ftp://example.com/a.png")],
            400,
            "Invalid URL scheme.",
        ),
        (
            vec![("pub_key", PUB), ("source_url", "http://")],
            400,
            "No URL host supplied.",
        ),
        (
            vec![("pub_key", PUB), ("source_url", "http://exa mple.com/")],
            400,
            "URL host is malformed.",
        ),
        (
            vec![
                ("pub_key", PUB),
                ("source_url", "http://example.com:99999/"),
            ],
            400,
            "Failed to parse URL.",
        ),
        (
            vec![
                ("pub_key", PUB),
                ("source_url", "http://nonexistent.invalid/a.png"),
            ],
            400,
            "Host does not exist.",
        ),
        (
            vec![("pub_key", PUB), ("source_url", ok), ("metadata[k]", "")],
            400,
            "Value of the file metadata key `k` can not be empty.",
        ),
        (
            vec![("pub_key", PUB), ("source_url", "http://a\0b/")],
            400,
            "Null characters are not allowed.",
        ),
    ];
    for (fields, status, body) in cases {
        let r = submit(&s, &fields).await;
        assert_eq!(
            (r.status, r.content_type.as_str(), r.body.as_str()),
            (status, TEXT, body),
            "{backend:?} {fields:?}"
        );
    }
    let r = Answer::of(
        s.client
            .post(s.url("/from_url/?jsonerrors=1&pub_key=demopublickey&source_url=ftp://x/"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (r.status, r.content_type.as_str()),
        (200, "application/json")
    );
    assert_eq!(
        r.body,
        r#"{"error": {"content": "Invalid URL scheme.", "status_code": 400, "error_code": "URLSchemeInvalidError"}}"#
    );
}

per_backend!(status_errors_and_unknown_tokens);
async fn status_errors_and_unknown_tokens(backend: Backend) {
    let s = TestServer::start(backend).await;
    let r = Answer::of(
        s.client
            .get(s.url("/from_url/status/"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (r.status, r.content_type.as_str(), r.body.as_str()),
        (400, TEXT, "token is required.")
    );
    let r = status(&s, "").await;
    assert_eq!((r.status, r.body.as_str()), (400, "token is required."));
    for t in [uuid::Uuid::new_v4().to_string(), "garbage".to_owned()] {
        let r = status(&s, &t).await;
        assert_eq!(
            (r.status, r.content_type.as_str(), r.body.as_str()),
            (200, "application/json", r#"{"status":"unknown"}"#)
        );
    }
    let r = Answer::of(
        s.client
            .get(s.url("/from_url/status/?jsonerrors=1"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        r.body,
        r#"{"error": {"content": "token is required.", "status_code": 400, "error_code": "TokenRequiredError"}}"#
    );
}

per_backend!(url_duplicates_are_checked_and_saved);
async fn url_duplicates_are_checked_and_saved(backend: Backend) {
    let src = source_server().await;
    let s = TestServer::start(backend).await;
    let url = format!("{}/img.png", src.base);
    let check = [
        ("pub_key", PUB),
        ("source_url", url.as_str()),
        ("check_URL_duplicates", "1"),
    ];

    // Nothing saved yet: a token. `save_URL_duplicates` follows `check_URL_duplicates`.
    let t = token(&s, &check).await;
    let first = poll(&s, &t, finished).await;
    assert_eq!(first["status"], "success");

    let r = submit(&s, &check).await;
    assert_eq!(r.status, 200);
    let v = r.json();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys[0], "type");
    assert_eq!(v["type"], "file_info");
    assert_eq!(v["uuid"], first["uuid"]);
    let mut without_type = v.clone();
    without_type.as_object_mut().unwrap().remove("type");
    let mut without_status = first.clone();
    without_status.as_object_mut().unwrap().remove("status");
    assert_eq!(without_type, without_status);

    // Not checking: a new import. Another project does not see this project's history.
    token(&s, &[("pub_key", PUB), ("source_url", url.as_str())]).await;
    token(
        &s,
        &[
            ("pub_key", OTHER_PUB),
            ("source_url", url.as_str()),
            ("check_URL_duplicates", "1"),
        ],
    )
    .await;

    // Checked but not saved: the next check finds nothing.
    let other = format!("{}/named", src.base);
    let no_save = [
        ("pub_key", PUB),
        ("source_url", other.as_str()),
        ("check_URL_duplicates", "1"),
        ("save_URL_duplicates", "0"),
    ];
    let t = token(&s, &no_save).await;
    poll(&s, &t, finished).await;
    token(&s, &no_save).await;

    // Saved without checking, then checked: found.
    let third = format!("{}/redirect", src.base);
    let t = token(
        &s,
        &[
            ("pub_key", PUB),
            ("source_url", third.as_str()),
            ("save_URL_duplicates", "1"),
        ],
    )
    .await;
    let saved = poll(&s, &t, finished).await;
    let r = submit(
        &s,
        &[
            ("pub_key", PUB),
            ("source_url", third.as_str()),
            ("check_URL_duplicates", "1"),
        ],
    )
    .await;
    assert_eq!(r.json()["file_id"], saved["uuid"]);
}
