//! The variant cache: processed results by (file bytes, normalised operations, negotiated
//! format), bounded in bytes with least-recently-used eviction. Concurrent first requests
//! for one variant share one computation (single-flight), and computations run on
//! blocking threads behind a semaphore as wide as the machine, so image work never
//! starves the APIs' async workers.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

use axum::body::Bytes;
use tokio::sync::{OnceCell, Semaphore};

use super::error::TransformError;
use super::execute::{OutputFormat, Processed};

/// A variant's key: SHA-256 of its inputs.
pub type Key = [u8; 32];

/// A processed result, shared between requests.
#[derive(Debug)]
pub struct Variant {
    /// The body.
    pub bytes: Bytes,
    /// Its image format, `None` for JSON answers.
    pub format: Option<OutputFormat>,
    /// Width of the processed image.
    pub width: u32,
    /// Height of the processed image.
    pub height: u32,
    /// The strong ETag (quoted).
    pub etag: String,
}

type Shared = Result<Arc<Variant>, TransformError>;

/// Least-recently-used store bounded in bytes.
#[derive(Default)]
struct Lru {
    entries: HashMap<Key, (Arc<Variant>, u64)>,
    order: BTreeMap<u64, Key>,
    tick: u64,
    bytes: u64,
}

impl Lru {
    fn get(&mut self, key: &Key) -> Option<Arc<Variant>> {
        self.tick += 1;
        let tick = self.tick;
        let (variant, used) = self.entries.get_mut(key)?;
        self.order.remove(used);
        *used = tick;
        self.order.insert(tick, *key);
        Some(variant.clone())
    }

    fn insert(&mut self, key: Key, variant: Arc<Variant>, capacity: u64) {
        let size = variant.bytes.len() as u64;
        if size > capacity || self.entries.contains_key(&key) {
            return;
        }
        while self.bytes + size > capacity {
            let Some((_, oldest)) = self.order.pop_first() else {
                break;
            };
            if let Some((v, _)) = self.entries.remove(&oldest) {
                self.bytes -= v.bytes.len() as u64;
            }
        }
        self.tick += 1;
        self.order.insert(self.tick, key);
        self.entries.insert(key, (variant, self.tick));
        self.bytes += size;
    }
}

/// The cache, its in-flight computations and the worker bound.
pub struct Variants {
    lru: Mutex<Lru>,
    inflight: Mutex<HashMap<Key, Arc<OnceCell<Shared>>>>,
    workers: Arc<Semaphore>,
    capacity: u64,
}

impl Variants {
    /// A cache of at most `capacity` bytes with `workers` concurrent computations.
    pub fn new(capacity: u64, workers: usize) -> Self {
        Variants {
            lru: Mutex::default(),
            inflight: Mutex::default(),
            workers: Arc::new(Semaphore::new(workers.max(1))),
            capacity,
        }
    }

    /// Bytes held.
    pub fn held_bytes(&self) -> u64 {
        self.lru
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .bytes
    }

    /// The cached variant, or the result of `compute` run once however many ask at once.
    pub async fn get_or_compute<F>(&self, key: Key, compute: F) -> Shared
    where
        F: FnOnce() -> Result<Processed, TransformError> + Send + 'static,
    {
        if let Some(v) = self
            .lru
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
        {
            return Ok(v);
        }
        let cell = self
            .inflight
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(key)
            .or_default()
            .clone();
        let result = cell
            .get_or_init(|| async {
                let permit = self.workers.clone().acquire_owned().await;
                let joined = tokio::task::spawn_blocking(move || {
                    let _permit = permit;
                    compute()
                })
                .await;
                let processed = joined.map_err(|e| TransformError::Internal(e.to_string()))??;
                let variant = Arc::new(Variant {
                    etag: format!("\"{}\"", hex::encode(&key[..20])),
                    bytes: Bytes::from(processed.bytes),
                    format: processed.format,
                    width: processed.width,
                    height: processed.height,
                });
                self.lru
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(key, variant.clone(), self.capacity);
                Ok(variant)
            })
            .await
            .clone();
        let mut inflight = self.inflight.lock().unwrap_or_else(PoisonError::into_inner);
        if inflight.get(&key).is_some_and(|c| Arc::ptr_eq(c, &cell)) {
            inflight.remove(&key);
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn processed(len: usize) -> Result<Processed, TransformError> {
        Ok(Processed {
            bytes: vec![7; len],
            format: Some(OutputFormat::Png),
            width: 1,
            height: 1,
        })
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_first_requests_compute_once() {
        let cache = Arc::new(Variants::new(1 << 20, 2));
        let runs = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..16 {
            let (cache, runs) = (cache.clone(), runs.clone());
            tasks.push(tokio::spawn(async move {
                cache
                    .get_or_compute([1; 32], move || {
                        runs.fetch_add(1, Ordering::SeqCst);
                        std::thread::sleep(std::time::Duration::from_millis(50));
                        processed(10)
                    })
                    .await
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap().unwrap().bytes.len(), 10);
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn evicts_least_recently_used() {
        let cache = Variants::new(25, 1);
        for k in 0..3u8 {
            cache
                .get_or_compute([k; 32], || processed(10))
                .await
                .unwrap();
        }
        assert_eq!(cache.held_bytes(), 20);
        // Key 0 was evicted: computing it again runs the closure.
        let ran = Arc::new(AtomicUsize::new(0));
        let r = ran.clone();
        cache
            .get_or_compute([0; 32], move || {
                r.fetch_add(1, Ordering::SeqCst);
                processed(10)
            })
            .await
            .unwrap();
        assert_eq!(ran.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn errors_are_shared_not_kept() {
        let cache = Variants::new(100, 1);
        let e = cache
            .get_or_compute([9; 32], || Err(TransformError::Undecodable))
            .await;
        assert_eq!(e.unwrap_err(), TransformError::Undecodable);
        assert!(cache.get_or_compute([9; 32], || processed(1)).await.is_ok());
    }
}
