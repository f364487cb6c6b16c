// The binary metrics (precision, recall, f1 of the positive class, brier_score) in a training run:
// reported for a two-class job, and refused before any training for more classes, naming what to
// use instead.
#include <gtest/gtest.h>

#include <filesystem>

#include "absl/strings/match.h"
#include "hearth/job.h"
#include "hearth/train.h"
#include "run/run_test_util.h"

namespace hearth {
namespace {

v1::JobSpec Spec(const std::string& csv, const std::string& metrics, int units) {
  return testing::MustParseSpec(R"({"name": "binary", "task": "CLASSIFICATION", "seed": 2,
    "data": {"train": {"path": ")" +
                                csv + R"(", "label_column": "label"},
             "validation_fraction": 0.25, "preprocessing": [{"standardize": {}}]},
    "model": {"layers": [{"dense": {"units": )" +
                                std::to_string(units) + R"(}}]},
    "optimizer": {"name": "sgd", "lr": 0.1}, "global_batch_size": 16, "epochs": 2,
    "metrics": )" + metrics + "}");
}

TEST(BinaryMetricsTest, ATwoClassJobReportsThemAndMoreClassesAreRefusedFirst) {
  const std::string dir = std::filesystem::temp_directory_path() /
                          ("hearth-binary-metrics-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  v1::JobSpec two = Spec("examples/data/logistic_regression.csv",
                         R"(["precision", "recall", "f1", "brier_score", "f1_weighted"])", 2);
  two.mutable_loss()->set_type(v1::CROSS_ENTROPY);
  StatusOr<TrainResult> trained = testing::TrainQuietly(two, dir + "/two", false);
  ASSERT_TRUE(trained.ok()) << trained.status();
  std::vector<std::string> names;
  for (const auto& [name, value] : trained->validation_metrics) {
    names.push_back(name);
    EXPECT_GE(value, 0.0) << name;
    EXPECT_LE(value, 1.0) << name;
  }
  EXPECT_EQ(names, (std::vector<std::string>{"loss", "precision", "recall", "f1", "brier_score",
                                             "f1_weighted"}));

  // Three classes (the blobs): f1 has no positive class there.
  const std::string csv = dir + "/three.csv";
  std::string rows = "x,y,label\n";
  for (int i = 0; i < 30; ++i)
    rows +=
        std::to_string(i % 3) + "," + std::to_string(i % 5) + "," + std::to_string(i % 3) + "\n";
  testing::WriteFileOrFail(csv, rows);
  v1::JobSpec three = Spec(csv, R"(["accuracy", "f1"])", 3);
  const StatusOr<TrainResult> refused = testing::TrainQuietly(three, dir + "/three", false);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(refused.status().message(),
                                "metrics: f1: a binary metric, for two classes with pos_label 0 "
                                "or 1 (this data has 3 classes, pos_label 1); use f1_macro or "
                                "f1_weighted for more classes"))
      << refused.status();
  EXPECT_FALSE(std::filesystem::exists(dir + "/three/metrics.jsonl")) << "nothing trained";
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace hearth
