//! The operator files in `deploy/`: the Prometheus alerting rules and the
//! Grafana dashboard use only metrics a running daemon really exposes, the
//! rules pass `promtool check rules` and their unit tests, and a real
//! Prometheus scrapes the daemon with the rules loaded.

use crate::support::*;
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const RULES: &str = "deploy/prometheus/tocsin-rules.yml";
const RULE_TESTS: &str = "deploy/prometheus/tocsin-rules.test.yml";
const DASHBOARD: &str = "deploy/grafana/tocsin-dashboard.json";
const CRASH: &str = "Russian Missile Shot Down Azerbaijani Passenger Plane – Reports";

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Every PromQL expression of the dashboard: panel targets and the queries
/// of template variables.
fn dashboard_queries() -> Vec<String> {
    fn walk(value: &serde_json::Value, out: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(map) => {
                for (key, v) in map {
                    match (key.as_str(), v) {
                        ("expr" | "definition", serde_json::Value::String(q)) => {
                            out.push(q.clone())
                        }
                        _ => walk(v, out),
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let dashboard: serde_json::Value = serde_json::from_str(&read(DASHBOARD)).unwrap();
    let mut queries = Vec::new();
    walk(&dashboard, &mut queries);
    queries
}

/// The rules file without its comments (which may name future metrics).
fn rules_text() -> String {
    read(RULES)
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The `tocsin_…` metric names in a text.
fn metric_names(text: &str) -> BTreeSet<String> {
    let name = regex::Regex::new(r"\btocsin_[a-z_]+").unwrap();
    name.find_iter(text)
        .map(|m| m.as_str().to_owned())
        .collect()
}

/// The names a scrape can be queried by: every family, and the series of
/// each histogram.
fn exposed_names(scrape: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for line in scrape.lines() {
        let Some(rest) = line.strip_prefix("# TYPE ") else {
            continue;
        };
        let (name, kind) = rest.split_once(' ').expect("# TYPE name type");
        names.insert(name.to_owned());
        if kind == "histogram" {
            for suffix in ["_bucket", "_sum", "_count"] {
                names.insert(format!("{name}{suffix}"));
            }
        }
    }
    names
}

/// A running daemon whose every family has series: a feed with a report
/// that matches the default pack (polled once, soon after start).
struct Daemon {
    _server: TestServer,
    _env: Env,
    _process: KillOnDrop,
    addr: SocketAddr,
    scrape: String,
}

fn daemon() -> Daemon {
    let server = TestServer::start();
    let feed = rss(&[("crash", CRASH), ("weather", "Sunny weekend ahead in Baku")]);
    server.route("/news", Route::ok(feed, "application/rss+xml"));
    let addr = free_addr();
    let env = Env::new(&format!(
        "{}[defaults]\ninterval = \"30s\"\njitter = 0.05\nfirst_fetch = \"emit\"\n\
         [[sinks]]\nname = \"am\"\nkind = \"alertmanager\"\nurl = \"http://{}\"\n{}",
        http_listen(addr),
        free_addr(),
        feed_source("news", &server.url("/news"), "")
    ));
    let process = start_daemon(&env, addr);
    let crash = [("indicator", "aviation-incident")];
    let deadline = Instant::now() + Duration::from_secs(30);
    let scrape = loop {
        let (status, _, text) = get(addr, "/metrics");
        assert_eq!(status, 200, "{text}");
        let s = samples(&text);
        let polled = value(&s, "tocsin_last_success_timestamp_seconds", &[]).is_some();
        let scored = value(&s, "tocsin_indicator_level", &crash).is_some_and(|l| l >= 1.0);
        if polled && scored {
            break text;
        }
        assert!(Instant::now() < deadline, "polled and scored:\n{text}");
        std::thread::sleep(Duration::from_millis(200));
    };
    Daemon {
        _server: server,
        _env: env,
        _process: process,
        addr,
        scrape,
    }
}

#[test]
fn dashboard_and_rules_use_only_metrics_the_daemon_exposes() {
    let daemon = daemon();
    let exposed = exposed_names(&daemon.scrape);
    let queries = dashboard_queries();
    assert!(queries.len() > 10, "dashboard queries: {queries:?}");
    let in_dashboard = metric_names(&queries.join("\n"));
    let in_rules = metric_names(&rules_text());
    for (file, used) in [(DASHBOARD, &in_dashboard), (RULES, &in_rules)] {
        assert!(!used.is_empty(), "{file} uses no tocsin metric");
        let unknown: Vec<_> = used.difference(&exposed).collect();
        assert!(
            unknown.is_empty(),
            "{file} uses metrics tocsin does not expose: {unknown:?}\nexposed: {exposed:?}"
        );
    }
    // What each file is for.
    for name in [
        "tocsin_indicator_level",
        "tocsin_theatre_index",
        "tocsin_matches_total",
        "tocsin_last_success_timestamp_seconds",
        "tocsin_source_consecutive_failures",
        "tocsin_fetch_duration_seconds_bucket",
        "tocsin_fetches_total",
        "tocsin_rule_reloads_total",
        "tocsin_alerts_total",
        "tocsin_deliveries_total",
        "tocsin_outbox_pending",
        "tocsin_dead_letters",
    ] {
        assert!(in_dashboard.contains(name), "the dashboard shows {name}");
    }
    for name in [
        "tocsin_last_success_timestamp_seconds",
        "tocsin_source_interval_seconds",
        "tocsin_fetches_total",
        "tocsin_rule_reloads_total",
        "tocsin_indicator_level",
        "tocsin_outbox_oldest_pending_age_seconds",
        "tocsin_dead_letters",
    ] {
        assert!(in_rules.contains(name), "the rules use {name}");
    }
}

/// Runs `promtool <args>` in `deploy/prometheus` and expects success.
fn promtool(args: &[&str]) {
    let out = Command::new("promtool")
        .args(args)
        .current_dir(repo("deploy/prometheus"))
        .output()
        .unwrap_or_else(|e| panic!("cannot run promtool: {e}"));
    assert!(
        out.status.success(),
        "promtool {}:\n{}{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn promtool_checks_and_unit_tests_the_rules() {
    if !have_prometheus_tool("promtool", "promtool check rules / test rules") {
        return;
    }
    fn file(path: &str) -> &str {
        path.rsplit('/').next().unwrap()
    }
    promtool(&["check", "rules", file(RULES)]);
    promtool(&["test", "rules", file(RULE_TESTS)]);
}

/// Percent-encodes a query parameter.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `GET /api/v1/query` on Prometheus: the response as JSON, if it answers.
fn query(prometheus: SocketAddr, promql: &str) -> Option<serde_json::Value> {
    let path = format!("/api/v1/query?query={}", encode(promql));
    let (_, _, body) = request(prometheus, "GET", &path).ok()?;
    serde_json::from_str(&body).ok()
}

/// The result vector of an instant query (empty until series arrive).
fn result(prometheus: SocketAddr, promql: &str) -> Vec<serde_json::Value> {
    query(prometheus, promql)
        .and_then(|r| r["data"]["result"].as_array().cloned())
        .unwrap_or_default()
}

#[test]
fn prometheus_scrapes_the_daemon_with_the_rules_loaded() {
    if !have_prometheus_tool("prometheus", "real Prometheus scrape") {
        return;
    }
    let daemon = daemon();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
             rule_files:\n  - {}\n\
             scrape_configs:\n  - job_name: tocsin\n    static_configs:\n      - targets: [\"{}\"]\n",
            repo(RULES).display(),
            daemon.addr
        ),
    )
    .unwrap();
    let addr = free_addr();
    let log = dir.path().join("prometheus.log");
    let _prometheus = KillOnDrop(
        Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address={addr}"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    );
    let log = || std::fs::read_to_string(&log).unwrap_or_default();
    let aviation = r#"tocsin_indicator_level{job="tocsin",indicator="aviation-incident"}"#;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let build = result(addr, "tocsin_build_info");
        let level = result(addr, aviation);
        if !build.is_empty() && !level.is_empty() {
            let value: f64 = level[0]["value"][1].as_str().unwrap().parse().unwrap();
            assert!(value >= 1.0, "aviation-incident raised: {level:?}");
            assert_eq!(
                build[0]["metric"]["version"].as_str(),
                Some(env!("CARGO_PKG_VERSION"))
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "tocsin series in Prometheus on {addr} within 30 s; its log:\n{}",
            log()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    // The rules file is loaded, every alert in it.
    let (status, _, body) = get(addr, "/api/v1/rules");
    assert_eq!(status, 200, "{body}");
    let rules: serde_json::Value = serde_json::from_str(&body).unwrap();
    let names: BTreeSet<&str> = rules["data"]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["rules"].as_array().unwrap())
        .filter_map(|r| r["name"].as_str())
        .collect();
    let want: BTreeSet<&str> = [
        "TocsinSourceStale",
        "TocsinSourceFetchErrors",
        "TocsinRuleReloadFailed",
        "TocsinIndicatorCritical",
        "TocsinOutboxBacklog",
        "TocsinDeadLetters",
    ]
    .into();
    assert_eq!(names, want, "{body}");
    // Every query of the dashboard is valid PromQL for this Prometheus.
    for q in dashboard_queries() {
        if q.starts_with("label_values(") {
            continue; // Grafana's own function, not PromQL
        }
        let promql = q
            .replace("$window", "1m")
            .replace("$job", "tocsin")
            .replace("$instance", ".*");
        let answer = query(addr, &promql).expect("Prometheus answers");
        assert_eq!(answer["status"], "success", "{promql}: {answer}");
    }
}
