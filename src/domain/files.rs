//! File rules shared by the APIs: liveness (removal and expiry), store decisions, file names
//! and the `content_info` object.

use serde::Serialize;
use serde_json::Value;

use crate::store::{Expiry, FileRecord};

/// Whether an upload is stored, from `UPLOADCARE_STORE` and the project's autostore setting.
pub fn should_store(store_field: Option<&str>, autostore: bool) -> bool {
    match store_field.map(str::trim) {
        Some("1") | Some("true") => true,
        Some("0") | Some("false") => false,
        _ => autostore,
    }
}

/// Whether a file is still served: not removed, and stored or younger than the retention.
/// The rule itself is [`Expiry`], shared with the store's queries.
pub fn is_live(file: &FileRecord, now_us: i64, retention_us: i64) -> bool {
    Expiry::new(now_us, retention_us).is_live(file)
}

/// The cleaned name production reports as `filename`: the stem keeps only `[A-Za-z0-9_]`
/// (`noroot` when nothing is left), the last extension only `[A-Za-z0-9]`.
pub fn sanitize_filename(name: &str) -> String {
    let keep = |s: &str, extra: bool| -> String {
        s.chars()
            .filter(|c| c.is_ascii_alphanumeric() || (extra && *c == '_'))
            .collect()
    };
    let (stem, ext) = match name.rsplit_once('.') {
        Some((stem, ext)) => (keep(stem, true), Some(keep(ext, false))),
        None => (keep(name, true), None),
    };
    let stem = if stem.is_empty() {
        "noroot".to_owned()
    } else {
        stem
    };
    match ext {
        Some(ext) if !ext.is_empty() => format!("{stem}.{ext}"),
        _ => stem,
    }
}

/// The base name of an uploaded file name (browsers may send a path), never empty.
pub fn base_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("").trim();
    if base.is_empty() {
        "file".to_owned()
    } else {
        base.to_owned()
    }
}

/// The `mime` object of `content_info`.
#[derive(Debug, Serialize)]
pub struct MimeInfo<'a> {
    /// Full MIME type.
    pub mime: &'a str,
    /// The part before `/`.
    #[serde(rename = "type")]
    pub kind: &'a str,
    /// The part after `/`.
    pub subtype: &'a str,
}

/// The `image_info` / `content_info.image` object.
#[derive(Debug, Serialize)]
pub struct ImageInfo<'a> {
    /// Pillow's color mode.
    pub color_mode: &'a str,
    /// EXIF orientation (not read: null).
    pub orientation: Option<u8>,
    /// Pillow's format name.
    pub format: &'a str,
    /// Height in pixels.
    pub height: i64,
    /// Width in pixels.
    pub width: i64,
    /// Image sequences are not detected.
    pub sequence: bool,
    /// EXIF location (not read: null).
    pub geo_location: Option<()>,
    /// EXIF date (not read: null).
    pub datetime_original: Option<()>,
    /// DPI (not read: null).
    pub dpi: Option<()>,
}

impl<'a> ImageInfo<'a> {
    /// The image facts of a file, `None` for non-images.
    pub fn of(file: &'a FileRecord) -> Option<Self> {
        let image = file.image.as_ref()?;
        Some(Self {
            color_mode: &image.color_mode,
            orientation: None,
            format: &image.format,
            height: image.height,
            width: image.width,
            sequence: false,
            geo_location: None,
            datetime_original: None,
            dpi: None,
        })
    }
}

/// `content_info`: the MIME parts and, for images, the image facts.
#[derive(Debug, Serialize)]
pub struct ContentInfo<'a> {
    /// MIME parts.
    pub mime: MimeInfo<'a>,
    /// Image facts, only for images.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<ImageInfo<'a>>,
}

impl<'a> ContentInfo<'a> {
    /// The content info of a file.
    pub fn of(file: &'a FileRecord) -> Self {
        let (kind, subtype) = file
            .mime_type
            .split_once('/')
            .unwrap_or((file.mime_type.as_str(), ""));
        Self {
            mime: MimeInfo {
                mime: &file.mime_type,
                kind,
                subtype,
            },
            image: ImageInfo::of(file),
        }
    }
}

/// `content_info` as a JSON value.
pub fn content_info(file: &FileRecord) -> Value {
    serde_json::to_value(ContentInfo::of(file)).unwrap_or(Value::Null)
}

/// The `image_info` object for images as a JSON value, `None` otherwise.
pub fn image_info(file: &FileRecord) -> Option<Value> {
    ImageInfo::of(file).and_then(|i| serde_json::to_value(i).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_decision() {
        assert!(should_store(Some("1"), false));
        assert!(!should_store(Some("0"), true));
        assert!(should_store(Some("auto"), true));
        assert!(!should_store(None, false));
    }

    #[test]
    fn names() {
        assert_eq!(sanitize_filename("IMG-0412_123.JPG"), "IMG0412_123.JPG");
        assert_eq!(
            sanitize_filename("instellar_logo_main (1).png"),
            "instellar_logo_main1.png"
        );
        assert_eq!(sanitize_filename("image.png.jpeg"), "imagepng.jpeg");
        assert_eq!(sanitize_filename("ф.png"), "noroot.png");
        assert_eq!(sanitize_filename("README"), "README");
        assert_eq!(base_name("C:\\fakepath\\a b.png"), "a b.png");
        assert_eq!(base_name("dir/"), "file");
    }
}
