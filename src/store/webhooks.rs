//! The webhook tables: `webhooks` (hooks), `webhook_events` (the outbox) and
//! `webhook_deliveries` (one row per event and hook, with its attempts).
//!
//! The outbox is written through [`Tx::insert_events`] inside the transaction of the file
//! change an event describes, so both commit or neither does. The worker
//! (`crate::webhooks::worker`) moves events to deliveries with
//! [`WebhookStore::dispatch_events`] and records attempts with
//! [`WebhookStore::record_attempts`].

use super::rows::{from_row, row_struct, TextColumn};
use async_trait::async_trait;
use uuid::Uuid;

use super::db::{Dialect, Sql, Tx};
use super::SqlStore;
use crate::error::StoreError;
use crate::webhooks::delivery::Outcome;
use crate::webhooks::events::OutboxEvent;
use crate::webhooks::hooks::{Event, Hook, HookSettings};

const HOOK_COLUMNS: &str = "id, project, event, target_url, is_active, signing_secret, version, \
     created_us, updated_us";

/// How long a claimed delivery is another worker's (wall-clock microseconds): longer than a
/// pass takes to send what it claimed (`BATCH` deliveries, `CONCURRENCY` at a time, each
/// within the delivery timeout), so only a dead claimer's deliveries are sent again.
pub const DELIVERY_LEASE_US: i64 = 120 * 1_000_000;

pub(super) const DELIVERY_COLUMNS: &str =
    "id, event_id, project, hook_id, event, file_uuid, target_url, signing_secret, body, \
     created_us, state, attempts, next_attempt_us, last_status, last_error, last_latency_us, \
     last_attempt_us";

from_row!(Hook {
    id,
    project,
    #[text]
    event,
    target_url,
    is_active,
    signing_secret,
    version,
    created_us,
    updated_us
});

impl TextColumn for Event {
    fn from_text(text: &str) -> Result<Self, StoreError> {
        Event::parse(text).ok_or_else(|| StoreError::Internal(format!("bad event column {text:?}")))
    }
}

/// Where a delivery stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeliveryState {
    /// Waiting for its first or next attempt.
    Pending,
    /// A 2xx answer was received.
    Delivered,
    /// Retries ran out (72 hours).
    Failed,
    /// Its hook was deleted or deactivated before it went out.
    Cancelled,
}

impl DeliveryState {
    /// The stored and listed name.
    pub fn name(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Failed => "failed",
            DeliveryState::Cancelled => "cancelled",
        }
    }
}

impl TextColumn for DeliveryState {
    fn from_text(text: &str) -> Result<Self, StoreError> {
        [
            DeliveryState::Pending,
            DeliveryState::Delivered,
            DeliveryState::Failed,
            DeliveryState::Cancelled,
        ]
        .into_iter()
        .find(|d| d.name() == text)
        .ok_or_else(|| StoreError::Internal(format!("bad state column {text:?}")))
    }
}

row_struct! {
    /// One event for one hook, and what its attempts got.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct Delivery {
        /// Delivery id (increasing in event order).
        pub id: i64,
        /// The outbox event it came from.
        pub event_id: i64,
        /// The project.
        pub project: String,
        /// The hook (it may have been deleted since).
        pub hook_id: i64,
        /// The event.
        #[row(text)]
        pub event: Event,
        /// The file it is about.
        #[row(text)]
        pub file_uuid: Uuid,
        /// Where it goes.
        pub target_url: String,
        /// The hook's secret when the delivery was made, if any.
        pub signing_secret: Option<String>,
        /// The exact body sent.
        pub body: String,
        /// When the change happened.
        pub created_us: i64,
        /// Where it stands.
        #[row(text)]
        pub state: DeliveryState,
        /// Attempts made.
        pub attempts: i64,
        /// When it is due (pending only).
        pub next_attempt_us: Option<i64>,
        /// The last answer's status, if the receiver answered.
        pub last_status: Option<i64>,
        /// Why the last attempt got no answer.
        pub last_error: Option<String>,
        /// The last attempt's latency in microseconds.
        pub last_latency_us: Option<i64>,
        /// When the last attempt was made.
        pub last_attempt_us: Option<i64>,
    }
}

row_struct! {
    /// An outbox event with its id.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct QueuedEvent {
        /// Outbox id (increasing in commit order per writer).
        pub id: i64,
        /// The event.
        #[row(flatten)]
        pub event: OutboxEvent,
    }
}
from_row!(OutboxEvent {
    project,
    #[text]
    event,
    #[text]
    file_uuid,
    payload,
    created_us
});

/// A delivery to create when an event is fanned out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewDelivery {
    /// The hook.
    pub hook_id: i64,
    /// Its target.
    pub target_url: String,
    /// Its secret.
    pub signing_secret: Option<String>,
    /// The exact body.
    pub body: String,
}

/// What one attempt leaves on its delivery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attempt {
    /// The new state.
    pub state: DeliveryState,
    /// When to try again (pending only).
    pub next_attempt_us: Option<i64>,
    /// What it got (for a cancellation: no answer, and why).
    pub outcome: Outcome,
    /// When it was made.
    pub at_us: i64,
}

/// New settings for one hook of a project, written at `now_us`.
#[derive(Clone, Copy, Debug)]
pub struct HookUpdate<'a> {
    /// The hook's project.
    pub project: &'a str,
    /// The hook.
    pub id: i64,
    /// The time written as `updated_us`.
    pub now_us: i64,
    /// Its settings from then on.
    pub settings: &'a HookSettings,
}

/// What an update of a hook came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HookWrite {
    /// Written.
    Done(Hook),
    /// No such hook in the project.
    NotFound,
    /// Another hook of the project has the same event and target.
    Duplicate,
}

impl Tx {
    /// Writes events to the outbox in this transaction (they go out only if it commits).
    pub async fn insert_events(&mut self, events: &[OutboxEvent]) -> Result<(), StoreError> {
        // One statement per 100 events keeps the parameter count low on both backends.
        for chunk in events.chunks(100) {
            let mut q = Sql::new(
                "INSERT INTO webhook_events (project, event, file_uuid, payload, created_us) VALUES ",
            );
            for (i, e) in chunk.iter().enumerate() {
                q.push(if i == 0 { "(" } else { ", (" });
                q.push_bind(e.project.as_str())
                    .push(", ")
                    .push_bind(e.event.name())
                    .push(", ")
                    .push_bind(e.file_uuid)
                    .push(", ")
                    .push_bind(e.payload.as_str())
                    .push(", ")
                    .push_bind(e.created_us)
                    .push(")");
            }
            self.execute(&q).await?;
        }
        Ok(())
    }
}

/// The webhook tables' reads and one-operation writes.
#[async_trait]
pub trait WebhookStore {
    /// The project's hooks, oldest first.
    async fn list_hooks(&self, project: &str) -> Result<Vec<Hook>, StoreError>;
    /// One hook of the project.
    async fn hook(&self, project: &str, id: i64) -> Result<Option<Hook>, StoreError>;
    /// The active hooks of the project subscribed to `event`.
    async fn active_hooks(&self, project: &str, event: Event) -> Result<Vec<Hook>, StoreError>;
    /// Creates a hook; `Duplicate` when the project already has one for this event and
    /// target.
    async fn insert_hook(
        &self,
        project: &str,
        s: &HookSettings,
        now_us: i64,
    ) -> Result<HookWrite, StoreError>;
    /// Replaces a hook's settings, unless another hook of the project has the same event
    /// and target.
    async fn update_hook(&self, update: HookUpdate<'_>) -> Result<HookWrite, StoreError>;
    /// Deletes one hook; `false` when the project has no such hook.
    async fn delete_hook(&self, project: &str, id: i64) -> Result<bool, StoreError>;
    /// Deletes every hook of the project with this target; how many went.
    async fn delete_hooks_by_target(
        &self,
        project: &str,
        target_url: &str,
    ) -> Result<u64, StoreError>;
    /// The oldest outbox events, at most `limit`.
    async fn queued_events(&self, limit: i64) -> Result<Vec<QueuedEvent>, StoreError>;
    /// Replaces outbox events by their deliveries (due at once), all in one transaction.
    async fn dispatch_events(
        &self,
        batch: &[(QueuedEvent, Vec<NewDelivery>)],
    ) -> Result<(), StoreError>;
    /// Pending deliveries due at `now_us`, oldest first, at most `limit`, each the first
    /// pending one of its file and target (per-file order, also across hooks sharing a
    /// target), with whether its hook still exists and is active; leased to replica `me`.
    async fn due_deliveries(
        &self,
        me: &str,
        now_us: i64,
        limit: i64,
    ) -> Result<Vec<(Delivery, bool)>, StoreError>;
    /// Records attempts (or cancellations) on deliveries, by id, in one transaction.
    async fn record_attempts(&self, attempts: &[(i64, Attempt)]) -> Result<(), StoreError>;
    /// The latest deliveries, newest first, of one project or of all; at most `limit`.
    async fn list_deliveries(
        &self,
        project: Option<&str>,
        limit: i64,
    ) -> Result<Vec<Delivery>, StoreError>;
    /// Makes a delivery pending and due at `now_us` again; `false` when there is none.
    async fn redeliver(&self, id: i64, now_us: i64) -> Result<bool, StoreError>;
    /// How many outbox events and due pending deliveries remain (flush's exit test).
    async fn webhook_backlog(&self, now_us: i64) -> Result<(i64, i64), StoreError>;
}

#[async_trait]
impl WebhookStore for SqlStore {
    /// The project's hooks, oldest first.
    async fn list_hooks(&self, project: &str) -> Result<Vec<Hook>, StoreError> {
        let q = Sql::new(format!(
            "SELECT {HOOK_COLUMNS} FROM webhooks WHERE project = $1 ORDER BY id"
        ))
        .bind(project);
        self.db.fetch_all(&q).await
    }

    /// One hook of the project.
    async fn hook(&self, project: &str, id: i64) -> Result<Option<Hook>, StoreError> {
        let q = Sql::new(format!(
            "SELECT {HOOK_COLUMNS} FROM webhooks WHERE project = $1 AND id = $2"
        ))
        .bind(project)
        .bind(id);
        self.db.fetch_optional(&q).await
    }

    /// The active hooks of the project subscribed to `event`.
    async fn active_hooks(&self, project: &str, event: Event) -> Result<Vec<Hook>, StoreError> {
        let q = Sql::new(format!(
            "SELECT {HOOK_COLUMNS} FROM webhooks \
             WHERE project = $1 AND event = $2 AND is_active = $3 ORDER BY id"
        ))
        .bind(project)
        .bind(event.name())
        .bind(true);
        self.db.fetch_all(&q).await
    }

    /// Creates a hook; `Duplicate` when the project already has one for this event and
    /// target.
    async fn insert_hook(
        &self,
        project: &str,
        s: &HookSettings,
        now_us: i64,
    ) -> Result<HookWrite, StoreError> {
        let q = Sql::new(format!(
            "INSERT INTO webhooks (project, event, target_url, is_active, signing_secret, \
             version, created_us, updated_us) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
             ON CONFLICT (project, event, target_url) DO NOTHING RETURNING {HOOK_COLUMNS}"
        ))
        .bind(project)
        .bind(s.event.name())
        .bind(s.target_url.as_str())
        .bind(s.is_active)
        .bind(s.signing_secret.clone())
        .bind(s.version.as_str())
        .bind(now_us);
        let mut tx = self.begin().await?;
        let row: Option<Hook> = tx.fetch_optional(&q).await?;
        tx.commit().await?;
        Ok(match row {
            Some(r) => HookWrite::Done(r),
            None => HookWrite::Duplicate,
        })
    }

    /// Replaces a hook's settings, unless another hook of the project has the same event
    /// and target.
    async fn update_hook(&self, update: HookUpdate<'_>) -> Result<HookWrite, StoreError> {
        let HookUpdate {
            project,
            id,
            settings: s,
            now_us,
        } = update;
        let q = Sql::new(format!(
            "UPDATE webhooks SET event = $1, target_url = $2, is_active = $3, \
             signing_secret = $4, version = $5, updated_us = $6 \
             WHERE project = $7 AND id = $8 AND NOT EXISTS (SELECT 1 FROM webhooks o \
               WHERE o.project = $7 AND o.event = $1 AND o.target_url = $2 AND o.id <> $8) \
             RETURNING {HOOK_COLUMNS}"
        ))
        .bind(s.event.name())
        .bind(s.target_url.as_str())
        .bind(s.is_active)
        .bind(s.signing_secret.clone())
        .bind(s.version.as_str())
        .bind(now_us)
        .bind(project)
        .bind(id);
        let mut tx = self.begin().await?;
        let row: Option<Hook> = tx.fetch_optional(&q).await?;
        tx.commit().await?;
        match row {
            Some(r) => Ok(HookWrite::Done(r)),
            None if self.hook(project, id).await?.is_some() => Ok(HookWrite::Duplicate),
            None => Ok(HookWrite::NotFound),
        }
    }

    /// Deletes one hook; `false` when the project has no such hook.
    async fn delete_hook(&self, project: &str, id: i64) -> Result<bool, StoreError> {
        let q = Sql::new("DELETE FROM webhooks WHERE project = $1 AND id = $2")
            .bind(project)
            .bind(id);
        let mut tx = self.begin().await?;
        let n = tx.execute(&q).await?;
        tx.commit_with(n > 0).await
    }

    /// Deletes every hook of the project with this target; how many went.
    async fn delete_hooks_by_target(
        &self,
        project: &str,
        target_url: &str,
    ) -> Result<u64, StoreError> {
        let q = Sql::new("DELETE FROM webhooks WHERE project = $1 AND target_url = $2")
            .bind(project)
            .bind(target_url);
        let mut tx = self.begin().await?;
        let n = tx.execute(&q).await?;
        tx.commit_with(n).await
    }

    /// The oldest outbox events, at most `limit`.
    async fn queued_events(&self, limit: i64) -> Result<Vec<QueuedEvent>, StoreError> {
        let q = Sql::new(
            "SELECT id, project, event, file_uuid, payload, created_us FROM webhook_events \
             ORDER BY id LIMIT $1",
        )
        .bind(limit);
        self.db.fetch_all(&q).await
    }

    async fn dispatch_events(
        &self,
        batch: &[(QueuedEvent, Vec<NewDelivery>)],
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        for (event, deliveries) in batch {
            let deleted = tx
                .execute(&Sql::new("DELETE FROM webhook_events WHERE id = $1").bind(event.id))
                .await?;
            // Another worker (a replica on the same Postgres) took it first.
            if deleted == 0 {
                continue;
            }
            let e = &event.event;
            for d in deliveries {
                let q = Sql::new(
                    "INSERT INTO webhook_deliveries (event_id, project, hook_id, event, \
                     file_uuid, target_url, signing_secret, body, created_us, state, attempts, \
                     next_attempt_us) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $9)",
                )
                .bind(event.id)
                .bind(e.project.as_str())
                .bind(d.hook_id)
                .bind(e.event.name())
                .bind(e.file_uuid)
                .bind(d.target_url.as_str())
                .bind(d.signing_secret.clone())
                .bind(d.body.as_str())
                .bind(e.created_us)
                .bind(DeliveryState::Pending.name())
                .bind(0i64);
                tx.execute(&q).await?;
            }
        }
        tx.commit().await
    }

    /// Pending deliveries due at `now_us`, oldest first, at most `limit`, each the first
    /// pending one of its file and target (per-file order, also across hooks sharing a
    /// target), with whether its hook still exists and is active.
    async fn due_deliveries(
        &self,
        me: &str,
        now_us: i64,
        limit: i64,
    ) -> Result<Vec<(Delivery, bool)>, StoreError> {
        row_struct! {
            struct DueRow {
                #[row(flatten)]
                delivery: Delivery,
                hook_live: i64,
            }
        }
        let columns = DELIVERY_COLUMNS
            .split(", ")
            .map(|c| format!("d.{}", c.trim()))
            .collect::<Vec<_>>()
            .join(", ");
        // Claimed by one worker (replica) at a time: the rows are locked while the lease is
        // written (Postgres skips rows another worker is claiming) and a leased delivery is
        // not due for anyone else until its lease ends, so each attempt goes out once, and
        // again only when its claimer died before recording it (at least once).
        let lock = match self.db.dialect() {
            Dialect::Postgres => " FOR UPDATE OF d SKIP LOCKED",
            Dialect::Sqlite => "",
        };
        let wall_us = chrono::Utc::now().timestamp_micros();
        let q = Sql::new(format!(
            "SELECT {columns}, \
             (SELECT COUNT(*) FROM webhooks h WHERE h.id = d.hook_id AND h.is_active = $1) \
             AS hook_live \
             FROM webhook_deliveries d \
             WHERE d.state = $2 AND d.next_attempt_us <= $3 \
             AND (d.lease_until_us IS NULL OR d.lease_until_us < $5) \
             AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e \
               WHERE e.file_uuid = d.file_uuid AND e.target_url = d.target_url \
               AND e.state = $2 AND e.id < d.id) \
             ORDER BY d.id LIMIT $4{lock}"
        ))
        .bind(true)
        .bind(DeliveryState::Pending.name())
        .bind(now_us)
        .bind(limit)
        .bind(wall_us);
        let mut tx = self.begin().await?;
        let rows: Vec<DueRow> = tx.fetch_all(&q).await?;
        if rows.is_empty() {
            // Nothing claimed: rolled back on drop. A commit would be an empty write every
            // worker pass, and every commit voids the memory cache's kept pages.
            return Ok(Vec::new());
        }
        let mut claim = Sql::new("UPDATE webhook_deliveries SET lease_until_us = ");
        claim.push_bind(wall_us + DELIVERY_LEASE_US);
        claim.push(", lease_owner = ").push_bind(me);
        claim.push(" WHERE id IN (");
        claim.push_list(rows.iter().map(|r| r.delivery.id));
        claim.push(")");
        tx.execute(&claim).await?;
        let rows = tx.commit_with(rows).await?;
        Ok(rows
            .into_iter()
            .map(|r| (r.delivery, r.hook_live > 0))
            .collect())
    }

    async fn record_attempts(&self, attempts: &[(i64, Attempt)]) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        for (id, a) in attempts {
            let q = Sql::new(
                "UPDATE webhook_deliveries SET state = $1, next_attempt_us = $2, \
                 attempts = attempts + $3, last_status = $4, last_error = $5, \
                 last_latency_us = $6, last_attempt_us = $7, lease_until_us = NULL \
                 WHERE id = $8",
            )
            .bind(a.state.name())
            .bind(a.next_attempt_us)
            .bind(i64::from(a.state != DeliveryState::Cancelled))
            .bind(a.outcome.status.map(i64::from))
            .bind(a.outcome.error.clone())
            .bind(Some(a.outcome.latency_us))
            .bind(Some(a.at_us))
            .bind(*id);
            tx.execute(&q).await?;
        }
        tx.commit().await
    }

    /// The latest deliveries, newest first, of one project or of all; at most `limit`.
    async fn list_deliveries(
        &self,
        project: Option<&str>,
        limit: i64,
    ) -> Result<Vec<Delivery>, StoreError> {
        let q = match project {
            Some(p) => Sql::new(format!(
                "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE project = $1 \
                 ORDER BY id DESC LIMIT $2"
            ))
            .bind(p)
            .bind(limit),
            None => Sql::new(format!(
                "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries ORDER BY id DESC LIMIT $1"
            ))
            .bind(limit),
        };
        self.db.fetch_all(&q).await
    }

    /// Makes a delivery pending and due at `now_us` again; `false` when there is none.
    async fn redeliver(&self, id: i64, now_us: i64) -> Result<bool, StoreError> {
        let q = Sql::new(
            "UPDATE webhook_deliveries SET state = $1, next_attempt_us = $2, \
             lease_until_us = NULL WHERE id = $3",
        )
        .bind(DeliveryState::Pending.name())
        .bind(now_us)
        .bind(id);
        let mut tx = self.begin().await?;
        let n = tx.execute(&q).await?;
        tx.commit_with(n > 0).await
    }

    /// How many outbox events and due pending deliveries remain (flush's exit test).
    async fn webhook_backlog(&self, now_us: i64) -> Result<(i64, i64), StoreError> {
        let q = Sql::new(
            "SELECT (SELECT COUNT(*) FROM webhook_events), \
             (SELECT COUNT(*) FROM webhook_deliveries WHERE state = $1 AND next_attempt_us <= $2)",
        )
        .bind(DeliveryState::Pending.name())
        .bind(now_us);
        self.db.fetch_one(&q).await
    }
}
