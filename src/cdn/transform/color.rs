//! Pixel-wise colour operations on 8-bit RGB or RGBA buffers (alpha left alone).
//!
//! Approximations (COMPATIBILITY.md): production's editor filters and adjustments are
//! matched in direction and range, not in exact look. Each adjustment is a per-channel
//! curve or a luma-based saturation change; `enhance` is an auto-levels stretch;
//! `filter/<name>` maps each of the 40 names to one of five tone presets.

use image::DynamicImage;

use super::ops::Adjust;

/// Applies `f` to the colour channels of every pixel.
fn map_pixels(img: &mut DynamicImage, mut f: impl FnMut(&mut [u8])) {
    let (stride, buf): (usize, &mut [u8]) = match img {
        DynamicImage::ImageRgb8(b) => (3, b.as_mut()),
        DynamicImage::ImageRgba8(b) => (4, b.as_mut()),
        _ => return,
    };
    for px in buf.chunks_exact_mut(stride) {
        f(&mut px[..3]);
    }
}

/// Applies one lookup table to every colour channel.
pub fn apply_lut(img: &mut DynamicImage, lut: &[u8; 256]) {
    map_pixels(img, |px| {
        for c in px {
            *c = lut[usize::from(*c)];
        }
    });
}

fn lut(f: impl Fn(f32) -> f32) -> [u8; 256] {
    let mut t = [0u8; 256];
    for (i, v) in t.iter_mut().enumerate() {
        *v = f(i as f32).round().clamp(0.0, 255.0) as u8;
    }
    t
}

fn luma(px: &[u8]) -> f32 {
    0.299 * f32::from(px[0]) + 0.587 * f32::from(px[1]) + 0.114 * f32::from(px[2])
}

/// Moves each channel away from (or towards) the pixel's luma by `factor(px)`.
fn saturate(img: &mut DynamicImage, factor: impl Fn(&[u8]) -> f32) {
    map_pixels(img, |px| {
        let l = luma(px);
        let s = factor(px);
        for c in px.iter_mut() {
            *c = (l + (f32::from(*c) - l) * s).round().clamp(0.0, 255.0) as u8;
        }
    });
}

/// One colour adjustment.
pub fn adjust(img: &mut DynamicImage, a: Adjust) {
    match a {
        Adjust::Brightness(v) => apply_lut(img, &lut(|c| c + v as f32 * 2.55)),
        Adjust::Exposure(v) => {
            let k = 2f32.powf(v as f32 / 100.0);
            apply_lut(img, &lut(|c| c * k));
        }
        Adjust::Gamma(v) => {
            let g = (v.max(1) as f32) / 100.0;
            apply_lut(img, &lut(|c| 255.0 * (c / 255.0).powf(1.0 / g)));
        }
        Adjust::Contrast(v) => {
            let k = 1.0 + v as f32 / 100.0;
            apply_lut(img, &lut(|c| (c - 127.5) * k + 127.5));
        }
        Adjust::Saturation(v) => {
            let k = 1.0 + v as f32 / 100.0;
            saturate(img, |_| k);
        }
        Adjust::Vibrance(v) => {
            let k = v as f32 / 100.0;
            saturate(img, |px| {
                let max = px.iter().copied().max().unwrap_or(0);
                let min = px.iter().copied().min().unwrap_or(0);
                let sat = f32::from(max - min) / 255.0;
                1.0 + k * (1.0 - sat)
            });
        }
        Adjust::Warmth(v) => {
            let shift = v as f32 * 0.3;
            map_pixels(img, |px| {
                px[0] = (f32::from(px[0]) + shift).clamp(0.0, 255.0) as u8;
                px[2] = (f32::from(px[2]) - shift).clamp(0.0, 255.0) as u8;
            });
        }
    }
}

/// `grayscale`: every channel becomes the pixel's luma.
pub fn grayscale(img: &mut DynamicImage) {
    map_pixels(img, |px| {
        let l = luma(px).round().clamp(0.0, 255.0) as u8;
        px.fill(l);
    });
}

/// `invert`.
pub fn invert(img: &mut DynamicImage) {
    apply_lut(img, &lut(|c| 255.0 - c));
}

/// `enhance/<0..100>`: stretches each channel's 0.5–99.5 percentile range to the full
/// range, blended with the original by `strength` percent.
pub fn enhance(img: &mut DynamicImage, strength: u32) {
    let mut hist = [[0u64; 256]; 3];
    let mut total = 0u64;
    map_pixels(img, |px| {
        for (h, c) in hist.iter_mut().zip(px.iter()) {
            h[usize::from(*c)] += 1;
        }
        total += 1;
    });
    if total == 0 {
        return;
    }
    let cut = total / 200;
    let k = strength as f32 / 100.0;
    let luts: Vec<[u8; 256]> = hist
        .iter()
        .map(|h| {
            let (mut lo, mut hi, mut acc) = (0usize, 255usize, 0u64);
            for (i, n) in h.iter().enumerate() {
                acc += n;
                if acc > cut {
                    lo = i;
                    break;
                }
            }
            acc = 0;
            for (i, n) in h.iter().enumerate().rev() {
                acc += n;
                if acc > cut {
                    hi = i;
                    break;
                }
            }
            if hi <= lo {
                return lut(|c| c);
            }
            let (lo, hi) = (lo as f32, hi as f32);
            lut(|c| {
                let stretched = (c - lo) * 255.0 / (hi - lo);
                c + (stretched - c) * k
            })
        })
        .collect();
    map_pixels(img, |px| {
        for (c, t) in px.iter_mut().zip(luts.iter()) {
            *c = t[usize::from(*c)];
        }
    });
}

/// `filter/<name>/<amount>`: one of five tone presets picked by the name's place in
/// [`super::ops::FILTERS`], at `amount` percent (-100..200).
pub fn filter(img: &mut DynamicImage, name: &str, amount: i32) {
    let index = super::ops::FILTERS
        .iter()
        .position(|f| *f == name)
        .unwrap_or(0);
    let a = amount as f32 / 100.0;
    let scaled = |v: f32| (v * a).round() as i32;
    let preset: &[Adjust] = &match index % 5 {
        0 => [Adjust::Warmth(scaled(30.0)), Adjust::Contrast(scaled(15.0))],
        1 => [
            Adjust::Warmth(scaled(-30.0)),
            Adjust::Saturation(scaled(-15.0)),
        ],
        2 => [
            Adjust::Contrast(scaled(-25.0)),
            Adjust::Brightness(scaled(10.0)),
        ],
        3 => [
            Adjust::Saturation(scaled(40.0)),
            Adjust::Contrast(scaled(20.0)),
        ],
        _ => [
            Adjust::Saturation(scaled(-70.0)),
            Adjust::Contrast(scaled(10.0)),
        ],
    };
    for adj in preset {
        adjust(img, *adj);
    }
}

/// `blur/<strength>/<amount>`: mixes the image with a blurred copy; `amount` 100 is the
/// blurred copy, 0 the original, and negative amounts sharpen (unsharp masking).
pub fn mix_with_blurred(img: &mut DynamicImage, blurred: &DynamicImage, amount: f32) {
    let (a, b): (&mut [u8], &[u8]) = match (img, blurred) {
        (DynamicImage::ImageRgb8(a), DynamicImage::ImageRgb8(b)) => (a.as_mut(), b.as_raw()),
        (DynamicImage::ImageRgba8(a), DynamicImage::ImageRgba8(b)) => (a.as_mut(), b.as_raw()),
        _ => return,
    };
    for (o, s) in a.iter_mut().zip(b.iter()) {
        let (o_f, s_f) = (f32::from(*o), f32::from(*s));
        *o = (o_f + (s_f - o_f) * amount).round().clamp(0.0, 255.0) as u8;
    }
}

/// The `n` most common colours (4-bit-per-channel buckets, averaged), most common first.
pub fn main_colors(img: &DynamicImage, n: usize) -> Vec<[u8; 3]> {
    let mut buckets = vec![(0u64, [0u64; 3]); 4096];
    let mut visit = |px: &[u8]| {
        let key = (usize::from(px[0] >> 4) << 8)
            | (usize::from(px[1] >> 4) << 4)
            | usize::from(px[2] >> 4);
        let b = &mut buckets[key];
        b.0 += 1;
        for (sum, c) in b.1.iter_mut().zip(px.iter()) {
            *sum += u64::from(*c);
        }
    };
    match img {
        DynamicImage::ImageRgb8(b) => b.as_raw().chunks_exact(3).for_each(&mut visit),
        DynamicImage::ImageRgba8(b) => b
            .as_raw()
            .chunks_exact(4)
            .filter(|px| px[3] > 0)
            .for_each(&mut visit),
        _ => {}
    }
    buckets.sort_by_key(|b| std::cmp::Reverse(b.0));
    buckets
        .iter()
        .take_while(|b| b.0 > 0)
        .take(n)
        .map(|(count, sums)| sums.map(|s| (s / count) as u8))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::RgbImage;

    fn one(px: [u8; 3]) -> DynamicImage {
        DynamicImage::ImageRgb8(RgbImage::from_pixel(1, 1, image::Rgb(px)))
    }

    fn px(img: &DynamicImage) -> [u8; 3] {
        let b = img.as_rgb8().unwrap().get_pixel(0, 0);
        b.0
    }

    #[test]
    fn adjustments_move_the_right_way() {
        let mut i = one([100, 100, 100]);
        adjust(&mut i, Adjust::Brightness(50));
        assert!(px(&i)[0] > 200);
        let mut i = one([100, 150, 200]);
        adjust(&mut i, Adjust::Saturation(-100));
        let p = px(&i);
        assert!(p[0] == p[1] && p[1] == p[2]);
        let mut i = one([100, 100, 100]);
        adjust(&mut i, Adjust::Warmth(100));
        let p = px(&i);
        assert!(p[0] > 100 && p[2] < 100);
        let mut i = one([10, 20, 30]);
        invert(&mut i);
        assert_eq!(px(&i), [245, 235, 225]);
        let mut i = one([100, 100, 100]);
        adjust(&mut i, Adjust::Gamma(100));
        assert_eq!(px(&i), [100, 100, 100]);
    }

    #[test]
    fn main_colors_count() {
        let i = one([255, 0, 0]);
        assert_eq!(main_colors(&i, 3), vec![[255, 0, 0]]);
    }
}
