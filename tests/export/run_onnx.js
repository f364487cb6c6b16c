// Runs an ONNX model in onnxruntime-node, as an application outside Hearth would:
//   node run_onnx.js NODE_MODULES MODEL.onnx INPUT.json
// INPUT.json is {"rows": N, "features": F, "data": [N * F numbers, null for missing]}; prints one
// JSON object,
// each output's name to {"dims": [...], "data": [...]} (int64 as numbers).
const path = require('path');
const fs = require('fs');
const ort = require(path.resolve(process.argv[2], 'onnxruntime-node'));

(async () => {
  const session = await ort.InferenceSession.create(process.argv[3]);
  const input = JSON.parse(fs.readFileSync(process.argv[4], 'utf8'));
  const feeds = {};
  feeds[session.inputNames[0]] =
      new ort.Tensor('float32', Float32Array.from(input.data, (v) => (v === null ? NaN : v)),
                     [input.rows, input.features]);
  const results = await session.run(feeds);
  const out = {};
  for (const name of session.outputNames) {
    const t = results[name];
    out[name] = {dims: t.dims, data: Array.from(t.data, (v) => Number(v))};
  }
  process.stdout.write(JSON.stringify(out) + '\n');
})().catch((e) => {
  process.stderr.write(String(e && e.stack ? e.stack : e) + '\n');
  process.exit(1);
});
