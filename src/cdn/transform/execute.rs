//! Runs a [`Pipeline`] on an image's bytes: decode (bounded), EXIF orientation, the
//! operations in URL order, production's output cap, then encode. CPU-bound and
//! synchronous: callers run it on a blocking thread (see [`super::cache`]).

use std::io::Cursor;

use fast_image_resize as fr;
use image::codecs::png::{CompressionType, FilterType as PngFilter, PngEncoder};
use image::codecs::webp::WebPEncoder;
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits, RgbImage, RgbaImage};

use super::color;
use super::error::TransformError;
use super::ops::{Alignment, CropSize, FormatRequest, Op, Pipeline, Size, Stretch};

/// Production treats images above 75 megapixels as non-images.
pub const MAX_PIXELS: u64 = 75_000_000;
/// Longest side the decoder accepts.
const MAX_DECODE_SIDE: u32 = 30_000;
/// Most memory one decode may allocate (75 Mpx of RGBA, with headroom).
const MAX_DECODE_ALLOC: u64 = 320 * 1024 * 1024;

/// The formats the emulator writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputFormat {
    /// `image/jpeg`.
    Jpeg,
    /// `image/png`.
    Png,
    /// `image/webp` (lossless).
    Webp,
    /// `image/gif` (one frame; only for `format/preserve` of a GIF).
    Gif,
}

impl OutputFormat {
    /// The MIME type.
    pub fn mime(self) -> &'static str {
        match self {
            OutputFormat::Jpeg => "image/jpeg",
            OutputFormat::Png => "image/png",
            OutputFormat::Webp => "image/webp",
            OutputFormat::Gif => "image/gif",
        }
    }

    /// The name `-/json/` reports (production writes PIL's format names).
    pub fn name(self) -> &'static str {
        match self {
            OutputFormat::Jpeg => "JPEG",
            OutputFormat::Png => "PNG",
            OutputFormat::Webp => "WEBP",
            OutputFormat::Gif => "GIF",
        }
    }
}

/// A processed image.
#[derive(Clone, Debug)]
pub struct Processed {
    /// Encoded bytes (or JSON for `-/main_colors/`).
    pub bytes: Vec<u8>,
    /// The format written, `None` for `-/main_colors/` JSON.
    pub format: Option<OutputFormat>,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

/// What the executor needs beyond the pipeline.
#[derive(Clone, Copy, Debug)]
pub struct Context {
    /// The request's `Accept` lists `image/webp` (for `format/auto`).
    pub accepts_webp: bool,
}

/// Decodes, processes and encodes.
pub fn run(bytes: &[u8], pipeline: &Pipeline, ctx: Context) -> Result<Processed, TransformError> {
    let autorotate = !pipeline.ops.contains(&Op::Autorotate(false));
    let (mut img, source, orientation) = decode(bytes, |w, h, o| {
        let swaps = autorotate && swaps_axes(o);
        let (ow, oh) = if swaps { (h, w) } else { (w, h) };
        let (tw, th) = shrink_target(pipeline, ow, oh)?;
        Some(if swaps { (th, tw) } else { (tw, th) })
    })?;
    let mut fill = [255u8, 255, 255];
    let mut stretch = Stretch::On;
    if autorotate {
        img.apply_orientation(orientation);
    }
    for op in &pipeline.ops {
        img = apply(img, op, &mut fill, &mut stretch);
    }
    let format = choose_format(pipeline, source, has_transparency(&img), ctx);
    let cap = if format == OutputFormat::Jpeg {
        super::ops::MAX_SIDE_JPEG
    } else {
        super::ops::MAX_SIDE
    };
    if img.width() > cap || img.height() > cap {
        let (w, h) = fit(img.width(), img.height(), cap, cap, false);
        img = resize(&img, w, h);
    }
    let (width, height) = (img.width(), img.height());
    if let Some(n) = pipeline.main_colors {
        let small = if width * height > 128 * 128 {
            let (w, h) = fit(width, height, 128, 128, false);
            resize(&img, w, h)
        } else {
            img
        };
        let colors = color::main_colors(&small, n as usize);
        let list: Vec<String> = colors
            .iter()
            .map(|c| format!("[{}, {}, {}]", c[0], c[1], c[2]))
            .collect();
        return Ok(Processed {
            bytes: format!("{{\"main_colors\": [{}]}}", list.join(", ")).into_bytes(),
            format: None,
            width,
            height,
        });
    }
    let quality = pipeline.quality.unwrap_or(super::ops::Quality::Normal);
    let bytes = encode(img, format, quality.jpeg(), pipeline.progressive, fill)?;
    Ok(Processed {
        bytes,
        format: Some(format),
        width,
        height,
    })
}

/// Whether an EXIF orientation swaps width and height.
fn swaps_axes(o: Orientation) -> bool {
    matches!(
        o,
        Orientation::Rotate90
            | Orientation::Rotate270
            | Orientation::Rotate90FlipH
            | Orientation::Rotate270FlipH
    )
}

/// The size the first operation shrinks an oriented `w`×`h` image to, when it only
/// shrinks it to half or less: JPEGs are then decoded at a reduced scale.
fn shrink_target(pipeline: &Pipeline, w: u32, h: u32) -> Option<(u32, u32)> {
    let (tw, th) = match pipeline.ops.first()? {
        Op::Preview(size) => fit_size(w, h, *size, false),
        Op::Resize(size) => match (size.width, size.height) {
            (Some(tw), Some(th)) => (tw, th),
            _ => fit_size(w, h, *size, true),
        },
        Op::ScaleCrop(cw, ch, _) => {
            let scale = (f64::from(*cw) / f64::from(w)).max(f64::from(*ch) / f64::from(h));
            (
                (f64::from(w) * scale).ceil() as u32,
                (f64::from(h) * scale).ceil() as u32,
            )
        }
        _ => return None,
    };
    (tw.saturating_mul(2) <= w && th.saturating_mul(2) <= h).then_some((tw, th))
}

/// Decodes a JPEG at the smallest DCT scale (1/8, 1/4, 1/2) that stays at least twice
/// `want`, as libvips' shrink-on-load does; `None` to fall back to a full decode.
fn decode_jpeg_scaled(bytes: &[u8], want: (u32, u32)) -> Option<DynamicImage> {
    let mut d = jpeg_decoder::Decoder::new(Cursor::new(bytes));
    d.set_max_decoding_buffer_size(MAX_DECODE_ALLOC as usize);
    let ask = |v: u32| u16::try_from(v.saturating_mul(2)).unwrap_or(u16::MAX);
    d.scale(ask(want.0), ask(want.1)).ok()?;
    let pixels = d.decode().ok()?;
    let info = d.info()?;
    let (w, h) = (u32::from(info.width), u32::from(info.height));
    match info.pixel_format {
        jpeg_decoder::PixelFormat::RGB24 => {
            RgbImage::from_raw(w, h, pixels).map(DynamicImage::ImageRgb8)
        }
        jpeg_decoder::PixelFormat::L8 => image::GrayImage::from_raw(w, h, pixels)
            .map(|g| DynamicImage::ImageRgb8(DynamicImage::ImageLuma8(g).to_rgb8())),
        _ => None,
    }
}

/// Decodes within limits; images are normalised to 8-bit RGB or RGBA. `shrink` may name
/// a size (before orientation) the pipeline shrinks the image to at once, for JPEGs'
/// reduced-scale decoding.
pub fn decode(
    bytes: &[u8],
    shrink: impl FnOnce(u32, u32, Orientation) -> Option<(u32, u32)>,
) -> Result<(DynamicImage, ImageFormat, Orientation), TransformError> {
    let reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|_| TransformError::Undecodable)?;
    let format = reader.format().ok_or(TransformError::UnsupportedFormat)?;
    if !matches!(
        format,
        ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::Gif | ImageFormat::WebP
    ) {
        return Err(TransformError::UnsupportedFormat);
    }
    let mut reader = reader;
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_DECODE_SIDE);
    limits.max_image_height = Some(MAX_DECODE_SIDE);
    limits.max_alloc = Some(MAX_DECODE_ALLOC);
    reader.limits(limits);
    let mut decoder = reader
        .into_decoder()
        .map_err(|_| TransformError::Undecodable)?;
    let (w, h) = decoder.dimensions();
    if u64::from(w) * u64::from(h) > MAX_PIXELS {
        return Err(TransformError::NotAnImage);
    }
    if w == 0 || h == 0 {
        return Err(TransformError::Undecodable);
    }
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let scaled = match shrink(w, h, orientation) {
        Some(want) if format == ImageFormat::Jpeg => decode_jpeg_scaled(bytes, want),
        _ => None,
    };
    let img = match scaled {
        Some(img) => img,
        None => DynamicImage::from_decoder(decoder).map_err(|_| TransformError::Undecodable)?,
    };
    let img = match img {
        DynamicImage::ImageRgb8(_) | DynamicImage::ImageRgba8(_) => img,
        other if other.color().has_alpha() => DynamicImage::ImageRgba8(other.to_rgba8()),
        other => DynamicImage::ImageRgb8(other.to_rgb8()),
    };
    Ok((img, format, orientation))
}

fn apply(img: DynamicImage, op: &Op, fill: &mut [u8; 3], stretch: &mut Stretch) -> DynamicImage {
    let (iw, ih) = (img.width(), img.height());
    match op {
        Op::Preview(size) => {
            let (w, h) = fit_size(iw, ih, *size, false);
            resize(&img, w, h)
        }
        Op::Resize(size) => {
            let (w, h) = match (size.width, size.height) {
                (Some(w), Some(h)) => (w, h),
                _ => fit_size(iw, ih, *size, true),
            };
            if w <= iw && h <= ih || *stretch == Stretch::On {
                return resize(&img, w, h);
            }
            match stretch {
                Stretch::Fill => pad(&img, w.max(iw), h.max(ih), *fill),
                _ => img,
            }
        }
        Op::SmartResize(w, h) => {
            // Approximation: production fills the tile with generated content; the
            // emulator fits the image and pads it with the fill colour.
            let (fw, fh) = fit(iw, ih, *w, *h, true);
            pad(&resize(&img, fw, fh), *w, *h, *fill)
        }
        Op::ScaleCrop(w, h, align) => {
            let scale = (f64::from(*w) / f64::from(iw)).max(f64::from(*h) / f64::from(ih));
            if scale > 1.0 && *stretch != Stretch::On {
                let cropped = crop_at(&img, (*w).min(iw), (*h).min(ih), *align);
                return match stretch {
                    Stretch::Fill => pad(&cropped, *w, *h, *fill),
                    _ => cropped,
                };
            }
            let sw = ((f64::from(iw) * scale).round() as u32).max(*w);
            let sh = ((f64::from(ih) * scale).round() as u32).max(*h);
            crop_at(&resize(&img, sw, sh), *w, *h, *align)
        }
        Op::Crop(size, align) => {
            let (w, h) = match size {
                CropSize::Exact(w, h) => (w.of(iw).max(1), h.of(ih).max(1)),
                CropSize::Ratio(rw, rh) => {
                    let by_width = (u64::from(iw) * u64::from(*rh) / u64::from(*rw)) as u32;
                    if by_width <= ih {
                        (iw, by_width.max(1))
                    } else {
                        ((u64::from(ih) * u64::from(*rw) / u64::from(*rh)) as u32, ih)
                    }
                }
            };
            crop_at(&img, w.min(iw), h.min(ih), *align)
        }
        Op::Stretch(s) => {
            *stretch = *s;
            img
        }
        Op::SetFill(c) => {
            *fill = *c;
            img
        }
        Op::Rotate(angle) => match angle {
            90 => img.rotate270(),
            180 => img.rotate180(),
            270 => img.rotate90(),
            _ => img,
        },
        Op::Autorotate(_) => img,
        Op::Flip => img.flipv(),
        Op::Mirror => img.fliph(),
        Op::Grayscale => with(img, color::grayscale),
        Op::Invert => with(img, color::invert),
        Op::Enhance(s) => with(img, |i| color::enhance(i, *s)),
        Op::Adjust(a) => with(img, |i| color::adjust(i, *a)),
        Op::Filter(name, amount) => with(img, |i| color::filter(i, name, *amount)),
        Op::Blur(strength, amount) => {
            if *strength == 0 {
                return img;
            }
            let blurred = img.fast_blur(*strength as f32 / 2.0);
            match amount {
                None => blurred,
                Some(a) => with(img, |i| {
                    color::mix_with_blurred(i, &blurred, *a as f32 / 100.0)
                }),
            }
        }
        Op::Sharp(strength) => {
            if *strength == 0 {
                return img;
            }
            let blurred = img.fast_blur(1.0);
            with(img, |i| {
                color::mix_with_blurred(i, &blurred, -(*strength as f32) / 10.0)
            })
        }
    }
}

fn with(mut img: DynamicImage, f: impl FnOnce(&mut DynamicImage)) -> DynamicImage {
    f(&mut img);
    img
}

/// Fits `iw`×`ih` into `bw`×`bh` keeping proportions; `upscale` allows growing.
fn fit(iw: u32, ih: u32, bw: u32, bh: u32, upscale: bool) -> (u32, u32) {
    let mut scale = (f64::from(bw) / f64::from(iw)).min(f64::from(bh) / f64::from(ih));
    if !upscale {
        scale = scale.min(1.0);
    }
    let w = ((f64::from(iw) * scale).round() as u32).clamp(1, bw.max(1));
    let h = ((f64::from(ih) * scale).round() as u32).clamp(1, bh.max(1));
    (w, h)
}

/// [`fit`] with a missing side unbounded.
fn fit_size(iw: u32, ih: u32, size: Size, upscale: bool) -> (u32, u32) {
    let bw = size.width.unwrap_or(u32::MAX / 4);
    let bh = size.height.unwrap_or(u32::MAX / 4);
    let (w, h) = fit(iw, ih, bw, bh, upscale);
    // Production's sides stay within its limit even when only one was given.
    (
        w.min(super::ops::MAX_SIDE_JPEG),
        h.min(super::ops::MAX_SIDE_JPEG),
    )
}

/// Cuts a `w`×`h` window (already within the image) at `align`.
fn crop_at(img: &DynamicImage, w: u32, h: u32, align: Alignment) -> DynamicImage {
    let (iw, ih) = (img.width(), img.height());
    let (fx, fy) = (iw - w, ih - h);
    let (x, y) = match align {
        Alignment::Center => (fx / 2, fy / 2),
        Alignment::Top => (fx / 2, 0),
        Alignment::Bottom => (fx / 2, fy),
        Alignment::Left => (0, fy / 2),
        Alignment::Right => (fx, fy / 2),
        Alignment::At(x, y) => {
            let place = |l: super::ops::Length, free: u32| match l {
                super::ops::Length::Px(v) => v.min(free),
                super::ops::Length::Percent(p) => ((u64::from(free) * u64::from(p)) / 100) as u32,
            };
            (place(x, fx), place(y, fy))
        }
    };
    if (x, y, w, h) == (0, 0, iw, ih) {
        return img.clone();
    }
    img.crop_imm(x, y, w, h)
}

/// Centres `img` on a `w`×`h` canvas of the fill colour.
fn pad(img: &DynamicImage, w: u32, h: u32, fill: [u8; 3]) -> DynamicImage {
    if (img.width(), img.height()) == (w, h) {
        return img.clone();
    }
    let x = i64::from(w.saturating_sub(img.width()) / 2);
    let y = i64::from(h.saturating_sub(img.height()) / 2);
    match img {
        DynamicImage::ImageRgba8(src) => {
            let mut canvas =
                RgbaImage::from_pixel(w, h, image::Rgba([fill[0], fill[1], fill[2], 255]));
            image::imageops::replace(&mut canvas, src, x, y);
            DynamicImage::ImageRgba8(canvas)
        }
        other => {
            let src = other.to_rgb8();
            let mut canvas = RgbImage::from_pixel(w, h, image::Rgb(fill));
            image::imageops::replace(&mut canvas, &src, x, y);
            DynamicImage::ImageRgb8(canvas)
        }
    }
}

/// Resizes with `fast_image_resize` (Catmull-Rom convolution, alpha-aware).
pub fn resize(img: &DynamicImage, w: u32, h: u32) -> DynamicImage {
    let (w, h) = (w.max(1), h.max(1));
    if (img.width(), img.height()) == (w, h) {
        return img.clone();
    }
    let (pixel_type, buf) = match img {
        DynamicImage::ImageRgb8(b) => (fr::PixelType::U8x3, b.as_raw().as_slice()),
        DynamicImage::ImageRgba8(b) => (fr::PixelType::U8x4, b.as_raw().as_slice()),
        other => return resize(&DynamicImage::ImageRgba8(other.to_rgba8()), w, h),
    };
    let Ok(src) = fr::images::ImageRef::new(img.width(), img.height(), buf, pixel_type) else {
        return img.resize_exact(w, h, image::imageops::FilterType::Triangle);
    };
    let mut dst = fr::images::Image::new(w, h, pixel_type);
    let options =
        fr::ResizeOptions::new().resize_alg(fr::ResizeAlg::Convolution(fr::FilterType::CatmullRom));
    if fr::Resizer::new().resize(&src, &mut dst, &options).is_err() {
        return img.resize_exact(w, h, image::imageops::FilterType::Triangle);
    }
    let raw = dst.into_vec();
    let rebuilt = match pixel_type {
        fr::PixelType::U8x3 => RgbImage::from_raw(w, h, raw).map(DynamicImage::ImageRgb8),
        _ => RgbaImage::from_raw(w, h, raw).map(DynamicImage::ImageRgba8),
    };
    rebuilt.unwrap_or_else(|| img.resize_exact(w, h, image::imageops::FilterType::Triangle))
}

fn has_transparency(img: &DynamicImage) -> bool {
    match img {
        DynamicImage::ImageRgba8(b) => b.as_raw().chunks_exact(4).any(|p| p[3] < 255),
        _ => false,
    }
}

/// The output format: the last `format`, else JPEG, or PNG when there is transparency.
fn choose_format(
    pipeline: &Pipeline,
    source: ImageFormat,
    transparent: bool,
    ctx: Context,
) -> OutputFormat {
    let default = if transparent {
        OutputFormat::Png
    } else {
        OutputFormat::Jpeg
    };
    match pipeline.format {
        Some(FormatRequest::Jpeg) => OutputFormat::Jpeg,
        Some(FormatRequest::Png) => OutputFormat::Png,
        Some(FormatRequest::Webp) => OutputFormat::Webp,
        Some(FormatRequest::Auto) if ctx.accepts_webp => OutputFormat::Webp,
        Some(FormatRequest::Preserve) => match source {
            ImageFormat::Jpeg => OutputFormat::Jpeg,
            ImageFormat::Png => OutputFormat::Png,
            ImageFormat::WebP => OutputFormat::Webp,
            ImageFormat::Gif => OutputFormat::Gif,
            _ => default,
        },
        Some(FormatRequest::Auto) | None => default,
    }
}

fn encode(
    img: DynamicImage,
    format: OutputFormat,
    quality: u8,
    progressive: bool,
    fill: [u8; 3],
) -> Result<Vec<u8>, TransformError> {
    let failed = |e: &dyn std::fmt::Display| TransformError::Internal(format!("encode: {e}"));
    let mut out = Vec::new();
    match format {
        OutputFormat::Jpeg => {
            let rgb = flatten(img, fill);
            let (w, h) = rgb.dimensions();
            let mut encoder = jpeg_encoder::Encoder::new(&mut out, quality);
            encoder.set_progressive(progressive);
            encoder
                .encode(
                    rgb.as_raw(),
                    w as u16,
                    h as u16,
                    jpeg_encoder::ColorType::Rgb,
                )
                .map_err(|e| failed(&e))?;
        }
        OutputFormat::Png => {
            let encoder =
                PngEncoder::new_with_quality(&mut out, CompressionType::Fast, PngFilter::Adaptive);
            img.write_with_encoder(encoder).map_err(|e| failed(&e))?;
        }
        OutputFormat::Webp => {
            img.write_with_encoder(WebPEncoder::new_lossless(&mut out))
                .map_err(|e| failed(&e))?;
        }
        OutputFormat::Gif => {
            DynamicImage::ImageRgba8(img.to_rgba8())
                .write_to(&mut Cursor::new(&mut out), ImageFormat::Gif)
                .map_err(|e| failed(&e))?;
        }
    }
    Ok(out)
}

/// RGB with transparency composited onto the fill colour.
fn flatten(img: DynamicImage, fill: [u8; 3]) -> RgbImage {
    match img {
        DynamicImage::ImageRgb8(b) => b,
        DynamicImage::ImageRgba8(b) => {
            let (w, h) = b.dimensions();
            let mut out = Vec::with_capacity((w * h * 3) as usize);
            for p in b.as_raw().chunks_exact(4) {
                let a = u32::from(p[3]);
                for (c, f) in p[..3].iter().zip(fill.iter()) {
                    out.push(((u32::from(*c) * a + u32::from(*f) * (255 - a) + 127) / 255) as u8);
                }
            }
            RgbImage::from_raw(w, h, out).unwrap_or_else(|| RgbImage::new(w, h))
        }
        other => other.to_rgb8(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fitting() {
        assert_eq!(fit(3000, 2000, 300, 300, false), (300, 200));
        assert_eq!(fit(30, 20, 300, 300, false), (30, 20));
        assert_eq!(fit(30, 20, 300, 300, true), (300, 200));
        assert_eq!(
            fit_size(
                40,
                20,
                Size {
                    width: Some(20),
                    height: None
                },
                true
            ),
            (20, 10)
        );
    }

    #[test]
    fn jpegs_shrink_on_load() {
        let img = DynamicImage::ImageRgb8(RgbImage::from_fn(800, 400, |x, _| {
            image::Rgb([(x / 4) as u8, 0, 0])
        }));
        let mut jpeg = Vec::new();
        img.write_to(&mut Cursor::new(&mut jpeg), ImageFormat::Jpeg)
            .unwrap();
        let (small, _, _) = decode(&jpeg, |_, _, _| Some((100, 50))).unwrap();
        assert_eq!((small.width(), small.height()), (200, 100));
        let p: Pipeline = Pipeline {
            ops: vec![Op::Preview(Size {
                width: Some(100),
                height: Some(100),
            })],
            ..Pipeline::default()
        };
        assert_eq!(shrink_target(&p, 800, 400), Some((100, 50)));
        assert_eq!(shrink_target(&p, 150, 150), None);
        let out = run(
            &jpeg,
            &p,
            Context {
                accepts_webp: false,
            },
        )
        .unwrap();
        assert_eq!((out.width, out.height), (100, 50));
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(decode(b"not an image", |_, _, _| None).is_err());
        let mut png = Vec::new();
        DynamicImage::ImageRgb8(RgbImage::new(4, 4))
            .write_to(&mut Cursor::new(&mut png), ImageFormat::Png)
            .unwrap();
        png.truncate(png.len() / 2);
        assert!(decode(&png, |_, _, _| None).is_err());
    }
}
