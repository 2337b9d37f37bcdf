//! The add-on tables: runs (`addon_runs`, one in progress per file and add-on), the results
//! they leave in files' `appdata` (`file_appdata`), and the results tests declare for the
//! add-ons no model runs for here (`addon_fixtures`).

use std::collections::HashMap;

use async_trait::async_trait;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::db::{Sql, Tx};
use super::SqlStore;
use crate::domain::time::iso;
use crate::error::StoreError;

/// Where a run stands (the status endpoint's words).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunStatus {
    /// Running.
    InProgress,
    /// Finished; its results are written.
    Done,
    /// Failed (or interrupted); nothing was written.
    Error,
}

impl RunStatus {
    /// The wire and column value.
    pub fn name(self) -> &'static str {
        match self {
            RunStatus::InProgress => "in_progress",
            RunStatus::Done => "done",
            RunStatus::Error => "error",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "in_progress" => RunStatus::InProgress,
            "done" => RunStatus::Done,
            _ => RunStatus::Error,
        }
    }
}

/// One add-on run.
#[derive(Clone, Debug, PartialEq)]
pub struct AddonRun {
    /// The run's id (`request_id`).
    pub request_id: Uuid,
    /// The project that asked for it.
    pub project: String,
    /// The add-on's name.
    pub addon: String,
    /// The file it runs on.
    pub target: Uuid,
    /// Where it stands.
    pub status: RunStatus,
    /// The status answer's `result`, if any (remove.bg's `{"file_id": …}`).
    pub result: Option<Value>,
    /// Start time.
    pub created_us: i64,
    /// Last change.
    pub updated_us: i64,
}

type RunRow = (
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    i64,
    i64,
);

fn run_of(row: RunRow) -> Result<AddonRun, StoreError> {
    let (request_id, project, addon, target, status, result, created_us, updated_us) = row;
    let uuid = |s: &str| Uuid::parse_str(s).map_err(|e| StoreError::Internal(e.to_string()));
    Ok(AddonRun {
        request_id: uuid(&request_id)?,
        project,
        addon,
        target: uuid(&target)?,
        status: RunStatus::parse(&status),
        result: result.and_then(|r| serde_json::from_str(&r).ok()),
        created_us,
        updated_us,
    })
}

/// What a test declares an add-on finds in one file.
#[derive(Clone, Copy, Debug)]
pub struct AddonFixture<'a> {
    /// The file's project.
    pub project: &'a str,
    /// The file.
    pub file: Uuid,
    /// The add-on's name.
    pub addon: &'a str,
    /// What it finds.
    pub data: &'a Value,
}

/// Reads and writes of the add-on tables.
#[async_trait]
pub trait AddonStore: Send + Sync {
    /// Records `run` (in progress) unless another run of the same add-on on the same file is
    /// in progress; a run in progress last changed before `stale_before_us` is marked
    /// failed first (its process died). `false` when refused.
    async fn start_addon_run(
        &self,
        run: &AddonRun,
        stale_before_us: i64,
    ) -> Result<bool, StoreError>;
    /// The project's run of `addon` with this id.
    async fn addon_run(
        &self,
        project: &str,
        addon: &str,
        request_id: Uuid,
    ) -> Result<Option<AddonRun>, StoreError>;
    /// The `appdata` objects of the files among `uuids` that have any, keyed by file, each
    /// `{<addon>: {data, datetime_created, datetime_updated, version}}` in creation order.
    async fn appdata(
        &self,
        uuids: &[Uuid],
    ) -> Result<HashMap<Uuid, Map<String, Value>>, StoreError>;
    /// Declares what an add-on finds in a file (replacing an earlier declaration).
    async fn set_addon_fixture(&self, fixture: AddonFixture<'_>) -> Result<(), StoreError>;
    /// What a test declared `addon` finds in a file, if anything.
    async fn addon_fixture(&self, file: Uuid, addon: &str) -> Result<Option<Value>, StoreError>;
}

impl Tx {
    /// Marks a run finished (`Done` or `Error`) with its status `result`.
    pub async fn finish_addon_run(
        &mut self,
        request_id: Uuid,
        status: RunStatus,
        result: Option<&Value>,
        now_us: i64,
    ) -> Result<(), StoreError> {
        let sql = Sql::new(
            "UPDATE addon_runs SET status = $1, result = $2, updated_us = $3 \
             WHERE request_id = $4",
        )
        .bind(status.name())
        .bind(result.map(Value::to_string))
        .bind(now_us)
        .bind(request_id);
        self.execute(&sql).await?;
        Ok(())
    }

    /// Writes (or replaces) one add-on's `appdata` entry of a file; `datetime_created`
    /// stays the first run's.
    pub async fn upsert_appdata(
        &mut self,
        project: &str,
        file: Uuid,
        addon: &str,
        (data, version): (&Value, &str),
        now_us: i64,
    ) -> Result<(), StoreError> {
        let sql = Sql::new(
            "INSERT INTO file_appdata (file_uuid, addon, project, data, version, created_us, \
             updated_us) VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (file_uuid, addon) \
             DO UPDATE SET data = excluded.data, version = excluded.version, \
             updated_us = excluded.updated_us",
        )
        .bind(file)
        .bind(addon)
        .bind(project)
        .bind(data.to_string())
        .bind(version)
        .bind(now_us);
        self.execute(&sql).await?;
        Ok(())
    }

    /// Deletes a project's runs, appdata and declarations (test isolation).
    pub async fn delete_project_addons(&mut self, project: &str) -> Result<(), StoreError> {
        for table in ["addon_runs", "file_appdata", "addon_fixtures"] {
            let sql = Sql::new(format!("DELETE FROM {table} WHERE project = $1")).bind(project);
            self.execute(&sql).await?;
        }
        Ok(())
    }
}

#[async_trait]
impl AddonStore for SqlStore {
    async fn start_addon_run(
        &self,
        run: &AddonRun,
        stale_before_us: i64,
    ) -> Result<bool, StoreError> {
        self.write(async |tx| {
            let stale = Sql::new(
                "UPDATE addon_runs SET status = 'error', updated_us = $1 WHERE target = $2 \
                 AND addon = $3 AND status = 'in_progress' AND updated_us < $4",
            )
            .bind(run.updated_us)
            .bind(run.target)
            .bind(run.addon.as_str())
            .bind(stale_before_us);
            tx.execute(&stale).await?;
            let insert = Sql::new(
                "INSERT INTO addon_runs (request_id, project, addon, target, status, result, \
                 created_us, updated_us) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(run.request_id)
            .bind(run.project.as_str())
            .bind(run.addon.as_str())
            .bind(run.target)
            .bind(run.status.name())
            .bind(run.result.as_ref().map(Value::to_string))
            .bind(run.created_us)
            .bind(run.updated_us);
            Ok(tx.execute(&insert).await? == 1)
        })
        .await
    }

    async fn addon_run(
        &self,
        project: &str,
        addon: &str,
        request_id: Uuid,
    ) -> Result<Option<AddonRun>, StoreError> {
        let sql = Sql::new(
            "SELECT request_id, project, addon, target, status, result, created_us, updated_us \
             FROM addon_runs WHERE request_id = $1 AND project = $2 AND addon = $3",
        )
        .bind(request_id)
        .bind(project)
        .bind(addon);
        self.db
            .fetch_optional::<RunRow>(&sql)
            .await?
            .map(run_of)
            .transpose()
    }

    async fn appdata(
        &self,
        uuids: &[Uuid],
    ) -> Result<HashMap<Uuid, Map<String, Value>>, StoreError> {
        let mut out = HashMap::new();
        if uuids.is_empty() {
            return Ok(out);
        }
        let mut sql = Sql::new(
            "SELECT file_uuid, addon, data, version, created_us, updated_us FROM file_appdata \
             WHERE file_uuid IN (",
        );
        sql.push_list(uuids.iter().copied())
            .push(") ORDER BY created_us, addon");
        let rows: Vec<(String, String, String, String, i64, i64)> = self.db.fetch_all(&sql).await?;
        for (file, addon, data, version, created_us, updated_us) in rows {
            let file = Uuid::parse_str(&file).map_err(|e| StoreError::Internal(e.to_string()))?;
            let data: Value =
                serde_json::from_str(&data).map_err(|e| StoreError::Internal(e.to_string()))?;
            let mut entry = Map::new();
            entry.insert("data".into(), data);
            entry.insert("datetime_created".into(), iso(created_us).into());
            entry.insert("datetime_updated".into(), iso(updated_us).into());
            entry.insert("version".into(), version.into());
            out.entry(file)
                .or_insert_with(Map::new)
                .insert(addon, Value::Object(entry));
        }
        Ok(out)
    }

    async fn set_addon_fixture(&self, fixture: AddonFixture<'_>) -> Result<(), StoreError> {
        self.write(async |tx| {
            let sql = Sql::new(
                "INSERT INTO addon_fixtures (file_uuid, addon, project, data) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (file_uuid, addon) \
                 DO UPDATE SET data = excluded.data",
            )
            .bind(fixture.file)
            .bind(fixture.addon)
            .bind(fixture.project)
            .bind(fixture.data.to_string());
            tx.execute(&sql).await?;
            Ok(())
        })
        .await
    }

    async fn addon_fixture(&self, file: Uuid, addon: &str) -> Result<Option<Value>, StoreError> {
        let sql = Sql::new("SELECT data FROM addon_fixtures WHERE file_uuid = $1 AND addon = $2")
            .bind(file)
            .bind(addon);
        let row: Option<(String,)> = self.db.fetch_optional(&sql).await?;
        Ok(row.and_then(|(d,)| serde_json::from_str(&d).ok()))
    }
}
