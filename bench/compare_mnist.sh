#!/usr/bin/env bash
# Side-by-side MNIST training: `hearth train` against ../shared/peers/torch_peer.py (PyTorch 1.13)
# with the same model, hyperparameters (SGD momentum 0.9, lr 0.05, batch 64, 3 epochs), data
# (all training images, no validation split) and 1 thread, under the same OPENBLAS_CORETYPE.
#
# usage: bench/compare_mnist.sh [mlp|cnn|both] [MNIST_DIR] [PEERS_DIR]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
which=${1:-both}
data=${2:-$here/data/mnist}
peers=${3:-$here/../shared/peers}
hearth=$here/build/bin/hearth
export OPENBLAS_NUM_THREADS=1
echo "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-<unset>}"
[ -f "$data/train-images-idx3-ubyte" ] || "$here/launch/fetch-mnist.sh" "$data"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for kind in mlp cnn; do
  [ "$which" = both ] || [ "$which" = "$kind" ] || continue
  # The job reads data/mnist relative to the working directory.
  mkdir -p "$tmp/data" && ln -sfn "$data" "$tmp/data/mnist"
  ( cd "$tmp" && /usr/bin/time -f "%M" -o "$tmp/rss" "$hearth" train "$here/bench/jobs/mnist_$kind.json" \
      --out "$tmp/run-$kind" --json > "$tmp/hearth.json" )
  h_eps=$(grep -o '"examples_per_second":[0-9.]*' "$tmp/hearth.json" | cut -d: -f2)
  h_acc=$(grep -o '"test_metrics":{[^}]*' "$tmp/hearth.json" | grep -o '"accuracy":[0-9.]*' | cut -d: -f2)
  h_core=$(grep -o '"blas_core":"[A-Za-z0-9]*"' "$tmp/hearth.json" | cut -d'"' -f4)
  h_rss=$(( $(cat "$tmp/rss") / 1024 ))
  t_line=$(/usr/bin/python3 "$peers/torch_peer.py" "$data" "$kind")
  t_eps=$(echo "$t_line" | grep -o 'examples_per_s=[0-9.]*' | cut -d= -f2)
  t_acc=$(echo "$t_line" | grep -o 'test_acc=[0-9.]*' | cut -d= -f2)
  t_rss=$(echo "$t_line" | grep -o 'rss_mb=[0-9]*' | cut -d= -f2)
  echo "$kind hearth: examples/s=$h_eps test_acc=$h_acc rss_mb=$h_rss (openblas $h_core)"
  echo "$kind torch:  $t_line"
  awk -v a="$h_eps" -v b="$t_eps" -v ha="$h_acc" -v ta="$t_acc" -v hr="$h_rss" -v tr="$t_rss" -v k="$kind" \
    'BEGIN {printf "%s: hearth/torch examples/s = %.2fx, accuracy %+.2f points, rss %d vs %d MB\n", k, a / b, (ha - ta) * 100, hr, tr}'
done
