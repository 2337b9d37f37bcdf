//! Projects by public key, cached in memory in front of the store (keys are read on every
//! request; they change only when configured or created). With replicas, a change through
//! the admin API drops every replica's cache before it answers (`crate::replicas`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use crate::config::ProjectConfig;
use crate::error::StoreError;
use crate::store::{Project, Store};

/// The project directory.
pub struct Projects {
    store: Arc<dyn Store>,
    cache: RwLock<HashMap<String, Project>>,
    /// Bumped by [`Projects::forget_all`]: a read that started before is not cached.
    generation: AtomicU64,
}

impl Projects {
    /// A directory over `store` with an empty cache.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            cache: RwLock::new(HashMap::new()),
            generation: AtomicU64::new(0),
        }
    }

    /// Creates or updates a project.
    pub async fn upsert(&self, p: &ProjectConfig) -> Result<(), StoreError> {
        let project = Project {
            pub_key: p.pub_key.clone(),
            secret_key: p.secret_key.clone(),
            name: p.name.clone(),
            autostore: p.autostore,
            signed_uploads: p.signed_uploads,
        };
        self.store.upsert_project(&project).await?;
        self.cache
            .write()
            .map_err(|_| StoreError::Internal("project cache poisoned".into()))?
            .insert(project.pub_key.clone(), project);
        Ok(())
    }

    /// The project with this public key, if any.
    pub async fn get(&self, pub_key: &str) -> Result<Option<Project>, StoreError> {
        if let Some(p) = self
            .cache
            .read()
            .map_err(|_| StoreError::Internal("project cache poisoned".into()))?
            .get(pub_key)
        {
            return Ok(Some(p.clone()));
        }
        let generation = self.generation.load(Ordering::Acquire);
        let found = self.store.project(pub_key).await?;
        if let Some(p) = &found {
            let mut cache = self
                .cache
                .write()
                .map_err(|_| StoreError::Internal("project cache poisoned".into()))?;
            // A change another replica made while this read ran is not cached over.
            if self.generation.load(Ordering::Acquire) == generation {
                cache.insert(p.pub_key.clone(), p.clone());
            }
        }
        Ok(found)
    }

    /// Drops every cached project (another replica may have changed one).
    pub fn forget_all(&self) {
        let mut cache = self.cache.write().unwrap_or_else(|p| p.into_inner());
        self.generation.fetch_add(1, Ordering::AcqRel);
        cache.clear();
    }
}
