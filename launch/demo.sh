#!/usr/bin/env bash
# The main job. Sets Hearth up (dependencies and build), then
#   1. runs the seed program, linear regression y = W*x + b with a GradientTape;
#   2. starts the coordinator, hearthd, with its embedded defaults (127.0.0.1:7411, state in
#      ./hearth-data), serving deployed models over HTTP on 127.0.0.1:7412;
#   3. fetches MNIST (or the 10,000-digit fallback) and submits the 784-256-256-10 MLP of
#      examples/jobs/mnist_mlp.json with 2 data-parallel workers, following it to completion;
#   4. evaluates the trained model on the test digits and predicts the first few, on hearthd;
#   5. deploys the job as model `mnist` on hearthd and asks it about the first test digit with
#      curl, as an application would (TF Serving REST);
#   6. downloads the model and serves it standalone with `hearth serve`, and asks again
#      (KServe v2);
#   7. stops hearthd.
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
echo "== 2. Starting the coordinator: build/bin/hearthd (log: hearth-data/hearthd.log)"
mkdir -p hearth-data
build/bin/hearthd --serve-listen 127.0.0.1:7412 > hearth-data/hearthd.log 2>&1 &
hearthd_pid=$!
trap 'kill "$hearthd_pid" 2>/dev/null; wait "$hearthd_pid" 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  grep -q "listening on" hearth-data/hearthd.log && break
  if ! kill -0 "$hearthd_pid" 2>/dev/null; then cat hearth-data/hearthd.log; exit 1; fi
  sleep 0.1
done
cat hearth-data/hearthd.log
export HEARTH_COORDINATOR=127.0.0.1:7411

echo
echo "== 3. MNIST on 2 workers: hearth submit examples/jobs/mnist_mlp.json --workers 2 --follow"
launch/fetch-mnist.sh data/mnist
submitted=$(build/bin/hearth submit examples/jobs/mnist_mlp.json --workers 2 --json)
job=$(python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])' <<< "$submitted")
build/bin/hearth status "$job" --follow

echo
echo "== 4. Evaluating $job on the test digits, on the coordinator"
build/bin/hearth eval "$job" --data data/mnist/t10k-images-idx3-ubyte \
  --labels data/mnist/t10k-labels-idx1-ubyte
echo
echo "== Predicting the first 8 test digits (class, then the probability of each digit)"
build/bin/hearth predict "$job" --input data/mnist/t10k-images-idx3-ubyte \
  --output hearth-data/test-predictions.csv
head -n 9 hearth-data/test-predictions.csv | cut -c1-60
echo "true labels: $(od -An -tu1 -j8 -N8 data/mnist/t10k-labels-idx1-ubyte | xargs)"
echo
build/bin/hearth checkpoints "$job"

echo
echo "== 5. Deploying $job as model mnist: hearth deploy $job --name mnist --alias production"
build/bin/hearth deploy "$job" --name mnist --alias production
build/bin/hearth models
# The first test digit as an application would send it: one row of 784 pixel values.
python3 -c 'import json, sys; d = open(sys.argv[1], "rb").read()[16:16 + 784]; print(json.dumps({"instances": [list(d)]}))' \
  data/mnist/t10k-images-idx3-ubyte > hearth-data/digit.json
echo "curl -s http://127.0.0.1:7412/v1/models/mnist/labels/production:predict -d @hearth-data/digit.json"
curl -sS "http://127.0.0.1:7412/v1/models/mnist/labels/production:predict" -d @hearth-data/digit.json | cut -c1-160
echo
echo "true label: $(od -An -tu1 -j8 -N1 data/mnist/t10k-labels-idx1-ubyte | xargs)"

echo
echo "== 6. The same model standalone: hearth download $job, then hearth serve (log: hearth-data/serve.log)"
build/bin/hearth download "$job" -o hearth-data/mnist.safetensors
build/bin/hearth serve mnist=hearth-data/mnist.safetensors --listen 127.0.0.1:0 --poll-seconds 0 \
  > hearth-data/serve.log 2>&1 &
serve_pid=$!
trap 'kill "$serve_pid" "$hearthd_pid" 2>/dev/null; wait "$serve_pid" "$hearthd_pid" 2>/dev/null || true' EXIT
port=
for _ in $(seq 100); do
  port=$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' hearth-data/serve.log)
  [ -n "$port" ] && break
  if ! kill -0 "$serve_pid" 2>/dev/null; then cat hearth-data/serve.log; exit 1; fi
  sleep 0.1
done
python3 -c 'import json, sys; d = open(sys.argv[1], "rb").read()[16:16 + 784]; print(json.dumps({"inputs": [{"name": "input", "shape": [1, 784], "datatype": "FP32", "data": list(d)}]}))' \
  data/mnist/t10k-images-idx3-ubyte > hearth-data/digit-v2.json
echo "curl -s http://127.0.0.1:$port/v2/models/mnist/infer -d @hearth-data/digit-v2.json"
curl -sS "http://127.0.0.1:$port/v2/models/mnist/infer" -d @hearth-data/digit-v2.json | cut -c1-200
echo
kill "$serve_pid"
wait "$serve_pid" 2>/dev/null || true

echo
echo "== 7. Stopping hearthd (its history and deployed models stay in hearth-data/; \`build/bin/hearthd --serve-listen 127.0.0.1:7412\` serves them again)"
