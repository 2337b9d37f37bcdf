//! The four add-ons over HTTP on both backends: execute and status with production's answers,
//! results in `appdata` (file info and lists), the ClamAV scan finding EICAR and operator
//! signatures and purging, declared Rekognition labels, remove.bg's real transparent PNG,
//! 409 for a concurrent run, webhook events, every error, and projects kept apart.

use reqwest::Method;
use serde_json::{json, Value};
use uploadcare_emulator::addons::clamav::EICAR;
use uploadcare_emulator::config::VirusSignature;
use uploadcare_emulator::store::{AddonRun, RunStatus};
use uuid::Uuid;

use crate::common::*;

const JSON: &str = "application/json";
const UUID_LEN: usize = 36;

async fn execute(s: &TestServer, pub_key: &str, addon: &str, body: &Value) -> Answer {
    let uri = format!("/addons/{addon}/execute/");
    rest(s, pub_key, V7, Method::POST, &uri, &body.to_string()).await
}

async fn status(s: &TestServer, pub_key: &str, addon: &str, query: &str) -> Answer {
    let uri = format!("/addons/{addon}/execute/status/{query}");
    rest(s, pub_key, V7, Method::GET, &uri, "").await
}

/// Runs `addon` on `target` and returns the request id (the run is finished on return).
async fn run(s: &TestServer, addon: &str, target: &str, params: Value) -> String {
    let a = execute(s, PUB, addon, &json!({"target": target, "params": params})).await;
    assert_eq!(
        (a.status, a.content_type.as_str()),
        (200, JSON),
        "{}",
        a.body
    );
    let v = a.json();
    assert_eq!(v.as_object().unwrap().len(), 1, "{v}");
    let id = v["request_id"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), UUID_LEN);
    id
}

async fn status_of(s: &TestServer, addon: &str, id: &str) -> Value {
    let a = status(s, PUB, addon, &format!("?request_id={id}")).await;
    assert_eq!(
        (a.status, a.content_type.as_str()),
        (200, JSON),
        "{}",
        a.body
    );
    a.json()
}

async fn appdata(s: &TestServer, pub_key: &str, uuid: &str) -> Value {
    let a = rest(
        s,
        pub_key,
        V7,
        Method::GET,
        &format!("/files/{uuid}/?include=appdata"),
        "",
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.body);
    a.json()["appdata"].clone()
}

fn assert_detail(a: &Answer, status: u16, detail: &str) {
    let body = json!({ "detail": detail }).to_string();
    assert_eq!(
        (a.status, a.content_type.as_str(), a.body.as_str()),
        (status, V7, body.as_str())
    );
}

fn iso(v: &Value) -> bool {
    v.as_str()
        .is_some_and(|t| t.len() == 27 && chrono::DateTime::parse_from_rfc3339(t).is_ok())
}

/// An appdata entry with its times checked and removed.
fn entry(v: &Value) -> Value {
    let mut v = v.clone();
    let o = v.as_object_mut().unwrap();
    assert_eq!(
        o.keys().collect::<Vec<_>>(),
        ["data", "datetime_created", "datetime_updated", "version"]
    );
    assert!(
        iso(&o["datetime_created"]) && iso(&o["datetime_updated"]),
        "{v}"
    );
    o.remove("datetime_created");
    o.remove("datetime_updated");
    v
}

async fn clamav_finds_eicar_and_operator_signatures(backend: Backend) {
    let s = TestServer::start_with(backend, |c| {
        c.virus_signatures = vec![VirusSignature {
            name: "Emulator.Test.Marker".into(),
            pattern: b"MARKER-42".to_vec(),
        }];
    })
    .await;
    let clean = s.upload(PUB, "clean.txt", b"nothing to see".to_vec()).await;
    let eicar = s.upload(PUB, "eicar.com", EICAR.to_vec()).await;
    let mut marked = b"prefix ".repeat(1000);
    marked.extend_from_slice(b"MARKER-42 suffix");
    let marked = s.upload(PUB, "marked.bin", marked).await;
    let addon = "uc_clamav_virus_scan";
    for (uuid, data) in [
        (&clean, json!({"infected": false})),
        (
            &eicar,
            json!({"infected": true, "infected_with": "Win.Test.EICAR_HDB-1"}),
        ),
        (
            &marked,
            json!({"infected": true, "infected_with": "Emulator.Test.Marker"}),
        ),
    ] {
        let id = run(&s, addon, uuid, json!({"purge_infected": false})).await;
        assert_eq!(status_of(&s, addon, &id).await, json!({"status": "done"}));
        let app = appdata(&s, PUB, uuid).await;
        assert_eq!(app.as_object().unwrap().len(), 1, "{app}");
        assert_eq!(
            entry(&app[addon]),
            json!({"data": data, "version": "0.105.1"})
        );
    }
    // A second scan updates the entry and keeps its creation time.
    let first = appdata(&s, PUB, &clean).await[addon].clone();
    run(&s, addon, &clean, Value::Null).await;
    let second = appdata(&s, PUB, &clean).await[addon].clone();
    assert_eq!(first["datetime_created"], second["datetime_created"]);
    assert_ne!(first["datetime_updated"], second["datetime_updated"]);
    // purge_infected removes an infected file, and only an infected one.
    let doomed = s.upload(PUB, "eicar2.com", EICAR.to_vec()).await;
    run(&s, addon, &doomed, json!({"purge_infected": true})).await;
    run(&s, addon, &clean, json!({"purge_infected": true})).await;
    let doomed_info = rest(&s, PUB, V7, Method::GET, &format!("/files/{doomed}/"), "").await;
    assert!(doomed_info.json()["datetime_removed"].is_string());
    let clean_info = rest(&s, PUB, V7, Method::GET, &format!("/files/{clean}/"), "").await;
    assert_eq!(clean_info.json()["datetime_removed"], Value::Null);
    let cdn = s
        .client
        .get(s.url(&format!("/{doomed}/")))
        .send()
        .await
        .unwrap();
    assert_eq!(cdn.status(), 404);
    // Lists show appdata with include=appdata, and none without.
    let list = rest(
        &s,
        PUB,
        V7,
        Method::GET,
        "/files/?include=appdata&limit=100",
        "",
    )
    .await;
    let results = list.json()["results"].as_array().unwrap().clone();
    let by_uuid = |u: &str| results.iter().find(|f| f["uuid"] == u).unwrap().clone();
    assert_eq!(by_uuid(&eicar)["appdata"][addon]["data"]["infected"], true);
    let list = rest(&s, PUB, V7, Method::GET, "/files/?limit=100", "").await;
    assert!(list.json()["results"][0].get("appdata").is_none());
}
per_backend!(clamav_finds_eicar_and_operator_signatures);

async fn rekognition_labels_are_declared(backend: Backend) {
    let s = TestServer::start(backend).await;
    let img = s.upload(PUB, "dog.png", png(8, 8)).await;
    let labels = "aws_rekognition_detect_labels";
    let moderation = "aws_rekognition_detect_moderation_labels";
    // Nothing declared: nothing found.
    let id = run(&s, labels, &img, Value::Null).await;
    assert_eq!(status_of(&s, labels, &id).await, json!({"status": "done"}));
    assert_eq!(
        entry(&appdata(&s, PUB, &img).await[labels]),
        json!({"data": {"Labels": [], "LabelModelVersion": "3.0"}, "version": "2016-06-27"})
    );
    // Declared through the admin API: found, in production's shape.
    let declare = |addon: &str, body: Value| {
        let url = s.url(&format!(
            "/_emulator/projects/{PUB}/files/{img}/addons/{addon}"
        ));
        let req = s.client.put(url).json(&body);
        async move { Answer::of(req.send().await.unwrap()).await }
    };
    let a = declare(
        labels,
        json!({"labels": [{"Name": "Dog", "Confidence": 97.5, "Parents": ["Animal"]}]}),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.body);
    let want = json!({"Labels": [{"Name": "Dog", "Confidence": 97.5, "Parents": [{"Name": "Animal"}], "Instances": []}], "LabelModelVersion": "3.0"});
    assert_eq!(a.json(), want);
    run(&s, labels, &img, json!({})).await;
    assert_eq!(appdata(&s, PUB, &img).await[labels]["data"], want);
    let a = declare(
        moderation,
        json!({"labels": [{"Name": "Weapons", "ParentName": "Violence"}]}),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.body);
    run(&s, moderation, &img, Value::Null).await;
    assert_eq!(
        entry(&appdata(&s, PUB, &img).await[moderation]),
        json!({"data": {"ModerationLabels": [{"Name": "Weapons", "Confidence": 99.0, "ParentName": "Violence"}], "ModerationModelVersion": "6.1"}, "version": "2016-06-27"})
    );
    // Admin errors.
    let a = declare(labels, json!({"labels": [{"Confidence": 3}]})).await;
    assert_eq!(
        (a.status, a.body.as_str()),
        (
            400,
            r#"{"detail":"each label needs a non-empty string `Name`"}"#
        )
    );
    let a = declare("uc_clamav_virus_scan", json!({})).await;
    assert_eq!(a.status, 400);
    let url = s.url(&format!(
        "/_emulator/projects/{OTHER_PUB}/files/{img}/addons/{labels}"
    ));
    let a = Answer::of(
        s.client
            .put(url)
            .json(&json!({"labels": []}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (a.status, a.body.as_str()),
        (404, r#"{"detail":"Not found."}"#)
    );
    // Rekognition reads images only: a text file's run ends in `error`, nothing written.
    let txt = s.upload(PUB, "a.txt", b"text".to_vec()).await;
    let id = run(&s, labels, &txt, Value::Null).await;
    assert_eq!(status_of(&s, labels, &id).await, json!({"status": "error"}));
    assert_eq!(appdata(&s, PUB, &txt).await, json!({}));
}
per_backend!(rekognition_labels_are_declared);

/// A 60×40 near-white PNG with a blue 20×10 block at (20, 15).
fn subject_png() -> Vec<u8> {
    let img = image::RgbImage::from_fn(60, 40, |x, y| {
        if (20..40).contains(&x) && (15..25).contains(&y) {
            image::Rgb([20, 40, 220])
        } else {
            image::Rgb([245, 245, 240])
        }
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

async fn remove_bg_makes_a_transparent_png(backend: Backend) {
    let s = TestServer::start(backend).await;
    let src = s.upload(PUB, "product.png", subject_png()).await;
    let addon = "remove_bg";
    let id = run(&s, addon, &src, json!({"crop": true, "type_level": "2"})).await;
    let st = status_of(&s, addon, &id).await;
    assert_eq!(st["status"], "done", "{st}");
    assert_eq!(st.as_object().unwrap().len(), 2, "{st}");
    let new = st["result"]["file_id"].as_str().unwrap().to_owned();
    assert_ne!(new, src);
    let info = rest(&s, PUB, V7, Method::GET, &format!("/files/{new}/"), "")
        .await
        .json();
    assert_eq!(info["original_filename"], "product.png");
    assert_eq!(info["mime_type"], "image/png");
    assert_eq!(info["content_info"]["image"]["color_mode"], "RGBA");
    assert_eq!(
        (
            info["content_info"]["image"]["width"].clone(),
            info["content_info"]["image"]["height"].clone()
        ),
        (json!(20), json!(10))
    );
    let bytes = s
        .client
        .get(s.url(&format!("/{new}/")))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let out = image::load_from_memory(&bytes).unwrap().to_rgba8();
    assert_eq!(out.get_pixel(10, 5).0, [20, 40, 220, 255]);
    // Uncropped: the background is transparent, the subject opaque.
    let id = run(&s, addon, &src, json!({})).await;
    let new = status_of(&s, addon, &id).await["result"]["file_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let bytes = s
        .client
        .get(s.url(&format!("/{new}/")))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let out = image::load_from_memory(&bytes).unwrap().to_rgba8();
    assert_eq!(out.dimensions(), (60, 40));
    assert_eq!(
        (
            out.get_pixel(0, 0).0[3],
            out.get_pixel(59, 39).0[3],
            out.get_pixel(30, 20).0[3]
        ),
        (0, 0, 255)
    );
    // The source's appdata: `foreground_type` only with a type_level.
    assert_eq!(
        entry(&appdata(&s, PUB, &src).await[addon]),
        json!({"data": {}, "version": "1.0"})
    );
    run(
        &s,
        addon,
        &src,
        json!({"type_level": "1", "type": "product"}),
    )
    .await;
    assert_eq!(
        appdata(&s, PUB, &src).await[addon]["data"],
        json!({"foreground_type": "product"})
    );
    // Not an image: `error`, no new file.
    let txt = s.upload(PUB, "a.txt", b"text".to_vec()).await;
    let id = run(&s, addon, &txt, Value::Null).await;
    assert_eq!(status_of(&s, addon, &id).await, json!({"status": "error"}));
}
per_backend!(remove_bg_makes_a_transparent_png);

async fn bad_input_gets_its_answer(backend: Backend) {
    let s = TestServer::start(backend).await;
    let file = s.upload(PUB, "a.png", png(4, 4)).await;
    let theirs = s.upload(OTHER_PUB, "b.png", png(4, 4)).await;
    let addon = "uc_clamav_virus_scan";
    // Unknown add-ons are paths production does not have.
    let html = "<h1>Not Found</h1><p>The requested resource was not found on this server.</p>";
    for a in [
        execute(&s, PUB, "nope", &json!({"target": file})).await,
        status(
            &s,
            PUB,
            "nope",
            "?request_id=d6d34fa9-addd-472c-868d-2e5c105f9fcd",
        )
        .await,
    ] {
        assert_eq!(
            (a.status, a.content_type.as_str(), a.body.as_str()),
            (404, "text/html; charset=utf-8", html)
        );
    }
    let post = |body: &'static str| {
        rest(
            &s,
            PUB,
            V7,
            Method::POST,
            "/addons/remove_bg/execute/",
            body,
        )
    };
    let required = "`target` parameter is required.";
    assert_detail(&post("not json").await, 400, required);
    assert_detail(&post("{}").await, 400, required);
    assert_detail(&post(r#"{"target": null}"#).await, 400, required);
    let bad = "Bad `target` parameter. Use UUID.";
    assert_detail(&post(r#"{"target": "nope"}"#).await, 400, bad);
    assert_detail(&post(r#"{"target": 7}"#).await, 400, bad);
    // Unknown, another project's, and removed files.
    let unknown = json!({"target": "d6d34fa9-addd-472c-868d-2e5c105f9fcd"});
    assert_detail(&execute(&s, PUB, addon, &unknown).await, 404, "Not found.");
    assert_detail(
        &execute(&s, PUB, addon, &json!({"target": theirs})).await,
        404,
        "Not found.",
    );
    let gone = s.upload(PUB, "c.png", png(4, 4)).await;
    rest(
        &s,
        PUB,
        V7,
        Method::DELETE,
        &format!("/files/{gone}/storage/"),
        "",
    )
    .await;
    assert_detail(
        &execute(&s, PUB, addon, &json!({"target": gone})).await,
        404,
        "Not found.",
    );
    // Parameters each add-on does not take.
    for (name, params, why) in [
        (
            addon,
            json!({"purge_infected": "yes"}),
            "`purge_infected` must be a boolean.",
        ),
        (addon, json!({"purge": true}), "Unknown parameter `purge`."),
        (
            "aws_rekognition_detect_labels",
            json!({"x": 1}),
            "Unknown parameter `x`.",
        ),
        (
            "remove_bg",
            json!({"type_level": "3"}),
            "`type_level` must be one of: none, 1, 2, latest.",
        ),
        (
            "remove_bg",
            json!({"channels": "rgb"}),
            "`channels` must be one of: rgba, alpha.",
        ),
        ("remove_bg", json!([1]), "`params` must be a JSON object."),
    ] {
        let a = execute(&s, PUB, name, &json!({"target": file, "params": params})).await;
        assert_detail(&a, 400, &format!("Bad `params` parameter: {why}"));
    }
    // Status: missing or malformed ids are 400; ids of no run of this project are `unknown`.
    assert_detail(
        &status(&s, PUB, addon, "").await,
        400,
        "`request_id` parameter is required.",
    );
    assert_detail(
        &status(&s, PUB, addon, "?request_id=").await,
        400,
        "`request_id` parameter is required.",
    );
    assert_detail(
        &status(&s, PUB, addon, "?request_id=x").await,
        400,
        "Bad `request_id` parameter. Use UUID.",
    );
    let id = run(&s, addon, &file, Value::Null).await;
    let unknown = json!({"status": "unknown"});
    assert_eq!(
        status_of(&s, addon, "d6d34fa9-addd-472c-868d-2e5c105f9fcd").await,
        unknown
    );
    assert_eq!(status_of(&s, "remove_bg", &id).await, unknown);
    let theirs_status = status(&s, OTHER_PUB, addon, &format!("?request_id={id}")).await;
    assert_eq!((theirs_status.status, theirs_status.json()), (200, unknown));
    // Another project cannot run add-ons on this project's file.
    assert_detail(
        &execute(&s, OTHER_PUB, addon, &json!({"target": file})).await,
        404,
        "Not found.",
    );
}
per_backend!(bad_input_gets_its_answer);

async fn a_concurrent_call_is_refused(backend: Backend) {
    let s = TestServer::start(backend).await;
    let file = s.upload(PUB, "a.png", png(4, 4)).await;
    let addon = "uc_clamav_virus_scan";
    // A run of this add-on on this file in progress (as between execute and its end).
    let now = s.state.clock.now_us();
    let running = AddonRun {
        request_id: Uuid::new_v4(),
        project: PUB.into(),
        addon: addon.into(),
        target: Uuid::parse_str(&file).unwrap(),
        status: RunStatus::InProgress,
        result: None,
        created_us: now,
        updated_us: now,
    };
    assert!(s.state.store.start_addon_run(&running, 0).await.unwrap());
    let again = AddonRun {
        request_id: Uuid::new_v4(),
        ..running.clone()
    };
    assert!(
        !s.state.store.start_addon_run(&again, 0).await.unwrap(),
        "the store refuses a second run"
    );
    let a = execute(&s, PUB, addon, &json!({"target": file})).await;
    assert_detail(&a, 409, "Concurrent call attempted");
    let id = running.request_id.to_string();
    assert_eq!(
        status_of(&s, addon, &id).await,
        json!({"status": "in_progress"})
    );
    // Another add-on on the same file, and the same add-on on another file, run.
    run(&s, "aws_rekognition_detect_labels", &file, Value::Null).await;
    let other = s.upload(PUB, "b.png", png(4, 4)).await;
    run(&s, addon, &other, Value::Null).await;
    // A run in progress for longer than ten minutes died with its process.
    s.state.clock.advance(11 * 60 * 1_000_000);
    assert_eq!(status_of(&s, addon, &id).await, json!({"status": "error"}));
    let fresh = run(&s, addon, &file, Value::Null).await;
    assert_eq!(
        status_of(&s, addon, &fresh).await,
        json!({"status": "done"})
    );
    assert_eq!(status_of(&s, addon, &id).await, json!({"status": "error"}));
}
per_backend!(a_concurrent_call_is_refused);

async fn runs_fire_their_events(backend: Backend) {
    let s = TestServer::start(backend).await;
    let receiver = Receiver::start().await;
    for event in [
        "file.uploaded",
        "file.info_updated",
        "file.infected",
        "file.deleted",
    ] {
        let hook = json!({"target_url": receiver.url("/h"), "event": event});
        let a = rest(&s, PUB, V7, Method::POST, "/webhooks/", &hook.to_string()).await;
        assert_eq!(a.status, 201, "{}", a.body);
    }
    let flush = || async {
        let r = s
            .client
            .post(s.url("/_emulator/webhooks/flush"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    };
    let eicar = s.upload(PUB, "eicar.com", EICAR.to_vec()).await;
    flush().await;
    let before = receiver.bodies("/h").len();
    let id = run(
        &s,
        "uc_clamav_virus_scan",
        &eicar,
        json!({"purge_infected": true}),
    )
    .await;
    flush().await;
    let bodies = receiver.bodies("/h")[before..].to_vec();
    let events: Vec<&str> = bodies
        .iter()
        .map(|b| b["hook"]["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        events,
        ["file.info_updated", "file.infected", "file.deleted"]
    );
    for b in &bodies {
        assert_eq!(
            b["initiator"],
            json!({"type": "addon", "detail": {"request_id": id, "addon_name": "uc_clamav_virus_scan", "source_file_uuid": null}})
        );
        assert_eq!(b["data"]["uuid"], eicar.as_str());
        assert_eq!(
            b["data"]["appdata"]["uc_clamav_virus_scan"]["data"]["infected"],
            true
        );
    }
    assert_eq!(bodies[0]["previous_values"], json!({"appdata": {}}));
    assert!(bodies[2]["data"]["datetime_removed"].is_string());
    // remove.bg's new file is uploaded, derived from its source.
    let img = s.upload(PUB, "p.png", subject_png()).await;
    flush().await;
    let before = receiver.bodies("/h").len();
    let id = run(&s, "remove_bg", &img, Value::Null).await;
    flush().await;
    let mut bodies = receiver.bodies("/h")[before..].to_vec();
    // Events of different files may arrive in either order.
    bodies.sort_by_key(|b| b["hook"]["event"].as_str().unwrap().to_owned());
    let events: Vec<&str> = bodies
        .iter()
        .map(|b| b["hook"]["event"].as_str().unwrap())
        .collect();
    assert_eq!(events, ["file.info_updated", "file.uploaded"]);
    let new = status_of(&s, "remove_bg", &id).await["result"]["file_id"].clone();
    assert_eq!(bodies[1]["data"]["uuid"], new);
    assert_eq!(
        bodies[1]["initiator"]["detail"]["source_file_uuid"],
        img.as_str()
    );
    assert_eq!(bodies[0]["data"]["uuid"], img.as_str());
}
per_backend!(runs_fire_their_events);
