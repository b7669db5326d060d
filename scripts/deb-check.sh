#!/usr/bin/env bash
# Builds the Debian package with cargo-deb, installs it with dpkg -i, checks
# the installed config with `tocsin check`, and checks the installed systemd
# unit: `systemd-analyze verify` must print nothing and
# `systemd-analyze security --offline=yes` must rate its exposure at most
# $MAX_EXPOSURE. Needs root (dpkg -i), cargo, dpkg-dev and systemd-analyze;
# scripts/test.sh installs the Debian packages. Installs cargo-deb when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

MAX_EXPOSURE=${MAX_EXPOSURE:-1.5}
UNIT=/lib/systemd/system/tocsin.service

fail() { echo "deb-check: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || fail "must run as root (it installs the package with dpkg -i)"
for tool in dpkg-deb dpkg-shlibdeps systemd-analyze; do
  command -v "$tool" >/dev/null || fail "$tool is missing (apt-get install dpkg-dev systemd)"
done

if ! cargo deb --version >/dev/null 2>&1; then
  echo "== cargo install cargo-deb"
  cargo install cargo-deb --locked
fi

# The release build is spelled out, not left to cargo-deb, so it is
# literally the command deploy/container/Dockerfile runs (tests/it/container.rs
# checks both): the package and the image ship the same build.
echo "== cargo build --release --locked"
cargo build --release --locked
echo "== cargo deb --no-build"
deb=$(cargo deb --no-build | tail -n 1)
[ -f "$deb" ] || fail "cargo deb did not report a package file (got: $deb)"
echo "$deb"
dpkg-deb --info "$deb" | sed -n 's/^ *\(Package\|Version\|Depends\):/  &/p'
echo "== dpkg -i"
dpkg -i "$deb"
dpkg -L tocsin | grep -qx /etc/tocsin/tocsin.toml || fail "config not installed"
grep -qx /etc/tocsin/tocsin.toml /var/lib/dpkg/info/tocsin.conffiles ||
  fail "/etc/tocsin/tocsin.toml is not a conffile"

echo "== tocsin check --config /etc/tocsin/tocsin.toml"
# As an administrator would run it: root, outside systemd.
env -u STATE_DIRECTORY tocsin check --config /etc/tocsin/tocsin.toml
if ! cmp -s deploy/deb/tocsin.toml /etc/tocsin/tocsin.toml; then
  # dpkg kept a locally edited conffile; check the shipped one too.
  echo "note: /etc/tocsin/tocsin.toml was edited locally; checking the shipped config as well"
  env -u STATE_DIRECTORY tocsin check --config deploy/deb/tocsin.toml >/dev/null
fi

echo "== systemd-analyze verify $UNIT"
# verify resolves ExecStart= and ExecReload= against the installed files.
out=$(systemd-analyze verify "$UNIT" 2>&1) || fail "verify failed: $out"
[ -z "$out" ] || fail "verify is not clean: $out"

echo "== systemd-analyze security --offline=yes $UNIT"
report=$(systemd-analyze security --offline=yes "$UNIT" 2>&1 || true)
exposure=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' <<<"$report")
[ -n "$exposure" ] || fail "no exposure level in: $report"
echo "exposure $exposure (max $MAX_EXPOSURE)"
awk -v e="$exposure" -v m="$MAX_EXPOSURE" 'BEGIN { exit !(e <= m) }' ||
  { grep '✗' <<<"$report" >&2; fail "exposure $exposure is above $MAX_EXPOSURE"; }
echo "deb-check: ok"
