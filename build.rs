//! Generates the Upload API's error codes from `src/upload_api/upload-api-errors.tsv`, the
//! repository's verbatim copy of Uploadcare's error table, so the table is written in one
//! place. The output is one `error_catalogue!` invocation that `src/upload_api/error.rs`
//! includes; a malformed row fails the build and names the row.

use std::fmt::Write as _;
use std::path::PathBuf;

const TABLE: &str = "src/upload_api/upload-api-errors.tsv";

fn main() {
    println!("cargo:rerun-if-changed={TABLE}");
    println!("cargo:rerun-if-changed=build.rs");
    let table = std::fs::read_to_string(TABLE).unwrap_or_else(|e| panic!("{TABLE}: {e}"));
    let mut out = String::from(
        "error_catalogue! {\n    \
         /// Every Upload API error code, as production names them (`error_code` in JSON\n    \
         /// errors), generated from `upload-api-errors.tsv` in table order.\n    \
         enum ErrorCode;\n",
    );
    for (index, line) in table.lines().enumerate().skip(1) {
        if line.trim().is_empty() {
            continue;
        }
        let row = index + 1;
        let mut cols = line.split('\t');
        let (Some(code), Some(status), Some(message), None) =
            (cols.next(), cols.next(), cols.next(), cols.next())
        else {
            panic!("{TABLE}:{row}: expected three tab-separated columns: {line:?}");
        };
        let is_identifier = code.starts_with(|c: char| c.is_ascii_uppercase())
            && code.chars().all(|c| c.is_ascii_alphanumeric());
        assert!(is_identifier, "{TABLE}:{row}: {code:?} is not a code name");
        let status: u16 = status
            .parse()
            .ok()
            .filter(|s| (400..600).contains(s))
            .unwrap_or_else(|| panic!("{TABLE}:{row}: {status:?} is not an error status"));
        // `{:?}` writes a Rust string literal: quotes, backslashes and controls escaped.
        writeln!(out, "    {code} = ({status}, {message:?}),").expect("writing to a String");
    }
    out.push_str("}\n");
    let dest = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"))
        .join("upload_api_errors.rs");
    std::fs::write(&dest, out).unwrap_or_else(|e| panic!("{}: {e}", dest.display()));
}
