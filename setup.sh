#!/usr/bin/env bash
# Eventlake set-up for a fresh Debian 12 machine.
#
#   ./setup.sh serve [eventlake serve flags...]   install what is missing, build, start the server
#   ./setup.sh test                                 install what is missing, build, run every test
#
# Both are idempotent: a second run installs nothing and rebuilds only what changed.
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(pwd)
JOBS=$(nproc 2>/dev/null || echo 2)
LOGS="$ROOT/build/logs"
mkdir -p "$LOGS"

BUILD_PACKAGES=(build-essential cmake ninja-build ccache pkg-config ca-certificates
  libboost-dev libssl-dev libsimdjson-dev nlohmann-json3-dev libzstd-dev liblz4-dev zlib1g-dev
  libsqlite3-dev libspdlog-dev libfmt-dev libcli11-dev libgtest-dev libgmock-dev libbenchmark-dev libisal-dev libnghttp2-dev libpugixml-dev libre2-dev
  libjq-dev libsnappy-dev libzip-dev libhowardhinnant-date-dev tzdata)
TEST_PACKAGES=(awscli clang libclang-rt-14-dev curl)

say() { printf '==> %s\n' "$*"; }
die() { printf 'setup: %s\n' "$*" >&2; exit 1; }

# Runs a command with its output in a log; shows the log's end only on failure.
quiet() {
  local log="$LOGS/$1.log"; shift
  if ! "$@" >"$log" 2>&1; then
    tail -n 60 "$log" >&2
    die "failed: $* (full log: $log)"
  fi
}

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

install_packages() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null | grep -q '^ii' || missing+=("$p")
  done
  command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing ${missing[*]}"
  quiet apt-update as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  quiet apt-install as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# A python3 that has boto3 (the image's newer one first; Debian's as the fallback).
PYTHON=""
find_python() {
  for py in python3 /usr/bin/python3; do
    if command -v "$py" >/dev/null 2>&1 && "$py" -c 'import boto3' >/dev/null 2>&1; then PYTHON=$py; return 0; fi
  done
  install_packages python3-boto3
  PYTHON=/usr/bin/python3
}

configure_and_build() {  # dir, cmake args...
  local dir=$1; shift
  if [ ! -f "$dir/build.ninja" ]; then
    quiet "configure-$(basename "$dir")" cmake -S "$ROOT" -B "$dir" -G Ninja "$@"
  fi
  quiet "build-$(basename "$dir")" cmake --build "$dir" -j "$JOBS"
}

build_release() {
  quiet duckdb "$ROOT/scripts/fetch-duckdb.sh"
  say "building build/release (log: build/logs/build-release.log)"
  configure_and_build "$ROOT/build/release" -DCMAKE_BUILD_TYPE=Release
}

cmd=${1:-serve}
[ $# -gt 0 ] && shift
case "$cmd" in
  serve)
    install_packages "${BUILD_PACKAGES[@]}"
    build_release
    say "starting: build/release/eventlake serve $*"
    exec "$ROOT/build/release/eventlake" serve "$@"
    ;;
  test)
    install_packages "${BUILD_PACKAGES[@]}" "${TEST_PACKAGES[@]}"
    find_python
    build_release
    # The JavaScript SDK, exactly as locked; reinstalled only when the lockfile changed.
    if [ ! -f tests/js/node_modules/.package-lock.json ] || [ tests/js/package-lock.json -nt tests/js/node_modules/.package-lock.json ]; then
      say "installing the AWS SDK for JavaScript v3 (tests/js)"
      quiet npm-ci sh -c 'cd tests/js && npm ci --no-audit --no-fund --silent'
    fi
    exec "$ROOT/scripts/run-tests.sh" "$PYTHON"
    ;;
  *)
    die "unknown command '$cmd' (use: serve, test)"
    ;;
esac
