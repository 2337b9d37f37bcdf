//! File search (`POST /files/search/`): one SQL statement per page over the `files` table
//! and the `file_tags` index, conditions ANDed, every one of them bound (never spliced).
//!
//! Index use: tag filters are lookups in `file_tags (project, tag, file_uuid)`: the rarest
//! tag condition (when it has fewer than [`DRIVING_TAG_ROWS`] files) drives the query from
//! the tag index, the others are checked per file (`EXISTS`), so a common tag pages along
//! the upload-time index and a rare one reads only its files. Exact values and ranges use
//! `files (project, mime_type | original_filename | size | uploaded_us)`. Full-text
//! conditions (`query`, `phrase`) and exact metadata values are case-insensitive substring
//! or JSON scans over the project's rows, which no b-tree index serves.

use async_trait::async_trait;
use serde_json::Value;
use uuid::Uuid;

use super::db::{Dialect, Sql};
use super::files::Expiry;
use super::rows::{FileRow, FILE_COLUMNS};
use super::{FileRecord, SqlStore};
use crate::error::StoreError;

/// Most matches `total` counts (the deepest a search reaches); beyond it `total` says this
/// many.
pub const MAX_COUNTED: i64 = 1_000;

/// A tag condition with fewer files than this drives the query from the tag index.
pub const DRIVING_TAG_ROWS: i64 = 5_000;

/// Which tag condition drives the query from the tag index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Driver {
    /// None: every tag condition is checked per file.
    Files,
    /// `tags.any`.
    Any,
    /// The `tags.all` tag at this index.
    All(usize),
}

/// Bounds of a range condition; `None` is no bound.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Range {
    /// Strictly greater than.
    pub gt: Option<i64>,
    /// Greater than or equal.
    pub gte: Option<i64>,
    /// Strictly less than.
    pub lt: Option<i64>,
    /// Less than or equal.
    pub lte: Option<i64>,
}

/// A field full-text conditions look in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextField {
    /// `original_filename`.
    Filename,
    /// `detected_mime_type` (the file's MIME type).
    MimeType,
    /// Any metadata value.
    Metadata,
}

/// A sort key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortKey {
    /// Relevance: how many full-text conditions' fields matched (0 without any).
    Score,
    /// Upload time.
    Uploaded,
    /// Size in bytes.
    Size,
    /// File name.
    Filename,
}

/// What a search selects (conditions ANDed) and how it orders.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SearchFilter {
    /// Full-text terms, each with the fields it may match in (any of them), lowercased.
    pub text: Vec<(String, Vec<TextField>)>,
    /// `query` also matches a file whose uuid is this.
    pub query_uuid: Option<Uuid>,
    /// Exact uuids (any).
    pub uuids: Option<Vec<Uuid>>,
    /// Exact MIME types (any).
    pub mime_types: Option<Vec<String>>,
    /// Exact file names (any).
    pub filenames: Option<Vec<String>>,
    /// Exact metadata values per key (any value, every key).
    pub metadata: Vec<(String, Vec<String>)>,
    /// Upload time, microseconds.
    pub uploaded: Range,
    /// Size in bytes.
    pub size: Range,
    /// Images only (`true`) or no images (`false`).
    pub is_image: Option<bool>,
    /// Has at least one of these tags.
    pub tags_any: Vec<String>,
    /// Has every one of these tags.
    pub tags_all: Vec<String>,
    /// Has none of these tags.
    pub tags_none: Vec<String>,
    /// Sort keys, `true` for descending; the upload time (newest first) and the uuid break
    /// remaining ties.
    pub sort: Vec<(SortKey, bool)>,
}

/// One page of a search.
#[derive(Clone, Debug)]
pub struct SearchPage {
    /// The page's files.
    pub files: Vec<FileRecord>,
    /// Matches in all, at most [`MAX_COUNTED`].
    pub total: i64,
}

/// File search.
#[async_trait]
pub trait SearchStore: Send + Sync {
    /// The project's live files (see [`Expiry`]) that pass `filter`: `limit` of them after
    /// skipping `offset`, and how many there are.
    async fn search_files(
        &self,
        project: &str,
        filter: &SearchFilter,
        expiry: Expiry,
        (offset, limit): (i64, i64),
    ) -> Result<SearchPage, StoreError>;
}

/// `%term%` for `LIKE … ESCAPE '\'`.
fn contains_pattern(term: &str) -> String {
    let mut p = String::with_capacity(term.len() + 2);
    p.push('%');
    for c in term.chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// Appends "`field` contains the bound pattern". For metadata, a substring match on the
/// column's JSON text comes first, cheap, to skip most rows before the per-value check
/// (when the term has nothing JSON would escape).
fn push_match(sql: &mut Sql, dialect: Dialect, field: TextField, pattern: &str) {
    let plain = !pattern
        .chars()
        .any(|c| c == '"' || c == '\\' || c.is_control());
    if field == TextField::Metadata && plain {
        sql.push("(LOWER(files.metadata) LIKE ")
            .push_bind(pattern)
            .push(" ESCAPE '\\' AND ");
    }
    match field {
        TextField::Filename => sql.push("LOWER(original_filename) LIKE "),
        TextField::MimeType => sql.push("LOWER(mime_type) LIKE "),
        TextField::Metadata => match dialect {
            Dialect::Sqlite => {
                sql.push("EXISTS (SELECT 1 FROM json_each(files.metadata) m WHERE LOWER(m.value) LIKE ")
            }
            Dialect::Postgres => sql.push(
                "EXISTS (SELECT 1 FROM json_each_text(files.metadata::json) m WHERE LOWER(m.value) LIKE ",
            ),
        },
    };
    sql.push_bind(pattern).push(" ESCAPE '\\'");
    if field == TextField::Metadata {
        sql.push(if plain { "))" } else { ")" });
    }
}

fn push_range(sql: &mut Sql, column: &str, r: &Range) {
    for (op, bound) in [(">", r.gt), (">=", r.gte), ("<", r.lt), ("<=", r.lte)] {
        if let Some(v) = bound {
            sql.push(&format!(" AND {column} {op} ")).push_bind(v);
        }
    }
}

/// Appends the condition selecting the project's live files that pass `f`.
fn push_condition(
    sql: &mut Sql,
    (dialect, driver): (Dialect, Driver),
    project: &str,
    f: &SearchFilter,
    expiry: Expiry,
) {
    sql.push("project = ").push_bind(project);
    sql.push(" AND removed_us IS NULL AND (stored_us IS NOT NULL OR uploaded_us > ")
        .push_bind(expiry.cutoff_us)
        .push(")");
    for (i, (term, fields)) in f.text.iter().enumerate() {
        let pattern = contains_pattern(term);
        sql.push(" AND (");
        for (j, field) in fields.iter().enumerate() {
            if j > 0 {
                sql.push(" OR ");
            }
            push_match(sql, dialect, *field, &pattern);
        }
        if let (0, Some(uuid)) = (i, f.query_uuid) {
            sql.push(" OR uuid = ").push_bind(uuid);
        }
        sql.push(")");
    }
    if let Some(uuids) = &f.uuids {
        sql.push(" AND uuid IN (")
            .push_list(uuids.iter().copied())
            .push(")");
    }
    if let Some(types) = &f.mime_types {
        sql.push(" AND mime_type IN (")
            .push_list(types.iter())
            .push(")");
    }
    if let Some(names) = &f.filenames {
        sql.push(" AND original_filename IN (")
            .push_list(names.iter())
            .push(")");
    }
    for (key, values) in &f.metadata {
        // The column's text as written (compact JSON) has `"key":"value"` for a match: a
        // cheap substring test first, the JSON value check after.
        sql.push(" AND (");
        for (i, value) in values.iter().enumerate() {
            if i > 0 {
                sql.push(" OR ");
            }
            let pair = format!(
                "{}:{}",
                Value::from(key.as_str()),
                Value::from(value.as_str())
            );
            sql.push("files.metadata LIKE ")
                .push_bind(contains_pattern(&pair))
                .push(" ESCAPE '\\'");
        }
        sql.push(")");
        match dialect {
            Dialect::Sqlite => sql
                .push(" AND json_extract(metadata, ")
                .push_bind(format!("$.\"{key}\""))
                .push(") IN ("),
            Dialect::Postgres => sql
                .push(" AND (metadata::json ->> ")
                .push_bind(key)
                .push(") IN ("),
        };
        sql.push_list(values.iter()).push(")");
    }
    push_range(sql, "uploaded_us", &f.uploaded);
    push_range(sql, "size", &f.size);
    match f.is_image {
        Some(true) => sql.push(" AND image_format IS NOT NULL"),
        Some(false) => sql.push(" AND image_format IS NULL"),
        None => sql,
    };
    // `drives`: the files of the tag index (read first); otherwise a lookup per file.
    let tagged = |sql: &mut Sql, tags: &[String], drives: bool| {
        if drives {
            sql.push("uuid IN (SELECT file_uuid FROM file_tags WHERE project = ");
        } else {
            sql.push(
                "EXISTS (SELECT 1 FROM file_tags t WHERE t.file_uuid = files.uuid AND t.project = ",
            );
        }
        sql.push_bind(project)
            .push(" AND tag IN (")
            .push_list(tags.iter())
            .push("))");
    };
    if !f.tags_any.is_empty() {
        sql.push(" AND ");
        tagged(sql, &f.tags_any, driver == Driver::Any);
    }
    for (i, tag) in f.tags_all.iter().enumerate() {
        sql.push(" AND ");
        tagged(sql, std::slice::from_ref(tag), driver == Driver::All(i));
    }
    if !f.tags_none.is_empty() {
        sql.push(" AND NOT ");
        tagged(sql, &f.tags_none, false);
    }
}

/// Appends the relevance expression: one point per full-text condition whose first field
/// list matched in the file name, the MIME type or the metadata, each counted.
fn push_score(sql: &mut Sql, dialect: Dialect, f: &SearchFilter) {
    sql.push("(0");
    for (term, fields) in &f.text {
        let pattern = contains_pattern(term);
        for field in fields {
            sql.push(" + CASE WHEN ");
            push_match(sql, dialect, *field, &pattern);
            sql.push(" THEN 1 ELSE 0 END");
        }
    }
    sql.push(")");
}

fn push_order(sql: &mut Sql, dialect: Dialect, f: &SearchFilter) {
    sql.push(" ORDER BY ");
    for (key, descending) in &f.sort {
        match key {
            SortKey::Score if f.text.is_empty() => continue,
            SortKey::Score => push_score(sql, dialect, f),
            SortKey::Uploaded => {
                sql.push("uploaded_us");
            }
            SortKey::Size => {
                sql.push("size");
            }
            SortKey::Filename => {
                sql.push("original_filename");
            }
        }
        sql.push(if *descending { " DESC, " } else { " ASC, " });
    }
    sql.push("uploaded_us DESC, uuid ASC");
}

impl SqlStore {
    /// The rarest tag condition of `f` if it has fewer than [`DRIVING_TAG_ROWS`] files
    /// (counted in the tag index, stopping there).
    async fn driver(&self, project: &str, f: &SearchFilter) -> Result<Driver, StoreError> {
        let mut candidates: Vec<(Driver, &[String])> = Vec::new();
        if !f.tags_any.is_empty() {
            candidates.push((Driver::Any, &f.tags_any));
        }
        for (i, tag) in f.tags_all.iter().enumerate() {
            candidates.push((Driver::All(i), std::slice::from_ref(tag)));
        }
        let mut best = (Driver::Files, DRIVING_TAG_ROWS);
        for (driver, tags) in candidates {
            let mut sql =
                Sql::new("SELECT COUNT(*) FROM (SELECT 1 FROM file_tags WHERE project = $1")
                    .bind(project);
            sql.push(" AND tag IN (")
                .push_list(tags.iter())
                .push(") LIMIT ")
                .push_bind(DRIVING_TAG_ROWS)
                .push(") AS rows_of_tag");
            let (n,): (i64,) = self.db.fetch_one(&sql).await?;
            if n < best.1 {
                best = (driver, n);
            }
        }
        Ok(best.0)
    }
}

#[async_trait]
impl SearchStore for SqlStore {
    async fn search_files(
        &self,
        project: &str,
        filter: &SearchFilter,
        expiry: Expiry,
        (offset, limit): (i64, i64),
    ) -> Result<SearchPage, StoreError> {
        let dialect = self.db.dialect();
        let driver = self.driver(project, filter).await?;
        let mut sql = Sql::new(format!("SELECT {FILE_COLUMNS} FROM files WHERE "));
        push_condition(&mut sql, (dialect, driver), project, filter, expiry);
        push_order(&mut sql, dialect, filter);
        sql.push(" LIMIT ")
            .push_bind(limit)
            .push(" OFFSET ")
            .push_bind(offset);
        let files = self
            .db
            .fetch_all::<FileRow>(&sql)
            .await?
            .into_iter()
            .map(FileRecord::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        let mut count = Sql::new("SELECT COUNT(*) FROM (SELECT 1 FROM files WHERE ");
        push_condition(&mut count, (dialect, driver), project, filter, expiry);
        count
            .push(" LIMIT ")
            .push_bind(MAX_COUNTED)
            .push(") AS matches");
        let (total,): (i64,) = self.db.fetch_one(&count).await?;
        Ok(SearchPage { files, total })
    }
}
