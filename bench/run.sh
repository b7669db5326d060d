#!/usr/bin/env bash
# Runs the three rule-engine benchmarks with one command:
#   1. criterion: the matcher alone (benches/matcher.rs) over gen_feeds --feeds 50 --items 40
#   2. `tocsin replay` (release) over gen_feeds --feeds 500 --items 40
#   3. bench/replay_feedparser.py (feedparser + re) over the same corpus
#
#   bench/run.sh [RULES_DIR]      (default: rules/, e.g. /work/main/rules)
#
# Needs python3 with feedparser (`pip install feedparser`). Corpora go to
# $BENCH_DIR (default: ${CARGO_TARGET_DIR:-target}/bench).
set -euo pipefail
cd "$(dirname "$0")/.."
RULES=${1:-rules}
GEN=${GEN_FEEDS:-../shared/bench/gen_feeds.py}
TARGET=${CARGO_TARGET_DIR:-target}
BENCH_DIR=${BENCH_DIR:-$TARGET/bench}
SMALL=$BENCH_DIR/feeds-50x40
LARGE=$BENCH_DIR/feeds-500x40
mkdir -p "$BENCH_DIR"
[ -f "$SMALL/manifest.json" ] || python3 "$GEN" "$SMALL" --feeds 50 --items 40
[ -f "$LARGE/manifest.json" ] || python3 "$GEN" "$LARGE" --feeds 500 --items 40
# Each corpus directory also holds manifest.json, which both replays report
# as "not a feed" and skip (one line on stderr); the summary is the last line.

echo "== machine: $(nproc) cores, load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== rules: $RULES"
cargo build --release --quiet
# A private copy: a shared target directory may be rebuilt by another branch.
TOCSIN=$BENCH_DIR/tocsin
cp "$TARGET/release/tocsin" "$TOCSIN"
"$TOCSIN" test-rules --rules "$RULES" | tail -1

echo "== 1. matcher alone (criterion, one core)"
TOCSIN_BENCH_RULES=$RULES TOCSIN_BENCH_CORPUS=$SMALL \
  cargo bench --quiet --bench matcher -- --warm-up-time 2 --measurement-time 5 2>&1 |
  grep -E 'rules,|^matcher|time:|thrpt:' | grep -v '%'

# The same by CPU time (time-sharing on a busy machine inflates wall time,
# not CPU time): the bench binary's pass mode under perf stat.
if command -v perf >/dev/null; then
  BENCH_BIN=$(cargo bench --bench matcher --no-run 2>&1 | sed -n 's/.*Executable.*(\(.*\))/\1/p')
  bench/matcher_cpu.sh "$BENCH_BIN" "$SMALL" "$RULES" 100 5
fi
# Each pass timed on its own (the fastest and the median of 200 passes):
# on a shared machine most passes run undisturbed.
BENCH_BIN=${BENCH_BIN:-$(cargo bench --bench matcher --no-run 2>&1 | sed -n 's/.*Executable.*(\(.*\))/\1/p')}
TOCSIN_BENCH_RULES=$RULES TOCSIN_BENCH_CORPUS=$SMALL TOCSIN_BENCH_PASSES=200 \
  taskset -c 0 "$BENCH_BIN" --bench 2>/dev/null | sed 's/^/   per pass: /'

echo "== 2. tocsin replay over $LARGE (best of 3)"
for _ in 1 2 3; do
  "$TOCSIN" replay --rules "$RULES" "$LARGE" 2>&1 >/dev/null | tail -1
done
echo "   (one core, best of 3:)"
for _ in 1 2 3; do
  taskset -c 0 "$TOCSIN" replay --rules "$RULES" "$LARGE" 2>&1 >/dev/null | tail -1
done
# On a shared machine wall time mostly measures the other jobs: CPU time of
# one-thread runs (min of 5, ms, rule loading included) is steadier.
if command -v perf >/dev/null; then
  for _ in 1 2 3 4 5; do
    RAYON_NUM_THREADS=1 perf stat -x, -e task-clock taskset -c 0 \
      "$TOCSIN" replay --rules "$RULES" "$LARGE" 2>&1 >/dev/null | grep task-clock | cut -d, -f1
  done | sort -n | head -1 | sed 's/^/   one-thread CPU time (min of 5, ms): /'
fi

echo "== 3. python feedparser + re over $LARGE"
python3 bench/replay_feedparser.py --rules "$RULES" "$LARGE" 2>&1 >/dev/null | tail -1
