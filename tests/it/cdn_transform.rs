//! CDN image processing over real HTTP: every operation's dimensions, format and pixels
//! (answers decoded with `image`), production's error pages, the variant cache's
//! validators and ranges, group members' default effects, and secure delivery.

use std::io::Cursor;

use image::{DynamicImage, ImageFormat, Rgb, RgbImage, Rgba, RgbaImage};
use reqwest::header::{CONTENT_DISPOSITION, CONTENT_TYPE, ETAG, VARY};

use crate::common::*;

/// Quadrants of the test image: top-left, top-right, bottom-left, bottom-right.
const TL: [u8; 3] = [255, 0, 0];
const TR: [u8; 3] = [0, 255, 0];
const BL: [u8; 3] = [0, 0, 255];
const BR: [u8; 3] = [255, 255, 255];

/// A `w`×`h` image of four solid quadrants.
fn quadrants(w: u32, h: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| {
        Rgb(match (x < w / 2, y < h / 2) {
            (true, true) => TL,
            (false, true) => TR,
            (true, false) => BL,
            (false, false) => BR,
        })
    })
}

fn encode(img: DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Vec::new();
    img.write_to(&mut Cursor::new(&mut out), format).unwrap();
    out
}

fn quadrant_png(w: u32, h: u32) -> Vec<u8> {
    encode(DynamicImage::ImageRgb8(quadrants(w, h)), ImageFormat::Png)
}

/// A decoded answer.
struct Img {
    format: ImageFormat,
    img: RgbaImage,
    headers: reqwest::header::HeaderMap,
}

impl Img {
    fn dims(&self) -> (u32, u32) {
        self.img.dimensions()
    }

    fn rgb(&self, x: u32, y: u32) -> [u8; 3] {
        let p = self.img.get_pixel(x, y).0;
        [p[0], p[1], p[2]]
    }

    fn header(&self, name: impl reqwest::header::AsHeaderName) -> &str {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap())
            .unwrap_or("")
    }
}

/// GETs `path` and decodes the image it answers (200 expected).
async fn fetch_image(s: &TestServer, path: &str, accept: Option<&str>) -> Img {
    let mut req = s.client.get(s.url(path));
    if let Some(a) = accept {
        req = req.header("accept", a);
    }
    let r = req.send().await.unwrap();
    assert_eq!(r.status(), 200, "{path}");
    let headers = r.headers().clone();
    let bytes = r.bytes().await.unwrap();
    let format = image::guess_format(&bytes).unwrap_or_else(|e| panic!("{path}: {e}"));
    let img = image::load_from_memory(&bytes)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .to_rgba8();
    let mime = headers[CONTENT_TYPE].to_str().unwrap();
    assert_eq!(mime, format.to_mime_type(), "{path}");
    Img {
        format,
        img,
        headers,
    }
}

/// Colours match within JPEG's error.
fn near(a: [u8; 3], b: [u8; 3]) -> bool {
    a.iter().zip(b.iter()).all(|(x, y)| x.abs_diff(*y) <= 24)
}

fn assert_near(a: [u8; 3], b: [u8; 3], what: &str) {
    assert!(near(a, b), "{what}: {a:?} is not {b:?}");
}

#[tokio::test]
async fn geometry_operations_give_their_dimensions_and_pixels() {
    let s = TestServer::start(Backend::Sqlite).await;
    let id = s.upload(PUB, "q.png", quadrant_png(40, 20)).await;
    let cases: &[(&str, (u32, u32))] = &[
        ("resize/20x/", (20, 10)),
        ("resize/x10/", (20, 10)),
        ("resize/10x10/", (10, 10)),
        ("resize/80x/", (80, 40)),
        ("stretch/off/-/resize/80x/", (40, 20)),
        ("stretch/fill/-/resize/80x40/", (80, 40)),
        ("preview/", (40, 20)),
        ("preview/100x100/", (40, 20)),
        ("preview/20x20/", (20, 10)),
        ("preview/x5/", (10, 5)),
        ("scale_crop/10x10/", (10, 10)),
        ("scale_crop/10x10/center/", (10, 10)),
        ("scale_crop/10x10/smart/", (10, 10)),
        ("scale_crop/30x10/0p,100p/", (30, 10)),
        ("smart_resize/20x20/", (20, 20)),
        ("crop/20x10/", (20, 10)),
        ("crop/50px50p/center/", (20, 10)),
        ("crop/1:1/center/", (20, 20)),
        ("crop/100x100/", (40, 20)),
        ("rotate/90/", (20, 40)),
        ("rotate/180/", (40, 20)),
        ("flip/", (40, 20)),
        ("mirror/", (40, 20)),
    ];
    for (ops, dims) in cases {
        let a = fetch_image(&s, &format!("/{id}/-/{ops}-/format/png/"), None).await;
        assert_eq!(a.dims(), *dims, "{ops}");
        assert_eq!(a.format, ImageFormat::Png, "{ops}");
    }
    let px = |ops: &'static str, x: u32, y: u32| {
        let s = &s;
        let id = id.clone();
        async move {
            fetch_image(s, &format!("/{id}/-/{ops}-/format/png/"), None)
                .await
                .rgb(x, y)
        }
    };
    assert_eq!(px("mirror/", 0, 0).await, TR);
    assert_eq!(px("flip/", 0, 0).await, BL);
    // Counterclockwise: the top-right corner comes to the top-left.
    assert_eq!(px("rotate/90/", 0, 0).await, TR);
    assert_eq!(px("rotate/270/", 0, 0).await, BL);
    assert_eq!(px("crop/20x10/", 19, 9).await, TL);
    assert_eq!(px("crop/10x5/30,15/", 0, 0).await, BR);
    assert_eq!(px("crop/10x10/right/", 9, 0).await, TR);
    assert_eq!(px("crop/10x10/bottom/", 0, 9).await, BL);
    assert_eq!(px("scale_crop/10x10/0p,0p/", 0, 0).await, TL);
    assert_eq!(px("scale_crop/10x10/100p,0p/", 9, 0).await, TR);
    assert_eq!(px("resize/20x/", 0, 0).await, TL);
    assert_eq!(px("resize/20x/", 19, 9).await, BR);
    // Padding takes the fill colour.
    assert_eq!(
        px("setfill/00ff00/-/stretch/fill/-/resize/80x40/", 0, 0).await,
        [0, 255, 0]
    );
    assert_eq!(
        px("stretch/fill/-/resize/80x40/", 0, 0).await,
        [255, 255, 255]
    );
    assert_eq!(
        px("setfill/f0f/-/smart_resize/20x20/", 0, 0).await,
        [255, 0, 255]
    );
}

#[tokio::test]
async fn preview_defaults_to_2048_and_output_is_capped() {
    let s = TestServer::start(Backend::Sqlite).await;
    let id = s.upload(PUB, "wide.png", quadrant_png(4100, 8)).await;
    let a = fetch_image(&s, &format!("/{id}/-/preview/"), None).await;
    assert_eq!(a.dims(), (2048, 4));
    // Without a size, PNG output is capped at 3000 a side, JPEG at 5000.
    let a = fetch_image(&s, &format!("/{id}/-/format/png/"), None).await;
    assert_eq!(a.dims(), (3000, 6));
    let a = fetch_image(&s, &format!("/{id}/-/format/jpeg/"), None).await;
    assert_eq!(a.dims(), (4100, 8));
}

#[tokio::test]
async fn formats_quality_and_progressive() {
    let s = TestServer::start(Backend::Sqlite).await;
    let opaque = s.upload(PUB, "q.png", quadrant_png(64, 64)).await;
    let alpha = RgbaImage::from_fn(16, 16, |x, _| {
        Rgba([10, 20, 30, if x < 8 { 0 } else { 255 }])
    });
    let clear = s
        .upload(
            PUB,
            "a.png",
            encode(DynamicImage::ImageRgba8(alpha), ImageFormat::Png),
        )
        .await;
    let webp_accept = Some("image/avif,image/webp,*/*");
    for (id, ops, accept, format) in [
        (&opaque, "resize/32x/", None, ImageFormat::Jpeg),
        (&clear, "resize/8x/", None, ImageFormat::Png),
        (&opaque, "format/png/", None, ImageFormat::Png),
        (&opaque, "format/webp/", None, ImageFormat::WebP),
        (&opaque, "format/jpeg/", None, ImageFormat::Jpeg),
        (&opaque, "format/preserve/", None, ImageFormat::Png),
        (&opaque, "format/auto/", None, ImageFormat::Jpeg),
        (&clear, "format/auto/", None, ImageFormat::Png),
        (&opaque, "format/auto/", webp_accept, ImageFormat::WebP),
        (&opaque, "format/jpeg/-/format/png/", None, ImageFormat::Png),
    ] {
        let a = fetch_image(&s, &format!("/{id}/-/{ops}"), accept).await;
        assert_eq!(a.format, format, "{ops} {accept:?}");
        assert_eq!(a.header(VARY), "Accept", "{ops}");
    }
    // WebP keeps every pixel (lossless); JPEG flattens transparency onto the fill.
    let a = fetch_image(&s, &format!("/{opaque}/-/format/webp/"), None).await;
    assert_eq!((a.rgb(0, 0), a.rgb(63, 63)), (TL, BR));
    let a = fetch_image(
        &s,
        &format!("/{clear}/-/setfill/ff0000/-/format/jpeg/"),
        None,
    )
    .await;
    assert_near(a.rgb(0, 0), [255, 0, 0], "flattened onto setfill");
    assert_near(a.rgb(15, 0), [10, 20, 30], "opaque part");

    // quality and progressive show in the bytes.
    let photo = RgbImage::from_fn(128, 128, |x, y| {
        Rgb([(x * 2) as u8, (y * 2) as u8, ((x ^ y) * 2) as u8])
    });
    let photo = s
        .upload(
            PUB,
            "p.png",
            encode(DynamicImage::ImageRgb8(photo), ImageFormat::Png),
        )
        .await;
    let body = |ops: String| {
        let s = &s;
        async move {
            s.client
                .get(s.url(&ops))
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap()
        }
    };
    let lightest = body(format!("/{photo}/-/format/jpeg/-/quality/lightest/")).await;
    let best = body(format!("/{photo}/-/format/jpeg/-/quality/best/")).await;
    assert!(
        lightest.len() < best.len(),
        "{} < {}",
        lightest.len(),
        best.len()
    );
    let has = |b: &[u8], marker: u8| b.windows(2).any(|w| w == [0xFF, marker]);
    let progressive = body(format!("/{photo}/-/format/jpeg/-/progressive/yes/")).await;
    assert!(has(&progressive, 0xC2) && !has(&progressive, 0xC0));
    let baseline = body(format!("/{photo}/-/format/jpeg/-/progressive/no/")).await;
    assert!(has(&baseline, 0xC0) && !has(&baseline, 0xC2));
}

#[tokio::test]
async fn colour_operations_change_pixels_as_named() {
    let s = TestServer::start(Backend::Sqlite).await;
    let flat = |c: [u8; 3]| {
        encode(
            DynamicImage::ImageRgb8(RgbImage::from_pixel(8, 8, Rgb(c))),
            ImageFormat::Png,
        )
    };
    let mid = s.upload(PUB, "mid.png", flat([100, 120, 140])).await;
    let px = |ops: &'static str| {
        let s = &s;
        let mid = mid.clone();
        async move {
            fetch_image(s, &format!("/{mid}/-/{ops}-/format/png/"), None)
                .await
                .rgb(4, 4)
        }
    };
    let base = px("preview/").await;
    assert_eq!(base, [100, 120, 140]);
    let g = px("grayscale/").await;
    assert!(g[0] == g[1] && g[1] == g[2], "{g:?}");
    assert_eq!(px("invert/").await, [155, 135, 115]);
    let brighter = |p: [u8; 3]| p.iter().zip(base.iter()).all(|(a, b)| a > b);
    let darker = |p: [u8; 3]| p.iter().zip(base.iter()).all(|(a, b)| a < b);
    assert!(brighter(px("brightness/50/").await));
    assert!(darker(px("brightness/-50/").await));
    assert!(brighter(px("exposure/100/").await));
    assert!(brighter(px("gamma/200/").await));
    assert!(darker(px("gamma/50/").await));
    let c = px("contrast/100/").await;
    assert!(c[0] < base[0] && c[2] > base[2], "{c:?}");
    let sat = px("saturation/-100/").await;
    assert!(sat[0] == sat[1] && sat[1] == sat[2], "{sat:?}");
    let vib = px("vibrance/100/").await;
    assert!(vib[2] - vib[0] > base[2] - base[0], "{vib:?}");
    let warm = px("warmth/100/").await;
    assert!(warm[0] > base[0] && warm[2] < base[2], "{warm:?}");
    assert_ne!(px("filter/adaris/100/").await, base);
    assert_eq!(px("filter/adaris/0/").await, base);
    for unchanged in [
        "srgb/fast/",
        "strip_meta/all/",
        "max_icc_size/10/",
        "blur/",
        "sharp/",
        "autorotate/yes/",
    ] {
        assert_eq!(px(unchanged).await, base, "{unchanged} on a flat image");
    }

    // Blur and sharpen act at edges.
    let q = s.upload(PUB, "q.png", quadrant_png(40, 40)).await;
    let edge = |ops: &'static str| {
        let s = &s;
        let q = q.clone();
        async move {
            fetch_image(s, &format!("/{q}/-/{ops}-/format/png/"), None)
                .await
                .rgb(19, 5)
        }
    };
    assert_eq!(edge("preview/").await, TL);
    let blurred = edge("blur/20/").await;
    assert!(blurred[1] > 40 && blurred[0] < 230, "{blurred:?}");
    let unblurred = edge("blur/20/0/").await;
    assert_eq!(unblurred, TL);
    let e = fetch_image(&s, &format!("/{mid}/-/enhance/100/-/format/png/"), None).await;
    assert_eq!(e.dims(), (8, 8));
    let low = s
        .upload(
            PUB,
            "low.png",
            encode(
                DynamicImage::ImageRgb8(RgbImage::from_fn(8, 8, |x, _| {
                    let v = 100 + x as u8 * 5;
                    Rgb([v, v, v])
                })),
                ImageFormat::Png,
            ),
        )
        .await;
    let e = fetch_image(&s, &format!("/{low}/-/enhance/100/-/format/png/"), None).await;
    assert!(
        e.rgb(0, 0)[0] < 20 && e.rgb(7, 0)[0] > 235,
        "{:?}",
        (e.rgb(0, 0), e.rgb(7, 0))
    );
}

/// A JPEG of `img` carrying EXIF orientation `o`.
fn jpeg_with_orientation(img: &RgbImage, o: u8) -> Vec<u8> {
    let plain = encode(DynamicImage::ImageRgb8(img.clone()), ImageFormat::Jpeg);
    let mut tiff = b"MM\x00\x2a\x00\x00\x00\x08\x00\x01".to_vec();
    tiff.extend_from_slice(&[
        0x01, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01, 0x00, o, 0x00, 0x00,
    ]);
    tiff.extend_from_slice(&[0, 0, 0, 0]);
    let mut app1 = b"Exif\x00\x00".to_vec();
    app1.extend_from_slice(&tiff);
    let mut out = plain[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&app1);
    out.extend_from_slice(&plain[2..]);
    out
}

#[tokio::test]
async fn exif_orientation_is_applied_unless_autorotate_no() {
    let s = TestServer::start(Backend::Sqlite).await;
    let id = s
        .upload(PUB, "o.jpg", jpeg_with_orientation(&quadrants(40, 20), 6))
        .await;
    let a = fetch_image(&s, &format!("/{id}/-/preview/"), None).await;
    assert_eq!(a.dims(), (20, 40));
    // Orientation 6 turns the image clockwise: the bottom-left corner comes to the top-left.
    assert_near(a.rgb(2, 2), BL, "rotated");
    let a = fetch_image(&s, &format!("/{id}/-/autorotate/no/-/preview/"), None).await;
    assert_eq!(a.dims(), (40, 20));
}

#[tokio::test]
async fn json_main_colors_detect_faces_and_names_describe_the_processed_image() {
    let s = TestServer::start(Backend::Sqlite).await;
    let id = s.upload(PUB, "q.png", quadrant_png(40, 20)).await;
    let a = Answer::of(
        s.client
            .get(s.url(&format!("/{id}/-/resize/20x/-/json/")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (a.status, a.content_type.as_str()),
        (200, "application/json")
    );
    assert_eq!(
        a.body,
        format!(
            "{{\"id\": \"{id}\", \"dpi\": null, \"width\": 20, \"format\": \"JPEG\", \"height\": 10, \
             \"sequence\": false, \"color_mode\": \"RGB\", \"orientation\": null, \
             \"geo_location\": null, \"datetime_original\": null}}"
        )
    );
    let a = Answer::of(
        s.client
            .get(s.url(&format!("/{id}/-/crop/20x10/-/format/png/-/main_colors/")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (a.status, a.content_type.as_str()),
        (200, "application/json")
    );
    assert_eq!(a.body, "{\"main_colors\": [[255, 0, 0]]}");
    let a = Answer::of(
        s.client
            .get(s.url(&format!("/{id}/-/format/png/-/main_colors/4/")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let colors = a.json()["main_colors"].as_array().unwrap().len();
    assert_eq!(colors, 4, "{}", a.body);
    for path in [
        format!("/{id}/detect_faces/"),
        format!("/{id}/detect_faces//"),
    ] {
        let a = Answer::of(s.client.get(s.url(&path)).send().await.unwrap()).await;
        assert_eq!(
            (a.status, a.content_type.as_str()),
            (200, "application/json")
        );
        // Production's keys and order (pyuploadcare's test_file_detect_faces.yaml).
        assert_eq!(
            a.body,
            format!(
                "{{\"id\": \"{id}\", \"orientation\": null, \"format\": \"PNG\", \
                 \"height\": 20, \"width\": 40, \"geo_location\": null, \
                 \"datetime_original\": null, \"dpi\": null, \"faces\": []}}"
            ),
            "{path}"
        );
    }
    let r = s
        .client
        .get(s.url(&format!("/{id}/-/resize/20x/thumb.jpg")))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers()[CONTENT_DISPOSITION],
        "inline; filename=\"thumb.jpg\"; filename*=UTF-8''thumb.jpg"
    );
    assert_eq!(r.headers()[CONTENT_TYPE], "image/jpeg");
    let r = s
        .client
        .get(s.url(&format!("/{id}/-/resize/20x/-/inline/no/")))
        .send()
        .await
        .unwrap();
    assert!(r.headers()[CONTENT_DISPOSITION]
        .to_str()
        .unwrap()
        .starts_with("attachment;"));
}

/// Production's CDN error page (pyuploadcare cassette
/// `test_url_token_uuid_with_transformations.yaml`), with `message`.
fn error_page(code: u16, reason: &str, message: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"UTF-8\">\n<title>{code}: {reason}</title>\n<style>\nbody {{\nmargin: 30px;\nfont-family: \"Helvetica Neue\", Helvetica, Arial, sans-serif;\nline-height: 1.6;\ncolor: #666;\nbackground: white;\nmax-width: 700px;\n}}\nh3 {{ color: black }}\na {{\ncolor: #00cf70;\ntext-decoration: none;\ncursor: pointer;\n}}\na:hover {{ color: black }}\ncode {{\ncolor: black;\nfont-size: 13px;\nbackground: #f8f8f8;\nborder: solid 1px #e4e4e4;\npadding: 2px 6px;\nborder-radius: 2px\n}}\n</style>\n</head>\n<body>\n<h3>{reason}</h3>\n\n\n<p>{message}</p>\n\n\n\n<p>\nSee <a href=\"https://uploadcare.com/docs/delivery/cdn/\">CDN documentation</a>.\n</p>\n\n</body>\n</html>\n"
    )
}

const HTML: &str = "text/html; charset=UTF-8";

const TOO_LARGE: &str =
    "Requested image dimensions exceed the limit: 3000x3000 pixels, 5000x5000 with format/jpeg.";

async fn assert_page(s: &TestServer, path: &str, code: u16, reason: &str, message: &str) {
    let a = Answer::of(s.client.get(s.url(path)).send().await.unwrap()).await;
    assert_eq!(
        (a.status, a.content_type.as_str(), a.body.as_str()),
        (code, HTML, error_page(code, reason, message).as_str()),
        "{path}"
    );
}

#[tokio::test]
async fn errors_are_production_pages() {
    let s = TestServer::start(Backend::Sqlite).await;
    let id = s.upload(PUB, "q.png", quadrant_png(40, 20)).await;
    let text = s.upload(PUB, "hello.txt", b"hello".to_vec()).await;
    let bad = |m: &str| m.to_owned();
    // The one text production is recorded giving (pyuploadcare's cassettes).
    for path in [
        format!("/{text}/-/preview/400x400/"),
        format!("/{text}/-/crop/10x10/20,20/"),
        format!("/{text}/-/preview/400x400/hello.txt"),
        format!("/{text}/detect_faces/"),
    ] {
        assert_page(
            &s,
            &path,
            400,
            "Bad Request",
            "Not supported for files that are not images.",
        )
        .await;
    }
    let cases = [
        ("frobnicate/", bad("Unknown operation \"frobnicate\".")),
        (
            "resize/abc/",
            bad("Invalid operation \"resize\": wrong parameters \"abc\"."),
        ),
        (
            "resize/",
            bad("Invalid operation \"resize\": it needs parameters."),
        ),
        (
            "rotate/45/",
            bad("Invalid operation \"rotate\": wrong parameters \"45\"."),
        ),
        (
            "format/bmp/",
            bad("Invalid operation \"format\": wrong parameters \"bmp\"."),
        ),
        ("resize/3001x/", bad(TOO_LARGE)),
        ("format/jpeg/-/preview/5001x5001/", bad(TOO_LARGE)),
    ];
    for (ops, message) in cases {
        assert_page(&s, &format!("/{id}/-/{ops}"), 400, "Bad Request", &message).await;
    }
    // Unknown operations are refused on non-images too, before the file's kind matters.
    assert_page(
        &s,
        &format!("/{text}/-/frobnicate/"),
        400,
        "Bad Request",
        "Unknown operation \"frobnicate\".",
    )
    .await;
    // Operations the emulator cannot apply are refused by name, never answered with an
    // image that only looks processed.
    for op in [
        "overlay",
        "text",
        "border_radius",
        "zoom_objects",
        "blur_region",
    ] {
        assert_page(
            &s,
            &format!("/{id}/-/{op}/10x10/"),
            501,
            "Not Implemented",
            &format!(
                "The emulator does not implement operation \"{op}\"; it answers this instead \
                 of an image without the operation applied."
            ),
        )
        .await;
    }
    // Up to 5000 with JPEG output.
    let a = fetch_image(&s, &format!("/{id}/-/format/jpeg/-/resize/4000x/"), None).await;
    assert_eq!(a.dims(), (4000, 2000));
}

/// A PNG whose header claims `w`×`h` and whose data is `body`.
fn png_claiming(w: u32, h: u32, body: &[u8]) -> Vec<u8> {
    let mut real = png(1, 1);
    // IHDR's width and height sit at bytes 16..24; its CRC at 29..33 must follow them.
    real[16..20].copy_from_slice(&w.to_be_bytes());
    real[20..24].copy_from_slice(&h.to_be_bytes());
    let crc = crc32(&real[12..29]);
    real[29..33].copy_from_slice(&crc.to_be_bytes());
    let iend = real.len() - 12;
    let mut out = real[..33].to_vec();
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(b"IDAT");
    out.extend_from_slice(body);
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(&real[iend..]);
    out
}

#[tokio::test]
async fn corrupt_images_and_bombs_get_errors_not_crashes() {
    let s = TestServer::start(Backend::Sqlite).await;
    let undecodable = "The image cannot be processed: it is damaged or too large to decode.";
    // A 25-megapixel PNG whose data is garbage, then a truncated real one.
    let corrupt = s
        .upload(
            PUB,
            "c.png",
            png_claiming(5000, 5000, &[0x78, 0x9c, 1, 2, 3, 4]),
        )
        .await;
    assert_page(
        &s,
        &format!("/{corrupt}/-/resize/10x/"),
        400,
        "Bad Request",
        undecodable,
    )
    .await;
    let mut truncated = quadrant_png(300, 300);
    truncated.truncate(truncated.len() / 2);
    let truncated = s.upload(PUB, "t.png", truncated).await;
    assert_page(
        &s,
        &format!("/{truncated}/-/resize/10x/"),
        400,
        "Bad Request",
        undecodable,
    )
    .await;
    // Above 75 megapixels production treats a file as a non-image.
    let bomb = s
        .upload(
            PUB,
            "bomb.png",
            png_claiming(20_000, 20_000, &[0x78, 0x9c, 1, 2]),
        )
        .await;
    assert_page(
        &s,
        &format!("/{bomb}/-/preview/"),
        400,
        "Bad Request",
        "Not supported for files that are not images.",
    )
    .await;
    // The server is still there.
    let ok = s.upload(PUB, "q.png", quadrant_png(4, 4)).await;
    assert_eq!(
        fetch_image(&s, &format!("/{ok}/-/resize/2x/"), None)
            .await
            .dims(),
        (2, 2)
    );
}

#[tokio::test]
async fn variants_have_validators_and_ranges() {
    let s = TestServer::start(Backend::Sqlite).await;
    let id = s.upload(PUB, "q.png", quadrant_png(40, 20)).await;
    let path = format!("/{id}/-/resize/20x/-/format/png/");
    let first = s.client.get(s.url(&path)).send().await.unwrap();
    let etag = first.headers()[ETAG].to_str().unwrap().to_owned();
    assert!(etag.starts_with('"') && etag.len() == 42, "{etag}");
    let whole = first.bytes().await.unwrap();
    let again = s.client.get(s.url(&path)).send().await.unwrap();
    assert_eq!(again.headers()[ETAG].to_str().unwrap(), etag);
    assert_eq!(again.bytes().await.unwrap(), whole);
    let r = s
        .client
        .get(s.url(&path))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 304);
    assert!(r.bytes().await.unwrap().is_empty());
    let r = s
        .client
        .get(s.url(&path))
        .header("range", "bytes=4-11")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 206);
    assert_eq!(
        r.headers()["content-range"].to_str().unwrap(),
        format!("bytes 4-11/{}", whole.len())
    );
    assert_eq!(r.bytes().await.unwrap(), whole.slice(4..12));
    let r = s
        .client
        .get(s.url(&path))
        .header("range", "bytes=99999-")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 416);
    // Another variant has another tag; the original keeps its own.
    let other = s
        .client
        .get(s.url(&format!("/{id}/-/resize/10x/")))
        .send()
        .await
        .unwrap();
    assert_ne!(other.headers()[ETAG].to_str().unwrap(), etag);
    let head = s.client.head(s.url(&path)).send().await.unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(
        head.headers()["content-length"].to_str().unwrap(),
        whole.len().to_string()
    );
    // Concurrent first requests for one variant all get the same bytes.
    let path = format!("/{id}/-/resize/30x/-/format/png/");
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (c, url) = (s.client.clone(), s.url(&path));
        tasks.push(tokio::spawn(async move {
            c.get(url).send().await.unwrap().bytes().await.unwrap()
        }));
    }
    let mut bodies = Vec::new();
    for t in tasks {
        bodies.push(t.await.unwrap());
    }
    assert!(bodies.windows(2).all(|w| w[0] == w[1]));
}

#[tokio::test]
async fn group_members_get_default_effects_then_the_urls() {
    for backend in backends() {
        let s = TestServer::start(backend).await;
        let a = s.upload(PUB, "a.png", quadrant_png(40, 20)).await;
        let id = s
            .group(PUB, &[format!("{a}/-/resize/x10/-/mirror/"), a.clone()])
            .await;
        let m = fetch_image(&s, &format!("/{id}/nth/0/-/format/png/"), None).await;
        assert_eq!(m.dims(), (20, 10), "{backend:?}");
        assert_eq!(m.rgb(0, 0), TR);
        let m = fetch_image(&s, &format!("/{id}/nth/0/-/resize/x5/-/format/png/"), None).await;
        assert_eq!(m.dims(), (10, 5));
        let r = s
            .client
            .get(s.url(&format!("/{id}/nth/1/")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.headers()[CONTENT_TYPE], "image/png");
    }
}

/// The hex secret of the test project's secure delivery (pyuploadcare's test secret).
const TOKEN_SECRET: &str = "73636b61519adede42191efe1e73f02a67c7b692e3765f90c250c230be095211";

/// `token=exp=…~acl=…~hmac=…` as pyuploadcare's `AkamaiSecureUrlBuilderWithAclToken` writes.
fn acl_token(exp: i64, acl: &str, secret: &str) -> String {
    use hmac::Mac;
    let key = hex::decode(secret).unwrap();
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("exp={exp}~acl={acl}").as_bytes());
    let sig = hex::encode(mac.finalize().into_bytes());
    format!("token=exp={exp}~acl={acl}~hmac={sig}")
}

#[tokio::test]
async fn secure_delivery_needs_a_valid_token() {
    let s = TestServer::start_with(Backend::Sqlite, |c| {
        c.secure_delivery.insert(PUB.into(), TOKEN_SECRET.into());
    })
    .await;
    let id = s.upload(PUB, "q.png", quadrant_png(40, 20)).await;
    let open = s.upload(OTHER_PUB, "o.png", quadrant_png(4, 4)).await;
    let now = s.state.clock.now_us() / 1_000_000;
    let denied = "Access denied: this project requires a valid, unexpired secure delivery token.";
    let exact = format!("/{id}/");
    let resized = format!("/{id}/-/resize/20x/");
    assert_page(&s, &exact, 403, "Forbidden", denied).await;
    assert_page(&s, &resized, 403, "Forbidden", denied).await;
    let valid = acl_token(now + 300, &exact, TOKEN_SECRET);
    let r = s
        .client
        .get(s.url(&format!("{exact}?{valid}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.unwrap(), quadrant_png(40, 20));
    // An exact ACL covers only its path; a wildcard covers what starts with it.
    assert_page(&s, &format!("{resized}?{valid}"), 403, "Forbidden", denied).await;
    let wild = acl_token(now + 300, &format!("/{id}/*"), TOKEN_SECRET);
    let a = fetch_image(&s, &format!("{resized}?{wild}"), None).await;
    assert_eq!(a.dims(), (20, 10));
    let expired = acl_token(now - 1, &exact, TOKEN_SECRET);
    assert_page(&s, &format!("{exact}?{expired}"), 403, "Forbidden", denied).await;
    let wrong = acl_token(now + 300, &exact, "00ff00ff");
    assert_page(&s, &format!("{exact}?{wrong}"), 403, "Forbidden", denied).await;
    // Group members need it too; other projects' files do not.
    let group = s.group(PUB, std::slice::from_ref(&id)).await;
    let nth = format!("/{group}/nth/0/");
    assert_page(&s, &nth, 403, "Forbidden", denied).await;
    let acl = nth.replace('~', "%7e");
    let r = s
        .client
        .get(s.url(&format!(
            "{nth}?{}",
            acl_token(now + 300, &acl, TOKEN_SECRET)
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = s
        .client
        .get(s.url(&format!("/{open}/")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}
