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

/// Uploads through `/base/` with tags and metadata; returns the uuid.
async fn upload_with(
    s: &TestServer,
    pub_key: &str,
    (name, bytes): (&str, Vec<u8>),
    tags: &str,
    metadata: &[(&str, &str)],
) -> String {
    let mut form = reqwest::multipart::Form::new()
        .text("UPLOADCARE_PUB_KEY", pub_key.to_owned())
        .text("UPLOADCARE_STORE", "1")
        .text("tags", tags.to_owned());
    for (k, v) in metadata {
        form = form.text(format!("metadata[{k}]"), (*v).to_owned());
    }
    let form = form.part(
        "file",
        reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned()),
    );
    let r = s.client.post(s.url("/base/")).multipart(form).send().await;
    let a = Answer::of(r.unwrap()).await;
    assert_eq!(a.status, 200, "{}", a.body);
    a.json()["file"].as_str().unwrap().to_owned()
}

async fn search(s: &TestServer, pub_key: &str, query: &str, body: Value) -> Answer {
    let uri = format!("/files/search/{query}");
    rest(s, pub_key, V7, Method::POST, &uri, &body.to_string()).await
}

/// The uuids of a search's results, after checking the answer is a 200 list.
async fn found(s: &TestServer, pub_key: &str, body: Value) -> Vec<String> {
    let a = search(s, pub_key, "", body.clone()).await;
    assert_eq!(
        (a.status, a.content_type.as_str()),
        (200, V7),
        "{body}: {}",
        a.body
    );
    let v = a.json();
    let ids: Vec<String> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["uuid"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(v["total"], ids.len(), "{body}");
    ids
}

per_backend!(search_filters_select_exactly_the_matching_files);
async fn search_filters_select_exactly_the_matching_files(backend: Backend) {
    let s = TestServer::start(backend).await;
    let a = upload_with(
        &s,
        PUB,
        ("vacation-beach.png", png(4, 3)),
        "beach,summer",
        &[("trip", "Hawaii VACATION")],
    )
    .await;
    let b = upload_with(
        &s,
        PUB,
        ("report-2024.txt", b"quarterly".to_vec()),
        "work",
        &[("dept", "finance")],
    )
    .await;
    let c = upload_with(
        &s,
        PUB,
        ("vacation-notes.txt", b"x".to_vec()),
        "summer,work",
        &[],
    )
    .await;
    let other = upload_with(
        &s,
        OTHER_PUB,
        ("vacation-other.txt", b"o".to_vec()),
        "beach",
        &[],
    )
    .await;
    let by_upload = json!(["datetime_uploaded"]);

    // Full text: two fields of `a` match, one of `c`: `a` first by score.
    let r = search(&s, PUB, "", json!({"query": "Vacation"})).await;
    assert_eq!((r.status, r.content_type.as_str()), (200, V7), "{}", r.body);
    let v = r.json();
    assert_eq!(v["total"], 2);
    assert_eq!(v["per_page"], 20);
    assert_eq!(
        (v["next"].clone(), v["previous"].clone()),
        (Value::Null, Value::Null)
    );
    assert_eq!(v["results"][0]["uuid"], a.as_str());
    assert_eq!(v["results"][1]["uuid"], c.as_str());
    assert_eq!(
        v["results"][0]["highlight"],
        json!({
            "original_filename": ["<em>vacation</em>-beach.png"],
            "metadata": {"trip": "Hawaii <em>VACATION</em>"}
        })
    );
    assert_eq!(v["results"][0]["tags"], json!(["beach", "summer"]));
    assert_eq!(
        v["results"][0]["metadata"],
        json!({"trip": "Hawaii VACATION"})
    );
    // The whole file object is the REST one, plus `highlight`.
    let info = rest(&s, PUB, V7, Method::GET, &format!("/files/{a}/"), "").await;
    let mut with_highlight = info.json();
    with_highlight["highlight"] = v["results"][0]["highlight"].clone();
    assert_eq!(v["results"][0], with_highlight);

    let cases = [
        (
            json!({"query": "vacation", "sort": ["original_filename"]}),
            vec![&a, &c],
        ),
        (json!({"query": c.clone()}), vec![&c]),
        (json!({"phrase": {"metadata": "hawaii"}}), vec![&a]),
        (json!({"phrase": {"original_filename": "REPORT"}}), vec![&b]),
        (
            json!({"phrase": {"detected_mime_type": "image/"}}),
            vec![&a],
        ),
        (
            json!({"tags": {"any": ["beach", "WORK"]}, "sort": by_upload}),
            vec![&a, &b, &c],
        ),
        (json!({"tags": {"all": ["summer", "work"]}}), vec![&c]),
        (json!({"tags": {"none": ["summer"]}}), vec![&b]),
        (json!({"tags": {"any": ["nothing"]}}), vec![]),
        (
            json!({"exact": {"original_filename": ["report-2024.txt"]}}),
            vec![&b],
        ),
        (
            json!({"exact": {"detected_mime_type": ["image/png", "x/y"]}}),
            vec![&a],
        ),
        (
            json!({"exact": {"uuid": [c.clone(), other.clone()]}}),
            vec![&c],
        ),
        (json!({"exact": {"metadata[dept]": ["finance"]}}), vec![&b]),
        (json!({"exact": {"metadata[dept]": ["FINANCE"]}}), vec![]),
        (json!({"is_image": true}), vec![&a]),
        (json!({"is_image": false, "sort": ["-size"]}), vec![&b, &c]),
        (json!({"size": {"gte": 1, "lt": 9}}), vec![&c]),
        (
            json!({"size": {"gt": 0}, "sort": ["size"]}),
            vec![&c, &b, &a],
        ),
        (
            json!({"datetime_uploaded": {"gte": "2999-01-01T00:00:00Z"}}),
            vec![],
        ),
        (
            json!({"datetime_uploaded": {"lt": "2999-01-01"}, "sort": by_upload}),
            vec![&a, &b, &c],
        ),
        (
            json!({"query": "vacation", "tags": {"all": ["work"]}, "fuzziness": true}),
            vec![&c],
        ),
    ];
    for (body, want) in cases {
        let want: Vec<String> = want.into_iter().cloned().collect();
        assert_eq!(found(&s, PUB, body.clone()).await, want, "{body}");
    }
    // The other project sees its own file only.
    assert_eq!(
        found(&s, OTHER_PUB, json!({"query": "vacation"})).await,
        vec![other.clone()]
    );
    assert_eq!(
        found(&s, OTHER_PUB, json!({"tags": {"any": ["summer", "work"]}})).await,
        Vec::<String>::new()
    );
    // Removed files are not found.
    let del = rest(
        &s,
        PUB,
        V7,
        Method::DELETE,
        &format!("/files/{b}/storage/"),
        "",
    )
    .await;
    assert_eq!(del.status, 200);
    assert_eq!(
        found(&s, PUB, json!({"tags": {"any": ["work"]}})).await,
        vec![c.clone()]
    );
    // The search indexes follow later changes: metadata set, changed and deleted through the
    // REST API, and tags replaced (exact metadata, full text and tag conditions alike).
    let put = |key: &'static str, value: &'static str| {
        let uri = format!("/files/{c}/metadata/{key}/");
        let s = &s;
        async move { rest(s, PUB, V7, Method::PUT, &uri, &format!("{value:?}")).await }
    };
    assert_eq!(put("trip", "Lisbon Weekend").await.status, 201, "a new key");
    let lisbon = json!({"exact": {"metadata[trip]": ["Lisbon Weekend"]}});
    assert_eq!(found(&s, PUB, lisbon.clone()).await, vec![c.clone()]);
    assert_eq!(
        found(&s, PUB, json!({"query": "weekend"})).await,
        vec![c.clone()]
    );
    assert_eq!(put("trip", "Porto").await.status, 200);
    assert_eq!(found(&s, PUB, lisbon).await, Vec::<String>::new());
    assert_eq!(
        found(&s, PUB, json!({"query": "weekend"})).await,
        Vec::<String>::new()
    );
    assert_eq!(
        found(
            &s,
            PUB,
            json!({"exact": {"metadata[trip]": ["Porto"]}, "tags": {"all": ["summer"]}})
        )
        .await,
        vec![c.clone()]
    );
    let gone = rest(
        &s,
        PUB,
        V7,
        Method::DELETE,
        &format!("/files/{c}/metadata/trip/"),
        "",
    )
    .await;
    assert_eq!(gone.status, 204, "{}", gone.body);
    assert_eq!(
        found(&s, PUB, json!({"exact": {"metadata[trip]": ["Porto"]}})).await,
        Vec::<String>::new()
    );
    let tagged = rest(
        &s,
        PUB,
        V7,
        Method::PUT,
        &format!("/files/{c}/tags/"),
        r#"{"tags": ["autumn"]}"#,
    )
    .await;
    assert_eq!(tagged.status, 200, "{}", tagged.body);
    assert_eq!(
        found(&s, PUB, json!({"tags": {"all": ["autumn"]}})).await,
        vec![c.clone()]
    );
    assert_eq!(
        found(&s, PUB, json!({"tags": {"all": ["summer"]}})).await,
        vec![a.clone()]
    );
}

per_backend!(search_pages_follow_next_within_the_window);
async fn search_pages_follow_next_within_the_window(backend: Backend) {
    let s = TestServer::start(backend).await;
    let mut files = Vec::new();
    for i in 0..25 {
        files.push(
            upload_with(
                &s,
                PUB,
                (&format!("f{i}.txt"), vec![b'x'; i + 1]),
                "page",
                &[],
            )
            .await,
        );
    }
    let body = json!({"tags": {"all": ["page"]}, "sort": ["size"]});
    let a = search(&s, PUB, "", body.clone()).await;
    let v = a.json();
    assert_eq!(
        (v["total"].clone(), v["per_page"].clone()),
        (json!(25), json!(20))
    );
    let next = format!("{}/files/search/?limit=20&offset=20", s.base);
    assert_eq!(
        (v["next"].clone(), v["previous"].clone()),
        (json!(next), Value::Null)
    );
    let uuids = |v: &Value| -> Vec<String> {
        v["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["uuid"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(uuids(&v), files[..20].to_vec());
    let second = rest(&s, PUB, V7, Method::POST, &next, &body.to_string())
        .await
        .json();
    assert_eq!(uuids(&second), files[20..].to_vec());
    let previous = format!("{}/files/search/?limit=20&offset=0", s.base);
    assert_eq!(
        (second["next"].clone(), second["previous"].clone()),
        (Value::Null, json!(previous))
    );
    let a = search(&s, PUB, "?limit=10&offset=5&include=appdata", body.clone()).await;
    let v = a.json();
    assert_eq!(uuids(&v), files[5..15].to_vec());
    assert_eq!(v["results"][0]["appdata"], json!({}));
    assert_eq!(
        v["next"],
        format!(
            "{}/files/search/?limit=10&offset=15&include=appdata",
            s.base
        )
    );
    assert_eq!(
        v["previous"],
        format!("{}/files/search/?limit=5&offset=0&include=appdata", s.base)
    );
    // The last reachable window: 1000 at most.
    let a = search(&s, PUB, "?limit=100&offset=900", body.clone()).await;
    assert_eq!(
        (a.status, a.json()["results"].as_array().unwrap().len()),
        (200, 0)
    );
}

per_backend!(search_errors_answer_per_field);
async fn search_errors_answer_per_field(backend: Backend) {
    let s = TestServer::start(backend).await;
    let ok = json!({"is_image": true});
    let cases: Vec<(&str, Value, Value)> = vec![
        (
            "",
            json!({}),
            json!({"non_field_errors": ["At least one of `query`, `phrase`, `exact`, `datetime_uploaded`, `size`, `is_image` or `tags` is required."]}),
        ),
        (
            "",
            json!({"fuzziness": true, "sort": ["size"]}),
            json!({"non_field_errors": ["At least one of `query`, `phrase`, `exact`, `datetime_uploaded`, `size`, `is_image` or `tags` is required."]}),
        ),
        (
            "",
            json!([]),
            json!({"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}),
        ),
        (
            "",
            json!({"query": "abc"}),
            json!({"query": ["Ensure this field has at least 4 characters."]}),
        ),
        (
            "",
            json!({"query": 1234}),
            json!({"query": ["Not a valid string."]}),
        ),
        (
            "",
            json!({"query": null}),
            json!({"query": ["This field may not be null."]}),
        ),
        (
            "",
            json!({"is_image": "true"}),
            json!({"is_image": ["Must be a valid boolean."]}),
        ),
        (
            "",
            json!({"is_image": true, "fuzziness": 1}),
            json!({"fuzziness": ["Must be a valid boolean."]}),
        ),
        (
            "",
            json!({"size": {}}),
            json!({"size": {"non_field_errors": ["At least one of `gt`, `gte`, `lt`, `lte` is required."]}}),
        ),
        (
            "",
            json!({"size": {"gt": "1", "lt": -1}}),
            json!({"size": {"gt": ["A valid integer is required."], "lt": ["Ensure this value is greater than or equal to 0."]}}),
        ),
        (
            "",
            json!({"size": 5}),
            json!({"size": ["Invalid data. Expected a dictionary, but got int."]}),
        ),
        (
            "",
            json!({"datetime_uploaded": {"gte": "yesterday"}}),
            json!({"datetime_uploaded": {"gte": ["Datetime has wrong format. Use one of these formats instead: YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]."]}}),
        ),
        (
            "",
            json!({"tags": {"any": "cat"}}),
            json!({"tags": {"any": ["Expected a list of items but got type \"str\"."]}}),
        ),
        (
            "",
            json!({"tags": {"any": []}}),
            json!({"tags": {"non_field_errors": ["At least one of `any`, `all`, `none` must be a non-empty list of tags."]}}),
        ),
        (
            "",
            json!({"tags": {"all": ["a b"]}}),
            json!({"tags": {"all": ["Tag `a b` is not valid. Tags are limited to 100 characters and may contain Latin letters, digits, `-`, `_` and `.` only."]}}),
        ),
        (
            "",
            json!({"exact": {"uuid": []}}),
            json!({"exact": {"uuid": ["This list may not be empty."]}}),
        ),
        (
            "",
            json!({"exact": {"uuid": ["nope"]}}),
            json!({"exact": {"uuid": ["Must be a valid UUID."]}}),
        ),
        (
            "",
            json!({"exact": {"original_filename": ["a", 1]}}),
            json!({"exact": {"original_filename": {"1": ["Not a valid string."]}}}),
        ),
        (
            "",
            json!({"exact": {}}),
            json!({"exact": {"non_field_errors": ["`exact` requires at least one condition."]}}),
        ),
        (
            "",
            json!({"phrase": {"metadata": "ab"}}),
            json!({"phrase": {"metadata": ["Ensure this field has at least 4 characters."]}}),
        ),
        (
            "",
            json!({"phrase": {"original_filename": "abcd"}, "exact": {"original_filename": ["abcd"]}}),
            json!({"non_field_errors": ["`original_filename` cannot appear in both `phrase` and `exact`."]}),
        ),
        (
            "",
            json!({"is_image": true, "sort": ["size", "-size"]}),
            json!({"sort": ["`sort` must not contain `size` more than once, in either direction."]}),
        ),
        (
            "",
            json!({"is_image": true, "sort": ["colour"]}),
            json!({"sort": {"0": ["\"colour\" is not a valid choice."]}}),
        ),
        (
            "",
            json!({"is_image": true, "sort": ["size", "score", "original_filename", "datetime_uploaded", "-size"]}),
            json!({"sort": ["Ensure this field has no more than 4 elements."]}),
        ),
        (
            "",
            json!({"query": "ab", "is_image": 0}),
            json!({"query": ["Ensure this field has at least 4 characters."], "is_image": ["Must be a valid boolean."]}),
        ),
        (
            "?limit=101",
            ok.clone(),
            json!({"limit": ["Ensure this value is less than or equal to 100."]}),
        ),
        (
            "?limit=0",
            ok.clone(),
            json!({"limit": ["Ensure this value is greater than or equal to 1."]}),
        ),
        (
            "?limit=ten",
            ok.clone(),
            json!({"limit": ["A valid integer is required."]}),
        ),
        (
            "?offset=-1",
            ok.clone(),
            json!({"offset": ["Ensure this value is greater than or equal to 0."]}),
        ),
        (
            "?offset=990",
            ok.clone(),
            json!({"non_field_errors": ["`offset` + `limit` must not exceed 1000."]}),
        ),
    ];
    for (query, body, want) in cases {
        let a = search(&s, PUB, query, body.clone()).await;
        assert_eq!(
            (a.status, a.content_type.as_str()),
            (400, V7),
            "{query} {body}: {}",
            a.body
        );
        assert_eq!(a.json(), want, "{query} {body}");
    }
    let a = rest(&s, PUB, V7, Method::POST, "/files/search/", "{").await;
    assert_detail(
        &a,
        400,
        "JSON parse error - EOF while parsing an object at line 1 column 1",
    );
    let a = rest(&s, PUB, V7, Method::GET, "/files/search/", "").await;
    assert_detail(&a, 405, "Method \"GET\" not allowed.");
    let a = rest(
        &s,
        "nokey",
        V7,
        Method::POST,
        "/files/search/",
        &ok.to_string(),
    )
    .await;
    assert_detail(&a, 401, "Public key nokey not found.");
}
