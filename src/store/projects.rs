//! The `projects` table: key pairs and settings.

use async_trait::async_trait;

use super::db::Sql;
use super::{Project, SqlStore};
use crate::error::StoreError;

/// Reads and writes of projects.
#[async_trait]
pub trait ProjectStore: Send + Sync {
    /// Creates or updates a project.
    async fn upsert_project(&self, project: &Project) -> Result<(), StoreError>;
    /// Finds a project by public key.
    async fn project(&self, pub_key: &str) -> Result<Option<Project>, StoreError>;
}

#[async_trait]
impl ProjectStore for SqlStore {
    async fn upsert_project(&self, p: &Project) -> Result<(), StoreError> {
        let sql = Sql::new(
            "INSERT INTO projects (pub_key, secret_key, name, autostore, signed_uploads) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (pub_key) DO UPDATE SET \
             secret_key = excluded.secret_key, name = excluded.name, \
             autostore = excluded.autostore, signed_uploads = excluded.signed_uploads",
        )
        .bind(&p.pub_key)
        .bind(&p.secret_key)
        .bind(&p.name)
        .bind(p.autostore)
        .bind(p.signed_uploads);
        self.write(async |tx| tx.execute(&sql).await).await?;
        Ok(())
    }

    async fn project(&self, pub_key: &str) -> Result<Option<Project>, StoreError> {
        self.db
            .fetch_optional(
                &Sql::new(
                    "SELECT pub_key, secret_key, name, autostore, signed_uploads \
                     FROM projects WHERE pub_key = $1",
                )
                .bind(pub_key),
            )
            .await
    }
}
