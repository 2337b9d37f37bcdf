//! Add-ons (`POST /addons/<name>/execute/`): the four production has, each run recorded with
//! its status, results written into the target file's `appdata` with their webhook events.
//!
//! - [`clamav`]: a real signature scan (EICAR and operator signatures); `purge_infected`
//!   removes an infected file.
//! - [`rekognition`]: labels and moderation labels as a test declared them (no model runs
//!   here); none by default.
//! - [`remove_bg`]: a real PNG with the background (estimated from the border) transparent,
//!   as a new file named in the status answer's `result.file_id`.
//!
//! Decisions where production is silent:
//! - A run completes inside the execute request (on a task of its own, so a client that
//!   hangs up does not cut it short): once `execute` answers, the status is `done` or
//!   `error` and the appdata is written. While it runs, the status says `in_progress` and a
//!   second run of the same add-on on the same file is refused (409). A run still in
//!   progress after [`STALE_US`] died with its process: its status is `error` and it no
//!   longer blocks a new run.
//! - A run that cannot process its file (Rekognition on a non-JPEG/PNG file, remove.bg on
//!   something that does not decode) ends in `error` and writes nothing.
//! - Events: `file.info_updated` (with `previous_values.appdata`) for every finished run,
//!   `file.infected` as well when ClamAV finds a virus (production is replacing that event
//!   by `file.info_updated`), `file.deleted` when `purge_infected` removes the file,
//!   `file.uploaded` for remove.bg's new file; their `initiator` is the add-on
//!   (`type: addon`, `addon_name`, the run's `request_id`).
//! - remove.bg's new file is named after the source with a `.png` extension and is stored
//!   when the project stores uploads automatically. `foreground_type` (only with a
//!   `type_level` other than `none`) is what a test declared for the file, else the `type`
//!   parameter when it names a class, else `other`.

pub mod clamav;
pub mod rekognition;
pub mod remove_bg;

use std::sync::Arc;

use serde_json::{json, Map, Value};
use uuid::Uuid;

use crate::domain::changes::{record_addon_result, AddonResult, NewFile};
use crate::error::StoreError;
use crate::store::{AddonRun, FileRecord, RunStatus};
use crate::webhooks::events::{EventSource, Initiator};
use crate::AppState;

/// A run still in progress after this long died with its process (microseconds).
pub const STALE_US: i64 = 10 * 60 * 1_000_000;

/// The add-ons production has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Addon {
    /// `aws_rekognition_detect_labels`.
    Labels,
    /// `aws_rekognition_detect_moderation_labels`.
    ModerationLabels,
    /// `uc_clamav_virus_scan`.
    ClamAv,
    /// `remove_bg`.
    RemoveBg,
}

impl Addon {
    /// Every add-on.
    pub const ALL: [Addon; 4] = [
        Addon::Labels,
        Addon::ModerationLabels,
        Addon::ClamAv,
        Addon::RemoveBg,
    ];

    /// The name in paths and `appdata`.
    pub fn name(self) -> &'static str {
        match self {
            Addon::Labels => "aws_rekognition_detect_labels",
            Addon::ModerationLabels => "aws_rekognition_detect_moderation_labels",
            Addon::ClamAv => "uc_clamav_virus_scan",
            Addon::RemoveBg => "remove_bg",
        }
    }

    /// The add-on with this name.
    pub fn parse(name: &str) -> Option<Addon> {
        Addon::ALL.into_iter().find(|a| a.name() == name)
    }
}

/// A validated run request: the add-on and its parameters.
#[derive(Clone, Debug, PartialEq)]
pub enum Request {
    /// Labels.
    Labels,
    /// Moderation labels.
    ModerationLabels,
    /// ClamAV, removing an infected file when `purge_infected`.
    ClamAv {
        /// `purge_infected`.
        purge_infected: bool,
    },
    /// remove.bg.
    RemoveBg(remove_bg::Params),
}

impl Request {
    /// Checks `params` (absent, `null` or an object) for `addon`; `Err` says what is wrong.
    pub fn parse(addon: Addon, params: Option<&Value>) -> Result<Request, String> {
        let empty = Map::new();
        let params = match params {
            None | Some(Value::Null) => &empty,
            Some(Value::Object(o)) => o,
            Some(_) => return Err("`params` must be a JSON object.".into()),
        };
        let unknown = |known: &[&str]| {
            params
                .keys()
                .find(|k| !known.contains(&k.as_str()))
                .map(|k| format!("Unknown parameter `{k}`."))
        };
        match addon {
            Addon::Labels | Addon::ModerationLabels => {
                if let Some(e) = unknown(&[]) {
                    return Err(e);
                }
                Ok(if addon == Addon::Labels {
                    Request::Labels
                } else {
                    Request::ModerationLabels
                })
            }
            Addon::ClamAv => {
                if let Some(e) = unknown(&["purge_infected"]) {
                    return Err(e);
                }
                let purge_infected = match params.get("purge_infected") {
                    None | Some(Value::Null) => false,
                    Some(Value::Bool(b)) => *b,
                    Some(_) => return Err("`purge_infected` must be a boolean.".into()),
                };
                Ok(Request::ClamAv { purge_infected })
            }
            Addon::RemoveBg => remove_bg::Params::parse(params).map(Request::RemoveBg),
        }
    }

    /// The add-on it runs.
    pub fn addon(&self) -> Addon {
        match self {
            Request::Labels => Addon::Labels,
            Request::ModerationLabels => Addon::ModerationLabels,
            Request::ClamAv { .. } => Addon::ClamAv,
            Request::RemoveBg(_) => Addon::RemoveBg,
        }
    }
}

/// Why a run was not started.
#[derive(Debug)]
pub enum ExecuteError {
    /// The same add-on is running on the same file.
    Concurrent,
    /// The store failed.
    Store(StoreError),
}

impl From<StoreError> for ExecuteError {
    fn from(e: StoreError) -> Self {
        ExecuteError::Store(e)
    }
}

/// What a finished run found.
struct Outcome {
    data: Value,
    version: &'static str,
    result: Option<Value>,
    new_file: Option<FileRecord>,
    infected: bool,
}

/// Runs `request` on the project's live `file` and answers the run's `request_id` once it
/// finished (see the module docs). `store_new` says whether a new file (remove.bg) is stored.
pub async fn execute(
    state: Arc<AppState>,
    file: FileRecord,
    request: Request,
    store_new: bool,
    source: EventSource,
) -> Result<Uuid, ExecuteError> {
    let addon = request.addon();
    let now = state.clock.now_us();
    let run = AddonRun {
        request_id: Uuid::new_v4(),
        project: file.project.clone(),
        addon: addon.name().to_owned(),
        target: file.uuid,
        status: RunStatus::InProgress,
        result: None,
        created_us: now,
        updated_us: now,
    };
    if !state
        .store
        .start_addon_run(&run, now.saturating_sub(STALE_US))
        .await?
    {
        return Err(ExecuteError::Concurrent);
    }
    let request_id = run.request_id;
    let source = EventSource {
        initiator: Initiator::Addon {
            request_id,
            addon: addon.name(),
        },
        ..source
    };
    let task = tokio::spawn(async move {
        let recorded = match work(&state, &file, &request, store_new).await {
            Ok(o) => {
                let purge = matches!(
                    request,
                    Request::ClamAv {
                        purge_infected: true
                    }
                );
                let r = AddonResult {
                    request_id,
                    addon: addon.name(),
                    file: &file,
                    data: &o.data,
                    version: o.version,
                    result: o.result.as_ref(),
                    new_file: o.new_file.as_ref(),
                    infected: o.infected,
                    purge: purge && o.infected,
                };
                match record_addon_result(&state, &r, &source).await {
                    Ok(()) => true,
                    Err(e) => {
                        tracing::error!(error = %e, "add-on run not recorded");
                        false
                    }
                }
            }
            Err(why) => {
                tracing::info!(addon = addon.name(), %request_id, why, "add-on run failed");
                false
            }
        };
        if !recorded {
            let mut tx = state.store.begin().await?;
            tx.finish_addon_run(request_id, RunStatus::Error, None, state.clock.now_us())
                .await?;
            tx.commit().await?;
        }
        Ok::<(), StoreError>(())
    });
    match task.await {
        Ok(r) => r?,
        Err(e) => return Err(StoreError::Internal(e.to_string()).into()),
    }
    Ok(request_id)
}

/// Does the work of a run; `Err` (why, for the log) ends it in `error`.
async fn work(
    state: &AppState,
    file: &FileRecord,
    request: &Request,
    store_new: bool,
) -> Result<Outcome, String> {
    let fixture = |addon: Addon| async move {
        state
            .store
            .addon_fixture(file.uuid, addon.name())
            .await
            .map_err(|e| e.to_string())
    };
    let outcome = |data, version| Outcome {
        data,
        version,
        result: None,
        new_file: None,
        infected: false,
    };
    match request {
        Request::ClamAv { .. } => {
            let copy = state
                .blobs
                .local_copy(&file.blob)
                .await
                .map_err(|e| e.to_string())?;
            let signatures = state.config.virus_signatures.clone();
            let found = tokio::task::spawn_blocking(move || clamav::scan(copy.path(), &signatures))
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| e.to_string())?;
            let data = match &found {
                Some(name) => json!({ "infected": true, "infected_with": name }),
                None => json!({ "infected": false }),
            };
            Ok(Outcome {
                infected: found.is_some(),
                ..outcome(data, clamav::VERSION)
            })
        }
        Request::Labels | Request::ModerationLabels => {
            let readable = file
                .image
                .as_ref()
                .is_some_and(|i| matches!(i.format.as_str(), "JPEG" | "PNG"));
            if !readable {
                return Err("Rekognition reads JPEG and PNG images only".into());
            }
            let addon = request.addon();
            let labels = match fixture(addon).await? {
                Some(Value::Array(labels)) => labels,
                _ => Vec::new(),
            };
            let data = if addon == Addon::Labels {
                rekognition::labels_data(labels)
            } else {
                rekognition::moderation_data(labels)
            };
            Ok(outcome(data, rekognition::VERSION))
        }
        Request::RemoveBg(params) => {
            let bytes = state
                .blobs
                .read_all(&file.blob)
                .await
                .map_err(|e| e.to_string())?;
            let p = params.clone();
            let png = tokio::task::spawn_blocking(move || remove_bg::run(&bytes, &p))
                .await
                .map_err(|e| e.to_string())??;
            let mut writer = state.blobs.writer().await.map_err(|e| e.to_string())?;
            writer.write(&png).await.map_err(|e| e.to_string())?;
            let blob = writer.finish().await.map_err(|e| e.to_string())?;
            let stem = file
                .original_filename
                .rsplit_once('.')
                .map_or(file.original_filename.as_str(), |(stem, _)| stem);
            let new_file = NewFile {
                uuid: Uuid::new_v4(),
                project: file.project.clone(),
                blob,
                filename: format!("{stem}.png"),
                announced_type: None,
                metadata: Map::new(),
                tags: Vec::new(),
                store: store_new,
                uploaded_us: state.clock.unique_us(),
            }
            .into_record();
            let mut data = Map::new();
            if params.type_level.is_some() {
                let declared = fixture(Addon::RemoveBg)
                    .await?
                    .and_then(|d| d.get("foreground_type").cloned());
                let given = params.foreground.clone().filter(|t| t != "auto");
                let kind = declared.unwrap_or_else(|| given.unwrap_or("other".into()).into());
                data.insert("foreground_type".into(), kind);
            }
            Ok(Outcome {
                result: Some(json!({ "file_id": new_file.uuid.to_string() })),
                new_file: Some(new_file),
                ..outcome(Value::Object(data), remove_bg::VERSION)
            })
        }
    }
}

/// The status answer of the project's run of `addon` with this id: `unknown` when there is
/// none; a run in progress past [`STALE_US`] is `error`.
pub async fn status(
    state: &AppState,
    project: &str,
    addon: Addon,
    request_id: Uuid,
) -> Result<Value, StoreError> {
    let Some(run) = state
        .store
        .addon_run(project, addon.name(), request_id)
        .await?
    else {
        return Ok(json!({ "status": "unknown" }));
    };
    let stale = run.status == RunStatus::InProgress
        && run.updated_us < state.clock.now_us().saturating_sub(STALE_US);
    let status = if stale { RunStatus::Error } else { run.status };
    let mut o = Map::new();
    o.insert("status".into(), status.name().into());
    if let (RunStatus::Done, Some(result)) = (status, run.result) {
        o.insert("result".into(), result);
    }
    Ok(Value::Object(o))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_per_addon() {
        assert_eq!(Request::parse(Addon::Labels, None), Ok(Request::Labels));
        assert_eq!(
            Request::parse(Addon::ClamAv, Some(&json!({"purge_infected": true}))),
            Ok(Request::ClamAv {
                purge_infected: true
            })
        );
        assert_eq!(
            Request::parse(Addon::ClamAv, Some(&json!({"purge_infected": "yes"}))),
            Err("`purge_infected` must be a boolean.".into())
        );
        assert_eq!(
            Request::parse(Addon::ModerationLabels, Some(&json!({"x": 1}))),
            Err("Unknown parameter `x`.".into())
        );
        assert_eq!(
            Request::parse(Addon::RemoveBg, Some(&json!([]))),
            Err("`params` must be a JSON object.".into())
        );
        for a in Addon::ALL {
            assert_eq!(Addon::parse(a.name()), Some(a));
        }
        assert_eq!(Addon::parse("nope"), None);
    }
}
