//! Config validation: every error names file, line, column and field.

use super::SourceKind;
use super::validate::{DEFAULT_INTERVAL, validate};
use std::path::Path;

fn errors(text: &str) -> Vec<String> {
    match validate(Path::new("tocsin.toml"), text) {
        Ok(_) => vec![],
        Err(e) => e.0.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn bad_duration_names_file_line_column_and_field() {
    let text = "[[sources]]\nid = \"a\"\nkind = \"feed\"\nurl = \"https://a.org/rss\"\n\n[[sources]]\nid = \"b\"\nkind = \"feed\"\nurl = \"https://b.org/rss\"\ninterval = \"every five minutes\"\n";
    assert_eq!(
        errors(text),
        vec![
            "tocsin.toml:10:12: sources[1].interval: \"every five minutes\" is not a duration (try \"5m\", \"30s\" or \"1h30m\")"
        ]
    );
}

#[test]
fn all_errors_at_once() {
    let text = "[[sources]]\nid = \"a\"\nkind = \"rss\"\n[[sources]]\nid = \"a\"\nkind = \"html\"\nurl = \"ftp://x\"\n";
    let errs = errors(text);
    assert_eq!(errs.len(), 4, "{errs:#?}");
    assert!(errs[0].contains("sources[0].kind: \"rss\" is not one of"));
    assert!(errs[1].contains("sources[1].id: duplicate source id \"a\""));
    assert!(errs[2].contains("sources[1].url: \"ftp://x\" is not an http(s) URL"));
    assert!(errs[3].contains("sources[1].selectors: an \"html\" source needs `selectors`"));
}

#[test]
fn unknown_key_is_located() {
    let errs = errors("[fetch]\ntimeout = \"10s\"\nuser_agnet = \"x\"\n");
    assert_eq!(errs.len(), 1);
    assert!(
        errs[0].starts_with("tocsin.toml:3:1: fetch.user_agnet: unknown field `user_agnet`"),
        "{}",
        errs[0]
    );
}

#[test]
fn defaults_apply() {
    let cfg = validate(
        Path::new("/etc/tocsin/tocsin.toml"),
        "[[sources]]\nid = \"x\"\nkind = \"dir\"\npath = \"spool\"\n",
    )
    .unwrap();
    assert_eq!(cfg.sources[0].interval, DEFAULT_INTERVAL);
    assert_eq!(cfg.fetch.max_body, 10 * 1024 * 1024);
    assert!(!cfg.sources[0].first_fetch_emits);
    assert!(
        matches!(&cfg.sources[0].kind, SourceKind::Dir { path } if path == Path::new("/etc/tocsin/spool"))
    );
}

#[test]
fn state_dir_defaults_to_var_lib_for_a_config_in_etc_else_beside_the_config() {
    if std::env::var_os("STATE_DIRECTORY").is_some() {
        return; // systemd's choice wins; covered by the integration tests
    }
    let state = |file: &str| validate(Path::new(file), "").unwrap().state_dir;
    assert_eq!(
        state("/etc/tocsin/tocsin.toml"),
        Path::new("/var/lib/tocsin")
    );
    assert_eq!(
        state("/srv/tocsin/tocsin.toml"),
        Path::new("/srv/tocsin/state")
    );
    let explicit = validate(
        Path::new("/etc/tocsin/tocsin.toml"),
        "state_dir = \"/data\"\n",
    );
    assert_eq!(explicit.unwrap().state_dir, Path::new("/data"));
}
