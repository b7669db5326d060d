//! The configuration reference (docs/config.md) and the annotated example
//! (deploy/tocsin.toml) stay complete: every key the reference lists is in
//! the example, set or commented out, and the example holds no key the
//! reference does not list. The example and its uncommented optional
//! sources pass `tocsin check`.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

const REFERENCE: &str = "docs/config.md";
const EXAMPLE: &str = "deploy/tocsin.toml";

fn read(path: &str) -> String {
    let full = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    std::fs::read_to_string(full).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The dotted keys of the reference's key tables (`http.listen`,
/// `sources.selectors.item`): the first column of the tables under a
/// heading that names a table (or "Top level").
fn documented() -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    let mut prefix: Option<String> = None;
    for line in read(REFERENCE).lines() {
        if line.starts_with('#') {
            prefix = if line == "## Top level" {
                Some(String::new())
            } else {
                line.split('`')
                    .nth(1)
                    .map(|table| format!("{}.", table.trim_matches(['[', ']'])))
            };
        } else if let (Some(prefix), Some(row)) = (&prefix, line.strip_prefix("| `")) {
            let key = row.split('`').next().unwrap();
            keys.insert(format!("{prefix}{key}"));
        }
    }
    keys
}

/// The dotted keys of a TOML file, counting commented-out `key = ...`
/// lines and tables as well.
fn keys_in(text: &str) -> BTreeSet<String> {
    let key = regex::Regex::new(r"^([a-z_]+)\s*=").unwrap();
    let mut keys = BTreeSet::new();
    let mut prefix = String::new();
    for line in text.lines() {
        let line = line.trim_start_matches('#').trim();
        if line.starts_with('[') {
            let table = line.trim_matches(['[', ']']);
            // A nested table is itself a key of its parent (`selectors`).
            if table.contains('.') {
                keys.insert(table.to_owned());
            }
            prefix = format!("{table}.");
        } else if let Some(k) = key.captures(line) {
            keys.insert(format!("{prefix}{}", &k[1]));
        }
    }
    keys
}

#[test]
fn the_annotated_example_has_every_documented_key_and_no_other() {
    let documented = documented();
    assert!(documented.len() > 25, "{REFERENCE} keys: {documented:?}");
    let example = keys_in(&read(EXAMPLE));
    let undocumented: Vec<_> = example.difference(&documented).collect();
    let missing: Vec<_> = documented.difference(&example).collect();
    assert!(
        undocumented.is_empty() && missing.is_empty(),
        "in {EXAMPLE} but not in the tables of {REFERENCE}: {undocumented:?}\n\
         in {REFERENCE} but not in {EXAMPLE} (set or commented out): {missing:?}"
    );
}

#[test]
fn the_annotated_example_and_its_commented_sources_pass_check() {
    let dir = tempfile::tempdir().unwrap();
    // Relative paths, anchored where the file really is.
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = read(EXAMPLE).replace("\"../", &format!("\"{}/", repo.display()));
    let key = regex::Regex::new(r"^([a-z_]+)\s*=").unwrap();
    // Uncomment the optional source tables (not the optional keys, whose
    // secrets would need setting).
    let mut sources = false;
    let mut uncommented = String::new();
    for line in text.lines() {
        let bare = line.trim_start_matches("# ");
        sources |= bare == "[[sources]]" && line.starts_with('#');
        let is_toml = bare.starts_with('[') || key.is_match(bare);
        let line = if sources && is_toml { bare } else { line };
        uncommented.push_str(line);
        uncommented.push('\n');
    }
    for (name, body) in [("example.toml", text), ("full.toml", uncommented)] {
        let config = dir.path().join(name);
        std::fs::write(&config, &body).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_tocsin"))
            .args(["check", "--config"])
            .arg(&config)
            .env_remove("STATE_DIRECTORY")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "tocsin check {name}:\n{}{}\n{body}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
