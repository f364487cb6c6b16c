// Regression metrics against sklearn's documented examples and hand-computed values.
#include <gtest/gtest.h>

#include <cmath>

#include "hearth/metrics.h"
#include "hearth/random.h"
#include "metrics/metric_test_util.h"

namespace hearth {
namespace {

using testing_metrics::ExpectStreamsAndMerges;
using testing_metrics::Make;
using testing_metrics::Value;

double Metric1(const std::string& name, const Tensor& p, const Tensor& y) {
  auto m = Make(name);
  const Status s = m->Update(p, y);
  EXPECT_TRUE(s.ok()) << s;
  return Value(*m);
}

// sklearn's docstring example: y_true = [3, -0.5, 2, 7], y_pred = [2.5, 0.0, 2, 8].
TEST(RegressionTest, SingleOutput) {
  const Tensor y = Tensor::FromVector({3.0f, -0.5f, 2.0f, 7.0f});
  const Tensor p = Tensor::FromVector({2.5f, 0.0f, 2.0f, 8.0f});
  EXPECT_DOUBLE_EQ(Metric1("mse", p, y), 0.375);
  EXPECT_DOUBLE_EQ(Metric1("rmse", p, y), std::sqrt(0.375));
  EXPECT_DOUBLE_EQ(Metric1("mae", p, y), 0.5);
  // SS_res = 1.5, SS_tot = 29.1875
  EXPECT_NEAR(Metric1("r2", p, y), 1.0 - 1.5 / 29.1875, 1e-12);
  EXPECT_NEAR(Metric1("r2", p, y), 0.9486081370449679, 1e-12);
  // [N] and [N, 1] are the same thing.
  EXPECT_DOUBLE_EQ(Metric1("mse", Tensor::FromVector({2.5f, 0.0f, 2.0f, 8.0f}, Shape{4, 1}), y),
                   0.375);
}

// sklearn's multi-output example: per-column scores averaged (multioutput="uniform_average").
TEST(RegressionTest, MultiOutput) {
  const Tensor y = Tensor::FromVector({0.5f, 1, -1, 1, 7, -6}, Shape{3, 2});
  const Tensor p = Tensor::FromVector({0, 2, -1, 2, 8, -5}, Shape{3, 2});
  EXPECT_NEAR(Metric1("mse", p, y), 0.7083333333333334, 1e-12);
  EXPECT_NEAR(Metric1("rmse", p, y), 0.8227486121839513, 1e-12);  // mean of per-column roots
  EXPECT_NEAR(Metric1("mae", p, y), 0.75, 1e-12);
  EXPECT_NEAR(Metric1("r2", p, y), 0.9368005266622779, 1e-12);
}

TEST(RegressionTest, ConstantTargetsFollowSklearnForceFinite) {
  const Tensor y = Tensor::FromVector({0.1f, 0.1f, 0.1f});
  EXPECT_DOUBLE_EQ(Metric1("r2", Tensor::FromVector({0.1f, 0.1f, 0.1f}), y), 1.0);
  EXPECT_DOUBLE_EQ(Metric1("r2", Tensor::FromVector({0.1f, 0.2f, 0.1f}), y), 0.0);
}

TEST(RegressionTest, StreamingAndMergingMatchOneBatch) {
  Generator gen(5);
  std::vector<float> y, p;
  for (int i = 0; i < 2 * 57; ++i) {
    y.push_back(gen.Normal() * 3 + 1);
    p.push_back(y.back() + gen.Normal());
  }
  const Tensor ty = Tensor::FromVector(y, Shape{57, 2});
  const Tensor tp = Tensor::FromVector(p, Shape{57, 2});
  for (const std::string name : {"mse", "rmse", "mae", "r2"}) {
    ExpectStreamsAndMerges(name, {}, tp, ty, 1e-10);
  }
}

TEST(RegressionTest, RejectsBadInput) {
  auto m = Make("mse");
  EXPECT_FALSE(m->Compute().ok());
  EXPECT_FALSE(m->Update(Tensor::Zeros(Shape{3}), Tensor::Zeros(Shape{4})).ok());
  EXPECT_FALSE(m->Update(Tensor::Zeros(Shape{3, 2}), Tensor::Zeros(Shape{3, 3})).ok());
  ASSERT_TRUE(m->Update(Tensor::Zeros(Shape{3, 2}), Tensor::Zeros(Shape{3, 2})).ok());
  EXPECT_FALSE(m->Update(Tensor::Zeros(Shape{3}), Tensor::Zeros(Shape{3})).ok());  // k fixed at 2
  auto r2 = Make("r2");
  ASSERT_TRUE(r2->Update(Tensor::Zeros(Shape{1}), Tensor::Zeros(Shape{1})).ok());
  EXPECT_FALSE(r2->Compute().ok());  // one example
  MetricOptions options;
  options.num_outputs = 3;
  EXPECT_EQ(Make("mae", options)->State().size(), 16u);  // count + 5 sums per column
}

}  // namespace
}  // namespace hearth
