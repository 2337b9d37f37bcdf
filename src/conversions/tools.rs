//! The converters the emulator drives, found on `PATH`, and what each source format can
//! become with the converters this machine has.

use std::path::PathBuf;
use std::time::Duration;

use crate::store::FileRecord;

/// Longest a converter may run.
const TIMEOUT: Duration = Duration::from_secs(600);

/// Office and text formats LibreOffice reads.
const OFFICE: &[&str] = &[
    "doc", "docx", "xls", "xlsx", "ppt", "pptx", "pps", "ppsx", "odt", "ods", "odp", "rtf", "txt",
    "csv",
];

/// An external program, found on `PATH`.
pub fn find(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// LibreOffice's command line, under either of its names.
fn soffice() -> Option<PathBuf> {
    find("soffice").or_else(|| find("libreoffice"))
}

/// A file name without its extension (`document` when there is none).
pub fn stem(name: &str) -> String {
    let base = name.rsplit('/').next().unwrap_or(name);
    match base.rsplit_once('.') {
        Some((stem, _)) if !stem.is_empty() => stem.to_owned(),
        _ if !base.is_empty() => base.to_owned(),
        _ => "document".to_owned(),
    }
}

/// The document format of a file: `pdf` and images by their bytes, others by extension.
pub fn document_format(file: &FileRecord) -> Option<String> {
    if file.mime_type == "application/pdf" {
        return Some("pdf".into());
    }
    if let Some(image) = &file.image {
        return Some(match image.format.to_ascii_lowercase().as_str() {
            "jpeg" => "jpg".to_owned(),
            other => other.to_owned(),
        });
    }
    let ext = file
        .original_filename
        .rsplit_once('.')?
        .1
        .to_ascii_lowercase();
    (ext == "pdf" || OFFICE.contains(&ext.as_str())).then_some(ext)
}

/// The targets a source format converts to with the converters on this machine.
pub fn conversion_formats(format: Option<&str>, is_image: bool) -> Vec<&'static str> {
    let Some(format) = format else {
        return Vec::new();
    };
    let poppler = find("pdftoppm").is_some();
    let mut out = Vec::new();
    if is_image {
        out.extend(["jpg", "png"]);
    } else if format == "pdf" {
        if poppler {
            out.extend(["jpg", "png"]);
        }
        if find("pdftotext").is_some() {
            out.push("txt");
        }
        out.push("pdf");
    } else if soffice().is_some() {
        out.push("pdf");
        if poppler {
            out.extend(["jpg", "png"]);
        }
    }
    if format == "txt" && !out.contains(&"txt") {
        out.push("txt");
    }
    out.sort_unstable();
    out
}

/// Which converter converting `format` needs, for error texts.
pub fn missing_for(format: &str) -> &'static str {
    if format == "pdf" {
        "pdftoppm and pdftotext from poppler-utils are not installed"
    } else {
        "LibreOffice (soffice) is not installed"
    }
}

/// Runs a converter to completion; `Err` is a message for the job's `error`.
pub async fn run(program: &str, args: &[std::ffi::OsString]) -> Result<Vec<u8>, String> {
    let path = find(program)
        .ok_or_else(|| format!("{program} is not installed on the machine running the emulator"))?;
    let child = tokio::process::Command::new(path)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start {program}: {e}"))?;
    let output = tokio::time::timeout(TIMEOUT, child.wait_with_output())
        .await
        .map_err(|_| format!("{program} took longer than {} s", TIMEOUT.as_secs()))?
        .map_err(|e| format!("{program} failed: {e}"))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last = stderr.lines().rev().find(|l| !l.trim().is_empty());
        return Err(format!(
            "{program} failed ({}): {}",
            output.status,
            last.unwrap_or("no message").trim()
        ));
    }
    Ok(output.stdout)
}

/// Whether LibreOffice is on this machine.
pub fn has_soffice() -> bool {
    soffice().is_some()
}

/// LibreOffice's program name as found.
pub fn soffice_name() -> &'static str {
    if find("soffice").is_some() {
        "soffice"
    } else {
        "libreoffice"
    }
}
