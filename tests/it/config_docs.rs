//! The configuration reference (docs/config.md, with docs/alerts.md for the
//! alert settings) and the annotated example (deploy/tocsin.toml) stay
//! complete: every key the references list is in the example, set or
//! commented out, and the example holds no key they do not list. The example and its uncommented optional
//! sources pass `tocsin check`.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

const REFERENCE: &str = "docs/config.md";
const ALERTS: &str = "docs/alerts.md";
const EXAMPLE: &str = "deploy/tocsin.toml";

fn read(path: &str) -> String {
    let full = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    std::fs::read_to_string(full).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The dotted keys of a reference's key tables (`http.listen`,
/// `sources.selectors.item`, `alerts.min_severity`): the backticked keys in
/// the first column of the tables under a heading that names a table (or
/// "Top level"). A cell may name its table itself (`[[sources]] weight`,
/// `[[alerts.corroborate]]` `indicator`, `rule`) or be a full dotted key.
fn documented(path: &str) -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    let mut prefix: Option<String> = None;
    for line in read(path).lines() {
        if line.starts_with('#') {
            prefix = if line == "## Top level" {
                Some(String::new())
            } else {
                line.split('`')
                    .nth(1)
                    .map(|t| format!("{}.", bare_table(t)))
            };
            continue;
        }
        let (Some(prefix), Some(row)) = (&prefix, line.strip_prefix('|')) else {
            continue;
        };
        let cell = row.split('|').next().unwrap();
        let mut table = prefix.clone();
        for token in cell.split('`').skip(1).step_by(2) {
            if let Some((name, key)) = token.split_once("]]").or(token.split_once("] ")) {
                // The cell names its table; a nested table is a key of
                // its parent, as in `keys_in`.
                let name = bare_table(name);
                if name.contains('.') {
                    keys.insert(name.to_owned());
                }
                table = format!("{name}.");
                let key = key.trim();
                if !key.is_empty() {
                    keys.insert(format!("{table}{key}"));
                }
            } else if token.contains('.') {
                keys.insert(token.to_owned());
            } else {
                keys.insert(format!("{table}{token}"));
            }
        }
    }
    keys
}

fn bare_table(name: &str) -> &str {
    name.trim_matches(['[', ']', ' '])
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
            let table = bare_table(line);
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
    // docs/alerts.md owns [scoring], [alerts] and [[sinks]].
    let mut keys = documented(REFERENCE);
    assert!(keys.len() > 25, "{REFERENCE} keys: {keys:?}");
    let alerts = documented(ALERTS);
    assert!(alerts.len() > 20, "{ALERTS} keys: {alerts:?}");
    keys.extend(alerts);
    let example = keys_in(&read(EXAMPLE));
    let undocumented: Vec<_> = example.difference(&keys).collect();
    let missing: Vec<_> = keys.difference(&example).collect();
    assert!(
        undocumented.is_empty() && missing.is_empty(),
        "in {EXAMPLE} but not in the tables of {REFERENCE} or {ALERTS}: {undocumented:?}\n\
         in {REFERENCE} or {ALERTS} but not in {EXAMPLE} (set or commented out): {missing:?}"
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
