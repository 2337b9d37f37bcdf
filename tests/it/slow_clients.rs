//! Slow and stalled clients (src/server.rs): a header block that does not arrive within the
//! client timeout, or a body that pauses longer than it, is dropped with the API's documented
//! error and nothing half-written; a slow but steady client is served; a crowd of stalled
//! connections does not stop anyone else. Talks raw TCP so the pauses are real.

use std::time::{Duration, Instant};

use crate::common::{per_backend, Backend, TestServer, PUB, SECRET, TEXT, V7};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The timeout the servers here run with.
const TIMEOUT: Duration = Duration::from_secs(1);
/// Longest a drop may take after the timeout (scheduling slack on a busy CI machine).
const SLACK: Duration = Duration::from_secs(4);

async fn server(backend: Backend) -> TestServer {
    // Stalled requests are not answers of the documented API: they are not recorded for the
    // contract check.
    TestServer::start_with(backend, |c| {
        c.client_timeout = TIMEOUT;
        c.record_answers = None;
    })
    .await
}

async fn connect(s: &TestServer) -> TcpStream {
    TcpStream::connect(s.base.trim_start_matches("http://"))
        .await
        .expect("connect")
}

/// Reads until the server closes the connection (or `limit` passes): what it sent and when
/// the connection ended.
async fn read_to_close(stream: &mut TcpStream, limit: Duration) -> (String, Duration) {
    let started = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let left = limit.saturating_sub(started.elapsed());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) => panic!(
                "connection still open after {limit:?}; got {:?}",
                String::from_utf8_lossy(&got)
            ),
        }
    }
    (
        String::from_utf8_lossy(&got).into_owned(),
        started.elapsed(),
    )
}

/// The status line, content type and body of a raw answer.
fn parse(raw: &str) -> (String, String, String) {
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((raw, ""));
    let status = head.lines().next().unwrap_or("").to_owned();
    let content_type = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-type")
                .then(|| v.trim().to_owned())
        })
        .unwrap_or_default();
    (status, content_type, body.to_owned())
}

/// Nothing of a dropped request is left: no temporary blob, no stored blob, no file row.
async fn nothing_kept(s: &TestServer) {
    let data = &s.state.config.persistence.data_dir;
    let tmp = crate::common::temporary_files(data);
    assert!(tmp.is_empty(), "temporary files left: {tmp:?}");
    let blobs = crate::common::files_under(&data.join("blobs"));
    assert!(blobs.is_empty(), "blobs left: {blobs:?}");
    let r = s
        .client
        .get(s.url("/files/"))
        .header("Accept", V7)
        .header("Authorization", format!("Uploadcare.Simple {PUB}:{SECRET}"))
        .send()
        .await
        .unwrap();
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["total"], 0, "a file row was written: {v}");
}

async fn health(s: &TestServer) {
    let r = s
        .client
        .get(s.url("/_emulator/health"))
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .expect("health while slow clients wait");
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn trickled_or_missing_headers_are_dropped() {
    let s = server(Backend::Sqlite).await;
    // Nothing at all after connecting.
    let mut silent = connect(&s).await;
    // A header block trickled a byte at a time, never finished.
    let mut trickle = connect(&s).await;
    let trickler = tokio::spawn(async move {
        let mut sent = 0usize;
        for b in b"GET /_emulator/health HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" {
            if trickle.write_all(&[*b]).await.is_err() {
                break;
            }
            sent += 1;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        (trickle, sent)
    });
    health(&s).await;
    let (answer, after) = read_to_close(&mut silent, TIMEOUT + SLACK).await;
    assert!(after >= TIMEOUT / 2, "dropped too early: {after:?}");
    println!("silent connection: dropped after {after:?}, answer {answer:?}");
    let (mut trickle, sent) = trickler.await.unwrap();
    let (answer, _) = read_to_close(&mut trickle, SLACK).await;
    assert!(
        sent < 60,
        "{sent} header bytes accepted over {:?}: the trickle was not cut off",
        Duration::from_millis(100) * sent as u32
    );
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "answer to a trickled header block: {answer:?}"
    );
    println!("trickled headers: dropped after {sent} bytes, answer {answer:?}");
    health(&s).await;
}

#[tokio::test]
async fn a_crowd_of_stalled_connections_does_not_block_others() {
    let s = server(Backend::Sqlite).await;
    let mut stalled = Vec::new();
    for _ in 0..200 {
        let mut c = connect(&s).await;
        c.write_all(b"POST /base/ HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        stalled.push(c);
    }
    for _ in 0..20 {
        health(&s).await;
    }
    let uuid = s.upload(PUB, "a.txt", b"still served".to_vec()).await;
    assert_eq!(uuid.len(), 36);
    // All of them are dropped once the timeout passes.
    let started = Instant::now();
    for mut c in stalled {
        let limit = (TIMEOUT + SLACK).saturating_sub(started.elapsed()) + Duration::from_secs(1);
        read_to_close(&mut c, limit).await;
    }
    println!(
        "200 stalled connections all dropped within {:?}",
        started.elapsed()
    );
}

/// Sends the head and the first half of a body with a larger `Content-Length`, then stalls.
async fn stall_body(s: &TestServer, head: &str, body: &[u8]) -> (String, String, String) {
    let mut c = connect(s).await;
    let request = format!("{head}Content-Length: {}\r\n\r\n", body.len());
    c.write_all(request.as_bytes()).await.unwrap();
    c.write_all(&body[..body.len() / 2]).await.unwrap();
    let (raw, after) = read_to_close(&mut c, TIMEOUT + SLACK).await;
    assert!(after >= TIMEOUT / 2, "dropped too early: {after:?}");
    parse(&raw)
}

fn multipart_body(boundary: &str, fields: &[(&str, &str)], file: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    body
}

per_backend!(stalled_bodies_get_the_documented_error_and_leave_nothing);
async fn stalled_bodies_get_the_documented_error_and_leave_nothing(backend: Backend) {
    let s = server(backend).await;
    // `POST /base/` stalling in the middle of the file.
    let body = multipart_body(
        "XyZ",
        &[("UPLOADCARE_PUB_KEY", PUB), ("UPLOADCARE_STORE", "1")],
        &vec![7u8; 256 * 1024],
    );
    let answer = stall_body(
        &s,
        "POST /base/ HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=XyZ\r\n",
        &body,
    )
    .await;
    assert_eq!(
        answer,
        (
            "HTTP/1.1 400 Bad Request".to_owned(),
            TEXT.to_owned(),
            "HTTP POST request parsing failed.".to_owned()
        ),
        "{backend:?} /base/"
    );
    // `POST /group/` with an urlencoded body that stalls.
    let form = format!("pub_key={PUB}&files%5B0%5D={}", "0".repeat(4000));
    let answer = stall_body(
        &s,
        "POST /group/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n",
        form.as_bytes(),
    )
    .await;
    assert_eq!(
        answer,
        (
            "HTTP/1.1 400 Bad Request".to_owned(),
            TEXT.to_owned(),
            "HTTP POST request parsing failed.".to_owned()
        ),
        "{backend:?} /group/"
    );
    // REST batch store with a body that stalls.
    let json = format!("[\"{}\"]", uuid::Uuid::new_v4());
    let answer = stall_body(
        &s,
        &format!("PUT /files/storage/ HTTP/1.1\r\nHost: x\r\nAccept: {V7}\r\nContent-Type: application/json\r\nAuthorization: Uploadcare.Simple {PUB}:{SECRET}\r\n"),
        json.as_bytes(),
    )
    .await;
    assert_eq!(
        answer,
        (
            "HTTP/1.1 400 Bad Request".to_owned(),
            V7.to_owned(),
            r#"{"detail":"Malformed request."}"#.to_owned()
        ),
        "{backend:?} REST"
    );
    nothing_kept(&s).await;
}

per_backend!(a_stalled_multipart_part_is_not_kept);
async fn a_stalled_multipart_part_is_not_kept(backend: Backend) {
    let s = server(backend).await;
    let size = 10 * 1024 * 1024;
    let r = s
        .client
        .post(s.url("/multipart/start/"))
        .form(&[
            ("UPLOADCARE_PUB_KEY", PUB),
            ("filename", "big.bin"),
            ("size", &size.to_string()),
            ("content_type", "application/octet-stream"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = r.json().await.unwrap();
    let uuid = v["uuid"].as_str().unwrap().to_owned();
    let part_url = url::Url::parse(v["parts"][0].as_str().unwrap()).unwrap();
    let (status, content_type, body) = stall_body(
        &s,
        &format!("PUT {} HTTP/1.1\r\nHost: x\r\n", part_url.path()),
        &vec![1u8; 5 * 1024 * 1024],
    )
    .await;
    assert_eq!(
        (status.as_str(), content_type.as_str()),
        ("HTTP/1.1 400 Bad Request", "application/xml"),
        "{backend:?}: {body}"
    );
    assert!(body.contains("<Code>RequestTimeout</Code>"), "{body}");
    // The half-received part was not kept: completing fails as with a missing part.
    let r = s
        .client
        .post(s.url("/multipart/complete/"))
        .form(&[("UPLOADCARE_PUB_KEY", PUB), ("uuid", uuid.as_str())])
        .send()
        .await
        .unwrap();
    let a = crate::common::Answer::of(r).await;
    assert_eq!(
        (a.status, a.content_type.as_str(), a.body.as_str()),
        (400, TEXT, "File size mismatch. Not all parts uploaded?"),
        "{backend:?}"
    );
    // No record says the part arrived, and no temporary file is left.
    let left: Vec<_> =
        crate::common::files_under(&s.state.config.persistence.data_dir.join("multipart"))
            .into_iter()
            .filter(|p| !p.ends_with("data"))
            .collect();
    assert!(
        left.is_empty(),
        "part records or temporaries left: {left:?}"
    );
}

#[tokio::test]
async fn a_slow_but_steady_body_is_served() {
    let s = server(Backend::Sqlite).await;
    let body = multipart_body("XyZ", &[("UPLOADCARE_PUB_KEY", PUB)], b"steady");
    let mut c = connect(&s).await;
    let head = format!(
        "POST /base/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: multipart/form-data; boundary=XyZ\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    c.write_all(head.as_bytes()).await.unwrap();
    // Pieces every 0.4 s for about three timeouts in all: never idle for a whole timeout.
    let started = Instant::now();
    for piece in body.chunks(body.len().div_ceil(8)) {
        tokio::time::sleep(Duration::from_millis(400)).await;
        c.write_all(piece).await.unwrap();
    }
    assert!(started.elapsed() > TIMEOUT * 3);
    let (raw, _) = read_to_close(&mut c, SLACK).await;
    let (status, _, body) = parse(&raw);
    assert_eq!(status, "HTTP/1.1 200 OK", "{raw}");
    assert!(body.contains("\"file\""), "{body}");
}
