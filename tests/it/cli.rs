//! The command line as users meet it: config errors, `check`, `--version`,
//! and clean shutdown of `run` on SIGTERM.

use crate::support::*;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tocsin"))
}

/// (config text, expected stderr lines) — each error names file:line:col and the field.
const BAD_CONFIGS: &[(&str, &[&str])] = &[
    (
        "[[sources]]\nid = \"a\"\nkind = \"feed\"\nurl = \"https://a.org/rss\"\ninterval = \"every five minutes\"\n",
        &[
            "tocsin.toml:7:12: sources[0].interval: \"every five minutes\" is not a duration (try \"5m\", \"30s\" or \"1h30m\")",
        ],
    ),
    (
        "[fetch]\nmax_body = \"lots\"\nmax_redirects = 0\n",
        &[
            "tocsin.toml:4:12: fetch.max_body: \"lots\" is not a size (try \"10MiB\")",
            "tocsin.toml:5:17: fetch.max_redirects: must be between 1 and 20, got 0",
        ],
    ),
    (
        "[[sources]]\nid = \"x\"\nkind = \"html\"\nurl = \"https://x.org/\"\n[sources.selectors]\nitem = \"div[\"\n",
        &["tocsin.toml:7:1: sources[0].selectors: item: invalid CSS selector \"div[\""],
    ),
    (
        "[http]\nlisten = \"localhost\"\n",
        &["tocsin.toml:4:10: http.listen: \"localhost\" is not an address"],
    ),
    (
        "[http]\napi_token = { env = \"TOCSIN_TEST_NO_SUCH_VAR\" }\n",
        &[
            "tocsin.toml:4:13: http.api_token: environment variable \"TOCSIN_TEST_NO_SUCH_VAR\" is not set",
        ],
    ),
];

#[test]
fn check_reports_every_config_error_with_location() {
    for (text, expected) in BAD_CONFIGS {
        let env = Env::new(text);
        let out = env.tocsin(&["check"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{text}\n{stderr}");
        for line in *expected {
            let line = line.replace("tocsin.toml", &env.config().display().to_string());
            assert!(
                stderr.lines().any(|l| l.starts_with(&line)),
                "expected {line:?} in:\n{stderr}"
            );
        }
    }
}

#[test]
fn check_summarises_a_valid_config() {
    let out = bin()
        .args(["check", "--config", "deploy/offline.toml"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("sources:   2"), "{stdout}");
    assert!(stdout.contains("moscow-times-archive"));
}

#[test]
fn version_is_printed() {
    let out = bin().arg("--version").output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("tocsin {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn run_polls_and_stops_cleanly_on_sigterm() {
    let server = TestServer::start();
    server.route(
        "/f",
        Route::ok(rss(&[("a", "Alpha")]), "application/rss+xml"),
    );
    let env = Env::new(&format!(
        "{}{}",
        http_listen(free_addr()),
        feed_source("f", &server.url("/f"), "interval = \"1s\"")
    ));
    let mut child = KillOnDrop(
        bin()
            .args(["run", "--log-format", "json", "--config"])
            .arg(env.config())
            .env("RUST_LOG", "info")
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let child = &mut child.0;
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let started = loop {
        let line = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("a log line");
        let line: serde_json::Value = serde_json::from_str(&line).expect("JSON logs");
        if line["message"] == "tocsin started" {
            break line;
        }
    };
    assert_eq!(started["sources"], 1);
    // Wait until the source has been polled at least twice.
    let deadline = Instant::now() + Duration::from_secs(20);
    while server.seen("/f").len() < 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(server.seen("/f").len() >= 2, "polled on its interval");
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let stopped_at = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            stopped_at.elapsed() < Duration::from_secs(10),
            "stopped within 10 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
    let logs: Vec<String> = rx.try_iter().collect();
    assert!(
        logs.iter().any(|l| l.contains("stopped cleanly")),
        "{logs:#?}"
    );
}
