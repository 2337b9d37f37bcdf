//! The admin API: health, readiness, where reads come from, projects at run time, reset, clock, faults, seeding.

use crate::common::*;
use serde_json::json;

per_backend!(health_and_readiness);
async fn health_and_readiness(backend: Backend) {
    let s = TestServer::start(backend).await;
    let r = Answer::of(
        s.client
            .get(s.url("/_emulator/health"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((r.status, r.body.as_str()), (200, r#"{"status":"ok"}"#));
    let r = Answer::of(
        s.client
            .get(s.url("/_emulator/ready"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((r.status, r.body.as_str()), (200, r#"{"status":"ready"}"#));
    assert_eq!(r.content_type, "application/json");
    // Alone on its store, the server answers hot reads from memory (on Postgres once it
    // holds the sole-replica lease, within moments of starting).
    let r = wait_for_server_reads(&s, "memory").await;
    assert_eq!(r.body, r#"{"reads":"memory"}"#);
}

per_backend!(projects_created_at_run_time_and_reset);
async fn projects_created_at_run_time_and_reset(backend: Backend) {
    let s = TestServer::start(backend).await;
    let r = s
        .client
        .post(s.url("/_emulator/projects"))
        .json(&json!({"pub_key": "newpub", "secret_key": "newsecret"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let file = s.upload("newpub", "a.png", png(2, 2)).await;
    let group = s.group("newpub", std::slice::from_ref(&file)).await;
    let info = |id: String| {
        s.client
            .get(s.url("/group/info/"))
            .query(&[("pub_key", "newpub"), ("group_id", id.as_str())])
            .send()
    };
    assert_eq!(info(group.clone()).await.unwrap().status(), 200);
    // Another project's data survives the reset.
    let other = s.upload(PUB, "b.png", png(2, 2)).await;
    let r = s
        .client
        .post(s.url("/_emulator/projects/newpub/reset"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(info(group).await.unwrap().status(), 404);
    let r = s
        .client
        .get(s.url("/info/"))
        .query(&[("pub_key", "newpub"), ("file_id", file.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = s
        .client
        .get(s.url("/info/"))
        .query(&[("pub_key", PUB), ("file_id", other.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = s
        .client
        .post(s.url("/_emulator/projects/nosuch/reset"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = s
        .client
        .post(s.url("/_emulator/projects"))
        .json(&json!({"pub_key": ""}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn admin_token_guards_control_routes_only() {
    let s = TestServer::start_with(Backend::Sqlite, |c| c.admin_token = Some("tok".into())).await;
    let call = |auth: Option<&str>| {
        let mut r = s
            .client
            .post(s.url("/_emulator/clock/advance"))
            .json(&json!({"seconds": 1}));
        if let Some(a) = auth {
            r = r.header("Authorization", a);
        }
        r.send()
    };
    let r = Answer::of(call(None).await.unwrap()).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.body, r#"{"detail":"Admin token required."}"#);
    assert_eq!(call(Some("Bearer nope")).await.unwrap().status(), 401);
    assert_eq!(call(Some("Bearer tok")).await.unwrap().status(), 200);
    let r = s
        .client
        .get(s.url("/_emulator/ready"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "readiness stays open for orchestrators");
}

#[tokio::test]
async fn clock_advance_expires_unstored_files() {
    let s = TestServer::start(Backend::Sqlite).await;
    let file = s.upload(PUB, "a.txt", b"x".to_vec()).await;
    let info = || {
        s.client
            .get(s.url("/info/"))
            .query(&[("pub_key", PUB), ("file_id", file.as_str())])
            .send()
    };
    assert_eq!(info().await.unwrap().status(), 200);
    let r = s
        .client
        .post(s.url("/_emulator/clock/advance"))
        .json(&json!({"seconds": 25 * 3600}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(info().await.unwrap().status(), 404);
    let r = s
        .client
        .post(s.url("/_emulator/clock/advance"))
        .json(&json!({"seconds": -5}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}

per_backend!(throttle_fault_answers_like_production_then_clears);
async fn throttle_fault_answers_like_production_then_clears(backend: Backend) {
    let s = TestServer::start(backend).await;
    let r = s
        .client
        .post(s.url("/_emulator/faults"))
        .json(&json!({"kind": "throttle", "count": 2, "api": "upload", "retry_after": 3}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let info = |q: &'static str| {
        s.client
            .get(s.url(&format!("/info/?pub_key={PUB}&file_id=x{q}")))
            .send()
    };
    let r = info("").await.unwrap();
    assert_eq!(r.headers()["retry-after"], "3");
    let r = Answer::of(r).await;
    assert_eq!(
        (r.status, r.content_type.as_str(), r.body.as_str()),
        (429, "text/plain; charset=utf-8", "Request was throttled.")
    );
    let r = Answer::of(info("&jsonerrors=1").await.unwrap()).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.body,
        r#"{"error": {"content": "Request was throttled.", "status_code": 429, "error_code": "RequestThrottledError"}}"#
    );
    // Used up: the real answer comes back.
    let r = Answer::of(info("").await.unwrap()).await;
    assert_eq!((r.status, r.body.as_str()), (400, "file_id is invalid."));
}

#[tokio::test]
async fn rest_and_per_request_faults() {
    let s = TestServer::start(Backend::Sqlite).await;
    s.client
        .post(s.url("/_emulator/faults"))
        .json(&json!({"kind": "throttle", "api": "rest", "pub_key": PUB, "retry_after": 10}))
        .send()
        .await
        .unwrap();
    // Another project's calls are not affected.
    let r = s
        .client
        .get(s.url("/groups/"))
        .header(
            "Authorization",
            format!("Uploadcare.Simple {OTHER_PUB}:{OTHER_SECRET}"),
        )
        .send()
        .await
        .unwrap();
    assert_ne!(r.status(), 429);
    let r = s
        .client
        .get(s.url("/groups/"))
        .header("Authorization", format!("Uploadcare.Simple {PUB}:{SECRET}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["retry-after"], "10");
    let r = Answer::of(r).await;
    assert_eq!(r.status, 429);
    assert_eq!(r.content_type, "application/vnd.uploadcare-v0.7+json");
    assert_eq!(
        r.body,
        r#"{"detail":"Request was throttled. Expected available in 10 seconds."}"#
    );
    let r = Answer::of(
        s.client
            .get(s.url("/info/"))
            .header("X-Emulator-Fault", "error")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((r.status, r.body.as_str()), (500, "Internal error."));
    let started = std::time::Instant::now();
    let r = s
        .client
        .get(s.url("/_emulator/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = s
        .client
        .get(s.url("/info/"))
        .header("X-Emulator-Fault", "delay=300")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(started.elapsed() >= std::time::Duration::from_millis(300));
    let r = s
        .client
        .delete(s.url("/_emulator/faults"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
}

per_backend!(seed_folder_gives_known_uuids_and_groups);
async fn seed_folder_gives_known_uuids_and_groups(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.png"), png(3, 2)).unwrap();
    std::fs::write(dir.path().join("b.txt"), b"hello").unwrap();
    std::fs::write(
        dir.path().join("seed.toml"),
        "[[groups]]\nuuid = \"11111111-2222-4333-8444-555555555555\"\nfiles = [\"a.png\", \"b.txt/-/resize/x800/\"]\n",
    )
    .unwrap();
    let seed = dir.path().to_path_buf();
    let s = TestServer::start_with(backend, |c| c.seed_dir = Some(seed)).await;
    let a = uploadcare_emulator::seed::seeded_uuid(PUB, "a.png").to_string();
    let r = Answer::of(
        s.client
            .get(s.url("/group/info/"))
            .query(&[
                ("pub_key", PUB),
                ("group_id", "11111111-2222-4333-8444-555555555555~2"),
            ])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    assert_eq!(v["files"][0]["uuid"], a.as_str());
    assert_eq!(v["files"][0]["image_info"]["width"], 3);
    assert_eq!(v["files"][1]["default_effects"], "resize/x800/");
    assert_eq!(v["files"][1]["is_stored"], true);
}

per_backend!(fixtures_load_into_a_project_at_run_time);
async fn fixtures_load_into_a_project_at_run_time(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("c.png"), png(2, 2)).unwrap();
    std::fs::write(
        dir.path().join("seed.toml"),
        "[[groups]]\nuuid = \"22222222-2222-4333-8444-555555555555\"\nfiles = [\"c.png\"]\n",
    )
    .unwrap();
    let s = TestServer::start(backend).await;
    let seed = |pub_key: &str| {
        s.client
            .post(s.url(&format!("/_emulator/projects/{pub_key}/seed")))
            .json(&json!({"dir": dir.path()}))
            .send()
    };
    let r = Answer::of(seed(OTHER_PUB).await.unwrap()).await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (201, r#"{"files":1,"groups":1}"#)
    );
    // Idempotent: nothing new the second time.
    let r = Answer::of(seed(OTHER_PUB).await.unwrap()).await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (201, r#"{"files":0,"groups":0}"#)
    );
    let r = s
        .client
        .get(s.url("/group/info/"))
        .query(&[
            ("pub_key", OTHER_PUB),
            ("group_id", "22222222-2222-4333-8444-555555555555~1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(seed("nosuch").await.unwrap().status(), 404);
    let r = s
        .client
        .post(s.url(&format!("/_emulator/projects/{PUB}/seed")))
        .json(&json!({"dir": "/nonexistent/fixtures"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}
