//! Upload API steps several test files take: multipart forms, multipart uploads, and the
//! shape of `fileUploadInfo`.

use super::{Answer, TestServer};

/// The keys of a `fileUploadInfo`, in production's order (a finished `from_url` status adds
/// `status` after them).
pub const FILE_UPLOAD_INFO_KEYS: [&str; 15] = [
    "size",
    "total",
    "done",
    "uuid",
    "file_id",
    "original_filename",
    "is_image",
    "is_stored",
    "image_info",
    "video_info",
    "content_info",
    "is_ready",
    "filename",
    "mime_type",
    "metadata",
];

/// Posts `fields` to `path` as a multipart form.
pub async fn post_multipart(s: &TestServer, path: &str, fields: &[(&str, &str)]) -> Answer {
    let mut form = reqwest::multipart::Form::new();
    for (k, v) in fields {
        form = form.text(k.to_string(), v.to_string());
    }
    Answer::of(
        s.client
            .post(s.url(path))
            .multipart(form)
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// A request to `path` whose multipart body ends inside its first part.
pub fn unterminated_multipart(s: &TestServer, path: &str) -> reqwest::RequestBuilder {
    s.client
        .post(s.url(path))
        .header("content-type", "multipart/form-data; boundary=XYZ")
        .body("--XYZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nunterminated")
}

/// The `uuid` and part URLs of a `/multipart/start/` answer, which must be 200.
pub fn started(r: &Answer) -> (String, Vec<String>) {
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    let parts = v["parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_owned())
        .collect();
    (v["uuid"].as_str().unwrap().to_owned(), parts)
}

/// `POST /multipart/complete/` of upload `uuid` for project `pub_key`.
pub async fn multipart_complete(s: &TestServer, pub_key: &str, uuid: &str) -> Answer {
    post_multipart(
        s,
        "/multipart/complete/",
        &[("UPLOADCARE_PUB_KEY", pub_key), ("uuid", uuid)],
    )
    .await
}
