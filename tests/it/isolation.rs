//! Project isolation, on every backend: three projects, each with files and groups, probe
//! each other's resources through every Upload and REST endpoint at random. Another
//! project's file or group is always "not found" in that API's words, never its data: no
//! answer to a probe may carry the owner's file names or metadata (each is a unique marker),
//! and no probe may change the owner's resources. A signed REST request replayed on another
//! path, or under another project's key, is refused. Resetting one project leaves the others
//! whole.

use crate::common::*;
use reqwest::Method;
use uploadcare_emulator::config::ProjectConfig;

const V7: &str = "application/vnd.uploadcare-v0.7+json";
const V6: &str = "application/vnd.uploadcare-v0.6+json";
const NOT_FOUND: &str = r#"{"detail":"Not found."}"#;
const THIRD_PUB: &str = "thirdpublickey";
const THIRD_SECRET: &str = "thirdsecretkey";
const PROBES: usize = 2000;

/// One project's keys and what it owns.
struct Owned {
    pub_key: &'static str,
    secret: &'static str,
    files: Vec<String>,
    groups: Vec<String>,
    /// Text that appears only in this project's file names and metadata.
    marker: String,
}

struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

fn simple(p: &Owned) -> String {
    format!("Uploadcare.Simple {}:{}", p.pub_key, p.secret)
}

async fn rest(s: &TestServer, auth: &str, method: Method, path: &str, body: &str) -> Answer {
    rest_as(s, V7, auth, method, path, body).await
}

async fn rest_as(
    s: &TestServer,
    accept: &str,
    auth: &str,
    method: Method,
    path: &str,
    body: &str,
) -> Answer {
    let r = s
        .client
        .request(method, s.url(path))
        .header("Accept", accept)
        .header("Content-Type", "application/json")
        .header("Authorization", auth)
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    Answer::of(r).await
}

/// Uploads a file named and tagged with the project's marker.
async fn upload_marked(s: &TestServer, p: &Owned, i: usize) -> String {
    let form = reqwest::multipart::Form::new()
        .text("UPLOADCARE_PUB_KEY", p.pub_key)
        .text("UPLOADCARE_STORE", "1")
        .text("metadata[owner]", p.marker.clone())
        .part(
            "file",
            reqwest::multipart::Part::bytes(format!("{} {i}", p.marker).into_bytes())
                .file_name(format!("{}-{i}.txt", p.marker)),
        );
    let r = s
        .client
        .post(s.url("/base/"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    let a = Answer::of(r).await;
    assert_eq!(a.status, 200, "{}", a.body);
    a.json()["file"].as_str().unwrap().to_owned()
}

/// Asserts that an answer to a probe of `owner`'s resources carries none of its data.
fn no_leak(a: &Answer, owner: &Owned, what: &str) {
    assert!(a.status < 500, "{what}: {} {}", a.status, a.body);
    assert!(
        !a.body.contains(&owner.marker),
        "{what} leaked {}'s data: {}",
        owner.pub_key,
        a.body
    );
}

fn sign(secret: &str, method: &str, body: &[u8], date: &str, uri: &str) -> String {
    crate::common::rest_signature(secret, method, body, "application/json", date, uri)
}

/// One probe by `p` of `o`'s resources through the endpoint numbered `which`.
async fn probe(s: &TestServer, p: &Owned, o: &Owned, which: usize, rng: &mut Rng) {
    let file = &o.files[rng.below(o.files.len())];
    let group = &o.groups[rng.below(o.groups.len())];
    let own_file = &p.files[rng.below(p.files.len())];
    let pk = p.pub_key;
    let auth = simple(p);
    match which {
        0 => {
            let a = Answer::of(
                s.client
                    .get(s.url(&format!("/info/?pub_key={pk}&file_id={file}")))
                    .send()
                    .await
                    .unwrap(),
            )
            .await;
            no_leak(&a, o, "GET /info/");
            assert_eq!((a.status, a.body.as_str()), (404, "File is not found."));
        }
        1 => {
            let a = Answer::of(
                s.client
                    .get(s.url(&format!("/group/info/?pub_key={pk}&group_id={group}")))
                    .send()
                    .await
                    .unwrap(),
            )
            .await;
            no_leak(&a, o, "GET /group/info/");
            assert_eq!((a.status, a.body.as_str()), (404, "group_id is invalid."));
        }
        2 => {
            // Another project's file alone, or mixed with one's own, in any form.
            let foreign = match rng.below(3) {
                0 => file.clone(),
                1 => format!("{}/{file}/-/resize/x10/", s.base),
                _ => format!("{file}/"),
            };
            let mut form = vec![("pub_key", pk.to_owned())];
            if rng.below(2) == 0 {
                form.push(("files[0]", own_file.clone()));
                form.push(("files[1]", foreign));
            } else {
                form.push(("files[0]", foreign));
            }
            let a = Answer::of(
                s.client
                    .post(s.url("/group/"))
                    .form(&form)
                    .send()
                    .await
                    .unwrap(),
            )
            .await;
            no_leak(&a, o, "POST /group/");
            assert_eq!((a.status, a.body.as_str()), (400, "Some files not found."));
        }
        3 => {
            let path = match rng.below(4) {
                0 => format!("/files/{file}/"),
                1 => format!("/files/{file}/metadata/"),
                2 => format!("/files/{file}/metadata/owner/"),
                _ => format!("/groups/{group}/"),
            };
            let a = rest(s, &auth, Method::GET, &path, "").await;
            no_leak(&a, o, &format!("GET {path}"));
            assert_eq!((a.status, a.body.as_str()), (404, NOT_FOUND), "GET {path}");
        }
        4 => {
            let (method, path, body) = match rng.below(6) {
                0 => (Method::PUT, format!("/files/{file}/storage/"), ""),
                1 => (Method::DELETE, format!("/files/{file}/storage/"), ""),
                2 => (
                    Method::PUT,
                    format!("/files/{file}/metadata/owner/"),
                    "\"x\"",
                ),
                3 => (Method::DELETE, format!("/files/{file}/metadata/owner/"), ""),
                4 => (Method::DELETE, format!("/groups/{group}/"), ""),
                // Group storage exists in the legacy versions only.
                _ => (Method::PUT, format!("/groups/{group}/storage/"), ""),
            };
            let accept = if path.ends_with("/storage/") && path.starts_with("/groups/") {
                V6
            } else {
                V7
            };
            let a = rest_as(s, accept, &auth, method.clone(), &path, body).await;
            no_leak(&a, o, &format!("{method} {path}"));
            assert_eq!(
                (a.status, a.body.as_str()),
                (404, NOT_FOUND),
                "{method} {path}"
            );
        }
        5 => {
            let method = if rng.below(2) == 0 {
                Method::PUT
            } else {
                Method::DELETE
            };
            let body = serde_json::to_string(&[file]).unwrap();
            let a = rest(s, &auth, method.clone(), "/files/storage/", &body).await;
            no_leak(&a, o, &format!("{method} /files/storage/"));
            assert_eq!(a.status, 200, "{}", a.body);
            let v = a.json();
            assert_eq!(v["result"], serde_json::json!([]), "{v}");
            assert_eq!(v["problems"][file], "Missing in the project", "{v}");
        }
        6 => {
            let path = match rng.below(3) {
                0 => "/files/?limit=1000",
                1 => "/groups/?limit=1000",
                _ => "/project/",
            };
            let a = rest(s, &auth, Method::GET, path, "").await;
            no_leak(&a, o, &format!("GET {path}"));
            assert_eq!(a.status, 200, "{}", a.body);
            for f in &o.files {
                assert!(!a.body.contains(f.as_str()), "{path} lists {f}");
            }
            for g in &o.groups {
                assert!(!a.body.contains(g.as_str()), "{path} lists {g}");
            }
        }
        _ => {
            // A signed request for one's own file, replayed on the other project's file, or
            // sent under the other project's public key.
            let date = chrono::DateTime::from_timestamp_micros(s.state.clock.now_us())
                .unwrap()
                .format("%a, %d %b %Y %H:%M:%S GMT")
                .to_string();
            let own_path = format!("/files/{own_file}/");
            let signature = sign(p.secret, "GET", b"", &date, &own_path);
            let send = |path: String, pub_key: &str| {
                s.client
                    .get(s.url(&path))
                    .header("Accept", V7)
                    .header("Content-Type", "application/json")
                    .header("Date", date.clone())
                    .header("Authorization", format!("Uploadcare {pub_key}:{signature}"))
                    .send()
            };
            let genuine = Answer::of(send(own_path.clone(), pk).await.unwrap()).await;
            assert_eq!(genuine.status, 200, "{}", genuine.body);
            let replayed = Answer::of(send(format!("/files/{file}/"), pk).await.unwrap()).await;
            no_leak(&replayed, o, "replayed signature");
            assert_eq!(
                (replayed.status, replayed.body.as_str()),
                (
                    401,
                    r#"{"detail":"Invalid signature. Please check your Secret key."}"#
                )
            );
            let other_key = Answer::of(send(own_path, o.pub_key).await.unwrap()).await;
            assert_eq!(other_key.status, 401, "{}", other_key.body);
        }
    }
}

/// Checks every resource of `o` is whole, from its own side.
async fn intact(s: &TestServer, o: &Owned) {
    let auth = simple(o);
    for f in &o.files {
        let a = rest(s, &auth, Method::GET, &format!("/files/{f}/"), "").await;
        assert_eq!(a.status, 200, "{}", a.body);
        let v = a.json();
        assert!(v["datetime_removed"].is_null(), "{v}");
        assert!(v["datetime_stored"].is_string(), "{v}");
        assert_eq!(v["metadata"]["owner"], o.marker.as_str(), "{v}");
    }
    for g in &o.groups {
        let a = Answer::of(
            s.client
                .get(s.url(&format!("/group/info/?pub_key={}&group_id={g}", o.pub_key)))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(a.status, 200, "{}", a.body);
        assert!(
            a.json()["files"]
                .as_array()
                .unwrap()
                .iter()
                .all(|f| !f.is_null()),
            "{}",
            a.body
        );
    }
}

per_backend!(projects_never_see_each_other);
async fn projects_never_see_each_other(backend: Backend) {
    let s = TestServer::start_with(backend, |c| {
        c.projects.push(ProjectConfig {
            pub_key: THIRD_PUB.into(),
            secret_key: THIRD_SECRET.into(),
            name: "third".into(),
            autostore: true,
            signed_uploads: false,
        })
    })
    .await;
    let mut projects = Vec::new();
    for (pub_key, secret) in [
        (PUB, SECRET),
        (OTHER_PUB, OTHER_SECRET),
        (THIRD_PUB, THIRD_SECRET),
    ] {
        let mut p = Owned {
            pub_key,
            secret,
            files: Vec::new(),
            groups: Vec::new(),
            marker: format!("marker{}", uuid::Uuid::new_v4().simple()),
        };
        for i in 0..4 {
            p.files.push(upload_marked(&s, &p, i).await);
        }
        for g in 0..3 {
            let members: Vec<String> = p.files[g..].to_vec();
            p.groups.push(s.group(pub_key, &members).await);
        }
        projects.push(p);
    }
    let seed = std::env::var("UC_ISOLATION_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    eprintln!("{backend:?}: seed {seed} (UC_ISOLATION_SEED replays it)");
    let mut rng = Rng(seed);
    let mut per_endpoint = [0usize; 8];
    for _ in 0..PROBES {
        let p = rng.below(3);
        let o = (p + 1 + rng.below(2)) % 3;
        let which = rng.below(per_endpoint.len());
        per_endpoint[which] += 1;
        probe(&s, &projects[p], &projects[o], which, &mut rng).await;
    }
    for p in &projects {
        intact(&s, p).await;
    }
    eprintln!("{backend:?}: {PROBES} probes, per endpoint family {per_endpoint:?}, 0 leaks");

    // Resetting one project leaves the others whole.
    let r = s
        .client
        .post(s.url(&format!("/_emulator/projects/{OTHER_PUB}/reset")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let gone = &projects[1];
    for f in &gone.files {
        let a = rest(&s, &simple(gone), Method::GET, &format!("/files/{f}/"), "").await;
        assert_eq!((a.status, a.body.as_str()), (404, NOT_FOUND));
    }
    for g in &gone.groups {
        let a = rest(&s, &simple(gone), Method::GET, &format!("/groups/{g}/"), "").await;
        assert_eq!((a.status, a.body.as_str()), (404, NOT_FOUND));
    }
    intact(&s, &projects[0]).await;
    intact(&s, &projects[2]).await;
}
