//! Date formats of the wire: ISO-8601 with microseconds and `Z`, and lenient parsing of
//! what clients send (`from` cursors, RFC 2822 `Date` headers).

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};

/// Formats microseconds since the epoch as production does: `2018-09-12T10:03:38.686710Z`.
pub fn iso(us: i64) -> String {
    match Utc.timestamp_micros(us).single() {
        Some(t) => t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
        None => "1970-01-01T00:00:00.000000Z".to_owned(),
    }
}

/// Formats a cursor as production's links carry it: `2018-11-27T01:00:24.296613+00:00`.
pub fn iso_offset(us: i64) -> String {
    match Utc.timestamp_micros(us).single() {
        Some(t) => t.format("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string(),
        None => "1970-01-01T00:00:00.000000+00:00".to_owned(),
    }
}

/// Parses an ISO-8601 date or date-time (offset optional, UTC assumed) to microseconds.
pub fn parse_iso(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp_micros());
    }
    for f in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S%.f",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, f) {
            return Some(t.and_utc().timestamp_micros());
        }
    }
    if let Ok(t) = DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%z") {
        return Some(t.timestamp_micros());
    }
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().timestamp_micros())
}

/// Parses an HTTP date leniently: RFC 2822 (`Tue, 01 Dec 2026 10:00:00 GMT`), and the form
/// pyuploadcare sends with a comma after the year (`Sun, 22 Nov 2026, 08:13:04 GMT`).
/// Returns seconds since the epoch.
pub fn parse_http_date(s: &str) -> Option<i64> {
    let cleaned: String = s.replace(',', " ");
    let words: Vec<&str> = cleaned.split_whitespace().collect();
    // Drop a leading weekday name, whatever it says.
    let words = match words.first() {
        Some(w) if w.chars().all(|c| c.is_ascii_alphabetic()) => &words[1..],
        _ => &words[..],
    };
    if words.len() < 4 {
        return None;
    }
    let joined = format!("{} {} {} {}", words[0], words[1], words[2], words[3]);
    let zone = words.get(4).copied().unwrap_or("GMT");
    if !matches!(zone, "GMT" | "UTC" | "UT" | "Z" | "+0000" | "-0000") {
        return None;
    }
    NaiveDateTime::parse_from_str(&joined, "%d %b %Y %H:%M:%S")
        .ok()
        .map(|t| t.and_utc().timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_has_six_fraction_digits_and_z() {
        assert_eq!(iso(1_536_746_618_686_710), "2018-09-12T10:03:38.686710Z");
        assert_eq!(
            iso_offset(1_536_746_618_686_710),
            "2018-09-12T10:03:38.686710+00:00"
        );
    }

    #[test]
    fn parses_cursor_forms() {
        let us = 1_536_746_618_686_710;
        assert_eq!(parse_iso("2018-09-12T10:03:38.686710Z"), Some(us));
        assert_eq!(parse_iso("2018-09-12T10:03:38.686710+00:00"), Some(us));
        assert_eq!(parse_iso("2018-09-12T10:03:38.686710"), Some(us));
        assert_eq!(parse_iso("2018-09-12"), Some(1_536_710_400_000_000));
        assert_eq!(parse_iso("yesterday"), None);
    }

    #[test]
    fn parses_http_dates_leniently() {
        assert_eq!(
            parse_http_date("Sun, 22 Nov 2026 08:13:04 GMT"),
            parse_http_date("Sun, 22 Nov 2026, 08:13:04 GMT")
        );
        assert!(parse_http_date("Sun, 22 Nov 2026 08:13:04 GMT").is_some());
        assert!(parse_http_date("22 Nov 2026 08:13:04 GMT").is_some());
        assert!(parse_http_date("not a date").is_none());
        assert!(parse_http_date("Sun, 22 Nov 2026 08:13:04 +0300").is_none());
    }
}
