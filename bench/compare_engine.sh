#!/usr/bin/env bash
# Side-by-side engine benchmark: Hearth's engine_bench against the plain C + OpenBLAS MLP step
# (../shared/peers/mlp_ref.c), run back to back under the same OPENBLAS_CORETYPE, 1 thread.
#
# usage: bench/compare_engine.sh [BUILD_DIR] [PEERS_DIR]
#   Set OPENBLAS_CORETYPE to pin the kernel (both sides share libopenblas); it is printed.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-$here/build}
peers=${2:-$here/../shared/peers}
export OPENBLAS_NUM_THREADS=1

[ -x "$build/bench/engine_bench" ] || { echo "build the benchmarks first: launch/setup.sh" >&2; exit 1; }
ref=$(mktemp -d)/mlp_ref
gcc -O3 -march=native "$peers/mlp_ref.c" -o "$ref" -lopenblas -lm

echo "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-<unset>}"
hearth_out=$("$build/bench/engine_bench")
ref_out=$("$ref")
echo "$hearth_out"
echo "$ref_out"

# Ratios Hearth / C for the two MLP shapes both programs run.
ratio() {  # $1: dims as Hearth prints them, $2: dims as mlp_ref prints them
  local h c
  h=$(echo "$hearth_out" | awk -v d="dims=$1" '$0 ~ d {for (i = 1; i <= NF; i++) if ($i ~ /^ms=/) print substr($i, 4)}')
  c=$(echo "$ref_out" | awk -v d="$2" 'index($0, d) {for (i = 1; i <= NF; i++) if ($i == "ms") print $(i - 1)}')
  awk -v h="$h" -v c="$c" -v n="$1" 'BEGIN {printf "mlp %s: hearth %.4f ms, C %.4f ms, hearth/C = %.2f\n", n, h, c, h / c}'
}
ratio 32-64-64-10 "dims=[32,64,64,10]"
ratio 784-256-256-10 "dims=[784,256,256,10]"
