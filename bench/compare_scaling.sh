#!/usr/bin/env bash
# Data-parallel scaling on MNIST, side by side: Hearth with 1 worker, Hearth with 2 workers
# (mpirun -np 2, one core each) and PyTorch DDP with 2 processes (../shared/peers/torch_ddp.sh,
# gloo), all with the same per-rank batch (64), epochs, data and 1 BLAS thread per rank, under the
# same OPENBLAS_CORETYPE. PyTorch with 1 process runs too, for its own scaling ratio, and so do two
# independent 1-worker Hearth runs at once, one per core (no communication at all): their summed
# examples/s is the ceiling for any 2-rank run on this machine (shared caches, memory bandwidth,
# clock), against which the 2-worker figure can be judged.
#
# Hearth splits global_batch_size over the workers, so its 2-worker job is the bench job with
# global_batch_size doubled (128 = 2 x 64); torch_peer.py takes --batch per rank. Both therefore
# take half as many steps per epoch with 2 ranks, and accuracy after the same epochs can drop a
# little for both (fewer, larger steps at the same learning rate).
#
# Every configuration runs REPEATS times, in interleaved rounds (so that load from other processes
# on a shared machine hits all of them alike); the summary gives the median and best examples/s
# (global: examples of all ranks per second) and the ratios of the medians.
#
# Hearth's examples/s is what `hearth train --json` reports: its whole training loop, including
# the checkpoint rank 0 writes (with fsync) at the end of every epoch while the other ranks wait
# and, with several workers, each rank reading its own rows of the epoch from the data files at
# the start of every epoch. On the 8,000-example fallback set an epoch lasts only ~0.1 s, so those
# weigh on the scaling ratio. The jobs therefore log every step (one short line in
# metrics.jsonl), and "steps only" is the global batch over the median time between two steps of
# the same epoch: the training step itself, without checkpoints, data reading or start-up.
# PyTorch saves and reads nothing during training.

# usage: bench/compare_scaling.sh [mlp|cnn|both] [REPEATS] [MNIST_DIR] [PEERS_DIR]
#   EPOCHS=N overrides the jobs' 3 epochs (longer runs average out noise). HEARTH_* variables
#   (e.g. HEARTH_PROGRESS=hooks, HEARTH_BUCKET_BYTES) reach every rank, and Open MPI reads
#   OMPI_MCA_* ones (e.g. OMPI_MCA_coll_libnbc_iallreduce_algorithm=1), to compare settings.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
which=${1:-both}
repeats=${2:-3}
data=${3:-$here/data/mnist}
peers=${4:-$here/../shared/peers}
hearth=$here/build/bin/hearth
export OPENBLAS_NUM_THREADS=1
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
echo "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-<unset>} cores=$(nproc) load=$(cut -d' ' -f1-3 /proc/loadavg)" \
  "$(env | grep -E '^(HEARTH_|OMPI_MCA_)' | tr '\n' ' ')"
[ -f "$data/train-images-idx3-ubyte" ] || "$here/launch/fetch-mnist.sh" "$data"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The jobs read data/mnist relative to the working directory.
mkdir -p "$tmp/data" && ln -sfn "$data" "$tmp/data/mnist"
results=$tmp/results.txt
: > "$results"

# hearth_run KIND WORKERS ROUND: one training run; appends "kind config examples/s accuracy
# blas-core steps-only-examples/s" to the results.
hearth_run() {
  local kind=$1 workers=$2 round=$3 out=$tmp/hearth-$1-$2-$3
  local cmd=("$hearth" train "$tmp/job-$kind-$workers.json" --out "$out" --json --threads 1)
  if [ "$workers" -gt 1 ]; then
    # One core per rank (the 2 ranks must not share a core); the BLAS and Hearth variables
    # (HEARTH_PROGRESS, HEARTH_BUCKET_BYTES, ...) passed on. OMPI_MCA_* variables reach mpirun.
    local pass=() name
    for name in $(compgen -e | grep -E '^(OPENBLAS_|HEARTH_)'); do pass+=(-x "$name"); done
    cmd=(mpirun -np "$workers" --bind-to core --map-by core "${pass[@]}" "${cmd[@]}")
  fi
  ( cd "$tmp" && "${cmd[@]}" > "$out.json" 2> "$out.err" ) ||
    { echo "hearth run failed: ${cmd[*]}" >&2; cat "$out.err" >&2; exit 1; }
  local eps acc core steady
  eps=$(grep -o '"examples_per_second":[0-9.]*' "$out.json" | cut -d: -f2)
  acc=$(grep -o '"test_metrics":{[^}]*' "$out.json" | grep -o '"accuracy":[0-9.]*' | cut -d: -f2)
  core=$(grep -o '"blas_core":"[A-Za-z0-9]*"' "$out.json" | cut -d'"' -f4)
  steady=$(/usr/bin/python3 -c '
import json, statistics, sys
steps = [r for r in map(json.loads, open(sys.argv[1])) if r["type"] == "step"]
gaps = [b["time"] - a["time"] for a, b in zip(steps, steps[1:])
        if b["epoch"] == a["epoch"] and b["step"] == a["step"] + 1]
print(f"{int(sys.argv[2]) / statistics.median(gaps):.0f}")' "$out/metrics.jsonl" "$((per_rank * workers))")
  echo "$kind hearth-$workers $eps $acc $core $steady" >> "$results"
  echo "  round $round $kind hearth-$workers: examples/s=$eps (steps only: $steady) test_acc=$acc (openblas $core)"
}

# pair_run KIND ROUND: two independent 1-worker runs at once, bound to cores 0 and 1.
pair_run() {
  local kind=$1 round=$2 i pids=() sum=0 eps
  for i in 0 1; do
    ( cd "$tmp" && taskset -c "$i" "$hearth" train "$tmp/job-$kind-1.json" --out "$tmp/pair-$kind-$round-$i" \
        --json --threads 1 > "$tmp/pair-$i.json" 2> "$tmp/pair-$i.err" ) &
    pids+=($!)
  done
  for i in 0 1; do
    wait "${pids[$i]}" || { echo "pair run failed" >&2; cat "$tmp/pair-$i.err" >&2; exit 1; }
    eps=$(grep -o '"examples_per_second":[0-9.]*' "$tmp/pair-$i.json" | cut -d: -f2)
    sum=$(awk -v a="$sum" -v b="$eps" 'BEGIN {print a + b}')
  done
  echo "$kind pair $sum 0 - -" >> "$results"
  echo "  round $round $kind 2 x hearth-1 at once (ceiling): examples/s=$sum"
}

# torch_run KIND WORLD ROUND
torch_run() {
  local kind=$1 world=$2 round=$3 line
  local args=("$data" "$kind" --batch 64 --epochs "$epochs" --threads 1)
  if [ "$world" -gt 1 ]; then
    line=$("$peers/torch_ddp.sh" "$world" "${args[@]}" 2> "$tmp/torch.err" | grep '^torch') ||
      { echo "torch DDP run failed" >&2; cat "$tmp/torch.err" >&2; exit 1; }
  else
    line=$(/usr/bin/python3 "$peers/torch_peer.py" "${args[@]}")
  fi
  local eps acc
  eps=$(echo "$line" | grep -o 'examples_per_s=[0-9.]*' | cut -d= -f2)
  acc=$(echo "$line" | grep -o 'test_acc=[0-9.]*' | cut -d= -f2)
  echo "$kind torch-$world $eps $acc - -" >> "$results"
  echo "  round $round $kind torch-$world: $line"
}

for kind in mlp cnn; do
  [ "$which" = both ] || [ "$which" = "$kind" ] || continue
  job=$here/bench/jobs/mnist_$kind.json
  epochs=${EPOCHS:-$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["epochs"])' "$job")}
  per_rank=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["global_batch_size"])' "$job")
  [ "$per_rank" = 64 ] || { echo "expected global_batch_size 64 in $job (torch_peer.py --batch 64)" >&2; exit 1; }
  for workers in 1 2; do
    /usr/bin/python3 - "$job" "$tmp/job-$kind-$workers.json" "$workers" "$epochs" <<'EOF'
import json, sys
job = json.load(open(sys.argv[1]))
job["global_batch_size"] *= int(sys.argv[3])  # split over the workers: the same per-rank batch
job["epochs"] = int(sys.argv[4])
job["log_every_steps"] = 1  # a per-step timeline in metrics.jsonl (see "steps only")
json.dump(job, open(sys.argv[2], "w"), indent=1)
EOF
  done
  echo "$kind: per-rank batch $per_rank, $epochs epochs, $repeats rounds"
  for ((round = 1; round <= repeats; round++)); do
    # Rotate the order each round so no configuration always runs first or last.
    order=(h1 h2 t2 t1 p2)
    for ((i = 0; i < 5; i++)); do
      case ${order[(i + round - 1) % 5]} in
        p2) pair_run "$kind" "$round" ;;
        h1) hearth_run "$kind" 1 "$round" ;;
        h2) hearth_run "$kind" 2 "$round" ;;
        t1) torch_run "$kind" 1 "$round" ;;
        t2) torch_run "$kind" 2 "$round" ;;
      esac
    done
  done
done

/usr/bin/python3 - "$results" <<'EOF'
import statistics, sys
runs = {}
cores = set()
for line in open(sys.argv[1]):
    kind, config, eps, acc, core, steady = line.split()
    runs.setdefault((kind, config), []).append((float(eps), float(acc)))
    if steady != "-":
        runs.setdefault((kind, config + "-steps"), []).append((float(steady), float(acc)))
    if core != "-":
        cores.add(core)
print("summary (median / best examples/s; median test accuracy), openblas", ",".join(sorted(cores)))
for kind in ("mlp", "cnn"):
    if (kind, "hearth-1") not in runs:
        continue
    med = {}
    for config in ("hearth-1", "hearth-2", "torch-1", "torch-2"):
        r = runs[(kind, config)]
        eps = [e for e, _ in r]
        med[config] = (statistics.median(eps), max(eps), statistics.median(a for _, a in r))
        print(f"  {kind} {config:9s} {med[config][0]:9.0f} / {med[config][1]:9.0f} examples/s"
              f"  test_acc {med[config][2] * 100:.2f}%")
    h1, h2, t1, t2 = (med[c] for c in ("hearth-1", "hearth-2", "torch-1", "torch-2"))
    pair = [e for e, _ in runs[(kind, "pair")]]
    print(f"  {kind} ceiling: 2 independent hearth-1 runs at once: {statistics.median(pair):.0f} /"
          f" {max(pair):.0f} examples/s = {statistics.median(pair) / h1[0]:.2f}x"
          f" (best {max(pair) / h1[1]:.2f}x) of one")
    e1 = [statistics.median(e for e, _ in runs[(kind, c)]) for c in ("hearth-1-steps", "hearth-2-steps")]
    b1 = [max(e for e, _ in runs[(kind, c)]) for c in ("hearth-1-steps", "hearth-2-steps")]
    print(f"  {kind} hearth steps only (median step time): 1 worker {e1[0]:.0f} / {b1[0]:.0f},"
          f" 2 workers {e1[1]:.0f} / {b1[1]:.0f} examples/s")
    print(f"  {kind}: hearth 2 vs 1 workers = {h2[0] / h1[0]:.2f}x (best {h2[1] / h1[1]:.2f}x; target >= 1.8x);"
          f" steps only {e1[1] / e1[0]:.2f}x (best {b1[1] / b1[0]:.2f}x); torch 2 vs 1 = {t2[0] / t1[0]:.2f}x")
    print(f"  {kind}: hearth-2 / torch-DDP-2 = {h2[0] / t2[0]:.2f}x (best {h2[1] / t2[1]:.2f}x; target >= 1.3x);"
          f" accuracy hearth-2 {(h2[2] - t2[2]) * 100:+.2f} points vs torch-2,"
          f" {(h2[2] - h1[2]) * 100:+.2f} vs hearth-1 (target within 1)")
EOF
