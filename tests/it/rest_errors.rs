//! Every entry of the REST error catalogue (`RestErrorCode::ALL`), provoked over HTTP where a
//! client can reach it, with the exact status, content type and body written out here (not
//! read from the catalogue), so a changed status or a misspelled text fails. A new code does
//! not compile here until it is given a trigger: the match in `provoke` has no wildcard.

use crate::common::*;
use reqwest::Method;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use uploadcare_emulator::rest_api::error::{RestError, RestErrorCode};

/// How a code is reached.
enum Trigger {
    /// This answer, over HTTP.
    Http(Answer),
    /// Not reachable on demand over HTTP (why); its rendering is checked directly.
    Unreachable(&'static str),
}

/// Servers and fixtures the triggers need.
struct Setup {
    s: TestServer,
    /// A server that refuses simple authentication over plain HTTP.
    https_only: TestServer,
    /// A file of `PUB` on `s`.
    file: String,
}

/// The server clock's time as an RFC 2822 date.
fn http_date(s: &TestServer) -> String {
    chrono::DateTime::from_timestamp_micros(s.state.clock.now_us())
        .unwrap()
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string()
}

/// A GET with the version and the given `Authorization`.
async fn get_as(s: &TestServer, path: &str, authorization: &str) -> Answer {
    let r = s
        .client
        .get(s.url(path))
        .header("Accept", V7)
        .header("Authorization", authorization)
        .send()
        .await
        .unwrap();
    Answer::of(r).await
}

/// A REST request whose body breaks its chunked encoding, over a raw socket.
async fn broken_chunked_body(s: &TestServer) -> Answer {
    let addr = s.base.trim_start_matches("http://");
    let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "PUT /files/storage/ HTTP/1.1\r\nHost: {addr}\r\nAccept: {V7}\r\n\
         Authorization: Uploadcare.Simple {PUB}:{SECRET}\r\nContent-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\n[]\r\n0\r\n\r\n"
    );
    conn.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    conn.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8(raw).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status = head[9..12].parse().unwrap();
    let content_type = head
        .lines()
        .find_map(|l| l.strip_prefix("content-type: "))
        .unwrap_or_default()
        .to_owned();
    Answer {
        status,
        content_type,
        body: body.to_owned(),
    }
}

/// Provokes `code` and returns the answer with the expected status and `detail`.
async fn provoke(t: &Setup, code: RestErrorCode) -> (Trigger, u16, String) {
    use RestErrorCode::*;
    let s = &t.s;
    let put = |path: &str, body: &str| {
        let path = path.to_owned();
        let body = body.to_owned();
        async move { rest(s, PUB, V7, Method::PUT, &path, &body).await }
    };
    let get = |path: &str| {
        let path = path.to_owned();
        async move { rest(s, PUB, V7, Method::GET, &path, "").await }
    };
    let expect = |status: u16, detail: &str| (status, detail.to_owned());
    let (trigger, (status, detail)) = match code {
        NotAcceptable => (
            Trigger::Http(rest(s, PUB, "application/json", Method::GET, "/project/", "").await),
            expect(406, "Incorrect Accept header provided. Make sure to specify API version. Refer to REST API docs for details."),
        ),
        IncorrectCredentials => (
            Trigger::Http(get_as(s, "/project/", "Basic x").await),
            expect(401, "Incorrect authentication credentials."),
        ),
        PublicKeyNotFound => (
            Trigger::Http(get_as(s, "/project/", "Uploadcare.Simple nokey:x").await),
            expect(401, "Public key nokey not found."),
        ),
        SecretKeyNotFound => (
            Trigger::Http(get_as(s, "/project/", &format!("Uploadcare.Simple {PUB}:wrong")).await),
            expect(401, "Secret key not found."),
        ),
        InvalidSignature => {
            let r = s
                .client
                .get(s.url("/project/"))
                .header("Accept", V7)
                .header("Date", http_date(s))
                .header("Authorization", format!("Uploadcare {PUB}:{}", "0".repeat(40)))
                .send()
                .await
                .unwrap();
            (
                Trigger::Http(Answer::of(r).await),
                expect(401, "Invalid signature. Please check your Secret key."),
            )
        }
        SimpleAuthOverHttp => (
            Trigger::Http(rest(&t.https_only, PUB, V7, Method::GET, "/project/", "").await),
            expect(400, "Simple authentication over HTTP is forbidden. Please, use HTTPS or signed requests instead."),
        ),
        MethodNotAllowed => (
            Trigger::Http(rest(s, PUB, V7, Method::POST, "/project/", "").await),
            expect(405, "Method \"POST\" not allowed."),
        ),
        RequestBodyTooLarge => (
            Trigger::Http(put("/files/storage/", &" ".repeat(1024 * 1024 + 1)).await),
            expect(413, "Request body is too large."),
        ),
        MalformedRequest => (
            Trigger::Http(broken_chunked_body(s).await),
            expect(400, "Malformed request."),
        ),
        NotFound => (
            Trigger::Http(get("/files/d6d34fa9-addd-472c-868d-2e5c105f9fcd/").await),
            expect(404, "Not found."),
        ),
        Throttled => {
            let r = s
                .client
                .get(s.url("/project/"))
                .header("Accept", V7)
                .header("X-Emulator-Fault", "throttle")
                .send()
                .await
                .unwrap();
            assert_eq!(r.headers()["retry-after"], "1");
            (
                Trigger::Http(Answer::of(r).await),
                expect(429, "Request was throttled. Expected available in 1 second."),
            )
        }
        ServerError => {
            let r = s
                .client
                .get(s.url("/project/"))
                .header("Accept", V7)
                .header("X-Emulator-Fault", "error")
                .send()
                .await
                .unwrap();
            (
                Trigger::Http(Answer::of(r).await),
                expect(500, "Internal server error."),
            )
        }
        InvalidOrdering => (
            Trigger::Http(get("/groups/?ordering=size").await),
            expect(
                400,
                "Invalid `ordering` value. Allowed values: datetime_created, -datetime_created.",
            ),
        ),
        InvalidDateTime => (
            Trigger::Http(get("/files/?from=yesterday").await),
            expect(400, "`from` must be a date and time in ISO-8601 format."),
        ),
        InvalidFlag => (
            Trigger::Http(get("/files/?stored=maybe").await),
            expect(400, "`stored` must be either `true` or `false`."),
        ),
        UuidListExpected => (
            Trigger::Http(put("/files/storage/", "{}").await),
            expect(400, "Expected list of UUIDs"),
        ),
        UuidListEmpty => (
            Trigger::Http(put("/files/storage/", "[]").await),
            expect(400, "List of UUIDs can not be empty"),
        ),
        UuidListTooLong => {
            let many = format!("[{}]", vec![format!("\"{}\"", t.file); 101].join(","));
            (
                Trigger::Http(put("/files/storage/", &many).await),
                expect(400, "Maximum UUIDs per request is exceeded. The limit is 100"),
            )
        }
        MetadataInvalid => (
            Trigger::Http(put(&format!("/files/{}/metadata/bad!key/", t.file), "\"v\"").await),
            expect(400, "File's metadata key `bad!key` contains symbols not allowed by the metadata key format."),
        ),
        MetadataValueNotString => (
            Trigger::Http(put(&format!("/files/{}/metadata/k/", t.file), "1").await),
            expect(400, "Not a valid string."),
        ),
        WebhookTargetUrlMissing => {
            let r = rest(s, PUB, V7, Method::POST, "/webhooks/", r#"{"event": "file.uploaded"}"#);
            (
                Trigger::Http(r.await),
                expect(400, "`target_url` is missing."),
            )
        }
        JsonObjectExpected => (
            Trigger::Http(rest(s, PUB, V7, Method::POST, "/webhooks/", "[]").await),
            expect(400, "Expected JSON object."),
        ),
        TagsNotList => (
            Trigger::Http(put(&format!("/files/{}/tags/", t.file), r#"{"tags": "cat"}"#).await),
            expect(400, "`tags` must be a list of strings."),
        ),
        TagInvalid => (
            Trigger::Http(put(&format!("/files/{}/tags/", t.file), r#"{"tags": ["a b"]}"#).await),
            expect(400, "Tag `a b` is not valid. Tags are limited to 100 characters and may contain Latin letters, digits, `-`, `_` and `.` only."),
        ),
        TooManyTags => {
            let many: Vec<String> = (0..51).map(|i| format!("t{i}")).collect();
            let body = serde_json::json!({ "tags": many }).to_string();
            (
                Trigger::Http(put(&format!("/files/{}/tags/", t.file), &body).await),
                expect(400, "Too many tags: 51 (max 50)."),
            )
        }
        TagsConflict => (
            Trigger::Unreachable("needs 16 concurrent writers to win every race"),
            expect(409, "Tags changed concurrently, try again."),
        ),
        ConversionPathsRequired => (
            Trigger::Http(
                rest(s, PUB, V7, Method::POST, "/convert/document/", r#"{"paths": []}"#).await,
            ),
            expect(400, "\u{201c}paths\u{201d} parameter is required."),
        ),
        CopySourceRequired => (
            Trigger::Http(rest(s, PUB, V7, Method::POST, "/files/local_copy/", "{}").await),
            expect(400, "`source` parameter is required."),
        ),
        CopySourceBad => (
            Trigger::Http(rest(s, PUB, V7, Method::POST, "/files/local_copy/", r#"{"source": "x"}"#).await),
            expect(400, "Bad `source` parameter. Use UUID or CDN URL."),
        ),
        CopyStoreInvalid => {
            let body = format!(r#"{{"source": "{}", "store": 1}}"#, t.file);
            (
                Trigger::Http(rest(s, PUB, V7, Method::POST, "/files/local_copy/", &body).await),
                expect(400, "`store` parameter should be `true` or `false`."),
            )
        }
        CopyMetadataInvalid => {
            let body = format!(r#"{{"source": "{}", "metadata": []}}"#, t.file);
            (
                Trigger::Http(rest(s, PUB, V7, Method::POST, "/files/local_copy/", &body).await),
                expect(400, "`metadata` parameter should be an object of strings."),
            )
        }
        CopyNotEmulated => {
            let body = format!(r#"{{"source": "{}/-/trim/"}}"#, t.file);
            (
                Trigger::Http(rest(s, PUB, V7, Method::POST, "/files/local_copy/", &body).await),
                expect(400, "The emulator cannot make this copy: The emulator does not implement operation \"trim\"; it answers this instead of an image without the operation applied."),
            )
        }
        AddonTargetRequired => (
            Trigger::Http(rest(s, PUB, V7, Method::POST, "/addons/remove_bg/execute/", "{}").await),
            expect(400, "`target` parameter is required."),
        ),
        AddonTargetBad => (
            Trigger::Http(rest(s, PUB, V7, Method::POST, "/addons/remove_bg/execute/", r#"{"target": "x"}"#).await),
            expect(400, "Bad `target` parameter. Use UUID."),
        ),
        AddonParamsInvalid => {
            let body = format!(r#"{{"target": "{}", "params": 1}}"#, t.file);
            (
                Trigger::Http(rest(s, PUB, V7, Method::POST, "/addons/remove_bg/execute/", &body).await),
                expect(400, "Bad `params` parameter: `params` must be a JSON object."),
            )
        }
        AddonConcurrentCall => {
            let now = s.state.clock.now_us();
            let run = uploadcare_emulator::store::AddonRun {
                request_id: uuid::Uuid::new_v4(),
                project: PUB.into(),
                addon: "remove_bg".into(),
                target: uuid::Uuid::parse_str(&t.file).unwrap(),
                status: uploadcare_emulator::store::RunStatus::InProgress,
                result: None,
                created_us: now,
                updated_us: now,
            };
            assert!(s.state.store.start_addon_run(&run, 0).await.unwrap());
            let body = format!(r#"{{"target": "{}"}}"#, t.file);
            (
                Trigger::Http(rest(s, PUB, V7, Method::POST, "/addons/remove_bg/execute/", &body).await),
                expect(409, "Concurrent call attempted"),
            )
        }
        AddonRequestIdRequired => (
            Trigger::Http(get("/addons/remove_bg/execute/status/").await),
            expect(400, "`request_id` parameter is required."),
        ),
        AddonRequestIdBad => (
            Trigger::Http(get("/addons/remove_bg/execute/status/?request_id=x").await),
            expect(400, "Bad `request_id` parameter. Use UUID."),
        ),
        CopyStorageUnknown => {
            let body = format!(r#"{{"source": "{}", "target": "nope"}}"#, t.file);
            (
                Trigger::Http(rest(s, PUB, V7, Method::POST, "/files/remote_copy/", &body).await),
                expect(400, "Project has no storage with provided name."),
            )
        }
        CopyPatternInvalid => {
            let body = format!(r#"{{"source": "{}", "target": "errors", "pattern": "${{x}}"}}"#, t.file);
            (
                Trigger::Http(rest(s, PUB, V7, Method::POST, "/files/remote_copy/", &body).await),
                expect(400, "Invalid pattern provided: `${x}`"),
            )
        }
        CopyPatternCharacter => {
            let body = format!(r#"{{"source": "{}", "target": "errors", "pattern": "../x"}}"#, t.file);
            (
                Trigger::Http(rest(s, PUB, V7, Method::POST, "/files/remote_copy/", &body).await),
                expect(400, "Invalid pattern provided: Invalid character in a pattern."),
            )
        }
        CopyMakePublicInvalid => {
            let body = format!(r#"{{"source": "{}", "target": "errors", "make_public": 1}}"#, t.file);
            (
                Trigger::Http(rest(s, PUB, V7, Method::POST, "/files/remote_copy/", &body).await),
                expect(400, "`make_public` parameter should be `true` or `false`."),
            )
        }
        JsonParseError => (
            Trigger::Http(rest(s, PUB, V7, Method::POST, "/files/search/", "{").await),
            expect(400, "JSON parse error - EOF while parsing an object at line 1 column 1"),
        ),
        MetadataConflict => (
            Trigger::Unreachable("needs 16 concurrent writers to win every race"),
            expect(409, "Metadata changed concurrently, try again."),
        ),
    };
    (trigger, status, detail)
}

#[tokio::test]
async fn every_rest_error_has_its_status_and_text() {
    // A custom storage for the remote copy errors (none of them writes to it).
    let s = TestServer::start_with(Backend::Sqlite, |c| {
        c.storages = vec![uploadcare_emulator::config::StorageConfig {
            pub_key: PUB.into(),
            name: "errors".into(),
            target: uploadcare_emulator::config::StorageTarget::Directory(
                std::env::temp_dir().join("uc-rest-errors-never-written"),
            ),
            bucket: None,
            pattern: None,
        }];
    })
    .await;
    let https_only = TestServer::start_with(Backend::Sqlite, |c| {
        c.simple_auth_https_only = true;
    })
    .await;
    let file = s.upload(PUB, "a.txt", b"a".to_vec()).await;
    let setup = Setup {
        s,
        https_only,
        file,
    };
    let mut reached = 0;
    for &code in RestErrorCode::ALL {
        let (trigger, status, detail) = provoke(&setup, code).await;
        let body = serde_json::json!({ "detail": detail }).to_string();
        let (answer, how) = match trigger {
            Trigger::Http(answer) => {
                reached += 1;
                (answer, "over HTTP")
            }
            Trigger::Unreachable(why) => {
                let r = axum::response::IntoResponse::into_response(RestError::new(code));
                let content_type = r.headers()["content-type"].to_str().unwrap().to_owned();
                let status = r.status().as_u16();
                let bytes = axum::body::to_bytes(r.into_body(), usize::MAX)
                    .await
                    .unwrap();
                let answer = Answer {
                    status,
                    content_type,
                    body: String::from_utf8(bytes.to_vec()).unwrap(),
                };
                (answer, why)
            }
        };
        assert_eq!(
            (
                answer.status,
                answer.content_type.as_str(),
                answer.body.as_str()
            ),
            (status, V7, body.as_str()),
            "{code:?} ({how})"
        );
    }
    assert_eq!(
        reached,
        RestErrorCode::ALL.len() - 2,
        "two codes are unreachable (the metadata and tags conflicts)"
    );
}

/// Paths no route matches answer in their own API's format, whichever API's router saw them
/// (the REST namespaces the emulator does not build included).
#[tokio::test]
async fn unknown_paths_answer_in_their_api_format() {
    let s = TestServer::start(Backend::Sqlite).await;
    let html = "<h1>Not Found</h1><p>The requested resource was not found on this server.</p>";
    for (path, content_type, body) in [
        ("/addons/nope/", "text/html; charset=utf-8", html),
        ("/convert/audio/", "text/html; charset=utf-8", html),
        ("/groups/a/b/c/", "text/html; charset=utf-8", html),
        ("/base/nope/", TEXT, "Not Found"),
        ("/_emulator/nope", TEXT, "Not Found"),
        ("/nope/", TEXT, "Not Found"),
    ] {
        let r = Answer::of(s.client.get(s.url(path)).send().await.unwrap()).await;
        assert_eq!(
            (r.status, r.content_type.as_str(), r.body.as_str()),
            (404, content_type, body),
            "{path}"
        );
    }
}
