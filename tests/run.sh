#!/usr/bin/env bash
# The test command: installs dependencies, builds, and runs the whole suite with CTest.
#
# usage: tests/run.sh [--sanitize | --tsan] [CTEST_ARGS...]
#   --sanitize   build with AddressSanitizer + UndefinedBehaviorSanitizer into build-sanitize/
#                (Debug) and run the suite there.
#   --tsan       build with ThreadSanitizer into build-tsan/ and run the concurrent parts: the
#                coordinator's (store, scheduler, log pump, event hub, model cache, credentials),
#                the async checkpoint saver and the gradient reducer (also under mpirun).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"

build_dir=build
setup_args=()
ctest_args=()
case "${1:-}" in
  --sanitize)
    shift
    build_dir=build-sanitize
    setup_args=(--build-dir "$here/$build_dir" -- -DCMAKE_BUILD_TYPE=Debug -DHEARTH_SANITIZE=ON
                -DHEARTH_BUILD_BENCH=OFF)
    ;;
  --tsan)
    shift
    build_dir=build-tsan
    setup_args=(--build-dir "$here/$build_dir" -- -DCMAKE_BUILD_TYPE=RelWithDebInfo
                -DHEARTH_SANITIZE=thread -DHEARTH_BUILD_BENCH=OFF)
    # In process, where every synchronisation is Hearth's own: gRPC and Abseil are Debian's
    # uninstrumented builds, whose internal hand-offs TSan cannot see (it reports them as races).
    ctest_args=(-R "JobStore|Scheduler|ModelCache|EventHub|JobLogs|RotatingLog|WorkerCredentials|JobSession|FaultInjection|AsyncCheckpointSaver|Reducer|dist_mpi")
    # Every report fails the test; Open MPI's own threads are not instrumented (tests/tsan.supp).
    export TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1 suppressions=$here/tests/tsan.supp"
    ;;
esac

if [ ${#setup_args[@]} -gt 0 ] && [ -f "$here/$build_dir/CMakeCache.txt" ]; then
  # Configured already: rebuild what changed (the options are in the cache).
  launch/setup.sh --build-dir "$here/$build_dir"
else
  launch/setup.sh "${setup_args[@]}"
fi

# Open MPI refuses to run as root unless told; the MPI tests launch mpirun.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
jobs=$(nproc 2>/dev/null || echo 2)
ctest --test-dir "$build_dir" --output-on-failure -j "$jobs" --timeout 600 "${ctest_args[@]}" "$@"
