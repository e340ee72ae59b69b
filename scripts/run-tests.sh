#!/usr/bin/env bash
# Every test: unit tests (release, then under AddressSanitizer and
# UndefinedBehaviorSanitizer), a short run of each fuzzer, and the integration
# tests against the real server. Called by ./setup.sh test once the release
# build exists; prints one closing "N passed, N failed" line.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PYTHON=${1:-python3}
JOBS=$(nproc 2>/dev/null || echo 2)
LOGS="$ROOT/build/logs"
FUZZ_SECONDS=${EL_FUZZ_SECONDS:-20}
mkdir -p "$LOGS"
passed=0
failed=0
failures=()

say() { printf '==> %s\n' "$*"; }

# ctest in `dir`; adds its counts.
run_ctest() {
  local name=$1 dir=$2 log="$LOGS/ctest-$1.log"
  say "unit tests ($name)"
  (cd "$dir" && ctest -j "$JOBS" --output-on-failure) >"$log" 2>&1
  local rc=$?
  local line total nfail
  line=$(grep -E 'tests passed, [0-9]+ tests failed out of [0-9]+' "$log" | tail -n 1)
  if [ -n "$line" ]; then
    total=$(sed -E 's/.*out of ([0-9]+).*/\1/' <<<"$line")
    nfail=$(sed -E 's/.* ([0-9]+) tests failed.*/\1/' <<<"$line")
    passed=$((passed + total - nfail)); failed=$((failed + nfail))
    echo "    $line"
  else
    failed=$((failed + 1))
  fi
  if [ $rc -ne 0 ]; then
    failures+=("unit tests ($name): see $log")
    grep -E '^\s+[0-9]+ - ' "$log" | head -n 20
  fi
}

build() {  # dir, cmake args...
  local dir=$1; shift
  if [ ! -f "$dir/build.ninja" ]; then
    cmake -S "$ROOT" -B "$dir" -G Ninja "$@" >"$LOGS/configure-$(basename "$dir").log" 2>&1 || return 1
  fi
  cmake --build "$dir" -j "$JOBS" >"$LOGS/build-$(basename "$dir").log" 2>&1
}

# 1. Unit tests on the release build.
run_ctest release "$ROOT/build/release"

# 2. Unit tests under ASan + UBSan.
say "building build/asan (AddressSanitizer + UndefinedBehaviorSanitizer)"
if build "$ROOT/build/asan" -DCMAKE_BUILD_TYPE=Debug -DEL_SANITIZE=ON -DEL_SERVER=OFF; then
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    run_ctest asan "$ROOT/build/asan"
else
  failed=$((failed + 1)); failures+=("sanitizer build: see $LOGS/build-asan.log")
fi

# 3. Fuzzers: build with clang and run each for a short, bounded time.
say "building build/fuzz (libFuzzer, clang)"
if CXX=clang++ build "$ROOT/build/fuzz" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEL_FUZZ=ON -DEL_TESTS=OFF -DEL_SERVER=OFF \
     -DCMAKE_CXX_COMPILER=clang++; then
  for fuzzer in "$ROOT"/build/fuzz/fuzz/*_fuzz; do
    name=$(basename "$fuzzer")
    corpus="$ROOT/build/fuzz/corpus-$name"
    mkdir -p "$corpus"
    say "fuzzing $name for ${FUZZ_SECONDS}s"
    if "$fuzzer" -max_total_time="$FUZZ_SECONDS" -max_len=8192 -timeout=10 -rss_limit_mb=2048 \
         "$corpus" "$ROOT/fuzz/seeds/$name" >"$LOGS/$name.log" 2>&1; then
      passed=$((passed + 1))
      grep -E '^(#[0-9]+\s+DONE|Done)' "$LOGS/$name.log" | tail -n 1 | sed 's/^/    /'
    else
      failed=$((failed + 1)); failures+=("$name found a crash: see $LOGS/$name.log")
    fi
  done
else
  failed=$((failed + 1)); failures+=("fuzz build: see $LOGS/build-fuzz.log")
fi

# 4. Integration tests against the real server.
say "integration tests ($("$PYTHON" -c 'import boto3,sys; print("python", sys.version.split()[0], "boto3", boto3.__version__)'), $(/usr/bin/aws --version 2>&1 | cut -d' ' -f1))"
EVENTLAKE_BIN="$ROOT/build/release/eventlake" "$PYTHON" "$ROOT/tests/integration/run.py" >"$LOGS/integration.log" 2>&1
rc=$?
line=$(grep -E '^integration: [0-9]+ passed, [0-9]+ failed' "$LOGS/integration.log" | tail -n 1)
if [ -n "$line" ]; then
  echo "    $line"
  p=$(sed -E 's/^integration: ([0-9]+) passed.*/\1/' <<<"$line")
  f=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")
  passed=$((passed + p)); failed=$((failed + f))
else
  failed=$((failed + 1))
fi
if [ $rc -ne 0 ]; then
  failures+=("integration tests: see $LOGS/integration.log")
  grep -E '^(FAIL|ERROR):' "$LOGS/integration.log" | head -n 20
fi

# 5. The AWS SDK for JavaScript v3 (npm, from the committed lockfile).
say "integration tests (AWS SDK for JavaScript v3, node $(node --version))"
(cd "$ROOT/tests/js" && EVENTLAKE_BIN="$ROOT/build/release/eventlake" node --test) >"$LOGS/js.log" 2>&1
rc=$?
p=$(sed -nE 's/^# pass ([0-9]+)$/\1/p' "$LOGS/js.log" | tail -n 1)
f=$(sed -nE 's/^# fail ([0-9]+)$/\1/p' "$LOGS/js.log" | tail -n 1)
echo "    js: ${p:-0} passed, ${f:-?} failed"
passed=$((passed + ${p:-0})); failed=$((failed + ${f:-1}))
if [ $rc -ne 0 ]; then
  failures+=("JavaScript SDK tests: see $LOGS/js.log")
  grep -E '^not ok' "$LOGS/js.log" | head -n 20
fi

if [ ${#failures[@]} -gt 0 ]; then
  printf '\nFailures:\n'; printf '  %s\n' "${failures[@]}"
fi
echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
