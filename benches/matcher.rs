//! Matcher throughput: `RuleSet::match_item` alone over items parsed from a
//! synthetic corpus (`gen_feeds.py --feeds 50 --items 40`).
//!
//! Rules come from `$TOCSIN_BENCH_RULES`, else `rules/`, else a small
//! built-in pack; the corpus from `$TOCSIN_BENCH_CORPUS`, else it is
//! generated under the target directory, else (no Python or generator) a
//! built-in item set is used.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::Utc;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tocsin::model::Item;
use tocsin::parse::normalise::fold;
use tocsin::parse::{SourceCtx, parse_document};
use tocsin::rules::RuleSet;

/// The allocator of the `tocsin` binary (see `src/main.rs`), so that a
/// match's allocations cost what they cost in the daemon and in `replay`.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const FALLBACK_PACK: &str = r#"
[[indicator]]
id = "migrant-crackdown"
title = "Migrant crackdown"
[[indicator]]
id = "sabotage"
title = "Sabotage"
[context.azerbaijan]
terms = ["azerbaijan*", "azeri*", "baku", "азербайдж*", "баку", "azərbaycan*", "bakı*", "soydaş*"]
[context.russia]
terms = ["russia*", "moscow*", "росси*", "москв*", "rusiya*", "moskva*", "yekaterinburg*", "екатеринбург*"]
[[rule]]
id = "migrant-crackdown/raid"
indicator = "migrant-crackdown"
severity = "warning"
match = { all = [{ any = ["raid*", "detained", "рейд*", "задержан*", "reyd*", "saxlanıl*"] },
                 { context = "azerbaijan" }, { context = "russia" }] }
[[rule]]
id = "sabotage/pipeline"
indicator = "sabotage"
severity = "critical"
match = { all = [{ any = ["explosion", "sabotage", "взрыв*", "диверси*", "partlayış*"] },
                 { any = ["pipeline", "газопровод*", "нефтепровод*", "boru kəməri"] }] }
"#;

fn rules() -> RuleSet {
    let dir = std::env::var_os("TOCSIN_BENCH_RULES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("rules"));
    if dir.is_dir() {
        match RuleSet::load_dir(&dir) {
            Ok(set) => return set,
            Err(e) => eprintln!(
                "cannot load `{}`, using the built-in pack:\n{e}",
                dir.display()
            ),
        }
    }
    RuleSet::from_files(vec![(
        PathBuf::from("bench.toml"),
        FALLBACK_PACK.to_owned(),
    )])
    .expect("built-in pack compiles")
}

/// Where `gen_feeds.py` may be: `$TOCSIN_GEN_FEEDS`, in the repository, or
/// in the shared workspace the project was started from.
fn gen_feeds_script() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("TOCSIN_GEN_FEEDS").map(PathBuf::from),
        Some(PathBuf::from("bench/gen_feeds.py")),
        Some(PathBuf::from("../shared/bench/gen_feeds.py")),
        Some(PathBuf::from("/work/shared/bench/gen_feeds.py")),
    ];
    candidates.into_iter().flatten().find(|p| p.is_file())
}

/// The corpus directory, generated on first use; `None` when the generator
/// is not available (then a built-in item set is used).
fn corpus() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("TOCSIN_BENCH_CORPUS") {
        return Some(PathBuf::from(dir));
    }
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| PathBuf::from("target"), PathBuf::from);
    let dir = target.join("bench-corpus-50x40");
    if !dir.join("manifest.json").exists() {
        let script = gen_feeds_script()?;
        let status = Command::new("python3")
            .arg(script)
            .arg(&dir)
            .args(["--feeds", "50", "--items", "40"])
            .status();
        if !status.is_ok_and(|s| s.success()) {
            return None;
        }
    }
    Some(dir)
}

fn items(dir: &Path) -> Vec<Item> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("corpus dir")
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    let ctx = SourceCtx {
        id: "bench".into(),
        ..SourceCtx::default()
    };
    paths
        .iter()
        .filter(|p| p.file_name().is_some_and(|n| n != "manifest.json"))
        .flat_map(|p| {
            parse_document(&std::fs::read(p).unwrap(), None, &ctx, Utc::now()).unwrap_or_default()
        })
        .collect()
}

/// 2,000 headline + lede items in the style of `gen_feeds.py`, for machines
/// without Python or the generator (e.g. `cargo test --all-targets` in CI).
fn builtin_items() -> Vec<Item> {
    const TITLES: &[&str] = &[
        "{p} hosts regional trade fair as exports of fruit rise",
        "Central bank in {p} keeps key rate unchanged amid stable inflation",
        "В {p} открылась международная выставка сельхозпродукции",
        "{p} beynəlxalq kitab sərgisi açılıb",
        "Police raid homes of Azerbaijani migrants in {p}, several detained",
        "Explosion damages gas pipeline near {p}; sabotage case opened",
    ];
    const PLACES: &[&str] = &[
        "Baku",
        "Moscow",
        "Yerevan",
        "Баку",
        "Москве",
        "Bakıda",
        "Tbilisi",
    ];
    const LEDE: &str = "Officials said more details would be released later. The statement was published \
        on the ministry's website and repeated by several agencies.";
    (0..2000)
        .map(|i| {
            // Indicator-like titles (the last two) for one item in twenty.
            let t = if i % 20 == 0 { 4 + i / 20 % 2 } else { i % 4 };
            let title = TITLES[t].replace("{p}", PLACES[i % PLACES.len()]);
            Item {
                source: "bench".into(),
                id: i.to_string(),
                norm_title: fold(&title),
                norm_summary: fold(LEDE),
                title,
                summary: LEDE.into(),
                link: None,
                published: Utc::now(),
                dated: true,
                lang: None,
                tags: Vec::new(),
            }
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let set = rules();
    let items = match corpus() {
        Some(dir) => items(&dir),
        None => {
            eprintln!("gen_feeds.py not found: using built-in items");
            builtin_items()
        }
    };
    let bytes: usize = items
        .iter()
        .map(|i| i.norm_title.len() + i.norm_summary.len())
        .sum();
    let hits = items
        .iter()
        .filter(|i| !set.match_item(i).is_empty())
        .count();
    eprintln!(
        "{} rules, {} items ({} bytes/item on average), {hits} with matches",
        set.rule_count(),
        items.len(),
        bytes / items.len().max(1)
    );
    // `TOCSIN_BENCH_PASSES=N`: no criterion, just N passes over the items
    // (`TOCSIN_BENCH_SET=quiet` or `matched` for those without or with a
    // match), for `bench/matcher_cpu.sh` to time by CPU time with `perf
    // stat` (time-sharing on a busy machine inflates wall time, not CPU).
    if let Some(passes) = std::env::var("TOCSIN_BENCH_PASSES")
        .ok()
        .and_then(|n| n.parse::<usize>().ok())
    {
        let which = std::env::var("TOCSIN_BENCH_SET").unwrap_or_default();
        let chosen: Vec<&Item> = items
            .iter()
            .filter(|i| match which.as_str() {
                "quiet" => set.match_item(i).is_empty(),
                "matched" => !set.match_item(i).is_empty(),
                _ => true,
            })
            .collect();
        // Each pass is timed on its own: on a shared machine most passes
        // run undisturbed, so the fastest and the median pass say what the
        // matcher costs, where a total also counts every interruption.
        let mut n = 0;
        let mut times = Vec::with_capacity(passes);
        for _ in 0..passes {
            let t = std::time::Instant::now();
            for item in &chosen {
                n += set.match_item(black_box(item)).len();
            }
            times.push(t.elapsed().as_secs_f64());
        }
        times.sort_by(f64::total_cmp);
        let rate = |secs: f64| chosen.len() as f64 / secs;
        match (times.first(), times.get(times.len() / 2)) {
            (Some(&fastest), Some(&median)) => println!(
                "passes={passes} items={} matches={n} fastest_pass={:.0} items/s median_pass={:.0} items/s",
                chosen.len(),
                rate(fastest),
                rate(median)
            ),
            _ => println!("passes={passes} items={} matches={n}", chosen.len()),
        }
        return;
    }
    let mut group = c.benchmark_group("matcher");
    group.throughput(Throughput::Elements(items.len() as u64));
    group.bench_function("match_item", |b| {
        b.iter(|| {
            let mut n = 0;
            for item in &items {
                n += set.match_item(black_box(item)).len();
            }
            n
        })
    });
    let quiet: Vec<&Item> = items
        .iter()
        .filter(|i| set.match_item(i).is_empty())
        .collect();
    group.throughput(Throughput::Elements(quiet.len() as u64));
    group.bench_function("match_item_no_matches", |b| {
        b.iter(|| {
            quiet
                .iter()
                .map(|i| set.match_item(black_box(i)).len())
                .sum::<usize>()
        })
    });
    let matched: Vec<&Item> = items
        .iter()
        .filter(|i| !set.match_item(i).is_empty())
        .collect();
    group.throughput(Throughput::Elements(matched.len() as u64));
    group.bench_function("match_item_matched_only", |b| {
        b.iter(|| {
            matched
                .iter()
                .map(|i| set.match_item(black_box(i)).len())
                .sum::<usize>()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
