//! The delivery worker: moves outbox events to deliveries (one per active hook subscribed at
//! that moment) and sends every due delivery, in the background, off the request path.
//!
//! - It wakes when a change commits ([`Webhooks::wake`]) and at least every
//!   [`POLL_INTERVAL`], so retries fall due on the emulator's clock even when tests move it,
//!   and events another replica wrote are seen.
//! - A pass sends up to [`CONCURRENCY`] deliveries at once; a receiver that hangs holds one
//!   slot until the timeout, never a request of the APIs.
//! - Per-file order: a delivery is due only when no earlier delivery of the same file to the
//!   same target is still pending, so a target sees a file's events in the order they
//!   happened (also when one target subscribes to several events), even across retries.
//! - At least once: a delivery is marked delivered only after its 2xx arrived; a crash in
//!   between sends it again after restart.
//! - Replicas: each due delivery is claimed by one worker (a lease, see
//!   `crate::store::webhooks::DELIVERY_LEASE_US`), so one replica sends it; when that
//!   replica dies before recording the attempt, another sends it once the lease ends, or
//!   sooner: the sweep of dead replicas' work (at start-up, and when a heartbeat is 2 s old)
//!   releases a dead replica's leases.
//! - A delivery whose hook was deleted or deactivated before it went out is cancelled.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::{self, StreamExt};
use tokio::sync::{Mutex, Notify};

use super::delivery::{client, next_attempt, send, Outcome};
use super::events::delivery_body;
use super::hooks::{Event, Hook};
use crate::error::StoreError;
use crate::store::webhooks::{Attempt, Delivery, DeliveryState, NewDelivery};
use crate::AppState;

/// Longest sleep between passes.
pub const POLL_INTERVAL: Duration = Duration::from_millis(500);
/// Deliveries in flight at once.
pub const CONCURRENCY: usize = 32;
/// Outbox events and due deliveries read per query.
const BATCH: i64 = 256;

/// The worker's shared handle: wake-ups, the pass lock and the HTTP client.
pub struct Webhooks {
    notify: Notify,
    /// Held for a whole pass, so a flush and the background loop never send the same
    /// delivery twice at once.
    pass: Mutex<()>,
    client: reqwest::Client,
}

impl Default for Webhooks {
    fn default() -> Self {
        Self {
            notify: Notify::new(),
            pass: Mutex::new(()),
            client: client(),
        }
    }
}

/// What a flush did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Flushed {
    /// Delivery attempts made (cancellations included).
    pub attempted: usize,
}

impl Webhooks {
    /// Starts a pass soon (called after a change with events commits).
    pub fn wake(&self) {
        self.notify.notify_one();
    }

    /// Runs passes until no outbox event and no due delivery is left, and returns then:
    /// every delivery due now was attempted (those that failed wait for their next try).
    pub async fn flush(&self, state: &AppState) -> Result<Flushed, StoreError> {
        let _pass = self.pass.lock().await;
        let mut flushed = Flushed::default();
        loop {
            let attempted = pass(state, &self.client).await?;
            flushed.attempted += attempted;
            let (events, due) = state.store.webhook_backlog(state.clock.now_us()).await?;
            if events == 0 && due == 0 {
                return Ok(flushed);
            }
            if attempted == 0 {
                // What is left is in another replica's hands (claimed): wait for it.
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
}

/// Runs the worker until the process ends.
pub fn spawn(state: Arc<AppState>) {
    tokio::spawn(async move {
        loop {
            {
                let _pass = state.webhooks.pass.lock().await;
                if let Err(e) = pass(&state, &state.webhooks.client).await {
                    tracing::warn!(error = %e, "webhook delivery pass failed");
                }
            }
            let _ = tokio::time::timeout(POLL_INTERVAL, state.webhooks.notify.notified()).await;
        }
    });
}

/// Fans out every outbox event, then attempts due deliveries until none is due; returns
/// the number of attempts.
async fn pass(state: &AppState, client: &reqwest::Client) -> Result<usize, StoreError> {
    let mut attempted = 0;
    loop {
        dispatch(state).await?;
        let due = state
            .store
            .due_deliveries(&state.replica.id, state.clock.now_us(), BATCH)
            .await?;
        if due.is_empty() {
            return Ok(attempted);
        }
        attempted += due.len();
        let outcomes: Vec<(i64, Attempt)> = stream::iter(due)
            .map(|(delivery, hook_live)| attempt(state, client, delivery, hook_live))
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        state.store.record_attempts(&outcomes).await?;
    }
}

/// Replaces outbox events by deliveries, one per active hook subscribed to each.
async fn dispatch(state: &AppState) -> Result<(), StoreError> {
    let db = &state.store;
    loop {
        let events = db.queued_events(BATCH).await?;
        if events.is_empty() {
            return Ok(());
        }
        // Read after this batch's events: a hook created before an upload committed is
        // seen by that upload's event (kept across batches, a hook created meanwhile was
        // missed and the event went out to no one).
        let mut hooks: HashMap<(String, Event), Vec<Hook>> = HashMap::new();
        let mut batch = Vec::with_capacity(events.len());
        for queued in events {
            let e = &queued.event;
            let key = (e.project.clone(), e.event);
            if !hooks.contains_key(&key) {
                let found = db.active_hooks(&e.project, e.event).await?;
                hooks.insert(key.clone(), found);
            }
            let deliveries: Vec<NewDelivery> = hooks
                .get(&key)
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .filter_map(|hook| {
                    Some(NewDelivery {
                        hook_id: hook.id,
                        target_url: hook.target_url.clone(),
                        signing_secret: hook.signing_secret.clone(),
                        body: delivery_body(hook, &e.payload)?,
                    })
                })
                .collect();
            batch.push((queued, deliveries));
        }
        db.dispatch_events(&batch).await?;
    }
}

/// Sends one delivery (or cancels it when its hook is gone); returns what to record.
async fn attempt(
    state: &AppState,
    client: &reqwest::Client,
    d: Delivery,
    hook_live: bool,
) -> (i64, Attempt) {
    if !hook_live {
        let cancelled = Attempt {
            state: DeliveryState::Cancelled,
            next_attempt_us: None,
            outcome: Outcome {
                status: None,
                error: Some("hook deleted or deactivated".into()),
                latency_us: 0,
            },
            at_us: state.clock.now_us(),
        };
        return (d.id, cancelled);
    }
    let outcome = send(client, &d.target_url, d.signing_secret.as_deref(), &d.body).await;
    let now = state.clock.now_us();
    let (new_state, next) = if outcome.delivered() {
        (DeliveryState::Delivered, None)
    } else {
        match next_attempt(d.created_us, d.attempts + 1, now) {
            Some(at) => (DeliveryState::Pending, Some(at)),
            None => (DeliveryState::Failed, None),
        }
    };
    if new_state != DeliveryState::Delivered {
        tracing::info!(
            delivery = d.id,
            hook = d.hook_id,
            event = d.event.name(),
            status = outcome.status,
            error = outcome.error.as_deref().unwrap_or("-"),
            state = new_state.name(),
            "webhook delivery failed"
        );
    }
    let recorded = Attempt {
        state: new_state,
        next_attempt_us: next,
        outcome,
        at_us: now,
    };
    (d.id, recorded)
}
