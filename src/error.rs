//! The store's error: small and free of HTTP. Each API maps it to its own wire format.
//! Also the two helpers each API's error catalogue is built with: [`error_catalogue!`] and
//! [`fill_template`].

use std::fmt;

/// What went wrong below the HTTP layer.
#[derive(Clone, Debug)]
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

/// Declares an API's error codes as data: a fieldless enum with, per code, its HTTP status
/// and message template (`%s`/`%d` marking the arguments, filled by [`fill_template`]), and
/// `ALL`, every code in table order, for tests that walk the table.
macro_rules! error_catalogue {
    ($(#[$meta:meta])* enum $name:ident; $($code:ident = ($status:literal, $message:literal),)*) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum $name {
            $(
                #[doc = $message]
                $code,
            )*
        }

        impl $name {
            /// Every code, in table order.
            pub const ALL: &'static [$name] = &[$($name::$code,)*];

            /// The code's name.
            pub fn name(self) -> &'static str {
                match self { $($name::$code => stringify!($code),)* }
            }

            /// The HTTP status.
            pub fn status(self) -> u16 {
                match self { $($name::$code => $status,)* }
            }

            /// The message template, `%s`/`%d` marking the arguments.
            pub fn template(self) -> &'static str {
                match self { $($name::$code => $message,)* }
            }
        }
    };
}
pub(crate) use error_catalogue;
