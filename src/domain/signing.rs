//! Signatures: signed uploads (hex HMAC-SHA256 of `expire`) and the REST `Uploadcare` scheme
//! (hex HMAC-SHA1 of the request's canonical string). Comparisons run in constant time.

use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use md5::{Digest, Md5};
use sha1::Sha1;
use sha2::Sha256;

/// Whether `signature` is hex HMAC-SHA256(`secret`, `expire`), compared in constant time.
pub fn upload_signature_matches(secret: &str, expire: &str, signature: &str) -> bool {
    hmac_hex_matches::<Hmac<Sha256>>(secret, expire, signature)
}

/// The string a REST request signs: `VERB\nmd5hex(body)\ncontent-type\ndate\nuri`.
pub fn rest_string_to_sign(
    method: &str,
    body: &[u8],
    content_type: &str,
    date: &str,
    uri: &str,
) -> String {
    let body_md5 = hex::encode(Md5::digest(body));
    format!("{method}\n{body_md5}\n{content_type}\n{date}\n{uri}")
}

/// Whether `signature` is hex HMAC-SHA1(`secret`, `string_to_sign`), in constant time.
pub fn rest_signature_matches(secret: &str, string_to_sign: &str, signature: &str) -> bool {
    hmac_hex_matches::<Hmac<Sha1>>(secret, string_to_sign, signature)
}

/// Whether `signature` is the hex HMAC `M`(`secret`, `message`); `verify_slice` compares
/// in constant time.
fn hmac_hex_matches<M: Mac + KeyInit>(secret: &str, message: &str, signature: &str) -> bool {
    let Ok(given) = hex::decode(signature.trim()) else {
        return false;
    };
    let Ok(mut mac) = <M as KeyInit>::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    mac.update(message.as_bytes());
    mac.verify_slice(&given).is_ok()
}

/// Compares two byte strings in time that depends only on their lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    #[test]
    fn constant_time_eq_compares() {
        assert!(super::constant_time_eq(b"token", b"token"));
        assert!(!super::constant_time_eq(b"token", b"tokem"));
        assert!(!super::constant_time_eq(b"token", b"token2"));
    }

    use super::*;

    #[test]
    fn upload_signature_vector() {
        // printf '1454902434' | openssl dgst -sha256 -hmac demosecretkey
        let good = "f48020921ad3964cdf218f5f57bf97d1adaecf334898f05e24abb6610b99d2bb";
        assert!(upload_signature_matches(
            "demosecretkey",
            "1454902434",
            good
        ));
        assert!(upload_signature_matches(
            "demosecretkey",
            "1454902434",
            &good.to_uppercase()
        ));
        assert!(!upload_signature_matches("other", "1454902434", good));
        assert!(!upload_signature_matches(
            "demosecretkey",
            "1454902435",
            good
        ));
        assert!(!upload_signature_matches(
            "demosecretkey",
            "1454902434",
            "zz"
        ));
    }

    /// The string a `GET /files/?limit=1` with an empty body signs.
    fn list_files_string() -> String {
        rest_string_to_sign(
            "GET",
            b"",
            "application/json",
            "Fri, 30 Sep 2016 11:10:54 GMT",
            "/files/?limit=1",
        )
    }

    #[test]
    fn rest_signature_vector() {
        let s = list_files_string();
        // printf '<that string>' | openssl dgst -sha1 -hmac demosecretkey
        let good = "3a93073efebeea437fd0e47412a3299c8a1223ef";
        assert!(rest_signature_matches("demosecretkey", &s, good));
        assert!(!rest_signature_matches(
            "demosecretkey",
            &s.replace("GET", "PUT"),
            good
        ));
    }

    #[test]
    fn rest_string_layout() {
        let s = list_files_string();
        assert_eq!(
            s,
            "GET\nd41d8cd98f00b204e9800998ecf8427e\napplication/json\nFri, 30 Sep 2016 11:10:54 GMT\n/files/?limit=1"
        );
    }
}
