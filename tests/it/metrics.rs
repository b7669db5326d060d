//! The side door of a running daemon: `/metrics` after real polls of good,
//! failing and malformed feeds (checked by `promtool check metrics`),
//! `/healthz`, `/readyz`, JSON errors, and a clear error when the address
//! is taken.

use crate::support::*;
use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const CRASH: &str = "Russian Missile Shot Down Azerbaijani Passenger Plane – Reports";

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

/// Runs the real `promtool check metrics` on a scrape. Without promtool the
/// check fails under CI and is skipped loudly elsewhere.
fn promtool_check(text: &str) {
    let child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return missing_prometheus_tool("promtool", "promtool check metrics");
        }
        Err(e) => panic!("cannot run promtool: {e}"),
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && report.trim().is_empty(),
        "promtool check metrics:\n{report}\non:\n{text}"
    );
}

/// Stops the daemon with SIGTERM and expects a clean exit.
fn stop(mut daemon: KillOnDrop) {
    let pid = daemon.0.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = daemon.0.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "stopped within 10 s");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
}

#[test]
fn run_serves_metrics_health_and_readiness() {
    let server = TestServer::start();
    let feed = |items: &[(&str, &str)]| Route::ok(rss(items), "application/rss+xml");
    server.route(
        "/news",
        feed(&[("crash", CRASH), ("weather", "Sunny weekend ahead in Baku")]),
    );
    server.route("/quiet", feed(&[("q", "A quiet day at the ministry")]));
    server.route("/down", Route::status(500));
    server.route(
        "/garbled",
        Route::ok("<html><body>no feed here", "application/rss+xml"),
    );
    let addr = free_addr();
    let sources: String = ["news", "quiet", "down", "garbled"]
        .iter()
        .map(|id| feed_source(id, &server.url(&format!("/{id}")), ""))
        .collect();
    // Polled once each, soon after start (the next polls are 30 s away).
    let env = Env::new(&format!(
        "{}[defaults]\ninterval = \"30s\"\njitter = 0.05\nfirst_fetch = \"emit\"\n{sources}",
        http_listen(addr)
    ));
    let daemon = start_daemon(&env, addr);

    // Each source polled once with the outcome it deserves, and the crash
    // report matched downstream.
    let outcomes = [
        ("news", "ok"),
        ("quiet", "ok"),
        ("down", "status"),
        ("garbled", "parse"),
    ];
    let polled = |s: &[Sample]| {
        let once = |&(id, outcome): &(&str, &str)| {
            let labels = [("source", id), ("outcome", outcome)];
            value(s, "tocsin_fetches_total", &labels) == Some(1.0)
        };
        let crash = [("indicator", "aviation-incident")];
        // The indicator gauges follow the matches once they are scored.
        let scored = value(s, "tocsin_indicator_activity", &crash).is_some_and(|a| a > 0.0);
        outcomes.iter().all(once) && value(s, "tocsin_matches_total", &crash).is_some() && scored
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    let (content_type, text) = loop {
        let (status, content_type, text) = get(addr, "/metrics");
        assert_eq!(status, 200, "{text}");
        if polled(&samples(&text)) {
            break (content_type, text);
        }
        assert!(
            Instant::now() < deadline,
            "every source polled once:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(content_type, "text/plain; version=0.0.4");
    let s = samples(&text);
    let v = |name: &str, labels: &[(&str, &str)]| value(&s, name, labels);
    let src = |id| [("source", id)];
    // Per source: outcomes, responses by class, items and failures.
    assert_eq!(v("tocsin_fetches_total", &src("news")), Some(1.0));
    assert_eq!(v("tocsin_fetches_total", &src("down")), Some(1.0));
    for (id, class) in [
        ("news", "2xx"),
        ("quiet", "2xx"),
        ("garbled", "2xx"),
        ("down", "5xx"),
    ] {
        let labels = [("source", id), ("class", class)];
        assert_eq!(v("tocsin_http_responses_total", &labels), Some(1.0), "{id}");
    }
    assert_eq!(v("tocsin_items_parsed_total", &src("news")), Some(2.0));
    assert_eq!(v("tocsin_items_new_total", &src("news")), Some(2.0));
    assert_eq!(v("tocsin_items_new_total", &src("quiet")), Some(1.0));
    assert_eq!(v("tocsin_items_duplicate_total", &src("news")), Some(0.0));
    assert_eq!(v("tocsin_parse_errors_total", &src("garbled")), Some(1.0));
    assert_eq!(v("tocsin_parse_errors_total", &src("news")), Some(0.0));
    assert!(v("tocsin_fetched_bytes_total", &src("news")).unwrap() > 100.0);
    assert_eq!(
        v("tocsin_source_consecutive_failures", &src("down")),
        Some(1.0)
    );
    assert_eq!(
        v("tocsin_source_consecutive_failures", &src("news")),
        Some(0.0)
    );
    assert_eq!(
        v("tocsin_fetch_duration_seconds_count", &src("down")),
        Some(1.0)
    );
    let now = chrono::Utc::now().timestamp() as f64;
    let last = v("tocsin_last_success_timestamp_seconds", &src("news")).unwrap();
    assert!((now - 60.0..=now + 1.0).contains(&last), "{last} vs {now}");
    assert_eq!(
        v("tocsin_last_success_timestamp_seconds", &src("down")),
        None
    );
    // The crash report matched the default pack, live; the weather did not.
    let crash = [("indicator", "aviation-incident"), ("mode", "live")];
    assert!(v("tocsin_matches_total", &crash).unwrap() >= 1.0, "{text}");
    // The crash report (warning or critical) raised its indicator at once;
    // every other declared indicator has its series, at zero.
    let aviation = [("indicator", "aviation-incident")];
    assert!(v("tocsin_indicator_activity", &aviation).unwrap() >= 3.0);
    assert!(v("tocsin_indicator_baseline", &aviation).unwrap() > 0.0);
    let level = v("tocsin_indicator_level", &aviation).unwrap();
    assert!((1.0..=3.0).contains(&level), "level {level}");
    let quiet = [("indicator", "cyberattack")];
    assert_eq!(v("tocsin_indicator_level", &quiet), Some(0.0));
    assert_eq!(v("tocsin_indicator_activity", &quiet), Some(0.0));
    assert_eq!(v("tocsin_indicator_baseline", &quiet), Some(0.0));
    let index = v("tocsin_theatre_index", &[]).unwrap();
    assert!(index > 0.0 && index <= 100.0, "theatre index {index}");
    assert_eq!(
        v("tocsin_source_interval_seconds", &src("news")),
        Some(30.0)
    );
    // Daemon-wide gauges and counters.
    assert_eq!(v("tocsin_sources_configured", &[]), Some(4.0));
    assert!(v("tocsin_rules_loaded", &[]).unwrap() > 10.0);
    assert_eq!(
        v("tocsin_rule_reloads_total", &[("outcome", "kept")]),
        Some(0.0)
    );
    let version = [("version", env!("CARGO_PKG_VERSION"))];
    assert_eq!(v("tocsin_build_info", &version), Some(1.0));
    // No label value comes from feed text or error messages.
    for (_, labels, _) in &s {
        for value in labels.values() {
            assert!(!value.contains(' '), "label value {value:?}");
        }
    }
    promtool_check(&text);

    let (status, _, body) = get(addr, "/healthz");
    assert_eq!(
        (status, json(&body)),
        (200, serde_json::json!({"status": "ok"}))
    );
    let (status, _, body) = get(addr, "/readyz");
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        json(&body),
        serde_json::json!({"status": "ready", "checks": {"store": "ok", "rules": "ok", "scheduler": "ok"}})
    );
    let (status, content_type, body) = get(addr, "/nope");
    assert_eq!((status, content_type.as_str()), (404, "application/json"));
    assert_eq!(json(&body), serde_json::json!({"error": "not found"}));
    let (status, _, body) = request(addr, "POST", "/metrics").unwrap();
    assert_eq!(status, 405);
    assert_eq!(
        json(&body),
        serde_json::json!({"error": "method not allowed"})
    );
    stop(daemon);
}

#[test]
fn run_fails_clearly_when_the_address_is_taken() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let env = Env::new(&http_listen(addr));
    let mut daemon = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_tocsin"))
            .args(["run", "--config"])
            .arg(env.config())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = daemon.0.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "exits at once");
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    daemon
        .0
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("error: cannot listen on {addr} (http.listen): ")),
        "{stderr}"
    );
}
