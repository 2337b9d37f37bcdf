//! File tags (`/files/{uuid}/tags/`, the Upload API's `tags` field, `tags` in file info) and
//! file search (`POST /files/search/`) over HTTP, on every backend: exact answers, every
//! documented error, webhooks for tag changes, and isolation between projects.

use crate::common::*;
use reqwest::Method;
use serde_json::{json, Value};

/// Uploads `name` through `/base/` with the `tags` form field; returns the uuid.
async fn upload_tagged(s: &TestServer, pub_key: &str, name: &str, tags: &str) -> String {
    let form = reqwest::multipart::Form::new()
        .text("UPLOADCARE_PUB_KEY", pub_key.to_owned())
        .text("UPLOADCARE_STORE", "1")
        .text("tags", tags.to_owned())
        .part(
            "file",
            reqwest::multipart::Part::bytes(name.as_bytes().to_vec()).file_name(name.to_owned()),
        );
    let r = s.client.post(s.url("/base/")).multipart(form).send().await;
    let a = Answer::of(r.unwrap()).await;
    assert_eq!(a.status, 200, "{}", a.body);
    a.json()["file"].as_str().unwrap().to_owned()
}

fn assert_json(a: &Answer, status: u16, body: Value) {
    assert_eq!(
        (a.status, a.content_type.as_str()),
        (status, V7),
        "{}",
        a.body
    );
    assert_eq!(a.json(), body);
}

fn assert_detail(a: &Answer, status: u16, detail: &str) {
    assert_eq!(
        (a.status, a.content_type.as_str(), a.body.as_str()),
        (status, V7, json!({ "detail": detail }).to_string().as_str())
    );
}

per_backend!(tags_are_set_on_upload_and_shown_in_file_info);
async fn tags_are_set_on_upload_and_shown_in_file_info(backend: Backend) {
    let s = TestServer::start(backend).await;
    let u = upload_tagged(&s, PUB, "a.txt", " Cat,dog,,CAT, b.w ").await;
    let tags = json!(["cat", "dog", "b.w"]);
    let a = rest(&s, PUB, V7, Method::GET, &format!("/files/{u}/tags/"), "").await;
    assert_json(&a, 200, json!({ "tags": tags }));
    let info = rest(&s, PUB, V7, Method::GET, &format!("/files/{u}/"), "").await;
    assert_eq!(info.json()["tags"], tags);
    let list = rest(&s, PUB, V7, Method::GET, "/files/", "").await;
    assert_eq!(list.json()["results"][0]["tags"], tags);
    // Untagged files show `[]`; v0.6 file objects have no `tags`.
    let plain = s.upload(PUB, "b.txt", b"b".to_vec()).await;
    let info = rest(&s, PUB, V7, Method::GET, &format!("/files/{plain}/"), "").await;
    assert_eq!(info.json()["tags"], json!([]));
    let old = rest(&s, PUB, V6, Method::GET, &format!("/files/{u}/"), "").await;
    assert_eq!(old.json().get("tags"), None);
    // The Upload API's own file info does not report tags (the docs).
    let r = s
        .client
        .get(s.url(&format!("/info/?pub_key={PUB}&file_id={u}")))
        .send()
        .await
        .unwrap();
    assert_eq!(Answer::of(r).await.json().get("tags"), None);
}

per_backend!(upload_tags_that_break_the_rules_are_refused);
async fn upload_tags_that_break_the_rules_are_refused(backend: Backend) {
    let s = TestServer::start(backend).await;
    let many: Vec<String> = (0..51).map(|i| format!("t{i}")).collect();
    let cases = [
        (
            "cat,a+b".to_owned(),
            "Tag `a+b` is not valid. Tags are limited to 100 characters and may contain Latin letters, digits, `-`, `_` and `.` only.",
        ),
        (many.join(","), "Too many tags: 51 (max 50)."),
    ];
    for (tags, message) in cases {
        let make = |extra: &[(&str, &str)]| {
            let form = reqwest::multipart::Form::new()
                .text("UPLOADCARE_PUB_KEY", PUB)
                .text("tags", tags.clone())
                .part(
                    "file",
                    reqwest::multipart::Part::bytes(b"x".to_vec()).file_name("x.txt"),
                );
            s.client.post(s.url("/base/")).query(extra).multipart(form)
        };
        assert_error(make, 400, "UploadViewsError", message).await;
    }
    // Nothing was written.
    let list = rest(&s, PUB, V7, Method::GET, "/files/", "").await;
    assert_eq!(list.json()["total"], 0);
}

per_backend!(put_and_patch_change_tags_as_documented);
async fn put_and_patch_change_tags_as_documented(backend: Backend) {
    let s = TestServer::start(backend).await;
    let u = s.upload(PUB, "a.txt", b"a".to_vec()).await;
    let path = format!("/files/{u}/tags/");
    let put = |body: &'static str| rest(&s, PUB, V7, Method::PUT, &path, body);
    assert_json(
        &put(r#"{"tags": ["Zeta", "alpha", "mid", "alpha"]}"#).await,
        200,
        json!({"tags": ["zeta", "alpha", "mid"], "added": ["alpha", "mid", "zeta"], "deleted": []}),
    );
    // The same set in another order and case changes nothing.
    assert_json(
        &put(r#"{"tags": ["MID", "zeta", "alpha"]}"#).await,
        200,
        json!({"tags": ["zeta", "alpha", "mid"], "added": [], "deleted": []}),
    );
    assert_json(
        &put(r#"{"tags": ["mid", "new"]}"#).await,
        200,
        json!({"tags": ["mid", "new"], "added": ["new"], "deleted": ["alpha", "zeta"]}),
    );
    let patch = |body: &'static str| rest(&s, PUB, V7, Method::PATCH, &path, body);
    // Delete first, then add: `mid` is deleted and added again, at the end.
    assert_json(
        &patch(r#"{"add": ["x", "new", "mid"], "delete": ["mid", "absent"]}"#).await,
        200,
        json!({"tags": ["new", "x", "mid"], "added": ["x", "mid"], "deleted": ["mid"]}),
    );
    assert_json(
        &patch("{}").await,
        200,
        json!({"tags": ["new", "x", "mid"], "added": [], "deleted": []}),
    );
    assert_json(
        &put(r#"{"tags": []}"#).await,
        200,
        json!({"tags": [], "added": [], "deleted": ["mid", "new", "x"]}),
    );
    let a = rest(&s, PUB, V7, Method::GET, &path, "").await;
    assert_json(&a, 200, json!({ "tags": [] }));
}

per_backend!(tag_errors_answer_exactly_and_write_nothing);
async fn tag_errors_answer_exactly_and_write_nothing(backend: Backend) {
    let s = TestServer::start(backend).await;
    let u = upload_tagged(&s, PUB, "a.txt", "keep").await;
    let path = format!("/files/{u}/tags/");
    let invalid = "Tag `a b` is not valid. Tags are limited to 100 characters and may contain Latin letters, digits, `-`, `_` and `.` only.";
    let long = "x".repeat(101);
    let invalid_long = format!("Tag `{long}` is not valid. Tags are limited to 100 characters and may contain Latin letters, digits, `-`, `_` and `.` only.");
    let fifty: Vec<String> = (0..50).map(|i| format!("t{i}")).collect();
    let fifty_one: Vec<String> = (0..51).map(|i| format!("t{i}")).collect();
    let cases: Vec<(Method, String, String)> = vec![
        (
            Method::PUT,
            "{}".into(),
            "`tags` must be a list of strings.".into(),
        ),
        (
            Method::PUT,
            "[]".into(),
            "`tags` must be a list of strings.".into(),
        ),
        (
            Method::PUT,
            "not json".into(),
            "`tags` must be a list of strings.".into(),
        ),
        (
            Method::PUT,
            r#"{"tags": null}"#.into(),
            "`tags` must be a list of strings.".into(),
        ),
        (
            Method::PUT,
            r#"{"tags": "cat"}"#.into(),
            "`tags` must be a list of strings.".into(),
        ),
        (
            Method::PUT,
            r#"{"tags": ["cat", 1]}"#.into(),
            "`tags` must be a list of strings.".into(),
        ),
        (Method::PUT, r#"{"tags": ["a b"]}"#.into(), invalid.into()),
        (
            Method::PUT,
            json!({ "tags": [long] }).to_string(),
            invalid_long.clone(),
        ),
        (
            Method::PUT,
            json!({ "tags": fifty_one }).to_string(),
            "Too many tags: 51 (max 50).".into(),
        ),
        (
            Method::PATCH,
            r#"{"add": "cat"}"#.into(),
            "`add` must be a list of strings.".into(),
        ),
        (
            Method::PATCH,
            r#"{"delete": {}}"#.into(),
            "`delete` must be a list of strings.".into(),
        ),
        (
            Method::PATCH,
            r#"{"add": ["ok"], "delete": ["a b"]}"#.into(),
            invalid.into(),
        ),
        (
            Method::PATCH,
            json!({ "add": fifty }).to_string(),
            "Too many tags: 51 (max 50).".into(),
        ),
    ];
    for (method, body, detail) in cases {
        let a = rest(&s, PUB, V7, method.clone(), &path, &body).await;
        assert_detail(&a, 400, &detail);
    }
    let a = rest(&s, PUB, V7, Method::GET, &path, "").await;
    assert_json(&a, 200, json!({ "tags": ["keep"] }));
    // Unknown, malformed, other projects' and removed files: 404.
    let removed = s.upload(PUB, "r.txt", b"r".to_vec()).await;
    let del = rest(
        &s,
        PUB,
        V7,
        Method::DELETE,
        &format!("/files/{removed}/storage/"),
        "",
    )
    .await;
    assert_eq!(del.status, 200);
    let unknown = uuid::Uuid::new_v4();
    for (key, target) in [
        (PUB, unknown.to_string()),
        (PUB, "not-a-uuid".to_owned()),
        (OTHER_PUB, u.clone()),
        (PUB, removed),
    ] {
        for (method, body) in [
            (Method::GET, ""),
            (Method::PUT, r#"{"tags": ["x"]}"#),
            (Method::PATCH, r#"{"add": ["x"]}"#),
        ] {
            let a = rest(&s, key, V7, method, &format!("/files/{target}/tags/"), body).await;
            assert_eq!(
                (a.status, a.body.as_str()),
                (404, NOT_FOUND),
                "{key} {target}"
            );
        }
    }
    let a = rest(&s, PUB, V7, Method::GET, &path, "").await;
    assert_json(&a, 200, json!({ "tags": ["keep"] }));
    let a = rest(&s, PUB, V7, Method::DELETE, &path, "").await;
    assert_detail(&a, 405, "Method \"DELETE\" not allowed.");
}

per_backend!(tag_changes_send_file_info_updated);
async fn tag_changes_send_file_info_updated(backend: Backend) {
    let s = TestServer::start(backend).await;
    let receiver = Receiver::start().await;
    let hook = json!({"target_url": receiver.url("/hook"), "event": "file.info_updated"});
    let a = rest(&s, PUB, V7, Method::POST, "/webhooks/", &hook.to_string()).await;
    assert_eq!(a.status, 201, "{}", a.body);
    let u = upload_tagged(&s, PUB, "a.txt", "old").await;
    let path = format!("/files/{u}/tags/");
    let a = rest(
        &s,
        PUB,
        V7,
        Method::PUT,
        &path,
        r#"{"tags": ["old", "new"]}"#,
    )
    .await;
    assert_eq!(a.status, 200);
    // A call that changes nothing sends nothing.
    let a = rest(&s, PUB, V7, Method::PATCH, &path, r#"{"add": ["new"]}"#).await;
    assert_eq!(a.status, 200);
    let r = s
        .client
        .post(s.url("/_emulator/webhooks/flush"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let bodies = receiver.bodies("/hook");
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    assert_eq!(bodies[0]["hook"]["event"], "file.info_updated");
    assert_eq!(bodies[0]["data"]["tags"], json!(["old", "new"]));
    assert_eq!(bodies[0]["previous_values"], json!({"tags": ["old"]}));
}
