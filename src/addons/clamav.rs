//! `uc_clamav_virus_scan`: a signature scan of a file's bytes.
//!
//! Built in: the EICAR anti-virus test file, as ClamAV names it — the exact 68-byte file is
//! `Win.Test.EICAR_HDB-1` (ClamAV's hash signature); the test string at the start of a file
//! followed only by whitespace, 128 bytes at most (the EICAR rules), is `Eicar-Signature`.
//! Operators add signatures in the configuration (`[[virus_signatures]]`, a name and a hex
//! or text pattern), matched anywhere in the file as ClamAV's body signatures are.

use std::io::Read;
use std::path::Path;

use memchr::memmem::Finder;

use crate::config::VirusSignature;

/// The EICAR test string.
pub const EICAR: &[u8] = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";

/// ClamAV's version the appdata reports (one the reference lists).
pub const VERSION: &str = "0.105.1";

/// Bytes read at a time.
const CHUNK: usize = 1 << 20;

/// The name of the first signature found in the file at `path`, `None` when it is clean.
pub fn scan(path: &Path, signatures: &[VirusSignature]) -> std::io::Result<Option<String>> {
    let mut file = std::fs::File::open(path)?;
    let size = file.metadata()?.len();
    let finders: Vec<(Finder<'_>, &str)> = signatures
        .iter()
        .map(|s| (Finder::new(&s.pattern), s.name.as_str()))
        .collect();
    let overlap = signatures
        .iter()
        .map(|s| s.pattern.len())
        .max()
        .unwrap_or(1)
        .saturating_sub(1);
    let mut window: Vec<u8> = Vec::with_capacity(CHUNK + overlap);
    let mut buf = vec![0u8; CHUNK];
    let mut first = true;
    loop {
        let read = file.read(&mut buf)?;
        if read == 0 {
            return Ok(None);
        }
        window.extend_from_slice(&buf[..read]);
        if first {
            first = false;
            if let Some(name) = eicar(&window, size) {
                return Ok(Some(name.to_owned()));
            }
        }
        if let Some((_, name)) = finders.iter().find(|(f, _)| f.find(&window).is_some()) {
            return Ok(Some((*name).to_owned()));
        }
        let keep = overlap.min(window.len());
        window.drain(..window.len() - keep);
    }
}

/// The EICAR verdict for a file of `size` bytes starting with `head`.
fn eicar(head: &[u8], size: u64) -> Option<&'static str> {
    let rest = head.strip_prefix(EICAR)?;
    if size == EICAR.len() as u64 {
        Some("Win.Test.EICAR_HDB-1")
    } else if size <= 128 && rest.iter().all(u8::is_ascii_whitespace) {
        Some("Eicar-Signature")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan_bytes(bytes: &[u8], sigs: &[VirusSignature]) -> Option<String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, bytes).unwrap();
        scan(&path, sigs).unwrap()
    }

    #[test]
    fn eicar_is_found_as_clamav_names_it() {
        assert_eq!(
            scan_bytes(EICAR, &[]).as_deref(),
            Some("Win.Test.EICAR_HDB-1")
        );
        let mut padded = EICAR.to_vec();
        padded.extend_from_slice(b"\r\n  ");
        assert_eq!(scan_bytes(&padded, &[]).as_deref(), Some("Eicar-Signature"));
        // Not at the start, or followed by other bytes: not the test file.
        let mut inside = b"x".to_vec();
        inside.extend_from_slice(EICAR);
        assert_eq!(scan_bytes(&inside, &[]), None);
        let mut tail = EICAR.to_vec();
        tail.extend_from_slice(b" more");
        assert_eq!(scan_bytes(&tail, &[]), None);
        assert_eq!(scan_bytes(b"", &[]), None);
        assert_eq!(scan_bytes(b"clean", &[]), None);
    }

    #[test]
    fn operator_signatures_match_across_chunks() {
        let sig = VirusSignature {
            name: "Emulator.Test.Marker".into(),
            pattern: b"MARKER-123".to_vec(),
        };
        let mut big = vec![b'a'; CHUNK - 4];
        big.extend_from_slice(b"MARKER-123");
        big.extend_from_slice(&[b'b'; 100]);
        assert_eq!(
            scan_bytes(&big, std::slice::from_ref(&sig)).as_deref(),
            Some("Emulator.Test.Marker")
        );
        assert_eq!(scan_bytes(&big[..CHUNK], std::slice::from_ref(&sig)), None);
    }
}
