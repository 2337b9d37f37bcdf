//! `remove_bg`: a PNG of the image with its background transparent, as a new file.
//!
//! No segmentation model runs here. The background is estimated from the border: its colour
//! is the per-channel median of the edge pixels, and the background is every pixel
//! connected to the edge whose colour is within a distance of it (a flood fill, so a
//! subject of a similar colour inside the image stays). Edges between the two get partial
//! alpha when `semitransparency` is on (the default). The parameters remove.bg documents
//! are applied: `roi` (outside it is background), `crop` with `crop_margin`, `scale` with
//! `position`, `add_shadow` (a soft shadow under the subject), `channels` (`rgba`, or
//! `alpha` for the mask alone as a grayscale PNG). `type` and `type_level` only decide the
//! `foreground_type` the appdata reports (see `crate::addons`).

use std::collections::VecDeque;
use std::io::Cursor;

use image::codecs::png::PngEncoder;
use image::imageops::{self, FilterType};
use image::{GrayImage, ImageEncoder, Luma, Rgba, RgbaImage};
use serde_json::{Map, Value};

/// The appdata `version` (production's).
pub const VERSION: &str = "1.0";

/// Colour distance (RGB, Euclidean) under which a pixel is background.
const NEAR: f32 = 40.0;
/// Colour distance over which a pixel is foreground; between the two, partial alpha.
const FAR: f32 = 80.0;
/// Largest image the add-on processes (remove.bg's own limit is 50 megapixels).
const MAX_PIXELS: u64 = 50_000_000;

/// A length in pixels or in percent of a reference length.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Length {
    Px(f32),
    Percent(f32),
}

impl Length {
    fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        let (number, percent) = match s.strip_suffix('%') {
            Some(n) => (n, true),
            None => (s.strip_suffix("px").unwrap_or(s), false),
        };
        let v: f32 = number
            .parse()
            .ok()
            .filter(|v: &f32| v.is_finite() && *v >= 0.0)?;
        Some(if percent {
            Length::Percent(v)
        } else {
            Length::Px(v)
        })
    }

    fn of(self, reference: u32) -> f32 {
        match self {
            Length::Px(v) => v,
            Length::Percent(p) => reference as f32 * p / 100.0,
        }
    }
}

/// The validated `params` of a remove.bg run.
#[derive(Clone, Debug, PartialEq)]
pub struct Params {
    crop: bool,
    crop_margin: Length,
    scale: Option<f32>,
    add_shadow: bool,
    /// `type_level`: `None` for `none` (no `foreground_type` reported).
    pub type_level: Option<String>,
    /// `type`, if given.
    pub foreground: Option<String>,
    semitransparency: bool,
    alpha_only: bool,
    roi: Option<[Length; 4]>,
    position: Option<(f32, f32)>,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            crop: false,
            crop_margin: Length::Px(0.0),
            scale: None,
            add_shadow: false,
            type_level: None,
            foreground: None,
            semitransparency: true,
            alpha_only: false,
            roi: None,
            position: None,
        }
    }
}

impl Params {
    /// Reads `params`; `Err` names the parameter and what it takes.
    pub fn parse(params: &Map<String, Value>) -> Result<Self, String> {
        let mut p = Params::default();
        for (key, value) in params {
            let boolean = || {
                value
                    .as_bool()
                    .ok_or_else(|| format!("`{key}` must be a boolean."))
            };
            let text = || {
                value
                    .as_str()
                    .ok_or_else(|| format!("`{key}` must be a string."))
            };
            let one_of = |allowed: &[&str]| -> Result<String, String> {
                let v = text()?;
                if allowed.contains(&v) {
                    Ok(v.to_owned())
                } else {
                    Err(format!("`{key}` must be one of: {}.", allowed.join(", ")))
                }
            };
            match key.as_str() {
                "crop" => p.crop = boolean()?,
                "add_shadow" => p.add_shadow = boolean()?,
                "semitransparency" => p.semitransparency = boolean()?,
                "crop_margin" => {
                    p.crop_margin = Length::parse(text()?)
                        .filter(|l| !matches!(l, Length::Percent(v) if *v > 50.0))
                        .ok_or("`crop_margin` must be like 30px or 10% (at most 50%).")?;
                }
                "scale" => {
                    let v = text()?;
                    p.scale = if v == "original" {
                        None
                    } else {
                        match Length::parse(v) {
                            Some(Length::Percent(s)) if (10.0..=100.0).contains(&s) => {
                                Some(s / 100.0)
                            }
                            _ => {
                                return Err("`scale` must be from 10% to 100%, or original.".into())
                            }
                        }
                    };
                }
                "type_level" => {
                    let v = one_of(&["none", "1", "2", "latest"])?;
                    p.type_level = (v != "none").then_some(v);
                }
                "type" => p.foreground = Some(one_of(&["auto", "person", "product", "car"])?),
                "channels" => p.alpha_only = one_of(&["rgba", "alpha"])? == "alpha",
                "roi" => {
                    let parts: Vec<Length> = text()?
                        .split_whitespace()
                        .map(Length::parse)
                        .collect::<Option<_>>()
                        .filter(|v: &Vec<Length>| v.len() == 4)
                        .ok_or("`roi` must be four coordinates, like \"0% 0% 90% 90%\".")?;
                    p.roi = Some([parts[0], parts[1], parts[2], parts[3]]);
                }
                "position" => {
                    let v = text()?;
                    let bad = || "`position` must be original, center, or one or two percentages.";
                    p.position = match v {
                        "original" => None,
                        "center" => Some((0.5, 0.5)),
                        _ => {
                            let parts: Vec<f32> = v
                                .split_whitespace()
                                .map(|s| match Length::parse(s) {
                                    Some(Length::Percent(x)) if x <= 100.0 => Some(x / 100.0),
                                    _ => None,
                                })
                                .collect::<Option<_>>()
                                .ok_or_else(bad)?;
                            match parts[..] {
                                [x] => Some((x, x)),
                                [x, y] => Some((x, y)),
                                _ => return Err(bad().into()),
                            }
                        }
                    };
                }
                _ => return Err(format!("Unknown parameter `{key}`.")),
            }
        }
        Ok(p)
    }
}

/// Removes the background of the encoded image `bytes`; the result is PNG bytes. `Err` when
/// the bytes are not an image it can decode (the run ends in `error`).
pub fn run(bytes: &[u8], params: &Params) -> Result<Vec<u8>, String> {
    let reader = image::ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| e.to_string())?;
    let (w, h) = reader.into_dimensions().map_err(|e| e.to_string())?;
    if u64::from(w) * u64::from(h) > MAX_PIXELS {
        return Err("image too large".into());
    }
    let img = image::load_from_memory(bytes).map_err(|e| e.to_string())?;
    let mut rgba = img.to_rgba8();
    let alpha = background_mask(&rgba, params);
    for (p, a) in rgba.pixels_mut().zip(alpha.pixels()) {
        p.0[3] = ((u16::from(p.0[3]) * u16::from(a.0[0])) / 255) as u8;
    }
    let mut out = rgba;
    if params.crop {
        out = crop_to_subject(&out, params.crop_margin);
    }
    if let Some(scale) = params.scale {
        out = place(&out, scale, params.position.unwrap_or((0.5, 0.5)));
    } else if let Some(position) = params.position {
        out = place(&out, 1.0, position);
    }
    if params.add_shadow {
        out = with_shadow(&out);
    }
    let mut png = Vec::new();
    let encoder = PngEncoder::new(&mut png);
    if params.alpha_only {
        let mask = GrayImage::from_fn(out.width(), out.height(), |x, y| {
            Luma([out.get_pixel(x, y).0[3]])
        });
        encoder.write_image(
            mask.as_raw(),
            mask.width(),
            mask.height(),
            image::ExtendedColorType::L8,
        )
    } else {
        encoder.write_image(
            out.as_raw(),
            out.width(),
            out.height(),
            image::ExtendedColorType::Rgba8,
        )
    }
    .map_err(|e| e.to_string())?;
    Ok(png)
}

/// Alpha per pixel: 0 for background, 255 for foreground.
fn background_mask(img: &RgbaImage, params: &Params) -> GrayImage {
    let (w, h) = img.dimensions();
    let bg = border_colour(img);
    let distance = |p: &Rgba<u8>| -> f32 {
        let d: f32 = (0..3)
            .map(|i| (f32::from(p.0[i]) - f32::from(bg[i])).powi(2))
            .sum();
        d.sqrt()
    };
    let mut alpha = GrayImage::from_pixel(w, h, Luma([255]));
    let mut seen = vec![false; (w as usize) * (h as usize)];
    let mut queue = VecDeque::new();
    let idx = |x: u32, y: u32| (y as usize) * (w as usize) + x as usize;
    for x in 0..w {
        queue.push_back((x, 0));
        queue.push_back((x, h - 1));
    }
    for y in 0..h {
        queue.push_back((0, y));
        queue.push_back((w - 1, y));
    }
    while let Some((x, y)) = queue.pop_front() {
        if seen[idx(x, y)] {
            continue;
        }
        seen[idx(x, y)] = true;
        let d = distance(img.get_pixel(x, y));
        if d >= FAR {
            continue;
        }
        let a = if d <= NEAR {
            0.0
        } else if params.semitransparency {
            (d - NEAR) / (FAR - NEAR) * 255.0
        } else {
            255.0
        };
        alpha.put_pixel(x, y, Luma([a.round() as u8]));
        if d > NEAR {
            // An edge pixel: the fill stops here.
            continue;
        }
        let mut push = |nx: u32, ny: u32| {
            if !seen[idx(nx, ny)] {
                queue.push_back((nx, ny));
            }
        };
        if x > 0 {
            push(x - 1, y);
        }
        if x + 1 < w {
            push(x + 1, y);
        }
        if y > 0 {
            push(x, y - 1);
        }
        if y + 1 < h {
            push(x, y + 1);
        }
    }
    if let Some([x1, y1, x2, y2]) = params.roi {
        let (x1, x2) = (x1.of(w), x2.of(w));
        let (y1, y2) = (y1.of(h), y2.of(h));
        for (x, y, a) in alpha.enumerate_pixels_mut() {
            let (fx, fy) = (x as f32 + 0.5, y as f32 + 0.5);
            if fx < x1 || fx > x2 || fy < y1 || fy > y2 {
                a.0[0] = 0;
            }
        }
    }
    alpha
}

/// The per-channel median of the edge pixels.
fn border_colour(img: &RgbaImage) -> [u8; 3] {
    let (w, h) = img.dimensions();
    let mut channels: [Vec<u8>; 3] = Default::default();
    let mut add = |p: &Rgba<u8>| {
        for (i, c) in channels.iter_mut().enumerate() {
            c.push(p.0[i]);
        }
    };
    for x in 0..w {
        add(img.get_pixel(x, 0));
        add(img.get_pixel(x, h - 1));
    }
    for y in 0..h {
        add(img.get_pixel(0, y));
        add(img.get_pixel(w - 1, y));
    }
    let mut out = [0u8; 3];
    for (i, c) in channels.iter_mut().enumerate() {
        c.sort_unstable();
        out[i] = c[c.len() / 2];
    }
    out
}

/// The bounding box of the visible pixels, `None` when there is none.
fn subject_box(img: &RgbaImage) -> Option<(u32, u32, u32, u32)> {
    let mut b: Option<(u32, u32, u32, u32)> = None;
    for (x, y, p) in img.enumerate_pixels() {
        if p.0[3] > 0 {
            b = Some(match b {
                None => (x, y, x, y),
                Some((x1, y1, x2, y2)) => (x1.min(x), y1.min(y), x2.max(x), y2.max(y)),
            });
        }
    }
    b
}

/// Crops to the subject plus `margin` (relative to the subject's size), within the image.
fn crop_to_subject(img: &RgbaImage, margin: Length) -> RgbaImage {
    let Some((x1, y1, x2, y2)) = subject_box(img) else {
        return img.clone();
    };
    let (sw, sh) = (x2 - x1 + 1, y2 - y1 + 1);
    let mx = margin.of(sw).round() as u32;
    let my = margin.of(sh).round() as u32;
    let x = x1.saturating_sub(mx);
    let y = y1.saturating_sub(my);
    let w = (x2 + mx + 1).min(img.width()) - x;
    let h = (y2 + my + 1).min(img.height()) - y;
    imageops::crop_imm(img, x, y, w, h).to_image()
}

/// Places the subject on a transparent canvas of the image's size: scaled so its larger
/// side relative to the canvas is `scale`, its centre at `position` (fractions).
fn place(img: &RgbaImage, scale: f32, (px, py): (f32, f32)) -> RgbaImage {
    let (cw, ch) = img.dimensions();
    let Some((x1, y1, x2, y2)) = subject_box(img) else {
        return img.clone();
    };
    let subject = imageops::crop_imm(img, x1, y1, x2 - x1 + 1, y2 - y1 + 1).to_image();
    let (sw, sh) = subject.dimensions();
    let factor = (scale * cw as f32 / sw as f32).min(scale * ch as f32 / sh as f32);
    let (nw, nh) = (
        ((sw as f32 * factor).round() as u32).max(1),
        ((sh as f32 * factor).round() as u32).max(1),
    );
    let resized = imageops::resize(&subject, nw, nh, FilterType::Triangle);
    let mut canvas = RgbaImage::new(cw, ch);
    let x = (px * cw as f32 - nw as f32 / 2.0).round() as i64;
    let y = (py * ch as f32 - nh as f32 / 2.0).round() as i64;
    imageops::overlay(&mut canvas, &resized, x, y);
    canvas
}

/// The subject over a soft dark shadow, offset down and right by 2% of the size.
fn with_shadow(img: &RgbaImage) -> RgbaImage {
    let (w, h) = img.dimensions();
    let shadow_alpha = GrayImage::from_fn(w, h, |x, y| Luma([img.get_pixel(x, y).0[3] / 2]));
    let sigma = (w.max(h) as f32 / 100.0).max(1.0);
    let blurred = imageops::blur(&shadow_alpha, sigma);
    let mut canvas = RgbaImage::new(w, h);
    let dx = i64::from((w / 50).max(1));
    let dy = i64::from((h / 50).max(1));
    let shadow = RgbaImage::from_fn(w, h, |x, y| Rgba([0, 0, 0, blurred.get_pixel(x, y).0[0]]));
    imageops::overlay(&mut canvas, &shadow, dx, dy);
    imageops::overlay(&mut canvas, img, 0, 0);
    canvas
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn params(v: Value) -> Result<Params, String> {
        Params::parse(v.as_object().unwrap())
    }

    /// A white 40×30 image with a red 10×10 square at (15, 10).
    fn square() -> Vec<u8> {
        let img = RgbaImage::from_fn(40, 30, |x, y| {
            if (15..25).contains(&x) && (10..20).contains(&y) {
                Rgba([200, 20, 20, 255])
            } else {
                Rgba([250, 250, 250, 255])
            }
        });
        let mut out = Vec::new();
        PngEncoder::new(&mut out)
            .write_image(img.as_raw(), 40, 30, image::ExtendedColorType::Rgba8)
            .unwrap();
        out
    }

    #[test]
    fn background_becomes_transparent() {
        let out = image::load_from_memory(&run(&square(), &Params::default()).unwrap())
            .unwrap()
            .to_rgba8();
        assert_eq!(out.dimensions(), (40, 30));
        assert_eq!(out.get_pixel(0, 0).0[3], 0);
        assert_eq!(out.get_pixel(39, 29).0[3], 0);
        assert_eq!(out.get_pixel(20, 15).0, [200, 20, 20, 255]);
    }

    #[test]
    fn crop_alpha_and_roi() {
        let p = params(json!({"crop": true, "crop_margin": "2px"})).unwrap();
        let out = image::load_from_memory(&run(&square(), &p).unwrap()).unwrap();
        assert_eq!((out.width(), out.height()), (14, 14));
        let p = params(json!({"channels": "alpha"})).unwrap();
        let out = image::load_from_memory(&run(&square(), &p).unwrap()).unwrap();
        assert_eq!(out.color(), image::ColorType::L8);
        assert_eq!(out.to_luma8().get_pixel(20, 15).0[0], 255);
        let p = params(json!({"roi": "0% 0% 50% 100%"})).unwrap();
        let out = image::load_from_memory(&run(&square(), &p).unwrap())
            .unwrap()
            .to_rgba8();
        assert_eq!(
            (out.get_pixel(17, 15).0[3], out.get_pixel(22, 15).0[3]),
            (255, 0)
        );
        let p = params(json!({"scale": "50%", "position": "center", "add_shadow": true})).unwrap();
        let out = image::load_from_memory(&run(&square(), &p).unwrap())
            .unwrap()
            .to_rgba8();
        assert_eq!(out.dimensions(), (40, 30));
        assert_eq!(out.get_pixel(20, 15).0[3], 255);
        assert!(run(b"not an image", &Params::default()).is_err());
    }

    #[test]
    fn params_are_validated() {
        assert!(params(json!({})).is_ok());
        for (bad, why) in [
            (json!({"crop": "yes"}), "`crop` must be a boolean."),
            (
                json!({"type": "cat"}),
                "`type` must be one of: auto, person, product, car.",
            ),
            (json!({"type_level": 3}), "`type_level` must be a string."),
            (
                json!({"channels": "rgb"}),
                "`channels` must be one of: rgba, alpha.",
            ),
            (
                json!({"scale": "5%"}),
                "`scale` must be from 10% to 100%, or original.",
            ),
            (
                json!({"crop_margin": "60%"}),
                "`crop_margin` must be like 30px or 10% (at most 50%).",
            ),
            (
                json!({"roi": "0 0 1"}),
                "`roi` must be four coordinates, like \"0% 0% 90% 90%\".",
            ),
            (
                json!({"position": "left"}),
                "`position` must be original, center, or one or two percentages.",
            ),
            (json!({"colour": "red"}), "Unknown parameter `colour`."),
        ] {
            assert_eq!(params(bad).unwrap_err(), why);
        }
        let p = params(json!({"type_level": "2", "type": "car"})).unwrap();
        assert_eq!(
            (p.type_level.as_deref(), p.foreground.as_deref()),
            (Some("2"), Some("car"))
        );
    }
}
