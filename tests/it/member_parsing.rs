//! Property tests of group member parsing, `files[N]` ordering and group ids.

use proptest::prelude::*;
use uploadcare_emulator::domain::groups::{parse_member, GroupId, MemberFields};
use uuid::Uuid;

fn uuid() -> impl Strategy<Value = Uuid> {
    any::<u128>().prop_map(Uuid::from_u128)
}

/// A chain of CDN operations such as `resize/x800/-/crop/10x10`.
fn ops() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec("[a-z]{1,8}(/[a-z0-9x:,.]{1,8}){0,2}", 0..4)
}

/// Where a member string comes from: bare, leading slash, or a URL of any host.
fn prefix() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("/".to_owned()),
        "(http|https|HTTP|Https)://[a-z0-9.-]{1,20}(:[0-9]{1,5})?/",
    ]
}

proptest! {
    /// Every accepted form parses to its uuid and normalised operations.
    #[test]
    fn every_member_form_parses(
        u in uuid(),
        upper in any::<bool>(),
        prefix in prefix(),
        ops in ops(),
        trailing in any::<bool>(),
    ) {
        let id = if upper { u.to_string().to_uppercase() } else { u.to_string() };
        let mut value = format!("{prefix}{id}");
        if !ops.is_empty() {
            value.push_str("/-/");
            value.push_str(&ops.join("/-/"));
        }
        if trailing {
            value.push('/');
        }
        let member = parse_member(&value);
        prop_assert!(member.is_some(), "{value}");
        let member = member.unwrap();
        prop_assert_eq!(member.uuid, u);
        let expected = if ops.is_empty() { String::new() } else { format!("{}/", ops.join("/-/")) };
        prop_assert_eq!(member.default_effects, expected);
    }

    /// Arbitrary text never panics; whatever parses names a real uuid found in the text.
    #[test]
    fn junk_never_panics(s in "\\PC{0,80}") {
        if let Some(m) = parse_member(&s) {
            prop_assert!(s.to_lowercase().contains(&m.uuid.to_string()), "{s}");
        }
        let _ = GroupId::parse(&s);
    }

    /// Text without a hyphenated uuid is always rejected.
    #[test]
    fn junk_is_rejected(s in "[a-zA-Z0-9/:.~?#%-]{0,60}") {
        let has_uuid = s.as_bytes().windows(36).any(|w| {
            std::str::from_utf8(w).is_ok_and(|w| Uuid::parse_str(w).is_ok() && w.matches('-').count() == 4)
        });
        prop_assume!(!has_uuid);
        prop_assert_eq!(parse_member(&s), None, "{}", s);
    }

    /// A valid member with a broken tail is rejected.
    #[test]
    fn broken_tails_are_rejected(
        u in uuid(),
        tail in prop_oneof![
            Just("x".to_owned()),
            Just("/-/".to_owned()),
            Just("/-//".to_owned()),
            Just("~1".to_owned()),
            "/[a-z]{1,8}/",
            "/-/[a-z]{1,5}//[a-z]{1,5}/",
        ],
    ) {
        let value = format!("{u}{tail}");
        prop_assert_eq!(parse_member(&value), None, "{}", value);
    }

    /// `files[N]` come out by N as a number whatever the arrival order (leading zeros
    /// included, the last value of a repeated N winning), followed by `files[]` in order.
    #[test]
    fn indexed_then_appended_order(
        indices in prop::collection::btree_set(0u64..100_000, 0..40),
        appended in prop::collection::vec("[a-z]{1,5}", 0..10),
        seed in any::<u64>(),
        zeros in prop::collection::vec(0usize..3, 40),
    ) {
        let mut fields: Vec<(String, String)> = indices
            .iter()
            .zip(zeros.iter().cycle())
            .map(|(i, z)| (format!("files[{}{i}]", "0".repeat(*z)), format!("v{i}")))
            .collect();
        // A deterministic shuffle of the indexed fields, then `files[]` spread in order.
        let mut state = seed | 1;
        for i in (1..fields.len()).rev() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            fields.swap(i, (state % (i as u64 + 1)) as usize);
        }
        for (k, a) in appended.iter().enumerate() {
            let at = (k * 7 + seed as usize % 5).min(fields.len());
            let at = at.max(fields.iter().rposition(|(n, _)| n == "files[]").map_or(0, |p| p + 1));
            fields.insert(at, ("files[]".to_owned(), a.clone()));
        }
        fields.insert(0, ("pub_key".to_owned(), "k".to_owned()));
        let mut slots = MemberFields::default();
        for (name, value) in &fields {
            prop_assert_eq!(slots.offer(name, value), name != "pub_key");
        }
        prop_assert_eq!(slots.len(), indices.len() + appended.len());
        let expected: Vec<String> = indices
            .iter()
            .map(|i| format!("v{i}"))
            .chain(appended.iter().cloned())
            .collect();
        prop_assert_eq!(slots.into_ordered(), expected);
    }

    /// A repeated index keeps its last value.
    #[test]
    fn repeated_index_keeps_last(i in 0u32..1000, values in prop::collection::vec("[a-z]{1,5}", 1..5)) {
        let mut slots = MemberFields::default();
        for v in &values {
            slots.offer(&format!("files[{i}]"), v);
        }
        prop_assert_eq!(slots.into_ordered(), vec![values.last().unwrap().clone()]);
    }

    /// A name that does not close with `]` is never a member slot.
    #[test]
    fn unclosed_names_are_not_members(name in "\\PC{0,16}", last in "[^\\]]") {
        let name = format!("{name}{last}");
        let mut slots = MemberFields::default();
        prop_assert!(!slots.offer(&name, "v"), "{}", name);
        prop_assert_eq!(slots.len(), 0);
    }

    /// An index with anything but ASCII digits in it is never a member slot.
    #[test]
    fn non_digit_indices_are_not_members(
        before in "[0-9]{0,4}",
        odd in "[^0-9]",
        after in "[0-9]{0,4}",
    ) {
        let name = format!("files[{before}{odd}{after}]");
        let mut slots = MemberFields::default();
        prop_assert!(!slots.offer(&name, "v"), "{}", name);
    }

    /// Any run of digits, however long, is an index.
    #[test]
    fn digit_indices_are_members(digits in "[0-9]{1,40}") {
        let mut slots = MemberFields::default();
        let name = format!("files[{digits}]");
        prop_assert!(slots.offer(&name, "v"), "{}", name);
        prop_assert_eq!(slots.into_ordered(), vec!["v".to_owned()]);
    }

    /// Group ids round-trip, and a bad count is refused.
    #[test]
    fn group_ids(u in uuid(), count in 1i64..=999_999, bad in prop_oneof![
        Just(String::new()), Just("0".to_owned()), Just("-1".to_owned()), "[a-z]{1,3}", "[0-9]{7,9}",
    ]) {
        let id = GroupId { uuid: u, count };
        prop_assert_eq!(GroupId::parse(&id.to_string()), Some(id));
        prop_assert_eq!(GroupId::parse(&id.to_string().to_uppercase()), Some(id));
        let bad_id = format!("{u}~{bad}");
        prop_assert_eq!(GroupId::parse(&bad_id), None, "{}", bad_id);
    }
}

/// Field names, one by one, against what production's `files[N]` / `files[]` convention says.
#[test]
fn member_slot_names() {
    let cases = [
        ("files[]", true),
        ("files[0]", true),
        ("files[007]", true),
        ("files[123456789012345678901234567890]", true),
        ("", false),
        ("pub_key", false),
        ("files", false),
        ("files[", false),
        ("files]", false),
        ("file[0]", false),
        ("Files[0]", false),
        ("xfiles[0]", false),
        ("files[0]x", false),
        ("files[a]", false),
        ("files[ 1]", false),
        ("files[-1]", false),
        ("files[+1]", false),
        ("files[1.0]", false),
        ("files[0x1]", false),
        ("files[[0]]", false),
        ("files[\u{ff10}]", false),
    ];
    for (name, is_slot) in cases {
        let mut slots = MemberFields::default();
        assert_eq!(slots.offer(name, "v"), is_slot, "{name:?}");
        assert_eq!(slots.len(), usize::from(is_slot), "{name:?}");
    }
}
