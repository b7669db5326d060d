//! Failure handling of the poller: exponential backoff and `Retry-After`.
//! These drive the library's `Poller` directly, as the scheduler does, so
//! the due times can be read without waiting for them.

use crate::support::*;
use std::sync::Arc;
use std::time::Duration;
use tocsin::config;
use tocsin::source::{PollError, Poller, fetch::FetchError, fetch::Fetcher};
use tocsin::store::Store;

fn poller(env: &Env) -> (Poller, config::Config) {
    let cfg = config::load(&env.config()).unwrap();
    let store = Arc::new(Store::open(&cfg.state_dir).unwrap());
    let poller = Poller {
        fetcher: Fetcher::new(&cfg.fetch).unwrap(),
        store,
        jitter: 0.0,
        backoff_max: cfg.fetch.backoff_max,
    };
    (poller, cfg)
}

#[tokio::test]
async fn repeated_failures_back_off_exponentially_up_to_the_cap() {
    let server = TestServer::start();
    server.route("/down", Route::status(500));
    let env = Env::new(&format!(
        "[fetch]\nbackoff_max = \"4m\"\n{}",
        feed_source("down", &server.url("/down"), "interval = \"1m\"")
    ));
    let (poller, cfg) = poller(&env);
    let src = &cfg.sources[0];
    let mut waits = Vec::new();
    for _ in 0..4 {
        let before = chrono::Utc::now();
        let report = poller.poll(src).await;
        assert!(matches!(
            report.result,
            Err(PollError::Fetch(FetchError::Status(500)))
        ));
        waits.push((report.next_due - before).num_seconds());
    }
    assert_eq!(
        waits,
        [60, 120, 240, 240],
        "doubling per failure, capped at backoff_max"
    );
    let state = poller.store.source_state("down").unwrap().unwrap();
    assert_eq!(state.consecutive_failures, 4);
    assert_eq!(state.last_error.as_deref(), Some("HTTP status 500"));
    // Recovery resets the count.
    server.route(
        "/down",
        Route::ok(rss(&[("a", "A")]), "application/rss+xml"),
    );
    let report = poller.poll(src).await;
    assert!(report.result.is_ok());
    assert_eq!(
        poller
            .store
            .source_state("down")
            .unwrap()
            .unwrap()
            .consecutive_failures,
        0
    );
}

#[tokio::test]
async fn retry_after_on_429_and_503_is_honoured() {
    let server = TestServer::start();
    server.route("/busy", Route::status(429).header("retry-after", "900"));
    server.route("/maint", Route::status(503).header("retry-after", "60"));
    let env = Env::new(&format!(
        "{}{}",
        feed_source("busy", &server.url("/busy"), "interval = \"1m\""),
        feed_source("maint", &server.url("/maint"), "interval = \"5m\"")
    ));
    let (poller, cfg) = poller(&env);
    let before = chrono::Utc::now();
    let busy = poller.poll(&cfg.sources[0]).await;
    assert!(matches!(
        busy.result,
        Err(PollError::Fetch(FetchError::RetryLater { status: 429, .. }))
    ));
    assert!(
        (busy.next_due - before).num_seconds() >= 900,
        "waits as long as asked"
    );
    let maint = poller.poll(&cfg.sources[1]).await;
    // Retry-After shorter than the interval never makes us poll faster.
    assert!((maint.next_due - before).num_seconds() >= 300);
}

#[tokio::test]
async fn per_host_and_global_concurrency_limits_hold() {
    let mut slow = Route::ok(rss(&[("a", "A")]), "application/rss+xml");
    slow.delay = Duration::from_millis(300);
    // Six feeds on one host, at most 2 at a time to it.
    let server = TestServer::start();
    let mut sources = String::new();
    for i in 0..6 {
        server.route(&format!("/f{i}"), slow.clone());
        sources.push_str(&feed_source(
            &format!("f{i}"),
            &server.url(&format!("/f{i}")),
            "",
        ));
    }
    let env = Env::new(&format!("[fetch]\nper_host_concurrency = 2\n{sources}"));
    let app = tocsin::app::App::build(config::load(&env.config()).unwrap()).unwrap();
    let reports = app.poll_all_once().await;
    assert!(reports.iter().all(|r| r.result.is_ok()));
    assert_eq!(
        server.max_in_flight(),
        2,
        "never more than 2 at once to one host"
    );
    // Six feeds on two host names (127.0.0.1 and localhost): the global
    // limit of 1 holds across hosts.
    let server = TestServer::start();
    let mut sources = String::new();
    for i in 0..6 {
        server.route(&format!("/f{i}"), slow.clone());
        let host = if i % 2 == 0 { "127.0.0.1" } else { "localhost" };
        let url = format!("http://{host}:{}/f{i}", server.addr.port());
        sources.push_str(&feed_source(&format!("g{i}"), &url, ""));
    }
    let env = Env::new(&format!(
        "[fetch]\nglobal_concurrency = 1\nper_host_concurrency = 4\n{sources}"
    ));
    let app = tocsin::app::App::build(config::load(&env.config()).unwrap()).unwrap();
    app.poll_all_once().await;
    assert_eq!(
        server.max_in_flight(),
        1,
        "the global limit holds across hosts"
    );
}

#[tokio::test]
async fn a_slow_server_times_out_without_holding_others() {
    let server = TestServer::start();
    let mut slow = Route::ok(rss(&[("a", "A")]), "application/rss+xml");
    slow.delay = Duration::from_secs(5);
    server.route("/slow", slow);
    server.route(
        "/fast",
        Route::ok(rss(&[("b", "B")]), "application/rss+xml"),
    );
    let env = Env::new(&format!(
        "[fetch]\ntimeout = \"1s\"\n[defaults]\nfirst_fetch = \"emit\"\n{}{}",
        feed_source("slow", &server.url("/slow"), ""),
        feed_source("fast", &server.url("/fast"), "")
    ));
    let cfg = config::load(&env.config()).unwrap();
    let app = tocsin::app::App::build(cfg).unwrap();
    let started = std::time::Instant::now();
    let reports = app.poll_all_once().await;
    assert!(started.elapsed() < Duration::from_secs(4));
    assert!(matches!(
        reports[0].result,
        Err(PollError::Fetch(FetchError::Timeout))
    ));
    assert_eq!(reports[1].result.as_ref().unwrap().new_items.len(), 1);
}
