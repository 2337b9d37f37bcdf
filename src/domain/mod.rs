//! Uploadcare's rules, free of HTTP and SQL: ids, members, metadata, tags, content, time.

pub mod changes;
pub mod clock;
pub mod content;
pub mod copies;
pub mod files;
pub mod groups;
pub mod metadata;
pub mod signing;
pub mod tags;
pub mod time;
