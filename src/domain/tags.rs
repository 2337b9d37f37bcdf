//! File tag rules (Uploadcare's "File tags" docs; pyuploadcare 6.3.0 and
//! @uploadcare/rest-client 6.21.0 enforce the same): every tag is stripped of surrounding
//! whitespace and lowercased, empty ones are dropped and duplicates removed (first wins,
//! order kept); then each must be 1–100 characters from `[-_.A-Za-z0-9]`, and a file holds
//! at most 50. Limits apply after normalization.

/// Longest tag, in characters.
pub const MAX_TAG_LEN: usize = 100;
/// Most tags on one file.
pub const MAX_TAGS: usize = 50;

/// Which tag rule an input broke.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TagError {
    /// This tag (normalized) is too long or has a character outside `[-_.A-Za-z0-9]`.
    Invalid(String),
    /// A file would hold this many tags, more than [`MAX_TAGS`].
    TooMany(usize),
}

/// Normalizes tags: stripped, lowercased, empty ones dropped, first occurrence kept.
pub fn normalize<'a>(tags: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for tag in tags {
        let tag = tag.trim().to_lowercase();
        if !tag.is_empty() && !out.contains(&tag) {
            out.push(tag);
        }
    }
    out
}

/// Checks one normalized tag.
fn check(tag: &str) -> Result<(), TagError> {
    let allowed = tag
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if !allowed || tag.len() > MAX_TAG_LEN {
        return Err(TagError::Invalid(tag.to_owned()));
    }
    Ok(())
}

/// Normalizes and checks tags where the per-file count does not apply (search filters,
/// tags to delete).
pub fn normalize_checked<'a>(
    tags: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<String>, TagError> {
    let tags = normalize(tags);
    tags.iter().try_for_each(|t| check(t))?;
    Ok(tags)
}

/// Normalizes and checks the tags a file is to hold.
pub fn for_file<'a>(tags: impl IntoIterator<Item = &'a str>) -> Result<Vec<String>, TagError> {
    let tags = normalize_checked(tags)?;
    if tags.len() > MAX_TAGS {
        return Err(TagError::TooMany(tags.len()));
    }
    Ok(tags)
}

/// The Upload API's `tags` form field: a comma-separated list.
pub fn from_form(field: Option<&str>) -> Result<Vec<String>, TagError> {
    for_file(field.unwrap_or("").split(','))
}

/// A change of a file's tags: the new list (storage order) and what it added and deleted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TagChange {
    /// The tags after the change.
    pub tags: Vec<String>,
    /// Tags the change added.
    pub added: Vec<String>,
    /// Tags the change deleted.
    pub deleted: Vec<String>,
}

/// `PUT`: `current` replaced by `new` (already normalized and checked); `added` and
/// `deleted` sorted alphabetically, as the docs say. The same set in another order changes
/// nothing (the docs: "regardless of case or order").
pub fn replace(current: &[String], new: Vec<String>) -> TagChange {
    let mut added = sifted(&new, current, false);
    let mut deleted = sifted(current, &new, false);
    added.sort();
    deleted.sort();
    let same_set = added.is_empty() && deleted.is_empty();
    TagChange {
        tags: if same_set { current.to_vec() } else { new },
        added,
        deleted,
    }
}

/// `PATCH`: `delete` applied first, then `add` (both normalized and checked); a tag in both
/// is deleted and added again (it moves to the end). `added` and `deleted` keep request
/// order. More than [`MAX_TAGS`] afterwards is an error.
pub fn patch(current: &[String], add: &[String], delete: &[String]) -> Result<TagChange, TagError> {
    let deleted = sifted(delete, current, true);
    let mut tags = sifted(current, delete, false);
    let mut added = Vec::new();
    for tag in add {
        if !tags.contains(tag) {
            tags.push(tag.clone());
            added.push(tag.clone());
        }
    }
    if tags.len() > MAX_TAGS {
        return Err(TagError::TooMany(tags.len()));
    }
    Ok(TagChange {
        tags,
        added,
        deleted,
    })
}

/// The tags of `tags`, in order, that are (`in_other`) or are not in `other`.
fn sifted(tags: &[String], other: &[String], in_other: bool) -> Vec<String> {
    tags.iter()
        .filter(|t| other.contains(t) == in_other)
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(t: &[&str]) -> Vec<String> {
        t.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn normalization_and_rules() {
        assert_eq!(
            normalize([" Cat ", "cat", "", "Z", "a", "CAT"]),
            v(&["cat", "z", "a"])
        );
        assert_eq!(for_file(["a-b_c.9"]), Ok(v(&["a-b_c.9"])));
        assert_eq!(for_file(["a b"]), Err(TagError::Invalid("a b".into())));
        assert_eq!(for_file(["ü"]), Err(TagError::Invalid("ü".into())));
        assert!(for_file([&*"x".repeat(100)]).is_ok());
        let long = "x".repeat(101);
        assert_eq!(for_file([&*long]), Err(TagError::Invalid(long.clone())));
        let many: Vec<String> = (0..51).map(|i| format!("t{i}")).collect();
        assert_eq!(
            for_file(many.iter().map(String::as_str)),
            Err(TagError::TooMany(51))
        );
        assert!(normalize_checked(many.iter().map(String::as_str)).is_ok());
        assert_eq!(from_form(Some("cat, Dog,,cat")), Ok(v(&["cat", "dog"])));
        assert_eq!(from_form(None), Ok(vec![]));
    }

    #[test]
    fn replace_and_patch() {
        let c = replace(&v(&["b", "a"]), v(&["c", "a", "d"]));
        assert_eq!(c.tags, v(&["c", "a", "d"]));
        assert_eq!(c.added, v(&["c", "d"]));
        assert_eq!(c.deleted, v(&["b"]));
        assert_eq!(
            replace(&v(&["b", "a"]), v(&["a", "b"])).tags,
            v(&["b", "a"])
        );
        let p = patch(&v(&["a", "b"]), &v(&["b", "c"]), &v(&["a", "x", "b"])).unwrap();
        assert_eq!(p.tags, v(&["b", "c"]));
        assert_eq!(p.added, v(&["b", "c"]));
        assert_eq!(p.deleted, v(&["a", "b"]));
        let full: Vec<String> = (0..50).map(|i| format!("t{i}")).collect();
        assert_eq!(patch(&full, &v(&["new"]), &[]), Err(TagError::TooMany(51)));
        assert!(patch(&full, &v(&["new"]), &v(&["t0"])).is_ok());
    }
}
