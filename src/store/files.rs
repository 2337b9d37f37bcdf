//! The `files` table: file rows, their lifecycle (stored, removed, metadata) and the expiry
//! rule, written once for Rust and SQL.

use async_trait::async_trait;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::cache::Cache;
use super::db::{Db, Dialect, Sql, Tx};
use super::page::{page, Listing, Page};
use super::rows::{bind_content, metadata_text, tags_text, FileRow, FILE_COLUMNS};
use super::{FileRecord, PageQuery, SqlStore};
use crate::error::StoreError;

/// The expiry rule: an unstored file expires `retention` after its upload. Both forms of the
/// rule, for a record ([`Expiry::is_live`]) and for a query ([`Expiry::live_sql`]), are here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Expiry {
    /// Unstored files uploaded at or before this time have expired (now minus retention).
    pub cutoff_us: i64,
}

impl Expiry {
    /// The rule at `now_us` for a retention of `retention_us`.
    pub fn new(now_us: i64, retention_us: i64) -> Self {
        Self {
            cutoff_us: now_us.saturating_sub(retention_us),
        }
    }

    /// Whether a file is still served: not removed, and stored or not yet expired.
    pub fn is_live(&self, file: &FileRecord) -> bool {
        file.removed_us.is_none() && (file.stored_us.is_some() || file.uploaded_us > self.cutoff_us)
    }

    /// [`Expiry::is_live`] as a condition on a `files` row (`NOT (…)`: removed or expired).
    pub(super) fn live_sql(&self, sql: &mut Sql) {
        sql.push("(removed_us IS NULL AND (stored_us IS NOT NULL OR uploaded_us > ")
            .push_bind(self.cutoff_us)
            .push("))");
    }
}

/// A change of a file's lifecycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileChange {
    /// Mark stored (`stored_us` = now).
    Store,
    /// Mark removed (`removed_us` = now) and no longer stored.
    Remove,
}

/// Stores or removes the live files of a project among `uuids`, at `now_us`.
#[derive(Clone, Copy, Debug)]
pub struct LifecycleChange<'a> {
    /// The project whose files change.
    pub project: &'a str,
    /// The files to change (those not live are left alone).
    pub uuids: &'a [Uuid],
    /// Store or remove.
    pub change: FileChange,
    /// The time written as `stored_us` or `removed_us`.
    pub now_us: i64,
}

/// A compare and swap of one part of a file's description (its metadata or its tags):
/// `new` replaces `old` if the project's file still has `old`.
#[derive(Clone, Copy, Debug)]
pub struct FileSwap<'a, T: ?Sized> {
    /// The project the file belongs to.
    pub project: &'a str,
    /// The file.
    pub uuid: Uuid,
    /// The value the file must still have.
    pub old: &'a T,
    /// The value that replaces it.
    pub new: &'a T,
}

/// Which files a REST file list shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileFilter {
    /// `true`: only removed (or expired) files; `false`: only live ones.
    pub removed: bool,
    /// `Some(true)`: only stored files; `Some(false)`: only unstored ones; `None`: both.
    pub stored: Option<bool>,
    /// What "expired" means now.
    pub expiry: Expiry,
}

impl FileFilter {
    /// Appends the condition selecting the project's files that pass the filter.
    fn sql(&self, project: &str, sql: &mut Sql) {
        sql.push("project = ").push_bind(project).push(" AND ");
        if self.removed {
            sql.push("NOT ");
        }
        self.expiry.live_sql(sql);
        match self.stored {
            Some(true) => sql.push(" AND stored_us IS NOT NULL"),
            Some(false) => sql.push(" AND stored_us IS NULL"),
            None => sql,
        };
    }
}

/// Reads and writes of file rows.
#[async_trait]
pub trait FileStore: Send + Sync {
    /// Writes a new file row (its bytes are already in the blob directory) with the upload
    /// time as given (fixtures; new uploads go through [`Tx::insert_file`]).
    async fn insert_file(&self, file: &FileRecord) -> Result<(), StoreError>;
    /// Reads one file, removed ones included: of `project` when given, else of any project
    /// (the CDN is public).
    async fn file(
        &self,
        project: Option<&str>,
        uuid: Uuid,
    ) -> Result<Option<FileRecord>, StoreError>;
    /// Those of `uuids` that are files of the project not removed, in no particular order.
    async fn live_files(
        &self,
        project: &str,
        uuids: &[Uuid],
    ) -> Result<Vec<FileRecord>, StoreError>;
    /// Stores or removes the live files of the project among `uuids` at `now_us`; returns
    /// the files it changed.
    async fn change_files(&self, c: LifecycleChange<'_>) -> Result<Vec<FileRecord>, StoreError>;
    /// Replaces a file's metadata with `new` if it is still `old` (compare and swap);
    /// `false` when the file is gone or its metadata changed meanwhile.
    async fn replace_file_metadata(
        &self,
        swap: FileSwap<'_, Map<String, Value>>,
    ) -> Result<bool, StoreError>;
    /// One page of the project's files that pass `filter`, by upload time.
    async fn list_files(
        &self,
        project: &str,
        filter: &FileFilter,
        page: &PageQuery,
    ) -> Result<Page<FileRecord>, StoreError>;
    /// Number of the project's files that pass `filter`.
    async fn count_files(&self, project: &str, filter: &FileFilter) -> Result<i64, StoreError>;
    /// The blob addresses among `hashes` that some file row uses (any project, removed or not).
    async fn blobs_in_use(&self, hashes: &[String]) -> Result<Vec<String>, StoreError>;
}

impl Tx {
    /// Writes a new file row (its bytes are already in the blob directory). On Postgres
    /// its upload time is the project's next stamp, written back into `f` (see
    /// [`Tx::write_file`]); [`FileStore::insert_file`] writes the record's time as given.
    pub async fn insert_file(&mut self, f: &mut FileRecord) -> Result<(), StoreError> {
        self.write_file(f, true).await
    }

    /// Writes a file row; with `restamp` on Postgres, at the project's next stamp.
    async fn write_file(&mut self, f: &mut FileRecord, restamp: bool) -> Result<(), StoreError> {
        let columns = "uuid, project, size, blob, original_filename, mime_type, \
             image_format, image_width, image_height, color_mode, metadata, tags, uploaded_us, \
             stored_us, removed_us";
        let text = match (self.dialect(), restamp) {
            // One process hands out the stamps (`Clock::unique_us`): written as given.
            (Dialect::Sqlite, _) | (_, false) => format!(
                "INSERT INTO files ({columns}) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
                 RETURNING uploaded_us, stored_us"
            ),
            // Replicas: the stamp comes from the project's row, later than every stamp of
            // the project before (unique and increasing across replicas), and the row lock
            // orders the project's commits, so a `from` cursor never passes an upload that
            // commits later. Still one statement. A file stored at upload keeps
            // `stored_us = uploaded_us`.
            (Dialect::Postgres, true) => format!(
                "WITH s AS (UPDATE projects SET last_us = GREATEST(last_us + 1, $13) \
                 WHERE pub_key = $2 RETURNING last_us) \
                 INSERT INTO files ({columns}) \
                 SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, \
                 COALESCE(s.last_us, $13), \
                 CASE WHEN $14 = $13 THEN COALESCE(s.last_us, $13) ELSE $14 END, $15 \
                 FROM (SELECT 1) AS one LEFT JOIN s ON TRUE \
                 RETURNING uploaded_us, stored_us"
            ),
        };
        let sql = bind_content(Sql::new(text).bind(f.uuid).bind(&f.project), f)
            .bind(metadata_text(&f.metadata))
            .bind(tags_text(&f.tags))
            .bind(f.uploaded_us)
            .bind(f.stored_us)
            .bind(f.removed_us);
        let written: Option<(i64, Option<i64>)> = self.fetch_optional(&sql).await?;
        if let Some((uploaded_us, stored_us)) = written {
            f.uploaded_us = uploaded_us;
            f.stored_us = stored_us;
        }
        self.index_tags(&f.project, f.uuid, &f.tags).await?;
        self.files_changed([f.uuid]);
        Ok(())
    }

    /// See [`FileStore::change_files`].
    pub async fn change_files(
        &mut self,
        c: LifecycleChange<'_>,
    ) -> Result<Vec<FileRecord>, StoreError> {
        let LifecycleChange {
            project,
            uuids,
            change,
            now_us,
        } = c;
        let set = match change {
            FileChange::Store => "stored_us = ",
            FileChange::Remove => "stored_us = NULL, removed_us = ",
        };
        if uuids.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = Sql::new(format!("UPDATE files SET {set}"));
        sql.push_bind(now_us)
            .push(" WHERE project = ")
            .push_bind(project)
            .push(" AND removed_us IS NULL AND uuid IN (")
            .push_list(uuids.iter().copied())
            .push(") RETURNING ")
            .push(FILE_COLUMNS);
        let rows: Vec<FileRow> = self.fetch_all(&sql).await?;
        self.files_changed(uuids.iter().copied());
        rows.into_iter().map(FileRecord::try_from).collect()
    }

    /// See [`FileStore::replace_file_metadata`].
    pub async fn replace_file_metadata(
        &mut self,
        swap: FileSwap<'_, Map<String, Value>>,
    ) -> Result<bool, StoreError> {
        let sql = Sql::new(
            "UPDATE files SET metadata = $1 WHERE uuid = $2 AND project = $3 AND metadata = $4",
        )
        .bind(metadata_text(swap.new))
        .bind(swap.uuid)
        .bind(swap.project)
        .bind(metadata_text(swap.old));
        let done = self.execute(&sql).await? > 0;
        self.files_changed([swap.uuid]);
        Ok(done)
    }

    /// Deletes every file row of a project (test isolation).
    pub async fn delete_project_files(&mut self, project: &str) -> Result<(), StoreError> {
        self.execute(&Sql::new("DELETE FROM file_tags WHERE project = $1").bind(project))
            .await?;
        self.execute(&Sql::new("DELETE FROM files WHERE project = $1").bind(project))
            .await?;
        self.all_changed();
        Ok(())
    }
}

#[async_trait]
impl FileStore for SqlStore {
    async fn insert_file(&self, file: &FileRecord) -> Result<(), StoreError> {
        let mut file = file.clone();
        self.write(async |tx| tx.write_file(&mut file, false).await)
            .await
    }

    async fn file(
        &self,
        project: Option<&str>,
        uuid: Uuid,
    ) -> Result<Option<FileRecord>, StoreError> {
        let mut sql =
            Sql::new(format!("SELECT {FILE_COLUMNS} FROM files WHERE uuid = $1")).bind(uuid);
        if let Some(project) = project {
            sql.push(" AND project = ").push_bind(project);
        }
        self.db
            .fetch_optional::<FileRow>(&sql)
            .await?
            .map(FileRecord::try_from)
            .transpose()
    }

    async fn live_files(
        &self,
        project: &str,
        uuids: &[Uuid],
    ) -> Result<Vec<FileRecord>, StoreError> {
        live_files(&self.db, self.cache.as_deref(), project, uuids).await
    }

    async fn change_files(&self, c: LifecycleChange<'_>) -> Result<Vec<FileRecord>, StoreError> {
        self.write(async |tx| tx.change_files(c).await).await
    }

    async fn replace_file_metadata(
        &self,
        swap: FileSwap<'_, Map<String, Value>>,
    ) -> Result<bool, StoreError> {
        self.write(async |tx| tx.replace_file_metadata(swap).await)
            .await
    }

    async fn list_files(
        &self,
        project: &str,
        filter: &FileFilter,
        q: &PageQuery,
    ) -> Result<Page<FileRecord>, StoreError> {
        let listing = Listing {
            table: "files",
            time: "uploaded_us",
            columns: FILE_COLUMNS,
            condition: &|sql| filter.sql(project, sql),
        };
        page::<FileRow>(&self.db, &listing, q)
            .await?
            .try_map(FileRecord::try_from)
    }

    async fn count_files(&self, project: &str, filter: &FileFilter) -> Result<i64, StoreError> {
        let mut sql = Sql::new("SELECT COUNT(*) FROM files WHERE ");
        filter.sql(project, &mut sql);
        let (n,): (i64,) = self.db.fetch_one(&sql).await?;
        Ok(n)
    }

    async fn blobs_in_use(&self, hashes: &[String]) -> Result<Vec<String>, StoreError> {
        if hashes.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = Sql::new("SELECT DISTINCT blob FROM files WHERE blob IN (");
        sql.push_list(hashes.iter()).push(")");
        let rows: Vec<(String,)> = self.db.fetch_all(&sql).await?;
        Ok(rows.into_iter().map(|(h,)| h).collect())
    }
}

/// The files of `project` among `uuids` that are not removed, through the read cache when
/// there is one ([`super::FileStore::live_files`], and the group writer's batch check). One
/// statement whose text does not depend on the number of uuids (the uuids are one JSON
/// parameter), so both databases reuse one prepared statement.
pub(super) async fn live_files(
    db: &Db,
    cache: Option<&Cache>,
    project: &str,
    uuids: &[Uuid],
) -> Result<Vec<FileRecord>, StoreError> {
    if uuids.is_empty() {
        return Ok(Vec::new());
    }
    let load = async {
        let list = Value::Array(uuids.iter().map(|u| Value::String(u.to_string())).collect());
        let among = match db.dialect() {
            Dialect::Sqlite => "uuid IN (SELECT value FROM json_each($2))",
            Dialect::Postgres => "uuid = ANY (ARRAY (SELECT json_array_elements_text($2::json)))",
        };
        let sql = Sql::new(format!(
            "SELECT {FILE_COLUMNS} FROM files WHERE project = $1 AND removed_us IS NULL AND {among}"
        ))
        .bind(project)
        .bind(list.to_string());
        db.fetch_all::<FileRow>(&sql)
            .await?
            .into_iter()
            .map(FileRecord::try_from)
            .collect()
    };
    match cache {
        Some(cache) => cache.live_files_through(project, uuids, load).await,
        None => load.await,
    }
}
