#!/usr/bin/env bash
# End-to-end test of the docker-compose topology without a container engine: one network
# namespace runs launch/cluster-entrypoint.sh coordinator (hearthd) and three run
# cluster-entrypoint.sh worker (sshd), exactly as the containers do, so mpirun reaches the
# workers over real SSH and TCP. From the root namespace it submits a quick job (must SUCCEED),
# MNIST for one epoch (when data/mnist exists), then a longer job with max_restarts 1: it kills
# one worker namespace's `hearth worker` mid-run and checks that the job's events name the failed
# rank and that it restarts from its checkpoint and succeeds. launch/netns-cluster.sh builds and
# always removes the namespaces. Exits 77 (CTest skip) without root, namespaces, sshd or mpirun.
#
# usage: tests/compose/netns_cluster_e2e_test.sh SOURCE_DIR BUILD_DIR
set -uo pipefail

if [ "${1:-}" != --inner ]; then
  src=$(cd "${1:?usage: netns_cluster_e2e_test.sh SOURCE_DIR BUILD_DIR}" && pwd) || exit 1
  build=$(cd "${2:?usage: netns_cluster_e2e_test.sh SOURCE_DIR BUILD_DIR}" && pwd) || exit 1
  [ "$EUID" = 0 ] || { echo "SKIP: network namespaces need root"; exit 77; }
  for tool in mpirun ip ssh ssh-keygen flock; do
    command -v "$tool" >/dev/null || { echo "SKIP: '$tool' is not installed (launch/setup.sh --deps-only)"; exit 77; }
  done
  [ -x /usr/sbin/sshd ] || { echo "SKIP: sshd is not installed (apt-get install openssh-server)"; exit 77; }
  for b in hearth hearthd; do
    [ -x "$build/bin/$b" ] || { echo "FAIL: $build/bin/$b is missing (build the project first)"; exit 1; }
  done
  # sshd's StrictModes refuses keys under world-writable directories such as /tmp: use the build tree.
  work=$(mktemp -d "$build/netns-e2e.XXXXXX") || exit 1
  chmod 700 "$work"
  trap 'rm -rf "$work"' EXIT
  "$src/launch/netns-cluster.sh" --hosts 4 -- bash "$0" --inner "$src" "$build" "$work"
  rc=$?
  [ "$rc" = 0 ] && echo "PASS: netns_cluster_e2e_test" || echo "netns_cluster_e2e_test: exit $rc"
  exit "$rc"
fi

# Inside netns-cluster.sh: HEARTH_NETNS_HOSTS/ADDRS name the namespaces; the first is the
# coordinator, the others are workers.
src=$2 build=$3 work=$4
read -ra hosts <<<"$HEARTH_NETNS_HOSTS"
read -ra addrs <<<"$HEARTH_NETNS_ADDRS"
coord_ns=${hosts[0]}
coordinator=${addrs[0]}:7411
entry=$src/launch/cluster-entrypoint.sh
hearth=$build/bin/hearth
failures=0
pids=()
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}
# shellcheck disable=SC2317 # called from the trap
stop_all() {
  local p
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  pids=()
}
trap stop_all EXIT

head -c 32 /dev/urandom | base64 >"$work/token"
chmod 600 "$work/token"
# What docker-compose.yml sets, with this machine's paths.
export HEARTH_SHARED=$work/shared HEARTH_DATA=$src HEARTH_STATE=$work/state HEARTH_BIN_DIR=$build/bin
export HEARTH_TOKEN_FILE=$work/token HEARTH_NET=$HEARTH_NETNS_CIDR HEARTH_SSH_PORT=2222
export HEARTH_MIN_WORKERS=3 HEARTH_WAIT_SECONDS=60 HEARTH_REFRESH_SECONDS=5
# The restart job's rank 1 dies after step 25 of its first attempt, once this script has seen a
# checkpoint stored and lets it go (fault injection: no race with the job's speed). hearthd passes
# HEARTH_* to every rank over ssh.
export HEARTH_FAULTS="rank_exit:job_name=logistic-restart,rank=1,step=25,attempt=1,mode=pause"
export HEARTH_FAULT_DIR=$work/faults
mkdir -p "$HEARTH_FAULT_DIR"
# The hosts share this machine's cores: one BLAS thread per rank, and no binding (each host
# would bind its rank to core 0, the same core for all).
export OPENBLAS_NUM_THREADS=1 HEARTH_BIND=none

# Each "host" gets a host name of its own, as each container has: Open MPI names its session
# directories after the host name, and hosts sharing one raced to create the same directory.
as_host() { # NS NAME CMD...: CMD in network namespace NS with host name NAME (exec: run it
  # as `as_host ... &`, and $! is the host's own process, which a TERM reaches)
  local ns=$1 name=$2
  shift 2
  exec ip netns exec "$ns" unshare --uts bash -c 'echo "$0" >/proc/sys/kernel/hostname && exec "$@"' \
    "$name" "$@"
}
for i in 1 2 3; do
  HEARTH_WORKER_NAME=worker$i HEARTH_SSHD_DIR=$work/sshd-$i \
    as_host "${hosts[$i]}" "worker$i" "$entry" worker >"$work/worker$i.log" 2>&1 &
  pids+=($!)
done
HEARTH_SERVE_LISTEN=0.0.0.0:7412 \
  as_host "$coord_ns" coordinator "$entry" coordinator >"$work/coordinator.log" 2>&1 &
pids+=($!)

dump_logs() {
  local f
  for f in "$work"/*.log "$work"/state/jobs/*/attempt-*/logs/*.log; do
    [ -f "$f" ] || continue
    echo "----- ${f#"$work"/} (last 30 lines)"
    tail -n 30 "$f"
  done
}

# hearthd is up when `hearth list` answers through the bridge (what the compose healthcheck runs).
up=0
for _ in $(seq 1 120); do
  if "$hearth" list --coordinator "$coordinator" --token-file "$work/token" --ca "$work/shared/tls/hearthd.crt" >/dev/null 2>&1; then
    up=1
    break
  fi
  sleep 0.5
done
if [ "$up" != 1 ]; then
  fail "hearthd did not answer on $coordinator within 60 s"
  dump_logs
  exit 1
fi
echo "coordinator up on $coordinator; hostfile:"
cat "$work/state/hostfile"
[ "$(wc -l <"$work/state/hostfile")" = 3 ] || fail "the hostfile should list 3 workers"
[ "$(find "$work/shared/hosts" -type f | wc -l)" = 3 ] || fail "3 workers should be announced in shared/hosts"
# The hostfile mode sees what the coordinator saw.
[ "$("$entry" hostfile | wc -l)" = 3 ] || fail "'cluster-entrypoint.sh hostfile' should list 3 workers"

status_field() { # JOB FIELD: a top-level field of `hearth status JOB --json`
  "$hearth" status "$1" --json --coordinator "$coordinator" --token-file "$work/token" --ca "$work/shared/tls/hearthd.crt" 2>/dev/null |
    python3 -c 'import json,sys; v=json.load(sys.stdin).get(sys.argv[1], ""); print(v if not isinstance(v,(dict,list)) else json.dumps(v))' "$2" 2>/dev/null
}

# 1. A quick job on all three workers.
echo "== quick job: logistic regression on 3 workers over ssh"
out=$("$hearth" submit "$src/examples/jobs/logistic_regression.json" --workers 3 --follow \
  --coordinator "$coordinator" --token-file "$work/token" --ca "$work/shared/tls/hearthd.crt" 2>&1)
rc=$?
echo "$out" | tail -n 5
job1=$(grep -o 'j-[0-9]\+' <<<"$out" | head -n 1)
[ "$rc" = 0 ] || fail "hearth submit --follow exited $rc"
[ "$(status_field "$job1" state)" = SUCCEEDED ] || fail "job $job1 is not SUCCEEDED"
if [ "$rc" != 0 ]; then
  dump_logs
  exit 1
fi

# 1a. The job deployed on the coordinator and asked over HTTPS, with the token and without.
echo "== deploy $job1 as model logit; an application asks it over HTTPS"
"$hearth" deploy "$job1" --name logit --coordinator "$coordinator" --token-file "$work/token" \
  --ca "$work/shared/tls/hearthd.crt" || fail "hearth deploy $job1 failed"
models_url=https://${addrs[0]}:7412/v1/models/logit:predict
reply=$(curl -sS --cacert "$work/shared/tls/hearthd.crt" -H "Authorization: Bearer $(cat "$work/token")" \
  -d '{"instances": [[1.19, 0.56]]}' "$models_url" 2>&1)
echo "$reply"
grep -q '"predictions"' <<<"$reply" || fail "the deployed model did not answer over HTTPS: $reply"
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$work/shared/tls/hearthd.crt" \
  -d '{"instances": [[1.19, 0.56]]}' "$models_url")
[ "$code" = 401 ] || fail "the model server answered $code without the token, not 401"

# 1b. MNIST on the three workers (one epoch), where the data is present (launch/fetch-mnist.sh).
if [ -s "$src/data/mnist/train-images-idx3-ubyte" ]; then
  echo "== MNIST MLP, one epoch on 3 workers"
  python3 -c 'import json, sys; s = json.load(open(sys.argv[1])); s["epochs"] = 1; json.dump(s, open(sys.argv[2], "w"))' \
    "$src/examples/jobs/mnist_mlp.json" "$work/mnist.json"
  out=$("$hearth" submit "$work/mnist.json" --workers 3 --follow \
    --coordinator "$coordinator" --token-file "$work/token" --ca "$work/shared/tls/hearthd.crt" 2>&1)
  rc=$?
  echo "$out" | tail -n 3
  job=$(grep -o 'j-[0-9]\+' <<<"$out" | head -n 1)
  if [ "$rc" != 0 ] || [ "$(status_field "$job" state)" != SUCCEEDED ]; then
    fail "the MNIST job ${job:-?} did not succeed (submit exit $rc)"
  fi
  acc=$(grep -o 'accuracy=[0-9.]*' <<<"$out" | tail -n 1 | cut -d= -f2)
  awk -v a="${acc:-0}" 'BEGIN { exit !(a > 0.8) }' || fail "MNIST validation accuracy '${acc:-?}' should be above 0.8"
else
  echo "== MNIST skipped: no data/mnist (launch/fetch-mnist.sh data/mnist)"
fi

# 2. A longer job with restarts: rank 1's `hearth worker` dies (a fault point) after the first
# checkpoint.
echo "== restart job: one worker dies mid-run"
python3 - "$src/examples/jobs/logistic_regression.json" "$work/long.json" <<'EOF'
import json, sys
spec = json.load(open(sys.argv[1]))
spec.pop("early_stopping", None)
spec.update(name="logistic-restart", epochs=150, max_restarts=1,
            checkpoint={"every_steps": 20, "keep_last": 2})
json.dump(spec, open(sys.argv[2], "w"), indent=1)
EOF
# --follow streams the job's state changes, among them the restart with the failed rank.
"$hearth" submit "$work/long.json" --workers 3 --follow --coordinator "$coordinator" \
  --token-file "$work/token" --ca "$work/shared/tls/hearthd.crt" >"$work/follow.out" 2>&1 &
follow=$!
pids+=("$follow")
job2=""
for _ in $(seq 1 40); do
  job2=$(grep -o 'j-[0-9]\+' "$work/follow.out" | head -n 1)
  [ -n "$job2" ] && break
  sleep 0.25
done
[ -n "$job2" ] || { fail "submit printed no job id: $(cat "$work/follow.out")"; dump_logs; exit 1; }

# Rank 1 waits at the fault point; once a checkpoint is stored, let it die.
for _ in $(seq 1 480); do
  [ -e "$HEARTH_FAULT_DIR/rank_exit.paused" ] && break
  sleep 0.25
done
[ -e "$HEARTH_FAULT_DIR/rank_exit.paused" ] || { fail "rank 1 never reached its fault point"; dump_logs; exit 1; }
ckpts=0
for _ in $(seq 1 480); do
  ckpts=$("$hearth" checkpoints "$job2" --json --coordinator "$coordinator" --token-file "$work/token" --ca "$work/shared/tls/hearthd.crt" 2>/dev/null |
    python3 -c 'import json,sys; d=json.load(sys.stdin); print(len(d if isinstance(d,list) else d.get("checkpoints",[])))' 2>/dev/null)
  [ "${ckpts:-0}" -gt 0 ] && break
  sleep 0.25
done
[ "${ckpts:-0}" -gt 0 ] || { fail "no checkpoint of $job2 was stored"; dump_logs; exit 1; }
echo "letting rank 1 of $job2 die (on ${addrs[2]})"
touch "$HEARTH_FAULT_DIR/rank_exit.release"

state=""
for _ in $(seq 1 480); do
  state=$(status_field "$job2" state)
  case "$state" in SUCCEEDED | FAILED | CANCELLED) break ;; esac
  sleep 0.5
done
status_text=$("$hearth" status "$job2" --coordinator "$coordinator" --token-file "$work/token" --ca "$work/shared/tls/hearthd.crt" 2>&1)
echo "$status_text" | head -n 30
[ "$state" = SUCCEEDED ] || fail "job $job2 ended '$state', not SUCCEEDED"
[ "$(status_field "$job2" restarts)" = 1 ] || fail "job $job2 should show restarts 1"
# The restart event names the failed rank: rank 1 runs on the second hostfile line (${addrs[2]}).
wait "$follow"
echo "follow output (state changes):"
grep -iE "restart|rank|fail" "$work/follow.out" | head -n 10
grep -qiE "restart.*rank 1" "$work/follow.out" ||
  fail "the job's events do not report the restart with the failed rank 1"
logs=$("$hearth" logs "$job2" --rank 0 --coordinator "$coordinator" --token-file "$work/token" --ca "$work/shared/tls/hearthd.crt" 2>&1)
grep -q resuming <<<"$logs" || fail "rank 0's log of the second attempt does not say it is resuming from a checkpoint"

[ "$failures" = 0 ] || dump_logs
stop_all
# Workers remove their entries when stopped.
sleep 0.5
left=$(find "$work/shared/hosts" -type f 2>/dev/null | wc -l)
[ "$left" = 0 ] || fail "$left worker entries left in shared/hosts after stopping"
[ "$failures" = 0 ] || exit 1
exit 0
