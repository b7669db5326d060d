//! The rules path through the binary: `replay` (a fixed interface), the
//! default pack's own examples via `test-rules`, `eval`, `check`, matches in
//! `once`, and live reload in `run` (file change and SIGHUP).

use crate::support::*;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tocsin"))
}

fn repo(path: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(path)
        .display()
        .to_string()
}

fn copy_rules(to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(repo("rules")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, to.join(path.file_name().unwrap())).unwrap();
    }
}

#[test]
fn replay_writes_the_fixed_interface_and_skips_unparseable_files() {
    let out = bin()
        .args([
            "replay",
            "--rules",
            &repo("rules"),
            &repo("tests/fixtures/spool-mt"),
            &repo("tests/fixtures/html/bbc-1.html"),
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("bbc-1.html"),
        "the bad file is named: {stderr}"
    );
    let summary = stderr.lines().last().unwrap();
    assert!(
        summary.contains("10 files (1 skipped), 95 items"),
        "{summary}"
    );
    assert!(summary.contains("items/s"), "{summary}");
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(!lines.is_empty());
    for line in &lines {
        let keys: Vec<_> = line.as_object().unwrap().keys().cloned().collect();
        for key in [
            "source",
            "id",
            "link",
            "title",
            "published",
            "indicators",
            "severity",
            "matches",
        ] {
            assert!(keys.contains(&key.to_owned()), "{key} in {line}");
        }
        let indicators: Vec<_> = line["indicators"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let mut sorted = indicators.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(indicators, sorted, "sorted and de-duplicated");
    }
    let shot_down = lines
        .iter()
        .find(|l| {
            l["title"]
                .as_str()
                .unwrap()
                .contains("Russian Missile Shot Down Azerbaijani Passenger Plane")
        })
        .expect("the AZAL shoot-down report matches");
    assert_eq!(shot_down["severity"], "critical");
    assert!(
        shot_down["indicators"]
            .as_array()
            .unwrap()
            .contains(&"aviation-incident".into())
    );
}

#[test]
fn replay_reads_json_lines_and_all_prints_everything() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("items.jsonl");
    std::fs::write(
        &file,
        "{\"id\":\"1\",\"title\":\"В Екатеринбурге задержаны выходцы из Азербайджана в ходе рейда\",\"lang\":\"ru\"}\n\
         {\"id\":\"2\",\"title\":\"Baku hosts a regional trade fair\",\"lang\":\"en\"}\n",
    )
    .unwrap();
    let run = |all: bool| {
        let mut cmd = bin();
        cmd.args(["replay", "--rules", &repo("rules")]);
        if all {
            cmd.arg("--all");
        }
        let out = cmd.arg(&file).output().unwrap();
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .collect::<Vec<_>>()
    };
    let matched = run(false);
    assert_eq!(matched.len(), 1);
    assert_eq!(
        matched[0]["indicators"],
        serde_json::json!(["migrant-crackdown"])
    );
    assert_eq!(run(true).len(), 2);
}

#[test]
fn the_default_pack_passes_its_own_examples() {
    let out = bin()
        .args(["test-rules", "--rules", &repo("rules")])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains(" 0 failed"), "{stdout}");
}

#[test]
fn test_rules_reports_failing_examples_and_rule_errors() {
    let dir = tempfile::tempdir().unwrap();
    copy_rules(dir.path());
    let rules = dir.path().display().to_string();
    std::fs::write(
        dir.path().join("zz-local.toml"),
        "[[rule]]\nid = \"local/raid\"\nindicator = \"migrant-crackdown\"\nseverity = \"warning\"\nmatch = \"raid\"\n\
         [rule.examples]\nmatch = [\"a raid\", \"afraid of nothing\"]\nno_match = [\"calm\", \"quiet\"]\n",
    )
    .unwrap();
    let out = bin()
        .args(["test-rules", "--rules", &rules])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("local/raid") && stdout.contains("afraid of nothing"),
        "{stdout}"
    );
    std::fs::write(dir.path().join("zz-local.toml"), "[[rule]]\nid = \"local/x\"\nindicator = \"no-such\"\nseverity = \"warning\"\nmatch = \"x\"\n").unwrap();
    let out = bin()
        .args(["test-rules", "--rules", &rules])
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("zz-local.toml:3:13"), "file:line:col: {text}");
    assert!(text.contains("no-such"), "{text}");
}

#[test]
fn eval_reports_every_indicator() {
    let out = bin()
        .args([
            "eval",
            "--labels",
            &repo("tests/fixtures/labelled/dev.jsonl"),
            "--rules",
            &repo("rules"),
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    for id in [
        "sabotage",
        "migrant-crackdown",
        "media-closure",
        "border-clash",
        "diplomatic-rupture",
        "cyberattack",
        "espionage-arrest",
        "trade-restriction",
        "energy-transit",
        "aviation-incident",
        "military-posture",
        "influence-operation",
        "civil-unrest",
        "overall",
    ] {
        assert!(
            stdout.lines().any(|l| l.starts_with(id)),
            "{id} in\n{stdout}"
        );
    }
}

#[test]
fn check_validates_rules_and_once_prints_matches() {
    let env = Env::new(&format!(
        "[[sources]]\nid = \"mt\"\nkind = \"dir\"\npath = \"{}\"\nfirst_fetch = \"emit\"\n",
        repo("tests/fixtures/spool-mt")
    ));
    let out = env.tocsin(&["check"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("13 indicators"));
    let (items, _) = env.once();
    assert_eq!(items.len(), 95);
    let matched: Vec<_> = items
        .iter()
        .filter(|i| !i["indicators"].as_array().unwrap().is_empty())
        .collect();
    assert!(matched.len() >= 10, "{}", matched.len());
    assert!(
        matched
            .iter()
            .all(|i| !i["matches"].as_array().unwrap().is_empty())
    );
    // The matches are stored and scored.
    let out = env.tocsin(&["indicators", "--json"]);
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let indicators = summary["indicators"].as_array().unwrap();
    assert_eq!(indicators.len(), 13);
    let aviation = indicators
        .iter()
        .find(|i| i["indicator"] == "aviation-incident")
        .unwrap();
    assert!(aviation["matches"].as_u64().unwrap() >= 3, "{aviation}");
    assert_ne!(
        aviation["level"], "normal",
        "a burst of AZAL crash reports raises the level"
    );
    assert!(summary["theatre_index"].as_f64().unwrap() > 0.0);
    // A broken rules directory makes `check` fail with the location.
    let dir = tempfile::tempdir().unwrap();
    copy_rules(dir.path());
    std::fs::write(
        dir.path().join("zz.toml"),
        "[[rule]]\nid = \"x\"\nindicator = \"sabotage\"\nseverity = \"loud\"\nmatch = \"x\"\n",
    )
    .unwrap();
    env.set_rules_dir(dir.path());
    let out = env.tocsin(&["check"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("zz.toml:4:12"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn run_reloads_rules_on_change_and_sighup_and_keeps_them_on_a_bad_reload() {
    let rules = tempfile::tempdir().unwrap();
    copy_rules(rules.path());
    let addr = free_addr();
    let env = Env::new(&http_listen(addr));
    env.set_rules_dir(rules.path());
    let mut child = bin()
        .args(["run", "--log-format", "json", "--config"])
        .arg(env.config())
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<serde_json::Value>();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Ok(v) = serde_json::from_str(&line) {
                let _ = tx.send(v);
            }
        }
    });
    let wait_for = |message: &str| {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(line) = rx.recv_timeout(Duration::from_millis(200))
                && line["message"] == message
            {
                return line;
            }
        }
        panic!("no log line {message:?}");
    };
    let started = wait_for("tocsin started");
    let count = started["rules"].as_u64().unwrap();
    // A broken file: the old rules stay.
    std::fs::write(
        rules.path().join("zz.toml"),
        "[[rule]]\nid = \"x\"\nindicator = \"nope\"\nseverity = \"info\"\nmatch = \"x\"\n",
    )
    .unwrap();
    wait_for("rule reload failed; keeping the previous rules");
    // Fixed: swapped in, with the new rule.
    std::fs::write(rules.path().join("zz.toml"), "[[rule]]\nid = \"x\"\nindicator = \"sabotage\"\nseverity = \"info\"\nmatch = \"xylophone\"\n").unwrap();
    let reloaded = wait_for("rules reloaded");
    assert_eq!(reloaded["rules.count"].as_u64(), Some(count + 1));
    Command::new("kill")
        .args(["-HUP", &child.id().to_string()])
        .status()
        .unwrap();
    wait_for("SIGHUP: reloading rules and config");
    wait_for("rules reloaded");
    // Counted: one kept, two swapped (file change, SIGHUP); the new count.
    let deadline = Instant::now() + Duration::from_secs(10);
    let reloads = loop {
        let s = samples(&get(addr, "/metrics").2);
        let reloads =
            ["kept", "swapped"].map(|o| value(&s, "tocsin_rule_reloads_total", &[("outcome", o)]));
        let loaded = value(&s, "tocsin_rules_loaded", &[]);
        if reloads == [Some(1.0), Some(2.0)] || Instant::now() > deadline {
            break (reloads, loaded);
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(reloads, ([Some(1.0), Some(2.0)], Some(count as f64 + 1.0)));
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(child.wait().unwrap().success());
}
