//! On-the-fly image processing of the CDN: [`ops`] parses Uploadcare's operation grammar
//! into a typed [`Pipeline`], [`execute`] runs it with pure-Rust codecs (`image`,
//! `jpeg-encoder`) and SIMD resizing (`fast_image_resize`), and [`cache`] keeps the
//! results. Approximations are named where they happen and listed in COMPATIBILITY.md.

pub mod cache;
pub mod color;
pub mod error;
pub mod execute;
pub mod ops;

use std::sync::Arc;

use sha2::{Digest, Sha256};

use self::cache::Variant;
pub use self::error::TransformError;
use self::execute::Context;
pub use self::ops::Pipeline;
use crate::store::FileRecord;
use crate::AppState;

/// Largest file the CDN reads into memory to process.
const MAX_SOURCE_BYTES: i64 = 200 * 1024 * 1024;

/// The processed variant of `file` for `pipeline`, from the cache or computed once.
pub async fn variant(
    state: &AppState,
    file: &FileRecord,
    pipeline: &Pipeline,
    accepts_webp: bool,
) -> Result<Arc<Variant>, TransformError> {
    if file.image.is_none() || file.size > MAX_SOURCE_BYTES {
        return Err(TransformError::NotAnImage);
    }
    let ctx = Context {
        accepts_webp: accepts_webp && pipeline.format == Some(ops::FormatRequest::Auto),
    };
    let mut hasher = Sha256::new();
    hasher.update(file.blob.as_bytes());
    hasher.update(b"\0");
    hasher.update(pipeline.to_string().as_bytes());
    hasher.update(if ctx.accepts_webp {
        b"\0webp"
    } else {
        b"\0----"
    });
    let key: cache::Key = hasher.finalize().into();
    let blobs = state.blobs.clone();
    let hash = file.blob.clone();
    let runtime = tokio::runtime::Handle::current();
    let pipeline = pipeline.clone();
    state
        .variants
        .get_or_compute(key, move || {
            // On the blocking pool, off the runtime's workers: waiting here is allowed.
            let bytes = runtime
                .block_on(blobs.read_all(&hash))
                .map_err(|e| TransformError::Internal(e.to_string()))?;
            execute::run(&bytes, &pipeline, ctx)
        })
        .await
}
