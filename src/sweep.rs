//! The start-up sweep of orphan blobs.
//!
//! An upload's bytes reach their content address before its row is written, so a crash (or
//! a project reset, which deletes rows) can leave bytes that no file row uses. Rows are never
//! left without bytes. At start-up a background task removes blobs that no row uses and that
//! have not been written for [`ORPHAN_AGE`]: an upload renames fresh bytes into place (a new
//! modification time) just before it writes its row, so a blob that old and unused belongs to
//! no upload in flight, in this process or in a replica sharing the data directory.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use tokio::fs;

use crate::error::StoreError;
use crate::store::Store;

/// How long a blob must have gone unwritten before the sweep may remove it.
pub const ORPHAN_AGE: Duration = Duration::from_secs(3600);

/// Blobs asked about per database query.
const BATCH: usize = 500;

/// Removes the orphan blobs under `data_dir/blobs`; returns how many it removed.
pub async fn orphans(store: &dyn Store, data_dir: &Path) -> Result<usize, StoreError> {
    let cutoff = SystemTime::now()
        .checked_sub(ORPHAN_AGE)
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let mut removed = 0;
    let mut batch: Vec<(String, PathBuf)> = Vec::with_capacity(BATCH);
    let mut shards = fs::read_dir(data_dir.join("blobs")).await?;
    while let Some(shard) = shards.next_entry().await? {
        if !shard.file_type().await?.is_dir() {
            continue;
        }
        let mut blobs = fs::read_dir(shard.path()).await?;
        while let Some(blob) = blobs.next_entry().await? {
            let Some(hash) = blob.file_name().to_str().map(str::to_owned) else {
                continue;
            };
            if !is_address(&hash) || !written_before(&blob.path(), cutoff).await {
                continue;
            }
            batch.push((hash, blob.path()));
            if batch.len() == BATCH {
                removed += remove_unused(store, &mut batch, cutoff).await?;
            }
        }
    }
    removed += remove_unused(store, &mut batch, cutoff).await?;
    Ok(removed)
}

/// Removes the blobs of `batch` no row uses, emptying `batch`.
async fn remove_unused(
    store: &dyn Store,
    batch: &mut Vec<(String, PathBuf)>,
    cutoff: SystemTime,
) -> Result<usize, StoreError> {
    let hashes: Vec<String> = batch.iter().map(|(h, _)| h.clone()).collect();
    let used = store.blobs_in_use(&hashes).await?;
    let mut removed = 0;
    for (hash, path) in batch.drain(..) {
        if used.contains(&hash) {
            continue;
        }
        // Moved aside first: if an upload of the same bytes renamed fresh ones into place
        // since the check, what was moved is fresh and goes back.
        let aside = path.with_extension("orphan");
        if fs::rename(&path, &aside).await.is_err() {
            continue;
        }
        if written_before(&aside, cutoff).await {
            fs::remove_file(&aside).await?;
            removed += 1;
        } else {
            fs::rename(&aside, &path).await?;
        }
    }
    Ok(removed)
}

/// Whether the file at `path` was last written before `cutoff`.
async fn written_before(path: &Path, cutoff: SystemTime) -> bool {
    fs::metadata(path)
        .await
        .and_then(|m| m.modified())
        .is_ok_and(|t| t < cutoff)
}

/// A blob's file name: 64 lowercase hex digits.
fn is_address(name: &str) -> bool {
    name.len() == 64 && name.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
mod tests {
    use super::is_address;

    #[test]
    fn only_content_addresses_are_candidates() {
        assert!(is_address(&"ab".repeat(32)));
        assert!(!is_address(&"AB".repeat(32)));
        assert!(!is_address(&format!("{}.orphan", "ab".repeat(32))));
        assert!(!is_address("ab"));
    }
}
