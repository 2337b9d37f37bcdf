//! Conversion paths: `<uuid>/document/-/format/<fmt>/-/page/<n>/` and
//! `<uuid>/video/-/format/<fmt>/-/size/<w>x<h>/<mode>/-/quality/<q>/-/cut/<start>/<length>/
//! -/thumbs~<n>/`, bare or behind a CDN origin (`https://ucarecdn.com/<uuid>/…`).
//!
//! A path this grammar rejects is a *problem* of the submission (production's
//! `Bad path "<path>". Use UUID or CDN URL`); a well-formed path whose operation values are
//! wrong is a problem with its own message.

use uuid::Uuid;

/// Target formats of document conversion (production's documented list).
pub const DOCUMENT_FORMATS: &[&str] = &[
    "doc", "docx", "xls", "xlsx", "odt", "ods", "rtf", "txt", "pdf", "jpg", "png",
];

/// Target formats of video conversion.
pub const VIDEO_FORMATS: &[&str] = &["mp4", "webm", "ogg"];

/// A parsed document conversion.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocumentPath {
    /// The source file.
    pub uuid: Uuid,
    /// Target format (`pdf` when the path names none, as production).
    pub format: String,
    /// One-based page, for image targets.
    pub page: Option<u32>,
}

impl DocumentPath {
    /// The conversion of `uuid` that a path without operations asks for.
    fn new(uuid: Uuid) -> Self {
        DocumentPath {
            uuid,
            format: "pdf".into(),
            page: None,
        }
    }
}

/// How a video is fitted into `size`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResizeMode {
    /// Keeps the aspect ratio inside the box (default).
    PreserveRatio,
    /// Stretches to the box.
    ChangeRatio,
    /// Fills the box and crops the overflow.
    ScaleCrop,
    /// Fits inside the box and pads to it.
    AddPadding,
}

/// A parsed video conversion.
#[derive(Clone, Debug, PartialEq)]
pub struct VideoPath {
    /// The source file.
    pub uuid: Uuid,
    /// Target format (`mp4` by default).
    pub format: String,
    /// Box width and height; either may be free.
    pub size: Option<(Option<u32>, Option<u32>)>,
    /// How the box is applied.
    pub resize_mode: ResizeMode,
    /// `normal`, `better`, `best`, `lighter`, `lightest`.
    pub quality: String,
    /// Start and length (`None`: to the end), seconds.
    pub cut: Option<(f64, Option<f64>)>,
    /// Number of thumbnails (1 by default, as production's answers always carry a group).
    pub thumbs: u32,
}

impl VideoPath {
    /// The conversion of `uuid` that a path without operations asks for.
    fn new(uuid: Uuid) -> Self {
        VideoPath {
            uuid,
            format: "mp4".into(),
            size: None,
            resize_mode: ResizeMode::PreserveRatio,
            quality: "normal".into(),
            cut: None,
            thumbs: 1,
        }
    }
}

/// Why a path cannot be converted: the message of its `problems` entry.
pub fn bad_path(path: &str) -> String {
    format!("Bad path \"{path}\". Use UUID or CDN URL")
}

/// Splits `[origin/]<uuid>/<kind>/[-/op/args/]…` into the uuid and the operations.
fn split<'a>(path: &'a str, kind: &str) -> Option<(Uuid, Vec<Vec<&'a str>>)> {
    let rest = match path.find("://") {
        Some(i) => {
            let after = &path[i + 3..];
            &after[after.find('/')? + 1..]
        }
        None => path.trim_start_matches('/'),
    };
    let mut parts = rest.split('/');
    let uuid = Uuid::parse_str(parts.next()?).ok()?;
    if parts.next()? != kind {
        return None;
    }
    let mut ops: Vec<Vec<&str>> = Vec::new();
    for part in parts {
        if part == "-" {
            ops.push(Vec::new());
        } else if part.is_empty() {
            continue;
        } else {
            ops.last_mut()?.push(part);
        }
    }
    if ops.iter().any(Vec::is_empty) {
        return None;
    }
    Some((uuid, ops))
}

/// Parses a document conversion path; `Err` is its problem message.
pub fn document(path: &str) -> Result<DocumentPath, String> {
    let (uuid, ops) = split(path, "document").ok_or_else(|| bad_path(path))?;
    let mut parsed = DocumentPath::new(uuid);
    for op in ops {
        match op.as_slice() {
            ["format", fmt] => parsed.format = target_format(fmt, DOCUMENT_FORMATS)?,
            ["page", n] => {
                parsed.page = Some(
                    n.parse::<u32>()
                        .ok()
                        .filter(|n| *n >= 1)
                        .ok_or_else(|| format!("Invalid page number \"{n}\""))?,
                );
            }
            // Accepted and not applied: rendering resolution and JPEG quality are fixed.
            ["dpi", _] | ["quality", _] => {}
            _ => return Err(bad_path(path)),
        }
    }
    if parsed.page.is_some() && !matches!(parsed.format.as_str(), "jpg" | "png") {
        return Err("The page operation applies to jpg and png targets only".into());
    }
    Ok(parsed)
}

/// Parses a time of `cut`: seconds, `m:s` or `h:m:s`, fractions allowed.
fn seconds(s: &str) -> Option<f64> {
    let mut total = 0.0;
    for part in s.split(':') {
        let v: f64 = part.parse().ok()?;
        if !v.is_finite() || v < 0.0 {
            return None;
        }
        total = total * 60.0 + v;
    }
    Some(total)
}

/// Parses a video conversion path; `Err` is its problem message.
pub fn video(path: &str) -> Result<VideoPath, String> {
    let (uuid, ops) = split(path, "video").ok_or_else(|| bad_path(path))?;
    let mut parsed = VideoPath::new(uuid);
    let side = |s: &str| -> Result<Option<u32>, String> {
        if s.is_empty() {
            return Ok(None);
        }
        s.parse::<u32>()
            .ok()
            .filter(|v| (2..=10_000).contains(v))
            .map(|v| Some(v - v % 2))
            .ok_or_else(|| format!("Invalid size \"{s}\""))
    };
    for op in ops {
        match op.as_slice() {
            ["format", fmt] => parsed.format = target_format(fmt, VIDEO_FORMATS)?,
            ["size", dims, mode @ ..] if mode.len() <= 1 => {
                let (w, h) = dims
                    .split_once('x')
                    .ok_or_else(|| format!("Invalid size \"{dims}\""))?;
                let (w, h) = (side(w)?, side(h)?);
                if w.is_none() && h.is_none() {
                    return Err(format!("Invalid size \"{dims}\""));
                }
                parsed.size = Some((w, h));
                parsed.resize_mode = match mode.first().copied() {
                    None | Some("preserve_ratio") => ResizeMode::PreserveRatio,
                    Some("change_ratio") => ResizeMode::ChangeRatio,
                    Some("scale_crop") => ResizeMode::ScaleCrop,
                    Some("add_padding") => ResizeMode::AddPadding,
                    Some(other) => return Err(format!("Invalid resize mode \"{other}\"")),
                };
            }
            ["quality", q] => {
                if !["normal", "better", "best", "lighter", "lightest"].contains(q) {
                    return Err(format!("Invalid quality \"{q}\""));
                }
                parsed.quality = (*q).to_owned();
            }
            ["cut", start, length] => {
                let start =
                    seconds(start).ok_or_else(|| format!("Invalid cut start \"{start}\""))?;
                let length = match *length {
                    "end" => None,
                    l => Some(
                        seconds(l)
                            .filter(|l| *l > 0.0)
                            .ok_or_else(|| format!("Invalid cut length \"{l}\""))?,
                    ),
                };
                parsed.cut = Some((start, length));
            }
            [thumbs] if thumbs.starts_with("thumbs~") => {
                let n = &thumbs["thumbs~".len()..];
                parsed.thumbs = n
                    .parse::<u32>()
                    .ok()
                    .filter(|n| (1..=50).contains(n))
                    .ok_or_else(|| format!("Invalid thumbs number \"{n}\""))?;
            }
            _ => return Err(bad_path(path)),
        }
    }
    Ok(parsed)
}

/// A `format/<fmt>` operation's target, in lower case, when it is one of `allowed`.
fn target_format(fmt: &str, allowed: &[&str]) -> Result<String, String> {
    let fmt = fmt.to_ascii_lowercase();
    if allowed.contains(&fmt.as_str()) {
        Ok(fmt)
    } else {
        Err(format!("Unsupported target format \"{fmt}\""))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const U: &str = "740e1b8c-1ad8-4324-b7ec-112c79d8eac2";

    #[test]
    fn documents() {
        let d = document(&format!("{U}/document/-/format/jpg/-/page/2/")).unwrap();
        assert_eq!((d.format.as_str(), d.page), ("jpg", Some(2)));
        let d = document(&format!("https://ucarecdn.com/{U}/document/")).unwrap();
        assert_eq!((d.format.as_str(), d.page), ("pdf", None));
        assert_eq!(document(U), Err(bad_path(U)));
        let p = format!("{U}/document/format/pdf/");
        assert_eq!(document(&p), Err(bad_path(&p)));
        assert!(document(&format!("{U}/document/-/format/exe/")).is_err());
        assert!(document(&format!("{U}/document/-/format/pdf/-/page/1/")).is_err());
        assert!(document(&format!("{U}/document/-/format/png/-/page/0/")).is_err());
    }

    #[test]
    fn videos() {
        let v = video(&format!(
            "{U}/video/-/format/webm/-/size/640x/add_padding/-/quality/best/-/cut/0:0:1.5/end/-/thumbs~3/"
        ))
        .unwrap();
        assert_eq!(v.format, "webm");
        assert_eq!(v.size, Some((Some(640), None)));
        assert_eq!(v.resize_mode, ResizeMode::AddPadding);
        assert_eq!(v.cut, Some((1.5, None)));
        assert_eq!(v.thumbs, 3);
        let v = video(&format!("{U}/video/")).unwrap();
        assert_eq!((v.format.as_str(), v.thumbs), ("mp4", 1));
        assert!(video(&format!("{U}/video/-/size/x/")).is_err());
        assert!(video(&format!("{U}/video/-/thumbs~0/")).is_err());
        assert!(video(&format!("{U}/document/")).is_err());
    }
}
