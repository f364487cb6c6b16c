#!/usr/bin/env bash
# Overlap of gradient communication with backward, measured where communication costs something:
# two hosts in network namespaces joined by a rate-limited link (launch/netns-cluster.sh), Open MPI
# over TCP. Trains the same MNIST job with HEARTH_OVERLAP=1 and 0, alternating, and reports the
# mean step time of each. Needs root (network namespaces) and data/mnist (launch/fetch-mnist.sh).
#
#   bench/compare_overlap.sh [--rate 1gbit] [--delay 1ms] [--job bench/jobs/overlap_mlp.json]
#                            [--repeats 3] [--bucket-bytes N] [--batch 512]
set -euo pipefail
cd "$(dirname "$0")/.."
rate=1gbit delay=1ms job=bench/jobs/overlap_mlp.json repeats=3 bucket="" batch=512
while [[ $# -gt 0 ]]; do
  case $1 in
    --rate) rate=$2; shift 2 ;;
    --delay) delay=$2; shift 2 ;;
    --job) job=$2; shift 2 ;;
    --repeats) repeats=$2; shift 2 ;;
    --bucket-bytes) bucket=$2; shift 2 ;;
    --batch) batch=$2; shift 2 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "compare_overlap.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
[[ -d data/mnist ]] || launch/fetch-mnist.sh data/mnist
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# The job, trimmed to one epoch, with the global batch given (split over the 2 workers).
python3 - "$job" "$out/job.json" "$batch" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
j["epochs"] = 1
j["global_batch_size"] = int(sys.argv[3])
j.pop("early_stopping", None)
json.dump(j, open(sys.argv[2], "w"))
PY
export OPENBLAS_NUM_THREADS=1 HEARTH_BLAS_AUTOTUNE=0
[[ -n $bucket ]] && export HEARTH_BUCKET_BYTES=$bucket
launch/netns-cluster.sh --hosts 2 --rate "$rate" --delay "$delay" -- bash -c '
  set -e
  for i in $(seq '"$repeats"'); do
    for overlap in 1 0; do
      HEARTH_OVERLAP=$overlap launch/hearthrun -n 2 $HEARTH_NETNS_MPIRUN_ARGS \
        build/bin/hearth train '"$out"'/job.json --out '"$out"'/run-$overlap-$i --threads 1 --json \
        > '"$out"'/result-$overlap-$i.json
    done
  done'
python3 - "$out" "$repeats" "$rate" <<'PY'
import json, sys
out, repeats, rate = sys.argv[1], int(sys.argv[2]), sys.argv[3]
ms = {}
for overlap in ("1", "0"):
    times = []
    for i in range(1, repeats + 1):
        r = json.load(open(f"{out}/result-{overlap}-{i}.json"))
        times.append(1000 * r["wall_seconds"] / r["steps"])
        core = r["blas_core"]
    ms[overlap] = sorted(times)[len(times) // 2]
    print(f"overlap {'on ' if overlap == '1' else 'off'}: median step {ms[overlap]:.2f} ms "
          f"(runs: {', '.join(f'{t:.2f}' for t in times)})")
print(f"link {rate}, BLAS core {core}: overlap cuts the step time by "
      f"{100 * (1 - ms['1'] / ms['0']):.1f}%")
PY
