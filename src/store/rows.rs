//! Rows as the databases return them, and their decoding into the store's records: the one
//! place that knows how a record is laid out in columns.

use serde::Deserialize;
use uuid::Uuid;

use super::db::Sql;
use super::{FileRecord, GroupMember, GroupRecord, ImageFacts};
use crate::error::StoreError;

/// Implements `sqlx::FromRow` for both backends' rows, each field read from the column of its
/// name: `from_row!(Row { a, b })`. A field marked `#[flatten]` is read as a whole row of its
/// own type, one marked `#[text]` from a text column through [`TextColumn`], one marked
/// `#[joined]` (an `Option` of a row type) as a whole row of a left-joined table, `None`
/// where its `uuid` column is NULL.
/// (sqlx's derive would build a second copy of both database drivers for the compiler: see
/// `Cargo.toml`.) The compiler checks that the list names every field; [`row_struct!`]
/// declares a struct and its list at once.
macro_rules! from_row {
    ($ty:ident { $($(#[$how:ident])? $field:ident),* $(,)? }) => {
        $crate::store::rows::from_row!(@impl sqlx::sqlite::SqliteRow, $ty { $($(#[$how])? $field),* });
        $crate::store::rows::from_row!(@impl sqlx::postgres::PgRow, $ty { $($(#[$how])? $field),* });
    };
    (@impl $row:ty, $ty:ident { $($(#[$how:ident])? $field:ident),* }) => {
        impl sqlx::FromRow<'_, $row> for $ty {
            fn from_row(row: &$row) -> Result<Self, sqlx::Error> {
                #[allow(unused_imports)]
                use sqlx::Row as _;
                Ok(Self {
                    $($field: $crate::store::rows::from_row!(@get row, $field $(, $how)?)),*
                })
            }
        }
    };
    (@get $row:ident, $field:ident) => {
        $row.try_get(stringify!($field))?
    };
    (@get $row:ident, $field:ident, flatten) => {
        sqlx::FromRow::from_row($row)?
    };
    (@get $row:ident, $field:ident, joined) => {
        match $row.try_get::<Option<String>, _>("uuid")? {
            Some(_) => Some(sqlx::FromRow::from_row($row)?),
            None => None,
        }
    };
    (@get $row:ident, $field:ident, text) => {{
        let text: String = $row.try_get(stringify!($field))?;
        $crate::store::rows::TextColumn::from_text(&text).map_err(|e| sqlx::Error::ColumnDecode {
            index: stringify!($field).into(),
            source: Box::new(e),
        })?
    }};
}
pub(crate) use from_row;

/// Declares a struct read from rows of both backends: the struct as written (its fields may
/// carry doc comments), with [`from_row!`] for its fields; a field's `#[row(flatten)]`,
/// `#[row(text)]` or `#[row(joined)]` is `from_row!`'s mark of the same name.
macro_rules! row_struct {
    (
        $(#[$attr:meta])*
        $vis:vis struct $ty:ident {
            $($(#[doc = $doc:literal])* $(#[row($how:ident)])? $fvis:vis $field:ident: $fty:ty),*
            $(,)?
        }
    ) => {
        $(#[$attr])*
        $vis struct $ty {
            $($(#[doc = $doc])* $fvis $field: $fty),*
        }
        $crate::store::rows::from_row!($ty { $($(#[$how])? $field),* });
    };
}
pub(crate) use row_struct;

/// The columns of a `files` row, in [`FileRow`]'s order.
pub const FILE_COLUMNS: &str =
    "uuid, project, size, blob, original_filename, mime_type, image_format, \
     image_width, image_height, color_mode, metadata, tags, uploaded_us, stored_us, removed_us";

row_struct! {
    /// A `files` row as the database returns it (or as a JSON array of [`FILE_COLUMNS`]).
    #[derive(Deserialize)]
    pub struct FileRow {
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
        tags: String,
        uploaded_us: i64,
        stored_us: Option<i64>,
        removed_us: Option<i64>,
    }
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
            metadata: parse_metadata(&r.metadata)?,
            tags: parse_tags(&r.tags)?,
            uploaded_us: r.uploaded_us,
            stored_us: r.stored_us,
            removed_us: r.removed_us,
        })
    }
}

row_struct! {
    /// A group member joined with its (possibly missing) file.
    pub struct MemberRow {
        /// The group's project.
        pub group_project: String,
        files_count: i64,
        created_us: i64,
        member_uuid: Option<String>,
        default_effects: Option<String>,
        /// The member's file, `None` when its row is gone.
        #[row(joined)]
        file: Option<FileRow>,
    }
}

/// The columns of a `groups` row, in [`GroupRecord`]'s order.
pub const GROUP_COLUMNS: &str = "uuid, files_count, created_us";

/// A value kept in a text column, read back by a `#[text]` field of [`from_row!`].
pub trait TextColumn: Sized {
    /// Reads the column's text.
    fn from_text(text: &str) -> Result<Self, StoreError>;
}

impl TextColumn for Uuid {
    fn from_text(text: &str) -> Result<Self, StoreError> {
        parse_uuid(text)
    }
}

impl TextColumn for serde_json::Map<String, serde_json::Value> {
    fn from_text(text: &str) -> Result<Self, StoreError> {
        parse_metadata(text)
    }
}

impl TextColumn for Vec<String> {
    fn from_text(text: &str) -> Result<Self, StoreError> {
        parse_tags(text)
    }
}

/// Binds a file's content facts as the next eight parameters, in the order of the `files`
/// columns `size, blob, original_filename, mime_type, image_format, image_width,
/// image_height, color_mode` (written at upload, and when a conversion's result is ready).
pub fn bind_content(sql: Sql, f: &FileRecord) -> Sql {
    let image = f.image.as_ref();
    sql.bind(f.size)
        .bind(&f.blob)
        .bind(&f.original_filename)
        .bind(&f.mime_type)
        .bind(image.map(|i| i.format.clone()))
        .bind(image.map(|i| i.width))
        .bind(image.map(|i| i.height))
        .bind(image.map(|i| i.color_mode.clone()))
}

/// Reads a uuid column.
pub fn parse_uuid(s: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(s).map_err(|e| StoreError::Internal(format!("bad uuid column {s:?}: {e}")))
}

/// Reads a metadata column (a JSON object).
pub fn parse_metadata(s: &str) -> Result<serde_json::Map<String, serde_json::Value>, StoreError> {
    serde_json::from_str(s).map_err(|e| StoreError::Internal(format!("bad metadata column: {e}")))
}

/// Writes a metadata column.
pub fn metadata_text(m: &serde_json::Map<String, serde_json::Value>) -> String {
    serde_json::Value::Object(m.clone()).to_string()
}

/// Reads a tags column (a JSON array of strings).
pub fn parse_tags(s: &str) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(s).map_err(|e| StoreError::Internal(format!("bad tags column: {e}")))
}

/// Writes a tags column.
pub fn tags_text(tags: &[String]) -> String {
    serde_json::Value::from(tags).to_string()
}

/// Assembles a group and its members from the rows of a group query (`groups.rs`).
pub fn group_from_rows(
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
    for row in rows {
        let (Some(member), Some(default_effects)) = (row.member_uuid, row.default_effects) else {
            continue;
        };
        members.push(GroupMember {
            file_uuid: parse_uuid(&member)?,
            default_effects,
            file: row.file.map(FileRecord::try_from).transpose()?,
        });
    }
    Ok(Some((group, members)))
}
