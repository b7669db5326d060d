//! Alerts end to end, through the real binary: feeds served on 127.0.0.1,
//! sinks received by local servers (and a real Alertmanager), the store
//! read back with `tocsin alerts --json`.

use crate::support::*;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use std::net::SocketAddr;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const CRASH: &str = "Russian missile shot down Azerbaijani passenger plane near Aktau, sources say";
const CRASH_LEDE: &str = "The Azerbaijan Airlines Embraer was hit by a Russian air defence missile over Grozny before it crashed in Kazakhstan.";

/// A signed webhook sink whose URL and secret come from the environment.
const WEBHOOK_SINK: &str = "[[sinks]]\nname = \"hooks\"\nkind = \"webhook\"\nurl = { env = \"TEST_HOOK_URL\" }\nsecret = { env = \"TEST_HOOK_SECRET\" }\n";

/// One request a receiver got.
#[derive(Clone, Debug)]
struct Received {
    headers: HeaderMap,
    body: Vec<u8>,
    at: Instant,
}

impl Received {
    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }

    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

#[derive(Default)]
struct ReceiverState {
    /// Answers in order; after the script, 200.
    script: Vec<(u16, Option<&'static str>)>,
    got: Vec<Received>,
    /// How long each answer takes.
    delay: Duration,
    /// Requests answered (the response was sent).
    answered: usize,
}

/// A webhook receiver on 127.0.0.1 that records every request.
struct Receiver {
    addr: SocketAddr,
    state: Arc<Mutex<ReceiverState>>,
}

async fn receive(
    State(state): State<Arc<Mutex<ReceiverState>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (status, retry_after, delay) = {
        let mut s = state.lock().unwrap();
        s.got.push(Received {
            headers,
            body: body.to_vec(),
            at: Instant::now(),
        });
        let (status, retry_after) = if s.script.is_empty() {
            (200, None)
        } else {
            s.script.remove(0)
        };
        (status, retry_after, s.delay)
    };
    tokio::time::sleep(delay).await;
    state.lock().unwrap().answered += 1;
    let mut response = (StatusCode::from_u16(status).unwrap(), "ok").into_response();
    if let Some(wait) = retry_after {
        response
            .headers_mut()
            .insert("retry-after", wait.parse().unwrap());
    }
    response
}

impl Receiver {
    fn start(script: Vec<(u16, Option<&'static str>)>) -> Receiver {
        Receiver::start_on("127.0.0.1:0".parse().unwrap(), script)
    }

    fn start_on(addr: SocketAddr, script: Vec<(u16, Option<&'static str>)>) -> Receiver {
        let state = Arc::new(Mutex::new(ReceiverState {
            script,
            ..ReceiverState::default()
        }));
        let app = axum::Router::new()
            .fallback(receive)
            .with_state(state.clone());
        let addr = serve_on_thread(addr, app);
        Receiver { addr, state }
    }

    fn set_delay(&self, delay: Duration) {
        self.state.lock().unwrap().delay = delay;
    }

    fn answered(&self) -> usize {
        self.state.lock().unwrap().answered
    }

    fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    fn got(&self) -> Vec<Received> {
        self.state.lock().unwrap().got.clone()
    }

    /// Waits until at least `n` requests arrived.
    fn wait_for(&self, n: usize, within: Duration) -> Vec<Received> {
        let deadline = Instant::now() + within;
        loop {
            let got = self.got();
            if got.len() >= n {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "receiver got {} of {n} requests within {within:?}",
                got.len()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// An RSS feed whose items (guid, title, description) were published an
/// hour ago, so they are fresh enough to page.
fn fresh_rss(items: &[(&str, &str, &str)]) -> String {
    let published = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc2822();
    let mut xml =
        String::from("<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>t</title>");
    for (guid, title, description) in items {
        xml.push_str(&format!(
            "<item><guid>{guid}</guid><title>{}</title><link>https://news.example/{guid}</link>\
             <description>{}</description><pubDate>{published}</pubDate></item>",
            html_escape::encode_text(title),
            html_escape::encode_text(description)
        ));
    }
    xml.push_str("</channel></rss>");
    xml
}

/// A feed server whose `/feed` has one fresh report of the downed airliner.
fn crash_feed() -> TestServer {
    crash_feed_titled(CRASH)
}

/// As [`crash_feed`], under another title (as the feed's HTML writes it).
fn crash_feed_titled(title: &str) -> TestServer {
    let feeds = TestServer::start();
    feeds.route(
        "/feed",
        Route::ok(
            fresh_rss(&[("crash-1", title, CRASH_LEDE)]),
            "application/rss+xml",
        ),
    );
    feeds
}

/// A config: fast polling, first fetch emits, the given sources and sinks.
fn config(addr: SocketAddr, sources: &str, rest: &str) -> String {
    format!(
        "{}[defaults]\ninterval = \"2s\"\njitter = 0.05\nfirst_fetch = \"emit\"\n\n{rest}\n{sources}",
        http_listen(addr)
    )
}

fn start(env: &Env, addr: SocketAddr, vars: &[(&str, &str)]) -> KillOnDrop {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tocsin"));
    cmd.args(["run", "--config"])
        .arg(env.config())
        .env("RUST_LOG", "info")
        .stderr(std::fs::File::create(env.dir.path().join("daemon.log")).unwrap());
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let daemon = KillOnDrop(cmd.spawn().unwrap());
    let deadline = Instant::now() + Duration::from_secs(20);
    while request(addr, "GET", "/healthz").is_err() {
        assert!(Instant::now() < deadline, "daemon serves on {addr}");
        std::thread::sleep(Duration::from_millis(100));
    }
    daemon
}

fn log(env: &Env) -> String {
    std::fs::read_to_string(env.dir.path().join("daemon.log")).unwrap_or_default()
}

/// `tocsin alerts --json`, newest first.
fn alerts(env: &Env) -> Vec<serde_json::Value> {
    let out = env.tocsin(&["alerts", "--json", "--limit", "100"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn wait_alerts(env: &Env, pred: impl Fn(&[serde_json::Value]) -> bool) -> Vec<serde_json::Value> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let a = alerts(env);
        if pred(&a) {
            return a;
        }
        assert!(
            Instant::now() < deadline,
            "alerts never reached the expected state: {a:#?}\nlog:\n{}",
            log(env)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Replaces what changes from run to run (times, ids, scores) so the
/// payload can be compared with a snapshot.
fn normalise(mut v: serde_json::Value) -> serde_json::Value {
    let text = serde_json::to_string_pretty(&v).unwrap();
    let re_time = regex::Regex::new(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC").unwrap();
    let re_num =
        regex::Regex::new(r"(activity|baseline|theatre index|alert) [\d.()a-z ]+?( ·|\\n|\x22|$)")
            .unwrap();
    let text = re_time.replace_all(&text, "<time>");
    let text = re_num.replace_all(&text, "$1 <n>$2");
    v = serde_json::from_str(&text).unwrap();
    v
}

/// Compares with `tests/fixtures/alerts/<name>`; `UPDATE_SNAPSHOTS=1`
/// rewrites it.
fn snapshot(name: &str, value: &serde_json::Value) {
    let path = fixture_path(&format!("alerts/{name}"));
    let text = serde_json::to_string_pretty(value).unwrap() + "\n";
    if std::env::var("UPDATE_SNAPSHOTS").is_ok_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &text).unwrap();
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (UPDATE_SNAPSHOTS=1 writes it)", path.display()));
    assert_eq!(
        text, want,
        "snapshot {name} differs (UPDATE_SNAPSHOTS=1 rewrites it)"
    );
}

#[test]
fn slack_message_escapes_feed_text_and_matches_the_snapshot() {
    // Escaped once for the feed's HTML, so the item's text really holds
    // `<!channel>` and the forged link.
    let title =
        format!("{CRASH} &lt;!channel&gt; &lt;https://evil.example|click here&gt; &amp; co");
    let feeds = crash_feed_titled(&title);
    let slack = Receiver::start(vec![]);
    let addr = free_addr();
    let env = Env::new(&config(
        addr,
        &feed_source("wire", &feeds.url("/feed"), ""),
        "[[sinks]]\nname = \"slack-ops\"\nkind = \"slack\"\nurl = { env = \"TEST_SLACK_URL\" }\nmin_severity = \"warning\"\n",
    ));
    let daemon = start(&env, addr, &[("TEST_SLACK_URL", &slack.url())]);
    let got = slack.wait_for(1, Duration::from_secs(30));
    let body = got[0].json();
    let raw = String::from_utf8_lossy(&got[0].body);
    assert!(!raw.contains("<!channel>"), "{raw}");
    assert!(!raw.contains("<https://evil.example|click here>"), "{raw}");
    assert!(raw.contains("&lt;!channel&gt;"), "{raw}");
    assert!(
        raw.contains("<https://news.example/crash-1|"),
        "the title links to the article: {raw}"
    );
    snapshot("slack-crash.json", &normalise(body));
    // The webhook URL is a credential: never in the log.
    drop(daemon);
    let log = log(&env);
    assert!(log.contains("alert delivered"), "{log}");
    assert!(
        !log.contains(&slack.url()),
        "the Slack URL leaked into the log:\n{log}"
    );
}

#[test]
fn webhook_is_signed_and_a_500_is_retried_with_the_same_id() {
    let feeds = crash_feed();
    let hook = Receiver::start(vec![(500, None)]);
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let addr = free_addr();
    let env = Env::new(&config(
        addr,
        &feed_source("wire", &feeds.url("/feed"), ""),
        WEBHOOK_SINK,
    ));
    let _daemon = start(
        &env,
        addr,
        &[("TEST_HOOK_URL", &hook.url()), ("TEST_HOOK_SECRET", secret)],
    );
    let got = hook.wait_for(2, Duration::from_secs(30));
    assert_eq!(
        got[0].header("webhook-id"),
        got[1].header("webhook-id"),
        "a retry keeps its id"
    );
    assert_eq!(got[0].body, got[1].body);
    let verifier = standardwebhooks::Webhook::new(secret).unwrap();
    for g in &got {
        verifier
            .verify(&g.body, &g.headers)
            .expect("the signature verifies with the Standard Webhooks library");
    }
    let wrong = standardwebhooks::Webhook::new("whsec_c2VjcmV0LXRoYXQtaXMtd3Jvbmc=").unwrap();
    assert!(wrong.verify(&got[1].body, &got[1].headers).is_err());
    let doc = got[1].json();
    assert_eq!(doc["indicator"], "aviation-incident", "{doc:#}");
    assert_eq!(doc["kind"], "story");
    assert_eq!(doc["sources"], serde_json::json!(["wire"]));
    assert!(!doc["rules"].as_array().unwrap().is_empty());
    let m = &doc["matches"][0];
    assert!(!m["terms"].as_array().unwrap().is_empty(), "{doc:#}");
    assert!(m["spans"][0]["end"].as_u64() > m["spans"][0]["start"].as_u64());
    assert_eq!(format!("alert-{}", doc["id"]), got[1].header("webhook-id"));
    // The store says delivered after one failed attempt.
    let a = wait_alerts(&env, |a| {
        a.first()
            .is_some_and(|a| a["deliveries"][0]["state"] == "delivered")
    });
    assert_eq!(a[0]["deliveries"][0]["attempts"], 2);
    let (_, _, metrics) = get(addr, "/metrics");
    let s = samples(&metrics);
    assert_eq!(
        value(
            &s,
            "tocsin_deliveries_total",
            &[("sink", "hooks"), ("outcome", "retry")]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &s,
            "tocsin_deliveries_total",
            &[("sink", "hooks"), ("outcome", "delivered")]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &s,
            "tocsin_alerts_total",
            &[("indicator", "aviation-incident"), ("kind", "story")]
        ),
        Some(1.0)
    );
}

#[test]
fn a_429_waits_for_retry_after() {
    let feeds = crash_feed();
    let slack = Receiver::start(vec![(429, Some("3"))]);
    let addr = free_addr();
    let env = Env::new(&config(
        addr,
        &feed_source("wire", &feeds.url("/feed"), ""),
        "[[sinks]]\nname = \"slack\"\nkind = \"slack\"\nurl = { env = \"TEST_SLACK_URL\" }\n",
    ));
    let _daemon = start(&env, addr, &[("TEST_SLACK_URL", &slack.url())]);
    let got = slack.wait_for(2, Duration::from_secs(30));
    let gap = got[1].at - got[0].at;
    assert!(
        gap >= Duration::from_millis(2900),
        "retried after {gap:?}, Retry-After was 3 s"
    );
}

#[test]
fn a_receiver_down_across_a_restart_still_gets_the_alert() {
    let feeds = crash_feed();
    // Nothing listens here yet: connections are refused.
    let hook_addr = free_addr();
    let addr = free_addr();
    let env = Env::new(&config(
        addr,
        &feed_source("wire", &feeds.url("/feed"), ""),
        WEBHOOK_SINK,
    ));
    let vars = [
        ("TEST_HOOK_URL", format!("http://{hook_addr}/hook")),
        ("TEST_HOOK_SECRET", "s3cret".to_owned()),
    ];
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut daemon = start(&env, addr, &vars);
    wait_alerts(&env, |a| {
        a.first()
            .is_some_and(|a| a["deliveries"][0]["attempts"].as_u64() >= Some(1))
    });
    // Killed, not stopped: nothing gets a chance to flush.
    daemon.0.kill().unwrap();
    daemon.0.wait().unwrap();
    let hook = Receiver::start_on(hook_addr, vec![]);
    let _daemon = start(&env, addr, &vars);
    let got = hook.wait_for(1, Duration::from_secs(30));
    assert_eq!(got[0].json()["title"], CRASH);
    let a = wait_alerts(&env, |a| {
        a.first()
            .is_some_and(|a| a["deliveries"][0]["state"] == "delivered")
    });
    assert_eq!(a.len(), 1, "the restart raised no second alert");
}

#[test]
fn twenty_outlets_reporting_one_event_make_one_alert_with_twenty_sources() {
    let feeds = TestServer::start();
    let variants = [
        CRASH.to_owned(),
        format!("{CRASH} – reports"),
        format!("UPDATE: {CRASH}"),
        CRASH.replace("sources say", "four sources say"),
        CRASH.to_uppercase(),
    ];
    let mut sources = String::new();
    for i in 0..20 {
        let title = &variants[i % variants.len()];
        feeds.route(
            &format!("/f{i}"),
            Route::ok(
                fresh_rss(&[(&format!("o{i}-crash"), title, CRASH_LEDE)]),
                "application/rss+xml",
            ),
        );
        sources.push_str(&feed_source(
            &format!("outlet-{i:02}"),
            &feeds.url(&format!("/f{i}")),
            "",
        ));
    }
    let hook = Receiver::start(vec![]);
    let addr = free_addr();
    let env = Env::new(&config(addr, &sources, WEBHOOK_SINK));
    let _daemon = start(
        &env,
        addr,
        &[("TEST_HOOK_URL", &hook.url()), ("TEST_HOOK_SECRET", "s")],
    );
    // Twenty critical reports also lift the indicator's level, which is an
    // alert of its own kind (`level`); stories are what is counted here.
    let stories = |a: &[serde_json::Value]| -> Vec<serde_json::Value> {
        a.iter().filter(|a| a["kind"] == "story").cloned().collect()
    };
    let a = wait_alerts(&env, |a| {
        stories(a)
            .first()
            .is_some_and(|a| a["sources"].as_array().unwrap().len() == 20)
    });
    let a = stories(&a);
    assert_eq!(a.len(), 1, "one story, one alert: {a:#?}");
    assert_eq!(a[0]["story"]["items"].as_array().unwrap().len(), 20);
    // Give late deliveries a chance to show up before counting them.
    std::thread::sleep(Duration::from_secs(2));
    let story_messages = hook
        .got()
        .iter()
        .filter(|g| g.json()["kind"] == "story")
        .count();
    assert_eq!(
        story_messages, 1,
        "new sources update the alert, they do not page again"
    );
}

/// A daemon polling `feeds` (`/feed`, source `wire`) and delivering to
/// `hook` as the generic webhook sink.
fn wire_to_webhook(feeds: &TestServer, hook: &Receiver) -> (Env, SocketAddr, KillOnDrop) {
    let addr = free_addr();
    let env = Env::new(&config(
        addr,
        &feed_source("wire", &feeds.url("/feed"), ""),
        WEBHOOK_SINK,
    ));
    let daemon = start(
        &env,
        addr,
        &[("TEST_HOOK_URL", &hook.url()), ("TEST_HOOK_SECRET", "s")],
    );
    (env, addr, daemon)
}

/// Adds a one-hour silence of aviation-incident through the CLI.
fn silence_aviation(env: &Env, comment: &str) {
    let out = env.tocsin(&[
        "silence",
        "add",
        "--indicator",
        "aviation-incident",
        "--for",
        "1h",
        "--comment",
        comment,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_silence_holds_alerts_back_until_it_expires() {
    let feeds = crash_feed();
    let hook = Receiver::start(vec![]);
    let addr = free_addr();
    let env = Env::new(&config(
        addr,
        &feed_source("wire", &feeds.url("/feed"), ""),
        WEBHOOK_SINK,
    ));
    silence_aviation(&env, "known story");
    let bad = env.tocsin(&[
        "silence",
        "add",
        "--indicator",
        "no-such",
        "--for",
        "1h",
        "--comment",
        "x",
    ]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown indicator"));
    let _daemon = start(
        &env,
        addr,
        &[("TEST_HOOK_URL", &hook.url()), ("TEST_HOOK_SECRET", "s")],
    );
    let a = wait_alerts(&env, |a| !a.is_empty());
    assert_eq!(a[0]["silenced_by"], 1, "{a:#?}");
    assert_eq!(a[0]["deliveries"], serde_json::json!([]));
    let list = String::from_utf8(env.tocsin(&["silence", "list"]).stdout).unwrap();
    assert!(
        list.contains("active") && list.contains("known story"),
        "{list}"
    );
    let out = env.tocsin(&["silence", "expire", "1"]);
    assert!(out.status.success());
    let list = String::from_utf8(env.tocsin(&["silence", "list", "--all"]).stdout).unwrap();
    assert!(list.contains("expired"), "{list}");
    // A new story of the same indicator now reaches the sink.
    let second =
        "Azerbaijani airliner downed by Russian air defence over Chechnya, investigators conclude";
    feeds.route(
        "/feed",
        Route::ok(
            fresh_rss(&[
                ("crash-1", CRASH, CRASH_LEDE),
                (
                    "crash-2",
                    second,
                    "The preliminary report names a Pantsir-S1 system.",
                ),
            ]),
            "application/rss+xml",
        ),
    );
    let got = hook.wait_for(1, Duration::from_secs(30));
    assert_eq!(got[0].json()["title"], second);
    assert_eq!(hook.got().len(), 1, "the silenced alert stays undelivered");
}

/// A silence added while a delivery is retrying (the receiver is down)
/// stops that delivery: no further attempt, state `silenced`.
#[test]
fn a_silence_added_while_a_delivery_retries_stops_it() {
    let feeds = crash_feed();
    let hook = Receiver::start(vec![(503, None); 50]);
    let (env, addr, _daemon) = wire_to_webhook(&feeds, &hook);
    // Two failed attempts: the delivery is pending, retrying in 2 s.
    hook.wait_for(2, Duration::from_secs(30));
    silence_aviation(&env, "receiver down, we know");
    let a = wait_alerts(&env, |a| {
        a.first()
            .is_some_and(|a| a["deliveries"][0]["state"] == "silenced")
    });
    let d = &a[0]["deliveries"][0];
    assert_eq!(d["last_error"], "held back by silence 1", "{d:#}");
    assert!(a[0]["silenced_by"].is_null(), "raised before the silence");
    let attempts = hook.got().len();
    std::thread::sleep(Duration::from_secs(5));
    assert_eq!(hook.got().len(), attempts, "no attempt after the silence");
    let (_, _, metrics) = get(addr, "/metrics");
    assert_eq!(
        value(
            &samples(&metrics),
            "tocsin_deliveries_total",
            &[("sink", "hooks"), ("outcome", "silenced")]
        ),
        Some(1.0)
    );
}

#[test]
fn sink_config_errors_name_the_line_and_never_the_secret() {
    let addr = free_addr();
    let env = Env::new(&config(
        addr,
        "",
        "[[sinks]]\nname = \"slack\"\nkind = \"slack\"\nurl = \"https://hooks.slack.com/services/T0/B0/SECRETPART\"\n\n\
         [[sinks]]\nname = \"am\"\nkind = \"alertmanager\"\nurl = \"http://127.0.0.1:9093\"\nindicators = [\"no-such-indicator\"]\n",
    ));
    let out = env.tocsin(&["check"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("tocsin.toml:13:") && stderr.contains("sinks[0].url"),
        "{stderr}"
    );
    assert!(stderr.contains("credential"), "{stderr}");
    assert!(!stderr.contains("SECRETPART"), "{stderr}");
    // With the URL fixed, the unknown indicator is reported with its line.
    env.write_config(&config(
        addr,
        "",
        "[[sinks]]\nname = \"am\"\nkind = \"alertmanager\"\nurl = \"http://127.0.0.1:9093\"\nindicators = [\"no-such-indicator\"]\n",
    ));
    let out = env.tocsin(&["check"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("tocsin.toml:11:")
            && stderr.contains("unknown indicator \"no-such-indicator\""),
        "{stderr}"
    );
}

/// Starts Debian's `prometheus-alertmanager` on 127.0.0.1, or reports it
/// missing (a failure when `CI=true`).
fn alertmanager(dir: &std::path::Path) -> Option<(KillOnDrop, SocketAddr)> {
    let bin = "prometheus-alertmanager";
    let config = dir.join("alertmanager.yml");
    std::fs::write(
        &config,
        "route:\n  receiver: blackhole\n  group_wait: 1s\nreceivers:\n  - name: blackhole\n",
    )
    .unwrap();
    let addr = free_addr();
    let child = Command::new(bin)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!("--storage.path={}", dir.join("am-data").display()))
        .arg(format!("--web.listen-address={addr}"))
        .arg("--cluster.listen-address=")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(dir.join("alertmanager.log")).unwrap())
        .spawn();
    let child = match child {
        Ok(c) => KillOnDrop(c),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let what = "prometheus-alertmanager not found: install the Debian package \
                        `prometheus-alertmanager` (scripts/test.sh does)";
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("{what}");
            }
            eprintln!("\n***\n*** SKIPPED Alertmanager test: {what}\n***\n");
            return None;
        }
        Err(e) => panic!("cannot start {bin}: {e}"),
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while !request(addr, "GET", "/-/ready").is_ok_and(|(s, _, _)| s == 200) {
        assert!(Instant::now() < deadline, "alertmanager ready on {addr}");
        std::thread::sleep(Duration::from_millis(100));
    }
    Some((child, addr))
}

#[test]
fn alerts_reach_a_real_alertmanager() {
    let dir = tempfile::tempdir().unwrap();
    let Some((_am, am_addr)) = alertmanager(dir.path()) else {
        return;
    };
    let feeds = crash_feed();
    let addr = free_addr();
    let env = Env::new(&config(
        addr,
        &feed_source("wire", &feeds.url("/feed"), ""),
        &format!("[[sinks]]\nname = \"am\"\nkind = \"alertmanager\"\nurl = \"http://{am_addr}\"\n"),
    ));
    let _daemon = start(&env, addr, &[]);
    let deadline = Instant::now() + Duration::from_secs(30);
    let alert = loop {
        let (status, _, body) = get(am_addr, "/api/v2/alerts");
        assert_eq!(status, 200, "{body}");
        let alerts: Vec<serde_json::Value> = serde_json::from_str(&body).unwrap();
        if let Some(a) = alerts.into_iter().next() {
            break a;
        }
        assert!(
            Instant::now() < deadline,
            "no alert in Alertmanager; tocsin log:\n{}",
            log(&env)
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let labels = &alert["labels"];
    assert_eq!(labels["alertname"], "TocsinStory", "{alert:#}");
    assert_eq!(labels["indicator"], "aviation-incident");
    assert!(["warning", "critical"].contains(&labels["severity"].as_str().unwrap()));
    assert!(
        labels["rule"]
            .as_str()
            .unwrap()
            .starts_with("aviation-incident/"),
        "{alert:#}"
    );
    assert_eq!(alert["annotations"]["title"], CRASH);
    assert_eq!(alert["annotations"]["link"], "https://news.example/crash-1");
    assert_eq!(alert["status"]["state"], "active");
    let ends = chrono::DateTime::parse_from_rfc3339(alert["endsAt"].as_str().unwrap()).unwrap();
    assert!(
        ends > chrono::Utc::now() + chrono::Duration::hours(23),
        "endsAt lets it resolve: {ends}"
    );
}

fn kill(daemon: &KillOnDrop, signal: &str) {
    assert!(
        Command::new("kill")
            .args([signal, &daemon.0.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
}

fn wait_log(env: &Env, needle: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !log(env).contains(needle) {
        assert!(
            Instant::now() < deadline,
            "no {needle:?} in the log:\n{}",
            log(env)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn sighup_applies_a_new_config_and_keeps_the_running_one_when_it_is_bad() {
    let feeds = TestServer::start();
    feeds.route(
        "/a",
        Route::ok(
            fresh_rss(&[("weather", "Sunny weekend ahead in Baku", "")]),
            "application/rss+xml",
        ),
    );
    feeds.route(
        "/b",
        Route::ok(
            fresh_rss(&[("crash-1", CRASH, CRASH_LEDE)]),
            "application/rss+xml",
        ),
    );
    let hook = Receiver::start(vec![]);
    let addr = free_addr();
    let env = Env::new(&config(addr, &feed_source("a", &feeds.url("/a"), ""), ""));
    let vars = [
        ("TEST_HOOK_URL", hook.url()),
        ("TEST_HOOK_SECRET", "s".to_owned()),
    ];
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let daemon = start(&env, addr, &vars);
    // A config with an error: logged, counted, and the daemon goes on.
    env.write_config(&config(
        addr,
        &feed_source("a", &feeds.url("/a"), "interval = \"soon\""),
        "",
    ));
    kill(&daemon, "-HUP");
    wait_log(&env, "config reload failed; keeping the running config");
    assert!(log(&env).contains("sources[0].interval"), "{}", log(&env));
    // A good one: a second source and a sink, in use without a restart.
    env.write_config(&config(
        addr,
        &format!(
            "{}{}",
            feed_source("a", &feeds.url("/a"), ""),
            feed_source("b", &feeds.url("/b"), "")
        ),
        WEBHOOK_SINK,
    ));
    kill(&daemon, "-HUP");
    wait_log(&env, "config reloaded");
    let got = hook.wait_for(1, Duration::from_secs(30));
    assert_eq!(got[0].json()["sources"], serde_json::json!(["b"]));
    let s = samples(&get(addr, "/metrics").2);
    assert_eq!(
        value(&s, "tocsin_config_reloads_total", &[("outcome", "kept")]),
        Some(1.0)
    );
    assert_eq!(
        value(&s, "tocsin_config_reloads_total", &[("outcome", "swapped")]),
        Some(1.0)
    );
    assert_eq!(value(&s, "tocsin_sources_configured", &[]), Some(2.0));
}

#[test]
fn sigterm_lets_a_delivery_in_flight_finish() {
    let feeds = crash_feed();
    let hook = Receiver::start(vec![]);
    hook.set_delay(Duration::from_secs(3));
    let addr = free_addr();
    let env = Env::new(&config(
        addr,
        &feed_source("wire", &feeds.url("/feed"), ""),
        WEBHOOK_SINK,
    ));
    let mut daemon = start(
        &env,
        addr,
        &[("TEST_HOOK_URL", &hook.url()), ("TEST_HOOK_SECRET", "s")],
    );
    hook.wait_for(1, Duration::from_secs(30));
    // The receiver is still answering: stop tocsin now.
    kill(&daemon, "-TERM");
    let status = daemon.0.wait().unwrap();
    assert!(status.success(), "{status:?}\n{}", log(&env));
    assert_eq!(hook.answered(), 1, "the attempt in flight was completed");
    let a = alerts(&env);
    assert_eq!(
        a[0]["deliveries"][0]["state"],
        "delivered",
        "{a:#?}\n{}",
        log(&env)
    );
}

/// A raw HTTP/1.0 request with a JSON body: status and body.
fn send_json(addr: SocketAddr, method: &str, path: &str, body: &str) -> (u16, serde_json::Value) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.0\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (
        status,
        serde_json::from_str(body).unwrap_or(serde_json::Value::Null),
    )
}

fn get_json(addr: SocketAddr, path: &str) -> (u16, serde_json::Value) {
    let (status, _, body) = get(addr, path);
    (
        status,
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path}: {e}: {body}")),
    )
}

#[test]
fn alerts_stories_and_silences_over_the_api_and_on_the_page() {
    let hostile = format!("{CRASH} &lt;script&gt;alert(1)&lt;/script&gt;");
    let feeds = crash_feed_titled(&hostile);
    let hook = Receiver::start(vec![]);
    let (_env, addr, _daemon) = wire_to_webhook(&feeds, &hook);
    hook.wait_for(1, Duration::from_secs(30));
    let deadline = Instant::now() + Duration::from_secs(20);
    let alerts = loop {
        let (status, body) = get_json(addr, "/api/v1/alerts?kind=story");
        assert_eq!(status, 200, "{body}");
        if body["items"][0]["deliveries"][0]["state"] == "delivered" {
            break body;
        }
        assert!(Instant::now() < deadline, "{body:#}");
        std::thread::sleep(Duration::from_millis(200));
    };
    let a = &alerts["items"][0];
    assert_eq!(a["indicator"], "aviation-incident");
    assert_eq!(a["sources"], serde_json::json!(["wire"]));
    assert_eq!(alerts["next"], serde_json::Value::Null);
    let id = a["id"].as_i64().unwrap();
    let (status, one) = get_json(addr, &format!("/api/v1/alerts/{id}"));
    assert_eq!((status, &one["id"]), (200, &a["id"]));
    assert_eq!(get_json(addr, "/api/v1/alerts/999").0, 404);
    assert_eq!(
        get_json(addr, "/api/v1/alerts?indicator=cyberattack").1["items"],
        serde_json::json!([])
    );
    let (status, bad) = get_json(addr, "/api/v1/alerts?severity=loud");
    assert_eq!(status, 400, "{bad}");
    let (_, stories) = get_json(addr, "/api/v1/stories");
    let story = &stories["items"][0];
    assert_eq!(story["sources"], serde_json::json!(["wire"]));
    assert_eq!(story["alerts"], serde_json::json!([id]));
    assert_eq!(story["items"].as_array().unwrap().len(), 1);
    // Silences: create, list, expire; a bad one is a 400 naming the problem.
    let (status, created) = send_json(
        addr,
        "POST",
        "/api/v1/silences",
        r#"{"indicator": "border-clash", "for": "2h", "comment": "exercise", "match": "Tovuz"}"#,
    );
    assert_eq!(status, 201, "{created}");
    let (status, bad) = send_json(
        addr,
        "POST",
        "/api/v1/silences",
        r#"{"indicator": "nope", "for": "2h", "comment": "x"}"#,
    );
    assert_eq!(status, 400);
    assert!(
        bad["error"].as_str().unwrap().contains("unknown indicator"),
        "{bad}"
    );
    let (_, list) = get_json(addr, "/api/v1/silences");
    assert_eq!(list["silences"][0]["match_text"], "Tovuz");
    let sid = created["id"].as_i64().unwrap();
    let (status, expired) = send_json(addr, "POST", &format!("/api/v1/silences/{sid}/expire"), "");
    assert_eq!(status, 200, "{expired}");
    assert_eq!(
        get_json(addr, "/api/v1/silences").1["silences"],
        serde_json::json!([])
    );
    assert_eq!(
        get_json(addr, "/api/v1/silences?all=true").1["silences"][0]["id"],
        sid
    );
    // The page lists the alert, its feed text escaped.
    let (status, _, page) = get(addr, "/");
    assert_eq!(status, 200);
    assert!(page.contains("Recent alerts"), "{page}");
    assert!(page.contains("hooks: delivered"), "{page}");
    assert!(!page.contains("<script>alert(1)"), "{page}");
    assert!(
        page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{page}"
    );
}

#[test]
fn slack_gets_at_most_one_message_a_second() {
    let feeds = TestServer::start();
    feeds.route(
        "/feed",
        Route::ok(
            fresh_rss(&[
                ("crash-1", CRASH, CRASH_LEDE),
                (
                    "ddos-1",
                    "Pro-Russian hackers claim DDoS attack that took Azerbaijani government websites offline",
                    "The cyberattack hit ministries in Baku.",
                ),
                (
                    "border-1",
                    "Azerbaijani soldier killed as Armenian forces open fire on border positions near Tovuz",
                    "Exchange of fire reported overnight.",
                ),
            ]),
            "application/rss+xml",
        ),
    );
    let slack = Receiver::start(vec![]);
    let addr = free_addr();
    let env = Env::new(&config(
        addr,
        &feed_source("wire", &feeds.url("/feed"), ""),
        "[[sinks]]\nname = \"slack\"\nkind = \"slack\"\nurl = { env = \"TEST_SLACK_URL\" }\n",
    ));
    let _daemon = start(&env, addr, &[("TEST_SLACK_URL", &slack.url())]);
    let got = slack.wait_for(3, Duration::from_secs(30));
    for pair in got.windows(2) {
        let gap = pair[1].at - pair[0].at;
        assert!(
            gap >= Duration::from_millis(950),
            "two Slack messages {gap:?} apart"
        );
    }
}

#[test]
fn deliveries_are_dead_lettered_past_max_age_or_on_a_4xx_and_stay_visible() {
    let feeds = crash_feed();
    // "hooks" keeps failing with 500s; "gone" answers 404 (a wrong URL).
    let failing = Receiver::start((0..50).map(|_| (500, None)).collect());
    let gone = Receiver::start(vec![(404, None)]);
    let addr = free_addr();
    let env = Env::new(&config(
        addr,
        &feed_source("wire", &feeds.url("/feed"), ""),
        &format!(
            "[alerts]\nmax_delivery_age = \"2s\"\n\n{WEBHOOK_SINK}\n\
             [[sinks]]\nname = \"gone\"\nkind = \"slack\"\nurl = {{ env = \"TEST_GONE_URL\" }}\n"
        ),
    ));
    let _daemon = start(
        &env,
        addr,
        &[
            ("TEST_HOOK_URL", &failing.url()),
            ("TEST_HOOK_SECRET", "s"),
            ("TEST_GONE_URL", &gone.url()),
        ],
    );
    let a = wait_alerts(&env, |a| {
        a.first().is_some_and(|a| {
            a["deliveries"]
                .as_array()
                .unwrap()
                .iter()
                .all(|d| d["state"] == "dead")
        })
    });
    let deliveries = a[0]["deliveries"].as_array().unwrap();
    let by = |sink: &str| {
        deliveries
            .iter()
            .find(|d| d["sink"] == sink)
            .unwrap()
            .clone()
    };
    assert_eq!(
        by("gone")["attempts"],
        1,
        "a 404 is not retried: {deliveries:#?}"
    );
    assert!(by("gone")["last_error"].as_str().unwrap().contains("404"));
    assert!(
        by("hooks")["attempts"].as_u64().unwrap() >= 2,
        "{deliveries:#?}"
    );
    assert!(
        by("hooks")["last_error"]
            .as_str()
            .unwrap()
            .contains("max_delivery_age"),
        "{deliveries:#?}"
    );
    // The gauge follows the store (refreshed every 5 s).
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let s = samples(&get(addr, "/metrics").2);
        let dead = ["hooks", "gone"].map(|k| value(&s, "tocsin_dead_letters", &[("sink", k)]));
        if dead == [Some(1.0), Some(1.0)] {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "dead letters on /metrics: {dead:?}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}
