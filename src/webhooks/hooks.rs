//! Hooks (webhook subscriptions): the events one may subscribe to, the checks a create or
//! update passes, and the REST `webhook` object.
//!
//! Production's answers, where known (pyuploadcare's recorded cassettes and tests, the
//! reference): a missing `target_url` is `{"detail":"`target_url` is missing."}`; a second
//! hook for the same project, event and target is `{"non_field_errors":["This project is
//! already subscribed on this event"]}`. The other checks are Django REST framework's field
//! validation, so their answers are DRF's default texts keyed by field
//! (`{"event":["\"x\" is not a valid choice."]}`), every failing field at once, in the
//! object's field order. Decisions where production is silent:
//! - a missing `event` on create is DRF's `This field is required.`;
//! - a `target_url` must be an absolute `http` or `https` URL with a host (DRF's URL check);
//! - an empty `signing_secret` means "no secret" (`null` in answers), as the Kotlin SDK
//!   sends `""` to clear it;
//! - booleans take JSON `true`/`false` or DRF's form spellings (`true`, `1`, `yes`, `on`, ...).

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::domain::time::iso;

/// Longest `target_url` (the reference's `maxLength`).
pub const MAX_TARGET_LEN: usize = 255;
/// Longest `signing_secret`.
pub const MAX_SECRET_LEN: usize = 32;
/// The one payload version a hook may ask for.
pub const VERSION: &str = "0.7";
/// The text of a duplicate subscription (under `non_field_errors`).
pub const ALREADY_SUBSCRIBED: &str = "This project is already subscribed on this event";

/// An event a hook subscribes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Event {
    /// A file came into being (upload, multipart, URL import, copies, conversions).
    FileUploaded,
    /// A file was stored.
    FileStored,
    /// A file was removed.
    FileDeleted,
    /// A file's metadata or appdata changed.
    FileInfoUpdated,
    /// The ClamAV add-on found a virus (production is replacing it by `file.info_updated`;
    /// the emulator sends both).
    FileInfected,
}

impl Event {
    /// Every event, in the reference's order.
    pub const ALL: [Event; 5] = [
        Event::FileUploaded,
        Event::FileInfected,
        Event::FileStored,
        Event::FileDeleted,
        Event::FileInfoUpdated,
    ];

    /// The wire name, e.g. `file.uploaded`.
    pub fn name(self) -> &'static str {
        match self {
            Event::FileUploaded => "file.uploaded",
            Event::FileStored => "file.stored",
            Event::FileDeleted => "file.deleted",
            Event::FileInfoUpdated => "file.info_updated",
            Event::FileInfected => "file.infected",
        }
    }

    /// The event with this wire name.
    pub fn parse(name: &str) -> Option<Event> {
        Event::ALL.into_iter().find(|e| e.name() == name)
    }
}

/// A hook as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hook {
    /// Integer id, unique across projects.
    pub id: i64,
    /// Owning project's public key.
    pub project: String,
    /// The event it subscribes to.
    pub event: Event,
    /// Where deliveries go.
    pub target_url: String,
    /// Whether it receives events.
    pub is_active: bool,
    /// HMAC-SHA256 key for `X-Uc-Signature`, if any.
    pub signing_secret: Option<String>,
    /// Payload version (`0.7`).
    pub version: String,
    /// Creation time, microseconds since the epoch.
    pub created_us: i64,
    /// Last update time.
    pub updated_us: i64,
}

/// The settings a create or an update writes (after validation).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HookSettings {
    /// The event.
    pub event: Event,
    /// The target.
    pub target_url: String,
    /// Active or not.
    pub is_active: bool,
    /// The signing secret, if any.
    pub signing_secret: Option<String>,
    /// Payload version.
    pub version: String,
}

/// A field of a request body, from a form (always text) or from JSON.
#[derive(Clone, Debug, PartialEq)]
pub enum FieldValue {
    /// A string (every form value).
    Text(String),
    /// Any other JSON value.
    Json(Value),
}

/// A request body's fields by name (form or JSON object); the last of repeated form
/// fields wins, as in Django.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Fields(pub Vec<(String, FieldValue)>);

impl Fields {
    /// The value of `name`, if given.
    pub fn get(&self, name: &str) -> Option<&FieldValue> {
        self.0.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    /// Reads a body: a JSON object when `json` is set (`None` if it is not one), otherwise
    /// `application/x-www-form-urlencoded` pairs.
    pub fn parse(body: &[u8], json: bool) -> Option<Fields> {
        if !json {
            let pairs = form_urlencoded::parse(body)
                .into_owned()
                .map(|(k, v)| (k, FieldValue::Text(v)))
                .collect();
            return Some(Fields(pairs));
        }
        if body.iter().all(u8::is_ascii_whitespace) {
            return Some(Fields::default());
        }
        match serde_json::from_slice::<Value>(body).ok()? {
            Value::Object(map) => Some(Fields(
                map.into_iter()
                    .map(|(k, v)| {
                        let v = match v {
                            Value::String(s) => FieldValue::Text(s),
                            other => FieldValue::Json(other),
                        };
                        (k, v)
                    })
                    .collect(),
            )),
            _ => None,
        }
    }
}

/// Why a create, update or unsubscribe was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HookError {
    /// `target_url` absent or empty (`{"detail": ...}`).
    TargetUrlMissing,
    /// Field errors, in field order: `{"<field>": ["<text>"], ...}`.
    Fields(Vec<(&'static str, String)>),
    /// The project already has a hook for this event and target.
    AlreadySubscribed,
}

/// Validates a create: `target_url` and `event` are required; `is_active` defaults to
/// true, `version` to 0.7.
pub fn validate_create(fields: &Fields) -> Result<HookSettings, HookError> {
    if is_blank(fields.get("target_url")) {
        return Err(HookError::TargetUrlMissing);
    }
    let mut errors = Vec::new();
    let target_url = check(&mut errors, "target_url", target(fields.get("target_url"))).flatten();
    let event = match fields.get("event") {
        None => {
            errors.push(("event", "This field is required.".to_owned()));
            None
        }
        some => check(&mut errors, "event", event(some)).flatten(),
    };
    let is_active = check(&mut errors, "is_active", boolean(fields.get("is_active"))).flatten();
    let signing_secret = check(
        &mut errors,
        "signing_secret",
        secret(fields.get("signing_secret")),
    )
    .flatten();
    let version = check(&mut errors, "version", version(fields.get("version"))).flatten();
    if !errors.is_empty() {
        return Err(HookError::Fields(errors));
    }
    // Both are present here: blank targets returned above, a missing event is an error.
    let (Some(target_url), Some(event)) = (target_url, event) else {
        return Err(HookError::TargetUrlMissing);
    };
    Ok(HookSettings {
        event,
        target_url,
        is_active: is_active.unwrap_or(true),
        signing_secret: signing_secret.flatten(),
        version: version.unwrap_or_else(|| VERSION.to_owned()),
    })
}

/// Validates an update of `hook`: every field is optional; the answer is the hook's
/// settings with the given fields applied.
pub fn validate_update(hook: &Hook, fields: &Fields) -> Result<HookSettings, HookError> {
    let mut errors = Vec::new();
    let target_url = check(&mut errors, "target_url", target(fields.get("target_url")));
    let event = check(&mut errors, "event", event(fields.get("event")));
    let is_active = check(&mut errors, "is_active", boolean(fields.get("is_active")));
    let signing_secret = check(
        &mut errors,
        "signing_secret",
        secret(fields.get("signing_secret")),
    );
    let version = check(&mut errors, "version", version(fields.get("version")));
    if !errors.is_empty() {
        return Err(HookError::Fields(errors));
    }
    Ok(HookSettings {
        event: event.flatten().unwrap_or(hook.event),
        target_url: target_url
            .flatten()
            .unwrap_or_else(|| hook.target_url.clone()),
        is_active: is_active.flatten().unwrap_or(hook.is_active),
        signing_secret: match signing_secret.flatten() {
            Some(given) => given,
            None => hook.signing_secret.clone(),
        },
        version: version.flatten().unwrap_or_else(|| hook.version.clone()),
    })
}

/// The `target_url` of an unsubscribe request.
pub fn unsubscribe_target(fields: &Fields) -> Result<String, HookError> {
    match fields.get("target_url") {
        Some(FieldValue::Text(t)) if !t.trim().is_empty() => Ok(t.trim().to_owned()),
        _ => Err(HookError::TargetUrlMissing),
    }
}

/// Records a field's error; `Some(value)` when it passed.
fn check<T>(
    errors: &mut Vec<(&'static str, String)>,
    name: &'static str,
    result: Result<T, String>,
) -> Option<T> {
    match result {
        Ok(v) => Some(v),
        Err(text) => {
            errors.push((name, text));
            None
        }
    }
}

fn is_blank(value: Option<&FieldValue>) -> bool {
    match value {
        None | Some(FieldValue::Json(Value::Null)) => true,
        Some(FieldValue::Text(t)) => t.trim().is_empty(),
        Some(FieldValue::Json(_)) => false,
    }
}

/// A string field's text; DRF's `Not a valid string.` for objects and arrays.
fn text(value: &FieldValue) -> Result<String, String> {
    match value {
        FieldValue::Text(t) => Ok(t.clone()),
        FieldValue::Json(Value::Number(n)) => Ok(n.to_string()),
        FieldValue::Json(Value::Bool(b)) => Ok(b.to_string()),
        FieldValue::Json(_) => Err("Not a valid string.".to_owned()),
    }
}

fn target(value: Option<&FieldValue>) -> Result<Option<String>, String> {
    let Some(value) = value else { return Ok(None) };
    let t = text(value)?.trim().to_owned();
    if t.chars().count() > MAX_TARGET_LEN {
        return Err(format!(
            "Ensure this field has no more than {MAX_TARGET_LEN} characters."
        ));
    }
    let valid = url::Url::parse(&t).is_ok_and(|u| {
        matches!(u.scheme(), "http" | "https") && u.host_str().is_some_and(|h| !h.is_empty())
    });
    if !valid {
        return Err("Enter a valid URL.".to_owned());
    }
    Ok(Some(t))
}

fn event(value: Option<&FieldValue>) -> Result<Option<Event>, String> {
    let Some(value) = value else { return Ok(None) };
    let t = text(value)?;
    Event::parse(t.trim())
        .map(Some)
        .ok_or_else(|| format!("\"{t}\" is not a valid choice."))
}

fn boolean(value: Option<&FieldValue>) -> Result<Option<bool>, String> {
    let invalid = || "Must be a valid boolean.".to_owned();
    match value {
        None => Ok(None),
        Some(FieldValue::Json(Value::Bool(b))) => Ok(Some(*b)),
        Some(FieldValue::Json(Value::Number(n))) => match n.as_i64() {
            Some(1) => Ok(Some(true)),
            Some(0) => Ok(Some(false)),
            _ => Err(invalid()),
        },
        Some(FieldValue::Text(t)) => match t.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "y" | "on" | "t" => Ok(Some(true)),
            "false" | "0" | "no" | "n" | "off" | "f" => Ok(Some(false)),
            _ => Err(invalid()),
        },
        Some(FieldValue::Json(_)) => Err(invalid()),
    }
}

/// `Some(None)` clears the secret (empty or null), `Some(Some(s))` sets it.
fn secret(value: Option<&FieldValue>) -> Result<Option<Option<String>>, String> {
    match value {
        None => Ok(None),
        Some(FieldValue::Json(Value::Null)) => Ok(Some(None)),
        Some(value) => {
            let t = text(value)?;
            if t.chars().count() > MAX_SECRET_LEN {
                return Err(format!(
                    "Ensure this field has no more than {MAX_SECRET_LEN} characters."
                ));
            }
            Ok(Some((!t.is_empty()).then_some(t)))
        }
    }
}

fn version(value: Option<&FieldValue>) -> Result<Option<String>, String> {
    let Some(value) = value else { return Ok(None) };
    let t = text(value)?;
    if t == VERSION {
        Ok(Some(t))
    } else {
        Err(format!("\"{t}\" is not a valid choice."))
    }
}

/// The integer project id hooks show, derived from the public key (the emulator's projects
/// have no number): the first 31 bits of SHA-256(pub_key), stable across restarts.
pub fn project_number(pub_key: &str) -> i64 {
    let digest = Sha256::digest(pub_key.as_bytes());
    i64::from(u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]) >> 1)
}

/// The REST `webhook` object, keys in production's order (recorded 2021; `version` added
/// after `is_active`, as the reference lists it).
pub fn hook_json(hook: &Hook) -> Value {
    let mut o = Map::new();
    o.insert("id".into(), hook.id.into());
    o.insert("created".into(), iso(hook.created_us).into());
    o.insert("updated".into(), iso(hook.updated_us).into());
    o.insert("event".into(), hook.event.name().into());
    o.insert("target_url".into(), hook.target_url.clone().into());
    o.insert("project".into(), project_number(&hook.project).into());
    o.insert("is_active".into(), hook.is_active.into());
    o.insert("version".into(), hook.version.clone().into());
    o.insert("signing_secret".into(), hook.signing_secret.clone().into());
    Value::Object(o)
}

/// The hook as a delivery's `hook` field shows it (no secret): production's key order.
pub fn hook_public_json(hook: &Hook) -> Value {
    let mut o = Map::new();
    o.insert("id".into(), hook.id.into());
    o.insert("project_id".into(), project_number(&hook.project).into());
    o.insert("project_pub_key".into(), hook.project.clone().into());
    o.insert("target".into(), hook.target_url.clone().into());
    o.insert("event".into(), hook.event.name().into());
    o.insert("is_active".into(), hook.is_active.into());
    o.insert("version".into(), hook.version.clone().into());
    o.insert("created_at".into(), iso(hook.created_us).into());
    o.insert("updated_at".into(), iso(hook.updated_us).into());
    Value::Object(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(body: &str) -> Fields {
        Fields::parse(body.as_bytes(), false).unwrap()
    }

    fn json(body: &str) -> Fields {
        Fields::parse(body.as_bytes(), true).unwrap()
    }

    #[test]
    fn create_from_form_and_json() {
        let want = HookSettings {
            event: Event::FileUploaded,
            target_url: "http://127.0.0.1:9/hook".into(),
            is_active: true,
            signing_secret: None,
            version: "0.7".into(),
        };
        assert_eq!(
            validate_create(&form(
                "target_url=http%3A%2F%2F127.0.0.1%3A9%2Fhook&event=file.uploaded&is_active=true"
            )),
            Ok(want.clone())
        );
        assert_eq!(
            validate_create(&json(
                r#"{"target_url":"http://127.0.0.1:9/hook","event":"file.uploaded","is_active":true,"signing_secret":""}"#
            )),
            Ok(want)
        );
    }

    #[test]
    fn create_errors() {
        assert_eq!(
            validate_create(&form("event=file.uploaded")),
            Err(HookError::TargetUrlMissing)
        );
        assert_eq!(
            validate_create(&json(r#"{"target_url":"","event":"file.uploaded"}"#)),
            Err(HookError::TargetUrlMissing)
        );
        let secret = "x".repeat(33);
        assert_eq!(
            validate_create(&form(&format!(
                "target_url=ftp://x&event=file.nope&is_active=maybe&signing_secret={secret}&version=0.5"
            ))),
            Err(HookError::Fields(vec![
                ("target_url", "Enter a valid URL.".into()),
                ("event", "\"file.nope\" is not a valid choice.".into()),
                ("is_active", "Must be a valid boolean.".into()),
                (
                    "signing_secret",
                    "Ensure this field has no more than 32 characters.".into()
                ),
                ("version", "\"0.5\" is not a valid choice.".into()),
            ]))
        );
        assert_eq!(
            validate_create(&form("target_url=http://x/")),
            Err(HookError::Fields(vec![(
                "event",
                "This field is required.".into()
            )]))
        );
        let long = format!("http://x/{}", "a".repeat(250));
        assert_eq!(
            validate_create(&form(&format!("target_url={long}&event=file.stored"))),
            Err(HookError::Fields(vec![(
                "target_url",
                "Ensure this field has no more than 255 characters.".into()
            )]))
        );
    }

    #[test]
    fn update_applies_given_fields() {
        let hook = Hook {
            id: 7,
            project: "pk".into(),
            event: Event::FileUploaded,
            target_url: "http://a/".into(),
            is_active: true,
            signing_secret: Some("s".into()),
            version: "0.7".into(),
            created_us: 0,
            updated_us: 0,
        };
        let s = validate_update(&hook, &json(r#"{"is_active": false}"#)).unwrap();
        assert!(!s.is_active);
        assert_eq!(s.signing_secret.as_deref(), Some("s"));
        let s = validate_update(&hook, &form("signing_secret=&event=file.deleted")).unwrap();
        assert_eq!(s.signing_secret, None);
        assert_eq!(s.event, Event::FileDeleted);
        assert!(Fields::parse(b"[1]", true).is_none());
    }

    #[test]
    fn project_numbers_are_stable_and_positive() {
        assert_eq!(
            project_number("demopublickey"),
            project_number("demopublickey")
        );
        assert!(project_number("demopublickey") >= 0);
        assert_ne!(project_number("a"), project_number("b"));
    }
}
