//! File bytes, content-addressed by SHA-256 under `blobs/<2 hex>/<64 hex>`, in one of two
//! blob stores chosen by `--blob-store` (docs/blob-store.md):
//!
//! - `file:///dir` ([`local`]): files in a directory (the data directory by default). Writes
//!   stream into `tmp/<process>/` and are renamed into place once complete and synced.
//! - `s3://bucket[/prefix]?endpoint=…&region=…` ([`s3`]): objects in an S3-compatible bucket
//!   through the `object_store` crate. Writes are hashed while they stream (spilling to a
//!   bounded temporary file past a few MiB) and put under their address at the end, so an
//!   object appears under its address only when complete.
//!
//! Callers never see paths: they read sizes, streams, ranges or whole small blobs, and borrow
//! a [`LocalCopy`] when a tool needs a file. Each process has its own temporary folder under
//! the data directory; folders left by crashed processes are swept at start-up once they
//! are a day old.

pub mod local;
pub mod s3;

use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::time::SystemTime;

use futures_util::stream::BoxStream;
use futures_util::StreamExt;
use object_store::ObjectStore;
use sha2::{Digest, Sha256};
use tokio::fs;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

use crate::domain::content::HEAD_LEN;
use crate::error::StoreError;

/// Where blobs are kept (`--blob-store`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BlobStoreUrl {
    /// A local directory.
    File(PathBuf),
    /// An S3-compatible bucket.
    S3(s3::S3Location),
}

impl BlobStoreUrl {
    /// Parses `file:///dir` or `s3://bucket[/prefix]?endpoint=…&region=…`; the error says
    /// what is wrong, for the operator.
    pub fn parse(text: &str) -> Result<Self, String> {
        let url = url::Url::parse(text).map_err(|e| format!("not a URL ({e})"))?;
        match url.scheme() {
            "file" => {
                if url.query().is_some() || url.host_str().is_some_and(|h| !h.is_empty()) {
                    return Err(
                        "a file:// store is file:///absolute/dir, with no host or query".into(),
                    );
                }
                let path = url
                    .to_file_path()
                    .map_err(|()| "a file:// store needs an absolute directory".to_owned())?;
                Ok(Self::File(path))
            }
            "s3" => s3::S3Location::from_url(&url).map(Self::S3),
            other => Err(format!(
                "unknown scheme {other:?}: use file:///dir or s3://bucket?endpoint=…"
            )),
        }
    }
}

impl std::fmt::Display for BlobStoreUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::File(dir) => write!(f, "file://{}", dir.display()),
            Self::S3(loc) => loc.fmt(f),
        }
    }
}

/// A stream of a blob's bytes (all of them or a range).
pub type BlobReader = Pin<Box<dyn AsyncRead + Send>>;

/// The blob store.
#[derive(Clone, Debug)]
pub struct Blobs {
    backend: Backend,
    /// This process's temporary folder.
    tmp: PathBuf,
    /// The lock on the folder's owner file, held while the process lives (see
    /// [`open_tmp`]).
    _owner: Arc<std::fs::File>,
}

#[derive(Clone)]
enum Backend {
    Local(local::Local),
    S3(Arc<dyn ObjectStore>),
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Local(l) => l.fmt(f),
            Self::S3(store) => write!(f, "S3({store})"),
        }
    }
}

/// Age after which another process's temporary folder is considered abandoned.
const STALE_TMP: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// Bytes a writer to S3 keeps in memory before it spills to a temporary file.
const SPILL_AT: usize = 1 << 20;

/// Size of the pieces an upload to S3 is sent in: one PUT up to this size, a multipart
/// upload of pieces this size beyond (S3's parts must be at least 5 MiB).
pub const PIECE: usize = 8 << 20;

/// Pieces of one upload in flight at once (memory per upload: at most this many pieces).
pub const PIECES_IN_FLIGHT: usize = 2;

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

/// The key of a blob in a store: `blobs/<2 hex>/<64 hex>`.
fn key(hash: &str) -> String {
    let prefix = hash.get(..2).unwrap_or("00");
    format!("blobs/{prefix}/{hash}")
}

/// A blob's address: 64 lowercase hex digits.
pub fn is_address(name: &str) -> bool {
    name.len() == 64 && name.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

impl Blobs {
    /// Opens the store `url` (the data directory's when `None`), with this process's
    /// temporary folder under `data_dir` (under the store's directory for `file://`, so
    /// temporaries are renamed into place on one file system); clears stale temporaries.
    pub async fn open(url: Option<&BlobStoreUrl>, data_dir: &Path) -> Result<Self, StoreError> {
        let (backend, tmp_parent) = match url {
            None => (
                Backend::Local(local::Local::open(data_dir).await?),
                data_dir,
            ),
            Some(BlobStoreUrl::File(dir)) => (
                Backend::Local(local::Local::open(dir).await?),
                dir.as_path(),
            ),
            Some(BlobStoreUrl::S3(loc)) => {
                let store = loc.open()?;
                // One listing request: a missing bucket or bad credentials stop the start.
                store
                    .list_with_delimiter(Some(&"blobs".into()))
                    .await
                    .map_err(s3::error)?;
                (Backend::S3(store), data_dir)
            }
        };
        let (tmp, owner) = open_tmp(&tmp_parent.join("tmp")).await?;
        Ok(Self {
            backend,
            tmp,
            _owner: Arc::new(owner),
        })
    }

    /// The store's directory for `file://` stores (multipart uploads write their data file
    /// there, so it can be renamed into place); `None` for S3.
    pub fn local_root(&self) -> Option<&Path> {
        match &self.backend {
            Backend::Local(l) => Some(l.root()),
            Backend::S3(_) => None,
        }
    }

    /// The bucket for S3 stores, where multipart parts are staged (`None` for `file://`).
    pub fn staging(&self) -> Option<Staging> {
        match &self.backend {
            Backend::Local(_) => None,
            Backend::S3(store) => Some(Staging {
                store: store.clone(),
            }),
        }
    }

    /// A fresh path in this process's temporary folder (converters' work folders, whose
    /// outputs are [`Blobs::adopt`]ed).
    pub fn temp_path(&self) -> PathBuf {
        self.tmp.join(uuid::Uuid::new_v4().simple().to_string())
    }

    /// The blob's size in bytes.
    pub async fn size(&self, hash: &str) -> Result<u64, StoreError> {
        match &self.backend {
            Backend::Local(l) => Ok(fs::metadata(l.path(hash)).await?.len()),
            Backend::S3(store) => Ok(store.head(&key(hash).into()).await.map_err(s3::error)?.size),
        }
    }

    /// All of the blob's bytes, streamed.
    pub async fn read(&self, hash: &str) -> Result<BlobReader, StoreError> {
        match &self.backend {
            Backend::Local(l) => Ok(Box::pin(fs::File::open(l.path(hash)).await?)),
            Backend::S3(store) => s3::read(store, &key(hash), None).await,
        }
    }

    /// `len` bytes from `start` (the caller keeps them within the blob): one ranged GET on S3.
    pub async fn read_range(
        &self,
        hash: &str,
        start: u64,
        len: u64,
    ) -> Result<BlobReader, StoreError> {
        match &self.backend {
            Backend::Local(l) => {
                let mut file = fs::File::open(l.path(hash)).await?;
                file.seek(std::io::SeekFrom::Start(start)).await?;
                Ok(Box::pin(file.take(len)))
            }
            Backend::S3(store) if len == 0 => {
                let _ = store;
                Ok(Box::pin(tokio::io::empty()))
            }
            Backend::S3(store) => s3::read(store, &key(hash), Some(start..start + len)).await,
        }
    }

    /// All of a (small) blob's bytes in memory.
    pub async fn read_all(&self, hash: &str) -> Result<Vec<u8>, StoreError> {
        match &self.backend {
            Backend::Local(l) => Ok(fs::read(l.path(hash)).await?),
            Backend::S3(store) => {
                let got = store.get(&key(hash).into()).await.map_err(s3::error)?;
                Ok(got.bytes().await.map_err(s3::error)?.to_vec())
            }
        }
    }

    /// Writes the blob's bytes to a new file at `dest`.
    pub async fn copy_to(&self, hash: &str, dest: &Path) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Local(l) => {
                fs::copy(l.path(hash), dest).await?;
            }
            Backend::S3(_) => {
                let mut reader = self.read(hash).await?;
                let mut file = fs::File::create(dest).await?;
                tokio::io::copy(&mut reader, &mut file).await?;
                file.flush().await?;
            }
        }
        Ok(())
    }

    /// The blob as a local file for tools that need a path: the blob itself for `file://`,
    /// a temporary copy (removed when dropped) for S3.
    pub async fn local_copy(&self, hash: &str) -> Result<LocalCopy, StoreError> {
        match &self.backend {
            Backend::Local(l) => Ok(LocalCopy {
                path: l.path(hash),
                temporary: false,
            }),
            Backend::S3(_) => {
                let copy = LocalCopy {
                    path: self.temp_path(),
                    temporary: true,
                };
                self.copy_to(hash, &copy.path).await?;
                Ok(copy)
            }
        }
    }

    /// Starts writing a new blob.
    pub async fn writer(&self) -> Result<BlobWriter, StoreError> {
        let sink = match &self.backend {
            Backend::Local(_) => {
                let tmp = self.temp_path();
                let file = fs::File::create(&tmp).await?;
                Sink::File(tmp, file)
            }
            Backend::S3(_) => Sink::Memory(Vec::new()),
        };
        Ok(BlobWriter {
            blobs: self.clone(),
            sink: Some(sink),
            hasher: Sha256::new(),
            size: 0,
            head: Vec::new(),
        })
    }

    /// Makes the complete, synced file at `path` a blob: hashes it in one read and moves it
    /// to its content address (`file://`: `path` must be on the store's file system, such as
    /// [`Blobs::temp_path`]; S3: it is uploaded, then removed). Used when the bytes were
    /// written elsewhere first, such as converters' outputs and multipart data files.
    pub async fn adopt(&self, path: &Path) -> Result<Blob, StoreError> {
        let mut file = fs::File::open(path).await?;
        let mut summary = Summary::default();
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let read = file.read(&mut buf).await?;
            if read == 0 {
                break;
            }
            summary.update(&buf[..read]);
        }
        drop(file);
        let blob = summary.finish();
        match &self.backend {
            Backend::Local(l) => l.place(path, &blob.hash).await?,
            Backend::S3(store) => {
                let put = s3::upload_file(store, &key(&blob.hash), path).await;
                let _ = fs::remove_file(path).await;
                put?;
            }
        }
        Ok(blob)
    }

    /// The store's blobs with their last write times, for the orphan sweep.
    pub fn list(&self) -> BoxStream<'static, Result<(String, SystemTime), StoreError>> {
        match &self.backend {
            Backend::Local(l) => l.list(),
            Backend::S3(store) => store
                .list(Some(&"blobs".into()))
                .filter_map(|meta| async move {
                    match meta {
                        Ok(meta) => {
                            let name = meta.location.filename()?.to_owned();
                            is_address(&name).then(|| Ok((name, meta.last_modified.into())))
                        }
                        Err(e) => Some(Err(s3::error(e))),
                    }
                })
                .boxed(),
        }
    }

    /// Removes the blob if it was last written before `cutoff` (an upload of the same bytes
    /// rewrites it, so a fresh one is kept); whether it was removed.
    pub async fn remove_if_written_before(
        &self,
        hash: &str,
        cutoff: SystemTime,
    ) -> Result<bool, StoreError> {
        match &self.backend {
            Backend::Local(l) => l.remove_if_written_before(hash, cutoff).await,
            Backend::S3(store) => {
                let path = key(hash).into();
                let meta = match store.head(&path).await {
                    Ok(meta) => meta,
                    Err(object_store::Error::NotFound { .. }) => return Ok(false),
                    Err(e) => return Err(s3::error(e)),
                };
                if SystemTime::from(meta.last_modified) >= cutoff {
                    return Ok(false);
                }
                match store.delete(&path).await {
                    Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(true),
                    Err(e) => Err(s3::error(e)),
                }
            }
        }
    }
}

/// The file in a process's temporary folder that the process holds locked while it lives.
const OWNER: &str = ".owner";

/// Creates this process's folder under `tmp_root`, with its owner file locked for as long as
/// the returned file is open, and removes the folders of processes that are gone: a folder
/// whose owner file can be locked belongs to no live process (the lock goes with the process,
/// SIGKILL included), so a killed process's half-written files go at the next start even on
/// a data directory other processes share. A folder without an owner file (a process
/// between creating it and locking it, or an older build) goes once older than
/// [`STALE_TMP`].
async fn open_tmp(tmp_root: &Path) -> Result<(PathBuf, std::fs::File), StoreError> {
    fs::create_dir_all(tmp_root).await?;
    let mut entries = fs::read_dir(tmp_root).await?;
    while let Some(entry) = entries.next_entry().await? {
        let path = entry.path();
        let abandoned = match std::fs::File::open(path.join(OWNER)) {
            Ok(owner) => owner.try_lock().is_ok(),
            Err(_) => entry
                .metadata()
                .await
                .ok()
                .and_then(|m| m.modified().ok())
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age > STALE_TMP),
        };
        if abandoned {
            let _ = fs::remove_dir_all(&path).await;
        }
    }
    let tmp = tmp_root.join(uuid::Uuid::new_v4().simple().to_string());
    fs::create_dir_all(&tmp).await?;
    let owner = std::fs::File::create(tmp.join(OWNER))?;
    owner
        .try_lock()
        .map_err(|e| StoreError::Internal(format!("cannot lock {}: {e}", tmp.display())))?;
    Ok((tmp, owner))
}

/// A blob as a file on local disk; a temporary copy is removed when this is dropped.
#[derive(Debug)]
pub struct LocalCopy {
    path: PathBuf,
    temporary: bool,
}

impl LocalCopy {
    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for LocalCopy {
    fn drop(&mut self) {
        if self.temporary {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Hash, size and head of bytes seen in order.
#[derive(Default)]
struct Summary {
    hasher: Sha256,
    size: u64,
    head: Vec<u8>,
}

impl Summary {
    fn update(&mut self, chunk: &[u8]) {
        if self.head.len() < HEAD_LEN {
            let take = (HEAD_LEN - self.head.len()).min(chunk.len());
            self.head.extend_from_slice(&chunk[..take]);
        }
        self.hasher.update(chunk);
        self.size += chunk.len() as u64;
    }

    fn finish(self) -> Blob {
        Blob {
            hash: hex::encode(self.hasher.finalize()),
            size: self.size,
            head: self.head,
        }
    }
}

/// Where a writer keeps the bytes until they are complete.
enum Sink {
    /// A temporary file (always for `file://`; past [`SPILL_AT`] bytes for S3).
    File(PathBuf, fs::File),
    /// Memory (S3, small blobs).
    Memory(Vec<u8>),
}

/// A blob being written; dropped unfinished, its temporary file is removed.
pub struct BlobWriter {
    blobs: Blobs,
    sink: Option<Sink>,
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
        match self.sink.as_mut() {
            Some(Sink::File(_, f)) => Ok(f.write_all(chunk).await?),
            Some(Sink::Memory(buf)) if buf.len() + chunk.len() <= SPILL_AT => {
                buf.extend_from_slice(chunk);
                Ok(())
            }
            Some(Sink::Memory(_)) => {
                let Some(Sink::Memory(buf)) = self.sink.take() else {
                    return Err(StoreError::Internal("blob writer lost its buffer".into()));
                };
                let tmp = self.blobs.temp_path();
                let file = fs::File::create(&tmp).await?;
                // Owned by the sink first, so a failure below still removes it.
                self.sink = Some(Sink::File(tmp, file));
                if let Some(Sink::File(_, f)) = self.sink.as_mut() {
                    f.write_all(&buf).await?;
                    f.write_all(chunk).await?;
                }
                Ok(())
            }
            None => Err(StoreError::Internal("blob writer already finished".into())),
        }
    }

    /// Makes the bytes durable and visible under their content address.
    pub async fn finish(mut self) -> Result<Blob, StoreError> {
        let sink = self
            .sink
            .take()
            .ok_or_else(|| StoreError::Internal("blob writer already finished".into()))?;
        let hash = hex::encode(std::mem::take(&mut self.hasher).finalize());
        let placed = match (sink, &self.blobs.backend) {
            (Sink::File(tmp, mut file), backend) => {
                let done = async {
                    file.flush().await?;
                    match backend {
                        Backend::Local(l) => {
                            file.sync_all().await?;
                            drop(file);
                            l.place(&tmp, &hash).await
                        }
                        Backend::S3(store) => {
                            drop(file);
                            s3::upload_file(store, &key(&hash), &tmp).await
                        }
                    }
                }
                .await;
                if done.is_err() || matches!(backend, Backend::S3(_)) {
                    let _ = fs::remove_file(&tmp).await;
                }
                done
            }
            (Sink::Memory(buf), Backend::S3(store)) => store
                .put(&key(&hash).into(), buf.into())
                .await
                .map(|_| ())
                .map_err(s3::error),
            (Sink::Memory(_), Backend::Local(_)) => Err(StoreError::Internal(
                "a local blob writer has no buffer".into(),
            )),
        };
        placed?;
        Ok(Blob {
            hash,
            size: self.size,
            head: std::mem::take(&mut self.head),
        })
    }
}

impl Drop for BlobWriter {
    fn drop(&mut self) {
        if let Some(Sink::File(tmp, _)) = &self.sink {
            // Unfinished: the temporary file is garbage.
            let _ = std::fs::remove_file(tmp);
        }
    }
}

/// Multipart parts staged in an S3 bucket under `parts/<upload>/<n>`: each part PUT may
/// reach a different replica, so they meet in the bucket, and completion joins them.
#[derive(Clone)]
pub struct Staging {
    store: Arc<dyn ObjectStore>,
}

/// Age after which staged parts count as abandoned (the orphan sweep removes them).
pub const STALE_PARTS: std::time::Duration = STALE_TMP;

impl Staging {
    fn part_key(upload: &str, n: u64) -> object_store::path::Path {
        format!("parts/{upload}/{n}").into()
    }

    /// Withdraws part `n` of `upload` (until it is whole again, it counts as missing).
    pub async fn remove_part(&self, upload: &str, n: u64) -> Result<(), StoreError> {
        match self.store.delete(&Self::part_key(upload, n)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(s3::error(e)),
        }
    }

    /// A writer of part `n` of `upload`: the part appears only once it is finished.
    pub fn part_writer(&self, upload: &str, n: u64) -> s3::Upload {
        s3::Upload::new(self.store.clone(), Self::part_key(upload, n).as_ref())
    }

    /// The parts of `upload` received whole: part number → size.
    pub async fn parts(
        &self,
        upload: &str,
    ) -> Result<std::collections::BTreeMap<u64, u64>, StoreError> {
        let prefix = format!("parts/{upload}").into();
        let mut listing = self.store.list(Some(&prefix));
        let mut parts = std::collections::BTreeMap::new();
        while let Some(meta) = listing.next().await {
            let meta = meta.map_err(s3::error)?;
            if let Some(n) = meta.location.filename().and_then(|n| n.parse::<u64>().ok()) {
                parts.insert(n, meta.size);
            }
        }
        Ok(parts)
    }

    /// Part `n` of `upload`, streamed.
    pub async fn read_part(&self, upload: &str, n: u64) -> Result<BlobReader, StoreError> {
        s3::read(&self.store, Self::part_key(upload, n).as_ref(), None).await
    }

    /// Removes the staged parts of `upload`.
    pub async fn remove_parts(&self, upload: &str) -> Result<(), StoreError> {
        for n in self.parts(upload).await?.into_keys() {
            self.remove_part(upload, n).await?;
        }
        Ok(())
    }

    /// Removes staged parts last written before `cutoff`; how many.
    pub async fn sweep(&self, cutoff: SystemTime) -> Result<usize, StoreError> {
        let mut listing = self.store.list(Some(&"parts".into()));
        let mut removed = 0;
        while let Some(meta) = listing.next().await {
            let meta = meta.map_err(s3::error)?;
            if SystemTime::from(meta.last_modified) < cutoff {
                match self.store.delete(&meta.location).await {
                    Ok(()) | Err(object_store::Error::NotFound { .. }) => removed += 1,
                    Err(e) => return Err(s3::error(e)),
                }
            }
        }
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A blob store in a new temporary directory (kept while the directory lives).
    async fn local_blobs() -> (tempfile::TempDir, Blobs) {
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::open(None, dir.path()).await.unwrap();
        (dir, blobs)
    }

    /// Writes `pieces` as one blob, one `write` each.
    async fn write_blob(blobs: &Blobs, pieces: &[&[u8]]) -> Blob {
        let mut w = blobs.writer().await.unwrap();
        for piece in pieces {
            w.write(piece).await.unwrap();
        }
        w.finish().await.unwrap()
    }

    #[tokio::test]
    async fn same_bytes_same_address() {
        let (_dir, blobs) = local_blobs().await;
        let a = write_blob(&blobs, &[b"hello ", b"world"]).await;
        let b = write_blob(&blobs, &[b"hello world"]).await;
        assert_eq!(a.hash, b.hash);
        assert_eq!(a.size, 11);
        assert_eq!(blobs.read_all(&a.hash).await.unwrap(), b"hello world");
        let mut part = String::new();
        blobs
            .read_range(&a.hash, 6, 3)
            .await
            .unwrap()
            .read_to_string(&mut part)
            .await
            .unwrap();
        assert_eq!(part, "wor");
    }

    #[tokio::test]
    async fn dropped_writer_leaves_nothing() {
        let (_dir, blobs) = local_blobs().await;
        let mut w = blobs.writer().await.unwrap();
        w.write(b"partial").await.unwrap();
        drop(w);
        let left: Vec<_> = std::fs::read_dir(&blobs.tmp)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, [OWNER], "only the owner file is left");
    }

    #[test]
    fn store_urls() {
        assert_eq!(
            BlobStoreUrl::parse("file:///srv/blobs").unwrap(),
            BlobStoreUrl::File(PathBuf::from("/srv/blobs"))
        );
        let s3 = BlobStoreUrl::parse(
            "s3://bucket/pre/fix?endpoint=http://127.0.0.1:9000&region=eu-west-1",
        )
        .unwrap();
        let BlobStoreUrl::S3(loc) = &s3 else {
            panic!("{s3:?}")
        };
        assert_eq!(loc.bucket, "bucket");
        assert_eq!(loc.prefix.as_deref(), Some("pre/fix"));
        assert_eq!(loc.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
        assert_eq!(loc.region.as_deref(), Some("eu-west-1"));
        for bad in [
            "",
            "/srv/blobs",
            "ftp://x/",
            "file://host/dir",
            "file:///dir?x=1",
            "s3://",
            "s3://bucket?nope=1",
            "s3://bucket?endpoint=not a url",
            "s3://bucket?endpoint=ftp://x",
        ] {
            assert!(BlobStoreUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn addresses() {
        assert!(is_address(&"ab".repeat(32)));
        assert!(!is_address(&"AB".repeat(32)));
        assert!(!is_address(&format!("{}.orphan", "ab".repeat(32))));
        assert!(!is_address("ab"));
    }

    /// A start removes the temporary folders of processes that are gone (their owner file
    /// unlocked) and keeps those of live ones and fresh folders without an owner file.
    #[tokio::test]
    async fn temporary_folders_of_gone_processes_are_removed() {
        let root = tempfile::tempdir().unwrap();
        let (live, live_owner) = open_tmp(root.path()).await.unwrap();
        let (gone, gone_owner) = open_tmp(root.path()).await.unwrap();
        std::fs::write(gone.join("half-written"), b"bytes").unwrap();
        drop(gone_owner);
        let fresh = root.path().join("fresh");
        std::fs::create_dir(&fresh).unwrap();
        let (mine, _mine_owner) = open_tmp(root.path()).await.unwrap();
        assert!(live.exists() && fresh.exists() && mine.exists());
        assert!(!gone.exists(), "a gone process's folder stays");
        drop(live_owner);
    }
}
