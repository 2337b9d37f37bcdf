//! HTTP rules of file delivery, free of I/O: byte ranges (RFC 9110 §14), conditional
//! requests (`If-None-Match`, `If-Modified-Since`, `If-Range`) and HTTP dates.

use chrono::{TimeZone, Utc};

use crate::domain::time::parse_http_date;

/// What a `Range` header asks of a body of known size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RangeAnswer {
    /// No usable range: send the whole body (absent, malformed or multi-range headers).
    Full,
    /// Send bytes `start..=end`.
    Partial {
        /// First byte.
        start: u64,
        /// Last byte, inclusive.
        end: u64,
    },
    /// A well-formed range outside the body: 416.
    Unsatisfiable,
}

/// Reads a `Range` header against a body of `size` bytes. Only single `bytes` ranges are
/// honoured; several ranges are answered with the whole body, which RFC 9110 allows.
pub fn range(header: Option<&str>, size: u64) -> RangeAnswer {
    let Some(header) = header else {
        return RangeAnswer::Full;
    };
    let header = header.trim();
    let Some(spec) = header
        .get(..6)
        .filter(|unit| unit.eq_ignore_ascii_case("bytes="))
        .and_then(|_| header.get(6..))
    else {
        return RangeAnswer::Full;
    };
    if spec.contains(',') {
        return RangeAnswer::Full;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return RangeAnswer::Full;
    };
    let number = |s: &str| -> Option<u64> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        // A number too large for u64 lies beyond any body.
        Some(s.parse().unwrap_or(u64::MAX))
    };
    match (first.trim(), last.trim()) {
        ("", suffix) => match number(suffix) {
            None => RangeAnswer::Full,
            Some(0) => RangeAnswer::Unsatisfiable,
            Some(_) if size == 0 => RangeAnswer::Unsatisfiable,
            Some(n) => RangeAnswer::Partial {
                start: size.saturating_sub(n),
                end: size - 1,
            },
        },
        (start, "") => match number(start) {
            None => RangeAnswer::Full,
            Some(start) if start >= size => RangeAnswer::Unsatisfiable,
            Some(start) => RangeAnswer::Partial {
                start,
                end: size - 1,
            },
        },
        (start, end) => match (number(start), number(end)) {
            (Some(start), Some(end)) if start <= end => {
                if start >= size {
                    RangeAnswer::Unsatisfiable
                } else {
                    RangeAnswer::Partial {
                        start,
                        end: end.min(size - 1),
                    }
                }
            }
            _ => RangeAnswer::Full,
        },
    }
}

/// Whether a conditional GET is answered 304: `If-None-Match` lists `etag` (weakly, or
/// `*`), or, without `If-None-Match`, nothing changed since `If-Modified-Since`.
pub fn not_modified(
    if_none_match: Option<&str>,
    if_modified_since: Option<&str>,
    etag: &str,
    last_modified_s: i64,
) -> bool {
    if let Some(list) = if_none_match {
        return list.split(',').map(str::trim).any(|tag| {
            tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == etag.trim_start_matches("W/")
        });
    }
    if_modified_since
        .and_then(parse_http_date)
        .is_some_and(|since| last_modified_s <= since)
}

/// Whether `If-Range` lets a `Range` apply: absent, the same strong ETag, or the exact
/// `Last-Modified` date.
pub fn if_range_holds(if_range: Option<&str>, etag: &str, last_modified_s: i64) -> bool {
    match if_range.map(str::trim) {
        None => true,
        Some(tag) if tag.starts_with('"') => tag == etag,
        Some(tag) if tag.starts_with("W/") => false,
        Some(date) => parse_http_date(date) == Some(last_modified_s),
    }
}

/// An IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) of microseconds since the epoch.
pub fn http_date(us: i64) -> String {
    let t = Utc
        .timestamp_micros(us)
        .single()
        .unwrap_or_else(|| Utc.timestamp_nanos(0));
    t.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ranges() {
        use RangeAnswer::*;
        let p = |start, end| Partial { start, end };
        assert_eq!(range(None, 10), Full);
        assert_eq!(range(Some("bytes=0-4"), 10), p(0, 4));
        assert_eq!(range(Some("bytes=5-"), 10), p(5, 9));
        assert_eq!(range(Some("bytes=-3"), 10), p(7, 9));
        assert_eq!(range(Some("bytes=-30"), 10), p(0, 9));
        assert_eq!(range(Some("bytes=8-100"), 10), p(8, 9));
        assert_eq!(range(Some("BYTES=1-1"), 10), p(1, 1));
        assert_eq!(range(Some("bytes=10-"), 10), Unsatisfiable);
        assert_eq!(range(Some("bytes=10-20"), 10), Unsatisfiable);
        assert_eq!(range(Some("bytes=-0"), 10), Unsatisfiable);
        assert_eq!(range(Some("bytes=0-"), 0), Unsatisfiable);
        assert_eq!(
            range(Some("bytes=99999999999999999999999-"), 10),
            Unsatisfiable
        );
        assert_eq!(range(Some("bytes=5-4"), 10), Full);
        assert_eq!(range(Some("bytes=0-1,3-4"), 10), Full);
        assert_eq!(range(Some("items=0-1"), 10), Full);
        assert_eq!(range(Some("bytes=a-b"), 10), Full);
        assert_eq!(range(Some("bytes=-"), 10), Full);
        assert_eq!(range(Some("bytés"), 10), Full);
    }

    #[test]
    fn conditionals() {
        let etag = "\"abc\"";
        assert!(not_modified(Some("\"abc\""), None, etag, 0));
        assert!(not_modified(Some("\"x\", W/\"abc\""), None, etag, 0));
        assert!(not_modified(Some("*"), None, etag, 0));
        assert!(!not_modified(
            Some("\"x\""),
            Some("Sun, 06 Nov 2050 08:49:37 GMT"),
            etag,
            0
        ));
        assert!(not_modified(
            None,
            Some("Sun, 06 Nov 1994 08:49:37 GMT"),
            etag,
            784111777
        ));
        assert!(!not_modified(
            None,
            Some("Sun, 06 Nov 1994 08:49:37 GMT"),
            etag,
            784111778
        ));
        assert!(!not_modified(None, None, etag, 0));
        assert!(if_range_holds(None, etag, 0));
        assert!(if_range_holds(Some("\"abc\""), etag, 0));
        assert!(!if_range_holds(Some("\"abd\""), etag, 0));
        assert!(!if_range_holds(Some("W/\"abc\""), etag, 0));
        assert!(if_range_holds(
            Some("Sun, 06 Nov 1994 08:49:37 GMT"),
            etag,
            784111777
        ));
    }

    #[test]
    fn dates() {
        assert_eq!(
            http_date(784_111_777_000_000),
            "Sun, 06 Nov 1994 08:49:37 GMT"
        );
    }

    proptest! {
        #[test]
        fn ranges_stay_inside_the_body(h in "\\PC{0,30}", size in 0u64..1000) {
            if let RangeAnswer::Partial { start, end } = range(Some(&h), size) {
                prop_assert!(start <= end && end < size);
            }
        }
    }
}
