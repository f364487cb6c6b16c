// ROC, precision-recall and reliability curves, and roc_auc / pr_auc, against scikit-learn 1.2.1
// (python3-sklearn) on the same scores; the reference values were computed with
//   roc_curve(y, p, drop_intermediate=False), roc_auc_score(y, p)
//   precision_recall_curve(y, p) (reversed), average_precision_score(y, p)
//   calibration_curve(y, p, n_bins=10)
//   roc_auc_score(y3, P3, multi_class="ovr"), average_precision_score(label_binarize(y3), P3)
// and are stored here, so the suite needs no Python. The scores are multiples of 1/16 (exact in
// float32 too) with many ties, which is where implementations differ.
#include "hearth/curves.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "hearth/metrics.h"
#include "metric_test_util.h"

namespace hearth {
namespace {

const std::vector<uint8_t> kY = {1, 1, 1, 1, 0, 1, 1, 0, 0, 0, 1, 1,
                                 1, 1, 1, 0, 1, 1, 0, 1, 1, 0, 0, 1};
const std::vector<double> kP = {0.9375, 0.0625, 0.6875, 0.4375, 0.3125, 0.8125, 0.6875, 0.375,
                                0.875,  0.5,    0.875,  0.0625, 0.9375, 0.8125, 0.5625, 0.5,
                                0.3125, 0.25,   0.25,   0.8125, 0.375,  1.0,    0.375,  0.5625};

TEST(CurvesTest, RocCurveAndAreaMatchScikitLearn) {
  StatusOr<std::vector<CurvePoint>> roc = RocCurve(kP, kY);
  ASSERT_TRUE(roc.ok()) << roc.status();
  const std::vector<double> fpr = {0.0, 0.125, 0.125, 0.25,  0.25, 0.25, 0.25,
                                   0.5, 0.5,   0.75,  0.875, 1.0,  1.0};
  const std::vector<double> tpr = {0.0,   0.0,    0.125, 0.1875, 0.375, 0.5, 0.625,
                                   0.625, 0.6875, 0.75,  0.8125, 0.875, 1.0};
  ASSERT_EQ(roc->size(), fpr.size());
  for (size_t k = 0; k < fpr.size(); ++k) {
    EXPECT_NEAR((*roc)[k].x, fpr[k], 1e-12) << k;
    EXPECT_NEAR((*roc)[k].y, tpr[k], 1e-12) << k;
  }
  EXPECT_TRUE(std::isinf((*roc)[0].threshold));
  EXPECT_EQ((*roc)[1].threshold, 1.0);
  EXPECT_NEAR(RocAuc(kP, kY).value(), 0.55859375, 1e-12);
}

TEST(CurvesTest, PrecisionRecallCurveAndAveragePrecisionMatchScikitLearn) {
  StatusOr<std::vector<CurvePoint>> pr = PrecisionRecallCurve(kP, kY);
  ASSERT_TRUE(pr.ok()) << pr.status();
  const std::vector<double> precision = {1.0,
                                         0.0,
                                         0.6666666666666666,
                                         0.6,
                                         0.75,
                                         0.8,
                                         0.8333333333333334,
                                         0.7142857142857143,
                                         0.7333333333333333,
                                         0.6666666666666666,
                                         0.65,
                                         0.6363636363636364,
                                         0.6666666666666666};
  const std::vector<double> recall = {0.0,   0.0,    0.125, 0.1875, 0.375, 0.5, 0.625,
                                      0.625, 0.6875, 0.75,  0.8125, 0.875, 1.0};
  ASSERT_EQ(pr->size(), precision.size());
  for (size_t k = 0; k < precision.size(); ++k) {
    EXPECT_NEAR((*pr)[k].x, recall[k], 1e-12) << k;
    EXPECT_NEAR((*pr)[k].y, precision[k], 1e-12) << k;
  }
  EXPECT_NEAR(AveragePrecision(kP, kY).value(), 0.7168560606060606, 1e-12);
}

TEST(CurvesTest, ReliabilityCurveMatchesScikitLearnCalibrationCurve) {
  StatusOr<std::vector<ReliabilityBin>> bins = ReliabilityCurve(kP, kY, 10);
  ASSERT_TRUE(bins.ok()) << bins.status();
  const std::vector<double> fraction = {1.0, 0.5, 0.4, 0.3333333333333333,
                                        1.0, 1.0, 0.8, 0.6666666666666666};
  const std::vector<double> mean = {0.0625, 0.25,   0.35,   0.4791666666666667,
                                    0.5625, 0.6875, 0.8375, 0.9583333333333334};
  ASSERT_EQ(bins->size(), fraction.size());
  int64_t total = 0;
  for (size_t k = 0; k < fraction.size(); ++k) {
    EXPECT_NEAR((*bins)[k].fraction_positive, fraction[k], 1e-12) << k;
    EXPECT_NEAR((*bins)[k].mean_predicted, mean[k], 1e-12) << k;
    total += (*bins)[k].count;
  }
  EXPECT_EQ(total, static_cast<int64_t>(kP.size()));
  // 0.25 lies on an inner edge and goes to the lower bin, [0.2, 0.3) holding only 0.25s.
  EXPECT_NEAR((*bins)[1].lo, 0.2, 1e-12);
}

TEST(CurvesTest, UndefinedCurvesAreRefusedWithTheReason) {
  const std::vector<double> p = {0.1, 0.7};
  const std::vector<uint8_t> all_positive = {1, 1};
  StatusOr<double> auc = RocAuc(p, all_positive);
  EXPECT_EQ(auc.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(auc.status().message().find("both classes"), std::string::npos);
  const std::vector<uint8_t> none = {0, 0};
  EXPECT_EQ(AveragePrecision(p, none).status().code(), absl::StatusCode::kFailedPrecondition);
  const std::vector<double> nan = {0.1, NAN};
  EXPECT_EQ(RocAuc(nan, std::vector<uint8_t>{0, 1}).status().code(),
            absl::StatusCode::kInvalidArgument);
  const std::vector<double> outside = {0.1, 1.5};
  EXPECT_EQ(ReliabilityCurve(outside, std::vector<uint8_t>{0, 1}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(RocAuc(p, std::vector<uint8_t>{1}).status().code(), absl::StatusCode::kInvalidArgument);
}

Tensor Floats(const std::vector<double>& v, Shape shape) {
  return Tensor::FromVector(std::vector<float>(v.begin(), v.end()), shape);
}

TEST(RankingMetricsTest, BinaryFromOneProbabilityOrTwoColumnsMatchesScikitLearn) {
  std::vector<int64_t> y(kY.begin(), kY.end());
  const Tensor labels = Tensor::FromInt64(y, Shape{24});
  MetricOptions options;
  options.from_logits = false;
  std::vector<double> two;
  for (double p : kP) {
    two.push_back(1 - p);
    two.push_back(p);
  }
  for (const Tensor& scores : {Floats(kP, Shape{24}), Floats(two, Shape{24, 2})}) {
    auto roc = testing_metrics::Make("roc_auc", options);
    auto pr = testing_metrics::Make("pr_auc", options);
    ASSERT_TRUE(roc->Update(scores, labels).ok());
    ASSERT_TRUE(pr->Update(scores, labels).ok());
    EXPECT_NEAR(testing_metrics::Value(*roc), 0.55859375, 1e-12);
    EXPECT_NEAR(testing_metrics::Value(*pr), 0.7168560606060606, 1e-12);
  }
}

const std::vector<int64_t> kY3 = {1, 2, 1, 2, 1, 0, 2, 1, 2, 2, 0, 0, 2, 0, 0,
                                  1, 1, 2, 2, 1, 0, 1, 0, 0, 0, 2, 2, 0, 0, 0};
const std::vector<double> kP3 = {
    0.4375, 0.5,    0.0625, 0.4375, 0.3125, 0.25,   0.3125, 0.3125, 0.375,  0.625,  0.3125, 0.0625,
    0.4375, 0.25,   0.3125, 0.5,    0.125,  0.375,  0.625,  0.25,   0.125,  0.4375, 0.25,   0.3125,
    0.375,  0.3125, 0.3125, 0.4375, 0.4375, 0.125,  0.5,    0.25,   0.25,   0.8125, 0.125,  0.0625,
    0.4375, 0.25,   0.3125, 0.75,   0.25,   0.0,    0.8125, 0.1875, 0.0,    0.5,    0.0,    0.5,
    0.625,  0.0,    0.375,  0.5,    0.0625, 0.4375, 0.3125, 0.3125, 0.375,  0.5,    0.0625, 0.4375,
    0.5,    0.0625, 0.4375, 0.5625, 0.125,  0.3125, 0.4375, 0.1875, 0.375,  0.625,  0.25,   0.125,
    1.0,    0.0,    0.0,    0.1875, 0.375,  0.4375, 0.3125, 0.375,  0.3125, 0.4375, 0.3125, 0.25,
    0.6875, 0.1875, 0.125,  0.375,  0.125,  0.5};

TEST(RankingMetricsTest, OneVsRestMacroMatchesScikitLearnAndMergesAcrossParts) {
  MetricOptions options;
  options.from_logits = false;
  const Tensor scores = Floats(kP3, Shape{30, 3});
  const Tensor labels = Tensor::FromInt64(kY3, Shape{30});
  for (const auto& [name, expected] :
       {std::pair<std::string, double>{"roc_auc", 0.5570398428731762},
        {"pr_auc", 0.4679553580043776}}) {
    auto whole = testing_metrics::Make(name, options);
    testing_metrics::Feed(*whole, scores, labels, 0, 30, 7);
    EXPECT_NEAR(testing_metrics::Value(*whole), expected, 1e-12) << name;
    // Two parts, as two ranks would hold them, merged in order.
    auto first = testing_metrics::Make(name, options);
    auto second = testing_metrics::Make(name, options);
    testing_metrics::Feed(*first, scores, labels, 0, 11, 4);
    testing_metrics::Feed(*second, scores, labels, 11, 30, 4);
    auto merged = testing_metrics::Make(name, options);
    ASSERT_TRUE(merged->Merge(first->State()).ok());
    ASSERT_TRUE(merged->Merge(second->State()).ok());
    EXPECT_NEAR(testing_metrics::Value(*merged), expected, 1e-12) << name;
    EXPECT_FALSE(merged->summable());
    // A state of the wrong layout is refused and changes nothing.
    EXPECT_EQ(merged->Merge(std::vector<double>{2, 1, 0.5}).code(),
              absl::StatusCode::kInvalidArgument);
    EXPECT_NEAR(testing_metrics::Value(*merged), expected, 1e-12) << name;
  }
}

TEST(RankingMetricsTest, NothingSeenAndOneClassSayWhy) {
  auto roc = testing_metrics::Make("roc_auc");
  EXPECT_EQ(roc->Compute().status().code(), absl::StatusCode::kFailedPrecondition);
  const Tensor logits = Tensor::FromVector({0.5f, -1.0f}, Shape{2});
  ASSERT_TRUE(roc->Update(logits, Tensor::FromInt64({1, 1}, Shape{2})).ok());
  const StatusOr<double> v = roc->Compute();
  EXPECT_EQ(v.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(v.status().message().find("roc_auc"), std::string::npos) << v.status();
  EXPECT_EQ(roc->Update(logits, Tensor::FromInt64({1, 2}, Shape{2})).code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace hearth
