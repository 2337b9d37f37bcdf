//! The `file://` blob store: `<root>/blobs/<2 hex>/<64 hex>`, written by renaming a complete,
//! synced temporary file into place, so a crash never leaves a half-written blob under its
//! address. Replicas may share the directory.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use futures_util::stream::BoxStream;
use futures_util::StreamExt;
use tokio::fs;

use crate::error::StoreError;

/// A blob directory.
#[derive(Clone, Debug)]
pub struct Local {
    root: PathBuf,
}

impl Local {
    /// Opens the blob directory under `root`, creating it.
    pub async fn open(root: &Path) -> Result<Self, StoreError> {
        fs::create_dir_all(root.join("blobs")).await?;
        Ok(Self {
            root: root.to_path_buf(),
        })
    }

    /// The store's directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the blob with this hash lives.
    pub fn path(&self, hash: &str) -> PathBuf {
        let prefix = hash.get(..2).unwrap_or("00");
        self.root.join("blobs").join(prefix).join(hash)
    }

    /// Moves the complete, synced file at `tmp` to the address `hash` (a new modification
    /// time, which the orphan sweep reads).
    pub async fn place(&self, tmp: &Path, hash: &str) -> Result<(), StoreError> {
        let dest = self.path(hash);
        if let Some(dir) = dest.parent() {
            fs::create_dir_all(dir).await?;
        }
        fs::rename(tmp, &dest).await?;
        Ok(())
    }

    /// Every blob with its modification time, walked in the background.
    pub fn list(&self) -> BoxStream<'static, Result<(String, SystemTime), StoreError>> {
        let (tx, rx) = tokio::sync::mpsc::channel(256);
        let root = self.root.join("blobs");
        tokio::spawn(async move {
            if let Err(e) = walk(&root, &tx).await {
                let _ = tx.send(Err(e)).await;
            }
        });
        futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        })
        .boxed()
    }

    /// Removes the blob if it was last written before `cutoff`.
    pub async fn remove_if_written_before(
        &self,
        hash: &str,
        cutoff: SystemTime,
    ) -> Result<bool, StoreError> {
        let path = self.path(hash);
        // Moved aside first: if an upload of the same bytes renamed fresh ones into place
        // since the caller looked, what was moved is fresh and goes back.
        let aside = path.with_extension("orphan");
        if fs::rename(&path, &aside).await.is_err() {
            return Ok(false);
        }
        if written_before(&aside, cutoff).await {
            fs::remove_file(&aside).await?;
            Ok(true)
        } else {
            fs::rename(&aside, &path).await?;
            Ok(false)
        }
    }
}

type Listed = Result<(String, SystemTime), StoreError>;

async fn walk(root: &Path, tx: &tokio::sync::mpsc::Sender<Listed>) -> Result<(), StoreError> {
    let mut shards = fs::read_dir(root).await?;
    while let Some(shard) = shards.next_entry().await? {
        if !shard.file_type().await?.is_dir() {
            continue;
        }
        let mut blobs = fs::read_dir(shard.path()).await?;
        while let Some(blob) = blobs.next_entry().await? {
            let Some(hash) = blob.file_name().to_str().map(str::to_owned) else {
                continue;
            };
            if !super::is_address(&hash) {
                continue;
            }
            let Ok(modified) = blob.metadata().await.and_then(|m| m.modified()) else {
                continue;
            };
            if tx.send(Ok((hash, modified))).await.is_err() {
                return Ok(());
            }
        }
    }
    Ok(())
}

/// Whether the file at `path` was last written before `cutoff`.
async fn written_before(path: &Path, cutoff: SystemTime) -> bool {
    fs::metadata(path)
        .await
        .and_then(|m| m.modified())
        .is_ok_and(|t| t < cutoff)
}
