//! The example configuration file parses and sets what it documents.

use uploadcare_emulator::config::{Args, Config, LogFormat, StorageTarget};

#[test]
fn example_config_parses() {
    let text = include_str!("../../config/emulator.example.toml");
    let c = Config::resolve(Args::default(), Some(text)).expect("example config");
    assert_eq!(c.listen.to_string(), "127.0.0.1:8000");
    assert_eq!(c.persistence.data_dir.to_str(), Some("uploadcare-data"));
    assert_eq!(
        c.persistence.database_url,
        "sqlite://uploadcare-data/emulator.db"
    );
    assert_eq!(c.log_format, LogFormat::Text);
    assert_eq!(c.retention_hours, 24);
    assert!(!c.simple_auth_https_only);
    assert_eq!(c.client_timeout.as_secs(), 60);
    let keys: Vec<(&str, bool, bool)> = c
        .projects
        .iter()
        .map(|p| (p.pub_key.as_str(), p.autostore, p.signed_uploads))
        .collect();
    assert_eq!(
        keys,
        [
            ("demopublickey", true, false),
            ("signedpublickey", false, true)
        ]
    );
    let signatures: Vec<(&str, &[u8])> = c
        .virus_signatures
        .iter()
        .map(|s| (s.name.as_str(), s.pattern.as_slice()))
        .collect();
    assert_eq!(
        signatures,
        [
            (
                "Emulator.Test.Marker",
                &b"UPLOADCARE-EMULATOR-TEST-VIRUS"[..]
            ),
            (
                "Emulator.Test.Bytes",
                &[0xde, 0xad, 0xbe, 0xef, 0x00, 0xc0, 0xff, 0xee][..]
            ),
        ]
    );
    let storages: Vec<(&str, &str, Option<&str>)> = c
        .storages
        .iter()
        .map(|s| (s.pub_key.as_str(), s.name.as_str(), s.bucket.as_deref()))
        .collect();
    assert_eq!(storages, [("demopublickey", "mytarget", Some("mybucket"))]);
    assert_eq!(
        c.storages[0].target,
        StorageTarget::Directory("uploadcare-data/storages/mytarget".into())
    );
    let twice = "[[storages]]\npub_key = \"p\"\nname = \"a\"\ndirectory = \"d\"\n";
    assert!(Config::resolve(Args::default(), Some(&twice.repeat(2))).is_err());
    let neither = "[[storages]]\npub_key = \"p\"\nname = \"a\"\n";
    assert!(Config::resolve(Args::default(), Some(neither)).is_err());
    let bad_s3 = "[[storages]]\npub_key = \"p\"\nname = \"a\"\ns3 = \"s3://b?x=1\"\n";
    let err = Config::resolve(Args::default(), Some(bad_s3)).unwrap_err();
    assert!(err.contains("s3"), "{err}");
    let bad_store = "blob_store = \"ftp://x/\"\n";
    let err = Config::resolve(Args::default(), Some(bad_store)).unwrap_err();
    assert!(err.contains("UC_BLOB_STORE"), "{err}");
    let bad = "[[virus_signatures]]\nname = \"x\"\nhex = \"zz\"\n";
    assert!(Config::resolve(Args::default(), Some(bad)).is_err());
    let both = "[[virus_signatures]]\nname = \"x\"\nhex = \"00\"\nstring = \"a\"\n";
    assert!(Config::resolve(Args::default(), Some(both)).is_err());
}

/// Every commented-out key is also valid: uncommenting them all still parses.
#[test]
fn example_config_commented_keys_parse() {
    let text = include_str!("../../config/emulator.example.toml");
    let mut seen = std::collections::BTreeSet::new();
    let uncommented: String = text
        .lines()
        .map(|l| match l.strip_prefix("# ") {
            Some(rest) if rest.contains(" = \"") && !rest.contains("  ") => {
                let key = rest.split(' ').next().unwrap_or("");
                if seen.insert(key.to_owned()) && !text.contains(&format!("\n{key} = ")) {
                    rest.to_owned()
                } else {
                    String::new()
                }
            }
            _ => l.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    let c = Config::resolve(Args::default(), Some(&uncommented)).expect("uncommented config");
    assert_eq!(
        c.public_urls.cdn.as_deref(),
        Some("http://127.0.0.1:8000"),
        "{uncommented}"
    );
}
