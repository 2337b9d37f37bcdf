//! Group commit for `POST /group/`: creates queue here, and one writer task writes every
//! create waiting in the queue in one transaction, then answers each. Under load one commit
//! (SQLite's write lock and WAL append, Postgres's flush) serves many creates instead of
//! one each; alone, a create waits for nothing but its own transaction.
//!
//! A create is answered only after its transaction committed, so an acknowledged group is
//! as durable as before. When a batch fails, its creates are retried one transaction each,
//! so one failing create cannot fail the others.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use super::cache::Cache;
use super::db::Db;
use super::notify::Changes;
use super::NewGroup;
use crate::error::StoreError;

/// Most creates written in one transaction.
const MAX_BATCH: usize = 64;

/// Creates waiting for the writer, at most (senders wait beyond).
const QUEUE: usize = 1024;

struct Create {
    group: NewGroup,
    created_us: i64,
    done: oneshot::Sender<Result<bool, StoreError>>,
}

/// The queue in front of the writer task.
pub struct GroupCommit {
    queue: mpsc::Sender<Create>,
}

impl GroupCommit {
    /// Starts the writer task on the current Tokio runtime; it ends when this is dropped.
    pub fn spawn(db: Db, cache: Option<Arc<Cache>>, changes: Changes) -> Self {
        let (queue, creates) = mpsc::channel(QUEUE);
        tokio::spawn(write_batches(db, cache, changes, creates));
        Self { queue }
    }

    /// Writes a group as [`super::GroupStore::insert_group`] does, in the next batch.
    pub async fn insert(&self, group: &NewGroup, created_us: i64) -> Result<bool, StoreError> {
        let (done, answer) = oneshot::channel();
        let gone = || StoreError::Internal("the group writer has stopped".into());
        self.queue
            .send(Create {
                group: group.clone(),
                created_us,
                done,
            })
            .await
            .map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }
}

async fn write_batches(
    db: Db,
    cache: Option<Arc<Cache>>,
    changes: Changes,
    mut creates: mpsc::Receiver<Create>,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while creates.recv_many(&mut batch, MAX_BATCH).await > 0 {
        match write(&db, &cache, &changes, &batch).await {
            Ok(inserted) => {
                for (create, inserted) in batch.drain(..).zip(inserted) {
                    let _ = create.done.send(Ok(inserted));
                }
            }
            Err(_) => {
                for create in batch.drain(..) {
                    let one = write(&db, &cache, &changes, std::slice::from_ref(&create)).await;
                    let _ = create.done.send(one.map(|v| v[0]));
                }
            }
        }
    }
}

/// Writes `creates` in one transaction; whether each was inserted.
async fn write(
    db: &Db,
    cache: &Option<Arc<Cache>>,
    changes: &Changes,
    creates: &[Create],
) -> Result<Vec<bool>, StoreError> {
    let mut tx = db.begin(cache.clone(), changes).await?;
    let mut inserted = Vec::with_capacity(creates.len());
    for c in creates {
        inserted.push(tx.insert_group(&c.group, c.created_us).await?);
    }
    tx.commit_with(inserted).await
}
