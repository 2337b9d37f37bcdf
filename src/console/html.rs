//! HTML building blocks: escaping, the page layout and small pieces every page uses.
//!
//! Every value that comes from a request or the store goes through [`esc`] (text and
//! attribute values alike: it escapes `& < > " '`) or [`url_part`] (one URL path or query
//! component); the rest of the markup is literal. File names and metadata are user input.

use std::fmt::Write as _;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::domain::time::iso;

/// Where the console lives.
pub const ROOT: &str = "/_emulator/console";

/// `text` escaped for HTML text and quoted attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `text` percent-encoded as one URL path segment or query value.
pub fn url_part(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// The console's pages, in navigation order: (path under [`ROOT`], label).
const NAV: [(&str, &str); 7] = [
    ("/", "Projects"),
    ("/files", "Files"),
    ("/groups", "Groups"),
    ("/webhooks", "Webhooks"),
    ("/requests", "Requests"),
    ("/clock", "Clock"),
    ("/faults", "Faults"),
];

/// A whole page: `title` (text, escaped here), the navigation with `section` marked current,
/// and `body` (markup).
pub fn page(section: &str, title: &str, body: &str) -> Response {
    let mut nav = String::new();
    for (path, label) in NAV {
        let current = if path == section {
            " aria-current=\"page\""
        } else {
            ""
        };
        let _ = write!(nav, "<a href=\"{ROOT}{path}\"{current}>{label}</a>");
    }
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"color-scheme\" content=\"light dark\">\
         <title>{title} · Uploadcare emulator</title>\
         <link rel=\"stylesheet\" href=\"{ROOT}/assets/console.css\">\
         <script src=\"{ROOT}/assets/console.js\" defer></script></head>\
         <body><a class=\"skip\" href=\"#main\">Skip to content</a>\
         <header><a class=\"brand\" href=\"{ROOT}/\">Uploadcare emulator</a>\
         <nav aria-label=\"Console\">{nav}</nav></header>\
         <main id=\"main\"><h1>{title}</h1>{body}</main></body></html>",
        title = esc(title),
    );
    html_response(StatusCode::OK, html)
}

/// An HTML answer with the console's headers: no caching, and a content security policy
/// that lets a page load nothing from outside the emulator.
pub fn html_response(status: StatusCode, html: String) -> Response {
    let mut r = (status, html).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
             connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    r
}

/// A page saying what went wrong (status and text).
pub fn problem(status: StatusCode, section: &str, message: &str) -> Response {
    let mut r = page(
        section,
        status.canonical_reason().unwrap_or("Error"),
        &format!("<p class=\"note\">{}</p>", esc(message)),
    );
    *r.status_mut() = status;
    r
}

/// A time as ISO 8601 in a `<time>` element.
pub fn time(us: i64) -> String {
    let t = iso(us);
    format!(
        "<time datetime=\"{t}\">{}</time>",
        &t[..19.min(t.len())].replace('T', " ")
    )
}

/// A duration in words: `3 h 20 min`, `45 s`.
pub fn duration(us: i64) -> String {
    let s = us / 1_000_000;
    let (d, h, m) = (s / 86400, s % 86400 / 3600, s % 3600 / 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{s} s"),
        (0, 0, m) => format!("{m} min"),
        (0, h, m) => format!("{h} h {m} min"),
        (d, h, _) => format!("{d} d {h} h"),
    }
}

/// A byte count for people.
pub fn size(bytes: i64) -> String {
    match bytes {
        b if b < 1024 => format!("{b} B"),
        b if b < 1024 * 1024 => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{:.1} MiB", b as f64 / 1048576.0),
    }
}

/// A JSON value pretty-printed in a `<pre>`, escaped.
pub fn json_block(value: &serde_json::Value) -> String {
    let text = serde_json::to_string_pretty(value).unwrap_or_default();
    format!("<pre class=\"json\" tabindex=\"0\">{}</pre>", esc(&text))
}

/// A `<select>` named `name` with `options` (value, label), `selected` chosen.
pub fn select(name: &str, label: &str, options: &[(String, String)], selected: &str) -> String {
    let mut out = format!("<label>{} <select name=\"{}\">", esc(label), esc(name));
    for (value, text) in options {
        let sel = if value == selected { " selected" } else { "" };
        let _ = write!(
            out,
            "<option value=\"{}\"{sel}>{}</option>",
            esc(value),
            esc(text)
        );
    }
    out.push_str("</select></label>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            esc(r#"<img src=x onerror="a('b')">&"#),
            "&lt;img src=x onerror=&quot;a(&#39;b&#39;)&quot;&gt;&amp;"
        );
        assert_eq!(url_part("a b/c?d"), "a%20b%2Fc%3Fd");
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(duration(45_000_000), "45 s");
        assert_eq!(duration(3_600_000_000 + 20 * 60_000_000), "1 h 20 min");
        assert_eq!(duration(2 * 86_400_000_000 + 3_600_000_000), "2 d 1 h");
    }
}
