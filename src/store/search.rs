//! File search (`POST /files/search/`): one SQL statement per page over the `files` table
//! and its search indexes (migration 0013), conditions ANDed, every one of them bound (never
//! spliced).
//!
//! Index use: tag and exact-metadata conditions are lookups in `file_tags` and
//! `file_metadata`, both keyed by (project, tag or key and value, upload time). The rarest of
//! them drives the query: newest first it walks that index in upload-time order and stops
//! after the page (any frequency); in another order it is read first when it has fewer than
//! [`DRIVING_ROWS`] files; otherwise files are read along the upload-time index and each
//! condition is checked per file. Exact values and ranges use `files (project, mime_type |
//! original_filename | size | uploaded_us)`. Full-text conditions (`query`, `phrase`) of
//! three characters or more read SQLite's trigram index `files_text` first; on Postgres they
//! are case-insensitive scans of the project's rows (pg_trgm would need an extension the
//! emulator cannot assume).

use async_trait::async_trait;
use uuid::Uuid;

use super::db::{Dialect, Sql};
use super::files::Expiry;
use super::rows::{FileRow, FILE_COLUMNS};
use super::{FileRecord, SqlStore};
use crate::error::StoreError;

/// Most matches `total` counts (the deepest a search reaches); beyond it `total` says this
/// many.
pub const MAX_COUNTED: i64 = 1_000;

/// An index condition with fewer files than this is read first in any sort order.
pub const DRIVING_ROWS: i64 = 5_000;

/// An index-backed condition of a filter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cond {
    /// `tags.any`.
    Any,
    /// The `tags.all` tag at this index.
    All(usize),
    /// The exact metadata condition at this index.
    Meta(usize),
}

/// How the query reads its files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Driver {
    /// Along the upload-time index, every condition checked per file.
    Files,
    /// The condition's files first (a set, sorted afterwards).
    Set(Cond),
    /// The condition's index entries newest first, joined to their files (one value only).
    Ordered(Cond),
}

/// How a search reads the database: its driver, and per full-text term the trigram-index
/// query to read first (only where the index narrows the search down).
struct Plan {
    driver: Driver,
    text_index: Vec<Option<String>>,
}

/// Where a condition's files are listed: the table, its value column, the key (metadata
/// only) and the values (any of them).
struct Lookup<'a> {
    table: &'static str,
    column: &'static str,
    key: Option<&'a str>,
    values: &'a [String],
}

impl<'a> Lookup<'a> {
    fn of(f: &'a SearchFilter, cond: Cond) -> Self {
        match cond {
            Cond::Any => Self::tags(&f.tags.any),
            Cond::All(i) => Self::tags(std::slice::from_ref(&f.tags.all[i])),
            Cond::Meta(i) => Self {
                table: "file_metadata",
                column: "value",
                key: Some(f.metadata[i].0.as_str()),
                values: &f.metadata[i].1,
            },
        }
    }

    fn tags(values: &'a [String]) -> Self {
        Self {
            table: "file_tags",
            column: "tag",
            key: None,
            values,
        }
    }

    /// `FROM <table> WHERE project = … [AND key = …] AND <column> IN (…)`.
    fn push_from(&self, sql: &mut Sql, project: &str) {
        sql.push(" FROM ")
            .push(self.table)
            .push(" WHERE project = ")
            .push_bind(project);
        if let Some(key) = self.key {
            sql.push(" AND key = ").push_bind(key);
        }
        sql.push(" AND ")
            .push(self.column)
            .push(" IN (")
            .push_list(self.values.iter())
            .push(")");
    }
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

/// The tag conditions of a search (normalized tags; empty lists impose nothing).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TagFilter {
    /// Has at least one of these tags.
    pub any: Vec<String>,
    /// Has every one of these tags.
    pub all: Vec<String>,
    /// Has none of these tags.
    pub none: Vec<String>,
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
    /// Tag conditions.
    pub tags: TagFilter,
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

/// What one search asks for: the files that pass `filter` and are live by `expiry`, `limit`
/// of them after skipping `offset`.
#[derive(Clone, Copy, Debug)]
pub struct SearchQuery<'a> {
    /// Which files match.
    pub filter: &'a SearchFilter,
    /// What "expired" means now.
    pub expiry: Expiry,
    /// How many matches to skip.
    pub offset: i64,
    /// How many matches to return at most.
    pub limit: i64,
}

/// File search.
#[async_trait]
pub trait SearchStore: Send + Sync {
    /// The project's live files (see [`Expiry`]) that pass the query's filter: one window
    /// of them, and how many there are.
    async fn search_files(
        &self,
        project: &str,
        query: SearchQuery<'_>,
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

/// Appends the condition selecting the project's live files that pass `f` (the driving
/// condition's part as the driver needs it).
fn push_condition(
    sql: &mut Sql,
    (dialect, plan): (Dialect, &Plan),
    project: &str,
    f: &SearchFilter,
    expiry: Expiry,
) {
    let driver = plan.driver;
    sql.push("project = ").push_bind(project);
    sql.push(" AND removed_us IS NULL AND (stored_us IS NOT NULL OR uploaded_us > ")
        .push_bind(expiry.cutoff_us)
        .push(")");
    for (i, (term, fields)) in f.text.iter().enumerate() {
        if let Some(Some(query)) = plan.text_index.get(i) {
            push_text_index(sql, query);
        }
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
    push_range(sql, "uploaded_us", &f.uploaded);
    push_range(sql, "size", &f.size);
    match f.is_image {
        Some(true) => sql.push(" AND image_format IS NOT NULL"),
        Some(false) => sql.push(" AND image_format IS NULL"),
        None => sql,
    };
    // Index conditions: the driving one as its driver reads it, the others per file.
    let indexed = |sql: &mut Sql, cond: Cond| {
        let lookup = Lookup::of(f, cond);
        match driver {
            Driver::Ordered(d) if d == cond => return,
            Driver::Set(d) if d == cond => {
                sql.push(" AND uuid IN (SELECT file_uuid");
            }
            _ => {
                sql.push(" AND EXISTS (SELECT 1");
            }
        }
        lookup.push_from(sql, project);
        if !matches!(driver, Driver::Set(d) if d == cond) {
            sql.push(" AND file_uuid = files.uuid");
        }
        sql.push(")");
    };
    if !f.tags.any.is_empty() {
        indexed(sql, Cond::Any);
    }
    for i in 0..f.tags.all.len() {
        indexed(sql, Cond::All(i));
    }
    for i in 0..f.metadata.len() {
        indexed(sql, Cond::Meta(i));
    }
    if !f.tags.none.is_empty() {
        sql.push(" AND NOT EXISTS (SELECT 1");
        Lookup::tags(&f.tags.none).push_from(sql, project);
        sql.push(" AND file_uuid = files.uuid)");
    }
}

/// The trigram-index query finding `term` in one of `fields` (SQLite's `files_text`), or
/// `None` for terms under three characters (they have no trigram).
pub(super) fn text_index_query(term: &str, fields: &[TextField]) -> Option<String> {
    if term.chars().count() < 3 || fields.is_empty() {
        return None;
    }
    let columns: Vec<&str> = fields
        .iter()
        .map(|field| match field {
            TextField::Filename => "original_filename",
            TextField::MimeType => "mime_type",
            TextField::Metadata => "metadata",
        })
        .collect();
    Some(format!(
        "{{{}}} : \"{}\"",
        columns.join(" "),
        term.replace('"', "\"\"")
    ))
}

/// Appends "the trigram index finds the file" for a [`text_index_query`].
pub(super) fn push_text_index(sql: &mut Sql, query: &str) {
    sql.push(" AND files.rowid IN (SELECT rowid FROM files_text WHERE files_text MATCH ")
        .push_bind(query.to_owned())
        .push(")");
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

/// Whether `f` sorts newest first only (the relevance key counts only with text).
fn newest_first(f: &SearchFilter) -> bool {
    let keys: Vec<&(SortKey, bool)> = f
        .sort
        .iter()
        .filter(|(key, _)| !(*key == SortKey::Score && f.text.is_empty()))
        .collect();
    keys.is_empty() || keys == [&(SortKey::Uploaded, true)]
}

impl SqlStore {
    /// How the search of `f` reads its files: from its rarest index condition when there is
    /// one, see the module docs.
    async fn plan(&self, project: &str, f: &SearchFilter) -> Result<Plan, StoreError> {
        let mut text_index = Vec::with_capacity(f.text.len());
        for (i, (term, fields)) in f.text.iter().enumerate() {
            let by_uuid = i == 0 && f.query_uuid.is_some();
            let query = match self.db.dialect() {
                Dialect::Sqlite if !by_uuid => text_index_query(term, fields),
                _ => None,
            };
            text_index.push(match query {
                Some(q) if self.text_index_narrows(&q).await? => Some(q),
                _ => None,
            });
        }
        let driver = self.driver(project, f).await?;
        Ok(Plan { driver, text_index })
    }

    /// Whether the trigram index finds fewer than [`DRIVING_ROWS`] files for `query`: then
    /// reading it first pays; a common term is met sooner along the upload-time index.
    pub(super) async fn text_index_narrows(&self, query: &str) -> Result<bool, StoreError> {
        let mut sql = Sql::new(
            "SELECT COUNT(*) FROM (SELECT 1 FROM files_text WHERE files_text MATCH $1 LIMIT ",
        )
        .bind(query.to_owned());
        sql.push_bind(DRIVING_ROWS).push(") AS found");
        let (n,): (i64,) = self.db.fetch_one(&sql).await?;
        Ok(n < DRIVING_ROWS)
    }

    async fn driver(&self, project: &str, f: &SearchFilter) -> Result<Driver, StoreError> {
        let mut candidates = Vec::new();
        if !f.tags.any.is_empty() {
            candidates.push(Cond::Any);
        }
        candidates.extend((0..f.tags.all.len()).map(Cond::All));
        candidates.extend((0..f.metadata.len()).map(Cond::Meta));
        // Each condition's newest DRIVING_ROWS entries: how many there are and how far back
        // they reach. Fewer entries is rarer; among conditions with that many, the one whose
        // newest entries reach furthest back is the rarest (uploads spread over time). One
        // value walks its index in order; several are only counted.
        let mut best: Option<(Cond, (i64, i64))> = None;
        for cond in candidates {
            let lookup = Lookup::of(f, cond);
            let single = lookup.values.len() == 1;
            let mut sql =
                Sql::new("SELECT COUNT(*), COALESCE(MIN(uploaded_us), 0) FROM (SELECT uploaded_us");
            lookup.push_from(&mut sql, project);
            if single {
                sql.push(" ORDER BY uploaded_us DESC");
            }
            sql.push(" LIMIT ")
                .push_bind(DRIVING_ROWS)
                .push(") AS newest_of_condition");
            let (n, oldest): (i64, i64) = self.db.fetch_one(&sql).await?;
            // Unordered samples say nothing about their span: ranked after ordered ones.
            let rank = (n, if single { oldest } else { i64::MAX });
            if best.is_none_or(|(_, fewest)| rank < fewest) {
                best = Some((cond, rank));
            }
        }
        // Exact uuids or names select a handful of files through their own indexes.
        let pinned = f.uuids.is_some() || f.filenames.is_some();
        Ok(match best {
            None => Driver::Files,
            Some(_) if pinned => Driver::Files,
            Some((cond, _)) if newest_first(f) && Lookup::of(f, cond).values.len() == 1 => {
                Driver::Ordered(cond)
            }
            Some((cond, (n, _))) if n < DRIVING_ROWS => Driver::Set(cond),
            Some(_) => Driver::Files,
        })
    }
}

/// Appends `FROM …` and `WHERE …` of a search: the files, or the driving condition's index
/// entries (newest first) joined to their files.
fn push_from_where(
    sql: &mut Sql,
    (dialect, plan): (Dialect, &Plan),
    project: &str,
    f: &SearchFilter,
    expiry: Expiry,
) {
    if let Driver::Ordered(cond) = plan.driver {
        sql.push(" FROM (SELECT file_uuid AS d_uuid, uploaded_us AS d_us");
        Lookup::of(f, cond).push_from(sql, project);
        push_range(sql, "uploaded_us", &f.uploaded);
        sql.push(") AS d JOIN files ON files.uuid = d.d_uuid WHERE ");
    } else {
        sql.push(" FROM files WHERE ");
    }
    push_condition(sql, (dialect, plan), project, f, expiry);
}

#[async_trait]
impl SearchStore for SqlStore {
    async fn search_files(
        &self,
        project: &str,
        query: SearchQuery<'_>,
    ) -> Result<SearchPage, StoreError> {
        let SearchQuery {
            filter,
            expiry,
            offset,
            limit,
        } = query;
        let dialect = self.db.dialect();
        let plan = self.plan(project, filter).await?;
        let mut sql = Sql::new(format!("SELECT {FILE_COLUMNS}"));
        push_from_where(&mut sql, (dialect, &plan), project, filter, expiry);
        if matches!(plan.driver, Driver::Ordered(_)) {
            sql.push(" ORDER BY d.d_us DESC, d.d_uuid ASC");
        } else {
            push_order(&mut sql, dialect, filter);
        }
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
        let mut count = Sql::new("SELECT COUNT(*) FROM (SELECT 1");
        push_from_where(&mut count, (dialect, &plan), project, filter, expiry);
        count
            .push(" LIMIT ")
            .push_bind(MAX_COUNTED)
            .push(") AS matches");
        let (total,): (i64,) = self.db.fetch_one(&count).await?;
        Ok(SearchPage { files, total })
    }
}
