//! The polling path through the real binary: `tocsin once` against feeds
//! served from 127.0.0.1, one process per poll (so every poll is also a
//! restart).

use crate::support::*;

#[test]
fn conditional_get_sends_validators_and_handles_304() {
    let server = TestServer::start();
    let feed = fixture("feeds/bbc-world-2019.xml");
    server.route(
        "/bbc",
        Route::ok(feed, "application/rss+xml")
            .etag("\"v1\"")
            .header("last-modified", "Sun, 24 Feb 2019 10:00:00 GMT"),
    );
    let env = Env::new(&feed_source(
        "bbc",
        &server.url("/bbc"),
        "first_fetch = \"emit\"",
    ));
    let (items, _) = env.once();
    assert_eq!(
        items.len(),
        33,
        "all items of a first fetch with first_fetch = emit"
    );
    let (items, stderr) = env.once();
    assert!(items.is_empty(), "304 yields nothing: {stderr}");
    let seen = server.seen("/bbc");
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].headers.get("if-none-match"), None);
    assert_eq!(
        seen[1].headers.get("if-none-match").map(String::as_str),
        Some("\"v1\"")
    );
    assert_eq!(
        seen[1].headers.get("if-modified-since").map(String::as_str),
        Some("Sun, 24 Feb 2019 10:00:00 GMT")
    );
    let ua = seen[0]
        .headers
        .get("user-agent")
        .cloned()
        .unwrap_or_default();
    assert!(ua.starts_with("tocsin/"), "user agent {ua:?}");
    let health = env.tocsin(&["sources", "--json"]);
    let health: serde_json::Value = serde_json::from_slice(&health.stdout).unwrap();
    assert_eq!(health[0]["status"], "ok");
}

#[test]
fn first_fetch_marks_seen_then_only_new_items_are_emitted_across_restarts() {
    let server = TestServer::start();
    server.route(
        "/f",
        Route::ok(
            rss(&[("a", "Alpha"), ("b", "Bravo")]),
            "application/rss+xml",
        ),
    );
    let env = Env::new(&feed_source("f", &server.url("/f"), ""));
    let (items, _) = env.once();
    assert!(items.is_empty(), "first fetch records but does not emit");
    server.route(
        "/f",
        Route::ok(
            rss(&[("c", "Charlie"), ("a", "Alpha"), ("b", "Bravo")]),
            "application/rss+xml",
        ),
    );
    let (items, _) = env.once();
    assert_eq!(titles(&items), ["Charlie"]);
    // A new process over the same store: nothing is re-emitted.
    let (items, _) = env.once();
    assert!(items.is_empty());
    server.route(
        "/f",
        Route::ok(
            rss(&[
                ("d", "Delta"),
                ("c", "Charlie (updated title)"),
                ("a", "Alpha"),
            ]),
            "application/rss+xml",
        ),
    );
    let (items, _) = env.once();
    assert_eq!(
        titles(&items),
        ["Delta"],
        "an edited title keeps its guid and is not new"
    );
}

#[test]
fn link_scheme_and_tracking_changes_do_not_make_old_items_new() {
    let server = TestServer::start();
    let feed = |link: &str| {
        format!(
            "<rss version=\"2.0\"><channel><title>t</title><item><title>Raid report</title><link>{link}</link></item></channel></rss>"
        )
    };
    server.route(
        "/f",
        Route::ok(feed("http://news.example/a/1"), "application/rss+xml"),
    );
    let env = Env::new(&feed_source(
        "f",
        &server.url("/f"),
        "first_fetch = \"emit\"",
    ));
    let (items, _) = env.once();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["dated"], false, "no pubDate: undated");
    server.route(
        "/f",
        Route::ok(
            feed("https://www.news.example/a/1/?utm_source=rss&amp;fbclid=x"),
            "application/rss+xml",
        ),
    );
    let (items, _) = env.once();
    assert!(items.is_empty(), "same article: {items:?}");
}

#[test]
fn windows_1251_and_koi8_r_feeds_decode() {
    let server = TestServer::start();
    // Real windows-1251 feed; the charset is only in its XML declaration.
    server.route(
        "/cp1251",
        Route::ok(
            fixture("feeds/pravda-cp1251-2020.xml"),
            "application/rss+xml",
        ),
    );
    // A real UTF-8 feed served as KOI8-R, named only by the HTTP header.
    let utf8 = String::from_utf8(fixture("feeds/tut-by-2019.xml")).unwrap();
    let body = utf8
        .trim_start()
        .split_once("?>")
        .map_or(utf8.as_str(), |(_, rest)| rest);
    // Characters KOI8-R lacks (« » —) become numeric character references,
    // which XML decodes back.
    let (koi8, _, _) = encoding_rs::KOI8_R.encode(body);
    server.route(
        "/koi8",
        Route::ok(koi8.into_owned(), "application/rss+xml; charset=koi8-r"),
    );
    let env = Env::new(&format!(
        "[defaults]\nfirst_fetch = \"emit\"\n{}{}",
        feed_source("pravda", &server.url("/cp1251"), ""),
        feed_source("tut", &server.url("/koi8"), "")
    ));
    let (items, stderr) = env.once();
    let titles = titles(&items);
    assert!(
        titles
            .iter()
            .any(|t| t.starts_with("День сердца: инфаркты и инсульты")),
        "{titles:?} {stderr}"
    );
    assert!(
        items
            .iter()
            .any(|i| i["source"] == "tut" && i["lang"] == "ru"),
        "{stderr}"
    );
    let tut_titles: Vec<_> = items.iter().filter(|i| i["source"] == "tut").collect();
    assert_eq!(tut_titles.len(), 100);
    assert!(
        tut_titles
            .iter()
            .all(|i| !i["title"].as_str().unwrap().contains('\u{FFFD}'))
    );
}

#[test]
fn html_source_reads_items_with_selectors_and_flags_broken_selectors() {
    let server = TestServer::start();
    server.route(
        "/page",
        Route::ok(fixture("html/bbc-1.html"), "text/html; charset=utf-8"),
    );
    let selectors = |item: &str| {
        format!(
            "[[sources]]\nid = \"bbc-page\"\nkind = \"html\"\nurl = \"{}\"\nfirst_fetch = \"emit\"\n[sources.selectors]\nitem = \"{item}\"\ntitle = \".ob-rec-text\"\n",
            server.url("/page")
        )
    };
    let env = Env::new(&selectors("a.ob-dynamic-rec-link"));
    let (items, stderr) = env.once();
    assert_eq!(items.len(), 18, "{stderr}");
    assert!(
        titles(&items).contains(
            &"Russia using North Korean 'slave labour', say human rights groups".to_owned()
        )
    );
    assert!(
        items
            .iter()
            .all(|i| i["link"].as_str().unwrap().starts_with("http")),
        "absolute links"
    );
    // The page layout "changes": the selector matches nothing any more.
    env.write_config(&selectors("a.renamed-class"));
    let (items, _) = env.once();
    assert!(items.is_empty());
    let health = env.tocsin(&["sources", "--json"]);
    let health: serde_json::Value = serde_json::from_slice(&health.stdout).unwrap();
    assert_eq!(health[0]["status"], "silent");
    assert_eq!(health[0]["silent"], true);
}

#[test]
fn oversized_bodies_gzip_bombs_and_malformed_xml_fail_only_their_source() {
    let server = TestServer::start();
    server.route(
        "/good",
        Route::ok(fixture("feeds/liga-net-2021.xml"), "application/rss+xml"),
    );
    server.route(
        "/big",
        Route::ok(vec![b' '; 200 * 1024], "application/rss+xml"),
    );
    let bomb = {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(b"<rss version=\"2.0\"><channel><title>")
            .unwrap();
        gz.write_all(&vec![b'a'; 50 * 1024 * 1024]).unwrap();
        gz.finish().unwrap()
    };
    assert!(
        bomb.len() < 64 * 1024,
        "the bomb itself is small: {}",
        bomb.len()
    );
    server.route(
        "/bomb",
        Route::ok(bomb, "application/rss+xml").header("content-encoding", "gzip"),
    );
    server.route(
        "/broken",
        Route::ok("<rss><channel><item><title>unclosed", "application/rss+xml"),
    );
    let env = Env::new(&format!(
        "[fetch]\nmax_body = \"64KiB\"\n[defaults]\nfirst_fetch = \"emit\"\n{}{}{}{}",
        feed_source("good", &server.url("/good"), ""),
        feed_source("big", &server.url("/big"), ""),
        feed_source("bomb", &server.url("/bomb"), ""),
        feed_source("broken", &server.url("/broken"), "")
    ));
    let out = env.tocsin(&["once"]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "a failed source makes `once` exit 1"
    );
    assert_eq!(
        stdout.lines().count(),
        12,
        "the good source's items all arrive"
    );
    assert!(
        stderr.contains("big: body larger than the limit of 65536 bytes"),
        "{stderr}"
    );
    assert!(
        stderr.contains("bomb: body larger than the limit of 65536 bytes"),
        "{stderr}"
    );
    assert!(stderr.contains("broken: parse:"), "{stderr}");
    let health = env.tocsin(&["sources", "--json"]);
    let health: serde_json::Value = serde_json::from_slice(&health.stdout).unwrap();
    let status: Vec<_> = health
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["status"].as_str().unwrap())
        .collect();
    assert_eq!(status, ["ok", "failing", "failing", "failing"]);
}

#[test]
fn every_fixture_feed_format_parses_from_a_spool_dir() {
    let env = Env::new(&format!(
        "[[sources]]\nid = \"spool\"\nkind = \"dir\"\npath = \"{}\"\nfirst_fetch = \"emit\"\n",
        fixture_path("feeds").display()
    ));
    let (items, stderr) = env.once();
    assert!(stderr.is_empty(), "{stderr}");
    // RSS 2.0 (6 files), Atom (2), JSON Feed (1): every item of every file.
    // bbc 33, tut.by 100, pravda 20, ukranews 2 (RSS in a default namespace),
    // unian 50, liga 12, Google Alerts Atom 20, JSON Feed 20, trafilatura Atom 2.
    assert_eq!(
        items.len(),
        33 + 100 + 20 + 2 + 50 + 12 + 20 + 20 + 2,
        "{}",
        items.len()
    );
    assert_eq!(
        items
            .iter()
            .filter(|i| i["link"].as_str().unwrap_or("").contains("ukranews"))
            .count(),
        2
    );
    assert!(items.iter().all(|i| !i["id"].as_str().unwrap().is_empty()));
}

#[test]
fn redirects_are_followed_up_to_the_limit_and_gzip_bodies_decode() {
    let server = TestServer::start();
    let gz = {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(&fixture("feeds/liga-net-2021.xml")).unwrap();
        enc.finish().unwrap()
    };
    server.route(
        "/feed.xml",
        Route::ok(gz, "application/rss+xml").header("content-encoding", "gzip"),
    );
    server.route("/old", Route::status(301).header("location", "/feed.xml"));
    for hop in 1..=3 {
        let to = if hop == 1 {
            "/old".to_owned()
        } else {
            format!("/hop{}", hop - 1)
        };
        server.route(
            &format!("/hop{hop}"),
            Route::status(302).header("location", &to),
        );
    }
    let env = Env::new(&format!(
        "[fetch]\nmax_redirects = 2\n[defaults]\nfirst_fetch = \"emit\"\n{}{}",
        feed_source("moved", &server.url("/old"), ""),
        feed_source("loop", &server.url("/hop3"), "")
    ));
    let out = env.tocsin(&["once"]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(
        stdout.lines().count(),
        12,
        "one redirect followed, gzip decoded: {stderr}"
    );
    assert!(stderr.contains("loop: too many redirects"), "{stderr}");
    let accept = server.seen("/feed.xml")[0]
        .headers
        .get("accept-encoding")
        .cloned()
        .unwrap_or_default();
    assert!(
        accept.contains("gzip") && accept.contains("br") && accept.contains("deflate"),
        "{accept}"
    );
}
