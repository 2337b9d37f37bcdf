//! Upload sessions: multipart uploads (`multipart_uploads`) and the URL history of
//! `/from_url/` (`url_duplicates`).

use async_trait::async_trait;
use uuid::Uuid;

use super::db::{Sql, Tx};
use super::rows::{metadata_text, parse_uuid, tags_text};
use super::{FileRecord, MultipartUpload, SqlStore};
use crate::error::StoreError;

/// Reads and writes of upload sessions.
#[async_trait]
pub trait UploadStore: Send + Sync {
    /// Writes a new multipart upload session.
    async fn insert_multipart(&self, upload: &MultipartUpload) -> Result<(), StoreError>;
    /// Reads a multipart upload session by uuid, whatever its project.
    async fn multipart(&self, uuid: Uuid) -> Result<Option<MultipartUpload>, StoreError>;
    /// Marks the session of `file.uuid` completed and writes the file, in one transaction;
    /// `Ok(false)` (and nothing written) when it was already completed.
    async fn complete_multipart(&self, file: &FileRecord) -> Result<bool, StoreError>;
    /// Remembers that `source_url` was imported into `file`'s project as `file`, at its
    /// upload time (replacing an earlier import of the same URL).
    async fn save_url_duplicate(
        &self,
        source_url: &str,
        file: &FileRecord,
    ) -> Result<(), StoreError>;
    /// The file a saved import of `source_url` produced in the project, if any.
    async fn url_duplicate(
        &self,
        project: &str,
        source_url: &str,
    ) -> Result<Option<Uuid>, StoreError>;
}

impl Tx {
    /// See [`UploadStore::complete_multipart`]: claims the session, then writes its file.
    pub async fn complete_multipart(&mut self, file: &mut FileRecord) -> Result<bool, StoreError> {
        let claimed = self
            .execute(
                &Sql::new(
                    "UPDATE multipart_uploads SET completed = $1 WHERE uuid = $2 AND completed = $3",
                )
                .bind(true)
                .bind(file.uuid)
                .bind(false),
            )
            .await?;
        if claimed == 0 {
            return Ok(false);
        }
        self.insert_file(file).await?;
        Ok(true)
    }
}

#[async_trait]
impl UploadStore for SqlStore {
    async fn insert_multipart(&self, m: &MultipartUpload) -> Result<(), StoreError> {
        let sql = Sql::new(
            "INSERT INTO multipart_uploads (uuid, project, filename, size, part_size, \
             content_type, store, metadata, tags, created_us, completed) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(m.uuid)
        .bind(&m.project)
        .bind(&m.filename)
        .bind(m.size)
        .bind(m.part_size)
        .bind(&m.content_type)
        .bind(m.store)
        .bind(metadata_text(&m.metadata))
        .bind(tags_text(&m.tags))
        .bind(m.created_us)
        .bind(m.completed);
        self.write(async |tx| tx.execute(&sql).await).await?;
        Ok(())
    }

    async fn multipart(&self, uuid: Uuid) -> Result<Option<MultipartUpload>, StoreError> {
        self.db
            .fetch_optional(
                &Sql::new(
                    "SELECT uuid, project, filename, size, part_size, content_type, store, \
                     metadata, tags, created_us, completed FROM multipart_uploads WHERE uuid = $1",
                )
                .bind(uuid),
            )
            .await
    }

    async fn complete_multipart(&self, file: &FileRecord) -> Result<bool, StoreError> {
        let mut file = file.clone();
        self.write(async |tx| tx.complete_multipart(&mut file).await)
            .await
    }

    async fn save_url_duplicate(
        &self,
        source_url: &str,
        file: &FileRecord,
    ) -> Result<(), StoreError> {
        let sql = Sql::new(
            "INSERT INTO url_duplicates (project, source_url, file_uuid, created_us) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (project, source_url) DO UPDATE SET \
             file_uuid = excluded.file_uuid, created_us = excluded.created_us",
        )
        .bind(file.project.as_str())
        .bind(source_url)
        .bind(file.uuid)
        .bind(file.uploaded_us);
        self.write(async |tx| tx.execute(&sql).await).await?;
        Ok(())
    }

    async fn url_duplicate(
        &self,
        project: &str,
        source_url: &str,
    ) -> Result<Option<Uuid>, StoreError> {
        let row: Option<(String,)> = self
            .db
            .fetch_optional(
                &Sql::new(
                    "SELECT file_uuid FROM url_duplicates WHERE project = $1 AND source_url = $2",
                )
                .bind(project)
                .bind(source_url),
            )
            .await?;
        row.map(|(u,)| parse_uuid(&u)).transpose()
    }
}
