//! Read-your-writes across replicas: two stores opened on one Postgres database stand for two
//! emulator processes. Whatever one of them cached, a write acknowledged by the other is seen
//! by the very next read (caches are checked against the database in the read's own round
//! trip, never trusted on a change note alone).

use std::sync::Arc;

use serde_json::Map;
use uploadcare_emulator::store::{
    self, Cursor, FileChange, FileRecord, FileSwap, GroupsPage, LifecycleChange, NewGroup, Order,
    PageQuery, Project, Reads, Store,
};
use uuid::Uuid;

use crate::common::*;

const P: &str = "replicas";

async fn two_replicas() -> Option<(Arc<dyn Store>, Arc<dyn Store>)> {
    postgres_admin_url()?;
    let url = fresh_postgres_database().await;
    let a = store::open(&url).await.unwrap();
    let b = store::open(&url).await.unwrap();
    add_project(a.as_ref()).await;
    Some((a, b))
}

/// Writes the project [`P`] through `store`.
async fn add_project(store: &dyn Store) {
    store
        .upsert_project(&Project {
            pub_key: P.into(),
            secret_key: "s".into(),
            name: P.into(),
            autostore: true,
            signed_uploads: false,
        })
        .await
        .unwrap();
}

fn file(uploaded_us: i64) -> FileRecord {
    let uuid = Uuid::new_v4();
    FileRecord {
        uuid,
        project: P.into(),
        size: 1,
        blob: format!("blob-{}", uuid.simple()),
        original_filename: "a.txt".into(),
        mime_type: "text/plain".into(),
        image: None,
        metadata: Map::new(),
        tags: Vec::new(),
        uploaded_us,
        stored_us: None,
        removed_us: None,
    }
}

/// Storing `uuids` of project `P` at `now_us`.
fn stored_at(uuids: &[Uuid], now_us: i64) -> LifecycleChange<'_> {
    LifecycleChange {
        project: P,
        uuids,
        change: FileChange::Store,
        now_us,
    }
}

fn group(members: &[Uuid]) -> NewGroup {
    NewGroup {
        uuid: Uuid::new_v4(),
        project: P.into(),
        members: members.iter().map(|u| (*u, String::new())).collect(),
    }
}

/// Two replicas, and a group of one file written through the first (at time 10).
async fn replicas_with_a_group() -> Option<(Arc<dyn Store>, Arc<dyn Store>, FileRecord, NewGroup)> {
    let (a, b) = two_replicas().await?;
    let f = file(1);
    a.insert_file(&f).await.unwrap();
    let g = group(&[f.uuid]);
    assert!(a.insert_group(&g, 10).await.unwrap());
    Some((a, b, f, g))
}

const FIRST_PAGE: PageQuery = PageQuery {
    order: Order::Ascending,
    cursor: Cursor::Start,
    offset: 0,
    limit: 100,
};

#[tokio::test]
async fn group_pages_see_the_other_replicas_writes_at_once() {
    let Some((a, b, f, first)) = replicas_with_a_group().await else {
        return;
    };
    // A reads (and caches) the page twice; B adds a group; A's next read shows it.
    for _ in 0..2 {
        let GroupsPage { page, total, .. } = a.list_groups(P, &FIRST_PAGE).await.unwrap();
        assert_eq!((page.items.len(), total), (1, 1));
    }
    let second = group(&[f.uuid]);
    assert!(b.insert_group(&second, 20).await.unwrap());
    let GroupsPage { page, total, .. } = a.list_groups(P, &FIRST_PAGE).await.unwrap();
    let seen: Vec<Uuid> = page.items.iter().map(|g| g.uuid).collect();
    assert_eq!((seen, total), (vec![first.uuid, second.uuid], 2));
    // B deletes one; A's next read no longer lists it.
    assert!(b.delete_group(P, first.uuid).await.unwrap());
    let GroupsPage { page, total, .. } = a.list_groups(P, &FIRST_PAGE).await.unwrap();
    let seen: Vec<Uuid> = page.items.iter().map(|g| g.uuid).collect();
    assert_eq!((seen, total), (vec![second.uuid], 1));
}

#[tokio::test]
async fn group_reads_see_the_other_replicas_writes_at_once() {
    let Some((a, b, f, g)) = replicas_with_a_group().await else {
        return;
    };
    for _ in 0..2 {
        let (_, members) = a.group(Some(P), g.uuid).await.unwrap().unwrap();
        assert_eq!(members[0].file.as_ref().unwrap().stored_us, None);
    }
    // B stores the file: A's next read of the group shows it stored.
    let changed = b.change_files(stored_at(&[f.uuid], 5)).await.unwrap();
    assert_eq!(changed.len(), 1);
    let (_, members) = a.group(Some(P), g.uuid).await.unwrap().unwrap();
    assert_eq!(members[0].file.as_ref().unwrap().stored_us, Some(5));
    // B deletes the group: A no longer finds it.
    assert!(b.delete_group(P, g.uuid).await.unwrap());
    assert!(a.group(Some(P), g.uuid).await.unwrap().is_none());
    assert!(a.group(None, g.uuid).await.unwrap().is_none());
}

/// Reads on A are batched with whatever other reads wait at the time (`coalesce.rs`): with
/// sixteen readers keeping A's batches busy, every read begun after B's write was
/// acknowledged still shows it.
#[tokio::test]
async fn batched_reads_under_load_see_every_acknowledged_write() {
    let Some((a, b, f, g)) = replicas_with_a_group().await else {
        return;
    };
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let readers: Vec<_> = (0..16)
        .map(|_| {
            let (a, stop) = (a.clone(), stop.clone());
            tokio::spawn(async move {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    a.list_groups(P, &FIRST_PAGE).await.unwrap();
                    a.group(Some(P), g.uuid).await.unwrap();
                }
            })
        })
        .collect();
    let mut meta = Map::new();
    for i in 1..=20_i64 {
        assert!(b.insert_group(&group(&[f.uuid]), 10 + i).await.unwrap());
        let listed = a.list_groups(P, &FIRST_PAGE).await.unwrap();
        assert_eq!(
            (listed.total, listed.page.items.len()),
            (i + 1, i as usize + 1)
        );
        let next = Map::from_iter([("round".to_owned(), i.to_string().into())]);
        assert!(b
            .replace_file_metadata(FileSwap {
                project: P,
                uuid: f.uuid,
                old: &meta,
                new: &next,
            })
            .await
            .unwrap());
        meta = next;
        let (_, members) = a.group(Some(P), g.uuid).await.unwrap().unwrap();
        assert_eq!(
            members[0].file.as_ref().unwrap().metadata,
            meta,
            "round {i}"
        );
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for r in readers {
        r.await.unwrap();
    }
}

/// A replica alone on its database serves hot reads from memory (the sole-replica lease,
/// `lease.rs`); a second replica's first connection makes it stop before that connection may
/// write, so the second replica's writes are seen at once, and neither trusts its memory
/// while both are connected.
#[tokio::test]
async fn a_lone_replica_reads_from_memory_until_another_joins() {
    if postgres_admin_url().is_none() {
        return;
    }
    let url = fresh_postgres_database().await;
    let a = store::open(&url).await.unwrap();
    wait_for_reads(a.as_ref(), Reads::Memory).await;
    add_project(a.as_ref()).await;
    let f = file(1);
    a.insert_file(&f).await.unwrap();
    let g = group(&[f.uuid]);
    assert!(a.insert_group(&g, 10).await.unwrap());
    for _ in 0..2 {
        assert!(a.group(Some(P), g.uuid).await.unwrap().is_some());
    }
    assert_eq!(a.reads(), Reads::Memory);

    let b = store::open(&url).await.unwrap();
    // B's connections passed the gate only once A had stopped.
    assert_eq!(a.reads(), Reads::Checked);
    let stored = b.change_files(stored_at(&[f.uuid], 20)).await.unwrap();
    assert_eq!(stored.len(), 1);
    let (_, members) = a.group(Some(P), g.uuid).await.unwrap().unwrap();
    assert_eq!(members[0].file.as_ref().unwrap().stored_us, Some(20));
    assert!(b.delete_group(P, g.uuid).await.unwrap());
    assert!(a.group(Some(P), g.uuid).await.unwrap().is_none());
    // Past A's retries, neither takes the lease while the other is connected.
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert_eq!((a.reads(), b.reads()), (Reads::Checked, Reads::Checked));
}

/// Any other client connected to the database (here a plain connection, as `psql` would
/// be) keeps a replica checking its reads; once it leaves, the replica takes the lease.
#[tokio::test]
async fn another_client_on_the_database_keeps_reads_checked() {
    use sqlx::Connection;
    if postgres_admin_url().is_none() {
        return;
    }
    let url = fresh_postgres_database().await;
    let other = sqlx::PgConnection::connect(&url).await.unwrap();
    let a = store::open(&url).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert_eq!(a.reads(), Reads::Checked);
    other.close().await.unwrap();
    wait_for_reads(a.as_ref(), Reads::Memory).await;
}
