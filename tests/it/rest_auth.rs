//! REST API versioning and authentication over HTTP, on every backend. Signatures are
//! computed here with the hmac/sha1/md-5 crates, independently of the server's code.

use crate::common::*;
use reqwest::Method;

const V7: &str = "application/vnd.uploadcare-v0.7+json";
const INCORRECT: &str = r#"{"detail":"Incorrect authentication credentials."}"#;
const BAD_SIGNATURE: &str = r#"{"detail":"Invalid signature. Please check your Secret key."}"#;

/// The server clock's time, `offset_s` seconds away, as an RFC 2822 date.
fn http_date(s: &TestServer, offset_s: i64) -> String {
    let us = s.state.clock.now_us() + offset_s * 1_000_000;
    chrono::DateTime::from_timestamp_micros(us)
        .unwrap()
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string()
}

/// pyuploadcare's form: a comma after the year.
fn py_date(s: &TestServer) -> String {
    let us = s.state.clock.now_us();
    chrono::DateTime::from_timestamp_micros(us)
        .unwrap()
        .format("%a, %d %b %Y, %H:%M:%S GMT")
        .to_string()
}

/// A request with `headers` (name, value) to `uri` on the server.
async fn call(
    s: &TestServer,
    method: Method,
    uri: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Answer {
    let mut r = s.client.request(method, s.url(uri)).body(body.to_vec());
    for (k, v) in headers {
        r = r.header(*k, *v);
    }
    Answer::of(r.send().await.unwrap()).await
}

fn simple(pub_key: &str, secret: &str) -> String {
    format!("Uploadcare.Simple {pub_key}:{secret}")
}

#[test]
fn test_signer_matches_openssl_vector() {
    // printf 'GET\nd41d8cd98f00b204e9800998ecf8427e\napplication/json\nFri, 30 Sep 2016 11:10:54 GMT\n/files/?limit=1' \
    //   | openssl dgst -sha1 -hmac demosecretkey
    assert_eq!(
        crate::common::rest_signature(
            "demosecretkey",
            "GET",
            b"",
            "application/json",
            "Fri, 30 Sep 2016 11:10:54 GMT",
            "/files/?limit=1"
        ),
        "3a93073efebeea437fd0e47412a3299c8a1223ef"
    );
}

per_backend!(accept_header_selects_version_or_406);
async fn accept_header_selects_version_or_406(backend: Backend) {
    let s = TestServer::start(backend).await;
    let auth = simple(PUB, SECRET);
    let not_acceptable = r#"{"detail":"Incorrect Accept header provided. Make sure to specify API version. Refer to REST API docs for details."}"#;
    for accept in [
        None,
        Some("application/json"),
        Some("application/vnd.uploadcare-v0.8+json"),
    ] {
        let mut h = vec![("Authorization", auth.as_str())];
        if let Some(a) = accept {
            h.push(("Accept", a));
        }
        let r = call(&s, Method::GET, "/groups/", &h, b"").await;
        assert_eq!(r.status, 406, "{accept:?}");
        assert_eq!(r.content_type, V7);
        assert_eq!(r.body, not_acceptable);
    }
    // 406 comes before authentication.
    let r = call(&s, Method::GET, "/groups/", &[], b"").await;
    assert_eq!((r.status, r.body.as_str()), (406, not_acceptable));
    for v in ["0.5", "0.6", "0.7"] {
        let media = format!("application/vnd.uploadcare-v{v}+json");
        let ok = call(
            &s,
            Method::GET,
            "/groups/",
            &[("Accept", &media), ("Authorization", &auth)],
            b"",
        )
        .await;
        assert_eq!((ok.status, ok.content_type.as_str()), (200, media.as_str()));
        let denied = call(&s, Method::GET, "/groups/", &[("Accept", &media)], b"").await;
        assert_eq!(
            (
                denied.status,
                denied.content_type.as_str(),
                denied.body.as_str()
            ),
            (401, media.as_str(), INCORRECT)
        );
    }
}

per_backend!(simple_scheme_failures);
async fn simple_scheme_failures(backend: Backend) {
    let s = TestServer::start(backend).await;
    let cases: [(Option<String>, u16, String); 8] = [
        (None, 401, INCORRECT.into()),
        (Some("Basic ZGVtbzpkZW1v".into()), 401, INCORRECT.into()),
        (Some("Uploadcare.Simple".into()), 401, INCORRECT.into()),
        (
            Some("Uploadcare.Simple demopublickey".into()),
            401,
            INCORRECT.into(),
        ),
        (
            Some("Uploadcare.Simple demopublickey:".into()),
            401,
            INCORRECT.into(),
        ),
        (
            Some(simple("nosuchkey", SECRET)),
            401,
            r#"{"detail":"Public key nosuchkey not found."}"#.into(),
        ),
        (
            Some(simple(PUB, OTHER_SECRET)),
            401,
            r#"{"detail":"Secret key not found."}"#.into(),
        ),
        (Some(simple(PUB, SECRET)), 200, String::new()),
    ];
    for (auth, status, body) in cases {
        let mut h = vec![("Accept", V7)];
        if let Some(a) = &auth {
            h.push(("Authorization", a));
        }
        let r = call(&s, Method::GET, "/groups/", &h, b"").await;
        assert_eq!(r.status, status, "{auth:?}");
        assert_eq!(r.content_type, V7);
        if status != 200 {
            assert_eq!(r.body, body, "{auth:?}");
        }
    }
}

per_backend!(simple_scheme_over_http_when_https_is_required);
async fn simple_scheme_over_http_when_https_is_required(backend: Backend) {
    let s = TestServer::start_with(backend, |c| c.simple_auth_https_only = true).await;
    let auth = simple(PUB, SECRET);
    let r = call(
        &s,
        Method::GET,
        "/groups/",
        &[("Accept", V7), ("Authorization", &auth)],
        b"",
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.content_type, V7);
    assert_eq!(
        r.body,
        r#"{"detail":"Simple authentication over HTTP is forbidden. Please, use HTTPS or signed requests instead."}"#
    );
    let proxied = call(
        &s,
        Method::GET,
        "/groups/",
        &[
            ("Accept", V7),
            ("Authorization", &auth),
            ("X-Forwarded-Proto", "https"),
        ],
        b"",
    )
    .await;
    assert_eq!(proxied.status, 200);
    let date = http_date(&s, 0);
    let sig = crate::common::rest_signature(SECRET, "GET", b"", "", &date, "/groups/");
    let signed_auth = format!("Uploadcare {PUB}:{sig}");
    let signed = call(
        &s,
        Method::GET,
        "/groups/",
        &[
            ("Accept", V7),
            ("Date", &date),
            ("Authorization", &signed_auth),
        ],
        b"",
    )
    .await;
    assert_eq!(signed.status, 200, "{}", signed.body);
}

per_backend!(signed_scheme);
async fn signed_scheme(backend: Backend) {
    let s = TestServer::start(backend).await;
    let file = s.upload(PUB, "a.txt", b"hello".to_vec()).await;
    let json = "application/json";
    let uri = "/groups/?limit=1&ordering=-datetime_created";

    // Query string, Date header, Content-Type on a GET (as pyuploadcare sends).
    let date = http_date(&s, 0);
    let sig = crate::common::rest_signature(SECRET, "GET", b"", json, &date, uri);
    let auth = format!("Uploadcare {PUB}:{sig}");
    let ok = call(
        &s,
        Method::GET,
        uri,
        &[
            ("Accept", V7),
            ("Content-Type", json),
            ("Date", &date),
            ("Authorization", &auth),
        ],
        b"",
    )
    .await;
    assert_eq!(
        (ok.status, ok.content_type.as_str()),
        (200, V7),
        "{}",
        ok.body
    );

    // The query string is signed: dropping it from the signed URI fails.
    let sig_no_query = crate::common::rest_signature(SECRET, "GET", b"", json, &date, "/groups/");
    let auth_no_query = format!("Uploadcare {PUB}:{sig_no_query}");
    let r = call(
        &s,
        Method::GET,
        uri,
        &[
            ("Accept", V7),
            ("Content-Type", json),
            ("Date", &date),
            ("Authorization", &auth_no_query),
        ],
        b"",
    )
    .await;
    assert_eq!(
        (r.status, r.content_type.as_str(), r.body.as_str()),
        (401, V7, BAD_SIGNATURE)
    );

    // A body is signed through its md5.
    let body = format!(r#"["{file}"]"#);
    let sig_body = crate::common::rest_signature(
        SECRET,
        "PUT",
        body.as_bytes(),
        json,
        &date,
        "/files/storage/",
    );
    let auth_body = format!("Uploadcare {PUB}:{sig_body}");
    let h = [
        ("Accept", V7),
        ("Content-Type", json),
        ("Date", date.as_str()),
        ("Authorization", auth_body.as_str()),
    ];
    let stored = call(&s, Method::PUT, "/files/storage/", &h, body.as_bytes()).await;
    assert_eq!(stored.status, 200, "{}", stored.body);
    assert_eq!(stored.json()["result"][0]["uuid"], file.as_str());
    let tampered = call(
        &s,
        Method::PUT,
        "/files/storage/",
        &h,
        format!(r#"["{file}" ]"#).as_bytes(),
    )
    .await;
    assert_eq!(
        (tampered.status, tampered.body.as_str()),
        (401, BAD_SIGNATURE)
    );

    // Wrong secret.
    let wrong = format!(
        "Uploadcare {PUB}:{}",
        crate::common::rest_signature(OTHER_SECRET, "GET", b"", json, &date, uri)
    );
    let r = call(
        &s,
        Method::GET,
        uri,
        &[
            ("Accept", V7),
            ("Content-Type", json),
            ("Date", &date),
            ("Authorization", &wrong),
        ],
        b"",
    )
    .await;
    assert_eq!((r.status, r.body.as_str()), (401, BAD_SIGNATURE));

    // Unknown public key.
    let unknown = format!("Uploadcare nosuchkey:{sig}");
    let r = call(
        &s,
        Method::GET,
        uri,
        &[
            ("Accept", V7),
            ("Content-Type", json),
            ("Date", &date),
            ("Authorization", &unknown),
        ],
        b"",
    )
    .await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (401, r#"{"detail":"Public key nosuchkey not found."}"#)
    );

    // pyuploadcare's date, with a comma after the year, signed as sent.
    let py = py_date(&s);
    let py_auth = format!(
        "Uploadcare {PUB}:{}",
        crate::common::rest_signature(SECRET, "GET", b"", json, &py, uri)
    );
    let r = call(
        &s,
        Method::GET,
        uri,
        &[
            ("Accept", V7),
            ("Content-Type", json),
            ("Date", &py),
            ("Authorization", &py_auth),
        ],
        b"",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);

    // @uploadcare/rest-client's X-Uploadcare-Date, no Date header.
    let r = call(
        &s,
        Method::GET,
        uri,
        &[
            ("Accept", V7),
            ("Content-Type", json),
            ("X-Uploadcare-Date", &date),
            ("Authorization", &auth),
        ],
        b"",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);

    // No date, an unreadable date, a date off by more than 15 minutes either way.
    let r = call(
        &s,
        Method::GET,
        uri,
        &[
            ("Accept", V7),
            ("Content-Type", json),
            ("Authorization", &auth),
        ],
        b"",
    )
    .await;
    assert_eq!((r.status, r.body.as_str()), (401, INCORRECT));
    let junk = "yesterday";
    let junk_auth = format!(
        "Uploadcare {PUB}:{}",
        crate::common::rest_signature(SECRET, "GET", b"", json, junk, uri)
    );
    let r = call(
        &s,
        Method::GET,
        uri,
        &[
            ("Accept", V7),
            ("Content-Type", json),
            ("Date", junk),
            ("Authorization", &junk_auth),
        ],
        b"",
    )
    .await;
    assert_eq!((r.status, r.body.as_str()), (401, INCORRECT));
    for offset in [-16 * 60, 16 * 60] {
        let d = http_date(&s, offset);
        let a = format!(
            "Uploadcare {PUB}:{}",
            crate::common::rest_signature(SECRET, "GET", b"", json, &d, uri)
        );
        let r = call(
            &s,
            Method::GET,
            uri,
            &[
                ("Accept", V7),
                ("Content-Type", json),
                ("Date", &d),
                ("Authorization", &a),
            ],
            b"",
        )
        .await;
        assert_eq!((r.status, r.body.as_str()), (401, INCORRECT), "{offset}");
    }
    let d = http_date(&s, -14 * 60);
    let a = format!(
        "Uploadcare {PUB}:{}",
        crate::common::rest_signature(SECRET, "GET", b"", json, &d, uri)
    );
    let r = call(
        &s,
        Method::GET,
        uri,
        &[
            ("Accept", V7),
            ("Content-Type", json),
            ("Date", &d),
            ("Authorization", &a),
        ],
        b"",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);

    // The same signed request goes stale when the server clock moves on.
    s.state.clock.advance(20 * 60 * 1_000_000);
    let r = call(
        &s,
        Method::GET,
        uri,
        &[
            ("Accept", V7),
            ("Content-Type", json),
            ("Date", &date),
            ("Authorization", &auth),
        ],
        b"",
    )
    .await;
    assert_eq!((r.status, r.body.as_str()), (401, INCORRECT));
}

per_backend!(unknown_routes_and_methods);
async fn unknown_routes_and_methods(backend: Backend) {
    let s = TestServer::start(backend).await;
    let html = "<h1>Not Found</h1><p>The requested resource was not found on this server.</p>";
    for path in [
        "/groups/a/b/c/",
        "/project/x/",
        "/files/nope/extra/",
        "/groups/x/storage/extra/",
    ] {
        let r = call(&s, Method::GET, path, &[], b"").await;
        assert_eq!(
            (r.status, r.content_type.as_str(), r.body.as_str()),
            (404, "text/html; charset=utf-8", html),
            "{path}"
        );
    }
    let auth = simple(PUB, SECRET);
    let r = call(
        &s,
        Method::POST,
        "/groups/",
        &[("Accept", V7), ("Authorization", &auth)],
        b"",
    )
    .await;
    assert_eq!(
        (r.status, r.content_type.as_str(), r.body.as_str()),
        (405, V7, r#"{"detail":"Method \"POST\" not allowed."}"#)
    );
}
