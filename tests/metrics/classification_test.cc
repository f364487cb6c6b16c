// Classification metrics against hand-computed values (and numpy values computed when the test was
// written, following sklearn's definitions).
#include <gtest/gtest.h>

#include "hearth/metrics.h"
#include "hearth/random.h"
#include "metrics/metric_test_util.h"

namespace hearth {
namespace {

using testing_metrics::ExpectStreamsAndMerges;
using testing_metrics::Make;
using testing_metrics::Value;

// 8 examples, 3 classes. argmax = [0, 1, 2, 0, 1, 0, 2, 1], labels = [0, 1, 2, 1, 2, 0, 1, 1].
// Confusion (rows true): [[2, 0, 0], [1, 2, 1], [0, 1, 1]].
Tensor Logits() {
  return Tensor::FromVector(
      {2.0f, 1.0f, 0.1f, 0.5f, 2.5f, 0.3f, 0.2f, 0.1f, 3.0f, 1.5f, 1.4f, 0.2f,
       0.1f, 0.3f, 0.2f, 2.2f, 0.1f, 0.4f, 0.3f, 0.2f, 1.1f, 1.0f, 2.0f, 0.5f},
      Shape{8, 3});
}
Tensor Labels() {
  return Tensor::FromInt64({0, 1, 2, 1, 2, 0, 1, 1}, Shape{8});
}

double Metric1(const std::string& name, const Tensor& p, const Tensor& y,
               const MetricOptions& options = {}) {
  auto m = Make(name, options);
  const Status s = m->Update(p, y);
  EXPECT_TRUE(s.ok()) << s;
  return Value(*m);
}

TEST(ClassificationTest, HandComputedScores) {
  const Tensor p = Logits();
  const Tensor y = Labels();
  EXPECT_DOUBLE_EQ(Metric1("accuracy", p, y), 5.0 / 8);
  // precision [2/3, 2/3, 1/2], recall [1, 1/2, 1/2], F1 [4/5, 4/7, 1/2]
  EXPECT_DOUBLE_EQ(Metric1("precision_macro", p, y), 11.0 / 18);
  EXPECT_DOUBLE_EQ(Metric1("recall_macro", p, y), 2.0 / 3);
  EXPECT_DOUBLE_EQ(Metric1("f1_macro", p, y), (0.8 + 4.0 / 7 + 0.5) / 3);
  EXPECT_DOUBLE_EQ(Metric1("precision_micro", p, y), 5.0 / 8);
  EXPECT_DOUBLE_EQ(Metric1("recall_micro", p, y), 5.0 / 8);
  EXPECT_DOUBLE_EQ(Metric1("f1_micro", p, y), 5.0 / 8);
  // numpy: -mean(log_softmax(logits)[i, y_i])
  EXPECT_NEAR(Metric1("log_loss", p, y), 0.62029745907458, 1e-12);
}

TEST(ClassificationTest, ConfusionMatrixAndPerClassScores) {
  auto predicted = PredictedClasses(Logits(), /*from_logits=*/true);
  ASSERT_TRUE(predicted.ok());
  EXPECT_EQ(*predicted, (std::vector<int64_t>{0, 1, 2, 0, 1, 0, 2, 1}));
  ConfusionMatrix cm(3);
  const Tensor y = Labels();
  ASSERT_TRUE(cm.Add(std::span<const int64_t>(y.i64(), 8), *predicted).ok());
  EXPECT_EQ(cm.counts(), (std::vector<double>{2, 0, 0, 1, 2, 1, 0, 1, 1}));
  EXPECT_DOUBLE_EQ(cm.Precision(0), 2.0 / 3);
  EXPECT_DOUBLE_EQ(cm.Recall(1), 0.5);
  EXPECT_DOUBLE_EQ(cm.F1(1), 4.0 / 7);
  EXPECT_DOUBLE_EQ(cm.total(), 8);
  const std::vector<int64_t> bad = {0, 3};
  EXPECT_FALSE(cm.Add(bad, std::vector<int64_t>{0, 0}).ok());
  EXPECT_DOUBLE_EQ(cm.total(), 8);  // unchanged by the rejected batch
}

// Class 2 is never predicted: its precision is 0 (sklearn zero_division=0), not NaN.
TEST(ClassificationTest, ClassNeverPredictedHasZeroPrecision) {
  const Tensor predicted = Tensor::FromInt64({0, 1, 1, 1}, Shape{4});
  const Tensor y = Tensor::FromInt64({0, 1, 2, 2}, Shape{4});
  MetricOptions options;
  options.num_classes = 3;
  // precision [1, 1/3, 0], recall [1, 1, 0], F1 [1, 1/2, 0]
  EXPECT_DOUBLE_EQ(Metric1("precision_macro", predicted, y, options), 4.0 / 9);
  EXPECT_DOUBLE_EQ(Metric1("recall_macro", predicted, y, options), 2.0 / 3);
  EXPECT_DOUBLE_EQ(Metric1("f1_macro", predicted, y, options), 0.5);
  EXPECT_DOUBLE_EQ(Metric1("accuracy", predicted, y, options), 0.5);
  // Classes 3 and 4 never occur, so they do not enter the macro average (as in sklearn).
  options.num_classes = 5;
  EXPECT_DOUBLE_EQ(Metric1("precision_macro", predicted, y, options), 4.0 / 9);
  // Class ids need the number of classes, and log-loss needs scores.
  auto no_classes = Make("accuracy");
  EXPECT_FALSE(no_classes->Update(predicted, y).ok());
  auto log_loss = Make("log_loss", options);
  EXPECT_FALSE(log_loss->Update(predicted, y).ok());
}

TEST(ClassificationTest, BinaryWithOneLogitColumn) {
  // logits > 0 -> [1, 0, 0, 1, 0, 1]; labels [1, 0, 1, 1, 0, 0]: confusion [[2, 1], [1, 2]].
  const std::vector<float> s = {1.2f, -0.3f, 0.0f, 2.5f, -1.7f, 0.4f};
  const Tensor y = Tensor::FromInt64({1, 0, 1, 1, 0, 0}, Shape{6});
  for (const Shape& shape : {Shape{6}, Shape{6, 1}}) {
    const Tensor p = Tensor::FromVector(s, shape);
    EXPECT_DOUBLE_EQ(Metric1("accuracy", p, y), 4.0 / 6);
    EXPECT_DOUBLE_EQ(Metric1("f1_macro", p, y), 2.0 / 3);
    EXPECT_NEAR(Metric1("log_loss", p, y), 0.44507931475626866, 1e-12);  // numpy, sigmoid
  }
  // The same as probabilities: threshold 0.5.
  MetricOptions probs;
  probs.from_logits = false;
  const Tensor p = Tensor::FromVector({0.9f, 0.2f, 0.5f, 0.6f, 0.1f, 0.7f}, Shape{6});
  EXPECT_DOUBLE_EQ(Metric1("accuracy", p, y, probs), 4.0 / 6);
  // -mean(log [0.9, 0.8, 0.5, 0.6, 0.9, 0.3]), by hand
  const double want = -(std::log(0.9) + std::log(0.8) + std::log(0.5) + std::log(0.6) +
                        std::log(0.9) + std::log(0.3)) /
                      6;
  EXPECT_NEAR(Metric1("log_loss", p, y, probs), want, 1e-7);
}

TEST(ClassificationTest, LogLossFromProbabilitiesIsClipped) {
  MetricOptions probs;
  probs.from_logits = false;
  // The second example gives its true class probability 0: clipped to 1e-15 instead of infinity.
  const Tensor p =
      Tensor::FromVector({0.7f, 0.2f, 0.1f, 0.0f, 0.5f, 0.5f, 0.1f, 0.1f, 0.8f}, Shape{3, 3});
  const Tensor y = Tensor::FromInt64({0, 0, 2}, Shape{3});
  EXPECT_NEAR(Metric1("log_loss", p, y, probs), 11.706198297430788, 1e-6);  // numpy
  // Probabilities given as such match the logits they came from.
  std::vector<float> softmax;
  const std::vector<float> logits = Logits().ToVector();
  for (int i = 0; i < 8; ++i) {
    double sum = 0;
    for (int c = 0; c < 3; ++c) sum += std::exp(logits[i * 3 + c]);
    for (int c = 0; c < 3; ++c)
      softmax.push_back(static_cast<float>(std::exp(logits[i * 3 + c]) / sum));
  }
  EXPECT_NEAR(Metric1("log_loss", Tensor::FromVector(softmax, Shape{8, 3}), Labels(), probs),
              0.62029745907458, 1e-6);
}

TEST(ClassificationTest, StreamingAndMergingMatchOneBatch) {
  Generator gen(3);
  const int64_t n = 103;
  std::vector<float> scores;
  std::vector<int64_t> labels;
  for (int64_t i = 0; i < n; ++i) {
    labels.push_back(static_cast<int64_t>(gen.Below(4)));
    for (int c = 0; c < 4; ++c) scores.push_back(gen.Normal() + (c == labels.back() ? 1.0f : 0.0f));
  }
  const Tensor p = Tensor::FromVector(scores, Shape{n, 4});
  const Tensor y = Tensor::FromInt64(labels, Shape{n});
  for (const std::string name :
       {"accuracy", "precision_macro", "recall_macro", "f1_macro", "f1_micro", "log_loss"}) {
    ExpectStreamsAndMerges(name, {}, p, y);
  }
}

TEST(ClassificationTest, RejectsBadInput) {
  auto m = Make("accuracy");
  EXPECT_FALSE(m->Compute().ok());  // nothing seen
  EXPECT_FALSE(m->Update(Logits(), Tensor::FromInt64({0, 1}, Shape{2})).ok());
  EXPECT_FALSE(m->Update(Logits(), Tensor::FromVector(std::vector<float>(8, 0.0f))).ok());
  const Status out_of_range =
      m->Update(Logits(), Tensor::FromInt64({0, 1, 2, 3, 0, 0, 0, 0}, Shape{8}));
  ASSERT_FALSE(out_of_range.ok());
  EXPECT_NE(out_of_range.message().find("accuracy: label 3"), std::string::npos) << out_of_range;
  // The first batch fixed C = 3; four columns now is an error.
  EXPECT_FALSE(m->Update(Tensor::Zeros(Shape{2, 4}), Tensor::FromInt64({0, 1}, Shape{2})).ok());
  EXPECT_EQ(m->State().size(), 11u);  // 3 * 3 counts + log-loss and Brier sums
  EXPECT_FALSE(m->LoadState(std::vector<double>(17, 0.0)).ok());
}

TEST(ClassificationTest, DeclaredClassesGiveAStateBeforeAnyBatch) {
  MetricOptions options;
  options.num_classes = 10;
  auto idle = Make("f1_macro", options);  // a rank that saw no batch
  EXPECT_EQ(idle->State(), std::vector<double>(102, 0.0));
  auto busy = Make("f1_macro", options);
  EXPECT_FALSE(busy->Update(Logits(), Labels()).ok());  // 3 columns, 10 classes declared
}

}  // namespace
}  // namespace hearth
