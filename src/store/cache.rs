//! The store's caches. Two kinds:
//! - [`Cache`], trusted without asking the database: for SQLite (one writer process), and
//!   for Postgres only while this replica holds the sole-replica lease (`lease.rs`: no other
//!   process is connected, and none can write until the cache has stopped serving).
//! - [`GroupPages`] and [`CheckedGroups`], safe with any number of replicas on one Postgres
//!   database: an entry is served only after a read begun after the request arrived shows
//!   that what it was read from has not changed (a project's group version; a group row and
//!   its member files' row versions). Such reads are shared by the requests waiting at the
//!   same moment (`coalesce.rs`): one statement checks many entries. A change note
//!   (`notify.rs`) alone would race with a client that writes on one replica and reads on
//!   another right after, so none is relied on.
//!
//! # SQLite's read-through cache
//! For the hot read paths of the SQLite store (group info on every API, file lookups when
//! grouping).
//!
//! Group membership never changes (groups are immutable), so a group's record and member
//! list are cached until the group is deleted. Files change (stored, removed, metadata), so
//! file rows are cached and dropped when a transaction that changed them commits (every
//! write is a [`super::Tx`], which reports what it changed). A SQLite store has one writer
//! process; a Postgres store may be shared by replicas whose writes this process would not
//! see, so there the cache serves only while [`Cache::serve`] says so (the lease). The maps
//! are bounded: past [`CAPACITY`] entries a map is emptied and refills from the database.
//!
//! A reader takes a [`Ticket`] before it reads the database and may fill the cache with what
//! it read only if no write committed since: the ticket is checked and the entry inserted
//! under the same lock that a commit takes to drop entries, so a write can never land
//! between the check and the insert and leave a stale entry behind.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use uuid::Uuid;

use super::{
    Cursor, FileRecord, GroupMember, GroupRecord, GroupWithMembers, Order, Page, PageQuery,
};
use crate::error::StoreError;

/// Most entries each map holds.
pub const CAPACITY: usize = 50_000;

/// A cached group: its project, record and members (file uuid, default effects).
struct CachedGroup {
    project: String,
    record: GroupRecord,
    members: Vec<(Uuid, String)>,
}

#[derive(Default)]
struct Maps {
    /// Whether entries are served (always on SQLite; on Postgres while this replica holds
    /// the sole-replica lease, `lease.rs`).
    serving: bool,
    /// Bumped by every commit that drops entries, and whenever serving starts or stops.
    generation: u64,
    groups: HashMap<Uuid, Arc<CachedGroup>>,
    /// `None` caches "no such row" (a member whose file row is gone).
    files: HashMap<Uuid, Option<FileRecord>>,
}

impl Maps {
    /// Keeps `files` (`None`: no such row), first emptying the map when they would not fit.
    fn keep_files(&mut self, files: impl ExactSizeIterator<Item = (Uuid, Option<FileRecord>)>) {
        if self.files.len() + files.len() > CAPACITY {
            self.files.clear();
        }
        self.files.extend(files);
    }
}

/// When a reader started reading the database (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Ticket(u64);

/// The cache.
pub struct Cache {
    maps: RwLock<Maps>,
}

impl Default for Cache {
    /// A cache that serves (SQLite's).
    fn default() -> Self {
        Self::serving(true)
    }
}

impl Cache {
    /// A cache that serves only while `serving` (see [`Cache::serve`]).
    pub fn serving(serving: bool) -> Self {
        Self {
            maps: RwLock::new(Maps {
                serving,
                ..Maps::default()
            }),
        }
    }

    /// Starts or stops serving: either way every entry is dropped and every earlier ticket
    /// voided, so only what is read from now on is served.
    pub fn serve(&self, serving: bool) {
        let mut maps = self.write();
        maps.serving = serving;
        maps.generation += 1;
        maps.groups.clear();
        maps.files.clear();
    }

    /// Whether entries are served.
    pub fn is_serving(&self) -> bool {
        self.read().serving
    }

    fn read(&self) -> RwLockReadGuard<'_, Maps> {
        self.maps
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Maps> {
        self.maps
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The maps, to fill with what was read under `ticket`; `None` when the cache does not
    /// serve or a write committed since.
    fn fillable(&self, ticket: Ticket) -> Option<RwLockWriteGuard<'_, Maps>> {
        let maps = self.write();
        (maps.serving && maps.generation == ticket.0).then_some(maps)
    }

    /// Taken before reading the database for a later [`Cache::fill_files`] or
    /// [`Cache::fill_group`].
    fn ticket(&self) -> Ticket {
        Ticket(self.read().generation)
    }

    /// The generation, while serving: moved by every commit (after the commit, see
    /// [`super::Tx::commit`]) and when serving starts or stops. What was read from the
    /// database after taking it is current while it stays the same.
    pub fn generation(&self) -> Option<u64> {
        let maps = self.read();
        maps.serving.then_some(maps.generation)
    }

    /// The live files of `project` among `uuids`: from the cache when every one is cached
    /// as such, else from `load` (a database read), whose answer is then cached unless a
    /// write committed while it ran.
    pub async fn live_files_through(
        &self,
        project: &str,
        uuids: &[Uuid],
        load: impl Future<Output = Result<Vec<FileRecord>, StoreError>>,
    ) -> Result<Vec<FileRecord>, StoreError> {
        if let Some(hits) = self.live_files(project, uuids) {
            return Ok(hits);
        }
        let ticket = self.ticket();
        let found = load.await?;
        self.fill_files(ticket, &found);
        Ok(found)
    }

    /// A group of `project` (any project when `None`) with its members: from the cache when
    /// it and its member files are cached, else from `load`, which also names the group's
    /// project; cached unless a write committed while `load` ran.
    pub async fn group_through(
        &self,
        project: Option<&str>,
        uuid: Uuid,
        load: impl Future<Output = Result<Option<(String, GroupWithMembers)>, StoreError>>,
    ) -> Result<Option<GroupWithMembers>, StoreError> {
        if let Some(hit) = self.group(project, uuid) {
            return Ok(hit);
        }
        let ticket = self.ticket();
        let Some((owner, (record, members))) = load.await? else {
            return Ok(None);
        };
        self.fill_group(ticket, &owner, &record, &members);
        Ok(Some((record, members)))
    }

    /// The live files of `project` among `uuids`, if every one is cached as such.
    fn live_files(&self, project: &str, uuids: &[Uuid]) -> Option<Vec<FileRecord>> {
        let maps = self.read();
        if !maps.serving {
            return None;
        }
        uuids
            .iter()
            .map(|u| match maps.files.get(u) {
                Some(Some(f)) if f.project == project && f.removed_us.is_none() => Some(f.clone()),
                _ => None,
            })
            .collect()
    }

    /// Caches files read under `ticket`, unless a write committed since.
    fn fill_files(&self, ticket: Ticket, files: &[FileRecord]) {
        if let Some(mut maps) = self.fillable(ticket) {
            maps.keep_files(files.iter().map(|f| (f.uuid, Some(f.clone()))));
        }
    }

    /// The group from the cache when it and every member file are cached: `Some(None)` when
    /// it is cached but belongs to another project than `project` (when given).
    fn group(&self, project: Option<&str>, uuid: Uuid) -> Option<Option<GroupWithMembers>> {
        let maps = self.read();
        if !maps.serving {
            return None;
        }
        let group = maps.groups.get(&uuid)?;
        if project.is_some_and(|p| p != group.project) {
            return Some(None);
        }
        let mut members = Vec::with_capacity(group.members.len());
        for (file_uuid, effects) in &group.members {
            members.push(GroupMember {
                file_uuid: *file_uuid,
                default_effects: effects.clone(),
                file: maps.files.get(file_uuid)?.clone(),
            });
        }
        Some(Some((group.record.clone(), members)))
    }

    /// Caches a group of `project` and its member files read under `ticket`, unless a write
    /// committed since.
    fn fill_group(
        &self,
        ticket: Ticket,
        project: &str,
        record: &GroupRecord,
        members: &[GroupMember],
    ) {
        let Some(mut maps) = self.fillable(ticket) else {
            return;
        };
        maps.keep_files(members.iter().map(|m| (m.file_uuid, m.file.clone())));
        if maps.groups.len() >= CAPACITY {
            maps.groups.clear();
        }
        maps.groups.insert(
            record.uuid,
            Arc::new(CachedGroup {
                project: project.to_owned(),
                record: record.clone(),
                members: members
                    .iter()
                    .map(|m| (m.file_uuid, m.default_effects.clone()))
                    .collect(),
            }),
        );
    }

    /// Drops files and groups a committed write changed, and voids every earlier ticket.
    pub fn forget(&self, files: &[Uuid], groups: &[Uuid]) {
        let mut maps = self.write();
        maps.generation += 1;
        for u in files {
            maps.files.remove(u);
        }
        for u in groups {
            maps.groups.remove(u);
        }
    }

    /// Drops everything, and voids every earlier ticket.
    pub fn forget_all(&self) {
        let mut maps = self.write();
        maps.generation += 1;
        maps.groups.clear();
        maps.files.clear();
    }
}

/// Most groups [`GroupPages`] holds, over all its pages (past it, it is emptied).
pub const PAGE_CAPACITY: usize = 20_000;

/// Which page of which project's groups.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PageKey {
    project: String,
    ascending: bool,
    /// 0 start, 1 after, 2 before.
    cursor: (u8, i64),
    offset: i64,
    limit: i64,
}

impl PageKey {
    /// The key of `q` on `project`'s groups.
    pub fn new(project: &str, q: &PageQuery) -> Self {
        Self {
            project: project.to_owned(),
            ascending: q.order == Order::Ascending,
            cursor: match q.cursor {
                Cursor::Start => (0, 0),
                Cursor::After { at_us } => (1, at_us),
                Cursor::Before { at_us } => (2, at_us),
            },
            offset: q.offset,
            limit: q.limit,
        }
    }
}

/// A page as read at a group version of its project.
#[derive(Clone, Debug)]
pub struct VersionedPage {
    /// The project's `group_version` read in the same statement as the page.
    pub version: i64,
    /// The project's group count, read with it.
    pub total: i64,
    /// A serving [`Cache`]'s generation taken before the page was read. While it is still
    /// the generation, no commit has happened since and the cache has served throughout
    /// (one process writes: SQLite, or Postgres under the lease), so the page is served
    /// without asking the database.
    pub generation: Option<u64>,
    /// The page.
    pub page: Page<GroupRecord>,
}

/// Pages of `GET /groups/`, each with the project's group version it was read at, on either
/// backend and with any number of replicas: a cached page is used only after the project
/// row, read after the request arrived, shows the same version (every group insert and
/// delete, on any replica, bumps it in its own transaction), so a hit costs a share of one
/// batched primary-key read (`coalesce.rs`) instead of the page's scan; a stale entry is
/// never served, only replaced.
#[derive(Default)]
pub struct GroupPages {
    pages: std::sync::Mutex<Bounded<PageKey, VersionedPage>>,
}

impl GroupPages {
    /// The cached page of `key`, at whatever version it was read.
    pub fn get(&self, key: &PageKey) -> Option<Arc<VersionedPage>> {
        lock(&self.pages).get(key)
    }

    /// Keeps a page read at `version`.
    pub fn put(&self, key: PageKey, page: VersionedPage) {
        let weight = page.page.items.len() + 1;
        lock(&self.pages).insert(key, Arc::new(page), weight, PAGE_CAPACITY);
    }
}

/// A map bounded by the summed weight of its entries: emptied when an insert would pass it
/// (it refills from the database).
struct Bounded<K, V> {
    /// Each entry with its weight.
    map: HashMap<K, (Arc<V>, usize)>,
    weight: usize,
}

impl<K, V> Default for Bounded<K, V> {
    fn default() -> Self {
        Self {
            map: HashMap::new(),
            weight: 0,
        }
    }
}

impl<K: std::hash::Hash + Eq, V> Bounded<K, V> {
    /// The entry of `key`.
    fn get(&self, key: &K) -> Option<Arc<V>> {
        self.map.get(key).map(|(value, _)| value.clone())
    }

    /// Inserts (or replaces) an entry weighing `weight`.
    fn insert(&mut self, key: K, value: Arc<V>, weight: usize, capacity: usize) {
        self.remove(&key);
        if self.weight + weight > capacity {
            self.map.clear();
            self.weight = 0;
        }
        self.weight += weight;
        self.map.insert(key, (value, weight));
    }

    /// Drops the entry of `key`.
    fn remove(&mut self, key: &K) {
        if let Some((_, weight)) = self.map.remove(key) {
            self.weight -= weight;
        }
    }
}

fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Most members (with their files) [`CheckedGroups`] holds, over all its groups.
pub const CHECKED_CAPACITY: usize = 20_000;
/// Groups with more members are not kept by [`CheckedGroups`] (their check would cost as
/// much as their read).
pub const CHECKED_MAX_MEMBERS: usize = 256;

/// A group as read from a shared database, with the row versions (Postgres' `xmin`) of its
/// member files at that read.
pub struct CheckedGroup {
    /// The group's project.
    pub project: String,
    /// The group and its members, each with its file.
    pub group: GroupWithMembers,
    /// `(file uuid, row version)` of every member file that existed, sorted.
    pub versions: Vec<(String, String)>,
}

/// What one batched check found (`coalesce.rs`, [`super::groups`]): which of the asked
/// groups still have a row, and each asked file's project and row version.
#[derive(Debug, Default)]
pub struct Seen {
    /// Uuids (as text) of the asked groups that still exist.
    pub groups: HashSet<String>,
    /// Asked file uuid (as text) → (project, row version), for the files that exist.
    pub files: HashMap<String, (String, String)>,
}

/// What a check says of a kept group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The group row is gone.
    Gone,
    /// The group and every member file are as kept: serve the entry.
    Same,
    /// A member file changed: read the group again.
    Changed,
}

impl CheckedGroup {
    /// The entry's verdict under `seen`, a check read after the request arrived.
    pub fn verdict(&self, seen: &Seen) -> Verdict {
        if !seen.groups.contains(&self.group.0.uuid.to_string()) {
            return Verdict::Gone;
        }
        let same = self.versions.iter().all(|(file, version)| {
            seen.files
                .get(file)
                .is_some_and(|(project, now)| *project == self.project && now == version)
        });
        if same {
            Verdict::Same
        } else {
            Verdict::Changed
        }
    }
}

/// Groups read from a database other processes write (Postgres with replicas). A group's
/// membership never changes, but it may be deleted and its files change, so an entry is used
/// only after a read begun after the request arrived finds the group row still there and
/// every member file at the row version it was read at (any committed update, on any
/// replica, gives a row a new version). That check is a narrow statement shared by every
/// request waiting at the time (`coalesce.rs`) instead of the joined read of every member's
/// file; a stale entry is never served, only replaced.
#[derive(Default)]
pub struct CheckedGroups {
    groups: std::sync::Mutex<Bounded<Uuid, CheckedGroup>>,
}

impl CheckedGroups {
    /// The entry of group `uuid`, if kept (not yet checked).
    pub fn get(&self, uuid: Uuid) -> Option<Arc<CheckedGroup>> {
        lock(&self.groups).get(&uuid)
    }

    /// Keeps a group read together with its member files' `versions` (sorted by uuid),
    /// unless it is too big.
    pub fn put(&self, project: String, group: GroupWithMembers, versions: Vec<(String, String)>) {
        let weight = group.1.len() + 1;
        if weight > CHECKED_MAX_MEMBERS {
            return;
        }
        let key = group.0.uuid;
        let entry = Arc::new(CheckedGroup {
            project,
            group,
            versions,
        });
        lock(&self.groups).insert(key, entry, weight, CHECKED_CAPACITY);
    }

    /// Drops a group whose check failed.
    pub fn forget(&self, uuid: Uuid) {
        lock(&self.groups).remove(&uuid);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(uuid: Uuid, stored_us: Option<i64>) -> FileRecord {
        FileRecord {
            uuid,
            project: "p".into(),
            size: 1,
            blob: "b".into(),
            original_filename: "f".into(),
            mime_type: "text/plain".into(),
            image: None,
            metadata: serde_json::Map::new(),
            tags: Vec::new(),
            uploaded_us: 1,
            stored_us,
            removed_us: None,
        }
    }

    fn group_of(u: Uuid) -> GroupWithMembers {
        let record = GroupRecord {
            uuid: Uuid::new_v4(),
            files_count: 1,
            created_us: 1,
        };
        let member = GroupMember {
            file_uuid: u,
            default_effects: String::new(),
            file: Some(file(u, None)),
        };
        (record, vec![member])
    }

    /// The reader's database read returns the row as it was, and a write of that row commits
    /// before the reader gets to fill the cache (here: inside the read, so the order is
    /// certain). The stale row must not be cached: the next read goes to the database.
    #[tokio::test]
    async fn a_write_committed_during_a_read_keeps_the_stale_row_out() {
        let cache = Cache::default();
        let u = Uuid::new_v4();
        let read = cache
            .live_files_through("p", &[u], async {
                let as_it_was = vec![file(u, None)];
                cache.forget(&[u], &[]);
                Ok(as_it_was)
            })
            .await
            .unwrap();
        assert_eq!(read.len(), 1);
        assert!(cache.live_files("p", &[u]).is_none());

        let (record, members) = group_of(u);
        let id = record.uuid;
        let read = cache
            .group_through(Some("p"), id, async {
                cache.forget(&[u], &[]);
                Ok(Some(("p".to_owned(), (record, members))))
            })
            .await
            .unwrap();
        assert!(read.is_some());
        assert!(cache.group(Some("p"), id).is_none());
    }

    /// Without a write in between, the read is cached; a commit after the fill drops it.
    #[tokio::test]
    async fn a_quiet_read_is_cached_until_a_commit_drops_it() {
        let cache = Cache::default();
        let u = Uuid::new_v4();
        let load = async { Ok(vec![file(u, None)]) };
        cache.live_files_through("p", &[u], load).await.unwrap();
        assert_eq!(cache.live_files("p", &[u]).map(|f| f.len()), Some(1));
        let (record, members) = group_of(u);
        let id = record.uuid;
        let load = async { Ok(Some(("p".to_owned(), (record, members)))) };
        cache.group_through(None, id, load).await.unwrap();
        assert!(matches!(cache.group(Some("p"), id), Some(Some(_))));
        assert!(matches!(cache.group(Some("q"), id), Some(None)));
        cache.forget(&[u], &[]);
        assert!(cache.live_files("p", &[u]).is_none());
        assert!(cache.group(Some("p"), id).is_none());
    }

    /// A cache that does not serve (Postgres without the lease) keeps nothing and gives no
    /// generation; serving starts empty, and stopping drops what it held, including what a
    /// read begun before it would still fill.
    #[tokio::test]
    async fn only_a_serving_cache_keeps_reads() {
        let cache = Cache::serving(false);
        let u = Uuid::new_v4();
        let load = || async { Ok(vec![file(u, None)]) };
        cache.live_files_through("p", &[u], load()).await.unwrap();
        assert!(cache.live_files("p", &[u]).is_none());
        assert_eq!(cache.generation(), None);

        cache.serve(true);
        let generation = cache.generation();
        assert!(generation.is_some());
        cache.live_files_through("p", &[u], load()).await.unwrap();
        assert!(cache.live_files("p", &[u]).is_some());

        let (record, members) = group_of(u);
        let id = record.uuid;
        cache
            .group_through(None, id, async {
                cache.serve(false);
                cache.serve(true);
                Ok(Some(("p".to_owned(), (record, members))))
            })
            .await
            .unwrap();
        assert!(
            cache.group(None, id).is_none(),
            "read across a stop is not kept"
        );
        assert!(
            cache.live_files("p", &[u]).is_none(),
            "stopping drops everything"
        );
        assert_ne!(cache.generation(), generation);
        cache.serve(false);
        assert_eq!(cache.generation(), None);
    }

    /// The replica-safe maps stay within their weight: past it they are emptied.
    #[test]
    fn checked_maps_are_bounded_by_weight() {
        let pages = GroupPages::default();
        let page = |n: usize| Page {
            items: (0..n)
                .map(|i| GroupRecord {
                    uuid: Uuid::new_v4(),
                    files_count: 1,
                    created_us: i as i64,
                })
                .collect(),
            has_next: false,
            has_previous: false,
        };
        let versioned = |n: usize| VersionedPage {
            version: 1,
            total: n as i64,
            generation: None,
            page: page(n),
        };
        let q = |offset| PageQuery {
            order: Order::Ascending,
            cursor: Cursor::Start,
            offset,
            limit: 100,
        };
        let first = PageKey::new("p", &q(0));
        pages.put(first.clone(), versioned(PAGE_CAPACITY / 2));
        assert_eq!(pages.get(&first).map(|p| p.version), Some(1));
        pages.put(PageKey::new("p", &q(1)), versioned(PAGE_CAPACITY / 2));
        assert!(pages.get(&first).is_none(), "emptied past the capacity");
        assert!(pages.get(&PageKey::new("p", &q(1))).is_some());
        // Replacing an entry (a page checked again) weighs it once, however often.
        for _ in 0..10 {
            pages.put(PageKey::new("p", &q(1)), versioned(PAGE_CAPACITY / 2));
        }
        pages.put(PageKey::new("p", &q(2)), versioned(PAGE_CAPACITY / 4));
        assert!(
            pages.get(&PageKey::new("p", &q(1))).is_some(),
            "not emptied"
        );

        let groups = CheckedGroups::default();
        let (record, members) = group_of(Uuid::new_v4());
        let id = record.uuid;
        groups.put("p".into(), (record, members.clone()), Vec::new());
        assert!(groups.get(id).is_some());
        let big: Vec<GroupMember> = (0..=CHECKED_MAX_MEMBERS)
            .map(|_| members[0].clone())
            .collect();
        let (record, _) = group_of(Uuid::new_v4());
        let big_id = record.uuid;
        groups.put("p".into(), (record, big), Vec::new());
        assert!(groups.get(big_id).is_none(), "too big to keep");
        groups.forget(id);
        assert!(groups.get(id).is_none());
    }
}
