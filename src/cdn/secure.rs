//! Secure delivery (signed URLs): a project with a secure delivery secret serves CDN
//! paths only with `?token=exp=<ts>~acl=<acl>~hmac=<hex>` or `?token=exp=<ts>~hmac=<hex>`
//! (a URL token), the Akamai token format pyuploadcare's `generate_secure_url` writes.
//!
//! The HMAC-SHA256 is keyed with the hex-*decoded* secret and signs `exp=…~acl=…`, or
//! `exp=…~url=<path>` with the path written as Python's `quote_plus(path, safe=",")`
//! writes it (lower-case escapes, `~` as `%7e`). An ACL ending in `*` covers every path
//! that starts with it; another ACL must equal the path. Paths compare percent-decoded.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::domain::signing::constant_time_eq;

/// Whether `query` carries a token that admits `path` at `now_s` under `secret`.
pub fn admits(query: Option<&str>, path: &str, secret: &str, now_s: i64) -> bool {
    // The token is read as sent: its ACL keeps escapes such as `%7e`, which it is signed with.
    let Some(token) = query.and_then(|q| q.split('&').find_map(|p| p.strip_prefix("token=")))
    else {
        return false;
    };
    let (mut exp, mut acl, mut mac) = (None, None, None);
    for field in token.split('~') {
        match field.split_once('=') {
            Some(("exp", v)) => exp = Some(v),
            Some(("acl", v)) => acl = Some(v),
            Some(("hmac", v)) => mac = Some(v),
            _ => {}
        }
    }
    let (Some(exp), Some(mac)) = (exp, mac) else {
        return false;
    };
    let Ok(expires) = exp.parse::<i64>() else {
        return false;
    };
    if expires < now_s {
        return false;
    }
    let key = hex::decode(secret).unwrap_or_else(|_| secret.as_bytes().to_vec());
    let signs = |message: &str| -> bool {
        let Ok(mut m) = Hmac::<Sha256>::new_from_slice(&key) else {
            return false;
        };
        m.update(message.as_bytes());
        let expected = hex::encode(m.finalize().into_bytes());
        constant_time_eq(expected.as_bytes(), mac.to_ascii_lowercase().as_bytes())
    };
    let path = decode(path);
    match acl {
        Some(acl) => {
            let pattern = decode(acl);
            let covers = match pattern.strip_suffix('*') {
                Some(prefix) => path.starts_with(prefix),
                None => pattern == path,
            };
            covers && signs(&format!("exp={exp}~acl={acl}"))
        }
        None => {
            // pyuploadcare signs the path as given; its URL always ends with `/`.
            let trimmed = path.trim_end_matches('/');
            [path.as_str(), trimmed]
                .iter()
                .any(|p| signs(&format!("exp={exp}~url={}", quote_plus(p))))
        }
    }
}

fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// Python's `quote_plus(s, safe=",")` with lower-case escapes and `~` escaped.
fn quote_plus(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b',' => {
                out.push(char::from(b))
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02x}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    // pyuploadcare's tests/functional/test_secure_url.py (frozen at 2021-10-12).
    const SECRET: &str = "73636b61519adede42191efe1e73f02a67c7b692e3765f90c250c230be095211";
    const NOW: i64 = 1_633_996_800;

    #[test]
    fn pyuploadcare_acl_tokens() {
        let path = "/52da3bfc-7cd8-4861-8b05-126fef7a6994/";
        let q = "token=exp=1633997100~acl=/52da3bfc-7cd8-4861-8b05-126fef7a6994/~hmac=81852547d9dbd9eefd24bee2cada6eab02244b9013533bc8511511923098df72";
        assert!(admits(Some(q), path, SECRET, NOW));
        assert!(!admits(Some(q), path, SECRET, 1_633_997_101));
        assert!(!admits(
            Some(q),
            "/52da3bfc-7cd8-4861-8b05-126fef7a6994/x.png",
            SECRET,
            NOW
        ));
        assert!(!admits(
            Some(&q.replace("81852", "81853")),
            path,
            SECRET,
            NOW
        ));
        let wild = "token=exp=1633997100~acl=/52da3bfc-7cd8-4861-8b05-126fef7a6994/*~hmac=b2c7526a29d0588b121aa78bc2b2c9399bfb6e1cad3d95397efed722fdbc5a78";
        assert!(admits(
            Some(wild),
            "/52da3bfc-7cd8-4861-8b05-126fef7a6994/-/resize/10x/a.png",
            SECRET,
            NOW
        ));
        assert!(!admits(None, path, SECRET, NOW));
    }

    #[test]
    fn escapes_in_the_acl_are_signed_as_sent() {
        // pyuploadcare's cassette test_acl_token_group_url.yaml (recorded against production).
        let q = "token=exp=2015971200~acl=/3b278cee-47bd-4276-8d7d-9cde5902b18c%7e1/nth/0/~hmac=9df9a86460fab102dd0ecb4a36980a1f932b6ce5cf4bdc0307906451fcf8978e";
        let path = "/3b278cee-47bd-4276-8d7d-9cde5902b18c~1/nth/0/";
        assert!(admits(Some(q), path, SECRET, NOW));
    }

    #[test]
    fn pyuploadcare_url_token() {
        let q = "token=exp=1633997100~hmac=25c485fd7f85c19704013673c80d2a86df1b4241fb44cdfa7b7762cb27ef3f57";
        assert!(admits(
            Some(q),
            "/52da3bfc-7cd8-4861-8b05-126fef7a6994/",
            SECRET,
            NOW
        ));
        assert!(!admits(
            Some(q),
            "/52da3bfc-7cd8-4861-8b05-126fef7a6995/",
            SECRET,
            NOW
        ));
    }
}
