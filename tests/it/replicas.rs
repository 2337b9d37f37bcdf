//! Two emulator servers on one Postgres database (and one data directory) answer as one
//! emulator: what one replica is told, the other sees (docs/replicas.md, "What is shared").
//! Postgres only: skipped without `UC_TEST_POSTGRES_URL` (fails under `UC_REQUIRE_POSTGRES=1`).

use std::collections::HashSet;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use uploadcare_emulator::store::shared::NewTask;

use crate::common::*;

async fn admin(s: &TestServer, method: Method, path: &str, body: Value) -> Answer {
    let r = s
        .client
        .request(method, s.url(path))
        .json(&body)
        .send()
        .await
        .unwrap();
    Answer::of(r).await
}

async fn info(s: &TestServer, uuid: &str) -> u16 {
    s.client
        .get(s.url(&format!("/info/?pub_key={PUB}&file_id={uuid}")))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn the_clock_moved_on_one_replica_moves_the_other() {
    let Some((a, b)) = replica_pair().await else {
        return;
    };
    let before = b.state.clock.now_us();
    let r = admin(
        &a,
        Method::POST,
        "/_emulator/clock/advance",
        json!({"seconds": 7200}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // No wait: the admin call returns once every live replica applied the move.
    let moved = b.state.clock.now_us() - before;
    assert!(moved >= 7_200_000_000, "B moved {moved} µs");
    assert!(moved < 7_260_000_000, "B moved {moved} µs");
    // And what B answers follows it: an unstored file uploaded on B expires on B.
    let uuid = b.upload(PUB, "a.txt", b"hello".to_vec()).await;
    assert_eq!(info(&b, &uuid).await, 200);
    let r = admin(
        &a,
        Method::POST,
        "/_emulator/clock/advance",
        json!({"seconds": 25 * 3600}),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(info(&b, &uuid).await, 404, "B still serves an expired file");
}

#[tokio::test]
async fn a_fault_set_on_one_replica_is_used_up_across_both() {
    let Some((a, b)) = replica_pair().await else {
        return;
    };
    let uuid = a.upload(PUB, "a.txt", b"hello".to_vec()).await;
    let r = admin(
        &a,
        Method::POST,
        "/_emulator/faults",
        json!({"kind": "error", "count": 3, "api": "upload"}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    // The next calls, alternating replicas, get the fault exactly three times in total.
    let mut statuses = Vec::new();
    for s in [&b, &a, &b, &a, &b, &a] {
        statuses.push(info(s, &uuid).await);
    }
    assert_eq!(statuses, [500, 500, 500, 200, 200, 200]);
    // Concurrent calls on both: still exactly `count` faults.
    let r = admin(
        &b,
        Method::POST,
        "/_emulator/faults",
        json!({"kind": "throttle", "count": 5, "api": "upload"}),
    )
    .await;
    assert_eq!(r.status, 201);
    let calls = (0..20).map(|i| {
        let s = if i % 2 == 0 { &a } else { &b };
        info(s, &uuid)
    });
    let got = futures_util::future::join_all(calls).await;
    assert_eq!(got.iter().filter(|s| **s == 429).count(), 5, "{got:?}");
    assert_eq!(got.iter().filter(|s| **s == 200).count(), 15, "{got:?}");
    // Cleared on B: none left on A either.
    admin(
        &a,
        Method::POST,
        "/_emulator/faults",
        json!({"kind": "error", "count": 2}),
    )
    .await;
    let r = admin(&b, Method::DELETE, "/_emulator/faults", json!({})).await;
    assert_eq!(r.status, 204);
    assert_eq!(info(&a, &uuid).await, 200);
}

/// A source that sends 4 of 10 bytes, then the rest when the test says.
async fn slow_source() -> (String, tokio::sync::oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/slow.txt", listener.local_addr().unwrap());
    let (release, released) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let (mut sock, _) = listener.accept().await.unwrap();
        let mut request = Vec::new();
        let mut buf = [0u8; 1024];
        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
            match sock.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => request.extend_from_slice(&buf[..n]),
            }
        }
        let head = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\nConnection: close\r\n\r\n0123";
        let _ = sock.write_all(head.as_bytes()).await;
        let _ = sock.flush().await;
        let _ = released.await;
        let _ = sock.write_all(b"456789").await;
        let _ = sock.shutdown().await;
    });
    (url, release)
}

async fn from_url_status(s: &TestServer, token: &str) -> Value {
    let r = s
        .client
        .get(s.url("/from_url/status/"))
        .query(&[("token", token)])
        .send()
        .await
        .unwrap();
    let a = Answer::of(r).await;
    assert_eq!(a.status, 200, "{}", a.body);
    a.json()
}

async fn poll_status(s: &TestServer, token: &str, done: impl Fn(&Value) -> bool) -> Value {
    let started = Instant::now();
    loop {
        let v = from_url_status(s, token).await;
        if done(&v) {
            return v;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "stuck at {v}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_from_url_task_started_on_one_replica_is_followed_on_the_other() {
    let Some((a, b)) = replica_pair().await else {
        return;
    };
    let (url, release) = slow_source().await;
    let r = a
        .client
        .post(a.url("/from_url/"))
        .form(&[("pub_key", PUB), ("source_url", &url)])
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    let token = v["token"].as_str().unwrap().to_owned();
    // Progress writes are throttled, not lost: the 4 bytes that arrived show on B.
    let v = poll_status(&b, &token, |v| v["status"] == "progress" && v["done"] == 4).await;
    assert_eq!(v["total"], 10, "{v}");
    release.send(()).unwrap();
    let v = poll_status(&b, &token, |v| v["status"] != "progress").await;
    assert_eq!(v["status"], "success", "{v}");
    assert_eq!(v["size"], 10);
    let uuid = v["uuid"].as_str().unwrap();
    assert_eq!(info(&b, uuid).await, 200);
    assert_eq!(
        from_url_status(&a, &token).await["uuid"],
        v["uuid"],
        "both replicas answer the same"
    );
}

#[tokio::test]
async fn work_of_a_dead_replica_ends_in_error_and_a_live_ones_is_left_alone() {
    let Some((a, b)) = replica_pair().await else {
        return;
    };
    let wall = uploadcare_emulator::replicas::wall_us();
    let expired = wall - 3_600_000_000;
    // A task owned by a replica that has no heartbeat (it died), and one owned by A.
    let (dead, live) = (
        uuid::Uuid::new_v4().to_string(),
        uuid::Uuid::new_v4().to_string(),
    );
    for (token, owner) in [(&dead, "dead-replica"), (&live, &a.state.replica.id)] {
        let task = NewTask {
            token,
            owner,
            wall_us: wall,
        };
        a.state.store.insert_task(task, expired).await.unwrap();
    }
    // A third replica starting now must not end A's task (A is alive).
    let database_url = a.state.config.persistence.database_url.clone();
    let c = TestServer::start_with(Backend::Postgres, |cfg| {
        cfg.persistence.database_url = database_url
    })
    .await;
    let v = from_url_status(&c, &live).await;
    assert_eq!(v["status"], "waiting", "{v}");
    let v = poll_status(&b, &dead, |v| v["status"] != "waiting").await;
    assert_eq!(
        v,
        json!({
            "status": "error",
            "error": "download task failed.",
            "error_code": "DownloadFileTaskFailedError",
        })
    );
    // Still alive a few sweeps later.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(from_url_status(&b, &live).await["status"], "waiting");
}

#[tokio::test]
async fn upload_times_interleaved_from_both_replicas_are_unique_and_page_exactly() {
    let Some((a, b)) = replica_pair().await else {
        return;
    };
    let uploads = (0..30).map(|i| {
        let s = if i % 2 == 0 { &a } else { &b };
        s.upload(PUB, "x.txt", format!("file {i}").into_bytes())
    });
    let uuids: HashSet<String> = futures_util::future::join_all(uploads)
        .await
        .into_iter()
        .collect();
    assert_eq!(uuids.len(), 30);
    // Paged through both replicas in turn, by the `from` cursor of each `next` link.
    let mut seen = Vec::new();
    let mut times = Vec::new();
    let mut next = Some(a.url("/files/?limit=4&ordering=datetime_uploaded"));
    let mut turn = 0;
    while let Some(url) = next {
        let s = if turn % 2 == 0 { &a } else { &b };
        turn += 1;
        let path = url
            .split_once("/files/")
            .map(|(_, q)| format!("/files/{q}"))
            .unwrap();
        let r = rest(s, PUB, V7, Method::GET, &path, "").await;
        assert_eq!(r.status, 200, "{}", r.body);
        let v = r.json();
        for f in v["results"].as_array().unwrap() {
            seen.push(f["uuid"].as_str().unwrap().to_owned());
            times.push(f["datetime_uploaded"].as_str().unwrap().to_owned());
        }
        next = v["next"].as_str().map(str::to_owned);
    }
    assert_eq!(seen.len(), 30, "every file once");
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 30);
    assert!(
        times.windows(2).all(|w| w[0] < w[1]),
        "upload times are not unique and increasing: {times:?}"
    );
}

#[tokio::test]
async fn each_webhook_event_is_delivered_once_with_two_workers() {
    let Some((a, b)) = replica_pair().await else {
        return;
    };
    let receiver = Receiver::start().await;
    let hook = json!({"target_url": receiver.url("/hook"), "event": "file.uploaded"});
    let r = rest(&a, PUB, V7, Method::POST, "/webhooks/", &hook.to_string()).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let uploads = (0..40).map(|i| {
        let s = if i % 2 == 0 { &a } else { &b };
        s.upload(PUB, "x.txt", format!("file {i}").into_bytes())
    });
    let uuids: HashSet<String> = futures_util::future::join_all(uploads)
        .await
        .into_iter()
        .collect();
    // Both workers run; flushing both returns once every delivery was attempted.
    for s in [&a, &b] {
        let r = s
            .client
            .post(s.url("/_emulator/webhooks/flush"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    let got: Vec<String> = receiver
        .bodies("/hook")
        .iter()
        .map(|b| b["data"]["uuid"].as_str().unwrap().to_owned())
        .collect();
    let distinct: HashSet<String> = got.iter().cloned().collect();
    assert_eq!(distinct, uuids, "every event delivered");
    assert_eq!(got.len(), uuids.len(), "no event delivered twice");
}

#[tokio::test]
async fn a_project_changed_on_one_replica_is_seen_on_the_other() {
    let Some((a, b)) = replica_pair().await else {
        return;
    };
    // B reads (and caches) the project.
    let r = rest(&b, PUB, V7, Method::GET, "/project/", "").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["name"], format!("{PUB} project"));
    let r = admin(
        &a,
        Method::POST,
        "/_emulator/projects",
        json!({"pub_key": PUB, "secret_key": SECRET, "name": "Renamed on A"}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = rest(&b, PUB, V7, Method::GET, "/project/", "").await;
    assert_eq!(r.json()["name"], "Renamed on A");
    // A new secret on A: B refuses the old one at once.
    let r = admin(
        &a,
        Method::POST,
        "/_emulator/projects",
        json!({"pub_key": PUB, "secret_key": "a-new-secret"}),
    )
    .await;
    assert_eq!(r.status, 201);
    let r = rest(&b, PUB, V7, Method::GET, "/project/", "").await;
    assert_eq!(r.status, 401, "{}", r.body);
}
