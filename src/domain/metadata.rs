//! File metadata rules: keys of 1–64 characters from `[A-Za-z0-9_.:-]`, values of 1–512
//! characters, at most 50 keys per file.

use serde_json::{Map, Value};

/// Longest key.
pub const MAX_KEY_LEN: usize = 64;
/// Longest value.
pub const MAX_VALUE_LEN: usize = 512;
/// Most keys on one file.
pub const MAX_KEYS: usize = 50;

/// Which metadata rule a key or value broke.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MetadataError {
    /// The key is empty.
    KeyEmpty,
    /// The key is longer than [`MAX_KEY_LEN`].
    KeyTooLong(String),
    /// The key has a character outside `[A-Za-z0-9_.:-]`.
    KeyForbidden(String),
    /// The key was given twice.
    KeyDuplicated(String),
    /// The value of this key is empty.
    ValueEmpty(String),
    /// The value of this key is longer than [`MAX_VALUE_LEN`].
    ValueTooLong(String),
    /// The value of this key has a control character.
    ValueForbidden(String),
    /// More than [`MAX_KEYS`] keys.
    TooManyKeys,
}

/// Checks one key.
pub fn check_key(key: &str) -> Result<(), MetadataError> {
    if key.is_empty() {
        return Err(MetadataError::KeyEmpty);
    }
    if key.chars().count() > MAX_KEY_LEN {
        return Err(MetadataError::KeyTooLong(key.to_owned()));
    }
    if !key
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':'))
    {
        return Err(MetadataError::KeyForbidden(key.to_owned()));
    }
    Ok(())
}

/// Checks one value of `key`.
pub fn check_value(key: &str, value: &str) -> Result<(), MetadataError> {
    if value.is_empty() {
        return Err(MetadataError::ValueEmpty(key.to_owned()));
    }
    if value.chars().count() > MAX_VALUE_LEN {
        return Err(MetadataError::ValueTooLong(key.to_owned()));
    }
    if value.chars().any(char::is_control) {
        return Err(MetadataError::ValueForbidden(key.to_owned()));
    }
    Ok(())
}

/// Builds a metadata object from `(key, value)` pairs in arrival order, enforcing every rule.
pub fn build(pairs: &[(String, String)]) -> Result<Map<String, Value>, MetadataError> {
    let mut map = Map::new();
    for (key, value) in pairs {
        check_key(key)?;
        if map.contains_key(key) {
            return Err(MetadataError::KeyDuplicated(key.clone()));
        }
        check_value(key, value)?;
        map.insert(key.clone(), Value::String(value.clone()));
    }
    if map.len() > MAX_KEYS {
        return Err(MetadataError::TooManyKeys);
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn rules() {
        assert!(build(&pairs(&[("subsystem", "uploader"), ("pet", "cat")])).is_ok());
        assert_eq!(build(&pairs(&[("", "x")])), Err(MetadataError::KeyEmpty));
        let long = "k".repeat(65);
        assert_eq!(
            build(&pairs(&[(&long, "x")])),
            Err(MetadataError::KeyTooLong(long.clone()))
        );
        assert!(build(&pairs(&[(&"k".repeat(64), "x")])).is_ok());
        assert_eq!(
            build(&pairs(&[("a b", "x")])),
            Err(MetadataError::KeyForbidden("a b".into()))
        );
        assert_eq!(
            build(&pairs(&[("a", "x"), ("a", "y")])),
            Err(MetadataError::KeyDuplicated("a".into()))
        );
        assert_eq!(
            build(&pairs(&[("a", "")])),
            Err(MetadataError::ValueEmpty("a".into()))
        );
        assert_eq!(
            build(&pairs(&[("a", &"v".repeat(513))])),
            Err(MetadataError::ValueTooLong("a".into()))
        );
        assert_eq!(
            build(&pairs(&[("a", "x\u{1}")])),
            Err(MetadataError::ValueForbidden("a".into()))
        );
        let many: Vec<(String, String)> = (0..51).map(|i| (format!("k{i}"), "v".into())).collect();
        assert_eq!(build(&many), Err(MetadataError::TooManyKeys));
    }
}
