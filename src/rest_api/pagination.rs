//! List paging (groups by creation time, files by upload time): the query (`limit`, `from`, `to`, `offset`, `ordering`) and the
//! `next`/`previous` links in production's form.
//!
//! Decisions where production is undocumented:
//! - `limit`: default 100; above 1000 it is clamped to 1000; zero, negative or non-numeric
//!   falls back to the default (what Django REST framework's paginators do with bad values).
//! - `from` (ISO-8601, offset optional, UTC assumed) is **exclusive**: a list starts after it
//!   in the list's order (later when ascending, earlier when descending). Links put the last
//!   item's time there, so `from` alone is an exact cursor (clients such as
//!   @uploadcare/rest-client keep only `from`, `limit` and `ordering`). A user-given `from`
//!   is read the same way; creation times carry microseconds, so this rarely matters.
//! - `to` (from `previous` links) selects the page ending right before that time; when both
//!   are given `to` wins. Unreadable `from`/`to` and an `ordering` other than the list's
//!   field (`datetime_created` for groups, `datetime_uploaded` for files), with or without
//!   `-`, answer 400 with a `detail`.
//! - `offset` (skip after the cursor) defaults to 0; links always carry `offset=0`.
//! - Unknown parameters are ignored, and kept in links.

use super::error::{RestError, RestErrorCode};
use crate::domain::time::{iso_offset, parse_iso};
use crate::store::{Cursor, Order, Page, PageQuery};

/// Page size when `limit` is absent or unusable.
pub const DEFAULT_LIMIT: i64 = 100;
/// Largest page.
pub const MAX_LIMIT: i64 = 1000;

/// What a list is sorted by.
#[derive(Clone, Copy, Debug)]
pub struct ListKind {
    /// The `ordering` field (`-` before it sorts descending).
    pub field: &'static str,
}

/// `GET /groups/`: by `datetime_created`.
pub const GROUPS: ListKind = ListKind {
    field: "datetime_created",
};

/// `GET /files/`: by `datetime_uploaded`.
pub const FILES: ListKind = ListKind {
    field: "datetime_uploaded",
};

/// A parsed list request: the page to read and the query pairs the links are built from.
#[derive(Clone, Debug)]
pub struct ListQuery {
    /// The page.
    pub page: PageQuery,
    /// The request's query pairs, decoded, in order.
    pub pairs: Vec<(String, String)>,
}

/// Parses a group list query string; `Err` is the 400 to answer.
pub fn parse_list_query(query: Option<&str>) -> Result<ListQuery, RestError> {
    parse_list_query_for(query, &GROUPS)
}

/// The decoded pairs of a request's query string, in order.
pub fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

/// The value of query parameter `name`: like Django's `QueryDict.get`, a repeated parameter
/// counts by its last value.
pub fn last_value<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Parses the query string of a `kind` list; `Err` is the 400 to answer.
pub fn parse_list_query_for(query: Option<&str>, kind: &ListKind) -> Result<ListQuery, RestError> {
    let pairs = query_pairs(query);
    let last = |name: &str| last_value(&pairs, name);
    let order = match last("ordering") {
        None => Order::Ascending,
        Some(o) if o == kind.field => Order::Ascending,
        Some(o) if o.strip_prefix('-') == Some(kind.field) => Order::Descending,
        Some(_) => {
            return Err(RestError::with(
                RestErrorCode::InvalidOrdering,
                &[kind.field, kind.field],
            ))
        }
    };
    let limit = match last("limit").map(|l| l.trim().parse::<i64>()) {
        Some(Ok(n)) if n > 0 => n.min(MAX_LIMIT),
        _ => DEFAULT_LIMIT,
    };
    let offset = match last("offset").map(|o| o.trim().parse::<i64>()) {
        Some(Ok(n)) if n > 0 => n,
        _ => 0,
    };
    let time = |name: &str| {
        last(name)
            .map(|v| {
                parse_iso(v).ok_or_else(|| RestError::with(RestErrorCode::InvalidDateTime, &[name]))
            })
            .transpose()
    };
    let from = time("from")?;
    let to = time("to")?;
    let cursor = match (to, from) {
        (Some(at_us), _) => Cursor::Before { at_us },
        (None, Some(at_us)) => Cursor::After { at_us },
        (None, None) => Cursor::Start,
    };
    Ok(ListQuery {
        page: PageQuery {
            order,
            cursor,
            offset,
            limit,
        },
        pairs,
    })
}

/// Sets `name` to `value`: in place of its first occurrence (dropping any others), or
/// appended.
fn set(pairs: &mut Vec<(String, String)>, name: &str, value: &str) {
    match pairs.iter().position(|(k, _)| k == name) {
        Some(i) => {
            pairs[i].1 = value.to_owned();
            let mut seen = 0;
            pairs.retain(|(k, _)| {
                if k != name {
                    return true;
                }
                seen += 1;
                seen == 1
            });
        }
        None => pairs.push((name.to_owned(), value.to_owned())),
    }
}

/// A link to another page: the request's parameters without `dropped`, with `cursor` set to
/// the time `at_us` (in place, or appended) and `offset=0`.
fn cursor_link(
    base: &str,
    pairs: &[(String, String)],
    (dropped, cursor): (&str, &str),
    at_us: i64,
) -> String {
    let mut pairs: Vec<(String, String)> = pairs
        .iter()
        .filter(|(k, _)| k != dropped)
        .cloned()
        .collect();
    set(&mut pairs, cursor, &iso_offset(at_us));
    set(&mut pairs, "offset", "0");
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&pairs)
        .finish();
    format!("{base}?{query}")
}

/// The `next` link: `from` set to the last item's time, `to` dropped (see `cursor_link`).
pub fn next_link(base: &str, pairs: &[(String, String)], last_us: i64) -> String {
    cursor_link(base, pairs, ("to", "from"), last_us)
}

/// The `previous` link: `to` set to the first item's time, `from` dropped (see
/// `cursor_link`).
pub fn previous_link(base: &str, pairs: &[(String, String)], first_us: i64) -> String {
    cursor_link(base, pairs, ("from", "to"), first_us)
}

/// The `next` and `previous` links of a page, each present when the page has neighbours on
/// that side; `time` reads an item's time (the list's order).
pub fn page_links<T>(
    base: &str,
    pairs: &[(String, String)],
    page: &Page<T>,
    time: impl Fn(&T) -> i64,
) -> (Option<String>, Option<String>) {
    let next = page
        .items
        .last()
        .filter(|_| page.has_next)
        .map(|last| next_link(base, pairs, time(last)));
    let previous = page
        .items
        .first()
        .filter(|_| page.has_previous)
        .map(|first| previous_link(base, pairs, time(first)));
    (next, previous)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "https://api.uploadcare.com/groups/";
    // 2013-04-30T09:09:15.625678+00:00
    const T: i64 = 1_367_312_955_625_678;

    fn q(s: &str) -> ListQuery {
        parse_list_query(Some(s)).unwrap()
    }

    #[test]
    fn links_in_production_form() {
        const AT: &str = "2013-04-30T09%3A09%3A15.625678%2B00%3A00";
        type Link = fn(&str, &[(String, String)], i64) -> String;
        let (next, previous): (Link, Link) = (next_link, previous_link);
        let walked = "limit=100&from=2013-01-01T00%3A00%3A00.000000%2B00%3A00&offset=0";
        let desc = "from=2015-10-21T00%3A00%3A00&ordering=-datetime_created&limit=5";
        for (link, query, want) in [
            (next, "", format!("from={AT}&offset=0")),
            (next, "limit=100", format!("limit=100&from={AT}&offset=0")),
            (next, walked, format!("limit=100&from={AT}&offset=0")),
            (previous, walked, format!("limit=100&offset=0&to={AT}")),
            (
                next,
                desc,
                format!("from={AT}&ordering=-datetime_created&limit=5&offset=0"),
            ),
            (
                previous,
                desc,
                format!("ordering=-datetime_created&limit=5&to={AT}&offset=0"),
            ),
        ] {
            let got = link(BASE, &q(query).pairs, T);
            assert_eq!(got, format!("{BASE}?{want}"), "{query}");
        }
    }

    #[test]
    fn next_from_a_previous_page_drops_to() {
        let prev = q("limit=2&offset=0&to=2013-04-30T09%3A09%3A15.625678%2B00%3A00&junk=1");
        assert_eq!(
            next_link(BASE, &prev.pairs, T),
            format!("{BASE}?limit=2&offset=0&junk=1&from=2013-04-30T09%3A09%3A15.625678%2B00%3A00")
        );
    }

    #[test]
    fn parameters() {
        let p = q("").page;
        assert_eq!(
            (p.order, p.cursor, p.offset, p.limit),
            (Order::Ascending, Cursor::Start, 0, DEFAULT_LIMIT)
        );
        assert_eq!(q("limit=5").page.limit, 5);
        assert_eq!(q("limit=5000").page.limit, MAX_LIMIT);
        for bad in ["limit=0", "limit=-3", "limit=abc", "limit="] {
            assert_eq!(q(bad).page.limit, DEFAULT_LIMIT, "{bad}");
        }
        assert_eq!(
            q("ordering=-datetime_created").page.order,
            Order::Descending
        );
        assert_eq!(
            q("from=2013-04-30T09:09:15.625678%2B00:00").page.cursor,
            Cursor::After { at_us: T }
        );
        assert_eq!(
            q("from=2000-01-01&to=2013-04-30T09:09:15.625678Z")
                .page
                .cursor,
            Cursor::Before { at_us: T }
        );
        assert_eq!(
            q("query_parameters=%7B%27limit%27%3A+None%7D").page.limit,
            100
        );
        let detail = |s: &str| parse_list_query(Some(s)).unwrap_err().detail;
        assert_eq!(
            detail("ordering=size"),
            "Invalid `ordering` value. Allowed values: datetime_created, -datetime_created."
        );
        assert_eq!(
            detail("from=yesterday"),
            "`from` must be a date and time in ISO-8601 format."
        );
        assert_eq!(
            detail("to=soon"),
            "`to` must be a date and time in ISO-8601 format."
        );
        let files = |s: &str| parse_list_query_for(Some(s), &FILES);
        assert_eq!(
            files("ordering=-datetime_uploaded").unwrap().page.order,
            Order::Descending
        );
        assert_eq!(
            files("ordering=datetime_created").unwrap_err().detail,
            "Invalid `ordering` value. Allowed values: datetime_uploaded, -datetime_uploaded."
        );
    }
}
