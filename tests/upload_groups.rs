//! Upload API groups over HTTP, on every backend.

mod common;

use common::*;

#[tokio::test]
async fn create_and_read_group_with_effects() {
    for backend in backends() {
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
}
