//! Postgres specifics: opening the pool and its dialect.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::Connection;

use super::db::Db;
use super::lease::Lease;
use crate::error::StoreError;

/// A connection idle this long is pinged before it is handed out.
const PING_AFTER_IDLE: Duration = Duration::from_secs(1);

/// Connects to and migrates the database at `url`. Every connection carries `lease`'s
/// `application_name` and passes its gate before its first use (`lease.rs`).
///
/// sqlx pings every idle connection before handing it out by default: a second round trip
/// per query. A connection is pinged when it goes back to the pool anyway (sqlx drops it if
/// that fails), so only one that sat idle for [`PING_AFTER_IDLE`] or more (the database may
/// have gone away meanwhile) is pinged again before use.
pub async fn open(url: &str, lease: &Arc<Lease>) -> Result<Db, StoreError> {
    let options = PgConnectOptions::from_str(url)?.application_name(lease.application_name());
    let gated = lease.clone();
    let pool = PgPoolOptions::new()
        .max_connections(16)
        .acquire_timeout(Duration::from_secs(10))
        .test_before_acquire(false)
        .after_connect(move |conn, _| {
            let lease = gated.clone();
            Box::pin(async move { lease.gate(conn).await })
        })
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for >= PING_AFTER_IDLE {
                    conn.ping().await?;
                }
                Ok(true)
            })
        })
        .connect_with(options)
        .await?;
    super::migrations::migrator(super::migrations::POSTGRES)
        .await?
        .run(&pool)
        .await?;
    Ok(Db::Postgres(pool))
}

/// See [`super::db::Dialect::json_rows`].
pub fn json_rows(columns: &str, order_by: &str) -> String {
    format!("COALESCE(json_agg(json_build_array({columns}) ORDER BY {order_by}), '[]')::text")
}

/// See [`super::db::Dialect::group_of_member`]: members are keyed by their group's uuid.
pub const GROUP_OF_MEMBER: &str = "m.group_uuid = g.uuid";
