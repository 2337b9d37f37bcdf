//! REST API groups and batch file storage over HTTP, on every backend.

use crate::common::*;
use proptest::prelude::*;
use reqwest::Method;
use serde_json::{json, Value};

async fn get(s: &TestServer, uri: &str) -> Answer {
    rest(s, PUB, V7, Method::GET, uri, "").await
}

/// Checks an ISO-8601 `...T..:..:..mmmmmmZ` time and returns it.
fn iso_time(v: &Value) -> String {
    let t = v.as_str().unwrap_or_else(|| panic!("not a time: {v}"));
    assert!(
        t.len() == 27 && t.ends_with('Z') && &t[10..11] == "T",
        "{t}"
    );
    t.to_owned()
}

per_backend!(group_info_v07);
async fn group_info_v07(backend: Backend) {
    let s = TestServer::start(backend).await;
    let a = s.upload(PUB, "photo (1).png", png(4, 3)).await;
    let b = s.upload(PUB, "b.txt", b"hello".to_vec()).await;
    let id = s
        .group(PUB, &[a.clone(), format!("{b}/-/resize/x800/")])
        .await;
    let r = get(&s, &format!("/groups/{id}/")).await;
    assert_eq!((r.status, r.content_type.as_str()), (200, V7), "{}", r.body);
    let v = r.json();
    let files = v["files"].as_array().unwrap();
    let expected = json!({
        "id": id,
        "datetime_created": iso_time(&v["datetime_created"]),
        "files_count": 2,
        "cdn_url": format!("{}/{id}/", s.base),
        "url": format!("{}/groups/{id}/", s.base),
        "files": [
            {
                "datetime_removed": null,
                "datetime_stored": null,
                "datetime_uploaded": iso_time(&files[0]["datetime_uploaded"]),
                "is_image": true,
                "is_ready": true,
                "mime_type": "image/png",
                "original_file_url": format!("{}/{a}/photo1.png", s.base),
                "original_filename": "photo (1).png",
                "size": png(4, 3).len(),
                "url": format!("{}/files/{a}/", s.base),
                "uuid": a,
                "variations": null,
                "content_info": {
                    "mime": {"mime": "image/png", "type": "image", "subtype": "png"},
                    "image": {
                        "color_mode": "RGB", "orientation": null, "format": "PNG",
                        "height": 3, "width": 4, "sequence": false,
                        "geo_location": null, "datetime_original": null, "dpi": null
                    }
                },
                "metadata": {},
                "tags": [],
                "default_effects": ""
            },
            {
                "datetime_removed": null,
                "datetime_stored": null,
                "datetime_uploaded": iso_time(&files[1]["datetime_uploaded"]),
                "is_image": false,
                "is_ready": true,
                "mime_type": "text/plain",
                "original_file_url": format!("{}/{b}/b.txt", s.base),
                "original_filename": "b.txt",
                "size": 5,
                "url": format!("{}/files/{b}/", s.base),
                "uuid": b,
                "variations": null,
                "content_info": {"mime": {"mime": "text/plain", "type": "text", "subtype": "plain"}},
                "metadata": {},
                "tags": [],
                "default_effects": "resize/x800/"
            }
        ]
    });
    assert_eq!(v, expected);
    // Key order as production: no datetime_stored in 0.7.
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "id",
            "datetime_created",
            "files_count",
            "cdn_url",
            "url",
            "files"
        ]
    );
}

per_backend!(group_info_not_found_cases);
async fn group_info_not_found_cases(backend: Backend) {
    let s = TestServer::start(backend).await;
    let f = s.upload(PUB, "a.txt", b"a".to_vec()).await;
    let id = s.group(PUB, &[f]).await;
    let uuid = id.split('~').next().unwrap();
    for path in [
        "/groups/nonexistent/".to_owned(),
        format!("/groups/{uuid}/"),
        format!("/groups/{uuid}~2/"),
        "/groups/d6d34fa9-addd-472c-868d-2e5c105f9fcd~1/".to_owned(),
    ] {
        for method in [Method::GET, Method::DELETE] {
            let r = rest(&s, PUB, V7, method.clone(), &path, "").await;
            assert_eq!(
                (r.status, r.content_type.as_str(), r.body.as_str()),
                (404, V7, NOT_FOUND),
                "{method} {path}"
            );
        }
    }
    // `~` percent-encoded, as some clients send it.
    let r = get(&s, &format!("/groups/{}/", id.replace('~', "%7E"))).await;
    assert_eq!(r.status, 200);
}

per_backend!(other_projects_group_is_not_found);
async fn other_projects_group_is_not_found(backend: Backend) {
    let s = TestServer::start(backend).await;
    let f = s.upload(PUB, "a.txt", b"a".to_vec()).await;
    let id = s.group(PUB, &[f]).await;
    let path = format!("/groups/{id}/");
    for method in [Method::GET, Method::DELETE] {
        let r = rest(&s, OTHER_PUB, V7, method, &path, "").await;
        assert_eq!(
            (r.status, r.content_type.as_str(), r.body.as_str()),
            (404, V7, NOT_FOUND)
        );
    }
    let other_list = rest(&s, OTHER_PUB, V7, Method::GET, "/groups/", "")
        .await
        .json();
    assert_eq!(other_list["total"], 0);
    assert_eq!(other_list["results"], json!([]));
    assert_eq!(get(&s, &path).await.status, 200);
}

per_backend!(delete_group_keeps_files);
async fn delete_group_keeps_files(backend: Backend) {
    let s = TestServer::start(backend).await;
    let f = s.upload(PUB, "a.txt", b"a".to_vec()).await;
    let id = s.group(PUB, std::slice::from_ref(&f)).await;
    let keep = s.group(PUB, std::slice::from_ref(&f)).await;
    let path = format!("/groups/{id}/");
    let r = s
        .client
        .delete(s.url(&path))
        .header("Accept", V7)
        .header("Authorization", format!("Uploadcare.Simple {PUB}:{SECRET}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert!(r.headers().get("content-type").is_none());
    // Production also sends `Content-Length: 0`; hyper leaves it out of a 204, as RFC 9110 asks.
    assert_eq!(r.text().await.unwrap(), "");
    let again = get(&s, &path).await;
    assert_eq!((again.status, again.body.as_str()), (404, NOT_FOUND));
    let list = get(&s, "/groups/").await.json();
    assert_eq!(list["total"], 1);
    assert_eq!(list["results"][0]["id"], keep.as_str());
    let info = s
        .client
        .get(s.url("/info/"))
        .query(&[("pub_key", PUB), ("file_id", &f)])
        .send()
        .await
        .unwrap();
    assert_eq!(info.status(), 200);
    assert_eq!(
        get(&s, &format!("/groups/{keep}/")).await.json()["files"][0]["uuid"],
        f.as_str()
    );
}

per_backend!(removed_and_expired_members_are_null);
async fn removed_and_expired_members_are_null(backend: Backend) {
    let s = TestServer::start(backend).await;
    let a = s.upload(PUB, "a.txt", b"a".to_vec()).await;
    let b = s.upload(PUB, "b.txt", b"b".to_vec()).await;
    let c = s.upload(PUB, "c.txt", b"c".to_vec()).await;
    let id = s.group(PUB, &[a.clone(), b.clone(), c.clone()]).await;
    let removed = rest(
        &s,
        PUB,
        V7,
        Method::DELETE,
        "/files/storage/",
        &format!(r#"["{a}"]"#),
    )
    .await;
    assert_eq!((removed.status, removed.content_type.as_str()), (200, V7));
    let rv = removed.json();
    assert_eq!(rv["status"], "ok");
    assert_eq!(rv["problems"], json!({}));
    iso_time(&rv["result"][0]["datetime_removed"]);
    assert_eq!(rv["result"][0]["original_file_url"], Value::Null);
    let stored = rest(
        &s,
        PUB,
        V7,
        Method::PUT,
        "/files/storage/",
        &format!(r#"["{c}"]"#),
    )
    .await;
    assert_eq!(stored.status, 200);
    let v = get(&s, &format!("/groups/{id}/")).await.json();
    assert_eq!(v["files"][0], Value::Null);
    assert_eq!(v["files"][1]["uuid"], b.as_str());
    // Past the retention, the unstored member expires; the stored one stays.
    s.state.clock.advance(s.state.retention_us() + 1_000_000);
    let v = get(&s, &format!("/groups/{id}/")).await.json();
    assert_eq!(v["files"][0], Value::Null);
    assert_eq!(v["files"][1], Value::Null);
    assert_eq!(v["files"][2]["uuid"], c.as_str());
    assert_eq!(v["files_count"], 3);
}

per_backend!(batch_storage);
async fn batch_storage(backend: Backend) {
    let s = TestServer::start(backend).await;
    let a = s.upload(PUB, "a.txt", b"a".to_vec()).await;
    let foreign = s.upload(OTHER_PUB, "f.txt", b"f".to_vec()).await;
    let unknown = "d6d34fa9-addd-472c-868d-2e5c105f9fcd";
    let body = format!(r#"["{a}", "nonexistent", "{unknown}", "{foreign}"]"#);
    let r = rest(&s, PUB, V7, Method::PUT, "/files/storage/", &body).await;
    assert_eq!((r.status, r.content_type.as_str()), (200, V7), "{}", r.body);
    let v = r.json();
    assert_eq!(
        v.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["status", "problems", "result"]
    );
    assert_eq!(
        v["problems"],
        json!({"nonexistent": "Invalid", unknown: "Missing in the project", foreign.clone(): "Missing in the project"})
    );
    assert_eq!(v["result"].as_array().unwrap().len(), 1);
    assert_eq!(v["result"][0]["uuid"], a.as_str());
    iso_time(&v["result"][0]["datetime_stored"]);
    let many = format!("[{}]", vec![format!("\"{a}\""); 101].join(","));
    for (body, detail) in [
        ("{}", "Expected list of UUIDs"),
        ("not json", "Expected list of UUIDs"),
        ("[1, 2]", "Expected list of UUIDs"),
        ("[]", "List of UUIDs can not be empty"),
        (
            many.as_str(),
            "Maximum UUIDs per request is exceeded. The limit is 100",
        ),
    ] {
        for method in [Method::PUT, Method::DELETE] {
            let r = rest(&s, PUB, V7, method, "/files/storage/", body).await;
            assert_eq!(
                (r.status, r.content_type.as_str(), r.body.as_str()),
                (400, V7, json!({ "detail": detail }).to_string().as_str())
            );
        }
    }
    // The removed file is gone for the project.
    let del = rest(
        &s,
        PUB,
        V7,
        Method::DELETE,
        "/files/storage/",
        &format!(r#"["{a}"]"#),
    )
    .await
    .json();
    assert_eq!(del["result"][0]["datetime_stored"], Value::Null);
    let again = rest(
        &s,
        PUB,
        V7,
        Method::DELETE,
        "/files/storage/",
        &format!(r#"["{a}"]"#),
    )
    .await
    .json();
    assert_eq!(
        again,
        json!({"status": "ok", "problems": {a.clone(): "Missing in the project"}, "result": []})
    );
}

per_backend!(pyuploadcare_group_store_flow);
async fn pyuploadcare_group_store_flow(backend: Backend) {
    let s = TestServer::start(backend).await;
    let a = s.upload(PUB, "a.txt", b"a".to_vec()).await;
    let b = s.upload(PUB, "b.png", png(2, 2)).await;
    let id = s.group(PUB, &[a.clone(), b.clone()]).await;
    let before = get(&s, &format!("/groups/{id}/")).await.json();
    let uuids: Vec<Value> = before["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["uuid"].clone())
        .collect();
    let r = rest(
        &s,
        PUB,
        V7,
        Method::PUT,
        "/files/storage/",
        &Value::from(uuids).to_string(),
    )
    .await;
    assert_eq!(r.status, 200);
    let after = get(&s, &format!("/groups/{id}/")).await.json();
    for f in after["files"].as_array().unwrap() {
        iso_time(&f["datetime_stored"]);
    }
}

per_backend!(legacy_group_storage);
async fn legacy_group_storage(backend: Backend) {
    let s = TestServer::start(backend).await;
    let a = s.upload(PUB, "a.png", png(2, 2)).await;
    let id = s.group(PUB, std::slice::from_ref(&a)).await;
    let path = format!("/groups/{id}/storage/");
    // Removed in 0.7: production's unknown-route page, before authentication.
    let r = s
        .client
        .put(s.url(&path))
        .header("Accept", V7)
        .send()
        .await
        .unwrap();
    let r = Answer::of(r).await;
    assert_eq!(
        (r.status, r.content_type.as_str()),
        (404, "text/html; charset=utf-8")
    );
    // 0.6: stores the members, answers the group with datetime_stored.
    let info = rest(&s, PUB, V6, Method::GET, &format!("/groups/{id}/"), "").await;
    assert_eq!((info.status, info.content_type.as_str()), (200, V6));
    assert_eq!(info.json()["datetime_stored"], Value::Null);
    let r = rest(&s, PUB, V6, Method::PUT, &path, "").await;
    assert_eq!((r.status, r.content_type.as_str()), (200, V6), "{}", r.body);
    let v = r.json();
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "id",
            "datetime_created",
            "datetime_stored",
            "files_count",
            "cdn_url",
            "url",
            "files"
        ]
    );
    let stored = iso_time(&v["datetime_stored"]);
    let file = &v["files"][0];
    assert_eq!(file["datetime_stored"], stored.as_str());
    assert_eq!(file["image_info"]["width"], 2);
    assert_eq!(file["video_info"], Value::Null);
    assert!(file.get("content_info").is_none());
    assert_eq!(file["default_effects"], "");
    let info = rest(&s, PUB, V6, Method::GET, &format!("/groups/{id}/"), "")
        .await
        .json();
    assert_eq!(info["datetime_stored"], stored.as_str());
    let missing = rest(&s, PUB, V6, Method::PUT, "/groups/nonexistent/storage/", "").await;
    assert_eq!(
        (
            missing.status,
            missing.content_type.as_str(),
            missing.body.as_str()
        ),
        (404, V6, NOT_FOUND)
    );
}

per_backend!(list_parameters);
async fn list_parameters(backend: Backend) {
    let s = TestServer::start(backend).await;
    let f = s.upload(PUB, "a.txt", b"a".to_vec()).await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(s.group(PUB, std::slice::from_ref(&f)).await);
    }
    let r = get(
        &s,
        "/groups/?limit=2&query_parameters=%7B%27limit%27%3A+None%7D",
    )
    .await;
    assert_eq!((r.status, r.content_type.as_str()), (200, V7));
    let v = r.json();
    assert_eq!(v["total"], 3);
    assert_eq!(v["per_page"], 2);
    assert_eq!(v["previous"], Value::Null);
    let second = &v["results"][1];
    assert_eq!(
        second,
        &json!({
            "id": ids[1],
            "datetime_created": iso_time(&second["datetime_created"]),
            "files_count": 1,
            "cdn_url": format!("{}/{}/", s.base, ids[1]),
            "url": format!("{}/groups/{}/", s.base, ids[1]),
        })
    );
    let from = second["datetime_created"]
        .as_str()
        .unwrap()
        .replace('Z', "+00:00");
    let encoded: String = form_urlencoded::byte_serialize(from.as_bytes()).collect();
    assert_eq!(
        v["next"],
        format!(
            "{}/groups/?limit=2&query_parameters=%7B%27limit%27%3A+None%7D&from={encoded}&offset=0",
            s.base
        )
    );
    for (q, per_page) in [
        ("limit=5000", 1000),
        ("limit=0", 100),
        ("limit=-1", 100),
        ("limit=abc", 100),
    ] {
        let v = get(&s, &format!("/groups/?{q}")).await.json();
        assert_eq!(v["per_page"], per_page, "{q}");
        assert_eq!(v["results"].as_array().unwrap().len(), 3);
    }
    let desc = get(&s, "/groups/?ordering=-datetime_created").await.json();
    assert_eq!(desc["results"][0]["id"], ids[2].as_str());
    for (q, detail) in [
        (
            "ordering=size",
            "Invalid `ordering` value. Allowed values: datetime_created, -datetime_created.",
        ),
        (
            "from=yesterday",
            "`from` must be a date and time in ISO-8601 format.",
        ),
    ] {
        let r = get(&s, &format!("/groups/?{q}")).await;
        assert_eq!(
            (r.status, r.content_type.as_str(), r.body.as_str()),
            (400, V7, json!({ "detail": detail }).to_string().as_str())
        );
    }
    // A user-given `from` is exclusive.
    let after_first = get(
        &s,
        &format!(
            "/groups/?from={}",
            v["results"][0]["datetime_created"].as_str().unwrap()
        ),
    )
    .await
    .json();
    assert_eq!(after_first["results"].as_array().unwrap().len(), 2);
    assert_eq!(after_first["results"][0]["id"], ids[1].as_str());
}

/// Keeps only `from`, `limit` and `ordering` of a link, as @uploadcare/rest-client does.
fn rest_client_link(link: &str) -> String {
    let (base, query) = link.split_once('?').unwrap();
    let kept: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .filter(|(k, _)| ["from", "limit", "ordering"].contains(&k.as_str()))
        .collect();
    let q = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(kept)
        .finish();
    format!("{base}?{q}")
}

/// Walks `next` from the first page to the last (links as given, or trimmed as
/// rest-client does), then `previous` back; returns the ids seen each way.
async fn walk(s: &TestServer, first: &str, trim: bool) -> (Vec<String>, Vec<String>) {
    let mut forward = Vec::new();
    let mut url = s.url(first);
    let last_page = loop {
        let r = get(s, &url).await;
        assert_eq!(r.status, 200, "{url}: {}", r.body);
        let v = r.json();
        for g in v["results"].as_array().unwrap() {
            forward.push(g["id"].as_str().unwrap().to_owned());
        }
        match v["next"].as_str() {
            Some(next) => {
                assert!(next.starts_with(&s.base), "{next}");
                url = if trim {
                    rest_client_link(next)
                } else {
                    next.to_owned()
                };
            }
            None => break v,
        }
    };
    let mut backward: Vec<String> = last_page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["id"].as_str().unwrap().to_owned())
        .collect();
    let mut prev = last_page["previous"].as_str().map(str::to_owned);
    while let Some(link) = prev {
        let v = get(s, &link).await.json();
        let page: Vec<String> = v["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["id"].as_str().unwrap().to_owned())
            .collect();
        assert!(!page.is_empty(), "{link}");
        backward.splice(0..0, page);
        prev = v["previous"].as_str().map(str::to_owned);
    }
    (forward, backward)
}

per_backend!(sync pagination_walks_every_group_once_in_order);
fn pagination_walks_every_group_once_in_order(backend: Backend) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let s = rt.block_on(TestServer::start(backend));
    let f = rt.block_on(s.upload(PUB, "a.txt", b"a".to_vec()));
    // Every group created so far, oldest first (creation times are unique).
    let all: std::cell::RefCell<Vec<(String, String)>> = Default::default();
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 16,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    runner
        .run(
            &(0usize..7, 1i64..6, any::<bool>(), any::<bool>()),
            |(burst, limit, desc, trim)| {
                rt.block_on(async {
                    // A burst of groups created concurrently.
                    let made = futures_util::future::join_all(
                        (0..burst).map(|_| s.group(PUB, std::slice::from_ref(&f))),
                    )
                    .await;
                    for id in made {
                        let v = get(&s, &format!("/groups/{id}/")).await.json();
                        all.borrow_mut()
                            .push((v["datetime_created"].as_str().unwrap().to_owned(), id));
                    }
                    all.borrow_mut().sort();
                    let mut expected: Vec<String> =
                        all.borrow().iter().map(|(_, id)| id.clone()).collect();
                    let ordering = if desc {
                        expected.reverse();
                        "&ordering=-datetime_created"
                    } else {
                        ""
                    };
                    let (forward, backward) =
                        walk(&s, &format!("/groups/?limit={limit}{ordering}"), trim).await;
                    prop_assert_eq!(&forward, &expected);
                    prop_assert_eq!(&backward, &expected);
                    Ok(())
                })
            },
        )
        .unwrap();
}
