//! `POST /group/` under concurrency: creates written together in one batch each get their
//! own answer, and creation times stay unique and increasing per project, also with two
//! replicas creating at once on one Postgres database.

use std::collections::HashSet;

use reqwest::Method;
use serde_json::Value;

use crate::common::*;

const MISSING: &str = "d6d34fa9-addd-472c-868d-2e5c105f9fcd";

/// `POST /group/` of `members` as `files[N]` fields.
async fn create(s: &TestServer, members: &[&str]) -> Answer {
    let mut form: Vec<(String, String)> = vec![("pub_key".into(), PUB.into())];
    for (i, m) in members.iter().enumerate() {
        form.push((format!("files[{i}]"), (*m).to_owned()));
    }
    Answer::of(
        s.client
            .post(s.url("/group/"))
            .form(&form)
            .send()
            .await
            .unwrap(),
    )
    .await
}

per_backend!(concurrent_creates_fail_alone);
async fn concurrent_creates_fail_alone(backend: Backend) {
    let s = TestServer::start(backend).await;
    let a = s.upload(PUB, "a.png", png(4, 3)).await;
    let b = s.upload(PUB, "b.txt", b"hello".to_vec()).await;
    let theirs = s.upload(OTHER_PUB, "c.txt", b"theirs".to_vec()).await;
    let effects = format!("{b}/-/resize/x800/");
    let bad = [MISSING, theirs.as_str()];
    let members: Vec<Vec<&str>> = (0..40)
        .map(|i| match i % 4 {
            1 => vec![a.as_str(), bad[i / 4 % 2]],
            _ => vec![a.as_str(), effects.as_str(), a.as_str()],
        })
        .collect();
    let answers = futures_util::future::join_all(members.iter().map(|m| create(&s, m))).await;
    let mut ids = HashSet::new();
    let mut times = HashSet::new();
    for (i, r) in answers.iter().enumerate() {
        if i % 4 == 1 {
            assert_eq!(
                (r.status, r.content_type.as_str(), r.body.as_str()),
                (400, TEXT, "Some files not found."),
                "create {i}"
            );
            continue;
        }
        assert_eq!(r.status, 200, "create {i}: {}", r.body);
        let v = r.json();
        let id = v["id"].as_str().unwrap().to_owned();
        assert!(id.ends_with("~3"), "{id}");
        assert_eq!(v["files"][0]["uuid"], a.as_str());
        assert_eq!(v["files"][1]["uuid"], b.as_str());
        assert_eq!(v["files"][1]["default_effects"], "resize/x800/");
        assert_eq!(v["files"][2]["uuid"], a.as_str());
        assert_eq!(v["files"][0]["image_info"]["width"], 4);
        // The answer is the group as read back.
        let q = [("pub_key", PUB), ("group_id", id.as_str())];
        let info = Answer::of(
            s.client
                .get(s.url("/group/info/"))
                .query(&q)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(info.body, r.body, "create {i}");
        times.insert(v["datetime_created"].as_str().unwrap().to_owned());
        ids.insert(id);
    }
    assert_eq!(ids.len(), 30);
    assert_eq!(times.len(), 30, "creation times are unique");
    let listed = page_all(&[&s], "/groups/?limit=7&ordering=datetime_created").await;
    assert_eq!(listed.len(), 30);
    assert_eq!(
        listed
            .iter()
            .map(|(id, _)| id.clone())
            .collect::<HashSet<_>>(),
        ids
    );
}

/// Pages `GET /groups/` from `first` by its `next` links, asking the servers in turn:
/// `(id, datetime_created)` in page order; checks `total` against what was paged.
async fn page_all(servers: &[&TestServer], first: &str) -> Vec<(String, String)> {
    let mut seen = Vec::new();
    let mut next = Some(first.to_owned());
    let mut total = None;
    let mut turn = 0;
    while let Some(path) = next {
        let s = servers[turn % servers.len()];
        turn += 1;
        let path = match path.split_once("/groups/") {
            Some((_, q)) => format!("/groups/{q}"),
            None => path,
        };
        let r = rest(s, PUB, V7, Method::GET, &path, "").await;
        assert_eq!(r.status, 200, "{}", r.body);
        let v = r.json();
        total = v["total"].as_i64();
        for g in v["results"].as_array().unwrap() {
            seen.push((
                g["id"].as_str().unwrap().to_owned(),
                g["datetime_created"].as_str().unwrap().to_owned(),
            ));
        }
        next = v["next"].as_str().map(str::to_owned);
    }
    assert_eq!(total, Some(seen.len() as i64), "total and what was paged");
    seen
}

/// Two replicas on one Postgres database create groups of one project at once: every
/// creation time is unique, a create answered before another starts has the earlier one
/// (whichever replica wrote each), and paging by the `from` cursor through both replicas
/// finds each group once, in creation order.
#[tokio::test]
async fn creation_times_are_unique_and_increasing_across_replicas() {
    let Some((a, b)) = replica_pair().await else {
        return;
    };
    // B's clock runs an hour behind A's: the project's row, not the replica's clock,
    // orders the creation times.
    b.state.clock.advance(-3_600_000_000);
    let file = a.upload(PUB, "x.txt", b"member".to_vec()).await;
    let members = [file.as_str()];
    let mut in_turn = Vec::new();
    for i in 0..6 {
        let s = if i % 2 == 0 { &a } else { &b };
        let r = create(s, &members).await;
        assert_eq!(r.status, 200, "{}", r.body);
        in_turn.push(r.json()["datetime_created"].as_str().unwrap().to_owned());
    }
    assert!(
        in_turn.windows(2).all(|w| w[0] < w[1]),
        "creation times do not increase from one create to the next: {in_turn:?}"
    );
    let creates = (0..60).map(|i| {
        let s = if i % 2 == 0 { &a } else { &b };
        create(s, &members)
    });
    let mut created: Vec<(String, String)> = Vec::new();
    for r in futures_util::future::join_all(creates).await {
        assert_eq!(r.status, 200, "{}", r.body);
        let v: Value = r.json();
        created.push((
            v["id"].as_str().unwrap().to_owned(),
            v["datetime_created"].as_str().unwrap().to_owned(),
        ));
    }
    let times: HashSet<&String> = created.iter().map(|(_, t)| t).collect();
    assert_eq!(times.len(), 60, "creation times are unique across replicas");
    assert!(created.iter().all(|(_, t)| *t > in_turn[5]));
    let listed = page_all(&[&a, &b], "/groups/?limit=7&ordering=datetime_created").await;
    assert_eq!(listed.len(), 66, "each group once");
    assert_eq!(listed.iter().collect::<HashSet<_>>().len(), 66);
    assert!(listed.windows(2).all(|w| w[0].1 < w[1].1), "{listed:?}");
    for (id, t) in &created {
        assert!(listed.contains(&(id.clone(), t.clone())), "{id} not listed");
    }
    let newest = page_all(&[&b, &a], "/groups/?limit=9&ordering=-datetime_created").await;
    let mut reversed = listed.clone();
    reversed.reverse();
    assert_eq!(newest, reversed);
}
