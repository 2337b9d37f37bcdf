//! Change notifications between replicas: a write transaction publishes `(topic, payload)`
//! and every process sharing the database hears it once the transaction commits.
//!
//! ```ignore
//! let mut changes = store.changes().subscribe();   // before reading what you will cache
//! let mut tx = store.begin().await?;
//! tx.publish(Topic::Faults, "");                  // delivered only if the commit succeeds
//! tx.commit().await?;
//! match changes.recv().await {
//!     Some(Change::Published { topic, payload }) => { /* drop what `topic` cached */ }
//!     Some(Change::Resync) => { /* notes may have been missed: drop every cached thing */ }
//!     None => { /* the store is gone */ }
//! }
//! ```
//!
//! # Delivery
//! - In the publishing process, on both backends, subscribers get the note right after the
//!   commit, before [`super::Tx::commit`] returns.
//! - Postgres: the transaction sends the notes with `pg_notify` just before `COMMIT`, so
//!   Postgres delivers them exactly when (and only if) the commit happens. Every process keeps
//!   one dedicated `LISTEN` connection (a `PgListener` task) feeding a Tokio broadcast;
//!   notes this process published are recognised by the replica id they carry and not
//!   delivered twice. When that connection drops, notes may have been missed: once it is
//!   back, subscribers get [`Change::Resync`].
//! - SQLite: only one process writes, so a commit delivers to this process's subscribers.
//! - A subscriber that falls more than [`BACKLOG`] notes behind gets [`Change::Resync`] too.
//!
//! # What it is not
//! Delivery to other replicas is asynchronous: a client that writes on replica A and reads on
//! B right after may be faster than the note. A cache must therefore never depend on a note
//! for correctness across replicas (validate in the same round trip, or cache only what
//! cannot change); notes are for dropping memory early and for state that may lag briefly.
//! Payloads are short text (at most [`MAX_PAYLOAD`] bytes; Postgres' limit is 8000).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgListener, PgPool, PgPoolOptions};
use tokio::sync::{broadcast, oneshot};
use uuid::Uuid;

use crate::error::StoreError;

/// The Postgres channel every note travels on.
pub const CHANNEL: &str = "uploadcare_emulator_changes";

/// Longest payload a note may carry, in bytes.
pub const MAX_PAYLOAD: usize = 7000;

/// Notes a subscriber may fall behind before it gets [`Change::Resync`] instead.
pub const BACKLOG: usize = 1024;

/// What changed: one topic per kind of shared state a process may hold in memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Topic {
    /// Injected faults.
    Faults,
    /// The emulator clock.
    Clock,
    /// Projects and their settings.
    Projects,
    /// File rows (the payload names the uuids, comma-separated, or is empty for "any").
    Files,
    /// Group rows (payload as for [`Topic::Files`]).
    Groups,
}

impl Topic {
    /// Every topic.
    pub const ALL: [Topic; 5] = [
        Topic::Faults,
        Topic::Clock,
        Topic::Projects,
        Topic::Files,
        Topic::Groups,
    ];

    /// The topic's name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Topic::Faults => "faults",
            Topic::Clock => "clock",
            Topic::Projects => "projects",
            Topic::Files => "files",
            Topic::Groups => "groups",
        }
    }

    fn parse(name: &str) -> Option<Topic> {
        Topic::ALL.into_iter().find(|t| t.as_str() == name)
    }
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a subscriber receives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// A committed transaction published this.
    Published {
        /// What changed.
        topic: Topic,
        /// The publisher's detail (may be empty).
        payload: String,
    },
    /// Notes may have been missed (the listener reconnected, or this subscriber lagged):
    /// drop everything cached from the shared store.
    Resync,
}

/// A subscription: the changes committed after it was taken.
pub struct Subscription {
    rx: broadcast::Receiver<Change>,
}

impl Subscription {
    /// The next change; `None` once the store is gone.
    pub async fn recv(&mut self) -> Option<Change> {
        match self.rx.recv().await {
            Ok(change) => Some(change),
            Err(broadcast::error::RecvError::Lagged(_)) => Some(Change::Resync),
            Err(broadcast::error::RecvError::Closed) => None,
        }
    }

    /// The next change if one is waiting (never waits); `None` when none is.
    pub fn try_recv(&mut self) -> Option<Change> {
        match self.rx.try_recv() {
            Ok(change) => Some(change),
            Err(broadcast::error::TryRecvError::Lagged(_)) => Some(Change::Resync),
            Err(_) => None,
        }
    }
}

/// The store's change feed: subscribe here; publish through [`super::Tx::publish`].
#[derive(Clone)]
pub struct Changes {
    inner: Arc<Inner>,
}

struct Inner {
    feed: broadcast::Sender<Change>,
    /// This process's id in the notes it sends (to skip them when they come back).
    replica: Uuid,
    /// Dropped with the store: stops the listener task.
    _stop: Option<oneshot::Sender<()>>,
}

impl Changes {
    /// A feed for a database only this process writes (SQLite).
    pub fn local() -> Self {
        Self::with(None)
    }

    fn with(stop: Option<oneshot::Sender<()>>) -> Self {
        let (feed, _) = broadcast::channel(BACKLOG);
        Self {
            inner: Arc::new(Inner {
                feed,
                replica: Uuid::new_v4(),
                _stop: stop,
            }),
        }
    }

    /// A feed for a shared Postgres database: listens on [`CHANNEL`] before it returns (so
    /// nothing committed after the store opened is missed), then feeds subscribers from a
    /// task that ends with the store.
    pub async fn listen(pool: &PgPool) -> Result<Self, StoreError> {
        // A pool of its own, of one connection: the listener holds it for good, and the
        // pool only serves its reconnections.
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .max_lifetime(None)
            .idle_timeout(None)
            .acquire_timeout(Duration::from_secs(10))
            .connect_lazy_with((*pool.connect_options()).clone());
        let listener = connect(&pool).await?;
        let (stop, stopped) = oneshot::channel();
        let changes = Self::with(Some(stop));
        tokio::spawn(run_listener(
            pool,
            listener,
            changes.inner.feed.clone(),
            changes.inner.replica,
            stopped,
        ));
        Ok(changes)
    }

    /// Subscribes to every change committed from now on.
    pub fn subscribe(&self) -> Subscription {
        Subscription {
            rx: self.inner.feed.subscribe(),
        }
    }

    /// Delivers committed notes to this process's subscribers.
    pub(super) fn deliver(&self, notes: Vec<(Topic, String)>) {
        for (topic, payload) in notes {
            // No subscriber is not an error.
            let _ = self.inner.feed.send(Change::Published { topic, payload });
        }
    }

    /// A note as sent over Postgres: `<replica>\t<topic>\t<payload>`.
    pub(super) fn wire(&self, topic: Topic, payload: &str) -> String {
        format!("{}\t{}\t{payload}", self.inner.replica, topic.as_str())
    }
}

/// Checks a payload before it is queued for publishing.
pub(super) fn check_payload(payload: &str) -> Result<(), StoreError> {
    if payload.len() > MAX_PAYLOAD {
        return Err(StoreError::Internal(format!(
            "a change note of {} bytes is over the {MAX_PAYLOAD}-byte limit",
            payload.len()
        )));
    }
    Ok(())
}

/// A note read from the channel: `None` when it is this replica's own or not understood.
fn parse_note(text: &str, me: Uuid) -> Option<Change> {
    let mut parts = text.splitn(3, '\t');
    let replica: Uuid = parts.next()?.parse().ok()?;
    let topic = Topic::parse(parts.next()?)?;
    let payload = parts.next()?.to_owned();
    (replica != me).then_some(Change::Published { topic, payload })
}

async fn connect(pool: &PgPool) -> Result<PgListener, StoreError> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

/// Feeds `feed` from the listener until `stopped` fires (the store was dropped) or the pool
/// closes. A lost connection is replaced, then subscribers are told to resync.
async fn run_listener(
    pool: PgPool,
    mut listener: PgListener,
    feed: broadcast::Sender<Change>,
    me: Uuid,
    mut stopped: oneshot::Receiver<()>,
) {
    loop {
        let next = tokio::select! {
            _ = &mut stopped => return,
            next = listener.try_recv() => next,
        };
        match next {
            Ok(Some(note)) => {
                if let Some(change) = parse_note(note.payload(), me) {
                    let _ = feed.send(change);
                }
            }
            // The connection dropped and sqlx reconnected and listens again: notes of the gap
            // are lost.
            Ok(None) => {
                tracing::warn!("change listener reconnected; subscribers resync");
                let _ = feed.send(Change::Resync);
            }
            Err(sqlx::Error::PoolClosed) => return,
            Err(e) => {
                tracing::warn!(error = %e, "change listener lost its connection");
                listener = loop {
                    tokio::select! {
                        _ = &mut stopped => return,
                        _ = tokio::time::sleep(Duration::from_millis(200)) => {}
                    }
                    if pool.is_closed() {
                        return;
                    }
                    match connect(&pool).await {
                        Ok(l) => break l,
                        Err(e) => tracing::warn!(error = %e, "change listener cannot reconnect"),
                    }
                };
                let _ = feed.send(Change::Resync);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_round_trip_and_own_notes_are_skipped() {
        let changes = Changes::local();
        let wire = changes.wire(Topic::Clock, "a\tb");
        assert_eq!(parse_note(&wire, changes.inner.replica), None);
        assert_eq!(
            parse_note(&wire, Uuid::new_v4()),
            Some(Change::Published {
                topic: Topic::Clock,
                payload: "a\tb".into()
            })
        );
        assert_eq!(parse_note("garbage", Uuid::new_v4()), None);
        let unknown = format!("{}\tnope\t", Uuid::new_v4());
        assert_eq!(parse_note(&unknown, Uuid::new_v4()), None);
    }

    #[tokio::test]
    async fn a_lagging_subscriber_is_told_to_resync() {
        let changes = Changes::local();
        let mut sub = changes.subscribe();
        changes.deliver(
            (0..=BACKLOG)
                .map(|_| (Topic::Faults, String::new()))
                .collect(),
        );
        assert_eq!(sub.recv().await, Some(Change::Resync));
    }
}
