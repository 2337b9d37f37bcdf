//! The built binary: its start-up contract, readiness probe, request logs (with ids and
//! without secrets) and graceful shutdown on SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

const BIN: &str = env!("CARGO_BIN_EXE_uploadcare-emulator");

struct Running {
    child: Child,
    base: String,
    stdout: Vec<String>,
}

/// Starts the binary on a free port and reads its start-up lines.
fn start(dir: &std::path::Path, extra: &[&str]) -> Running {
    let mut child = Command::new(BIN)
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .args(extra)
        .env_remove("UC_DATABASE_URL")
        // Some of these requests go to the wrong listener on purpose: not contract material.
        .env_remove("UC_RECORD_ANSWERS")
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn emulator");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut stdout = Vec::new();
    let mut base = String::new();
    while let Some(Ok(line)) = lines.next() {
        if let Some(addr) = line.strip_prefix("uploadcare-emulator listening on ") {
            base = addr.to_owned();
        }
        let done = line.trim_start().starts_with("project ");
        stdout.push(line);
        if done && !base.is_empty() {
            break;
        }
    }
    assert!(!base.is_empty(), "no listening line in {stdout:?}");
    Running {
        child,
        base,
        stdout,
    }
}

fn sigterm(child: &Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn prints_address_and_demo_keys_and_is_ready_fast() {
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let mut r = start(dir.path(), &[]);
    let ready = Command::new(BIN)
        .args([
            "--check-ready",
            "--listen",
            r.base.trim_start_matches("http://"),
        ])
        .status()
        .unwrap();
    let elapsed = started.elapsed();
    assert!(ready.success());
    eprintln!("start-up to ready: {elapsed:?}");
    let all = r.stdout.join("\n");
    assert!(
        all.contains("public key demopublickey secret key demosecretkey"),
        "{all}"
    );
    assert!(all.contains("  blobs: "), "{all}");
    assert!(dir.path().join("emulator.db").exists());
    sigterm(&r.child);
    assert!(r.child.wait().unwrap().success());
}

#[test]
fn configured_secrets_are_not_printed_and_logs_carry_request_ids() {
    let dir = tempfile::tempdir().unwrap();
    let r = start(
        dir.path(),
        &[
            "--project",
            "mypub:supersecretvalue",
            "--log-format",
            "json",
        ],
    );
    let client = reqwest::blocking::Client::new();
    let resp = client
        .get(format!("{}/groups/", r.base))
        .header("Authorization", "Uploadcare.Simple mypub:supersecretvalue")
        .header("Accept", "application/vnd.uploadcare-v0.7+json")
        .send()
        .unwrap();
    let request_id = resp.headers()["x-uploadcare-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let resp = client
        .get(format!("{}/info/?pub_key=mypub", r.base))
        .send()
        .unwrap();
    assert_eq!(resp.status(), 400);
    sigterm(&r.child);
    let out = r.child.wait_with_output().unwrap();
    assert!(out.status.success());
    let logs = String::from_utf8_lossy(&out.stderr) + String::from_utf8_lossy(&out.stdout);
    let printed = r.stdout.join("\n");
    assert!(
        printed.contains("public key mypub secret key (as configured)"),
        "{printed}"
    );
    assert!(!printed.contains("supersecretvalue"));
    assert!(
        !logs.contains("supersecretvalue"),
        "secret in logs:\n{logs}"
    );
    let lines: Vec<serde_json::Value> = logs
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let requests: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| l["fields"]["message"] == "request")
        .collect();
    assert_eq!(requests.len(), 2, "{logs}");
    assert!(requests
        .iter()
        .any(|l| l["span"]["request_id"] == request_id.as_str()));
    let failed = requests
        .iter()
        .find(|l| l["fields"]["status"] == 400)
        .unwrap();
    assert_eq!(
        failed["fields"]["error"],
        "FileIdRequiredError: file_id is required."
    );
    assert_eq!(failed["fields"]["project"], "mypub");
}

#[test]
fn bad_settings_exit_non_zero_with_a_clear_message() {
    for (args, expect) in [
        (vec!["--project", "nocolon"], "PUB_KEY:SECRET_KEY"),
        (vec!["--database-url", "mysql://x"], "sqlite://"),
        (vec!["--log-format", "xml"], "text or json"),
        (
            vec!["--blob-store", "ftp://x/"],
            "--blob-store / UC_BLOB_STORE",
        ),
        (
            vec!["--blob-store", "s3://bucket?endpoint=nope"],
            "--blob-store / UC_BLOB_STORE",
        ),
        (
            vec!["--blob-store", "file://relative"],
            "--blob-store / UC_BLOB_STORE",
        ),
        (
            vec!["--config", "/nonexistent.toml"],
            "cannot read config file",
        ),
    ] {
        let out = Command::new(BIN).args(&args).output().unwrap();
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(expect), "{args:?}: {err}");
    }
}

/// A request the server is still answering when SIGTERM arrives gets its answer. The request
/// is held in flight by a delay fault; SIGTERM is sent once the server has logged that it is
/// injecting it, so the request is known to be inside the server.
#[test]
fn sigterm_finishes_in_flight_requests() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = start(dir.path(), &[]);
    let mut log = BufReader::new(r.child.stderr.take().unwrap()).lines();
    let base = r.base.clone();
    let slow = std::thread::spawn(move || {
        let answer = reqwest::blocking::Client::new()
            .get(format!("{base}/info/"))
            .header("X-Emulator-Fault", "delay=800")
            .send()?;
        Ok::<_, reqwest::Error>((answer.status().as_u16(), answer.text()?))
    });
    let mut seen = Vec::new();
    loop {
        let line = log
            .next()
            .unwrap_or_else(|| panic!("the log ended before the fault: {seen:?}"))
            .unwrap();
        if line.contains("injecting fault") {
            break;
        }
        seen.push(line);
    }
    sigterm(&r.child);
    assert_eq!(
        slow.join().unwrap().unwrap(),
        (403, "pub_key is required.".to_owned())
    );
    assert!(r.child.wait().unwrap().success());
}

#[test]
fn separate_listeners_serve_one_api_each() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = start(
        dir.path(),
        &[
            "--upload-listen",
            "127.0.0.1:0",
            "--api-listen",
            "127.0.0.1:0",
            "--cdn-listen",
            "127.0.0.1:0",
        ],
    );
    let find = |name: &str| {
        r.stdout
            .iter()
            .find_map(|l| l.trim().strip_prefix(&format!("{name} only on ")))
            .unwrap_or_else(|| panic!("no {name} line in {:?}", r.stdout))
            .to_owned()
    };
    let (upload, rest, cdn) = (find("Upload API"), find("REST API"), find("CDN"));
    let client = reqwest::blocking::Client::new();
    let get = |url: String| client.get(url).send().unwrap();
    // Each listener answers its own API...
    let a = get(format!("{upload}/info/"));
    assert_eq!(a.status(), 403);
    assert_eq!(a.text().unwrap(), "pub_key is required.");
    let a = get(format!("{rest}/groups/"));
    assert_eq!(a.status(), 406);
    let a = get(format!("{cdn}/00000000-0000-4000-8000-000000000000/"));
    assert_eq!(a.status(), 404);
    assert_eq!(a.text().unwrap(), "Not Found");
    // ...and not the others'.
    assert_eq!(get(format!("{upload}/groups/")).status(), 404);
    assert_eq!(get(format!("{rest}/info/")).status(), 404);
    assert_eq!(get(format!("{cdn}/info/")).status(), 404);
    // The admin routes are everywhere; the main listener still serves everything.
    assert_eq!(get(format!("{cdn}/_emulator/ready")).status(), 200);
    assert_eq!(get(format!("{}/info/", r.base)).status(), 403);
    sigterm(&r.child);
    assert!(r.child.wait().unwrap().success());
}
