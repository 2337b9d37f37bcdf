//! File bytes on disk, content-addressed by SHA-256: `blobs/<2 hex>/<64 hex>`. Uploads stream
//! into `tmp/<process>/` and are renamed into place once complete and synced, so a crash never
//! leaves a half-written blob under its address. Each process has its own temporary folder, so
//! replicas may share one data directory; folders left by crashed processes are swept at
//! start-up once they are a day old.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use tokio::fs;
use tokio::io::AsyncWriteExt;

use crate::domain::content::HEAD_LEN;
use crate::error::StoreError;

/// The blob directory.
#[derive(Clone, Debug)]
pub struct Blobs {
    root: PathBuf,
    tmp: PathBuf,
}

/// Age after which another process's temporary folder is considered abandoned.
const STALE_TMP: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// A finished blob: its address, size and first bytes (for content detection).
#[derive(Debug)]
pub struct Blob {
    /// SHA-256 hex of the bytes.
    pub hash: String,
    /// Size in bytes.
    pub size: u64,
    /// The first [`HEAD_LEN`] bytes.
    pub head: Vec<u8>,
}

impl Blobs {
    /// Opens the blob directory under `data_dir`, creating it, and clears stale temporaries.
    pub async fn open(data_dir: &Path) -> Result<Self, StoreError> {
        let root = data_dir.to_path_buf();
        fs::create_dir_all(root.join("blobs")).await?;
        let tmp_root = root.join("tmp");
        fs::create_dir_all(&tmp_root).await?;
        let mut entries = fs::read_dir(&tmp_root).await?;
        while let Some(entry) = entries.next_entry().await? {
            let stale = entry
                .metadata()
                .await
                .ok()
                .and_then(|m| m.modified().ok())
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age > STALE_TMP);
            if stale {
                let _ = fs::remove_dir_all(entry.path()).await;
            }
        }
        let tmp = tmp_root.join(uuid::Uuid::new_v4().simple().to_string());
        fs::create_dir_all(&tmp).await?;
        Ok(Self { root, tmp })
    }

    /// Where the blob with this hash lives.
    pub fn path(&self, hash: &str) -> PathBuf {
        let prefix = hash.get(..2).unwrap_or("00");
        self.root.join("blobs").join(prefix).join(hash)
    }

    /// Makes the complete, synced file at `path` a blob: hashes it in one read and moves it
    /// to its content address (`path` must be under the data directory, on the same file
    /// system). Used when the bytes were written elsewhere first, such as multipart parts.
    pub async fn adopt(&self, path: &Path) -> Result<Blob, StoreError> {
        use tokio::io::AsyncReadExt;
        let mut file = fs::File::open(path).await?;
        let mut hasher = Sha256::new();
        let mut head = Vec::new();
        let mut size = 0u64;
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let read = file.read(&mut buf).await?;
            if read == 0 {
                break;
            }
            if head.len() < HEAD_LEN {
                let take = (HEAD_LEN - head.len()).min(read);
                head.extend_from_slice(&buf[..take]);
            }
            hasher.update(&buf[..read]);
            size += read as u64;
        }
        drop(file);
        let hash = hex::encode(hasher.finalize());
        let dest = self.path(&hash);
        if let Some(dir) = dest.parent() {
            fs::create_dir_all(dir).await?;
        }
        fs::rename(path, &dest).await?;
        Ok(Blob { hash, size, head })
    }

    /// A fresh path in this process's temporary folder, on the blobs' file system, so a
    /// file or folder written there can be [`Blobs::adopt`]ed (converters' work folders).
    pub fn temp_path(&self) -> PathBuf {
        self.tmp.join(uuid::Uuid::new_v4().simple().to_string())
    }

    /// Starts writing a new blob.
    pub async fn writer(&self) -> Result<BlobWriter, StoreError> {
        let tmp = self.tmp.join(uuid::Uuid::new_v4().simple().to_string());
        let file = fs::File::create(&tmp).await?;
        Ok(BlobWriter {
            blobs: self.clone(),
            tmp,
            file: Some(file),
            hasher: Sha256::new(),
            size: 0,
            head: Vec::new(),
        })
    }
}

/// A blob being written; dropped unfinished, its temporary file is removed.
pub struct BlobWriter {
    blobs: Blobs,
    tmp: PathBuf,
    file: Option<fs::File>,
    hasher: Sha256,
    size: u64,
    head: Vec<u8>,
}

impl BlobWriter {
    /// Bytes written so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends a chunk.
    pub async fn write(&mut self, chunk: &[u8]) -> Result<(), StoreError> {
        if self.head.len() < HEAD_LEN {
            let take = (HEAD_LEN - self.head.len()).min(chunk.len());
            self.head.extend_from_slice(&chunk[..take]);
        }
        self.hasher.update(chunk);
        self.size += chunk.len() as u64;
        match self.file.as_mut() {
            Some(f) => Ok(f.write_all(chunk).await?),
            None => Err(StoreError::Internal("blob writer already finished".into())),
        }
    }

    /// Syncs the bytes and moves them to their content address.
    pub async fn finish(mut self) -> Result<Blob, StoreError> {
        let mut file = self
            .file
            .take()
            .ok_or_else(|| StoreError::Internal("blob writer already finished".into()))?;
        file.flush().await?;
        file.sync_all().await?;
        drop(file);
        let hash = hex::encode(std::mem::take(&mut self.hasher).finalize());
        let dest = self.blobs.path(&hash);
        if let Some(dir) = dest.parent() {
            fs::create_dir_all(dir).await?;
        }
        fs::rename(&self.tmp, &dest).await?;
        Ok(Blob {
            hash,
            size: self.size,
            head: std::mem::take(&mut self.head),
        })
    }
}

impl Drop for BlobWriter {
    fn drop(&mut self) {
        if self.file.is_some() {
            // Unfinished: the temporary file is garbage.
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn same_bytes_same_address() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::open(dir.path()).await.unwrap();
        let mut a = blobs.writer().await.unwrap();
        a.write(b"hello ").await.unwrap();
        a.write(b"world").await.unwrap();
        let a = a.finish().await.unwrap();
        let mut b = blobs.writer().await.unwrap();
        b.write(b"hello world").await.unwrap();
        let b = b.finish().await.unwrap();
        assert_eq!(a.hash, b.hash);
        assert_eq!(a.size, 11);
        assert_eq!(std::fs::read(blobs.path(&a.hash)).unwrap(), b"hello world");
    }

    #[tokio::test]
    async fn dropped_writer_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::open(dir.path()).await.unwrap();
        let mut w = blobs.writer().await.unwrap();
        w.write(b"partial").await.unwrap();
        drop(w);
        assert_eq!(std::fs::read_dir(&blobs.tmp).unwrap().count(), 0);
    }
}
