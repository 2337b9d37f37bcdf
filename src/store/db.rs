//! The one seam between the table modules and the two databases: a statement with its
//! values ([`Sql`]), the pools ([`Db`]) and a write transaction ([`Tx`]).
//!
//! Table modules build an [`Sql`] (numbered `$N` parameters, which SQLite and Postgres both
//! read) and run it on a [`Db`] (reads) or a [`Tx`] (writes), decoding rows into any type
//! that derives `FromRow`. Only this file matches on the backend; what differs in SQL text
//! lives in `sqlite.rs` and `postgres.rs` and is picked through [`Dialect`].

use std::sync::Arc;

use futures_util::TryStreamExt;
use sqlx::Executor;
use tokio::sync::{Mutex, OwnedMutexGuard};

use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{
    Arguments, Database, Encode, FromRow, PgConnection, Postgres, Sqlite, SqliteConnection, Type,
};
use uuid::Uuid;

use super::cache::Cache;
use super::notify::{self, Changes, Topic};
use super::{postgres, sqlite};
use crate::error::StoreError;

/// A value bound to a statement parameter.
#[derive(Clone, Debug)]
pub enum Arg {
    /// `TEXT`.
    Text(String),
    /// `BIGINT`.
    Int(i64),
    /// `BOOLEAN`.
    Bool(bool),
    /// Nullable `TEXT`.
    OptText(Option<String>),
    /// Nullable `BIGINT`.
    OptInt(Option<i64>),
}

/// The `From` conversions into [`Arg`]: `Type => |value| arg;` each.
macro_rules! arg_from {
    ($($ty:ty => |$v:ident| $arg:expr;)*) => {
        $(impl From<$ty> for Arg {
            fn from($v: $ty) -> Self {
                $arg
            }
        })*
    };
}
arg_from! {
    &str => |v| Arg::Text(v.to_owned());
    String => |v| Arg::Text(v);
    &String => |v| Arg::Text(v.clone());
    Uuid => |v| Arg::Text(v.to_string());
    i64 => |v| Arg::Int(v);
    bool => |v| Arg::Bool(v);
    Option<String> => |v| Arg::OptText(v);
    Option<i64> => |v| Arg::OptInt(v);
}

/// A statement and its values, in parameter order.
#[derive(Clone, Debug, Default)]
pub struct Sql {
    text: String,
    args: Vec<Arg>,
}

impl Sql {
    /// A statement whose `$1`, `$2`, … are given by the following [`Sql::bind`] calls.
    pub fn new(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            args: Vec::new(),
        }
    }

    /// Gives the next numbered parameter its value.
    pub fn bind(mut self, value: impl Into<Arg>) -> Self {
        self.args.push(value.into());
        self
    }

    /// Appends statement text.
    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Appends a new parameter (`$N`) holding `value`.
    pub fn push_bind(&mut self, value: impl Into<Arg>) -> &mut Self {
        self.args.push(value.into());
        self.text.push('$');
        self.text.push_str(&self.args.len().to_string());
        self
    }

    /// Appends `$a, $b, …`, one new parameter per value (for `IN (…)` and `VALUES (…)`).
    pub fn push_list<T: Into<Arg>>(&mut self, values: impl IntoIterator<Item = T>) -> &mut Self {
        for (i, v) in values.into_iter().enumerate() {
            if i > 0 {
                self.text.push_str(", ");
            }
            self.push_bind(v);
        }
        self
    }

    fn arguments<'q, DB: Database>(&self) -> Result<DB::Arguments<'q>, StoreError>
    where
        String: Encode<'q, DB> + Type<DB>,
        i64: Encode<'q, DB> + Type<DB>,
        bool: Encode<'q, DB> + Type<DB>,
        Option<String>: Encode<'q, DB> + Type<DB>,
        Option<i64>: Encode<'q, DB> + Type<DB>,
    {
        let mut out = DB::Arguments::default();
        for a in &self.args {
            match a.clone() {
                Arg::Text(v) => out.add(v),
                Arg::Int(v) => out.add(v),
                Arg::Bool(v) => out.add(v),
                Arg::OptText(v) => out.add(v),
                Arg::OptInt(v) => out.add(v),
            }
            .map_err(|e| StoreError::Internal(format!("cannot bind a parameter: {e}")))?;
        }
        Ok(out)
    }
}

/// What a query's rows decode into: any `#[derive(FromRow)]` type (or tuple) works on both
/// backends.
pub trait Row:
    for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin + 'static
{
}
impl<T> Row for T where
    T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin + 'static
{
}

/// Which SQL dialect a connection speaks, for the few statements that differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite.
    Sqlite,
    /// Postgres.
    Postgres,
}

impl Dialect {
    /// An aggregate turning the rows of `columns` (a comma list), sorted by `order_by`, into
    /// one JSON array of arrays, as text (`[]` when there are none).
    pub fn json_rows(self, columns: &str, order_by: &str) -> String {
        match self {
            Dialect::Sqlite => sqlite::json_rows(columns, order_by),
            Dialect::Postgres => postgres::json_rows(columns, order_by),
        }
    }

    /// The condition joining a member row `m` to its group row `g`.
    pub fn group_of_member(self) -> &'static str {
        match self {
            Dialect::Sqlite => sqlite::GROUP_OF_MEMBER,
            Dialect::Postgres => postgres::GROUP_OF_MEMBER,
        }
    }
}

/// One connection of either backend.
enum Conn<'c> {
    Sqlite(&'c mut SqliteConnection),
    Postgres(&'c mut PgConnection),
}

impl Conn<'_> {
    /// Runs `q`, its text preceded by `prefix` (a statement sent in the same trip); the rows
    /// `q` changed. SQLite reports a statement that changes nothing (`BEGIN`) with the count
    /// of the statement before it, so the prefix's count is skipped, not added.
    async fn execute(self, prefix: &str, q: &Sql) -> Result<u64, StoreError> {
        Ok(match self {
            Conn::Sqlite(c) => {
                let text = with_prefix(prefix, q);
                let query = sqlx::query_with(&text, q.arguments::<Sqlite>()?);
                let mut results = c.fetch_many(query);
                let mut skip = usize::from(!prefix.is_empty());
                let mut changed = 0;
                while let Some(result) = results.try_next().await? {
                    if let sqlx::Either::Left(done) = result {
                        match skip {
                            0 => changed += done.rows_affected(),
                            _ => skip -= 1,
                        }
                    }
                }
                changed
            }
            Conn::Postgres(c) => sqlx::query_with(&q.text, q.arguments::<Postgres>()?)
                .execute(c)
                .await?
                .rows_affected(),
        })
    }

    /// Every row of `q`, its text preceded by `prefix` (see [`Conn::execute`]).
    async fn fetch_all<T: Row>(self, prefix: &str, q: &Sql) -> Result<Vec<T>, StoreError> {
        Ok(match self {
            Conn::Sqlite(c) => {
                sqlx::query_as_with(&with_prefix(prefix, q), q.arguments::<Sqlite>()?)
                    .fetch_all(c)
                    .await?
            }
            Conn::Postgres(c) => {
                sqlx::query_as_with(&q.text, q.arguments::<Postgres>()?)
                    .fetch_all(c)
                    .await?
            }
        })
    }
}

/// `q`'s text after `prefix` (borrowed as it is when there is none).
fn with_prefix<'a>(prefix: &str, q: &'a Sql) -> std::borrow::Cow<'a, str> {
    if prefix.is_empty() {
        q.text.as_str().into()
    } else {
        format!("{prefix}{}", q.text).into()
    }
}

/// The pools of an open database.
#[derive(Clone, Debug)]
pub enum Db {
    /// SQLite: a pool of readers and a single writer connection behind a lock, so writers
    /// queue for the lock (an async wait) instead of spinning on SQLite's busy handler. The
    /// writer is not pooled: a pool tests a connection on every return, one more trip to
    /// the connection's thread per transaction.
    Sqlite {
        /// Read connections.
        read: sqlx::SqlitePool,
        /// The one write connection.
        write: Arc<Mutex<SqliteConnection>>,
    },
    /// Postgres: one pool; the server handles concurrent writers.
    Postgres(sqlx::PgPool),
}

/// A connection checked out of a [`Db`] pool.
enum PoolConn {
    Sqlite(sqlx::pool::PoolConnection<Sqlite>),
    Postgres(sqlx::pool::PoolConnection<Postgres>),
}

impl PoolConn {
    fn conn(&mut self) -> Conn<'_> {
        match self {
            PoolConn::Sqlite(c) => Conn::Sqlite(c),
            PoolConn::Postgres(c) => Conn::Postgres(c),
        }
    }
}

impl Db {
    /// The dialect of this database.
    pub fn dialect(&self) -> Dialect {
        match self {
            Db::Sqlite { .. } => Dialect::Sqlite,
            Db::Postgres(_) => Dialect::Postgres,
        }
    }

    async fn reader(&self) -> Result<PoolConn, StoreError> {
        Ok(match self {
            Db::Sqlite { read, .. } => PoolConn::Sqlite(read.acquire().await?),
            Db::Postgres(pool) => PoolConn::Postgres(pool.acquire().await?),
        })
    }

    /// Every row of a query.
    pub async fn fetch_all<T: Row>(&self, q: &Sql) -> Result<Vec<T>, StoreError> {
        self.reader().await?.conn().fetch_all("", q).await
    }

    /// The first row of a query (one that returns at most a few rows), if any.
    pub async fn fetch_optional<T: Row>(&self, q: &Sql) -> Result<Option<T>, StoreError> {
        Ok(self.fetch_all(q).await?.into_iter().next())
    }

    /// The first row of a query, which must exist.
    pub async fn fetch_one<T: Row>(&self, q: &Sql) -> Result<T, StoreError> {
        self.fetch_optional(q)
            .await?
            .ok_or_else(|| StoreError::Internal("a query returned no row".into()))
    }

    /// The pool of a Postgres database (for its change listener).
    pub(super) fn postgres_pool(&self) -> Option<&sqlx::PgPool> {
        match self {
            Db::Sqlite { .. } => None,
            Db::Postgres(pool) => Some(pool),
        }
    }

    /// Starts a write transaction; `cache` is told what it changed once it commits, and
    /// `changes` delivers what it published.
    pub async fn begin(
        &self,
        cache: Option<Arc<Cache>>,
        changes: &Changes,
    ) -> Result<Tx, StoreError> {
        let inner = match self {
            Db::Sqlite { write, .. } => TxInner::Sqlite(SqliteTx {
                conn: Some(write.clone().lock_owned().await),
                begun: false,
            }),
            Db::Postgres(pool) => TxInner::Postgres(pool.begin().await?),
        };
        Ok(Tx {
            inner,
            cache,
            changes: changes.clone(),
            published: Vec::new(),
            changed_files: Vec::new(),
            changed_groups: Vec::new(),
            changed_all: false,
        })
    }
}

enum TxInner {
    Sqlite(SqliteTx),
    Postgres(sqlx::Transaction<'static, Postgres>),
}

/// A transaction on SQLite's write connection, held until it ends. `BEGIN` travels with
/// the first statement and `COMMIT` is one statement more: two trips to the connection's
/// thread for a one-statement transaction instead of three.
struct SqliteTx {
    /// The write connection; `None` once the transaction ended.
    conn: Option<OwnedMutexGuard<SqliteConnection>>,
    /// Whether `BEGIN` was sent (set before it is, so a cancelled first statement still
    /// rolls back).
    begun: bool,
}

impl SqliteTx {
    /// The connection and what the next statement must be preceded by.
    fn next(&mut self) -> Result<(Conn<'_>, &'static str), StoreError> {
        let prefix = if self.begun { "" } else { "BEGIN; " };
        self.begun = true;
        let conn = self
            .conn
            .as_deref_mut()
            .ok_or_else(|| StoreError::Internal("the transaction has ended".into()))?;
        Ok((Conn::Sqlite(conn), prefix))
    }

    async fn commit(mut self) -> Result<(), StoreError> {
        if let (true, Some(conn)) = (self.begun, self.conn.as_deref_mut()) {
            sqlx::query("COMMIT").execute(conn).await?;
        }
        self.conn = None;
        Ok(())
    }
}

impl Drop for SqliteTx {
    /// Rolls back a transaction that did not commit (a failed statement or commit, or a
    /// cancelled request), keeping the connection locked until it has.
    fn drop(&mut self) {
        let Some(mut conn) = self.conn.take().filter(|_| self.begun) else {
            return;
        };
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Err(e) = sqlx::query("ROLLBACK").execute(&mut *conn).await {
                    tracing::debug!(error = %e, "rollback on SQLite's write connection");
                }
            });
        }
    }
}

/// Drops a committing transaction's changes from the cache when dropped (see [`Tx::commit`]).
struct Forget {
    cache: Arc<Cache>,
    all: bool,
    files: Vec<Uuid>,
    groups: Vec<Uuid>,
}

impl Drop for Forget {
    fn drop(&mut self) {
        if self.all {
            self.cache.forget_all();
        } else {
            self.cache.forget(&self.files, &self.groups);
        }
    }
}

/// A write transaction: every file-changing operation is a method of `Tx` (defined in the
/// module that owns the table), so several of them, and rows of other tables, commit or
/// roll back together. Dropped without [`Tx::commit`], it rolls back.
pub struct Tx {
    inner: TxInner,
    cache: Option<Arc<Cache>>,
    changes: Changes,
    /// Notes to deliver if the transaction commits.
    published: Vec<(Topic, String)>,
    changed_files: Vec<Uuid>,
    changed_groups: Vec<Uuid>,
    changed_all: bool,
}

impl Tx {
    /// The connection and the text the next statement is preceded by.
    fn conn(&mut self) -> Result<(Conn<'_>, &'static str), StoreError> {
        match &mut self.inner {
            TxInner::Sqlite(t) => t.next(),
            TxInner::Postgres(t) => Ok((Conn::Postgres(t), "")),
        }
    }

    /// The dialect of this transaction's database.
    pub fn dialect(&self) -> Dialect {
        match self.inner {
            TxInner::Sqlite(_) => Dialect::Sqlite,
            TxInner::Postgres(_) => Dialect::Postgres,
        }
    }

    /// Runs a statement; returns the rows it changed.
    pub async fn execute(&mut self, q: &Sql) -> Result<u64, StoreError> {
        let (conn, prefix) = self.conn()?;
        conn.execute(prefix, q).await
    }

    /// Every row of a query (or of an `… RETURNING` statement).
    pub async fn fetch_all<T: Row>(&mut self, q: &Sql) -> Result<Vec<T>, StoreError> {
        let (conn, prefix) = self.conn()?;
        conn.fetch_all(prefix, q).await
    }

    /// The first row of a query (one that returns at most a few rows), if any.
    pub async fn fetch_optional<T: Row>(&mut self, q: &Sql) -> Result<Option<T>, StoreError> {
        Ok(self.fetch_all(q).await?.into_iter().next())
    }

    /// Notes that file rows changed: cached copies are dropped when the transaction commits.
    pub fn files_changed(&mut self, uuids: impl IntoIterator<Item = Uuid>) {
        self.changed_files.extend(uuids);
    }

    /// Notes that group rows changed (see [`Tx::files_changed`]).
    pub fn groups_changed(&mut self, uuids: impl IntoIterator<Item = Uuid>) {
        self.changed_groups.extend(uuids);
    }

    /// Notes that rows changed wholesale: the whole cache is dropped on commit.
    pub fn all_changed(&mut self) {
        self.changed_all = true;
    }

    /// Publishes a change note, delivered to every process sharing the database if (and
    /// only if) this transaction commits (see `notify.rs`). Payloads longer than
    /// [`notify::MAX_PAYLOAD`] bytes make the commit fail.
    pub fn publish(&mut self, topic: Topic, payload: impl Into<String>) {
        self.published.push((topic, payload.into()));
    }

    /// Commits, then drops what the transaction changed from the cache and delivers what it
    /// published.
    pub async fn commit(mut self) -> Result<(), StoreError> {
        for (_, payload) in &self.published {
            notify::check_payload(payload)?;
        }
        // Dropped (and so dropping from the cache) after the commit, whether it succeeds,
        // fails or is cancelled half-way: a commit whose outcome is unknown may have landed.
        let _forget = self.cache.take().map(|cache| Forget {
            cache,
            all: self.changed_all,
            files: std::mem::take(&mut self.changed_files),
            groups: std::mem::take(&mut self.changed_groups),
        });
        match self.inner {
            TxInner::Sqlite(t) => t.commit().await?,
            TxInner::Postgres(mut t) => {
                // Sent inside the transaction: Postgres delivers them at COMMIT, or never.
                for (topic, payload) in &self.published {
                    sqlx::query("SELECT pg_notify($1, $2)")
                        .bind(notify::CHANNEL)
                        .bind(self.changes.wire(*topic, payload))
                        .execute(&mut *t)
                        .await?;
                }
                t.commit().await?
            }
        }
        self.changes.deliver(std::mem::take(&mut self.published));
        Ok(())
    }

    /// Commits and hands back `value` (the end of a one-operation transaction).
    pub async fn commit_with<R>(self, value: R) -> Result<R, StoreError> {
        self.commit().await?;
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn open() -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let db = sqlite::open(&url).await.unwrap();
        (dir, db)
    }

    fn add(key: &str) -> Sql {
        Sql::new(
            "INSERT INTO projects (pub_key, secret_key, name, autostore, signed_uploads) \
             VALUES ($1, 's', 'n', 0, 0)",
        )
        .bind(key)
    }

    async fn count(db: &Db) -> i64 {
        let (n,): (i64,) = db
            .fetch_one(&Sql::new("SELECT COUNT(*) FROM projects"))
            .await
            .unwrap();
        n
    }

    /// Counts are the statement's own, not those of the `BEGIN` sent with it, which SQLite
    /// reports with the count of the statement before.
    #[tokio::test]
    async fn a_first_statement_counts_its_own_rows() {
        let (_dir, db) = open().await;
        let changes = Changes::local();
        let mut tx = db.begin(None, &changes).await.unwrap();
        assert_eq!(tx.execute(&add("a")).await.unwrap(), 1);
        assert_eq!(tx.execute(&add("b")).await.unwrap(), 1);
        tx.commit().await.unwrap();
        let mut tx = db.begin(None, &changes).await.unwrap();
        let none = Sql::new("UPDATE projects SET name = 'x' WHERE pub_key = 'none'");
        assert_eq!(tx.execute(&none).await.unwrap(), 0);
        tx.commit().await.unwrap();
        assert_eq!(count(&db).await, 2);
    }

    /// A transaction dropped without commit, or whose first statement was cancelled, rolls
    /// back, and the write connection serves the next one.
    #[tokio::test]
    async fn dropped_and_cancelled_transactions_roll_back() {
        let (_dir, db) = open().await;
        let changes = Changes::local();
        let mut tx = db.begin(None, &changes).await.unwrap();
        tx.execute(&add("a")).await.unwrap();
        drop(tx);
        let mut tx = db.begin(None, &changes).await.unwrap();
        let b = add("b");
        // Polled once (sent to the connection's thread, perhaps run), then dropped.
        let mut cancelled = Box::pin(tx.execute(&b));
        // Whether or not the statement ran in that one poll, the transaction rolls back.
        let _ = std::future::poll_fn(|cx| {
            std::task::Poll::Ready(std::future::Future::poll(cancelled.as_mut(), cx))
        })
        .await;
        drop(cancelled);
        drop(tx);
        let mut tx = db.begin(None, &changes).await.unwrap();
        assert!(tx.execute(&add("a")).await.is_ok());
        assert!(tx.execute(&add("a")).await.is_err());
        drop(tx);
        let tx = db.begin(None, &changes).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(count(&db).await, 0);
    }
}
