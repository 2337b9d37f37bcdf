//! File tags: the `files.tags` column (the list in storage order, read with the file) and
//! the `file_tags` index (one row per project, tag and file, with the file's upload time, for
//! search filters), written together in one transaction.

use async_trait::async_trait;
use uuid::Uuid;

use super::db::{Sql, Tx};
use super::files::FileSwap;
use super::rows::tags_text;
use super::SqlStore;
use crate::error::StoreError;

/// Writes of file tags.
#[async_trait]
pub trait TagStore: Send + Sync {
    /// Replaces a file's tags with `new` if they are still `old` (compare and swap);
    /// `false` when the file is gone or its tags changed meanwhile.
    async fn replace_file_tags(&self, swap: FileSwap<'_, [String]>) -> Result<bool, StoreError>;
}

impl Tx {
    /// Adds `tags` of a new file to the tag index.
    pub(super) async fn index_tags(
        &mut self,
        project: &str,
        uuid: Uuid,
        tags: &[String],
    ) -> Result<(), StoreError> {
        if tags.is_empty() {
            return Ok(());
        }
        // The upload time rides along (it never changes), so a tag's files can be read newest
        // first from the index (migration 0013).
        let mut sql =
            Sql::new("INSERT INTO file_tags (project, tag, file_uuid, uploaded_us) VALUES ");
        for (i, tag) in tags.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.push("(")
                .push_bind(project)
                .push(", ")
                .push_bind(tag.as_str())
                .push(", ")
                .push_bind(uuid)
                .push(", COALESCE((SELECT uploaded_us FROM files WHERE uuid = ")
                .push_bind(uuid)
                .push("), 0))");
        }
        self.execute(&sql).await?;
        Ok(())
    }

    /// See [`TagStore::replace_file_tags`].
    pub async fn replace_file_tags(
        &mut self,
        swap: FileSwap<'_, [String]>,
    ) -> Result<bool, StoreError> {
        let FileSwap {
            project,
            uuid,
            old,
            new,
        } = swap;
        let sql =
            Sql::new("UPDATE files SET tags = $1 WHERE uuid = $2 AND project = $3 AND tags = $4")
                .bind(tags_text(new))
                .bind(uuid)
                .bind(project)
                .bind(tags_text(old));
        if self.execute(&sql).await? == 0 {
            return Ok(false);
        }
        let gone: Vec<&String> = old.iter().filter(|t| !new.contains(t)).collect();
        if !gone.is_empty() {
            let mut sql = Sql::new("DELETE FROM file_tags WHERE project = $1").bind(project);
            sql.push(" AND file_uuid = ")
                .push_bind(uuid)
                .push(" AND tag IN (")
                .push_list(gone.into_iter().map(String::as_str))
                .push(")");
            self.execute(&sql).await?;
        }
        let added: Vec<String> = new.iter().filter(|t| !old.contains(t)).cloned().collect();
        self.index_tags(project, uuid, &added).await?;
        self.files_changed([uuid]);
        Ok(true)
    }
}

#[async_trait]
impl TagStore for SqlStore {
    async fn replace_file_tags(&self, swap: FileSwap<'_, [String]>) -> Result<bool, StoreError> {
        self.write(async |tx| tx.replace_file_tags(swap).await)
            .await
    }
}
