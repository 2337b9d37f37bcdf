//! Upload API `/base/` and `/info/` over HTTP on every backend: each documented error in
//! all three renderings (text, `jsonerrors=1`, JSONP), signed uploads, storing, metadata,
//! several files per request, the 100 MiB limit, method errors and CORS preflights.

use crate::common::*;
use hmac::{Hmac, Mac};
use reqwest::multipart::{Form, Part};
use reqwest::{Method, RequestBuilder};
use sha2::Sha256;

/// Hex HMAC-SHA256 of `expire` under `secret`, computed independently of the server.
fn sign(secret: &str, expire: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(expire.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// A multipart form of text fields plus one small file named `a.txt` in field `file`.
fn base_form(fields: &[(&str, &str)]) -> Form {
    let mut form = Form::new().percent_encode_noop();
    for (k, v) in fields {
        form = form.text(k.to_string(), v.to_string());
    }
    form.part("file", Part::bytes(b"hello".to_vec()).file_name("a.txt"))
}

/// `POST /base/` with the given text fields and one file.
fn base<'a>(
    s: &'a TestServer,
    fields: &'a [(&'a str, &'a str)],
) -> impl Fn(&[(&str, &str)]) -> RequestBuilder + 'a {
    move |q| {
        s.client
            .post(s.url("/base/"))
            .query(q)
            .multipart(base_form(fields))
    }
}

/// `GET /info/` with the given query.
fn info<'a>(
    s: &'a TestServer,
    query: &'a [(&'a str, &'a str)],
) -> impl Fn(&[(&str, &str)]) -> RequestBuilder + 'a {
    move |q| s.client.get(s.url("/info/")).query(query).query(q)
}

async fn file_info(s: &TestServer, pub_key: &str, uuid: &str) -> Answer {
    Answer::of(
        s.client
            .get(s.url("/info/"))
            .query(&[("pub_key", pub_key), ("file_id", uuid)])
            .send()
            .await
            .unwrap(),
    )
    .await
}

per_backend!(upload_and_info_success);
async fn upload_and_info_success(backend: Backend) {
    let s = TestServer::start(backend).await;
    let r = Answer::of(
        s.client
            .post(s.url("/base/"))
            .multipart(
                Form::new()
                    .text("UPLOADCARE_PUB_KEY", PUB)
                    .text("UPLOADCARE_STORE", "1")
                    .text("metadata[subsystem]", "uploader")
                    .text("metadata[pet]", "cat")
                    .part("file", Part::bytes(png(4, 3)).file_name("my file.png")),
            )
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (r.status, r.content_type.as_str()),
        (200, "application/json"),
        "{backend:?}"
    );
    let v = r.json();
    let uuid = v["file"].as_str().unwrap().to_owned();
    assert_eq!(v.as_object().unwrap().len(), 1);
    assert!(uuid::Uuid::parse_str(&uuid).is_ok());

    let r = file_info(&s, PUB, &uuid).await;
    assert_eq!(
        (r.status, r.content_type.as_str()),
        (200, "application/json")
    );
    let v = r.json();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, FILE_UPLOAD_INFO_KEYS);
    assert_eq!(v["uuid"], uuid.as_str());
    assert_eq!(v["file_id"], uuid.as_str());
    assert_eq!(v["original_filename"], "my file.png");
    assert_eq!(v["filename"], "myfile.png");
    assert_eq!(v["is_image"], true);
    assert_eq!(v["is_stored"], true);
    assert_eq!(v["is_ready"], true);
    assert_eq!(v["mime_type"], "image/png");
    assert_eq!(v["image_info"]["width"], 4);
    assert_eq!(v["image_info"]["height"], 3);
    assert_eq!(
        v["metadata"],
        serde_json::json!({"subsystem": "uploader", "pet": "cat"})
    );
    assert_eq!(v["size"], png(4, 3).len());

    // JSONP wraps successes too.
    let r = Answer::of(
        s.client
            .get(s.url("/info/"))
            .query(&[("pub_key", PUB), ("file_id", &uuid), ("callback", "cb")])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((r.status, r.content_type.as_str()), (200, JS));
    assert!(
        r.body.starts_with("cb({\"size\":") && r.body.ends_with("})"),
        "{}",
        r.body
    );
}

per_backend!(public_key_errors);
async fn public_key_errors(backend: Backend) {
    let s = TestServer::start(backend).await;
    let req = "ProjectPublicKeyRequiredError";
    let inv = "ProjectPublicKeyInvalidError";
    // `pub_key` is not the field /base/ reads.
    let base_cases: [(&[(&str, &str)], _, _); 4] = [
        (&[], req, "UPLOADCARE_PUB_KEY is required."),
        (
            &[("UPLOADCARE_PUB_KEY", "")],
            req,
            "UPLOADCARE_PUB_KEY is required.",
        ),
        (
            &[("UPLOADCARE_PUB_KEY", "foo")],
            inv,
            "UPLOADCARE_PUB_KEY is invalid.",
        ),
        (&[("pub_key", PUB)], req, "UPLOADCARE_PUB_KEY is required."),
    ];
    for (fields, code, message) in base_cases {
        assert_error(base(&s, fields), 403, code, message).await;
    }
    let u = "d6d34fa9-addd-472c-868d-2e5c105f9fcd";
    let info_cases: [(&[(&str, &str)], _, _); 3] = [
        (&[("file_id", u)], req, "pub_key is required."),
        (
            &[("pub_key", ""), ("file_id", u)],
            req,
            "pub_key is required.",
        ),
        (
            &[("pub_key", "foo"), ("file_id", u)],
            inv,
            "pub_key is invalid.",
        ),
    ];
    for (query, code, message) in info_cases {
        assert_error(info(&s, query), 403, code, message).await;
    }
}

per_backend!(signed_uploads);
async fn signed_uploads(backend: Backend) {
    let s = TestServer::start(backend).await;
    let now = s.state.clock.now_us() / 1_000_000;
    let future = (now + 3600).to_string();
    let past = (now - 1).to_string();
    let good = sign(SIGNED_SECRET, &future);
    let stale = sign(SIGNED_SECRET, &past);
    let wrong = sign(OTHER_SECRET, &future);
    let k = ("UPLOADCARE_PUB_KEY", SIGNED_PUB);
    let cases: [(&[(&str, &str)], _, _, _); 7] = [
        (
            &[k],
            400,
            "SignatureRequiredError",
            "`signature` is required.",
        ),
        (
            &[k, ("expire", &future)],
            400,
            "SignatureRequiredError",
            "`signature` is required.",
        ),
        (
            &[k, ("signature", &good)],
            400,
            "SignatureExpirationRequiredError",
            "`expire` is required.",
        ),
        (
            &[k, ("signature", &good), ("expire", "soon")],
            400,
            "SignatureExpirationInvalidError",
            "`expire` must be a UNIX timestamp.",
        ),
        (
            &[k, ("signature", &stale), ("expire", &past)],
            403,
            "SignatureExpirationError",
            "Expired signature.",
        ),
        (
            &[k, ("signature", &wrong), ("expire", &future)],
            403,
            "SignatureInvalidError",
            "Invalid signature.",
        ),
        (
            &[k, ("signature", "not hex"), ("expire", &future)],
            403,
            "SignatureInvalidError",
            "Invalid signature.",
        ),
    ];
    for (fields, status, code, message) in cases {
        assert_error(base(&s, fields), status, code, message).await;
    }

    // A valid signature is accepted; so is one where signing is not required.
    for (key, secret) in [(SIGNED_PUB, SIGNED_SECRET), (PUB, SECRET)] {
        let sig = sign(secret, &future);
        let r = Answer::of(
            base(
                &s,
                &[
                    ("UPLOADCARE_PUB_KEY", key),
                    ("signature", &sig),
                    ("expire", &future),
                ],
            )(&[])
            .send()
            .await
            .unwrap(),
        )
        .await;
        assert_eq!(r.status, 200, "{key}: {}", r.body);
        assert!(r.json()["file"].is_string());
    }
    // Not required: even a wrong signature is not checked (pyuploadcare signs always).
    let r = Answer::of(
        base(
            &s,
            &[
                ("UPLOADCARE_PUB_KEY", PUB),
                ("signature", "00"),
                ("expire", "x"),
            ],
        )(&[])
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);

    // The signature expires with the emulator clock.
    s.state.clock.advance(3601 * 1_000_000);
    assert_error(
        base(&s, &[k, ("signature", &good), ("expire", &future)]),
        403,
        "SignatureExpirationError",
        "Expired signature.",
    )
    .await;
}

per_backend!(null_characters_files_required_and_parser_errors);
async fn null_characters_files_required_and_parser_errors(backend: Backend) {
    let s = TestServer::start(backend).await;
    let null = "Null characters are not allowed.";
    assert_error(
        base(&s, &[("UPLOADCARE_PUB_KEY", PUB), ("metadata[a]", "x\0y")]),
        400,
        "NullCharactersForbiddenError",
        null,
    )
    .await;
    // In the query string, and in a plain field of the body.
    assert_error(
        |q| {
            s.client
                .post(s.url("/base/?source=a%00b"))
                .query(q)
                .multipart(base_form(&[("UPLOADCARE_PUB_KEY", PUB)]))
        },
        400,
        "NullCharactersForbiddenError",
        null,
    )
    .await;
    assert_error(
        base(
            &s,
            &[("UPLOADCARE_PUB_KEY", PUB), ("UPLOADCARE_STORE", "\0")],
        ),
        400,
        "NullCharactersForbiddenError",
        null,
    )
    .await;
    assert_error(
        info(&s, &[("pub_key", PUB), ("file_id", "a\0")]),
        400,
        "NullCharactersForbiddenError",
        null,
    )
    .await;
    assert_error(
        |q| {
            s.client
                .post(s.url("/base/"))
                .query(q)
                .multipart(Form::new().text("UPLOADCARE_PUB_KEY", PUB))
        },
        400,
        "FilesRequiredError",
        "Request does not contain files.",
    )
    .await;
    // A body that is not multipart at all, and a broken multipart body.
    assert_error(
        |q| {
            s.client
                .post(s.url("/base/"))
                .query(q)
                .form(&[("UPLOADCARE_PUB_KEY", PUB)])
        },
        400,
        "PostRequestParserFailedError",
        "HTTP POST request parsing failed.",
    )
    .await;
    assert_error(
        |q| unterminated_multipart(&s, "/base/").query(q),
        400,
        "PostRequestParserFailedError",
        "HTTP POST request parsing failed.",
    )
    .await;
    // More than 2000 fields.
    assert_error(
        |q| {
            let mut form = Form::new().text("UPLOADCARE_PUB_KEY", PUB);
            for i in 0..2001 {
                form = form.text(format!("f{i}"), "v");
            }
            s.client.post(s.url("/base/")).query(q).multipart(form)
        },
        400,
        "RequestFiledsNumberLimitExceededError",
        "The request contains too many HTTP POST fields.",
    )
    .await;
    // More than 100 files.
    assert_error(
        |q| {
            let mut form = Form::new().text("UPLOADCARE_PUB_KEY", PUB);
            for i in 0..101 {
                form = form.part(
                    format!("f{i}"),
                    Part::bytes(b"x".to_vec()).file_name(format!("{i}.txt")),
                );
            }
            s.client.post(s.url("/base/")).query(q).multipart(form)
        },
        400,
        "RequestFileNumberLimitExceededError",
        "The request contains too many files.",
    )
    .await;
    // Text fields over 4 MiB in all are refused before they are buffered whole, even
    // though the body itself may be far larger (it may carry files).
    assert_error(
        |q| {
            let form = Form::new()
                .text("UPLOADCARE_PUB_KEY", PUB)
                .text("metadata[a]", "v".repeat(3 * 1024 * 1024))
                .text("metadata[b]", "v".repeat(2 * 1024 * 1024))
                .part("file", Part::bytes(b"x".to_vec()).file_name("x.txt"));
            s.client.post(s.url("/base/")).query(q).multipart(form)
        },
        413,
        "RequestSizeLimitExceededError",
        "The size of the request is too large.",
    )
    .await;
}

per_backend!(metadata_rules);
async fn metadata_rules(backend: Backend) {
    let s = TestServer::start(backend).await;
    let k = ("UPLOADCARE_PUB_KEY", PUB);
    let long_key = "k".repeat(65);
    let long_key_field = format!("metadata[{long_key}]");
    let long_value = "v".repeat(513);
    type Case<'a> = (Vec<(&'a str, &'a str)>, &'a str, String);
    let cases: Vec<Case> = vec![
        (
            vec![k, ("metadata[]", "x")],
            "FileMetadataKeyEmptyError",
            "File's metadata key can not be empty.".into(),
        ),
        (
            vec![k, (&long_key_field, "x")],
            "FileMetadataKeyLengthTooBigError",
            format!("Length of file metadata key `{long_key}` can not be more than 64 symbols."),
        ),
        (
            vec![k, ("metadata[a b]", "x")],
            "FileMetadataKeyForbiddenError",
            "File's metadata key `a b` contains symbols not allowed by the metadata key format."
                .into(),
        ),
        (
            vec![k, ("metadata[pet]", "cat"), ("metadata[pet]", "dog")],
            "FileMetadataKeyDuplicatedError",
            "File's metadata key `pet` has a duplicate.".into(),
        ),
        (
            vec![k, ("metadata[pet]", "")],
            "FileMetadataValueEmptyError",
            "Value of the file metadata key `pet` can not be empty.".into(),
        ),
        (
            vec![k, ("metadata[pet]", &long_value)],
            "FileMetadataValueLengthTooBigError",
            "Value of file metadata's key `pet` can not be more than 512 symbols in length."
                .into(),
        ),
        (
            vec![k, ("metadata[pet]", "a\u{7}b")],
            "FileMetadataValueForbiddenError",
            "Value of file metadata key `pet` contains symbols not allowed by the metadata value format."
                .into(),
        ),
    ];
    for (fields, code, message) in &cases {
        assert_error(base(&s, fields), 400, code, message).await;
    }
    let many: Vec<(String, String)> = (0..51)
        .map(|i| (format!("metadata[k{i}]"), "v".into()))
        .collect();
    let mut fields: Vec<(&str, &str)> = vec![k];
    fields.extend(many.iter().map(|(a, b)| (a.as_str(), b.as_str())));
    assert_error(
        base(&s, &fields),
        400,
        "FileMetadataKeysNumberTooBigError",
        "A file can not have more than 50 metadata keys.",
    )
    .await;

    // The limits themselves are accepted; values may hold any printable text.
    let key64 = format!("metadata[{}]", "k".repeat(64));
    let value512 = "é".repeat(512);
    let ok_fields: Vec<(&str, &str)> = vec![
        k,
        (&key64, "x"),
        ("metadata[a-b_c.d:e]", &value512),
        ("metadata[text]", "Hello, мир! <b>&</b> \"quoted\""),
    ];
    let r = Answer::of(base(&s, &ok_fields)(&[]).send().await.unwrap()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let uuid = r.json()["file"].as_str().unwrap().to_owned();
    let v = file_info(&s, PUB, &uuid).await.json();
    assert_eq!(v["metadata"]["a-b_c.d:e"], value512.as_str());
    assert_eq!(v["metadata"]["text"], "Hello, мир! <b>&</b> \"quoted\"");
    let fifty: Vec<(String, String)> = (0..50)
        .map(|i| (format!("metadata[k{i}]"), "v".into()))
        .collect();
    let mut fields: Vec<(&str, &str)> = vec![k];
    fields.extend(fifty.iter().map(|(a, b)| (a.as_str(), b.as_str())));
    let r = Answer::of(base(&s, &fields)(&[]).send().await.unwrap()).await;
    assert_eq!(r.status, 200, "{}", r.body);
}

per_backend!(store_flag);
async fn store_flag(backend: Backend) {
    let s = TestServer::start(backend).await;
    for (store, stored) in [
        (Some("0"), false),
        (Some("1"), true),
        (Some("auto"), true),
        (None, true),
    ] {
        let mut fields = vec![("UPLOADCARE_PUB_KEY", PUB)];
        if let Some(v) = store {
            fields.push(("UPLOADCARE_STORE", v));
        }
        let r = Answer::of(base(&s, &fields)(&[]).send().await.unwrap()).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let uuid = r.json()["file"].as_str().unwrap().to_owned();
        let v = file_info(&s, PUB, &uuid).await.json();
        assert_eq!(v["is_stored"], stored, "UPLOADCARE_STORE={store:?}");
    }
}

per_backend!(autostore_off_project_keeps_auto_uploads_unstored);
async fn autostore_off_project_keeps_auto_uploads_unstored(backend: Backend) {
    let s = TestServer::start_with(backend, |c| {
        for p in &mut c.projects {
            p.autostore = false;
        }
    })
    .await;
    for (store, stored) in [(Some("auto"), false), (None, false), (Some("1"), true)] {
        let mut fields = vec![("UPLOADCARE_PUB_KEY", PUB)];
        if let Some(v) = store {
            fields.push(("UPLOADCARE_STORE", v));
        }
        let r = Answer::of(base(&s, &fields)(&[]).send().await.unwrap()).await;
        let uuid = r.json()["file"].as_str().unwrap().to_owned();
        let v = file_info(&s, PUB, &uuid).await.json();
        assert_eq!(v["is_stored"], stored, "UPLOADCARE_STORE={store:?}");
    }
}

per_backend!(several_files_map_field_names_to_uuids);
async fn several_files_map_field_names_to_uuids(backend: Backend) {
    let s = TestServer::start(backend).await;
    // pyuploadcare names each part after the file's basename.
    let form = Form::new()
        .text("UPLOADCARE_PUB_KEY", PUB)
        .text("UPLOADCARE_STORE", "0")
        .part("a.txt", Part::bytes(b"first".to_vec()).file_name("a.txt"))
        .part("b.png", Part::bytes(png(2, 2)).file_name("dir/b.png"))
        .part("c", Part::bytes(Vec::new()).file_name("c"));
    let r = Answer::of(
        s.client
            .post(s.url("/base/"))
            .multipart(form)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    let map = v.as_object().unwrap();
    let keys: Vec<&str> = map.keys().map(String::as_str).collect();
    assert_eq!(keys, ["a.txt", "b.png", "c"]);
    let mut uuids: Vec<&str> = map.values().map(|u| u.as_str().unwrap()).collect();
    for (field, name, size, is_image) in [
        ("a.txt", "a.txt", 5, false),
        ("b.png", "b.png", png(2, 2).len(), true),
        ("c", "c", 0, false),
    ] {
        let info = file_info(&s, PUB, map[field].as_str().unwrap())
            .await
            .json();
        assert_eq!(info["original_filename"], name);
        assert_eq!(info["size"], size);
        assert_eq!(info["is_image"], is_image);
        assert_eq!(info["is_stored"], false);
    }
    uuids.sort_unstable();
    uuids.dedup();
    assert_eq!(uuids.len(), 3);
}

per_backend!(file_of_100_mib_plus_one_byte_is_too_large);
async fn file_of_100_mib_plus_one_byte_is_too_large(backend: Backend) {
    use futures_util::stream;
    const LIMIT: u64 = 100 * 1024 * 1024;
    const CHUNK: usize = 1024 * 1024;
    // Streams `len` zero bytes without holding them in memory.
    fn zeros(len: u64) -> Part {
        let chunks = stream::iter((0..len.div_ceil(CHUNK as u64)).map(move |i| {
            let n = (len - i * CHUNK as u64).min(CHUNK as u64) as usize;
            Ok::<_, std::io::Error>(vec![0u8; n])
        }));
        Part::stream_with_length(reqwest::Body::wrap_stream(chunks), len).file_name("big.bin")
    }
    let s = TestServer::start(backend).await;
    for q in [&[][..], &[("jsonerrors", "1")][..]] {
        let form = Form::new()
            .text("UPLOADCARE_PUB_KEY", PUB)
            .part("file", zeros(LIMIT + 1));
        let r = Answer::of(
            s.client
                .post(s.url("/base/"))
                .query(q)
                .multipart(form)
                .send()
                .await
                .unwrap(),
        )
        .await;
        if q.is_empty() {
            assert_eq!(
                (r.status, r.content_type.as_str(), r.body.as_str()),
                (400, TEXT, "File is too large.")
            );
        } else {
            assert_eq!(
                (r.status, r.body.as_str()),
                (
                    200,
                    "{\"error\": {\"content\": \"File is too large.\", \"status_code\": 400, \"error_code\": \"FileSizeLimitExceededError\"}}"
                )
            );
        }
    }
    // Exactly 100 MiB is accepted.
    let form = Form::new()
        .text("UPLOADCARE_PUB_KEY", PUB)
        .text("UPLOADCARE_STORE", "0")
        .part("file", zeros(LIMIT));
    let r = Answer::of(
        s.client
            .post(s.url("/base/"))
            .multipart(form)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let uuid = r.json()["file"].as_str().unwrap().to_owned();
    assert_eq!(file_info(&s, PUB, &uuid).await.json()["size"], LIMIT);
}

per_backend!(info_errors);
async fn info_errors(backend: Backend) {
    let s = TestServer::start(backend).await;
    let mine = s.upload(PUB, "a.txt", b"a".to_vec()).await;
    let theirs = s.upload(OTHER_PUB, "b.txt", b"b".to_vec()).await;
    let p = ("pub_key", PUB);
    assert_error(
        info(&s, &[p]),
        400,
        "FileIdRequiredError",
        "file_id is required.",
    )
    .await;
    assert_error(
        info(&s, &[p, ("file_id", "")]),
        400,
        "FileIdRequiredError",
        "file_id is required.",
    )
    .await;
    for bad in [
        "wrong",
        "d6d34fa9addd472c868d2e5c105f9fcd",
        &format!("{mine}x"),
    ] {
        assert_error(
            info(&s, &[p, ("file_id", bad)]),
            400,
            "FileIdInvalidError",
            "file_id is invalid.",
        )
        .await;
    }
    for missing in ["d6d34fa9-addd-472c-868d-2e5c105f9fcd", theirs.as_str()] {
        assert_error(
            info(&s, &[p, ("file_id", missing)]),
            404,
            "FileNotFoundError",
            "File is not found.",
        )
        .await;
    }
    assert_eq!(file_info(&s, PUB, &mine).await.status, 200);
    assert_eq!(file_info(&s, OTHER_PUB, &theirs).await.status, 200);
    // An unstored file is gone after the retention period.
    s.state.clock.advance(25 * 3600 * 1_000_000);
    assert_error(
        info(&s, &[p, ("file_id", &mine)]),
        404,
        "FileNotFoundError",
        "File is not found.",
    )
    .await;
}

per_backend!(method_not_allowed);
async fn method_not_allowed(backend: Backend) {
    let s = TestServer::start(backend).await;
    for (method, path) in [
        (Method::GET, "/base/"),
        (Method::POST, "/info/"),
        (Method::DELETE, "/group/"),
        (Method::PUT, "/group/info/"),
    ] {
        assert_error(
            |q| s.client.request(method.clone(), s.url(path)).query(q),
            405,
            "MethodNotAllowedError",
            &format!("HTTP method {method} is not allowed for {path}"),
        )
        .await;
    }
}

per_backend!(cors_preflight_and_headers);
async fn cors_preflight_and_headers(backend: Backend) {
    let s = TestServer::start(backend).await;
    for path in ["/base/", "/group/", "/info/", "/group/info/"] {
        let r = s
            .client
            .request(reqwest::Method::OPTIONS, s.url(path))
            .header("Origin", "https://example.com")
            .header("Access-Control-Request-Method", "POST")
            .header("Access-Control-Request-Headers", "x-uc-user-agent")
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{path}: {}", r.status());
        assert!(
            r.headers().get("access-control-allow-origin").is_some(),
            "{path}: {:?}",
            r.headers()
        );
    }
    // Simple requests (success and error) carry the header too.
    let r = s
        .client
        .get(s.url("/info/"))
        .header("Origin", "https://example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.headers().get("access-control-allow-origin").is_some());
}

/// The repository's copies of the shared reference (the error table `build.rs` generates the
/// Upload API's codes from, the OpenAPI files the contract check reads) equal the shared
/// reference, every row of the error table is well-formed, and the generated codes carry each
/// row's status and message to the letter.
#[test]
fn error_table_matches_reference() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let copies = [
        ("upload-api-errors.tsv", "src/upload_api"),
        (
            "uploadcare-upload-api.openapi.yml",
            "tests/contract/reference",
        ),
        (
            "uploadcare-upload-groups.openapi.yml",
            "tests/contract/reference",
        ),
        (
            "uploadcare-rest-api.openapi.yml",
            "tests/contract/reference",
        ),
        ("uploadcare-cdn-api.openapi.yml", "tests/contract/reference"),
    ];
    for (name, dir) in copies {
        let copy = std::fs::read_to_string(root.join(dir).join(name)).unwrap();
        if let Some(shared) = shared_reference(name) {
            assert!(
                copy == shared,
                "{dir}/{name} differs from the shared reference"
            );
        }
    }
    let fixture =
        std::fs::read_to_string(root.join("src/upload_api/upload-api-errors.tsv")).unwrap();
    let mut rows = 0;
    for line in fixture.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        let cols: Vec<&str> = line.split('\t').collect();
        assert_eq!(cols.len(), 3, "{line}");
        assert!(cols[0].ends_with("Error"), "{line}");
        let status: u16 = cols[1].parse().unwrap();
        assert!(
            [400, 403, 404, 405, 413, 429, 500].contains(&status),
            "{line}"
        );
        rows += 1;
    }
    assert_eq!(
        rows,
        uploadcare_emulator::upload_api::error::ErrorCode::ALL.len()
    );
    for code in uploadcare_emulator::upload_api::error::ErrorCode::ALL {
        let row = fixture
            .lines()
            .find(|l| l.split('\t').next() == Some(code.name()))
            .unwrap_or_else(|| panic!("{} not in table", code.name()));
        assert_eq!(
            row,
            format!("{}\t{}\t{}", code.name(), code.status(), code.template())
        );
    }
}
