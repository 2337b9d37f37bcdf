//! The S3 blob store (`--blob-store s3://…`) against a real S3-compatible server (moto):
//! uploads direct and multipart, `/from_url/`, CDN bytes, ranges and validators, group
//! archives, image operations, local and remote copies, the orphan sweep, and that no bytes
//! stay in the data directory.

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use uploadcare_emulator::config::{StorageConfig, StorageTarget};

use crate::common::*;

const MIB: usize = 1024 * 1024;

/// A server whose blobs live in a fresh bucket, with a custom storage `bucket` (another
/// fresh bucket) of the test project; `None` when moto is not available.
async fn on_s3(backend: Backend) -> Option<(TestServer, &'static Moto, String, String)> {
    let moto = Moto::shared()?;
    let blobs = moto.bucket().await;
    let copies = moto.bucket().await;
    let store = moto.url(&blobs);
    let storage = moto.url(&copies);
    let s = TestServer::start_with(backend, move |c| {
        c.persistence.blob_store =
            Some(uploadcare_emulator::blobs::BlobStoreUrl::parse(&store).unwrap());
        c.storages = vec![StorageConfig {
            pub_key: PUB.into(),
            name: "bucket".into(),
            target: StorageTarget::S3(storage),
            bucket: Some("copies".into()),
            pattern: None,
        }];
    })
    .await;
    Some((s, moto, blobs, copies))
}

fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn blob_key(bytes: &[u8]) -> String {
    let hash = sha(bytes);
    format!("blobs/{}/{hash}", &hash[..2])
}

async fn get(s: &TestServer, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut r = s.client.get(s.url(path));
    for (k, v) in headers {
        r = r.header(*k, *v);
    }
    r.send().await.unwrap()
}

/// Direct uploads, CDN bytes, a Range (206), ETag and 304, group archives, image
/// operations and copies, all with the bytes in the bucket.
async fn serves_and_processes_from_the_bucket(backend: Backend) {
    let Some((s, moto, bucket, copies)) = on_s3(backend).await else {
        return;
    };
    let text: Vec<u8> = (0..100u8).collect();
    let a = s.upload(PUB, "a.bin", text.clone()).await;
    assert_eq!(
        moto.get(&bucket, &blob_key(&text)).await.as_deref(),
        Some(&text[..]),
        "the bytes are in the bucket under their address"
    );
    let r = get(&s, &format!("/{a}/"), &[]).await;
    assert_eq!(r.status(), 200);
    let etag = r.headers()["etag"].to_str().unwrap().to_owned();
    assert_eq!(etag, format!("\"{}\"", sha(&text)));
    assert_eq!(r.bytes().await.unwrap(), text);
    let r = get(&s, &format!("/{a}/"), &[("range", "bytes=10-19")]).await;
    assert_eq!(r.status(), 206);
    assert_eq!(r.headers()["content-range"], "bytes 10-19/100");
    assert_eq!(r.bytes().await.unwrap(), text[10..20]);
    let r = get(&s, &format!("/{a}/"), &[("range", "bytes=-5")]).await;
    assert_eq!(r.status(), 206);
    assert_eq!(r.bytes().await.unwrap(), text[95..]);
    let r = get(&s, &format!("/{a}/"), &[("range", "bytes=100-")]).await;
    assert_eq!(r.status(), 416);
    let r = get(&s, &format!("/{a}/"), &[("if-none-match", &etag)]).await;
    assert_eq!(r.status(), 304);

    // An image, resized by the CDN from the bucket's bytes.
    let img = s.upload(PUB, "roof.png", png(40, 20)).await;
    let r = get(&s, &format!("/{img}/-/resize/20x/-/format/png/"), &[]).await;
    assert_eq!(r.status(), 200);
    let resized = r.bytes().await.unwrap();
    assert_eq!(imagesize::blob_size(&resized).unwrap().width, 20);

    // A group archive streamed from the bucket.
    let group = s.group(PUB, &[a.clone(), img.clone()]).await;
    let r = get(&s, &format!("/{group}/archive/zip/"), &[]).await;
    assert_eq!(r.status(), 200);
    let zip = r.bytes().await.unwrap();
    assert!(
        zip.windows(text.len()).any(|w| w == text),
        "the archive holds a.bin"
    );
    let r = get(&s, &format!("/{group}/archive/tar/"), &[]).await;
    assert_eq!(r.status(), 200);
    let tar = r.bytes().await.unwrap();
    assert!(
        tar.windows(text.len()).any(|w| w == text),
        "the tar holds a.bin"
    );

    // A local copy with operations: new bytes, in the bucket.
    let body = json!({"source": format!("{img}/-/resize/10x/-/format/png/"), "store": "true"});
    let c = rest(
        &s,
        PUB,
        V7,
        Method::POST,
        "/files/local_copy/",
        &body.to_string(),
    )
    .await;
    assert_eq!(c.status, 201, "{}", c.body);
    let copy = c.json()["result"]["uuid"].as_str().unwrap().to_owned();
    let r = get(&s, &format!("/{copy}/"), &[]).await;
    assert_eq!(r.status(), 200);
    let copied = r.bytes().await.unwrap();
    assert_eq!(imagesize::blob_size(&copied).unwrap().width, 10);
    assert!(moto.get(&bucket, &blob_key(&copied)).await.is_some());

    // A remote copy to an S3 custom storage, once (then it exists: 200).
    let body = json!({"source": a, "target": "bucket", "make_public": false});
    let c = rest(
        &s,
        PUB,
        V7,
        Method::POST,
        "/files/remote_copy/",
        &body.to_string(),
    )
    .await;
    assert_eq!(c.status, 201, "{}", c.body);
    assert_eq!(c.json()["result"], format!("s3://copies/{a}/a.bin"));
    assert_eq!(
        moto.get(&copies, &format!("{a}/a.bin")).await.as_deref(),
        Some(&text[..])
    );
    let c = rest(
        &s,
        PUB,
        V7,
        Method::POST,
        "/files/remote_copy/",
        &body.to_string(),
    )
    .await;
    assert_eq!(c.status, 200, "{}", c.body);
    let body = json!({"source": format!("{img}/-/resize/10x/-/format/png/"), "target": "bucket", "pattern": "flat/${uuid}${effects}${ext}"});
    let c = rest(
        &s,
        PUB,
        V7,
        Method::POST,
        "/files/remote_copy/",
        &body.to_string(),
    )
    .await;
    assert_eq!(c.status, 201, "{}", c.body);
    let key = format!("flat/{img}-/resize/10x/-/format/png/.png");
    assert_eq!(c.json()["result"], format!("s3://copies/{key}"));
    assert_eq!(moto.get(&copies, &key).await.unwrap(), copied);
    // `make_public` (default true) is the public-read ACL: anyone may read that copy, not
    // the private one.
    let anonymous = |key: String| {
        let url = format!("{}/{copies}/{key}", moto.endpoint);
        async move { reqwest::get(url).await.unwrap().status().as_u16() }
    };
    assert_eq!(anonymous(key).await, 200);
    assert_eq!(anonymous(format!("{a}/a.bin")).await, 403);

    assert_no_bytes_in_data_dir(&s);
}
per_backend!(serves_and_processes_from_the_bucket);

/// Multipart parts staged in the bucket and joined on completion (larger than a writer
/// keeps in memory), `/from_url/` imports, and the orphan sweep of blobs and parts.
async fn multipart_from_url_and_sweep(backend: Backend) {
    let Some((s, moto, bucket, _)) = on_s3(backend).await else {
        return;
    };
    // Parts over 8 MiB go to the bucket as multipart uploads themselves.
    let size = 20 * MIB;
    let part = 9 * MIB;
    let data: Vec<u8> = (0..size)
        .map(|i| (i.wrapping_mul(31) ^ (i >> 13)) as u8)
        .collect();
    let (uuid, parts) = multipart_start(&s, size, part).await;
    assert_eq!(parts.len(), 3);
    // Parts out of order, one of them twice.
    for (i, url) in parts.iter().enumerate().rev() {
        let chunk = data[i * part..((i + 1) * part).min(size)].to_vec();
        let r = s.client.put(url).body(chunk.clone()).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let md5 = format!("\"{}\"", hex::encode(md5::Md5::digest(&chunk)));
        assert_eq!(r.headers()["etag"].to_str().unwrap(), md5);
    }
    let r = s
        .client
        .put(&parts[1])
        .body(data[part..2 * part].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let staged = moto.keys(&bucket, "parts/").await;
    assert_eq!(staged.len(), 3, "{staged:?}");
    let done = multipart_complete(&s, PUB, &uuid).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(done.json()["size"], size);
    assert!(
        moto.keys(&bucket, "parts/").await.is_empty(),
        "staged parts removed"
    );
    let r = get(&s, &format!("/{uuid}/"), &[]).await;
    assert_eq!(r.status(), 200);
    assert_eq!(sha(&r.bytes().await.unwrap()), sha(&data));
    let r = get(
        &s,
        &format!("/{uuid}/"),
        &[("range", "bytes=6291456-6291465")],
    )
    .await;
    assert_eq!(r.status(), 206);
    assert_eq!(r.bytes().await.unwrap(), data[6 * MIB..6 * MIB + 10]);
    // A part after completion is refused.
    let r = s
        .client
        .put(&parts[0])
        .body(vec![0u8; 10])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    // `/from_url/`: the downloaded bytes land in the bucket.
    let source = format!(
        "{}/file.txt",
        source::serve_bytes("text/plain", b"fetched over http".to_vec()).await
    );
    let r = s
        .client
        .post(s.url("/from_url/"))
        .form(&[("pub_key", PUB), ("source_url", &source), ("store", "1")])
        .send()
        .await
        .unwrap();
    let token = r.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut status = Value::Null;
    for _ in 0..500 {
        let r = s
            .client
            .get(s.url("/from_url/status/"))
            .query(&[("token", &token)])
            .send()
            .await
            .unwrap();
        status = r.json().await.unwrap();
        if status["status"] != "progress" && status["status"] != "waiting" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(status["status"], "success", "{status}");
    let fetched = status["uuid"].as_str().unwrap();
    let r = get(&s, &format!("/{fetched}/"), &[]).await;
    assert_eq!(r.bytes().await.unwrap(), &b"fetched over http"[..]);
    assert!(moto
        .get(&bucket, &blob_key(b"fetched over http"))
        .await
        .is_some());

    // The sweep: an orphan blob and abandoned staged parts go; used blobs stay.
    let mut w = s.state.blobs.writer().await.unwrap();
    w.write(b"nobody uses me").await.unwrap();
    let orphan = w.finish().await.unwrap();
    let (abandoned, parts) = multipart_start(&s, size, part).await;
    let r = s
        .client
        .put(&parts[0])
        .body(data[..part].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(moto.keys(&bucket, "parts/").await.len(), 1, "{abandoned}");
    // Nothing is old enough under the real ages.
    let swept = uploadcare_emulator::sweep::orphans(s.state.store.as_ref(), &s.state.blobs)
        .await
        .unwrap();
    assert_eq!(swept, 0);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let swept = uploadcare_emulator::sweep::orphans_older_than(
        s.state.store.as_ref(),
        &s.state.blobs,
        Duration::from_millis(1),
        Duration::from_millis(1),
    )
    .await
    .unwrap();
    assert_eq!(swept, 2, "the orphan blob and the abandoned part");
    assert!(
        moto.get(&bucket, &blob_key(b"nobody uses me"))
            .await
            .is_none(),
        "{}",
        orphan.hash
    );
    assert!(moto.keys(&bucket, "parts/").await.is_empty());
    let r = get(&s, &format!("/{uuid}/"), &[("range", "bytes=0-0")]).await;
    assert_eq!(r.status(), 206, "used blobs stay");
    let r = get(&s, &format!("/{fetched}/"), &[]).await;
    assert_eq!(r.status(), 200);

    assert_no_bytes_in_data_dir(&s);
}
per_backend!(multipart_from_url_and_sweep);

/// Nothing but the database (and temporary folders holding only their empty owner file) in
/// the data directory.
fn assert_no_bytes_in_data_dir(s: &TestServer) {
    let left: Vec<_> = files_under(&s.state.config.persistence.data_dir)
        .into_iter()
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            !name.starts_with("test.db") && name != ".owner"
        })
        .collect();
    assert!(
        left.is_empty(),
        "files left in the data directory: {left:?}"
    );
}

async fn multipart_start(s: &TestServer, size: usize, part: usize) -> (String, Vec<String>) {
    let (size, part) = (size.to_string(), part.to_string());
    let r = post_multipart(
        s,
        "/multipart/start/",
        &[
            ("UPLOADCARE_PUB_KEY", PUB),
            ("filename", "big.bin"),
            ("size", &size),
            ("part_size", &part),
            ("content_type", "application/octet-stream"),
            ("UPLOADCARE_STORE", "1"),
        ],
    )
    .await;
    started(&r)
}

/// A bucket that does not exist stops the start with the reason.
#[tokio::test]
async fn a_missing_bucket_stops_the_start() {
    let Some(moto) = Moto::shared() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut config =
        uploadcare_emulator::config::Config::resolve(Default::default(), None).unwrap();
    config.persistence.data_dir = dir.path().to_path_buf();
    config.persistence.database_url = format!("sqlite://{}", dir.path().join("test.db").display());
    config.persistence.blob_store =
        Some(uploadcare_emulator::blobs::BlobStoreUrl::parse(&moto.url("no-such-bucket")).unwrap());
    let err = uploadcare_emulator::AppState::open(config)
        .await
        .err()
        .unwrap();
    assert!(err.contains("cannot open the blob store"), "{err}");
}
