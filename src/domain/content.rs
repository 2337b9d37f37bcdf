//! Content detection from a file's first bytes: MIME type and, for images, format, size and
//! color mode (what `content_info` reports).

use crate::store::ImageFacts;

/// How many leading bytes detection needs.
pub const HEAD_LEN: usize = 64 * 1024;

/// What detection found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Detected {
    /// MIME type, `application/octet-stream` when unknown.
    pub mime_type: String,
    /// Image facts when the bytes are an image whose size could be read.
    pub image: Option<ImageFacts>,
}

/// Detects the type of a file from its first bytes (at most [`HEAD_LEN`]).
pub fn detect(head: &[u8]) -> Detected {
    let mime_type = match infer::get(head) {
        Some(kind) => kind.mime_type().to_owned(),
        None if looks_like_svg(head) => "image/svg+xml".to_owned(),
        None if !head.is_empty() && !head.contains(&0) && std::str::from_utf8(head).is_ok() => {
            "text/plain".to_owned()
        }
        None => "application/octet-stream".to_owned(),
    };
    let image = image_format(&mime_type).and_then(|format| {
        let size = imagesize::blob_size(head).ok()?;
        Some(ImageFacts {
            format: format.to_owned(),
            width: i64::try_from(size.width).ok()?,
            height: i64::try_from(size.height).ok()?,
            color_mode: color_mode(format, head).to_owned(),
        })
    });
    Detected { mime_type, image }
}

fn looks_like_svg(head: &[u8]) -> bool {
    let text = String::from_utf8_lossy(&head[..head.len().min(1024)]);
    text.contains("<svg")
}

/// Pillow's format name for the image types production treats as images.
fn image_format(mime: &str) -> Option<&'static str> {
    Some(match mime {
        "image/jpeg" => "JPEG",
        "image/png" => "PNG",
        "image/gif" => "GIF",
        "image/webp" => "WEBP",
        "image/bmp" => "BMP",
        "image/tiff" => "TIFF",
        "image/heif" | "image/heic" => "HEIF",
        "image/avif" => "AVIF",
        _ => return None,
    })
}

/// The color mode as Pillow names it, read from the header where that is cheap.
fn color_mode(format: &str, head: &[u8]) -> &'static str {
    match format {
        // IHDR color type is byte 25 of a PNG.
        "PNG" => match head.get(25) {
            Some(0) => "L",
            Some(3) => "P",
            Some(4) => "LA",
            Some(6) => "RGBA",
            _ => "RGB",
        },
        "JPEG" => match jpeg_components(head) {
            Some(1) => "L",
            Some(4) => "CMYK",
            _ => "RGB",
        },
        "GIF" => "P",
        _ => "RGB",
    }
}

/// Number of components in a JPEG's start-of-frame segment.
fn jpeg_components(head: &[u8]) -> Option<u8> {
    let mut i = 2;
    while i + 9 < head.len() {
        if head[i] != 0xFF {
            return None;
        }
        let marker = head[i + 1];
        let len = usize::from(u16::from_be_bytes([head[i + 2], head[i + 3]]));
        if matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC) {
            return head.get(i + 9).copied();
        }
        i += 2 + len;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 3x2 RGBA PNG header (signature and IHDR).
    fn png_head(color_type: u8) -> Vec<u8> {
        let mut v = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
        v.extend_from_slice(&13u32.to_be_bytes());
        v.extend_from_slice(b"IHDR");
        v.extend_from_slice(&3u32.to_be_bytes());
        v.extend_from_slice(&2u32.to_be_bytes());
        v.extend_from_slice(&[8, color_type, 0, 0, 0]);
        v.extend_from_slice(&[0, 0, 0, 0]);
        v
    }

    #[test]
    fn png_facts() {
        let d = detect(&png_head(6));
        assert_eq!(d.mime_type, "image/png");
        let img = d.image.unwrap();
        assert_eq!((img.format.as_str(), img.width, img.height), ("PNG", 3, 2));
        assert_eq!(img.color_mode, "RGBA");
        assert_eq!(detect(&png_head(0)).image.unwrap().color_mode, "L");
    }

    #[test]
    fn text_and_binary() {
        assert_eq!(detect(b"hello world\n").mime_type, "text/plain");
        assert_eq!(detect(&[0, 1, 2, 3]).mime_type, "application/octet-stream");
        assert_eq!(detect(b"").mime_type, "application/octet-stream");
        assert!(detect(b"hello").image.is_none());
    }
}
