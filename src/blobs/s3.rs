//! The S3 blob store and S3 custom storages, through the `object_store` crate: path-style
//! requests to the configured endpoint, credentials from the standard `AWS_*` variables.

use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use futures_util::{StreamExt, TryStreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::prefix::PrefixStore;
use object_store::{ClientOptions, GetOptions, GetRange, ObjectStore};

use super::BlobReader;
use crate::error::StoreError;

/// A bucket (and a key prefix in it) on an S3-compatible service:
/// `s3://bucket[/prefix]?endpoint=http://host:port&region=…`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct S3Location {
    /// The bucket.
    pub bucket: String,
    /// Keys are written under this prefix, if any.
    pub prefix: Option<String>,
    /// The service's URL (default: AWS's, or `AWS_ENDPOINT`).
    pub endpoint: Option<String>,
    /// The region (default: `AWS_DEFAULT_REGION`, else `us-east-1`).
    pub region: Option<String>,
}

impl S3Location {
    /// Reads an `s3://` URL; the error says what is wrong.
    pub fn from_url(url: &url::Url) -> Result<Self, String> {
        let bucket = url
            .host_str()
            .filter(|b| !b.is_empty())
            .ok_or_else(|| "an s3:// URL names a bucket: s3://bucket?endpoint=…".to_owned())?
            .to_owned();
        let prefix = url.path().trim_matches('/');
        let mut location = Self {
            bucket,
            prefix: (!prefix.is_empty()).then(|| prefix.to_owned()),
            endpoint: None,
            region: None,
        };
        for (name, value) in url.query_pairs() {
            match &*name {
                "endpoint" => {
                    let endpoint = url::Url::parse(&value)
                        .map_err(|e| format!("endpoint {value:?} is not a URL ({e})"))?;
                    if !matches!(endpoint.scheme(), "http" | "https") {
                        return Err(format!("endpoint {value:?} is not an http(s) URL"));
                    }
                    location.endpoint = Some(value.trim_end_matches('/').to_owned());
                }
                "region" => location.region = Some(value.into_owned()),
                other => {
                    return Err(format!(
                        "unknown parameter {other:?} (s3:// URLs take endpoint and region)"
                    ))
                }
            }
        }
        Ok(location)
    }

    /// A client for the bucket; `public` objects are written with the `public-read` ACL.
    fn build(&self, public: bool) -> Result<Arc<dyn ObjectStore>, StoreError> {
        // No limit on a whole request: a CDN download streams an object at the pace of its
        // client, for as long as that takes (object_store's default would cut it at 30 s).
        // Connecting keeps its limit.
        let mut options = ClientOptions::new().with_timeout_disabled();
        if public {
            let mut headers = axum::http::HeaderMap::new();
            headers.insert(
                "x-amz-acl",
                axum::http::HeaderValue::from_static("public-read"),
            );
            options = options.with_default_headers(headers);
        }
        let mut builder = AmazonS3Builder::from_env()
            .with_client_options(options)
            .with_bucket_name(&self.bucket)
            .with_virtual_hosted_style_request(false);
        if let Some(endpoint) = &self.endpoint {
            builder = builder
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http:"));
        }
        let region = self
            .region
            .clone()
            .or_else(|| std::env::var("AWS_DEFAULT_REGION").ok())
            .or_else(|| std::env::var("AWS_REGION").ok())
            .unwrap_or_else(|| "us-east-1".to_owned());
        let store = builder.with_region(region).build().map_err(error)?;
        Ok(match &self.prefix {
            Some(prefix) => Arc::new(PrefixStore::new(store, prefix.as_str())),
            None => Arc::new(store),
        })
    }

    /// A client for the blob store.
    pub fn open(&self) -> Result<Arc<dyn ObjectStore>, StoreError> {
        self.build(false)
    }

    /// Writes `bytes` under `key` unless an object is there already (custom storages:
    /// `remote_copy`); `public` objects get the `public-read` ACL.
    pub async fn put_new(
        &self,
        key: &str,
        bytes: Vec<u8>,
        public: bool,
    ) -> Result<crate::storages::Put, StoreError> {
        let store = self.build(false)?;
        let path = object_store::path::Path::from(key);
        match store.head(&path).await {
            Ok(_) => return Ok(crate::storages::Put::Exists),
            Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(error(e)),
        }
        if public {
            match self.build(true)?.put(&path, bytes.clone().into()).await {
                Ok(_) => return Ok(crate::storages::Put::Created),
                // Buckets with ACLs disabled (AWS's default since 2023) refuse any ACL: the
                // object is written with the bucket's own policy instead.
                Err(e) if e.to_string().contains("AccessControlListNotSupported") => {
                    tracing::info!(bucket = %self.bucket, "bucket refuses ACLs: copy written without public-read");
                }
                Err(e) => return Err(error(e)),
            }
        }
        store.put(&path, bytes.into()).await.map_err(error)?;
        Ok(crate::storages::Put::Created)
    }
}

impl std::fmt::Display for S3Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "s3://{}", self.bucket)?;
        if let Some(prefix) = &self.prefix {
            write!(f, "/{prefix}")?;
        }
        let mut sep = '?';
        if let Some(endpoint) = &self.endpoint {
            write!(f, "{sep}endpoint={endpoint}")?;
            sep = '&';
        }
        if let Some(region) = &self.region {
            write!(f, "{sep}region={region}")?;
        }
        Ok(())
    }
}

/// An `object_store` failure as a store failure (for the log; no credentials in it).
pub fn error(e: object_store::Error) -> StoreError {
    StoreError::Internal(format!("blob store: {e}"))
}

/// The object at `key` (or `range` of it), streamed.
pub async fn read(
    store: &Arc<dyn ObjectStore>,
    key: &str,
    range: Option<Range<u64>>,
) -> Result<BlobReader, StoreError> {
    let options = GetOptions {
        range: range.map(GetRange::Bounded),
        ..GetOptions::default()
    };
    let got = store.get_opts(&key.into(), options).await.map_err(error)?;
    let stream = got.into_stream().map_err(std::io::Error::other);
    Ok(Box::pin(tokio_util::io::StreamReader::new(stream.boxed())))
}

/// Uploads the file at `path` to `key`: one PUT when small, a multipart upload otherwise.
pub async fn upload_file(
    store: &Arc<dyn ObjectStore>,
    key: &str,
    path: &Path,
) -> Result<(), StoreError> {
    use tokio::io::AsyncReadExt;
    let mut file = tokio::fs::File::open(path).await?;
    let mut upload = Upload::new(store.clone(), key);
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let read = match file.read(&mut buf).await {
            Ok(read) => read,
            Err(e) => {
                upload.abort().await;
                return Err(e.into());
            }
        };
        if read == 0 {
            return upload.finish().await;
        }
        if let Err(e) = upload.write(&buf[..read]).await {
            upload.abort().await;
            return Err(e);
        }
    }
}

/// An object being written in order: kept in memory up to [`super::PIECE`] bytes and put with
/// one request, or sent as a multipart upload of pieces that size, at most
/// [`super::PIECES_IN_FLIGHT`] at once. The object appears only when [`Upload::finish`]ed.
pub struct Upload {
    store: Arc<dyn ObjectStore>,
    key: object_store::path::Path,
    state: UploadState,
}

enum UploadState {
    Buffer(Vec<u8>),
    Multipart(object_store::WriteMultipart),
}

impl Upload {
    /// Starts writing `key`.
    pub fn new(store: Arc<dyn ObjectStore>, key: &str) -> Self {
        Self {
            store,
            key: key.into(),
            state: UploadState::Buffer(Vec::new()),
        }
    }

    /// Appends a chunk.
    pub async fn write(&mut self, chunk: &[u8]) -> Result<(), StoreError> {
        match &mut self.state {
            UploadState::Buffer(buf) if buf.len() + chunk.len() <= super::PIECE => {
                buf.extend_from_slice(chunk);
            }
            UploadState::Buffer(buf) => {
                let first = std::mem::take(buf);
                let upload = self.store.put_multipart(&self.key).await.map_err(error)?;
                let mut writer =
                    object_store::WriteMultipart::new_with_chunk_size(upload, super::PIECE);
                writer.write(&first);
                writer.write(chunk);
                self.state = UploadState::Multipart(writer);
            }
            UploadState::Multipart(writer) => {
                writer
                    .wait_for_capacity(super::PIECES_IN_FLIGHT)
                    .await
                    .map_err(error)?;
                writer.write(chunk);
            }
        }
        Ok(())
    }

    /// Makes the object visible under its key.
    pub async fn finish(self) -> Result<(), StoreError> {
        match self.state {
            UploadState::Buffer(buf) => {
                self.store.put(&self.key, buf.into()).await.map_err(error)?;
            }
            UploadState::Multipart(writer) => {
                writer.finish().await.map_err(error)?;
            }
        }
        Ok(())
    }

    /// Gives up: nothing appears under the key, and a started multipart upload is aborted.
    pub async fn abort(self) {
        if let UploadState::Multipart(writer) = self.state {
            let _ = writer.abort().await;
        }
    }
}
