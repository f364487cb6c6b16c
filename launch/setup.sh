#!/usr/bin/env bash
# Installs Hearth's Debian dependencies (idempotently, as root or through sudo), then configures and
# builds Release into build/. A second run only checks packages and rebuilds what changed.
#
# usage: launch/setup.sh [--deps-only] [--fuzz] [--no-tests] [--build-dir DIR] [-- EXTRA_CMAKE_ARGS...]
#   --fuzz      also install clang-14 and libFuzzer (tests/fuzz/run.sh)
#   --no-tests  skip what only the tests need (Node.js and onnxruntime-node)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir="$here/build"
deps_only=0
fuzz=0
tests=1
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --deps-only) deps_only=1 ;;
    --fuzz) fuzz=1 ;;
    --no-tests) tests=0 ;;
    --build-dir) build_dir=$2; shift ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "setup.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done

# Build and runtime packages. Keep in sync with docker/Dockerfile.
packages=(
  build-essential cmake pkg-config git ca-certificates openssl python3 python3-numpy
  libopenmpi-dev openmpi-bin
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler libabsl-dev
  libopenblas-dev libgtest-dev libgmock-dev libbenchmark-dev libsqlite3-dev libssl-dev zlib1g-dev
  libboost-dev libonnx-dev curl
  iproute2 python3-grpcio python3-protobuf openssh-server openssh-client docker-compose
)

# The fuzzers (tests/fuzz/run.sh) build with clang's libFuzzer.
[ "$fuzz" = 1 ] && packages+=(clang-14 libfuzzer-14-dev)
# The ONNX export tests run the exported models in onnxruntime-node (below): Node.js and npm,
# Debian's unless the machine has its own.
if [ "$tests" = 1 ] && { ! command -v node >/dev/null || ! command -v npm >/dev/null; }; then
  packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=()
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || { echo "setup.sh: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
    sudo=(sudo)
  fi
  echo "setup.sh: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -q
  "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
[ "$deps_only" = 1 ] && exit 0

# onnxruntime-node for the tests only (tests/export): its package bundles the CPU runtime, and
# --ignore-scripts skips its install script, which would download more. Into .cache/, once.
ort_dir="$here/.cache/onnxruntime"
if [ "$tests" = 1 ] && [ ! -f "$ort_dir/node_modules/onnxruntime-node/package.json" ]; then
  mkdir -p "$ort_dir"
  if ! npm install --prefix "$ort_dir" --ignore-scripts --no-audit --no-fund \
      onnxruntime-node@1.30.0 >"$ort_dir/npm.log" 2>&1; then
    echo "setup.sh: npm could not install onnxruntime-node (see $ort_dir/npm.log);" \
      "the ONNX export tests skip their runtime half until it can" >&2
  fi
fi

jobs=$(nproc 2>/dev/null || echo 2)
if [ ! -f "$build_dir/CMakeCache.txt" ] || [ ${#extra[@]} -gt 0 ]; then
  cmake -S "$here" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release "${extra[@]}"
fi
cmake --build "$build_dir" -j "$jobs"
