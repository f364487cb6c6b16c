#!/usr/bin/env bash
# The test command: installs dependencies, builds, and runs the whole suite with CTest.
#
# usage: tests/run.sh [--sanitize] [CTEST_ARGS...]
#   --sanitize   build with AddressSanitizer + UndefinedBehaviorSanitizer into build-sanitize/
#                (Debug) and run the suite there.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"

build_dir=build
setup_args=()
if [ "${1:-}" = "--sanitize" ]; then
  shift
  build_dir=build-sanitize
  setup_args=(--build-dir "$here/$build_dir" -- -DCMAKE_BUILD_TYPE=Debug -DHEARTH_SANITIZE=ON
              -DHEARTH_BUILD_BENCH=OFF)
fi

launch/setup.sh "${setup_args[@]}"

# Open MPI refuses to run as root unless told; the MPI tests launch mpirun.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
jobs=$(nproc 2>/dev/null || echo 2)
ctest --test-dir "$build_dir" --output-on-failure -j "$jobs" --timeout 600 "$@"
