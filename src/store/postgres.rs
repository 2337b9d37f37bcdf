//! Postgres specifics: opening the pool and its dialect.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use super::db::Db;
use crate::error::StoreError;

/// Connects to and migrates the database at `url`.
pub async fn open(url: &str) -> Result<Db, StoreError> {
    let options = PgConnectOptions::from_str(url)?;
    let pool = PgPoolOptions::new()
        .max_connections(16)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options)
        .await?;
    sqlx::migrate!("./migrations/postgres").run(&pool).await?;
    Ok(Db::Postgres(pool))
}

/// See [`super::db::Dialect::json_rows`].
pub fn json_rows(columns: &str, order_by: &str) -> String {
    format!("COALESCE(json_agg(json_build_array({columns}) ORDER BY {order_by}), '[]')::text")
}
