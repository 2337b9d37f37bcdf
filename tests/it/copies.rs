//! `POST /files/local_copy/` and `POST /files/remote_copy/` over HTTP on both backends: the
//! copy holds the processed bytes of the CDN pipeline, `store` and `metadata` are honoured,
//! remote copies land in the project's named storage under their `pattern` with
//! `make_public`, every documented error has its exact answer, a local copy fires
//! `file.uploaded` naming its source, and one project never copies another's files or
//! writes to another's storage.

use reqwest::Method;
use serde_json::{json, Value};
use uploadcare_emulator::config::{StorageConfig, StorageTarget};

use crate::common::*;

async fn copy(s: &TestServer, pub_key: &str, body: &Value) -> Answer {
    rest(
        s,
        pub_key,
        V7,
        Method::POST,
        "/files/local_copy/",
        &body.to_string(),
    )
    .await
}

/// Asserts a 201 copy answer in production's immediate shape (`size` 0, unknown type, no
/// `content_info`) and returns its `result`.
fn created(a: &Answer) -> Value {
    assert_eq!((a.status, a.content_type.as_str()), (201, V7), "{}", a.body);
    let v = a.json();
    assert_eq!(v["type"], "file", "{v}");
    assert_eq!(v.as_object().unwrap().len(), 2, "{v}");
    let r = &v["result"];
    assert_eq!(
        (
            &r["size"],
            &r["mime_type"],
            &r["is_image"],
            &r["content_info"],
            &r["is_ready"]
        ),
        (
            &json!(0),
            &json!("application/octet-stream"),
            &json!(false),
            &Value::Null,
            &json!(true)
        ),
        "{v}"
    );
    v["result"].clone()
}

fn assert_detail(a: &Answer, status: u16, detail: &str) {
    let body = json!({ "detail": detail }).to_string();
    assert_eq!(
        (a.status, a.content_type.as_str(), a.body.as_str()),
        (status, V7, body.as_str())
    );
}

async fn cdn_bytes(s: &TestServer, path: &str) -> (u16, Vec<u8>) {
    let r = s.client.get(s.url(path)).send().await.unwrap();
    (r.status().as_u16(), r.bytes().await.unwrap().to_vec())
}

async fn file_info(s: &TestServer, pub_key: &str, uuid: &str) -> Answer {
    let uri = format!("/files/{uuid}/");
    rest(s, pub_key, V7, Method::GET, &uri, "").await
}

async fn processed_copy_is_a_new_file(backend: Backend) {
    let s = TestServer::start(backend).await;
    let src = s.upload(PUB, "roof.png", png(40, 20)).await;
    let body = json!({
        "source": format!("{src}/-/resize/10x/-/format/png/"),
        "store": true,
        "metadata": {"subsystem": "uploader", "pet": "cat"},
    });
    let r = s
        .client
        .post(s.url("/files/local_copy/"))
        .header("Accept", V7)
        .header("Authorization", format!("Uploadcare.Simple {PUB}:{SECRET}"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    let result = created(&Answer::of(r).await);
    let uuid = result["uuid"].as_str().unwrap().to_owned();
    assert_ne!(uuid, src);
    assert_eq!(location, s.url(&format!("/files/{uuid}/")));
    assert_eq!(result["url"], location);
    assert_eq!(result["original_filename"], "roof.png");
    assert_eq!(
        result["metadata"],
        json!({"subsystem": "uploader", "pet": "cat"})
    );
    assert!(result["datetime_stored"].is_string(), "{result}");
    assert_eq!(result["datetime_removed"], Value::Null);
    // The copy's bytes are the CDN's processed variant, and file info says the same.
    let (status, bytes) = cdn_bytes(&s, &format!("/{uuid}/")).await;
    assert_eq!(status, 200);
    let img = image::load_from_memory(&bytes).unwrap();
    assert_eq!((img.width(), img.height()), (10, 5));
    let (_, variant) = cdn_bytes(&s, &format!("/{src}/-/resize/10x/-/format/png/")).await;
    assert_eq!(bytes, variant);
    let info = file_info(&s, PUB, &uuid).await;
    assert_eq!(info.status, 200);
    let mut finished = result.clone();
    finished["size"] = json!(bytes.len());
    finished["mime_type"] = json!("image/png");
    finished["is_image"] = json!(true);
    finished["content_info"] = info.json()["content_info"].clone();
    assert_eq!(info.json(), finished);
    assert_eq!(finished["content_info"]["image"]["width"], 10);
    assert_eq!(finished["content_info"]["image"]["height"], 5);
    // The source is unchanged.
    let src_info = file_info(&s, PUB, &src).await.json();
    assert_eq!(src_info["content_info"]["image"]["width"], 40);
}
per_backend!(processed_copy_is_a_new_file);

async fn plain_copies_and_cdn_urls(backend: Backend) {
    let s = TestServer::start(backend).await;
    let src = s.upload(PUB, "notes.txt", b"hello copies".to_vec()).await;
    // A bare uuid: the same bytes; `store` defaults to false.
    let result = created(&copy(&s, PUB, &json!({ "source": src })).await);
    let uuid = result["uuid"].as_str().unwrap();
    assert_eq!(result["datetime_stored"], Value::Null);
    assert_eq!(result["metadata"], json!({}));
    let info = file_info(&s, PUB, uuid).await.json();
    assert_eq!(
        (&info["size"], &info["mime_type"]),
        (&json!(12), &json!("text/plain"))
    );
    assert_eq!(
        cdn_bytes(&s, &format!("/{uuid}/")).await,
        (200, b"hello copies".to_vec())
    );
    // `store` as the reference's strings.
    let result = created(&copy(&s, PUB, &json!({"source": src, "store": "true"})).await);
    assert!(result["datetime_stored"].is_string());
    let result = created(&copy(&s, PUB, &json!({"source": src, "store": "false"})).await);
    assert_eq!(result["datetime_stored"], Value::Null);
    // A CDN URL of any host, with operations and a file name; a path with a leading slash.
    let img = s.upload(PUB, "pic.png", png(8, 8)).await;
    let url = format!("https://ucarecdn.com/{img}/-/grayscale/-/flip/pic.png");
    let result = created(&copy(&s, PUB, &json!({ "source": url })).await);
    assert_eq!(result["original_filename"], "pic.png");
    let processed = cdn_bytes(&s, &format!("/{img}/-/grayscale/-/flip/")).await;
    let copied = cdn_bytes(&s, &format!("/{}/", result["uuid"].as_str().unwrap())).await;
    assert_eq!(copied, processed);
    let (_, original) = cdn_bytes(&s, &format!("/{img}/")).await;
    assert_ne!(copied.1, original);
    let result = created(&copy(&s, PUB, &json!({ "source": format!("/{img}/") })).await);
    let plain = cdn_bytes(&s, &format!("/{}/", result["uuid"].as_str().unwrap())).await;
    assert_eq!(plain, (200, original));
    // A copy of a copy.
    let first = created(&copy(&s, PUB, &json!({ "source": img })).await);
    let second = created(&copy(&s, PUB, &json!({ "source": first["uuid"] })).await);
    let first = file_info(&s, PUB, first["uuid"].as_str().unwrap())
        .await
        .json();
    let second = file_info(&s, PUB, second["uuid"].as_str().unwrap())
        .await
        .json();
    assert_eq!(
        (&second["size"], &second["content_info"]),
        (&first["size"], &first["content_info"])
    );
}
per_backend!(plain_copies_and_cdn_urls);

async fn bad_input_gets_production_answers(backend: Backend) {
    let s = TestServer::start(backend).await;
    let img = s.upload(PUB, "pic.png", png(8, 8)).await;
    let txt = s.upload(PUB, "a.txt", b"text".to_vec()).await;
    let post = |body: &'static str| rest(&s, PUB, V7, Method::POST, "/files/local_copy/", body);
    let required = "`source` parameter is required.";
    assert_detail(&post("not json").await, 400, required);
    assert_detail(&post("[1]").await, 400, required);
    assert_detail(&post("{}").await, 400, required);
    assert_detail(&post(r#"{"source": null}"#).await, 400, required);
    assert_detail(&post(r#"{"source": " "}"#).await, 400, required);
    let bad = "Bad `source` parameter. Use UUID or CDN URL.";
    for source in [
        json!(42),
        json!("nope"),
        json!("d6d34fa9-addd-472c-868d-2e5c105f9fcd"),
        json!(format!("{img}~1")),
        json!(format!("{img}/-/bogus/")),
        json!(format!("{img}/-/resize/abc/")),
        json!(format!("{img}/-/json/")),
        json!(format!("{txt}/-/resize/10x/")),
    ] {
        let a = copy(&s, PUB, &json!({ "source": source })).await;
        assert_detail(&a, 400, bad);
    }
    let store = "`store` parameter should be `true` or `false`.";
    for value in [json!("yes"), json!(1), json!("True")] {
        assert_detail(
            &copy(&s, PUB, &json!({"source": img, "store": value})).await,
            400,
            store,
        );
    }
    let meta = "`metadata` parameter should be an object of strings.";
    for value in [json!("x"), json!([1]), json!({"k": 1})] {
        assert_detail(
            &copy(&s, PUB, &json!({"source": img, "metadata": value})).await,
            400,
            meta,
        );
    }
    let a = copy(
        &s,
        PUB,
        &json!({"source": img, "metadata": {"bad key": "v"}}),
    )
    .await;
    assert_eq!((a.status, a.content_type.as_str()), (400, V7));
    assert!(
        a.json()["detail"].as_str().unwrap().contains("bad key"),
        "{}",
        a.body
    );
    // Operations the emulator cannot apply say so; the copy is not made.
    let a = copy(&s, PUB, &json!({"source": format!("{img}/-/trim/")})).await;
    assert_eq!((a.status, a.content_type.as_str()), (400, V7));
    assert!(
        a.json()["detail"]
            .as_str()
            .unwrap()
            .starts_with("The emulator cannot make this copy: The emulator does not implement operation \"trim\""),
        "{}",
        a.body
    );
    // A removed file is not copied; nothing was written by any failed call.
    let del = rest(
        &s,
        PUB,
        V7,
        Method::DELETE,
        &format!("/files/{img}/storage/"),
        "",
    )
    .await;
    assert_eq!(del.status, 200);
    assert_detail(&copy(&s, PUB, &json!({ "source": img })).await, 400, bad);
    let list = rest(&s, PUB, V7, Method::GET, "/files/?removed=false", "").await;
    assert_eq!(list.json()["total"], 1, "{}", list.body);
}
per_backend!(bad_input_gets_production_answers);

async fn projects_are_isolated(backend: Backend) {
    let s = TestServer::start(backend).await;
    let mine = s.upload(PUB, "pic.png", png(4, 4)).await;
    let theirs = s.upload(OTHER_PUB, "pic.png", png(4, 4)).await;
    let bad = "Bad `source` parameter. Use UUID or CDN URL.";
    assert_detail(
        &copy(&s, OTHER_PUB, &json!({ "source": mine })).await,
        400,
        bad,
    );
    assert_detail(&copy(&s, PUB, &json!({ "source": theirs })).await, 400, bad);
    let result = created(&copy(&s, OTHER_PUB, &json!({ "source": theirs })).await);
    let uuid = result["uuid"].as_str().unwrap();
    assert_eq!(file_info(&s, PUB, uuid).await.body, NOT_FOUND);
    assert_eq!(file_info(&s, OTHER_PUB, uuid).await.status, 200);
}
per_backend!(projects_are_isolated);

async fn a_copy_fires_file_uploaded(backend: Backend) {
    let s = TestServer::start(backend).await;
    let receiver = Receiver::start().await;
    for event in ["file.uploaded", "file.stored"] {
        let hook = json!({"target_url": receiver.url("/h"), "event": event});
        let a = rest(&s, PUB, V7, Method::POST, "/webhooks/", &hook.to_string()).await;
        assert_eq!(a.status, 201, "{}", a.body);
    }
    let src = s.upload(PUB, "pic.png", png(4, 4)).await;
    let flush = || async {
        let r = s
            .client
            .post(s.url("/_emulator/webhooks/flush"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    };
    flush().await;
    let before = receiver.bodies("/h").len();
    let result = created(&copy(&s, PUB, &json!({"source": src, "store": true})).await);
    flush().await;
    let bodies = receiver.bodies("/h");
    let new: Vec<&Value> = bodies[before..].iter().collect();
    assert_eq!(new.len(), 2, "{new:?}");
    let events: Vec<&str> = new
        .iter()
        .map(|b| b["hook"]["event"].as_str().unwrap())
        .collect();
    assert_eq!(events, ["file.uploaded", "file.stored"]);
    for b in new {
        assert_eq!(b["data"]["uuid"], result["uuid"]);
        assert_eq!(b["initiator"]["type"], "api");
        assert_eq!(b["initiator"]["detail"]["source_file_uuid"], src.as_str());
        assert_eq!(b["initiator"]["detail"]["addon_name"], Value::Null);
    }
}
per_backend!(a_copy_fires_file_uploaded);

/// A server whose projects have custom storages: `mytarget` (bucket `mybucket`) and
/// `second` of the test project, `theirs` of the other project, each a directory.
async fn with_storages(backend: Backend) -> (TestServer, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let s = TestServer::start_with(backend, move |c| {
        let storage = |pub_key: &str, name: &str, bucket: Option<&str>, pattern: Option<&str>| {
            StorageConfig {
                pub_key: pub_key.into(),
                name: name.into(),
                target: StorageTarget::Directory(root.join(name)),
                bucket: bucket.map(Into::into),
                pattern: pattern.map(Into::into),
            }
        };
        c.storages = vec![
            storage(PUB, "mytarget", Some("mybucket"), None),
            storage(PUB, "second", None, Some("flat/${uuid}${ext}")),
            storage(OTHER_PUB, "theirs", None, None),
        ];
    })
    .await;
    (s, dir)
}

async fn remote(s: &TestServer, pub_key: &str, body: &Value) -> Answer {
    rest(
        s,
        pub_key,
        V7,
        Method::POST,
        "/files/remote_copy/",
        &body.to_string(),
    )
    .await
}

async fn remote_copies_land_in_the_named_storage(backend: Backend) {
    let (s, dir) = with_storages(backend).await;
    let img = s.upload(PUB, "roof.png", png(20, 10)).await;
    let url = |r: &Answer| -> String {
        assert_eq!(r.content_type, V7, "{}", r.body);
        let v = r.json();
        assert_eq!(
            (v["type"].as_str(), v.as_object().unwrap().len()),
            (Some("url"), 2),
            "{v}"
        );
        v["result"].as_str().unwrap().to_owned()
    };
    // The default pattern: `${uuid}/${filename}${effects}${ext}`.
    let a = remote(&s, PUB, &json!({"source": img, "target": "mytarget"})).await;
    assert_eq!(a.status, 201, "{}", a.body);
    assert_eq!(url(&a), format!("s3://mybucket/{img}/roof.png"));
    let written = std::fs::read(dir.path().join(format!("mytarget/{img}/roof.png"))).unwrap();
    assert_eq!(written, cdn_bytes(&s, &format!("/{img}/")).await.1);
    // Again: the object exists, production's 200, nothing rewritten.
    let a = remote(&s, PUB, &json!({"source": img, "target": "mytarget"})).await;
    assert_eq!(
        (a.status, url(&a)),
        (200, format!("s3://mybucket/{img}/roof.png"))
    );
    // Operations are applied and named by `${effects}`; `pattern` and `make_public` honoured.
    let body = json!({
        "source": format!("{img}/-/resize/10x/"),
        "target": "mytarget",
        "pattern": "${uuid}/${auto_filename}",
        "make_public": false,
    });
    let a = remote(&s, PUB, &body).await;
    assert_eq!(
        (a.status, url(&a)),
        (201, format!("s3://mybucket/{img}/roof-/resize/10x/.png"))
    );
    let path = dir
        .path()
        .join(format!("mytarget/{img}/roof-/resize/10x/.png"));
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(image::load_from_memory(&bytes).unwrap().width(), 10);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let public = dir.path().join(format!("mytarget/{img}/roof.png"));
        let mode = std::fs::metadata(&public).unwrap().permissions().mode() & 0o777;
        assert_eq!(
            mode & 0o004,
            0o004,
            "make_public (default true) is world-readable"
        );
    }
    // A storage's own pattern; its bucket defaults to its name.
    let a = remote(&s, PUB, &json!({"source": img, "target": "second"})).await;
    assert_eq!(
        (a.status, url(&a)),
        (201, format!("s3://second/flat/{img}.png"))
    );
}
per_backend!(remote_copies_land_in_the_named_storage);

async fn remote_copy_errors_and_isolation(backend: Backend) {
    let (s, dir) = with_storages(backend).await;
    let img = s.upload(PUB, "roof.png", png(4, 4)).await;
    let theirs = s.upload(OTHER_PUB, "x.png", png(4, 4)).await;
    let unknown = "Project has no storage with provided name.";
    for body in [
        json!({"source": img}),
        json!({"source": img, "target": "nope"}),
        json!({"source": img, "target": 3}),
        json!({"source": img, "target": "theirs"}),
    ] {
        assert_detail(&remote(&s, PUB, &body).await, 400, unknown);
    }
    assert_detail(
        &remote(&s, OTHER_PUB, &json!({"source": img, "target": "theirs"})).await,
        400,
        "Bad `source` parameter. Use UUID or CDN URL.",
    );
    assert_detail(
        &remote(&s, PUB, &json!({"source": theirs, "target": "mytarget"})).await,
        400,
        "Bad `source` parameter. Use UUID or CDN URL.",
    );
    assert_detail(
        &remote(&s, PUB, &json!({"target": "mytarget"})).await,
        400,
        "`source` parameter is required.",
    );
    assert_detail(
        &remote(
            &s,
            PUB,
            &json!({"source": img, "target": "mytarget", "pattern": "${nope}"}),
        )
        .await,
        400,
        "Invalid pattern provided: `${nope}`",
    );
    for pattern in ["../${uuid}", "/abs", "a\\b"] {
        let a = remote(
            &s,
            PUB,
            &json!({"source": img, "target": "mytarget", "pattern": pattern}),
        )
        .await;
        assert_detail(
            &a,
            400,
            "Invalid pattern provided: Invalid character in a pattern.",
        );
    }
    let a = remote(
        &s,
        PUB,
        &json!({"source": img, "target": "mytarget", "make_public": "maybe"}),
    )
    .await;
    assert_detail(
        &a,
        400,
        "`make_public` parameter should be `true` or `false`.",
    );
    // Nothing was written by any refused call, and nothing outside the storages.
    assert!(
        files_under(dir.path()).is_empty(),
        "{:?}",
        files_under(dir.path())
    );
    let a = remote(
        &s,
        OTHER_PUB,
        &json!({"source": theirs, "target": "theirs"}),
    )
    .await;
    assert_eq!(a.status, 201, "{}", a.body);
    assert_eq!(files_under(&dir.path().join("theirs")).len(), 1);
}
per_backend!(remote_copy_errors_and_isolation);
