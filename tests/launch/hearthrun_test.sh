#!/usr/bin/env bash
# Integration test for launch/hearthrun: the mpirun command lines it builds (--dry-run) and a
# real two-rank local run. Exits 77 (CTest skip) without Open MPI.
#
# usage: tests/launch/hearthrun_test.sh SOURCE_DIR [BUILD_DIR]
# shellcheck disable=SC2016 # rank commands are single-quoted so the ranks expand them
set -uo pipefail

src=${1:?usage: hearthrun_test.sh SOURCE_DIR [BUILD_DIR]}
hearthrun=$src/launch/hearthrun
command -v mpirun >/dev/null || { echo "SKIP: mpirun not installed (launch/setup.sh --deps-only)"; exit 77; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0

fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

# expect_has OUTPUT NEEDLE WHAT / expect_lacks OUTPUT NEEDLE WHAT: substring checks.
expect_has() {
  [[ " $1 " == *" $2 "* ]] || fail "$3: expected '$2' in: $1"
}
expect_lacks() {
  [[ " $1 " != *" $2 "* ]] || fail "$3: did not expect '$2' in: $1"
}

# Scrub inherited variables so the assertions do not depend on the caller's shell.
unset HEARTH_BLAS_THREADS OPENBLAS_NUM_THREADS
cores=$(nproc)

out=$("$hearthrun" --help) || fail "--help exits non-zero"
expect_has "$out" "usage:" "--help"
for flag in --hostfile --hosts --net --rsh-agent --ssh-key --ssh-port --bind --output-dir --dry-run --mca; do
  [[ $out == *"$flag"* ]] || fail "--help does not mention $flag"
done

# Oversubscription and binding follow the slot count (this machine's cores here).
out=$("$hearthrun" --dry-run -n $((cores + 1)) hostname)
expect_has "$out" "--oversubscribe" "more ranks than cores"
expect_has "$out" "--bind-to none" "more ranks than cores"
expect_has "$out" "-np $((cores + 1))" "-n"
out=$("$hearthrun" --dry-run -n "$cores" hostname)
expect_lacks "$out" "--oversubscribe" "one rank per core"
expect_has "$out" "--bind-to core --map-by core" "one rank per core"
out=$("$hearthrun" --dry-run hostname)
expect_has "$out" "-np $cores" "default -n"
out=$("$hearthrun" --dry-run --bind none -n 1 hostname)
expect_has "$out" "--bind-to none" "--bind none"

if [ "$EUID" = 0 ]; then
  expect_has "$out" "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1" "root"
else
  expect_lacks "$out" "OMPI_ALLOW_RUN_AS_ROOT=1" "not root"
fi

# Environment passthrough: HEARTH_* and OPENBLAS_* only.
out=$(HEARTH_FOO='x y' OPENBLAS_VERBOSE=2 UNRELATED_VAR=1 "$hearthrun" --dry-run -n 1 hostname)
expect_has "$out" "-x HEARTH_FOO" "HEARTH_* passthrough"
expect_has "$out" "-x OPENBLAS_VERBOSE" "OPENBLAS_* passthrough"
expect_lacks "$out" "-x UNRELATED_VAR" "other variables"

out=$("$hearthrun" --dry-run --net 10.9.0.0/24 -n 1 hostname)
expect_has "$out" "--mca btl tcp,self --mca btl_tcp_if_include 10.9.0.0/24 --mca oob_tcp_if_include 10.9.0.0/24" "--net"

# Hostfile slots: slots= summed, 1 for a bare line, comments ignored.
printf '# cluster\nnode1 slots=2\nnode2 slots=3 # big one\n\nnode3\n' >"$tmp/hosts"
out=$("$hearthrun" --dry-run --hostfile "$tmp/hosts" hostname)
expect_has "$out" "-np 6" "hostfile slot sum"
expect_lacks "$out" "--oversubscribe" "hostfile, -n = slots"
out=$("$hearthrun" --dry-run --hostfile "$tmp/hosts" -n 7 hostname)
expect_has "$out" "--oversubscribe" "hostfile, -n > slots"
out=$("$hearthrun" --dry-run --hosts a:2,b hostname)
expect_has "$out" "-np 3 --host a:2,b" "--hosts"

out=$("$hearthrun" --dry-run --rsh-agent /opt/agent --hosts a,b hostname)
expect_has "$out" "--mca plm_rsh_agent /opt/agent --mca routed direct" "--rsh-agent"
touch "$tmp/key"
out=$("$hearthrun" --dry-run --ssh-key "$tmp/key" --ssh-port 2222 --hosts a,b hostname)
expect_has "$out" "--mca plm_rsh_agent 'ssh -i $tmp/key -p 2222 -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes'" "--ssh-key/--ssh-port"
out=$("$hearthrun" --dry-run --output-dir "$tmp/logs" --mca btl_base_verbose 0 -n 1 -- hostname -s)
expect_has "$out" "--output-filename $tmp/logs" "--output-dir"
expect_has "$out" "--mca btl_base_verbose 0 hostname -s" "--mca and the command last"

# The dry-run line is shell-quoted: evaluating it gives back the same words.
out=$("$hearthrun" --dry-run -n 1 -- bash -c "echo it's \"quoted\"")
eval "set -- $out"
[ "${*: -1}" = "echo it's \"quoted\"" ] || fail "dry-run quoting: last word is '${*: -1}'"

# Usage errors: a one-line reason and exit status 2.
for bad in "--bogus hostname" "-n zero hostname" "--bind wrong hostname" "--net eth0 hostname" ""; do
  # shellcheck disable=SC2086 # split on purpose
  err=$("$hearthrun" $bad 2>&1 >/dev/null)
  rc=$?
  if [ "$rc" != 2 ] || [[ $err != hearthrun:* ]]; then
    fail "'hearthrun $bad' gave rc=$rc, stderr: $err"
  fi
done
err=$(PATH=/nonexistent /bin/bash "$hearthrun" -n 1 hostname 2>&1)
rc=$?
if [ "$rc" != 127 ] || [[ $err != *"launch/setup.sh"* ]]; then
  fail "missing mpirun: rc=$rc, message: $err"
fi

# A real run: two ranks, each prints a line; the variables reach the ranks; exit status kept.
out=$(HEARTH_FOO=bar "$hearthrun" -n 2 -- bash -c 'echo "rank $OMPI_COMM_WORLD_RANK $HEARTH_FOO"' 2>&1)
rc=$?
[ "$rc" = 0 ] || fail "hearthrun -n 2: rc=$rc, output: $out"
[ "$(grep -c '^rank [01] bar$' <<<"$out")" = 2 ] || fail "hearthrun -n 2: expected two rank lines, got: $out"
out=$("$hearthrun" -n 2 hostname 2>&1)
[ "$(wc -l <<<"$out")" = 2 ] || fail "hearthrun -n 2 hostname: expected two lines, got: $out"
"$hearthrun" -n 2 -- bash -c 'exit $((OMPI_COMM_WORLD_RANK == 1 ? 3 : 0))' >/dev/null 2>&1
rc=$?
[ "$rc" != 0 ] || fail "a failing rank must make hearthrun fail"

if [ "$failures" -gt 0 ]; then
  echo "hearthrun_test: $failures failure(s)"
  exit 1
fi
echo "hearthrun_test: all checks passed"
