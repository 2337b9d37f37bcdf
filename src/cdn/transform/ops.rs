//! The typed operations of Uploadcare's image-processing URL grammar
//! (`-/<name>/<param>/…/`, url-api.openapi.yml and the image-processing docs), parsed from
//! the raw [`Operation`]s of [`crate::cdn::path`]. Parsing checks names, parameters and
//! production's size limits; nothing here touches pixels.

use std::fmt;

use super::error::TransformError;
use crate::cdn::path::Operation;

/// Largest output side production allows for PNG and WebP.
pub const MAX_SIDE: u32 = 3000;
/// Largest output side production allows with `-/format/jpeg/`.
pub const MAX_SIDE_JPEG: u32 = 5000;
/// `-/preview/` without dimensions fits the image into this square (production's default).
pub const PREVIEW_DEFAULT: u32 = 2048;

/// A size where either side may be left to the image's proportions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Size {
    /// Width in pixels, if given.
    pub width: Option<u32>,
    /// Height in pixels, if given.
    pub height: Option<u32>,
}

/// A length in pixels or in percent of the image's side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Length {
    /// Pixels.
    Px(u32),
    /// Percent (`50p`).
    Percent(u32),
}

impl Length {
    /// The length in pixels against a side of `side` pixels.
    pub fn of(self, side: u32) -> u32 {
        match self {
            Length::Px(v) => v,
            Length::Percent(p) => ((u64::from(side) * u64::from(p)) / 100) as u32,
        }
    }
}

/// Where a crop window sits inside the image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Alignment {
    /// Centred (also what `smart` crop modes fall back to).
    Center,
    /// Top edge, centred horizontally.
    Top,
    /// Bottom edge, centred horizontally.
    Bottom,
    /// Left edge, centred vertically.
    Left,
    /// Right edge, centred vertically.
    Right,
    /// `x,y`: each a pixel offset of the window's top-left corner, or a percent of the
    /// free space (`0p` flush left/top, `100p` flush right/bottom).
    At(Length, Length),
}

/// What a crop cuts: a size, or the largest window of a ratio.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CropSize {
    /// `WxH`, each in pixels or percent.
    Exact(Length, Length),
    /// `W:H`.
    Ratio(u32, u32),
}

/// `-/stretch/`: what resizing does when the image is smaller than asked.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Stretch {
    /// Upscale (production's default).
    #[default]
    On,
    /// Never upscale.
    Off,
    /// Never upscale; pad to the asked size with the fill colour.
    Fill,
}

/// `-/format/`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FormatRequest {
    /// JPEG.
    Jpeg,
    /// PNG.
    Png,
    /// WebP (lossless: the only WebP encoder in pure Rust).
    Webp,
    /// WebP when the request's `Accept` lists it, else JPEG, or PNG for transparency.
    Auto,
    /// The source's format when it can be written (JPEG, PNG, WebP, GIF).
    Preserve,
}

impl FormatRequest {
    /// The format a `-/format/<name>/` names, if any.
    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "jpeg" | "jpg" => FormatRequest::Jpeg,
            "png" => FormatRequest::Png,
            "webp" => FormatRequest::Webp,
            "auto" => FormatRequest::Auto,
            "preserve" => FormatRequest::Preserve,
            _ => return None,
        })
    }
}

/// `-/quality/`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quality {
    /// `normal` (the default).
    Normal,
    /// `better`.
    Better,
    /// `best`.
    Best,
    /// `lighter`.
    Lighter,
    /// `lightest`.
    Lightest,
    /// `smart`.
    Smart,
    /// `smart_retina`.
    SmartRetina,
}

impl Quality {
    /// The quality a `-/quality/<name>/` names, if any.
    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "normal" => Quality::Normal,
            "better" => Quality::Better,
            "best" => Quality::Best,
            "lighter" => Quality::Lighter,
            "lightest" => Quality::Lightest,
            "smart" => Quality::Smart,
            "smart_retina" => Quality::SmartRetina,
            _ => return None,
        })
    }

    /// The JPEG quality (1–100) the emulator encodes with.
    pub fn jpeg(self) -> u8 {
        match self {
            Quality::Lightest => 38,
            Quality::Lighter | Quality::SmartRetina => 55,
            Quality::Normal | Quality::Smart => 75,
            Quality::Better => 85,
            Quality::Best => 95,
        }
    }
}

/// The editor's and apps' colour adjustments, each with production's range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Adjust {
    /// `brightness/-100..100`.
    Brightness(i32),
    /// `exposure/-500..500`.
    Exposure(i32),
    /// `gamma/0..1000` (100 leaves the image as it is).
    Gamma(i32),
    /// `contrast/-100..500`.
    Contrast(i32),
    /// `saturation/-100..500`.
    Saturation(i32),
    /// `vibrance/-100..500`.
    Vibrance(i32),
    /// `warmth/-100..100`.
    Warmth(i32),
}

/// One image operation, in URL order.
#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    /// `preview[/WxH]`: fit inside, never upscale.
    Preview(Size),
    /// `resize/WxH|Wx|xH`.
    Resize(Size),
    /// `smart_resize/WxH`.
    SmartResize(u32, u32),
    /// `scale_crop/WxH[/alignment]`.
    ScaleCrop(u32, u32, Alignment),
    /// `crop/WxH|W:H[/alignment]`.
    Crop(CropSize, Alignment),
    /// `stretch/on|off|fill` (applies to later resizes).
    Stretch(Stretch),
    /// `setfill/<hex>` (padding and transparency flattened for JPEG).
    SetFill([u8; 3]),
    /// `rotate/<multiple of 90>`, counterclockwise.
    Rotate(u32),
    /// `autorotate/yes|no`.
    Autorotate(bool),
    /// `flip` (upside down).
    Flip,
    /// `mirror` (left-right).
    Mirror,
    /// `grayscale`.
    Grayscale,
    /// `invert`.
    Invert,
    /// `blur[/strength[/amount]]`.
    Blur(u32, Option<i32>),
    /// `sharp[/strength]`.
    Sharp(u32),
    /// `enhance[/strength]`.
    Enhance(u32),
    /// A colour adjustment.
    Adjust(Adjust),
    /// `filter/<name>[/amount]`.
    Filter(String, i32),
}

/// A parsed operation list: image operations in order, output settings, and what the
/// answer is (an image, its JSON facts, or its main colours).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Pipeline {
    /// Image operations in URL order.
    pub ops: Vec<Op>,
    /// The last `format`, if any.
    pub format: Option<FormatRequest>,
    /// The last `quality`, if any.
    pub quality: Option<Quality>,
    /// `progressive/yes`.
    pub progressive: bool,
    /// Whether any operation asks for processing (anything but `inline`, `json` and
    /// `detect_faces`).
    pub processes: bool,
    /// `-/json/`: answer the (processed) image's facts.
    pub json: bool,
    /// `-/main_colors[/N]/`: answer the processed image's N main colours.
    pub main_colors: Option<u32>,
    /// `/detect_faces/`: answer the image's facts with the faces found (none).
    pub detect_faces: bool,
}

/// Filter names of the File Uploader's editor and pyuploadcare's `ImageFilter`.
pub const FILTERS: [&str; 40] = [
    "adaris",
    "briaril",
    "calarel",
    "carris",
    "cynarel",
    "cyren",
    "elmet",
    "elonni",
    "enzana",
    "erydark",
    "fenralan",
    "ferand",
    "galen",
    "gavin",
    "gethriel",
    "iorill",
    "iothari",
    "iselva",
    "jadis",
    "lavra",
    "misiara",
    "namala",
    "nerion",
    "nethari",
    "pamaya",
    "sarnar",
    "sedis",
    "sewen",
    "sorahel",
    "sorlen",
    "tarian",
    "thellassan",
    "varriel",
    "varven",
    "vevera",
    "virkas",
    "yedis",
    "yllara",
    "zatvel",
    "zevcen",
];

/// Operations production has whose output the emulator cannot produce (overlays, text,
/// object-aware crops): refused with [`TransformError::NotEmulated`] rather than answered
/// with an image that only looks processed. Listed in COMPATIBILITY.md.
const NOT_EMULATED: [&str; 10] = [
    "overlay",
    "text",
    "text_align",
    "font",
    "text_box",
    "rect",
    "border_radius",
    "trim",
    "zoom_objects",
    "blur_region",
];

impl Pipeline {
    /// Parses operations (a group member's default effects first, then the URL's).
    pub fn parse(operations: &[Operation]) -> Result<Self, TransformError> {
        let mut p = Pipeline::default();
        for op in operations {
            p.push(op)?;
        }
        p.check_limits()?;
        Ok(p)
    }

    fn push(&mut self, op: &Operation) -> Result<(), TransformError> {
        let bad = || TransformError::bad_params(op);
        let params: Vec<&str> = op.params.iter().map(String::as_str).collect();
        let image = |p: &mut Pipeline, o: Op| {
            p.ops.push(o);
            p.processes = true;
        };
        match (op.name.as_str(), params.as_slice()) {
            ("inline", ["yes" | "no"]) | ("inline", []) => {}
            ("json", []) => self.json = true,
            ("detect_faces", []) => self.detect_faces = true,
            ("main_colors", []) => {
                self.main_colors = Some(4);
                self.processes = true;
            }
            ("main_colors", [n]) => {
                let n = number(n).filter(|n| (1..=16).contains(n)).ok_or_else(bad)?;
                self.main_colors = Some(n);
                self.processes = true;
            }
            ("preview", []) => image(
                self,
                Op::Preview(Size {
                    width: Some(PREVIEW_DEFAULT),
                    height: Some(PREVIEW_DEFAULT),
                }),
            ),
            ("preview", [size]) => {
                let s = size_of(size, false).ok_or_else(bad)?;
                image(self, Op::Preview(s));
            }
            ("resize", [size]) => {
                let s = size_of(size, false).ok_or_else(bad)?;
                image(self, Op::Resize(s));
            }
            ("smart_resize", [size]) => {
                let (w, h) = both(size).ok_or_else(bad)?;
                image(self, Op::SmartResize(w, h));
            }
            ("scale_crop", [size, rest @ ..]) => {
                let (w, h) = both(size).ok_or_else(bad)?;
                let align = match rest {
                    [] => Alignment::Center,
                    [mode] if mode.starts_with("smart") => Alignment::Center,
                    [mode, a] if mode.starts_with("smart") => alignment(a).ok_or_else(bad)?,
                    [a] => alignment(a).ok_or_else(bad)?,
                    _ => return Err(bad()),
                };
                image(self, Op::ScaleCrop(w, h, align));
            }
            ("crop", [size, rest @ ..]) => {
                let crop = crop_size(size).ok_or_else(bad)?;
                let align = match rest {
                    [] => Alignment::At(Length::Px(0), Length::Px(0)),
                    [a] => alignment(a).ok_or_else(bad)?,
                    _ => return Err(bad()),
                };
                image(self, Op::Crop(crop, align));
            }
            ("stretch", [mode]) => {
                let s = match *mode {
                    "on" => Stretch::On,
                    "off" => Stretch::Off,
                    "fill" => Stretch::Fill,
                    _ => return Err(bad()),
                };
                image(self, Op::Stretch(s));
            }
            ("setfill", [color]) => {
                let c = hex_color(color).ok_or_else(bad)?;
                image(self, Op::SetFill(c));
            }
            ("format", [f]) => {
                self.format = Some(FormatRequest::parse(f).ok_or_else(bad)?);
                self.processes = true;
            }
            ("quality", [q]) => {
                self.quality = Some(Quality::parse(q).ok_or_else(bad)?);
                self.processes = true;
            }
            ("progressive", [v @ ("yes" | "no")]) => {
                self.progressive = *v == "yes";
                self.processes = true;
            }
            ("rotate", [angle]) => {
                let a = number(angle).filter(|a| a % 90 == 0).ok_or_else(bad)?;
                image(self, Op::Rotate(a % 360));
            }
            ("autorotate", [v @ ("yes" | "no")]) => image(self, Op::Autorotate(*v == "yes")),
            ("flip", []) => image(self, Op::Flip),
            ("mirror", []) => image(self, Op::Mirror),
            ("grayscale", []) => image(self, Op::Grayscale),
            ("invert", []) => image(self, Op::Invert),
            ("blur", rest) => {
                let (strength, amount) = match rest {
                    [] => (10, None),
                    [s] => (ranged(s, 0, 5000).ok_or_else(bad)?, None),
                    [s, a] => (
                        ranged(s, 0, 5000).ok_or_else(bad)?,
                        Some(signed(a, -200, 100).ok_or_else(bad)?),
                    ),
                    _ => return Err(bad()),
                };
                image(self, Op::Blur(strength, amount));
            }
            ("sharp", rest) => {
                let s = optional_value(rest, 5, |s| ranged(s, 0, 20)).ok_or_else(bad)?;
                image(self, Op::Sharp(s));
            }
            ("enhance", rest) => {
                let s = optional_value(rest, 50, |s| ranged(s, 0, 100)).ok_or_else(bad)?;
                image(self, Op::Enhance(s));
            }
            (
                name @ ("brightness" | "exposure" | "gamma" | "contrast" | "saturation"
                | "vibrance" | "warmth"),
                rest,
            ) => {
                let value = |lo, hi, default| optional_value(rest, default, |v| signed(v, lo, hi));
                let adjust = match name {
                    "brightness" => Adjust::Brightness(value(-100, 100, 0).ok_or_else(bad)?),
                    "exposure" => Adjust::Exposure(value(-500, 500, 0).ok_or_else(bad)?),
                    "gamma" => Adjust::Gamma(value(0, 1000, 100).ok_or_else(bad)?),
                    "contrast" => Adjust::Contrast(value(-100, 500, 0).ok_or_else(bad)?),
                    "saturation" => Adjust::Saturation(value(-100, 500, 0).ok_or_else(bad)?),
                    "vibrance" => Adjust::Vibrance(value(-100, 500, 0).ok_or_else(bad)?),
                    _ => Adjust::Warmth(value(-100, 100, 0).ok_or_else(bad)?),
                };
                image(self, Op::Adjust(adjust));
            }
            ("filter", [name, rest @ ..]) => {
                if !FILTERS.contains(name) {
                    return Err(bad());
                }
                let amount = optional_value(rest, 100, |a| signed(a, -100, 200)).ok_or_else(bad)?;
                image(self, Op::Filter((*name).to_owned(), amount));
            }
            ("srgb", ["fast" | "icc" | "keep_profile"])
            | ("strip_meta", ["all" | "none" | "sensitive"]) => self.processes = true,
            // Output never carries an ICC profile, and SVG is not decoded at all, so these
            // change nothing the emulator produces.
            ("max_icc_size" | "rasterize", _) => self.processes = true,
            (name, _) if NOT_EMULATED.contains(&name) => {
                return Err(TransformError::NotEmulated(name.to_owned()))
            }
            (
                "preview" | "resize" | "smart_resize" | "scale_crop" | "crop" | "stretch"
                | "setfill" | "format" | "quality" | "progressive" | "rotate" | "autorotate"
                | "flip" | "mirror" | "grayscale" | "invert" | "filter" | "srgb" | "strip_meta"
                | "json" | "main_colors",
                _,
            ) => return Err(bad()),
            _ => return Err(TransformError::UnknownOperation(op.name.clone())),
        }
        Ok(())
    }

    /// Production's output limits: 3000 px a side, 5000 with `-/format/jpeg/`.
    fn check_limits(&self) -> Result<(), TransformError> {
        let limit = self.max_side();
        let too_big = |v: u32| v > limit;
        for op in &self.ops {
            let sides: [Option<u32>; 2] = match op {
                Op::Preview(s) | Op::Resize(s) => [s.width, s.height],
                Op::SmartResize(w, h) | Op::ScaleCrop(w, h, _) => [Some(*w), Some(*h)],
                Op::Crop(CropSize::Exact(w, h), _) => [px(*w), px(*h)],
                _ => [None, None],
            };
            // `preview` without dimensions is production's default, not a request.
            if sides.iter().flatten().any(|v| too_big(*v)) {
                return Err(TransformError::TooLarge);
            }
        }
        Ok(())
    }

    /// The largest output side this pipeline may produce.
    pub fn max_side(&self) -> u32 {
        if self.format == Some(FormatRequest::Jpeg) {
            MAX_SIDE_JPEG
        } else {
            MAX_SIDE
        }
    }
}

fn px(l: Length) -> Option<u32> {
    match l {
        Length::Px(v) => Some(v),
        Length::Percent(_) => None,
    }
}

/// A canonical spelling of the pipeline, the variant cache's key.
impl fmt::Display for Pipeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?}|{:?}|{:?}|{}|{:?}",
            self.ops, self.format, self.quality, self.progressive, self.main_colors
        )
    }
}

/// A positive decimal of at most 5 digits.
fn number(s: &str) -> Option<u32> {
    if s.is_empty() || s.len() > 5 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// An operation's optional last value: `default` when absent, else what `parse` makes of
/// it; `None` when it does not parse or more values follow.
fn optional_value<T>(
    rest: &[&str],
    default: T,
    parse: impl FnOnce(&str) -> Option<T>,
) -> Option<T> {
    match rest {
        [] => Some(default),
        [v] => parse(v),
        _ => None,
    }
}

fn ranged(s: &str, lo: u32, hi: u32) -> Option<u32> {
    number(s).filter(|v| (lo..=hi).contains(v))
}

fn signed(s: &str, lo: i32, hi: i32) -> Option<i32> {
    let (neg, digits) = match s.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, s),
    };
    let v = number(digits)? as i32;
    let v = if neg { -v } else { v };
    (lo..=hi).contains(&v).then_some(v)
}

/// `WxH`, `Wx` or `xH` (`require_both` refuses the one-sided forms); sides are 1 or more.
fn size_of(s: &str, require_both: bool) -> Option<Size> {
    let (w, h) = s.split_once('x')?;
    let side = |v: &str| -> Option<Option<u32>> {
        if v.is_empty() {
            Some(None)
        } else {
            number(v).filter(|n| *n > 0).map(Some)
        }
    };
    let (width, height) = (side(w)?, side(h)?);
    if width.is_none() && height.is_none() || require_both && (width.is_none() || height.is_none())
    {
        return None;
    }
    Some(Size { width, height })
}

fn both(s: &str) -> Option<(u32, u32)> {
    let size = size_of(s, true)?;
    Some((size.width?, size.height?))
}

fn length(s: &str) -> Option<Length> {
    match s.strip_suffix('p').or_else(|| s.strip_suffix('%')) {
        Some(p) => number(p).filter(|v| *v <= 100).map(Length::Percent),
        None => number(s).map(Length::Px),
    }
}

fn crop_size(s: &str) -> Option<CropSize> {
    if let Some((w, h)) = s.split_once(':') {
        let (w, h) = (number(w)?, number(h)?);
        return (w > 0 && h > 0).then_some(CropSize::Ratio(w, h));
    }
    let (w, h) = s.split_once('x')?;
    let (w, h) = (length(w)?, length(h)?);
    let positive = |l: Length| !matches!(l, Length::Px(0) | Length::Percent(0));
    (positive(w) && positive(h)).then_some(CropSize::Exact(w, h))
}

fn alignment(s: &str) -> Option<Alignment> {
    Some(match s {
        "center" => Alignment::Center,
        "top" => Alignment::Top,
        "bottom" => Alignment::Bottom,
        "left" => Alignment::Left,
        "right" => Alignment::Right,
        _ => {
            let (x, y) = s.split_once(',')?;
            Alignment::At(length(x)?, length(y)?)
        }
    })
}

/// `rgb`, `rrggbb` or `rrggbbaa` hex (the alpha is ignored).
fn hex_color(s: &str) -> Option<[u8; 3]> {
    if !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let byte = |i: usize| u8::from_str_radix(s.get(i..i + 2)?, 16).ok();
    match s.len() {
        3 => {
            let d = |i: usize| {
                u8::from_str_radix(s.get(i..i + 1)?, 16)
                    .ok()
                    .map(|v| v * 17)
            };
            Some([d(0)?, d(1)?, d(2)?])
        }
        6 | 8 => Some([byte(0)?, byte(2)?, byte(4)?]),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(path: &str) -> Result<Pipeline, TransformError> {
        let ops = crate::cdn::path::parse_effects(path).expect("path");
        Pipeline::parse(&ops)
    }

    #[test]
    fn sizes_and_alignments() {
        let p = parse("resize/20x/-/scale_crop/10x20/30p,40p/-/crop/16:9/center/").unwrap();
        assert_eq!(
            p.ops,
            vec![
                Op::Resize(Size {
                    width: Some(20),
                    height: None
                }),
                Op::ScaleCrop(
                    10,
                    20,
                    Alignment::At(Length::Percent(30), Length::Percent(40))
                ),
                Op::Crop(CropSize::Ratio(16, 9), Alignment::Center),
            ]
        );
        assert!(p.processes);
        let p = parse("scale_crop/10x10/smart_faces/").unwrap();
        assert_eq!(p.ops, vec![Op::ScaleCrop(10, 10, Alignment::Center)]);
        assert_eq!(
            parse("setfill/f00/").unwrap().ops,
            vec![Op::SetFill([255, 0, 0])]
        );
    }

    #[test]
    fn defaults() {
        let p = parse("preview/").unwrap();
        assert_eq!(
            p.ops,
            vec![Op::Preview(Size {
                width: Some(2048),
                height: Some(2048)
            })]
        );
        assert!(!parse("inline/yes/-/json/").unwrap().processes);
    }

    #[test]
    fn refusals() {
        for bad in [
            "resize/abc/",
            "resize/x/",
            "resize/0x10/",
            "resize/10x10/10/",
            "preview/1x1/2/",
            "scale_crop/10x/",
            "crop/10x10/middle/",
            "rotate/45/",
            "format/gif/",
            "quality/great/",
            "blur/9999/",
            "brightness/200/",
            "filter/nope/",
            "setfill/zz/",
            "stretch/maybe/",
            "progressive/1/",
            "json/x/",
        ] {
            assert!(
                matches!(parse(bad), Err(TransformError::BadParams { .. })),
                "{bad}"
            );
        }
        assert_eq!(
            parse("frobnicate/"),
            Err(TransformError::UnknownOperation("frobnicate".into()))
        );
        assert_eq!(parse("resize/3001x/"), Err(TransformError::TooLarge));
        assert!(parse("resize/4000x/-/format/jpeg/").is_ok());
        assert_eq!(
            parse("resize/5001x/-/format/jpeg/"),
            Err(TransformError::TooLarge)
        );
    }
}
