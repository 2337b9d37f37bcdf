//! `--seed DIR`: loads fixtures at start-up so a test suite begins from known uuids.
//!
//! Every regular file in DIR (except `seed.toml`) is uploaded to the first configured
//! project with a uuid derived from its name (UUID v5 of `<pub_key>/<file name>`), stored.
//! An optional `seed.toml` lists groups: `[[groups]] uuid = "…", files = ["a.png",
//! "b.png/-/resize/x800/"]` (members by file name, optionally with CDN operations).
//! Seeding is idempotent: what exists already is left as it is.

use std::path::Path;

use serde::Deserialize;
use tokio::io::AsyncReadExt;
use uuid::Uuid;

use crate::domain::content::detect;
use crate::error::StoreError;
use crate::store::{FileRecord, NewGroup};
use crate::AppState;

/// The manifest's shape.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    #[serde(default)]
    groups: Vec<GroupSeed>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupSeed {
    uuid: Uuid,
    files: Vec<String>,
}

/// The uuid a seeded file gets.
pub fn seeded_uuid(pub_key: &str, file_name: &str) -> Uuid {
    Uuid::new_v5(
        &Uuid::NAMESPACE_URL,
        format!("{pub_key}/{file_name}").as_bytes(),
    )
}

/// Loads the fixtures of `dir` into the first configured project.
pub async fn load(state: &AppState, dir: &Path) -> Result<(usize, usize), String> {
    let project = state
        .config
        .projects
        .first()
        .map(|p| p.pub_key.clone())
        .ok_or("no project to seed")?;
    load_into(state, &project, dir).await
}

/// Loads the fixtures of `dir` into `project`; returns (files, groups) created.
pub async fn load_into(
    state: &AppState,
    project: &str,
    dir: &Path,
) -> Result<(usize, usize), String> {
    let project = project.to_owned();
    let manifest: Manifest = match tokio::fs::read_to_string(dir.join("seed.toml")).await {
        Ok(text) => toml::from_str(&text).map_err(|e| format!("seed.toml: {e}"))?,
        Err(_) => Manifest::default(),
    };
    let mut entries = tokio::fs::read_dir(dir)
        .await
        .map_err(|e| format!("cannot read seed dir {}: {e}", dir.display()))?;
    let mut names = Vec::new();
    while let Some(entry) = entries.next_entry().await.map_err(|e| e.to_string())? {
        let is_file = entry
            .file_type()
            .await
            .map(|t| t.is_file())
            .unwrap_or(false);
        let name = entry.file_name().to_string_lossy().into_owned();
        if is_file && name != "seed.toml" {
            names.push(name);
        }
    }
    names.sort();
    let mut files = 0;
    for name in &names {
        let uuid = seeded_uuid(&project, name);
        if state
            .store
            .file(Some(&project), uuid)
            .await
            .map_err(|e| e.to_string())?
            .is_some()
        {
            continue;
        }
        seed_file(state, &project, uuid, &dir.join(name), name)
            .await
            .map_err(|e| format!("seeding {name}: {e}"))?;
        files += 1;
    }
    let mut groups = 0;
    for g in manifest.groups {
        if state
            .store
            .group(Some(&project), g.uuid)
            .await
            .map_err(|e| e.to_string())?
            .is_some()
        {
            continue;
        }
        let mut members = Vec::new();
        for m in &g.files {
            let (name, effects) = match m.split_once("/-/") {
                Some((name, ops)) => (name, format!("{}/", ops.trim_end_matches('/'))),
                None => (m.trim_end_matches('/'), String::new()),
            };
            if !names.iter().any(|n| n == name) {
                return Err(format!(
                    "seed.toml: group {} names unknown file {name:?}",
                    g.uuid
                ));
            }
            members.push((seeded_uuid(&project, name), effects));
        }
        if members.is_empty() || members.len() > crate::domain::groups::MAX_MEMBERS {
            return Err(format!("seed.toml: group {} needs 1 to 1000 files", g.uuid));
        }
        let group = NewGroup {
            uuid: g.uuid,
            project: project.clone(),
            members,
        };
        while !state
            .store
            .insert_group(&group, state.clock.unique_us())
            .await
            .map_err(|e| e.to_string())?
        {}
        groups += 1;
    }
    Ok((files, groups))
}

async fn seed_file(
    state: &AppState,
    project: &str,
    uuid: Uuid,
    path: &Path,
    name: &str,
) -> Result<(), StoreError> {
    let mut source = tokio::fs::File::open(path).await?;
    let mut writer = state.blobs.writer().await?;
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = source.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        writer.write(&buf[..n]).await?;
    }
    let blob = writer.finish().await?;
    let detected = detect(&blob.head);
    let now = state.clock.unique_us();
    state
        .store
        .insert_file(&FileRecord {
            uuid,
            project: project.to_owned(),
            size: i64::try_from(blob.size).unwrap_or(i64::MAX),
            blob: blob.hash,
            original_filename: name.to_owned(),
            mime_type: detected.mime_type,
            image: detected.image,
            metadata: serde_json::Map::new(),
            tags: Vec::new(),
            uploaded_us: now,
            stored_us: Some(now),
            removed_us: None,
        })
        .await
}
