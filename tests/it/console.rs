//! The browser console at `/_emulator/console/`: every page answers HTML with what the
//! emulator holds after real API calls, hostile names are escaped, the request journal keeps
//! no credentials, and the admin token guards every console route.

use crate::common::*;
use serde_json::{json, Value};

const HTML: &str = "text/html; charset=utf-8";
/// A file name that would run script if it reached the page unescaped.
const HOSTILE: &str = "<img src=x onerror=alert(1)>\"'&.png";
const HOSTILE_ESCAPED: &str = "&lt;img src=x onerror=alert(1)&gt;&quot;&#39;&amp;.png";

async fn get(s: &TestServer, path: &str) -> Answer {
    Answer::of(s.client.get(s.url(path)).send().await.unwrap()).await
}

/// Uploads through `/base/` with a name and metadata.
async fn upload_named(s: &TestServer, name: &str, meta: (&str, &str), store: &str) -> String {
    let form = reqwest::multipart::Form::new()
        .text("UPLOADCARE_PUB_KEY", PUB)
        .text("UPLOADCARE_STORE", store.to_owned())
        .text(format!("metadata[{}]", meta.0), meta.1.to_owned())
        .part(
            "file",
            reqwest::multipart::Part::bytes(png(40, 30)).file_name(name.to_owned()),
        );
    let r = s
        .client
        .post(s.url("/base/"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json::<Value>().await.unwrap()["file"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A failing hook and one delivery of it: returns the delivery id.
async fn failed_delivery(s: &TestServer) -> i64 {
    let r = rest(
        s,
        PUB,
        V7,
        reqwest::Method::POST,
        "/webhooks/",
        r#"{"target_url":"http://127.0.0.1:9/hook","event":"file.uploaded"}"#,
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    s.upload(PUB, "hooked.png", png(2, 2)).await;
    // The worker may be attempting the delivery while the flush runs: wait until an
    // attempt is recorded (how many is the webhooks tests' business, not the console's).
    let mut last = Value::Null;
    for _ in 0..100 {
        let r = s
            .client
            .post(s.url("/_emulator/webhooks/flush"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let list: Value = s
            .client
            .get(s.url("/_emulator/webhooks/deliveries"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let d = &list["deliveries"][0];
        if d["attempts"].as_i64().unwrap_or(0) >= 1 {
            return d["id"].as_i64().unwrap();
        }
        last = list;
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the delivery to a closed port was never attempted: {last}");
}

per_backend!(pages_show_what_the_emulator_holds);
async fn pages_show_what_the_emulator_holds(backend: Backend) {
    let s = TestServer::start(backend).await;
    let a = upload_named(&s, "first.png", ("subsystem", "<script>x</script>"), "1").await;
    let b = upload_named(&s, HOSTILE, ("k", "v"), "0").await;
    let group = s
        .group(PUB, &[b.clone(), format!("{a}/-/resize/x20/")])
        .await;
    let delivery = failed_delivery(&s).await;

    // Projects: keys, settings, counts.
    let r = get(&s, "/_emulator/console/").await;
    assert_eq!((r.status, r.content_type.as_str()), (200, HTML));
    for want in [
        PUB,
        SECRET,
        OTHER_PUB,
        "<strong>3</strong> files",
        "<strong>1</strong> groups",
        "<strong>1</strong> webhooks",
    ] {
        assert!(r.body.contains(want), "projects page lacks {want}");
    }
    // Every page links to the others.
    for link in [
        "/files",
        "/groups",
        "/webhooks",
        "/requests",
        "/clock",
        "/faults",
    ] {
        assert!(
            r.body
                .contains(&format!("href=\"/_emulator/console{link}\"")),
            "{link}"
        );
    }

    // Files: a grid with thumbnails from the CDN, newest first.
    let r = get(&s, "/_emulator/console/files").await;
    assert_eq!((r.status, r.content_type.as_str()), (200, HTML));
    let thumb_a = format!("src=\"/{a}/-/preview/160x160/\" width=\"160\" height=\"160\"");
    assert!(r.body.contains(&thumb_a), "{}", r.body);
    assert!(
        r.body.find(&b).unwrap() < r.body.find(&a).unwrap(),
        "newest first"
    );
    // The thumbnail URL the grid names is a real image.
    let t = s
        .client
        .get(s.url(&format!("/{a}/-/preview/160x160/")))
        .send()
        .await
        .unwrap();
    assert_eq!(t.status(), 200);
    assert!(t.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("image/"));
    // Views and search.
    let r = get(&s, "/_emulator/console/files?view=stored").await;
    assert!(r.body.contains(&a) && !r.body.contains(&b));
    let r = get(&s, "/_emulator/console/files?view=expiring").await;
    assert!(!r.body.contains(&format!("data-uuid=\"{a}\"")) && r.body.contains(&b));
    let r = get(&s, "/_emulator/console/files?q=FIRST").await;
    assert!(
        r.body.contains(&a) && !r.body.contains(&b),
        "name search, any case"
    );
    let r = get(&s, "/_emulator/console/files?q=subsystem").await;
    assert!(
        r.body.contains(&a) && !r.body.contains(&b),
        "metadata search"
    );
    let r = get(&s, "/_emulator/console/files?q=%25").await;
    assert!(!r.body.contains(&a), "% is literal");
    let r = s
        .client
        .get(s.url(&format!("/_emulator/console/files?q={a}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "a uuid goes to its page");
    assert_eq!(
        r.headers()["location"],
        format!("/_emulator/console/files/{a}").as_str()
    );
    let r = get(&s, "/_emulator/console/files?view=nope").await;
    assert_eq!(r.status, 400);

    // A file's page: REST JSON, metadata, the URL builder.
    let r = get(&s, &format!("/_emulator/console/files/{a}")).await;
    assert_eq!((r.status, r.content_type.as_str()), (200, HTML));
    assert!(
        r.body
            .contains(&format!("&quot;uuid&quot;: &quot;{a}&quot;")),
        "REST JSON"
    );
    assert!(r
        .body
        .contains("&quot;original_filename&quot;: &quot;first.png&quot;"));
    assert!(r
        .body
        .contains("<td><code>subsystem</code></td><td>&lt;script&gt;x&lt;/script&gt;</td>"));
    assert!(!r.body.contains("<script>x"));
    assert!(r
        .body
        .contains(&format!("data-builder data-base=\"/{a}/\"")));
    let r = get(
        &s,
        "/_emulator/console/files/00000000-0000-0000-0000-000000000000",
    )
    .await;
    assert_eq!((r.status, r.content_type.as_str()), (404, HTML));

    // Groups: the list, and members in order with their effects.
    let r = get(&s, "/_emulator/console/groups").await;
    assert_eq!((r.status, r.content_type.as_str()), (200, HTML));
    assert!(r
        .body
        .contains(&format!("/_emulator/console/groups/{group}")));
    let r = get(&s, &format!("/_emulator/console/groups/{group}")).await;
    assert_eq!((r.status, r.content_type.as_str()), (200, HTML));
    let members = &r.body[r.body.find("id=\"members\"").unwrap()..];
    let (pos_b, pos_a) = (
        members.find(&format!("data-uuid=\"{b}\"")).unwrap(),
        members.find(&format!("data-uuid=\"{a}\"")).unwrap(),
    );
    assert!(pos_b < pos_a, "members in order");
    assert!(members.contains("<code>-/resize/x20/</code>"));
    assert!(members.contains(&format!("src=\"/{a}/-/resize/x20/-/preview/160x160/\"")));
    assert!(r
        .body
        .contains("&quot;default_effects&quot;: &quot;resize/x20/&quot;"));

    // Webhooks: the hook, the failed delivery, its page with the body sent.
    let r = get(&s, "/_emulator/console/webhooks").await;
    assert_eq!((r.status, r.content_type.as_str()), (200, HTML));
    assert!(r.body.contains("http://127.0.0.1:9/hook"));
    assert!(r.body.contains(&format!(
        "data-delivery=\"{delivery}\" data-state=\"pending\""
    )));
    assert!(r.body.contains(&format!(
        "/_emulator/webhooks/deliveries/{delivery}/redeliver"
    )));
    let r = get(
        &s,
        &format!("/_emulator/console/webhooks/deliveries/{delivery}"),
    )
    .await;
    assert_eq!((r.status, r.content_type.as_str()), (200, HTML));
    assert!(r.body.contains("&quot;hook&quot;") && r.body.contains("file.uploaded"));
    let r = get(&s, "/_emulator/console/webhooks/deliveries/99999").await;
    assert_eq!(r.status, 404);

    // Clock: what expires next; faults: the pending one.
    let r = get(&s, "/_emulator/console/clock").await;
    assert_eq!((r.status, r.content_type.as_str()), (200, HTML));
    assert!(
        r.body.contains(HOSTILE_ESCAPED),
        "the unstored file expires next"
    );
    let f = s
        .client
        .post(s.url("/_emulator/faults"))
        .json(&json!({"kind": "throttle", "api": "rest", "count": 2}))
        .send()
        .await
        .unwrap();
    assert_eq!(f.status(), 201);
    let r = get(&s, "/_emulator/console/faults").await;
    assert_eq!((r.status, r.content_type.as_str()), (200, HTML));
    assert!(r
        .body
        .contains("<td>throttle (429, Retry-After 1 s)</td><td>rest</td><td>any</td><td>2</td>"));
    // Assets are embedded.
    let r = get(&s, "/_emulator/console/assets/console.js").await;
    assert_eq!(
        (r.status, r.content_type.as_str()),
        (200, "text/javascript; charset=utf-8")
    );
    let r = get(&s, "/_emulator/console/assets/console.css").await;
    assert_eq!(
        (r.status, r.content_type.as_str()),
        (200, "text/css; charset=utf-8")
    );
}

per_backend!(hostile_names_are_escaped_everywhere);
async fn hostile_names_are_escaped_everywhere(backend: Backend) {
    let s = TestServer::start(backend).await;
    let uuid = upload_named(&s, HOSTILE, ("k", "\"><script>alert(2)</script>"), "0").await;
    let group = s.group(PUB, std::slice::from_ref(&uuid)).await;
    for path in [
        "/_emulator/console/files".to_owned(),
        format!("/_emulator/console/files/{uuid}"),
        format!("/_emulator/console/groups/{group}"),
        "/_emulator/console/clock".to_owned(),
        "/_emulator/console/files?q=%3Cimg%20%22%3E".to_owned(),
        "/_emulator/console/requests?q=%3Cscript%3E".to_owned(),
    ] {
        let r = get(&s, &path).await;
        assert_eq!(r.status, 200, "{path}");
        assert!(!r.body.contains("<img src=x"), "{path}: {}", r.body);
        assert!(!r.body.contains("<script>"), "{path}");
        assert!(!r.body.contains("onerror=alert(1)>"), "{path}");
    }
    let r = get(&s, &format!("/_emulator/console/files/{uuid}")).await;
    assert!(r.body.contains(&format!("<h1>{HOSTILE_ESCAPED}</h1>")));
    assert!(r
        .body
        .contains("&quot;&gt;&lt;script&gt;alert(2)&lt;/script&gt;"));
    // A page loads nothing from elsewhere.
    let r = s
        .client
        .get(s.url("/_emulator/console/files"))
        .send()
        .await
        .unwrap();
    let csp = r.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.starts_with("default-src 'self'"), "{csp}");
}

per_backend!(the_journal_keeps_requests_without_credentials);
async fn the_journal_keeps_requests_without_credentials(backend: Backend) {
    let s = TestServer::start(backend).await;
    let r = s
        .client
        .get(s.url("/info/"))
        .query(&[
            ("pub_key", PUB),
            ("file_id", "00000000-0000-0000-0000-000000000000"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let info_id = r.headers()["x-uploadcare-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let rest_answer = s
        .client
        .get(s.url("/files/nope/"))
        .header("Accept", V7)
        .header("Authorization", format!("Uploadcare.Simple {PUB}:{SECRET}"))
        .header("Cookie", "session=topsecret")
        .send()
        .await
        .unwrap();
    assert_eq!(rest_answer.status(), 404);
    let rest_id = rest_answer.headers()["x-uploadcare-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    // The console's own pages are not journaled.
    get(&s, "/_emulator/console/files").await;

    let r = get(&s, "/_emulator/console/requests").await;
    assert_eq!((r.status, r.content_type.as_str()), (200, HTML));
    assert!(r.body.contains(&info_id) && r.body.contains(&rest_id));
    assert!(
        r.body.contains("<td>FileNotFoundError</td>"),
        "documented error code"
    );
    assert!(
        r.body.contains("<td>not_found</td>") || r.body.contains("<td>NotFound</td>"),
        "{}",
        r.body
    );
    assert!(!r.body.contains("/_emulator/console/files</a>"));
    let r = get(&s, "/_emulator/console/requests?api=rest").await;
    assert!(r.body.contains(&rest_id) && !r.body.contains(&info_id));
    let r = get(&s, &format!("/_emulator/console/requests?q={info_id}")).await;
    assert!(r.body.contains(&info_id) && !r.body.contains(&rest_id));

    let r = get(&s, &format!("/_emulator/console/requests/{info_id}")).await;
    assert_eq!((r.status, r.content_type.as_str()), (200, HTML));
    assert!(
        r.body.contains("File is not found"),
        "the whole answer: {}",
        r.body
    );
    let r = get(&s, &format!("/_emulator/console/requests/{rest_id}")).await;
    assert_eq!(r.status, 200);
    assert!(
        r.body
            .contains("&quot;detail&quot;: &quot;Not found.&quot;"),
        "{}",
        r.body
    );
    assert!(r.body.contains(V7), "allow-listed request header");
    for secret in [SECRET, "topsecret", "Uploadcare.Simple"] {
        assert!(!r.body.contains(secret), "{secret} kept");
    }
    let r = get(&s, "/_emulator/console/requests/nope").await;
    assert_eq!(r.status, 404);
}

/// Every console route answers 401 without the admin token (or with a wrong one), by
/// header or cookie, and 200 with it; the cookie only counts for same-origin requests.
#[tokio::test]
async fn admin_token_guards_every_console_route() {
    let s = TestServer::start_with(Backend::Sqlite, |c| c.admin_token = Some("tok".into())).await;
    let uuid = s.upload(PUB, "a.png", png(4, 4)).await;
    let group = s.group(PUB, std::slice::from_ref(&uuid)).await;
    let with_token = |r: reqwest::RequestBuilder| r.header("Authorization", "Bearer tok");
    // A delivery to link to.
    let r = rest(
        &s,
        PUB,
        V7,
        reqwest::Method::POST,
        "/webhooks/",
        r#"{"target_url":"http://127.0.0.1:9/hook","event":"file.uploaded"}"#,
    )
    .await;
    assert_eq!(r.status, 201);
    let id = s.upload(PUB, "b.png", png(4, 4)).await;
    let r = with_token(s.client.post(s.url("/_emulator/webhooks/flush")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let list: Value = with_token(s.client.get(s.url("/_emulator/webhooks/deliveries")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let delivery = list["deliveries"][0]["id"].as_i64().unwrap();
    let request_id = with_token(s.client.get(s.url(&format!("/{id}/"))))
        .send()
        .await
        .unwrap()
        .headers()["x-uploadcare-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let routes = [
        "/_emulator/console".to_owned(),
        "/_emulator/console/".to_owned(),
        "/_emulator/console/assets/console.css".to_owned(),
        "/_emulator/console/assets/console.js".to_owned(),
        "/_emulator/console/files".to_owned(),
        format!("/_emulator/console/files/{uuid}"),
        "/_emulator/console/groups".to_owned(),
        format!("/_emulator/console/groups/{group}"),
        "/_emulator/console/webhooks".to_owned(),
        format!("/_emulator/console/webhooks/deliveries/{delivery}"),
        "/_emulator/console/requests".to_owned(),
        format!("/_emulator/console/requests/{request_id}"),
        "/_emulator/console/clock".to_owned(),
        "/_emulator/console/faults".to_owned(),
    ];
    let origin = s.base.clone();
    for path in &routes {
        let url = s.url(path);
        let r = Answer::of(s.client.get(&url).send().await.unwrap()).await;
        assert_eq!((r.status, r.content_type.as_str()), (401, HTML), "{path}");
        assert!(
            r.body.contains("name=\"token\""),
            "{path}: asks for the token"
        );
        for bad in ["Bearer nope", "Bearer", "Basic dG9rOg==", "tok"] {
            let r = s
                .client
                .get(&url)
                .header("Authorization", bad)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 401, "{path} with {bad}");
        }
        let r = s
            .client
            .get(&url)
            .header("Cookie", "uc_emulator_admin=nope")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{path} with a wrong cookie");
        let r = s
            .client
            .get(&url)
            .header("Cookie", "uc_emulator_admin=tok")
            .header("Sec-Fetch-Site", "cross-site")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{path} with the cookie from another site");
        let r = s
            .client
            .get(&url)
            .header("Cookie", "uc_emulator_admin=tok")
            .header("Origin", "http://evil.example")
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            401,
            "{path} with the cookie from another origin"
        );
        let ok = if path == "/_emulator/console" {
            303
        } else {
            200
        };
        let r = with_token(s.client.get(&url)).send().await.unwrap();
        assert_eq!(r.status().as_u16(), ok, "{path} with the token");
        let r = s
            .client
            .get(&url)
            .header("Cookie", "other=1; uc_emulator_admin=tok")
            .header("Sec-Fetch-Site", "same-origin")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), ok, "{path} with the cookie");
    }

    // The login form: a wrong token answers 401 again, the right one sets the cookie.
    let login = |token: &str| {
        s.client
            .post(s.url("/_emulator/console/login"))
            .form(&[("token", token), ("next", "/_emulator/console/files")])
            .send()
    };
    let r = login("nope").await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers().get("set-cookie").is_none());
    let r = s
        .client
        .post(s.url("/_emulator/console/login"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = login("tok").await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/_emulator/console/files");
    let cookie = r.headers()["set-cookie"].to_str().unwrap();
    assert_eq!(
        cookie,
        "uc_emulator_admin=tok; Path=/_emulator/; HttpOnly; SameSite=Strict"
    );
    let r = s
        .client
        .post(s.url("/_emulator/console/login"))
        .form(&[("token", "tok"), ("next", "https://evil.example/")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers()["location"],
        "/_emulator/console/",
        "no open redirect"
    );

    // The console's script calls the admin API with the cookie: same origin only.
    let fault = |origin: &str| {
        s.client
            .post(s.url("/_emulator/faults"))
            .header("Cookie", "uc_emulator_admin=tok")
            .header("Origin", origin.to_owned())
            .json(&json!({"kind": "error", "api": "cdn"}))
            .send()
    };
    assert_eq!(fault("http://127.0.0.1:1").await.unwrap().status(), 401);
    assert_eq!(fault(&origin).await.unwrap().status(), 201);
    let r = s
        .client
        .delete(s.url("/_emulator/faults"))
        .header("Cookie", "uc_emulator_admin=tok")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        401,
        "a state change without Origin or Sec-Fetch-Site"
    );
}

per_backend!(big_projects_are_counted_only_when_asked);
async fn big_projects_are_counted_only_when_asked(backend: Backend) {
    use uploadcare_emulator::store::Expiry;
    let s = TestServer::start(backend).await;
    s.upload(PUB, "a.png", png(2, 2)).await;
    s.upload(PUB, "b.png", png(2, 2)).await;
    let rule = Expiry::new(s.state.clock.now_us(), s.state.retention_us());
    let counts = |cap| s.state.store.file_counts(PUB, rule, cap);
    assert!(counts(Some(1)).await.unwrap().is_none(), "over the cap");
    let c = counts(Some(2)).await.unwrap().expect("at the cap");
    assert_eq!((c.total, c.stored, c.expiring, c.removed), (2, 0, 2, 0));
    assert_eq!(counts(None).await.unwrap(), Some(c));
    let r = get(&s, "/_emulator/console/?counts=exact").await;
    assert_eq!(r.status, 200);
    assert!(r.body.contains("<strong>2</strong> expiring"), "{}", r.body);
}
