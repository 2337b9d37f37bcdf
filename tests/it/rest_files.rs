//! REST API files, file metadata and project over HTTP, on every backend; removal and
//! expiry as every API sees them; and the whole path of a file from multipart and from_url
//! upload through grouping, batch storing, the CDN and deletion.

use std::time::Duration;

use crate::common::*;
use reqwest::Method;
use serde_json::{json, Value};

const DAY_US: i64 = 24 * 3600 * 1_000_000;

async fn get(s: &TestServer, uri: &str) -> Answer {
    rest(s, PUB, V7, Method::GET, uri, "").await
}

async fn put(s: &TestServer, uri: &str, body: &str) -> Answer {
    rest(s, PUB, V7, Method::PUT, uri, body).await
}

async fn delete(s: &TestServer, uri: &str) -> Answer {
    rest(s, PUB, V7, Method::DELETE, uri, "").await
}

/// Asserts a REST JSON answer: status, exact v0.7 media type, whole body.
fn assert_rest(r: &Answer, status: u16, body: &str) {
    assert_eq!(
        (r.status, r.content_type.as_str(), r.body.as_str()),
        (status, V7, body)
    );
}

/// Asserts a 200 v0.7 answer and returns its JSON.
fn ok_json(r: &Answer) -> Value {
    assert_eq!((r.status, r.content_type.as_str()), (200, V7), "{}", r.body);
    r.json()
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

/// `t` plus `us` microseconds, in the same form.
fn plus(t: &str, us: i64) -> String {
    let at = chrono::DateTime::parse_from_rfc3339(t).unwrap() + chrono::Duration::microseconds(us);
    at.with_timezone(&chrono::Utc)
        .format("%Y-%m-%dT%H:%M:%S%.6fZ")
        .to_string()
}

/// `t` as a `from`/`to` link value (`+00:00`, urlencoded).
fn link_time(t: &str) -> String {
    t.trim_end_matches('Z').replace(':', "%3A").to_string() + "%2B00%3A00"
}

/// Upload API `GET /group/info/` of `id`.
async fn upload_group_info(s: &TestServer, id: &str) -> Value {
    let r = s
        .client
        .get(s.url("/group/info/"))
        .query(&[("pub_key", PUB), ("group_id", id)])
        .send()
        .await
        .unwrap();
    let a = Answer::of(r).await;
    assert_eq!(a.status, 200, "{}", a.body);
    a.json()
}

/// The CDN's status for `path`.
async fn cdn_status(s: &TestServer, path: &str) -> u16 {
    s.client
        .get(s.url(path))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// The CDN's 200 body of `path`.
async fn cdn_bytes(s: &TestServer, path: &str) -> Vec<u8> {
    let r = s.client.get(s.url(path)).send().await.unwrap();
    assert_eq!(r.status(), 200, "{path}");
    r.bytes().await.unwrap().to_vec()
}

per_backend!(file_info_and_not_found);
async fn file_info_and_not_found(backend: Backend) {
    let s = TestServer::start(backend).await;
    let u = s.upload(PUB, "photo (1).png", png(4, 3)).await;
    let v = ok_json(&get(&s, &format!("/files/{u}/")).await);
    let uploaded = iso_time(&v["datetime_uploaded"]);
    let image = json!({
        "color_mode": "RGB", "orientation": null, "format": "PNG", "height": 3,
        "width": 4, "sequence": false, "geo_location": null,
        "datetime_original": null, "dpi": null,
    });
    let expected = json!({
        "datetime_removed": null,
        "datetime_stored": null,
        "datetime_uploaded": uploaded,
        "is_image": true,
        "is_ready": true,
        "mime_type": "image/png",
        "original_file_url": format!("{}/{u}/photo1.png", s.base),
        "original_filename": "photo (1).png",
        "size": png(4, 3).len(),
        "url": format!("{}/files/{u}/", s.base),
        "uuid": u,
        "variations": null,
        "content_info": {
            "mime": {"mime": "image/png", "type": "image", "subtype": "png"},
            "image": image,
        },
        "metadata": {},
        "tags": [],
    });
    assert_eq!(v.to_string(), expected.to_string());

    // include=appdata adds an empty appdata last.
    let v = ok_json(&get(&s, &format!("/files/{u}/?include=appdata")).await);
    let mut with = expected.clone();
    with["appdata"] = json!({});
    assert_eq!(v.to_string(), with.to_string());

    // Legacy versions keep image_info/video_info (as the groups API does).
    let r = rest(&s, PUB, V6, Method::GET, &format!("/files/{u}/"), "").await;
    assert_eq!((r.status, r.content_type.as_str()), (200, V6));
    let keys: Vec<String> = r.json().as_object().unwrap().keys().cloned().collect();
    assert!(keys.contains(&"image_info".to_owned()), "{keys:?}");
    assert!(!keys.contains(&"content_info".to_owned()), "{keys:?}");

    // Malformed, unknown and other projects' uuids.
    let unknown = uuid::Uuid::new_v4();
    for path in [
        "/files/nonexistent/".to_owned(),
        "/files/foo/".to_owned(),
        format!("/files/{unknown}/"),
        format!("/files/{unknown}/metadata/"),
        format!("/files/{unknown}/metadata/pet/"),
    ] {
        assert_rest(&get(&s, &path).await, 404, NOT_FOUND);
    }
    for method in [Method::PUT, Method::DELETE] {
        let r = rest(
            &s,
            PUB,
            V7,
            method,
            &format!("/files/{unknown}/storage/"),
            "",
        )
        .await;
        assert_rest(&r, 404, NOT_FOUND);
    }
    let r = rest(&s, OTHER_PUB, V7, Method::GET, &format!("/files/{u}/"), "").await;
    assert_rest(&r, 404, NOT_FOUND);
    let r = rest(
        &s,
        OTHER_PUB,
        V7,
        Method::DELETE,
        &format!("/files/{u}/storage/"),
        "",
    )
    .await;
    assert_rest(&r, 404, NOT_FOUND);

    // Auth and version rules are the groups' ones.
    let r = rest(&s, PUB, "application/json", Method::GET, "/files/", "").await;
    assert_eq!(r.status, 406);
    let r = rest(&s, "nope", V7, Method::GET, "/files/", "").await;
    assert_rest(&r, 401, r#"{"detail":"Public key nope not found."}"#);
    let r = rest(&s, "nope", V7, Method::GET, "/project/", "").await;
    assert_rest(&r, 401, r#"{"detail":"Public key nope not found."}"#);
}

per_backend!(store_and_delete_one_file);
async fn store_and_delete_one_file(backend: Backend) {
    let s = TestServer::start(backend).await;
    let u = s.upload(PUB, "a.txt", b"hello".to_vec()).await;
    let storage = format!("/files/{u}/storage/");
    let v = ok_json(&put(&s, &storage, "").await);
    let stored = iso_time(&v["datetime_stored"]);
    assert_eq!(v["datetime_removed"], Value::Null);
    assert_eq!(v["uuid"], u.as_str());
    assert_eq!(ok_json(&get(&s, &format!("/files/{u}/")).await), v);
    // Storing again keeps it stored.
    let again = ok_json(&put(&s, &storage, "").await);
    iso_time(&again["datetime_stored"]);
    assert!(iso_time(&again["datetime_stored"]) >= stored);

    assert_eq!(cdn_bytes(&s, &format!("/{u}/")).await, b"hello");
    let v = ok_json(&delete(&s, &storage).await);
    let removed = iso_time(&v["datetime_removed"]);
    assert_eq!(v["datetime_stored"], Value::Null);
    assert_eq!(v["original_file_url"], Value::Null);
    // Info keeps answering, removed; deleting again answers the same object.
    assert_eq!(ok_json(&get(&s, &format!("/files/{u}/")).await), v);
    let again = ok_json(&delete(&s, &storage).await);
    assert_eq!(again["datetime_removed"], removed.as_str());
    // A removed file cannot be stored; its bytes are gone from the CDN.
    assert_rest(&put(&s, &storage, "").await, 404, NOT_FOUND);
    assert_eq!(cdn_status(&s, &format!("/{u}/")).await, 404);
    assert_eq!(cdn_status(&s, &format!("/{u}/a.txt")).await, 404);
}

per_backend!(list_files_pages_and_filters);
async fn list_files_pages_and_filters(backend: Backend) {
    let s = TestServer::start(backend).await;
    let empty = ok_json(&get(&s, "/files/").await);
    assert_eq!(
        empty.to_string(),
        json!({
            "next": null, "previous": null, "total": 0,
            "totals": {"removed": 0, "stored": 0, "unstored": 0},
            "per_page": 100, "results": [],
        })
        .to_string()
    );
    let a = s.upload(PUB, "a.txt", b"a".to_vec()).await;
    let b = s.upload(PUB, "b.txt", b"b".to_vec()).await;
    let c = s.upload(PUB, "c.txt", b"c".to_vec()).await;
    let d = s.upload(PUB, "d.txt", b"d".to_vec()).await;
    s.upload(OTHER_PUB, "other.txt", b"o".to_vec()).await;
    put(&s, &format!("/files/{b}/storage/"), "").await;
    delete(&s, &format!("/files/{d}/storage/")).await;

    let uuids = |v: &Value| -> Vec<String> {
        v["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["uuid"].as_str().unwrap().to_owned())
            .collect()
    };
    let totals = json!({"removed": 1, "stored": 1, "unstored": 2});
    let v = ok_json(&get(&s, "/files/").await);
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        ["next", "previous", "total", "totals", "per_page", "results"]
    );
    assert_eq!(uuids(&v), [a.as_str(), b.as_str(), c.as_str()]);
    assert_eq!(
        (v["total"].clone(), v["totals"].clone()),
        (json!(3), totals.clone())
    );
    assert_eq!(
        (v["next"].clone(), v["previous"].clone()),
        (Value::Null, Value::Null)
    );
    let times: Vec<String> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| iso_time(&f["datetime_uploaded"]))
        .collect();

    // Paging: links in the groups' form, following them walks the list.
    let v = ok_json(&get(&s, "/files/?limit=1").await);
    assert_eq!(uuids(&v), [a.as_str()]);
    assert_eq!(v["per_page"], 1);
    let next = format!(
        "{}/files/?limit=1&from={}&offset=0",
        s.base,
        link_time(&times[0])
    );
    assert_eq!(
        (v["next"].as_str(), v["previous"].clone()),
        (Some(next.as_str()), Value::Null)
    );
    let v = ok_json(&get(&s, &next).await);
    assert_eq!(uuids(&v), [b.as_str()]);
    let previous = format!(
        "{}/files/?limit=1&offset=0&to={}",
        s.base,
        link_time(&times[1])
    );
    assert_eq!(v["previous"].as_str(), Some(previous.as_str()));
    assert_eq!(uuids(&ok_json(&get(&s, &previous).await)), [a.as_str()]);
    let v = ok_json(&get(&s, v["next"].as_str().unwrap()).await);
    assert_eq!(uuids(&v), [c.as_str()]);
    assert_eq!(v["next"], Value::Null);
    assert_eq!(v["total"], 3);

    // Descending.
    let v = ok_json(&get(&s, "/files/?ordering=-datetime_uploaded&limit=2").await);
    assert_eq!(uuids(&v), [c.as_str(), b.as_str()]);
    let v = ok_json(&get(&s, v["next"].as_str().unwrap()).await);
    assert_eq!(uuids(&v), [a.as_str()]);

    // Filters: total counts the filtered set, totals the project.
    for (query, expected, total) in [
        ("stored=true", vec![b.as_str()], 1),
        ("stored=false", vec![a.as_str(), c.as_str()], 2),
        ("removed=true", vec![d.as_str()], 1),
        ("removed=false&stored=True", vec![b.as_str()], 1),
        ("removed=true&stored=true", Vec::<&str>::new(), 0),
    ] {
        let v = ok_json(&get(&s, &format!("/files/?{query}")).await);
        assert_eq!(uuids(&v), expected, "{query}");
        assert_eq!(v["total"], total, "{query}");
        assert_eq!(v["totals"], totals, "{query}");
    }
    let v = ok_json(&get(&s, "/files/?removed=true").await);
    iso_time(&v["results"][0]["datetime_removed"]);

    // include=appdata.
    let v = ok_json(&get(&s, "/files/?include=appdata&limit=1").await);
    assert_eq!(v["results"][0]["appdata"], json!({}));
    let v = ok_json(&get(&s, "/files/?limit=1").await);
    assert!(v["results"][0].get("appdata").is_none());

    // Bad parameters.
    assert_rest(
        &get(&s, "/files/?ordering=datetime_created").await,
        400,
        r#"{"detail":"Invalid `ordering` value. Allowed values: datetime_uploaded, -datetime_uploaded."}"#,
    );
    assert_rest(
        &get(&s, "/files/?from=yesterday").await,
        400,
        r#"{"detail":"`from` must be a date and time in ISO-8601 format."}"#,
    );
    assert_rest(
        &get(&s, "/files/?stored=maybe").await,
        400,
        r#"{"detail":"`stored` must be either `true` or `false`."}"#,
    );
    assert_rest(
        &get(&s, "/files/?removed=2").await,
        400,
        r#"{"detail":"`removed` must be either `true` or `false`."}"#,
    );
}

per_backend!(metadata_endpoints);
async fn metadata_endpoints(backend: Backend) {
    let s = TestServer::start(backend).await;
    let u = s.upload(PUB, "a.txt", b"a".to_vec()).await;
    let all = format!("/files/{u}/metadata/");
    let pet = format!("/files/{u}/metadata/pet/");
    assert_rest(&get(&s, &all).await, 200, "{}");
    assert_rest(&get(&s, &pet).await, 404, NOT_FOUND);
    assert_rest(&put(&s, &pet, r#""cat""#).await, 201, r#""cat""#);
    assert_rest(&put(&s, &pet, r#""dog""#).await, 200, r#""dog""#);
    assert_rest(
        &put(
            &s,
            &format!("/files/{u}/metadata/sub.sys:tem-1_x/"),
            r#""up""#,
        )
        .await,
        201,
        r#""up""#,
    );
    assert_rest(&get(&s, &pet).await, 200, r#""dog""#);
    assert_rest(
        &get(&s, &all).await,
        200,
        r#"{"pet":"dog","sub.sys:tem-1_x":"up"}"#,
    );
    let v = ok_json(&get(&s, &format!("/files/{u}/")).await);
    assert_eq!(
        v["metadata"],
        json!({"pet": "dog", "sub.sys:tem-1_x": "up"})
    );

    // DELETE: 204, no body, no Content-Type; a missing key is 404.
    let r = delete(&s, &pet).await;
    assert_eq!(
        (r.status, r.content_type.as_str(), r.body.as_str()),
        (204, "", "")
    );
    assert_rest(&delete(&s, &pet).await, 404, NOT_FOUND);
    assert_rest(&get(&s, &all).await, 200, r#"{"sub.sys:tem-1_x":"up"}"#);

    // Key and value rules.
    let long_key = "k".repeat(65);
    let forbidden = format!("/files/{u}/metadata/a%20b/");
    for (method, path, body, detail) in [
        (
            Method::PUT,
            forbidden.clone(),
            r#""x""#.to_owned(),
            "File's metadata key `a b` contains symbols not allowed by the metadata key format.",
        ),
        (
            Method::GET,
            forbidden.clone(),
            String::new(),
            "File's metadata key `a b` contains symbols not allowed by the metadata key format.",
        ),
        (
            Method::PUT,
            format!("/files/{u}/metadata/{long_key}/"),
            r#""x""#.to_owned(),
            &*format!(
                "Length of file metadata key `{long_key}` can not be more than 64 symbols."
            )
            .leak(),
        ),
        (
            Method::PUT,
            pet.clone(),
            r#""""#.to_owned(),
            "Value of the file metadata key `pet` can not be empty.",
        ),
        (
            Method::PUT,
            pet.clone(),
            format!("\"{}\"", "v".repeat(513)),
            "Value of file metadata's key `pet` can not be more than 512 symbols in length.",
        ),
        (
            Method::PUT,
            pet.clone(),
            r#""a\u0001""#.to_owned(),
            "Value of file metadata key `pet` contains symbols not allowed by the metadata value format.",
        ),
        (Method::PUT, pet.clone(), "123".to_owned(), "Not a valid string."),
        (Method::PUT, pet.clone(), "cat".to_owned(), "Not a valid string."),
        (Method::PUT, pet.clone(), String::new(), "Not a valid string."),
    ] {
        let r = rest(&s, PUB, V7, method, &path, &body).await;
        let expected = json!({ "detail": detail }).to_string();
        assert_rest(&r, 400, &expected);
    }
    assert_rest(
        &put(
            &s,
            &format!("/files/{u}/metadata/{}/", "k".repeat(64)),
            r#""x""#,
        )
        .await,
        201,
        r#""x""#,
    );

    // At most 50 keys.
    for i in 0..48 {
        let r = put(&s, &format!("/files/{u}/metadata/k{i}/"), r#""v""#).await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    assert_rest(
        &put(&s, &format!("/files/{u}/metadata/one_more/"), r#""v""#).await,
        400,
        r#"{"detail":"A file can not have more than 50 metadata keys."}"#,
    );
    // Replacing an existing key still works at the limit.
    assert_rest(
        &put(&s, &format!("/files/{u}/metadata/k0/"), r#""w""#).await,
        200,
        r#""w""#,
    );

    // Unknown files and other projects' files.
    let unknown = uuid::Uuid::new_v4();
    assert_rest(
        &put(&s, &format!("/files/{unknown}/metadata/pet/"), r#""cat""#).await,
        404,
        NOT_FOUND,
    );
    assert_rest(
        &delete(&s, &format!("/files/{unknown}/metadata/pet/")).await,
        404,
        NOT_FOUND,
    );
    let r = rest(&s, OTHER_PUB, V7, Method::GET, &all, "").await;
    assert_rest(&r, 404, NOT_FOUND);
}

per_backend!(project_info);
async fn project_info(backend: Backend) {
    let s = TestServer::start(backend).await;
    assert_rest(
        &get(&s, "/project/").await,
        200,
        r#"{"collaborators":[],"name":"demopublickey project","pub_key":"demopublickey","autostore_enabled":true}"#,
    );
    let r = rest(&s, OTHER_PUB, V6, Method::GET, "/project/", "").await;
    assert_eq!(
        (r.status, r.content_type.as_str(), r.body.as_str()),
        (
            200,
            V6,
            r#"{"collaborators":[],"name":"otherpublickey project","pub_key":"otherpublickey","autostore_enabled":true}"#
        )
    );
    let r = rest(&s, PUB, V7, Method::POST, "/project/", "").await;
    assert_rest(&r, 405, r#"{"detail":"Method \"POST\" not allowed."}"#);
}

per_backend!(removal_shows_everywhere_at_once);
async fn removal_shows_everywhere_at_once(backend: Backend) {
    let s = TestServer::start(backend).await;
    let a = s.upload(PUB, "a.png", png(3, 3)).await;
    let b = s.upload(PUB, "b.txt", b"bee".to_vec()).await;
    let id = s.group(PUB, &[a.clone(), b.clone()]).await;
    put(&s, &format!("/files/{a}/storage/"), "").await;
    assert_eq!(cdn_status(&s, &format!("/{id}/nth/0/")).await, 200);

    ok_json(&delete(&s, &format!("/files/{a}/storage/")).await);
    let v = ok_json(&get(&s, &format!("/groups/{id}/")).await);
    assert_eq!(
        (v["id"].as_str(), v["files_count"].clone()),
        (Some(id.as_str()), json!(2))
    );
    assert_eq!(v["files"][0], Value::Null);
    assert_eq!(v["files"][1]["uuid"], b.as_str());
    let v = upload_group_info(&s, &id).await;
    assert_eq!(
        (v["id"].as_str(), v["files_count"].clone()),
        (Some(id.as_str()), json!(2))
    );
    assert_eq!(v["files"][0], Value::Null);
    assert_eq!(v["files"][1]["uuid"], b.as_str());
    for path in [
        format!("/{a}/"),
        format!("/{a}/a.png"),
        format!("/{a}/-/resize/x2/"),
        format!("/{id}/nth/0/"),
    ] {
        assert_eq!(cdn_status(&s, &path).await, 404, "{path}");
    }
    assert_eq!(cdn_bytes(&s, &format!("/{id}/nth/1/")).await, b"bee");
}

per_backend!(expired_files_show_as_removed);
async fn expired_files_show_as_removed(backend: Backend) {
    let s = TestServer::start(backend).await;
    // Unstored (the harness uploads with UPLOADCARE_STORE=0), and a stored one.
    let a = s.upload(PUB, "a.txt", b"aye".to_vec()).await;
    let b = s.upload(PUB, "b.txt", b"bee".to_vec()).await;
    put(&s, &format!("/files/{b}/storage/"), "").await;
    let id = s.group(PUB, &[a.clone(), b.clone()]).await;
    let uploaded = iso_time(&ok_json(&get(&s, &format!("/files/{a}/")).await)["datetime_uploaded"]);

    s.state.clock.advance(DAY_US + 1_000_000);
    let v = ok_json(&get(&s, &format!("/groups/{id}/")).await);
    assert_eq!(v["files_count"], 2);
    assert_eq!(v["files"][0], Value::Null);
    assert_eq!(v["files"][1]["uuid"], b.as_str());
    let v = upload_group_info(&s, &id).await;
    assert_eq!(v["files"][0], Value::Null);
    assert_eq!(v["files"][1]["uuid"], b.as_str());

    // File info: removed when it expired, like a deleted file.
    let v = ok_json(&get(&s, &format!("/files/{a}/")).await);
    assert_eq!(v["datetime_removed"], plus(&uploaded, DAY_US).as_str());
    assert_eq!(
        (v["datetime_stored"].clone(), v["original_file_url"].clone()),
        (Value::Null, Value::Null)
    );
    assert_rest(
        &put(&s, &format!("/files/{a}/storage/"), "").await,
        404,
        NOT_FOUND,
    );
    let again = ok_json(&delete(&s, &format!("/files/{a}/storage/")).await);
    assert_eq!(again, v);
    let list = ok_json(&get(&s, "/files/?removed=true").await);
    assert_eq!(list["results"][0]["uuid"], a.as_str());
    assert_eq!(
        list["totals"],
        json!({"removed": 1, "stored": 1, "unstored": 0})
    );
    assert_eq!(cdn_status(&s, &format!("/{a}/")).await, 404);
    assert_eq!(cdn_bytes(&s, &format!("/{b}/")).await, b"bee");
}

/// Uploads `bytes` through `/multipart/start/`, part PUTs and `/multipart/complete/`.
async fn multipart_upload(s: &TestServer, name: &str, bytes: &[u8]) -> String {
    let size = bytes.len().to_string();
    let r = post_multipart(
        s,
        "/multipart/start/",
        &[
            ("UPLOADCARE_PUB_KEY", PUB),
            ("filename", name),
            ("size", &size),
            ("content_type", "image/png"),
            ("UPLOADCARE_STORE", "0"),
        ],
    )
    .await;
    let (uuid, parts) = started(&r);
    // The default part size.
    let part_size = 5 * 1024 * 1024;
    assert_eq!(parts.len(), bytes.len().div_ceil(part_size));
    for (url, chunk) in parts.iter().zip(bytes.chunks(part_size)) {
        let r = s
            .client
            .put(url)
            .header("content-type", "application/octet-stream")
            .body(chunk.to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "part {url}");
    }
    let a = multipart_complete(s, PUB, &uuid).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.json()["uuid"], uuid.as_str());
    uuid
}

/// Imports `url` through `/from_url/` and polls `/from_url/status/` until it succeeds.
async fn from_url_upload(s: &TestServer, url: &str) -> String {
    let r = s
        .client
        .post(s.url("/from_url/"))
        .form(&[("pub_key", PUB), ("source_url", url), ("store", "0")])
        .send()
        .await
        .unwrap();
    let a = Answer::of(r).await;
    assert_eq!(a.status, 200, "{}", a.body);
    let token = a.json()["token"].as_str().unwrap().to_owned();
    for _ in 0..1000 {
        let r = s
            .client
            .get(s.url("/from_url/status/"))
            .query(&[("token", &token)])
            .send()
            .await
            .unwrap();
        let v = Answer::of(r).await.json();
        match v["status"].as_str() {
            Some("success") => return v["uuid"].as_str().unwrap().to_owned(),
            Some("error") => panic!("import failed: {v}"),
            _ => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
    panic!("import of {url} never finished");
}

per_backend!(multipart_and_from_url_files_through_group_cdn_and_deletion);
/// The issue's done-criterion: multipart and from_url files grouped, batch stored, read
/// through every CDN form, deleted, then `null` in their group.
async fn multipart_and_from_url_files_through_group_cdn_and_deletion(backend: Backend) {
    // 1900×1850 RGB in stored deflate blocks: just over 10 MiB, multipart's minimum.
    let big = png(1900, 1850);
    assert!(big.len() >= 10 * 1024 * 1024);
    let small = png(6, 4);
    let source = source::serve_bytes("image/png", small.clone()).await;
    let s = TestServer::start(backend).await;
    let m = multipart_upload(&s, "big picture.png", &big).await;
    let f = from_url_upload(&s, &format!("{source}/pic.png")).await;
    let id = s.group(PUB, &[m.clone(), f.clone()]).await;

    let body = json!([m, f]).to_string();
    let v = ok_json(&put(&s, "/files/storage/", &body).await);
    assert_eq!(
        (v["status"].as_str(), v["problems"].clone()),
        (Some("ok"), json!({}))
    );
    let stored: Vec<&str> = v["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            iso_time(&r["datetime_stored"]);
            r["uuid"].as_str().unwrap()
        })
        .collect();
    assert_eq!(stored, [m.as_str(), f.as_str()]);

    for (uuid, bytes, name) in [(&m, &big, "bigpicture.png"), (&f, &small, "pic.png")] {
        assert!(cdn_bytes(&s, &format!("/{uuid}/")).await == *bytes);
        assert!(cdn_bytes(&s, &format!("/{uuid}/{name}")).await == *bytes);
        let resized = cdn_bytes(&s, &format!("/{uuid}/-/resize/x10/")).await;
        assert!(!resized.is_empty());
    }
    assert!(cdn_bytes(&s, &format!("/{id}/nth/0/")).await == big);
    assert!(cdn_bytes(&s, &format!("/{id}/nth/1/")).await == small);
    let zip = cdn_bytes(&s, &format!("/{id}/archive/zip/")).await;
    assert_eq!(&zip[..4], b"PK\x03\x04");
    assert!(zip.len() > big.len() / 2);

    for uuid in [&m, &f] {
        let v = ok_json(&delete(&s, &format!("/files/{uuid}/storage/")).await);
        iso_time(&v["datetime_removed"]);
    }
    let v = ok_json(&get(&s, &format!("/groups/{id}/")).await);
    assert_eq!(
        (
            v["id"].as_str(),
            v["files_count"].clone(),
            v["files"].clone()
        ),
        (Some(id.as_str()), json!(2), json!([null, null]))
    );
    let v = upload_group_info(&s, &id).await;
    assert_eq!(v["files"], json!([null, null]));
    for path in [format!("/{m}/"), format!("/{f}/"), format!("/{id}/nth/0/")] {
        assert_eq!(cdn_status(&s, &path).await, 404, "{path}");
    }
}
