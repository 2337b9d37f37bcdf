//! Replicas: several emulator processes on one Postgres database answer as one emulator
//! (docs/replicas.md, "What is shared").
//!
//! What a request reads on every call (the clock's offset, whether any fault is pending,
//! projects) is mirrored in each process's memory, so the common case costs no database
//! round trip. The mirrors follow one row, `emulator_state`, whose `version` every admin
//! change bumps:
//! - each replica reads that row every [`HEARTBEAT`], and at once when a change note of
//!   the clock, faults or projects arrives (`crate::store::notify`), applies what changed,
//!   and writes its heartbeat with the version it applied (`replicas` table);
//! - the admin call that changed it applies it locally, then waits until every live replica
//!   (heartbeat within [`LIVENESS`]) has applied that version, at most [`ACK_TIMEOUT`]. So
//!   once the admin call returns, the next request on any live replica sees the change.
//!
//! The same heartbeat is the lease of the work a replica runs in the background:
//! `/from_url/` downloads and conversion jobs are owned by a replica, and a replica whose
//! heartbeat is older than [`LIVENESS`] is dead: its unfinished tasks and jobs end in error
//! (checked every [`SWEEP_EVERY`] heartbeats, and at start-up).
//!
//! SQLite is one process: no heartbeat is written, admin changes apply locally only, and at
//! start-up every unfinished task or job belongs to a previous run.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use uuid::Uuid;

use crate::error::StoreError;
use crate::store::shared::SharedState;
use crate::store::{Change, Topic};
use crate::upload_api::error::ErrorCode;
use crate::AppState;

/// How often a replica reads the shared state and writes its heartbeat.
pub const HEARTBEAT: Duration = Duration::from_millis(100);
/// A replica without a heartbeat for this long is dead.
pub const LIVENESS: Duration = Duration::from_secs(2);
/// Longest an admin change waits for the live replicas to apply it.
pub const ACK_TIMEOUT: Duration = Duration::from_secs(3);
/// Heartbeats between two sweeps of dead replicas' work.
pub const SWEEP_EVERY: u32 = 10;

/// The error of a conversion job whose replica died.
pub const JOB_INTERRUPTED: &str =
    "The emulator stopped while converting; submit the conversion again";

/// This process among the replicas.
pub struct Replica {
    /// A random id, new for every process.
    pub id: String,
    /// The version of the shared state applied, and the clock offset it carried.
    applied: Mutex<(i64, i64)>,
}

impl Default for Replica {
    fn default() -> Self {
        Self {
            id: Uuid::new_v4().simple().to_string(),
            applied: Mutex::new((0, 0)),
        }
    }
}

/// Wall-clock microseconds (heartbeats and leases do not follow the emulator's clock).
pub fn wall_us() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

fn liveness_cutoff() -> i64 {
    wall_us() - i64::try_from(LIVENESS.as_micros()).unwrap_or(i64::MAX)
}

impl Replica {
    /// Applies a shared state read from the store, unless a newer one was applied already:
    /// moves the clock by the change of the shared offset, re-arms the fault mirror and
    /// drops the project cache.
    pub fn apply(&self, state: &AppState, shared: SharedState) {
        let mut applied = self.applied.lock().unwrap_or_else(|p| p.into_inner());
        if shared.version <= applied.0 {
            return;
        }
        // A difference, so that white-box tests moving one process's clock keep their move.
        state
            .clock
            .advance(shared.clock_offset_us.saturating_sub(applied.1));
        state.faults.set_armed(shared.faults > 0);
        state.projects.forget_all();
        *applied = (shared.version, shared.clock_offset_us);
    }

    /// Applies a change this process made, then waits until every live replica applied it
    /// (see the module docs). Waiting ends after [`ACK_TIMEOUT`] with a warning.
    pub async fn publish(&self, state: &AppState, shared: SharedState) -> Result<(), StoreError> {
        self.apply(state, shared);
        if !state.store.is_shared() {
            return Ok(());
        }
        state
            .store
            .heartbeat(&self.id, shared.version, wall_us())
            .await?;
        let started = Instant::now();
        loop {
            let behind = state
                .store
                .replicas_behind(&self.id, shared.version, liveness_cutoff())
                .await?;
            if behind == 0 {
                return Ok(());
            }
            if started.elapsed() > ACK_TIMEOUT {
                tracing::warn!(behind, "replicas did not apply an admin change in time");
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// One heartbeat: reads the shared state, applies it, records the version applied.
    async fn beat(&self, state: &AppState) -> Result<(), StoreError> {
        let shared = state.store.shared_state().await?;
        self.apply(state, shared);
        let seen = self.applied.lock().map(|a| a.0).unwrap_or(shared.version);
        state.store.heartbeat(&self.id, seen, wall_us()).await
    }

    /// Ends the unfinished work of dead replicas (or of a previous run).
    pub async fn sweep(&self, state: &AppState) -> Result<u64, StoreError> {
        let code = ErrorCode::DownloadFileTaskFailedError;
        let message = crate::upload_api::error::UploadError::new(code).message;
        state
            .store
            .fail_orphans(
                &self.id,
                liveness_cutoff(),
                (code.name(), &message),
                JOB_INTERRUPTED,
            )
            .await
    }
}

/// Joins the replicas at start-up: applies the shared state (Postgres), writes the first
/// heartbeat, clears a one-process store's leftover faults, and ends the work dead replicas
/// left unfinished.
pub async fn join(state: &AppState) -> Result<(), StoreError> {
    let me = &state.replica;
    if state.store.is_shared() {
        me.beat(state).await?;
    } else {
        // A previous run's faults do not outlive it (as when they were in memory).
        state.store.clear_faults().await?;
    }
    let ended = me.sweep(state).await?;
    if ended > 0 {
        tracing::info!(
            ended,
            "ended tasks and jobs left unfinished by stopped processes"
        );
    }
    Ok(())
}

/// Runs the heartbeat loop until the process ends (shared stores only).
pub fn spawn(state: Arc<AppState>) {
    if !state.store.is_shared() {
        return;
    }
    tokio::spawn(async move {
        let mut changes = state.store.changes().subscribe();
        let mut heartbeat = tokio::time::interval(HEARTBEAT);
        heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut ticks = 0u32;
        loop {
            // A note is only a wake-up: the row is read either way, so a missed note costs
            // at most one heartbeat of delay, never correctness.
            let ticked = tokio::select! {
                _ = heartbeat.tick() => true,
                change = changes.recv() => match change {
                    Some(Change::Published { topic, .. }) => {
                        if !matches!(topic, Topic::Clock | Topic::Faults | Topic::Projects) {
                            continue;
                        }
                        false
                    }
                    Some(Change::Resync) => false,
                    // The store is gone: the process is ending.
                    None => return,
                },
            };
            if let Err(e) = state.replica.beat(&state).await {
                tracing::warn!(error = %e, "replica heartbeat failed");
            }
            if !ticked {
                continue;
            }
            ticks = ticks.wrapping_add(1);
            if ticks.is_multiple_of(SWEEP_EVERY) {
                match state.replica.sweep(&state).await {
                    Ok(0) => {}
                    Ok(ended) => tracing::info!(ended, "ended the work of a dead replica"),
                    Err(e) => tracing::warn!(error = %e, "sweeping dead replicas' work failed"),
                }
            }
        }
    });
}
