#!/usr/bin/env bash
# The main job: sets Hearth up (dependencies and build), then
#   1. runs the seed program, linear regression y = W*x + b with a GradientTape;
#   2. trains a small neural-network classifier written in C++;
#   3. fetches MNIST (or the 10,000-digit fallback) and trains the 784-256-256-10 MLP of
#      examples/jobs/mnist_mlp.json with `hearth train`, then evaluates it and predicts a few
#      test digits from the checkpoint.
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

echo
echo "== 3. MNIST: hearth train examples/jobs/mnist_mlp.json"
launch/fetch-mnist.sh data/mnist
run_dir=runs/demo-mnist-mlp
rm -rf "$run_dir"
build/bin/hearth train examples/jobs/mnist_mlp.json --out "$run_dir"
checkpoint=$(ls -t "$run_dir"/ckpt-*.safetensors | head -n 1)

echo
echo "== Evaluating $checkpoint on the test digits"
build/bin/hearth eval "$checkpoint" --data data/mnist/t10k-images-idx3-ubyte \
  --labels data/mnist/t10k-labels-idx1-ubyte

echo
echo "== Predicting the first 8 test digits (class, then the probability of each digit)"
build/bin/hearth predict "$checkpoint" --input data/mnist/t10k-images-idx3-ubyte \
  --output "$run_dir/test-predictions.csv"
head -n 9 "$run_dir/test-predictions.csv" | cut -c1-60
echo "true labels: $(od -An -tu1 -j8 -N8 data/mnist/t10k-labels-idx1-ubyte | xargs)"
echo
echo "Run directory: $run_dir (metrics.jsonl, curves.svg, checkpoints)"
