//! Custom storages of `POST /files/remote_copy/`: named per project in the configuration
//! (`[[storages]]`), each a place a copy is written to under a key built from a `pattern`.
//!
//! Two backends: a local directory (`directory = "/path"`), where a key is a relative path
//! and `make_public` decides the file's permissions (world-readable or owner-only); and an
//! S3-compatible bucket (`s3 = "s3://bucket[/prefix]?endpoint=…"`, the blob store's
//! `object_store` code, src/blobs/s3.rs), where the key is the object's key and
//! `make_public` writes it with the `public-read` ACL. An existing object or file is left
//! as it is. The answer names the copy `s3://<bucket>/<key>` as production does, `bucket`
//! being the storage's configured bucket name.

use std::path::{Component, Path, PathBuf};

use crate::config::StorageConfig;

/// The placeholders a pattern may use (the reference's list).
pub const PLACEHOLDERS: [&str; 6] = [
    "${default}",
    "${auto_filename}",
    "${effects}",
    "${filename}",
    "${uuid}",
    "${ext}",
];

/// Production's default pattern.
pub const DEFAULT_PATTERN: &str = "${default}";

/// Why a pattern is refused (the texts are production's `fileCopyErrors`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PatternError {
    /// A `${…}` that is not a placeholder, or an unclosed one: the pattern as given.
    Invalid(String),
    /// A character or path part a key cannot have (`\`, control characters, `..`, an
    /// absolute or empty key).
    Character,
}

/// What a pattern's placeholders stand for.
#[derive(Clone, Debug)]
pub struct KeyParts<'a> {
    /// The source file's uuid.
    pub uuid: &'a str,
    /// The original file name without its extension.
    pub filename: &'a str,
    /// The extension with its period (`.jpg`), or empty.
    pub ext: &'a str,
    /// The CDN operations as in a URL (`-/resize/200x/`), or empty.
    pub effects: &'a str,
}

/// Checks `pattern` and builds the key it names for `parts`.
pub fn object_key(pattern: &str, parts: &KeyParts<'_>) -> Result<String, PatternError> {
    let auto = format!("{}{}{}", parts.filename, parts.effects, parts.ext);
    let default = format!("{}/{auto}", parts.uuid);
    let mut key = String::new();
    let mut rest = pattern;
    while let Some(at) = rest.find("${") {
        key.push_str(&rest[..at]);
        let tail = &rest[at..];
        let end = tail
            .find('}')
            .ok_or_else(|| PatternError::Invalid(pattern.to_owned()))?;
        let value = match &tail[..=end] {
            "${default}" => default.as_str(),
            "${auto_filename}" => auto.as_str(),
            "${effects}" => parts.effects,
            "${filename}" => parts.filename,
            "${uuid}" => parts.uuid,
            "${ext}" => parts.ext,
            _ => return Err(PatternError::Invalid(pattern.to_owned())),
        };
        key.push_str(value);
        rest = &tail[end + 1..];
    }
    key.push_str(rest);
    let safe = !key.is_empty()
        && !key.starts_with('/')
        && !key.contains('\\')
        && !key.chars().any(char::is_control)
        && Path::new(&key)
            .components()
            .all(|c| matches!(c, Component::Normal(_)));
    if safe {
        Ok(key)
    } else {
        Err(PatternError::Character)
    }
}

/// Whether a copy was written or was there already.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Put {
    /// Written now (201).
    Created,
    /// An object with that key exists; left as it is (200, as production).
    Exists,
}

/// A place copies are written to.
pub trait RemoteStorage {
    /// Writes `bytes` under `key` unless something is there already.
    fn put(&self, key: &str, bytes: &[u8], public: bool) -> std::io::Result<Put>;
}

/// A custom storage that is a local directory.
#[derive(Clone, Debug)]
pub struct Directory {
    /// The directory.
    pub root: PathBuf,
}

impl RemoteStorage for Directory {
    fn put(&self, key: &str, bytes: &[u8], public: bool) -> std::io::Result<Put> {
        use std::io::Write;
        let path = self.root.join(key);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(if public { 0o644 } else { 0o600 });
        }
        #[cfg(not(unix))]
        let _ = public;
        let mut file = match options.open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(Put::Exists),
            Err(e) => return Err(e),
        };
        file.write_all(bytes)?;
        file.sync_all()?;
        Ok(Put::Created)
    }
}

/// The bucket of an `s3` storage (checked at start-up, so an error here is unexpected).
pub fn s3_location(url: &str) -> Result<crate::blobs::s3::S3Location, String> {
    let url = url::Url::parse(url).map_err(|e| e.to_string())?;
    crate::blobs::s3::S3Location::from_url(&url)
}

/// The project's storage named `name`, if configured.
pub fn find<'a>(
    storages: &'a [StorageConfig],
    project: &str,
    name: &str,
) -> Option<&'a StorageConfig> {
    storages
        .iter()
        .find(|s| s.pub_key == project && s.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts() -> KeyParts<'static> {
        KeyParts {
            uuid: "u",
            filename: "roof",
            ext: ".jpg",
            effects: "-/resize/200x/",
        }
    }

    #[test]
    fn patterns() {
        let key = |p: &str| object_key(p, &parts());
        assert_eq!(key("${default}").unwrap(), "u/roof-/resize/200x/.jpg");
        assert_eq!(key("${uuid}/${filename}${ext}").unwrap(), "u/roof.jpg");
        assert_eq!(
            key("x/${auto_filename}").unwrap(),
            "x/roof-/resize/200x/.jpg"
        );
        assert_eq!(key("${nope}"), Err(PatternError::Invalid("${nope}".into())));
        assert_eq!(key("${uuid"), Err(PatternError::Invalid("${uuid".into())));
        for bad in ["../${uuid}", "/${uuid}", "a\\b", "", "a/../../b", "a\nb"] {
            assert_eq!(key(bad), Err(PatternError::Character), "{bad:?}");
        }
    }

    #[test]
    fn directory_puts_once() {
        let dir = tempfile::tempdir().unwrap();
        let d = Directory {
            root: dir.path().to_path_buf(),
        };
        assert_eq!(d.put("a/b.txt", b"one", true).unwrap(), Put::Created);
        assert_eq!(d.put("a/b.txt", b"two", true).unwrap(), Put::Exists);
        assert_eq!(std::fs::read(dir.path().join("a/b.txt")).unwrap(), b"one");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            d.put("private", b"x", false).unwrap();
            let mode = std::fs::metadata(dir.path().join("private"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
