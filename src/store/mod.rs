//! Persistence: the [`Store`] trait, its record types and the SQL store behind it.
//!
//! # Layout
//! - One module per group of tables, each owning its SQL: [`projects`], [`files`] (with the
//!   expiry rule), [`groups`], [`uploads`] (multipart sessions and `/from_url/` history),
//!   [`tags`] (file tags and their index), [`search`] (file search).
//!   Each declares a trait of its reads and writes (`FileStore`, …), implements it for
//!   [`SqlStore`], and defines its writes as methods of [`Tx`].
//! - [`Store`] joins those traits; the app holds it as `Arc<dyn Store>`.
//! - `db.rs`: the statement type ([`Sql`]), the pools ([`Db`]) and the transaction ([`Tx`]),
//!   the only code that matches on the backend. `sqlite.rs` / `postgres.rs`: opening each
//!   backend and the SQL that differs between them. `rows.rs`: rows and their decoding.
//!   `page.rs`: the one paging primitive ([`Page`]). `cache.rs`: the memory cache (SQLite's,
//!   and Postgres' while `lease.rs`'s sole-replica lease is held), and the replica-safe
//!   caches checked on every read (group pages; Postgres groups). `coalesce.rs`: those
//!   checks batched. `group_commit.rs`: group creates queued and written many to a
//!   transaction.
//!   `notify.rs`: change notes between processes sharing the database ([`Changes`],
//!   [`Tx::publish`]).
//!
//! # Writing in one transaction
//! Every write is a method of [`Tx`] (e.g. [`Tx::insert_file`], [`Tx::change_files`] (store
//! or remove), [`Tx::replace_file_metadata`], [`Tx::insert_group`]); the trait
//! methods of the same name are one-operation transactions. To write rows of another table
//! in the same transaction as a file change (an event outbox, say):
//!
//! ```ignore
//! let mut tx = store.begin().await?;
//! let change = LifecycleChange { project, uuids: &uuids, change: FileChange::Store, now_us };
//! let stored = tx.change_files(change).await?;
//! tx.insert_outbox(&events_for(&stored)).await?; // defined in the outbox's own module
//! tx.commit().await?;                            // both or neither
//! ```
//!
//! # Adding a table group
//! Add a migration per backend, then one module: its trait (reads, and one-operation writes
//! that `begin` a [`Tx`] and `commit` it), `impl ThatTrait for SqlStore`, and an `impl Tx`
//! block with its writes, built with [`Sql`] and run with [`Tx::execute`] /
//! [`Tx::fetch_all`]; then name the trait among [`Store`]'s supertraits. Writes that change
//! file or group rows call [`Tx::files_changed`] / [`Tx::groups_changed`] so the cache drops
//! them on commit.

pub mod addons;
mod cache;
mod coalesce;
pub mod console;
pub mod conversions;
mod db;
mod files;
mod group_commit;
mod groups;
mod lease;
mod migrations;
pub mod notify;
mod page;
mod postgres;
mod projects;
mod rows;
pub mod search;
pub mod shared;
mod sqlite;
mod tags;
mod uploads;
pub mod webhooks;

use rows::row_struct;
use std::sync::Arc;

use async_trait::async_trait;
use uuid::Uuid;

use crate::error::StoreError;

pub use addons::{AddonRun, AddonStore, RunStatus};
pub use console::ConsoleStore;
pub use conversions::ConversionStore;
pub use db::{Arg, Db, Dialect, Row, Sql, Tx};
pub use files::{Expiry, FileChange, FileFilter, FileStore, FileSwap, LifecycleChange};
pub use groups::{GroupStore, GroupWithMembers, GroupsPage};
pub use notify::{Change, Changes, Subscription, Topic};
pub use page::Page;
pub use projects::ProjectStore;
pub use search::SearchStore;
pub use shared::SharedStore;
pub use tags::TagStore;
pub use uploads::UploadStore;
pub use webhooks::WebhookStore;

row_struct! {
    /// A project: a key pair and its settings.
    #[derive(Clone, Debug)]
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
    /// Tags in storage order, normalized (`crate::domain::tags`).
    pub tags: Vec<String>,
    /// Upload time, microseconds since the epoch.
    pub uploaded_us: i64,
    /// Last store time.
    pub stored_us: Option<i64>,
    /// Removal time.
    pub removed_us: Option<i64>,
}

impl FileRecord {
    /// Whether the file has its bytes: a conversion's result exists from submission on,
    /// with no blob until the job finishes (`crate::conversions`).
    pub fn is_ready(&self) -> bool {
        !self.blob.is_empty()
    }
}

row_struct! {
    /// A group without its members (what lists show). Read straight from a `groups` row, or
    /// from a JSON array of its columns (`uuid, files_count, created_us`).
    #[derive(Clone, Debug, serde::Deserialize)]
    pub struct GroupRecord {
        /// The group's uuid (the id is `<uuid>~<files_count>`).
        #[row(text)]
        pub uuid: Uuid,
        /// Number of members.
        pub files_count: i64,
        /// Creation time, microseconds since the epoch, unique within a project.
        pub created_us: i64,
    }
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

/// Sort order of lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    /// Oldest first (`datetime_created`, `datetime_uploaded`).
    Ascending,
    /// Newest first (`-datetime_created`, `-datetime_uploaded`).
    Descending,
}

impl Order {
    /// The opposite order.
    pub fn reverse(self) -> Self {
        match self {
            Order::Ascending => Order::Descending,
            Order::Descending => Order::Ascending,
        }
    }
}

/// Where a page starts, in terms of the list's time (creation or upload).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cursor {
    /// From the start of the order.
    Start,
    /// Items strictly after this time in the list's order (`from`): later when ascending,
    /// earlier when descending.
    After {
        /// The time, microseconds since the epoch.
        at_us: i64,
    },
    /// Items before this time in the list's order (`to`, previous pages): the page that ends
    /// right before it.
    Before {
        /// The time, microseconds since the epoch.
        at_us: i64,
    },
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

row_struct! {
    /// A multipart upload session, from `/multipart/start/` to `/multipart/complete/`.
    #[derive(Clone, Debug)]
    pub struct MultipartUpload {
        /// The uuid the finished file gets.
        #[row(text)]
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
        #[row(text)]
        pub metadata: serde_json::Map<String, serde_json::Value>,
        /// Tags for the finished file.
        #[row(text)]
        pub tags: Vec<String>,
        /// Start time, microseconds since the epoch.
        pub created_us: i64,
        /// Whether the upload was completed (its file exists).
        pub completed: bool,
    }
}

/// The persistence interface: every table group's trait, plus what spans them.
#[async_trait]
pub trait Store:
    ProjectStore
    + FileStore
    + GroupStore
    + TagStore
    + SearchStore
    + UploadStore
    + WebhookStore
    + ConsoleStore
    + ConversionStore
    + AddonStore
    + SharedStore
    + Send
    + Sync
{
    /// Checks that the database answers.
    async fn ping(&self) -> Result<(), StoreError>;
    /// Starts a write transaction (see the module docs).
    async fn begin(&self) -> Result<Tx, StoreError>;
    /// The change feed shared by every process on this database (`notify.rs`):
    /// `store.changes().subscribe()`, published through [`Tx::publish`].
    fn changes(&self) -> &Changes;
    /// Removes every file, group and member of a project (test isolation).
    async fn reset_project(&self, project: &str) -> Result<(), StoreError>;
    /// Where hot reads are answered from at this moment.
    fn reads(&self) -> Reads;
}

/// Where a store answers its hot reads (group info, group pages, files being grouped).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Reads {
    /// From memory: SQLite's cache, or Postgres' while this replica holds the sole-replica
    /// lease (`lease.rs`).
    Memory,
    /// From memory after a batched check in the database (Postgres shared by replicas).
    Checked,
    /// From the database.
    Database,
}

/// The store over SQLite or Postgres.
pub struct SqlStore {
    db: Db,
    /// SQLite's read cache, when on.
    cache: Option<Arc<cache::Cache>>,
    /// The queue of group creates (see `group_commit.rs`).
    group_commit: group_commit::GroupCommit,
    /// Change notes between processes (see `notify.rs`).
    changes: Changes,
    /// Pages of groups, checked against the project's group version (both backends).
    group_pages: cache::GroupPages,
    /// Postgres: groups kept and checked against their rows' versions on every read.
    checked_groups: Option<groups::CheckedReads>,
    /// Projects' group versions and counts, read in batches (`coalesce.rs`).
    group_versions: coalesce::Coalesced<String, std::collections::HashMap<String, (i64, i64)>>,
}

impl SqlStore {
    /// Starts a write transaction.
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        self.db.begin(self.cache.clone(), &self.changes).await
    }

    /// Runs `write` in a transaction of its own, committed when it succeeds.
    async fn write<R>(
        &self,
        write: impl AsyncFnOnce(&mut Tx) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        let mut tx = self.begin().await?;
        let done = write(&mut tx).await?;
        tx.commit_with(done).await
    }
}

#[async_trait]
impl Store for SqlStore {
    async fn ping(&self) -> Result<(), StoreError> {
        let _: (i32,) = self.db.fetch_one(&Sql::new("SELECT 1")).await?;
        Ok(())
    }

    async fn begin(&self) -> Result<Tx, StoreError> {
        SqlStore::begin(self).await
    }

    fn changes(&self) -> &Changes {
        &self.changes
    }

    fn reads(&self) -> Reads {
        if self.cache.as_ref().is_some_and(|c| c.is_serving()) {
            Reads::Memory
        } else if self.checked_groups.is_some() {
            Reads::Checked
        } else {
            Reads::Database
        }
    }

    async fn reset_project(&self, project: &str) -> Result<(), StoreError> {
        self.write(async |tx| {
            tx.delete_project_groups(project).await?;
            tx.delete_project_addons(project).await?;
            tx.delete_project_files(project).await
        })
        .await
    }
}

/// Opens the store named by a database URL (`sqlite://…` or `postgres://…`) and migrates it.
/// It serves its hot reads from memory: on SQLite always (one process writes, this one); on
/// Postgres while this replica is alone on the database (`lease.rs`).
pub async fn open(database_url: &str) -> Result<Arc<dyn Store>, StoreError> {
    open_with(database_url, true).await
}

/// [`open`] without the read cache: every read asks the database (Postgres checks kept
/// groups in it).
pub async fn open_uncached(database_url: &str) -> Result<Arc<dyn Store>, StoreError> {
    open_with(database_url, false).await
}

async fn open_with(database_url: &str, cached: bool) -> Result<Arc<dyn Store>, StoreError> {
    let (db, cache) = if database_url.starts_with("sqlite:") {
        let cache = cached.then(|| Arc::new(cache::Cache::default()));
        (sqlite::open(database_url).await?, cache)
    } else if database_url.starts_with("postgres:") || database_url.starts_with("postgresql:") {
        let lease = lease::Lease::new();
        let db = postgres::open(database_url, &lease).await?;
        // Serves only while this replica is alone on the database (`lease.rs`).
        let cache = cached.then(|| Arc::new(cache::Cache::serving(false)));
        if let (Some(cache), Some(pool)) = (&cache, db.postgres_pool()) {
            lease.spawn(pool.clone(), cache.clone());
        }
        (db, cache)
    } else {
        return Err(StoreError::Internal(format!(
            "unsupported database URL scheme (use sqlite:// or postgres://): {}",
            crate::config::redact_url(database_url)
        )));
    };
    let changes = match db.postgres_pool() {
        Some(pool) => Changes::listen(pool).await?,
        None => Changes::local(),
    };
    let group_commit =
        group_commit::GroupCommit::spawn(db.clone(), cache.clone(), changes.clone())?;
    // Postgres may be shared by replicas: its groups are kept only as checked on every read.
    let checked_groups =
        (db.dialect() == Dialect::Postgres).then(|| groups::CheckedReads::spawn(db.clone()));
    let group_versions = {
        let db = db.clone();
        coalesce::Coalesced::spawn(move |projects| groups::group_versions(db.clone(), projects))
    };
    Ok(Arc::new(SqlStore {
        db,
        cache,
        group_commit,
        changes,
        group_pages: cache::GroupPages::default(),
        checked_groups,
        group_versions,
    }))
}
