// Helpers shared by the training, resume and CLI tests: the job specs they run, run-directory
// readers, in-process training with a stop point, and exact checkpoint comparison.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "ckpt/temp_dir.h"
#include "hearth/checkpoint.h"
#include "hearth/job.h"
#include "hearth/train.h"
#include "job/job_test_util.h"
#include "run/mini_json.h"

namespace hearth::testing {

inline std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

inline void WriteFileOrFail(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  ASSERT_TRUE(out.good()) << "cannot write " << path;
}

inline std::vector<std::string> SplitLines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// The CLI's failure contract: exactly one line on stderr, which mentions `part`.
inline ::testing::AssertionResult OneLineMentioning(const std::string& err, std::string_view part) {
  if (err.empty() || err.back() != '\n' || err.find('\n') != err.size() - 1)
    return ::testing::AssertionFailure() << "expected exactly one line on stderr, got:\n" << err;
  return Contains(err, part);
}

// ---- Job specs ----------------------------------------------------------------------------------

// Linear regression with a test set, 3 epochs of 10 updates.
inline constexpr char kQuickJob[] = R"({
  "name": "quick",
  "task": "REGRESSION",
  "seed": 5,
  "data": {
    "train": {"path": "examples/data/linear_regression.csv", "label_column": "y"},
    "test": {"path": "examples/data/linear_regression.csv", "label_column": "y"},
    "validation_fraction": 0.2
  },
  "model": {"layers": [{"dense": {"units": 1}}]},
  "optimizer": {"name": "sgd", "lr": 0.05},
  "global_batch_size": 16,
  "epochs": 3
})";


// A small MLP classifier on examples/data/logistic_regression.csv (string labels "no"/"yes"):
// 150 training rows in batches of 8, so 19 updates per epoch. Dropout makes the result depend on
// the random generator's state, SGD momentum on the optimizer's state, and the cosine schedule with
// warm-up on the update count: a resume that loses any of them changes the weights.
inline std::string ResumeJobJson(int epochs, int every_steps, int keep_last = 3) {
  return absl::StrFormat(R"({
  "name": "resume-mlp",
  "task": "CLASSIFICATION",
  "seed": 11,
  "data": {
    "train": {"path": "examples/data/logistic_regression.csv", "label_column": "label"},
    "validation_fraction": 0.25,
    "preprocessing": [{"standardize": {}}]
  },
  "model": {"layers": [
    {"dense": {"units": 16, "activation": "RELU"}},
    {"dropout": {"rate": 0.3}},
    {"dense": {"units": 2}}
  ]},
  "loss": {"type": "CROSS_ENTROPY"},
  "optimizer": {"name": "sgd", "lr": 0.1, "momentum": 0.9},
  "schedule": {"name": "cosine", "warmup_steps": 10, "min_lr": 0.001},
  "global_batch_size": 8,
  "epochs": %d,
  "metrics": ["accuracy", "log_loss"],
  "checkpoint": {"every_steps": %d, "keep_last": %d},
  "log_every_steps": 10
})",
                         epochs, every_steps, keep_last);
}
inline constexpr int64_t kResumeJobStepsPerEpoch = 19;

// Parses `json` and fails the test if it does not parse.
inline v1::JobSpec MustParseSpec(const std::string& json) {
  StatusOr<v1::JobSpec> spec = ParseJobSpec(json, "test-job.json");
  EXPECT_TRUE(spec.ok()) << spec.status();
  return spec.ok() ? *spec : v1::JobSpec();
}

// ---- Run directories ----------------------------------------------------------------------------

// checkpoints.json of a run directory, or nullopt when it is missing or not JSON.
inline std::optional<Json> ReadCheckpointIndex(const std::string& run_dir) {
  const std::string text = ReadFileOrEmpty(run_dir + "/checkpoints.json");
  if (text.empty()) return std::nullopt;
  return ParseJson(text);
}

// The step of the latest checkpoint the index names, or -1.
inline int64_t LatestStep(const std::string& run_dir) {
  std::optional<Json> index = ReadCheckpointIndex(run_dir);
  if (!index) return -1;
  const std::string& latest = (*index)["latest"].string;
  int64_t step = -1;
  if (std::sscanf(latest.c_str(), "ckpt-%ld.safetensors", &step) != 1) return -1;
  return step;
}

inline std::string CheckpointFile(const std::string& run_dir, int64_t step) {
  return absl::StrFormat("%s/ckpt-%d.safetensors", run_dir, step);
}

inline Checkpoint MustLoadCheckpoint(const std::string& path) {
  StatusOr<Checkpoint> c = LoadCheckpoint(Env::Default(), path);
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? *std::move(c) : Checkpoint();
}

inline int64_t MetadataInt(const Checkpoint& c, const std::string& key) {
  auto it = c.metadata.find(key);
  return it == c.metadata.end() ? -1 : std::stoll(it->second);
}

// Every tensor (weights, optimizer state, preprocessing statistics) equal byte for byte, in the
// same order with the same names, dtypes and shapes, and the same metadata.
inline ::testing::AssertionResult BitIdentical(const Checkpoint& expected, const Checkpoint& got) {
  if (expected.tensors.size() != got.tensors.size())
    return ::testing::AssertionFailure()
           << "tensor count " << got.tensors.size() << ", expected " << expected.tensors.size();
  for (size_t i = 0; i < expected.tensors.size(); ++i) {
    const NamedTensor& e = expected.tensors[i];
    const NamedTensor& g = got.tensors[i];
    if (e.name != g.name || e.tensor.dtype() != g.tensor.dtype() ||
        e.tensor.shape() != g.tensor.shape())
      return ::testing::AssertionFailure()
             << "tensor " << i << " is " << g.name << " " << g.tensor.shape().ToString()
             << ", expected " << e.name << " " << e.tensor.shape().ToString();
    const size_t bytes = e.tensor.numel() * DTypeSize(e.tensor.dtype());
    if (std::memcmp(e.tensor.raw(), g.tensor.raw(), bytes) != 0)
      return ::testing::AssertionFailure()
             << "tensor " << e.name << " differs: got " << g.tensor.ToString() << ", expected "
             << e.tensor.ToString();
  }
  for (const auto& [key, value] : expected.metadata) {
    auto it = got.metadata.find(key);
    if (it == got.metadata.end() || it->second != value)
      return ::testing::AssertionFailure() << "metadata " << key << " is \""
                                           << (it == got.metadata.end() ? "(missing)" : it->second)
                                           << "\", expected \"" << value << "\"";
  }
  if (expected.metadata.size() != got.metadata.size())
    return ::testing::AssertionFailure() << "extra metadata keys";
  return ::testing::AssertionSuccess();
}

// ---- In-process training ------------------------------------------------------------------------

// Options to train quietly into run_dir. With stop_after > 0, stop_requested turns true after
// that many updates (the trainer then saves a checkpoint and returns).
inline TrainOptions QuietOptions(const std::string& run_dir, bool resume, int64_t stop_after = 0) {
  TrainOptions options;
  options.run_dir = run_dir;
  options.resume = resume;
  options.progress.quiet = true;
  if (stop_after > 0) {
    auto polls = std::make_shared<int64_t>(0);
    options.stop_requested = [polls, stop_after] { return ++*polls >= stop_after; };
  }
  return options;
}

// Train() with QuietOptions.
inline StatusOr<TrainResult> TrainQuietly(const v1::JobSpec& spec, const std::string& run_dir,
                                          bool resume, int64_t stop_after = 0) {
  return Train(spec, QuietOptions(run_dir, resume, stop_after));
}

}  // namespace hearth::testing
