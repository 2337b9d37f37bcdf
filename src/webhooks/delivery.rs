//! Sending one delivery: the signature, the HTTP POST, and when to try again.
//!
//! Production's schedule, timeout and User-Agent are unverified ("retries a non-2xx for up
//! to 72 hours with growing delays"); ours, in one place:
//! - a POST of the exact stored body, `Content-Type: application/json`, with
//!   `X-Uc-Signature: v1=<hex HMAC-SHA256(signing_secret, body)>` when the hook has a secret,
//!   and `User-Agent: Uploadcare-Emulator-Webhooks`;
//! - any 2xx answer is delivered; any other status, a connection failure or no answer within
//!   [`TIMEOUT`] is a failed attempt;
//! - failed attempts are retried after [`RETRY_DELAYS`] (5 s, 30 s, 2 min, 10 min, 30 min,
//!   1 h, 2 h, 4 h, 8 h, then every 12 h), measured on the emulator's clock, until 72 hours
//!   after the event ([`GIVE_UP_AFTER_US`]); a delivery whose next try would fall later is
//!   marked failed.
//! - `https://` targets are tried with rustls and the system's root certificates (TLS is
//!   compiled in for the S3 blob store's client); one the machine cannot verify fails every
//!   attempt with a connection error (shown in the admin delivery list).

use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::domain::signing::constant_time_eq;

/// How long a receiver has to answer.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// Delays after the 1st, 2nd, ... failed attempt, in seconds; the last repeats.
pub const RETRY_DELAYS: [i64; 10] = [
    5,
    30,
    120,
    600,
    1800,
    3600,
    2 * 3600,
    4 * 3600,
    8 * 3600,
    12 * 3600,
];

/// Retries stop this long after the event (72 hours), in microseconds.
pub const GIVE_UP_AFTER_US: i64 = 72 * 3_600_000_000;

/// The `User-Agent` deliveries carry.
pub const USER_AGENT: &str = "Uploadcare-Emulator-Webhooks";

/// The `X-Uc-Signature` value for `body` under `secret`: `v1=<lowercase hex>`.
pub fn signature(secret: &str, body: &[u8]) -> String {
    // HMAC takes keys of any length; the empty digest of the impossible error never matches.
    let digest = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mut mac) => {
            mac.update(body);
            hex::encode(mac.finalize().into_bytes())
        }
        Err(_) => String::new(),
    };
    format!("v1={digest}")
}

/// Whether `header` is the right `X-Uc-Signature` for `body` under `secret` (compared in
/// constant time), as a receiver checks it.
pub fn signature_matches(secret: &str, body: &[u8], header: &str) -> bool {
    constant_time_eq(signature(secret, body).as_bytes(), header.trim().as_bytes())
}

/// When to try again after failed attempt number `attempts` (1-based) of an event created
/// at `created_us`, given `now_us`; `None` when retries are over.
pub fn next_attempt(created_us: i64, attempts: i64, now_us: i64) -> Option<i64> {
    let index = usize::try_from(attempts.saturating_sub(1))
        .unwrap_or(0)
        .min(RETRY_DELAYS.len() - 1);
    let next = now_us.saturating_add(RETRY_DELAYS[index] * 1_000_000);
    (next <= created_us.saturating_add(GIVE_UP_AFTER_US)).then_some(next)
}

/// What one attempt got.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The HTTP status, when the receiver answered.
    pub status: Option<u16>,
    /// Why it failed without an answer (connection refused, timeout, ...).
    pub error: Option<String>,
    /// Time from sending to the answer (or the failure), in microseconds.
    pub latency_us: i64,
}

impl Outcome {
    /// Whether the receiver took it (a 2xx).
    pub fn delivered(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// The HTTP client deliveries use (no redirects: a receiver answering 3xx failed).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(TIMEOUT)
        .user_agent(USER_AGENT)
        .build()
        .unwrap_or_default()
}

/// POSTs `body` to `target`, signed with `secret` when there is one.
pub async fn send(
    client: &reqwest::Client,
    target: &str,
    secret: Option<&str>,
    body: &str,
) -> Outcome {
    let mut request = client
        .post(target)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body.to_owned());
    if let Some(secret) = secret {
        request = request.header("X-Uc-Signature", signature(secret, body.as_bytes()));
    }
    let started = Instant::now();
    let answer = request.send().await;
    let latency_us = i64::try_from(started.elapsed().as_micros()).unwrap_or(i64::MAX);
    match answer {
        Ok(response) => Outcome {
            status: Some(response.status().as_u16()),
            error: None,
            latency_us,
        },
        Err(e) => Outcome {
            status: None,
            error: Some(describe(&e)),
            latency_us,
        },
    }
}

/// A short reason for a failed request (no URL: that is listed next to it).
fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        format!("no answer within {} s", TIMEOUT.as_secs())
    } else if e.is_connect() {
        "connection failed".to_owned()
    } else if e.is_builder() {
        "target URL cannot be requested".to_owned()
    } else {
        "request failed".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_vector() {
        // printf '{"a":1}' | openssl dgst -sha256 -hmac secret
        let want = "v1=aa9e2e3575f5d7098b6caccd790888c36d5fdb63342a73bada2d6a51747a8494";
        let got = signature("secret", br#"{"a":1}"#);
        assert_eq!(got, want);
        assert!(signature_matches("secret", br#"{"a":1}"#, &got));
        assert!(!signature_matches("secret", br#"{"a":2}"#, &got));
        assert!(!signature_matches("other", br#"{"a":1}"#, &got));
    }

    #[test]
    fn retries_grow_and_stop_after_72_hours() {
        let s = 1_000_000;
        assert_eq!(next_attempt(0, 1, 0), Some(5 * s));
        assert_eq!(next_attempt(0, 2, 10 * s), Some(40 * s));
        assert_eq!(next_attempt(0, 30, 0), Some(12 * 3600 * s));
        assert_eq!(next_attempt(0, 30, 61 * 3600 * s), None);
        let mut now = 0;
        let mut attempts = 0;
        while let Some(next) = next_attempt(0, attempts + 1, now) {
            now = next;
            attempts += 1;
        }
        assert!(now <= GIVE_UP_AFTER_US);
        assert_eq!(attempts, 13);
    }
}
