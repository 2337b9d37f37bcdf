//! Copies of files: inside the project (`POST /files/local_copy/`) or into one of its custom
//! storages (`POST /files/remote_copy/`, `crate::storages`). The source is a uuid or a CDN
//! URL or path with operations (`<uuid>/-/resize/200x/`), and the copy holds the
//! *processed* bytes, made by the CDN's own pipeline (`crate::cdn::transform`); operations
//! that only answer JSON (`-/json/`, `-/main_colors/`, `detect_faces`) are a bad source.
//!
//! Decisions where production is undocumented or the emulator differs on purpose:
//! - The copy is finished before the answer (production answers at once and finishes
//!   later); the answer still has production's immediate shape (`crate::rest_api::copies`).
//! - The copy keeps the source's `original_filename`, as production's recordings show, even
//!   when an operation changes the format.
//! - A source that is not a uuid or a CDN file path, names no live file of the project
//!   (unknown, another project's, removed, expired) or carries operations the CDN rejects is
//!   production's `Bad source` 400; operations the emulator cannot apply (overlays, text,
//!   formats it cannot decode) answer 400 saying so, never an unprocessed copy.
//! - A copy is a new file: it fires `file.uploaded` (and `file.stored` when stored) like an
//!   upload, with `initiator.detail.source_file_uuid` naming the source.

use serde_json::{Map, Value};
use uuid::Uuid;

use crate::cdn::path::{parse, CdnPath, Operation};
use crate::cdn::transform::{self, Pipeline, TransformError};
use crate::config::{StorageConfig, StorageTarget};
use crate::domain::changes::{create_files, NewFile};
use crate::domain::files::is_live;
use crate::error::StoreError;
use crate::storages::{object_key, Directory, KeyParts, PatternError, Put, RemoteStorage};
use crate::store::FileRecord;
use crate::webhooks::events::EventSource;
use crate::AppState;

/// Why a copy was not made.
#[derive(Debug)]
pub enum CopyError {
    /// The remote copy's `pattern` is refused.
    Pattern(PatternError),
    /// The source names no live file of the project, or is not a uuid or CDN file path.
    BadSource,
    /// The CDN could not process the source's operations.
    Transform(TransformError),
    /// The store failed.
    Store(StoreError),
}

impl From<StoreError> for CopyError {
    fn from(e: StoreError) -> Self {
        CopyError::Store(e)
    }
}

/// A copy's source: a live file of the project and the operations to apply to it.
#[derive(Clone, Debug)]
pub struct CopySource {
    /// The source file.
    pub file: FileRecord,
    /// CDN operations, in URL order.
    pub operations: Vec<Operation>,
}

/// Reads a `source`: a uuid, a CDN path (`<uuid>/-/ops/…`, with or without the leading `/`)
/// or an absolute CDN URL of any host. `None` when it names no single file.
pub fn parse_source(text: &str) -> Option<(Uuid, Vec<Operation>)> {
    let text = text.trim();
    let path = if text.starts_with("http://") || text.starts_with("https://") {
        url::Url::parse(text).ok()?.path().to_owned()
    } else if text.starts_with('/') {
        text.to_owned()
    } else {
        format!("/{text}")
    };
    match parse(&path)? {
        CdnPath::File { uuid, delivery } => Some((uuid, delivery.operations)),
        CdnPath::Group { .. } => None,
    }
}

/// The project's live file a `source` names, with its operations.
pub async fn resolve(
    state: &AppState,
    project: &str,
    source: &str,
) -> Result<CopySource, CopyError> {
    let (uuid, operations) = parse_source(source).ok_or(CopyError::BadSource)?;
    let file = state
        .store
        .file(Some(project), uuid)
        .await?
        .filter(|f| is_live(f, state.clock.now_us(), state.retention_us()))
        .ok_or(CopyError::BadSource)?;
    Ok(CopySource { file, operations })
}

/// Makes the copy: processes the source's bytes when it has operations that process, then
/// writes the new file and its events.
pub async fn local_copy(
    state: &AppState,
    source: &CopySource,
    store: bool,
    metadata: Map<String, Value>,
    events: &EventSource,
) -> Result<FileRecord, CopyError> {
    let processed = copy_bytes(state, source).await?;
    let file = &source.file;
    let uuid = Uuid::new_v4();
    let uploaded_us = state.clock.unique_us();
    let copy = if let Some(bytes) = processed {
        let mut writer = state.blobs.writer().await?;
        writer.write(&bytes).await?;
        let blob = writer.finish().await?;
        NewFile {
            uuid,
            project: file.project.clone(),
            blob,
            filename: file.original_filename.clone(),
            announced_type: None,
            metadata,
            tags: Vec::new(),
            store,
            uploaded_us,
        }
        .into_record()
    } else {
        // The same bytes: blobs are content-addressed, so the copy shares the source's.
        FileRecord {
            uuid,
            metadata,
            tags: Vec::new(),
            uploaded_us,
            stored_us: store.then_some(uploaded_us),
            removed_us: None,
            ..file.clone()
        }
    };
    let events = EventSource {
        source_file: Some(file.uuid),
        ..events.clone()
    };
    let mut copy = copy;
    create_files(state, std::slice::from_mut(&mut copy), &events).await?;
    Ok(copy)
}

/// The bytes of a copy: the source's, or its processed variant when its operations process.
async fn copy_bytes(state: &AppState, source: &CopySource) -> Result<Option<Vec<u8>>, CopyError> {
    let pipeline = Pipeline::parse(&source.operations).map_err(CopyError::Transform)?;
    if pipeline.json || pipeline.detect_faces || pipeline.main_colors.is_some() {
        return Err(CopyError::BadSource);
    }
    if !pipeline.processes {
        return Ok(None);
    }
    let variant = transform::variant(state, &source.file, &pipeline, false)
        .await
        .map_err(CopyError::Transform)?;
    Ok(Some(variant.bytes.to_vec()))
}

/// Copies a file (processed by its operations) into a custom storage under the key
/// `pattern` names; answers the copy's `s3://<bucket>/<key>` and whether it was written
/// now or existed already (`crate::storages`).
pub async fn remote_copy(
    state: &AppState,
    source: &CopySource,
    storage: &StorageConfig,
    pattern: &str,
    public: bool,
) -> Result<(String, Put), CopyError> {
    let file = &source.file;
    let (filename, ext) = match file.original_filename.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => (stem.to_owned(), format!(".{ext}")),
        _ => (file.original_filename.clone(), String::new()),
    };
    let effects: String = source
        .operations
        .iter()
        .map(|op| {
            let mut parts = vec![op.name.as_str()];
            parts.extend(op.params.iter().map(String::as_str));
            format!("-/{}/", parts.join("/"))
        })
        .collect();
    let uuid = file.uuid.to_string();
    let parts = KeyParts {
        uuid: &uuid,
        filename: &filename,
        ext: &ext,
        effects: &effects,
    };
    let key = object_key(pattern, &parts).map_err(CopyError::Pattern)?;
    let bytes = match copy_bytes(state, source).await? {
        Some(b) => b,
        None => state.blobs.read_all(&file.blob).await?,
    };
    let put = match &storage.target {
        StorageTarget::Directory(root) => {
            let target = Directory { root: root.clone() };
            let k = key.clone();
            tokio::task::spawn_blocking(move || target.put(&k, &bytes, public))
                .await
                .map_err(|e| CopyError::Store(StoreError::Internal(e.to_string())))?
                .map_err(|e| CopyError::Store(e.into()))?
        }
        StorageTarget::S3(url) => crate::storages::s3_location(url)
            .map_err(|e| CopyError::Store(StoreError::Internal(e)))?
            .put_new(&key, bytes, public)
            .await
            .map_err(CopyError::Store)?,
    };
    let bucket = storage.bucket.as_deref().unwrap_or(&storage.name);
    Ok((format!("s3://{bucket}/{key}"), put))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources() {
        let u = "d6d34fa9-addd-472c-868d-2e5c105f9fcd";
        let (uuid, ops) = parse_source(u).unwrap();
        assert_eq!((uuid.to_string(), ops.len()), (u.to_owned(), 0));
        let (_, ops) = parse_source(&format!("{u}/-/resize/10x/-/flip/")).unwrap();
        assert_eq!(ops.len(), 2);
        assert_eq!(ops[0].name, "resize");
        let (_, ops) =
            parse_source(&format!("https://ucarecdn.com/{u}/-/grayscale/roof.jpg")).unwrap();
        assert_eq!(ops[0].name, "grayscale");
        assert!(parse_source(&format!("/{u}/")).is_some());
        assert!(parse_source("nope").is_none());
        assert!(parse_source("").is_none());
        assert!(parse_source(&format!("{u}~2")).is_none());
        assert!(parse_source("ftp://x/").is_none());
    }
}
