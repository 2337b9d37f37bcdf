//! Uploadcare emulator: the Upload, REST and CDN APIs over one store.
//!
//! [`app`] builds the router from an [`AppState`]; [`serve`] runs it on a listener until a
//! shutdown future resolves. `main.rs` only loads the configuration and calls these.

pub mod addons;
pub mod admin;
pub mod auth;
pub mod blobs;
pub mod cdn;
pub mod config;
pub mod console;
pub mod conversions;
pub mod domain;
pub mod error;
pub mod faults;
pub mod observe;
pub mod projects;
pub mod record;
pub mod replicas;
pub mod rest_api;
pub mod routing;
pub mod seed;
pub mod server;
pub mod storages;
pub mod store;
pub mod sweep;
pub mod upload_api;
pub mod urls;
pub mod webhooks;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::http::Uri;
use axum::{middleware, Router};
use tokio::net::TcpListener;
use tower_http::cors::{Any, CorsLayer};

use crate::blobs::Blobs;
use crate::config::{Apis, Config};
use crate::domain::clock::Clock;
use crate::error::StoreError;
use crate::faults::Faults;
use crate::projects::Projects;
use crate::routing::Api;
use crate::store::Store;

/// Everything a handler needs, shared behind an `Arc`.
pub struct AppState {
    /// The database.
    pub store: Arc<dyn Store>,
    /// File bytes.
    pub blobs: Blobs,
    /// The emulator's clock.
    pub clock: Clock,
    /// Projects, cached.
    pub projects: Projects,
    /// The configuration.
    pub config: Config,
    /// Faults waiting to be injected.
    pub faults: Faults,
    /// This process among the replicas sharing the store (src/replicas.rs).
    pub replica: replicas::Replica,
    /// Processed CDN images (src/cdn/transform/cache.rs).
    pub variants: cdn::transform::cache::Variants,
    /// The webhook delivery worker's handle.
    pub webhooks: webhooks::worker::Webhooks,
    /// The last requests, for the console (in memory).
    pub journal: console::journal::Journal,
    /// Bodies of `GET /groups/` pages, checked against the store's group version.
    pub rendered_groups: rest_api::groups::RenderedPages,
}

impl AppState {
    /// Opens the store and the blob directory, writes the configured projects and loads
    /// the seed folder, if any. The error says what failed, for the operator.
    pub async fn open(config: Config) -> Result<Arc<Self>, String> {
        let failed = |what: &str, e: StoreError| format!("{what}: {e}");
        if let Some(path) = &config.record_answers {
            record::Recorder::open(path)?;
        }
        let kept = &config.persistence;
        tokio::fs::create_dir_all(&kept.data_dir)
            .await
            .map_err(|e| format!("cannot create data dir {}: {e}", kept.data_dir.display()))?;
        let store = store::open(&kept.database_url)
            .await
            .map_err(|e| failed("cannot open the database", e))?;
        let blobs = Blobs::open(kept.blob_store.as_ref(), &kept.data_dir)
            .await
            .map_err(|e| failed("cannot open the blob store", e))?;
        let projects = Projects::new(store.clone());
        for p in &config.projects {
            projects
                .upsert(p)
                .await
                .map_err(|e| failed("cannot write projects", e))?;
        }
        let config_variant_bytes = config.variant_cache_bytes;
        let state = Arc::new(Self {
            store,
            blobs,
            clock: Clock::default(),
            projects,
            config,
            faults: Faults::default(),
            replica: Default::default(),
            variants: cdn::transform::cache::Variants::new(
                config_variant_bytes,
                std::thread::available_parallelism().map_or(2, |n| n.get()),
            ),
            webhooks: Default::default(),
            journal: Default::default(),
            rendered_groups: Default::default(),
        });
        replicas::join(&state)
            .await
            .map_err(|e| failed("cannot join the replicas", e))?;
        replicas::spawn(state.clone());
        webhooks::worker::spawn(state.clone());
        // Bytes a crash left without a row go, in the background (src/sweep.rs).
        let sweeper = state.clone();
        tokio::spawn(async move {
            match sweep::orphans(sweeper.store.as_ref(), &sweeper.blobs).await {
                Ok(0) => {}
                Ok(removed) => tracing::info!(removed, "swept orphan blobs"),
                Err(e) => tracing::warn!(error = %e, "orphan blob sweep failed"),
            }
        });
        if let Some(dir) = &state.config.seed_dir {
            let (files, groups) = seed::load(&state, dir).await?;
            tracing::info!(files, groups, dir = %dir.display(), "seeded fixtures");
        }
        Ok(state)
    }

    /// Retention of unstored files in microseconds.
    pub fn retention_us(&self) -> i64 {
        i64::try_from(self.config.retention_hours)
            .unwrap_or(i64::MAX / 3_600_000_000)
            .saturating_mul(3_600_000_000)
    }
}

/// The whole application: all three APIs on one router.
pub fn app(state: Arc<AppState>) -> Router {
    app_for(state, Apis::All)
}

/// The application for one listener: the APIs it serves, plus the admin routes.
pub fn app_for(state: Arc<AppState>, apis: Apis) -> Router {
    // Browsers upload straight to the Upload API and read the CDN, as production allows.
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods(Any)
        .allow_headers(Any)
        .max_age(Duration::from_secs(86400));
    let serves = move |api: Apis| apis == Apis::All || apis == api;
    let mut router = Router::new().merge(admin::router(state.clone()));
    if serves(Apis::Upload) {
        router = router.merge(upload_api::router());
    }
    if serves(Apis::Rest) {
        router = router.merge(rest_api::router());
    }
    if serves(Apis::Cdn) {
        router = router.merge(cdn::router());
    }
    // Paths no route matched (the CDN's catch-all takes them first where it is served).
    let router = router
        .fallback(move |uri: Uri| async move {
            let api = Api::of(uri.path());
            let served = match api {
                Api::Upload => serves(Apis::Upload),
                Api::Rest => serves(Apis::Rest),
                Api::Cdn => serves(Apis::Cdn),
                Api::Admin => true,
            };
            if served {
                routing::unknown_path(uri.path())
            } else {
                routing::not_served()
            }
        })
        .layer(middleware::from_fn_with_state(
            state.clone(),
            faults::inject,
        ))
        .layer(server::body_timeout(state.config.client_timeout))
        .layer(cors)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            observe::observe_requests,
        ));
    // Contract checks: record every answer when asked to (outermost, so it sees what the
    // client sees).
    let router = match &state.config.record_answers {
        Some(path) => match record::Recorder::open(path) {
            Ok(recorder) => router.layer(middleware::from_fn_with_state(
                Arc::new(recorder),
                record::record,
            )),
            Err(e) => {
                tracing::error!(error = %e, "answers are not recorded");
                router
            }
        },
        None => router,
    };
    router.with_state(state)
}

/// Serves `app` on `listener` until `shutdown` resolves, finishing in-flight requests
/// (see [`server`] for the limits on slow clients).
pub async fn serve(
    state: Arc<AppState>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_apis(state, listener, Apis::All, shutdown).await
}

/// Serves the given APIs on `listener` until `shutdown` resolves.
pub async fn serve_apis(
    state: Arc<AppState>,
    listener: TcpListener,
    apis: Apis,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let header_timeout = state.config.client_timeout;
    server::serve(listener, app_for(state, apis), header_timeout, shutdown).await
}
