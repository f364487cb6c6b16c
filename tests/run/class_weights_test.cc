// Correcting class imbalance end to end. loss.class_weight "balanced": on a 9:1 table it raises
// the rare class's recall over the unweighted fit, the weights it resolved are saved in the
// checkpoint, and evaluation reports the loss training minimized. data.sampling BALANCED raises
// the recall the same way by showing the model as many rare rows as common ones.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "hearth/checkpoint.h"
#include "hearth/env.h"
#include "hearth/job.h"
#include "hearth/train.h"
#include "run/run_test_util.h"

namespace hearth {
namespace {

// Two overlapping clouds, 900 rows of class 0 and 100 of class 1.
std::string ImbalancedCsv() {
  std::mt19937 rng(11);
  std::normal_distribution<double> noise(0, 1);
  std::string csv = "x1,x2,label\n";
  for (int i = 0; i < 1000; ++i) {
    const int y = i % 10 == 0 ? 1 : 0;
    absl::StrAppendFormat(&csv, "%.4f,%.4f,%d\n", noise(rng) + 1.2 * y, noise(rng) + 1.2 * y, y);
  }
  return csv;
}

std::string Spec(const std::string& data, const std::string& loss,
                 const std::string& data_extra = "") {
  return absl::StrFormat(R"({
    "name": "imbalanced", "task": "CLASSIFICATION", "seed": 3, "deterministic": true,
    "data": {"train": {"path": "%s", "label_column": "label"}, %s
             "preprocessing": [{"standardize": {}}]},
    "model": {"layers": [{"dense": {"units": 2}}]},
    "loss": %s,
    "optimizer": {"name": "sgd", "lr": 0.2},
    "global_batch_size": 50, "epochs": 20,
    "metrics": ["accuracy", "recall_macro"]
  })",
                         data, data_extra, loss);
}

double Metric(const MetricResults& results, const std::string& name) {
  for (const auto& [n, v] : results)
    if (n == name) return v;
  return NAN;
}

// Trains Spec(data, loss, data_extra) into `run_dir`; its checkpoint, or "" after a failure.
std::string TrainImbalanced(const std::string& data, const std::string& loss,
                            const std::string& run_dir, const std::string& data_extra = "") {
  StatusOr<v1::JobSpec> spec = ParseJobSpec(Spec(data, loss, data_extra), "job.json");
  EXPECT_TRUE(spec.ok()) << spec.status();
  if (!spec.ok()) return "";
  StatusOr<TrainResult> result = testing::TrainQuietly(*spec, run_dir, false);
  EXPECT_TRUE(result.ok()) << result.status();
  return result.ok() ? result->checkpoint : std::string();
}

// The share of the rows of class 1 in `data` that `checkpoint` predicts as class 1.
double RecallOfClass1(const std::string& checkpoint, const std::string& data) {
  auto model = TrainedModel::Load(checkpoint);
  EXPECT_TRUE(model.ok()) << model.status();
  if (!model.ok()) return NAN;
  auto rows = (*model)->ReadData(data);
  EXPECT_TRUE(rows.ok()) << rows.status();
  auto predictions = (*model)->Predict(rows->features);
  EXPECT_TRUE(predictions.ok());
  int64_t hits = 0, positives = 0;
  for (size_t i = 0; i < predictions->size(); ++i) {
    if (rows->labels.i64()[i] != 1) continue;
    ++positives;
    hits += (*predictions)[i].class_id == 1;
  }
  return static_cast<double>(hits) / static_cast<double>(positives);
}

TEST(ClassWeightsTest, BalancedRaisesTheRareClassRecallAndIsSaved) {
  testing::TempDir dir;
  const std::string data = dir.file("imbalanced.csv");
  testing::WriteFileOrFail(data, ImbalancedCsv());

  const auto train = [&](const std::string& loss, const std::string& run) {
    return TrainImbalanced(data, loss, dir.file(run));
  };
  const std::string plain = train(R"({"type": "CROSS_ENTROPY"})", "plain");
  const std::string balanced =
      train(R"({"type": "CROSS_ENTROPY", "class_weight": "balanced"})", "balanced");
  ASSERT_FALSE(plain.empty());
  ASSERT_FALSE(balanced.empty());

  // compute_class_weight("balanced") on 900 and 100 rows: 1000 / (2 * n_c).
  StatusOr<Checkpoint> saved = LoadCheckpoint(Env::Default(), balanced);
  ASSERT_TRUE(saved.ok()) << saved.status();
  EXPECT_EQ(saved->metadata.at("class_weights"), "0.555555582,5");
  StatusOr<Checkpoint> unweighted = LoadCheckpoint(Env::Default(), plain);
  ASSERT_TRUE(unweighted.ok());
  EXPECT_EQ(unweighted->metadata.count("class_weights"), 0u);

  const double before = RecallOfClass1(plain, data), after = RecallOfClass1(balanced, data);
  EXPECT_LT(before, 0.35) << "unweighted, the rare class is mostly predicted as the common one";
  EXPECT_GT(after, 0.6) << "balanced weights trade precision for the rare class's recall";

  // Evaluation reports the weighted loss: the mean of w_y * CE over the rows.
  auto model = TrainedModel::Load(balanced);
  ASSERT_TRUE(model.ok());
  auto rows = (*model)->ReadData(data);
  ASSERT_TRUE(rows.ok());
  auto metrics = (*model)->Evaluate(*rows);
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  auto outputs = (*model)->Outputs(rows->features);
  ASSERT_TRUE(outputs.ok());
  const float* logits = outputs->f32();
  double weighted = 0;
  for (int64_t i = 0; i < rows->size(); ++i) {
    const int64_t y = rows->labels.i64()[i];
    const double m = std::max(logits[2 * i], logits[2 * i + 1]);
    const double log_z =
        m + std::log(std::exp(logits[2 * i] - m) + std::exp(logits[2 * i + 1] - m));
    weighted += (y == 1 ? 5.0 : 1.0 / 1.8) * (log_z - logits[2 * i + y]);
  }
  EXPECT_NEAR(Metric(*metrics, "loss"), weighted / static_cast<double>(rows->size()), 1e-4);
}

TEST(ClassWeightsTest, ExplicitWeightsMustMatchTheClasses) {
  testing::TempDir dir;
  const std::string data = dir.file("imbalanced.csv");
  testing::WriteFileOrFail(data, ImbalancedCsv());
  StatusOr<v1::JobSpec> spec = ParseJobSpec(
      Spec(data, R"({"type": "CROSS_ENTROPY", "class_weights": [1, 2, 3]})"), "job.json");
  ASSERT_TRUE(spec.ok()) << spec.status();
  StatusOr<TrainResult> result = testing::TrainQuietly(*spec, dir.file("run"), false);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().message(),
            "loss.class_weights: 3 weights for 2 classes; give one per class, in class-id order");
}

TEST(ClassWeightsTest, BalancedSamplingRaisesTheRareClassRecallLikeTheWeights) {
  testing::TempDir dir;
  const std::string data = dir.file("imbalanced.csv");
  testing::WriteFileOrFail(data, ImbalancedCsv());
  const std::string loss = R"({"type": "CROSS_ENTROPY"})";
  const std::string plain = TrainImbalanced(data, loss, dir.file("plain"));
  const std::string sampled =
      TrainImbalanced(data, loss, dir.file("sampled"), R"("sampling": "BALANCED",)");
  ASSERT_FALSE(plain.empty());
  ASSERT_FALSE(sampled.empty());
  EXPECT_LT(RecallOfClass1(plain, data), 0.35);
  EXPECT_GT(RecallOfClass1(sampled, data), 0.6)
      << "half of every epoch is the rare class, so the model stops ignoring it";
  // The epoch keeps its size: 1000 rows in batches of 50, 20 epochs.
  EXPECT_EQ(CheckpointStepOfFileName(std::filesystem::path(sampled).filename().string()), 400);
}

}  // namespace
}  // namespace hearth
