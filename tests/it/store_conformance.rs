//! The store's conformance suite: every case runs over `dyn Store` for each configuration,
//! as its own named test:
//! - `store_conformance::sqlite_cached::<case>`: SQLite with its read cache, as the server
//!   opens it;
//! - `…::sqlite_plain::<case>`: SQLite without the cache;
//! - `…::postgres_alone::<case>`: Postgres as the server opens it, once it holds the
//!   sole-replica lease and serves hot reads from memory;
//! - `…::postgres_checked::<case>`: Postgres without the cache, checking kept groups in the
//!   database (as with other replicas beside it).
//!
//! The Postgres ones use a fresh database on `UC_TEST_POSTGRES_URL`; without it they say they
//! skipped, or fail under `UC_REQUIRE_POSTGRES=1`.

use std::sync::Arc;

use serde_json::{json, Map, Value};
use uploadcare_emulator::store::{
    self, Cursor, Expiry, FileChange, FileFilter, FileRecord, FileSwap, GroupMember, GroupsPage,
    ImageFacts, LifecycleChange, MultipartUpload, NewGroup, Order, PageQuery, Project, Reads,
    Store,
};
use uuid::Uuid;

use crate::common::*;

/// A project the cases write to, and one they must never see.
const P: &str = "conformance";
const Q: &str = "elsewhere";

/// An open store and what keeps its database alive.
struct Fixture {
    store: Arc<dyn Store>,
    _dir: Option<tempfile::TempDir>,
}

#[derive(Clone, Copy, Debug)]
enum Config {
    SqliteCached,
    SqlitePlain,
    PostgresAlone,
    PostgresChecked,
}

impl Config {
    /// Where a store of this configuration answers hot reads once it is open.
    fn reads(self) -> Reads {
        match self {
            Config::SqliteCached | Config::PostgresAlone => Reads::Memory,
            Config::SqlitePlain => Reads::Database,
            Config::PostgresChecked => Reads::Checked,
        }
    }
}

/// Opens a fresh store of `config`; `None` (after saying so) when Postgres is not configured.
async fn open(config: Config) -> Option<Fixture> {
    let (url, dir) = match config {
        Config::SqliteCached | Config::SqlitePlain => {
            let dir = tempfile::tempdir().expect("tempdir");
            let url = format!("sqlite://{}", dir.path().join("store.db").display());
            (url, Some(dir))
        }
        Config::PostgresAlone | Config::PostgresChecked => {
            // Says it skipped (or fails under UC_REQUIRE_POSTGRES=1) when there is none.
            postgres_admin_url()?;
            (fresh_postgres_database().await, None)
        }
    };
    let store = match config {
        Config::SqlitePlain | Config::PostgresChecked => store::open_uncached(&url).await,
        _ => store::open(&url).await,
    }
    .expect("open store");
    wait_for_reads(store.as_ref(), config.reads()).await;
    for pub_key in [P, Q] {
        store
            .upsert_project(&Project {
                pub_key: pub_key.into(),
                secret_key: format!("{pub_key}-secret"),
                name: pub_key.into(),
                autostore: true,
                signed_uploads: false,
            })
            .await
            .unwrap();
    }
    Some(Fixture { store, _dir: dir })
}

/// Runs each case once per configuration, as `sqlite_cached::case`, `sqlite_plain::case`,
/// `postgres_alone::case` and `postgres_checked::case`.
macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        conformance!(@config sqlite_cached, SqliteCached, $($case),*);
        conformance!(@config sqlite_plain, SqlitePlain, $($case),*);
        conformance!(@config postgres_alone, PostgresAlone, $($case),*);
        conformance!(@config postgres_checked, PostgresChecked, $($case),*);
    };
    (@config $module:ident, $config:ident, $($case:ident),*) => {
        mod $module {
            $(
                #[tokio::test]
                async fn $case() {
                    if let Some(f) = super::open(super::Config::$config).await {
                        super::$case(f.store.as_ref()).await;
                    }
                }
            )*
        }
    };
}

conformance!(
    projects_are_upserted,
    files_are_read_in_their_scope,
    live_files_leave_out_removed_foreign_and_unknown,
    store_and_remove_change_only_live_files,
    metadata_is_replaced_only_from_the_expected_value,
    file_lists_follow_the_expiry_rule,
    file_pages_and_their_neighbours,
    groups_are_written_read_and_deleted,
    a_batch_of_creates_fails_only_its_invalid_ones,
    a_created_group_follows_a_given_time,
    group_pages_and_their_neighbours,
    kept_group_pages_follow_every_write,
    group_reads_see_file_changes,
    multipart_completes_once,
    url_duplicates_are_remembered_per_project,
    blobs_in_use_are_reported,
    reset_clears_one_project,
    a_transaction_commits_or_leaves_nothing,
);

fn metadata(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap()
}

fn file(project: &str, uploaded_us: i64) -> FileRecord {
    let uuid = Uuid::new_v4();
    FileRecord {
        uuid,
        project: project.into(),
        size: 1234,
        blob: format!("blob-{}", uuid.simple()),
        original_filename: "photo.png".into(),
        mime_type: "image/png".into(),
        image: Some(ImageFacts {
            format: "PNG".into(),
            width: 640,
            height: 480,
            color_mode: "RGBA".into(),
        }),
        metadata: metadata(json!({"kind": "test", "note": "ünïcode"})),
        tags: vec!["cat".into(), "b.w".into()],
        uploaded_us,
        stored_us: None,
        removed_us: None,
    }
}

fn lifecycle<'a>(
    project: &'a str,
    uuids: &'a [Uuid],
    change: FileChange,
    now_us: i64,
) -> LifecycleChange<'a> {
    LifecycleChange {
        project,
        uuids,
        change,
        now_us,
    }
}

async fn store(s: &dyn Store, project: &str, uuids: &[Uuid], now_us: i64) -> Vec<FileRecord> {
    let change = lifecycle(project, uuids, FileChange::Store, now_us);
    s.change_files(change).await.unwrap()
}

async fn remove(s: &dyn Store, project: &str, uuids: &[Uuid], now_us: i64) -> Vec<FileRecord> {
    let change = lifecycle(project, uuids, FileChange::Remove, now_us);
    s.change_files(change).await.unwrap()
}

/// The compare and swap of a file's metadata from `old` to `new`.
fn metadata_swap<'a>(
    project: &'a str,
    uuid: Uuid,
    old: &'a Map<String, Value>,
    new: &'a Map<String, Value>,
) -> FileSwap<'a, Map<String, Value>> {
    FileSwap {
        project,
        uuid,
        old,
        new,
    }
}

async fn insert(s: &dyn Store, f: &FileRecord) {
    s.insert_file(f).await.unwrap();
}

fn uuids(files: &[FileRecord]) -> Vec<Uuid> {
    let mut v: Vec<Uuid> = files.iter().map(|f| f.uuid).collect();
    v.sort();
    v
}

/// Records have no `PartialEq`; their debug form compares every field.
fn same(a: &FileRecord, b: &FileRecord) -> bool {
    format!("{a:?}") == format!("{b:?}")
}

async fn projects_are_upserted(s: &dyn Store) {
    let p = s.project(P).await.unwrap().unwrap();
    assert_eq!(
        (p.pub_key.as_str(), p.secret_key.as_str()),
        (P, "conformance-secret")
    );
    assert!(p.autostore && !p.signed_uploads);
    s.upsert_project(&Project {
        pub_key: P.into(),
        secret_key: "new-secret".into(),
        name: "renamed".into(),
        autostore: false,
        signed_uploads: true,
    })
    .await
    .unwrap();
    let p = s.project(P).await.unwrap().unwrap();
    assert_eq!(
        (p.secret_key.as_str(), p.name.as_str()),
        ("new-secret", "renamed")
    );
    assert!(!p.autostore && p.signed_uploads);
    assert!(s.project("nobody").await.unwrap().is_none());
}

async fn files_are_read_in_their_scope(s: &dyn Store) {
    let mut f = file(P, 1_000);
    insert(s, &f).await;
    let mut plain = file(P, 2_000);
    plain.image = None;
    plain.metadata = Map::new();
    insert(s, &plain).await;
    assert!(same(&s.file(Some(P), f.uuid).await.unwrap().unwrap(), &f));
    assert!(same(&s.file(None, f.uuid).await.unwrap().unwrap(), &f));
    assert!(same(
        &s.file(None, plain.uuid).await.unwrap().unwrap(),
        &plain
    ));
    assert!(s.file(Some(Q), f.uuid).await.unwrap().is_none());
    assert!(s.file(None, Uuid::new_v4()).await.unwrap().is_none());
    // Removed files are still read.
    remove(s, P, &[f.uuid], 5_000).await;
    f.removed_us = Some(5_000);
    assert!(same(&s.file(Some(P), f.uuid).await.unwrap().unwrap(), &f));
}

async fn live_files_leave_out_removed_foreign_and_unknown(s: &dyn Store) {
    let (a, b, gone, foreign) = (file(P, 1), file(P, 2), file(P, 3), file(Q, 4));
    for f in [&a, &b, &gone, &foreign] {
        insert(s, f).await;
    }
    remove(s, P, &[gone.uuid], 10).await;
    let asked = [a.uuid, b.uuid, gone.uuid, foreign.uuid, Uuid::new_v4()];
    // Twice: the second answer may come from the cache.
    for _ in 0..2 {
        let live = s.live_files(P, &asked).await.unwrap();
        assert_eq!(uuids(&live), uuids(&[a.clone(), b.clone()]));
    }
    assert!(s.live_files(P, &[]).await.unwrap().is_empty());
    assert!(s.live_files(P, &[gone.uuid]).await.unwrap().is_empty());
}

async fn store_and_remove_change_only_live_files(s: &dyn Store) {
    let (a, b, foreign) = (file(P, 1), file(P, 2), file(Q, 3));
    for f in [&a, &b, &foreign] {
        insert(s, f).await;
    }
    let stored = store(s, P, &[a.uuid, foreign.uuid, Uuid::new_v4()], 100).await;
    assert_eq!(uuids(&stored), vec![a.uuid]);
    assert_eq!(stored[0].stored_us, Some(100));
    assert!(s
        .file(None, foreign.uuid)
        .await
        .unwrap()
        .unwrap()
        .stored_us
        .is_none());
    let removed = remove(s, P, &[a.uuid, b.uuid], 200).await;
    assert_eq!(uuids(&removed), uuids(&[a.clone(), b.clone()]));
    for f in &removed {
        assert_eq!((f.removed_us, f.stored_us), (Some(200), None));
    }
    assert!(remove(s, P, &[a.uuid], 300).await.is_empty());
    assert!(store(s, P, &[a.uuid], 300).await.is_empty());
    assert!(store(s, P, &[], 300).await.is_empty());
    assert!(remove(s, P, &[], 300).await.is_empty());
}

async fn metadata_is_replaced_only_from_the_expected_value(s: &dyn Store) {
    let f = file(P, 1);
    insert(s, &f).await;
    let new = metadata(json!({"kind": "changed"}));
    assert!(!s
        .replace_file_metadata(metadata_swap(P, f.uuid, &new, &new))
        .await
        .unwrap());
    assert!(!s
        .replace_file_metadata(metadata_swap(Q, f.uuid, &f.metadata, &new))
        .await
        .unwrap());
    assert!(s
        .replace_file_metadata(metadata_swap(P, f.uuid, &f.metadata, &new))
        .await
        .unwrap());
    assert_eq!(
        s.file(Some(P), f.uuid).await.unwrap().unwrap().metadata,
        new
    );
    assert!(!s
        .replace_file_metadata(metadata_swap(P, Uuid::new_v4(), &f.metadata, &new))
        .await
        .unwrap());
}

async fn file_lists_follow_the_expiry_rule(s: &dyn Store) {
    // Retention 100 at time 1000: unstored files uploaded at or before 900 have expired.
    let expiry = Expiry::new(1_000, 100);
    let mut all = Vec::new();
    for (uploaded, stored, removed) in [
        (850, false, false),
        (900, false, false),
        (901, false, false),
        (950, true, false),
        (800, true, false),
        (960, false, true),
        (700, true, true),
    ] {
        let f = file(P, uploaded);
        insert(s, &f).await;
        if stored {
            store(s, P, &[f.uuid], uploaded + 1).await;
        }
        if removed {
            remove(s, P, &[f.uuid], uploaded + 2).await;
        }
        all.push(s.file(Some(P), f.uuid).await.unwrap().unwrap());
    }
    insert(s, &file(Q, 990)).await;
    let everything = PageQuery {
        order: Order::Ascending,
        cursor: Cursor::Start,
        offset: 0,
        limit: 100,
    };
    for removed in [false, true] {
        for stored in [None, Some(true), Some(false)] {
            let filter = FileFilter {
                removed,
                stored,
                expiry,
            };
            // The store's SQL and the Rust rule agree on every file.
            let expected: Vec<FileRecord> = all
                .iter()
                .filter(|f| expiry.is_live(f) != removed)
                .filter(|f| stored.is_none_or(|st| f.stored_us.is_some() == st))
                .cloned()
                .collect();
            let page = s.list_files(P, &filter, &everything).await.unwrap();
            let label = format!("removed={removed} stored={stored:?}");
            assert_eq!(uuids(&page.items), uuids(&expected), "{label}");
            let count = s.count_files(P, &filter).await.unwrap();
            assert_eq!(count, expected.len() as i64, "{label}");
        }
    }
    let live = [901, 950, 800];
    for f in &all {
        assert_eq!(expiry.is_live(f), live.contains(&f.uploaded_us), "{f:?}");
    }
}

fn page_query(order: Order, cursor: Cursor, offset: i64, limit: i64) -> PageQuery {
    PageQuery {
        order,
        cursor,
        offset,
        limit,
    }
}

/// A page as the paging cases see it: item times, `has_next`, `has_previous`.
type Seen = (Vec<i64>, bool, bool);

/// The paging cases both lists must pass, over items at times 10, 20, …, 70: `read` gives
/// a page's item times and neighbour flags.
async fn check_paging<F, Fut>(read: F)
where
    F: Fn(PageQuery) -> Fut,
    Fut: std::future::Future<Output = Seen>,
{
    use Order::*;
    let after = |at_us| Cursor::After { at_us };
    let before = |at_us| Cursor::Before { at_us };
    let cases: Vec<(PageQuery, Seen)> = vec![
        (
            page_query(Ascending, Cursor::Start, 0, 3),
            (vec![10, 20, 30], true, false),
        ),
        (
            page_query(Ascending, after(30), 0, 3),
            (vec![40, 50, 60], true, true),
        ),
        (
            page_query(Ascending, after(60), 0, 3),
            (vec![70], false, true),
        ),
        (
            page_query(Ascending, after(70), 0, 3),
            (vec![], false, false),
        ),
        (
            page_query(Ascending, after(35), 0, 2),
            (vec![40, 50], true, true),
        ),
        (
            page_query(Ascending, before(40), 0, 2),
            (vec![20, 30], true, true),
        ),
        (
            page_query(Ascending, before(40), 0, 3),
            (vec![10, 20, 30], true, false),
        ),
        (
            page_query(Ascending, Cursor::Start, 2, 2),
            (vec![30, 40], true, true),
        ),
        (
            page_query(Ascending, Cursor::Start, 0, 100),
            (vec![10, 20, 30, 40, 50, 60, 70], false, false),
        ),
        (
            page_query(Descending, Cursor::Start, 0, 3),
            (vec![70, 60, 50], true, false),
        ),
        (
            page_query(Descending, after(50), 0, 3),
            (vec![40, 30, 20], true, true),
        ),
        (
            page_query(Descending, after(20), 0, 3),
            (vec![10], false, true),
        ),
        (
            page_query(Descending, before(40), 0, 2),
            (vec![60, 50], true, true),
        ),
        (
            page_query(Descending, before(40), 0, 5),
            (vec![70, 60, 50], true, false),
        ),
        (
            page_query(Descending, Cursor::Start, 5, 5),
            (vec![20, 10], false, true),
        ),
    ];
    for (q, expected) in cases {
        assert_eq!(read(q).await, expected, "{q:?}");
    }
}

async fn file_pages_and_their_neighbours(s: &dyn Store) {
    for t in [40, 10, 70, 30, 60, 20, 50] {
        let f = file(P, t);
        insert(s, &f).await;
        store(s, P, &[f.uuid], t).await;
    }
    // Files the filter leaves out, between and beyond the listed ones.
    let removed = file(P, 45);
    insert(s, &removed).await;
    remove(s, P, &[removed.uuid], 46).await;
    insert(s, &file(P, 80)).await;
    insert(s, &file(Q, 5)).await;
    let filter = FileFilter {
        removed: false,
        stored: Some(true),
        expiry: Expiry::new(1_000, 10),
    };
    check_paging(|q| async move {
        let page = s.list_files(P, &filter, &q).await.unwrap();
        let times = page.items.iter().map(|f| f.uploaded_us).collect();
        (times, page.has_next, page.has_previous)
    })
    .await;
}

fn new_group(project: &str, members: &[Uuid]) -> NewGroup {
    NewGroup {
        uuid: Uuid::new_v4(),
        project: project.into(),
        members: members
            .iter()
            .enumerate()
            .map(|(i, u)| {
                (
                    *u,
                    if i == 0 {
                        "resize/x80/".into()
                    } else {
                        String::new()
                    },
                )
            })
            .collect(),
    }
}

async fn groups_are_written_read_and_deleted(s: &dyn Store) {
    let (a, b) = (file(P, 1), file(P, 2));
    insert(s, &a).await;
    insert(s, &b).await;
    let missing = Uuid::new_v4();
    let g = new_group(P, &[b.uuid, missing, a.uuid, b.uuid]);
    assert!(s.insert_group(&g, 500).await.unwrap());
    // The creation time is taken in this project, not in another.
    let clash = new_group(P, &[a.uuid]);
    assert!(!s.insert_group(&clash, 500).await.unwrap());
    assert!(s.group(None, clash.uuid).await.unwrap().is_none());
    assert!(s.insert_group(&new_group(Q, &[a.uuid]), 500).await.unwrap());
    assert_eq!(s.count_groups(P).await.unwrap(), 1);
    for scope in [Some(P), None, Some(P)] {
        let (record, members) = s.group(scope, g.uuid).await.unwrap().unwrap();
        assert_eq!(
            (record.uuid, record.files_count, record.created_us),
            (g.uuid, 4, 500)
        );
        let got = positions(&members);
        let want: Vec<(Uuid, String, Option<Uuid>)> = g
            .members
            .iter()
            .map(|(u, e)| (*u, e.clone(), (*u != missing).then_some(*u)))
            .collect();
        assert_eq!(got, want);
        assert!(same(members[2].file.as_ref().unwrap(), &a));
    }
    assert!(s.group(Some(Q), g.uuid).await.unwrap().is_none());
    assert!(s.group(None, Uuid::new_v4()).await.unwrap().is_none());
    assert!(!s.delete_group(Q, g.uuid).await.unwrap());
    assert!(s.delete_group(P, g.uuid).await.unwrap());
    assert!(!s.delete_group(P, g.uuid).await.unwrap());
    assert!(s.group(Some(P), g.uuid).await.unwrap().is_none());
    assert_eq!(s.count_groups(P).await.unwrap(), 0);
    assert_eq!(s.count_groups(Q).await.unwrap(), 1);
    assert_eq!(s.count_groups("nobody").await.unwrap(), 0);
    // The group's files stay.
    assert!(s.file(Some(P), a.uuid).await.unwrap().is_some());
}

/// Creates sent together are written as one batch (the test runtime runs the writer only
/// once every create is queued): a create with a member that is missing, removed, expired
/// or another project's gets `None`, the others are written with their members' files, at
/// unique creation times increasing in queue order, and counted once each.
async fn a_batch_of_creates_fails_only_its_invalid_ones(s: &dyn Store) {
    let now = 1_000_000_000;
    let (a, b, old, gone, theirs) = (
        file(P, now - 5),
        file(P, now - 4),
        file(P, now - 500),
        file(P, now - 3),
        file(Q, now - 2),
    );
    for f in [&a, &b, &old, &gone, &theirs] {
        insert(s, f).await;
    }
    remove(s, P, &[gone.uuid], now - 1).await;
    let expiry = Expiry::new(now, 100);
    let bad = [Uuid::new_v4(), old.uuid, gone.uuid, theirs.uuid];
    let mut creates = Vec::new();
    for i in 0..12 {
        let members = match i % 3 {
            1 => vec![a.uuid, bad[i / 3]],
            _ => vec![b.uuid, a.uuid, b.uuid],
        };
        creates.push(new_group(P, &members));
    }
    let answers = futures_util::future::join_all(
        creates
            .iter()
            .enumerate()
            .map(|(i, g)| s.create_group(g.clone(), now + i as i64, expiry)),
    )
    .await;
    let mut times = Vec::new();
    for (i, (g, answer)) in creates.iter().zip(answers).enumerate() {
        let answer = answer.unwrap();
        if i % 3 == 1 {
            assert!(answer.is_none(), "create {i} has a member that is not live");
            assert!(s.group(None, g.uuid).await.unwrap().is_none());
            continue;
        }
        let (record, members) = answer.expect("a create of live files is written");
        assert_eq!((record.uuid, record.files_count), (g.uuid, 3));
        assert!(record.created_us >= now + i as i64);
        times.push(record.created_us);
        let got = positions(&members);
        let want: Vec<(Uuid, String, Option<Uuid>)> = g
            .members
            .iter()
            .map(|(u, e)| (*u, e.clone(), Some(*u)))
            .collect();
        assert_eq!(got, want);
        assert!(same(members[1].file.as_ref().unwrap(), &a));
        // As written.
        let (read, read_members) = s.group(Some(P), g.uuid).await.unwrap().unwrap();
        assert_eq!(read.created_us, record.created_us);
        assert_eq!(read_members.len(), 3);
    }
    assert_eq!(times.len(), 8);
    assert!(times.windows(2).all(|w| w[0] < w[1]), "{times:?}");
    assert_eq!(s.count_groups(P).await.unwrap(), 8);
    assert_eq!(s.count_groups(Q).await.unwrap(), 0);
    let GroupsPage { page, total, .. } = s
        .list_groups(P, &page_query(Order::Ascending, Cursor::Start, 0, 100))
        .await
        .unwrap();
    assert_eq!(total, 8);
    let listed: Vec<i64> = page.items.iter().map(|g| g.created_us).collect();
    assert_eq!(listed, times);
}

/// A created group's time is at least the given one, and after a group written at a given
/// time in the same project: on SQLite (the process's clock hands out the times) a taken
/// time fails that create alone, as a store error, and the rest of its batch is written;
/// on Postgres the project's row hands out the times, past every one written before.
async fn a_created_group_follows_a_given_time(s: &dyn Store) {
    let now = 1_000_000_000;
    let a = file(P, now);
    insert(s, &a).await;
    assert!(s
        .insert_group(&new_group(P, &[a.uuid]), now + 100)
        .await
        .unwrap());
    let expiry = Expiry::new(now, 1_000_000);
    let creates: Vec<NewGroup> = (0..3).map(|_| new_group(P, &[a.uuid])).collect();
    let answers = futures_util::future::join_all(
        creates
            .iter()
            .zip([now + 99, now + 100, now + 101])
            .map(|(g, at)| s.create_group(g.clone(), at, expiry)),
    )
    .await;
    let postgres = s.group(None, creates[1].uuid).await.unwrap().is_some();
    let mut times = Vec::new();
    for (i, answer) in answers.into_iter().enumerate() {
        match answer {
            Ok(Some((record, _))) => times.push(record.created_us),
            Ok(None) => panic!("create {i}: its member is live"),
            Err(_) => assert!(i == 1 && !postgres, "create {i} failed"),
        }
    }
    if postgres {
        assert_eq!(times, [now + 101, now + 102, now + 103]);
        assert_eq!(s.count_groups(P).await.unwrap(), 4);
    } else {
        assert_eq!(times, [now + 99, now + 101]);
        assert_eq!(s.count_groups(P).await.unwrap(), 3);
    }
}

async fn group_pages_and_their_neighbours(s: &dyn Store) {
    let f = file(P, 1);
    insert(s, &f).await;
    for t in [40, 10, 70, 30, 60, 20, 50] {
        assert!(s.insert_group(&new_group(P, &[f.uuid]), t).await.unwrap());
    }
    assert!(s.insert_group(&new_group(Q, &[f.uuid]), 45).await.unwrap());
    check_paging(|q| async move {
        let GroupsPage { page, total, .. } = s.list_groups(P, &q).await.unwrap();
        assert_eq!(total, 7);
        let times = page.items.iter().map(|g| g.created_us).collect();
        (times, page.has_next, page.has_previous)
    })
    .await;
    let GroupsPage {
        page: empty, total, ..
    } = s
        .list_groups(
            "nobody",
            &page_query(Order::Ascending, Cursor::Start, 0, 10),
        )
        .await
        .unwrap();
    assert!(empty.items.is_empty() && !empty.has_next && !empty.has_previous);
    assert_eq!(total, 0);
}

/// Pages are kept between reads (checked by version, or on SQLite by the cache's
/// generation): every insert, delete and reset is seen by the next read, and the version
/// moves with it.
async fn kept_group_pages_follow_every_write(s: &dyn Store) {
    let f = file(P, 1);
    insert(s, &f).await;
    let q = page_query(Order::Ascending, Cursor::Start, 0, 10);
    let mut seen = Vec::new();
    let mut versions = Vec::new();
    for t in [10, 20, 30] {
        let g = new_group(P, &[f.uuid]);
        assert!(s.insert_group(&g, t).await.unwrap());
        seen.push(g.uuid);
        for _ in 0..2 {
            let listed = s.list_groups(P, &q).await.unwrap();
            let uuids: Vec<Uuid> = listed.page.items.iter().map(|g| g.uuid).collect();
            assert_eq!((uuids, listed.total), (seen.clone(), seen.len() as i64));
            versions.push(listed.version.unwrap());
        }
    }
    assert!(s.delete_group(P, seen[1]).await.unwrap());
    seen.remove(1);
    let listed = s.list_groups(P, &q).await.unwrap();
    let uuids: Vec<Uuid> = listed.page.items.iter().map(|g| g.uuid).collect();
    assert_eq!((uuids, listed.total), (seen, 2));
    versions.push(listed.version.unwrap());
    s.reset_project(P).await.unwrap();
    let listed = s.list_groups(P, &q).await.unwrap();
    assert!(listed.page.items.is_empty() && listed.total == 0);
    versions.push(listed.version.unwrap());
    // Two reads in a row share a version; every write moves it.
    for pair in versions.chunks(2).take(3) {
        assert_eq!(pair[0], pair[1]);
    }
    let firsts: Vec<i64> = versions.iter().step_by(2).copied().collect();
    assert!(firsts.windows(2).all(|w| w[0] < w[1]), "{versions:?}");
}

async fn group_reads_see_file_changes(s: &dyn Store) {
    let (a, b) = (file(P, 1), file(P, 2));
    insert(s, &a).await;
    insert(s, &b).await;
    let g = new_group(P, &[a.uuid, b.uuid]);
    assert!(s.insert_group(&g, 10).await.unwrap());
    let id = g.uuid;
    let member = |n: usize| async move {
        let (_, members) = s.group(Some(P), id).await.unwrap().unwrap();
        members[n].file.clone().unwrap()
    };
    assert!(member(0).await.stored_us.is_none());
    store(s, P, &[a.uuid], 20).await;
    assert_eq!(member(0).await.stored_us, Some(20));
    let new = metadata(json!({"after": "change"}));
    s.replace_file_metadata(metadata_swap(P, b.uuid, &b.metadata, &new))
        .await
        .unwrap();
    assert_eq!(member(1).await.metadata, new);
    assert_eq!(s.live_files(P, &[a.uuid, b.uuid]).await.unwrap().len(), 2);
    remove(s, P, &[a.uuid], 30).await;
    assert_eq!(member(0).await.removed_us, Some(30));
    assert_eq!(
        uuids(&s.live_files(P, &[a.uuid, b.uuid]).await.unwrap()),
        vec![b.uuid]
    );
}

async fn multipart_completes_once(s: &dyn Store) {
    let f = file(P, 1);
    let upload = MultipartUpload {
        uuid: f.uuid,
        project: P.into(),
        filename: "big.bin".into(),
        size: 20_000_000,
        part_size: 5_242_880,
        content_type: "application/octet-stream".into(),
        store: true,
        metadata: metadata(json!({"m": "1"})),
        tags: vec!["big".into()],
        created_us: 77,
        completed: false,
    };
    s.insert_multipart(&upload).await.unwrap();
    let read = s.multipart(f.uuid).await.unwrap().unwrap();
    assert_eq!(format!("{read:?}"), format!("{upload:?}"));
    assert!(s.multipart(Uuid::new_v4()).await.unwrap().is_none());
    assert!(s.file(None, f.uuid).await.unwrap().is_none());
    assert!(s.complete_multipart(&f).await.unwrap());
    assert!(same(&s.file(Some(P), f.uuid).await.unwrap().unwrap(), &f));
    assert!(s.multipart(f.uuid).await.unwrap().unwrap().completed);
    assert!(!s.complete_multipart(&f).await.unwrap());
}

async fn url_duplicates_are_remembered_per_project(s: &dyn Store) {
    let url = "http://example.com/a.png?x=1";
    assert!(s.url_duplicate(P, url).await.unwrap().is_none());
    let (first, second) = (file(P, 1), file(P, 2));
    s.save_url_duplicate(url, &first).await.unwrap();
    assert_eq!(s.url_duplicate(P, url).await.unwrap(), Some(first.uuid));
    s.save_url_duplicate(url, &second).await.unwrap();
    assert_eq!(s.url_duplicate(P, url).await.unwrap(), Some(second.uuid));
    assert!(s.url_duplicate(Q, url).await.unwrap().is_none());
}

async fn blobs_in_use_are_reported(s: &dyn Store) {
    let (a, b) = (file(P, 1), file(Q, 2));
    insert(s, &a).await;
    insert(s, &b).await;
    remove(s, Q, &[b.uuid], 3).await;
    let mut used = s
        .blobs_in_use(&[a.blob.clone(), b.blob.clone(), "unused".into()])
        .await
        .unwrap();
    used.sort();
    let mut want = vec![a.blob.clone(), b.blob.clone()];
    want.sort();
    assert_eq!(used, want);
    assert!(s.blobs_in_use(&[]).await.unwrap().is_empty());
}

async fn reset_clears_one_project(s: &dyn Store) {
    let (a, b) = (file(P, 1), file(Q, 2));
    insert(s, &a).await;
    insert(s, &b).await;
    let g = new_group(P, &[a.uuid]);
    let h = new_group(Q, &[b.uuid]);
    assert!(s.insert_group(&g, 5).await.unwrap());
    assert!(s.insert_group(&h, 5).await.unwrap());
    // Fill the cache first, where there is one.
    assert!(s.group(Some(P), g.uuid).await.unwrap().is_some());
    s.reset_project(P).await.unwrap();
    assert!(s.group(Some(P), g.uuid).await.unwrap().is_none());
    assert!(s.file(None, a.uuid).await.unwrap().is_none());
    assert!(s.live_files(P, &[a.uuid]).await.unwrap().is_empty());
    assert_eq!(s.count_groups(P).await.unwrap(), 0);
    assert!(s.group(Some(Q), h.uuid).await.unwrap().is_some());
    assert!(s.file(Some(Q), b.uuid).await.unwrap().is_some());
    assert_eq!(s.count_groups(Q).await.unwrap(), 1);
}

async fn a_transaction_commits_or_leaves_nothing(s: &dyn Store) {
    let (a, b) = (file(P, 1), file(P, 2));
    insert(s, &a).await;
    let g = new_group(P, &[a.uuid]);
    assert!(s.insert_group(&g, 9).await.unwrap());
    assert!(s.group(Some(P), g.uuid).await.unwrap().is_some());
    // Dropped without commit: nothing of it is seen, cached or not.
    {
        let mut tx = s.begin().await.unwrap();
        tx.insert_file(&mut b.clone()).await.unwrap();
        assert_eq!(
            tx.change_files(lifecycle(P, &[a.uuid, b.uuid], FileChange::Store, 50))
                .await
                .unwrap()
                .len(),
            2
        );
    }
    assert!(s.file(None, b.uuid).await.unwrap().is_none());
    let (_, members) = s.group(Some(P), g.uuid).await.unwrap().unwrap();
    assert!(members[0].file.as_ref().unwrap().stored_us.is_none());
    // Committed: every write of it is seen, including through a cached group.
    let mut tx = s.begin().await.unwrap();
    tx.insert_file(&mut b.clone()).await.unwrap();
    assert_eq!(
        tx.change_files(lifecycle(P, &[a.uuid, b.uuid], FileChange::Store, 60))
            .await
            .unwrap()
            .len(),
        2
    );
    tx.commit().await.unwrap();
    assert_eq!(
        s.file(None, b.uuid).await.unwrap().unwrap().stored_us,
        Some(60)
    );
    let (_, members) = s.group(Some(P), g.uuid).await.unwrap().unwrap();
    assert_eq!(members[0].file.as_ref().unwrap().stored_us, Some(60));
}

/// Each member of a group as (file uuid, default effects, uuid of the file found, if any).
fn positions(members: &[GroupMember]) -> Vec<(Uuid, String, Option<Uuid>)> {
    members
        .iter()
        .map(|m| {
            (
                m.file_uuid,
                m.default_effects.clone(),
                m.file.as_ref().map(|f| f.uuid),
            )
        })
        .collect()
}
