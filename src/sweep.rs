//! The start-up sweep of orphan blobs.
//!
//! An upload's bytes reach their content address before its row is written, so a crash (or
//! a project reset, which deletes rows) can leave bytes that no file row uses. Rows are never
//! left without bytes. At start-up a background task removes blobs that no row uses and that
//! have not been written for [`ORPHAN_AGE`]: an upload puts fresh bytes in place (a new
//! modification time) just before it writes its row, so a blob that old and unused belongs to
//! no upload in flight, in this process or in a replica sharing the blob store. With S3, the
//! multipart parts staged in the bucket and not written for a day go too.

use std::time::{Duration, SystemTime};

use futures_util::StreamExt;

use crate::blobs::{Blobs, STALE_PARTS};
use crate::error::StoreError;
use crate::store::Store;

/// How long a blob must have gone unwritten before the sweep may remove it.
pub const ORPHAN_AGE: Duration = Duration::from_secs(3600);

/// Blobs asked about per database query.
const BATCH: usize = 500;

/// Removes the orphan blobs (and, with S3, abandoned staged parts); returns how many
/// objects it removed.
pub async fn orphans(store: &dyn Store, blobs: &Blobs) -> Result<usize, StoreError> {
    orphans_older_than(store, blobs, ORPHAN_AGE, STALE_PARTS).await
}

/// [`orphans`] with explicit ages (tests sweep what was written a moment ago).
pub async fn orphans_older_than(
    store: &dyn Store,
    blobs: &Blobs,
    blob_age: Duration,
    parts_age: Duration,
) -> Result<usize, StoreError> {
    let before = |age| {
        SystemTime::now()
            .checked_sub(age)
            .unwrap_or(SystemTime::UNIX_EPOCH)
    };
    let cutoff = before(blob_age);
    let mut removed = 0;
    let mut batch: Vec<String> = Vec::with_capacity(BATCH);
    let mut listing = blobs.list();
    while let Some(listed) = listing.next().await {
        let (hash, written) = listed?;
        if written >= cutoff {
            continue;
        }
        batch.push(hash);
        if batch.len() == BATCH {
            removed += remove_unused(store, blobs, &mut batch, cutoff).await?;
        }
    }
    removed += remove_unused(store, blobs, &mut batch, cutoff).await?;
    if let Some(staging) = blobs.staging() {
        removed += staging.sweep(before(parts_age)).await?;
    }
    Ok(removed)
}

/// Removes the blobs of `batch` no row uses, emptying `batch`.
async fn remove_unused(
    store: &dyn Store,
    blobs: &Blobs,
    batch: &mut Vec<String>,
    cutoff: SystemTime,
) -> Result<usize, StoreError> {
    if batch.is_empty() {
        return Ok(0);
    }
    let used = store.blobs_in_use(batch).await?;
    let mut removed = 0;
    for hash in batch.drain(..) {
        if !used.contains(&hash) && blobs.remove_if_written_before(&hash, cutoff).await? {
            removed += 1;
        }
    }
    Ok(removed)
}
