#!/usr/bin/env bash
# What preprocessing costs an epoch. The same rows train twice per model: messy (12 numeric
# columns with gaps and outliers, two text columns) through impute, one_hot, clip and
# robust_scale steps, and already cleaned by scikit-learn (bench/make_preprocess_data.py) with no
# steps, so both models have the same width. Prints, from `hearth train --json`, the seconds spent
# fitting and applying the steps (once per load) beside the seconds of an epoch, and the epoch time
# of both runs: preprocessing is never applied per step, so the two epochs should match. Then
# scikit-learn's fit_transform of the same pipeline on the same table (bench/preprocess_sklearn.py)
# beside Hearth's fit and apply.
#
# usage: bench/compare_preprocess.sh [ROWS]   (default 200000; data kept in $TMPDIR)
#   Needs python3-sklearn and python3-pandas. Set OPENBLAS_CORETYPE to pin the kernel.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
hearth=$here/build/bin/hearth
[ -x "$hearth" ] || { echo "build first: launch/setup.sh" >&2; exit 1; }
rows=${1:-200000}
tmp=${TMPDIR:-/tmp}
messy=$tmp/hearth-preprocess-$rows-messy.csv
clean=$tmp/hearth-preprocess-$rows-clean.csv
if [ ! -s "$messy" ] || [ ! -s "$clean" ]; then
  /usr/bin/python3 "$here/bench/make_preprocess_data.py" "$rows" "$messy" "$clean" >&2
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
epochs=3

steps='[
  {"impute": {"strategy": "MOST_FREQUENT", "columns": [12, 13]}},
  {"impute": {"strategy": "MEDIAN", "add_indicator": true,
              "columns": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]}},
  {"one_hot": {"columns": [12, 13]}},
  {"clip": {"lower": 0.01, "upper": 0.99, "columns": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]}},
  {"robust_scale": {}}]'
write_job() {  # NAME DATA STEPS LAYERS
  cat > "$work/$1.json" <<JOB
{"name": "$1", "task": "CLASSIFICATION", "seed": 1,
 "data": {"train": {"path": "$2", "label_column": "label"}, "preprocessing": $3},
 "model": {"layers": $4},
 "optimizer": {"name": "sgd", "lr": 0.05}, "global_batch_size": 256, "epochs": $epochs,
 "checkpoint": {"every_steps": 1000000}}
JOB
}
linear='[{"dense": {"units": 2}}]'
mlp='[{"dense": {"units": 128, "activation": "RELU"}}, {"dense": {"units": 128, "activation": "RELU"}}, {"dense": {"units": 2}}]'

field() { /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
echo "rows: $rows, epochs: $epochs"
printf '%-8s %-6s %10s %12s %12s %11s\n' model data "load s" "preprocess s" "epoch s" "prep/epoch"
# The machines are shared: each side runs three times, alternating, and keeps its fastest epoch.
for model in linear mlp; do
  for side in messy clean; do
    data=$messy; s=$steps
    [ "$side" = clean ] && { data=$clean; s='[]'; }
    write_job "$model-$side" "$data" "$s" "${!model}"
  done
  declare -A best_epoch=() best_load=() best_prep=()
  for round in 1 2 3; do
    for side in messy clean; do
      out=$("$hearth" train "$work/$model-$side.json" --out "$work/run-$model-$side-$round" \
        --quiet --json 2>/dev/null)
      epoch=$(field wall_seconds <<<"$out" | awk -v e="$epochs" '{ print $1 / e }')
      if [ -z "${best_epoch[$side]:-}" ] || awk -v a="$epoch" -v b="${best_epoch[$side]}" 'BEGIN { exit !(a < b) }'; then
        best_epoch[$side]=$epoch
        best_load[$side]=$(field data_seconds <<<"$out")
        best_prep[$side]=$(field preprocess_seconds <<<"$out")
      fi
      core=$(field blas_core <<<"$out")
    done
  done
  for side in messy clean; do
    awk -v m="$model" -v d="$side" -v l="${best_load[$side]}" -v p="${best_prep[$side]}" \
      -v e="${best_epoch[$side]}" \
      'BEGIN { printf "%-8s %-6s %10.2f %12.3f %12.3f %10.1f%%\n", m, d, l, p, e, 100 * p / e }'
  done
  awk -v a="${best_epoch[messy]}" -v b="${best_epoch[clean]}" -v m="$model" \
    'BEGIN { printf "%-8s an epoch after preprocessing takes %.3fx the clean epoch (target <= 1.05)\n", m, a / b }'
done
echo "BLAS kernel: $core"
echo "the one-time fit and apply beside scikit-learn's:"
"$hearth" train "$work/linear-messy.json" --out "$work/again" --quiet --json 2>/dev/null |
  field preprocess_seconds | awk '{ printf "hearth: fit and apply %.3f s\n", $1 }'
/usr/bin/python3 "$here/bench/preprocess_sklearn.py" "$messy"
