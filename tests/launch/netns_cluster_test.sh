#!/usr/bin/env bash
# Integration test for launch/netns-cluster.sh with launch/hearthrun: a 3-host cluster of
# network namespaces runs a real MPI job over TCP, and every namespace, link and temp file the
# script created is gone afterwards: after success, after a failing command (with a process
# left behind in a namespace), and after SIGTERM. Exits 77 (CTest skip) without root or MPI.
#
# usage: tests/launch/netns_cluster_test.sh SOURCE_DIR BUILD_DIR
#
# The MPI job depends on the mode (HEARTH_NETNS_TEST_MODE):
#   plumbing  each rank reports its namespace and address (all distinct), then an MPI allreduce
#             compiled with mpicc runs across the hosts
#   train     the above, then `hearth train examples/jobs/logistic_regression.json` as 3 ranks;
#             rank 0 must write a checkpoint to the run directory
# TODO(distributed train): make "train" the default once `hearth train` runs under mpirun.
mode=${HEARTH_NETNS_TEST_MODE:-train}
set -uo pipefail

src=${1:?usage: netns_cluster_test.sh SOURCE_DIR BUILD_DIR}
build=${2:?usage: netns_cluster_test.sh SOURCE_DIR BUILD_DIR}
cd "$src" || exit 1
case "$mode" in
  plumbing | train) ;;
  *) echo "HEARTH_NETNS_TEST_MODE must be plumbing or train, not '$mode'"; exit 2 ;;
esac
[ "$EUID" = 0 ] || { echo "SKIP: network namespaces need root"; exit 77; }
command -v mpirun >/dev/null || { echo "SKIP: mpirun not installed (launch/setup.sh --deps-only)"; exit 77; }
if [ "$mode" = train ] && [ ! -x "$build/bin/hearth" ]; then
  echo "FAIL: $build/bin/hearth is missing (build the project first)"
  exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export NETNS_TEST_TMP=$tmp NETNS_TEST_MODE=$mode NETNS_TEST_HEARTH=$build/bin/hearth
failures=0
# alive PID: the process exists and is not a zombie waiting to be reaped.
alive() {
  [ -r "/proc/$1/stat" ] && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]
}
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

# Interface and namespace names, one per line, before the cluster exists.
snapshot() {
  ip netns list | awk '{print "netns " $1}'
  ip -o link show | awk -F': ' '{sub(/@.*/, "", $2); print "link " $2}'
}
snapshot | sort >"$tmp/before"

# An MPI program for the plumbing check: an allreduce over all ranks, checked on every rank.
if command -v mpicc >/dev/null; then
  cat >"$tmp/allreduce.c" <<'EOF'
#include <mpi.h>
#include <stdio.h>
int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  static double v[1 << 18];  /* 2 MiB: several TCP segments each way */
  for (int i = 0; i < (1 << 18); ++i) v[i] = rank + 1;
  MPI_Allreduce(MPI_IN_PLACE, v, 1 << 18, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  int ok = v[0] == size * (size + 1) / 2.0 && v[(1 << 18) - 1] == v[0];
  printf("allreduce rank %d of %d: %s\n", rank, size, ok ? "ok" : "WRONG");
  MPI_Finalize();
  return ok ? 0 : 1;
}
EOF
  mpicc -O1 -o "$tmp/allreduce" "$tmp/allreduce.c" || fail "mpicc could not build the allreduce check"
fi

# The command run inside the cluster (netns-cluster.sh exports HEARTH_NETNS_*). It records what
# the cluster created, for the checks afterwards, then does what $1 asks.
cat >"$tmp/inner.sh" <<'EOF'
#!/usr/bin/env bash
# shellcheck disable=SC2016,SC2086
set -uo pipefail
label=$1
{ ip netns list | awk '{print "netns " $1}'
  ip -o link show | awk -F': ' '{sub(/@.*/, "", $2); print "link " $2}'
} | sort | comm -13 "$NETNS_TEST_TMP/before" - >"$NETNS_TEST_TMP/created-$label"
dirname "$HEARTH_NETNS_HOSTFILE" >"$NETNS_TEST_TMP/tempdir-$label"
run() { launch/hearthrun $HEARTH_NETNS_MPIRUN_ARGS "$@"; }
bad=0
case "$label" in
  ok)
    read -ra hosts <<<"$HEARTH_NETNS_HOSTS"
    read -ra addrs <<<"$HEARTH_NETNS_ADDRS"
    [ "${#hosts[@]}" = 3 ] && [ "${#addrs[@]}" = 3 ] || { echo "inner: want 3 hosts: $HEARTH_NETNS_HOSTS / $HEARTH_NETNS_ADDRS"; bad=1; }
    out=$(run -n 3 bash -c 'echo "rank=$OMPI_COMM_WORLD_RANK ns=$(ip netns identify $$) addr=$(ip -o -4 addr show eth0 | awk "{print \$4}")"')
    rc=$?
    echo "$out"
    [ "$rc" = 0 ] || { echo "inner: hearthrun failed with $rc"; bad=1; }
    [ "$(grep -c '^rank=' <<<"$out")" = 3 ] || { echo "inner: want 3 rank lines"; bad=1; }
    for i in 0 1 2; do
      line=$(grep "^rank=$i " <<<"$out")
      ns=$(sed -n 's/.* ns=\([^ ]*\) .*/\1/p' <<<"$line")
      addr=$(sed -n 's/.* addr=\([0-9.]*\)\/24$/\1/p' <<<"$line")
      [[ " ${hosts[*]} " == *" $ns "* ]] || { echo "inner: rank $i ran in '$ns', not a cluster host"; bad=1; }
      [[ " ${addrs[*]} " == *" $addr "* ]] || { echo "inner: rank $i has address '$addr', not a host's"; bad=1; }
    done
    [ "$(sed -n 's/.* ns=\([^ ]*\) .*/\1/p' <<<"$out" | sort -u | wc -l)" = 3 ] ||
      { echo "inner: the ranks did not run in 3 different namespaces"; bad=1; }
    if [ -x "$NETNS_TEST_TMP/allreduce" ]; then
      out=$(run -n 3 "$NETNS_TEST_TMP/allreduce")
      rc=$?
      echo "$out"
      [ "$rc" = 0 ] && [ "$(grep -c ': ok$' <<<"$out")" = 3 ] || { echo "inner: MPI allreduce across hosts failed ($rc)"; bad=1; }
    else
      echo "inner: no mpicc; skipping the allreduce check"
    fi
    if [ "$NETNS_TEST_MODE" = train ]; then
      run_dir=$NETNS_TEST_TMP/run
      run -n 3 "$NETNS_TEST_HEARTH" train examples/jobs/logistic_regression.json --out "$run_dir" --quiet
      rc=$?
      [ "$rc" = 0 ] || { echo "inner: distributed hearth train failed with $rc"; bad=1; }
      ls "$run_dir"/ckpt-*.safetensors >/dev/null 2>&1 || { echo "inner: no checkpoint in $run_dir"; bad=1; }
    fi
    exit "$bad"
    ;;
  fail)
    # A process left running in a host must be killed by the cleanup.
    read -ra hosts <<<"$HEARTH_NETNS_HOSTS"
    ip netns exec "${hosts[0]}" sleep 300 &
    echo $! >"$NETNS_TEST_TMP/straggler"
    # A dead rank ends the job: rank 1 fails while rank 0 would wait a minute.
    start=$SECONDS
    run -n 2 bash -c '[ "$OMPI_COMM_WORLD_RANK" = 1 ] && exit 5; sleep 60' >/dev/null 2>&1
    rc=$?
    [ "$rc" != 0 ] || { echo "inner: the job with a failing rank succeeded"; exit 1; }
    [ $((SECONDS - start)) -lt 45 ] || { echo "inner: the failing rank did not end the job promptly"; exit 1; }
    exit 7
    ;;
  hang)
    run -n 2 bash -c "echo \$\$ >$NETNS_TEST_TMP/rank-\$OMPI_COMM_WORLD_RANK.pid; exec sleep 300"
    ;;
esac
EOF

# check_gone LABEL: nothing recorded for the run LABEL exists any more.
check_gone() {
  local label=$1 kind name
  [ -s "$tmp/created-$label" ] || { fail "$label: the cluster recorded nothing (did the command run?)"; return; }
  local now
  now=$(snapshot)
  while read -r kind name; do
    if grep -qx "$kind $name" <<<"$now"; then
      fail "$label: $kind $name still exists after the cluster script ended"
    fi
  done <"$tmp/created-$label"
  grep -q '^netns ' "$tmp/created-$label" || fail "$label: no namespace was recorded"
  grep -q '^link hbr' "$tmp/created-$label" || fail "$label: no bridge was recorded"
  local dir
  dir=$(cat "$tmp/tempdir-$label")
  [ ! -e "$dir" ] || fail "$label: temp dir $dir still exists"
}

echo "== 3 hosts, rate 1gbit: ranks in distinct namespaces, MPI over TCP ($mode)"
launch/netns-cluster.sh --hosts 3 --rate 1gbit -- bash "$tmp/inner.sh" ok
rc=$?
[ "$rc" = 77 ] && { echo "SKIP: netns-cluster.sh cannot create namespaces here"; exit 77; }
[ "$rc" = 0 ] || fail "the cluster job failed with exit status $rc"
check_gone ok

echo "== a failing command: its exit status is kept and the cluster is removed"
launch/netns-cluster.sh --hosts 2 --delay 1ms -- bash "$tmp/inner.sh" fail
rc=$?
[ "$rc" = 7 ] || fail "netns-cluster.sh returned $rc, want the command's 7"
check_gone fail
if [ -s "$tmp/straggler" ] && alive "$(cat "$tmp/straggler")"; then
  fail "a process started in a host namespace survived the cleanup"
fi

echo "== SIGTERM during a job: the job stops and the cluster is removed"
launch/netns-cluster.sh --hosts 2 -- bash "$tmp/inner.sh" hang &
pid=$!
for _ in $(seq 1 300); do
  [ -e "$tmp/rank-0.pid" ] && [ -e "$tmp/rank-1.pid" ] && break
  sleep 0.1
done
[ -e "$tmp/rank-1.pid" ] || fail "the ranks of the SIGTERM job did not start"
kill -TERM "$pid"
wait "$pid"
rc=$?
[ "$rc" = 143 ] || fail "after SIGTERM netns-cluster.sh returned $rc, want 143"
check_gone hang
for f in "$tmp"/rank-*.pid; do
  [ -e "$f" ] || continue
  if alive "$(cat "$f")"; then fail "rank process $(cat "$f") survived SIGTERM"; fi
done

if [ "$failures" -gt 0 ]; then
  echo "netns_cluster_test: $failures failure(s)"
  exit 1
fi
echo "netns_cluster_test: all checks passed"
