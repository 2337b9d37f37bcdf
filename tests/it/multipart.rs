//! Multipart uploads over HTTP on every backend: start, part PUTs, complete, and every
//! documented error of the three steps.

use crate::common::*;
use std::sync::Arc;

use futures_util::StreamExt;
use md5::Md5;
use sha2::{Digest, Sha256};

/// Fields sent, expected status, expected body.
type Case<'a> = (Vec<(&'a str, &'a str)>, u16, &'a str);

const TEXT: &str = "text/plain; charset=utf-8";
const MIB: u64 = 1024 * 1024;

/// Byte `i` of the test file: a pattern that differs between parts.
fn byte_at(i: u64) -> u8 {
    (i.wrapping_mul(31) ^ (i >> 13)) as u8
}

/// Bytes `[from, to)` of the test file.
fn bytes(from: u64, to: u64) -> Vec<u8> {
    (from..to).map(byte_at).collect()
}

/// Starts an upload of `size` bytes with `part_size`; returns `(uuid, part URLs)`.
async fn start(s: &TestServer, size: u64, part_size: u64, store: &str) -> (String, Vec<String>) {
    let size = size.to_string();
    let part_size = part_size.to_string();
    let r = post_multipart(
        s,
        "/multipart/start/",
        &[
            ("UPLOADCARE_PUB_KEY", PUB),
            ("filename", "big file.bin"),
            ("size", &size),
            ("content_type", "application/x-test"),
            ("part_size", &part_size),
            ("UPLOADCARE_STORE", store),
            ("metadata[subsystem]", "tests"),
        ],
    )
    .await;
    let started = started(&r);
    assert_eq!(r.content_type, "application/json");
    let v = r.json();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["uuid", "parts"]);
    started
}

async fn put(s: &TestServer, url: &str, body: Vec<u8>) -> reqwest::Response {
    s.client
        .put(url)
        .header("content-type", "application/octet-stream")
        .body(body)
        .send()
        .await
        .unwrap()
}

fn assert_text(r: &Answer, status: u16, body: &str) {
    assert_eq!(
        (r.status, r.content_type.as_str(), r.body.as_str()),
        (status, TEXT, body)
    );
}

per_backend!(upload_in_parts_and_complete);
async fn upload_in_parts_and_complete(backend: Backend) {
    let s = TestServer::start(backend).await;
    let size = 11 * MIB + 123;
    let part = 5 * MIB;
    let (uuid, parts) = start(&s, size, part, "0").await;
    assert_eq!(parts.len(), 3);
    for (i, url) in parts.iter().enumerate() {
        assert_eq!(url, &format!("{}/multipart/part/{uuid}/{}/", s.base, i + 1));
    }
    // Parts may arrive in any order; a part sent twice keeps the last bytes.
    for i in [2u64, 0, 1] {
        let (from, to) = (i * part, ((i + 1) * part).min(size));
        let data = bytes(from, to);
        let r = put(&s, &parts[i as usize], vec![0; 10]).await;
        assert_eq!(r.status(), 200);
        let r = put(&s, &parts[i as usize], data.clone()).await;
        assert_eq!(r.status(), 200);
        let etag = format!("\"{}\"", hex::encode(Md5::digest(&data)));
        assert_eq!(r.headers()["etag"].to_str().unwrap(), etag);
        assert_eq!(r.text().await.unwrap(), "");
    }
    let r = multipart_complete(&s, PUB, &uuid).await;
    assert_eq!(r.status, 200, "{backend:?} {}", r.body);
    assert_eq!(r.content_type, "application/json");
    let v = r.json();
    assert_eq!(v["uuid"], uuid.as_str());
    assert_eq!(v["file_id"], uuid.as_str());
    assert_eq!(v["size"], size);
    assert_eq!(v["original_filename"], "big file.bin");
    assert_eq!(v["filename"], "bigfile.bin");
    assert_eq!(v["mime_type"], "application/x-test");
    assert_eq!(v["is_stored"], false);
    assert_eq!(v["is_ready"], true);
    assert_eq!(v["metadata"]["subsystem"], "tests");

    let info = Answer::of(
        s.client
            .get(s.url("/info/"))
            .query(&[("pub_key", PUB), ("file_id", &uuid)])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(info.status, 200);
    assert_eq!(info.json(), v);

    let file = s
        .state
        .store
        .file(Some(PUB), uuid.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    let expected = hex::encode(Sha256::digest(bytes(0, size)));
    assert_eq!(file.blob, expected);
    let on_disk = std::fs::read(blob_path(&s, &expected)).unwrap();
    assert_eq!(hex::encode(Sha256::digest(&on_disk)), expected);

    // The session is closed: its parts and a second completion are refused.
    let r = Answer::of(put(&s, &parts[0], vec![1; 10]).await).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.content_type, "application/xml");
    assert!(r.body.contains("<Code>NoSuchUpload</Code>"), "{}", r.body);
    assert_text(
        &multipart_complete(&s, PUB, &uuid).await,
        400,
        "File is already uploaded.",
    );
}

per_backend!(urlencoded_start_with_default_part_size_and_signature);
async fn urlencoded_start_with_default_part_size_and_signature(backend: Backend) {
    let s = TestServer::start(backend).await;
    // pyuploadcare: urlencoded, no part_size, signed.
    let expire = (s.state.clock.now_us() / 1_000_000 + 60).to_string();
    let signature = {
        use hmac::{Hmac, Mac};
        let mut mac = Hmac::<Sha256>::new_from_slice(SIGNED_SECRET.as_bytes()).unwrap();
        mac.update(expire.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    };
    let r = Answer::of(
        s.client
            .post(s.url("/multipart/start/"))
            .form(&[
                ("filename", "file.txt"),
                ("size", "11000000"),
                ("content_type", "text/plain"),
                ("UPLOADCARE_PUB_KEY", SIGNED_PUB),
                ("expire", &expire),
                ("signature", &signature),
            ])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["parts"].as_array().unwrap().len(), 3);
}

per_backend!(start_errors);
async fn start_errors(backend: Backend) {
    let s = TestServer::start(backend).await;
    let ok: Vec<(&str, &str)> = vec![
        ("UPLOADCARE_PUB_KEY", PUB),
        ("filename", "a.bin"),
        ("size", "10485760"),
        ("content_type", "application/octet-stream"),
    ];
    let with = |changes: &[(&'static str, &'static str)]| -> Vec<(&'static str, &'static str)> {
        let mut f: Vec<(&str, &str)> = ok
            .iter()
            .filter(|(k, _)| !changes.iter().any(|(c, _)| c == k))
            .cloned()
            .collect();
        f.extend(changes.iter().filter(|(_, v)| *v != "<absent>").cloned());
        f
    };
    let cases: Vec<Case> = vec![
        (with(&[("UPLOADCARE_PUB_KEY", "<absent>")]), 403, "UPLOADCARE_PUB_KEY is required."),
        (with(&[("UPLOADCARE_PUB_KEY", "nope")]), 403, "UPLOADCARE_PUB_KEY is invalid."),
        (with(&[("UPLOADCARE_PUB_KEY", SIGNED_PUB)]), 400, "`signature` is required."),
        (with(&[("filename", "<absent>")]), 400, "filename is required."),
        (with(&[("size", "<absent>")]), 400, "size is required."),
        (with(&[("size", "ten")]), 400, "size should be integer."),
        (
            with(&[("size", "10485759")]),
            400,
            "File size can not be less than 10485760 bytes. Please use direct upload instead of multipart.",
        ),
        (with(&[("size", "5368709121")]), 400, "File size exceeds project limit."),
        (with(&[("content_type", "<absent>")]), 400, "content_type is required."),
        (with(&[("part_size", "big")]), 400, "Multipart Upload Part Size should be an integer."),
        (
            with(&[("part_size", "5242879")]),
            400,
            "Multipart Upload Part Size can not be less than 5242880 bytes.",
        ),
        (
            with(&[("part_size", "5368709121")]),
            400,
            "Multipart Upload Part Size can not be more than 5368709120 bytes.",
        ),
        (
            with(&[("metadata[a b]", "x")]),
            400,
            "File's metadata key `a b` contains symbols not allowed by the metadata key format.",
        ),
        (
            with(&[("metadata[k]", "")]),
            400,
            "Value of the file metadata key `k` can not be empty.",
        ),
        (with(&[("filename", "a\0.bin")]), 400, "Null characters are not allowed."),
    ];
    for (fields, status, body) in cases {
        // Urlencoded: reqwest percent-encodes multipart field names (`metadata[a b]`).
        let r = Answer::of(
            s.client
                .post(s.url("/multipart/start/"))
                .form(&fields)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(
            (r.status, r.content_type.as_str(), r.body.as_str()),
            (status, TEXT, body),
            "{backend:?} {fields:?}"
        );
    }
    // What @uploadcare/upload-client gets: `?jsonerrors=1`, HTTP 200, the JSON error.
    let r = post_multipart(
        &s,
        "/multipart/start/?jsonerrors=1",
        &with(&[("size", "1")]),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.content_type, "application/json");
    assert_eq!(
        r.body,
        "{\"error\": {\"content\": \"File size can not be less than 10485760 bytes. Please use direct upload instead of multipart.\", \"status_code\": 400, \"error_code\": \"MultipartFileSizeTooSmallError\"}}"
    );
    let r = Answer::of(
        s.client
            .get(s.url("/multipart/start/"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_text(
        &r,
        405,
        "HTTP method GET is not allowed for /multipart/start/",
    );
}

per_backend!(complete_errors);
async fn complete_errors(backend: Backend) {
    let s = TestServer::start(backend).await;
    let part = 5 * MIB;
    let size = 2 * part + 10;
    let (uuid, parts) = start(&s, size, part, "1").await;

    let r = post_multipart(&s, "/multipart/complete/", &[("uuid", &uuid)]).await;
    assert_text(&r, 403, "UPLOADCARE_PUB_KEY is required.");
    assert_text(
        &multipart_complete(&s, "nope", &uuid).await,
        403,
        "UPLOADCARE_PUB_KEY is invalid.",
    );
    let r = post_multipart(&s, "/multipart/complete/", &[("UPLOADCARE_PUB_KEY", PUB)]).await;
    assert_text(&r, 400, "uuid is required.");
    assert_text(
        &multipart_complete(&s, PUB, "").await,
        400,
        "uuid is required.",
    );
    assert_text(
        &multipart_complete(&s, PUB, "not-a-uuid").await,
        400,
        "uuid is invalid.",
    );
    let unknown = uuid::Uuid::new_v4().to_string();
    assert_text(
        &multipart_complete(&s, PUB, &unknown).await,
        404,
        "File is not found.",
    );
    // Another project's session is not found either.
    assert_text(
        &multipart_complete(&s, OTHER_PUB, &uuid).await,
        404,
        "File is not found.",
    );

    // Nothing or only some parts uploaded.
    let too_small = "File size mismatch. Not all parts uploaded?";
    assert_text(&multipart_complete(&s, PUB, &uuid).await, 400, too_small);
    assert_eq!(put(&s, &parts[0], bytes(0, part)).await.status(), 200);
    assert_eq!(
        put(&s, &parts[2], bytes(2 * part, size)).await.status(),
        200
    );
    assert_text(&multipart_complete(&s, PUB, &uuid).await, 400, too_small);
    // More bytes than announced.
    assert_eq!(put(&s, &parts[1], bytes(0, part + 11)).await.status(), 200);
    assert_text(
        &multipart_complete(&s, PUB, &uuid).await,
        400,
        "Uploaded size is more than expected.",
    );
    // The right total from parts of the wrong sizes.
    assert_eq!(put(&s, &parts[1], bytes(0, part - 5)).await.status(), 200);
    assert_eq!(put(&s, &parts[2], bytes(0, 15)).await.status(), 200);
    assert_text(
        &multipart_complete(&s, PUB, &uuid).await,
        400,
        "Can not complete upload. Wrong parts size?",
    );
    // Fixed, it completes; with `UPLOADCARE_STORE=1` the file is stored.
    assert_eq!(
        put(&s, &parts[1], bytes(part, 2 * part)).await.status(),
        200
    );
    assert_eq!(
        put(&s, &parts[2], bytes(2 * part, size)).await.status(),
        200
    );
    let r = multipart_complete(&s, PUB, &uuid).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["is_stored"], true);
    assert_text(
        &multipart_complete(&s, PUB, &uuid).await,
        400,
        "File is already uploaded.",
    );

    let r = post_multipart(
        &s,
        "/multipart/complete/?jsonerrors=1",
        &[("UPLOADCARE_PUB_KEY", PUB)],
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.body,
        "{\"error\": {\"content\": \"uuid is required.\", \"status_code\": 400, \"error_code\": \"MultipartFileIdRequiredError\"}}"
    );
}

per_backend!(an_oversized_part_never_overwrites_its_neighbour);
/// Parts share one data file, each at its offset: a part sent too long must not spill into
/// its neighbour, which was sent before and is not sent again.
async fn an_oversized_part_never_overwrites_its_neighbour(backend: Backend) {
    let s = TestServer::start(backend).await;
    let size = 11 * MIB;
    let part = 5 * MIB;
    let (uuid, parts) = start(&s, size, part, "0").await;
    assert_eq!(
        put(&s, &parts[2], bytes(2 * part, size)).await.status(),
        200
    );
    assert_eq!(
        put(&s, &parts[1], vec![0xFF; (part + 4096) as usize])
            .await
            .status(),
        200
    );
    assert_eq!(
        put(&s, &parts[1], bytes(part, 2 * part)).await.status(),
        200
    );
    assert_eq!(put(&s, &parts[0], bytes(0, part)).await.status(), 200);
    let r = multipart_complete(&s, PUB, &uuid).await;
    assert_eq!(r.status, 200, "{backend:?} {}", r.body);
    let expected = hex::encode(Sha256::digest(bytes(0, size)));
    let file = s
        .state
        .store
        .file(Some(PUB), uuid.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(file.blob, expected, "{backend:?}");
    let on_disk = std::fs::read(blob_path(&s, &expected)).unwrap();
    assert_eq!(hex::encode(Sha256::digest(&on_disk)), expected);
    // Completed: the session's folder is gone.
    let dir = s.state.config.persistence.data_dir.join("multipart");
    assert_eq!(std::fs::read_dir(dir).unwrap().count(), 0);
}

per_backend!(part_url_errors);
async fn part_url_errors(backend: Backend) {
    let s = TestServer::start(backend).await;
    let (uuid, _) = start(&s, 10 * MIB, 5 * MIB, "0").await;
    let no_such = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NoSuchUpload</Code><Message>The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.</Message></Error>";
    let invalid = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>InvalidArgument</Code><Message>Part number must be an integer between 1 and 2, inclusive</Message></Error>";
    let unknown = uuid::Uuid::new_v4();
    let cases = [
        (format!("/multipart/part/{unknown}/1/"), 404, no_such),
        ("/multipart/part/garbage/1/".to_owned(), 404, no_such),
        (format!("/multipart/part/{uuid}/0/"), 400, invalid),
        (format!("/multipart/part/{uuid}/3/"), 400, invalid),
        (format!("/multipart/part/{uuid}/x/"), 400, invalid),
    ];
    for (path, status, body) in cases {
        let r = Answer::of(put(&s, &s.url(&path), vec![1, 2, 3]).await).await;
        assert_eq!(
            (r.status, r.content_type.as_str(), r.body.as_str()),
            (status, "application/xml", body),
            "{path}"
        );
    }
}

per_backend!(large_file_streams_through);
/// A 300 MB file in three 100 MB parts, each streamed from a generator (never whole in the
/// test's memory), completes with the right size and bytes.
async fn large_file_streams_through(backend: Backend) {
    let s = TestServer::start(backend).await;
    let part = 100 * MIB;
    let size = 300 * MIB;
    let (uuid, parts) = start(&s, size, part, "1").await;
    // Chunk `c` of the file: a fixed 1 MiB pattern stamped with its index (cheap to make).
    let base = Arc::new(bytes(0, MIB));
    let chunk = move |c: u64| {
        let mut v = base.to_vec();
        v[..8].copy_from_slice(&c.to_le_bytes());
        v
    };
    let mut whole = Sha256::new();
    for c in 0..size / MIB {
        whole.update(chunk(c));
    }
    for (i, url) in parts.iter().enumerate() {
        let first = i as u64 * (part / MIB);
        let chunk = chunk.clone();
        let stream = futures_util::stream::iter(first..first + part / MIB)
            .map(move |c| Ok::<_, std::io::Error>(chunk(c)));
        let r = s
            .client
            .put(url)
            .header("content-length", part.to_string())
            .body(reqwest::Body::wrap_stream(stream))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    let r = multipart_complete(&s, PUB, &uuid).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["size"], size);
    let expected = hex::encode(whole.finalize());
    let path = blob_path(&s, &expected);
    assert_eq!(std::fs::metadata(&path).unwrap().len(), size);
    let mut on_disk = Sha256::new();
    let mut f = std::fs::File::open(&path).unwrap();
    std::io::copy(&mut f, &mut on_disk).unwrap();
    assert_eq!(hex::encode(on_disk.finalize()), expected);
}
