#!/usr/bin/env bash
# The matcher alone by CPU time: runs the criterion bench binary in its
# `TOCSIN_BENCH_PASSES` mode under `perf stat -e task-clock`, with N passes
# and with none (set-up: loading rules, parsing the corpus), and prints
# items per CPU-second of the difference, best of REPEAT.
#
#   bench/matcher_cpu.sh BENCH_BINARY CORPUS [RULES] [PASSES] [REPEAT]
#
# BENCH_BINARY: target/release/deps/matcher-<hash> (`cargo bench --bench
# matcher --no-run` prints it); pinned to one core with taskset.
set -euo pipefail
BIN=$1 CORPUS=$2 RULES=${3:-rules} PASSES=${4:-100} REPEAT=${5:-5}
cpu_ms() { # passes set
  TOCSIN_BENCH_RULES=$RULES TOCSIN_BENCH_CORPUS=$CORPUS TOCSIN_BENCH_PASSES=$1 TOCSIN_BENCH_SET=$2 \
    perf stat -x, -e task-clock taskset -c 0 "$BIN" --bench 2>&1 >/dev/null |
    grep task-clock | cut -d, -f1
}
min() { sort -n | head -1; }
for set in all quiet matched; do
  base=$(for _ in $(seq "$REPEAT"); do cpu_ms 0 "$set"; done | min)
  full=$(for _ in $(seq "$REPEAT"); do cpu_ms "$PASSES" "$set"; done | min)
  items=$(TOCSIN_BENCH_RULES=$RULES TOCSIN_BENCH_CORPUS=$CORPUS TOCSIN_BENCH_PASSES=0 TOCSIN_BENCH_SET=$set \
    "$BIN" --bench 2>/dev/null | sed -n 's/.*items=\([0-9]*\).*/\1/p')
  awk -v s="$set" -v b="$base" -v f="$full" -v n="$items" -v p="$PASSES" 'BEGIN {
    printf "matcher %-7s %5d items x %d passes: %.1f ms CPU (set-up %.1f ms) = %.0f items/s\n",
      s, n, p, f - b, b, n * p / ((f - b) / 1000) }'
done
