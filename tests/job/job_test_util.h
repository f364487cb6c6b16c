// Helpers shared by the job-spec tests: parsing inline specs and reading validation errors.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <string_view>

#include "hearth/job.h"

namespace hearth::testing {

// Whether `text` contains `part`, printing both when it does not (gmock is not linked). A template
// so that std::string, std::string_view and absl::string_view (a distinct type here) all work.
template <typename Text>
::testing::AssertionResult Contains(const Text& text, std::string_view part) {
  const std::string_view t(text.data(), text.size());
  if (t.find(part) != std::string_view::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "expected to find\n  " << part << "\nin\n  " << t;
}
template <typename Text>
::testing::AssertionResult Lacks(const Text& text, std::string_view part) {
  const std::string_view t(text.data(), text.size());
  if (t.find(part) == std::string_view::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "did not expect\n  " << part << "\nin\n  " << t;
}

// Parses `json` and fails the test (returning an empty spec) if it does not parse.
inline v1::JobSpec SpecFromJson(std::string_view json) {
  StatusOr<v1::JobSpec> spec = ParseJobSpec(json, "test.json");
  EXPECT_TRUE(spec.ok()) << spec.status();
  return spec.ok() ? *spec : v1::JobSpec();
}

// The message of ValidateJobSpec ("" when valid).
inline std::string ValidationMessage(const v1::JobSpec& spec) {
  return std::string(ValidateJobSpec(spec).message());
}

// The message of a parse failure ("" when it parsed).
inline std::string ParseMessage(std::string_view json) {
  return std::string(ParseJobSpec(json, "job.json").status().message());
}

// The repository root: tests run there, and HEARTH_SOURCE_DIR says so explicitly.
inline std::string SourceDir() {
  const char* dir = std::getenv("HEARTH_SOURCE_DIR");
  return dir != nullptr ? dir : ".";
}

// A small, valid LeNet-style classification spec; layers[2] is a conv2d.
inline constexpr std::string_view kCnnSpec = R"({
  "name": "cnn",
  "task": "CLASSIFICATION",
  "data": {
    "train": {"path": "train-images-idx3-ubyte", "labels_path": "train-labels-idx1-ubyte"},
    "validation_fraction": 0.1
  },
  "model": {
    "input_shape": [1, 28, 28],
    "layers": [
      {"conv2d": {"filters": 6, "kernel_size": 5, "padding": 2}},
      {"max_pool2d": {"kernel_size": 2}},
      {"conv2d": {"filters": 16, "kernel_size": 5, "activation": "RELU"}},
      {"max_pool2d": {"kernel_size": 2}},
      {"flatten": {}},
      {"dense": {"units": 120, "activation": "RELU"}},
      {"dropout": {"rate": 0.25}},
      {"dense": {"units": 10}}
    ]
  },
  "optimizer": {"name": "sgd", "lr": 0.05, "momentum": 0.9},
  "global_batch_size": 64,
  "epochs": 2
})";

// A valid CSV regression spec.
inline constexpr std::string_view kRegressionSpec = R"({
  "name": "reg",
  "task": "REGRESSION",
  "data": {"train": {"path": "train.csv", "label_column": "y"}},
  "model": {"layers": [{"dense": {"units": 8, "activation": "TANH"}}, {"dense": {"units": 1}}]},
  "global_batch_size": 8,
  "epochs": 1
})";

// A valid k-means spec.
inline constexpr std::string_view kKMeansSpec = R"({
  "name": "km",
  "task": "CLUSTERING",
  "data": {"train": {"path": "points.csv"}},
  "model": {"kmeans": {"k": 3}}
})";

}  // namespace hearth::testing
