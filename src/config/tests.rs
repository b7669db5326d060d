//! Config validation: every error names file, line, column and field.

use super::SourceKind;
use super::validate::DEFAULT_INTERVAL;
use super::{Config, ConfigErrors, SinkKind};
use std::path::Path;

fn validate(path: &Path, text: &str) -> Result<Config, ConfigErrors> {
    super::validate::validate(path, text, true)
}

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

#[test]
fn alerts_sinks_and_scoring_are_validated_with_locations() {
    let errs = errors(
        "[alerts]\nmin_severity = \"loud\"\nrepeat_interval = \"soon\"\nstory_similarity = 1.5\n\
         [[alerts.corroborate]]\nseverity = \"critical\"\nsources = 0\n\
         [scoring]\nhalf_life = \"0s\"\nhigh = { activity = 1.0, ratio = 4.0 }\n\
         [[sinks]]\nname = \"s\"\nkind = \"slack\"\nurl = \"https://hooks.slack.com/services/X\"\n\
         [[sinks]]\nname = \"s\"\nkind = \"webhook\"\nurl = { env = \"TOCSIN_TEST_SURELY_UNSET\" }\n\
         [[sinks]]\nname = \"p\"\nkind = \"pager\"\nurl = \"http://x\"\n",
    );
    let want = [
        "tocsin.toml:2:16: alerts.min_severity: unknown severity",
        "tocsin.toml:3:19: alerts.repeat_interval:",
        "tocsin.toml:4:20: alerts.story_similarity: must be in (0, 1]",
        "tocsin.toml:7:11: alerts.corroborate[0].sources: must be between 1 and 100",
        "tocsin.toml:9:13: scoring.half_life: must be greater than zero",
        "tocsin.toml:10:8: scoring: thresholds must not decrease",
        "tocsin.toml:14:7: sinks[0].url: this URL is a credential",
        "tocsin.toml:16:8: sinks[1].name: duplicate sink name",
        "tocsin.toml:17:8: sinks[1].secret: a \"webhook\" sink needs a signing `secret`",
        "tocsin.toml:21:8: sinks[2].kind: \"pager\" is not one of",
    ];
    for w in want {
        assert!(
            errs.iter().any(|e| e.starts_with(w)),
            "missing {w:?} in {errs:#?}"
        );
    }
    assert!(
        !errs.iter().any(|e| e.contains("hooks.slack.com")),
        "{errs:#?}"
    );
}

#[test]
fn sinks_read_their_url_and_secret_from_env_or_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("url"), "https://hooks.example/T/B/x\n").unwrap();
    std::fs::write(dir.path().join("secret"), "whsec_abc\n").unwrap();
    let text = "[[sinks]]\nname = \"hook\"\nkind = \"webhook\"\nurl = { file = \"url\" }\n\
                secret = { file = \"secret\" }\nmin_severity = \"critical\"\nindicators = [\"border-clash\"]\n\
                [[sinks]]\nname = \"am\"\nkind = \"alertmanager\"\nurl = \"http://127.0.0.1:9093\"\n";
    let cfg = validate(&dir.path().join("tocsin.toml"), text).unwrap();
    assert_eq!(cfg.sinks.len(), 2);
    assert_eq!(cfg.sinks[0].url.expose(), "https://hooks.example/T/B/x");
    assert!(
        matches!(&cfg.sinks[0].kind, SinkKind::Webhook { secret } if secret.expose() == "whsec_abc")
    );
    assert_eq!(cfg.sinks[0].min_severity, crate::model::Severity::Critical);
    assert_eq!(
        cfg.sinks[1].min_severity,
        crate::model::Severity::Warning,
        "default"
    );
    assert!(
        !format!("{cfg:?}").contains("hooks.example"),
        "Debug redacts sink URLs"
    );
    // Without secrets (commands that only read the store), missing
    // variables are no error.
    let text =
        "[[sinks]]\nname = \"s\"\nkind = \"slack\"\nurl = { env = \"TOCSIN_TEST_SURELY_UNSET\" }\n";
    assert!(validate(Path::new("t.toml"), text).is_err());
    assert!(super::validate::validate(Path::new("t.toml"), text, false).is_ok());
}
