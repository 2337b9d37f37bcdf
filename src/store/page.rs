//! The one paging primitive: a page of a time-ordered list and whether anything lies beyond
//! it on either side, read in one statement.

use serde::de::DeserializeOwned;

use super::db::{Db, Dialect, Sql};
use super::{Cursor, Order, PageQuery};
use crate::error::StoreError;

/// One page of a list, in the list's order, and whether it has neighbours.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page<T> {
    /// The page's items.
    pub items: Vec<T>,
    /// Whether an item lies strictly beyond the last one, in the list's order.
    pub has_next: bool,
    /// Whether an item lies strictly before the first one, in the list's order.
    pub has_previous: bool,
}

impl<T> Page<T> {
    /// The same page with its items converted.
    pub fn try_map<U, E>(self, f: impl FnMut(T) -> Result<U, E>) -> Result<Page<U>, E> {
        Ok(Page {
            items: self.items.into_iter().map(f).collect::<Result<_, _>>()?,
            has_next: self.has_next,
            has_previous: self.has_previous,
        })
    }
}

/// What a list pages over.
pub struct Listing<'a> {
    /// The table.
    pub table: &'static str,
    /// The column the list is ordered by (a time, microseconds).
    pub time: &'static str,
    /// The columns an item is read from, in the order its row type deserialises them.
    pub columns: &'static str,
    /// Appends the condition selecting the list's rows (with its values).
    pub condition: &'a (dyn Fn(&mut Sql) + Sync),
}

/// `ASC`/`DESC`.
fn direction(order: Order) -> &'static str {
    match order {
        Order::Ascending => "ASC",
        Order::Descending => "DESC",
    }
}

/// Reads one page of `listing`. The page is aggregated into one JSON array in the database
/// (one row crosses the driver instead of one per item), and two `EXISTS` probes beside it
/// say whether rows lie past its last and before its first time.
pub async fn page<T: DeserializeOwned>(
    db: &Db,
    listing: &Listing<'_>,
    q: &PageQuery,
) -> Result<Page<T>, StoreError> {
    let sql = page_statement(db.dialect(), listing, q);
    let (items, later, earlier): (String, bool, bool) = db.fetch_one(&sql).await?;
    decode(q, &items, later, earlier)
}

/// The statement [`page`] runs: one row of `items` (JSON text), `later`, `earlier`. Callers
/// may append more columns to its final `SELECT` (e.g. `, x FROM …`) to read them in the
/// same round trip and snapshot, then [`decode`] the first three.
pub fn page_statement(dialect: Dialect, listing: &Listing<'_>, q: &PageQuery) -> Sql {
    let Listing {
        table,
        time,
        columns,
        condition,
    } = listing;
    // Rows after the cursor are read in the list's order; a `Before` page is read backwards
    // from its cursor and put back in order by the aggregate.
    let (cursor, read_order) = match q.cursor {
        Cursor::Start => (None, q.order),
        Cursor::After { at_us } => (Some(at_us), q.order),
        Cursor::Before { at_us } => (Some(at_us), q.order.reverse()),
    };
    let mut sql = Sql::new(format!(
        "WITH page AS (SELECT {columns} FROM {table} WHERE "
    ));
    condition(&mut sql);
    if let Some(at_us) = cursor {
        let op = match read_order {
            Order::Ascending => ">",
            Order::Descending => "<",
        };
        sql.push(&format!(" AND {time} {op} ")).push_bind(at_us);
    }
    sql.push(&format!(
        " ORDER BY {time} {} LIMIT ",
        direction(read_order)
    ))
    .push_bind(q.limit)
    .push(" OFFSET ")
    .push_bind(q.offset);
    let aggregate = dialect.json_rows(columns, &format!("{time} {}", direction(q.order)));
    sql.push(&format!(
        ") SELECT (SELECT {aggregate} FROM page) AS items, EXISTS (SELECT 1 FROM {table} WHERE "
    ));
    condition(&mut sql);
    sql.push(&format!(
        " AND {time} > (SELECT MAX({time}) FROM page)) AS later, \
         EXISTS (SELECT 1 FROM {table} WHERE "
    ));
    condition(&mut sql);
    sql.push(&format!(
        " AND {time} < (SELECT MIN({time}) FROM page)) AS earlier"
    ));
    sql
}

/// The page from the first three columns of [`page_statement`]'s row.
pub fn decode<T: DeserializeOwned>(
    q: &PageQuery,
    items: &str,
    later: bool,
    earlier: bool,
) -> Result<Page<T>, StoreError> {
    let items: Vec<T> = serde_json::from_str(items)
        .map_err(|e| StoreError::Internal(format!("bad page aggregate: {e}")))?;
    let (has_next, has_previous) = match q.order {
        Order::Ascending => (later, earlier),
        Order::Descending => (earlier, later),
    };
    Ok(Page {
        items,
        has_next,
        has_previous,
    })
}
