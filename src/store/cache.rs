//! A read-through cache in front of the SQLite store, for the hot read paths (group info on
//! both APIs, file lookups when grouping).
//!
//! Group membership never changes (groups are immutable), so a group's record and member
//! list are cached until the group is deleted. Files change (stored, removed, metadata), so
//! file rows are cached and dropped by every write that touches them; all writes go through
//! this wrapper. Only used with SQLite: a SQLite store has one writer process, whereas
//! Postgres may be shared by replicas whose writes this process would not see. Both maps are
//! bounded: past [`CAPACITY`] entries a map is emptied and refills from the database.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use uuid::Uuid;

use serde_json::{Map, Value};

use super::{
    FileFilter, FileRecord, GroupMember, GroupRecord, MultipartUpload, NewGroup, Order, PageQuery,
    Project, Store,
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

/// The caching wrapper.
pub struct CachedStore {
    inner: Arc<dyn Store>,
    groups: RwLock<HashMap<Uuid, Arc<CachedGroup>>>,
    /// `None` caches "no such row" (a member whose file row is gone).
    files: RwLock<HashMap<Uuid, Option<FileRecord>>>,
    /// Bumped before and after every write: a read that overlapped a write (the counter
    /// moved while it ran) does not fill the cache with what it read.
    generation: AtomicU64,
}

impl CachedStore {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn Store>) -> Self {
        Self {
            inner,
            groups: RwLock::new(HashMap::new()),
            files: RwLock::new(HashMap::new()),
            generation: AtomicU64::new(0),
        }
    }

    fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    fn bump(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    fn forget_files(&self, uuids: impl IntoIterator<Item = Uuid>) {
        self.bump();
        if let Ok(mut files) = self.files.write() {
            for u in uuids {
                files.remove(&u);
            }
        }
    }

    fn forget_all(&self) {
        self.bump();
        if let Ok(mut g) = self.groups.write() {
            g.clear();
        }
        if let Ok(mut f) = self.files.write() {
            f.clear();
        }
    }

    /// The group from the cache when it and every member file are cached.
    fn cached_group(
        &self,
        project: &str,
        uuid: Uuid,
    ) -> Option<Option<(GroupRecord, Vec<GroupMember>)>> {
        let group = self.groups.read().ok()?.get(&uuid).cloned()?;
        if group.project != project {
            return Some(None);
        }
        let files = self.files.read().ok()?;
        let mut members = Vec::with_capacity(group.members.len());
        for (file_uuid, effects) in &group.members {
            members.push(GroupMember {
                file_uuid: *file_uuid,
                default_effects: effects.clone(),
                file: files.get(file_uuid)?.clone(),
            });
        }
        Some(Some((group.record.clone(), members)))
    }

    fn remember_group(&self, project: &str, record: &GroupRecord, members: &[GroupMember]) {
        if let Ok(mut files) = self.files.write() {
            if files.len() + members.len() > CAPACITY {
                files.clear();
            }
            for m in members {
                files.insert(m.file_uuid, m.file.clone());
            }
        }
        if let Ok(mut groups) = self.groups.write() {
            if groups.len() >= CAPACITY {
                groups.clear();
            }
            groups.insert(
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
    }
}

#[async_trait]
impl Store for CachedStore {
    async fn ping(&self) -> Result<(), StoreError> {
        self.inner.ping().await
    }

    async fn blobs_in_use(&self, hashes: &[String]) -> Result<Vec<String>, StoreError> {
        self.inner.blobs_in_use(hashes).await
    }

    async fn upsert_project(&self, project: &Project) -> Result<(), StoreError> {
        self.inner.upsert_project(project).await
    }

    async fn project(&self, pub_key: &str) -> Result<Option<Project>, StoreError> {
        self.inner.project(pub_key).await
    }

    async fn insert_file(&self, file: &FileRecord) -> Result<(), StoreError> {
        self.forget_files([file.uuid]);
        let r = self.inner.insert_file(file).await;
        self.forget_files([file.uuid]);
        r
    }

    async fn file(&self, project: &str, uuid: Uuid) -> Result<Option<FileRecord>, StoreError> {
        self.inner.file(project, uuid).await
    }

    async fn live_files(
        &self,
        project: &str,
        uuids: &[Uuid],
    ) -> Result<Vec<FileRecord>, StoreError> {
        if let Ok(files) = self.files.read() {
            let hits: Option<Vec<FileRecord>> = uuids
                .iter()
                .map(|u| match files.get(u) {
                    Some(Some(f)) if f.project == project && f.removed_us.is_none() => {
                        Some(f.clone())
                    }
                    _ => None,
                })
                .collect();
            if let Some(hits) = hits {
                return Ok(hits);
            }
        }
        let before = self.generation();
        let found = self.inner.live_files(project, uuids).await?;
        if self.generation() != before {
            return Ok(found);
        }
        if let Ok(mut files) = self.files.write() {
            if files.len() + found.len() > CAPACITY {
                files.clear();
            }
            for f in &found {
                files.insert(f.uuid, Some(f.clone()));
            }
        }
        Ok(found)
    }

    async fn store_files(
        &self,
        project: &str,
        uuids: &[Uuid],
        now_us: i64,
    ) -> Result<Vec<FileRecord>, StoreError> {
        self.forget_files(uuids.iter().copied());
        let r = self.inner.store_files(project, uuids, now_us).await;
        self.forget_files(uuids.iter().copied());
        r
    }

    async fn insert_group(&self, group: &NewGroup, created_us: i64) -> Result<bool, StoreError> {
        self.inner.insert_group(group, created_us).await
    }

    async fn group(
        &self,
        project: &str,
        uuid: Uuid,
    ) -> Result<Option<(GroupRecord, Vec<GroupMember>)>, StoreError> {
        if let Some(hit) = self.cached_group(project, uuid) {
            return Ok(hit);
        }
        let before = self.generation();
        let found = self.inner.group(project, uuid).await?;
        if let Some((record, members)) = &found {
            if self.generation() == before {
                self.remember_group(project, record, members);
            }
        }
        Ok(found)
    }

    async fn list_groups(
        &self,
        project: &str,
        page: &PageQuery,
    ) -> Result<Vec<GroupRecord>, StoreError> {
        self.inner.list_groups(project, page).await
    }

    async fn count_groups(&self, project: &str) -> Result<i64, StoreError> {
        self.inner.count_groups(project).await
    }

    async fn group_beyond(
        &self,
        project: &str,
        order: Order,
        at_us: i64,
    ) -> Result<bool, StoreError> {
        self.inner.group_beyond(project, order, at_us).await
    }

    async fn delete_group(&self, project: &str, uuid: Uuid) -> Result<bool, StoreError> {
        self.bump();
        if let Ok(mut groups) = self.groups.write() {
            groups.remove(&uuid);
        }
        let r = self.inner.delete_group(project, uuid).await;
        self.bump();
        if let Ok(mut groups) = self.groups.write() {
            groups.remove(&uuid);
        }
        r
    }

    async fn reset_project(&self, project: &str) -> Result<(), StoreError> {
        let r = self.inner.reset_project(project).await;
        self.forget_all();
        r
    }

    async fn file_by_uuid(&self, uuid: Uuid) -> Result<Option<FileRecord>, StoreError> {
        self.inner.file_by_uuid(uuid).await
    }

    async fn group_by_uuid(
        &self,
        uuid: Uuid,
    ) -> Result<Option<(GroupRecord, Vec<GroupMember>)>, StoreError> {
        self.inner.group_by_uuid(uuid).await
    }

    async fn insert_multipart(&self, upload: &MultipartUpload) -> Result<(), StoreError> {
        self.inner.insert_multipart(upload).await
    }

    async fn multipart(&self, uuid: Uuid) -> Result<Option<MultipartUpload>, StoreError> {
        self.inner.multipart(uuid).await
    }

    async fn complete_multipart(&self, file: &FileRecord) -> Result<bool, StoreError> {
        self.forget_files([file.uuid]);
        let r = self.inner.complete_multipart(file).await;
        self.forget_files([file.uuid]);
        r
    }

    async fn save_url_duplicate(
        &self,
        project: &str,
        source_url: &str,
        file: Uuid,
        created_us: i64,
    ) -> Result<(), StoreError> {
        self.inner
            .save_url_duplicate(project, source_url, file, created_us)
            .await
    }

    async fn url_duplicate(
        &self,
        project: &str,
        source_url: &str,
    ) -> Result<Option<Uuid>, StoreError> {
        self.inner.url_duplicate(project, source_url).await
    }

    async fn remove_files(
        &self,
        project: &str,
        uuids: &[Uuid],
        now_us: i64,
    ) -> Result<Vec<FileRecord>, StoreError> {
        self.forget_files(uuids.iter().copied());
        let r = self.inner.remove_files(project, uuids, now_us).await;
        self.forget_files(uuids.iter().copied());
        r
    }

    async fn list_files(
        &self,
        project: &str,
        filter: &FileFilter,
        page: &PageQuery,
    ) -> Result<Vec<FileRecord>, StoreError> {
        self.inner.list_files(project, filter, page).await
    }

    async fn count_files(&self, project: &str, filter: &FileFilter) -> Result<i64, StoreError> {
        self.inner.count_files(project, filter).await
    }

    async fn file_beyond(
        &self,
        project: &str,
        filter: &FileFilter,
        order: Order,
        at_us: i64,
    ) -> Result<bool, StoreError> {
        self.inner.file_beyond(project, filter, order, at_us).await
    }

    async fn replace_file_metadata(
        &self,
        project: &str,
        uuid: Uuid,
        old: &Map<String, Value>,
        new: &Map<String, Value>,
    ) -> Result<bool, StoreError> {
        self.forget_files([uuid]);
        let r = self
            .inner
            .replace_file_metadata(project, uuid, old, new)
            .await;
        self.forget_files([uuid]);
        r
    }
}
