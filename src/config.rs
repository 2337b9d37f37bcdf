//! One typed configuration: defaults, then the TOML file, then `UC_*` environment variables,
//! then command-line flags (later layers win). Loaded once, validated once.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use serde::Deserialize;

use crate::blobs::s3::S3Location;
use crate::blobs::BlobStoreUrl;

/// Command line and environment (clap reads each flag's `UC_*` variable when the flag is absent).
#[derive(Debug, Default, Parser)]
#[command(
    name = "uploadcare-emulator",
    version,
    about = "Self-hosted emulator of Uploadcare's Upload, REST and CDN APIs"
)]
pub struct Args {
    /// TOML configuration file (see config/emulator.example.toml).
    #[arg(long, env = "UC_CONFIG")]
    pub config: Option<PathBuf>,
    /// Address to listen on for all three APIs [default: 127.0.0.1:8000].
    #[arg(long, env = "UC_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// An extra listener serving only the Upload API.
    #[arg(long, env = "UC_UPLOAD_LISTEN")]
    pub upload_listen: Option<SocketAddr>,
    /// An extra listener serving only the REST API.
    #[arg(long, env = "UC_API_LISTEN")]
    pub api_listen: Option<SocketAddr>,
    /// An extra listener serving only the CDN.
    #[arg(long, env = "UC_CDN_LISTEN")]
    pub cdn_listen: Option<SocketAddr>,
    /// Database URL: sqlite://FILE or postgres://… [default: sqlite://<data dir>/emulator.db].
    #[arg(long, env = "UC_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Directory for file bytes and the default SQLite database [default: ./uploadcare-data].
    #[arg(long, env = "UC_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Where file bytes live: file:///dir or s3://bucket[/prefix]?endpoint=…&region=…
    /// (credentials from AWS_*) [default: the data directory].
    #[arg(long, env = "UC_BLOB_STORE")]
    pub blob_store: Option<String>,
    /// A project as PUB_KEY:SECRET_KEY; repeatable (UC_PROJECTS: comma-separated).
    #[arg(long = "project", env = "UC_PROJECTS", value_delimiter = ',')]
    pub projects: Vec<String>,
    /// Public base URL of the Upload API written into answers [default: the request's host].
    #[arg(long, env = "UC_UPLOAD_BASE_URL")]
    pub upload_base_url: Option<String>,
    /// Public base URL of the REST API written into answers [default: the request's host].
    #[arg(long, env = "UC_API_BASE_URL")]
    pub api_base_url: Option<String>,
    /// Public base URL of the CDN written into answers [default: the request's host].
    #[arg(long, env = "UC_CDN_BASE_URL")]
    pub cdn_base_url: Option<String>,
    /// Log format: text or json [default: text].
    #[arg(long, env = "UC_LOG_FORMAT")]
    pub log_format: Option<String>,
    /// Hours an unstored file lives [default: 24].
    #[arg(long, env = "UC_RETENTION_HOURS")]
    pub retention_hours: Option<u64>,
    /// Refuse Simple REST auth over plain HTTP, as production does [default: false].
    #[arg(long, env = "UC_SIMPLE_AUTH_HTTPS_ONLY")]
    pub simple_auth_https_only: Option<bool>,
    /// Token guarding the admin API under /_emulator/ (unset: the admin API is open).
    #[arg(long, env = "UC_ADMIN_TOKEN")]
    pub admin_token: Option<String>,
    /// Seconds a client may take to send its header block, or pause inside a request
    /// body, before the connection is dropped [default: 60, nginx's default].
    #[arg(long, env = "UC_CLIENT_TIMEOUT_SECS")]
    pub client_timeout_secs: Option<u64>,
    /// Load every file of this folder (and groups from its seed.toml) at start-up.
    #[arg(long, env = "UC_SEED_DIR")]
    pub seed: Option<PathBuf>,
    /// Probe a running emulator's readiness at the configured listen address and exit
    /// 0 when ready (for container health checks).
    #[arg(long)]
    pub check_ready: bool,
    /// Append one JSON line per answer to this file, for contract checks (see src/record.rs).
    #[arg(long, env = "UC_RECORD_ANSWERS")]
    pub record_answers: Option<PathBuf>,
    /// Megabytes of processed CDN images kept in memory [default: 128].
    #[arg(long, env = "UC_VARIANT_CACHE_MB")]
    pub variant_cache_mb: Option<u64>,
    /// Secure delivery for a project as PUB_KEY:HEX_SECRET: its CDN URLs then need
    /// `?token=…` signed with that secret; repeatable (UC_SECURE_DELIVERY: comma-separated).
    #[arg(
        long = "secure-delivery",
        env = "UC_SECURE_DELIVERY",
        value_delimiter = ','
    )]
    pub secure_delivery: Vec<String>,
}

/// The TOML file's shape; unknown keys are rejected.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// See [`Args::listen`].
    pub listen: Option<SocketAddr>,
    /// See [`Args::upload_listen`].
    pub upload_listen: Option<SocketAddr>,
    /// See [`Args::api_listen`].
    pub api_listen: Option<SocketAddr>,
    /// See [`Args::cdn_listen`].
    pub cdn_listen: Option<SocketAddr>,
    /// See [`Args::database_url`].
    pub database_url: Option<String>,
    /// See [`Args::data_dir`].
    pub data_dir: Option<PathBuf>,
    /// See [`Args::blob_store`].
    pub blob_store: Option<String>,
    /// See [`Args::upload_base_url`].
    pub upload_base_url: Option<String>,
    /// See [`Args::api_base_url`].
    pub api_base_url: Option<String>,
    /// See [`Args::cdn_base_url`].
    pub cdn_base_url: Option<String>,
    /// See [`Args::log_format`].
    pub log_format: Option<String>,
    /// See [`Args::admin_token`].
    pub admin_token: Option<String>,
    /// Hours an unstored file lives (production: 24).
    pub retention_hours: Option<u64>,
    /// Refuse `Uploadcare.Simple` REST auth over plain HTTP, as production does.
    pub simple_auth_https_only: Option<bool>,
    /// See [`Args::client_timeout_secs`].
    pub client_timeout_secs: Option<u64>,
    /// See [`Args::variant_cache_mb`].
    pub variant_cache_mb: Option<u64>,
    /// Secure delivery: public key → the hex secret CDN tokens are signed with.
    #[serde(default)]
    pub secure_delivery: BTreeMap<String, String>,
    /// Projects with their settings.
    #[serde(default)]
    pub projects: Vec<ProjectConfig>,
    /// Virus signatures the ClamAV add-on matches besides EICAR.
    #[serde(default)]
    pub virus_signatures: Vec<SignatureConfig>,
    /// Projects' custom storages (targets of `POST /files/remote_copy/`).
    #[serde(default)]
    pub storages: Vec<FileStorage>,
}

/// A project's custom storage (`[[storages]]`) as the TOML file writes it: a local
/// `directory` or an `s3` bucket URL (exactly one); [`StorageConfig`] once checked.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileStorage {
    pub_key: String,
    name: String,
    directory: Option<PathBuf>,
    s3: Option<String>,
    bucket: Option<String>,
    pattern: Option<String>,
}

/// A project's custom storage, the `target` of `POST /files/remote_copy/` (src/storages.rs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StorageConfig {
    /// The project's public key.
    pub pub_key: String,
    /// The storage's name (a request's `target`).
    pub name: String,
    /// Where copies are written.
    pub target: StorageTarget,
    /// The bucket name answers show (`s3://<bucket>/<key>`); default: the storage's name.
    pub bucket: Option<String>,
    /// The pattern used when a request gives none; default `${default}`.
    pub pattern: Option<String>,
}

/// Where a custom storage writes its copies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StorageTarget {
    /// The directory copies are written to.
    Directory(PathBuf),
    /// The bucket copies are written to: `s3://bucket[/prefix]?endpoint=…&region=…`
    /// (credentials from the `AWS_*` variables, as the blob store's).
    S3(String),
}

/// A virus signature in the TOML file: a name and exactly one of a hex or a text pattern.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignatureConfig {
    /// The name the scan reports (`infected_with`).
    pub name: String,
    /// The pattern as hex digits.
    pub hex: Option<String>,
    /// The pattern as text (its UTF-8 bytes).
    pub string: Option<String>,
}

/// A virus signature the ClamAV add-on matches anywhere in a file (src/addons/clamav.rs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VirusSignature {
    /// The name the scan reports.
    pub name: String,
    /// The bytes to find.
    pub pattern: Vec<u8>,
}

impl SignatureConfig {
    fn resolve(self) -> Result<VirusSignature, String> {
        let pattern = match (self.hex, self.string) {
            (Some(h), None) => hex::decode(h.trim())
                .map_err(|e| format!("virus signature {:?}: hex pattern: {e}", self.name))?,
            (None, Some(s)) => s.into_bytes(),
            _ => {
                return Err(format!(
                    "virus signature {:?} needs exactly one of hex or string",
                    self.name
                ))
            }
        };
        if self.name.trim().is_empty() || pattern.is_empty() {
            return Err("a virus signature needs a name and a non-empty pattern".to_owned());
        }
        Ok(VirusSignature {
            name: self.name,
            pattern,
        })
    }
}

/// One project in the TOML file.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ProjectConfig {
    /// Public key.
    pub pub_key: String,
    /// Secret key.
    pub secret_key: String,
    /// Display name.
    #[serde(default = "default_project_name")]
    pub name: String,
    /// Whether `UPLOADCARE_STORE=auto` stores files.
    #[serde(default = "default_true")]
    pub autostore: bool,
    /// Whether uploads must be signed.
    #[serde(default)]
    pub signed_uploads: bool,
}

fn default_project_name() -> String {
    "Emulated project".to_owned()
}

fn default_true() -> bool {
    true
}

/// Log line format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Which APIs a listener serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Apis {
    /// Upload, REST and CDN by path (the main listener).
    All,
    /// Only the Upload API.
    Upload,
    /// Only the REST API.
    Rest,
    /// Only the CDN.
    Cdn,
}

/// The validated configuration the server runs with.
#[derive(Clone)]
pub struct Config {
    /// Listen address (all APIs).
    pub listen: SocketAddr,
    /// Extra listeners, each serving one API (the admin routes are on every listener).
    pub api_listeners: Vec<(Apis, SocketAddr)>,
    /// Where rows and bytes are kept.
    pub persistence: Persistence,
    /// Projects to create or update at start-up.
    pub projects: Vec<ProjectConfig>,
    /// Public base URLs, `None` to follow the request's host.
    pub public_urls: PublicUrls,
    /// Log format.
    pub log_format: LogFormat,
    /// Retention of unstored files, in hours.
    pub retention_hours: u64,
    /// Refuse Simple REST auth over plain HTTP.
    pub simple_auth_https_only: bool,
    /// Longest wait for a client's header block or for the next piece of its body.
    pub client_timeout: Duration,
    /// Bearer token for the admin API, if it is guarded.
    pub admin_token: Option<String>,
    /// Fixture folder loaded at start-up.
    pub seed_dir: Option<PathBuf>,
    /// File answers are recorded to (contract checks), if any.
    pub record_answers: Option<PathBuf>,
    /// Bytes of processed CDN images the variant cache holds.
    pub variant_cache_bytes: u64,
    /// Projects whose CDN needs signed URLs: public key → hex secret (src/cdn/secure.rs).
    pub secure_delivery: BTreeMap<String, String>,
    /// Signatures the ClamAV add-on matches besides EICAR (src/addons/clamav.rs).
    pub virus_signatures: Vec<VirusSignature>,
    /// Projects' custom storages (src/storages.rs).
    pub storages: Vec<StorageConfig>,
}

/// Where the emulator keeps what it holds: the database and the bytes of files.
#[derive(Clone)]
pub struct Persistence {
    /// Database URL (never logged whole: see [`redact_url`]).
    pub database_url: String,
    /// Data directory.
    pub data_dir: PathBuf,
    /// The blob store (src/blobs/); `None`: the data directory.
    pub blob_store: Option<BlobStoreUrl>,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("database_url", &redact_url(&self.persistence.database_url))
            .field("data_dir", &self.persistence.data_dir)
            .field(
                "blob_store",
                &self
                    .persistence
                    .blob_store
                    .as_ref()
                    .map(ToString::to_string),
            )
            .field(
                "projects",
                &self.projects.iter().map(|p| &p.pub_key).collect::<Vec<_>>(),
            )
            .field("log_format", &self.log_format)
            .finish_non_exhaustive()
    }
}

/// Configured public base URLs (no trailing slash).
#[derive(Clone, Debug, Default)]
pub struct PublicUrls {
    /// Upload API base.
    pub upload: Option<String>,
    /// REST API base.
    pub api: Option<String>,
    /// CDN base.
    pub cdn: Option<String>,
}

/// The demo project used when none is configured.
pub const DEMO_PUB_KEY: &str = "demopublickey";
/// The demo project's secret key.
pub const DEMO_SECRET_KEY: &str = "demosecretkey";

impl Config {
    /// Builds the configuration from parsed arguments and the text of the config file, if any.
    pub fn resolve(args: Args, file_text: Option<&str>) -> Result<Self, String> {
        let file: FileConfig = match file_text {
            Some(text) => toml::from_str(text).map_err(|e| format!("config file: {e}"))?,
            None => FileConfig::default(),
        };
        let data_dir = args
            .data_dir
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from("uploadcare-data"));
        let database_url = args
            .database_url
            .or(file.database_url)
            .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("emulator.db").display()));
        if !(database_url.starts_with("sqlite:")
            || database_url.starts_with("postgres:")
            || database_url.starts_with("postgresql:"))
        {
            return Err(format!(
                "database URL must start with sqlite:// or postgres://, got {}",
                redact_url(&database_url)
            ));
        }
        let blob_store = args
            .blob_store
            .or(file.blob_store)
            .filter(|u| !u.is_empty())
            .map(|u| {
                BlobStoreUrl::parse(&u)
                    .map_err(|e| format!("--blob-store / UC_BLOB_STORE / blob_store: {e}"))
            })
            .transpose()?;
        let log_format = match args.log_format.or(file.log_format).as_deref() {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => return Err(format!("log format must be text or json, got {other:?}")),
        };
        let mut projects = file.projects;
        for spec in args.projects.iter().filter(|s| !s.trim().is_empty()) {
            let (pub_key, secret_key) = spec
                .trim()
                .split_once(':')
                .filter(|(p, s)| !p.is_empty() && !s.is_empty())
                .ok_or_else(|| format!("--project must be PUB_KEY:SECRET_KEY, got {spec:?}"))?;
            projects.retain(|p| p.pub_key != pub_key);
            projects.push(ProjectConfig {
                pub_key: pub_key.to_owned(),
                secret_key: secret_key.to_owned(),
                name: default_project_name(),
                autostore: true,
                signed_uploads: false,
            });
        }
        if projects.is_empty() {
            projects.push(ProjectConfig {
                pub_key: DEMO_PUB_KEY.to_owned(),
                secret_key: DEMO_SECRET_KEY.to_owned(),
                name: "Demo project".to_owned(),
                autostore: true,
                signed_uploads: false,
            });
        }
        for p in &projects {
            if p.pub_key.is_empty() || p.secret_key.is_empty() {
                return Err("every project needs a pub_key and a secret_key".to_owned());
            }
        }
        let mut secure_delivery = file.secure_delivery;
        for spec in args.secure_delivery.iter().filter(|s| !s.trim().is_empty()) {
            let (pub_key, secret) = spec.trim().split_once(':').ok_or_else(|| {
                format!("--secure-delivery must be PUB_KEY:HEX_SECRET, got {spec:?}")
            })?;
            secure_delivery.insert(pub_key.to_owned(), secret.to_owned());
        }
        for (pub_key, secret) in &secure_delivery {
            if hex::decode(secret).map_or(true, |k| k.is_empty()) {
                return Err(format!(
                    "the secure delivery secret of {pub_key} must be non-empty hex"
                ));
            }
        }
        let url = |v: Option<String>| -> Result<Option<String>, String> {
            match v {
                None => Ok(None),
                Some(u) if u.starts_with("http://") || u.starts_with("https://") => {
                    Ok(Some(u.trim_end_matches('/').to_owned()))
                }
                Some(u) => Err(format!(
                    "public base URLs must start with http(s)://, got {u:?}"
                )),
            }
        };
        let api_listeners = [
            (Apis::Upload, args.upload_listen.or(file.upload_listen)),
            (Apis::Rest, args.api_listen.or(file.api_listen)),
            (Apis::Cdn, args.cdn_listen.or(file.cdn_listen)),
        ]
        .into_iter()
        .filter_map(|(apis, addr)| addr.map(|a| (apis, a)))
        .collect();
        let virus_signatures = file
            .virus_signatures
            .into_iter()
            .map(SignatureConfig::resolve)
            .collect::<Result<_, _>>()?;
        let mut storages: Vec<StorageConfig> = Vec::with_capacity(file.storages.len());
        for s in file.storages {
            if s.name.trim().is_empty() || s.pub_key.trim().is_empty() {
                return Err("every storage needs a pub_key and a name".to_owned());
            }
            let target = match (s.directory, s.s3) {
                (Some(directory), None) => StorageTarget::Directory(directory),
                (None, Some(url)) => {
                    let parsed = url::Url::parse(&url)
                        .map_err(|e| e.to_string())
                        .and_then(|u| {
                            if u.scheme() == "s3" {
                                S3Location::from_url(&u)
                            } else {
                                Err("not an s3:// URL".to_owned())
                            }
                        });
                    if let Err(e) = parsed {
                        return Err(format!("storage {:?} of {}: s3: {e}", s.name, s.pub_key));
                    }
                    StorageTarget::S3(url)
                }
                _ => {
                    return Err(format!(
                        "storage {:?} of {} needs exactly one of directory and s3",
                        s.name, s.pub_key
                    ))
                }
            };
            if storages
                .iter()
                .any(|o| o.pub_key == s.pub_key && o.name == s.name)
            {
                return Err(format!(
                    "storage {:?} of {} is named twice",
                    s.name, s.pub_key
                ));
            }
            storages.push(StorageConfig {
                pub_key: s.pub_key,
                name: s.name,
                target,
                bucket: s.bucket,
                pattern: s.pattern,
            });
        }
        Ok(Config {
            api_listeners,
            listen: args
                .listen
                .or(file.listen)
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8000))),
            persistence: Persistence {
                database_url,
                data_dir,
                blob_store,
            },
            projects,
            public_urls: PublicUrls {
                upload: url(args.upload_base_url.or(file.upload_base_url))?,
                api: url(args.api_base_url.or(file.api_base_url))?,
                cdn: url(args.cdn_base_url.or(file.cdn_base_url))?,
            },
            log_format,
            retention_hours: args.retention_hours.or(file.retention_hours).unwrap_or(24),
            simple_auth_https_only: args
                .simple_auth_https_only
                .or(file.simple_auth_https_only)
                .unwrap_or(false),
            client_timeout: Duration::from_secs(
                args.client_timeout_secs
                    .or(file.client_timeout_secs)
                    .unwrap_or(60)
                    .max(1),
            ),
            admin_token: args
                .admin_token
                .or(file.admin_token)
                .filter(|t| !t.is_empty()),
            seed_dir: args.seed,
            record_answers: args.record_answers,
            variant_cache_bytes: args
                .variant_cache_mb
                .or(file.variant_cache_mb)
                .unwrap_or(128)
                .saturating_mul(1024 * 1024),
            secure_delivery,
            virus_signatures,
            storages,
        })
    }
}

/// A database URL with any password (in the user info or a `password=` query parameter)
/// replaced by `***`, fit for logs. A URL that does not parse shows only its scheme.
pub fn redact_url(url: &str) -> String {
    let Ok(mut parsed) = url::Url::parse(url) else {
        let scheme = url.split_once("://").map_or("", |(s, _)| s);
        return format!("{scheme}://***");
    };
    if parsed.password().is_some() {
        let _ = parsed.set_password(Some("***"));
    }
    if parsed.query().is_some() {
        let pairs: Vec<(String, String)> = parsed
            .query_pairs()
            .map(|(k, v)| {
                let secret = k.eq_ignore_ascii_case("password")
                    || k.to_ascii_lowercase().contains("pass")
                    || k.eq_ignore_ascii_case("sslpassword");
                let v = if secret {
                    "***".to_owned()
                } else {
                    v.into_owned()
                };
                (k.into_owned(), v)
            })
            .collect();
        parsed.query_pairs_mut().clear().extend_pairs(pairs);
    }
    parsed.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: &[&str]) -> Args {
        Args::try_parse_from(std::iter::once("uploadcare-emulator").chain(v.iter().copied()))
            .unwrap()
    }

    #[test]
    fn defaults_give_demo_project_and_sqlite_in_data_dir() {
        let c = Config::resolve(args(&[]), None).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8000");
        assert_eq!(
            c.persistence.database_url,
            "sqlite://uploadcare-data/emulator.db"
        );
        assert_eq!(c.projects[0].pub_key, DEMO_PUB_KEY);
        assert_eq!(c.retention_hours, 24);
        assert_eq!(c.client_timeout, Duration::from_secs(60));
        assert_eq!(c.variant_cache_bytes, 128 * 1024 * 1024);
    }

    #[test]
    fn flags_win_over_file() {
        let file = "listen = \"127.0.0.1:9000\"\ndata_dir = \"/tmp/x\"\n[[projects]]\npub_key = \"a\"\nsecret_key = \"b\"\n";
        let c = Config::resolve(args(&["--listen", "127.0.0.1:9100"]), Some(file)).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:9100");
        assert_eq!(c.persistence.database_url, "sqlite:///tmp/x/emulator.db");
        assert_eq!(c.projects.len(), 1);
        let c =
            Config::resolve(args(&["--project", "a:c", "--project", "d:e"]), Some(file)).unwrap();
        assert_eq!(c.projects.len(), 2);
        assert_eq!(c.projects[0].secret_key, "c");
    }

    #[test]
    fn retention_and_simple_auth_by_flag() {
        let file = "retention_hours = 5\nsimple_auth_https_only = false\n";
        let c = Config::resolve(
            args(&["--retention-hours", "1", "--simple-auth-https-only", "true"]),
            Some(file),
        )
        .unwrap();
        assert_eq!((c.retention_hours, c.simple_auth_https_only), (1, true));
        let c = Config::resolve(args(&[]), Some(file)).unwrap();
        assert_eq!((c.retention_hours, c.simple_auth_https_only), (5, false));
    }

    #[test]
    fn secure_delivery_by_file_and_flag() {
        let file = "[secure_delivery]\na = \"00ff\"\n";
        let c = Config::resolve(args(&["--secure-delivery", "b:abcd"]), Some(file)).unwrap();
        assert_eq!(c.secure_delivery.get("a").map(String::as_str), Some("00ff"));
        assert_eq!(c.secure_delivery.get("b").map(String::as_str), Some("abcd"));
        let e = Config::resolve(args(&["--secure-delivery", "b:xyz"]), None).unwrap_err();
        assert!(e.contains("non-empty hex"), "{e}");
    }

    #[test]
    fn bad_settings_are_refused_clearly() {
        let e = Config::resolve(args(&[]), Some("lisen = \"x\"")).unwrap_err();
        assert!(e.contains("unknown field `lisen`"), "{e}");
        let e = Config::resolve(args(&["--project", "nocolon"]), None).unwrap_err();
        assert!(e.contains("PUB_KEY:SECRET_KEY"), "{e}");
        let e = Config::resolve(args(&["--database-url", "mysql://x"]), None).unwrap_err();
        assert!(e.contains("sqlite://"), "{e}");
    }

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            redact_url("postgres://u:secret@h/db"),
            "postgres://u:***@h/db"
        );
        assert_eq!(redact_url("sqlite://x.db"), "sqlite://x.db");
        // sqlx reads a password from the query too, and splits user info at the last `@`.
        assert_eq!(
            redact_url("postgres://u@h:5432/db?password=QPW&sslmode=disable"),
            "postgres://u@h:5432/db?password=***&sslmode=disable"
        );
        let at = redact_url("postgres://u:pw@ATSIGN@h/db");
        assert!(!at.contains("ATSIGN") && !at.contains("pw"), "{at}");
        assert_eq!(redact_url("not a url at all"), "://***");
    }
}
