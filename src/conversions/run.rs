//! Running one job: the converter in a work folder in this process's temporary folder,
//! then the outputs adopted as blobs and the result rows completed in one transaction.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use serde_json::Map;
use tokio::sync::Semaphore;
use uuid::Uuid;

use super::path::{DocumentPath, ResizeMode, VideoPath};
use super::tools;
use crate::domain::changes::NewFile;
use crate::store::conversions::JobStatus;
use crate::store::{FileRecord, NewGroup};
use crate::AppState;

/// Converters running at once (each may use a core or more).
const CONCURRENT_JOBS: usize = 2;

/// Resolution pages are rendered at.
const PAGE_DPI: &str = "150";

fn permits() -> &'static Semaphore {
    static PERMITS: OnceLock<Semaphore> = OnceLock::new();
    PERMITS.get_or_init(|| Semaphore::new(CONCURRENT_JOBS))
}

/// A submitted job, as the runner needs it.
pub struct Job {
    /// Its token.
    pub token: i64,
    /// Owning project.
    pub project: String,
    /// The source file.
    pub source: FileRecord,
    /// The not-ready result file.
    pub result: Uuid,
    /// The not-ready thumbnail files (video).
    pub thumbs: Vec<Uuid>,
    /// Whether a multi-page document's pages also become a group.
    pub save_in_group: bool,
    /// Whether outputs are stored.
    pub stored: bool,
}

/// What a converter produced, in the work folder.
struct Output {
    /// The result file and its name.
    result: (PathBuf, String),
    /// Thumbnails, in order (video).
    thumbs: Vec<PathBuf>,
    /// Page images and their names, for a group (documents with `save_in_group`).
    pages: Vec<(PathBuf, String)>,
}

fn arg(s: impl Into<OsString>) -> OsString {
    s.into()
}

/// What a job converts.
pub enum Work {
    /// A document conversion.
    Document(DocumentPath),
    /// A video conversion.
    Video(VideoPath),
}

/// Runs a job to its end: `processing`, the converter in a work folder, then `finished`
/// with its outputs or `failed` with why.
pub async fn run(state: &Arc<AppState>, job: Job, work: Work) {
    let _permit = permits().acquire().await;
    let dir = state.blobs.temp_path();
    let outcome = match start(state, &job, &dir).await {
        Ok(()) => match &work {
            Work::Document(spec) => convert_document(state, &job, spec, &dir).await,
            Work::Video(spec) => convert_video(state, &job, spec, &dir).await,
        },
        Err(e) => Err(e),
    };
    finish(state, &job, outcome).await;
    let _ = tokio::fs::remove_dir_all(&dir).await;
}

async fn start(state: &AppState, job: &Job, work: &Path) -> Result<(), String> {
    tokio::fs::create_dir_all(work)
        .await
        .map_err(|e| format!("cannot create a work folder: {e}"))?;
    state
        .store
        .set_conversion_status(job.token, JobStatus::Processing, None)
        .await
        .map_err(|e| e.to_string())
}

async fn convert_document(
    state: &AppState,
    job: &Job,
    spec: &DocumentPath,
    work: &Path,
) -> Result<Output, String> {
    let source = &job.source;
    let stem = tools::stem(&source.original_filename);
    let target = spec.format.as_str();
    let name = format!("{stem}.{target}");
    let Some(format) = tools::document_format(source) else {
        return Err("Unsupported document format".into());
    };
    if source.image.is_some() {
        return image_document(state, source, target, work, name).await;
    }
    // Converters read the type from the name: give the source its extension.
    let named = work.join(format!("source.{format}"));
    state
        .blobs
        .copy_to(&source.blob, &named)
        .await
        .map_err(|e| format!("cannot read the source: {e}"))?;
    let pdf = if format == "pdf" {
        named.clone()
    } else if target == "txt" && format == "txt" {
        return Ok(single(named, name));
    } else {
        if !tools::has_soffice() {
            return Err(
                "LibreOffice (soffice) is not installed on the machine running the emulator".into(),
            );
        }
        let office_target = if matches!(target, "jpg" | "png") {
            "pdf"
        } else {
            target
        };
        let out = work.join("office");
        tools::run(
            tools::soffice_name(),
            &[
                arg("--headless"),
                arg("--convert-to"),
                arg(office_target),
                arg("--outdir"),
                arg(&out),
                arg(&named),
            ],
        )
        .await?;
        let converted = out.join(format!("source.{office_target}"));
        if !converted.is_file() {
            return Err(format!("LibreOffice produced no {office_target}"));
        }
        if office_target == target {
            return Ok(single(converted, name));
        }
        converted
    };
    match target {
        "pdf" => Ok(single(pdf, name)),
        "txt" => {
            let out = work.join("out.txt");
            tools::run("pdftotext", &[arg(&pdf), arg(&out)]).await?;
            Ok(single(out, name))
        }
        "jpg" | "png" => pdf_pages(state, job, spec, &pdf, work, &stem).await,
        other => Err(format!("The emulator does not convert {format} to {other}")),
    }
}

fn single(path: PathBuf, name: String) -> Output {
    Output {
        result: (path, name),
        thumbs: Vec::new(),
        pages: Vec::new(),
    }
}

/// An image source through the CDN's own pipeline.
async fn image_document(
    state: &AppState,
    source: &FileRecord,
    target: &str,
    work: &Path,
    name: String,
) -> Result<Output, String> {
    let cdn_format = match target {
        "jpg" => "jpeg",
        "png" => "png",
        other => {
            return Err(format!(
                "The emulator converts images to jpg and png, not {other}"
            ))
        }
    };
    let ops = crate::cdn::path::parse_effects(&format!("format/{cdn_format}/"))
        .ok_or("cannot build the image pipeline")?;
    let pipeline = crate::cdn::transform::Pipeline::parse(&ops).map_err(|e| e.message())?;
    let variant = crate::cdn::transform::variant(state, source, &pipeline, false)
        .await
        .map_err(|e| e.message())?;
    let out = work.join(format!("out.{target}"));
    tokio::fs::write(&out, &variant.bytes)
        .await
        .map_err(|e| format!("cannot write the result: {e}"))?;
    Ok(single(out, name))
}

/// The number of pages of a PDF, from `pdfinfo`.
async fn page_count(pdf: &Path) -> Result<u32, String> {
    let info = tools::run("pdfinfo", &[arg(pdf)]).await?;
    String::from_utf8_lossy(&info)
        .lines()
        .find_map(|l| l.strip_prefix("Pages:").map(|n| n.trim().parse::<u32>()))
        .and_then(Result::ok)
        .ok_or_else(|| "pdfinfo did not report a page count".to_owned())
}

/// PDF pages as images: one page, or every page (a ZIP of them as the result, as
/// production, and a group of them with `save_in_group`).
async fn pdf_pages(
    state: &AppState,
    job: &Job,
    spec: &DocumentPath,
    pdf: &Path,
    work: &Path,
    stem: &str,
) -> Result<Output, String> {
    let target = spec.format.as_str();
    let kind = if target == "jpg" { "-jpeg" } else { "-png" };
    let pages = page_count(pdf).await?;
    let wanted: Vec<u32> = match spec.page {
        Some(p) if p > pages => {
            return Err(format!(
                "Page {p} is out of range: the document has {pages}"
            ));
        }
        Some(p) => vec![p],
        None => (1..=pages).collect(),
    };
    let mut images = Vec::new();
    for page in &wanted {
        let prefix = work.join(format!("page{page}"));
        let n = page.to_string();
        tools::run(
            "pdftoppm",
            &[
                arg("-f"),
                arg(&n),
                arg("-l"),
                arg(&n),
                arg("-singlefile"),
                arg(kind),
                arg("-r"),
                arg(PAGE_DPI),
                arg(pdf),
                arg(&prefix),
            ],
        )
        .await?;
        images.push((
            work.join(format!("page{page}.{target}")),
            format!("{stem}-{page}.{target}"),
        ));
    }
    if images.len() == 1 {
        let (path, name) = images.remove(0);
        return Ok(single(path, name));
    }
    let zip = work.join("pages.zip");
    let mut entries = Vec::new();
    for (path, name) in &images {
        let meta = tokio::fs::metadata(path)
            .await
            .map_err(|e| format!("pdftoppm wrote no page: {e}"))?;
        entries.push(crate::cdn::archive::Entry {
            name: name.clone(),
            source: crate::cdn::archive::Source::File(path.clone()),
            size: meta.len(),
            mtime_s: job.source.uploaded_us / 1_000_000,
        });
    }
    let mut file = tokio::fs::File::create(&zip)
        .await
        .map_err(|e| format!("cannot write the archive: {e}"))?;
    crate::cdn::archive::write_zip(&mut file, &state.blobs, &entries)
        .await
        .map_err(|e| format!("cannot write the archive: {e}"))?;
    tokio::io::AsyncWriteExt::flush(&mut file)
        .await
        .map_err(|e| format!("cannot write the archive: {e}"))?;
    Ok(Output {
        result: (zip, format!("{stem}.zip")),
        thumbs: Vec::new(),
        pages: if job.save_in_group {
            images
        } else {
            Vec::new()
        },
    })
}

/// The `-vf` filter of a size and resize mode (even sides, as the codecs need).
fn scale_filter(size: (Option<u32>, Option<u32>), mode: ResizeMode) -> String {
    let even = "scale=trunc(iw/2)*2:trunc(ih/2)*2";
    let (w, h) = match size {
        (Some(w), Some(h)) => (w, h),
        (Some(w), None) => return format!("scale={w}:-2,{even}"),
        (None, Some(h)) => return format!("scale=-2:{h},{even}"),
        (None, None) => return even.to_owned(),
    };
    match mode {
        ResizeMode::PreserveRatio => {
            format!("scale={w}:{h}:force_original_aspect_ratio=decrease,{even}")
        }
        ResizeMode::ChangeRatio => format!("scale={w}:{h}"),
        ResizeMode::ScaleCrop => {
            format!("scale={w}:{h}:force_original_aspect_ratio=increase,crop={w}:{h}")
        }
        ResizeMode::AddPadding => format!(
            "scale={w}:{h}:force_original_aspect_ratio=decrease,{even},\
             pad={w}:{h}:(ow-iw)/2:(oh-ih)/2"
        ),
    }
}

/// Codec arguments of a format and quality.
fn codec_args(format: &str, quality: &str) -> Vec<OsString> {
    let level = ["lightest", "lighter", "normal", "better", "best"]
        .iter()
        .position(|q| *q == quality)
        .unwrap_or(2);
    let args: Vec<String> = match format {
        "webm" => {
            let crf = [40, 36, 32, 24, 16][level];
            vec![
                "-c:v".into(),
                "libvpx".into(),
                "-crf".into(),
                crf.to_string(),
                "-b:v".into(),
                "2M".into(),
                "-deadline".into(),
                "realtime".into(),
                "-cpu-used".into(),
                "8".into(),
                "-c:a".into(),
                "libvorbis".into(),
            ]
        }
        "ogg" => {
            let q = [3, 5, 6, 8, 10][level];
            vec![
                "-c:v".into(),
                "libtheora".into(),
                "-q:v".into(),
                q.to_string(),
                "-c:a".into(),
                "libvorbis".into(),
            ]
        }
        _ => {
            let crf = [32, 28, 23, 20, 18][level];
            vec![
                "-c:v".into(),
                "libx264".into(),
                "-preset".into(),
                "veryfast".into(),
                "-crf".into(),
                crf.to_string(),
                "-pix_fmt".into(),
                "yuv420p".into(),
                "-movflags".into(),
                "+faststart".into(),
                "-c:a".into(),
                "aac".into(),
            ]
        }
    };
    args.into_iter().map(OsString::from).collect()
}

async fn convert_video(
    state: &AppState,
    job: &Job,
    spec: &VideoPath,
    work: &Path,
) -> Result<Output, String> {
    let source = state
        .blobs
        .local_copy(&job.source.blob)
        .await
        .map_err(|e| format!("cannot read the source: {e}"))?;
    let src = source.path();
    let out = work.join(format!("out.{}", spec.format));
    let mut args = vec![arg("-v"), arg("error"), arg("-y")];
    if let Some((start, _)) = spec.cut {
        args.extend([arg("-ss"), arg(format!("{start:.3}"))]);
    }
    args.extend([arg("-i"), arg(src)]);
    if let Some((_, Some(length))) = spec.cut {
        args.extend([arg("-t"), arg(format!("{length:.3}"))]);
    }
    if let Some(size) = spec.size {
        args.extend([arg("-vf"), arg(scale_filter(size, spec.resize_mode))]);
    } else {
        args.extend([
            arg("-vf"),
            arg(scale_filter((None, None), spec.resize_mode)),
        ]);
    }
    args.extend(codec_args(&spec.format, &spec.quality));
    args.push(arg(&out));
    tools::run("ffmpeg", &args).await?;
    let probe = tools::run(
        "ffprobe",
        &[
            arg("-v"),
            arg("error"),
            arg("-show_entries"),
            arg("format=duration"),
            arg("-of"),
            arg("csv=p=0"),
            arg(&out),
        ],
    )
    .await?;
    let duration: f64 = String::from_utf8_lossy(&probe)
        .trim()
        .parse()
        .map_err(|_| "ffprobe reported no duration for the result".to_owned())?;
    let mut thumbs = Vec::new();
    for i in 0..job.thumbs.len() {
        let at = duration * (i as f64 + 0.5) / job.thumbs.len() as f64;
        let thumb = work.join(format!("thumb{i}.jpg"));
        tools::run(
            "ffmpeg",
            &[
                arg("-v"),
                arg("error"),
                arg("-y"),
                arg("-ss"),
                arg(format!("{at:.3}")),
                arg("-i"),
                arg(&out),
                arg("-frames:v"),
                arg("1"),
                arg("-q:v"),
                arg("3"),
                arg(&thumb),
            ],
        )
        .await?;
        thumbs.push(thumb);
    }
    let name = format!(
        "{}.{}",
        tools::stem(&job.source.original_filename),
        spec.format
    );
    Ok(Output {
        result: (out, name),
        thumbs,
        pages: Vec::new(),
    })
}

/// A completed file's row, for `uuid`, from bytes adopted as a blob.
async fn completed(
    state: &AppState,
    job: &Job,
    uuid: Uuid,
    path: &Path,
    name: String,
) -> Result<FileRecord, String> {
    let blob = state
        .blobs
        .adopt(path)
        .await
        .map_err(|e| format!("cannot keep the result: {e}"))?;
    let uploaded_us = state.clock.unique_us();
    Ok(NewFile {
        uuid,
        project: job.project.clone(),
        blob,
        filename: name,
        announced_type: None,
        metadata: Map::new(),
        tags: Vec::new(),
        store: job.stored,
        uploaded_us,
    }
    .into_record())
}

async fn finish(state: &AppState, job: &Job, outcome: Result<Output, String>) {
    let written = match outcome {
        Ok(output) => complete(state, job, output).await,
        Err(e) => Err(e),
    };
    if let Err(error) = written {
        tracing::info!(token = job.token, %error, "conversion failed");
        if let Err(e) = state
            .store
            .set_conversion_status(job.token, JobStatus::Failed, Some(&error))
            .await
        {
            tracing::error!(token = job.token, error = %e, "cannot record a failed conversion");
        }
    }
}

async fn complete(state: &AppState, job: &Job, output: Output) -> Result<(), String> {
    let (path, name) = output.result;
    let result = completed(state, job, job.result, &path, name).await?;
    let mut thumbs = Vec::new();
    for (uuid, path) in job.thumbs.iter().zip(&output.thumbs) {
        thumbs.push(completed(state, job, *uuid, path, String::from("thumbnail.jpg")).await?);
    }
    let mut pages = Vec::new();
    for (path, name) in output.pages {
        pages.push(completed(state, job, Uuid::new_v4(), &path, name).await?);
    }
    let store_failed = |e: crate::error::StoreError| e.to_string();
    let mut tx = state.store.begin().await.map_err(store_failed)?;
    tx.complete_file(&result).await.map_err(store_failed)?;
    for thumb in &thumbs {
        tx.complete_file(thumb).await.map_err(store_failed)?;
    }
    if !pages.is_empty() {
        for page in &mut pages {
            tx.insert_file(page).await.map_err(store_failed)?;
        }
        let group = NewGroup {
            uuid: Uuid::new_v4(),
            project: job.project.clone(),
            members: pages.iter().map(|p| (p.uuid, String::new())).collect(),
        };
        tx.insert_groups(&[(&group, state.clock.unique_us())])
            .await
            .map_err(store_failed)?;
        let id = format!("{}~{}", group.uuid, pages.len());
        tx.set_conversion_group(job.token, &id)
            .await
            .map_err(store_failed)?;
    }
    tx.set_conversion_status(job.token, JobStatus::Finished, None)
        .await
        .map_err(store_failed)?;
    tx.commit().await.map_err(store_failed)
}
