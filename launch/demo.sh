#!/usr/bin/env bash
# The main job: sets Hearth up (dependencies and build), then trains on embedded data:
#   1. the seed program, linear regression y = W*x + b with a GradientTape;
#   2. a small neural-network classifier trained in C++.
#
# usage: launch/demo.sh
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"

launch/setup.sh

echo
echo "== 1. The seed program: linear regression with a GradientTape (examples/linear_regression.cpp)"
build/examples/linear_regression
echo
echo "== 2. A classifier trained in C++ (examples/classifier.cpp)"
build/examples/classifier
