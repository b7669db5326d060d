#!/usr/bin/env bash
# Runs every check and test of tocsin on a fresh Debian machine with a Rust
# toolchain: installs what the tests need when it is missing, then format,
# lints and the whole test suite. `.ci/run` runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
# Python is used by the benchmark corpus generator and the rule benches.
command -v python3 >/dev/null || need_apt+=(python3)
# The Debian package `prometheus` provides promtool (lints the scraped
# /metrics output, checks and unit-tests deploy/prometheus/tocsin-rules.yml)
# and prometheus (scrapes a test daemon); the metrics and dashboards tests
# fail without them when CI=true.
{ command -v promtool && command -v prometheus; } >/dev/null || need_apt+=(prometheus)
if ((${#need_apt[@]})); then
  echo "== installing: ${need_apt[*]}"
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need_apt[@]}"
  else sudo apt-get update -qq && sudo apt-get install -y -qq --no-install-recommends "${need_apt[@]}"; fi
fi

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --all-targets --locked -- -D warnings
echo "== cargo test"
cargo test --locked --all-targets 2>&1 | tee /tmp/tocsin-test.log
grep -q "test result: ok" /tmp/tocsin-test.log
