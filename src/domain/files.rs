//! File rules shared by the APIs: liveness (removal and expiry), store decisions, file names
//! and the `content_info` object.

use serde_json::{json, Value};

use crate::store::FileRecord;

/// Whether an upload is stored, from `UPLOADCARE_STORE` and the project's autostore setting.
pub fn should_store(store_field: Option<&str>, autostore: bool) -> bool {
    match store_field.map(str::trim) {
        Some("1") | Some("true") => true,
        Some("0") | Some("false") => false,
        _ => autostore,
    }
}

/// Whether a file is still served: not removed, and stored or younger than the retention.
pub fn is_live(file: &FileRecord, now_us: i64, retention_us: i64) -> bool {
    file.removed_us.is_none()
        && (file.stored_us.is_some() || now_us - file.uploaded_us < retention_us)
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

/// `content_info`: the MIME parts and, for images, the image facts.
pub fn content_info(file: &FileRecord) -> Value {
    let (kind, subtype) = file
        .mime_type
        .split_once('/')
        .unwrap_or((file.mime_type.as_str(), ""));
    let mut info = json!({
        "mime": { "mime": file.mime_type, "type": kind, "subtype": subtype },
    });
    if let Some(image) = image_info(file) {
        info["image"] = image;
    }
    info
}

/// The `image_info` object for images, `None` otherwise.
pub fn image_info(file: &FileRecord) -> Option<Value> {
    let image = file.image.as_ref()?;
    Some(json!({
        "color_mode": image.color_mode,
        "orientation": null,
        "format": image.format,
        "height": image.height,
        "width": image.width,
        "sequence": false,
        "geo_location": null,
        "datetime_original": null,
        "dpi": null,
    }))
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
