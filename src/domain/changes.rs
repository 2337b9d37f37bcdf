//! Changes to files, each with its webhook events: every way a file is created, stored,
//! removed or re-described is one function here, which writes the change and its events
//! (the transactional outbox, `crate::store::webhooks`) in one database transaction and then
//! wakes the delivery worker. Handlers parse, call one of these, and render.
//!
//! Which events each change writes:
//! - a new file (`/base/`, multipart completion, `/from_url/`): `file.uploaded`, then
//!   `file.stored` when it is stored at once (`UPLOADCARE_STORE=1`, or autostore);
//! - storing (single, batch, group): `file.stored` for every file the call stored, also one
//!   that was stored already (its `datetime_stored` moves);
//! - removing (single, batch): `file.deleted` for every file the call removed;
//! - metadata set or deleted: `file.info_updated` with `previous_values.metadata`;
//! - tags changed (`PUT`/`PATCH` that add or delete a tag): `file.info_updated` with
//!   `previous_values.tags` (a change that leaves the tags as they were writes nothing);
//! - an add-on run recorded (`crate::addons`): `file.info_updated` with
//!   `previous_values.appdata`, `file.infected` when a virus was found, `file.deleted` when
//!   `purge_infected` removed the file, and `file.uploaded` for a file the run made.
//!
//! Not events, by decision: an unstored file that expires after the retention period (the
//! emulator computes expiry when reading, nothing changes at that moment), and fixtures
//! loaded at start-up or through the admin seed route (test set-up, not activity).

use serde_json::{Map, Value};
use uuid::Uuid;

use crate::blobs::Blob;
use crate::domain::content::detect;
use crate::error::StoreError;
use crate::store::{FileChange, FileRecord, FileSwap, LifecycleChange, RunStatus};
use crate::webhooks::events::{
    outbox_event, outbox_event_with_appdata, EventSource, OutboxEvent, Previous,
};
use crate::webhooks::hooks::Event;
use crate::AppState;

/// A file coming into being, before it is written: the one place its [`FileRecord`] is
/// built (direct upload, multipart completion, URL import, fixtures).
#[derive(Debug)]
pub struct NewFile {
    /// Its uuid.
    pub uuid: Uuid,
    /// Owning project's public key.
    pub project: String,
    /// Its bytes, already in the blob directory.
    pub blob: Blob,
    /// File name as given.
    pub filename: String,
    /// The type the client announced, kept when detection finds nothing better.
    pub announced_type: Option<String>,
    /// Metadata.
    pub metadata: Map<String, Value>,
    /// Tags, normalized and checked.
    pub tags: Vec<String>,
    /// Whether it is stored at once.
    pub store: bool,
    /// Upload time (a unique stamp of the clock).
    pub uploaded_us: i64,
}

impl NewFile {
    /// The file row: type and image facts detected from the bytes.
    pub fn into_record(self) -> FileRecord {
        let detected = detect(&self.blob.head);
        let mime_type = match self.announced_type {
            Some(announced)
                if detected.mime_type == "application/octet-stream" && announced.contains('/') =>
            {
                announced
            }
            _ => detected.mime_type,
        };
        FileRecord {
            uuid: self.uuid,
            project: self.project,
            size: i64::try_from(self.blob.size).unwrap_or(i64::MAX),
            blob: self.blob.hash,
            original_filename: self.filename,
            mime_type,
            image: detected.image,
            metadata: self.metadata,
            tags: self.tags,
            uploaded_us: self.uploaded_us,
            stored_us: self.store.then_some(self.uploaded_us),
            removed_us: None,
        }
    }
}

/// The events of a new file.
fn created_events(file: &FileRecord, source: &EventSource, now_us: i64) -> Vec<OutboxEvent> {
    let mut events = vec![outbox_event(
        Event::FileUploaded,
        file,
        source,
        None,
        now_us,
    )];
    if file.stored_us.is_some() {
        events.push(outbox_event(Event::FileStored, file, source, None, now_us));
    }
    events
}

/// Writes new files (their bytes are already in the blob directory) and their events.
pub async fn create_files(
    state: &AppState,
    files: &mut [FileRecord],
    source: &EventSource,
) -> Result<(), StoreError> {
    let now = state.clock.now_us();
    let mut tx = state.store.begin().await?;
    for file in files {
        tx.insert_file(file).await?;
        tx.insert_events(&created_events(file, source, now)).await?;
    }
    tx.commit().await?;
    state.webhooks.wake();
    Ok(())
}

/// Completes a multipart upload: marks its session done and writes its file and events;
/// `false` (nothing written) when it was completed already.
pub async fn complete_multipart(
    state: &AppState,
    file: &mut FileRecord,
    source: &EventSource,
) -> Result<bool, StoreError> {
    let now = state.clock.now_us();
    let mut tx = state.store.begin().await?;
    if !tx.complete_multipart(file).await? {
        return Ok(false);
    }
    tx.insert_events(&created_events(file, source, now)).await?;
    tx.commit().await?;
    state.webhooks.wake();
    Ok(true)
}

/// Stores or removes the project's live files among `uuids` at `now`, with their events;
/// returns those changed.
pub async fn change_files(
    state: &AppState,
    (project, uuids, now): (&str, &[Uuid], i64),
    source: &EventSource,
    change: FileChange,
) -> Result<Vec<FileRecord>, StoreError> {
    if uuids.is_empty() {
        return Ok(Vec::new());
    }
    let event = match change {
        FileChange::Store => Event::FileStored,
        FileChange::Remove => Event::FileDeleted,
    };
    let mut tx = state.store.begin().await?;
    let changed = tx
        .change_files(LifecycleChange {
            project,
            uuids,
            change,
            now_us: now,
        })
        .await?;
    let events: Vec<OutboxEvent> = changed
        .iter()
        .map(|f| outbox_event(event, f, source, None, now))
        .collect();
    tx.insert_events(&events).await?;
    tx.commit().await?;
    if !events.is_empty() {
        state.webhooks.wake();
    }
    Ok(changed)
}

/// A new value for one part of a file's description.
pub enum Description {
    /// The whole `metadata` object.
    Metadata(Map<String, Value>),
    /// The whole list of tags.
    Tags(Vec<String>),
}

/// Replaces a part of `file`'s description with `new` if it is still as in `file` (compare
/// and swap), with a `file.info_updated` event; `false` when it changed meanwhile (nothing
/// written).
pub async fn replace_description(
    state: &AppState,
    file: &FileRecord,
    new: Description,
    source: &EventSource,
) -> Result<bool, StoreError> {
    let now = state.clock.now_us();
    let mut tx = state.store.begin().await?;
    let mut after = file.clone();
    let (swapped, previous) = match new {
        Description::Metadata(new) => {
            let swapped = tx
                .replace_file_metadata(swap(file, &file.metadata, &new))
                .await?;
            after.metadata = new;
            (swapped, Previous::Metadata(file.metadata.clone()))
        }
        Description::Tags(new) => {
            let swapped = tx.replace_file_tags(swap(file, &file.tags, &new)).await?;
            after.tags = new;
            (swapped, Previous::Tags(file.tags.clone()))
        }
    };
    if !swapped {
        return Ok(false);
    }
    commit_info_updated(state, tx, &after, &previous, source, now).await
}

/// The compare and swap of one part of `file`'s description from `old` to `new`.
fn swap<'a, T: ?Sized>(file: &'a FileRecord, old: &'a T, new: &'a T) -> FileSwap<'a, T> {
    FileSwap {
        project: &file.project,
        uuid: file.uuid,
        old,
        new,
    }
}

/// Ends a compare-and-swap change of a file's description: its `file.info_updated` event
/// in the same transaction, then the delivery worker woken.
async fn commit_info_updated(
    state: &AppState,
    mut tx: crate::store::Tx,
    after: &FileRecord,
    previous: &Previous,
    source: &EventSource,
    now_us: i64,
) -> Result<bool, StoreError> {
    let event = outbox_event(
        Event::FileInfoUpdated,
        after,
        source,
        Some(previous),
        now_us,
    );
    tx.insert_events(&[event]).await?;
    tx.commit().await?;
    state.webhooks.wake();
    Ok(true)
}

/// A finished add-on run to record (see `crate::addons`).
#[derive(Debug)]
pub struct AddonResult<'a> {
    /// The run's id.
    pub request_id: Uuid,
    /// The add-on's name, the `appdata` key.
    pub addon: &'static str,
    /// The file it ran on, as it was.
    pub file: &'a FileRecord,
    /// The `appdata` entry's `data`.
    pub data: &'a Value,
    /// The `appdata` entry's `version`.
    pub version: &'a str,
    /// The status answer's `result`, if any.
    pub result: Option<&'a Value>,
    /// A file the run made (remove.bg), not yet written; its bytes are in the blob directory.
    pub new_file: Option<&'a FileRecord>,
    /// Whether a virus was found (`file.infected`).
    pub infected: bool,
    /// Whether to remove the file (`purge_infected` and a virus found).
    pub purge: bool,
}

/// Records a finished run in one transaction: its status and `result`, the file's new
/// `appdata` entry with `file.info_updated` (and `file.infected`), a new file with its
/// events, and the removal `purge_infected` asks for with `file.deleted`.
pub async fn record_addon_result(
    state: &AppState,
    r: &AddonResult<'_>,
    source: &EventSource,
) -> Result<(), StoreError> {
    let now = state.clock.now_us();
    let file = r.file;
    let previous = state
        .store
        .appdata(&[file.uuid])
        .await?
        .remove(&file.uuid)
        .unwrap_or_default();
    let created = previous
        .get(r.addon)
        .and_then(|e| e.get("datetime_created"))
        .cloned()
        .unwrap_or_else(|| crate::domain::time::iso(now).into());
    let mut current = previous.clone();
    current.insert(
        r.addon.to_owned(),
        serde_json::json!({
            "data": r.data,
            "datetime_created": created,
            "datetime_updated": crate::domain::time::iso(now),
            "version": r.version,
        }),
    );
    let mut events = Vec::new();
    let mut tx = state.store.begin().await?;
    if let Some(new) = r.new_file {
        let mut new = new.clone();
        tx.insert_file(&mut new).await?;
        let derived = EventSource {
            source_file: Some(file.uuid),
            ..source.clone()
        };
        events.extend(created_events(&new, &derived, now));
    }
    tx.upsert_appdata(&file.project, file.uuid, r.addon, (r.data, r.version), now)
        .await?;
    tx.finish_addon_run(r.request_id, RunStatus::Done, r.result, now)
        .await?;
    let prev = Previous::Appdata(previous);
    events.push(outbox_event_with_appdata(
        Event::FileInfoUpdated,
        file,
        &current,
        source,
        Some(&prev),
        now,
    ));
    if r.infected {
        events.push(outbox_event_with_appdata(
            Event::FileInfected,
            file,
            &current,
            source,
            None,
            now,
        ));
    }
    if r.purge {
        let removed = tx
            .change_files(LifecycleChange {
                project: &file.project,
                uuids: &[file.uuid],
                change: FileChange::Remove,
                now_us: now,
            })
            .await?;
        for f in &removed {
            events.push(outbox_event_with_appdata(
                Event::FileDeleted,
                f,
                &current,
                source,
                None,
                now,
            ));
        }
    }
    tx.insert_events(&events).await?;
    tx.commit().await?;
    state.webhooks.wake();
    Ok(())
}
