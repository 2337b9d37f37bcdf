//! Upload API groups over HTTP, on every backend.

use crate::common::*;
use hmac::{Hmac, Mac};
use reqwest::RequestBuilder;
use sha2::Sha256;

per_backend!(create_and_read_group_with_effects);
async fn create_and_read_group_with_effects(backend: Backend) {
    let s = TestServer::start(backend).await;
    let a = s.upload(PUB, "a.png", png(4, 3)).await;
    let b = s.upload(PUB, "b.txt", b"hello".to_vec()).await;
    let id = s
        .group(PUB, &[a.clone(), format!("{b}/-/resize/x800/")])
        .await;
    assert!(id.ends_with("~2"), "{id}");
    let r = Answer::of(
        s.client
            .get(s.url("/group/info/"))
            .query(&[("pub_key", PUB), ("group_id", &id)])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 200, "{backend:?}");
    assert_eq!(r.content_type, "application/json");
    let v = r.json();
    assert_eq!(v["files_count"], 2);
    assert_eq!(v["files"][0]["uuid"], a.as_str());
    assert_eq!(v["files"][0]["default_effects"], "");
    assert_eq!(v["files"][0]["image_info"]["width"], 4);
    assert_eq!(v["files"][1]["default_effects"], "resize/x800/");
    assert_eq!(v["cdn_url"], format!("{}/{id}/", s.base));
}

const MISSING: &str = "d6d34fa9-addd-472c-868d-2e5c105f9fcd";

fn sign(secret: &str, expire: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(expire.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// `POST /group/` with an urlencoded body of `fields`.
fn create<'a>(
    s: &'a TestServer,
    fields: &'a [(String, String)],
) -> impl Fn(&[(&str, &str)]) -> RequestBuilder + 'a {
    move |q| s.client.post(s.url("/group/")).query(q).form(fields)
}

/// `GET /group/info/` with `query`.
fn info<'a>(
    s: &'a TestServer,
    query: &'a [(&'a str, &'a str)],
) -> impl Fn(&[(&str, &str)]) -> RequestBuilder + 'a {
    move |q| s.client.get(s.url("/group/info/")).query(query).query(q)
}

fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

async fn send(r: RequestBuilder) -> Answer {
    Answer::of(r.send().await.unwrap()).await
}

fn member_uuids(v: &serde_json::Value) -> Vec<String> {
    v["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["uuid"].as_str().unwrap().to_owned())
        .collect()
}

per_backend!(group_body_shape_and_info_round_trip);
async fn group_body_shape_and_info_round_trip(backend: Backend) {
    let s = TestServer::start(backend).await;
    let a = s.upload(PUB, "a.png", png(2, 2)).await;
    let r = send(
        s.client
            .post(s.url("/group/"))
            .form(&pairs(&[("pub_key", PUB), ("files[0]", &a)])),
    )
    .await;
    assert_eq!(
        (r.status, r.content_type.as_str()),
        (200, "application/json")
    );
    let created = r.json();
    let keys: Vec<&str> = created
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
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
    let id = created["id"].as_str().unwrap();
    assert!(id.ends_with("~1"));
    assert_eq!(created["datetime_stored"], serde_json::Value::Null);
    assert_eq!(created["url"], format!("{}/groups/{id}/", s.base));
    let dt = created["datetime_created"].as_str().unwrap();
    assert_eq!(dt.len(), "2026-02-08T06:32:45.535046Z".len(), "{dt}");
    assert!(dt.ends_with('Z'));
    let file_keys: Vec<&str> = created["files"][0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        file_keys,
        [&FILE_UPLOAD_INFO_KEYS[..], &["default_effects"]].concat()
    );
    let r = send(info(&s, &[("pub_key", PUB), ("group_id", id)])(&[])).await;
    assert_eq!(r.body, serde_json::to_string(&created).unwrap());
    // `~` percent-encoded (as form encoders send it) and raw.
    for raw in [id.replace('~', "%7E"), id.to_owned()] {
        let r = send(
            s.client
                .get(s.url(&format!("/group/info/?pub_key={PUB}&group_id={raw}"))),
        )
        .await;
        assert_eq!(r.status, 200, "{raw}: {}", r.body);
        assert_eq!(r.json()["id"], id);
    }
    // JSONP wraps the success body.
    let r = send(info(&s, &[("pub_key", PUB), ("group_id", id)])(&[(
        "callback", "cb",
    )]))
    .await;
    assert_eq!((r.status, r.content_type.as_str()), (200, JS));
    assert_eq!(
        r.body,
        format!("cb({})", serde_json::to_string(&created).unwrap())
    );
}

per_backend!(member_order_forms_and_bodies);
async fn member_order_forms_and_bodies(backend: Backend) {
    let s = TestServer::start(backend).await;
    let mut u = Vec::new();
    for i in 0..12 {
        u.push(s.upload(PUB, &format!("{i}.txt"), vec![b'x'; i + 1]).await);
    }
    // files[N] ordered numerically (files[10] after files[2]), then files[] in order.
    let fields = pairs(&[
        ("files[10]", &u[10]),
        ("files[]", &u[7]),
        ("files[2]", &u[2]),
        ("pub_key", PUB),
        ("files[1]", &u[1]),
        ("files[]", &u[6]),
        ("files[0]", &u[0]),
    ]);
    let r = send(s.client.post(s.url("/group/")).form(&fields)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        member_uuids(&r.json()),
        [0, 1, 2, 10, 7, 6].map(|i| u[i].clone())
    );

    // Multipart body, pub_key in the query string, the /group// path of pyuploadcare,
    // and members in every accepted form.
    let form = reqwest::multipart::Form::new()
        .text("files[0]", u[0].clone())
        .text("files[1]", format!("{}/", u[1]))
        .text("files[2]", format!("{}/-/resize/x800/", u[2]))
        .text("files[3]", format!("https://ucarecdn.com/{}/", u[3]))
        .text(
            "files[4]",
            format!(
                "http://cdn.example.test:8080/{}/-/crop/10x10/-/preview/",
                u[4]
            ),
        )
        .text("files[5]", format!("/{}/-/resize/x800/", u[5]))
        .text("files[6]", u[6].to_uppercase());
    let r = send(
        s.client
            .post(s.url(&format!("/group//?pub_key={PUB}")))
            .multipart(form),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    assert_eq!(member_uuids(&v), &u[..7]);
    let effects: Vec<&str> = v["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["default_effects"].as_str().unwrap())
        .collect();
    assert_eq!(
        effects,
        [
            "",
            "",
            "resize/x800/",
            "",
            "crop/10x10/-/preview/",
            "resize/x800/",
            ""
        ]
    );
    // The same member may appear twice.
    let r = send(s.client.post(s.url("/group/")).form(&pairs(&[
        ("pub_key", PUB),
        ("files[0]", &u[0]),
        ("files[1]", &u[0]),
    ])))
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["files_count"], 2);
}

per_backend!(thousand_members_and_one_more);
async fn thousand_members_and_one_more(backend: Backend) {
    let s = TestServer::start(backend).await;
    let a = s.upload(PUB, "a.txt", b"a".to_vec()).await;
    let mut fields = pairs(&[("pub_key", PUB)]);
    for i in 0..1000 {
        fields.push((format!("files[{i}]"), a.clone()));
    }
    let r = send(create(&s, &fields)(&[])).await;
    assert_eq!(r.status, 200, "{}", &r.body[..r.body.len().min(200)]);
    let v = r.json();
    assert_eq!(v["files_count"], 1000);
    assert!(v["id"].as_str().unwrap().ends_with("~1000"));
    let id = v["id"].as_str().unwrap().to_owned();
    let r = send(info(&s, &[("pub_key", PUB), ("group_id", &id)])(&[])).await;
    assert_eq!(r.json()["files"].as_array().unwrap().len(), 1000);
    fields.push(("files[]".into(), a.clone()));
    assert_error(
        create(&s, &fields),
        400,
        "FilesNumberLimitExceededError",
        "There are too many files.",
    )
    .await;
}

per_backend!(create_group_errors);
async fn create_group_errors(backend: Backend) {
    let s = TestServer::start(backend).await;
    let a = s.upload(PUB, "a.txt", b"a".to_vec()).await;
    let theirs = s.upload(OTHER_PUB, "b.txt", b"b".to_vec()).await;
    let req = "ProjectPublicKeyRequiredError";
    assert_error(
        create(&s, &pairs(&[("files[0]", &a)])),
        403,
        req,
        "pub_key is required.",
    )
    .await;
    assert_error(
        create(&s, &pairs(&[("pub_key", ""), ("files[0]", &a)])),
        403,
        req,
        "pub_key is required.",
    )
    .await;
    assert_error(
        create(&s, &pairs(&[("pub_key", "foo"), ("files[0]", &a)])),
        403,
        "ProjectPublicKeyInvalidError",
        "pub_key is invalid.",
    )
    .await;
    for fields in [
        pairs(&[("pub_key", PUB)]),
        pairs(&[("pub_key", PUB), ("files[0]", "")]),
        pairs(&[("pub_key", PUB), ("files", &a)]),
        pairs(&[("pub_key", PUB), ("files[x]", &a)]),
    ] {
        assert_error(
            create(&s, &fields),
            400,
            "GroupFilesInvalidError",
            "No files[N] parameters found.",
        )
        .await;
    }
    for bad in [
        "wrong-uuid".to_owned(),
        "http://invalid/url".to_owned(),
        format!("{a}/resize/x800/"),
        format!("ftp://host/{a}/"),
        format!("{a}~1"),
    ] {
        assert_error(
            create(
                &s,
                &pairs(&[("pub_key", PUB), ("files[0]", &a), ("files[1]", &bad)]),
            ),
            400,
            "GroupFileURLParsingFailedError",
            &format!("This is not valid file url: {bad}."),
        )
        .await;
    }
    for missing in [MISSING, theirs.as_str()] {
        assert_error(
            create(
                &s,
                &pairs(&[("pub_key", PUB), ("files[0]", &a), ("files[1]", missing)]),
            ),
            400,
            "GroupFilesNotFoundError",
            "Some files not found.",
        )
        .await;
    }
    assert_error(
        create(&s, &pairs(&[("pub_key", PUB), ("files[0]", "a\0")])),
        400,
        "NullCharactersForbiddenError",
        "Null characters are not allowed.",
    )
    .await;
    let mut many = pairs(&[("pub_key", PUB)]);
    for i in 0..2000 {
        many.push((format!("f{i}"), "v".into()));
    }
    assert_error(
        create(&s, &many),
        400,
        "RequestFiledsNumberLimitExceededError",
        "The request contains too many HTTP POST fields.",
    )
    .await;
    assert_error(
        |q| unterminated_multipart(&s, "/group/").query(q),
        400,
        "PostRequestParserFailedError",
        "HTTP POST request parsing failed.",
    )
    .await;
    let huge = pairs(&[
        ("pub_key", PUB),
        ("files[0]", &a),
        ("pad", &"x".repeat(5 << 20)),
    ]);
    assert_error(
        create(&s, &huge),
        413,
        "RequestSizeLimitExceededError",
        "The size of the request is too large.",
    )
    .await;
    // An unstored file past its retention is not found either.
    s.state.clock.advance(25 * 3600 * 1_000_000);
    assert_error(
        create(&s, &pairs(&[("pub_key", PUB), ("files[0]", &a)])),
        400,
        "GroupFilesNotFoundError",
        "Some files not found.",
    )
    .await;
}

per_backend!(signed_group_creation);
async fn signed_group_creation(backend: Backend) {
    let s = TestServer::start(backend).await;
    let now = s.state.clock.now_us() / 1_000_000;
    let future = (now + 600).to_string();
    let past = (now - 1).to_string();
    let good = sign(SIGNED_SECRET, &future);
    let form = reqwest::multipart::Form::new()
        .text("UPLOADCARE_PUB_KEY", SIGNED_PUB)
        .text("signature", good.clone())
        .text("expire", future.clone())
        .part(
            "file",
            reqwest::multipart::Part::bytes(b"a".to_vec()).file_name("a.txt"),
        );
    let r = send(s.client.post(s.url("/base/")).multipart(form)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let a = r.json()["file"].as_str().unwrap().to_owned();
    let base = [("pub_key", SIGNED_PUB), ("files[0]", a.as_str())];
    let with = |extra: &[(&str, &str)]| {
        let mut p = pairs(&base);
        p.extend(pairs(extra));
        p
    };
    type Case<'a> = (Vec<(String, String)>, u16, &'a str, &'a str);
    let cases: [Case; 5] = [
        (
            with(&[]),
            400,
            "SignatureRequiredError",
            "`signature` is required.",
        ),
        (
            with(&[("signature", &good)]),
            400,
            "SignatureExpirationRequiredError",
            "`expire` is required.",
        ),
        (
            with(&[("signature", &good), ("expire", "tomorrow")]),
            400,
            "SignatureExpirationInvalidError",
            "`expire` must be a UNIX timestamp.",
        ),
        (
            with(&[
                ("signature", &sign(SIGNED_SECRET, &past)),
                ("expire", &past),
            ]),
            403,
            "SignatureExpirationError",
            "Expired signature.",
        ),
        (
            with(&[("signature", &sign(SECRET, &future)), ("expire", &future)]),
            403,
            "SignatureInvalidError",
            "Invalid signature.",
        ),
    ];
    for (fields, status, code, message) in &cases {
        assert_error(create(&s, fields), *status, code, message).await;
    }
    let r = send(create(
        &s,
        &with(&[("signature", &good), ("expire", &future)]),
    )(&[]))
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // Reading a group needs no signature.
    let id = r.json()["id"].as_str().unwrap().to_owned();
    let r = send(info(&s, &[("pub_key", SIGNED_PUB), ("group_id", &id)])(&[])).await;
    assert_eq!(r.status, 200, "{}", r.body);
    // A signature where none is required is accepted.
    let b = s.upload(PUB, "b.txt", b"b".to_vec()).await;
    let r = send(create(
        &s,
        &pairs(&[
            ("pub_key", PUB),
            ("files[0]", &b),
            ("signature", &sign(SECRET, &future)),
            ("expire", &future),
        ]),
    )(&[]))
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

per_backend!(group_info_errors);
async fn group_info_errors(backend: Backend) {
    let s = TestServer::start(backend).await;
    let a = s.upload(PUB, "a.txt", b"a".to_vec()).await;
    let id = s.group(PUB, std::slice::from_ref(&a)).await;
    let o = s.upload(OTHER_PUB, "o.txt", b"o".to_vec()).await;
    let other_id = s.group(OTHER_PUB, &[o]).await;
    let req = "ProjectPublicKeyRequiredError";
    assert_error(
        info(&s, &[("group_id", &id)]),
        403,
        req,
        "pub_key is required.",
    )
    .await;
    assert_error(
        info(&s, &[("pub_key", "foo"), ("group_id", &id)]),
        403,
        "ProjectPublicKeyInvalidError",
        "pub_key is invalid.",
    )
    .await;
    for q in [
        vec![("pub_key", PUB)],
        vec![("pub_key", PUB), ("group_id", "")],
    ] {
        assert_error(
            info(&s, &q),
            400,
            "GroupIdRequiredError",
            "group_id is required.",
        )
        .await;
    }
    let wrong_count = id.replace("~1", "~2");
    let unknown = format!("{MISSING}~1");
    for bad in [
        "nonsense",
        a.as_str(),
        &format!("{a}~"),
        &format!("{a}~0"),
        &wrong_count,
        &unknown,
        &other_id,
    ] {
        assert_error(
            info(&s, &[("pub_key", PUB), ("group_id", bad)]),
            404,
            "GroupNotFoundError",
            "group_id is invalid.",
        )
        .await;
    }
    assert_error(
        info(&s, &[("pub_key", PUB), ("group_id", "x\0")]),
        400,
        "NullCharactersForbiddenError",
        "Null characters are not allowed.",
    )
    .await;
    // A group whose member expired still answers, with `null` for that member.
    s.state.clock.advance(25 * 3600 * 1_000_000);
    let r = send(info(&s, &[("pub_key", PUB), ("group_id", &id)])(&[])).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["files"], serde_json::json!([null]));
}
