#!/usr/bin/env bash
# A stand-in for launch/hearthrun in the scheduler's tests: prints what mpirun would (tagged rank
# lines) and ends as the test says, through files in $FAKE_HEARTHRUN_DIR:
#   <job>.go       exists: exit now, with the code in <job>.exit (default 0)
# A SIGUSR1 (a cancel) ends it with 130, as the workers end after saving a checkpoint.
set -u
job=""
while [ $# -gt 0 ]; do
  [ "$1" = --job ] && job=$2
  shift
done
dir=${FAKE_HEARTHRUN_DIR:?}
trap 'echo "[1,0]<stdout>:stopped"; exit 130' USR1
echo "$job started" >>"$dir/launches"
echo "[1,0]<stdout>:hello from $job"
echo "[1,0]<stderr>:warming up"
echo "not a rank line"
until [ -e "$dir/$job.go" ]; do sleep 0.02; done
code=$(cat "$dir/$job.exit" 2>/dev/null || echo 0)
[ "$code" = 0 ] || echo "[1,1]<stderr>:hearth worker: rank 1: failed on purpose"
echo "$job ended" >>"$dir/launches"
exit "$code"
