//! Concurrency, on every backend: 16 clients create groups over the same files while other
//! clients store, delete (one by one and in batches) and read them, and the clock jumps past
//! the retention so unstored files expire mid-run. Every request must finish within its
//! timeout (no deadlock), nothing may answer 5xx or leak "database is locked", every group
//! answer must be whole (`files_count` = members = the id's suffix, order preserved), and
//! once the dust settles every group must show exactly its members, `null` where the file is
//! gone and the file where it lives, the same in the Upload and REST APIs.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::*;
use reqwest::Method;
use serde_json::Value;

const V7: &str = "application/vnd.uploadcare-v0.7+json";
const CLIENTS: usize = 16;
const GROUPS_PER_CLIENT: usize = 30;
const FILES: usize = 96;
const DAY_US: i64 = 24 * 3600 * 1_000_000;
/// Longest any single request may take before the run counts as deadlocked.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// A small deterministic generator (the seed is printed so a failure can be replayed).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn seed() -> u64 {
    std::env::var("UC_CONCURRENCY_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        })
}

/// Everything the run observed.
#[derive(Default)]
struct Log {
    /// Groups acknowledged: id and member uuids in order.
    groups: Vec<(String, Vec<String>)>,
    /// Files whose removal was acknowledged.
    deleted: HashSet<String>,
    /// Files whose storing was acknowledged (and that may later be deleted).
    stored: HashSet<String>,
    /// Requests made.
    requests: usize,
}

/// Sends a request within the deadlock timeout and checks it did not fail on the server.
async fn send(rb: reqwest::RequestBuilder, what: &str) -> Answer {
    let r = tokio::time::timeout(REQUEST_TIMEOUT, async {
        Answer::of(rb.send().await.expect("request sent")).await
    })
    .await
    .unwrap_or_else(|_| panic!("{what}: no answer within {REQUEST_TIMEOUT:?} (deadlock?)"));
    assert!(r.status < 500, "{what}: {} {}", r.status, r.body);
    assert!(
        !r.body.to_lowercase().contains("locked"),
        "{what}: {}",
        r.body
    );
    r
}

fn rest(s: &TestServer, method: Method, path: &str, body: &str) -> reqwest::RequestBuilder {
    s.client
        .request(method, s.url(path))
        .header("Accept", V7)
        .header("Content-Type", "application/json")
        .header("Authorization", format!("Uploadcare.Simple {PUB}:{SECRET}"))
        .body(body.to_owned())
}

/// A member value in one of the accepted forms.
fn member_form(rng: &mut Rng, base: &str, uuid: &str) -> String {
    match rng.below(4) {
        0 => uuid.to_owned(),
        1 => format!("{uuid}/"),
        2 => format!("{base}/{uuid}/"),
        _ => format!("{uuid}/-/resize/x10/"),
    }
}

/// Checks a `groupInfo` answer is whole: count, id suffix, one position per member in order.
fn check_group(v: &Value, members: &[String], must_be_live: bool) {
    let id = v["id"].as_str().expect("id");
    let count = members.len();
    assert_eq!(v["files_count"], count, "{v}");
    assert!(id.ends_with(&format!("~{count}")), "{id}");
    let files = v["files"].as_array().expect("files");
    assert_eq!(files.len(), count, "{v}");
    for (f, m) in files.iter().zip(members) {
        if f.is_null() {
            assert!(!must_be_live, "a member of a new group is null: {v}");
        } else {
            assert_eq!(f["uuid"], m.as_str(), "order lost: {v}");
        }
    }
}

async fn creator(s: Arc<TestServer>, files: Arc<Vec<String>>, log: Arc<Mutex<Log>>, seed: u64) {
    let mut rng = Rng(seed);
    for _ in 0..GROUPS_PER_CLIENT {
        let count = 1 + rng.below(8);
        let members: Vec<String> = (0..count)
            .map(|_| files[rng.below(files.len())].clone())
            .collect();
        let appended = rng.below(4) == 0;
        let mut form = vec![("pub_key".to_owned(), PUB.to_owned())];
        for (i, m) in members.iter().enumerate() {
            let name = if appended {
                "files[]".to_owned()
            } else {
                format!("files[{i}]")
            };
            form.push((name, member_form(&mut rng, &s.base, m)));
        }
        let r = send(s.client.post(s.url("/group/")).form(&form), "POST /group/").await;
        log.lock().unwrap().requests += 1;
        match r.status {
            200 => {
                let v = r.json();
                check_group(&v, &members, true);
                let id = v["id"].as_str().unwrap().to_owned();
                // Read it back at once through both APIs: as whole as when it was made.
                let info = send(
                    s.client
                        .get(s.url(&format!("/group/info/?pub_key={PUB}&group_id={id}"))),
                    "GET /group/info/",
                )
                .await;
                assert_eq!(info.status, 200, "{}", info.body);
                check_group(&info.json(), &members, false);
                let rest_info = send(
                    rest(&s, Method::GET, &format!("/groups/{id}/"), ""),
                    "GET /groups/<id>/",
                )
                .await;
                assert_eq!(rest_info.status, 200, "{}", rest_info.body);
                log.lock().unwrap().requests += 2;
                log.lock().unwrap().groups.push((id, members));
            }
            400 => assert_eq!(r.body, "Some files not found.", "{form:?}"),
            other => panic!("POST /group/ answered {other}: {}", r.body),
        }
    }
}

/// Stores, deletes (single and batch) and reads files while groups are being made.
async fn mutator(s: Arc<TestServer>, files: Arc<Vec<String>>, log: Arc<Mutex<Log>>, seed: u64) {
    let mut rng = Rng(seed);
    for _ in 0..40 {
        // Spread over the whole run rather than racing ahead of the group makers.
        tokio::time::sleep(Duration::from_millis(2)).await;
        let f = files[rng.below(files.len())].clone();
        match rng.below(8) {
            0 => {
                let r = send(
                    rest(&s, Method::DELETE, &format!("/files/{f}/storage/"), ""),
                    "DELETE /files/<uuid>/storage/",
                )
                .await;
                if r.status == 200 {
                    log.lock().unwrap().deleted.insert(f);
                } else {
                    assert_eq!(r.status, 404, "{}", r.body);
                }
            }
            1 => {
                let batch: Vec<String> = (0..1 + rng.below(4))
                    .map(|_| files[rng.below(files.len())].clone())
                    .collect();
                let body = serde_json::to_string(&batch).unwrap();
                let r = send(
                    rest(&s, Method::DELETE, "/files/storage/", &body),
                    "DELETE /files/storage/",
                )
                .await;
                assert_eq!(r.status, 200, "{}", r.body);
                let v = r.json();
                let mut log = log.lock().unwrap();
                for done in v["result"].as_array().unwrap() {
                    log.deleted
                        .insert(done["uuid"].as_str().unwrap().to_owned());
                }
            }
            2..=4 => {
                let batch: Vec<String> = (0..1 + rng.below(6))
                    .map(|_| files[rng.below(files.len())].clone())
                    .collect();
                let body = serde_json::to_string(&batch).unwrap();
                let r = send(
                    rest(&s, Method::PUT, "/files/storage/", &body),
                    "PUT /files/storage/",
                )
                .await;
                assert_eq!(r.status, 200, "{}", r.body);
                let v = r.json();
                let mut log = log.lock().unwrap();
                for done in v["result"].as_array().unwrap() {
                    log.stored.insert(done["uuid"].as_str().unwrap().to_owned());
                }
            }
            _ => {
                let r = send(
                    s.client
                        .get(s.url(&format!("/info/?pub_key={PUB}&file_id={f}"))),
                    "GET /info/",
                )
                .await;
                assert!(r.status == 200 || r.status == 404, "{}", r.body);
                let cdn = send(s.client.get(s.url(&format!("/{f}/"))), "CDN").await;
                assert!(cdn.status == 200 || cdn.status == 404, "{}", cdn.status);
            }
        }
        log.lock().unwrap().requests += 1;
    }
}

per_backend!(
    groups_over_files_being_stored_deleted_and_expired,
    flavor = "multi_thread",
    worker_threads = 4
);
async fn groups_over_files_being_stored_deleted_and_expired(backend: Backend) {
    let seed = seed();
    eprintln!("{backend:?}: seed {seed} (UC_CONCURRENCY_SEED replays it)");
    let s = Arc::new(TestServer::start(backend).await);
    let mut files = Vec::new();
    for i in 0..FILES {
        files.push(s.upload(PUB, &format!("f{i}.bin"), vec![i as u8; 64]).await);
    }
    let files = Arc::new(files);
    let log = Arc::new(Mutex::new(Log::default()));
    let mut tasks = Vec::new();
    for c in 0..CLIENTS {
        tasks.push(tokio::spawn(creator(
            s.clone(),
            files.clone(),
            log.clone(),
            seed.wrapping_add(c as u64 * 7919) | 1,
        )));
    }
    for m in 0..4 {
        tasks.push(tokio::spawn(mutator(
            s.clone(),
            files.clone(),
            log.clone(),
            seed.wrapping_mul(31).wrapping_add(m) | 1,
        )));
    }
    // Halfway through, every file not stored by then expires.
    let clock = {
        let s = s.clone();
        let log = log.clone();
        tokio::spawn(async move {
            loop {
                let done = log.lock().unwrap().groups.len();
                if done >= CLIENTS * GROUPS_PER_CLIENT / 2 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            s.state.clock.advance(DAY_US + 1);
        })
    };
    for t in tasks {
        t.await.expect("client task");
    }
    // The clock may not have jumped if few groups could be made; make sure it has.
    if !clock.is_finished() {
        clock.abort();
        s.state.clock.advance(DAY_US + 1);
    }

    // Quiet now: every group shows exactly its members, `null` exactly where the file
    // is gone, in both APIs.
    let log = std::mem::take(&mut *log.lock().unwrap());
    let mut live: HashMap<String, bool> = HashMap::new();
    for f in files.iter() {
        let r = send(
            s.client
                .get(s.url(&format!("/info/?pub_key={PUB}&file_id={f}"))),
            "GET /info/",
        )
        .await;
        let is_live = r.status == 200;
        if log.deleted.contains(f) {
            assert!(!is_live, "a deleted file is live: {f}");
        } else if log.stored.contains(f) {
            assert!(is_live, "a stored file is gone: {f}");
        }
        live.insert(f.clone(), is_live);
    }
    for (id, members) in &log.groups {
        let r = send(
            s.client
                .get(s.url(&format!("/group/info/?pub_key={PUB}&group_id={id}"))),
            "GET /group/info/",
        )
        .await;
        let v = r.json();
        check_group(&v, members, false);
        let r = send(
            rest(&s, Method::GET, &format!("/groups/{id}/"), ""),
            "GET /groups/<id>/",
        )
        .await;
        let rest_v = r.json();
        assert_eq!(rest_v["files_count"], members.len());
        let rest_files = rest_v["files"].as_array().unwrap();
        assert_eq!(rest_files.len(), members.len(), "{rest_v}");
        for (i, m) in members.iter().enumerate() {
            assert_eq!(
                !v["files"][i].is_null(),
                live[m],
                "Upload API position {i} of {id} disagrees with /info/ for {m}"
            );
            assert_eq!(
                !rest_files[i].is_null(),
                live[m],
                "REST position {i} of {id} disagrees with /info/ for {m}"
            );
        }
    }
    let requests = log.requests + files.len() + 2 * log.groups.len();
    eprintln!(
        "{backend:?}: {} groups made, {} files deleted, {} stored, {requests} requests checked",
        log.groups.len(),
        log.deleted.len(),
        log.stored.len()
    );
    assert!(
        log.groups.len() >= CLIENTS,
        "too few groups were made to test anything"
    );
}
