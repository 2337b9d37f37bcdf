//! A pure parser of CDN paths (url-api.openapi.yml, "File names" and "File groups"):
//!
//! - `/<uuid>[/]`, `/<uuid>/<filename>`, `/<uuid>/-/<op>/<params>/…/-/<op>/…/[<filename>]`
//! - `/<uuid>~<N>[/]` (the group page), `/<uuid>~<N>/nth/<i>/[-/<ops>/…][<filename>]`
//! - `/<uuid>~<N>/archive/zip|tar/[<filename>]`
//!
//! A non-empty last segment (one not followed by `/`) is the filename; operations end with
//! a `/`. Anything else is not a CDN path (`None`), which the CDN answers with a 404.

use uuid::Uuid;

use super::archive::ArchiveFormat;
use crate::domain::groups::{parse_file_uuid, GroupId};

/// Longest path the parser looks at; longer ones are not CDN paths.
const MAX_PATH_LEN: usize = 8192;

/// One CDN operation: its name and parameters, e.g. `resize` with `["x800"]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Operation {
    /// The operation's name (`resize`, `json`, `inline`, …).
    pub name: String,
    /// Its parameters, in order.
    pub params: Vec<String>,
}

/// What a file URL asks for: operations and an optional custom filename.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Delivery {
    /// Operations after `/-/`, in order.
    pub operations: Vec<Operation>,
    /// The custom filename (percent-decoded), if any.
    pub filename: Option<String>,
}

/// What a path under a group id asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GroupTarget {
    /// The group page.
    Page,
    /// Member `index` (0-based), with extra operations and filename.
    Nth {
        /// The member's position.
        index: usize,
        /// Operations after the member's own default effects, and a filename.
        delivery: Delivery,
    },
    /// The whole group as an archive.
    Archive {
        /// Zip or tar.
        format: ArchiveFormat,
        /// The archive's name, if given.
        filename: Option<String>,
    },
}

/// A parsed CDN path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CdnPath {
    /// One file.
    File {
        /// The file's uuid.
        uuid: Uuid,
        /// Operations and filename.
        delivery: Delivery,
    },
    /// A group or one of its members.
    Group {
        /// The group id (`<uuid>~<N>`).
        id: GroupId,
        /// What is asked of the group.
        target: GroupTarget,
    },
}

/// Parses a request path (still percent-encoded). `None` when it is not a CDN path.
pub fn parse(path: &str) -> Option<CdnPath> {
    if path.len() > MAX_PATH_LEN {
        return None;
    }
    let rest = path.strip_prefix('/')?;
    let (head, tail) = match rest.split_once('/') {
        Some((head, tail)) => (head, Some(tail)),
        None => (rest, None),
    };
    // Clients may send the group's `~` percent-encoded.
    let head = decode(head)?;
    if head.contains('~') {
        let id = GroupId::parse(&head)?;
        let target = parse_group_target(tail.unwrap_or(""))?;
        return Some(CdnPath::Group { id, target });
    }
    let uuid = parse_file_uuid(&head)?;
    let delivery = parse_delivery(tail.unwrap_or(""))?;
    Some(CdnPath::File { uuid, delivery })
}

/// Parses what follows `<uuid>/`: `""`, `<filename>`, or `-/<ops>/…[<filename>]`.
/// `…/detect_faces/` (pyuploadcare writes `detect_faces//`) ends the path as an operation
/// of that name.
fn parse_delivery(tail: &str) -> Option<Delivery> {
    let faces = ["detect_faces//", "detect_faces/", "detect_faces"]
        .iter()
        .find_map(|suffix| tail.strip_suffix(suffix))
        .filter(|rest| rest.is_empty() || rest.ends_with('/'));
    if let Some(rest) = faces {
        let mut delivery = parse_delivery(rest)?;
        if delivery.filename.is_some() {
            return None;
        }
        delivery.operations.push(Operation {
            name: "detect_faces".to_owned(),
            params: Vec::new(),
        });
        return Some(delivery);
    }
    let segments: Vec<&str> = tail.split('/').collect();
    // `split` always yields at least one item; the last is the filename when not empty.
    let (last, dirs) = segments.split_last()?;
    let filename = filename(last)?;
    let operations = match dirs {
        [] => Vec::new(),
        ["-", ops @ ..] => parse_operation_segments(ops)?,
        _ => return None,
    };
    Some(Delivery {
        operations,
        filename,
    })
}

/// Parses stored default effects (`resize/x800/-/format/png/`, or empty) into operations.
pub fn parse_effects(effects: &str) -> Option<Vec<Operation>> {
    let trimmed = effects.strip_suffix('/').unwrap_or(effects);
    if trimmed.is_empty() {
        return Some(Vec::new());
    }
    let segments: Vec<&str> = trimmed.split('/').collect();
    parse_operation_segments(&segments)
}

/// Operations from `op/params…/-/op/params…` segments (between the first `-/` and the last `/`).
fn parse_operation_segments(segments: &[&str]) -> Option<Vec<Operation>> {
    let mut operations = Vec::new();
    for group in segments.split(|s| *s == "-") {
        let Some((name, params)) = group.split_first() else {
            // `-/-/` or a trailing `-/`: an empty operation, which we let pass.
            continue;
        };
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return None;
        }
        let mut decoded = Vec::with_capacity(params.len());
        for p in params {
            if p.is_empty() {
                return None;
            }
            decoded.push(decode(p)?);
        }
        operations.push(Operation {
            name: name.to_ascii_lowercase(),
            params: decoded,
        });
    }
    Some(operations)
}

/// Parses what follows `<uuid>~<N>/`.
fn parse_group_target(tail: &str) -> Option<GroupTarget> {
    if tail.is_empty() {
        return Some(GroupTarget::Page);
    }
    let (kind, rest) = tail.split_once('/')?;
    match kind {
        "nth" => {
            let (index, rest) = rest.split_once('/').unwrap_or((rest, ""));
            if index.is_empty() || index.len() > 6 || !index.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let index: usize = index.parse().ok()?;
            Some(GroupTarget::Nth {
                index,
                delivery: parse_delivery(rest)?,
            })
        }
        "archive" => {
            let (format, name) = rest.split_once('/').unwrap_or((rest, ""));
            let format = ArchiveFormat::parse(format)?;
            if name.contains('/') {
                return None;
            }
            Some(GroupTarget::Archive {
                format,
                filename: filename(name)?,
            })
        }
        _ => None,
    }
}

/// A filename segment: `None` outside when it does not decode, inner `None` when empty.
fn filename(segment: &str) -> Option<Option<String>> {
    if segment.is_empty() {
        return Some(None);
    }
    let name = decode(segment)?;
    if name.is_empty() || name.contains(['/', '\\', '\0']) {
        return None;
    }
    Some(Some(name))
}

/// Percent-decodes one segment as UTF-8; `None` when the bytes are not UTF-8.
fn decode(segment: &str) -> Option<String> {
    percent_encoding::percent_decode_str(segment)
        .decode_utf8()
        .ok()
        .map(|s| s.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const U: &str = "d6d34fa9-addd-472c-868d-2e5c105f9fcd";

    fn uuid() -> Uuid {
        Uuid::parse_str(U).unwrap()
    }

    fn op(name: &str, params: &[&str]) -> Operation {
        Operation {
            name: name.to_owned(),
            params: params.iter().map(|p| (*p).to_owned()).collect(),
        }
    }

    fn file(ops: Vec<Operation>, name: Option<&str>) -> Option<CdnPath> {
        Some(CdnPath::File {
            uuid: uuid(),
            delivery: Delivery {
                operations: ops,
                filename: name.map(str::to_owned),
            },
        })
    }

    #[test]
    fn file_forms() {
        assert_eq!(parse(&format!("/{U}/")), file(vec![], None));
        assert_eq!(parse(&format!("/{U}")), file(vec![], None));
        assert_eq!(
            parse(&format!("/{}/", U.to_uppercase())),
            file(vec![], None)
        );
        assert_eq!(
            parse(&format!("/{U}/cat.jpg")),
            file(vec![], Some("cat.jpg"))
        );
        assert_eq!(
            parse(&format!("/{U}/image%5Bd%5D@2x.jpg")),
            file(vec![], Some("image[d]@2x.jpg"))
        );
        assert_eq!(
            parse(&format!("/{U}/-/preview/-/resize/550x/image@1x.jpg")),
            file(
                vec![op("preview", &[]), op("resize", &["550x"])],
                Some("image@1x.jpg")
            )
        );
        assert_eq!(
            parse(&format!("/{U}/-/json/")),
            file(vec![op("json", &[])], None)
        );
        assert_eq!(
            parse(&format!("/{U}/-/crop/1:1/center/-/inline/yes/")),
            file(
                vec![op("crop", &["1:1", "center"]), op("inline", &["yes"])],
                None
            )
        );
        assert_eq!(parse(&format!("/{U}/-/")), file(vec![], None));
        for faces in ["detect_faces/", "detect_faces//", "detect_faces"] {
            assert_eq!(
                parse(&format!("/{U}/{faces}")),
                file(vec![op("detect_faces", &[])], None)
            );
        }
        assert_eq!(
            parse(&format!("/{U}/-/preview/detect_faces/")),
            file(vec![op("preview", &[]), op("detect_faces", &[])], None)
        );
    }

    #[test]
    fn not_cdn_paths() {
        for bad in [
            "/".to_owned(),
            "".to_owned(),
            "/base/".to_owned(),
            "/files/".to_owned(),
            format!("{U}/"),
            format!("/{U}x/"),
            format!("/{U}/a/b"),
            format!("/{U}/a/b/"),
            format!("/{U}//"),
            format!("/{U}/-/resize//x/"),
            format!("/{U}/-/res%20ize/x/"),
            format!("/{U}/%FF"),
            format!("/{U}/a%2Fb"),
            format!("/{U}~0/"),
            format!("/{U}~2/nth/"),
            format!("/{U}~2/nth/x/"),
            format!("/{U}~2/nth/1234567/"),
            format!("/{U}~2/archive/rar/"),
            format!("/{U}~2/archive/zip/a/b"),
            format!("/{U}~2/other/"),
            format!("/{U}~2/-/resize/x/"),
        ] {
            assert_eq!(parse(&bad), None, "{bad}");
        }
    }

    #[test]
    fn group_forms() {
        let id = GroupId {
            uuid: uuid(),
            count: 3,
        };
        let group = |target| Some(CdnPath::Group { id, target });
        assert_eq!(parse(&format!("/{U}~3/")), group(GroupTarget::Page));
        assert_eq!(parse(&format!("/{U}~3")), group(GroupTarget::Page));
        assert_eq!(parse(&format!("/{U}%7E3/")), group(GroupTarget::Page));
        assert_eq!(
            parse(&format!("/{U}~3/nth/2/")),
            group(GroupTarget::Nth {
                index: 2,
                delivery: Delivery::default()
            })
        );
        assert_eq!(
            parse(&format!("/{U}~3/nth/0/-/resize/256x/a.png")),
            group(GroupTarget::Nth {
                index: 0,
                delivery: Delivery {
                    operations: vec![op("resize", &["256x"])],
                    filename: Some("a.png".into())
                }
            })
        );
        assert_eq!(
            parse(&format!("/{U}~3/archive/zip")),
            parse(&format!("/{U}~3/archive/zip/"))
        );
        assert_eq!(
            parse(&format!("/{U}~3/nth/1")),
            parse(&format!("/{U}~3/nth/1/"))
        );
        assert_eq!(
            parse(&format!("/{U}~3/archive/zip/")),
            group(GroupTarget::Archive {
                format: ArchiveFormat::Zip,
                filename: None
            })
        );
        assert_eq!(
            parse(&format!("/{U}~3/archive/tar/all.tar")),
            group(GroupTarget::Archive {
                format: ArchiveFormat::Tar,
                filename: Some("all.tar".into())
            })
        );
    }

    #[test]
    fn effects() {
        assert_eq!(parse_effects(""), Some(vec![]));
        assert_eq!(
            parse_effects("resize/x800/-/format/png/"),
            Some(vec![op("resize", &["x800"]), op("format", &["png"])])
        );
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC*") {
            let _ = parse(&s);
            let _ = parse_effects(&s);
        }

        #[test]
        fn never_panics_on_cdn_like_paths(
            tail in "[-a-z0-9/~%.~_:]{0,40}",
            group in proptest::option::of(0u32..2000),
        ) {
            let head = match group {
                Some(n) => format!("{U}~{n}"),
                None => U.to_owned(),
            };
            let _ = parse(&format!("/{head}/{tail}"));
            let _ = parse(&format!("/{head}{tail}"));
        }
    }
}
