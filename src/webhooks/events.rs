//! Events: what a change to a file tells the project's hooks, and the body each hook gets.
//!
//! A change writes one [`OutboxEvent`] per file in the same database transaction as the
//! change itself; its `payload` is everything the delivery body holds except `hook`
//! (`initiator`, `data`, `file`, and `previous_values` for `file.info_updated`), rendered at
//! the moment of the change so that a later change cannot alter what an earlier event says.
//! The worker later fans each event out to the hooks subscribed to it at that moment and
//! adds each one's `hook` (see [`delivery_body`]).

use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::hooks::{hook_public_json, Event, Hook};
use crate::domain::files::sanitize_filename;
use crate::observe::RequestFacts;
use crate::rest_api::files::rest_file;
use crate::rest_api::version::ApiVersion;
use crate::store::FileRecord;
use crate::urls::{bases, Bases};
use crate::AppState;

/// Who caused a change (the payload's `initiator`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Initiator {
    /// A request to one of the APIs, by its id (`X-Uploadcare-Request-Id`).
    Api {
        /// The request's id.
        request_id: Uuid,
    },
    /// An add-on's run (`POST /addons/<name>/execute/`), by the run's `request_id`.
    Addon {
        /// The run's request id (what the execute call answered).
        request_id: Uuid,
        /// The add-on's name, e.g. `uc_clamav_virus_scan`.
        addon: &'static str,
    },
    /// The emulator itself (no request).
    System,
}

impl Initiator {
    /// The `initiator` object: `{type, detail: {request_id, addon_name, source_file_uuid}}`;
    /// `source_file` is the file a derived file (a copy, a remove.bg result) was made from.
    pub fn json(self, source_file: Option<Uuid>) -> Value {
        let (kind, request_id, addon) = match self {
            Initiator::Api { request_id } => ("api", Value::from(request_id.to_string()), None),
            Initiator::Addon { request_id, addon } => {
                ("addon", Value::from(request_id.to_string()), Some(addon))
            }
            Initiator::System => ("system", Value::Null, None),
        };
        let mut detail = Map::new();
        detail.insert("request_id".into(), request_id);
        detail.insert("addon_name".into(), addon.into());
        detail.insert(
            "source_file_uuid".into(),
            source_file.map(|u| u.to_string()).into(),
        );
        let mut o = Map::new();
        o.insert("type".into(), kind.into());
        o.insert("detail".into(), Value::Object(detail));
        Value::Object(o)
    }
}

/// What a change knows about its cause, needed to write its events.
#[derive(Clone, Debug)]
pub struct EventSource {
    /// Who caused it.
    pub initiator: Initiator,
    /// Public base URLs for the file object (`url`, `original_file_url`) and `file`.
    pub bases: Bases,
    /// The file the changed file was derived from (copies, add-on results), if any.
    pub source_file: Option<Uuid>,
}

/// A handler's event source: the request's id and the public bases it sees. It reads the
/// application state through `FromRef`, as axum's own extractors do, so any router whose
/// state holds an `Arc<AppState>` can take it.
impl<S> FromRequestParts<S> for EventSource
where
    S: Send + Sync,
    Arc<AppState>: FromRef<S>,
{
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Infallible> {
        let app = Arc::<AppState>::from_ref(state);
        let initiator = match parts.extensions.get::<RequestFacts>() {
            Some(facts) => Initiator::Api {
                request_id: facts.id,
            },
            None => Initiator::System,
        };
        Ok(EventSource {
            initiator,
            bases: bases(&app.config.public_urls, &parts.headers),
            source_file: None,
        })
    }
}

/// One event of one file, as the outbox holds it until the worker fans it out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxEvent {
    /// The file's project.
    pub project: String,
    /// Which event.
    pub event: Event,
    /// The file it is about (deliveries keep per-file order).
    pub file_uuid: Uuid,
    /// The body without `hook`, as compact JSON.
    pub payload: String,
    /// When the change happened, microseconds since the epoch.
    pub created_us: i64,
}

/// The previous values a `file.info_updated` event carries.
#[derive(Clone, Debug, PartialEq)]
pub enum Previous {
    /// The file's metadata before the change.
    Metadata(Map<String, Value>),
    /// The file's tags before the change.
    Tags(Vec<String>),
    /// The file's `appdata` before an add-on changed it.
    Appdata(Map<String, Value>),
}

/// The event `event` for `file` (as it is after the change) caused by `source` at `now_us`,
/// for a file whose `appdata` is empty.
pub fn outbox_event(
    event: Event,
    file: &FileRecord,
    source: &EventSource,
    previous: Option<&Previous>,
    now_us: i64,
) -> OutboxEvent {
    outbox_event_with_appdata(event, file, &Map::new(), source, previous, now_us)
}

/// [`outbox_event`] for a file with this `appdata` (the payload's file object always
/// carries it).
pub fn outbox_event_with_appdata(
    event: Event,
    file: &FileRecord,
    appdata: &Map<String, Value>,
    source: &EventSource,
    previous: Option<&Previous>,
    now_us: i64,
) -> OutboxEvent {
    let mut data = rest_file(file, ApiVersion::V07, &source.bases);
    data.insert("appdata".into(), Value::Object(appdata.clone()));
    let cdn_url = format!(
        "{}/{}/{}",
        source.bases.cdn,
        file.uuid,
        sanitize_filename(&file.original_filename)
    );
    let mut o = Map::new();
    o.insert(
        "initiator".into(),
        source.initiator.json(source.source_file),
    );
    o.insert("data".into(), Value::Object(data));
    o.insert("file".into(), cdn_url.into());
    if let Some(previous) = previous {
        let mut p = Map::new();
        match previous {
            Previous::Metadata(m) => p.insert("metadata".into(), Value::Object(m.clone())),
            Previous::Tags(t) => p.insert("tags".into(), Value::from(t.clone())),
            Previous::Appdata(a) => p.insert("appdata".into(), Value::Object(a.clone())),
        };
        o.insert("previous_values".into(), Value::Object(p));
    }
    OutboxEvent {
        project: file.project.clone(),
        event,
        file_uuid: file.uuid,
        payload: Value::Object(o).to_string(),
        created_us: now_us,
    }
}

/// The exact body a hook gets for an event: `initiator`, `hook`, `data`, `file` and, when
/// present, `previous_values`, in the reference's order. `None` if the stored payload is
/// not a JSON object (never written so).
pub fn delivery_body(hook: &Hook, payload: &str) -> Option<String> {
    let Ok(Value::Object(mut p)) = serde_json::from_str::<Value>(payload) else {
        return None;
    };
    let mut o = Map::new();
    o.insert(
        "initiator".into(),
        p.remove("initiator").unwrap_or(Value::Null),
    );
    o.insert("hook".into(), hook_public_json(hook));
    for key in ["data", "file", "previous_values"] {
        if let Some(v) = p.remove(key) {
            o.insert(key.into(), v);
        }
    }
    Some(Value::Object(o).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file() -> FileRecord {
        FileRecord {
            uuid: Uuid::parse_str("d6d34fa9-addd-472c-868d-2e5c105f9fcd").unwrap(),
            project: "pk".into(),
            size: 3,
            blob: "b".into(),
            original_filename: "a b.txt".into(),
            mime_type: "text/plain".into(),
            image: None,
            metadata: Map::new(),
            tags: Vec::new(),
            uploaded_us: 1_536_746_618_686_710,
            stored_us: None,
            removed_us: None,
        }
    }

    fn source() -> EventSource {
        EventSource {
            initiator: Initiator::System,
            bases: Bases {
                upload: "http://u".into(),
                api: "http://a".into(),
                cdn: "http://c".into(),
            },
            source_file: None,
        }
    }

    #[test]
    fn body_has_the_reference_fields_in_order() {
        let mut before = Map::new();
        before.insert("k".into(), "v".into());
        let e = outbox_event(
            Event::FileInfoUpdated,
            &file(),
            &source(),
            Some(&Previous::Metadata(before)),
            5,
        );
        assert_eq!(e.event, Event::FileInfoUpdated);
        let hook = Hook {
            id: 1,
            project: "pk".into(),
            event: Event::FileInfoUpdated,
            target_url: "http://r/".into(),
            is_active: true,
            signing_secret: Some("s".into()),
            version: "0.7".into(),
            created_us: 0,
            updated_us: 0,
        };
        let body: Value = serde_json::from_str(&delivery_body(&hook, &e.payload).unwrap()).unwrap();
        let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            ["initiator", "hook", "data", "file", "previous_values"]
        );
        assert_eq!(
            body["file"],
            "http://c/d6d34fa9-addd-472c-868d-2e5c105f9fcd/ab.txt"
        );
        assert_eq!(body["data"]["appdata"], serde_json::json!({}));
        assert_eq!(
            body["previous_values"],
            serde_json::json!({"metadata": {"k": "v"}})
        );
        assert_eq!(body["hook"]["target"], "http://r/");
        assert!(body["hook"].get("signing_secret").is_none());
        assert_eq!(
            body["initiator"],
            serde_json::json!({"type": "system", "detail": {"request_id": null, "addon_name": null, "source_file_uuid": null}})
        );
    }
}
