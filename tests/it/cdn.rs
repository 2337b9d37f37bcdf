//! The CDN over HTTP, on every backend: file forms and headers, ranges, validators, HEAD,
//! 404s, group pages, `nth`, and zip/tar archives.

use crate::common::*;
use reqwest::header::{
    ACCEPT_RANGES, CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE,
    ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, IF_RANGE, LAST_MODIFIED, RANGE,
};
use reqwest::{Method, Response};

const HOUR_US: i64 = 3_600_000_000;
const NOT_FOUND: (u16, &str, &str) = (404, "text/plain; charset=utf-8", "Not Found");

fn header(r: &Response, name: impl reqwest::header::AsHeaderName) -> String {
    r.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

async fn get(s: &TestServer, path: &str) -> Response {
    s.client.get(s.url(path)).send().await.unwrap()
}

async fn get_with(s: &TestServer, path: &str, name: &str, value: &str) -> Response {
    s.client
        .get(s.url(path))
        .header(name, value)
        .send()
        .await
        .unwrap()
}

async fn assert_not_found(s: &TestServer, path: &str) {
    let a = Answer::of(get(s, path).await).await;
    assert_eq!(
        (a.status, a.content_type.as_str(), a.body.as_str()),
        NOT_FOUND,
        "{:?} {path}",
        s.backend
    );
}

/// Uploads with `UPLOADCARE_STORE=1`.
async fn upload_stored(s: &TestServer, name: &str, bytes: Vec<u8>) -> String {
    let form = reqwest::multipart::Form::new()
        .text("UPLOADCARE_PUB_KEY", PUB)
        .text("UPLOADCARE_STORE", "1")
        .part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned()),
        );
    let r = s
        .client
        .post(s.url("/base/"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = r.json().await.unwrap();
    v["file"].as_str().unwrap().to_owned()
}

fn is_http_date(s: &str) -> bool {
    s.len() == 29 && s.ends_with(" GMT") && s.as_bytes()[3] == b','
}

per_backend!(every_file_form_serves_the_original_bytes);
async fn every_file_form_serves_the_original_bytes(backend: Backend) {
    let s = TestServer::start(backend).await;
    let image = png(7, 5);
    let a = s.upload(PUB, "cat.png", image.clone()).await;
    for path in [
        format!("/{a}/"),
        format!("/{a}"),
        format!("/{}/", a.to_uppercase()),
        format!("/{a}/kitten@2x.png"),
        format!("/{a}/-/inline/yes/"),
        format!("/{a}/-/inline/yes/image@1x.png"),
    ] {
        let r = get(&s, &path).await;
        assert_eq!(r.status(), 200, "{backend:?} {path}");
        assert_eq!(header(&r, CONTENT_TYPE), "image/png");
        assert_eq!(header(&r, CONTENT_LENGTH), image.len().to_string());
        assert_eq!(header(&r, ACCEPT_RANGES), "bytes");
        let etag = header(&r, ETAG);
        assert!(
            etag.len() == 66 && etag.starts_with('"') && etag.ends_with('"'),
            "{etag}"
        );
        assert!(is_http_date(&header(&r, LAST_MODIFIED)));
        // Unstored: cacheable until it expires (24 hours).
        let max_age: i64 = header(&r, CACHE_CONTROL)
            .strip_prefix("public, max-age=")
            .unwrap()
            .parse()
            .unwrap();
        assert!((86_000..=86_400).contains(&max_age), "{max_age}");
        assert_eq!(
            header(&r, "x-robots-tag"),
            "noindex, nofollow, nosnippet, noarchive"
        );
        let disposition = header(&r, CONTENT_DISPOSITION);
        assert!(
            disposition.starts_with("inline; filename="),
            "{disposition}"
        );
        assert_eq!(r.bytes().await.unwrap(), image, "{path}");
    }
    let r = get(&s, &format!("/{a}/kitten@2x.png")).await;
    assert_eq!(
        header(&r, CONTENT_DISPOSITION),
        "inline; filename=\"kitten@2x.png\"; filename*=UTF-8''kitten%402x.png"
    );

    // Other files download, unless `-/inline/yes/`.
    let t = s.upload(PUB, "notes.txt", b"hello cdn".to_vec()).await;
    let r = get(&s, &format!("/{t}/")).await;
    assert_eq!(header(&r, CONTENT_TYPE), "text/plain");
    assert_eq!(
        header(&r, CONTENT_DISPOSITION),
        "attachment; filename=\"notes.txt\"; filename*=UTF-8''notes.txt"
    );
    assert_eq!(r.text().await.unwrap(), "hello cdn");
    let r = get(&s, &format!("/{t}/-/inline/yes/")).await;
    assert!(header(&r, CONTENT_DISPOSITION).starts_with("inline;"));
    let r = get(&s, &format!("/{a}/-/inline/no/")).await;
    assert!(header(&r, CONTENT_DISPOSITION).starts_with("attachment;"));

    // Stored files are cached for a year.
    let stored = upload_stored(&s, "kept.txt", b"kept".to_vec()).await;
    let r = get(&s, &format!("/{stored}/")).await;
    assert_eq!(header(&r, CACHE_CONTROL), "public, max-age=31536000");
}

per_backend!(json_operation_answers_file_info);
async fn json_operation_answers_file_info(backend: Backend) {
    let s = TestServer::start(backend).await;
    let a = s.upload(PUB, "cat.png", png(7, 5)).await;
    let r = Answer::of(get(&s, &format!("/{a}/-/json/")).await).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.content_type, "application/json");
    assert_eq!(
        r.body,
        format!(
            "{{\"id\": \"{a}\", \"dpi\": null, \"width\": 7, \"format\": \"PNG\", \
             \"height\": 5, \"sequence\": false, \"color_mode\": \"RGB\", \
             \"orientation\": null, \"geo_location\": null, \"datetime_original\": null}}"
        )
    );
    let t = s.upload(PUB, "a.txt", b"x".to_vec()).await;
    let r = Answer::of(get(&s, &format!("/{t}/-/json/")).await).await;
    assert_eq!(r.body, format!("{{\"id\": \"{t}\"}}"));
}

per_backend!(ranges_validators_and_head);
async fn ranges_validators_and_head(backend: Backend) {
    let s = TestServer::start(backend).await;
    let bytes: Vec<u8> = (0..1000u32).map(|i| (i % 251) as u8).collect();
    let a = s.upload(PUB, "data.bin", bytes.clone()).await;
    let path = format!("/{a}/");

    for (range, start, end) in [
        ("bytes=0-9", 0, 9),
        ("bytes=990-", 990, 999),
        ("bytes=-5", 995, 999),
        ("bytes=100-5000", 100, 999),
    ] {
        let r = get_with(&s, &path, "range", range).await;
        assert_eq!(r.status(), 206, "{backend:?} {range}");
        assert_eq!(
            header(&r, CONTENT_RANGE),
            format!("bytes {start}-{end}/1000")
        );
        assert_eq!(header(&r, CONTENT_LENGTH), (end - start + 1).to_string());
        assert_eq!(r.bytes().await.unwrap(), bytes[start..=end]);
    }
    for range in ["bytes=1000-", "bytes=2000-3000", "bytes=-0"] {
        let r = get_with(&s, &path, "range", range).await;
        assert_eq!(header(&r, CONTENT_RANGE), "bytes */1000");
        let a = Answer::of(r).await;
        assert_eq!(
            (a.status, a.content_type.as_str(), a.body.as_str()),
            (416, "text/plain; charset=utf-8", "Range Not Satisfiable")
        );
    }
    // Several ranges or a malformed one: the whole body.
    for range in ["bytes=0-1,5-6", "lines=1-2", "bytes=9-3"] {
        let r = get_with(&s, &path, "range", range).await;
        assert_eq!(r.status(), 200, "{range}");
        assert_eq!(r.bytes().await.unwrap(), bytes);
    }

    let full = get(&s, &path).await;
    let etag = header(&full, ETAG);
    let modified = header(&full, LAST_MODIFIED);

    // If-Range: the range applies only to the same representation.
    let r = s
        .client
        .get(s.url(&path))
        .header(RANGE, "bytes=0-0")
        .header(IF_RANGE, &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 206);
    let r = s
        .client
        .get(s.url(&path))
        .header(RANGE, "bytes=0-0")
        .header(IF_RANGE, "\"other\"")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    for (name, value) in [
        (IF_NONE_MATCH, etag.clone()),
        (IF_NONE_MATCH, format!("\"x\", W/{etag}")),
        (IF_MODIFIED_SINCE, modified.clone()),
    ] {
        let r = s
            .client
            .get(s.url(&path))
            .header(name.clone(), &value)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 304, "{name} {value}");
        assert_eq!(header(&r, ETAG), etag);
        assert_eq!(r.bytes().await.unwrap().len(), 0);
    }
    let r = get_with(&s, &path, "if-none-match", "\"other\"").await;
    assert_eq!(r.status(), 200);
    let r = get_with(
        &s,
        &path,
        "if-modified-since",
        "Sat, 01 Jan 2000 00:00:00 GMT",
    )
    .await;
    assert_eq!(r.status(), 200);

    let r = s.client.head(s.url(&path)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, CONTENT_LENGTH), "1000");
    assert_eq!(header(&r, CONTENT_TYPE), "application/octet-stream");
    assert_eq!(header(&r, ETAG), etag);
    assert_eq!(r.bytes().await.unwrap().len(), 0);
}

per_backend!(not_found_and_other_methods);
async fn not_found_and_other_methods(backend: Backend) {
    let s = TestServer::start(backend).await;
    let a = s.upload(PUB, "a.txt", b"a".to_vec()).await;
    let unknown = uuid::Uuid::new_v4();
    for path in [
        format!("/{unknown}/"),
        format!("/{unknown}/-/json/"),
        format!("/{a}/x/y"),
        format!("/{a}x/"),
        format!("/{a}/-/resize//"),
        "/nothing/here/".to_owned(),
        "/favicon.ico".to_owned(),
        format!("/{unknown}~1/"),
    ] {
        assert_not_found(&s, &path).await;
    }
    // Upload API routes keep their own answers.
    let r = Answer::of(get(&s, "/base/").await).await;
    assert_eq!(r.status, 405);
    assert_eq!(r.body, "HTTP method GET is not allowed for /base/");

    let r = s
        .client
        .request(Method::POST, s.url(&format!("/{a}/")))
        .send()
        .await
        .unwrap();
    assert_eq!(header(&r, "allow"), "GET, HEAD, OPTIONS");
    let r = Answer::of(r).await;
    assert_eq!((r.status, r.body.as_str()), (405, "Method Not Allowed"));

    // CORS, for browsers.
    let r = s
        .client
        .get(s.url(&format!("/{a}/")))
        .header("origin", "https://example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(header(&r, "access-control-allow-origin"), "*");
    let r = s
        .client
        .request(Method::OPTIONS, s.url(&format!("/{a}/")))
        .header("origin", "https://example.com")
        .header("access-control-request-method", "GET")
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    assert_eq!(header(&r, "access-control-allow-origin"), "*");

    // Unstored files expire after 24 hours.
    assert_eq!(get(&s, &format!("/{a}/")).await.status(), 200);
    s.state.clock.advance(25 * HOUR_US);
    assert_not_found(&s, &format!("/{a}/")).await;
    assert_not_found(&s, &format!("/{a}/-/json/")).await;
}

per_backend!(group_page_and_members);
async fn group_page_and_members(backend: Backend) {
    let s = TestServer::start(backend).await;
    let image = png(3, 3);
    let a = s.upload(PUB, "a.png", image.clone()).await;
    let b = s.upload(PUB, "b.txt", b"member b".to_vec()).await;
    let id = s
        .group(PUB, &[a.clone(), format!("{b}/-/inline/yes/")])
        .await;

    let r = Answer::of(get(&s, &format!("/{id}/")).await).await;
    assert_eq!(r.status, 200, "{backend:?}");
    assert_eq!(r.content_type, "text/html; charset=utf-8");
    for needle in [
        format!("<title>Group {id}</title>"),
        format!("<a href=\"{0}/{id}/nth/0/\">{0}/{id}/nth/0/</a>", s.base),
        format!("<a href=\"{0}/{b}/-/inline/yes/\">", s.base),
        format!("{0}/{id}/nth/1/", s.base),
    ] {
        assert!(r.body.contains(&needle), "{needle} in {}", r.body);
    }
    let encoded = id.replace('~', "%7E");
    assert_eq!(get(&s, &format!("/{encoded}/")).await.status(), 200);
    assert_eq!(get(&s, &format!("/{id}")).await.status(), 200);

    // Members are served with their default effects (image operations:
    // tests/it/cdn_transform.rs).
    let r = get(&s, &format!("/{id}/nth/0/")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, CONTENT_TYPE), "image/png");
    assert_eq!(r.bytes().await.unwrap(), image);
    let r = get(&s, &format!("/{id}/nth/1/")).await;
    assert_eq!(header(&r, CONTENT_TYPE), "text/plain");
    assert_eq!(r.text().await.unwrap(), "member b");
    let r = get(&s, &format!("/{id}/nth/0/-/resize/256x/small.png")).await;
    assert!(header(&r, CONTENT_DISPOSITION).contains("filename=\"small.png\""));
    assert_eq!(header(&r, CONTENT_TYPE), "image/jpeg");
    let r = get_with(&s, &format!("/{id}/nth/1/"), "range", "bytes=0-5").await;
    assert_eq!(r.status(), 206);
    assert_eq!(r.text().await.unwrap(), "member");
    let r = Answer::of(get(&s, &format!("/{id}/nth/0/-/json/")).await).await;
    assert_eq!(r.json()["width"], 3);

    let (uuid, _) = id.split_once('~').unwrap();
    for path in [
        format!("/{id}/nth/2/"),
        format!("/{uuid}~3/"),
        format!("/{uuid}~1/nth/0/"),
        format!("/{uuid}~3/archive/zip/"),
        format!("/{id}/archive/rar/"),
        format!("/{id}/other/"),
    ] {
        assert_not_found(&s, &path).await;
    }

    // Expired members: 404 alone and in archives; the page marks them.
    s.state.clock.advance(25 * HOUR_US);
    assert_not_found(&s, &format!("/{id}/nth/0/")).await;
    assert_not_found(&s, &format!("/{id}/archive/zip/")).await;
    let r = Answer::of(get(&s, &format!("/{id}/")).await).await;
    assert_eq!(r.status, 200);
    assert!(r.body.contains(&format!("{a} (removed)")), "{}", r.body);
}

/// Entries of a ZIP of stored entries, checked against the central directory.
fn read_zip(zip: &[u8]) -> Vec<(String, Vec<u8>)> {
    let u16_at = |i: usize| u16::from_le_bytes([zip[i], zip[i + 1]]) as usize;
    let u32_at = |i: usize| u32::from_le_bytes(zip[i..i + 4].try_into().unwrap()) as usize;
    let end = zip.len() - 22;
    assert_eq!(u32_at(end), 0x0605_4b50, "end of central directory");
    let count = u16_at(end + 10);
    let mut central = u32_at(end + 16);
    let mut entries = Vec::new();
    for _ in 0..count {
        assert_eq!(u32_at(central), 0x0201_4b50);
        let name_len = u16_at(central + 28);
        let local = u32_at(central + 42);
        let name = String::from_utf8(zip[central + 46..central + 46 + name_len].to_vec()).unwrap();
        assert_eq!(u32_at(local), 0x0403_4b50);
        assert_eq!(u16_at(local + 8), 0, "stored");
        let crc = u32_at(local + 14) as u32;
        let size = u32_at(local + 22);
        let data_at = local + 30 + u16_at(local + 26) + u16_at(local + 28);
        let data = zip[data_at..data_at + size].to_vec();
        assert_eq!(crc, crc32(&data), "{name}");
        entries.push((name, data));
        central += 46 + name_len + u16_at(central + 30) + u16_at(central + 32);
    }
    entries
}

/// Entries of a ustar TAR (PAX `path` records honoured).
fn read_tar(tar: &[u8]) -> Vec<(String, Vec<u8>)> {
    assert_eq!(tar.len() % 512, 0);
    let mut entries = Vec::new();
    let mut at = 0;
    let mut long_name = None;
    while tar[at..at + 512].iter().any(|&b| b != 0) {
        let h = &tar[at..at + 512];
        assert_eq!(&h[257..263], b"ustar\0");
        let field = |r: std::ops::Range<usize>| {
            let f = &h[r];
            let end = f.iter().position(|&b| b == 0).unwrap_or(f.len());
            String::from_utf8(f[..end].to_vec()).unwrap()
        };
        let size = usize::from_str_radix(field(124..136).trim(), 8).unwrap();
        let data = tar[at + 512..at + 512 + size].to_vec();
        at += 512 + size.div_ceil(512) * 512;
        match h[156] {
            b'x' => {
                let text = String::from_utf8(data).unwrap();
                let path = text.split_once(" path=").unwrap().1;
                long_name = Some(path.trim_end_matches('\n').to_owned());
            }
            b'0' => {
                let name = long_name.take().unwrap_or_else(|| field(0..100));
                entries.push((name, data));
            }
            other => panic!("unexpected entry type {other}"),
        }
    }
    entries
}

per_backend!(group_archives_hold_the_original_files);
async fn group_archives_hold_the_original_files(backend: Backend) {
    let s = TestServer::start(backend).await;
    let long = format!("{}.txt", "n".repeat(120));
    let files = [
        ("a.png", png(4, 4)),
        ("a.png", b"not really a png".to_vec()),
        ("empty.txt", Vec::new()),
        (long.as_str(), vec![7u8; 1300]),
    ];
    let mut members = Vec::new();
    for (name, bytes) in &files {
        members.push(s.upload(PUB, name, bytes.clone()).await);
    }
    members[1] = format!("{}/-/resize/x10/", members[1]);
    let id = s.group(PUB, &members).await;
    let expected: Vec<(String, Vec<u8>)> = vec![
        ("a.png".into(), files[0].1.clone()),
        ("a (1).png".into(), files[1].1.clone()),
        ("empty.txt".into(), Vec::new()),
        (long.clone(), files[3].1.clone()),
    ];

    let r = get(&s, &format!("/{id}/archive/zip/photos.zip")).await;
    assert_eq!(r.status(), 200, "{backend:?}");
    assert_eq!(header(&r, CONTENT_TYPE), "application/zip");
    assert_eq!(
        header(&r, CONTENT_DISPOSITION),
        "attachment; filename=\"photos.zip\"; filename*=UTF-8''photos.zip"
    );
    let length: usize = header(&r, CONTENT_LENGTH).parse().unwrap();
    let zip = r.bytes().await.unwrap();
    assert_eq!(zip.len(), length);
    assert_eq!(read_zip(&zip), expected);

    let r = get(&s, &format!("/{id}/archive/tar/")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, CONTENT_TYPE), "application/x-tar");
    assert!(header(&r, CONTENT_DISPOSITION).contains(&format!("filename=\"{id}.tar\"")));
    let tar = r.bytes().await.unwrap();
    assert_eq!(read_tar(&tar), expected);

    let r = s
        .client
        .head(s.url(&format!("/{id}/archive/zip/")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, CONTENT_LENGTH), zip.len().to_string());
    assert!(r.bytes().await.unwrap().is_empty());
}

per_backend!(large_files_stream);
async fn large_files_stream(backend: Backend) {
    let s = TestServer::start(backend).await;
    let size = 20 * 1024 * 1024;
    let bytes: Vec<u8> = (0..size).map(|i| (i * 7 % 253) as u8).collect();
    let a = s.upload(PUB, "big.bin", bytes.clone()).await;

    let mut r = get(&s, &format!("/{a}/")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, CONTENT_LENGTH), size.to_string());
    let mut received = Vec::with_capacity(size);
    let mut chunks = 0;
    while let Some(chunk) = r.chunk().await.unwrap() {
        received.extend_from_slice(&chunk);
        chunks += 1;
    }
    assert!(chunks > 1, "streamed in chunks");
    assert!(received == bytes, "{backend:?}: bytes differ");

    let r = get_with(&s, &format!("/{a}/"), "range", "bytes=10485760-10485859").await;
    assert_eq!(r.status(), 206);
    assert_eq!(r.bytes().await.unwrap(), bytes[10_485_760..10_485_860]);

    let id = s.group(PUB, &[a]).await;
    let tar = get(&s, &format!("/{id}/archive/tar/"))
        .await
        .bytes()
        .await
        .unwrap();
    let entries = read_tar(&tar);
    assert_eq!(entries.len(), 1);
    assert!(entries[0].1 == bytes);
}
