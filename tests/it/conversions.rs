//! Conversions against real converters: PDF pages rendered by pdftoppm, text by pdftotext,
//! images through the CDN pipeline, video by ffmpeg; jobs polled to their end; problems,
//! errors and isolation. Converters missing from the machine skip visibly, and fail under
//! `UC_REQUIRE_CONVERTERS=1` (CI installs them).

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

use crate::common::*;

/// Whether the converters run here; `false` (after saying so) when one is missing.
fn converters(names: &[&str]) -> bool {
    let missing: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| uploadcare_emulator::conversions::find_tool(n).is_none())
        .collect();
    if missing.is_empty() {
        return true;
    }
    if std::env::var("UC_REQUIRE_CONVERTERS").is_ok_and(|v| v == "1") {
        panic!("UC_REQUIRE_CONVERTERS=1 but {missing:?} are not installed");
    }
    skip_visibly("conversion", &format!("{missing:?} not installed"));
    false
}

/// A two-page PDF (200×100 pt pages) whose pages say `Hello page 1` and `Hello page 2`.
fn two_page_pdf() -> Vec<u8> {
    let page_text = |n: u32| format!("BT /F1 12 Tf 20 50 Td (Hello page {n}) Tj ET");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R 5 0 R] /Count 2 >>".to_owned(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] /Contents 4 0 R \
         /Resources << /Font << /F1 7 0 R >> >> >>"
            .to_owned(),
        format!(
            "<< /Length {} >>\nstream\n{}\nendstream",
            page_text(1).len(),
            page_text(1)
        ),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] /Contents 6 0 R \
         /Resources << /Font << /F1 7 0 R >> >> >>"
            .to_owned(),
        format!(
            "<< /Length {} >>\nstream\n{}\nendstream",
            page_text(2).len(),
            page_text(2)
        ),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_owned(),
    ];
    let mut pdf = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, object) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend_from_slice(format!("{} 0 obj\n{object}\nendobj\n", i + 1).as_bytes());
    }
    let xref = pdf.len();
    pdf.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for offset in offsets {
        pdf.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    pdf.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    pdf
}

/// A one-second 64×48 test video, made by ffmpeg.
fn test_video() -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("clip.mp4");
    let ok = std::process::Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc=duration=1:size=64x48:rate=10",
            "-pix_fmt",
            "yuv420p",
            "-c:v",
            "libx264",
        ])
        .arg(&out)
        .status()
        .unwrap()
        .success();
    assert!(ok, "ffmpeg could not make the test video");
    std::fs::read(out).unwrap()
}

async fn get(s: &TestServer, pub_key: &str, uri: &str) -> Answer {
    rest(s, pub_key, V7, Method::GET, uri, "").await
}

async fn submit(s: &TestServer, pub_key: &str, kind: &str, body: Value) -> Answer {
    rest(
        s,
        pub_key,
        V7,
        Method::POST,
        &format!("/convert/{kind}/"),
        &body.to_string(),
    )
    .await
}

/// Polls a job until it leaves `pending`/`processing`.
async fn wait(s: &TestServer, kind: &str, token: i64) -> Value {
    for _ in 0..300 {
        let a = get(s, PUB, &format!("/convert/{kind}/status/{token}/")).await;
        assert_eq!((a.status, a.content_type.as_str()), (200, V7), "{}", a.body);
        let status = a.json();
        if !matches!(status["status"].as_str(), Some("pending" | "processing")) {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("job {token} did not end in 30 s");
}

async fn cdn_bytes(s: &TestServer, path: &str) -> (u16, Vec<u8>) {
    let r = s.client.get(s.url(path)).send().await.unwrap();
    (r.status().as_u16(), r.bytes().await.unwrap().to_vec())
}

per_backend!(pdf_pages_become_images_text_and_groups);
async fn pdf_pages_become_images_text_and_groups(backend: Backend) {
    if !converters(&["pdftoppm", "pdftotext", "pdfinfo"]) {
        return;
    }
    let s = TestServer::start(backend).await;
    let pdf = s.upload(PUB, "report.pdf", two_page_pdf()).await;

    let info = get(&s, PUB, &format!("/convert/document/{pdf}/")).await;
    assert_eq!((info.status, info.content_type.as_str()), (200, V7));
    assert_eq!(
        info.json(),
        json!({"error": null, "format": {"name": "pdf", "conversion_formats":
            [{"name": "jpg"}, {"name": "pdf"}, {"name": "png"}, {"name": "txt"}],
            "converted_groups": {}}})
    );

    // One page, as PNG: production's answer shape, then the real page.
    let path = format!("{pdf}/document/-/format/png/-/page/2/");
    let a = submit(&s, PUB, "document", json!({ "paths": [path] })).await;
    assert_eq!(
        (a.status, a.content_type.as_str()),
        (200, "application/json"),
        "{}",
        a.body
    );
    let answer = a.json();
    assert_eq!(answer["problems"], json!({}));
    let item = &answer["result"][0];
    assert_eq!(item["original_source"], path);
    let keys: Vec<&String> = item.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["original_source", "token", "uuid"]);
    let token = item["token"].as_i64().unwrap();
    let result = item["uuid"].as_str().unwrap().to_owned();
    let done = wait(&s, "document", token).await;
    assert_eq!(
        done,
        json!({"status": "finished", "error": null, "result": {"uuid": result}})
    );
    let file = get(&s, PUB, &format!("/files/{result}/")).await.json();
    assert_eq!(file["is_ready"], true);
    assert_eq!(file["mime_type"], "image/png");
    assert_eq!(file["original_filename"], "report-2.png");
    let (status, bytes) = cdn_bytes(&s, &format!("/{result}/")).await;
    assert_eq!(status, 200);
    let page = image::load_from_memory(&bytes).unwrap();
    // 200×100 pt at 150 dpi, rounded up as pdftoppm does.
    assert_eq!((page.width(), page.height()), (417, 209));

    // Every page, saved as a group too: the result is a ZIP of both pages.
    let path = format!("{pdf}/document/-/format/jpg/");
    let a = submit(
        &s,
        PUB,
        "document",
        json!({ "paths": [path], "save_in_group": "1" }),
    )
    .await;
    let token = a.json()["result"][0]["token"].as_i64().unwrap();
    let result = a.json()["result"][0]["uuid"].as_str().unwrap().to_owned();
    assert_eq!(wait(&s, "document", token).await["status"], "finished");
    let (_, zip) = cdn_bytes(&s, &format!("/{result}/")).await;
    assert_eq!(&zip[..4], b"PK\x03\x04");
    let names = ["report-1.jpg", "report-2.jpg"];
    for name in names {
        assert!(
            zip.windows(name.len()).any(|w| w == name.as_bytes()),
            "{name} in the ZIP"
        );
    }
    let info = get(&s, PUB, &format!("/convert/document/{pdf}/")).await;
    let group = info.json()["format"]["converted_groups"]["jpg"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(group.ends_with("~2"), "{group}");
    let g = get(&s, PUB, &format!("/groups/{group}/")).await.json();
    let members: Vec<&str> = g["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["original_filename"].as_str().unwrap())
        .collect();
    assert_eq!(members, names);

    // Text, by pdftotext.
    let a = submit(
        &s,
        PUB,
        "document",
        json!({ "paths": [format!("{pdf}/document/-/format/txt/")] }),
    )
    .await;
    let token = a.json()["result"][0]["token"].as_i64().unwrap();
    let result = a.json()["result"][0]["uuid"].as_str().unwrap().to_owned();
    assert_eq!(wait(&s, "document", token).await["status"], "finished");
    let (_, text) = cdn_bytes(&s, &format!("/{result}/")).await;
    let text = String::from_utf8(text).unwrap();
    assert!(
        text.contains("Hello page 1") && text.contains("Hello page 2"),
        "{text:?}"
    );
}

per_backend!(images_convert_through_the_cdn_and_failures_leave_the_result_not_ready);
async fn images_convert_through_the_cdn_and_failures_leave_the_result_not_ready(backend: Backend) {
    let s = TestServer::start(backend).await;
    let img = s.upload(PUB, "pic.png", png(30, 20)).await;
    let a = submit(
        &s,
        PUB,
        "document",
        json!({ "paths": [format!("{img}/document/-/format/jpg/")], "store": "0" }),
    )
    .await;
    let token = a.json()["result"][0]["token"].as_i64().unwrap();
    let result = a.json()["result"][0]["uuid"].as_str().unwrap().to_owned();
    assert_eq!(wait(&s, "document", token).await["status"], "finished");
    let file = get(&s, PUB, &format!("/files/{result}/")).await.json();
    assert_eq!(
        (
            &file["mime_type"],
            &file["datetime_stored"],
            &file["original_filename"]
        ),
        (&json!("image/jpeg"), &Value::Null, &json!("pic.jpg"))
    );
    let (_, bytes) = cdn_bytes(&s, &format!("/{result}/")).await;
    let jpeg = image::load_from_memory_with_format(&bytes, image::ImageFormat::Jpeg).unwrap();
    assert_eq!((jpeg.width(), jpeg.height()), (30, 20));

    // No converter makes a Word file of an image: the job fails, saying so, and its result
    // file stays as production shows one not ready.
    let a = submit(
        &s,
        PUB,
        "document",
        json!({ "paths": [format!("{img}/document/-/format/docx/")] }),
    )
    .await;
    let token = a.json()["result"][0]["token"].as_i64().unwrap();
    let result = a.json()["result"][0]["uuid"].as_str().unwrap().to_owned();
    let done = wait(&s, "document", token).await;
    assert_eq!(
        done,
        json!({"status": "failed", "error": "The emulator converts images to jpg and png, not docx",
               "result": {"uuid": result}})
    );
    let file = get(&s, PUB, &format!("/files/{result}/")).await.json();
    assert_eq!(
        (
            &file["is_ready"],
            &file["size"],
            &file["mime_type"],
            &file["is_image"],
            &file["content_info"],
            &file["original_file_url"]
        ),
        (
            &json!(false),
            &json!(0),
            &json!(""),
            &Value::Null,
            &Value::Null,
            &Value::Null
        )
    );
    assert_eq!(cdn_bytes(&s, &format!("/{result}/")).await.0, 404);
}

per_backend!(videos_are_transcoded_resized_and_thumbnailed);
async fn videos_are_transcoded_resized_and_thumbnailed(backend: Backend) {
    if !converters(&["ffmpeg", "ffprobe"]) {
        return;
    }
    let s = TestServer::start(backend).await;
    let clip = s.upload(PUB, "clip.mp4", test_video()).await;
    let path = format!("{clip}/video/-/format/webm/-/size/32x/-/quality/lighter/-/thumbs~2/");
    let a = submit(&s, PUB, "video", json!({ "paths": [path] })).await;
    assert_eq!(
        (a.status, a.content_type.as_str()),
        (200, "application/json"),
        "{}",
        a.body
    );
    let item = a.json()["result"][0].clone();
    let keys: Vec<&String> = item.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        ["original_source", "token", "uuid", "thumbnails_group_uuid"]
    );
    let group = item["thumbnails_group_uuid"].as_str().unwrap().to_owned();
    assert!(group.ends_with("~2"), "{group}");
    let result = item["uuid"].as_str().unwrap();
    let done = wait(&s, "video", item["token"].as_i64().unwrap()).await;
    assert_eq!(
        done,
        json!({"status": "finished", "error": null,
               "result": {"uuid": result, "thumbnails_group_uuid": group}})
    );
    let file = get(&s, PUB, &format!("/files/{result}/")).await.json();
    assert_eq!(file["mime_type"], "video/webm");
    assert_eq!(file["original_filename"], "clip.webm");
    let (status, webm) = cdn_bytes(&s, &format!("/{result}/")).await;
    assert_eq!(status, 200);
    assert_eq!(&webm[..4], b"\x1a\x45\xdf\xa3", "an EBML (WebM) header");
    for n in 0..2 {
        let (status, thumb) = cdn_bytes(&s, &format!("/{group}/nth/{n}/")).await;
        assert_eq!(status, 200);
        let img = image::load_from_memory_with_format(&thumb, image::ImageFormat::Jpeg).unwrap();
        assert_eq!((img.width(), img.height()), (32, 24));
    }
}

per_backend!(bad_submissions_get_problems_errors_and_isolation);
async fn bad_submissions_get_problems_errors_and_isolation(backend: Backend) {
    let s = TestServer::start(backend).await;
    let mine = s.upload(PUB, "a.pdf", two_page_pdf()).await;
    let theirs = s.upload(OTHER_PUB, "b.pdf", two_page_pdf()).await;
    let unknown = "9e84d3c8-7c5e-4f35-a4f0-2a0d3a1c6b11";
    let paths = [
        mine.clone(),
        format!("{mine}/document/-/format/exe/"),
        format!("{mine}/document/-/format/pdf/-/page/1/"),
        format!("{unknown}/document/"),
        format!("{theirs}/document/"),
        format!("{mine}/video/-/thumbs~0/"),
    ];
    let a = submit(&s, PUB, "document", json!({ "paths": paths })).await;
    assert_eq!(
        (a.status, a.content_type.as_str()),
        (200, "application/json")
    );
    assert_eq!(
        a.json(),
        json!({"result": [], "problems": {
            mine.clone(): format!("Bad path \"{mine}\". Use UUID or CDN URL"),
            paths[1].clone(): "Unsupported target format \"exe\"",
            paths[2].clone(): "The page operation applies to jpg and png targets only",
            paths[3].clone(): format!("File \"{unknown}\" not found"),
            paths[4].clone(): format!("File \"{theirs}\" not found"),
            paths[5].clone(): format!("Bad path \"{}\". Use UUID or CDN URL", paths[5]),
        }})
    );
    let a = submit(
        &s,
        PUB,
        "video",
        json!({ "paths": [format!("{mine}/video/-/thumbs~0/")] }),
    )
    .await;
    assert_eq!(
        a.json()["problems"][format!("{mine}/video/-/thumbs~0/")],
        "Invalid thumbs number \"0\""
    );

    for (body, detail) in [
        ("[]", "Expected JSON object."),
        ("not json", "Expected JSON object."),
        ("{}", "\u{201c}paths\u{201d} parameter is required."),
        (
            r#"{"paths": "x"}"#,
            "\u{201c}paths\u{201d} parameter is required.",
        ),
        (
            r#"{"paths": [1]}"#,
            "\u{201c}paths\u{201d} parameter is required.",
        ),
    ] {
        for kind in ["document", "video"] {
            let a = rest(
                &s,
                PUB,
                V7,
                Method::POST,
                &format!("/convert/{kind}/"),
                body,
            )
            .await;
            assert_eq!(
                (a.status, a.content_type.as_str(), a.json()),
                (400, V7, json!({ "detail": detail })),
                "{kind} {body}"
            );
        }
    }

    // A job is visible to its project only, under its own kind.
    let a = submit(
        &s,
        PUB,
        "document",
        json!({ "paths": [format!("{mine}/document/")] }),
    )
    .await;
    let token = a.json()["result"][0]["token"].as_i64().unwrap();
    for (key, uri) in [
        (OTHER_PUB, format!("/convert/document/status/{token}/")),
        (PUB, format!("/convert/video/status/{token}/")),
        (PUB, "/convert/document/status/999999/".to_owned()),
        (PUB, "/convert/document/status/abc/".to_owned()),
        (OTHER_PUB, format!("/convert/document/{mine}/")),
        (PUB, format!("/convert/document/{unknown}/")),
    ] {
        let a = get(&s, key, &uri).await;
        assert_eq!(
            (a.status, a.content_type.as_str(), a.body.as_str()),
            (404, V7, NOT_FOUND),
            "{uri}"
        );
    }
    // pdf → pdf is the source's own bytes.
    let done = wait(&s, "document", token).await;
    assert_eq!(done["status"], "finished", "{done}");
}
