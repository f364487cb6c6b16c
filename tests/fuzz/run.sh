#!/usr/bin/env bash
# Builds every fuzz target with clang-14's libFuzzer under AddressSanitizer and
# UndefinedBehaviorSanitizer (into build-fuzz/) and runs each for SECONDS, starting from its seed
# corpus in tests/fuzz/corpus/ (new inputs go to a scratch copy, not the committed corpus).
# Prints one line per target with its executions; exits non-zero on any crash, leak, timeout or
# sanitizer report, leaving the reproducer and the log under build-fuzz/findings/.
#
# usage: tests/fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]   (default 60 s, every target)
#   FUZZ_JOBS=N   run N targets at once (default 1; the machines here have 2 cores)
#   FUZZ_RUNS=N   stop each target after N executions instead of after SECONDS
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$here"

seconds=${1:-60}
[[ $seconds =~ ^[0-9]+$ ]] || { echo "run.sh: SECONDS must be a whole number, not '$seconds'" >&2; exit 2; }
shift || true
all=(csv idx npy safetensors job_spec sweep_spec launcher_log serve_request)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")

launch/setup.sh --deps-only --fuzz
build=$here/build-fuzz
if [ ! -f "$build/CMakeCache.txt" ]; then
  CC=clang-14 CXX=clang++-14 cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DHEARTH_FUZZ=ON -DHEARTH_SANITIZE=ON -DHEARTH_BUILD_TESTS=OFF -DHEARTH_BUILD_BENCH=OFF \
    -DHEARTH_NATIVE=OFF >/dev/null
fi
cmake --build "$build" -j "$(nproc 2>/dev/null || echo 2)" --target "${targets[@]/%/_fuzzer}"

findings=$build/findings
mkdir -p "$findings"
# A leak or an UB report must fail the run, not scroll past.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

run_target() {
  local t=$1 scratch="$build/corpus/$1" log="$findings/$1.log" limit started=$SECONDS
  rm -rf "$scratch"
  mkdir -p "$scratch"
  limit=(-max_total_time="$seconds")
  [ -n "${FUZZ_RUNS:-}" ] && limit=(-runs="$FUZZ_RUNS")
  # -rss_limit_mb: a target that allocates without bound is a finding, not a slow machine.
  if "$build/fuzz/${t}_fuzzer" "$scratch" "$here/tests/fuzz/corpus/$t" "${limit[@]}" \
    -rss_limit_mb=2048 -timeout=25 -max_len=65536 -print_final_stats=1 \
    -artifact_prefix="$findings/$t-" >"$log" 2>&1; then
    local runs
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -n 1)
    printf '%-14s ok      %12s executions in %ss\n' "$t" "${runs:-?}" "$((SECONDS - started))"
    return 0
  fi
  printf '%-14s FAILED  see %s\n' "$t" "$log"
  grep -E "ERROR|SUMMARY|runtime error|Test unit written" "$log" | head -n 5 | sed 's/^/    /'
  return 1
}

failed=0
jobs=${FUZZ_JOBS:-1}
running=0
for t in "${targets[@]}"; do
  # A slot is free as soon as any target ends (wait -n), not only the oldest one.
  if [ "$running" -ge "$jobs" ]; then
    wait -n || failed=1
    running=$((running - 1))
  fi
  run_target "$t" &
  running=$((running + 1))
done
while [ "$running" -gt 0 ]; do
  wait -n || failed=1
  running=$((running - 1))
done
exit "$failed"
