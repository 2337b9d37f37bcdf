//! Reads for the browser console (`crate::console`): every project, a project's file counts
//! by state, files by state and text (paged with the one paging primitive), and webhook
//! deliveries page by page. Nothing here writes.

use super::rows::row_struct;
use async_trait::async_trait;

use super::db::{Dialect, Sql};
use super::files::Expiry;
use super::page::{page, Listing, Page};
use super::rows::{FileRow, FILE_COLUMNS};
use super::search::{push_text_index, text_index_query, TextField};
use super::webhooks::{Delivery, DELIVERY_COLUMNS};
use super::{FileRecord, PageQuery, Project, SqlStore};
use crate::error::StoreError;

/// Which of a project's files the console lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileView {
    /// Every file, removed and expired ones included.
    All,
    /// Stored and not removed.
    Stored,
    /// Neither stored nor removed, and not yet expired: these expire when the retention ends.
    Expiring,
    /// Removed, or unstored past the retention (expired).
    Removed,
}

/// A file search: a view, optional text and what "expired" means now.
#[derive(Clone, Copy, Debug)]
pub struct FileSearch<'a> {
    /// Which files.
    pub view: FileView,
    /// Text the original file name or the metadata (as JSON text) contains, any case.
    pub text: Option<&'a str>,
    /// The expiry rule now.
    pub expiry: Expiry,
}

impl FileSearch<'_> {
    /// Appends the condition selecting the project's files found by the search.
    fn sql(&self, text_index: Option<&str>, project: &str, sql: &mut Sql) {
        sql.push("project = ").push_bind(project);
        match self.view {
            FileView::All => {}
            FileView::Stored => {
                sql.push(" AND removed_us IS NULL AND stored_us IS NOT NULL");
            }
            FileView::Expiring => {
                sql.push(" AND stored_us IS NULL AND ");
                self.expiry.live_sql(sql);
            }
            FileView::Removed => {
                sql.push(" AND NOT ");
                self.expiry.live_sql(sql);
            }
        }
        if let Some(text) = self.text.filter(|t| !t.is_empty()) {
            let text = text.to_lowercase();
            if let Some(query) = text_index {
                push_text_index(sql, query);
            }
            let pattern = format!("%{}%", like_escape(&text));
            sql.push(" AND (LOWER(original_filename) LIKE ")
                .push_bind(pattern.clone())
                .push(" ESCAPE '\\' OR LOWER(metadata) LIKE ")
                .push_bind(pattern)
                .push(" ESCAPE '\\')");
        }
    }
}

/// `text` with LIKE's wildcards and escape character escaped.
fn like_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

row_struct! {
    /// A project's files counted by state (in one statement).
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub struct FileCounts {
        /// Every file row.
        pub total: i64,
        /// Stored and not removed.
        pub stored: i64,
        /// Unstored, not removed, not yet expired.
        pub expiring: i64,
        /// Removed or expired.
        pub removed: i64,
    }
}

/// The console's reads.
#[async_trait]
pub trait ConsoleStore: Send + Sync {
    /// Every project, by public key.
    async fn all_projects(&self) -> Result<Vec<Project>, StoreError>;
    /// A project's files counted by state; `None` when `cap` is given and the project has
    /// more files than that (counting them all takes a pass over every row).
    async fn file_counts(
        &self,
        project: &str,
        expiry: Expiry,
        cap: Option<i64>,
    ) -> Result<Option<FileCounts>, StoreError>;
    /// One page of the project's files found by `search`, by upload time.
    async fn find_files(
        &self,
        project: &str,
        search: &FileSearch<'_>,
        page: &PageQuery,
    ) -> Result<Page<FileRecord>, StoreError>;
    /// Up to `limit` deliveries with ids below `before` (all when `None`), newest first, of
    /// one project or of all.
    async fn delivery_page(
        &self,
        project: Option<&str>,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<Delivery>, StoreError>;
    /// One delivery by id.
    async fn delivery(&self, id: i64) -> Result<Option<Delivery>, StoreError>;
}

#[async_trait]
impl ConsoleStore for SqlStore {
    async fn all_projects(&self) -> Result<Vec<Project>, StoreError> {
        self.db
            .fetch_all(&Sql::new(
                "SELECT pub_key, secret_key, name, autostore, signed_uploads \
                 FROM projects ORDER BY pub_key",
            ))
            .await
    }

    async fn file_counts(
        &self,
        project: &str,
        expiry: Expiry,
        cap: Option<i64>,
    ) -> Result<Option<FileCounts>, StoreError> {
        if let Some(cap) = cap {
            // Walks at most `cap` entries of the (project, uploaded_us) index.
            let probe = Sql::new(
                "SELECT EXISTS (SELECT 1 FROM files WHERE project = $1 LIMIT 1 OFFSET $2)",
            )
            .bind(project)
            .bind(cap);
            let (over,): (bool,) = self.db.fetch_one(&probe).await?;
            if over {
                return Ok(None);
            }
        }
        let mut sql = Sql::new(
            "SELECT COUNT(*) AS total, \
             COUNT(*) FILTER (WHERE removed_us IS NULL AND stored_us IS NOT NULL) AS stored, \
             COUNT(*) FILTER (WHERE stored_us IS NULL AND ",
        );
        expiry.live_sql(&mut sql);
        sql.push(") AS expiring, COUNT(*) FILTER (WHERE NOT ");
        expiry.live_sql(&mut sql);
        sql.push(") AS removed FROM files WHERE project = ")
            .push_bind(project);
        self.db.fetch_one(&sql).await.map(Some)
    }

    async fn find_files(
        &self,
        project: &str,
        search: &FileSearch<'_>,
        q: &PageQuery,
    ) -> Result<Page<FileRecord>, StoreError> {
        // A rare text is looked up in the trigram index first (SQLite, migration 0013): no
        // full scan at 1,000,000 files; a common one is met soon along the upload-time index.
        let mut text_index = None;
        if let (Dialect::Sqlite, Some(text)) = (self.db.dialect(), search.text) {
            let fields = [TextField::Filename, TextField::Metadata];
            if let Some(query) = text_index_query(&text.to_lowercase(), &fields) {
                if self.text_index_narrows(&query).await? {
                    text_index = Some(query);
                }
            }
        }
        let listing = Listing {
            table: "files",
            time: "uploaded_us",
            columns: FILE_COLUMNS,
            condition: &|sql| search.sql(text_index.as_deref(), project, sql),
        };
        page::<FileRow>(&self.db, &listing, q)
            .await?
            .try_map(FileRecord::try_from)
    }

    async fn delivery_page(
        &self,
        project: Option<&str>,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<Delivery>, StoreError> {
        let mut sql = Sql::new(format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE id < "
        ));
        sql.push_bind(before.unwrap_or(i64::MAX));
        if let Some(project) = project {
            sql.push(" AND project = ").push_bind(project);
        }
        sql.push(" ORDER BY id DESC LIMIT ").push_bind(limit);
        self.db.fetch_all(&sql).await
    }

    async fn delivery(&self, id: i64) -> Result<Option<Delivery>, StoreError> {
        let sql = Sql::new(format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE id = $1"
        ))
        .bind(id);
        self.db.fetch_optional(&sql).await
    }
}

#[cfg(test)]
mod tests {
    use super::like_escape;

    #[test]
    fn like_wildcards_are_literal() {
        assert_eq!(like_escape(r"50%_a\b"), r"50\%\_a\\b");
    }
}
