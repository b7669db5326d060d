//! The status page `/` of a running daemon: what it shows, that feed text
//! is escaped and script links are not clickable, and — in a real headless
//! Chromium — that it renders with no injected element, plus a screenshot.

use crate::api::Theatre;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Every `href="..."` value of a document.
fn hrefs(html: &str) -> Vec<&str> {
    html.split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .collect()
}

#[test]
fn page_shows_levels_items_and_sources_with_feed_text_escaped() {
    let t = Theatre::start(None);
    let page = t.get("/");
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let csp = page.header("content-security-policy").unwrap_or_default();
    assert!(
        csp.contains("default-src 'none'"),
        "no script may run: {csp}"
    );
    let html = &page.body;
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains(r#"<meta http-equiv="refresh" content="60">"#));

    // Indicators at a glance, each with a sparkline; the theatre index.
    for title in [
        "Aviation security incidents",
        "Diplomatic downgrades",
        "Cyberattacks",
    ] {
        assert!(html.contains(title), "{title}");
    }
    assert!(html.contains(r#"<span class="badge lv-high">high</span>"#));
    assert!(html.contains("Theatre index"));
    let sparklines = html.matches(r#"<svg class="spark""#).count();
    assert!(
        sparklines >= 14,
        "one per indicator and the index: {sparklines}"
    );

    // Matched items, words marked, linked to the article; the unmatched
    // weather item is not among them.
    assert!(html.contains(r#"href="https://wire.example.org/2025/06/30/plane""#));
    assert!(html.contains("<mark>Shot Down</mark>"), "marked phrase");
    assert!(
        html.contains("<mark>Самолёт</mark>"),
        "marked across folding (ё)"
    );
    assert!(!html.contains("Sunny weekend"));

    // The hostile item: its markup is text, its script link goes nowhere.
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; <mark>Armenia</mark>"));
    assert!(html.contains("&lt;img src=x onerror=alert(2)&gt;"));
    let lower = html.to_lowercase();
    assert!(!lower.contains("<script"), "no script element");
    assert!(!lower.contains("<img"), "no injected image");
    for href in hrefs(html) {
        assert!(href.starts_with("https://"), "only http(s) links: {href}");
    }

    // Source health.
    assert!(html.contains(r#"<span class="health h-ok">ok</span>"#));
    assert!(html.contains(r#"<span class="health h-failing">failing</span>"#));
    assert!(html.contains("HTTP status 500"));
}

/// Chromium from Debian's `chromium` package; `None` (after a loud note)
/// when it is missing outside CI. Under `CI=true` a missing browser fails.
fn chromium() -> Option<PathBuf> {
    let found = ["chromium", "chromium-browser"].iter().find_map(|name| {
        let ok = Command::new(name)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| PathBuf::from(name))
    });
    if found.is_none() {
        let what = "chromium not found: install the Debian package `chromium` \
                    (apt-get install chromium), which provides /usr/bin/chromium";
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{what}");
        }
        let note =
            format!("\n***\n*** SKIPPED the real-browser check of the status page: {what}\n***\n");
        let _ = std::io::Write::write_all(&mut std::io::stderr(), note.as_bytes());
    }
    found
}

/// Runs headless Chromium with a fresh profile on `url`, with `args`, and
/// returns its stdout. Bounded: killed after 60 s.
fn headless(browser: &Path, args: &[&str], url: &str) -> String {
    let profile = tempfile::tempdir().unwrap();
    // Stdout goes to a file: a DOM larger than a pipe's buffer would block
    // chromium while nobody reads.
    let stdout = profile.path().join("stdout");
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(url)
        .stdout(std::fs::File::create(&stdout).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromium starts");
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within 60 s: {args:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "chromium {args:?}: {status:?}");
    std::fs::read_to_string(&stdout).unwrap()
}

#[test]
fn chromium_renders_the_page_and_runs_nothing_from_feeds() {
    let Some(browser) = chromium() else {
        return;
    };
    let t = Theatre::start(None);
    let url = format!("http://{}/", t.addr);

    // The DOM after parsing and layout: the hostile title is a text node
    // (serialised escaped), and no element came out of feed text.
    let dom = headless(&browser, &["--dump-dom"], &url);
    assert!(dom.contains("Aviation security incidents"), "{dom}");
    assert!(dom.contains("<mark>Shot Down</mark>"));
    assert!(dom.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    let lower = dom.to_lowercase();
    assert!(!lower.contains("<script"), "no script element in the DOM");
    assert!(!lower.contains("<img"), "no injected image in the DOM");
    assert!(!lower.contains("javascript:"), "no script link in the DOM");

    // A screenshot, for people and for docs/status-page.png.
    let shot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("status-page.png");
    let _ = std::fs::remove_file(&shot);
    let arg = format!("--screenshot={}", shot.display());
    headless(
        &browser,
        &[&arg, "--window-size=1280,1600", "--hide-scrollbars"],
        &url,
    );
    let png = std::fs::read(&shot).expect("chromium wrote the screenshot");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG");
    let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(png[20..24].try_into().unwrap());
    assert_eq!((width, height), (1280, 1600));
    assert!(png.len() > 20_000, "not a blank page: {} bytes", png.len());
    let note = format!("status page screenshot: {}\n", shot.display());
    let _ = std::io::Write::write_all(&mut std::io::stderr(), note.as_bytes());
}
