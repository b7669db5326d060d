//! Every file of the third-party parser test suites goes through
//! `parse_document`: none may panic. The counts are reported (and recorded
//! in BENCHMARKS.md), not asserted exactly, except a floor that catches a
//! parser that suddenly rejects everything.

use crate::support::fixture_path;
use tocsin::parse::{SourceCtx, parse_document};

fn files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, out);
        } else {
            out.push(path);
        }
    }
}

#[test]
fn no_panic_on_any_parser_suite_file() {
    let root = fixture_path("parser-suites");
    let mut all = Vec::new();
    files(&root, &mut all);
    all.sort();
    assert!(all.len() >= 5000, "parser suites present: {}", all.len());
    let ctx = SourceCtx {
        id: "suite".into(),
        ..Default::default()
    };
    let now = chrono::Utc::now();
    let (mut parsed, mut with_items, mut items, mut failed) = (0, 0, 0, 0);
    let mut per_suite = std::collections::BTreeMap::<String, (u32, u32)>::new();
    for path in &all {
        let bytes = std::fs::read(path).unwrap();
        let suite = path
            .strip_prefix(&root)
            .unwrap()
            .iter()
            .next()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let result = std::panic::catch_unwind(|| parse_document(&bytes, None, &ctx, now));
        let result = result.unwrap_or_else(|_| panic!("parser panicked on {}", path.display()));
        let entry = per_suite.entry(suite).or_default();
        entry.1 += 1;
        match result {
            Ok(found) => {
                parsed += 1;
                entry.0 += 1;
                with_items += usize::from(!found.is_empty());
                items += found.len();
            }
            Err(_) => failed += 1,
        }
    }
    println!(
        "parser suites: {} files, {parsed} parsed ({with_items} with items, {items} items), {failed} rejected",
        all.len()
    );
    for (suite, (ok, total)) in &per_suite {
        println!("  {suite:<24} {ok:>5} / {total:>5}");
    }
    assert!(
        parsed * 2 > all.len(),
        "most suite files are feeds that parse"
    );
}
