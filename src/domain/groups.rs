//! Group ids (`<uuid>~<count>`), group members (uuid, uuid with CDN operations, or CDN URL)
//! and the order of `files[N]` / `files[]` form fields.

use std::cmp::Ordering;

use uuid::Uuid;

/// Most members a group may have.
pub const MAX_MEMBERS: usize = 1000;

/// Parses a file uuid in its canonical 36-character hyphenated form (any case).
pub fn parse_file_uuid(s: &str) -> Option<Uuid> {
    let bytes = s.as_bytes();
    if bytes.len() != 36 || [8, 13, 18, 23].iter().any(|&i| bytes[i] != b'-') {
        return None;
    }
    Uuid::parse_str(s).ok()
}

/// A parsed group id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GroupId {
    /// The group's uuid.
    pub uuid: Uuid,
    /// The count after `~`.
    pub count: i64,
}

impl GroupId {
    /// Parses `<uuid>~<count>` with a positive decimal count.
    pub fn parse(s: &str) -> Option<Self> {
        let (uuid, count) = s.split_once('~')?;
        if count.is_empty() || count.len() > 6 || !count.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let count: i64 = count.parse().ok()?;
        if count < 1 {
            return None;
        }
        Some(Self {
            uuid: parse_file_uuid(uuid)?,
            count,
        })
    }
}

impl std::fmt::Display for GroupId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}~{}", self.uuid, self.count)
    }
}

/// One member as given to `POST /group/`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    /// The member file.
    pub uuid: Uuid,
    /// CDN operations after `/-/`, normalised to end in `/` (empty when none).
    pub default_effects: String,
}

/// Parses a member: `uuid`, `uuid/`, `uuid/-/ops/…`, or a URL of any host whose path starts
/// with one of those. `None` when it is not a valid file URL.
pub fn parse_member(value: &str) -> Option<Member> {
    let value = value.trim();
    let path = match value.split_once("://") {
        Some((scheme, rest)) => {
            if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
                return None;
            }
            let (host, path) = rest.split_once('/')?;
            if host.is_empty() {
                return None;
            }
            path
        }
        None if value.starts_with("//") => value[2..].split_once('/')?.1,
        None => value.strip_prefix('/').unwrap_or(value),
    };
    // A query string or fragment is not part of the member.
    let path = path.split(['?', '#']).next().unwrap_or("");
    let (head, rest) = match path.split_once('/') {
        Some((head, rest)) => (head, rest),
        None => (path, ""),
    };
    let uuid = parse_file_uuid(head)?;
    let default_effects = match rest {
        "" => String::new(),
        r => {
            let ops = r.strip_prefix("-/")?;
            let mut ops = ops.trim_end_matches('/').to_owned();
            if ops.is_empty() || ops.split('/').any(str::is_empty) {
                return None;
            }
            ops.push('/');
            ops
        }
    };
    Some(Member {
        uuid,
        default_effects,
    })
}

/// Where a form field puts a member: `files[N]` at index N, `files[]` in arrival order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MemberSlot {
    /// `files[N]`; the digits are kept as text so any length orders correctly.
    Indexed(String),
    /// `files[]`.
    Appended,
}

/// Classifies a form field name as a member slot, or `None` for other fields.
pub fn member_slot(name: &str) -> Option<MemberSlot> {
    let inner = name.strip_prefix("files[")?.strip_suffix(']')?;
    if inner.is_empty() {
        return Some(MemberSlot::Appended);
    }
    if !inner.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let digits = inner.trim_start_matches('0');
    Some(MemberSlot::Indexed(if digits.is_empty() {
        "0".to_owned()
    } else {
        digits.to_owned()
    }))
}

/// Collects member values in group order: `files[N]` by N as a number (a repeated N keeps the
/// last value), then `files[]` in arrival order. Empty values are left out.
#[derive(Debug, Default)]
pub struct MemberFields {
    indexed: Vec<(String, String)>,
    appended: Vec<String>,
}

impl MemberFields {
    /// Adds one field if its name is a member slot; returns whether it was one.
    pub fn offer(&mut self, name: &str, value: &str) -> bool {
        let Some(slot) = member_slot(name) else {
            return false;
        };
        if value.trim().is_empty() {
            return true;
        }
        match slot {
            MemberSlot::Appended => self.appended.push(value.to_owned()),
            MemberSlot::Indexed(n) => {
                self.indexed.retain(|(k, _)| *k != n);
                self.indexed.push((n, value.to_owned()));
            }
        }
        true
    }

    /// Number of values collected so far.
    pub fn len(&self) -> usize {
        self.indexed.len() + self.appended.len()
    }

    /// Whether no value was collected.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The values in group order.
    pub fn into_ordered(mut self) -> Vec<String> {
        self.indexed.sort_by(|(a, _), (b, _)| compare_indices(a, b));
        self.indexed
            .into_iter()
            .map(|(_, v)| v)
            .chain(self.appended)
            .collect()
    }
}

/// Compares two `files[N]` indices (digits without leading zeros) as numbers.
fn compare_indices(a: &str, b: &str) -> Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    const U: &str = "d6d34fa9-addd-472c-868d-2e5c105f9fcd";

    #[test]
    fn group_ids() {
        let id = GroupId::parse(&format!("{U}~12")).unwrap();
        assert_eq!(id.count, 12);
        assert_eq!(id.to_string(), format!("{U}~12"));
        for bad in [
            U.to_owned(),
            format!("{U}~"),
            format!("{U}~0"),
            format!("{U}~-1"),
            format!("{U}~1x"),
            format!("{U}~+1"),
            "abc~1".to_owned(),
            format!("{}~1", U.replace('-', "")),
        ] {
            assert_eq!(GroupId::parse(&bad), None, "{bad}");
        }
    }

    #[test]
    fn members_in_every_form() {
        let plain = Member {
            uuid: Uuid::parse_str(U).unwrap(),
            default_effects: String::new(),
        };
        let resized = Member {
            default_effects: "resize/x800/".to_owned(),
            ..plain.clone()
        };
        for (given, want) in [
            (U.to_owned(), &plain),
            (format!("{U}/"), &plain),
            (U.to_uppercase(), &plain),
            (format!("{U}/-/resize/x800/"), &resized),
            (format!("{U}/-/resize/x800"), &resized),
            (
                format!("http://127.0.0.1:8000/{U}/-/resize/x800/"),
                &resized,
            ),
            (format!("https://ucarecdn.com/{U}/"), &plain),
        ] {
            assert_eq!(parse_member(&given).as_ref(), Some(want), "{given}");
        }
        for bad in [
            "",
            "wrong-uuid",
            "http://invalid/url",
            &format!("ftp://host/{U}/"),
            &format!("{U}/resize/x800/"),
            &format!("{U}/-/"),
            &format!("{U}~2"),
            &format!("{U}x"),
        ] {
            assert_eq!(parse_member(bad), None, "{bad}");
        }
    }

    #[test]
    fn indexed_fields_order_numerically_then_appended() {
        let mut f = MemberFields::default();
        assert!(f.offer("files[10]", "c"));
        assert!(f.offer("files[]", "x"));
        assert!(f.offer("files[2]", "b"));
        assert!(f.offer("files[0]", "a"));
        assert!(f.offer("files[]", "y"));
        assert!(f.offer("files[1]", ""));
        assert!(!f.offer("pub_key", "k"));
        assert!(!f.offer("files[a]", "k"));
        assert_eq!(f.into_ordered(), ["a", "b", "c", "x", "y"]);
    }

    #[test]
    fn leading_zeros_and_huge_indices() {
        let mut f = MemberFields::default();
        f.offer("files[99999999999999999999999]", "z");
        f.offer("files[007]", "seven");
        f.offer("files[8]", "eight");
        f.offer("files[7]", "seven again");
        assert_eq!(f.into_ordered(), ["seven again", "eight", "z"]);
        assert_eq!(compare_indices("10", "9"), Ordering::Greater);
    }
}
