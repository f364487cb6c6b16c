// Helpers for the data-parallel integration tests: running `hearth train` under mpirun, the small
// jobs they train, and comparing the checkpoints of runs with different numbers of workers.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "ckpt/temp_dir.h"
#include "hearth/checkpoint.h"
#include "run/cli_runner.h"
#include "run/run_test_util.h"

namespace hearth::testing {

// mpirun as root needs these; tests run as root in CI containers.
inline void AllowMpiAsRoot() {
  ::setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
  ::setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
}

// `mpirun -np N hearth args...` (oversubscribed: these machines have 2 cores).
inline std::vector<std::string> MpiHearthCommand(int ranks, const std::vector<std::string>& args) {
  AllowMpiAsRoot();
  std::vector<std::string> argv = {"/usr/bin/mpirun", "-np",       std::to_string(ranks),
                                   "--oversubscribe", "--bind-to", "none",
                                   HearthBinary()};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

inline CommandResult MpiHearth(int ranks, const std::vector<std::string>& args) {
  return RunCommand(MpiHearthCommand(ranks, args));
}

// 300 rows of 4 features in 3 overlapping classes, seeded: a small problem on which float
// differences between runs would show.
inline std::string ThreeClassCsv() {
  std::string csv = "a,b,c,d,label\n";
  uint64_t state = 12345;
  auto uniform = [&state] {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<double>(state >> 11) / 9007199254740992.0;
  };
  for (int i = 0; i < 300; ++i) {
    const int label = i % 3;
    csv +=
        absl::StrFormat("%.5f,%.5f,%.5f,%.5f,%d\n", label * 0.8 + uniform() * 2 - 1,
                        uniform() * 2 - 1 + label * 0.3, uniform(), uniform() - label * 0.5, label);
  }
  return csv;
}

// An MLP classifier on `csv_path`: global batch 24 (10 steps per epoch over the 240 training
// rows), momentum, a checkpoint every 10 steps. `extra` is spliced into the top level, e.g.
// "\"deterministic\": true,".
inline std::string MlpJob(const std::string& csv_path, int epochs, const std::string& extra = "",
                          bool dropout = false, const std::string& lr = "0.1") {
  return absl::StrFormat(R"({
  "name": "parallel-mlp", "task": "CLASSIFICATION", "seed": 5, %s
  "data": {"train": {"path": "%s", "label_column": "label"}, "validation_fraction": 0.2},
  "model": {"layers": [{"dense": {"units": 16, "activation": "RELU"}}, %s {"dense": {"units": 3}}]},
  "optimizer": {"name": "sgd", "lr": %s, "momentum": 0.9},
  "global_batch_size": 24, "epochs": %d,
  "metrics": ["accuracy", "f1_macro"],
  "checkpoint": {"every_steps": 10, "keep_last": 20}
})",
                         extra, csv_path, dropout ? R"({"dropout": {"rate": 0.2}},)" : "", lr,
                         epochs);
}

// The largest relative difference ||a - b|| / ||b|| over the tensors of two checkpoints (all of
// them: weights and optimizer state), or infinity if their names or shapes differ.
inline double MaxRelativeDifference(const Checkpoint& a, const Checkpoint& b) {
  if (a.tensors.size() != b.tensors.size()) return INFINITY;
  double worst = 0;
  for (size_t i = 0; i < a.tensors.size(); ++i) {
    const Tensor& x = a.tensors[i].tensor;
    const Tensor& y = b.tensors[i].tensor;
    if (a.tensors[i].name != b.tensors[i].name || x.shape() != y.shape()) return INFINITY;
    if (x.dtype() != DType::kFloat32) continue;
    double diff = 0, norm = 0;
    for (int64_t j = 0; j < x.numel(); ++j) {
      diff += std::pow(static_cast<double>(x.f32()[j]) - y.f32()[j], 2);
      norm += std::pow(static_cast<double>(y.f32()[j]), 2);
    }
    worst = std::max(worst, std::sqrt(diff) / std::max(std::sqrt(norm), 1e-30));
  }
  return worst;
}

// Every tensor bit-identical (the metadata may differ: it records the number of workers).
inline ::testing::AssertionResult SameTensorBits(const Checkpoint& a, const Checkpoint& b) {
  if (a.tensors.size() != b.tensors.size())
    return ::testing::AssertionFailure()
           << a.tensors.size() << " vs " << b.tensors.size() << " tensors";
  for (size_t i = 0; i < a.tensors.size(); ++i) {
    const Tensor& x = a.tensors[i].tensor;
    const Tensor& y = b.tensors[i].tensor;
    if (a.tensors[i].name != b.tensors[i].name || x.shape() != y.shape() ||
        x.dtype() != y.dtype() ||
        std::memcmp(x.raw(), y.raw(), x.numel() * DTypeSize(x.dtype())) != 0)
      return ::testing::AssertionFailure() << "tensor " << a.tensors[i].name << " differs";
  }
  return ::testing::AssertionSuccess();
}

}  // namespace hearth::testing
