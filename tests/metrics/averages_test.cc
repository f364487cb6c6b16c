// Weighted and binary precision, recall and F1, and the Brier score, against scikit-learn 1.2.1
// (python3-sklearn) on the same predictions; the reference values were computed with
//   precision_score / recall_score / f1_score(y, y_pred, average="weighted", zero_division=0)
//   precision_score / recall_score / f1_score(y, y_pred, pos_label=P)   (average="binary")
//   brier_score_loss(y, p(P), pos_label=P)
// and are stored here, so the suite needs no Python.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "hearth/metrics.h"

namespace hearth {
namespace {

double Computed(const std::string& name, const Tensor& predictions, const Tensor& labels,
                MetricOptions options = {}) {
  StatusOr<std::unique_ptr<Metric>> m = MakeMetric(name, options);
  EXPECT_TRUE(m.ok()) << m.status();
  EXPECT_TRUE((*m)->Update(predictions, labels).ok()) << name;
  StatusOr<double> v = (*m)->Compute();
  EXPECT_TRUE(v.ok()) << v.status();
  return v.value_or(NAN);
}

TEST(AveragesTest, WeightedMatchesScikitLearn) {
  const std::vector<int64_t> y = {0, 1, 2, 2, 1, 0, 2, 1, 1, 0, 2, 2};
  const std::vector<int64_t> predicted = {0, 2, 2, 2, 1, 0, 1, 1, 0, 0, 2, 1};
  MetricOptions options;
  options.num_classes = 3;
  const Tensor p = Tensor::FromInt64(predicted, Shape{12});
  const Tensor labels = Tensor::FromInt64(y, Shape{12});
  EXPECT_NEAR(Computed("precision_weighted", p, labels, options), 0.6666666666666666, 1e-12);
  EXPECT_NEAR(Computed("recall_weighted", p, labels, options), 0.6666666666666666, 1e-12);
  EXPECT_NEAR(Computed("f1_weighted", p, labels, options), 0.6587301587301586, 1e-12);
}

// One probability per example (the positive class's), thresholded at 0.5.
const std::vector<int64_t> kBinaryLabels = {0, 1, 1, 0, 1, 1, 0, 0, 1, 1, 1, 0};
const std::vector<float> kProbabilities = {0.1f, 0.8f, 0.4f,  0.6f, 0.9f,  0.6f,
                                           0.7f, 0.2f, 0.55f, 0.3f, 0.95f, 0.45f};

TEST(AveragesTest, BinaryForEitherPositiveClassMatchesScikitLearn) {
  const Tensor p = Tensor::FromVector(kProbabilities, Shape{12});
  const Tensor labels = Tensor::FromInt64(kBinaryLabels, Shape{12});
  MetricOptions options;
  options.from_logits = false;
  EXPECT_NEAR(Computed("precision", p, labels, options), 0.7142857142857143, 1e-12);
  EXPECT_NEAR(Computed("recall", p, labels, options), 0.7142857142857143, 1e-12);
  EXPECT_NEAR(Computed("f1", p, labels, options), 0.7142857142857143, 1e-12);
  EXPECT_NEAR(Computed("brier_score", p, labels, options), 0.19729166666666664, 1e-7);
  options.pos_label = 0;
  EXPECT_NEAR(Computed("precision", p, labels, options), 0.6, 1e-12);
  EXPECT_NEAR(Computed("recall", p, labels, options), 0.6, 1e-12);
  EXPECT_NEAR(Computed("f1", p, labels, options), 0.6, 1e-12);
  EXPECT_NEAR(Computed("brier_score", p, labels, options), 0.19729166666666664, 1e-7);
}

// The same probabilities as two logits per example: softmax([0, logit(p)]) gives p back.
TEST(AveragesTest, BrierFromTwoLogitsPerExample) {
  std::vector<float> logits;
  for (float p : kProbabilities) {
    logits.push_back(0.0f);
    logits.push_back(std::log(p / (1.0f - p)));
  }
  const Tensor scores = Tensor::FromVector(logits, Shape{12, 2});
  EXPECT_NEAR(Computed("brier_score", scores, Tensor::FromInt64(kBinaryLabels, Shape{12})),
              0.19729166666666664, 1e-6);
}

TEST(AveragesTest, BinaryMetricsRefuseMoreClassesAndSayWhatToUse) {
  auto m = MakeMetric("f1");
  ASSERT_TRUE(m.ok());
  ASSERT_TRUE((*m)->Update(Tensor::Zeros(Shape{2, 3}), Tensor::FromInt64({0, 2}, Shape{2})).ok());
  const StatusOr<double> v = (*m)->Compute();
  EXPECT_EQ(v.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(v.status().message().find("use f1_macro or f1_weighted"), std::string::npos)
      << v.status();
  auto brier = MakeMetric("brier_score");
  ASSERT_TRUE(brier.ok());
  const Status s =
      (*brier)->Update(Tensor::Zeros(Shape{2, 3}), Tensor::FromInt64({0, 2}, Shape{2}));
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("use log_loss"), std::string::npos) << s;
  MetricOptions negative;
  negative.pos_label = -1;
  EXPECT_FALSE(MakeMetric("precision", negative).ok());
  // Declared classes: refused when made, before any data.
  MetricOptions three;
  three.num_classes = 3;
  const auto declared = MakeMetric("recall", three);
  EXPECT_EQ(declared.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(declared.status().message().find(
                "recall: a binary metric, for two classes with pos_label 0 or 1 (this data has 3 "
                "classes, pos_label 1); use recall_macro or recall_weighted for more classes"),
            std::string::npos)
      << declared.status();
  EXPECT_TRUE(MakeMetric("recall_macro", three).ok());
}

// sklearn's mean_absolute_percentage_error, one column (a zero target divides by machine epsilon)
// and two (averaged over the columns).
TEST(AveragesTest, MapeMatchesScikitLearn) {
  const Tensor y = Tensor::FromVector({3.0f, 2.0f, 7.0f, 1.5f, -0.5f}, Shape{5});
  const Tensor p = Tensor::FromVector({2.5f, 2.0f, 8.0f, 1.0f, 0.0f}, Shape{5});
  EXPECT_NEAR(Computed("mape", p, y), 0.32857142857142857, 1e-7);
  const Tensor y2 = Tensor::FromVector({0.5f, 1.0f, -1.0f, 1.0f, 7.0f, -6.0f}, Shape{3, 2});
  const Tensor p2 = Tensor::FromVector({0.0f, 2.0f, -1.0f, 2.0f, 8.0f, -5.0f}, Shape{3, 2});
  EXPECT_NEAR(Computed("mape", p2, y2), 0.5515873015873016, 1e-7);
  const Tensor zero = Tensor::FromVector({0.0f}, Shape{1});
  EXPECT_NEAR(Computed("mape", Tensor::FromVector({0.1f}, Shape{1}), zero) /
                  (0.1f / std::numeric_limits<double>::epsilon()),
              1.0, 1e-6);
}

// Summed states merge across ranks: two halves give the whole's Brier score.
TEST(AveragesTest, BrierStatesMergeAcrossRanks) {
  MetricOptions options;
  options.from_logits = false;
  auto a = MakeMetric("brier_score", options), b = MakeMetric("brier_score", options);
  ASSERT_TRUE(a.ok() && b.ok());
  const std::vector<float> p1(kProbabilities.begin(), kProbabilities.begin() + 5),
      p2(kProbabilities.begin() + 5, kProbabilities.end());
  const std::vector<int64_t> y1(kBinaryLabels.begin(), kBinaryLabels.begin() + 5),
      y2(kBinaryLabels.begin() + 5, kBinaryLabels.end());
  ASSERT_TRUE((*a)->Update(Tensor::FromVector(p1, Shape{5}), Tensor::FromInt64(y1, Shape{5})).ok());
  ASSERT_TRUE((*b)->Update(Tensor::FromVector(p2, Shape{7}), Tensor::FromInt64(y2, Shape{7})).ok());
  ASSERT_TRUE((*a)->Merge((*b)->State()).ok());
  EXPECT_NEAR((*a)->Compute().value(), 0.19729166666666664, 1e-7);
}

}  // namespace
}  // namespace hearth
