//! The store's error: small and free of HTTP. Each API maps it to its own wire format.

use std::fmt;

/// What went wrong below the HTTP layer.
#[derive(Debug)]
pub enum StoreError {
    /// The database or the blob directory failed; details are for the log only.
    Internal(String),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Internal(why) => write!(f, "store failure: {why}"),
        }
    }
}

impl std::error::Error for StoreError {}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::Internal(e.to_string())
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        StoreError::Internal(e.to_string())
    }
}

impl From<std::io::Error> for StoreError {
    fn from(e: std::io::Error) -> Self {
        StoreError::Internal(e.to_string())
    }
}

/// Fills the `%s`/`%d` placeholders of an error message template (the notation of
/// production's error tables) with `args`, in order. A placeholder without an argument, and
/// a `%` that starts no placeholder, stay as they are; arguments are never re-read.
pub fn fill_template(template: &str, args: &[&str]) -> String {
    let mut message = String::with_capacity(template.len());
    let mut rest = template;
    let mut args = args.iter();
    while let Some(at) = rest.find('%') {
        let (before, after) = rest.split_at(at);
        message.push_str(before);
        match (after.as_bytes().get(1), args.next()) {
            (Some(b's' | b'd'), Some(arg)) => {
                message.push_str(arg);
                rest = &after[2..];
            }
            _ => {
                message.push('%');
                rest = &after[1..];
            }
        }
    }
    message.push_str(rest);
    message
}
