//! Webhooks: the REST hooks API with production's exact answers (both body encodings, every
//! documented error, one project never seeing another's hooks), and deliveries of every
//! event to a real local HTTP receiver: signed, retried on the emulator's clock, in per-file
//! order, inspectable and flushable through the admin API. Both backends.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};

use crate::common::*;

/// A REST request with a form body.
async fn rest_form(s: &TestServer, pub_key: &str, method: Method, uri: &str, body: &str) -> Answer {
    let secret = if pub_key == PUB { SECRET } else { OTHER_SECRET };
    let r = s
        .client
        .request(method, s.url(uri))
        .header("Accept", V7)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header(
            "Authorization",
            format!("Uploadcare.Simple {pub_key}:{secret}"),
        )
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    Answer::of(r).await
}

/// A REST request with a JSON body.
async fn rest_json(s: &TestServer, pub_key: &str, method: Method, uri: &str, body: &str) -> Answer {
    rest(s, pub_key, V7, method, uri, body).await
}

/// The project number hooks show: the first 31 bits of SHA-256(pub_key), computed here.
fn project_number(pub_key: &str) -> i64 {
    use sha2::Digest;
    let d = sha2::Sha256::digest(pub_key.as_bytes());
    i64::from(u32::from_be_bytes([d[0], d[1], d[2], d[3]]) >> 1)
}

fn is_iso(v: &Value) -> bool {
    v.as_str().is_some_and(|s| {
        s.len() == 27 && s.ends_with('Z') && chrono::DateTime::parse_from_rfc3339(s).is_ok()
    })
}

/// A hook answer with its id and dates checked and replaced by placeholders.
fn hook_shape(v: &Value) -> Value {
    let mut v = v.clone();
    assert!(v["id"].as_i64().is_some_and(|id| id > 0), "id: {v}");
    assert!(is_iso(&v["created"]) && is_iso(&v["updated"]), "dates: {v}");
    v["id"] = json!("<id>");
    v["created"] = json!("<date>");
    v["updated"] = json!("<date>");
    v
}

fn expected_hook(event: &str, target: &str, active: bool, secret: Option<&str>) -> Value {
    json!({
        "id": "<id>", "created": "<date>", "updated": "<date>", "event": event,
        "target_url": target, "project": project_number(PUB), "is_active": active,
        "version": "0.7", "signing_secret": secret,
    })
}

fn assert_json(a: &Answer, status: u16, body: &Value) {
    assert_eq!(a.status, status, "{}", a.body);
    assert_eq!(a.content_type, V7);
    assert_eq!(&a.json(), body);
}

per_backend!(hooks_crud_with_exact_answers);
async fn hooks_crud_with_exact_answers(backend: Backend) {
    let s = TestServer::start(backend).await;
    // Create with a form, as pyuploadcare does.
    let a = rest_form(
        &s,
        PUB,
        Method::POST,
        "/webhooks/",
        "target_url=http%3A%2F%2F127.0.0.1%3A9%2Fa&event=file.uploaded&is_active=true",
    )
    .await;
    assert_eq!(a.status, 201, "{}", a.body);
    assert_eq!(a.content_type, V7);
    let first = a.json();
    assert_eq!(
        hook_shape(&first),
        expected_hook("file.uploaded", "http://127.0.0.1:9/a", true, None)
    );
    assert_eq!(first["created"], first["updated"]);
    let id = first["id"].as_i64().unwrap();
    // Create with JSON, as rest-client does, with a secret.
    let a = rest_json(
        &s,
        PUB,
        Method::POST,
        "/webhooks/",
        r#"{"target_url":"http://127.0.0.1:9/b","event":"file.stored","signing_secret":"7kMVZivndx0ErgvhRKAr","version":"0.7"}"#,
    )
    .await;
    assert_eq!(a.status, 201, "{}", a.body);
    let second = a.json();
    assert_eq!(
        hook_shape(&second),
        expected_hook(
            "file.stored",
            "http://127.0.0.1:9/b",
            true,
            Some("7kMVZivndx0ErgvhRKAr")
        )
    );
    // List: a plain array, oldest first.
    let a = rest(&s, PUB, V7, Method::GET, "/webhooks/", "").await;
    assert_json(&a, 200, &json!([first, second]));
    // One.
    let a = rest(&s, PUB, V7, Method::GET, &format!("/webhooks/{id}/"), "").await;
    assert_json(&a, 200, &first);
    // Update with JSON, as pyuploadcare does.
    let a = rest_json(
        &s,
        PUB,
        Method::PUT,
        &format!("/webhooks/{id}/"),
        r#"{"is_active": false}"#,
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.body);
    let updated = a.json();
    assert_eq!(
        hook_shape(&updated),
        expected_hook("file.uploaded", "http://127.0.0.1:9/a", false, None)
    );
    assert_eq!(updated["created"], first["created"]);
    assert_ne!(updated["updated"], first["updated"]);
    // Update with a form.
    let a = rest_form(
        &s,
        PUB,
        Method::PUT,
        &format!("/webhooks/{id}/"),
        "is_active=1&signing_secret=s3cret",
    )
    .await;
    assert_eq!(
        hook_shape(&a.json()),
        expected_hook(
            "file.uploaded",
            "http://127.0.0.1:9/a",
            true,
            Some("s3cret")
        )
    );
    // Another project sees none of them.
    let a = rest(&s, OTHER_PUB, V7, Method::GET, "/webhooks/", "").await;
    assert_json(&a, 200, &json!([]));
    for method in [Method::GET, Method::PUT, Method::DELETE] {
        let a = rest(&s, OTHER_PUB, V7, method, &format!("/webhooks/{id}/"), "{}").await;
        assert_eq!((a.status, a.body.as_str()), (404, NOT_FOUND));
    }
    // Delete: 204 with no body, then 404.
    let a = rest(&s, PUB, V7, Method::DELETE, &format!("/webhooks/{id}/"), "").await;
    assert_eq!((a.status, a.body.as_str()), (204, ""));
    for method in [Method::GET, Method::PUT, Method::DELETE] {
        let a = rest(&s, PUB, V7, method, &format!("/webhooks/{id}/"), "{}").await;
        assert_eq!(
            (a.status, a.content_type.as_str(), a.body.as_str()),
            (404, V7, NOT_FOUND)
        );
    }
    let a = rest(&s, PUB, V7, Method::GET, "/webhooks/nope/", "").await;
    assert_eq!((a.status, a.body.as_str()), (404, NOT_FOUND));
    // Unsubscribe by target, form and JSON.
    let a = rest_form(
        &s,
        PUB,
        Method::DELETE,
        "/webhooks/unsubscribe/",
        "target_url=http%3A%2F%2F127.0.0.1%3A9%2Fb",
    )
    .await;
    assert_eq!((a.status, a.body.as_str()), (204, ""));
    let a = rest(&s, PUB, V7, Method::GET, "/webhooks/", "").await;
    assert_json(&a, 200, &json!([]));
    rest_json(
        &s,
        PUB,
        Method::POST,
        "/webhooks/",
        r#"{"target_url":"http://127.0.0.1:9/c","event":"file.deleted"}"#,
    )
    .await;
    let a = rest_json(
        &s,
        PUB,
        Method::DELETE,
        "/webhooks/unsubscribe/",
        r#"{"target_url":"http://127.0.0.1:9/c"}"#,
    )
    .await;
    assert_eq!((a.status, a.body.as_str()), (204, ""));
    let a = rest_json(
        &s,
        PUB,
        Method::DELETE,
        "/webhooks/unsubscribe/",
        r#"{"target_url":"http://127.0.0.1:9/c"}"#,
    )
    .await;
    assert_eq!((a.status, a.body.as_str()), (404, NOT_FOUND));
}

per_backend!(hook_validation_answers_as_production);
async fn hook_validation_answers_as_production(backend: Backend) {
    let s = TestServer::start(backend).await;
    let bad = |body: &str| json!({ "detail": body });
    let cases: Vec<(bool, &str, Value)> = vec![
        (
            false,
            "event=file.uploaded",
            bad("`target_url` is missing."),
        ),
        (
            true,
            r#"{"event":"file.uploaded"}"#,
            bad("`target_url` is missing."),
        ),
        (
            true,
            r#"{"target_url":"","event":"file.uploaded"}"#,
            bad("`target_url` is missing."),
        ),
        (true, "[1, 2]", bad("Expected JSON object.")),
        (true, "{not json", bad("Expected JSON object.")),
        (
            false,
            "target_url=not-a-url&event=file.uploaded",
            json!({"target_url": ["Enter a valid URL."]}),
        ),
        (
            false,
            "target_url=http://x/&event=file.nope",
            json!({"event": ["\"file.nope\" is not a valid choice."]}),
        ),
        (
            false,
            "target_url=http://x/",
            json!({"event": ["This field is required."]}),
        ),
        (
            true,
            r#"{"target_url":"http://x/","event":"file.stored","signing_secret":"123456789012345678901234567890123","is_active":"perhaps","version":"0.6"}"#,
            json!({
                "is_active": ["Must be a valid boolean."],
                "signing_secret": ["Ensure this field has no more than 32 characters."],
                "version": ["\"0.6\" is not a valid choice."],
            }),
        ),
    ];
    for (is_json, body, want) in cases {
        let a = if is_json {
            rest_json(&s, PUB, Method::POST, "/webhooks/", body).await
        } else {
            rest_form(&s, PUB, Method::POST, "/webhooks/", body).await
        };
        assert_json(&a, 400, &want);
    }
    // A 32-character secret is fine; the same subscription twice is not.
    let body = "target_url=http%3A%2F%2Fx%2F&event=file.stored&signing_secret=12345678901234567890123456789012";
    let a = rest_form(&s, PUB, Method::POST, "/webhooks/", body).await;
    assert_eq!(a.status, 201, "{}", a.body);
    let duplicate =
        json!({"non_field_errors": ["This project is already subscribed on this event"]});
    let a = rest_form(&s, PUB, Method::POST, "/webhooks/", body).await;
    assert_json(&a, 400, &duplicate);
    // The same target for another event, or in another project, is fine.
    let a = rest_form(
        &s,
        PUB,
        Method::POST,
        "/webhooks/",
        "target_url=http%3A%2F%2Fx%2F&event=file.deleted",
    )
    .await;
    assert_eq!(a.status, 201, "{}", a.body);
    let other = a.json()["id"].as_i64().unwrap();
    let a = rest_form(&s, OTHER_PUB, Method::POST, "/webhooks/", body).await;
    assert_eq!(a.status, 201, "{}", a.body);
    // An update onto an existing subscription is the same error; bad fields too.
    let uri = format!("/webhooks/{other}/");
    let a = rest_json(&s, PUB, Method::PUT, &uri, r#"{"event":"file.stored"}"#).await;
    assert_json(&a, 400, &duplicate);
    let a = rest_json(&s, PUB, Method::PUT, &uri, r#"{"target_url":"ftp://x/"}"#).await;
    assert_json(&a, 400, &json!({"target_url": ["Enter a valid URL."]}));
    // Unsubscribe needs a target.
    let a = rest_form(&s, PUB, Method::DELETE, "/webhooks/unsubscribe/", "").await;
    assert_json(&a, 400, &bad("`target_url` is missing."));
    // Without credentials: the REST API's 401.
    let r = s
        .client
        .get(s.url("/webhooks/"))
        .header("Accept", V7)
        .send()
        .await
        .unwrap();
    let a = Answer::of(r).await;
    assert_json(&a, 401, &bad("Incorrect authentication credentials."));
}

/// `v1=<hex HMAC-SHA256(secret, body)>`, computed here independently of the emulator.
fn expected_signature(secret: &str, body: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    format!("v1={}", hex::encode(mac.finalize().into_bytes()))
}

async fn create_hook(
    s: &TestServer,
    pub_key: &str,
    event: &str,
    target: &str,
    secret: Option<&str>,
) -> Value {
    let body = json!({"target_url": target, "event": event, "signing_secret": secret});
    let a = rest_json(s, pub_key, Method::POST, "/webhooks/", &body.to_string()).await;
    assert_eq!(a.status, 201, "{}", a.body);
    a.json()
}

/// `POST /_emulator/webhooks/flush`: returns once every due delivery was attempted.
async fn flush(s: &TestServer) -> i64 {
    let r = s
        .client
        .post(s.url("/_emulator/webhooks/flush"))
        .send()
        .await
        .unwrap();
    let a = Answer::of(r).await;
    assert_eq!(a.status, 200, "{}", a.body);
    a.json()["attempted"].as_i64().unwrap()
}

async fn deliveries(s: &TestServer, pub_key: &str) -> Vec<Value> {
    let r = s
        .client
        .get(s.url(&format!(
            "/_emulator/webhooks/deliveries?pub_key={pub_key}&limit=1000"
        )))
        .send()
        .await
        .unwrap();
    let a = Answer::of(r).await;
    assert_eq!(a.status, 200, "{}", a.body);
    a.json()["deliveries"].as_array().unwrap().clone()
}

async fn advance(s: &TestServer, seconds: i64) {
    let r = s
        .client
        .post(s.url("/_emulator/clock/advance"))
        .json(&json!({ "seconds": seconds }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

/// Uploads one unstored file; returns its uuid and the request's id.
async fn upload_with_id(s: &TestServer, pub_key: &str, name: &str) -> (String, String) {
    let form = reqwest::multipart::Form::new()
        .text("UPLOADCARE_PUB_KEY", pub_key.to_owned())
        .text("UPLOADCARE_STORE", "0")
        .part(
            "file",
            reqwest::multipart::Part::bytes(b"hello".to_vec()).file_name(name.to_owned()),
        );
    let r = s
        .client
        .post(s.url("/base/"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let request_id = r.headers()["x-uploadcare-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let v: Value = r.json().await.unwrap();
    (v["file"].as_str().unwrap().to_owned(), request_id)
}

/// The hook object a delivery carries, from the hook's REST answer.
fn public_hook(hook: &Value, pub_key: &str) -> Value {
    json!({
        "id": hook["id"], "project_id": project_number(pub_key), "project_pub_key": pub_key,
        "target": hook["target_url"], "event": hook["event"], "is_active": true,
        "version": "0.7", "created_at": hook["created"], "updated_at": hook["updated"],
    })
}

per_backend!(every_event_reaches_its_hooks_signed_and_in_order);
async fn every_event_reaches_its_hooks_signed_and_in_order(backend: Backend) {
    let s = TestServer::start(backend).await;
    let r = Receiver::start().await;
    let uploaded = create_hook(&s, PUB, "file.uploaded", &r.url("/uploaded"), Some("whsec")).await;
    let stored = create_hook(&s, PUB, "file.stored", &r.url("/stored"), None).await;
    let info = create_hook(&s, PUB, "file.info_updated", &r.url("/info"), None).await;
    let deleted = create_hook(&s, PUB, "file.deleted", &r.url("/deleted"), Some("other")).await;
    // Another project's changes never reach these hooks.
    s.upload(OTHER_PUB, "other.txt", b"x".to_vec()).await;

    let (uuid, request_id) = upload_with_id(&s, PUB, "hello.txt").await;
    flush(&s).await;
    let info_now = rest(
        &s,
        PUB,
        V7,
        Method::GET,
        &format!("/files/{uuid}/?include=appdata"),
        "",
    )
    .await;
    let got = r.got();
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].path, "/uploaded");
    assert_eq!(got[0].content_type.as_deref(), Some("application/json"));
    assert_eq!(
        got[0].signature,
        Some(expected_signature("whsec", &got[0].body))
    );
    let body: Value = serde_json::from_str(&got[0].body).unwrap();
    let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["initiator", "hook", "data", "file"]);
    assert_eq!(
        body,
        json!({
            "initiator": {"type": "api", "detail": {"request_id": request_id, "addon_name": null, "source_file_uuid": null}},
            "hook": public_hook(&uploaded, PUB),
            "data": info_now.json(),
            "file": format!("{}/{uuid}/hello.txt", s.base),
        })
    );

    // Stored, metadata set, removed: each to its hook, in order.
    // (Different targets may receive concurrently: flush after each change.)
    let a = rest(
        &s,
        PUB,
        V7,
        Method::PUT,
        &format!("/files/{uuid}/storage/"),
        "",
    )
    .await;
    assert_eq!(a.status, 200);
    let mut stored_data = a.json();
    stored_data["appdata"] = json!({});
    flush(&s).await;
    let a = rest(
        &s,
        PUB,
        V7,
        Method::PUT,
        &format!("/files/{uuid}/metadata/k/"),
        "\"v\"",
    )
    .await;
    assert_eq!(a.status, 201);
    flush(&s).await;
    let a = rest(
        &s,
        PUB,
        V7,
        Method::DELETE,
        &format!("/files/{uuid}/storage/"),
        "",
    )
    .await;
    assert_eq!(a.status, 200);
    let mut deleted_data = a.json();
    deleted_data["appdata"] = json!({});
    flush(&s).await;
    let paths: Vec<String> = r.got().iter().map(|g| g.path.clone()).collect();
    assert_eq!(paths, ["/uploaded", "/stored", "/info", "/deleted"]);
    let got = r.got();
    assert_eq!(got[1].signature, None);
    assert_eq!(
        got[3].signature,
        Some(expected_signature("other", &got[3].body))
    );
    let b = &r.bodies("/stored")[0];
    assert_eq!(b["hook"], public_hook(&stored, PUB));
    assert_eq!(b["data"], stored_data);
    let b = &r.bodies("/info")[0];
    assert_eq!(b["hook"], public_hook(&info, PUB));
    assert_eq!(b["previous_values"], json!({"metadata": {}}));
    assert_eq!(b["data"]["metadata"], json!({"k": "v"}));
    let b = &r.bodies("/deleted")[0];
    assert_eq!(b["hook"], public_hook(&deleted, PUB));
    assert_eq!(b["data"], deleted_data);
    assert!(b["data"]["datetime_removed"].is_string());

    // The admin list shows each delivery with the exact body sent.
    let list = deliveries(&s, PUB).await;
    assert_eq!(list.len(), 4);
    for d in &list {
        assert_eq!(d["state"], "delivered", "{d}");
        assert_eq!(d["attempts"], 1);
        assert_eq!(d["last_status"], 200);
        assert_eq!(d["next_attempt"], Value::Null);
        assert_eq!(d["file_uuid"], uuid.as_str());
        assert!(d["latency_ms"].as_f64().is_some());
        let sent = got.iter().find(|g| {
            g.path
                == format!(
                    "/{}",
                    d["target_url"]
                        .as_str()
                        .unwrap()
                        .rsplit('/')
                        .next()
                        .unwrap()
                )
        });
        assert_eq!(
            Some(d["body"].as_str().unwrap()),
            sent.map(|g| g.body.as_str())
        );
    }
    assert_eq!(deliveries(&s, OTHER_PUB).await.len(), 0);
}

per_backend!(failed_deliveries_retry_on_the_emulator_clock_until_72_hours);
async fn failed_deliveries_retry_on_the_emulator_clock_until_72_hours(backend: Backend) {
    let s = TestServer::start(backend).await;
    let r = Receiver::start().await;
    r.status.store(500, Ordering::SeqCst);
    create_hook(&s, PUB, "file.uploaded", &r.url("/h"), None).await;
    s.upload(PUB, "a.txt", b"a".to_vec()).await;
    flush(&s).await;
    let d = &deliveries(&s, PUB).await[0];
    assert_eq!(
        (
            d["state"].as_str(),
            d["attempts"].as_i64(),
            d["last_status"].as_i64()
        ),
        (Some("pending"), Some(1), Some(500))
    );
    let last = chrono::DateTime::parse_from_rfc3339(d["last_attempt"].as_str().unwrap()).unwrap();
    let next = chrono::DateTime::parse_from_rfc3339(d["next_attempt"].as_str().unwrap()).unwrap();
    assert_eq!((next - last).num_seconds(), 5);
    // Not due yet: a flush sends nothing.
    assert_eq!(flush(&s).await, 0);
    assert_eq!(r.got().len(), 1);
    advance(&s, 6).await;
    flush(&s).await;
    let d = &deliveries(&s, PUB).await[0];
    assert_eq!(
        (d["state"].as_str(), d["attempts"].as_i64()),
        (Some("pending"), Some(2))
    );
    r.status.store(204, Ordering::SeqCst);
    advance(&s, 31).await;
    flush(&s).await;
    let d = &deliveries(&s, PUB).await[0];
    assert_eq!(
        (
            d["state"].as_str(),
            d["attempts"].as_i64(),
            d["last_status"].as_i64()
        ),
        (Some("delivered"), Some(3), Some(204))
    );
    let got = r.got();
    assert_eq!(got.len(), 3);
    assert!(
        got.iter().all(|g| g.body == got[0].body),
        "every attempt sends the same body"
    );

    // Redeliver on request: sent once more.
    let id = d["id"].as_i64().unwrap();
    let a = Answer::of(
        s.client
            .post(s.url(&format!("/_emulator/webhooks/deliveries/{id}/redeliver")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(a.status, 202, "{}", a.body);
    flush(&s).await;
    assert_eq!(r.got().len(), 4);
    let a = Answer::of(
        s.client
            .post(s.url("/_emulator/webhooks/deliveries/999999/redeliver"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(a.status, 404);

    // A dead target: connection errors, then failed once 72 hours have passed.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead = format!("http://{}/", closed.local_addr().unwrap());
    drop(closed);
    create_hook(&s, PUB, "file.stored", &dead, None).await;
    let uuid = s.upload(PUB, "b.txt", b"b".to_vec()).await;
    rest(
        &s,
        PUB,
        V7,
        Method::PUT,
        &format!("/files/{uuid}/storage/"),
        "",
    )
    .await;
    flush(&s).await;
    let d = deliveries(&s, PUB)
        .await
        .into_iter()
        .find(|d| d["event"] == "file.stored")
        .unwrap();
    assert_eq!(
        (
            d["state"].as_str(),
            d["last_status"].clone(),
            d["last_error"].as_str()
        ),
        (Some("pending"), Value::Null, Some("connection failed"))
    );
    advance(&s, 73 * 3600).await;
    flush(&s).await;
    let d = deliveries(&s, PUB)
        .await
        .into_iter()
        .find(|d| d["event"] == "file.stored")
        .unwrap();
    assert_eq!(
        (
            d["state"].as_str(),
            d["attempts"].as_i64(),
            d["next_attempt"].clone()
        ),
        (Some("failed"), Some(2), Value::Null)
    );

    // A hook deleted while its delivery waits for a retry: cancelled, never sent again.
    r.status.store(503, Ordering::SeqCst);
    let hook = create_hook(&s, PUB, "file.deleted", &r.url("/gone"), None).await;
    rest(
        &s,
        PUB,
        V7,
        Method::DELETE,
        &format!("/files/{uuid}/storage/"),
        "",
    )
    .await;
    flush(&s).await;
    assert_eq!(r.bodies("/gone").len(), 1);
    let a = rest(
        &s,
        PUB,
        V7,
        Method::DELETE,
        &format!("/webhooks/{}/", hook["id"]),
        "",
    )
    .await;
    assert_eq!(a.status, 204);
    advance(&s, 60).await;
    flush(&s).await;
    assert_eq!(r.bodies("/gone").len(), 1);
    let d = deliveries(&s, PUB)
        .await
        .into_iter()
        .find(|d| d["event"] == "file.deleted")
        .unwrap();
    assert_eq!(d["state"], "cancelled");
}

per_backend!(a_hanging_receiver_never_slows_the_apis);
async fn a_hanging_receiver_never_slows_the_apis(backend: Backend) {
    let s = TestServer::start(backend).await;
    let r = Receiver::start().await;
    r.hang.store(true, Ordering::SeqCst);
    create_hook(&s, PUB, "file.uploaded", &r.url("/slow"), None).await;
    let mut slowest = Duration::ZERO;
    for i in 0..20 {
        let started = Instant::now();
        s.upload(PUB, &format!("{i}.txt"), b"x".to_vec()).await;
        slowest = slowest.max(started.elapsed());
    }
    // The worker is stuck on the receiver; every upload still answered at once.
    assert!(
        slowest < Duration::from_secs(2),
        "slowest upload took {slowest:?}"
    );
}

per_backend!(ten_thousand_events_at_once_are_all_delivered_in_file_order);
async fn ten_thousand_events_at_once_are_all_delivered_in_file_order(backend: Backend) {
    let s = TestServer::start(backend).await;
    let r = Receiver::start().await;
    for event in ["file.uploaded", "file.stored", "file.deleted"] {
        create_hook(&s, PUB, event, &r.url("/all"), None).await;
    }
    // 3,400 files: uploaded (3,400 events), stored (3,400), 3,200 of them removed.
    let mut uuids = Vec::new();
    for batch in 0..34 {
        let mut form = reqwest::multipart::Form::new()
            .text("UPLOADCARE_PUB_KEY", PUB)
            .text("UPLOADCARE_STORE", "0");
        for i in 0..100 {
            form = form.part(
                format!("f{batch}_{i}"),
                reqwest::multipart::Part::bytes(vec![b'x'; 3]).file_name("x.txt"),
            );
        }
        let r = s
            .client
            .post(s.url("/base/"))
            .multipart(form)
            .send()
            .await
            .unwrap();
        let v: Value = r.json().await.unwrap();
        uuids.extend(
            v.as_object()
                .unwrap()
                .values()
                .map(|u| u.as_str().unwrap().to_owned()),
        );
    }
    for chunk in uuids.chunks(100) {
        let body = serde_json::to_string(chunk).unwrap();
        assert_eq!(
            rest(&s, PUB, V7, Method::PUT, "/files/storage/", &body)
                .await
                .status,
            200
        );
    }
    for chunk in uuids[..3200].chunks(100) {
        let body = serde_json::to_string(chunk).unwrap();
        assert_eq!(
            rest(&s, PUB, V7, Method::DELETE, "/files/storage/", &body)
                .await
                .status,
            200
        );
    }
    flush(&s).await;
    let got = r.bodies("/all");
    assert_eq!(got.len(), 10_000, "lost or duplicated events");
    let mut seen: std::collections::HashMap<String, Vec<String>> = Default::default();
    for b in &got {
        seen.entry(b["data"]["uuid"].as_str().unwrap().to_owned())
            .or_default()
            .push(b["hook"]["event"].as_str().unwrap().to_owned());
    }
    assert_eq!(seen.len(), 3400);
    for (i, u) in uuids.iter().enumerate() {
        let want: &[&str] = if i < 3200 {
            &["file.uploaded", "file.stored", "file.deleted"]
        } else {
            &["file.uploaded", "file.stored"]
        };
        assert_eq!(seen[u], want, "order of {u}");
    }
}
