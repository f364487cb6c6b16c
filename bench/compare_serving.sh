#!/usr/bin/env bash
# Side-by-side serving benchmark: `hearth serve` against ../shared/peers/serve_peer.py (FastAPI +
# uvicorn + PyTorch, what a Python user would write), both serving the same MNIST MLP checkpoint,
# both loaded by ../shared/peers/serve_load.sh (wrk, KServe v2 infer, one row of 784 floats) at
# concurrency 1, 8 and 64, one after the other, under the same OPENBLAS_CORETYPE. Prints each
# level's figures for both, their ratios, and each server's peak RSS; then serve_bench's
# in-process figures (the forward pass of one row).
#
# usage: bench/compare_serving.sh [CHECKPOINT] [LEVELS...]
#   Without CHECKPOINT it trains examples/jobs/mnist_mlp.json (MNIST from launch/fetch-mnist.sh).
#   SERVE_LOAD_SECONDS (default 10) per level. Needs wrk, python3-fastapi, python3-uvicorn and
#   python3-torch (apt-get install wrk python3-fastapi python3-uvicorn python3-torch).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"
build=$here/build
peers=$here/../shared/peers
hearth=$build/bin/hearth
[ -x "$hearth" ] && [ -x "$build/bench/serve_bench" ] ||
  { echo "build first: launch/setup.sh" >&2; exit 1; }
checkpoint=${1:-}
shift || true
levels=("$@")
[ ${#levels[@]} -gt 0 ] || levels=(1 8 64)

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

if [ -z "$checkpoint" ]; then
  launch/fetch-mnist.sh data/mnist >&2
  "$hearth" train examples/jobs/mnist_mlp.json --out "$work/run" --quiet >&2
  checkpoint=$(ls "$work"/run/ckpt-*.safetensors | tail -n 1)
fi
# One kernel for both sides (they share libopenblas): the one Hearth would pick on this CPU.
if [ -z "${OPENBLAS_CORETYPE:-}" ]; then
  OPENBLAS_CORETYPE=$("$build/bench/serve_bench" "$checkpoint" | sed -n 's/^blas_core=//p')
fi
export OPENBLAS_CORETYPE OPENBLAS_NUM_THREADS=1
echo "checkpoint=$checkpoint OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE levels=${levels[*]}"

wait_ready() {  # $1: base URL
  for _ in $(seq 1 600); do
    curl -sf "$1/v2/health/ready" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "server at $1 never became ready" >&2
  return 1
}
peak_rss_mb() { awk '/VmHWM/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }

# measure NAME PORT COMMAND...: starts the server, loads it, stops it; sets NAME_out, NAME_rss.
measure() {
  local name=$1 port=$2
  shift 2
  "$@" >"$work/$name.log" 2>&1 &
  local pid=$!
  pids+=("$pid")
  wait_ready "http://127.0.0.1:$port"
  printf -v "${name}_out" '%s' "$("$peers/serve_load.sh" "http://127.0.0.1:$port" mnist 784 "${levels[@]}")"
  printf -v "${name}_rss" '%s' "$(peak_rss_mb "$pid")"
  kill "$pid"
}
port=$((20000 + RANDOM % 20000))
measure hearth "$port" "$hearth" serve "mnist=$checkpoint" --listen "127.0.0.1:$port" \
  --poll-seconds 0 --quiet
measure peer $((port + 1)) /usr/bin/python3 "$peers/serve_peer.py" "$checkpoint" \
  --port $((port + 1)) --name mnist

field() { echo "$1" | awk -v c="conc=$2" -v k="$3=" '$1 == c {for (i = 1; i <= NF; i++) if (index($i, k) == 1) print substr($i, length(k) + 1)}'; }
for c in "${levels[@]}"; do
  echo "hearth $(echo "$hearth_out" | grep "^conc=$c ")"
  echo "peer   $(echo "$peer_out" | grep "^conc=$c ")"
  awk -v hr="$(field "$hearth_out" "$c" rps)" -v pr="$(field "$peer_out" "$c" rps)" \
      -v hp="$(field "$hearth_out" "$c" p99_ms)" -v pp="$(field "$peer_out" "$c" p99_ms)" -v c="$c" \
      'BEGIN {printf "conc=%s rps hearth/peer = %.2f   p99 hearth/peer = %.3f\n", c, hr / pr, hp / pp}'
done
awk -v h="$hearth_rss" -v p="$peer_rss" \
  'BEGIN {printf "peak RSS: hearth %.1f MB, peer %.1f MB, hearth/peer = %.3f\n", h, p, h / p}'
"$build/bench/serve_bench" "$checkpoint" mnist
