//! A read-through cache for the hot read paths of the SQLite store (group info on every API,
//! file lookups when grouping).
//!
//! Group membership never changes (groups are immutable), so a group's record and member
//! list are cached until the group is deleted. Files change (stored, removed, metadata), so
//! file rows are cached and dropped when a transaction that changed them commits (every
//! write is a [`super::Tx`], which reports what it changed). Only used with SQLite: a SQLite
//! store has one writer process, whereas Postgres may be shared by replicas whose writes this
//! process would not see. The maps are bounded: past [`CAPACITY`] entries a map is emptied
//! and refills from the database.
//!
//! A reader takes a [`Ticket`] before it reads the database and may fill the cache with what
//! it read only if no write committed since: the ticket is checked and the entry inserted
//! under the same lock that a commit takes to drop entries, so a write can never land
//! between the check and the insert and leave a stale entry behind.

use std::collections::HashMap;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use uuid::Uuid;

use super::{FileRecord, GroupMember, GroupRecord};

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
    /// Bumped by every commit that drops entries.
    generation: u64,
    groups: HashMap<Uuid, Arc<CachedGroup>>,
    /// `None` caches "no such row" (a member whose file row is gone).
    files: HashMap<Uuid, Option<FileRecord>>,
}

/// Proof of when a reader started reading the database (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ticket(u64);

/// The cache.
#[derive(Default)]
pub struct Cache {
    maps: RwLock<Maps>,
}

impl Cache {
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

    /// Taken before reading the database for a later [`Cache::fill_files`] or
    /// [`Cache::fill_group`].
    pub fn ticket(&self) -> Ticket {
        Ticket(self.read().generation)
    }

    /// The live files of `project` among `uuids`, if every one is cached as such.
    pub fn live_files(&self, project: &str, uuids: &[Uuid]) -> Option<Vec<FileRecord>> {
        let maps = self.read();
        uuids
            .iter()
            .map(|u| match maps.files.get(u) {
                Some(Some(f)) if f.project == project && f.removed_us.is_none() => Some(f.clone()),
                _ => None,
            })
            .collect()
    }

    /// Caches files read under `ticket`, unless a write committed since.
    pub fn fill_files(&self, ticket: Ticket, files: &[FileRecord]) {
        let mut maps = self.write();
        if maps.generation != ticket.0 {
            return;
        }
        if maps.files.len() + files.len() > CAPACITY {
            maps.files.clear();
        }
        for f in files {
            maps.files.insert(f.uuid, Some(f.clone()));
        }
    }

    /// The group from the cache when it and every member file are cached: `Some(None)` when
    /// it is cached but belongs to another project than `project` (when given).
    pub fn group(
        &self,
        project: Option<&str>,
        uuid: Uuid,
    ) -> Option<Option<(GroupRecord, Vec<GroupMember>)>> {
        let maps = self.read();
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
    pub fn fill_group(
        &self,
        ticket: Ticket,
        project: &str,
        record: &GroupRecord,
        members: &[GroupMember],
    ) {
        let mut maps = self.write();
        if maps.generation != ticket.0 {
            return;
        }
        if maps.files.len() + members.len() > CAPACITY {
            maps.files.clear();
        }
        for m in members {
            maps.files.insert(m.file_uuid, m.file.clone());
        }
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
            uploaded_us: 1,
            stored_us,
            removed_us: None,
        }
    }

    /// A reader read the old row; a write committed before the reader filled the cache.
    #[test]
    fn a_write_between_read_and_fill_keeps_the_stale_row_out() {
        let cache = Cache::default();
        let u = Uuid::new_v4();
        let ticket = cache.ticket();
        let read_before_the_write = vec![file(u, None)];
        cache.forget(&[u], &[]);
        cache.fill_files(ticket, &read_before_the_write);
        assert!(cache.live_files("p", &[u]).is_none());
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
        let ticket = cache.ticket();
        cache.forget(&[u], &[]);
        cache.fill_group(ticket, "p", &record, &[member]);
        assert!(cache.group(Some("p"), record.uuid).is_none());
    }

    /// A fill that lands before the write's commit is dropped by it.
    #[test]
    fn a_fill_before_the_commit_is_dropped_by_it() {
        let cache = Cache::default();
        let u = Uuid::new_v4();
        let ticket = cache.ticket();
        cache.fill_files(ticket, &[file(u, None)]);
        assert_eq!(cache.live_files("p", &[u]).map(|f| f.len()), Some(1));
        cache.forget(&[u], &[]);
        assert!(cache.live_files("p", &[u]).is_none());
    }
}
