//! Outages: the database going away and the disk filling up. Every API answers its documented
//! 5xx (the Upload API's `UploadAPIError`, the REST API's `detail`, S3's `InternalError` on a
//! part URL, the CDN's plain 500), within a bounded time and without a panic; readiness says
//! so; nothing half-written is left (no row for a failed upload, no temporary file, no part
//! counted); and when the cause goes away everything works again with all acknowledged data
//! intact.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::common::{
    per_backend, postgres_enabled, wait_for_server_reads, Answer, Backend, TestServer, PUB, SECRET,
    TEXT, V7,
};
use reqwest::multipart::{Form, Part};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// A TCP proxy in front of Postgres that can be cut (live connections dropped, new ones
/// closed at once) and restored.
struct Proxy {
    port: u16,
    up: watch::Sender<bool>,
}

impl Proxy {
    async fn start(upstream: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (up, watch_up) = watch::channel(true);
        tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    continue;
                };
                let mut up = watch_up.clone();
                if !*up.borrow() {
                    drop(client);
                    continue;
                }
                let upstream = upstream.clone();
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(&upstream).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = up.wait_for(|up| !*up) => {}
                    }
                });
            }
        });
        Self { port, up }
    }

    fn set(&self, up: bool) {
        self.up.send_replace(up);
    }
}

/// A fresh database on `UC_TEST_POSTGRES_URL`: its URL, and its URL through the proxy
/// listening on `proxy_port`.
async fn proxied_database(proxy_port: u16) -> (String, String) {
    let direct = crate::common::fresh_postgres_database().await;
    let mut proxied = url::Url::parse(&direct).unwrap();
    proxied.set_host(Some("127.0.0.1")).unwrap();
    proxied.set_port(Some(proxy_port)).unwrap();
    (direct, proxied.to_string())
}

fn upstream_address() -> Option<String> {
    let url = url::Url::parse(&std::env::var("UC_TEST_POSTGRES_URL").ok()?).ok()?;
    Some(format!(
        "{}:{}",
        url.host_str().unwrap_or("127.0.0.1"),
        url.port().unwrap_or(5432)
    ))
}

fn upload_form(name: &str, bytes: Vec<u8>) -> Form {
    Form::new()
        .text("UPLOADCARE_PUB_KEY", PUB)
        .text("UPLOADCARE_STORE", "1")
        .part("file", Part::bytes(bytes).file_name(name.to_owned()))
}

fn rest_get(s: &TestServer, path: &str) -> reqwest::RequestBuilder {
    s.client
        .get(s.url(path))
        .header("Accept", V7)
        .header("Authorization", format!("Uploadcare.Simple {PUB}:{SECRET}"))
}

/// Sends a request and returns its answer and how long it took.
async fn timed(rb: reqwest::RequestBuilder) -> (Answer, Duration) {
    let started = Instant::now();
    let r = rb
        .send()
        .await
        .expect("an answer, not a dropped connection");
    (Answer::of(r).await, started.elapsed())
}

/// The uuids of the project's files, as the REST API lists them.
async fn listed_files(s: &TestServer) -> Vec<String> {
    let a = Answer::of(rest_get(s, "/files/?limit=1000").send().await.unwrap()).await;
    assert_eq!(a.status, 200, "{}", a.body);
    a.json()["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["uuid"].as_str().unwrap().to_owned())
        .collect()
}

/// Longest any answer may take while the database is away (sqlx's pool gives up acquiring a
/// connection after 10 s; a little slack for a loaded machine).
const OUTAGE_ANSWER_LIMIT: Duration = Duration::from_secs(15);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_down_answers_5xx_and_recovers() {
    if !postgres_enabled() {
        return;
    }
    let proxy = Proxy::start(upstream_address().unwrap()).await;
    let (direct_url, database_url) = proxied_database(proxy.port).await;
    // Another client on the database keeps the server checking its reads in the database
    // (it never takes the sole-replica lease, `lease.rs`): the checks must fail and recover.
    let other = {
        use sqlx::Connection;
        sqlx::PgConnection::connect(&direct_url).await.unwrap()
    };
    let s = Arc::new(
        TestServer::start_with(Backend::Postgres, |c| {
            c.persistence.database_url = database_url;
            c.record_answers = None;
        })
        .await,
    );
    // Before: files and a group, acknowledged.
    let mut acked = Vec::new();
    for i in 0..3 {
        acked.push(
            s.upload(PUB, &format!("f{i}.txt"), vec![b'a' + i; 100])
                .await,
        );
    }
    let group = s.group(PUB, &acked).await;
    // Read before the outage, so the group is kept and its next reads are batched checks
    // (`coalesce.rs`), which must fail and recover too.
    for _ in 0..2 {
        let read = s
            .client
            .get(s.url("/group/info/"))
            .query(&[("pub_key", PUB), ("group_id", group.as_str())]);
        assert_eq!(Answer::of(read.send().await.unwrap()).await.status, 200);
    }

    proxy.set(false);
    // Every API at once, so the slowest bounds the wait.
    let upload_text = |path: &str| {
        let s = s.clone();
        let path = path.to_owned();
        async move {
            let rb = s
                .client
                .post(s.url(&path))
                .multipart(upload_form("lost.txt", b"never acknowledged".to_vec()));
            timed(rb).await
        }
    };
    let group_query = [("pub_key", PUB), ("group_id", group.as_str())];
    let file_query = [("pub_key", PUB), ("file_id", acked[0].as_str())];
    let members: Vec<(String, String)> = std::iter::once(("pub_key".to_owned(), PUB.to_owned()))
        .chain(acked.iter().map(|u| ("files[]".to_owned(), u.clone())))
        .collect();
    let (base, base_json, group_post, group_info, info, rest_files, rest_group, cdn, ready) = tokio::join!(
        upload_text("/base/"),
        upload_text("/base/?jsonerrors=1"),
        timed(s.client.post(s.url("/group/")).form(&members)),
        timed(s.client.get(s.url("/group/info/")).query(&group_query)),
        timed(s.client.get(s.url("/info/")).query(&file_query)),
        timed(rest_get(&s, "/files/")),
        timed(rest_get(&s, &format!("/groups/{group}/"))),
        timed(s.client.get(s.url(&format!("/{}/", acked[1])))),
        timed(s.client.get(s.url("/_emulator/ready"))),
    );
    let mut slowest = Duration::ZERO;
    let internal = (500, TEXT.to_owned(), "Internal error.".to_owned());
    for (what, (a, took)) in [
        ("/base/", &base),
        ("POST /group/", &group_post),
        ("/group/info/", &group_info),
        ("/info/", &info),
    ] {
        assert_eq!(
            (a.status, a.content_type.clone(), a.body.clone()),
            internal,
            "{what}"
        );
        slowest = slowest.max(*took);
    }
    let (a, took) = &base_json;
    assert_eq!(
        (a.status, a.body.as_str()),
        (
            200,
            r#"{"error": {"content": "Internal error.", "status_code": 500, "error_code": "UploadAPIError"}}"#
        )
    );
    slowest = slowest.max(*took);
    for (what, (a, took)) in [("/files/", &rest_files), ("/groups/<id>/", &rest_group)] {
        assert_eq!(
            (a.status, a.content_type.as_str(), a.body.as_str()),
            (500, V7, r#"{"detail":"Internal server error."}"#),
            "REST {what}"
        );
        slowest = slowest.max(*took);
    }
    let (a, took) = &cdn;
    assert_eq!(
        (a.status, a.content_type.as_str(), a.body.as_str()),
        (500, TEXT, "Internal Server Error"),
        "CDN"
    );
    slowest = slowest.max(*took);
    let (a, took) = &ready;
    assert_eq!(
        (a.status, a.body.as_str()),
        (503, r#"{"detail":"Store unavailable."}"#),
        "readiness"
    );
    assert!(*took < Duration::from_secs(5), "readiness took {took:?}");
    assert!(
        slowest < OUTAGE_ANSWER_LIMIT,
        "an answer took {slowest:?} while the database was away"
    );
    let health = s
        .client
        .get(s.url("/_emulator/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200, "the process itself stays healthy");

    proxy.set(true);
    let restored = Instant::now();
    loop {
        let r = s
            .client
            .get(s.url("/_emulator/ready"))
            .send()
            .await
            .unwrap();
        if r.status() == 200 {
            break;
        }
        assert!(
            restored.elapsed() < Duration::from_secs(30),
            "not ready 30 s after the database came back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let recovery = restored.elapsed();
    // Nothing of the outage's uploads is visible; everything acknowledged is.
    let mut listed = listed_files(&s).await;
    listed.sort();
    let mut expected = acked.clone();
    expected.sort();
    assert_eq!(listed, expected, "files after the outage");
    let a = Answer::of(
        s.client
            .get(s.url("/group/info/"))
            .query(&group_query)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(a.status, 200);
    assert_eq!(a.json()["files_count"], 3);
    assert!(a.json()["files"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| !f.is_null()));
    // And it works again.
    let again = s.upload(PUB, "after.txt", b"after".to_vec()).await;
    let g = s.group(PUB, &[again]).await;
    assert!(g.ends_with("~1"));
    eprintln!(
        "database outage: 9 requests, every one answered its documented 5xx within {slowest:?}; ready again {recovery:?} after the database came back"
    );
    drop(other);
}

/// A replica alone on its database reads groups from memory (the sole-replica lease); when
/// the database goes away it stops doing so, and answers the documented 5xx like every
/// other read, then takes the lease again once the database is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lone_replica_stops_reading_from_memory_when_the_database_goes() {
    if !postgres_enabled() {
        return;
    }
    let proxy = Proxy::start(upstream_address().unwrap()).await;
    let (_, database_url) = proxied_database(proxy.port).await;
    let s = TestServer::start_with(Backend::Postgres, |c| {
        c.persistence.database_url = database_url;
        c.record_answers = None;
    })
    .await;
    wait_for_server_reads(&s, "memory").await;
    let file = s.upload(PUB, "kept.txt", b"kept".to_vec()).await;
    let group = s.group(PUB, &[file]).await;
    let info = || {
        s.client
            .get(s.url("/group/info/"))
            .query(&[("pub_key", PUB), ("group_id", group.as_str())])
            .send()
    };
    assert_eq!(Answer::of(info().await.unwrap()).await.status, 200);

    proxy.set(false);
    wait_for_server_reads(&s, "checked").await;
    let a = Answer::of(info().await.unwrap()).await;
    assert_eq!(
        (a.status, a.content_type.as_str(), a.body.as_str()),
        (500, TEXT, "Internal error.")
    );

    proxy.set(true);
    wait_for_server_reads(&s, "memory").await;
    let a = Answer::of(info().await.unwrap()).await;
    assert_eq!((a.status, a.json()["files_count"].clone()), (200, 1.into()));
}

/// A tmpfs mounted for the test, unmounted on drop.
struct Tmpfs(tempfile::TempDir);

impl Tmpfs {
    fn mount(size: &str) -> Option<Self> {
        let dir = tempfile::tempdir().unwrap();
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(Self(dir))
    }

    fn path(&self) -> &std::path::Path {
        self.0.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg(self.0.path())
            .status();
    }
}

per_backend!(disk_full_answers_5xx_and_recovers);
async fn disk_full_answers_5xx_and_recovers(backend: Backend) {
    let Some(disk) = Tmpfs::mount("24m") else {
        // CI runs as root; elsewhere mounting may be refused.
        eprintln!("SKIPPED disk_full_answers_5xx_and_recovers: cannot mount a tmpfs (not root?)");
        return;
    };
    let data = disk.path().join(format!("{backend:?}"));
    let s = TestServer::start_with(backend, |c| {
        c.persistence.data_dir = data.clone();
        c.record_answers = None;
    })
    .await;
    let kept = s.upload(PUB, "kept.txt", b"kept bytes".to_vec()).await;
    let before = listed_files(&s).await;
    // Fill the disk but for a few kilobytes.
    let filler = disk.path().join("filler");
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&filler).unwrap();
        let chunk = vec![0u8; 64 * 1024];
        while f.write_all(&chunk).is_ok() {}
        let _ = f.sync_all();
    }
    // A direct upload that does not fit.
    let (a, _) = timed(
        s.client
            .post(s.url("/base/"))
            .multipart(upload_form("big.bin", vec![7; 1024 * 1024])),
    )
    .await;
    assert_eq!(
        (a.status, a.content_type.as_str(), a.body.as_str()),
        (500, TEXT, "Internal error."),
        "{backend:?} /base/ on a full disk"
    );
    // A multipart part that does not fit: S3's answer.
    let start = s
        .client
        .post(s.url("/multipart/start/"))
        .form(&[
            ("UPLOADCARE_PUB_KEY", PUB),
            ("filename", "big.bin"),
            ("size", "10485760"),
            ("content_type", "application/octet-stream"),
        ])
        .send()
        .await
        .unwrap();
    let multipart = if start.status() == 200 {
        let v: serde_json::Value = start.json().await.unwrap();
        let part = v["parts"][0].as_str().unwrap().to_owned();
        let (a, _) = timed(s.client.put(&part).body(vec![1u8; 5 * 1024 * 1024])).await;
        assert_eq!(
            (a.status, a.content_type.as_str()),
            (500, "application/xml"),
            "{backend:?} part on a full disk: {}",
            a.body
        );
        assert!(a.body.contains("<Code>InternalError</Code>"), "{}", a.body);
        Some((v["uuid"].as_str().unwrap().to_owned(), v["parts"].clone()))
    } else {
        // The disk is too full even for the session's empty data file.
        let a = Answer::of(start).await;
        assert_eq!((a.status, a.body.as_str()), (500, "Internal error."));
        None
    };
    // Reads still work.
    let cdn = s
        .client
        .get(s.url(&format!("/{kept}/")))
        .send()
        .await
        .unwrap();
    assert_eq!(cdn.status(), 200);
    assert_eq!(cdn.bytes().await.unwrap().as_ref(), b"kept bytes");
    // Nothing half-written: no temporary file, no part counted, no new row.
    let tmp = crate::common::temporary_files(&data);
    assert!(tmp.is_empty(), "{backend:?}: temporary files left: {tmp:?}");
    let records: Vec<_> = crate::common::files_under(&data.join("multipart"))
        .into_iter()
        .filter(|p| !p.ends_with("data"))
        .collect();
    assert!(
        records.is_empty(),
        "{backend:?}: parts counted: {records:?}"
    );
    assert_eq!(
        listed_files(&s).await,
        before,
        "{backend:?}: rows after the failures"
    );

    // The disk frees up: everything works again.
    std::fs::remove_file(&filler).unwrap();
    let again = s.upload(PUB, "again.bin", vec![9; 1024 * 1024]).await;
    let cdn = s
        .client
        .get(s.url(&format!("/{again}/")))
        .send()
        .await
        .unwrap();
    assert_eq!(cdn.bytes().await.unwrap().len(), 1024 * 1024);
    if let Some((uuid, parts)) = multipart {
        for (i, url) in parts.as_array().unwrap().iter().enumerate() {
            let r = s
                .client
                .put(url.as_str().unwrap())
                .body(vec![i as u8; 5 * 1024 * 1024])
                .send()
                .await
                .unwrap();
            assert_eq!(
                r.status(),
                200,
                "{backend:?} part {i} after the disk freed up"
            );
        }
        let a = Answer::of(
            s.client
                .post(s.url("/multipart/complete/"))
                .form(&[("UPLOADCARE_PUB_KEY", PUB), ("uuid", uuid.as_str())])
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(a.status, 200, "{backend:?} complete: {}", a.body);
        assert_eq!(a.json()["size"], 10485760);
    }
    drop(s);
    let _ = std::fs::remove_dir_all(&data);
    eprintln!("{backend:?}: full disk answered 500s, nothing half-written, recovered");
}
