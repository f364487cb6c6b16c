// Inertia and silhouette against values computed by hand and with numpy (sklearn's definitions).
#include <gtest/gtest.h>

#include "hearth/metrics.h"
#include "hearth/random.h"
#include "metrics/metric_test_util.h"

namespace hearth {
namespace {

using testing_metrics::ExpectStreamsAndMerges;
using testing_metrics::Feed;
using testing_metrics::Make;
using testing_metrics::Value;

// Three groups: a triangle near the origin, one near (5, 5), and a lone point at (10, 0).
Tensor Points() {
  return Tensor::FromVector({0, 0, 0, 1, 1, 0, 5, 5, 5, 6, 6, 5, 10, 0}, Shape{7, 2});
}
Tensor ThreeClusters() {
  return Tensor::FromInt64({0, 0, 0, 1, 1, 1, 2}, Shape{7});
}
Tensor TwoClusters() {
  return Tensor::FromInt64({0, 0, 0, 1, 1, 1, 1}, Shape{7});
}

double Metric1(const std::string& name, const Tensor& ids, const MetricOptions& options = {}) {
  auto m = Make(name, options);
  const Status s = m->Update(ids, Points());
  EXPECT_TRUE(s.ok()) << s;
  return Value(*m);
}

TEST(ClusteringTest, InertiaWithCentroids) {
  MetricOptions options;
  options.centroids = Tensor::FromVector({0.5f, 0.5f, 5, 5, 9, 1}, Shape{3, 2});
  // 3 * 0.5 (triangle to (0.5, 0.5)) + 0 + 1 + 1 + 2 (lone point to (9, 1)) = 5.5
  EXPECT_DOUBLE_EQ(Metric1("inertia", ThreeClusters(), options), 5.5);
}

TEST(ClusteringTest, InertiaAroundClusterMeans) {
  MetricOptions options;
  options.num_classes = 2;
  // numpy: sum of squared distances to the means of {3 points} and {4 points}
  EXPECT_NEAR(Metric1("inertia", TwoClusters(), options), 40.33333333333333, 1e-9);
}

TEST(ClusteringTest, Silhouette) {
  // numpy, following sklearn.metrics.silhouette_score (the lone point scores 0).
  EXPECT_NEAR(Metric1("silhouette", ThreeClusters()), 0.7163280643624282, 1e-12);
  EXPECT_NEAR(Metric1("silhouette", TwoClusters()), 0.6438483120696906, 1e-12);
}

// Two points per cluster on a line, by hand: clusters {0, 1} and {3, 4}.
// For 0: a = 1, b = (3 + 4) / 2 = 3.5, s = 2.5 / 3.5; for 1: a = 1, b = 2.5, s = 1.5 / 2.5.
// By symmetry the mean is (2.5 / 3.5 + 1.5 / 2.5) / 2.
TEST(ClusteringTest, SilhouetteByHand) {
  auto m = Make("silhouette");
  ASSERT_TRUE(m->Update(Tensor::FromInt64({7, 7, 9, 9}, Shape{4}),
                        Tensor::FromVector({0, 1, 3, 4}, Shape{4, 1}))
                  .ok());
  EXPECT_NEAR(Value(*m), (2.5 / 3.5 + 1.5 / 2.5) / 2, 1e-12);
}

TEST(ClusteringTest, StreamingAndMergingMatchOneBatch) {
  Generator gen(8);
  std::vector<float> x;
  std::vector<int64_t> ids;
  for (int i = 0; i < 60; ++i) {
    ids.push_back(static_cast<int64_t>(gen.Below(3)));
    for (int d = 0; d < 3; ++d) x.push_back(gen.Normal() + 4.0f * static_cast<float>(ids.back()));
  }
  const Tensor points = Tensor::FromVector(x, Shape{60, 3});
  const Tensor labels = Tensor::FromInt64(ids, Shape{60});
  MetricOptions means;
  means.num_classes = 3;
  ExpectStreamsAndMerges("inertia", means, labels, points, 1e-9);
  MetricOptions centres;
  centres.centroids = Tensor::FromVector({0, 0, 0, 4, 4, 4, 8, 8, 8}, Shape{3, 3});
  ExpectStreamsAndMerges("inertia", centres, labels, points, 1e-9);
  // Below the sample limit the silhouette is exact, so order and merging do not matter.
  ExpectStreamsAndMerges("silhouette", {}, labels, points, 1e-12);
}

TEST(ClusteringTest, SilhouetteSamplesAboveTheLimit) {
  Generator gen(2);
  std::vector<float> x;
  std::vector<int64_t> ids;
  for (int i = 0; i < 400; ++i) {
    ids.push_back(i % 2);
    x.push_back(gen.Normal() + 6.0f * static_cast<float>(ids.back()));
  }
  const Tensor points = Tensor::FromVector(x, Shape{400, 1});
  const Tensor labels = Tensor::FromInt64(ids, Shape{400});
  auto exact = Make("silhouette");
  Feed(*exact, labels, points, 0, 400, 400);
  MetricOptions sampled;
  sampled.silhouette_max_points = 100;
  sampled.seed = 4;
  auto a = Make("silhouette", sampled);
  auto b = Make("silhouette", sampled);
  Feed(*a, labels, points, 0, 400, 32);
  Feed(*b, labels, points, 0, 400, 32);
  EXPECT_EQ(a->State().size(), 3u + 100 * 2);  // header + 100 kept points of (id, x)
  EXPECT_EQ(a->State()[1], 400.0);             // points seen
  EXPECT_EQ(Value(*a), Value(*b));             // seeded: reproducible
  EXPECT_NEAR(Value(*a), Value(*exact), 0.05);
  // Merging two ranks' samples keeps the limit and the count of points seen.
  auto c = Make("silhouette", sampled);
  Feed(*c, labels, points, 0, 150, 50);
  ASSERT_TRUE(a->Merge(c->State()).ok());
  EXPECT_EQ(a->State().size(), 3u + 100 * 2);
  EXPECT_EQ(a->State()[1], 550.0);
  EXPECT_NEAR(Value(*a), Value(*exact), 0.05);
}

TEST(ClusteringTest, RejectsBadInput) {
  EXPECT_FALSE(MakeMetric("inertia").ok());  // neither centroids nor a cluster count
  MetricOptions options;
  options.centroids = Tensor::FromVector({0, 0}, Shape{1, 2});
  auto inertia = Make("inertia", options);
  EXPECT_FALSE(inertia->Update(ThreeClusters(), Points()).ok());  // ids 1, 2 have no centroid
  EXPECT_FALSE(inertia->Update(Tensor::FromInt64({0}, Shape{1}), Tensor::Zeros(Shape{1, 3})).ok());
  auto silhouette = Make("silhouette");
  ASSERT_TRUE(
      silhouette->Update(Tensor::FromInt64({0, 0}, Shape{2}), Tensor::Zeros(Shape{2, 2})).ok());
  EXPECT_FALSE(silhouette->Compute().ok());                               // one cluster
  EXPECT_FALSE(silhouette->Merge(std::vector<double>{2, 1, 1, 0}).ok());  // truncated state
  EXPECT_FALSE(silhouette->summable());
}

}  // namespace
}  // namespace hearth
