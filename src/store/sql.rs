//! The SQL backends. SQLite and Postgres share every statement; `sql_store!` writes the
//! [`Store`] impl once per backend, and only opening a pool differs.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{FromRow, Postgres, QueryBuilder, Sqlite};
use uuid::Uuid;

use super::{
    Cursor, FileFilter, FileRecord, GroupMember, GroupRecord, ImageFacts, MultipartUpload,
    NewGroup, Order, PageQuery, Project, Store,
};
use crate::error::StoreError;

const FILE_COLUMNS: &str =
    "uuid, project, size, blob, original_filename, mime_type, image_format, \
     image_width, image_height, color_mode, metadata, uploaded_us, stored_us, removed_us";

/// A `files` row as the database returns it.
#[derive(FromRow)]
struct FileRow {
    uuid: String,
    project: String,
    size: i64,
    blob: String,
    original_filename: String,
    mime_type: String,
    image_format: Option<String>,
    image_width: Option<i64>,
    image_height: Option<i64>,
    color_mode: Option<String>,
    metadata: String,
    uploaded_us: i64,
    stored_us: Option<i64>,
    removed_us: Option<i64>,
}

impl TryFrom<FileRow> for FileRecord {
    type Error = StoreError;

    fn try_from(r: FileRow) -> Result<Self, StoreError> {
        let image = match (r.image_format, r.image_width, r.image_height, r.color_mode) {
            (Some(format), Some(width), Some(height), Some(color_mode)) => Some(ImageFacts {
                format,
                width,
                height,
                color_mode,
            }),
            _ => None,
        };
        Ok(FileRecord {
            uuid: parse_uuid(&r.uuid)?,
            project: r.project,
            size: r.size,
            blob: r.blob,
            original_filename: r.original_filename,
            mime_type: r.mime_type,
            image,
            metadata: serde_json::from_str(&r.metadata)
                .map_err(|e| StoreError::Internal(format!("bad metadata column: {e}")))?,
            uploaded_us: r.uploaded_us,
            stored_us: r.stored_us,
            removed_us: r.removed_us,
        })
    }
}

/// A group member joined with its (possibly missing) file.
#[derive(FromRow)]
struct MemberRow {
    files_count: i64,
    created_us: i64,
    member_uuid: Option<String>,
    default_effects: Option<String>,
    uuid: Option<String>,
    project: Option<String>,
    size: Option<i64>,
    blob: Option<String>,
    original_filename: Option<String>,
    mime_type: Option<String>,
    image_format: Option<String>,
    image_width: Option<i64>,
    image_height: Option<i64>,
    color_mode: Option<String>,
    metadata: Option<String>,
    uploaded_us: Option<i64>,
    stored_us: Option<i64>,
    removed_us: Option<i64>,
}

impl MemberRow {
    fn file(self) -> Result<Option<FileRecord>, StoreError> {
        let (
            Some(uuid),
            Some(project),
            Some(size),
            Some(blob),
            Some(original_filename),
            Some(mime_type),
            Some(metadata),
            Some(uploaded_us),
        ) = (
            self.uuid,
            self.project,
            self.size,
            self.blob,
            self.original_filename,
            self.mime_type,
            self.metadata,
            self.uploaded_us,
        )
        else {
            return Ok(None);
        };
        FileRecord::try_from(FileRow {
            uuid,
            project,
            size,
            blob,
            original_filename,
            mime_type,
            image_format: self.image_format,
            image_width: self.image_width,
            image_height: self.image_height,
            color_mode: self.color_mode,
            metadata,
            uploaded_us,
            stored_us: self.stored_us,
            removed_us: self.removed_us,
        })
        .map(Some)
    }
}

#[derive(FromRow)]
struct GroupRow {
    uuid: String,
    files_count: i64,
    created_us: i64,
}

impl TryFrom<GroupRow> for GroupRecord {
    type Error = StoreError;

    fn try_from(r: GroupRow) -> Result<Self, StoreError> {
        Ok(GroupRecord {
            uuid: parse_uuid(&r.uuid)?,
            files_count: r.files_count,
            created_us: r.created_us,
        })
    }
}

/// A `multipart_uploads` row.
#[derive(FromRow)]
struct MultipartRow {
    uuid: String,
    project: String,
    filename: String,
    size: i64,
    part_size: i64,
    content_type: String,
    store: bool,
    metadata: String,
    created_us: i64,
    completed: bool,
}

impl TryFrom<MultipartRow> for MultipartUpload {
    type Error = StoreError;

    fn try_from(r: MultipartRow) -> Result<Self, StoreError> {
        Ok(MultipartUpload {
            uuid: parse_uuid(&r.uuid)?,
            project: r.project,
            filename: r.filename,
            size: r.size,
            part_size: r.part_size,
            content_type: r.content_type,
            store: r.store,
            metadata: serde_json::from_str(&r.metadata)
                .map_err(|e| StoreError::Internal(format!("bad metadata column: {e}")))?,
            created_us: r.created_us,
            completed: r.completed,
        })
    }
}

fn parse_uuid(s: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(s).map_err(|e| StoreError::Internal(format!("bad uuid column {s:?}: {e}")))
}

/// The group query without its `WHERE`: the group, its members and each member's file.
const GROUP_SELECT: &str =
    "SELECT g.files_count, g.created_us, m.file_uuid AS member_uuid, m.default_effects, \
     f.uuid, f.project, f.size, f.blob, f.original_filename, f.mime_type, \
     f.image_format, f.image_width, f.image_height, f.color_mode, f.metadata, \
     f.uploaded_us, f.stored_us, f.removed_us \
     FROM groups g \
     LEFT JOIN group_members m ON m.group_uuid = g.uuid \
     LEFT JOIN files f ON f.uuid = m.file_uuid AND f.project = g.project";

/// Assembles a group and its members from the rows of a [`GROUP_SELECT`] query.
fn group_from_rows(
    uuid: Uuid,
    rows: Vec<MemberRow>,
) -> Result<Option<(GroupRecord, Vec<GroupMember>)>, StoreError> {
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let group = GroupRecord {
        uuid,
        files_count: first.files_count,
        created_us: first.created_us,
    };
    let mut members = Vec::with_capacity(rows.len());
    for mut row in rows {
        let (Some(member), Some(default_effects)) =
            (row.member_uuid.take(), row.default_effects.take())
        else {
            continue;
        };
        members.push(GroupMember {
            file_uuid: parse_uuid(&member)?,
            default_effects,
            file: row.file()?,
        });
    }
    Ok(Some((group, members)))
}

/// The `WHERE`/`ORDER BY` tail of a page query, and whether its rows come back reversed.
fn page_sql(page: &PageQuery) -> (&'static str, bool) {
    use Cursor::*;
    use Order::*;
    match (page.order, page.cursor) {
        (Ascending, Start) => ("ORDER BY created_us ASC LIMIT $2 OFFSET $3", false),
        (Descending, Start) => ("ORDER BY created_us DESC LIMIT $2 OFFSET $3", false),
        (
            Ascending,
            After {
                inclusive: false, ..
            },
        ) => (
            "AND created_us > $4 ORDER BY created_us ASC LIMIT $2 OFFSET $3",
            false,
        ),
        (
            Ascending,
            After {
                inclusive: true, ..
            },
        ) => (
            "AND created_us >= $4 ORDER BY created_us ASC LIMIT $2 OFFSET $3",
            false,
        ),
        (
            Descending,
            After {
                inclusive: false, ..
            },
        ) => (
            "AND created_us < $4 ORDER BY created_us DESC LIMIT $2 OFFSET $3",
            false,
        ),
        (
            Descending,
            After {
                inclusive: true, ..
            },
        ) => (
            "AND created_us <= $4 ORDER BY created_us DESC LIMIT $2 OFFSET $3",
            false,
        ),
        (Ascending, Before { .. }) => (
            "AND created_us < $4 ORDER BY created_us DESC LIMIT $2 OFFSET $3",
            true,
        ),
        (Descending, Before { .. }) => (
            "AND created_us > $4 ORDER BY created_us ASC LIMIT $2 OFFSET $3",
            true,
        ),
    }
}

fn cursor_time(cursor: Cursor) -> i64 {
    match cursor {
        Cursor::Start => 0,
        Cursor::After { at_us, .. } | Cursor::Before { at_us } => at_us,
    }
}

macro_rules! sql_store {
    ($name:ident, $db:ty, $pool:ty, $page_agg:literal) => {
        #[async_trait]
        impl Store for $name {
            async fn ping(&self) -> Result<(), StoreError> {
                sqlx::query("SELECT 1").execute(&self.pool).await?;
                Ok(())
            }

            async fn blobs_in_use(&self, hashes: &[String]) -> Result<Vec<String>, StoreError> {
                if hashes.is_empty() {
                    return Ok(Vec::new());
                }
                let mut q = QueryBuilder::<$db>::new("SELECT DISTINCT blob FROM files WHERE blob IN (");
                let mut list = q.separated(", ");
                for h in hashes {
                    list.push_bind(h.as_str());
                }
                q.push(")");
                let rows: Vec<(String,)> = q.build_query_as().fetch_all(&self.pool).await?;
                Ok(rows.into_iter().map(|(h,)| h).collect())
            }

            async fn upsert_project(&self, p: &Project) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO projects (pub_key, secret_key, name, autostore, signed_uploads) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (pub_key) DO UPDATE SET \
                     secret_key = excluded.secret_key, name = excluded.name, \
                     autostore = excluded.autostore, signed_uploads = excluded.signed_uploads",
                )
                .bind(&p.pub_key)
                .bind(&p.secret_key)
                .bind(&p.name)
                .bind(p.autostore)
                .bind(p.signed_uploads)
                .execute(&self.writer)
                .await?;
                Ok(())
            }

            async fn project(&self, pub_key: &str) -> Result<Option<Project>, StoreError> {
                Ok(sqlx::query_as::<_, Project>(
                    "SELECT pub_key, secret_key, name, autostore, signed_uploads \
                     FROM projects WHERE pub_key = $1",
                )
                .bind(pub_key)
                .fetch_optional(&self.pool)
                .await?)
            }

            async fn insert_file(&self, f: &FileRecord) -> Result<(), StoreError> {
                let image = f.image.as_ref();
                sqlx::query(
                    "INSERT INTO files (uuid, project, size, blob, original_filename, mime_type, \
                     image_format, image_width, image_height, color_mode, metadata, uploaded_us, \
                     stored_us, removed_us) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
                )
                .bind(f.uuid.to_string())
                .bind(&f.project)
                .bind(f.size)
                .bind(&f.blob)
                .bind(&f.original_filename)
                .bind(&f.mime_type)
                .bind(image.map(|i| i.format.clone()))
                .bind(image.map(|i| i.width))
                .bind(image.map(|i| i.height))
                .bind(image.map(|i| i.color_mode.clone()))
                .bind(serde_json::Value::Object(f.metadata.clone()).to_string())
                .bind(f.uploaded_us)
                .bind(f.stored_us)
                .bind(f.removed_us)
                .execute(&self.writer)
                .await?;
                Ok(())
            }

            async fn file(&self, project: &str, uuid: Uuid) -> Result<Option<FileRecord>, StoreError> {
                let sql = format!("SELECT {FILE_COLUMNS} FROM files WHERE uuid = $1 AND project = $2");
                sqlx::query_as::<_, FileRow>(&sql)
                    .bind(uuid.to_string())
                    .bind(project)
                    .fetch_optional(&self.pool)
                    .await?
                    .map(FileRecord::try_from)
                    .transpose()
            }

            async fn live_files(
                &self,
                project: &str,
                uuids: &[Uuid],
            ) -> Result<Vec<FileRecord>, StoreError> {
                if uuids.is_empty() {
                    return Ok(Vec::new());
                }
                let mut q = QueryBuilder::<$db>::new("SELECT ");
                q.push(FILE_COLUMNS);
                q.push(" FROM files WHERE project = ");
                q.push_bind(project);
                q.push(" AND removed_us IS NULL AND uuid IN (");
                let mut list = q.separated(", ");
                for u in uuids {
                    list.push_bind(u.to_string());
                }
                q.push(")");
                let rows: Vec<FileRow> = q.build_query_as().fetch_all(&self.pool).await?;
                rows.into_iter().map(FileRecord::try_from).collect()
            }

            async fn store_files(
                &self,
                project: &str,
                uuids: &[Uuid],
                now_us: i64,
            ) -> Result<Vec<FileRecord>, StoreError> {
                if uuids.is_empty() {
                    return Ok(Vec::new());
                }
                let mut q = QueryBuilder::<$db>::new("UPDATE files SET stored_us = ");
                q.push_bind(now_us);
                q.push(" WHERE project = ");
                q.push_bind(project);
                q.push(" AND removed_us IS NULL AND uuid IN (");
                let mut list = q.separated(", ");
                for u in uuids {
                    list.push_bind(u.to_string());
                }
                q.push(") RETURNING ");
                q.push(FILE_COLUMNS);
                let rows: Vec<FileRow> = q.build_query_as().fetch_all(&self.writer).await?;
                rows.into_iter().map(FileRecord::try_from).collect()
            }

            async fn insert_group(&self, g: &NewGroup, created_us: i64) -> Result<bool, StoreError> {
                let mut tx = self.writer.begin().await?;
                let inserted = sqlx::query(
                    "INSERT INTO groups (uuid, project, files_count, created_us) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (project, created_us) DO NOTHING",
                )
                .bind(g.uuid.to_string())
                .bind(&g.project)
                .bind(g.members.len() as i64)
                .bind(created_us)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if inserted == 0 {
                    tx.rollback().await?;
                    return Ok(false);
                }
                sqlx::query("UPDATE projects SET group_count = group_count + 1 WHERE pub_key = $1")
                    .bind(&g.project)
                    .execute(&mut *tx)
                    .await?;
                let group_uuid = g.uuid.to_string();
                let mut q = QueryBuilder::<$db>::new(
                    "INSERT INTO group_members (group_uuid, position, file_uuid, default_effects) ",
                );
                q.push_values(g.members.iter().enumerate(), |mut row, (i, (file, effects))| {
                    row.push_bind(group_uuid.clone())
                        .push_bind(i as i64)
                        .push_bind(file.to_string())
                        .push_bind(effects.clone());
                });
                q.build().execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn group(
                &self,
                project: &str,
                uuid: Uuid,
            ) -> Result<Option<(GroupRecord, Vec<GroupMember>)>, StoreError> {
                // One query: the group, its members in order, and each member's file.
                let sql = format!("{GROUP_SELECT} WHERE g.uuid = $1 AND g.project = $2 ORDER BY m.position");
                let rows: Vec<MemberRow> = sqlx::query_as(&sql)
                    .bind(uuid.to_string())
                    .bind(project)
                    .fetch_all(&self.pool)
                    .await?;
                group_from_rows(uuid, rows)
            }

            async fn list_groups(
                &self,
                project: &str,
                page: &PageQuery,
            ) -> Result<Vec<GroupRecord>, StoreError> {
                // The page comes back as one row holding a JSON array (`$page_agg`): the
                // SQLite driver hands each result row across threads, so one row instead of a
                // hundred is most of the cost of a page.
                let (tail, reversed) = page_sql(page);
                let sql = format!(
                    "SELECT {} FROM (SELECT uuid, files_count, created_us FROM groups \
                     WHERE project = $1 {tail}) AS page",
                    $page_agg
                );
                let mut q = sqlx::query_as::<_, (String,)>(&sql)
                    .bind(project)
                    .bind(page.limit)
                    .bind(page.offset);
                if page.cursor != Cursor::Start {
                    q = q.bind(cursor_time(page.cursor));
                }
                let (json,) = q.fetch_one(&self.pool).await?;
                let rows: Vec<(String, i64, i64)> = serde_json::from_str(&json)
                    .map_err(|e| StoreError::Internal(format!("bad page aggregate: {e}")))?;
                let mut groups = rows
                    .into_iter()
                    .map(|(uuid, files_count, created_us)| {
                        GroupRecord::try_from(GroupRow {
                            uuid,
                            files_count,
                            created_us,
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                if reversed {
                    groups.reverse();
                }
                Ok(groups)
            }

            async fn count_groups(&self, project: &str) -> Result<i64, StoreError> {
                let row: Option<(i64,)> =
                    sqlx::query_as("SELECT group_count FROM projects WHERE pub_key = $1")
                        .bind(project)
                        .fetch_optional(&self.pool)
                        .await?;
                Ok(row.map_or(0, |(n,)| n))
            }

            async fn group_beyond(
                &self,
                project: &str,
                order: Order,
                at_us: i64,
            ) -> Result<bool, StoreError> {
                let sql = match order {
                    Order::Ascending => {
                        "SELECT 1 FROM groups WHERE project = $1 AND created_us > $2 LIMIT 1"
                    }
                    Order::Descending => {
                        "SELECT 1 FROM groups WHERE project = $1 AND created_us < $2 LIMIT 1"
                    }
                };
                let row: Option<(i32,)> = sqlx::query_as(sql)
                    .bind(project)
                    .bind(at_us)
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(row.is_some())
            }

            async fn delete_group(&self, project: &str, uuid: Uuid) -> Result<bool, StoreError> {
                let mut tx = self.writer.begin().await?;
                let id = uuid.to_string();
                let deleted = sqlx::query("DELETE FROM groups WHERE uuid = $1 AND project = $2")
                    .bind(&id)
                    .bind(project)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if deleted > 0 {
                    sqlx::query("DELETE FROM group_members WHERE group_uuid = $1")
                        .bind(&id)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query(
                        "UPDATE projects SET group_count = group_count - 1 WHERE pub_key = $1",
                    )
                    .bind(project)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(deleted > 0)
            }

            // Admin
            async fn reset_project(&self, project: &str) -> Result<(), StoreError> {
                let mut tx = self.writer.begin().await?;
                sqlx::query(
                    "DELETE FROM group_members WHERE group_uuid IN \
                     (SELECT uuid FROM groups WHERE project = $1)",
                )
                .bind(project)
                .execute(&mut *tx)
                .await?;
                sqlx::query("DELETE FROM groups WHERE project = $1")
                    .bind(project)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("UPDATE projects SET group_count = 0 WHERE pub_key = $1")
                    .bind(project)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("DELETE FROM files WHERE project = $1")
                    .bind(project)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            // CDN
            async fn file_by_uuid(&self, uuid: Uuid) -> Result<Option<FileRecord>, StoreError> {
                let sql = format!("SELECT {FILE_COLUMNS} FROM files WHERE uuid = $1");
                sqlx::query_as::<_, FileRow>(&sql)
                    .bind(uuid.to_string())
                    .fetch_optional(&self.pool)
                    .await?
                    .map(FileRecord::try_from)
                    .transpose()
            }

            async fn group_by_uuid(
                &self,
                uuid: Uuid,
            ) -> Result<Option<(GroupRecord, Vec<GroupMember>)>, StoreError> {
                let sql = format!("{GROUP_SELECT} WHERE g.uuid = $1 ORDER BY m.position");
                let rows: Vec<MemberRow> = sqlx::query_as(&sql)
                    .bind(uuid.to_string())
                    .fetch_all(&self.pool)
                    .await?;
                group_from_rows(uuid, rows)
            }

            // Multipart
            async fn insert_multipart(&self, m: &MultipartUpload) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO multipart_uploads (uuid, project, filename, size, part_size, \
                     content_type, store, metadata, created_us, completed) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                )
                .bind(m.uuid.to_string())
                .bind(&m.project)
                .bind(&m.filename)
                .bind(m.size)
                .bind(m.part_size)
                .bind(&m.content_type)
                .bind(m.store)
                .bind(serde_json::Value::Object(m.metadata.clone()).to_string())
                .bind(m.created_us)
                .bind(m.completed)
                .execute(&self.writer)
                .await?;
                Ok(())
            }

            async fn multipart(&self, uuid: Uuid) -> Result<Option<MultipartUpload>, StoreError> {
                sqlx::query_as::<_, MultipartRow>(
                    "SELECT uuid, project, filename, size, part_size, content_type, store, \
                     metadata, created_us, completed FROM multipart_uploads WHERE uuid = $1",
                )
                .bind(uuid.to_string())
                .fetch_optional(&self.pool)
                .await?
                .map(MultipartUpload::try_from)
                .transpose()
            }

            async fn complete_multipart(&self, f: &FileRecord) -> Result<bool, StoreError> {
                let mut tx = self.writer.begin().await?;
                let claimed = sqlx::query(
                    "UPDATE multipart_uploads SET completed = $1 \
                     WHERE uuid = $2 AND completed = $3",
                )
                .bind(true)
                .bind(f.uuid.to_string())
                .bind(false)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if claimed == 0 {
                    tx.rollback().await?;
                    return Ok(false);
                }
                let image = f.image.as_ref();
                sqlx::query(
                    "INSERT INTO files (uuid, project, size, blob, original_filename, mime_type, \
                     image_format, image_width, image_height, color_mode, metadata, uploaded_us, \
                     stored_us, removed_us) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
                )
                .bind(f.uuid.to_string())
                .bind(&f.project)
                .bind(f.size)
                .bind(&f.blob)
                .bind(&f.original_filename)
                .bind(&f.mime_type)
                .bind(image.map(|i| i.format.clone()))
                .bind(image.map(|i| i.width))
                .bind(image.map(|i| i.height))
                .bind(image.map(|i| i.color_mode.clone()))
                .bind(serde_json::Value::Object(f.metadata.clone()).to_string())
                .bind(f.uploaded_us)
                .bind(f.stored_us)
                .bind(f.removed_us)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn save_url_duplicate(
                &self,
                project: &str,
                source_url: &str,
                file: Uuid,
                created_us: i64,
            ) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO url_duplicates (project, source_url, file_uuid, created_us) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (project, source_url) DO UPDATE SET \
                     file_uuid = excluded.file_uuid, created_us = excluded.created_us",
                )
                .bind(project)
                .bind(source_url)
                .bind(file.to_string())
                .bind(created_us)
                .execute(&self.writer)
                .await?;
                Ok(())
            }

            async fn url_duplicate(
                &self,
                project: &str,
                source_url: &str,
            ) -> Result<Option<Uuid>, StoreError> {
                let row: Option<(String,)> = sqlx::query_as(
                    "SELECT file_uuid FROM url_duplicates WHERE project = $1 AND source_url = $2",
                )
                .bind(project)
                .bind(source_url)
                .fetch_optional(&self.pool)
                .await?;
                row.map(|(u,)| parse_uuid(&u)).transpose()
            }

            // --- REST API (batch file storage) ---

            async fn remove_files(
                &self,
                project: &str,
                uuids: &[Uuid],
                now_us: i64,
            ) -> Result<Vec<FileRecord>, StoreError> {
                if uuids.is_empty() {
                    return Ok(Vec::new());
                }
                let mut q = QueryBuilder::<$db>::new("UPDATE files SET stored_us = NULL, removed_us = ");
                q.push_bind(now_us);
                q.push(" WHERE project = ");
                q.push_bind(project);
                q.push(" AND removed_us IS NULL AND uuid IN (");
                let mut list = q.separated(", ");
                for u in uuids {
                    list.push_bind(u.to_string());
                }
                q.push(") RETURNING ");
                q.push(FILE_COLUMNS);
                let rows: Vec<FileRow> = q.build_query_as().fetch_all(&self.writer).await?;
                rows.into_iter().map(FileRecord::try_from).collect()
            }

            // REST files
            async fn list_files(
                &self,
                project: &str,
                filter: &FileFilter,
                page: &PageQuery,
            ) -> Result<Vec<FileRecord>, StoreError> {
                // The groups' page tail, on upload times.
                let (tail, reversed) = page_sql(page);
                let tail = tail.replace("created_us", "uploaded_us");
                let condition = file_filter_sql(filter);
                let sql = format!(
                    "SELECT {FILE_COLUMNS} FROM files WHERE project = $1 AND {condition} {tail}"
                );
                let mut q = sqlx::query_as::<_, FileRow>(&sql)
                    .bind(project)
                    .bind(page.limit)
                    .bind(page.offset);
                if page.cursor != Cursor::Start {
                    q = q.bind(cursor_time(page.cursor));
                }
                let mut files = q
                    .fetch_all(&self.pool)
                    .await?
                    .into_iter()
                    .map(FileRecord::try_from)
                    .collect::<Result<Vec<_>, _>>()?;
                if reversed {
                    files.reverse();
                }
                Ok(files)
            }

            async fn count_files(&self, project: &str, filter: &FileFilter) -> Result<i64, StoreError> {
                let condition = file_filter_sql(filter);
                let sql = format!("SELECT COUNT(*) FROM files WHERE project = $1 AND {condition}");
                let (n,): (i64,) = sqlx::query_as(&sql)
                    .bind(project)
                    .fetch_one(&self.pool)
                    .await?;
                Ok(n)
            }

            async fn file_beyond(
                &self,
                project: &str,
                filter: &FileFilter,
                order: Order,
                at_us: i64,
            ) -> Result<bool, StoreError> {
                let condition = file_filter_sql(filter);
                let op = match order {
                    Order::Ascending => ">",
                    Order::Descending => "<",
                };
                let sql = format!(
                    "SELECT 1 FROM files WHERE project = $1 AND {condition} \
                     AND uploaded_us {op} $2 LIMIT 1"
                );
                let row: Option<(i32,)> = sqlx::query_as(&sql)
                    .bind(project)
                    .bind(at_us)
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(row.is_some())
            }

            async fn replace_file_metadata(
                &self,
                project: &str,
                uuid: Uuid,
                old: &serde_json::Map<String, serde_json::Value>,
                new: &serde_json::Map<String, serde_json::Value>,
            ) -> Result<bool, StoreError> {
                let done = sqlx::query(
                    "UPDATE files SET metadata = $1 WHERE uuid = $2 AND project = $3 AND metadata = $4",
                )
                .bind(serde_json::Value::Object(new.clone()).to_string())
                .bind(uuid.to_string())
                .bind(project)
                .bind(serde_json::Value::Object(old.clone()).to_string())
                .execute(&self.writer)
                .await?
                .rows_affected();
                Ok(done > 0)
            }
        }
    };
}

/// The `WHERE` condition of a file filter. The only value in it is an integer, written
/// inline so that the page query's numbered parameters stay as they are.
fn file_filter_sql(filter: &FileFilter) -> String {
    let cutoff = filter.expired_before_us;
    let mut condition = if filter.removed {
        format!("(removed_us IS NOT NULL OR (stored_us IS NULL AND uploaded_us <= {cutoff}))")
    } else {
        format!("removed_us IS NULL AND (stored_us IS NOT NULL OR uploaded_us > {cutoff})")
    };
    match filter.stored {
        Some(true) => condition.push_str(" AND stored_us IS NOT NULL"),
        Some(false) => condition.push_str(" AND stored_us IS NULL"),
        None => {}
    }
    condition
}

/// SQLite backend: one WAL-mode database file.
///
/// Reads go through a pool of connections; writes through a single connection, so writers
/// queue in the pool (an async wait) instead of spinning on SQLite's busy handler.
pub struct SqliteStore {
    pool: sqlx::SqlitePool,
    writer: sqlx::SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if missing) and migrates the database at `url`.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&writer).await?;
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await?;
        Ok(Self { pool, writer })
    }
}

/// Postgres backend, for teams that share one emulator or run replicas.
pub struct PostgresStore {
    pool: sqlx::PgPool,
    /// The same pool: Postgres handles concurrent writers itself.
    writer: sqlx::PgPool,
}

impl PostgresStore {
    /// Connects to and migrates the database at `url`.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url)?;
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        Ok(Self {
            writer: pool.clone(),
            pool,
        })
    }
}

sql_store!(
    SqliteStore,
    Sqlite,
    sqlx::SqlitePool,
    "json_group_array(json_array(uuid, files_count, created_us))"
);
sql_store!(
    PostgresStore,
    Postgres,
    sqlx::PgPool,
    "COALESCE(json_agg(json_build_array(uuid, files_count, created_us)), '[]')::text"
);
