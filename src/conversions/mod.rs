//! Document and video conversion (REST `/convert/…`): jobs submitted, run in the background
//! by real converters, polled by token.
//!
//! # What runs
//! - Images (documents whose source is an image) convert through the CDN's own pipeline.
//! - PDF pages become JPEG/PNG with `pdftoppm`, text with `pdftotext` (poppler-utils).
//! - Office and text documents become PDF (and then images) with LibreOffice (`soffice`).
//! - Videos are transcoded, resized, cut and thumbnailed with `ffmpeg` / `ffprobe`.
//!
//! A converter missing from the machine fails the job with an error naming it ([`tools`]);
//! nothing is ever returned that only looks converted.
//!
//! # Lifecycle (as production)
//! Submission writes, in one transaction, the job (`pending`), its result file — which
//! exists at once with `is_ready: false`, no bytes, size 0 — and, for video, the not-ready
//! thumbnail files and their group. The job then runs (`processing`) and ends `finished`
//! (the result file gets its bytes and facts) or `failed` (its `error` says why; the result
//! file stays not ready). A job is owned by the replica that runs it; jobs of a stopped
//! process (no heartbeat, `crate::replicas`) are failed by the replicas still running, or at
//! start-up.
//! No webhook events are written for conversion results (production documents none).

pub mod path;
mod run;
mod tools;

use std::sync::Arc;

use serde_json::{json, Map, Value};
use uuid::Uuid;

use crate::domain::files::{is_live, should_store};
use crate::error::StoreError;
use crate::store::conversions::{ConversionKind, NewJob};
use crate::store::{FileRecord, NewGroup, Project};
use crate::AppState;
use run::Work;

pub use tools::{conversion_formats, find as find_tool};

/// The body of a submission's answer: `{"result": [...], "problems": {...}}`.
pub async fn submit(
    state: &Arc<AppState>,
    project: &Project,
    kind: ConversionKind,
    paths: &[String],
    store: Option<&str>,
    save_in_group: bool,
) -> Result<Value, StoreError> {
    let mut result = Vec::new();
    let mut problems = Map::new();
    for raw in paths {
        match submit_one(state, project, kind, raw, store, save_in_group).await? {
            Ok(item) => result.push(item),
            Err(problem) => {
                problems.insert(raw.clone(), problem.into());
            }
        }
    }
    Ok(json!({ "result": result, "problems": problems }))
}

impl Work {
    fn source(&self) -> Uuid {
        match self {
            Work::Document(d) => d.uuid,
            Work::Video(v) => v.uuid,
        }
    }
    fn target(&self) -> &str {
        match self {
            Work::Document(d) => &d.format,
            Work::Video(v) => &v.format,
        }
    }
}

/// A not-ready file: it exists (REST answers `is_ready: false`) and has no bytes yet.
fn pending_file(project: &str, name: &str, uploaded_us: i64, stored: bool) -> FileRecord {
    FileRecord {
        uuid: Uuid::new_v4(),
        project: project.to_owned(),
        size: 0,
        blob: String::new(),
        original_filename: name.to_owned(),
        mime_type: String::new(),
        image: None,
        metadata: Map::new(),
        tags: Vec::new(),
        uploaded_us,
        stored_us: stored.then_some(uploaded_us),
        removed_us: None,
    }
}

async fn submit_one(
    state: &Arc<AppState>,
    project: &Project,
    kind: ConversionKind,
    raw: &str,
    store: Option<&str>,
    save_in_group: bool,
) -> Result<Result<Value, String>, StoreError> {
    let spec = match kind {
        ConversionKind::Document => path::document(raw).map(Work::Document),
        ConversionKind::Video => path::video(raw).map(Work::Video),
    };
    let spec = match spec {
        Ok(spec) => spec,
        Err(problem) => return Ok(Err(problem)),
    };
    let now = state.clock.now_us();
    let source = state
        .store
        .file(Some(&project.pub_key), spec.source())
        .await?
        .filter(|f| is_live(f, now, state.retention_us()));
    let Some(source) = source else {
        return Ok(Err(format!("File \"{}\" not found", spec.source())));
    };
    if source.blob.is_empty() {
        return Ok(Err(format!("File \"{}\" is not ready", source.uuid)));
    }
    let stored = should_store(store, project.autostore);
    let stem = tools::stem(&source.original_filename);
    let name = match &spec {
        Work::Document(_) => String::new(),
        Work::Video(v) => format!("{stem}.{}", v.format),
    };
    let mut result = pending_file(&project.pub_key, &name, state.clock.unique_us(), stored);
    let mut thumbs = Vec::new();
    if let Work::Video(v) = &spec {
        for _ in 0..v.thumbs {
            thumbs.push(pending_file(
                &project.pub_key,
                "",
                state.clock.unique_us(),
                stored,
            ));
        }
    }
    let group = (!thumbs.is_empty()).then(|| NewGroup {
        uuid: Uuid::new_v4(),
        project: project.pub_key.clone(),
        members: thumbs.iter().map(|f| (f.uuid, String::new())).collect(),
    });
    let group_id = group
        .as_ref()
        .map(|g| format!("{}~{}", g.uuid, g.members.len()));
    let mut tx = state.store.begin().await?;
    tx.insert_file(&mut result).await?;
    for thumb in &mut thumbs {
        tx.insert_file(thumb).await?;
    }
    if let Some(group) = &group {
        // A creation time unique in the project (`Tx::insert_groups`).
        tx.insert_groups(&[(group, state.clock.unique_us())])
            .await?;
    }
    let token = tx
        .insert_conversion_job(
            &NewJob {
                project: &project.pub_key,
                kind,
                source: raw,
                source_uuid: source.uuid,
                target: spec.target(),
                result_uuid: result.uuid,
                group_id: group_id.as_deref(),
                owner: &state.replica.id,
            },
            now,
        )
        .await?;
    tx.commit().await?;
    let mut item = Map::new();
    item.insert("original_source".into(), raw.into());
    item.insert("token".into(), token.into());
    item.insert("uuid".into(), result.uuid.to_string().into());
    if let Some(id) = &group_id {
        item.insert("thumbnails_group_uuid".into(), id.clone().into());
    }
    let job = run::Job {
        token,
        project: project.pub_key.clone(),
        source,
        result: result.uuid,
        thumbs: thumbs.iter().map(|f| f.uuid).collect(),
        save_in_group,
        stored,
    };
    let state = state.clone();
    tokio::spawn(async move { run::run(&state, job, spec).await });
    Ok(Ok(Value::Object(item)))
}

/// A job's status answer, or `None` when the project has no such job of that kind.
pub async fn status(
    state: &AppState,
    project: &str,
    kind: ConversionKind,
    token: i64,
) -> Result<Option<Value>, StoreError> {
    let Some(job) = state.store.conversion_job(project, kind, token).await? else {
        return Ok(None);
    };
    let mut result = Map::new();
    result.insert("uuid".into(), job.result_uuid.to_string().into());
    if kind == ConversionKind::Video {
        if let Some(group) = &job.group_id {
            result.insert("thumbnails_group_uuid".into(), group.clone().into());
        }
    }
    Ok(Some(json!({
        "status": job.status.name(),
        "error": job.error,
        "result": result,
    })))
}

/// `GET /convert/document/<uuid>/`: the source's format, what the emulator can convert it
/// to on this machine (not production's full list: only what really runs here), and the
/// groups earlier conversions made of its pages.
pub async fn document_info(
    state: &AppState,
    project: &str,
    file: &FileRecord,
) -> Result<Value, StoreError> {
    let format = tools::document_format(file);
    let targets = conversion_formats(format.as_deref(), file.image.is_some());
    let mut groups = Map::new();
    for (target, group) in state.store.converted_groups(project, file.uuid).await? {
        groups.insert(target, group.into());
    }
    let error = match (&format, targets.is_empty()) {
        (None, _) => Some("Unsupported document format".to_owned()),
        (Some(f), true) => Some(format!(
            "The emulator cannot convert {f} documents on this machine ({})",
            tools::missing_for(f)
        )),
        _ => None,
    };
    // `converted_groups` inside `format`: where production sends it (pyuploadcare's
    // recording test_convert_document_get_group_info.yaml), not beside it as the reference.
    Ok(json!({
        "error": error,
        "format": {
            "name": format.unwrap_or_default(),
            "conversion_formats": targets.iter().map(|t| json!({ "name": t })).collect::<Vec<_>>(),
            "converted_groups": groups,
        },
    }))
}
