//! Property tests at scale of every pure parser that reads client input: no input panics, and
//! what parses obeys the parser's own rules. Each target runs `CASES` generated inputs
//! (override with `UC_FUZZ_CASES`); docs/reliability.md records the counts CI runs.
//!
//! Inputs mix three sources so that both the garbage space and the "almost valid" space are
//! covered: arbitrary Unicode, text over the alphabet each parser cares about (`/`, `-`, `~`,
//! `%`, digits, hex, `:`…), and valid examples with random edits (insert, delete, replace).

use proptest::prelude::*;
use proptest::test_runner::Config;
use uploadcare_emulator::auth::rest::{parse_authorization, Scheme};
use uploadcare_emulator::cdn::http::{if_range_holds, not_modified, range, RangeAnswer};
use uploadcare_emulator::cdn::path::{parse as parse_cdn_path, parse_effects, CdnPath};
use uploadcare_emulator::domain::content::detect;
use uploadcare_emulator::domain::files::{base_name, sanitize_filename, should_store};
use uploadcare_emulator::domain::groups::{parse_file_uuid, parse_member, GroupId, MemberFields};
use uploadcare_emulator::domain::metadata;
use uploadcare_emulator::domain::signing::{rest_signature_matches, upload_signature_matches};
use uploadcare_emulator::domain::time::{parse_http_date, parse_iso};
use uploadcare_emulator::rest_api::pagination::{parse_list_query_for, FILES, GROUPS};
use uploadcare_emulator::rest_api::version::ApiVersion;
use uploadcare_emulator::upload_api::form::{query_fields, Fields, MAX_FIELDS};

/// Generated inputs per target.
fn cases() -> u32 {
    std::env::var("UC_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000)
}

fn config() -> Config {
    Config {
        cases: cases(),
        // Failures are reported with the input; no regression files are written.
        failure_persistence: None,
        ..Config::default()
    }
}

const U: &str = "d6d34fa9-addd-472c-868d-2e5c105f9fcd";

/// Arbitrary text, text over `alphabet`, or one of `seeds` with random edits.
fn text(alphabet: &'static str, seeds: &'static [&'static str]) -> BoxedStrategy<String> {
    let chars: Vec<char> = alphabet.chars().collect();
    let over_alphabet = prop::collection::vec(prop::sample::select(chars.clone()), 0..120)
        .prop_map(|v| v.into_iter().collect::<String>());
    let edits = prop::collection::vec(
        (
            0..3u8,
            any::<prop::sample::Index>(),
            prop_oneof![prop::sample::select(chars), any::<char>()],
        ),
        0..6,
    );
    let mutated = (prop::sample::select(seeds), edits).prop_map(|(seed, edits)| {
        let mut v: Vec<char> = seed.chars().collect();
        for (op, at, c) in edits {
            let i = at.index(v.len() + 1);
            match op {
                0 => v.insert(i, c),
                1 if i < v.len() => {
                    v.remove(i);
                }
                _ if i < v.len() => v[i] = c,
                _ => v.push(c),
            }
        }
        v.into_iter().collect::<String>()
    });
    prop_oneof![
        1 => "\\PC{0,200}",
        1 => any::<String>(),
        3 => over_alphabet,
        5 => mutated,
    ]
    .boxed()
}

const PATH_CHARS: &str = "/-~%._:?#ab0123456789cdefxzACDEF ~\u{0}\u{e9}\u{10348}";

static MEMBER_SEEDS: &[&str] = &[
    "d6d34fa9-addd-472c-868d-2e5c105f9fcd",
    "d6d34fa9-addd-472c-868d-2e5c105f9fcd/",
    "/d6d34fa9-addd-472c-868d-2e5c105f9fcd/-/resize/x800/",
    "https://ucarecdn.com/d6d34fa9-addd-472c-868d-2e5c105f9fcd/-/crop/10x10/-/format/png/",
    "//host:8000/d6d34fa9-addd-472c-868d-2e5c105f9fcd/?x=1#y",
    "HTTP://h/D6D34FA9-ADDD-472C-868D-2E5C105F9FCD",
];

static CDN_SEEDS: &[&str] = &[
    "/d6d34fa9-addd-472c-868d-2e5c105f9fcd/",
    "/d6d34fa9-addd-472c-868d-2e5c105f9fcd/name%20x.png",
    "/d6d34fa9-addd-472c-868d-2e5c105f9fcd/-/resize/x800/-/format/png/a.png",
    "/d6d34fa9-addd-472c-868d-2e5c105f9fcd~3/",
    "/d6d34fa9-addd-472c-868d-2e5c105f9fcd%7E3/nth/2/-/inline/yes/",
    "/d6d34fa9-addd-472c-868d-2e5c105f9fcd~3/archive/zip/all.zip",
    "/d6d34fa9-addd-472c-868d-2e5c105f9fcd~3/archive/tar/",
];

static DATE_SEEDS: &[&str] = &[
    "Sun, 22 Nov 2026 08:13:04 GMT",
    "Sun, 22 Nov 2026, 08:13:04 GMT",
    "22 Nov 2026 08:13:04 UTC",
    "Tue, 01 Dec 2026 10:00:00 +0000",
];

static ISO_SEEDS: &[&str] = &[
    "2018-09-12T10:03:38.686710Z",
    "2018-09-12T10:03:38.686710+00:00",
    "2018-09-12T10:03:38+03:30",
    "2018-09-12 10:03:38.1",
    "2018-09-12T10:03",
    "2018-09-12",
    "+262143-12-31T23:59:59.999999999Z",
];

static QUERY_SEEDS: &[&str] = &[
    "pub_key=demopublickey&file_id=d6d34fa9-addd-472c-868d-2e5c105f9fcd",
    "group_id=d6d34fa9-addd-472c-868d-2e5c105f9fcd~2&jsonerrors=1&callback=cb",
    "limit=10&from=2018-09-12T10:03:38.686710Z&ordering=-datetime_created&offset=3",
    "to=2018-09-12&ordering=datetime_uploaded&stored=true&removed=false&include=appdata",
    "files[0]=a&files[]=b&files[007]=c&%00=%ZZ&a=%E2%82",
];

static GROUP_ID_SEEDS: &[&str] = &[
    "d6d34fa9-addd-472c-868d-2e5c105f9fcd~1",
    "d6d34fa9-addd-472c-868d-2e5c105f9fcd~999999",
    "d6d34fa9addd472c868d2e5c105f9fcd~2",
];

static AUTHORIZATION_SEEDS: &[&str] = &[
    "Uploadcare.Simple demopublickey:demosecretkey",
    "Uploadcare demopublickey:3cbc4d2cf91f80c1ba162b926f8a975e8bec7995",
    "  Uploadcare   a:b  ",
    "Uploadcare :",
    "uploadcare a:b",
];

static HEADER_SEEDS: &[&str] = &[
    "bytes=0-99",
    "bytes=-5",
    "bytes=10-",
    "bytes=0-0,5-9",
    "BYTES=18446744073709551615-18446744073709551616",
    "application/vnd.uploadcare-v0.7+json",
    "text/html;q=0.9, application/vnd.uploadcare-v0.6+json; charset=x",
    "W/\"abc\", \"def\", *",
];

proptest! {
    #![proptest_config(config())]

    /// `parse_member`: never panics; a parsed member names a uuid written in the input and
    /// its effects are empty or end in exactly one `/` with no empty operation.
    #[test]
    fn member_values(s in text(PATH_CHARS, MEMBER_SEEDS)) {
        if let Some(m) = parse_member(&s) {
            prop_assert!(s.to_lowercase().contains(&m.uuid.to_string()), "{s:?}");
            let e = &m.default_effects;
            prop_assert!(e.is_empty() || (e.ends_with('/') && !e.contains("//")), "{s:?} -> {e:?}");
        }
    }

    /// `GroupId::parse`: never panics; what parses prints back to an equivalent id.
    #[test]
    fn group_ids(s in text("0123456789abcdef-~+ ", GROUP_ID_SEEDS)) {
        if let Some(id) = GroupId::parse(&s) {
            prop_assert!(id.count >= 1 && id.count <= 999_999);
            prop_assert_eq!(GroupId::parse(&id.to_string()), Some(id));
        }
        if let Some(u) = parse_file_uuid(&s) {
            prop_assert_eq!(u.to_string(), s.to_lowercase());
        }
    }

    /// `MemberFields`: any field names and values, in any number, never panic (huge indices
    /// included); only names of the form `files[…]` are taken; the ordered list holds no
    /// blank value, no more values than non-blank fields taken, and every `files[]` value
    /// after every indexed one, in arrival order.
    #[test]
    fn member_fields(fields in prop::collection::vec(
        (text("files[]0123456789a ", &["files[]", "files[0]", "files[0007]", "files[99999999999999999999]", "files[1"]),
         text("ab ", &["", " ", U])),
        0..60,
    )) {
        let mut slots = MemberFields::default();
        let mut taken = 0;
        let mut appended = Vec::new();
        for (name, value) in &fields {
            if slots.offer(name, value) {
                prop_assert!(name.starts_with("files[") && name.ends_with(']'), "{name:?}");
                if !value.trim().is_empty() {
                    taken += 1;
                    if name == "files[]" {
                        appended.push(value.clone());
                    }
                }
            }
        }
        let len = slots.len();
        let ordered = slots.into_ordered();
        prop_assert_eq!(ordered.len(), len);
        prop_assert!(len <= taken);
        prop_assert!(ordered.iter().all(|v| !v.trim().is_empty()));
        prop_assert_eq!(&ordered[len - appended.len()..], &appended[..]);
    }

    /// `parse_http_date`: never panics; what parses is a whole number of seconds that
    /// formats back to a date the parser reads the same way.
    #[test]
    fn http_dates(s in text("0123456789 ,:ADFGJMNOSTUWabcdeghilnoprtuvy+-", DATE_SEEDS)) {
        if let Some(t) = parse_http_date(&s) {
            let back = chrono::DateTime::from_timestamp(t, 0)
                .map(|d| d.format("%a, %d %b %Y %H:%M:%S GMT").to_string());
            prop_assert_eq!(back.and_then(|b| parse_http_date(&b)), Some(t), "{:?}", s);
        }
    }

    /// `parse_authorization`: never panics; what parses is one of the two schemes with a
    /// non-empty public key and credential that were in the value, split at the first `:`.
    #[test]
    fn authorization_headers(s in text("Uploadcare.Simple :abcdef0123456789", AUTHORIZATION_SEEDS)) {
        if let Some(c) = parse_authorization(&s) {
            prop_assert!(!c.pub_key.is_empty() && !c.credential.is_empty());
            prop_assert!(!c.pub_key.contains(':'));
            let scheme = match c.scheme {
                Scheme::Simple => "Uploadcare.Simple",
                Scheme::Signed => "Uploadcare",
            };
            prop_assert!(s.trim().starts_with(&format!("{scheme} ")), "{:?}", s);
            prop_assert!(s.contains(&format!("{}:{}", c.pub_key, c.credential)), "{:?}", s);
        }
    }

    /// `parse_iso`: never panics, including out-of-range years and fractions.
    #[test]
    fn iso_dates(s in text("0123456789-:T.Z+ ", ISO_SEEDS)) {
        let _ = parse_iso(&s);
    }

    /// The CDN path parser: never panics; what parses names a uuid of the path and, for a
    /// group, a positive count; parsed effects re-parse.
    #[test]
    fn cdn_paths(s in text(PATH_CHARS, CDN_SEEDS)) {
        match parse_cdn_path(&s) {
            Some(CdnPath::File { uuid, .. }) => {
                prop_assert!(s.to_lowercase().contains(&uuid.to_string()), "{s:?}");
            }
            Some(CdnPath::Group { id, .. }) => prop_assert!(id.count >= 1),
            None => {}
        }
        let _ = parse_effects(&s);
    }

    /// Upload API fields from a query string: never panics, never more than the field
    /// limit, never a null character in an accepted field.
    #[test]
    fn upload_query_fields(s in text("=&%0123456789abcdefABCDEF[]+_ \u{0}", QUERY_SEEDS)) {
        if let Ok(fields) = query_fields(Some(&s)) {
            prop_assert!(fields.0.len() <= MAX_FIELDS);
            prop_assert!(fields.0.iter().all(|(k, v)| !k.contains('\0') && !v.contains('\0')));
        }
    }

    /// `Fields::push` enforces the null-character rule on any name and value.
    #[test]
    fn upload_field_push(name in any::<String>(), value in any::<String>()) {
        let mut f = Fields::default();
        let ok = f.push(name.clone(), value.clone()).is_ok();
        prop_assert_eq!(ok, !name.contains('\0') && !value.contains('\0'));
    }

    /// REST list queries (groups and files): never panic; limits stay within 1..=1000 and
    /// offsets are never negative.
    #[test]
    fn rest_list_queries(s in text("=&%0123456789-:TZ.+_abcdefilmnoprstuvwxz", QUERY_SEEDS)) {
        for kind in [&GROUPS, &FILES] {
            if let Ok(q) = parse_list_query_for(Some(&s), kind) {
                prop_assert!((1..=1000).contains(&q.page.limit));
                prop_assert!(q.page.offset >= 0);
            }
        }
    }

    /// Header parsers of the CDN and the REST API: `Range` against any size, validators,
    /// `Accept`.
    #[test]
    fn header_values(s in text("bytes=0123456789-, W/\"*;qapplication/vnd.uploadcare", HEADER_SEEDS), size in any::<u64>()) {
        match range(Some(&s), size) {
            RangeAnswer::Partial { start, end } => prop_assert!(start <= end && end < size),
            RangeAnswer::Full | RangeAnswer::Unsatisfiable => {}
        }
        let _ = not_modified(Some(&s), None, "\"abc\"", 0);
        let _ = not_modified(None, Some(&s), "\"abc\"", 0);
        let _ = if_range_holds(Some(&s), "\"abc\"", 0);
        let _ = ApiVersion::from_accept(&s);
    }

    /// Signature checks on junk: never panic, never accept.
    #[test]
    fn signatures(sig in text("0123456789abcdef ", &["0a", "zz", ""]), expire in "\\PC{0,20}") {
        prop_assert!(!upload_signature_matches("demosecretkey", &expire, &sig));
        prop_assert!(!rest_signature_matches("demosecretkey", &expire, &sig));
    }

    /// File names and content sniffing: never panic; sanitized names keep no path.
    #[test]
    fn file_names_and_bytes(name in text("/\\.. a%\u{0}", &["../../etc/passwd", "C:\\x\\y.png", "a.png"]),
                            head in prop::collection::vec(any::<u8>(), 0..64)) {
        let base = base_name(&name);
        prop_assert!(!base.contains('/') && !base.contains('\\'), "{name:?} -> {base:?}");
        let _ = sanitize_filename(&name);
        let _ = should_store(Some(&name), true);
        let _ = detect(&head);
    }

    /// Metadata rules on any keys and values: never panic; accepted maps obey the limits.
    #[test]
    fn metadata_pairs(pairs in prop::collection::vec((text("abc_-.:0 ", &["key", ""]), text("abc ", &["v"])), 0..60)) {
        if let Ok(map) = metadata::build(&pairs) {
            prop_assert!(map.len() <= metadata::MAX_KEYS);
            prop_assert!(map.keys().all(|k| !k.is_empty() && k.chars().count() <= metadata::MAX_KEY_LEN));
        }
    }
}
