//! State replicas share (docs/replicas.md, "What is shared"): the replicas' heartbeats, the
//! emulator-wide state row (clock offset and the version of what replicas mirror in memory),
//! pending faults and `/from_url/` tasks.
//!
//! Times named `wall_us` are wall-clock microseconds (leases and heartbeats must not move
//! with the emulator's clock, which tests advance).

use super::rows::row_struct;
use async_trait::async_trait;

use super::db::{Arg, Dialect, Sql};
use super::notify::Topic;
use super::SqlStore;
use crate::error::StoreError;

row_struct! {
    /// The emulator-wide state row.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct SharedState {
        /// Bumped by every admin change replicas mirror (clock, faults, projects).
        pub version: i64,
        /// The emulator clock's offset from wall time, microseconds.
        pub clock_offset_us: i64,
        /// Faults with uses left.
        pub faults: i64,
    }
}

row_struct! {
    /// A pending fault as stored.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct FaultRow {
        /// `throttle`, `error` or `delay`.
        pub kind: String,
        /// Retry-After seconds (throttle) or milliseconds (delay); 0 otherwise.
        pub amount: i64,
        /// `any`, `upload`, `rest` or `cdn`.
        pub scope: String,
        /// Only calls naming this public key, when set.
        pub pub_key: Option<String>,
        /// Uses left.
        pub remaining: i64,
    }
}

row_struct! {
    /// A `/from_url/` task as stored.
    #[derive(Clone, Debug)]
    pub struct TaskRow {
        /// `waiting`, `progress`, `success` or `error`.
        pub state: String,
        /// Bytes expected, when the source said.
        pub total: Option<i64>,
        /// Bytes received.
        pub done: i64,
        /// Owning project (success).
        pub project: Option<String>,
        /// The new file (success).
        pub file_uuid: Option<String>,
        /// Error code name (error).
        pub error_code: Option<String>,
        /// Error message (error).
        pub error_message: Option<String>,
    }
}

/// Reads and writes of shared state.
#[async_trait]
pub trait SharedStore: Send + Sync {
    /// Whether other processes may share this store (Postgres); SQLite has one process.
    fn is_shared(&self) -> bool;
    /// The emulator-wide state.
    async fn shared_state(&self) -> Result<SharedState, StoreError>;
    /// Records that replica `id` is alive at `wall_us` and has applied `seen_version`.
    async fn heartbeat(&self, id: &str, seen_version: i64, wall_us: i64) -> Result<(), StoreError>;
    /// Removes a replica's heartbeat (clean shutdown).
    async fn forget_replica(&self, id: &str) -> Result<(), StoreError>;
    /// Live replicas other than `me` (heartbeat after `since_wall_us`) that have not applied
    /// `version` yet.
    async fn replicas_behind(
        &self,
        me: &str,
        version: i64,
        since_wall_us: i64,
    ) -> Result<i64, StoreError>;
    /// Moves the clock offset by `by_us` and bumps the version.
    async fn advance_shared_clock(&self, by_us: i64) -> Result<SharedState, StoreError>;
    /// Bumps the version (projects changed).
    async fn bump_shared_version(&self) -> Result<SharedState, StoreError>;
    /// Adds a fault and bumps the version.
    async fn add_fault(&self, fault: &FaultRow) -> Result<SharedState, StoreError>;
    /// Removes every fault and bumps the version.
    async fn clear_faults(&self) -> Result<SharedState, StoreError>;
    /// Pending faults in the order they apply.
    async fn pending_faults(&self) -> Result<Vec<FaultRow>, StoreError>;
    /// Takes one use of the first fault matching a call to `scope` (and `pub_key`), in one
    /// atomic statement; also whether any fault has uses left afterwards.
    async fn take_fault(
        &self,
        scope: &str,
        pub_key: Option<&str>,
    ) -> Result<(Option<FaultRow>, bool), StoreError>;
    /// Registers a waiting `/from_url/` task; drops tasks created before `expired_wall_us`.
    async fn insert_task(&self, task: NewTask<'_>, expired_wall_us: i64) -> Result<(), StoreError>;
    /// Records a task's download progress.
    async fn task_progress(
        &self,
        token: &str,
        total: Option<i64>,
        done: i64,
    ) -> Result<(), StoreError>;
    /// Ends a task with success (`project`, `file_uuid`).
    async fn task_succeeded(
        &self,
        token: &str,
        project: &str,
        file_uuid: &str,
    ) -> Result<(), StoreError>;
    /// Ends a task with an error.
    async fn task_failed(&self, token: &str, code: &str, message: &str) -> Result<(), StoreError>;
    /// A task created after `expired_wall_us`, if any.
    async fn task(&self, token: &str, expired_wall_us: i64) -> Result<Option<TaskRow>, StoreError>;
    /// Fails the unfinished tasks and conversion jobs of replicas that are not `me` and have
    /// no heartbeat after `since_wall_us` (dead, or a previous run of a one-process store),
    /// and releases the webhook deliveries they had leased (due again at once). Returns how
    /// many tasks and jobs ended.
    async fn fail_orphans(
        &self,
        me: &str,
        since_wall_us: i64,
        task_error: (&str, &str),
        job_error: &str,
    ) -> Result<u64, StoreError>;
}

/// A new `/from_url/` task, waiting for its download.
#[derive(Clone, Copy, Debug)]
pub struct NewTask<'a> {
    /// The token clients poll it by.
    pub token: &'a str,
    /// The replica that downloads it.
    pub owner: &'a str,
    /// When it was created, wall-clock microseconds.
    pub wall_us: i64,
}

const STATE_QUERY: &str = "SELECT version, clock_offset_us, \
     (SELECT COUNT(*) FROM faults WHERE remaining > 0) AS faults \
     FROM emulator_state WHERE id = 1";

const FAULT_COLUMNS: &str = "kind, amount, scope, pub_key, remaining";

impl SqlStore {
    /// Applies `change`, moves the clock by `by_us` and bumps the version, in one
    /// transaction that publishes `topic` (replicas wake at once instead of at their next
    /// heartbeat, `crate::replicas`).
    async fn bump(
        &self,
        topic: Topic,
        change: Option<Sql>,
        by_us: i64,
    ) -> Result<SharedState, StoreError> {
        let mut tx = self.begin().await?;
        tx.publish(topic, "");
        if let Some(change) = change {
            tx.execute(&change).await?;
        }
        tx.execute(
            &Sql::new(
                "UPDATE emulator_state SET version = version + 1, \
                 clock_offset_us = clock_offset_us + $1 WHERE id = 1",
            )
            .bind(by_us),
        )
        .await?;
        let state: SharedState = tx
            .fetch_optional(&Sql::new(STATE_QUERY))
            .await?
            .ok_or_else(|| StoreError::Internal("emulator_state has no row".into()))?;
        tx.commit_with(state).await
    }

    /// Sets a `/from_url/` task's columns: `set` names them with `values` as `$1` and `$2`;
    /// the row is changed only where `only` (text after `token = $3`) also holds.
    async fn update_task(
        &self,
        token: &str,
        (set, only): (&str, &str),
        values: [Arg; 2],
    ) -> Result<(), StoreError> {
        let [first, second] = values;
        let sql = Sql::new(format!(
            "UPDATE from_url_tasks SET {set} WHERE token = $3{only}"
        ))
        .bind(first)
        .bind(second)
        .bind(token);
        self.write(async |tx| tx.execute(&sql).await).await?;
        Ok(())
    }
}

#[async_trait]
impl SharedStore for SqlStore {
    fn is_shared(&self) -> bool {
        self.db.dialect() == Dialect::Postgres
    }

    async fn shared_state(&self) -> Result<SharedState, StoreError> {
        self.db.fetch_one(&Sql::new(STATE_QUERY)).await
    }

    async fn heartbeat(&self, id: &str, seen_version: i64, wall_us: i64) -> Result<(), StoreError> {
        let sql = Sql::new(
            "INSERT INTO replicas (id, seen_version, heartbeat_us) VALUES ($1, $2, $3) \
             ON CONFLICT (id) DO UPDATE SET seen_version = excluded.seen_version, \
             heartbeat_us = excluded.heartbeat_us",
        )
        .bind(id)
        .bind(seen_version)
        .bind(wall_us);
        self.write(async |tx| tx.execute(&sql).await).await?;
        Ok(())
    }

    async fn forget_replica(&self, id: &str) -> Result<(), StoreError> {
        let sql = Sql::new("DELETE FROM replicas WHERE id = $1").bind(id);
        self.write(async |tx| tx.execute(&sql).await).await?;
        Ok(())
    }

    async fn replicas_behind(
        &self,
        me: &str,
        version: i64,
        since_wall_us: i64,
    ) -> Result<i64, StoreError> {
        let (n,): (i64,) = self
            .db
            .fetch_one(
                &Sql::new(
                    "SELECT COUNT(*) FROM replicas WHERE id <> $1 AND seen_version < $2 \
                     AND heartbeat_us > $3",
                )
                .bind(me)
                .bind(version)
                .bind(since_wall_us),
            )
            .await?;
        Ok(n)
    }

    async fn advance_shared_clock(&self, by_us: i64) -> Result<SharedState, StoreError> {
        self.bump(Topic::Clock, None, by_us).await
    }

    async fn bump_shared_version(&self) -> Result<SharedState, StoreError> {
        self.bump(Topic::Projects, None, 0).await
    }

    async fn add_fault(&self, f: &FaultRow) -> Result<SharedState, StoreError> {
        let insert = Sql::new(
            "INSERT INTO faults (kind, amount, scope, pub_key, remaining) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(f.kind.as_str())
        .bind(f.amount)
        .bind(f.scope.as_str())
        .bind(f.pub_key.clone())
        .bind(f.remaining);
        self.bump(Topic::Faults, Some(insert), 0).await
    }

    async fn clear_faults(&self) -> Result<SharedState, StoreError> {
        self.bump(Topic::Faults, Some(Sql::new("DELETE FROM faults")), 0)
            .await
    }

    async fn pending_faults(&self) -> Result<Vec<FaultRow>, StoreError> {
        self.db
            .fetch_all(&Sql::new(format!(
                "SELECT {FAULT_COLUMNS} FROM faults WHERE remaining > 0 ORDER BY id"
            )))
            .await
    }

    async fn take_fault(
        &self,
        scope: &str,
        pub_key: Option<&str>,
    ) -> Result<(Option<FaultRow>, bool), StoreError> {
        // Postgres: the row lock makes a concurrent taker wait and re-check `remaining`, so
        // a fault is used exactly `remaining` times across replicas. SQLite has one writer.
        let lock = match self.db.dialect() {
            Dialect::Postgres => " FOR UPDATE",
            Dialect::Sqlite => "",
        };
        let take = Sql::new(format!(
            "UPDATE faults SET remaining = remaining - 1 WHERE remaining > 0 AND id = \
             (SELECT id FROM faults WHERE remaining > 0 AND (scope = 'any' OR scope = $1) \
              AND (pub_key IS NULL OR pub_key = $2) ORDER BY id LIMIT 1{lock}) \
             RETURNING {FAULT_COLUMNS}"
        ))
        .bind(scope)
        .bind(pub_key.map(str::to_owned));
        let mut tx = self.begin().await?;
        let taken: Option<FaultRow> = tx.fetch_optional(&take).await?;
        let (left,): (i64,) = tx
            .fetch_optional(&Sql::new("SELECT COUNT(*) FROM faults WHERE remaining > 0"))
            .await?
            .unwrap_or((0,));
        tx.commit_with((taken, left > 0)).await
    }

    async fn insert_task(&self, task: NewTask<'_>, expired_wall_us: i64) -> Result<(), StoreError> {
        let forget =
            Sql::new("DELETE FROM from_url_tasks WHERE created_us < $1").bind(expired_wall_us);
        let insert = Sql::new(
            "INSERT INTO from_url_tasks (token, owner, state, done, created_us) \
             VALUES ($1, $2, 'waiting', 0, $3)",
        )
        .bind(task.token)
        .bind(task.owner)
        .bind(task.wall_us);
        self.write(async |tx| {
            tx.execute(&forget).await?;
            tx.execute(&insert).await
        })
        .await?;
        Ok(())
    }

    async fn task_progress(
        &self,
        token: &str,
        total: Option<i64>,
        done: i64,
    ) -> Result<(), StoreError> {
        let set = "state = 'progress', total = $1, done = $2";
        let only = " AND state IN ('waiting', 'progress')";
        self.update_task(token, (set, only), [total.into(), done.into()])
            .await
    }

    async fn task_succeeded(
        &self,
        token: &str,
        project: &str,
        file_uuid: &str,
    ) -> Result<(), StoreError> {
        let set = "state = 'success', project = $1, file_uuid = $2";
        self.update_task(token, (set, ""), [project.into(), file_uuid.into()])
            .await
    }

    async fn task_failed(&self, token: &str, code: &str, message: &str) -> Result<(), StoreError> {
        let set = "state = 'error', error_code = $1, error_message = $2";
        self.update_task(token, (set, ""), [code.into(), message.into()])
            .await
    }

    async fn task(&self, token: &str, expired_wall_us: i64) -> Result<Option<TaskRow>, StoreError> {
        self.db
            .fetch_optional(
                &Sql::new(
                    "SELECT state, total, done, project, file_uuid, error_code, error_message \
                     FROM from_url_tasks WHERE token = $1 AND created_us >= $2",
                )
                .bind(token)
                .bind(expired_wall_us),
            )
            .await
    }

    async fn fail_orphans(
        &self,
        me: &str,
        since_wall_us: i64,
        (code, message): (&str, &str),
        job_error: &str,
    ) -> Result<u64, StoreError> {
        let dead = "NOT IN (SELECT id FROM replicas WHERE heartbeat_us > $2)";
        let tasks = Sql::new(format!(
            "UPDATE from_url_tasks SET state = 'error', error_code = $3, error_message = $4 \
             WHERE state IN ('waiting', 'progress') AND owner <> $1 AND owner {dead}"
        ))
        .bind(me)
        .bind(since_wall_us)
        .bind(code)
        .bind(message);
        let jobs = Sql::new(format!(
            "UPDATE conversion_jobs SET status = 'failed', error = $3 \
             WHERE status IN ('pending', 'processing') \
             AND (owner IS NULL OR (owner <> $1 AND owner {dead}))"
        ))
        .bind(me)
        .bind(since_wall_us)
        .bind(job_error);
        // Deliveries a dead replica had claimed are due again now, not when the lease ends.
        let leases = Sql::new(format!(
            "UPDATE webhook_deliveries SET lease_until_us = NULL, lease_owner = NULL \
             WHERE lease_until_us IS NOT NULL \
             AND (lease_owner IS NULL OR (lease_owner <> $1 AND lease_owner {dead}))"
        ))
        .bind(me)
        .bind(since_wall_us);
        self.write(async |tx| {
            let ended = tx.execute(&tasks).await? + tx.execute(&jobs).await?;
            tx.execute(&leases).await?;
            Ok(ended)
        })
        .await
    }
}
