//! Conversion jobs (`conversion_jobs`) and the completion of their result files.
//!
//! A job's result file is written at submission with an empty `blob`: it exists (REST file
//! info answers `is_ready: false`, as production) but has no bytes yet. Finishing the job
//! fills in the bytes and facts of that row and marks the job, in one transaction.

use super::rows::{bind_content, row_struct, TextColumn};
use async_trait::async_trait;
use uuid::Uuid;

use super::db::{Sql, Tx};
use super::{FileRecord, SqlStore};
use crate::error::StoreError;

/// What a conversion job converts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConversionKind {
    /// `/convert/document/`.
    Document,
    /// `/convert/video/`.
    Video,
}

impl ConversionKind {
    /// The name in paths and in the `kind` column.
    pub fn name(self) -> &'static str {
        match self {
            ConversionKind::Document => "document",
            ConversionKind::Video => "video",
        }
    }
}

impl TextColumn for ConversionKind {
    fn from_text(text: &str) -> Result<Self, StoreError> {
        Ok(match text {
            "document" => ConversionKind::Document,
            _ => ConversionKind::Video,
        })
    }
}

/// A job's state, as the status endpoints spell it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobStatus {
    /// Submitted, not started.
    Pending,
    /// A converter is running.
    Processing,
    /// The result file is ready.
    Finished,
    /// The conversion failed; the job's `error` says why.
    Failed,
}

impl JobStatus {
    /// The wire name.
    pub fn name(self) -> &'static str {
        match self {
            JobStatus::Pending => "pending",
            JobStatus::Processing => "processing",
            JobStatus::Finished => "finished",
            JobStatus::Failed => "failed",
        }
    }
}

impl TextColumn for JobStatus {
    fn from_text(text: &str) -> Result<Self, StoreError> {
        Ok(match text {
            "pending" => JobStatus::Pending,
            "processing" => JobStatus::Processing,
            "finished" => JobStatus::Finished,
            "failed" => JobStatus::Failed,
            other => return Err(StoreError::Internal(format!("job status {other:?}"))),
        })
    }
}

row_struct! {
    /// A conversion job.
    #[derive(Clone, Debug)]
    pub struct ConversionJob {
        /// The number clients poll with.
        pub token: i64,
        /// Owning project's public key.
        pub project: String,
        /// Document or video.
        #[row(text)]
        pub kind: ConversionKind,
        /// The path as submitted (`<uuid>/document/-/format/pdf/`).
        pub source: String,
        /// The source file.
        #[row(text)]
        pub source_uuid: Uuid,
        /// The target format.
        pub target: String,
        /// Where it is.
        #[row(text)]
        pub status: JobStatus,
        /// Why it failed.
        pub error: Option<String>,
        /// The result file (exists from submission on).
        #[row(text)]
        pub result_uuid: Uuid,
        /// The group of video thumbnails or document pages (`<uuid>~<n>`), when there is one.
        pub group_id: Option<String>,
    }
}

const JOB_COLUMNS: &str = "token, project, kind, source, source_uuid, target, status, error, \
     result_uuid, group_id";

/// Reads and writes of conversion jobs.
#[async_trait]
pub trait ConversionStore: Send + Sync {
    /// One job of the project and kind, by token.
    async fn conversion_job(
        &self,
        project: &str,
        kind: ConversionKind,
        token: i64,
    ) -> Result<Option<ConversionJob>, StoreError>;
    /// `(target format, group id)` of the finished document jobs of a source that made a
    /// group, newest last.
    async fn converted_groups(
        &self,
        project: &str,
        source_uuid: Uuid,
    ) -> Result<Vec<(String, String)>, StoreError>;
    /// Moves a job to `status` (with `error` when it failed).
    async fn set_conversion_status(
        &self,
        token: i64,
        status: JobStatus,
        error: Option<&str>,
    ) -> Result<(), StoreError>;
}

/// A job to write.
#[derive(Clone, Copy, Debug)]
pub struct NewJob<'a> {
    /// Owning project.
    pub project: &'a str,
    /// Document or video.
    pub kind: ConversionKind,
    /// The path as submitted.
    pub source: &'a str,
    /// The source file.
    pub source_uuid: Uuid,
    /// The target format.
    pub target: &'a str,
    /// The result file, written in the same transaction.
    pub result_uuid: Uuid,
    /// The thumbnails group, written in the same transaction (video).
    pub group_id: Option<&'a str>,
    /// The replica running it (its lease is that replica's heartbeat).
    pub owner: &'a str,
}

impl Tx {
    /// Writes a new pending job (its result file is written by the caller in the same
    /// transaction); returns its token.
    pub async fn insert_conversion_job(
        &mut self,
        job: &NewJob<'_>,
        created_us: i64,
    ) -> Result<i64, StoreError> {
        let sql = Sql::new(
            "INSERT INTO conversion_jobs (project, kind, source, source_uuid, target, status, \
             error, result_uuid, group_id, created_us, owner) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING token",
        )
        .bind(job.project)
        .bind(job.kind.name())
        .bind(job.source)
        .bind(job.source_uuid)
        .bind(job.target)
        .bind(JobStatus::Pending.name())
        .bind(None::<String>)
        .bind(job.result_uuid)
        .bind(job.group_id.map(str::to_owned))
        .bind(created_us)
        .bind(job.owner);
        let rows: Vec<(i64,)> = self.fetch_all(&sql).await?;
        rows.first()
            .map(|(token,)| *token)
            .ok_or_else(|| StoreError::Internal("no token returned".into()))
    }

    /// Gives a not-ready file (empty `blob`) its bytes and facts from `done`.
    pub async fn complete_file(&mut self, done: &FileRecord) -> Result<(), StoreError> {
        let sql = Sql::new(
            "UPDATE files SET size = $1, blob = $2, original_filename = $3, mime_type = $4, \
             image_format = $5, image_width = $6, image_height = $7, color_mode = $8 \
             WHERE uuid = $9 AND blob = ''",
        );
        let sql = bind_content(sql, done).bind(done.uuid);
        self.execute(&sql).await?;
        self.files_changed([done.uuid]);
        Ok(())
    }

    /// Records the group a finished document job made of its pages.
    pub async fn set_conversion_group(
        &mut self,
        token: i64,
        group_id: &str,
    ) -> Result<(), StoreError> {
        let sql = Sql::new("UPDATE conversion_jobs SET group_id = $1 WHERE token = $2")
            .bind(group_id)
            .bind(token);
        self.execute(&sql).await?;
        Ok(())
    }

    /// See [`ConversionStore::set_conversion_status`].
    pub async fn set_conversion_status(
        &mut self,
        token: i64,
        status: JobStatus,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        let sql = Sql::new("UPDATE conversion_jobs SET status = $1, error = $2 WHERE token = $3")
            .bind(status.name())
            .bind(error.map(str::to_owned))
            .bind(token);
        self.execute(&sql).await?;
        Ok(())
    }
}

#[async_trait]
impl ConversionStore for SqlStore {
    async fn conversion_job(
        &self,
        project: &str,
        kind: ConversionKind,
        token: i64,
    ) -> Result<Option<ConversionJob>, StoreError> {
        self.db
            .fetch_optional(
                &Sql::new(format!(
                    "SELECT {JOB_COLUMNS} FROM conversion_jobs \
                     WHERE token = $1 AND project = $2 AND kind = $3"
                ))
                .bind(token)
                .bind(project)
                .bind(kind.name()),
            )
            .await
    }

    async fn converted_groups(
        &self,
        project: &str,
        source_uuid: Uuid,
    ) -> Result<Vec<(String, String)>, StoreError> {
        self.db
            .fetch_all(
                &Sql::new(
                    "SELECT target, group_id FROM conversion_jobs WHERE source_uuid = $1 \
                     AND project = $2 AND kind = $3 AND status = $4 AND group_id IS NOT NULL \
                     ORDER BY token",
                )
                .bind(source_uuid)
                .bind(project)
                .bind(ConversionKind::Document.name())
                .bind(JobStatus::Finished.name()),
            )
            .await
    }

    async fn set_conversion_status(
        &self,
        token: i64,
        status: JobStatus,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        self.write(async |tx| tx.set_conversion_status(token, status, error).await)
            .await
    }
}
