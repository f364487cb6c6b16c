#!/usr/bin/env bash
# What recording a timeline costs (HEARTH_TIMELINE, docs/running.md#timeline): the same
# data-parallel MLP job with and without it, interleaved rounds, steps per second from
# `hearth train --json`. Then `hearth timeline` on the last trace (kept as
# $TMPDIR/hearth-timeline-mlp.json, its picture .svg beside it): where the 2-worker step goes.
#
# usage: bench/compare_timeline.sh [WORKERS] [ROUNDS]   (default 2 workers, 5 rounds)
#   The data: bench/make_preprocess_data.py's cleaned 20,000-row table (33 features), written to
#   $TMPDIR once. Needs python3-sklearn and python3-pandas for that, and mpirun past 1 worker.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
hearth=$here/build/bin/hearth
[ -x "$hearth" ] || { echo "build first: launch/setup.sh" >&2; exit 1; }
workers=${1:-2}
rounds=${2:-5}
tmp=${TMPDIR:-/tmp}
clean=$tmp/hearth-preprocess-20000-clean.csv
[ -s "$clean" ] || /usr/bin/python3 "$here/bench/make_preprocess_data.py" 20000 \
  "$tmp/hearth-preprocess-20000-messy.csv" "$clean" >&2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/job.json" <<JOB
{"name": "timeline-mlp", "task": "CLASSIFICATION", "seed": 1,
 "data": {"train": {"path": "$clean", "label_column": "label"}},
 "model": {"layers": [{"dense": {"units": 256, "activation": "RELU"}},
                      {"dense": {"units": 256, "activation": "RELU"}}, {"dense": {"units": 2}}]},
 "optimizer": {"name": "sgd", "lr": 0.05}, "global_batch_size": 128, "epochs": 3,
 "checkpoint": {"every_steps": 1000000}}
JOB
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
train() {  # OUT [TRACE]: prints steps per second
  local env=()
  [ -n "${2:-}" ] && env=(-x HEARTH_TIMELINE="$2")
  local out
  if [ "$workers" -gt 1 ]; then
    out=$(mpirun -np "$workers" --oversubscribe --bind-to none "${env[@]}" \
      "$hearth" train "$work/job.json" --out "$1" --quiet --json 2>/dev/null)
  else
    out=$(HEARTH_TIMELINE="${2:-}" "$hearth" train "$work/job.json" --out "$1" --quiet --json 2>/dev/null)
  fi
  /usr/bin/python3 -c "import json,sys; d=json.load(sys.stdin); print(d['steps'] / d['wall_seconds'], d['blas_core'])" <<<"$out"
}
off=() on=()
for round in $(seq "$rounds"); do
  read -r a core < <(train "$work/off-$round")
  read -r b _ < <(train "$work/on-$round" "$work/trace.json")
  off+=("$a") on+=("$b")
  printf 'round %d: %.0f steps/s without, %.0f with the timeline\n' "$round" "$a" "$b"
done
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
m_off=$(median "${off[@]}") m_on=$(median "${on[@]}")
awk -v a="$m_off" -v b="$m_on" -v w="$workers" -v c="$core" 'BEGIN {
  printf "%d worker(s), BLAS kernel %s: median %.0f steps/s without, %.0f with: recording costs %.2f%% (target < 2%%)\n",
    w, c, a, b, 100 * (a - b) / a }'
echo
# The last trace is kept beside its picture, to open in ui.perfetto.dev.
cp "$work/trace.json" "$tmp/hearth-timeline-mlp.json"
"$hearth" timeline "$tmp/hearth-timeline-mlp.json" --svg "$tmp/hearth-timeline-mlp.svg"
