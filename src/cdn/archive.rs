//! Streaming group archives: ZIP with stored (uncompressed) entries and ustar TAR, written
//! entry by entry to any `AsyncWrite`, never built in memory.
//!
//! ZIP entries carry their CRC-32 in the local header, so each file is read twice: once
//! for its CRC, once for its bytes. Groups are limited to [`MAX_ARCHIVE_BYTES`] (production's
//! documented 2 GB), which keeps every ZIP size and offset within 32 bits: no ZIP64.

use std::collections::HashSet;
use std::io;

use chrono::{Datelike, TimeZone, Timelike, Utc};
use tokio::io::{AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::blobs::Blobs;

/// Largest total of file sizes an archive may hold.
pub const MAX_ARCHIVE_BYTES: u64 = 2 * 1024 * 1024 * 1024;

/// Archive formats of `/archive/<format>/`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArchiveFormat {
    /// `zip` (stored entries).
    Zip,
    /// `tar` (ustar).
    Tar,
}

impl ArchiveFormat {
    /// The format a path's `<format>` names, if any.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "zip" => Some(ArchiveFormat::Zip),
            "tar" => Some(ArchiveFormat::Tar),
            _ => None,
        }
    }
}

/// Where an entry's bytes are.
#[derive(Clone, Debug)]
pub enum Source {
    /// A blob, by its address.
    Blob(String),
    /// A local file (converters' pages).
    File(std::path::PathBuf),
}

/// One file to put in an archive.
#[derive(Clone, Debug)]
pub struct Entry {
    /// Name inside the archive (see [`entry_names`]).
    pub name: String,
    /// Where the bytes are.
    pub source: Source,
    /// Size in bytes.
    pub size: u64,
    /// Modification time, seconds since the epoch.
    pub mtime_s: i64,
}

/// Archive names for files in group order: path separators and control characters become
/// `_`, an empty name becomes `file`, and repeats (ignoring case) get ` (1)`, ` (2)`, …
/// before the extension.
pub fn entry_names<'a>(originals: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut taken = HashSet::new();
    let mut names = Vec::new();
    for original in originals {
        let cleaned: String = original
            .chars()
            .map(|c| {
                if c == '/' || c == '\\' || c.is_control() {
                    '_'
                } else {
                    c
                }
            })
            .collect();
        let cleaned = cleaned.trim();
        let base = if cleaned.is_empty() || cleaned == "." || cleaned == ".." {
            "file".to_owned()
        } else {
            cleaned.to_owned()
        };
        let (stem, ext) = match base.rsplit_once('.') {
            Some((stem, ext)) if !stem.is_empty() => (stem.to_owned(), format!(".{ext}")),
            _ => (base.clone(), String::new()),
        };
        let mut name = base;
        let mut n = 1;
        while !taken.insert(name.to_lowercase()) {
            name = format!("{stem} ({n}){ext}");
            n += 1;
        }
        names.push(name);
    }
    names
}

/// Total size of the ZIP [`write_zip`] produces.
pub fn zip_len(entries: &[Entry]) -> u64 {
    let per_entry: u64 = entries
        .iter()
        .map(|e| 30 + 46 + 2 * e.name.len() as u64 + e.size)
        .sum();
    per_entry + 22
}

/// Total size of the TAR [`write_tar`] produces.
pub fn tar_len(entries: &[Entry]) -> u64 {
    let per_entry: u64 = entries
        .iter()
        .map(|e| {
            let pax = pax_record(&e.name).map_or(0, |r| 512 + padded(r.len() as u64));
            pax + 512 + padded(e.size)
        })
        .sum();
    per_entry + 1024
}

/// `n` rounded up to a whole number of 512-byte blocks.
fn padded(n: u64) -> u64 {
    n.div_ceil(512) * 512
}

const COPY_BUFFER: usize = 64 * 1024;

/// Writes a ZIP of stored entries (UTF-8 names) and finishes with its central directory.
pub async fn write_zip<W: AsyncWrite + Unpin>(
    out: &mut W,
    blobs: &Blobs,
    entries: &[Entry],
) -> io::Result<()> {
    let too_big = || io::Error::other("archive exceeds 32-bit ZIP limits");
    let mut offset: u64 = 0;
    let mut central = Vec::new();
    for e in entries {
        let crc = file_crc(blobs, e).await?;
        let size = u32::try_from(e.size).map_err(|_| too_big())?;
        let name_len = u16::try_from(e.name.len()).map_err(|_| too_big())?;
        let local_offset = u32::try_from(offset).map_err(|_| too_big())?;
        let (time, date) = dos_time(e.mtime_s);
        let mut local = Vec::with_capacity(30 + e.name.len());
        local.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        local.extend_from_slice(&10u16.to_le_bytes()); // version needed: 1.0, stored
        local.extend_from_slice(&0x0800u16.to_le_bytes()); // UTF-8 names
        local.extend_from_slice(&0u16.to_le_bytes()); // method: stored
        local.extend_from_slice(&time.to_le_bytes());
        local.extend_from_slice(&date.to_le_bytes());
        local.extend_from_slice(&crc.to_le_bytes());
        local.extend_from_slice(&size.to_le_bytes()); // compressed
        local.extend_from_slice(&size.to_le_bytes()); // uncompressed
        local.extend_from_slice(&name_len.to_le_bytes());
        local.extend_from_slice(&0u16.to_le_bytes()); // extra
        local.extend_from_slice(e.name.as_bytes());
        out.write_all(&local).await?;
        copy_file(out, blobs, e).await?;
        offset += local.len() as u64 + e.size;

        central.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        central.extend_from_slice(&((3u16 << 8) | 20).to_le_bytes()); // made by: Unix, 2.0
        central.extend_from_slice(&10u16.to_le_bytes());
        central.extend_from_slice(&0x0800u16.to_le_bytes());
        central.extend_from_slice(&0u16.to_le_bytes());
        central.extend_from_slice(&time.to_le_bytes());
        central.extend_from_slice(&date.to_le_bytes());
        central.extend_from_slice(&crc.to_le_bytes());
        central.extend_from_slice(&size.to_le_bytes());
        central.extend_from_slice(&size.to_le_bytes());
        central.extend_from_slice(&name_len.to_le_bytes());
        central.extend_from_slice(&[0; 8]); // extra, comment, disk, internal attributes
        central.extend_from_slice(&(0o100_644u32 << 16).to_le_bytes()); // -rw-r--r--
        central.extend_from_slice(&local_offset.to_le_bytes());
        central.extend_from_slice(e.name.as_bytes());
    }
    let count = u16::try_from(entries.len()).map_err(|_| too_big())?;
    let central_len = u32::try_from(central.len()).map_err(|_| too_big())?;
    let central_offset = u32::try_from(offset).map_err(|_| too_big())?;
    out.write_all(&central).await?;
    let mut end = Vec::with_capacity(22);
    end.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    end.extend_from_slice(&[0; 4]); // disk numbers
    end.extend_from_slice(&count.to_le_bytes());
    end.extend_from_slice(&count.to_le_bytes());
    end.extend_from_slice(&central_len.to_le_bytes());
    end.extend_from_slice(&central_offset.to_le_bytes());
    end.extend_from_slice(&0u16.to_le_bytes()); // comment
    out.write_all(&end).await?;
    out.flush().await
}

/// Writes a ustar TAR, with a PAX `path` record before entries whose name does not fit.
pub async fn write_tar<W: AsyncWrite + Unpin>(
    out: &mut W,
    blobs: &Blobs,
    entries: &[Entry],
) -> io::Result<()> {
    for e in entries {
        if let Some(record) = pax_record(&e.name) {
            let header = tar_header(
                &format!("PaxHeader/{}", e.name),
                record.len() as u64,
                e.mtime_s,
                b'x',
            );
            out.write_all(&header).await?;
            out.write_all(&record).await?;
            out.write_all(&vec![
                0;
                (padded(record.len() as u64) - record.len() as u64)
                    as usize
            ])
            .await?;
        }
        out.write_all(&tar_header(&e.name, e.size, e.mtime_s, b'0'))
            .await?;
        copy_file(out, blobs, e).await?;
        out.write_all(&vec![0; (padded(e.size) - e.size) as usize])
            .await?;
    }
    out.write_all(&[0; 1024]).await?;
    out.flush().await
}

/// The PAX record `"<len> path=<name>\n"` for names longer than ustar's 100 bytes.
fn pax_record(name: &str) -> Option<Vec<u8>> {
    if name.len() <= 100 {
        return None;
    }
    let body = format!(" path={name}\n");
    // The length counts its own digits.
    let mut len = body.len() + 1;
    while len != body.len() + len.to_string().len() {
        len = body.len() + len.to_string().len();
    }
    Some(format!("{len}{body}").into_bytes())
}

/// A 512-byte ustar header for a regular file (`b'0'`) or PAX record (`b'x'`).
fn tar_header(name: &str, size: u64, mtime_s: i64, kind: u8) -> [u8; 512] {
    let mut h = [0u8; 512];
    let name = truncate(name, 100);
    h[..name.len()].copy_from_slice(name.as_bytes());
    h[100..108].copy_from_slice(b"0000644\0");
    h[108..116].copy_from_slice(b"0000000\0");
    h[116..124].copy_from_slice(b"0000000\0");
    h[124..136].copy_from_slice(format!("{:011o}\0", size.min(0o777_7777_7777)).as_bytes());
    let mtime = u64::try_from(mtime_s).unwrap_or(0).min(0o777_7777_7777);
    h[136..148].copy_from_slice(format!("{mtime:011o}\0").as_bytes());
    h[148..156].copy_from_slice(b"        ");
    h[156] = kind;
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    h
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
fn truncate(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Copies exactly `e.size` bytes of the entry's file to `out`.
async fn copy_file<W: AsyncWrite + Unpin>(out: &mut W, blobs: &Blobs, e: &Entry) -> io::Result<()> {
    let file = open(blobs, e).await?;
    let copied = tokio::io::copy(&mut file.take(e.size), out).await?;
    if copied != e.size {
        return Err(io::Error::other("blob shorter than its recorded size"));
    }
    Ok(())
}

/// The entry's bytes, streamed.
async fn open(blobs: &Blobs, e: &Entry) -> io::Result<crate::blobs::BlobReader> {
    match &e.source {
        Source::Blob(hash) => blobs
            .read(hash)
            .await
            .map_err(|err| io::Error::other(err.to_string())),
        Source::File(path) => Ok(Box::pin(tokio::fs::File::open(path).await?)),
    }
}

/// CRC-32 of the entry's file, read in chunks.
async fn file_crc(blobs: &Blobs, e: &Entry) -> io::Result<u32> {
    let mut file = open(blobs, e).await?.take(e.size);
    let mut crc = Crc32::default();
    let mut buf = vec![0u8; COPY_BUFFER];
    loop {
        let n = file.read(&mut buf).await?;
        if n == 0 {
            return Ok(crc.finish());
        }
        crc.update(&buf[..n]);
    }
}

/// MS-DOS time and date of a Unix time (UTC), clamped to DOS's 1980–2107 range.
fn dos_time(mtime_s: i64) -> (u16, u16) {
    let t = Utc
        .timestamp_opt(mtime_s, 0)
        .single()
        .unwrap_or_else(|| Utc.timestamp_nanos(0));
    if t.year() < 1980 {
        return (0, (1 << 5) | 1);
    }
    let year = (t.year() - 1980).min(127) as u16;
    let date = (year << 9) | ((t.month() as u16) << 5) | t.day() as u16;
    let time = ((t.hour() as u16) << 11) | ((t.minute() as u16) << 5) | (t.second() as u16 / 2);
    (time, date)
}

/// The CRC-32 (IEEE, reflected) table.
const CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
};

/// An incremental CRC-32 as ZIP uses it.
#[derive(Clone, Copy, Debug)]
pub struct Crc32(u32);

impl Default for Crc32 {
    fn default() -> Self {
        Self(0xFFFF_FFFF)
    }
}

impl Crc32 {
    /// Feeds bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = CRC_TABLE[((self.0 ^ u32::from(b)) & 0xFF) as usize] ^ (self.0 >> 8);
        }
    }

    /// The checksum of everything fed.
    pub fn finish(self) -> u32 {
        !self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_matches_the_check_value() {
        let mut c = Crc32::default();
        c.update(b"123456789");
        assert_eq!(c.finish(), 0xCBF4_3926);
        assert_eq!(Crc32::default().finish(), 0);
    }

    #[test]
    fn names_are_cleaned_and_unique() {
        assert_eq!(
            entry_names([
                "a.png",
                "A.png",
                "a.png",
                "",
                "../x/y.txt",
                ".bashrc",
                "README"
            ]),
            [
                "a.png",
                "A (1).png",
                "a (2).png",
                "file",
                ".._x_y.txt",
                ".bashrc",
                "README"
            ]
        );
        assert_eq!(
            entry_names([".bashrc", ".bashrc"]),
            [".bashrc", ".bashrc (1)"]
        );
    }

    #[test]
    fn pax_lengths_count_themselves() {
        for n in [101, 150, 493, 494, 495, 1000] {
            let name = "x".repeat(n);
            let r = pax_record(&name).unwrap();
            let text = String::from_utf8(r.clone()).unwrap();
            let (len, _) = text.split_once(' ').unwrap();
            assert_eq!(len.parse::<usize>().unwrap(), r.len(), "{n}");
        }
        assert_eq!(pax_record("short"), None);
    }

    #[test]
    fn tar_header_checksum() {
        let h = tar_header("a.txt", 5, 0, b'0');
        let stored = u32::from_str_radix(std::str::from_utf8(&h[148..154]).unwrap(), 8).unwrap();
        let mut blank = h;
        blank[148..156].copy_from_slice(b"        ");
        assert_eq!(stored, blank.iter().map(|&b| u32::from(b)).sum::<u32>());
        assert_eq!(truncate("éé", 3), "é");
    }

    #[tokio::test]
    async fn lengths_match_what_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::open(None, dir.path()).await.unwrap();
        let mut entries = Vec::new();
        for (i, size) in [0usize, 1, 511, 512, 513, 70_000].into_iter().enumerate() {
            let mut writer = blobs.writer().await.unwrap();
            writer.write(&vec![i as u8; size]).await.unwrap();
            let hash = writer.finish().await.unwrap().hash;
            entries.push(Entry {
                name: if i == 3 {
                    "n".repeat(200)
                } else {
                    format!("{i}.bin")
                },
                source: Source::Blob(hash),
                size: size as u64,
                mtime_s: 1_700_000_000,
            });
        }
        let mut zip = Vec::new();
        write_zip(&mut zip, &blobs, &entries).await.unwrap();
        assert_eq!(zip.len() as u64, zip_len(&entries));
        let mut tar = Vec::new();
        write_tar(&mut tar, &blobs, &entries).await.unwrap();
        assert_eq!(tar.len() as u64, tar_len(&entries));
        assert_eq!(tar.len() % 512, 0);
    }
}
