//! The example configuration file parses and sets what it documents.

use uploadcare_emulator::config::{Args, Config, LogFormat};

#[test]
fn example_config_parses() {
    let text = include_str!("../../config/emulator.example.toml");
    let c = Config::resolve(Args::default(), Some(text)).expect("example config");
    assert_eq!(c.listen.to_string(), "127.0.0.1:8000");
    assert_eq!(c.data_dir.to_str(), Some("uploadcare-data"));
    assert_eq!(c.database_url, "sqlite://uploadcare-data/emulator.db");
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
