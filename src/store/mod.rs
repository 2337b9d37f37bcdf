//! Persistence: the [`Store`] trait, its record types and its two backends.
//!
//! Both backends run the same SQL (numbered `$N` parameters work in SQLite and Postgres), so
//! one implementation is generated for each by the `sql_store!` macro in [`sql`].

mod cache;
mod sql;

use std::sync::Arc;

use async_trait::async_trait;
use uuid::Uuid;

use crate::error::StoreError;

pub use sql::{PostgresStore, SqliteStore};

/// A project: a key pair and its settings.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Project {
    /// Public key, the project's identity on every API.
    pub pub_key: String,
    /// Secret key for REST auth and upload signatures.
    pub secret_key: String,
    /// Display name (`GET /project/`).
    pub name: String,
    /// Whether `UPLOADCARE_STORE=auto` stores files.
    pub autostore: bool,
    /// Whether uploads must carry a valid `signature`/`expire`.
    pub signed_uploads: bool,
}

/// Image facts found in a file's bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageFacts {
    /// `JPEG`, `PNG`, `GIF`, `WEBP`, `BMP`, ...
    pub format: String,
    /// Width in pixels.
    pub width: i64,
    /// Height in pixels.
    pub height: i64,
    /// Color mode in Pillow's terms (`RGB`, `RGBA`, `L`, `P`, `CMYK`, ...).
    pub color_mode: String,
}

/// A file as stored.
#[derive(Clone, Debug)]
pub struct FileRecord {
    /// The file's uuid.
    pub uuid: Uuid,
    /// Owning project's public key.
    pub project: String,
    /// Size in bytes.
    pub size: i64,
    /// Content address of the bytes in the blob directory.
    pub blob: String,
    /// File name as uploaded.
    pub original_filename: String,
    /// Detected MIME type.
    pub mime_type: String,
    /// Image facts when the file is an image.
    pub image: Option<ImageFacts>,
    /// Metadata as a JSON object of string values.
    pub metadata: serde_json::Map<String, serde_json::Value>,
    /// Upload time, microseconds since the epoch.
    pub uploaded_us: i64,
    /// Last store time.
    pub stored_us: Option<i64>,
    /// Removal time.
    pub removed_us: Option<i64>,
}

/// A group without its members (what lists show).
#[derive(Clone, Debug)]
pub struct GroupRecord {
    /// The group's uuid (the id is `<uuid>~<files_count>`).
    pub uuid: Uuid,
    /// Number of members.
    pub files_count: i64,
    /// Creation time, microseconds since the epoch, unique within a project.
    pub created_us: i64,
}

/// One position of a group: the member's effects and its file, `None` when the file row is gone.
#[derive(Clone, Debug)]
pub struct GroupMember {
    /// The member file's uuid.
    pub file_uuid: Uuid,
    /// CDN operations given with the member, e.g. `resize/x800/`.
    pub default_effects: String,
    /// The file, if it still exists.
    pub file: Option<FileRecord>,
}

/// A group to write: members in order.
#[derive(Clone, Debug)]
pub struct NewGroup {
    /// The new group's uuid.
    pub uuid: Uuid,
    /// Owning project's public key.
    pub project: String,
    /// `(file uuid, default effects)` in group order.
    pub members: Vec<(Uuid, String)>,
}

/// Sort order of group lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    /// Oldest first (`datetime_created`).
    Ascending,
    /// Newest first (`-datetime_created`).
    Descending,
}

/// Where a page of groups starts, in terms of creation time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cursor {
    /// From the start of the order.
    Start,
    /// Items after this time in the list's order (`from`): strictly later when ascending,
    /// strictly earlier when descending; `inclusive` keeps an item at exactly that time.
    After { at_us: i64, inclusive: bool },
    /// Items before this time in the list's order (`to`, previous pages): the page that ends
    /// right before it.
    Before { at_us: i64 },
}

/// A page request for a list.
#[derive(Clone, Copy, Debug)]
pub struct PageQuery {
    /// Sort order.
    pub order: Order,
    /// Starting point.
    pub cursor: Cursor,
    /// Items to skip after the cursor (ties, production's `offset`).
    pub offset: i64,
    /// Page size.
    pub limit: i64,
}

/// A multipart upload session, from `/multipart/start/` to `/multipart/complete/`.
#[derive(Clone, Debug)]
pub struct MultipartUpload {
    /// The uuid the finished file gets.
    pub uuid: Uuid,
    /// Owning project's public key.
    pub project: String,
    /// File name as given at start.
    pub filename: String,
    /// Announced total size in bytes.
    pub size: i64,
    /// Size of every part but the last.
    pub part_size: i64,
    /// Content type as given at start.
    pub content_type: String,
    /// Whether the finished file is stored.
    pub store: bool,
    /// Metadata for the finished file.
    pub metadata: serde_json::Map<String, serde_json::Value>,
    /// Start time, microseconds since the epoch.
    pub created_us: i64,
    /// Whether the upload was completed (its file exists).
    pub completed: bool,
}

/// The persistence interface every backend implements.
#[async_trait]
pub trait Store: Send + Sync {
    /// Checks that the database answers.
    async fn ping(&self) -> Result<(), StoreError>;
    /// The blob addresses among `hashes` that some file row uses (any project, removed or not).
    async fn blobs_in_use(&self, hashes: &[String]) -> Result<Vec<String>, StoreError>;
    /// Creates or updates a project.
    async fn upsert_project(&self, project: &Project) -> Result<(), StoreError>;
    /// Finds a project by public key.
    async fn project(&self, pub_key: &str) -> Result<Option<Project>, StoreError>;
    /// Writes a new file row (its bytes are already in the blob directory).
    async fn insert_file(&self, file: &FileRecord) -> Result<(), StoreError>;
    /// Reads one file of a project, removed ones included.
    async fn file(&self, project: &str, uuid: Uuid) -> Result<Option<FileRecord>, StoreError>;
    /// Those of `uuids` that are files of the project not removed, in no particular order.
    async fn live_files(
        &self,
        project: &str,
        uuids: &[Uuid],
    ) -> Result<Vec<FileRecord>, StoreError>;
    /// Marks live files of the project stored at `now_us`; returns the stored files.
    async fn store_files(
        &self,
        project: &str,
        uuids: &[Uuid],
        now_us: i64,
    ) -> Result<Vec<FileRecord>, StoreError>;
    /// Writes a group and its members in one transaction, with the given creation time;
    /// `Ok(false)` when that time is taken in the project (the caller picks a later one).
    async fn insert_group(&self, group: &NewGroup, created_us: i64) -> Result<bool, StoreError>;
    /// Reads a group and its members, each with its file, in one query.
    async fn group(
        &self,
        project: &str,
        uuid: Uuid,
    ) -> Result<Option<(GroupRecord, Vec<GroupMember>)>, StoreError>;
    /// One page of the project's groups, in the page's order.
    async fn list_groups(
        &self,
        project: &str,
        page: &PageQuery,
    ) -> Result<Vec<GroupRecord>, StoreError>;
    /// Number of groups of the project.
    async fn count_groups(&self, project: &str) -> Result<i64, StoreError>;
    /// Whether any group of the project lies beyond `at_us` in `order` (strictly).
    async fn group_beyond(
        &self,
        project: &str,
        order: Order,
        at_us: i64,
    ) -> Result<bool, StoreError>;
    /// Deletes a group (its files stay); `false` if it did not exist.
    async fn delete_group(&self, project: &str, uuid: Uuid) -> Result<bool, StoreError>;

    // Admin
    /// Removes every file, group and member of a project (test isolation).
    async fn reset_project(&self, project: &str) -> Result<(), StoreError>;

    // CDN
    /// Reads one file of any project (the CDN is public), removed ones included.
    async fn file_by_uuid(&self, uuid: Uuid) -> Result<Option<FileRecord>, StoreError>;
    /// Reads a group of any project and its members, each with its file, in one query.
    async fn group_by_uuid(
        &self,
        uuid: Uuid,
    ) -> Result<Option<(GroupRecord, Vec<GroupMember>)>, StoreError>;

    // Multipart
    /// Writes a new multipart upload session.
    async fn insert_multipart(&self, upload: &MultipartUpload) -> Result<(), StoreError>;
    /// Reads a multipart upload session by uuid, whatever its project.
    async fn multipart(&self, uuid: Uuid) -> Result<Option<MultipartUpload>, StoreError>;
    /// Marks the session of `file.uuid` completed and writes the file, in one transaction;
    /// `Ok(false)` (and nothing written) when it was already completed.
    async fn complete_multipart(&self, file: &FileRecord) -> Result<bool, StoreError>;
    /// Remembers that `source_url` was imported into the project as `file` (replacing an
    /// earlier import of the same URL).
    async fn save_url_duplicate(
        &self,
        project: &str,
        source_url: &str,
        file: Uuid,
        created_us: i64,
    ) -> Result<(), StoreError>;
    /// The file a saved import of `source_url` produced in the project, if any.
    async fn url_duplicate(
        &self,
        project: &str,
        source_url: &str,
    ) -> Result<Option<Uuid>, StoreError>;

    // --- REST API (batch file storage) ---

    /// Marks live files of the project removed at `now_us` (and no longer stored); returns
    /// the removed files.
    async fn remove_files(
        &self,
        project: &str,
        uuids: &[Uuid],
        now_us: i64,
    ) -> Result<Vec<FileRecord>, StoreError>;

    // REST files
    /// One page of the project's files that pass `filter`, by upload time in the page's order.
    async fn list_files(
        &self,
        project: &str,
        filter: &FileFilter,
        page: &PageQuery,
    ) -> Result<Vec<FileRecord>, StoreError>;
    /// Number of the project's files that pass `filter`.
    async fn count_files(&self, project: &str, filter: &FileFilter) -> Result<i64, StoreError>;
    /// Whether any file of the project passing `filter` lies beyond `at_us` in `order`
    /// (strictly, by upload time).
    async fn file_beyond(
        &self,
        project: &str,
        filter: &FileFilter,
        order: Order,
        at_us: i64,
    ) -> Result<bool, StoreError>;
    /// Replaces a file's metadata with `new` if it is still `old` (compare and swap);
    /// `false` when the file is gone or its metadata changed meanwhile.
    async fn replace_file_metadata(
        &self,
        project: &str,
        uuid: Uuid,
        old: &serde_json::Map<String, serde_json::Value>,
        new: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<bool, StoreError>;
}

/// Which files a REST file list shows. A file counts as removed when it was removed or when
/// it was never stored and is older than the retention (it expired).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileFilter {
    /// `true`: only removed (or expired) files; `false`: only live ones.
    pub removed: bool,
    /// `Some(true)`: only stored files; `Some(false)`: only unstored ones; `None`: both.
    pub stored: Option<bool>,
    /// Unstored files uploaded at or before this time have expired (now minus retention).
    pub expired_before_us: i64,
}

/// Opens the store named by a database URL (`sqlite://…` or `postgres://…`) and migrates it.
pub async fn open(database_url: &str) -> Result<Arc<dyn Store>, StoreError> {
    if database_url.starts_with("sqlite:") {
        // A SQLite store has one writer process, so its reads can be cached (see cache.rs).
        let sqlite: Arc<dyn Store> = Arc::new(SqliteStore::open(database_url).await?);
        Ok(Arc::new(cache::CachedStore::new(sqlite)))
    } else if database_url.starts_with("postgres:") || database_url.starts_with("postgresql:") {
        Ok(Arc::new(PostgresStore::open(database_url).await?))
    } else {
        Err(StoreError::Internal(format!(
            "unsupported database URL scheme (use sqlite:// or postgres://): {}",
            crate::config::redact_url(database_url)
        )))
    }
}
