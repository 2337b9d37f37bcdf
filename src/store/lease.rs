//! The sole-replica lease (Postgres). While one replica is the only client of its database,
//! nothing else can change what it reads, so it serves its hot reads from memory (the
//! [`Cache`] a SQLite store uses) instead of checking each one in the database
//! (`coalesce.rs`). The lease says when that holds.
//!
//! # Taking it
//! A replica's lease task keeps a connection of its own and, every [`RETRY`], tries one
//! statement ([`TAKE`]):
//! - it takes the advisory lock [`LOCK`] exclusively;
//! - then it checks in `pg_stat_activity` that no client backend other than this replica's
//!   own is connected to the database (a replica's connections carry its
//!   `application_name`, see [`Lease::application_name`]).
//!
//! Only then is the cache emptied and set serving.
//!
//! # Joining
//! Every connection any replica opens passes [`Lease::gate`] (sqlx's `after_connect`)
//! before its first use. The gate takes and drops [`LOCK`] in shared mode. While a holder
//! has the lock, the gate asks it to let go (`pg_notify` on [`CHANNEL`]) and asks again every
//! [`GATE_POLL`] until the lock is free.
//!
//! # Letting go
//! On any note, or when its connection ends, the holder stops serving from memory (and
//! empties it) first, and only then releases the lock. A joining replica therefore writes
//! nothing while another serves from memory. A killed replica's lock goes with its
//! connection. A replica that has another's connection beside it never takes the lease:
//! the `pg_stat_activity` check fails while that connection lives.
//!
//! # What it assumes
//! Every process that writes the database is a replica. A `psql` session that connects while
//! a replica holds the lease passes no gate, and its writes may go unseen by that replica.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::postgres::{PgListener, PgPool};
use sqlx::PgConnection;
use uuid::Uuid;

use super::cache::Cache;

/// The advisory lock of the lease (any number unlikely to collide: "ucle" in ASCII).
pub const LOCK: i64 = 0x7563_6c65;

/// The channel a joining connection asks the holder on.
pub const CHANNEL: &str = "uploadcare_emulator_lease";

/// How often a replica without the lease tries to take it.
pub const RETRY: Duration = Duration::from_secs(1);

/// How often a joining connection asks the holder again while it waits.
pub const GATE_POLL: Duration = Duration::from_millis(20);

/// How long a joining connection waits for the holder before it gives up.
pub const GATE_TIMEOUT: Duration = Duration::from_secs(10);

/// Takes [`LOCK`] and then checks that this replica is alone: `NULL` when the lock is taken
/// by another session, `false` when this replica has it but is not alone.
const TAKE: &str = "SELECT CASE WHEN pg_try_advisory_lock($1) THEN NOT EXISTS (\
     SELECT 1 FROM pg_stat_activity WHERE datname = current_database() \
     AND backend_type = 'client backend' AND pid <> pg_backend_pid() \
     AND application_name IS DISTINCT FROM $2) END";

/// Passes when [`LOCK`] is free of a holder; otherwise asks the holder to let go.
const PASS: &str = "SELECT CASE WHEN pg_try_advisory_lock_shared($1) \
     THEN pg_advisory_unlock_shared($1) \
     ELSE (SELECT false FROM pg_notify($2, '')) END";

/// One replica's side of the lease.
pub struct Lease {
    /// This replica's `application_name`.
    name: String,
    /// Whether this replica holds the lease.
    held: AtomicBool,
}

impl Lease {
    /// A replica's lease, not held.
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            name: format!("uploadcare-emulator/{}", Uuid::new_v4()),
            held: AtomicBool::new(false),
        })
    }

    /// The `application_name` every connection of this replica carries.
    pub fn application_name(&self) -> &str {
        &self.name
    }

    /// Whether this replica holds the lease (and so serves from memory).
    pub fn held(&self) -> bool {
        self.held.load(Ordering::Acquire)
    }

    /// Lets a new connection of this replica through once no other replica holds the lease
    /// (see the module docs). A connection opened while this replica holds it passes at
    /// once: no other replica can hold it then.
    pub async fn gate(&self, conn: &mut PgConnection) -> Result<(), sqlx::Error> {
        let started = Instant::now();
        while !self.held() {
            let passed: bool = sqlx::query_scalar(PASS)
                .bind(LOCK)
                .bind(CHANNEL)
                .fetch_one(&mut *conn)
                .await?;
            if passed {
                return Ok(());
            }
            if started.elapsed() > GATE_TIMEOUT {
                return Err(sqlx::Error::Protocol(
                    "another replica holds the database's sole-replica lease and does not \
                     let go"
                        .into(),
                ));
            }
            tokio::time::sleep(GATE_POLL).await;
        }
        Ok(())
    }

    /// Starts the task that takes the lease whenever this replica is alone on the database
    /// and lets go when another joins; `cache` serves while the lease is held.
    pub fn spawn(self: &Arc<Self>, pool: PgPool, cache: Arc<Cache>) {
        let lease = self.clone();
        tokio::spawn(async move {
            loop {
                if let Err(e) = lease.hold_once(&pool, &cache).await {
                    tracing::debug!(error = %e, "sole-replica lease: connection failed");
                }
                tokio::time::sleep(RETRY).await;
            }
        });
    }

    /// Waits until the lease is taken, holds it until asked to let go or the connection
    /// ends, then lets go.
    async fn hold_once(&self, pool: &PgPool, cache: &Cache) -> Result<(), sqlx::Error> {
        let mut conn = PgListener::connect_with(pool).await?;
        conn.eager_reconnect(false);
        loop {
            let alone: Option<bool> = sqlx::query_scalar(TAKE)
                .bind(LOCK)
                .bind(&self.name)
                .fetch_one(&mut conn)
                .await?;
            match alone {
                Some(true) => break,
                Some(false) => {
                    sqlx::query("SELECT pg_advisory_unlock($1)")
                        .bind(LOCK)
                        .execute(&mut conn)
                        .await?;
                }
                None => {}
            }
            tokio::time::sleep(RETRY).await;
        }
        // A gate that asked before this LISTEN asks again (`GATE_POLL`).
        let listened = conn.listen(CHANNEL).await;
        if listened.is_ok() {
            cache.serve(true);
            self.held.store(true, Ordering::Release);
            tracing::info!("alone on the database: cached reads are served from memory");
            // A note (someone joins) or the connection's end: either way, let go.
            let _ = conn.try_recv().await;
            self.held.store(false, Ordering::Release);
            cache.serve(false);
            tracing::info!("another replica joins: reads are checked in the database");
        }
        sqlx::query("SELECT pg_advisory_unlock_all()")
            .execute(&mut conn)
            .await?;
        listened
    }
}
