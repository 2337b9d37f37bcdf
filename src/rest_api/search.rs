//! `POST /files/search/?limit=&offset=&include=`: the project's files that match a JSON
//! filter (pyuploadcare 6.3.0's `FileSearchRequest`, @uploadcare/rest-client 6.21.0's
//! `searchFiles`; docs: "File search").
//!
//! Body keys, conditions ANDed, at least one required: `query` (≥ 4 characters, in the
//! file name, MIME type or any metadata value, or the uuid itself), `phrase`
//! (`original_filename` / `detected_mime_type` / `metadata`, ≥ 4 characters each), `exact`
//! (`uuid`, `detected_mime_type`, `original_filename`: non-empty lists, any value matches;
//! `metadata[<key>]`: a list of values), `datetime_uploaded` and `size` (`gt`/`gte`/`lt`/
//! `lte`), `is_image`, `tags` (`any`/`all`/`none`, normalized as stored tags are); modifiers
//! `fuzziness` and `sort` (1–4 distinct keys of `score`, `datetime_uploaded`, `size`,
//! `original_filename`, `-` for descending). Paging: `limit` 1–100 (default 20), `offset`
//! ≥ 0, `offset + limit` ≤ 1000; `next`/`previous` are this endpoint with the neighbouring
//! window (and the same `include`), the body to be sent again.
//!
//! The answer is a paginated list (`next`, `previous`, `total`, `per_page`, `results`) of
//! v0.7 file objects; with a full-text condition each carries `highlight`: the matched
//! fields with each match wrapped in `<em>`.
//!
//! Validation errors answer 400 in Django REST framework's per-field shape
//! (`{"query": ["Ensure this field has at least 4 characters."]}`, nested for nested
//! objects, `non_field_errors` for the whole), which @uploadcare/rest-client turns into a
//! `RestClientValidationError`. Texts are DRF's own where a DRF field would answer.
//!
//! Decisions where production is undocumented:
//! - Only live files are found (not removed, not expired), as tag endpoints see them.
//! - Full-text matching is a case-insensitive substring match (the docs: "substring-aware");
//!   `fuzziness: true` is accepted and matches exactly the same (no typo tolerance here);
//!   `score` counts the fields a full-text condition matched in. Without `sort`, results
//!   are by score (with a full-text condition), then newest first.
//! - `total` counts matches up to 1,000, the deepest a search reaches, and says 1,000
//!   beyond (counting further would scan on and on for nothing a client can page to).
//! - Unknown body keys are ignored (DRF's default).

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::error::{json_response, RestError, RestErrorCode};
use super::files::{as_seen, rest_file, wants_appdata};
use super::pagination::{last_value, query_pairs};
use super::version::RestView;
use crate::auth::rest::RestCall;
use crate::domain::tags;
use crate::domain::time::parse_iso;
use crate::store::search::{Range, SearchFilter, SearchQuery, SortKey, TagFilter, TextField};
use crate::store::{Expiry, FileRecord};
use crate::AppState;

/// Results per page unless `limit` says otherwise.
pub const DEFAULT_LIMIT: i64 = 20;
/// Most results per page.
pub const MAX_LIMIT: i64 = 100;
/// `offset + limit` at most: how deep a search reaches.
pub const MAX_WINDOW: i64 = 1000;
/// Shortest full-text term.
pub const MIN_TERM: usize = 4;
/// Most sort keys.
pub const MAX_SORT_KEYS: usize = 4;

/// A validation failure: DRF's per-field error object.
struct Invalid(Value);

impl Invalid {
    fn msg(text: impl Into<String>) -> Self {
        Invalid(json!([text.into()]))
    }
}

/// Collects per-field errors the way a DRF serializer reports them: all at once.
#[derive(Default)]
struct Errors(Map<String, Value>);

impl Errors {
    fn take<T>(&mut self, field: &str, r: Result<T, Invalid>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(Invalid(e)) => {
                self.0.insert(field.to_owned(), e);
                None
            }
        }
    }

    /// The conditions `used` when nothing was wrong, and there was one at least (else
    /// `none` as a non-field error); else every error.
    fn conditions(
        mut self,
        used: Vec<&'static str>,
        none: &str,
    ) -> Result<Vec<&'static str>, Invalid> {
        if self.0.is_empty() && used.is_empty() {
            self.non_field(none.into());
        }
        if self.0.is_empty() {
            Ok(used)
        } else {
            Err(Invalid(Value::Object(self.0)))
        }
    }

    fn non_field(&mut self, text: String) {
        let list = self
            .0
            .entry("non_field_errors")
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(items) = list {
            items.push(Value::String(text));
        }
    }
}

/// Python's name of a JSON value's type, as DRF's messages show it.
fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

fn not_null(v: &Value) -> Result<&Value, Invalid> {
    match v {
        Value::Null => Err(Invalid::msg("This field may not be null.")),
        v => Ok(v),
    }
}

fn object(v: &Value) -> Result<&Map<String, Value>, Invalid> {
    match not_null(v)? {
        Value::Object(o) => Ok(o),
        other => Err(Invalid::msg(format!(
            "Invalid data. Expected a dictionary, but got {}.",
            type_name(other)
        ))),
    }
}

fn string(v: &Value) -> Result<&str, Invalid> {
    match not_null(v)? {
        Value::String(s) => Ok(s),
        _ => Err(Invalid::msg("Not a valid string.")),
    }
}

/// A full-text term: a string of at least [`MIN_TERM`] characters, lowercased.
fn term(v: &Value) -> Result<String, Invalid> {
    let s = string(v)?;
    if s.chars().count() < MIN_TERM {
        return Err(Invalid::msg(format!(
            "Ensure this field has at least {MIN_TERM} characters."
        )));
    }
    Ok(s.to_lowercase())
}

fn boolean(v: &Value) -> Result<bool, Invalid> {
    match not_null(v)? {
        Value::Bool(b) => Ok(*b),
        _ => Err(Invalid::msg("Must be a valid boolean.")),
    }
}

/// A list of strings; empty lists refused when `allow_empty` is false. Member errors are
/// keyed by index, as DRF's `ListField` reports them.
fn strings(v: &Value, allow_empty: bool) -> Result<Vec<String>, Invalid> {
    let items = match not_null(v)? {
        Value::Array(items) => items,
        other => {
            return Err(Invalid::msg(format!(
                "Expected a list of items but got type \"{}\".",
                type_name(other)
            )))
        }
    };
    if items.is_empty() && !allow_empty {
        return Err(Invalid::msg("This list may not be empty."));
    }
    let mut bad = Map::new();
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        match string(item) {
            Ok(s) => out.push(s.to_owned()),
            Err(Invalid(e)) => {
                bad.insert(i.to_string(), e);
            }
        }
    }
    if bad.is_empty() {
        Ok(out)
    } else {
        Err(Invalid(Value::Object(bad)))
    }
}

/// A range object: at least one of `gt`, `gte`, `lt`, `lte`, each read by `bound`.
fn range(v: &Value, bound: impl Fn(&Value) -> Result<i64, Invalid>) -> Result<Range, Invalid> {
    let o = object(v)?;
    let mut errors = Errors::default();
    let mut r = Range::default();
    for (name, slot) in [
        ("gt", &mut r.gt),
        ("gte", &mut r.gte),
        ("lt", &mut r.lt),
        ("lte", &mut r.lte),
    ] {
        if let Some(v) = o.get(name) {
            *slot = errors.take(name, bound(v));
        }
    }
    if errors.0.is_empty() && r == Range::default() {
        errors.non_field("At least one of `gt`, `gte`, `lt`, `lte` is required.".into());
    }
    if errors.0.is_empty() {
        Ok(r)
    } else {
        Err(Invalid(Value::Object(errors.0)))
    }
}

fn size_bound(v: &Value) -> Result<i64, Invalid> {
    match not_null(v)?.as_i64() {
        Some(n) if n >= 0 => Ok(n),
        Some(_) => Err(Invalid::msg(
            "Ensure this value is greater than or equal to 0.",
        )),
        None => Err(Invalid::msg("A valid integer is required.")),
    }
}

fn time_bound(v: &Value) -> Result<i64, Invalid> {
    string(v).ok().and_then(parse_iso).ok_or_else(|| {
        Invalid::msg(
            "Datetime has wrong format. Use one of these formats instead: \
                 YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z].",
        )
    })
}

/// Tag lists: normalized as stored tags are, each checked.
fn tag_list(v: &Value) -> Result<Vec<String>, Invalid> {
    let given = strings(v, true)?;
    tags::normalize_checked(given.iter().map(String::as_str))
        .map_err(|e| Invalid::msg(RestError::tags(e).detail))
}

fn tag_filter(v: &Value, f: &mut TagFilter) -> Result<(), Invalid> {
    let o = object(v)?;
    let mut errors = Errors::default();
    for (name, slot) in [
        ("any", &mut f.any),
        ("all", &mut f.all),
        ("none", &mut f.none),
    ] {
        if let Some(v) = o.get(name) {
            *slot = errors.take(name, tag_list(v)).unwrap_or_default();
        }
    }
    if errors.0.is_empty() && f.any.is_empty() && f.all.is_empty() && f.none.is_empty() {
        errors.non_field(
            "At least one of `any`, `all`, `none` must be a non-empty list of tags.".into(),
        );
    }
    if errors.0.is_empty() {
        Ok(())
    } else {
        Err(Invalid(Value::Object(errors.0)))
    }
}

const PHRASE_FIELDS: [(&str, TextField); 3] = [
    ("original_filename", TextField::Filename),
    ("detected_mime_type", TextField::MimeType),
    ("metadata", TextField::Metadata),
];

/// `phrase`: returns the names it used.
fn phrase(v: &Value, f: &mut SearchFilter) -> Result<Vec<&'static str>, Invalid> {
    let o = object(v)?;
    let mut errors = Errors::default();
    let mut used = Vec::new();
    for (name, field) in PHRASE_FIELDS {
        if let Some(v) = o.get(name) {
            if let Some(t) = errors.take(name, term(v)) {
                f.text.push((t, vec![field]));
                used.push(name);
            }
        }
    }
    errors.conditions(used, "`phrase` requires at least one field.")
}

/// `exact`: returns the names it used.
fn exact(v: &Value, f: &mut SearchFilter) -> Result<Vec<&'static str>, Invalid> {
    let o = object(v)?;
    let mut errors = Errors::default();
    let mut used = Vec::new();
    if let Some(v) = o.get("uuid") {
        let uuids = strings(v, false).and_then(|list| {
            list.iter()
                .map(|s| Uuid::parse_str(s).map_err(|_| Invalid::msg("Must be a valid UUID.")))
                .collect::<Result<Vec<_>, _>>()
        });
        f.uuids = errors.take("uuid", uuids);
        used.push("uuid");
    }
    if let Some(v) = o.get("detected_mime_type") {
        f.mime_types = errors.take("detected_mime_type", strings(v, false));
        used.push("detected_mime_type");
    }
    if let Some(v) = o.get("original_filename") {
        f.filenames = errors.take("original_filename", strings(v, false));
        used.push("original_filename");
    }
    for (name, v) in o {
        let Some(key) = name
            .strip_prefix("metadata[")
            .and_then(|k| k.strip_suffix(']'))
        else {
            continue;
        };
        let values = crate::domain::metadata::check_key(key)
            .map_err(|e| Invalid::msg(RestError::metadata(e).detail))
            .and_then(|()| strings(v, false));
        if let Some(values) = errors.take(name, values) {
            f.metadata.push((key.to_owned(), values));
        }
        used.push("metadata");
    }
    errors.conditions(used, "`exact` requires at least one condition.")
}

fn sort(v: &Value) -> Result<Vec<(SortKey, bool)>, Invalid> {
    let keys = strings(v, false)?;
    if keys.len() > MAX_SORT_KEYS {
        return Err(Invalid::msg(format!(
            "Ensure this field has no more than {MAX_SORT_KEYS} elements."
        )));
    }
    let mut out: Vec<(SortKey, bool)> = Vec::new();
    let mut bad = Map::new();
    for (i, raw) in keys.iter().enumerate() {
        let (descending, name) = match raw.strip_prefix('-') {
            Some(name) => (true, name),
            None => (false, raw.as_str()),
        };
        let key = match name {
            "score" => SortKey::Score,
            "datetime_uploaded" => SortKey::Uploaded,
            "size" => SortKey::Size,
            "original_filename" => SortKey::Filename,
            _ => {
                bad.insert(
                    i.to_string(),
                    json!([format!("\"{raw}\" is not a valid choice.")]),
                );
                continue;
            }
        };
        if out.iter().any(|(k, _)| *k == key) {
            return Err(Invalid::msg(format!(
                "`sort` must not contain `{name}` more than once, in either direction."
            )));
        }
        out.push((key, descending));
    }
    if bad.is_empty() {
        Ok(out)
    } else {
        Err(Invalid(Value::Object(bad)))
    }
}

/// Reads the body into a filter, or DRF's error object.
fn parse_body(body: &[u8]) -> Result<SearchFilter, Value> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        let detail = RestError::with(RestErrorCode::JsonParseError, &[&e.to_string()]).detail;
        json!({ "detail": detail })
    })?;
    let o = object(&value).map_err(|Invalid(e)| json!({ "non_field_errors": e }))?;
    let mut f = SearchFilter::default();
    let mut errors = Errors::default();
    let mut conditions = 0;
    if let Some(v) = o.get("query") {
        if let Some(t) = errors.take("query", term(v)) {
            f.query_uuid = Uuid::parse_str(&t).ok();
            let all = vec![
                TextField::Filename,
                TextField::MimeType,
                TextField::Metadata,
            ];
            f.text.insert(0, (t, all));
        }
        conditions += 1;
    }
    let mut phrased = Vec::new();
    if let Some(v) = o.get("phrase") {
        phrased = errors.take("phrase", phrase(v, &mut f)).unwrap_or_default();
        conditions += 1;
    }
    let mut exacted = Vec::new();
    if let Some(v) = o.get("exact") {
        exacted = errors.take("exact", exact(v, &mut f)).unwrap_or_default();
        conditions += 1;
    }
    if let Some(v) = o.get("datetime_uploaded") {
        f.uploaded = errors
            .take("datetime_uploaded", range(v, time_bound))
            .unwrap_or_default();
        conditions += 1;
    }
    if let Some(v) = o.get("size") {
        f.size = errors
            .take("size", range(v, size_bound))
            .unwrap_or_default();
        conditions += 1;
    }
    if let Some(v) = o.get("is_image") {
        f.is_image = errors.take("is_image", boolean(v));
        conditions += 1;
    }
    if let Some(v) = o.get("tags") {
        let mut tags = TagFilter::default();
        if errors.take("tags", tag_filter(v, &mut tags)).is_some() {
            f.tags = tags;
        }
        conditions += 1;
    }
    if let Some(v) = o.get("fuzziness") {
        errors.take("fuzziness", boolean(v));
    }
    if let Some(v) = o.get("sort") {
        f.sort = errors.take("sort", sort(v)).unwrap_or_default();
    }
    if conditions == 0 {
        errors.non_field(
            "At least one of `query`, `phrase`, `exact`, `datetime_uploaded`, `size`, \
             `is_image` or `tags` is required."
                .into(),
        );
    }
    for name in ["original_filename", "detected_mime_type"] {
        if phrased.contains(&name) && exacted.contains(&name) {
            errors.non_field(format!(
                "`{name}` cannot appear in both `phrase` and `exact`."
            ));
        }
    }
    if !errors.0.is_empty() {
        return Err(Value::Object(errors.0));
    }
    if f.sort.is_empty() {
        if !f.text.is_empty() {
            f.sort.push((SortKey::Score, true));
        }
        f.sort.push((SortKey::Uploaded, true));
    }
    Ok(f)
}

/// The window: `limit` and `offset` from the query string.
fn parse_window(pairs: &[(String, String)]) -> Result<(i64, i64), Value> {
    let mut errors = Errors::default();
    let int = |name: &str, min: i64, max: Option<i64>| -> Option<Result<i64, Invalid>> {
        let raw = pairs.iter().rev().find(|(k, _)| k == name)?.1.trim();
        Some(match raw.parse::<i64>() {
            Err(_) => Err(Invalid::msg("A valid integer is required.")),
            Ok(n) if n < min => Err(Invalid::msg(format!(
                "Ensure this value is greater than or equal to {min}."
            ))),
            Ok(n) if max.is_some_and(|m| n > m) => Err(Invalid::msg(format!(
                "Ensure this value is less than or equal to {}.",
                max.unwrap_or(n)
            ))),
            Ok(n) => Ok(n),
        })
    };
    let limit = match int("limit", 1, Some(MAX_LIMIT)) {
        Some(r) => errors.take("limit", r),
        None => Some(DEFAULT_LIMIT),
    };
    let offset = match int("offset", 0, None) {
        Some(r) => errors.take("offset", r),
        None => Some(0),
    };
    if let (Some(limit), Some(offset)) = (limit, offset) {
        if offset.saturating_add(limit) > MAX_WINDOW {
            errors.non_field(format!("`offset` + `limit` must not exceed {MAX_WINDOW}."));
        } else if errors.0.is_empty() {
            return Ok((offset, limit));
        }
    }
    Err(Value::Object(errors.0))
}

/// Wraps every case-insensitive occurrence of each of `terms` in `value` in `<em>`.
fn highlighted(value: &str, terms: &[&str]) -> Option<String> {
    let lower = value.to_ascii_lowercase();
    let mut marks = vec![false; value.len()];
    for t in terms {
        let t = t.to_ascii_lowercase();
        if t.is_empty() {
            continue;
        }
        let mut from = 0;
        while let Some(i) = lower[from..].find(&t) {
            let start = from + i;
            marks[start..start + t.len()]
                .iter_mut()
                .for_each(|m| *m = true);
            from = start + t.len();
        }
    }
    if !marks.contains(&true) {
        return None;
    }
    let mut out = String::with_capacity(value.len() + 16);
    let mut open = false;
    for (i, c) in value.char_indices() {
        if marks[i] && !open {
            out.push_str("<em>");
            open = true;
        } else if !marks[i] && open {
            out.push_str("</em>");
            open = false;
        }
        out.push(c);
    }
    if open {
        out.push_str("</em>");
    }
    Some(out)
}

/// The `highlight` object of a result: matched fields of full-text conditions.
fn highlight(file: &FileRecord, f: &SearchFilter) -> Value {
    let terms_for = |field: TextField| -> Vec<&str> {
        f.text
            .iter()
            .filter(|(_, fields)| fields.contains(&field))
            .map(|(t, _)| t.as_str())
            .collect()
    };
    let mut o = Map::new();
    if let Some(h) = highlighted(&file.original_filename, &terms_for(TextField::Filename)) {
        o.insert("original_filename".into(), json!([h]));
    }
    if let Some(h) = highlighted(&file.mime_type, &terms_for(TextField::MimeType)) {
        o.insert("detected_mime_type".into(), json!([h]));
    }
    let meta_terms = terms_for(TextField::Metadata);
    let mut meta = Map::new();
    for (k, v) in &file.metadata {
        if let Some(h) = v.as_str().and_then(|v| highlighted(v, &meta_terms)) {
            meta.insert(k.clone(), h.into());
        }
    }
    if !meta.is_empty() {
        o.insert("metadata".into(), Value::Object(meta));
    }
    Value::Object(o)
}

/// A link to this endpoint with another window.
fn window_link(base: &str, pairs: &[(String, String)], offset: i64, limit: i64) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    q.append_pair("limit", &limit.to_string());
    q.append_pair("offset", &offset.to_string());
    if let Some(v) = last_value(pairs, "include") {
        q.append_pair("include", v);
    }
    format!("{base}?{}", q.finish())
}

/// `POST /files/search/`.
pub async fn search_files(
    State(state): State<Arc<AppState>>,
    view: RestView,
    call: RestCall,
) -> Result<Response, RestError> {
    let pairs = query_pairs(call.uri.query());
    let window = parse_window(&pairs);
    let filter = parse_body(&call.body);
    let ((offset, limit), filter) = match (window, filter) {
        (Ok(w), Ok(f)) => (w, f),
        (Err(e), _) | (_, Err(e)) => return Ok(json_response(StatusCode::BAD_REQUEST, &e)),
    };
    let now = state.clock.now_us();
    let retention = state.retention_us();
    let project = &call.project.pub_key;
    let page = state
        .store
        .search_files(
            project,
            SearchQuery {
                filter: &filter,
                expiry: Expiry::new(now, retention),
                offset,
                limit,
            },
        )
        .await?;
    let base = format!("{}/files/search/", view.origin);
    let reachable = page.total.min(MAX_WINDOW);
    let end = offset + limit;
    let next =
        (end < reachable).then(|| window_link(&base, &pairs, end, limit.min(MAX_WINDOW - end)));
    let previous = (offset > 0).then(|| {
        let start = (offset - limit).max(0);
        window_link(&base, &pairs, start, limit.min(offset))
    });
    let appdata = wants_appdata(&pairs);
    let results: Vec<Value> = page
        .files
        .into_iter()
        .map(|file| {
            let file = as_seen(file, now, retention);
            let mut o = rest_file(&file, view.version, &view.bases);
            if appdata {
                o.insert("appdata".into(), Value::Object(Map::new()));
            }
            if !filter.text.is_empty() {
                o.insert("highlight".into(), highlight(&file, &filter));
            }
            Value::Object(o)
        })
        .collect();
    let body = json!({
        "next": next,
        "previous": previous,
        "total": page.total,
        "per_page": limit,
        "results": results,
    });
    Ok(json_response(StatusCode::OK, &body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn highlights_every_match() {
        assert_eq!(
            highlighted("Vacation-VACATION.jpg", &["vacation"]).as_deref(),
            Some("<em>Vacation</em>-<em>VACATION</em>.jpg")
        );
        assert_eq!(highlighted("abc", &["zzzz"]), None);
        assert_eq!(
            highlighted("héllo wörld", &["wörl"]).as_deref(),
            Some("héllo <em>wörl</em>d")
        );
    }

    #[test]
    fn windows() {
        let p = |s: &str| -> Vec<(String, String)> {
            form_urlencoded::parse(s.as_bytes()).into_owned().collect()
        };
        assert_eq!(parse_window(&p("")), Ok((0, 20)));
        assert_eq!(parse_window(&p("limit=100&offset=900")), Ok((900, 100)));
        assert_eq!(
            parse_window(&p("limit=100&offset=901")),
            Err(json!({"non_field_errors": ["`offset` + `limit` must not exceed 1000."]}))
        );
        assert_eq!(
            parse_window(&p("limit=0&offset=x")),
            Err(json!({
                "limit": ["Ensure this value is greater than or equal to 1."],
                "offset": ["A valid integer is required."]
            }))
        );
    }
}
