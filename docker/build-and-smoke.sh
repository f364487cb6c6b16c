#!/usr/bin/env bash
# Builds the Hearth image and smoke-tests the compose cluster on a machine with a Docker engine:
# up with 3 workers, submit examples/jobs/logistic_regression.json from this machine through the
# loopback port, expect SUCCEEDED, then take everything down (volumes too). Without an engine it
# says so and exits 77. The same topology is tested without an engine by
# tests/compose/netns_cluster_e2e_test.sh.
#
# usage: docker/build-and-smoke.sh [--keep]     (--keep: leave the cluster up afterwards)
set -uo pipefail
prog=build-and-smoke.sh
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
keep=0
[ "${1:-}" = --keep ] && keep=1

command -v docker >/dev/null || { echo "$prog: no docker CLI; install Docker to build the image" >&2; exit 77; }
if ! docker info >/dev/null 2>&1; then
  echo "$prog: no Docker engine answers (docker info failed): cannot build or run containers here." >&2
  echo "$prog: validate the compose file with tests/compose/compose_config_test.sh and test the" >&2
  echo "$prog: topology with tests/compose/netns_cluster_e2e_test.sh instead." >&2
  exit 77
fi
if command -v docker-compose >/dev/null; then
  compose=(docker-compose)
elif docker compose version >/dev/null 2>&1; then
  compose=(docker compose)
else
  echo "$prog: neither docker-compose nor 'docker compose' is available" >&2
  exit 77
fi
hearth=${HEARTH_CLIENT:-build/bin/hearth}
[ -x "$hearth" ] || { echo "$prog: $hearth is missing: build the client first (launch/setup.sh) or set HEARTH_CLIENT" >&2; exit 1; }

tmp=$(mktemp -d)
head -c 32 /dev/urandom | base64 >"$tmp/token"
chmod 644 "$tmp/token"  # read by uid 1000 in the containers through the secret's bind mount
export HEARTH_TOKEN_FILE_HOST=$tmp/token HEARTH_WORKERS=3
project=hearth-smoke-$$
dc=("${compose[@]}" -p "$project" -f docker-compose.yml)
cleanup() {
  if [ "$keep" = 1 ]; then
    echo "$prog: --keep: cluster left up; remove it with: HEARTH_TOKEN_FILE_HOST=$tmp/token ${dc[*]} down -v"
  else
    "${dc[@]}" down -v --remove-orphans >/dev/null 2>&1
    rm -rf "$tmp"
  fi
}
trap cleanup EXIT

echo "== building the image"
docker build -f docker/Dockerfile -t "${HEARTH_IMAGE:-hearth:latest}" . || { echo "FAIL: docker build"; exit 1; }
echo "== starting the coordinator and 3 workers"
"${dc[@]}" up -d --scale worker=3 || { echo "FAIL: compose up"; exit 1; }

coordinator=127.0.0.1:7411
up=0
for _ in $(seq 1 180); do
  if "$hearth" list --coordinator "$coordinator" --token-file "$tmp/token" >/dev/null 2>&1; then up=1; break; fi
  sleep 1
done
if [ "$up" != 1 ]; then
  echo "FAIL: the coordinator did not answer on $coordinator"
  "${dc[@]}" logs --tail 50
  exit 1
fi
echo "== submitting examples/jobs/logistic_regression.json to 3 workers"
out=$("$hearth" submit examples/jobs/logistic_regression.json --workers 3 --follow \
  --coordinator "$coordinator" --token-file "$tmp/token" 2>&1)
rc=$?
echo "$out" | tail -n 5
job=$(grep -o 'j-[0-9]\+' <<<"$out" | head -n 1)
state=$("$hearth" status "$job" --json --coordinator "$coordinator" --token-file "$tmp/token" 2>/dev/null |
  python3 -c 'import json,sys; print(json.load(sys.stdin).get("state",""))' 2>/dev/null)
if [ "$rc" != 0 ] || [ "$state" != SUCCEEDED ]; then
  echo "FAIL: job ${job:-?} ended '${state:-?}' (submit exit $rc)"
  "${dc[@]}" logs --tail 50
  exit 1
fi
echo "PASS: $job SUCCEEDED on the compose cluster"
