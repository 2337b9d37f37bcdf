//! Group commit for `POST /group/`: creates queue here, and one writer task (on SQLite, on a
//! thread of its own, see [`GroupCommit::spawn`]) takes every create waiting in the queue as
//! one batch: it reads the member files of the whole batch at once (SQLite: from the read cache
//! when it has them), answers the creates whose members are not all live, and writes the others
//! in one transaction of a few statements whose text does not depend on the batch
//! ([`Tx::insert_groups`]), then answers each. Under load one commit (SQLite's write lock and
//! WAL append, Postgres's flush) and a handful of round trips serve many creates instead of
//! several each; alone, a create waits for nothing but its own transaction.
//!
//! A create is answered only after its transaction committed, so an acknowledged group is
//! as durable as before. When a batch fails, its creates are retried one transaction each,
//! so one failing create cannot fail the others.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use super::cache::Cache;
use super::db::{Db, Dialect, Tx};
use super::files::live_files;
use super::groups::GroupWithMembers;
use super::notify::Changes;
use super::{Expiry, FileRecord, GroupMember, GroupRecord, NewGroup};
use crate::error::StoreError;

/// Most creates written in one transaction.
const MAX_BATCH: usize = 64;

/// Creates waiting for the writer, at most (senders wait beyond).
const QUEUE: usize = 1024;

type Answer = Result<Option<GroupWithMembers>, StoreError>;

struct Create {
    group: NewGroup,
    floor_us: i64,
    expiry: Expiry,
    done: oneshot::Sender<Answer>,
}

/// The queue in front of the writer task.
pub struct GroupCommit {
    queue: mpsc::Sender<Create>,
}

impl GroupCommit {
    /// Starts the writer task; it ends when this is dropped.
    ///
    /// The writer is the one serial step of every create, and each of its statements is a
    /// hand-off to the database driver and back. SQLite's driver answers from a thread of
    /// its own, and on the server's runtime each such wake-up waited in the runtime's shared
    /// queue behind the request tasks; so on SQLite the writer runs on a single-threaded
    /// runtime on a thread of its own, woken as soon as the driver answers (measured: a
    /// third more creates per second under load). Postgres connections belong to the
    /// server's runtime (their sockets are registered with it), so there the writer stays.
    pub fn spawn(db: Db, cache: Option<Arc<Cache>>, changes: Changes) -> Result<Self, StoreError> {
        let (queue, creates) = mpsc::channel(QUEUE);
        let own_thread = db.dialect() == Dialect::Sqlite;
        let writer = write_batches(Writer { db, cache, changes }, creates);
        if !own_thread {
            tokio::spawn(writer);
            return Ok(Self { queue });
        }
        let failed = |e: std::io::Error| StoreError::Internal(format!("the group writer: {e}"));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(failed)?;
        std::thread::Builder::new()
            .name("group-writer".into())
            .spawn(move || runtime.block_on(writer))
            .map_err(failed)?;
        Ok(Self { queue })
    }

    /// Creates a group as [`super::GroupStore::create_group`] does, in the next batch.
    pub async fn create(&self, group: NewGroup, floor_us: i64, expiry: Expiry) -> Answer {
        let (done, answer) = oneshot::channel();
        let gone = || StoreError::Internal("the group writer has stopped".into());
        self.queue
            .send(Create {
                group,
                floor_us,
                expiry,
                done,
            })
            .await
            .map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }
}

struct Writer {
    db: Db,
    cache: Option<Arc<Cache>>,
    changes: Changes,
}

async fn write_batches(writer: Writer, mut creates: mpsc::Receiver<Create>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while creates.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let files = match writer.member_files(&batch).await {
            Ok(files) => files,
            Err(e) => {
                let StoreError::Internal(e) = e;
                for create in batch.drain(..) {
                    let _ = create.done.send(Err(StoreError::Internal(e.clone())));
                }
                continue;
            }
        };
        let mut checked = Vec::with_capacity(batch.len());
        for create in batch.drain(..) {
            if members_live(&create, &files) {
                checked.push(create);
            } else {
                let _ = create.done.send(Ok(None));
            }
        }
        match writer.write(&checked).await {
            Ok(stamps) => {
                for (create, created_us) in checked.into_iter().zip(stamps) {
                    answer(create, &files, created_us);
                }
            }
            Err(_) => {
                for create in checked {
                    match writer.write(std::slice::from_ref(&create)).await {
                        Ok(stamps) => answer(create, &files, stamps[0]),
                        Err(e) => {
                            let _ = create.done.send(Err(e));
                        }
                    }
                }
            }
        }
    }
}

/// Sends a written create its group, each member with its file.
fn answer(create: Create, files: &HashMap<Uuid, FileRecord>, created_us: i64) {
    let record = GroupRecord {
        uuid: create.group.uuid,
        files_count: create.group.members.len() as i64,
        created_us,
    };
    let members = create
        .group
        .members
        .into_iter()
        .map(|(file_uuid, default_effects)| GroupMember {
            file: files.get(&file_uuid).cloned(),
            file_uuid,
            default_effects,
        })
        .collect();
    let _ = create.done.send(Ok(Some((record, members))));
}

/// Whether every member of `create` is a live file of its project.
fn members_live(create: &Create, files: &HashMap<Uuid, FileRecord>) -> bool {
    create.group.members.iter().all(|(uuid, _)| {
        files
            .get(uuid)
            .is_some_and(|f| f.project == create.group.project && create.expiry.is_live(f))
    })
}

impl Writer {
    /// The files not removed among every member of `batch`, by uuid: one query for the
    /// batch (SQLite: none when the cache holds them all).
    async fn member_files(
        &self,
        batch: &[Create],
    ) -> Result<HashMap<Uuid, FileRecord>, StoreError> {
        let mut wanted: Vec<(&str, Vec<Uuid>)> = Vec::new();
        for c in batch {
            let uuids = match wanted.iter_mut().find(|(p, _)| *p == c.group.project) {
                Some((_, uuids)) => uuids,
                None => {
                    wanted.push((&c.group.project, Vec::new()));
                    &mut wanted.last_mut().expect("just pushed").1
                }
            };
            uuids.extend(c.group.members.iter().map(|(u, _)| *u));
        }
        let mut files = HashMap::new();
        for (project, mut uuids) in wanted {
            uuids.sort_unstable();
            uuids.dedup();
            let found = live_files(&self.db, self.cache.as_deref(), project, &uuids).await?;
            files.extend(found.into_iter().map(|f| (f.uuid, f)));
        }
        Ok(files)
    }

    /// Writes the checked creates in one transaction; their creation times, in order.
    async fn write(&self, creates: &[Create]) -> Result<Vec<i64>, StoreError> {
        if creates.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx: Tx = self.db.begin(self.cache.clone(), &self.changes).await?;
        let groups: Vec<(&NewGroup, i64)> =
            creates.iter().map(|c| (&c.group, c.floor_us)).collect();
        let stamps = tx.insert_groups(&groups).await?;
        tx.commit_with(stamps).await
    }
}
