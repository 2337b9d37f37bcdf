//! Property tests of the CDN's image processing: the operation parser and the executor take
//! any input without panicking, and what they accept keeps its promises (limits, sizes).

use std::io::Cursor;

use image::{ImageFormat, RgbImage};
use proptest::prelude::*;
use proptest::test_runner::Config;
use uploadcare_emulator::cdn::path::parse_effects;
use uploadcare_emulator::cdn::transform::execute::{run, Context};
use uploadcare_emulator::cdn::transform::{Pipeline, TransformError};

fn config() -> Config {
    Config {
        cases: 2_000,
        failure_persistence: None,
        ..Config::default()
    }
}

/// Operation names real and made up, with parameters drawn from what the grammar uses.
fn op_text() -> impl Strategy<Value = String> {
    let name = prop::sample::select(vec![
        "preview",
        "resize",
        "smart_resize",
        "scale_crop",
        "crop",
        "stretch",
        "setfill",
        "format",
        "quality",
        "progressive",
        "rotate",
        "autorotate",
        "flip",
        "mirror",
        "grayscale",
        "invert",
        "blur",
        "sharp",
        "enhance",
        "brightness",
        "exposure",
        "gamma",
        "contrast",
        "saturation",
        "vibrance",
        "warmth",
        "filter",
        "srgb",
        "strip_meta",
        "inline",
        "json",
        "main_colors",
        "overlay",
        "frobnicate",
        "",
    ]);
    let param = prop::string::string_regex("[0-9x,%a-z.-]{0,12}").unwrap();
    (name, prop::collection::vec(param, 0..4)).prop_map(|(n, ps)| {
        let mut s = n.to_owned();
        for p in ps {
            s.push('/');
            s.push_str(&p);
        }
        s
    })
}

fn effects() -> impl Strategy<Value = String> {
    prop::collection::vec(op_text(), 1..5)
        .prop_map(|ops| ops.iter().map(|o| format!("-/{o}/")).collect::<String>())
}

fn small_png() -> Vec<u8> {
    let img = RgbImage::from_fn(12, 8, |x, y| {
        image::Rgb([(x * 20) as u8, (y * 30) as u8, 90])
    });
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, ImageFormat::Png).unwrap();
    out.into_inner()
}

proptest! {
    #![proptest_config(config())]

    /// Any operation text parses or is refused; an accepted pipeline runs on a real image
    /// without panicking, and its output never exceeds production's 5000-pixel cap.
    #[test]
    fn operations_parse_and_run_or_are_refused(text in effects()) {
        let Some(ops) = parse_effects(&text) else { return Ok(()) };
        let Ok(pipeline) = Pipeline::parse(&ops) else { return Ok(()) };
        match run(&small_png(), &pipeline, Context { accepts_webp: true }) {
            Ok(p) => prop_assert!(p.width <= 5000 && p.height <= 5000, "{text}: {}x{}", p.width, p.height),
            Err(TransformError::Internal(e)) => prop_assert!(false, "{text}: internal error {e}"),
            Err(_) => {}
        }
    }

    /// Random and damaged bytes decode to an error, never a panic or an internal error.
    #[test]
    fn damaged_images_are_refused(cut in 0usize..400, flips in prop::collection::vec((0usize..400, any::<u8>()), 0..8), junk in prop::collection::vec(any::<u8>(), 0..64)) {
        let mut bytes = small_png();
        for (at, b) in flips {
            let at = at % bytes.len();
            bytes[at] ^= b;
        }
        bytes.truncate(cut.min(bytes.len()));
        bytes.extend(junk);
        let pipeline = Pipeline::parse(&parse_effects("-/preview/20x20/").unwrap()).unwrap();
        if let Err(TransformError::Internal(e)) = run(&bytes, &pipeline, Context { accepts_webp: false }) {
            prop_assert!(false, "internal error {e}");
        }
    }
}
