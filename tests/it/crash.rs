//! Crash consistency: concurrent uploads and group creations against the real binary, killed
//! with SIGKILL at random moments and restarted on the same store, 20 times per backend.
//! After each restart every acknowledged file and group must be fully there: the file with
//! its size and bytes on disk, the group with exactly its members in order. Bytes a kill left
//! without a row are removed by the start-up sweep, and the sweep removes nothing in use.
//! A webhook receiver subscribed to `file.uploaded` gets, after the last restart and a flush,
//! the event of every acknowledged upload and none of a file never written (duplicates,
//! from deliveries a kill interrupted, are counted).

use crate::common::{database_url, per_backend, Backend};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use std::io::{BufRead, BufReader};

const BIN: &str = env!("CARGO_BIN_EXE_uploadcare-emulator");
const PUB: &str = "demopublickey";

fn start(data_dir: &std::path::Path, db: &str, port: u16) -> (Child, String) {
    let mut child = Command::new(BIN)
        .args(["--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
        .arg(data_dir)
        .args([
            "--database-url",
            db,
            "--project",
            "demopublickey:demosecretkey",
        ])
        // A SIGKILL can land mid-`write` of a long answer line and leave it torn; the
        // contract check reads every line, so killed servers do not record.
        .env_remove("UC_RECORD_ANSWERS")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = lines.next().expect("a line").expect("utf-8");
    let base = line
        .strip_prefix("uploadcare-emulator listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    (child, base)
}

#[derive(Clone, Default)]
struct Acked {
    files: Vec<(String, usize)>,
    groups: Vec<(String, Vec<String>)>,
}

async fn worker(base: String, seed: u64, acked: Arc<Mutex<Acked>>) {
    let client = reqwest::Client::new();
    let mut n = seed;
    loop {
        n = n
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let known: Vec<String> = acked
            .lock()
            .unwrap()
            .files
            .iter()
            .map(|(u, _)| u.clone())
            .collect();
        if n.is_multiple_of(3) && !known.is_empty() {
            let count = 1 + (n >> 8) as usize % 5;
            let members: Vec<String> = (0..count)
                .map(|i| known[(n as usize >> 16).wrapping_add(i * 7) % known.len()].clone())
                .collect();
            let mut form = vec![("pub_key".to_owned(), PUB.to_owned())];
            for (i, m) in members.iter().enumerate() {
                form.push((format!("files[{i}]"), m.clone()));
            }
            let Ok(r) = client
                .post(format!("{base}/group/"))
                .form(&form)
                .send()
                .await
            else {
                return;
            };
            if r.status() == 200 {
                let Ok(v) = r.json::<serde_json::Value>().await else {
                    return;
                };
                let id = v["id"].as_str().unwrap().to_owned();
                acked.lock().unwrap().groups.push((id, members));
            }
        } else {
            let size = 1 + (n >> 20) as usize % 300_000;
            let form = reqwest::multipart::Form::new()
                .text("UPLOADCARE_PUB_KEY", PUB)
                .text("UPLOADCARE_STORE", "1")
                .part(
                    "file",
                    reqwest::multipart::Part::bytes(vec![(n % 251) as u8; size]).file_name("f.bin"),
                );
            let Ok(r) = client
                .post(format!("{base}/base/"))
                .multipart(form)
                .send()
                .await
            else {
                return;
            };
            if r.status() == 200 {
                let Ok(v) = r.json::<serde_json::Value>().await else {
                    return;
                };
                let uuid = v["file"].as_str().unwrap().to_owned();
                acked.lock().unwrap().files.push((uuid, size));
            }
        }
    }
}

/// Reads every acknowledged file and group back (16 requests at a time) and checks it.
async fn verify(base: &str, acked: &Acked) -> usize {
    use futures_util::{stream, StreamExt};
    let client = &reqwest::Client::new();
    stream::iter(&acked.files)
        .for_each_concurrent(16, |(uuid, size)| async move {
            let r = client
                .get(format!("{base}/info/"))
                .query(&[("pub_key", PUB), ("file_id", uuid)])
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "acknowledged file {uuid} lost");
            let v: serde_json::Value = r.json().await.unwrap();
            assert_eq!(v["size"], *size as u64, "file {uuid} has the wrong size");
        })
        .await;
    stream::iter(&acked.groups)
        .for_each_concurrent(16, |(id, members)| async move {
            let r = client
                .get(format!("{base}/group/info/"))
                .query(&[("pub_key", PUB), ("group_id", id)])
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "acknowledged group {id} lost");
            let v: serde_json::Value = r.json().await.unwrap();
            let got: Vec<&str> = v["files"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["uuid"].as_str().unwrap())
                .collect();
            assert_eq!(got, members.iter().map(String::as_str).collect::<Vec<_>>());
            assert_eq!(v["files_count"], members.len());
            assert!(id.ends_with(&format!("~{}", members.len())));
        })
        .await;
    acked.files.len() + acked.groups.len()
}

/// The blob addresses file rows use.
async fn used_blobs(db: &str) -> std::collections::HashSet<String> {
    const SQL: &str = "SELECT uuid, blob FROM files";
    let rows: Vec<(String, String)> = if db.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(db).await.unwrap();
        sqlx::query_as(SQL).fetch_all(&pool).await.unwrap()
    } else {
        let pool = sqlx::PgPool::connect(db).await.unwrap();
        sqlx::query_as(SQL).fetch_all(&pool).await.unwrap()
    };
    rows.into_iter().map(|(_, blob)| blob).collect()
}

/// Every blob file on disk.
fn blobs_on_disk(data_dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for shard in std::fs::read_dir(data_dir.join("blobs")).unwrap().flatten() {
        for blob in std::fs::read_dir(shard.path()).unwrap().flatten() {
            out.push(blob.path());
        }
    }
    out
}

/// Every file row's bytes are on disk under their content address; returns the blobs on disk
/// that no row uses (orphans, which the start-up sweep removes).
async fn rows_have_bytes(data_dir: &std::path::Path, db: &str) -> Vec<std::path::PathBuf> {
    let used = used_blobs(db).await;
    for blob in &used {
        let path = data_dir.join("blobs").join(&blob[..2]).join(blob);
        assert!(
            path.exists(),
            "a file row has no bytes at {}",
            path.display()
        );
    }
    blobs_on_disk(data_dir)
        .into_iter()
        .filter(|p| !used.contains(p.file_name().unwrap().to_str().unwrap()))
        .collect()
}

async fn run(db: String, data_dir: &std::path::Path) {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let acked = Arc::new(Mutex::new(Acked::default()));
    let mut checked = 0;
    let mut events = None;
    for round in 0..20u64 {
        let t0 = std::time::Instant::now();
        let (mut child, base) = start(data_dir, &db, port);
        eprintln!("round {round}: started {:?}", t0.elapsed());
        if round == 0 {
            events = Some(crate::common::UploadEvents::subscribe(&base).await);
        }
        let snapshot = acked.lock().unwrap().clone();
        checked += verify(&base, &snapshot).await;
        eprintln!("round {round}: verified {:?}", t0.elapsed());
        let workers: Vec<_> = (0..6)
            .map(|i| tokio::spawn(worker(base.clone(), round * 100 + i, acked.clone())))
            .collect();
        tokio::time::sleep(Duration::from_millis(100 + (round * 37) % 250)).await;
        // On a loaded machine the jitter alone can end a round before its first answer:
        // every round kills after at least one acknowledged write (and, until there is one,
        // an acknowledged group), so the run always has something to verify.
        let before = snapshot.files.len() + snapshot.groups.len();
        for _ in 0..600 {
            let (files, groups) = {
                let a = acked.lock().unwrap();
                (a.files.len(), a.groups.len())
            };
            if files + groups > before && groups > 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        child.kill().unwrap();
        child.wait().unwrap();
        eprintln!("round {round}: killed {:?}", t0.elapsed());
        for w in workers {
            let _ = tokio::time::timeout(Duration::from_secs(10), w).await;
        }
        eprintln!("round {round}: workers done {:?}", t0.elapsed());
    }
    let (mut child, base) = start(data_dir, &db, port);
    let snapshot = acked.lock().unwrap().clone();
    checked += verify(&base, &snapshot).await;
    // Every acknowledged upload's `file.uploaded` event arrives; none for an unwritten file.
    let uuids: Vec<String> = snapshot.files.iter().map(|(u, _)| u.clone()).collect();
    let t1 = std::time::Instant::now();
    let flushing = std::time::Instant::now();
    let (events, duplicates) = events.unwrap().check(&base, &uuids, &db).await;
    // Deliveries a killed run had claimed are released at start-up, not after their
    // two-minute lease (`fail_orphans`, src/store/shared.rs).
    assert!(
        flushing.elapsed() < Duration::from_secs(60),
        "the flush took {:?}",
        flushing.elapsed()
    );
    eprintln!("events checked {:?}", t1.elapsed());
    child.kill().unwrap();
    child.wait().unwrap();
    let orphans = rows_have_bytes(data_dir, &db).await;
    // Bytes left without a row by a kill go at the next start once they are older than the
    // sweep's age (src/sweep.rs): date every blob, used or not, two hours back and restart.
    let past = std::time::SystemTime::now() - Duration::from_secs(7200);
    for blob in blobs_on_disk(data_dir) {
        let f = std::fs::File::options().write(true).open(&blob).unwrap();
        f.set_modified(past).unwrap();
    }
    let (mut child, base) = start(data_dir, &db, port);
    let mut left = orphans.len();
    for _ in 0..100 {
        left = rows_have_bytes(data_dir, &db).await.len();
        if left == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(left, 0, "orphan blobs not swept at start-up");
    eprintln!("swept {:?}", t1.elapsed());
    checked += verify(&base, &snapshot).await;
    child.kill().unwrap();
    child.wait().unwrap();
    let a = acked.lock().unwrap();
    eprintln!(
        "20 kills survived; {} files and {} groups acknowledged; {checked} checks; {} orphan blobs swept at start-up; {events} upload events received, 0 lost, {duplicates} duplicates",
        a.files.len(),
        a.groups.len(),
        orphans.len()
    );
    assert!(!a.files.is_empty() && !a.groups.is_empty());
}

per_backend!(
    sigkill_loses_nothing_acknowledged,
    flavor = "multi_thread",
    worker_threads = 2
);
async fn sigkill_loses_nothing_acknowledged(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let db = database_url(backend, dir.path()).await;
    run(db, dir.path()).await;
}
