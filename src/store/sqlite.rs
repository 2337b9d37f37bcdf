//! SQLite specifics: opening the database (WAL, pragmas, index statistics, the single writer)
//! and its dialect.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::Connection;
use tokio::sync::Mutex;

use super::db::Db;
use crate::error::StoreError;

/// Opens (creating if missing) and migrates the database at `url`.
///
/// WAL lets readers run beside the writer; `synchronous = NORMAL` in WAL mode still never
/// loses a committed transaction to a process crash (only to a power cut). Writes share one
/// connection behind a lock (see [`Db::Sqlite`]).
pub async fn open(url: &str) -> Result<Db, StoreError> {
    let options = SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(10))
        .foreign_keys(true);
    let mut write = SqliteConnection::connect_with(&options).await?;
    super::migrations::migrator(super::migrations::SQLITE)
        .await?
        .run(&mut write)
        .await?;
    // Index statistics, bounded (a thousand rows per index): without them the planner
    // cannot tell a selective index (a file name, a rare tag) from the upload-time order.
    for pragma in ["PRAGMA analysis_limit = 1000", "PRAGMA optimize = 0x10002"] {
        sqlx::query(pragma).execute(&mut write).await?;
    }
    // Connections are local files: the pool's test before each checkout would be one more
    // trip to the connection's thread per read, for nothing.
    let read = SqlitePoolOptions::new()
        .max_connections(8)
        .test_before_acquire(false)
        .connect_with(options)
        .await?;
    Ok(Db::Sqlite {
        read,
        write: Arc::new(Mutex::new(write)),
    })
}

/// See [`super::db::Dialect::json_rows`].
pub fn json_rows(columns: &str, order_by: &str) -> String {
    format!("json_group_array(json_array({columns}) ORDER BY {order_by})")
}

/// See [`super::db::Dialect::group_of_member`]: members are keyed by their group's
/// sequential id (migration 0015).
pub const GROUP_OF_MEMBER: &str = "m.group_id = g.id";
