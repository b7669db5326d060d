//! Unit tests: every operator, word boundaries, folding, errors with
//! positions, shadow mode. Rule files are small inline strings.

use std::path::PathBuf;

use super::*;

const PREAMBLE: &str = r#"
[[indicator]]
id = "test"
title = "Test indicator"
cameo = ["172"]

[context.azerbaijan]
terms = ["azerbaijan*", "baku", "bakı*", "азербайджан*"]

[context.caucasus]
include = ["azerbaijan"]
terms = ["armenia*"]
"#;

fn set(rules: &str) -> RuleSet {
    let files = vec![
        (PathBuf::from("rules/indicators.toml"), PREAMBLE.to_owned()),
        (PathBuf::from("rules/test.toml"), rules.to_owned()),
    ];
    match RuleSet::from_files(files) {
        Ok(s) => s,
        Err(e) => panic!("rules do not compile:\n{e}"),
    }
}

fn rule(expr: &str) -> RuleSet {
    set(&format!(
        "[[rule]]\nid = \"r\"\nindicator = \"test\"\nseverity = \"warning\"\nmatch = {expr}\n"
    ))
}

fn hits(s: &RuleSet, text: &str) -> bool {
    !s.match_folded(&fold(text), "").is_empty()
}

fn errors(rules: &str) -> Vec<RuleError> {
    let files = vec![
        (PathBuf::from("rules/indicators.toml"), PREAMBLE.to_owned()),
        (PathBuf::from("rules/bad.toml"), rules.to_owned()),
    ];
    match RuleSet::from_files(files) {
        Ok(_) => panic!("expected errors"),
        Err(e) => e.0,
    }
}

/// Asserts there is an error of `kind` at `line:col` of bad.toml.
fn assert_error(rules: &str, kind: ErrorKind, at: &str, needle: &str) {
    let errs = errors(rules);
    let shown: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
    let prefix = format!("rules/bad.toml:{at}: ");
    assert!(
        errs.iter()
            .zip(&shown)
            .any(|(e, s)| e.kind == kind && s.starts_with(&prefix) && s.contains(needle)),
        "no {kind:?} error at {at} containing {needle:?} in {shown:#?}"
    );
}

fn bad_rule(expr: &str) -> String {
    format!("[[rule]]\nid = \"r\"\nindicator = \"test\"\nseverity = \"warning\"\nmatch = {expr}\n")
}

#[test]
fn term_respects_word_boundaries() {
    let s = rule(r#""raid""#);
    assert!(hits(&s, "Police raid in Moscow"));
    assert!(hits(&s, "RAID!"));
    assert!(!hits(&s, "Residents afraid of floods"));
    assert!(!hits(&s, "raiders arrested"));
}

#[test]
fn hyphen_and_apostrophe_are_boundaries() {
    let s = rule(r#""armenia""#);
    assert!(hits(&s, "Armenia-Azerbaijan border"));
    assert!(hits(&s, "armenia's army"));
}

#[test]
fn prefix_wildcard_checks_only_the_start() {
    let s = rule(r#""мигрант*""#);
    assert!(hits(&s, "Задержаны десятки мигрантов"));
    assert!(hits(&s, "мигрант"));
    assert!(!hits(&s, "гастарбайтеры и немигранты"));
}

#[test]
fn folding_applies_to_terms_and_text() {
    let s = rule(r#""bakı""#);
    assert!(hits(&s, "BAKI"));
    assert!(hits(&s, "Bakı"));
    assert!(hits(&s, "baki"));
    let s = rule(r#""Ёлка""#);
    assert!(hits(&s, "ЕЛКА"));
}

#[test]
fn phrase_needs_consecutive_words() {
    let s = rule(r#""shot down""#);
    assert!(hits(&s, "Plane shot down over the sea"));
    assert!(hits(&s, "plane shot-down"));
    assert!(!hits(&s, "shot and down"));
    assert!(!hits(&s, "shot, down"));
    assert!(!hits(&s, "gunshot downtown"));
    let s = rule(r#""air defen* fire""#);
    assert!(hits(&s, "Russian air defence fire hit the plane"));
    assert!(!hits(&s, "air defence units fire"));
}

#[test]
fn phrase_with_apostrophe_gap() {
    let s = rule(r#""putin's""#);
    assert!(hits(&s, "Putin’s statement"));
    assert!(!hits(&s, "putin s"));
}

#[test]
fn any_all_none() {
    let s = rule(r#"{ all = [{ any = ["raid", "рейд"] }, { none = ["police academy"] }] }"#);
    assert!(hits(&s, "рейд на рынке"));
    assert!(!hits(&s, "police academy raid drill"));
    assert!(!hits(&s, "nothing here"));
}

#[test]
fn bare_none_matches_text_without_hits() {
    let s = rule(r#"{ none = ["raid"] }"#);
    assert!(hits(&s, "quiet day"));
    assert!(!hits(&s, "raid"));
}

#[test]
fn context_with_include() {
    let s = rule(r#"{ all = ["raid", { context = "caucasus" }] }"#);
    assert!(hits(&s, "raid on Azerbaijani market"));
    assert!(hits(&s, "Armenian raid"));
    assert!(hits(&s, "рейд raid азербайджанцев"));
    assert!(!hits(&s, "raid in Paris"));
}

#[test]
fn near_within_window() {
    let s = rule(r#"{ near = ["pipeline", "explosion"], within = 4 }"#);
    assert!(hits(&s, "explosion hits gas pipeline"));
    assert!(!hits(&s, "explosion in the city; later a pipeline"));
    let s = rule(r#"{ near = ["pipeline", "explosion"] }"#);
    assert!(hits(&s, "explosion near the old gas pipeline"));
    assert!(!hits(&s, "explosion in the city near the old gas pipeline"));
    assert!(!hits(&s, "pipeline"));
}

#[test]
fn near_only_within_one_field() {
    let s = rule(r#"{ near = ["pipeline", "explosion"] }"#);
    assert!(s.match_folded("pipeline", "explosion").is_empty());
}

#[test]
fn regex_over_folded_text() {
    let s = rule(r#"{ regex = "\\bflight\\s+j2[-\\s]?8243\\b" }"#);
    assert!(hits(&s, "AZAL Flight J2-8243 crashed"));
    assert!(!hits(&s, "flight j2-82430"));
    let m = s.match_folded(&fold("flight j2 8243"), "");
    assert_eq!(m[0].terms, ["flight j2 8243"]);
}

#[test]
fn title_operator_and_scope() {
    let s = rule(r#"{ all = [{ title = "raid" }, "migrant*"] }"#);
    assert!(!s.match_folded("raid", "migrants").is_empty());
    assert!(s.match_folded("migrants", "raid").is_empty());
    let s = set(
        "[[rule]]\nid = \"r\"\nindicator = \"test\"\nseverity = \"info\"\nscope = \"title\"\nmatch = \"raid\"\n",
    );
    assert!(s.match_folded("x", "raid").is_empty());
    assert!(!s.match_folded("raid", "x").is_empty());
}

#[test]
fn weighted_threshold_counts_distinct_terms() {
    let s = rule(
        r#"{ weighted = { "raid" = 2.0, "detained" = 1, "migrant*" = 2.0 }, threshold = 3.0 }"#,
    );
    assert!(hits(&s, "raid: migrants detained"));
    assert!(hits(&s, "raid, detained"));
    assert!(!hits(&s, "raid raid raid"));
    assert!(hits(&s, "detained migrant"));
    assert!(!hits(&s, "migrants only"));
}

#[test]
fn match_reports_terms_spans_and_labels() {
    let s = rule(r#"{ all = ["raid", { context = "azerbaijan" }, { none = ["drill"] }] }"#);
    let m = s.match_folded(&fold("Raid on Azerbaijani migrants"), "raid again");
    assert_eq!(m.len(), 1);
    let m = &m[0];
    assert_eq!(m.rule, "r");
    assert_eq!(m.indicator, "test");
    assert_eq!(m.severity, Severity::Warning);
    assert_eq!(m.terms, ["raid", "azerbaijani"]);
    assert_eq!(m.spans.len(), 3);
    assert_eq!(m.labels["cameo"], ["172"]);
    assert_eq!((m.spans[0].start, m.spans[0].end), (0, 4));
}

#[test]
fn terms_come_from_the_branches_that_matched() {
    // `killed` is in the text, but its `all` lacks `soldiers`: the rule
    // matched on `shootout` alone, and only that is reported. A keyed
    // list (three `near`s) and a plain `any` are both covered.
    let s = rule(
        r#"{ any = ["shootout", { all = ["killed", "soldiers"] },
            { near = ["border", "clash"], within = 3 }, { near = ["troops", "fired"], within = 3 },
            { near = ["shots", "fired"], within = 3 }] }"#,
    );
    let m = s.match_folded(&fold("Border shootout: two killed, shots heard"), "");
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].terms, ["shootout"]);
    let m = s.match_folded(&fold("Soldiers killed as troops fired near the border"), "");
    assert_eq!(m[0].terms, ["soldiers", "killed", "troops", "fired"]);
}

#[test]
fn shadow_rules_match_with_the_flag() {
    let s = set(
        "[[rule]]\nid = \"s\"\nindicator = \"test\"\nseverity = \"critical\"\nmode = \"shadow\"\nmatch = \"raid\"\n",
    );
    let m = s.match_folded("raid", "");
    assert!(m[0].shadow);
    assert_eq!(s.rules()[0].mode, Mode::Shadow);
}

#[test]
fn examples_are_checked() {
    let s = set(r#"
[[rule]]
id = "r"
indicator = "test"
severity = "info"
match = "raid"
[rule.examples]
match = ["Police RAID", "a hidden needle"]
no_match = ["afraid", "raid again"]
"#);
    let f = s.run_examples();
    assert_eq!(f.len(), 2);
    assert!(f[0].expected_match && f[0].text == "a hidden needle");
    assert!(!f[1].expected_match && f[1].text == "raid again");
}

#[test]
fn error_unknown_indicator_and_bad_severity_together() {
    let r = "[[rule]]\nid = \"r\"\nindicator = \"nope\"\nseverity = \"urgent\"\nmatch = \"raid\"\n";
    assert_error(r, ErrorKind::UnknownIndicator, "3:13", "`nope`");
    assert_error(r, ErrorKind::BadValue, "4:12", "`urgent`");
}

#[test]
fn error_unknown_context() {
    assert_error(
        &bad_rule(r#"{ context = "mars" }"#),
        ErrorKind::UnknownContext,
        "5:21",
        "`mars`",
    );
}

#[test]
fn error_duplicate_rule_id() {
    let r = format!("{}{}", bad_rule("\"a\""), bad_rule("\"b\""));
    assert_error(&r, ErrorKind::DuplicateId, "7:6", "duplicate rule id `r`");
}

#[test]
fn error_invalid_regex() {
    assert_error(
        &bad_rule(r#"{ regex = "(unclosed" }"#),
        ErrorKind::InvalidRegex,
        "5:19",
        "`(unclosed`",
    );
}

#[test]
fn error_empty_expressions() {
    assert_error(
        &bad_rule("{ any = [] }"),
        ErrorKind::EmptyExpression,
        "5:9",
        "any = []",
    );
    assert_error(
        &bad_rule(r#"{ any = ["ok", " -- "] }"#),
        ErrorKind::EmptyExpression,
        "5:24",
        "folds to nothing",
    );
    assert_error(
        &bad_rule("{ }"),
        ErrorKind::EmptyExpression,
        "5:9",
        "empty expression",
    );
}

#[test]
fn error_unknown_keys() {
    let r = "[[rule]]\nid = \"r\"\nindicator = \"test\"\nseverity = \"info\"\nmatch = \"x\"\ncolour = 1\n";
    assert_error(r, ErrorKind::UnknownKey, "6:1", "colour");
    assert_error(
        &bad_rule(r#"{ any = ["x"], foo = 1 }"#),
        ErrorKind::UnknownKey,
        "5:24",
        "`foo`",
    );
}

#[test]
fn error_wildcards() {
    assert_error(
        &bad_rule(r#""de*fen""#),
        ErrorKind::BadWildcard,
        "5:9",
        "`de*fen`",
    );
    assert_error(
        &bad_rule(r#"{ any = ["ok", "ab*"] }"#),
        ErrorKind::ShortStem,
        "5:24",
        "`ab`",
    );
}

#[test]
fn error_context_cycle_and_bad_mode() {
    let r = "[context.a]\ninclude = [\"b\"]\n[context.b]\ninclude = [\"a\"]\nterms = [\"x\"]\n";
    assert_error(r, ErrorKind::ContextCycle, "1:10", "`a` includes itself");
    let r = "[[rule]]\nid = \"r\"\nindicator = \"test\"\nseverity = \"info\"\nmode = \"loud\"\nmatch = \"x\"\n";
    assert_error(r, ErrorKind::BadValue, "5:8", "unknown mode `loud`");
}

#[test]
fn errors_are_collected_across_rules() {
    let r = format!(
        "{}{}",
        bad_rule(r#"{ regex = "(" }"#),
        bad_rule(r#"{ context = "mars" }"#)
    );
    let errs = errors(&r);
    assert!(errs.len() >= 3, "{errs:#?}");
    let shown = RuleErrors(errs).to_string();
    assert_eq!(shown.lines().count(), 3, "{shown}");
}

#[test]
fn load_dir_reads_only_toml_files_sorted() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("b.toml"), bad_rule(r#""raid""#)).unwrap();
    std::fs::write(dir.path().join("a.toml"), PREAMBLE).unwrap();
    std::fs::write(dir.path().join("README.md"), "not toml").unwrap();
    let s = RuleSet::load_dir(dir.path()).unwrap();
    assert_eq!(s.rule_count(), 1);
    assert_eq!(s.rules()[0].file, dir.path().join("b.toml"));
    let missing = RuleSet::load_dir(&dir.path().join("missing")).unwrap_err();
    assert_eq!(missing.0[0].kind, ErrorKind::Io);
}

#[test]
fn rule_set_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<RuleSet>();
}

#[test]
fn text_without_hits_wakes_no_rule() {
    let s = rule(r#"{ all = ["raid", { none = ["drill"] }] }"#);
    assert!(s.match_folded("quiet news", "").is_empty());
    assert!(s.program.always.is_empty());
}

#[test]
fn patterns_that_prefix_each_other_all_hit() {
    let s = rule(r#"{ all = ["baku", "bak*", { any = ["bakunin", "bakuvian"] }] }"#);
    assert!(hits(&s, "bakuvian baku"));
    assert!(!hits(&s, "bakery baku"));
    let s = rule(r#"{ any = ["bak*", "bakunin"] }"#);
    assert!(hits(&s, "bakunin"));
    assert!(hits(&s, "bakery"));
    assert!(!hits(&s, "kebab"));
}

#[test]
fn long_any_lists_behind_a_gate_behave_the_same() {
    let s = rule(
        r#"{ all = ["police", { any = ["raid", "рейд*", "reyd*", "sweep", "crackdown", "round-up", { regex = "облав" }] }] }"#,
    );
    assert!(hits(&s, "police raid"));
    assert!(hits(&s, "police round up"));
    assert!(hits(&s, "police облава"));
    assert!(!hits(&s, "police station"));
    let s = rule(
        r#"{ all = ["police", { any = ["raid", "рейд*", "reyd*", "sweep", "crackdown", "round-up"] }] }"#,
    );
    // A list of plain terms is indexed by anchor word (its own gate).
    assert!(
        matches!(&s.program.exprs[0].0, program::Expr::All(c) if matches!(c[1], program::Expr::Terms(..)))
    );
    let s = rule(
        r#"{ all = ["police", { any = ["raid", "рейд*", "reyd*", "sweep", "crackdown", "round-up", { near = ["a", "b"], within = 2 }] }] }"#,
    );
    // Its terms are indexed, the `near` is tested on its own.
    assert!(matches!(&s.program.exprs[0].0, program::Expr::All(c)
        if matches!(&c[1], program::Expr::Any(v) if matches!(v[0], program::Expr::Terms(..)))));
    assert!(hits(&s, "police raid"));
    assert!(hits(&s, "police b a"));
    assert!(!hits(&s, "police a x x b"));
    assert!(hits(&s, "рейды police"));
    assert!(!hits(&s, "police"));
}

/// Places are rare in news at large but in nearly every theatre item: a
/// rule needing a context group and an event word is woken by the event
/// word, whatever the frequency list says of the place names.
#[test]
fn rules_wake_on_event_words_not_on_context_groups() {
    // Two village names nobody writes in news at large, and a common word.
    let s = set(r#"
[context.villages]
terms = ["soyudlu", "qazaxda"]

[[rule]]
id = "r"
indicator = "test"
severity = "warning"
match = { all = [{ context = "villages" }, "police"] }
"#);
    let p = &s.program;
    let wakes = |word: &str| {
        let w = p
            .words
            .iter()
            .position(|x| x == word)
            .expect("word compiled");
        !p.by_word[w].is_empty()
    };
    assert!(wakes("police"));
    assert!(!wakes("soyudlu") && !wakes("qazaxda"));
    assert!(hits(&s, "Police disperse protest in Soyudlu"));
    assert!(!hits(&s, "Soyudlu residents"));
}

#[test]
fn nears_and_alls_of_an_any_are_indexed_by_their_words() {
    let s = rule(
        r#"{ any = [
            { near = ["police", "raid*"], within = 3 },
            { near = ["border", "fire"], within = 2 },
            { near = ["pipeline", "blast"], within = 4 },
            { all = ["drone", { any = ["downed", "shot"] }] },
        ] }"#,
    );
    // Each child is evaluated only when a word it needs was hit.
    assert!(matches!(&s.program.exprs[0].0, program::Expr::Any(c)
        if matches!(&c[..], [program::Expr::Keyed(_, v)] if v.len() == 4)));
    for text in [
        "Police raids in Baku",
        "Border fire near Tovuz",
        "Blast hits pipeline near Ganja",
        "Drone shot down over Nakhchivan",
    ] {
        assert!(hits(&s, text), "{text:?}");
    }
    for text in [
        "Police and the army will later raid",
        "Fire station opens near the border",
        "Drone show in Baku",
        "Pipeline",
    ] {
        assert!(!hits(&s, text), "{text:?}");
    }
}

#[test]
fn regexes_run_lazily_unless_a_rule_needs_them_to_wake() {
    let s = rule(r#"{ all = ["flight", { any = ["azal", { regex = "\\bj2[-\\s]?8243\\b" }] }] }"#);
    assert!(!s.program.regex_wakes);
    assert!(hits(&s, "flight J2-8243"));
    assert!(!hits(&s, "J2-8243"));
    let s = rule(r#"{ regex = "\\bj2[-\\s]?8243\\b" }"#);
    assert!(s.program.regex_wakes);
    assert!(hits(&s, "J2 8243"));
}

#[test]
fn error_toml_syntax_and_duplicate_indicator() {
    assert_error(
        "[[rule]\nid = 1\n",
        ErrorKind::Syntax,
        "1:8",
        "unclosed array table",
    );
    let r = "[[indicator]]\nid = \"test\"\ntitle = \"again\"\n";
    assert_error(
        r,
        ErrorKind::DuplicateId,
        "2:6",
        "duplicate indicator id `test`",
    );
    let r = "[context.azerbaijan]\nterms = [\"x\"]\n";
    assert_error(
        r,
        ErrorKind::DuplicateId,
        "1:10",
        "duplicate context group `azerbaijan`",
    );
}

/// A rule is only evaluated when every word it needs was hit, and the other
/// words of a phrase count among those (`Program::necessary`): that must
/// hold when one of them is indexed as a whole word for another rule but
/// is a `word*` here, or the rule would never be evaluated on its matches.
#[test]
fn phrase_words_other_rules_index_differently_still_match() {
    let s = set(r#"
[[rule]]
id = "exact"
indicator = "test"
severity = "info"
match = { any = ["war", "information", "smear"] }

[[rule]]
id = "phrases"
indicator = "test"
severity = "warning"
match = { all = [
  { any = ["information war*", "war* information", "smear campaign*", "hybrid attack"] },
  { context = "azerbaijan" },
] }
"#);
    let phrases = |text: &str| {
        s.match_folded(&fold(text), "")
            .iter()
            .any(|m| m.rule == "phrases")
    };
    for text in [
        "Baku: the 'information wars' go on",
        "Information warfare against Azerbaijan",
        "Wartime information from Baku",
        "Baku decries smear campaigns",
    ] {
        assert!(phrases(text), "{text:?}");
    }
    for text in [
        "Baku: the war of information",
        "information in Baku",
        "war in Baku",
    ] {
        assert!(!phrases(text), "{text:?}");
    }
}
